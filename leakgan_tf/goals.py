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
import tensorflow as tf

SCHEDULES = ("sample", "train")
GOAL_SCHEDULES = ("block", "sliding")


def block_goals(subgoals, goal_init, step_size, schedule):
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


def token_goals(blocks, step_size, seq_len):
    """Block goals [B, K', D_f] -> the goal of every token [B, T, D_f]."""
    return tf.repeat(blocks, step_size, axis=1)[:, :seq_len]


def sliding_window_indices(position, step_size):
    """The sub-goal indices summed for token `position` (a Python int):
    [max(position − i, 0) for i = 1..c]."""
    return [max(position - i, 0) for i in range(1, step_size + 1)]


def sliding_goals(subgoals, step_size, length):
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


def sliding_goal_from_history(history, current, step_size):
    """The sliding goal of the token being drawn, from the free-running loop's
    history: `history` holds the sub-goals g_{max(0, s−c)} … g_{s−1} emitted
    before step s (a tuple, oldest first, possibly empty) and `current` is g_s.

    Equals sliding_goals(...)[:, s]: with fewer than c known sub-goals the
    window is padded with g_0 (which is `current` when s = 0).
    """
    known = history if history else (current,)
    padded = (known[0],) * (step_size - len(known)) + tuple(known[-step_size:])
    newest_first = padded[::-1]  # the summation order of sliding_goals (bit-identical sums)
    total = newest_first[0]
    for g in newest_first[1:]:
        total = total + g
    return total
