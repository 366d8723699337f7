"""The discriminator's pooled convolutions with the native forward and sparse gradient
(leakgan_tf/models/pooled_conv.py, native.py, max_pooled_conv.cc,
max_pooled_conv_grad.cc): equal to TensorFlow's convolutions and dense gradients
up to float rounding at tiny and length-20 sizes,
exact ties included; used by the D step unless XLA compiles it; and without the
op (switched off, no compiler, a failing build) training still runs, with a
one-line note when the op was wanted."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf import kernels
from leakgan_tf.config import SYNTHETIC20_COUNTS, SYNTHETIC20_FILTERS
from leakgan_tf.kernels import native
from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.models.discriminator import PAD_ID, Discriminator
from tests import helpers
from tests.helpers import op_types, tiny_config

OP, FORWARD = "LeakganMaxPooledConvGrad", "LeakganMaxPooledConv"
needs_compiler = helpers.needs_compiler()


def loss_gradients(sparse, tokens, labels, widths, counts, vocab, emb):
    """The D loss and its gradients for every weight, from the same initial weights."""
    tf.keras.utils.set_random_seed(5)
    d = Discriminator(vocab, tokens.shape[1], emb, widths, counts, l2_reg_lambda=0.2, sparse_gradient=sparse)

    @tf.function
    def run():
        with tf.GradientTape() as tape:
            loss, _ = d.classification_loss(tokens, labels, training=False)
        return loss, [tf.convert_to_tensor(g) for g in tape.gradient(loss, d.trainable_variables)]

    loss, grads = run()
    ops = {op.type for op in run.get_concrete_function().graph.get_operations()}
    return loss.numpy(), [g.numpy() for g in grads], [v.name for v in d.trainable_variables], ops


@needs_compiler
@pytest.mark.parametrize("batch,length,emb,widths,counts,vocab", [
    (4, 8, 5, (1, 2, 3, 8), (3, 4, 2, 3), 30),                       # tiny (tests/helpers.tiny_config)
    (64, 20, 64, SYNTHETIC20_FILTERS, SYNTHETIC20_COUNTS, 5000),      # the length-20 discriminator
    (64, 20, 64, SYNTHETIC20_FILTERS, SYNTHETIC20_COUNTS, 4),         # 4 tokens: many exactly equal windows
])
def test_sparse_gradient_equals_dense(batch, length, emb, widths, counts, vocab):
    rng = np.random.default_rng(batch + vocab)
    tokens = rng.integers(0, vocab, (batch, length))
    tokens[0, length // 2:] = PAD_ID  # a padded prefix, as the leaked features see
    tokens[1] = tokens[1, 0]          # one token repeated: every window ties
    tokens, labels = tf.constant(tokens, tf.int32), tf.constant(rng.integers(0, 2, batch), tf.int32)
    dense_loss, dense, names, dense_ops = loss_gradients(False, tokens, labels, widths, counts, vocab, emb)
    sparse_loss, sparse, _, sparse_ops = loss_gradients(True, tokens, labels, widths, counts, vocab, emb)
    assert OP in sparse_ops and not {OP, FORWARD} & dense_ops
    assert (FORWARD in sparse_ops) == native.max_pooled_conv_is_fast()  # the op's forward only where it is faster
    np.testing.assert_allclose(sparse_loss, dense_loss, rtol=1e-6)  # forwards equal up to float rounding
    for name, a, b in zip(names, sparse, dense):
        scale = float(np.abs(b).max())
        assert scale > 0, name
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-6 * max(scale, 1.0), err_msg=name)


@needs_compiler
@pytest.mark.parametrize("batch,length,emb,widths,counts", [
    (4, 8, 5, (1, 2, 3, 8), (3, 4, 2, 3)),                        # tiny
    (7, 9, 3, (1, 4, 9), (17, 33, 48)),                           # rows and filters off the tile sizes
    (64, 20, 64, SYNTHETIC20_FILTERS, SYNTHETIC20_COUNTS),        # the length-20 discriminator
    (0, 20, 64, (2, 20), (5, 7)),                                 # no rows
])
@pytest.mark.parametrize("tile", ["best", "generic"])  # the AVX-512 tile where the CPU has it, the portable one
def test_native_forward_equals_tensorflows_convolutions(batch, length, emb, widths, counts, tile, monkeypatch):
    from leakgan_tf.kernels.pooled_conv import relus
    monkeypatch.setenv("LEAKGAN_TF_CONV_TILE", tile)  # read by the op at every call
    rng = np.random.default_rng(length + emb)
    x = tf.constant(rng.normal(size=(batch, length, emb)), tf.float32)
    kernels = [tf.constant(rng.normal(0, 0.1, (h, emb, n)), tf.float32) for h, n in zip(widths, counts)]
    biases = [tf.constant(rng.normal(0, 0.1, n), tf.float32) for n in counts]
    zs, m = native._library(os.environ).leakgan_max_pooled_conv(x, kernels, biases)  # also where it is not used
    assert [z.shape for z in zs] == [(batch, length - h + 1, n) for h, n in zip(widths, counts)]
    assert m.shape == (batch, sum(counts))
    if not batch:
        return  # (TensorFlow's convolution cannot take zero rows)
    for z, want in zip(zs, relus(x, kernels, biases)):
        scale = max(1.0, float(np.abs(want.numpy()).max(initial=0.0)))
        np.testing.assert_allclose(z.numpy(), want.numpy(), rtol=0, atol=2e-6 * scale)
        assert (z.numpy() >= 0).all()
    # m is exactly the max over time of the op's own ReLU outputs (the gradient op relies on it)
    np.testing.assert_array_equal(m.numpy(), tf.concat([tf.reduce_max(z, axis=1) for z in zs], -1).numpy())


@needs_compiler
def test_ties_split_the_gradient_equally():
    """One filter of width 1 over a row of one repeated token: all T windows tie,
    so each gets 1/T of the gradient (reduce_max's rule), and dx is uniform."""
    x = tf.ones([1, 4, 2])
    kernel, bias = tf.constant([[[1.0], [1.0]]]), tf.constant([0.5])
    from leakgan_tf.kernels.pooled_conv import pooled
    with tf.GradientTape() as tape:
        tape.watch([x, kernel, bias])
        m = pooled(x, [kernel], [bias], sparse_gradient=True)
    dx, dk, db = tape.gradient(m, [x, kernel, bias])
    np.testing.assert_allclose(m.numpy(), [[2.5]])
    np.testing.assert_allclose(dx.numpy(), np.full([1, 4, 2], 0.25))
    np.testing.assert_allclose(dk.numpy(), [[[1.0], [1.0]]])  # Σ_t 1/4 · x_t
    np.testing.assert_allclose(db.numpy(), [1.0])


@needs_compiler
def test_no_gradient_where_the_max_is_not_positive():
    x = tf.ones([1, 3, 1])
    kernel, bias = tf.constant([[[-1.0]]]), tf.constant([0.0])  # relu(-1) = 0 everywhere
    from leakgan_tf.kernels.pooled_conv import pooled
    with tf.GradientTape() as tape:
        tape.watch([x, kernel, bias])
        m = pooled(x, [kernel], [bias])
    for g in tape.gradient(m, [x, kernel, bias]):
        np.testing.assert_array_equal(g.numpy(), np.zeros(g.shape))


@needs_compiler
def test_the_op_rejects_mismatched_shapes():
    op = native.max_pooled_conv_grad()
    x, kernel = tf.zeros([2, 5, 3]), tf.zeros([2, 3, 4])
    with pytest.raises(tf.errors.InvalidArgumentError, match="relus"):
        op(x, [kernel], [tf.zeros([2, 5, 4])], tf.zeros([2, 4]), tf.zeros([2, 4]))  # P should be 4


BAD_SHAPES = textwrap.dedent("""
    import os, sys
    import tensorflow as tf
    from leakgan_tf.kernels import native
    lib = native._library(os.environ)
    f32 = lambda *shape: tf.TensorSpec(shape, tf.float32)
    cases = {
        # a filter wider than the sequence: the shape function made a negative dimension and TF aborted
        "forward h > T": (lib.leakgan_max_pooled_conv, [f32(2, 5, 3), [f32(8, 3, 4)], [f32(4)]]),
        "forward h > T + 2": (lib.leakgan_max_pooled_conv, [f32(2, 3, 3), [f32(9, 3, 4)], [f32(4)]]),
        "forward rank": (lib.leakgan_max_pooled_conv, [f32(2, 5), [f32(2, 3, 4)], [f32(4)]]),
        "forward E": (lib.leakgan_max_pooled_conv, [f32(2, 5, 3), [f32(2, 6, 4)], [f32(4)]]),
        "forward bias": (lib.leakgan_max_pooled_conv, [f32(2, 5, 3), [f32(2, 3, 4)], [f32(5)]]),
        "grad rank": (lib.leakgan_max_pooled_conv_grad, [f32(2, 5), [f32(2, 3)], [f32(2, 4, 4)], f32(2, 4), f32(2, 4)]),
        "sample rank": (lib.leakgan_sample_categorical, [f32(5), f32(), tf.TensorSpec([5], tf.float64)]),
        "pooled rank": (lib.leakgan_prefix_pooled, [tf.TensorSpec([], tf.int32), [f32(4)], [f32(4)], [f32(4)],
                                                    [f32(4)]]),
    }
    for name, (op, specs) in cases.items():
        fn = tf.function(lambda *a, op=op, name=name: op(*a, seq_len=5) if "pooled" in name else op(*a))
        try:
            fn.get_concrete_function(*specs)
        except (ValueError, tf.errors.InvalidArgumentError) as e:
            print(name, "refused:", str(e).splitlines()[0][:200])
            continue
        sys.exit(f"{name}: accepted")
    # the same in eager mode for the forward (the kernel's own checks)
    try:
        lib.leakgan_max_pooled_conv(tf.zeros([2, 3, 3]), [tf.zeros([9, 3, 4])], [tf.zeros([4])])
        sys.exit("eager forward h > T: accepted")
    except tf.errors.InvalidArgumentError as e:
        print("eager forward h > T refused:", str(e).splitlines()[0][:200])
""")


@needs_compiler
def test_every_native_shape_function_refuses_bad_shapes_without_aborting():
    """Run in a child process: a CHECK failure in a shape function aborts the process
    (it hung the suite's xdist worker on AVX-512 CPUs), which must show as a failure here."""
    done = subprocess.run([sys.executable, "-c", BAD_SHAPES], capture_output=True, text=True, timeout=300,
                          cwd=helpers.EXPERIMENTS.parent)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr[-3000:])
    assert "forward h > T + 2 refused: " in done.stdout and "every filter width must lie in [1, T]" in done.stdout
    assert done.stdout.count("refused") == 9, done.stdout


