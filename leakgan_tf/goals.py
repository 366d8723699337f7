"""Goal bookkeeping: which Manager sub-goals steer which token (spec §4.2,
paper Eq. 4), selected by `Config.goal_schedule`.

Sub-goals are indexed by the feature they were emitted on: g_j follows f_j,
the leaked feature of the prefix of length j (j = 0..T). Token t (0-based) is
drawn after the Manager has consumed f_t, so g_0..g_t exist when it is drawn.

"block" (the original code): the goal is constant over blocks of c tokens;
block 0 uses the learned G0. The sampling loop and the teacher-forced pass sum
windows shifted by one:

  block k > 0, "sample": g_{(k-1)c} + … + g_{kc-1}
  block k > 0, "train":  g_{(k-1)c+1} + … + g_{kc}

"sliding" (paper Eq. 4, w_t = ψ(Σ_{i=1..c} g_{t−i})): token t uses

  goal(t) = Σ_{i=1..c} g_{max(t−i, 0)}

the last c sub-goals emitted before token t, with the window clamped at the
start: for t < c the missing sub-goals g_{t−c}…g_{−1} are replaced by copies
of g_0 (goal(0) = c·g_0; g_0 is emitted on the empty prefix's feature before
token 0 is drawn). So every goal is a sum of exactly c unit sub-goals (the
same scale at every t, which matters when goal_normalize is off), every
sub-goal is produced by the Manager (G0 is not used), and for t ≥ c it is
Eq. 4 exactly. Sampling, teacher forcing and rollouts use this same formula
on the same g_j, so the teacher-forced log-probabilities of a sequence are
those of the policy that drew it (at β = 1); see models/generator.py.
For t = kc, k ≥ 1, goal(t) equals the "sample" block goal of block k.
"""
from __future__ import annotations

import tensorflow as tf

SCHEDULES = ("sample", "train")  # the two windows of the "block" schedule (not a switch)


def block_goals(subgoals: tf.Tensor, goal_init: tf.Tensor, step_size: int, schedule: str) -> tf.Tensor:
    """Block-constant goals of the original code.

    Args:
      subgoals: [B, S, D_f] with S ≥ T (+1 for "train"), g_j at index j.
      goal_init: G0 tiled to [B, D_f].
      step_size: c.
      schedule: "sample" or "train".
    Returns:
      [B, K', D_f]: the goal of block k at index k, K' = S // c (the last
      block sum is the goal a further block would get).
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    offset = 1 if schedule == "train" else 0
    window = subgoals[:, offset:]
    num_blocks = window.shape[1] // step_size
    window = window[:, :num_blocks * step_size]
    sums = tf.reduce_sum(tf.reshape(window, [-1, num_blocks, step_size, window.shape[-1]]), axis=2)
    return tf.concat([goal_init[:, None], sums], axis=1)


def token_goals(blocks: tf.Tensor, step_size: int, seq_len: int) -> tf.Tensor:
    """Block goals [B, K', D_f] -> the goal of every token [B, T, D_f]."""
    return tf.repeat(blocks, step_size, axis=1)[:, :seq_len]


def sliding_window_indices(position: int, step_size: int) -> list[int]:
    """The sub-goal indices summed for token `position` (a Python int):
    [max(position − i, 0) for i = 1..c], newest first."""
    return [max(position - i, 0) for i in range(1, step_size + 1)]


def sliding_goals(subgoals: tf.Tensor, step_size: int, length: int) -> tf.Tensor:
    """Sliding-window goals (paper Eq. 4, clamped at the start; module doc).

    Args:
      subgoals: [B, S, D_f], g_j at index j, S ≥ length − 1 (and ≥ 1).
      step_size: c.
      length: number of positions t = 0..length−1 to return.
    Returns:
      [B, length, D_f]: goal(t) = Σ_{i=1..c} g_{max(t−i, 0)}.
    """
    total = 0.0
    for i in range(1, step_size + 1):
        total = total + tf.gather(subgoals, [max(t - i, 0) for t in range(length)], axis=1)
    return total


def sliding_step(window: tf.Tensor, current: tf.Tensor | None,
                 position: int | tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One token of the free-running loop under the sliding schedule.

    Args:
      window: [N, c, D_f], the sub-goals g_{max(s−c, 0)} … g_{max(s−1, 0)}
        summed for token s, oldest first (a fixed-size loop state; ignored at
        s = 0, where g_0 is not yet known when the state is built).
      current: g_s [N, D_f], or None when it steers no token (s = T − 1 > 0;
        the window is then returned as it is).
      position: s, an int or int32 scalar tensor.
    Returns:
      (goal(s) [N, D_f], the window of token s + 1). goal(s) equals
      sliding_goals(...)[:, s]: at s = 0 the window is c copies of g_0.
    """
    if current is not None:
        window = tf.where(tf.equal(position, 0), current[:, None], window)
    total = window[:, -1]
    for i in range(window.shape[1] - 2, -1, -1):  # newest first, the order of sliding_goals (bit-identical sums)
        total = total + window[:, i]
    if current is None:
        return total, window
    return total, tf.concat([window[:, 1:], current[:, None]], axis=1)
