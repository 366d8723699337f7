"""FusedAdam (TF's fused ApplyAdam kernel) against Keras' Adam: the same
updates up to float rounding, the same slots, and checkpoints that load into
either; its native path (one LeakganApplyAdam op for all dense updates) against
TF's kernel: the same bits."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf.config import make_config
from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.models import Discriminator
from leakgan_tf.optimizers import FusedAdam
from tests import helpers
from tests.helpers import op_types, tiny_config

SHAPES = [(40, 30), (17,), (5, 3, 2)]


def run(cls, steps=6, sparse=False, save=None, shapes=SHAPES, **kwargs):
    rng = np.random.default_rng(0)
    variables = [tf.Variable(rng.normal(size=s).astype(np.float32)) for s in shapes]
    opt = cls(learning_rate=0.01, epsilon=1e-8, **kwargs)
    opt.build(variables)

    @tf.function
    def step(grads):
        opt.apply_gradients(zip(grads, variables))

    for _ in range(steps):
        grads = [tf.constant(rng.normal(size=s).astype(np.float32)) for s in shapes]
        if sparse:  # rows 1 and 3 of the first variable, as an embedding gather gives
            grads[0] = tf.IndexedSlices(tf.gather(grads[0], [1, 3]), tf.constant([1, 3]), tf.constant(shapes[0]))
        step(grads)
    if save:
        tf.train.Checkpoint(optimizer=opt, variables=variables).write(save)
    opt.traced_ops = op_types(step.get_concrete_function(grads).graph)
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


needs_compiler = helpers.needs_compiler()
NATIVE_OP = "LeakganApplyAdam"


def assert_same_bits(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@needs_compiler
@pytest.mark.parametrize("sparse", [False, True])
def test_native_updates_equal_the_fused_kernel_bit_for_bit(sparse):
    """Variables of 1 to 140,000 elements (split across the op's threads); a sparse
    gradient takes Keras' update beside the op."""
    shapes = [*SHAPES, (350, 400)]
    (tv, to), (nv, no) = run(FusedAdam, shapes=shapes, sparse=sparse), run(FusedAdam, shapes=shapes, sparse=sparse,
                                                                           native=True)
    assert NATIVE_OP in no.traced_ops and NATIVE_OP not in to.traced_ops
    assert_same_bits(tv, nv)
    assert_same_bits(to.variables, no.variables)  # the step count, m and v


@needs_compiler
def test_native_updates_equal_the_fused_kernel_at_length_20_sizes():
    """The length-20 discriminator's 31 variables (6.7 M weights; the embedding's
    gradient is sparse), two steps."""
    cfg = make_config("synthetic20")
    shapes = [tuple(v.shape) for v in Discriminator(cfg.vocab_size, cfg.seq_len, cfg.dis_emb_dim, cfg.dis_filter_sizes,
                                                    cfg.dis_num_filters).weights]
    (tv, to), (nv, no) = (run(FusedAdam, steps=2, shapes=shapes, sparse=True, native=on) for on in (False, True))
    assert NATIVE_OP in no.traced_ops
    assert_same_bits(tv, nv)
    assert_same_bits(to.variables, no.variables)


@needs_compiler
def test_a_value_read_before_the_native_update_keeps_its_value():
    """A buffer shared with a live read is copied before it is updated (as TF's kernel does)."""
    variable = tf.Variable(tf.ones([64, 64]))
    opt = FusedAdam(learning_rate=0.1, native=True)
    opt.build([variable])
    before = variable.read_value()  # a tensor sharing the variable's buffer
    tf.function(lambda g: opt.apply_gradients([(g, variable)]))(tf.ones([64, 64]))
    np.testing.assert_array_equal(before.numpy(), np.ones([64, 64], np.float32))
    assert np.all(variable.numpy() < 1.0)


@needs_compiler
def test_the_discriminator_uses_the_native_update_unless_xla_compiles_its_step():
    tokens, labels = tf.zeros([4, 8], tf.int32), tf.constant([1, 0, 1, 0], tf.int32)
    for xla_phases, used in (((), True), (("discriminator",), False)):
        gan = LeakGAN(tiny_config(xla_phases=xla_phases))
        assert np.isfinite(gan.discriminator_step(tokens, labels)[0].numpy())  # XLA with the op inside would fail
        step = gan._discriminator_step.get_concrete_function(tokens, labels, tf.zeros([2], tf.int64))
        assert (NATIVE_OP in op_types(step.graph)) == used
    generator_ops = op_types(gan.pretrain_step.get_concrete_function(tf.zeros([4, 8], tf.int32)).graph)
    assert NATIVE_OP not in generator_ops and "ResourceApplyAdam" in generator_ops
