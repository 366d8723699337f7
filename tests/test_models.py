"""The three models against the spec's parameter counts and numpy re-derivations."""
import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf import goals
from leakgan_tf.config import make_config
from leakgan_tf.leakgan import LeakGAN, num_params
from leakgan_tf.models import Discriminator, Manager, Worker
from leakgan_tf.models.leaked import PlainPrefixFeatures
from tests.helpers import np_features, np_l2n, tiny_config


@pytest.mark.parametrize("preset,worker,manager,disc", [
    ("synthetic20", 2_835_840, 391_224, 7_045_466),
    ("synthetic40", 5_663_104 - 5000 * 16, 740_440, 8_505_466),
    ("coco", 10_846_176 - 4839 * 16, 1_391_448, 12_827_962),
])
def test_parameter_counts_match_spec(preset, worker, manager, disc):
    """Spec §2.3's table (the Worker without the unused [V, k] matrix)."""
    cfg = make_config(preset)
    d = Discriminator(cfg.vocab_size, cfg.seq_len, cfg.dis_emb_dim, cfg.dis_filter_sizes, cfg.dis_num_filters)
    m = Manager(d.feature_dim, cfg.gen_hidden_dim, cfg.batch_size)
    w = Worker(cfg.vocab_size, cfg.gen_emb_dim, cfg.gen_hidden_dim, cfg.goal_size, d.feature_dim)
    assert (num_params(w), num_params(m), num_params(d)) == (worker, manager, disc)
    assert d.feature_dim == (1720 if preset == "synthetic20" else 1880)


def test_features_of_padded_prefixes_match_numpy():
    gan = LeakGAN(tiny_config())
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 30, size=(4, 8)).astype(np.int32)
    feats = PlainPrefixFeatures(gan.discriminator).all_prefixes(tf.constant(tokens)).numpy()
    assert feats.shape == (4, 9, gan.discriminator.feature_dim)
    for i in range(9):
        padded = np.where(np.arange(8)[None] < i, tokens, -1)
        np.testing.assert_allclose(feats[:, i], np_features(gan.discriminator, padded), rtol=1e-4, atol=1e-5)


def test_pad_row_is_embedding_row_zero():
    gan = LeakGAN(tiny_config())
    d = gan.discriminator
    np.testing.assert_array_equal(d.embed(tf.constant([[-1, 0]])).numpy()[0], d.embedding.numpy()[:2])


