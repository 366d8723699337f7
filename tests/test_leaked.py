"""The exact incremental leaked-feature path equals the plain recomputation; its
native free-running state ops (prefix_features.cc) equal its TensorFlow ops bit for bit."""

import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf.config import make_config
from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.models import Discriminator
from leakgan_tf.models.leaked import IncrementalPrefixFeatures, PlainPrefixFeatures, TableState
from tests import helpers
from tests.helpers import op_types, tiny_config


@pytest.mark.parametrize("preset", ["synthetic20", "synthetic40", "coco"])
def test_incremental_equals_plain_at_paper_sizes(preset):
    cfg = make_config(preset)
    tf.random.set_seed(0)
    d = Discriminator(cfg.vocab_size, cfg.seq_len, cfg.dis_emb_dim, cfg.dis_filter_sizes, cfg.dis_num_filters)
    x = tf.constant(np.random.default_rng(1).integers(0, cfg.vocab_size, size=(2, cfg.seq_len)), tf.int32)
    plain, inc = PlainPrefixFeatures(d), IncrementalPrefixFeatures(d)
    expected = plain.all_prefixes(x).numpy()
    np.testing.assert_allclose(inc.all_prefixes(x).numpy(), expected, rtol=1e-4, atol=2e-5)
    state = inc.start(x, 0)
    for t in range(cfg.seq_len + 1):
        np.testing.assert_allclose(inc.feature(state, t).numpy(), expected[:, t], rtol=1e-4, atol=2e-5)
        if t in (1, cfg.seq_len // 2):  # starting from a known prefix gives the same state
            np.testing.assert_allclose(inc.feature(inc.start(x, t), t).numpy(), expected[:, t],
                                       rtol=1e-4, atol=2e-5)
        if t < cfg.seq_len:
            state = inc.append(state, t, x[:, t])


def test_sampling_and_losses_identical_across_paths():
    seed = tf.constant([3, 4], tf.int64)
    plain, inc = LeakGAN(tiny_config(feature_path="plain")), LeakGAN(tiny_config(feature_path="incremental"))
    a = plain.generator.sample(8, [1.0] * 8, seed).numpy()
    b = inc.generator.sample(8, [1.0] * 8, seed).numpy()
    np.testing.assert_array_equal(a, b)
    x = tf.constant(a[:4])
    out_a, out_b = plain.generator.teacher_forced(x), inc.generator.teacher_forced(x)
    np.testing.assert_allclose(out_a.log_probs.numpy(), out_b.log_probs.numpy(), rtol=1e-5, atol=1e-5)
    ra = plain.generator.rollout(x, out_a, 2, seed).numpy()
    rb = inc.generator.rollout(x, out_b, 2, seed).numpy()
    np.testing.assert_array_equal(ra, rb)


def test_prefix_states_take_a_symbolic_position():
    """feature/append accept the int32 position tensor of the sampling while loop
    (one trace for every position) and still equal the plain recomputation."""
    cfg = tiny_config()
    tf.random.set_seed(1)
    d = Discriminator(cfg.vocab_size, cfg.seq_len, cfg.dis_emb_dim, cfg.dis_filter_sizes, cfg.dis_num_filters)
    x = tf.constant(np.random.default_rng(2).integers(0, cfg.vocab_size, size=(3, cfg.seq_len)), tf.int32)
    expected = PlainPrefixFeatures(d).all_prefixes(x).numpy()
    for path in (PlainPrefixFeatures(d), IncrementalPrefixFeatures(d)):
        feature, append = tf.function(path.feature), tf.function(path.append)
        state = path.start(x, 0)
        for t in range(cfg.seq_len + 1):
            np.testing.assert_allclose(feature(state, tf.constant(t)).numpy(), expected[:, t], rtol=1e-5, atol=1e-6)
            if t < cfg.seq_len:
                state = append(state, tf.constant(t), x[:, t])
        assert feature.experimental_get_tracing_count() == 1 and append.experimental_get_tracing_count() == 1


needs_compiler = helpers.needs_compiler()


def _flat_state(state):
    """The per-filter arrays of an incremental state (done, then opened)."""
    return [t.numpy() for t in state[2] + state[3]]


@needs_compiler
@pytest.mark.parametrize("preset", ["tiny", "synthetic20"])
def test_native_state_ops_are_bit_identical_to_tensorflow_ops(preset):
    """LeakganPrefixAppend/Pooled give exactly the TF path's state and features at
    every position, from every starting length, with the packed kernel and with the
    per-token table (which equals the kernel path up to the rounding of its matmul)."""
    cfg = tiny_config() if preset == "tiny" else make_config(preset)
    tf.random.set_seed(2)
    d = Discriminator(cfg.vocab_size, cfg.seq_len, cfg.dis_emb_dim, cfg.dis_filter_sizes, cfg.dis_num_filters)
    x = tf.constant(np.random.default_rng(3).integers(0, cfg.vocab_size, size=(5, cfg.seq_len)), tf.int32)
    inc = IncrementalPrefixFeatures(d)
    for start in (0, 1, cfg.seq_len // 2):
        table = lambda start=start: inc.with_table(inc.start(x, start), 5, 10 ** 6)  # noqa: E731
        states = {"tf": inc.start(x, start), "native": inc.start(x, start), "tf+table": table(),
                  "native+table": table()}
        assert isinstance(states["native+table"], TableState)
        for t in range(start, cfg.seq_len):
            features = {k: inc.feature(s, tf.constant(t), use_native=k.startswith("native")).numpy()
                        for k, s in states.items()}
            states = {k: inc.append(s, tf.constant(t), x[:, t], use_native=k.startswith("native"))
                      for k, s in states.items()}
            for native_key, tf_key in (("native", "tf"), ("native+table", "tf+table")):
                np.testing.assert_array_equal(features[native_key], features[tf_key])
                for a, b in zip(_flat_state(states[native_key]), _flat_state(states[tf_key])):
                    np.testing.assert_array_equal(a, b)
            np.testing.assert_allclose(features["tf+table"], features["tf"], rtol=1e-6, atol=1e-6)


def test_the_table_is_used_only_when_it_pays_and_fits():
    """with_table: not for fewer appended rows than the table has, nor above TABLE_BYTES."""
    cfg = tiny_config()
    d = Discriminator(cfg.vocab_size, cfg.seq_len, cfg.dis_emb_dim, cfg.dis_filter_sizes, cfg.dis_num_filters)
    inc = IncrementalPrefixFeatures(d)
    state = inc.start(tf.zeros([4, cfg.seq_len], tf.int32), 0)
    rows = cfg.vocab_size + 1
    assert not isinstance(inc.with_table(state, 4, rows // 4 - 1), TableState)
    assert isinstance(inc.with_table(state, 4, rows // 4 + 1), TableState)
    assert not isinstance(inc.with_table(state, None, 10 ** 6), TableState)
    inc.TABLE_BYTES = 16
    assert not isinstance(inc.with_table(state, 4, 10 ** 6), TableState)


@needs_compiler
def test_sampling_uses_the_state_ops_unless_xla_compiles_it():
    """The compiled sampling step names the native state ops; under XLA it does not (and still runs)."""
    for xla_phases, used in (((), True), (("sampling",), False)):
        gan = LeakGAN(tiny_config(feature_path="incremental", xla_phases=xla_phases))
        assert gan.generate(8, 1.5).shape == (8, gan.cfg.seq_len)
        betas = tf.constant([1.5] * gan.cfg.seq_len)
        groups = gan.cfg.sample_batch // gan.cfg.batch_size
        types = op_types(gan._sample.get_concrete_function(betas, gan.next_seed(), groups).graph)
        assert ("LeakganPrefixAppend" in types and "LeakganPrefixPooled" in types) == used, xla_phases
