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
