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

With `native=True` (the discriminator's optimizer unless XLA compiles its step),
all dense updates of one apply run as one native op, `LeakganApplyAdam`
(models/apply_adam.cc): the same float operations in one pass over each
variable, split across the op's threads. TensorFlow's kernel makes three passes
and ran the discriminator's 30 dense updates in 7-8 ms on this project's 2-core
CPU, one thread or two (docs/performance.md, item 11). Where the op cannot run
(no native library, a GPU, under tf.distribute, XLA) the per-variable kernel does.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from leakgan_tf.kernels import native


class FusedAdam(keras.optimizers.Adam):
    """keras.optimizers.Adam whose dense updates run TF's fused ApplyAdam kernel.

    Same arguments, slots and checkpoint layout as keras.optimizers.Adam; sparse
    gradients and amsgrad fall back to Keras' update. native: see the module docstring.
    """

    def __init__(self, *args, native: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.native = native

    def _scalars(self, dtype) -> dict[str, tf.Tensor]:
        step = tf.cast(self.iterations + 1, dtype)
        beta1, beta2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        return dict(beta1_power=tf.pow(beta1, step), beta2_power=tf.pow(beta2, step), beta1=beta1, beta2=beta2,
                    epsilon=tf.cast(self.epsilon, dtype))

    def _backend_update_step(self, grads, trainable_variables, learning_rate) -> None:
        op = native.apply_adam() if self.native and not self.amsgrad and not tf.distribute.has_strategy() else None
        fused = [not isinstance(g, tf.IndexedSlices) and tf.as_dtype(v.dtype) == tf.float32
                 for g, v in zip(grads, trainable_variables)]
        if op is None or not any(fused):
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        for g, v, f in zip(grads, trainable_variables, fused):
            if not f:
                self.update_step(g, v, learning_rate)
        variables = [v for v, f in zip(trainable_variables, fused) if f]
        slots = [(self._momentums[i], self._velocities[i]) for i in map(self._get_variable_index, variables)]
        op(variables=[_handle(x) for x in variables], m=[_handle(m) for m, _ in slots],
           v=[_handle(v) for _, v in slots], grads=[tf.cast(g, tf.float32) for g, f in zip(grads, fused) if f],
           lr=tf.cast(learning_rate, tf.float32), **self._scalars(tf.float32))

    def update_step(self, gradient: tf.Tensor, variable: tf.Variable, learning_rate: tf.Tensor) -> None:
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        tf.raw_ops.ResourceApplyAdam(var=_handle(variable), m=_handle(m), v=_handle(v),
                                     lr=tf.cast(learning_rate, dtype), grad=tf.cast(gradient, dtype),
                                     use_locking=False, **self._scalars(dtype))


def _handle(variable) -> tf.Tensor:
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


def adam(learning_rate: float, clip: float | None = None, native: bool = False) -> FusedAdam:
    """TF1 AdamOptimizer defaults (ε = 1e-8), optional global-norm clipping; native:
    all dense updates of an apply in one native op where it can run."""
    return FusedAdam(learning_rate=learning_rate, epsilon=1e-8, global_clipnorm=clip, native=native)
