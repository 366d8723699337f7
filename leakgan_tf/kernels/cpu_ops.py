"""Two ops with gradients of their own, measured faster on the 2-core CPU this project
was tuned on and tested equal to TensorFlow's (tests/test_ops.py). The CPU backend
uses them (kernels/__init__.py); the GPU backend keeps TensorFlow's gradients, which
are one cuDNN/cuBLAS kernel each there.
"""
from __future__ import annotations

import contextlib

import tensorflow as tf


def conv1d_valid(x: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """VALID 1-D convolution, stride 1: x [N, T, E], kernel [h, E, n] -> [N, T−h+1, n].

    The forward pass is tf.nn.conv1d. The gradient is the same sum computed
    another way, because TF's Conv2DBackpropInput ran at about half the speed of
    one matmul on this CPU: with P = T−h+1 windows, the window gradients are
    one [N·P, n]·[n, h·E] matmul, and dx[t] = Σ_j cols[t−j, j] adds them back
    (h shifted slices). The kernel gradient stays TF's Conv2DBackpropFilter.
    """
    # Tensors, not variables: the gradient reaches a variable through its read.
    return _conv1d_valid(tf.convert_to_tensor(x), tf.convert_to_tensor(kernel))


@tf.custom_gradient
def _conv1d_valid(x, kernel):
    y = tf.nn.conv1d(x, kernel, 1, "VALID")

    def grad(dy):
        h, e, n = kernel.shape
        windows = y.shape[1]
        cols = tf.matmul(tf.reshape(dy, [-1, n]), tf.reshape(kernel, [h * e, n]), transpose_b=True)
        cols = tf.reshape(cols, [-1, windows, h, e])                     # [N, P, h, E]
        dx = tf.add_n([tf.pad(cols[:, :, j], [[0, 0], [j, h - 1 - j], [0, 0]]) for j in range(h)])
        dk = tf.compat.v1.nn.conv2d_backprop_filter(x[:, None], [1, h, e, n], dy[:, None], [1, 1, 1, 1], "VALID")
        return dx, tf.reshape(dk, [h, e, n])

    return y, grad


def matmul(x: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
    """x [N, I] · w [I, O] -> [N, O], tf.matmul with its input gradient computed
    as (w · dyᵀ)ᵀ instead of dy · wᵀ: on this CPU (TF 2.21 defaults, float32) the
    transposed-weight form ran at about a quarter of the matmul rate for the
    highway's [64, 1720] · [1720, 1720]ᵀ, the other form near the full rate.
    The weight gradient is xᵀ · dy, as tf.matmul's."""
    return _matmul(tf.convert_to_tensor(x), tf.convert_to_tensor(w))


@tf.custom_gradient
def _matmul(x, w):
    def grad(dy):
        return tf.transpose(tf.matmul(w, dy, transpose_b=True)), tf.matmul(x, dy, transpose_a=True)

    return tf.matmul(x, w), grad


@contextlib.contextmanager
def without_remapper():
    """Function calls made inside run without grappler's remapper (TensorFlow reads
    the grappler options at each call, instantiating a function once per setting).

    The remapper's only change to a D step is to fuse the highway's and the
    classifier's MatMul + bias (+ ReLU / sigmoid) into `_FusedMatMul`. Inside the
    D epochs' while loop that made a length-20 D epoch about 9% slower on the
    2-core AVX-512 machine (in-process alternation, docs/performance.md "Where
    the savings come from", item 8); a step called alone is as fast either way,
    and D steps run without it in both forms so that they stay bit-identical."""
    before = tf.config.optimizer.get_experimental_options().get("remapping", True)
    tf.config.optimizer.set_experimental_options({"remapping": False})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": before})
