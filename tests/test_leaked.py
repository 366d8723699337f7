"""The exact incremental leaked-feature path equals the plain recomputation."""
import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf.config import make_config
from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.models import Discriminator
from leakgan_tf.models.leaked import IncrementalPrefixFeatures, PlainPrefixFeatures
from tests.helpers import tiny_config


@pytest.mark.parametrize("preset", ["synthetic20", "synthetic40", "coco"])
def test_incremental_equals_plain_at_paper_sizes(preset):
    cfg = make_config(preset)
    tf.random.set_seed(0)
    d = Discriminator(cfg.vocab_size, cfg.seq_len, cfg.dis_emb_dim, cfg.dis_filter_sizes, cfg.dis_num_filters)
    x = tf.constant(np.random.default_rng(1).integers(0, cfg.vocab_size, size=(2, cfg.seq_len)), tf.int32)
    plain, inc = PlainPrefixFeatures(d), IncrementalPrefixFeatures(d)
    expected = plain.all_prefixes(x).numpy()
    np.testing.assert_allclose(inc.all_prefixes(x).numpy(), expected, rtol=1e-4, atol=2e-5)
    state = inc.start(x, 0)
    for t in range(cfg.seq_len + 1):
        np.testing.assert_allclose(inc.feature(state, t).numpy(), expected[:, t], rtol=1e-4, atol=2e-5)
        if t in (1, cfg.seq_len // 2):  # starting from a known prefix gives the same state
            np.testing.assert_allclose(inc.feature(inc.start(x, t), t).numpy(), expected[:, t],
                                       rtol=1e-4, atol=2e-5)
        if t < cfg.seq_len:
            state = inc.append(state, t, x[:, t])


def test_sampling_and_losses_identical_across_paths():
    seed = tf.constant([3, 4], tf.int64)
    plain, inc = LeakGAN(tiny_config(feature_path="plain")), LeakGAN(tiny_config(feature_path="incremental"))
    a = plain.generator.sample(8, [1.0] * 8, seed).numpy()
    b = inc.generator.sample(8, [1.0] * 8, seed).numpy()
    np.testing.assert_array_equal(a, b)
    x = tf.constant(a[:4])
    out_a, out_b = plain.generator.teacher_forced(x), inc.generator.teacher_forced(x)
    np.testing.assert_allclose(out_a.log_probs.numpy(), out_b.log_probs.numpy(), rtol=1e-5, atol=1e-5)
    ra = plain.generator.rollout(x, out_a, 2, seed).numpy()
    rb = inc.generator.rollout(x, out_b, 2, seed).numpy()
    np.testing.assert_array_equal(ra, rb)


def test_prefix_states_take_a_symbolic_position():
    """feature/append accept the int32 position tensor of the sampling while loop
    (one trace for every position) and still equal the plain recomputation."""
    cfg = tiny_config()
    tf.random.set_seed(1)
    d = Discriminator(cfg.vocab_size, cfg.seq_len, cfg.dis_emb_dim, cfg.dis_filter_sizes, cfg.dis_num_filters)
    x = tf.constant(np.random.default_rng(2).integers(0, cfg.vocab_size, size=(3, cfg.seq_len)), tf.int32)
    expected = PlainPrefixFeatures(d).all_prefixes(x).numpy()
    for path in (PlainPrefixFeatures(d), IncrementalPrefixFeatures(d)):
        feature, append = tf.function(path.feature), tf.function(path.append)
        state = path.start(x, 0)
        for t in range(cfg.seq_len + 1):
            np.testing.assert_allclose(feature(state, tf.constant(t)).numpy(), expected[:, t], rtol=1e-5, atol=1e-6)
            if t < cfg.seq_len:
                state = append(state, tf.constant(t), x[:, t])
        assert feature.experimental_get_tracing_count() == 1 and append.experimental_get_tracing_count() == 1
