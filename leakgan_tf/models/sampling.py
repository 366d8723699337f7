"""Drawing the generator's tokens: one id per row of softmax(β · logits).

Inverse transform sampling: with p = softmax(β · logits) [N, V] and one uniform u
per row, the token is the smallest k with Σ_{j ≤ k} p_j > u. The distribution is
that of tf.random.categorical (which the original's tf.multinomial is); the
uniforms come from TensorFlow's stateless RNG, so the same seed gives the same
tokens. Two implementations of the one rule:

- native (where `native.sample_categorical()` has the op): a C++ kernel that
  vectorises the max and the exp pass (sample_categorical.cc);
- TensorFlow ops (`inverse_cdf`), inside XLA, on GPUs, in exported SavedModels.

They differ only in float rounding (the exp's last bits, the order of sums), which
can move a draw whose uniform lies within rounding of a boundary between two
tokens: rare (tests/test_sampling.py). At [1024, 5000] per step on this project's
2-core CPU, TensorFlow's categorical kernel (a scalar loop per row) took 17–19 ms,
`inverse_cdf` about 8 ms and the native op about 3 ms.
"""
from __future__ import annotations

import tensorflow as tf

from leakgan_tf.models import native

CHUNK = 64  # probabilities per partial sum (as kChunk in sample_categorical.cc)


def fold_in(seed: tf.Tensor, index: tf.Tensor | int) -> tf.Tensor:
    """The seed [2] of stream `index` under `seed` [2]: TensorFlow's fold_in with data of
    the seed's dtype. fold_in's first word is a random word of the data's dtype, so int32
    data would name every derived stream by 32 bits (two of the ~10⁶ group streams of a
    run would then share their draws); int64 seeds keep 64. (XLA reads each seed word's
    low 32 bits, so an XLA-compiled draw keeps 32: docs/reliability.md.)"""
    return tf.random.experimental.stateless_fold_in(seed, tf.cast(index, seed.dtype))


def uniforms(seed: tf.Tensor, position: tf.Tensor, rows: tf.Tensor | int) -> tf.Tensor:
    """float64 [rows] in [0, 1) for the draws at `position`.

    seed [2]: one stream for all rows. seed [G, 2]: the rows are G contiguous groups
    of rows/G, group g drawn with its own seed, so a group's draws do not depend on
    which other groups share the call (tf.distribute replicas draw their own groups).
    """
    if seed.shape.rank == 1:
        return tf.random.stateless_uniform([rows], fold_in(seed, position), dtype=tf.float64)
    per = rows // seed.shape[0]
    return tf.concat([tf.random.stateless_uniform([per], fold_in(seed[g], position), dtype=tf.float64)
                      for g in range(seed.shape[0])], axis=0)


def inverse_cdf(logits: tf.Tensor, scale: tf.Tensor | float, u: tf.Tensor) -> tf.Tensor:
    """int32 [N]: for each row of logits [N, V], the smallest k with Σ_{j ≤ k} p_j > u
    (u float64 [N] in [0, 1)), p = softmax(scale · logits), in TensorFlow ops.

    As the native kernel: p up to normalisation is exp(scale · l − max), −inf and
    NaN logits get 0; sums of CHUNK probabilities in float32, running sums in float64.
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    z = tf.cast(scale, tf.float32) * logits
    top = tf.reduce_max(tf.where(tf.math.is_nan(z), tf.constant(-float("inf")), z), axis=1, keepdims=True)
    e = tf.exp(z - top)
    e = tf.where(z - top >= -87.0, e, 0.0)  # as the kernel: below FLT_MIN, -inf and NaN count 0
    vocab = logits.shape[1]
    chunks = -(-vocab // CHUNK)
    e = tf.pad(e, [[0, 0], [0, chunks * CHUNK - vocab]])
    e = tf.reshape(e, [-1, chunks, CHUNK])                                          # [N, chunks, CHUNK]
    sums = tf.cumsum(tf.cast(tf.reduce_sum(e, 2), tf.float64), axis=1)             # [N, chunks]
    target = u * sums[:, -1]
    # the first chunk whose running sum exceeds the target (the last if rounding leaves none)
    chunk = tf.minimum(tf.reduce_sum(tf.cast(sums <= target[:, None], tf.int32), 1), chunks - 1)
    before = tf.where(chunk > 0, tf.gather(sums, tf.maximum(chunk - 1, 0), batch_dims=1), 0.0)
    inner = tf.gather(e, chunk, batch_dims=1)                                       # [N, CHUNK]
    running = before[:, None] + tf.cumsum(tf.cast(inner, tf.float64), axis=1)
    past = tf.logical_and(running > target[:, None], inner > 0)
    positive = tf.range(CHUNK)[None, :] * tf.cast(inner > 0, tf.int32)
    # the first id past the target, else the last id with mass in the chunk
    offset = tf.where(tf.reduce_any(past, 1), tf.argmax(tf.cast(past, tf.int32), 1, output_type=tf.int32),
                      tf.reduce_max(positive, 1))
    # no finite distribution (all −inf, or +inf logits): the first maximum, as the kernel
    first_max = tf.argmax(tf.where(tf.math.is_nan(z), tf.constant(-float("inf")), z), 1, output_type=tf.int32)
    return tf.where(tf.math.is_finite(top[:, 0]), chunk * CHUNK + offset, first_max)


def draw_tokens(logits: tf.Tensor, scale: tf.Tensor | float, seed: tf.Tensor, position: tf.Tensor,
                use_native: bool = True) -> tf.Tensor:
    """One token per row: int32 [N] from softmax(scale · logits [N, V]); seed [2] or
    [G, 2] as in `uniforms`. use_native=False keeps TensorFlow's ops (XLA, exports)."""
    u = uniforms(seed, position, tf.shape(logits)[0])
    op = native.sample_categorical() if use_native else None
    if op is None:
        return inverse_cdf(logits, scale, u)
    return op(tf.convert_to_tensor(logits, tf.float32), tf.cast(scale, tf.float32), u)