@needs_compiler
def test_the_d_step_uses_the_op_unless_xla_compiles_it():
    tokens = tf.zeros([4, 8], tf.int32)
    labels = tf.constant([1, 0, 1, 0], tf.int32)
    for xla_phases, used in (((), True), (("discriminator",), False)):
        gan = LeakGAN(tiny_config(xla_phases=xla_phases))
        loss, _ = gan.discriminator_step(tokens, labels)  # XLA with the op inside would fail here
        assert np.isfinite(loss.numpy())
        ops = op_types(gan._discriminator_step.get_concrete_function(tokens, labels, tf.zeros([2], tf.int64)).graph)
        assert (OP in ops) == used and (FORWARD in ops) == (used and native.max_pooled_conv_is_fast()), \
            xla_phases


@needs_compiler
def test_an_export_does_not_name_the_op(tmp_path):
    """A SavedModel is loaded by processes with only TensorFlow: with the plain
    feature path its generator calls D's pooled features, whose custom gradient
    would name the native op if gradients were saved."""
    from leakgan_tf.export import export
    gan = LeakGAN(tiny_config(feature_path="plain"))
    graph = export(gan, tmp_path / "export") / "saved_model.pb"
    assert b"IdentityN" in graph.read_bytes()  # the custom-gradient forward was traced
    assert OP.encode() not in graph.read_bytes() and FORWARD.encode() not in graph.read_bytes()


