"""Rollouts started from the shared teacher-forced states equal the original's
re-encoding of every prefix (spec §4.5, phase A recomputed here step by step)."""
import numpy as np
import tensorflow as tf

from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.models.generator import FreeRunState
from leakgan_tf.models.leaked import PlainPrefixFeatures
from leakgan_tf.models.sampling import fold_in
from tests.helpers import tiny_config


def reencoded_state(gan, x, n):
    """Phase A of the original rollout graph: i = 0..n teacher forced on x[:, :n]."""
    g, m, w = gan.generator, gan.manager, gan.worker
    c = g.step_size
    plain = PlainPrefixFeatures(gan.discriminator)
    batch = x.shape[0]
    hw, hm = w.lstm.zero_state(batch), m.lstm.zero_state(batch)
    goal, acc = m.initial_goal(batch), tf.zeros([batch, m.feature_dim])
    x_in = tf.fill([batch], w.start_token)
    for i in range(n + 1):
        f = plain.feature(plain.start(x, i), i)
        hm = m.lstm.step(m.lstm.project(f), hm)
        sub = m.subgoal(hm[0])
        if i == 0:
            continue
        hw = w.lstm.step(w.lstm.project(w.embed(x_in)), hw)
        x_in = x[:, i - 1]
        acc = acc + sub
        if i % c == 0:
            goal, acc = acc, tf.zeros_like(acc)
    return FreeRunState(worker=hw, manager=hm, goal=goal, accumulated=acc, last_token=x_in,
                        prefix=gan.generator.prefix.start(x, n))


def test_shared_prefix_rollout_equals_reencoding():
    gan = LeakGAN(tiny_config())
    x = gan.generator.sample(4, [1.0] * 8, tf.constant([1, 1], tf.int64))
    out = gan.generator.teacher_forced(x)
    seed = tf.constant([9, 9], tf.int64)
    shared = gan.generator.rollout(x, out, 1, seed).numpy()
    for m in range(1, gan.generator.num_blocks):
        n = m * gan.generator.step_size
        ref_state = reencoded_state(gan, x, n)
        ours = gan.generator.rollout_state(x, out, n, 1)
        for a, b in zip(tf.nest.flatten(ours[:5]), tf.nest.flatten(ref_state[:5])):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
        tail, _ = gan.generator.free_run(ref_state, n, [1.0] * 8, fold_in(seed, m))  # repeat 0: the first rows
        np.testing.assert_array_equal(shared[m - 1, 0, :, n:], tail.numpy())
