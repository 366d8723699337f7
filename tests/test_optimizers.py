"""FusedAdam (TF's fused ApplyAdam kernel) against Keras' Adam: the same
updates up to float rounding, the same slots, and checkpoints that load into
either."""
import keras
import numpy as np
import tensorflow as tf

from leakgan_tf.optimizers import FusedAdam

SHAPES = [(40, 30), (17,), (5, 3, 2)]


def run(cls, steps=6, sparse=False, save=None):
    rng = np.random.default_rng(0)
    variables = [tf.Variable(rng.normal(size=s).astype(np.float32)) for s in SHAPES]
    opt = cls(learning_rate=0.01, epsilon=1e-8)
    opt.build(variables)

    @tf.function
    def step(grads):
        opt.apply_gradients(zip(grads, variables))

    for _ in range(steps):
        grads = [tf.constant(rng.normal(size=s).astype(np.float32)) for s in SHAPES]
        if sparse:  # rows 1 and 3 of the first variable, as an embedding gather gives
            grads[0] = tf.IndexedSlices(tf.gather(grads[0], [1, 3]), tf.constant([1, 3]), tf.constant(SHAPES[0]))
        step(grads)
    if save:
        tf.train.Checkpoint(optimizer=opt, variables=variables).write(save)
    return variables, opt


def assert_close(a, b):
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=2e-6, atol=1e-6)  # float32 ulps of |w| ≤ 4


def test_fused_updates_equal_keras_adam():
    (kv, ko), (fv, fo) = run(keras.optimizers.Adam), run(FusedAdam)
    assert_close(kv, fv)
    assert_close(ko.variables[1:], fo.variables[1:])  # m and v of every variable
    assert int(ko.iterations) == int(fo.iterations) == 6
    start = np.random.default_rng(0).normal(size=SHAPES[0]).astype(np.float32)
    assert np.all(fv[0].numpy() != start), "the fused kernel moved every weight"


def test_sparse_gradients_take_keras_update():
    (kv, _), (fv, _) = run(keras.optimizers.Adam, sparse=True), run(FusedAdam, sparse=True)
    assert_close(kv, fv)


def test_checkpoints_are_interchangeable(tmp_path):
    """Same slots and keys: a Keras-Adam checkpoint (as runs wrote before the fused
    kernel) restores into FusedAdam and training continues as it would have."""
    _, keras_opt = run(keras.optimizers.Adam, save=str(tmp_path / "keras"))
    variables = [tf.Variable(tf.zeros(s)) for s in SHAPES]
    fused = FusedAdam(learning_rate=0.01, epsilon=1e-8)
    fused.build(variables)
    status = tf.train.Checkpoint(optimizer=fused, variables=variables).read(str(tmp_path / "keras"))
    status.assert_existing_objects_matched()
    assert_close(keras_opt.variables, fused.variables)