@pytest.mark.parametrize("schedule,windows", [
    # spec §4.2 table for T = 12, c = 4 (sub-goal indices summed per block)
    ("sample", [None, [0, 1, 2, 3], [4, 5, 6, 7]]),
    ("train", [None, [1, 2, 3, 4], [5, 6, 7, 8]]),
])
def test_goal_schedules_follow_spec_table(schedule, windows):
    rng = np.random.default_rng(1)
    sub = rng.normal(size=(2, 13, 5)).astype(np.float32)
    g0 = rng.normal(size=(2, 5)).astype(np.float32)
    blocks = goals.block_goals(tf.constant(sub), tf.constant(g0), 4, schedule).numpy()
    per_token = goals.token_goals(tf.constant(blocks), 4, 12).numpy()
    for t in range(12):
        w = windows[t // 4]
        expected = g0 if w is None else sub[:, w].sum(1)
        np.testing.assert_allclose(per_token[:, t], expected, rtol=1e-6, atol=1e-6)


def _np_lstm(x_proj, recurrent, hidden):
    """Numpy LSTM over pre-projected inputs [B, S, 4H] (gates i, f, o, candidate)."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    b = x_proj.shape[0]
    h, c, hs = np.zeros((b, hidden)), np.zeros((b, hidden)), []
    for t in range(x_proj.shape[1]):
        z = x_proj[:, t] + h @ recurrent
        i, f, o, g = np.split(z, 4, -1)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        hs.append(h)
    return np.stack(hs, 1)


def test_teacher_forced_pass_and_losses_match_numpy():
    cfg = tiny_config()
    gan = LeakGAN(cfg)
    rng = np.random.default_rng(2)
    x = rng.integers(0, 30, size=(4, 8)).astype(np.int32)
    out = gan.generator.teacher_forced(tf.constant(x))
    d, m, w = gan.discriminator, gan.manager, gan.worker
    c, T, K = 2, 8, 4
    F = np.stack([np_features(d, np.where(np.arange(T)[None] < i, x, -1)) for i in range(T + 1)], 1)
    lm = m.lstm
    mh = _np_lstm(F @ lm.kernel.numpy() + lm.bias.numpy(), lm.recurrent.numpy(), 5)
    g = np_l2n(mh @ m.goal_kernel.numpy() + m.goal_bias.numpy())            # g_i after f_i, i = 0..T
    G0 = m.goal_init.numpy()
    tok_goal = np.stack([G0 if t < c else g[:, (t // c - 1) * c + 1:(t // c) * c + 1].sum(1) for t in range(T)], 1)
    inputs = np.concatenate([np.zeros((4, 1), np.int32), x[:, :-1]], 1)
    lw = w.lstm
    wh = _np_lstm(w.embedding.numpy()[inputs] @ lw.kernel.numpy() + lw.bias.numpy(), lw.recurrent.numpy(), 5)
    O = (wh @ w.out_kernel.numpy() + w.out_bias.numpy()).reshape(4, T, 30, 3)  # noqa: E741  O[b, t, v, j]
    wvec = np_l2n(tok_goal @ w.goal_projection.numpy())
    logits = np.einsum("btvj,btj->btv", O, wvec)
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    token_logp = np.take_along_axis(logp, x[..., None], -1)[..., 0]
    np.testing.assert_allclose(out.log_probs.numpy(), token_logp, rtol=1e-4, atol=1e-4)

    seg = F[:, c::c] - F[:, 0:T:c]
    cos_m = (np_l2n(seg) * np_l2n(tok_goal[:, ::c])).sum(-1).mean()
    tokchange = F[:, 1:] - np.repeat(F[:, 0:T:c], c, 1)
    cos_w = (np_l2n(tokchange) * np_l2n(tok_goal)).sum(-1).mean()
    from leakgan_tf import losses
    np.testing.assert_allclose(losses.manager_cosine(out).numpy(), cos_m, rtol=1e-4)
    np.testing.assert_allclose(losses.worker_cosine(out).numpy(), cos_w, rtol=1e-4)
    np.testing.assert_allclose(losses.manager_pretrain_loss(out).numpy(), -cos_m / (4 * K), rtol=1e-4)
    np.testing.assert_allclose(losses.worker_mle_loss(out).numpy(), -token_logp.mean(), rtol=1e-4)
    reward = rng.uniform(size=(4, K)).astype(np.float32)
    np.testing.assert_allclose(losses.manager_collapsed_loss(out, tf.constant(reward)).numpy(),
                               -reward.mean() * cos_m, rtol=1e-4)
    np.testing.assert_allclose(losses.worker_collapsed_loss(out).numpy(), cos_w * -token_logp.mean(), rtol=1e-4)


def test_each_loss_touches_only_its_group():
    from leakgan_tf import losses
    gan = LeakGAN(tiny_config())
    x = tf.constant(np.random.default_rng(3).integers(0, 30, size=(4, 8)), tf.int32)
    with tf.GradientTape(persistent=True) as tape:
        out = gan.generator.teacher_forced(x)
        lw, lm = losses.worker_mle_loss(out), losses.manager_pretrain_loss(out)
    everything = gan.manager.trainable_variables + gan.worker.trainable_variables + \
        gan.discriminator.trainable_variables
    n_m = len(gan.manager.trainable_variables)
    n_w = len(gan.worker.trainable_variables)
    for loss, own in ((lw, slice(n_m, n_m + n_w)), (lm, slice(0, n_m))):
        grads = tape.gradient(loss, everything)
        touched = [g is not None and float(tf.reduce_sum(tf.abs(tf.convert_to_tensor(g)))) > 0 for g in grads]
        assert all(touched[own]), "every variable of the loss's own group gets a gradient"
        assert not any(t for i, t in enumerate(touched) if i not in range(len(everything))[own])


def test_sampling_is_seeded_and_in_range():
    gan = LeakGAN(tiny_config())
    seed = tf.constant([1, 2], tf.int64)
    a = gan.generator.sample(8, [1.5] * 8, seed).numpy()
    b = gan.generator.sample(8, [1.5] * 8, seed).numpy()
    c = gan.generator.sample(8, [1.5] * 8, tf.constant([1, 3], tf.int64)).numpy()
    assert a.shape == (8, 8) and a.min() >= 0 and a.max() < 30
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@pytest.mark.parametrize("feature_path,goal_schedule", [("incremental", "block"), ("plain", "sliding")])
def test_sampling_graph_does_not_grow_with_the_sequence_length(feature_path, goal_schedule):
    """free_run is a tf.while_loop over positions, not unrolled. (16 rows: with 4, 7
    steps would append fewer rows than the 31 of the per-token table and 15 more,
    and the incremental path's step graph would differ by that choice; leaked.with_table.)"""
    def graph_size(seq_len):
        gan = LeakGAN(tiny_config(seq_len=seq_len, feature_path=feature_path, goal_schedule=goal_schedule))
        sample = tf.function(lambda seed: gan.generator.sample(16, [1.5] * seq_len, seed))
        graph = sample.get_concrete_function(tf.TensorSpec([2], tf.int64)).graph.as_graph_def()
        return len(graph.node) + sum(len(f.node_def) for f in graph.library.function)
    assert graph_size(8) == graph_size(16)
