"""Drawing the generator's tokens (leakgan_tf/models/sampling.py, sample_categorical.cc):
the native op and the TensorFlow ops (`inverse_cdf`) both draw the smallest k with
Σ_{j ≤ k} softmax(β · logits)_j > u, checked against a float64 numpy reference, by
frequencies, and at the edges (β = 0, −inf, +inf, NaN); the seeded row groups; the op in
the compiled sampling step, not under XLA and not in an export."""

import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf.kernels import native
from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.models import sampling
from tests import helpers
from tests.helpers import op_types, tiny_config

OP = "LeakganSampleCategorical"
needs_compiler = helpers.needs_compiler()
INF, NAN = float("inf"), float("nan")


def native_draw(logits, scale, u):
    op = native.sample_categorical()
    assert op is not None, "a compiler is on PATH but the native op could not be built"
    return op(tf.constant(logits, tf.float32), tf.constant(scale, tf.float32), tf.constant(u, tf.float64)).numpy()


def tf_draw(logits, scale, u):
    return sampling.inverse_cdf(tf.constant(logits, tf.float32), scale, tf.constant(u, tf.float64)).numpy()


# both implementations; the native one only where the op can be built
PATHS = [pytest.param(native_draw, id="native", marks=needs_compiler), pytest.param(tf_draw, id="tf_ops")]


def reference(logits, scale, u):
    """Exact float64 inverse CDF: the smallest k with cumsum(p)_k > u, p = softmax(scale · logits)
    (NaN logits have no mass; the last id with mass if rounding leaves cumsum below u)."""
    z = np.float64(scale) * logits.astype(np.float64)
    z = np.where(np.isnan(z), -np.inf, z)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    past = np.cumsum(p, 1) > u[:, None]
    last = p.shape[1] - 1 - np.argmax(p[:, ::-1] > 0, 1)
    return np.where(past.any(1), np.argmax(past, 1), last)


@pytest.mark.parametrize("draw", PATHS)
@pytest.mark.parametrize("scale", [1.0, 1.5])
@pytest.mark.parametrize("vocab", [1, 7, 64, 65, 5000])
def test_draws_equal_the_float64_inverse_cdf(draw, scale, vocab):
    """Random logits [256, V] with 8 sets of uniforms: the ids equal the float64 reference's."""
    rng = np.random.default_rng(vocab)
    logits = (rng.normal(size=(256, vocab)) * rng.uniform(0.5, 4.0, (256, 1))).astype(np.float32)
    same = total = 0
    for _ in range(8):
        u = rng.random(256)
        same += int((draw(logits, scale, u) == reference(logits, scale, u)).sum())
        total += 256
    # A uniform within float rounding (float32 exp and chunk sums) of a boundary between two
    # tokens may be drawn on either side of it: rare, so not all draws must agree.
    assert same / total >= 0.999, (same, total)


@pytest.mark.parametrize("draw", PATHS)
def test_frequencies_match_the_probabilities(draw):
    """200,000 draws from one row of a known distribution (−inf and NaN around it): frequencies within 5 SE."""
    probs = np.array([0.5, 0.25, 0.125, 0.0625, 0.0625])
    where = np.array([3, 17, 40, 63, 66])  # across the 16-lane blocks and the 64-id chunks
    row = np.full(70, -np.inf, np.float32)
    row[[0, 20, 64, 69]] = np.nan
    row[where] = np.log(probs)
    n = 200_000
    ids = draw(np.tile(row, (n, 1)), 1.0, np.random.default_rng(11).random(n))
    counts = np.bincount(ids, minlength=70)
    assert counts.sum() == n and counts[np.setdiff1d(np.arange(70), where)].sum() == 0  # −inf and NaN never drawn
    freq = counts[where] / n
    se = np.sqrt(probs * (1 - probs) / n)
    assert np.all(np.abs(freq - probs) <= 5 * se), (freq, probs)


@pytest.mark.parametrize("draw", PATHS)
@pytest.mark.parametrize("vocab", [5, 70, 5000])
def test_scale_zero_is_uniform(draw, vocab):
    """β = 0: every id has mass 1/V, so the id is exactly floor(u · V)."""
    rng = np.random.default_rng(vocab)
    logits = rng.normal(size=(512, vocab)).astype(np.float32) * 10
    u = rng.random(512)
    np.testing.assert_array_equal(draw(logits, 0.0, u), np.floor(u * vocab).astype(np.int32))


