"""Rewards: Monte Carlo rollouts scored by the discriminator, then the code's
"bootstrapped rescaled activation" (spec §6)."""
import tensorflow as tf


def ladder(index, total, delta=16.0):
    """σ(δ·idx/total − δ/2): the original's `redistribution` (δ = 16)."""
    return tf.sigmoid(delta * tf.cast(index, tf.float32) / tf.cast(total, tf.float32) - delta / 2.0)


def rescale_code(rewards):
    """The original's rescale, row by row: distinct values get ladder indices
    1, 2, … in first-appearance order (Python 3 dict order), not by rank; the
    ladder's denominator is the row length.

    rewards [K, N] -> [K, N]; a row without ties has mean 0.507807 for N = 64.
    """
    total = tf.shape(rewards)[1]

    def row(r):
        _, idx = tf.unique(r)
        return ladder(idx + 1, total)

    return tf.stack([row(rewards[k]) for k in range(rewards.shape[0])], axis=0)


def segment_rewards(discriminator, tokens, rollouts):
    """Raw rewards before rescaling (spec §6.1).

    tokens [B, T]; rollouts [K−1, R, B, T] -> [K, B]: row k < K−1 is the sum over
    rollouts of P(real) of the completions of the prefix of length (k+1)c; row
    K−1 is R·P(real) of the full sequence.
    """
    km1, num, batch, seq_len = rollouts.shape
    flat = tf.concat([tf.reshape(rollouts, [-1, seq_len]), tokens], axis=0)
    probs = discriminator.prob_real(flat)
    completed = tf.reduce_sum(tf.reshape(probs[:-batch], [km1, num, batch]), axis=1)
    full = float(num) * probs[-batch:]
    return tf.concat([completed, full[None]], axis=0)


def code_rewards(discriminator, tokens, rollouts, reals=None, num_reals=None):
    """Rewards as the original feeds them to G: rescale_code(raw) / R, as [B, K].

    reals [M, T] (COCO, spec §6.4): real sentences scored with every row and
    ranked with it (ladder denominator B + M'); only the B generated columns are
    kept. num_reals (a scalar tensor) uses only the first M' rows (D still sees
    a fixed [M, T] batch, so the graph has static shapes).
    """
    raw = segment_rewards(discriminator, tokens, rollouts)
    batch, num = tf.shape(tokens)[0], float(rollouts.shape[1])
    if reals is not None:
        real = num * discriminator.prob_real(reals)                                  # [M]
        if num_reals is not None:
            real = real[:num_reals]
        raw = tf.concat([raw, tf.tile(real[None], [raw.shape[0], 1])], axis=1)     # [K, B + M]
    return tf.transpose(rescale_code(raw)[:, :batch]) / num
