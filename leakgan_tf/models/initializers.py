"""The original's initialisers (spec §2.3), one random stream per variable.

A Keras 3 initializer instance keeps the seed it drew when it was made: called
again it returns the same values for the same shape, and a prefix of the same
stream for another shape. The original draws every variable with a random op of
its own, so each function here returns a fresh instance, to be used for one
weight only. Its seed is drawn from Python's `random`, which
`keras.utils.set_random_seed` seeds, so the same seed gives the same weights.
"""
from __future__ import annotations

import math

import keras


def normal(stddev: float = 0.1) -> keras.initializers.Initializer:
    """N(0, stddev²): `tf.random_normal` (every Manager and Worker weight and bias)."""
    return keras.initializers.RandomNormal(0.0, stddev)


def truncated_normal(stddev: float = 0.1) -> keras.initializers.Initializer:
    """N(0, stddev²) redrawn beyond 2 stddev: `tf.truncated_normal` (G0, D's conv and classifier kernels)."""
    return keras.initializers.TruncatedNormal(0.0, stddev)


def uniform(limit: float) -> keras.initializers.Initializer:
    """U(−limit, limit)."""
    return keras.initializers.RandomUniform(-limit, limit)


def tf1_glorot_uniform(dim: int) -> keras.initializers.Initializer:
    """TF1 `get_variable`'s default for D's highway [D_f, D_f] matrices and [D_f] biases:
    both shapes have fan_in = fan_out = D_f, so the limit is sqrt(6 / 2·D_f) = sqrt(3 / D_f)."""
    return uniform(math.sqrt(3.0 / dim))


def constant(value: float) -> keras.initializers.Initializer:
    return keras.initializers.Constant(value)
