"""Goal bookkeeping: which Manager sub-goals steer which token (spec §4.2).

Sub-goals are indexed by the feature they were emitted on: g_j follows f_j,
the leaked feature of the prefix of length j (j = 0..T). The original code
keeps the goal constant over blocks of c tokens; block 0 uses the learned G0.
The sampling loop and the teacher-forced pass sum windows shifted by one:

  block k > 0, "sample": g_{(k-1)c} + … + g_{kc-1}
  block k > 0, "train":  g_{(k-1)c+1} + … + g_{kc}
"""
import tensorflow as tf

SCHEDULES = ("sample", "train")


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
