"""Rewards: Monte Carlo rollouts scored by the discriminator, then the
"bootstrapped rescaled activation" (spec §6), selected by `Config.reward_rescale`:

  "ladder" (the original code): σ(16·idx/N − 8) with idx = 1, 2, … handed to
           the distinct values of a row in first-appearance order (not a rank)
  "rank"   (paper Eq. 11): σ(δ·(0.5 − rank/N)), rank 1 = the highest reward of
           the row; tied values share their average rank (fractional ranking:
           the mean of the positions they occupy), δ = 12 by default

(the default δ of each: switches.RESCALE_DELTA)

N is the row length (B, or B + M' with COCO's appended reals).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import tensorflow as tf

from leakgan_tf import switches

if TYPE_CHECKING:
    from leakgan_tf.models.discriminator import Discriminator


def ladder(index: tf.Tensor, total: int | tf.Tensor, delta: float = 16.0) -> tf.Tensor:
    """σ(δ·idx/total − δ/2): the original's `redistribution` (δ = 16)."""
    return tf.sigmoid(delta * tf.cast(index, tf.float32) / tf.cast(total, tf.float32) - delta / 2.0)


def rescale_ladder(rewards: tf.Tensor, delta: float = 16.0) -> tf.Tensor:
    """The original's rescale, row by row: distinct values get ladder indices
    1, 2, … in first-appearance order (Python 3 dict order), not by rank; the
    ladder's denominator is the row length.

    rewards [K, N] -> [K, N]; a row without ties has mean 0.507807 for N = 64.
    """
    total = tf.shape(rewards)[1]

    def row(r):
        _, idx = tf.unique(r, out_idx=tf.int64)  # int64: a GPU adds int32 in host memory
        return ladder(idx + 1, total, delta)

    return tf.stack([row(rewards[k]) for k in range(rewards.shape[0])], axis=0)


def descending_ranks(rewards: tf.Tensor) -> tf.Tensor:
    """Fractional descending ranks per row: [K, N] -> float [K, N]; the highest
    value has rank 1, tied values share the mean of the positions they occupy:
    rank = 1 + #{greater} + (#{equal} − 1)/2."""
    r = tf.convert_to_tensor(rewards, tf.float32)
    greater = tf.reduce_sum(tf.cast(r[:, None, :] > r[:, :, None], tf.float32), axis=2)
    equal = tf.reduce_sum(tf.cast(r[:, None, :] == r[:, :, None], tf.float32), axis=2)
    return 1.0 + greater + (equal - 1.0) / 2.0


def rescale_rank(rewards: tf.Tensor, delta: float = 12.0) -> tf.Tensor:
    """Paper Eq. 11 row by row: σ(δ·(0.5 − rank/N)), rank from descending_ranks.

    rewards [K, N] -> [K, N]."""
    total = tf.cast(tf.shape(rewards)[1], tf.float32)
    return tf.sigmoid(delta * (0.5 - descending_ranks(rewards) / total))


def rescale(rewards: tf.Tensor, method: str = "ladder", delta: float | None = None) -> tf.Tensor:
    """The rescale named by Config.reward_rescale; delta None = its default (16 / 12)."""
    switches.check("reward_rescale", method, ValueError)
    delta = switches.RESCALE_DELTA[method] if delta is None else delta
    return rescale_ladder(rewards, delta) if method == "ladder" else rescale_rank(rewards, delta)


def rollout_sums(discriminator: Discriminator, rollouts: tf.Tensor) -> tf.Tensor:
    """rollouts [K−1, R, B, T] -> [K−1, B]: the sum over the R rollouts of
    P(real) of each prefix's completions (sums of disjoint sets of rollouts add:
    replicas each sum their own repeats)."""
    km1, num, batch, seq_len = rollouts.shape
    probs = discriminator.prob_real(tf.reshape(rollouts, [-1, seq_len]))
    return tf.reduce_sum(tf.reshape(probs, [km1, num, batch]), axis=1)


def segment_rewards(discriminator: Discriminator, tokens: tf.Tensor, rollouts: tf.Tensor,
                    sums: tf.Tensor | None = None, num: int | None = None) -> tf.Tensor:
    """Raw rewards before rescaling (spec §6.1).

    tokens [B, T]; rollouts [K−1, R, B, T] -> [K, B]: row k < K−1 is the sum over
    rollouts of P(real) of the completions of the prefix of length (k+1)c; row
    K−1 is R·P(real) of the full sequence. Given `sums` (rollout_sums, added
    over replicas) and the total `num` of rollouts, rollouts is not used.
    """
    if sums is None:
        sums, num = rollout_sums(discriminator, rollouts), rollouts.shape[1]
    full = float(num) * discriminator.prob_real(tokens)
    return tf.concat([sums, full[None]], axis=0)


def scale_rewards(raw: tf.Tensor, num: int, discriminator: Discriminator | None = None, reals: tf.Tensor | None = None,
                  num_reals: tf.Tensor | None = None, method: str = "ladder", delta: float | None = None) -> tf.Tensor:
    """Raw rewards [K, B] of num rollouts -> what the original feeds to G:
    rescale(raw) / R as [B, K] (method "ladder" = the original's rescale_ladder;
    "rank" = paper Eq. 11).

    reals [M, T] (COCO, spec §6.4): real sentences scored by the discriminator with
    every row and ranked with it (ladder denominator B + M'); only the B generated
    columns are kept. num_reals (a scalar tensor) uses only the first M' rows (D
    still sees a fixed [M, T] batch, so the graph has static shapes).
    """
    batch, num = tf.shape(raw)[1], float(num)
    if reals is not None:
        real = num * discriminator.prob_real(reals)                                  # [M]
        if num_reals is not None:
            real = real[:num_reals]
        raw = tf.concat([raw, tf.tile(real[None], [raw.shape[0], 1])], axis=1)     # [K, B + M]
    return tf.transpose(rescale(raw, method, delta)[:, :batch]) / num


def scaled_rewards(discriminator: Discriminator, tokens: tf.Tensor, rollouts: tf.Tensor, reals: tf.Tensor | None = None,
                   num_reals: tf.Tensor | None = None, method: str = "ladder", delta: float | None = None) -> tf.Tensor:
    """segment_rewards then scale_rewards: [B, K] for tokens [B, T] and rollouts
    [K−1, R, B, T]."""
    return scale_rewards(segment_rewards(discriminator, tokens, rollouts), rollouts.shape[1], discriminator, reals,
                         num_reals, method, delta)
