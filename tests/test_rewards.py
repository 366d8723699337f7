"""Rollouts and the code's bootstrapped rescaled activation (spec §6)."""
import numpy as np
import tensorflow as tf

from leakgan_tf import rewards
from leakgan_tf.leakgan import LeakGAN
from tests.helpers import tiny_config


def test_ladder_row_mean_without_ties():
    row = np.random.default_rng(0).permutation(64).astype(np.float32)[None]
    out = rewards.rescale_ladder(tf.constant(row)).numpy()
    assert abs(out.mean() - 0.507807) < 1e-6


def test_ladder_is_first_appearance_order_not_rank():
    row = np.array([[0.9, 0.1, 0.5, 0.3]], np.float32)
    out = rewards.rescale_ladder(tf.constant(row)).numpy()[0]
    expected = 1 / (1 + np.exp(-(16 * np.arange(1, 5) / 4 - 8)))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_ties_share_one_index():
    row = np.array([[0.2, 0.7, 0.2, 0.7, 0.9]], np.float32)
    out = rewards.rescale_ladder(tf.constant(row)).numpy()[0]
    idx = np.array([1, 2, 1, 2, 3])
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-(16 * idx / 5 - 8))), rtol=1e-6)


def test_rollouts_keep_prefixes_and_rewards_have_shape_b_by_k():
    cfg = tiny_config()
    gan = LeakGAN(cfg)
    x = gan.generator.sample(4, [1.0] * 8, tf.constant([4, 5], tf.int64))
    out = gan.generator.teacher_forced(x)
    ro = gan.generator.rollout(x, out, 3, tf.constant([6, 7], tf.int64)).numpy()
    assert ro.shape == (3, 3, 4, 8)                      # [K−1, R, B, T]
    for m in range(1, 4):
        np.testing.assert_array_equal(ro[m - 1, :, :, :2 * m], np.broadcast_to(x.numpy()[:, :2 * m], (3, 4, 2 * m)))
    assert (ro[0, 0, :, 2:] != ro[0, 1, :, 2:]).any(), "repeats draw different continuations"
    r = rewards.scaled_rewards(gan.discriminator, x, tf.constant(ro)).numpy()
    assert r.shape == (4, 4)
    raw = rewards.segment_rewards(gan.discriminator, x, tf.constant(ro)).numpy()
    p_full = gan.discriminator.prob_real(x).numpy()
    np.testing.assert_allclose(raw[-1], 3 * p_full, rtol=1e-5)
    p_roll = gan.discriminator.prob_real(tf.constant(ro.reshape(-1, 8))).numpy().reshape(3, 3, 4)
    np.testing.assert_allclose(raw[:-1], p_roll.sum(1), rtol=1e-5)
