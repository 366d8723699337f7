"""Small numeric helpers shared by the models (TF1 semantics where they matter)."""
import tensorflow as tf


def l2_normalize(x, axis=-1):
    """x / sqrt(max(sum x^2, 1e-12)) along `axis`, as TF1 `tf.nn.l2_normalize`."""
    return tf.nn.l2_normalize(x, axis=axis, epsilon=1e-12)


def cosine(a, b, axis=-1):
    """<l2n(a), l2n(b)> along `axis`; a zero vector gives 0."""
    return tf.reduce_sum(l2_normalize(a, axis) * l2_normalize(b, axis), axis=axis)


def to_dtype(x, dtype):
    """x cast to dtype (no op when it already has it): the --compute_dtype casts."""
    return x if x.dtype == dtype else tf.cast(x, dtype)
