"""Generator losses as the original code computes them (spec §5).

TF1's `cosine_distance` returns a scalar mean, so every "reward-weighted
cosine" of the original collapses to a product of means:

  C̄_M = mean_{b,k} cos(f_{c(k+1)} − f_{ck}, G_k)      (Manager pairs)
  C̄_W = mean_{b,t} cos(f_{t+1} − f_{c⌊t/c⌋}, G_t)      (Worker pairs)
  L_Mpre = −C̄_M / (B·K)
  L_Wpre = −mean_{b,t} log clip(p(x_t), 1e-20, 1)
  L_Madv = −mean(R) · C̄_M
  L_Wadv = C̄_W · L_Wpre(own samples)

All functions are pure: they take the `TeacherForced` tuple of
`Generator.teacher_forced` (and rewards [B, K]) and return scalars.
"""
import tensorflow as tf

from leakgan_tf.models.ops import cosine


def manager_cosine(tf_out):
    """C̄_M, the mean cosine between segment feature changes and their goals."""
    return tf.reduce_mean(cosine(tf_out.segment_change, tf_out.segment_goals))


def worker_cosine(tf_out):
    """C̄_W, the mean cosine between token feature changes and their goals."""
    return tf.reduce_mean(cosine(tf_out.token_change, tf_out.token_goals))


def worker_mle_loss(tf_out):
    """L_Wpre: mean negative log-likelihood per token (nats)."""
    return -tf.reduce_mean(tf_out.log_probs)


def manager_pretrain_loss(tf_out):
    """L_Mpre = −C̄_M / (B·K)."""
    shape = tf.shape(tf_out.segment_goals)
    return -manager_cosine(tf_out) / tf.cast(shape[0] * shape[1], tf.float32)


def manager_adversarial_loss(tf_out, rewards):
    """L_Madv = −mean(R)·C̄_M; rewards [B, K]."""
    return -tf.reduce_mean(rewards) * manager_cosine(tf_out)


def worker_adversarial_loss(tf_out):
    """L_Wadv = C̄_W · L_Wpre on the generator's own samples."""
    return tf.stop_gradient(worker_cosine(tf_out)) * worker_mle_loss(tf_out)