@pytest.mark.parametrize("draw", PATHS)
def test_rows_without_a_finite_distribution(draw):
    """All −inf gives id 0; a row with +inf gives its first +inf (NaN and finite logits beside it)."""
    rows = np.zeros((5, 70), np.float32)
    rows[0] = -np.inf                                        # all −inf              -> 0
    rows[1, [3, 20, 50]] = [NAN, INF, INF]                   # first +inf            -> 20
    rows[2, 66] = INF                                        # +inf past a chunk     -> 66
    rows[3, :] = -np.inf
    rows[3, [9, 33]] = INF                                   # +inf among −inf       -> 9
    rows[4, [0, 1]] = [INF, INF]                             # +inf at 0             -> 0
    expected = [0, 20, 66, 9, 0]
    for scale in (1.0, 1.5):
        for u in (0.0, 0.5, 0.999):
            np.testing.assert_array_equal(draw(rows, scale, np.full(5, u)), expected, err_msg=f"{scale} {u}")


@needs_compiler
def test_nan_and_minus_inf_rows_agree():
    """A row of only NaN and −inf logits (no finite distribution): both paths draw the same id."""
    row = np.array([[NAN, -INF, NAN, -INF]], np.float32)
    assert native_draw(row, 1.0, [0.5])[0] == tf_draw(row, 1.0, [0.5])[0]


@pytest.mark.parametrize("use_native", [pytest.param(True, id="native", marks=needs_compiler),
                                        pytest.param(False, id="tf_ops")])
def test_draw_tokens_addresses_rows_of_one_stream(use_native):
    """draw_tokens repeats for a seed; rows 32–47 drawn alone (first_row=32) are the rows they are among 64."""
    logits = tf.constant(np.tile(np.random.default_rng(0).normal(size=(16, 50)), (4, 1)), tf.float32)
    seed = tf.constant([1, 2], tf.int64)
    position = tf.constant(3)
    ids = sampling.draw_tokens(logits, 1.5, seed, position, use_native).numpy()
    np.testing.assert_array_equal(sampling.draw_tokens(logits, 1.5, seed, position, use_native).numpy(), ids)
    alone = sampling.draw_tokens(logits[32:48], 1.5, seed, position, use_native, first_row=32).numpy()
    np.testing.assert_array_equal(alone, ids[32:48])
    assert not np.array_equal(ids[16:32], ids[32:48])  # same logits, other rows of the stream: own draws
    other = sampling.draw_tokens(logits, 1.5, seed + 100, position, use_native).numpy()
    assert not np.array_equal(other, ids)


def test_philox_words_and_uniforms_are_the_same_under_xla():
    """The seed's bits key Philox directly, so XLA draws what the plain graph draws (its own
    StatelessRandomGetKeyCounter reads 32 bits of each seed word and scrambles them otherwise)."""
    seed = tf.constant([2 ** 40 + 5, 2 ** 35 + 9], tf.int64)
    plain = sampling.uniforms(seed, tf.constant(3), 96, first_row=tf.constant(33, tf.int64))
    xla = tf.function(lambda s, f: sampling.uniforms(s, tf.constant(3), 96, first_row=f), jit_compile=True)
    np.testing.assert_array_equal(xla(seed, tf.constant(33, tf.int64)).numpy(), plain.numpy())
    assert 0.0 <= plain.numpy().min() and plain.numpy().max() < 1.0
    np.testing.assert_array_equal(tf.function(sampling.fold_in, jit_compile=True)(seed, tf.constant(7, tf.int64)),
                                  sampling.fold_in(seed, 7))


