"""The discriminator's pooled convolution features (spec §3): one VALID convolution
per filter width, ReLU, max over time, concatenated. Two forwards: TensorFlow's
convolutions (`relus`), or where the native library can be had, its op for all
widths at once (`LeakganMaxPooledConv`, max_pooled_conv.cc: each width one GEMM
over windows read in place), equal up to float rounding. Two gradients of one
forward:

- dense: TensorFlow's convolution gradients (on the CPU with the input gradient
  of `cpu_ops.conv1d_valid`), which also multiply the zeros the max gives every
  position but its maximum;
- sparse (default where it can be had): the native op of `native.py`, which
  routes each row and feature's gradient to the window that won the max (split
  among exact ties as reduce_max's gradient does) and adds one window-sized
  update there. Equal up to float rounding (tests/test_pooled_conv.py).
"""
from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from leakgan_tf.kernels import native
from leakgan_tf.kernels.cpu_ops import conv1d_valid


def relus(x: tf.Tensor, kernels: Sequence[tf.Tensor], biases: Sequence[tf.Tensor],
          cpu_gradients: bool = True) -> list[tf.Tensor]:
    """x [N, T, E] -> per width i, relu(conv + b) [N, T − h_i + 1, n_i]; cpu_gradients:
    the convolutions' input gradient of cpu_ops.conv1d_valid, else TensorFlow's."""
    conv = conv1d_valid if cpu_gradients else (lambda x, k: tf.nn.conv1d(x, k, 1, "VALID"))
    return [tf.nn.relu(conv(x, k) + b) for k, b in zip(kernels, biases)]


def gradient_op(sparse_gradient: bool, dtype: tf.DType):
    """The native gradient op when the sparse gradient is asked for and can run
    (float32, the op built and loaded), else None: the dense gradients."""
    return native.max_pooled_conv_grad() if sparse_gradient and dtype == tf.float32 else None


def pooled(x: tf.Tensor, kernels: Sequence[tf.Tensor], biases: Sequence[tf.Tensor],
           sparse_gradient: bool = True, native_forward: bool = True, cpu_gradients: bool = True) -> tf.Tensor:
    """Max-over-time features [N, Σ n_i] of x [N, T, E] (kernels [h_i, E, n_i],
    biases [n_i]). `sparse_gradient` uses the native gradient where `gradient_op`
    has it, and with it `native_forward` the native forward; pass False inside
    XLA (no kernels there) and, for the forward, in graphs a SavedModel keeps.
    cpu_gradients: see relus (the dense path)."""
    op = gradient_op(sparse_gradient, x.dtype)
    if op is None:
        return tf.concat([tf.reduce_max(z, axis=1) for z in relus(x, kernels, biases, cpu_gradients)], axis=-1)
    # Tensors, not variables: the gradient reaches a variable through its read.
    tensors = [tf.convert_to_tensor(v) for v in (x, *kernels, *biases)]
    return _sparse(op, native.max_pooled_conv() if native_forward else None, len(kernels))(*tensors)


def _sparse(op, forward, widths: int):
    @tf.custom_gradient
    def features(x, *kernels_and_biases):
        kernels, biases = kernels_and_biases[:widths], kernels_and_biases[widths:]
        if forward is None:
            zs = relus(x, kernels, biases)
            m = tf.concat([tf.reduce_max(z, axis=1) for z in zs], axis=-1)
        else:
            zs, m = forward(x, kernels, biases)

        def grad(dm):
            dx, dkernels, dbiases = op(x, kernels, zs, m, dm)
            return [dx, *dkernels, *dbiases]

        return m, grad

    return features
