"""Generator losses (spec §5), selected by `Config.adversarial_loss`.

"collapsed" (the original code). TF1's `cosine_distance` returns a scalar
mean, so every "reward-weighted cosine" of the original collapses to a
product of means:

  C̄_M = mean_{b,k} cos(f_{c(k+1)} − f_{ck}, G_k)      (Manager pairs)
  C̄_W = mean_{b,t} cos(f_{t+1} − f_{c⌊t/c⌋}, G_t)      (Worker pairs)
  L_Mpre = −C̄_M / (B·K)
  L_Wpre = −mean_{b,t} log clip(p(x_t), 1e-20, 1)
  L_Madv = −mean(R) · C̄_M
  L_Wadv = C̄_W · L_Wpre(own samples)

"per_step" (paper Eq. 7–9):

  L_Madv = −mean_{b,k} R[b,k] · cos(f_{c(k+1)} − f_{ck}, G_k)
  L_Wadv = −mean_{b,t} r^I[b,t] · log clip(p(x_t), 1e-20, 1)
  r^I_t  = mean_{i ∈ I_t} cos(f_{t+1} − f_{t+1−i}, g_{t+1−i}),  I_t = {1 … min(c, t+1)}

with f_j the feature of the prefix of length j and g_j the sub-goal the
Manager emits after consuming f_j (spec indexing). Token x_t turns the prefix
of length t into one of length t+1, so its reward compares the feature change
since g_{t+1−i} was emitted (f_{t+1} − f_{t+1−i}, i.e. the effect of the last
i tokens x_{t+1−i} … x_t) with that sub-goal: the paper's
r^I_t = (1/c)·Σ_{i=1..c} d_cos(f_t − f_{t−i}, g_{t−i}) with the paper's step t
being our prefix length t+1. Terms with t+1−i < 0 do not exist; the mean runs
over the valid i (for t ≥ c−1 it is the paper's 1/c·Σ). The i = c term at the
last token of segment k, cos(f_{ck+c} − f_{ck}, g_{ck}), is the pair the
sliding-schedule Manager is judged on. r^I is a constant (stop-gradient): the
Worker loss reaches only Worker variables. G_k is `segment_goals` (which
depends on the goal schedule; models/generator.py). The pretraining losses are
the same under both settings (with Q = 1, Eq. 10 is the mean cosine; the
original's 1/(B·K) scale is kept).

All functions are pure: they take the `TeacherForced` tuple of
`Generator.teacher_forced` (and rewards [B, K]) and return scalars.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import tensorflow as tf

from leakgan_tf import switches
from leakgan_tf.models.ops import cosine

if TYPE_CHECKING:
    from leakgan_tf.models.generator import TeacherForced

LossFn = Callable[..., tf.Tensor]  # (tf_out, rewards [B, K]) -> scalar


def manager_cosine(tf_out: TeacherForced) -> tf.Tensor:
    """C̄_M, the mean cosine between segment feature changes and their goals."""
    return tf.reduce_mean(cosine(tf_out.segment_change, tf_out.segment_goals))


def worker_cosine(tf_out: TeacherForced) -> tf.Tensor:
    """C̄_W, the mean cosine between token feature changes and their goals."""
    return tf.reduce_mean(cosine(tf_out.token_change, tf_out.token_goals))


def worker_mle_loss(tf_out: TeacherForced) -> tf.Tensor:
    """L_Wpre: mean negative log-likelihood per token (nats)."""
    return -tf.reduce_mean(tf_out.log_probs)


def manager_pretrain_loss(tf_out: TeacherForced, batch_size: int | None = None) -> tf.Tensor:
    """L_Mpre = −C̄_M / (B·K); batch_size overrides B (the global batch when tf_out
    is one replica's share)."""
    shape = tf.shape(tf_out.segment_goals)
    batch = shape[0] if batch_size is None else batch_size
    return -manager_cosine(tf_out) / tf.cast(batch * shape[1], tf.float32)


def manager_collapsed_loss(tf_out: TeacherForced, rewards: tf.Tensor) -> tf.Tensor:
    """L_Madv = −mean(R)·C̄_M; rewards [B, K]."""
    return -tf.reduce_mean(rewards) * manager_cosine(tf_out)


def worker_collapsed_loss(tf_out: TeacherForced, rewards: tf.Tensor | None = None) -> tf.Tensor:
    """L_Wadv = C̄_W · L_Wpre on the generator's own samples (rewards unused)."""
    del rewards
    return tf.stop_gradient(worker_cosine(tf_out)) * worker_mle_loss(tf_out)


# ---------------------------------------------------------------- per step (paper)
def manager_per_step_loss(tf_out: TeacherForced, rewards: tf.Tensor) -> tf.Tensor:
    """Paper Eq. 7: −mean_{b,k} R[b,k]·cos(f_{c(k+1)} − f_{ck}, G_k); rewards [B, K]."""
    cos = cosine(tf_out.segment_change, tf_out.segment_goals)          # [B, K]
    return -tf.reduce_mean(tf.stop_gradient(rewards) * cos)


def worker_intrinsic_reward(tf_out: TeacherForced) -> tf.Tensor:
    """Paper Eq. 8 (indices in the module doc): r^I [B, T], a constant.

    r^I[:, t] = mean over i = 1..min(c, t+1) of cos(f_{t+1} − f_{t+1−i}, g_{t+1−i}).
    """
    features, subgoals = tf_out.features, tf_out.subgoals                # [B, T+1, D_f]
    seq_len = tf_out.log_probs.shape[1]
    step = seq_len // tf_out.segment_goals.shape[1]
    total, count = 0.0, []
    for i in range(1, step + 1):
        # positions t = i−1 … T−1: change f_{t+1} − f_{t+1−i}, goal g_{t+1−i}
        cos = cosine(features[:, i:] - features[:, :seq_len + 1 - i], subgoals[:, :seq_len + 1 - i])
        total = total + tf.pad(cos, [[0, 0], [i - 1, 0]])
        count.append([0.0] * (i - 1) + [1.0] * (seq_len + 1 - i))
    return tf.stop_gradient(total / tf.reduce_sum(tf.constant(count), axis=0))


def worker_per_step_loss(tf_out: TeacherForced, rewards: tf.Tensor | None = None) -> tf.Tensor:
    """Paper Eq. 9 as a REINFORCE loss: −mean_{b,t} r^I[b,t]·log p(x_t) (rewards unused:
    the Worker is trained on its intrinsic reward only)."""
    del rewards
    return -tf.reduce_mean(worker_intrinsic_reward(tf_out) * tf_out.log_probs)


def adversarial_losses(name: str) -> tuple[LossFn, LossFn]:
    """(manager_loss(tf_out, rewards), worker_loss(tf_out, rewards)) for
    Config.adversarial_loss."""
    table = {"collapsed": (manager_collapsed_loss, worker_collapsed_loss),
             "per_step": (manager_per_step_loss, worker_per_step_loss)}
    return table[switches.check("adversarial_loss", name, ValueError)]