def test_xla_sampling_draws_the_plain_graphs_tokens():
    """Generator.sample compiled by XLA (TensorFlow's ops, as on a GPU) against the plain graph:
    the same tokens for the same seed, up to draws within float rounding of a boundary."""
    from leakgan_tf.leakgan import LeakGAN
    from tests.helpers import tiny_config
    gan = LeakGAN(tiny_config(seed=3))
    T, B = gan.cfg.seq_len, gan.cfg.batch_size
    seed = tf.constant([7, 8], tf.int64)
    plain = tf.function(lambda s: gan.generator.sample(4 * B, [1.5] * T, s, portable=True))(seed).numpy()
    xla = tf.function(lambda s: gan.generator.sample(4 * B, [1.5] * T, s, portable=True), jit_compile=True)(seed)
    # a row differs from its first differing draw on (the rest continues from another prefix)
    same_rows = (plain == xla.numpy()).all(1).mean()
    assert same_rows >= 0.95, same_rows


def sampling_ops(gan):
    seed = gan.next_seed()
    groups = gan.cfg.sample_batch // gan.cfg.batch_size
    return op_types(gan._sample.get_concrete_function(tf.constant([1.0] * gan.cfg.seq_len), seed, groups).graph)


@needs_compiler
def test_a_short_last_chunk_draws_the_rows_of_a_full_one():
    """generate(num) draws its last chunk with only the groups num needs (the
    original's 9,984 negatives: 9 chunks of 1,024 rows and one of 768): those rows
    are the first rows the full chunk would have drawn from the same seed."""
    cfg = tiny_config(sample_batch=16)  # chunks of 4 groups of 4 rows
    full, short = LeakGAN(cfg), LeakGAN(cfg)
    expected = full.generate(2 * cfg.sample_batch, 1.5)
    num = cfg.sample_batch + cfg.batch_size + 1  # two groups of the second chunk
    got = short.generate(num, 1.5)
    assert got.shape == (num, cfg.seq_len)
    np.testing.assert_array_equal(got, expected[:num])
    assert short.rng.state.numpy().tolist() == full.rng.state.numpy().tolist()  # one seed per chunk either way
    assert (full._sample.experimental_get_tracing_count(), short._sample.experimental_get_tracing_count()) == (1, 2)


@needs_compiler
def test_compiled_sampling_uses_the_op():
    """LeakGAN's sampling step draws with the native op (inside its while loops)."""
    gan = LeakGAN(tiny_config())
    ids = gan.generate(10, 1.0)
    assert ids.shape == (10, gan.cfg.seq_len) and ids.min() >= 0 and ids.max() < gan.cfg.vocab_size
    assert OP in sampling_ops(gan)


def test_xla_sampling_does_not_use_the_op():
    """With xla_phases=("sampling",) the step holds no native op and still generates."""
    gan = LeakGAN(tiny_config(xla_phases=("sampling",)))
    ids = gan.generate(10, 1.0)  # XLA with the op inside would fail here
    assert ids.shape == (10, gan.cfg.seq_len) and ids.min() >= 0 and ids.max() < gan.cfg.vocab_size
    assert OP not in sampling_ops(gan)


def test_an_export_draws_without_the_op_as_sample_seeded(tmp_path):
    """The SavedModel does not name the op, and its generate gives gan.sample_seeded's rows."""
    from leakgan_tf.export import export
    gan = LeakGAN(tiny_config())
    path = export(gan, tmp_path / "export")
    graph = (path / "saved_model.pb").read_bytes()
    for op in (OP, "LeakganPrefixAppend", "LeakganPrefixPooled"):
        assert op.encode() not in graph, op
    expected = gan.sample_seeded(11, 1.5, 5)
    loaded = tf.saved_model.load(str(path))
    got = loaded.signatures["generate"](num=tf.constant(11), beta=tf.constant(1.5), seed=tf.constant(5, tf.int64))
    assert expected.shape == (11, gan.cfg.seq_len)
    np.testing.assert_array_equal(got["ids"].numpy(), expected)


@needs_compiler
@pytest.mark.parametrize("uniforms", [np.zeros(4), np.zeros((3, 1)), np.zeros(())], ids=["N+1", "N,1", "scalar"])
def test_the_op_rejects_mismatched_shapes(uniforms):
    """Uniforms not of shape [N] are an InvalidArgumentError."""
    op = native.sample_categorical()
    with pytest.raises(tf.errors.InvalidArgumentError, match="uniforms"):
        op(tf.zeros([3, 5]), tf.constant(1.0), tf.constant(uniforms, tf.float64))
