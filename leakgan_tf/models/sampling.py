"""Drawing the generator's tokens: one id per row of softmax(β · logits).

Inverse transform sampling: with p = softmax(β · logits) [N, V] and one uniform u
per row, the token is the smallest k with Σ_{j ≤ k} p_j > u. The distribution is
that of tf.random.categorical (which the original's tf.multinomial is); the
uniforms come from Philox keyed by the seed's bits (`philox_words`), so the same
seed gives the same tokens on every device and under XLA, and a call's rows are
addressed in one stream (`uniforms`), one seed derivation per position. Two implementations of the one rule:

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

from leakgan_tf.kernels import native

CHUNK = 64  # probabilities per partial sum (as kChunk in sample_categorical.cc)


PHILOX = 1  # tf.random.Algorithm.PHILOX
MANTISSA = 2 ** 53  # float64 uniforms are k / 2⁵³, k in [0, 2⁵³)


def philox_words(seed: tf.Tensor, block: tf.Tensor | int, count: tf.Tensor | int) -> tf.Tensor:
    """int64 [count]: Philox-4x32-10 output words under key seed[0] and 128-bit
    counter (block, seed[1]); each counter block gives two int64 words.

    The key and counter are the seed's own bits (no StatelessRandomGetKeyCounter:
    under XLA that op reads 32 bits of each seed word and scrambles them otherwise
    than the CPU kernel), and StatelessRandomUniformFullIntV2 gives the same words on
    the CPU, the GPU and under XLA (tests/test_sampling.py), so a plain graph and an
    XLA-compiled one draw the same tokens from the same seed."""
    seed = tf.cast(seed, tf.int64)
    key = tf.bitcast(seed[:1], tf.uint64)
    counter = tf.bitcast(tf.stack([tf.cast(block, tf.int64), seed[1]]), tf.uint64)
    return tf.raw_ops.StatelessRandomUniformFullIntV2(shape=tf.reshape(tf.cast(count, tf.int64), [1]), key=key,
                                                      counter=counter, alg=PHILOX, dtype=tf.int64)


def fold_in(seed: tf.Tensor, index: tf.Tensor | int) -> tf.Tensor:
    """The seed int64 [2] of stream `index` under `seed` [2]: (a 64-bit Philox word of
    `seed`, index), the layout of TensorFlow's stateless_fold_in, with Philox keyed by
    the seed's bits (philox_words), so every derived stream is named by 64 random bits
    on every device and under XLA."""
    return tf.stack([philox_words(seed, 0, 1)[0], tf.cast(index, tf.int64)])


def uniforms(seed: tf.Tensor, position: tf.Tensor | int, rows: tf.Tensor | int,
             first_row: tf.Tensor | int = 0) -> tf.Tensor:
    """float64 [rows] in [0, 1): elements first_row … first_row + rows − 1 of the
    stream of `position` under `seed` [2] (Philox keyed by fold_in(seed, position),
    element e at counter block e // 2).

    Rows are addressed, not drawn one group after another: a replica (or a caller)
    that draws rows 128–191 alone gets the values a call drawing rows 0–255 gets
    there, with one seed derivation per position whatever the number of row groups.
    """
    step = fold_in(seed, position)
    first_row = tf.cast(first_row, tf.int64)
    skip = first_row % 2
    words = philox_words(step, first_row // 2, tf.cast(rows, tf.int64) + 1)
    words = tf.slice(words, tf.reshape(skip, [1]), tf.reshape(tf.cast(rows, tf.int64), [1]))
    return tf.cast(tf.bitwise.bitwise_and(words, MANTISSA - 1), tf.float64) * (1.0 / MANTISSA)


def dropout(x: tf.Tensor, rate: float, seed: tf.Tensor) -> tf.Tensor:
    """Inverted dropout of x [N, D] with keep probability 1 − rate: x / (1 − rate) where
    the row-major element's uniform (stream 0 under `seed` [2], `uniforms`) is at least
    `rate`, else 0; tf.nn.experimental.stateless_dropout's rule with this module's
    device-independent uniforms, so an XLA-compiled D step drops what a plain one does."""
    size = x.shape.num_elements() if x.shape.is_fully_defined() else tf.size(x)
    keep = tf.reshape(uniforms(seed, 0, size), tf.shape(x)) >= rate
    return tf.where(keep, x * (1.0 / (1.0 - rate)), tf.zeros_like(x))


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
    # int64 index arithmetic: TensorFlow's GPU kernels for int32 keep their tensors in host memory
    chunk = tf.minimum(tf.reduce_sum(tf.cast(sums <= target[:, None], tf.int64), 1), chunks - 1)
    before = tf.where(chunk > 0, tf.gather(sums, tf.maximum(chunk - 1, 0), batch_dims=1), 0.0)
    inner = tf.gather(e, chunk, batch_dims=1)                                       # [N, CHUNK]
    running = before[:, None] + tf.cumsum(tf.cast(inner, tf.float64), axis=1)
    past = tf.logical_and(running > target[:, None], inner > 0)
    last_positive = tf.reduce_max(tf.where(inner > 0, tf.range(CHUNK, dtype=tf.int64)[None, :], 0), 1)
    # the first id past the target, else the last id with mass in the chunk
    offset = tf.where(tf.reduce_any(past, 1), tf.argmax(past, 1, output_type=tf.int64), last_positive)
    # no finite distribution (all −inf, or +inf logits): the first maximum, as the kernel
    first_max = tf.argmax(tf.where(tf.math.is_nan(z), tf.constant(-float("inf")), z), 1, output_type=tf.int64)
    return tf.cast(tf.where(tf.math.is_finite(top[:, 0]), chunk * CHUNK + offset, first_max), tf.int32)


def draw_tokens(logits: tf.Tensor, scale: tf.Tensor | float, seed: tf.Tensor, position: tf.Tensor,
                use_native: bool = True, first_row: tf.Tensor | int = 0) -> tf.Tensor:
    """One token per row: int32 [N] from softmax(scale · logits [N, V]), row i drawn
    with uniform first_row + i of (seed [2], position) (`uniforms`).
    use_native=False keeps TensorFlow's ops (XLA, exports)."""
    rows = logits.shape[0] if logits.shape[0] is not None else tf.shape(logits)[0]
    u = uniforms(seed, position, rows, first_row)
    op = native.sample_categorical() if use_native else None
    if op is None:
        return inverse_cdf(logits, scale, u)
    return op(tf.convert_to_tensor(logits, tf.float32), tf.cast(scale, tf.float32), u)


def seeded_chunks(draw, num: tf.Tensor | int, seed: tf.Tensor | int, chunk: int, seq_len: int) -> tf.Tensor:
    """num sequences int32 [num, seq_len] from one integer seed: chunk i is
    draw(chunk, seed (seed, i)) → int32 [chunk, seq_len], so the first rows do not
    depend on num (the SavedModel's `generate` and `leakgan_tf.sample` draw this way).
    num and seed may be tensors."""
    seed = tf.cast(seed, tf.int64)
    count = (tf.cast(num, tf.int32) + chunk - 1) // chunk
    rows = tf.TensorArray(tf.int32, size=count, element_shape=[chunk, seq_len])

    def body(i, rows):
        return i + 1, rows.write(i, draw(chunk, tf.stack([seed, tf.cast(i, tf.int64)])))

    _, rows = tf.while_loop(lambda i, _: i < count, body, (tf.constant(0), rows))
    return tf.reshape(rows.stack(), [-1, seq_len])[:num]
