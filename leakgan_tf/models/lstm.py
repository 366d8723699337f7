"""The hand-written LSTM of the original Manager and Worker (no peepholes,
no forget-gate offset, every weight and bias N(0, 0.1^2))."""
from __future__ import annotations

import keras
import tensorflow as tf

from leakgan_tf.models import initializers as init


class LSTMWeights(keras.layers.Layer):
    """Gate weights packed as [input | forget | output | candidate].

    kernel [in, 4H], recurrent [H, 4H], bias [4H]. `project` is applied to a
    whole sequence at once (it does not depend on the state); `step` runs one
    recurrence step on the projected input.
    """

    def __init__(self, input_dim: int, hidden_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.kernel = self.add_weight(shape=(input_dim, 4 * hidden_dim), initializer=init.normal(0.1), name="kernel")
        self.recurrent = self.add_weight(shape=(hidden_dim, 4 * hidden_dim), initializer=init.normal(0.1),
                                         name="recurrent")
        self.bias = self.add_weight(shape=(4 * hidden_dim,), initializer=init.normal(0.1), name="bias")
        self.built = True  # every weight is created above

    def project(self, x: tf.Tensor) -> tf.Tensor:
        """x [..., in] -> [..., 4H] (input-side pre-activations incl. bias)."""
        return tf.tensordot(x, self.kernel, axes=1) + self.bias

    def step(self, x_proj: tf.Tensor, state: tuple[tf.Tensor, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
        """x_proj [B, 4H], state (h, c) each [B, H] -> new (h, c)."""
        h, c = state
        z = x_proj + tf.matmul(h, self.recurrent)
        i, f, o, g = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
        return h, c

    def zero_state(self, batch_size: int | tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        z = tf.zeros([batch_size, self.hidden_dim])
        return z, z

    def teacher_forced(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """The LSTM from the zero state over inputs x [B, T, I], unrolled (T is static):
        (h [B, T, H], c [B, T, H]), state t after consuming input t."""
        proj = self.project(x)
        state = self.zero_state(tf.shape(x)[0])
        hs, cs = [], []
        for t in range(x.shape[1]):
            state = self.step(proj[:, t], state)
            hs.append(state[0])
            cs.append(state[1])
        return tf.stack(hs, 1), tf.stack(cs, 1)
