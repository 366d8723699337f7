"""--compute_dtype=bfloat16: D convolutions, highway and the Worker's output
projection in bfloat16, everything else float32; results close to float32."""
import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf.errors import UserError
from leakgan_tf.leakgan import LeakGAN
from tests.helpers import tiny_config


def pair():
    return LeakGAN(tiny_config()), LeakGAN(tiny_config(compute_dtype="bfloat16"))


def test_bfloat16_matches_float32_within_its_precision():
    full, mixed = pair()
    x = tf.constant(np.random.default_rng(0).integers(0, 30, size=(4, 8)), tf.int32)
    for a, b in zip(full.discriminator.variables + full.worker.variables,
                    mixed.discriminator.variables + mixed.worker.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # same seed, same float32 weights
        assert b.dtype == tf.float32
    fa, fb = full.discriminator.features(x), mixed.discriminator.features(x)
    assert fb.dtype == tf.float32 and mixed.discriminator(x).dtype == tf.float32
    np.testing.assert_allclose(fb.numpy(), fa.numpy(), rtol=0.05, atol=0.05)
    assert not np.array_equal(fb.numpy(), fa.numpy())  # the casts are really there
    la = full.generator.teacher_forced(x).log_probs.numpy()
    lb = mixed.generator.teacher_forced(x).log_probs.numpy()
    np.testing.assert_allclose(lb, la, rtol=0.02, atol=0.02)
    assert not np.array_equal(la, lb)


def test_bfloat16_steps_train_and_sample():
    _, mixed = pair()
    x = tf.constant(np.random.default_rng(1).integers(0, 30, size=(4, 8)), tf.int32)
    labels = tf.constant([1, 0, 1, 0])
    before = [v.numpy() for v in mixed.discriminator.trainable_variables]
    d_loss = mixed.discriminator_step(x, labels)[0]
    worker_loss, manager_loss = mixed.pretrain_step(x)
    out = mixed.adversarial_step(mixed.next_seed())
    assert all(np.isfinite(float(v)) for v in (d_loss, worker_loss, manager_loss, out["goal_loss"]))
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before, mixed.discriminator.trainable_variables))
    samples = mixed.generate(8, 1.5)
    assert samples.shape == (8, 8) and samples.min() >= 0 and samples.max() < 30


def test_unknown_compute_dtype_is_a_one_line_error():
    with pytest.raises(UserError, match="compute_dtype"):
        tiny_config(compute_dtype="float16")
