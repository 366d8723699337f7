"""Small numeric helpers shared by the models (TF1 semantics where they matter)."""
from __future__ import annotations

import tensorflow as tf


def l2_normalize(x: tf.Tensor, axis: int = -1) -> tf.Tensor:
    """x / sqrt(max(sum x^2, 1e-12)) along `axis`, as TF1 `tf.nn.l2_normalize`."""
    return tf.nn.l2_normalize(x, axis=axis, epsilon=1e-12)


def cosine(a: tf.Tensor, b: tf.Tensor, axis: int = -1) -> tf.Tensor:
    """<l2n(a), l2n(b)> along `axis`; a zero vector gives 0."""
    return tf.reduce_sum(l2_normalize(a, axis) * l2_normalize(b, axis), axis=axis)


def to_dtype(x: tf.Tensor, dtype: tf.DType | str) -> tf.Tensor:
    """x cast to dtype (no op when it already has it): the --compute_dtype casts."""
    return x if x.dtype == dtype else tf.cast(x, dtype)


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