def run_d_step(tmp_path, **env):
    """A fresh process (the op is loaded once per process) runs one tiny D step."""
    script = textwrap.dedent("""
        import tensorflow as tf
        from leakgan_tf.leakgan import LeakGAN
        from leakgan_tf.kernels import native
        from tests.helpers import tiny_config
        gan = LeakGAN(tiny_config())
        loss, _ = gan.discriminator_step(tf.zeros([4, 8], tf.int32), tf.constant([1, 0, 1, 0]))
        print("loss", float(loss), "op", native.max_pooled_conv_grad() is not None)
    """)
    environ = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", native.CACHE: str(tmp_path / "cache"), **env}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environ,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
    assert done.returncode == 0, done.stderr
    # a first build runs when LeakGAN is built, not inside a traced step (AutoGraph warned about its subprocess)
    assert "AutoGraph" not in done.stderr, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("note:")]
    return done.stdout.split(), notes


@pytest.mark.parametrize("env,expected_note", [
    ({native.SWITCH: "0"}, None),
    ({"CXX": "false"}, "building them failed"),                  # a compiler that fails
    ({"CXX": "no-such-compiler-xyz"}, "no C++ compiler"),
])
def test_training_runs_without_the_op(tmp_path, env, expected_note):
    out, notes = run_d_step(tmp_path, **env)
    assert out[-1] == "False" and np.isfinite(float(out[1]))
    if expected_note is None or kernels.visible_gpus():
        assert notes == []  # (a GPU backend never builds the CPU ops, so it has nothing to say)
    else:
        # the last note says why (a failing build is announced first)
        assert 1 <= len(notes) <= 2 and expected_note in notes[-1] and native.SWITCH in notes[-1], notes
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").glob("*.so"))


@needs_compiler
@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo"), reason="reads the CPU's flags from /proc/cpuinfo")
def test_the_forward_op_is_used_only_where_its_avx512_tile_runs():
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    version = subprocess.run([native.compiler(), "--version"], capture_output=True, text=True).stdout
    tile = "avx512f" in flags and "clang" not in version  # the AVX-512 tile is built by GCC only
    assert native.max_pooled_conv_is_fast() == tile
    assert (native.max_pooled_conv() is not None) == tile
