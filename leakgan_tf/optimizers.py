"""Adam as the original ran it: TensorFlow's fused ApplyAdam kernel.

Keras' Adam updates a variable with about a dozen element-wise kernels (m, v
and the variable are each read and written several times). TF1's
AdamOptimizer, which the original used, runs one fused kernel per variable
(`ResourceApplyAdam`). With the discriminator's 7 M weights (the two highway
matrices are 3 M each), that difference was a third of a D step on this CPU.
`FusedAdam` keeps Keras' Adam (its slots, its checkpoint keys, its step
counter) and replaces only the per-variable update with that kernel:

  lr_t = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
  m ← m + (g − m)(1 − β₁);  v ← v + (g² − v)(1 − β₂);  θ ← θ − lr_t · m / (√v + ε)

which is Keras' update written as one pass (Kingma & Ba, Alg. 1, with ε
outside the root, as both TF1 and Keras place it).
"""
from __future__ import annotations

import keras
import tensorflow as tf


class FusedAdam(keras.optimizers.Adam):
    """keras.optimizers.Adam whose dense updates run TF's fused ApplyAdam kernel.

    Same arguments, slots and checkpoint layout as keras.optimizers.Adam; sparse
    gradients and amsgrad fall back to Keras' update.
    """

    def update_step(self, gradient: tf.Tensor, variable: tf.Variable, learning_rate: tf.Tensor) -> None:
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        handle = lambda var: (var.value if isinstance(var, keras.Variable) else var).handle  # noqa: E731
        tf.raw_ops.ResourceApplyAdam(
            var=handle(variable), m=handle(m), v=handle(v),
            beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
            beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
            lr=tf.cast(learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype), beta2=tf.cast(self.beta_2, dtype),
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype), use_locking=False)


def adam(learning_rate: float, clip: float | None = None) -> FusedAdam:
    """TF1 AdamOptimizer defaults (ε = 1e-8), optional global-norm clipping."""
    return FusedAdam(learning_rate=learning_rate, epsilon=1e-8, global_clipnorm=clip)
