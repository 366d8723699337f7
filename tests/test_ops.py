"""conv1d_valid and matmul, the discriminator's convolution and highway matmul
with gradients of their own: equal to tf.nn.conv1d's and tf.matmul's (value and
both gradients) at tiny and at the length-20 sizes."""
import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf.config import SYNTHETIC20_COUNTS, SYNTHETIC20_FILTERS
from leakgan_tf.kernels.cpu_ops import conv1d_valid, matmul


def grads(conv, x, kernel, upstream):
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = conv(x, kernel)
        loss = tf.reduce_sum(y * upstream)
    return [y, *tape.gradient(loss, [x, kernel])]


@pytest.mark.parametrize("batch,length,emb,widths,counts", [
    (3, 8, 5, (1, 2, 3, 8), (3, 4, 2, 3)),                      # tiny (tests/helpers.tiny_config)
    (64, 20, 64, SYNTHETIC20_FILTERS, SYNTHETIC20_COUNTS),      # the length-20 discriminator
])
def test_conv1d_valid_equals_tf_conv1d(batch, length, emb, widths, counts):
    rng = np.random.default_rng(length)
    x = tf.constant(rng.uniform(-1, 1, (batch, length, emb)), tf.float32)
    for h, n in zip(widths, counts):
        kernel = tf.constant(rng.normal(0, 0.1, (h, emb, n)), tf.float32)
        upstream = tf.constant(rng.normal(size=(batch, length - h + 1, n)), tf.float32)
        ours = grads(conv1d_valid, x, kernel, upstream)
        reference = grads(lambda a, k: tf.nn.conv1d(a, k, 1, "VALID"), x, kernel, upstream)
        for name, a, b in zip(("value", "input gradient", "kernel gradient"), ours, reference):
            scale = float(tf.reduce_max(tf.abs(b)))
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=2e-6 * max(scale, 1.0),
                                       err_msg=f"width {h}: {name}")


def test_conv1d_valid_gradient_reaches_every_position():
    """Each input position gets the gradient of every window covering it (edges
    fewer), so a ones upstream gives the window counts times the kernel sums."""
    x, kernel = tf.ones([1, 6, 2]), tf.ones([3, 2, 1])
    dx = grads(conv1d_valid, x, kernel, tf.ones([1, 4, 1]))[1]
    np.testing.assert_array_equal(dx.numpy()[0, :, 0], [1, 2, 3, 3, 2, 1])


@pytest.mark.parametrize("rows,inputs,outputs", [(3, 5, 4), (64, 1720, 1720)])  # tiny; the length-20 highway
def test_matmul_equals_tf_matmul(rows, inputs, outputs):
    rng = np.random.default_rng(inputs)
    x = tf.constant(rng.normal(size=(rows, inputs)), tf.float32)
    w = tf.constant(rng.normal(0, 0.03, (inputs, outputs)), tf.float32)
    upstream = tf.constant(rng.normal(size=(rows, outputs)), tf.float32)
    ours, reference = grads(matmul, x, w, upstream), grads(tf.matmul, x, w, upstream)
    for name, a, b in zip(("value", "input gradient", "weight gradient"), ours, reference):
        scale = float(tf.reduce_max(tf.abs(b)))
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=2e-6 * max(scale, 1.0), err_msg=name)
