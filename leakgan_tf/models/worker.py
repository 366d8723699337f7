"""The WORKER: an LSTM over tokens whose output O_t [V, k] is steered by the goal
embedding w = l2n(G·W_ψ) (spec §4.1), or w = G·W_ψ (the paper's, no
normalisation; `normalize_goal=False`, `--goal_normalize=false`)."""
from __future__ import annotations

import keras
import tensorflow as tf

from leakgan_tf.models import initializers as init
from leakgan_tf.models.lstm import LSTMWeights
from leakgan_tf.models.ops import l2_normalize, to_dtype


class Worker(keras.Model):
    """Emb [V, E] -> LSTM_W (hidden H) -> O_t = reshape(h·W_out + b_out, [V, k]);
    logits = O_t · w, w = l2n(G·W_ψ) [k], W_ψ = `goal_projection` [D_f, k] (no bias).
    With normalize_goal=False, w = G·W_ψ (paper Eq. 4: the logits then scale
    with the size of the goal sum).

    The original also holds an unused [V, k] matrix; it is left out (it never
    receives a gradient), so the parameter count is the spec's "without it".
    """

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, goal_size: int, feature_dim: int,
                 start_token: int = 0, normalize_goal: bool = True, compute_dtype: str = "float32", **kwargs):
        super().__init__(**kwargs)
        self.compute_dtype_ = tf.as_dtype(compute_dtype)  # of the output projection (the largest matmul)
        self.vocab_size, self.goal_size, self.hidden_dim = vocab_size, goal_size, hidden_dim
        self.start_token = start_token
        self.normalize_goal = normalize_goal
        self.embedding = self.add_weight(shape=(vocab_size, emb_dim), initializer=init.normal(0.1), name="embedding")
        self.lstm = LSTMWeights(emb_dim, hidden_dim, name="worker_lstm")
        self.out_kernel = self.add_weight(shape=(hidden_dim, vocab_size * goal_size), initializer=init.normal(0.1),
                                          name="out_kernel")
        self.out_bias = self.add_weight(shape=(vocab_size * goal_size,), initializer=init.normal(0.1),
                                        name="out_bias")
        self.goal_projection = self.add_weight(shape=(feature_dim, goal_size), initializer=init.normal(0.1),
                                               name="goal_projection")
        self.built = True  # every weight is created above

    def goal_embedding(self, goal: tf.Tensor) -> tf.Tensor:
        """Accumulated goal G [..., D_f] -> w = l2n(G·W_ψ) (or G·W_ψ) [..., k]."""
        w = tf.tensordot(goal, self.goal_projection, axes=1)
        return l2_normalize(w) if self.normalize_goal else w

    def output_weights(self):
        """W_out and b_out rearranged so O_t·w needs no [B, V, k] tensor.

        O[b, v, j] = Σ_h h[b, h] W_out[h, v·k + j] + b_out[v·k + j], hence
        O·w = (h ⊗ w) · W̃ + w · b̃ with W̃ [H·k, V] and b̃ [k, V]: the same
        multiply-adds as the original, without materialising O.
        """
        v, k, h = self.vocab_size, self.goal_size, self.hidden_dim
        kernel = tf.reshape(tf.transpose(tf.reshape(self.out_kernel, [h, v, k]), [0, 2, 1]), [h * k, v])
        bias = tf.transpose(tf.reshape(self.out_bias, [v, k]))
        return kernel, bias

    def logits(self, h: tf.Tensor, w: tf.Tensor, weights: tuple | None = None) -> tf.Tensor:
        """h [N, H], w [N, k] -> logits [N, V] (= O_t · w)."""
        kernel, bias = weights if weights is not None else self.output_weights()
        hw = tf.reshape(h[:, :, None] * w[:, None, :], [-1, self.hidden_dim * self.goal_size])
        low = lambda v: to_dtype(v, self.compute_dtype_)  # noqa: E731
        return to_dtype(tf.matmul(low(hw), low(kernel)), tf.float32) + tf.matmul(w, bias)

    def embed(self, tokens: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.embedding, tokens)

    def call(self, tokens):
        """Teacher-forced LSTM over inputs [start, x_0, …, x_{T-2}].

        tokens [B, T] -> (h [B, T, H], c [B, T, H]); state t has consumed the
        input for token t.
        """
        batch = tf.shape(tokens)[0]
        inputs = tf.concat([tf.fill([batch, 1], self.start_token), tokens[:, :-1]], axis=1)
        return self.lstm.teacher_forced(self.embed(inputs))
