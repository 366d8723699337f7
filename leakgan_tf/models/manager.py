"""The MANAGER: an LSTM over leaked features that emits unit-norm sub-goals (spec §4.1)."""
from __future__ import annotations

import keras
import tensorflow as tf

from leakgan_tf.models import initializers as init
from leakgan_tf.models.lstm import LSTMWeights
from leakgan_tf.models.ops import l2_normalize


class Manager(keras.Model):
    """Input f_t [B, D_f] -> LSTM_M (hidden H) -> g_t = l2n(h·W_goal + b_goal) [B, D_f].

    Also owns G0 (`goal_init` [batch_size, D_f]), the learned goal of the first
    block, one row per batch slot; batches that are multiples of batch_size
    tile it, so row r uses G0[r % batch_size].
    """

    def __init__(self, feature_dim: int, hidden_dim: int, batch_size: int, **kwargs):
        super().__init__(**kwargs)
        self.feature_dim, self.hidden_dim, self.batch_size = feature_dim, hidden_dim, batch_size
        self.lstm = LSTMWeights(feature_dim, hidden_dim, name="manager_lstm")
        self.goal_kernel = self.add_weight(shape=(hidden_dim, feature_dim), initializer=init.normal(0.1),
                                           name="goal_kernel")
        self.goal_bias = self.add_weight(shape=(feature_dim,), initializer=init.normal(0.1), name="goal_bias")
        self.goal_init = self.add_weight(shape=(batch_size, feature_dim), initializer=init.truncated_normal(0.1),
                                         name="goal_init")
        self.built = True  # every weight is created above

    def initial_goal(self, batch: int | tf.Tensor, offset: tf.Tensor | None = None) -> tf.Tensor:
        """G0 for `batch` rows [batch, D_f]: tiled (batch a multiple of batch_size),
        or with `offset` the rows offset … offset+batch−1 of G0 (one replica's share
        of a batch under tf.distribute)."""
        if offset is None:
            return tf.tile(self.goal_init, [batch // self.batch_size, 1])
        return self.goal_init[offset:offset + batch]

    def subgoal(self, h: tf.Tensor) -> tf.Tensor:
        """h [..., H] -> unit sub-goal [..., D_f]."""
        return l2_normalize(tf.tensordot(h, self.goal_kernel, axes=1) + self.goal_bias)

    def call(self, features):
        """Teacher-forced pass over given features.

        features [B, S, D_f] -> (subgoals [B, S, D_f], h [B, S, H], c [B, S, H]).
        """
        proj = self.lstm.project(features)
        state = self.lstm.zero_state(tf.shape(features)[0])
        hs, cs = [], []
        for i in range(features.shape[1]):
            state = self.lstm.step(proj[:, i], state)
            hs.append(state[0])
            cs.append(state[1])
        h, c = tf.stack(hs, 1), tf.stack(cs, 1)
        return self.subgoal(h), h, c
