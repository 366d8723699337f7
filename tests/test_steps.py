"""Each compiled step updates exactly the variable groups it should."""
import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf.config import make_config
from leakgan_tf.leakgan import LeakGAN
from tests.helpers import tiny_config


def snapshot(variables):
    return [v.numpy().copy() for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def test_pretrain_step_changes_generator_only_and_discriminator_step_d_only():
    gan = LeakGAN(tiny_config())
    x = tf.constant(np.random.default_rng(0).integers(0, 30, size=(4, 8)), tf.int32)
    d_before, g_before = snapshot(gan.discriminator.weights), snapshot(gan.manager.weights + gan.worker.weights)
    gan.pretrain_step(x)
    assert not any(changed(d_before, gan.discriminator.weights))
    assert all(changed(g_before, gan.manager.weights + gan.worker.weights))
    g_before = snapshot(gan.manager.weights + gan.worker.weights)
    gan.discriminator_step(x, tf.constant([1, 0, 1, 0], tf.int32))
    assert not any(changed(g_before, gan.manager.weights + gan.worker.weights))
    d_changed = changed(d_before, gan.discriminator.weights)
    assert all(d_changed[1:]) and d_changed[0], "embedding rows of seen tokens move"
    # the pad row (row 0) is never trained on complete sequences
    np.testing.assert_array_equal(d_before[0][0], gan.discriminator.embedding.numpy()[0])


def test_skip_nonfinite_leaves_weights_untouched_by_a_bad_batch():
    x = tf.constant(np.random.default_rng(0).integers(0, 30, size=(4, 8)), tf.int32)
    labels = tf.constant([1, 0, 1, 0], tf.int32)
    # λ = NaN makes every D loss NaN: with --skip_nonfinite nothing may move. (Config.validate
    # refuses a NaN flag, so the NaN is put in after validation.)
    skipping = LeakGAN(dataclasses.replace(tiny_config(skip_nonfinite=True), dis_l2_lambda=float("nan")))
    tracked = skipping.discriminator.weights + skipping.optimizers["discriminator"].variables
    before = snapshot(tracked)
    loss, _ = skipping.discriminator_step(x, labels)
    assert not np.isfinite(float(loss))
    assert not any(changed(before, tracked))
    # a finite batch under the same flag still trains
    healthy = LeakGAN(tiny_config(skip_nonfinite=True))
    before = snapshot(healthy.discriminator.weights)
    healthy.discriminator_step(x, labels)
    assert any(changed(before, healthy.discriminator.weights))


def test_xla_pretrain_step_matches_plain_tf_function():
    x = tf.constant(np.random.default_rng(1).integers(0, 30, size=(4, 8)), tf.int32)
    with_xla, without = LeakGAN(tiny_config(xla_phases=("pretrain",))), LeakGAN(tiny_config(xla_phases=()))
    for _ in range(2):
        a, b = with_xla.pretrain_step(x), without.pretrain_step(x)
        np.testing.assert_allclose([float(v) for v in a], [float(v) for v in b], rtol=1e-4, atol=1e-6)
    for u, v in zip(with_xla.worker.weights, without.worker.weights):
        np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("before", [False, True])
def test_d_steps_run_without_the_remapper_and_restore_the_options(before):
    """On the CPU backend D steps (one or a round's epochs) run with grappler's remapper
    off (its fused MatMul made D epochs slower, docs/performance.md; the GPU backend
    keeps it) and leave the options as they found them."""
    gan = LeakGAN(tiny_config())
    expected = False if gan.backend.remapper_off else before
    x, labels = tf.zeros([4, 8], tf.int32), tf.constant([1, 0, 1, 0], tf.int32)
    seen, step = [], gan._discriminator_step

    def recording(*args):
        seen.append(tf.config.optimizer.get_experimental_options().get("remapping"))
        return step(*args)

    gan._discriminator_step = recording
    tf.config.optimizer.set_experimental_options({"remapping": before})
    try:
        gan.discriminator_step(x, labels)
        assert seen == [expected]
        assert tf.config.optimizer.get_experimental_options()["remapping"] is before
        gan.discriminator_epochs(tf.stack([x, x]), tf.stack([labels, labels]), 1)
        assert tf.config.optimizer.get_experimental_options()["remapping"] is before
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": True})


@pytest.mark.parametrize("sizes", ["tiny", "length 20"])
def test_discriminator_epochs_equal_the_same_steps_called_one_by_one(sizes):
    """One compiled call of `epochs` passes (the Trainer's D rounds) gives the same
    losses, weights and Adam state as the steps called one at a time, bit for bit."""
    cfg = tiny_config() if sizes == "tiny" else make_config("synthetic20", xla_phases=())
    rng = np.random.default_rng(2)
    steps = 3
    tokens = tf.constant(rng.integers(0, cfg.vocab_size, (steps, cfg.batch_size, cfg.seq_len)), tf.int32)
    labels = tf.constant(rng.integers(0, 2, (steps, cfg.batch_size)), tf.int32)
    one_by_one, compiled = LeakGAN(cfg), LeakGAN(cfg)
    expected = [float(one_by_one.discriminator_step(tokens[i % steps], labels[i % steps])[0])
                for i in range(2 * steps)]
    losses = compiled.discriminator_epochs(tokens, labels, 2)
    assert losses.dtype == np.float32 and losses.shape == (2 * steps,)
    np.testing.assert_array_equal(losses, np.float32(expected))
    state = lambda gan: gan.discriminator.weights + gan.optimizers["discriminator"].variables  # noqa: E731
    for a, b in zip(state(one_by_one), state(compiled)):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
    assert int(compiled.optimizers["discriminator"].iterations) == 2 * steps
