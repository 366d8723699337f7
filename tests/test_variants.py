"""The code/paper switches of spec §13: each changes exactly what it names."""
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf import config, losses, rewards
from leakgan_tf.errors import UserError
from leakgan_tf.leakgan import LeakGAN
from tests.helpers import np_l2n, tiny_config

T, C, K, B = 8, 2, 4, 4  # tiny_config: seq_len, step_size, blocks, batch


def tokens(seed=0):
    return tf.constant(np.random.default_rng(seed).integers(0, 30, size=(B, T)), tf.int32)


def np_cos(a, b):
    return (np_l2n(a) * np_l2n(b)).sum(-1)


def np_sliding(sub, t, c=C):
    """goal(t) = Σ_{i=1..c} g_{max(t−i, 0)} (goals.py)."""
    return sum(sub[:, max(t - i, 0)] for i in range(1, c + 1))


# ------------------------------------------------------------------ adversarial_loss
def test_per_step_manager_gradient_sees_reward_permutation_collapsed_does_not():
    gan = LeakGAN(tiny_config())
    reward = np.random.default_rng(1).uniform(size=(B, K)).astype(np.float32)
    permuted = reward[[2, 0, 3, 1]]
    variables = gan.manager.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        out = gan.generator.teacher_forced(tokens())
        values = {(name, tag): fn(out, tf.constant(r))
                  for name, fn in (("collapsed", losses.manager_collapsed_loss),
                                   ("per_step", losses.manager_per_step_loss))
                  for tag, r in (("r", reward), ("perm", permuted))}
    grads = {k: [tf.convert_to_tensor(g).numpy() for g in tape.gradient(v, variables)] for k, v in values.items()}
    for a, b in zip(grads["collapsed", "r"], grads["collapsed", "perm"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)
    assert any(not np.allclose(a, b, rtol=1e-3, atol=1e-7)
               for a, b in zip(grads["per_step", "r"], grads["per_step", "perm"]))
    # the value is −mean_{b,k} R[b,k]·cos(segment change, segment goal)
    cos = np_cos(out.segment_change.numpy(), out.segment_goals.numpy())
    np.testing.assert_allclose(values["per_step", "r"].numpy(), -(reward * cos).mean(), rtol=1e-5)


def test_worker_intrinsic_reward_and_per_step_loss_match_numpy():
    gan = LeakGAN(tiny_config())
    out = gan.generator.teacher_forced(tokens(2))
    f, g = out.features.numpy(), out.subgoals.numpy()                  # f_j, g_j, j = 0..T
    expected = np.zeros((B, T))
    for t in range(T):
        valid = range(1, min(C, t + 1) + 1)                            # i with t+1−i ≥ 0
        expected[:, t] = np.mean([np_cos(f[:, t + 1] - f[:, t + 1 - i], g[:, t + 1 - i]) for i in valid], axis=0)
    np.testing.assert_allclose(losses.worker_intrinsic_reward(out).numpy(), expected, rtol=1e-4, atol=1e-6)
    logp = out.log_probs.numpy()
    np.testing.assert_allclose(losses.worker_per_step_loss(out).numpy(), -(expected * logp).mean(), rtol=1e-4)
    # the intrinsic reward is a constant: the Worker loss reaches the Worker only
    with tf.GradientTape() as tape:
        out = gan.generator.teacher_forced(tokens(2))
        loss = losses.worker_per_step_loss(out)
    grads = tape.gradient(loss, gan.manager.trainable_variables + gan.worker.trainable_variables)
    n_m = len(gan.manager.trainable_variables)
    assert all(gr is None for gr in grads[:n_m]) and all(gr is not None for gr in grads[n_m:])


# ------------------------------------------------------------------ reward_rescale
def np_average_descending_ranks(row):
    """Positions 1..N in descending order, tied values get the mean of their positions."""
    order = np.argsort(-row, kind="stable")
    positions = np.empty(len(row))
    positions[order] = np.arange(1, len(row) + 1)
    return np.array([positions[row == v].mean() for v in row])


def test_rank_rescale_matches_paper_formula_with_ties():
    rows = np.array([[0.3, 0.9, 0.1, 0.5, 0.7, 0.2],
                     [0.4, 0.8, 0.4, 0.8, 0.8, 0.1],      # ties: {0.8 ×3} ranks 1-3 → 2, {0.4 ×2} → 4.5
                     [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]], np.float32)
    for delta in (12.0, 16.0):
        out = rewards.rescale_rank(tf.constant(rows), delta).numpy()
        for row, got in zip(rows, out):
            rank = np_average_descending_ranks(row)
            np.testing.assert_allclose(got, 1 / (1 + np.exp(-delta * (0.5 - rank / len(row)))), rtol=1e-6)
    np.testing.assert_allclose(rewards.descending_ranks(tf.constant(rows[1:2])).numpy()[0],
                               [4.5, 2, 4.5, 2, 2, 6])
    # the highest reward gets the largest value (the ladder ignores the order)
    out = rewards.rescale(tf.constant(rows[:1]), "rank").numpy()[0]
    assert np.argmax(out) == np.argmax(rows[0]) and np.argmin(out) == np.argmin(rows[0])
    np.testing.assert_allclose(out.max(), 1 / (1 + np.exp(-12 * (0.5 - 1 / 6))), rtol=1e-6)
    ladder = rewards.rescale(tf.constant(rows[:1]), "ladder").numpy()
    np.testing.assert_allclose(ladder, rewards.rescale_ladder(tf.constant(rows[:1])).numpy())


def test_permuting_the_scores_permutes_the_rank_rewards_but_not_the_code_ladder():
    """Rank rescale (Eq. 11) follows the scores: r[π] → rescale(r)[π]. The code's
    ladder hands out values by first appearance, so with distinct scores the
    rewards stay where they were, whatever the scores."""
    rng = np.random.default_rng(3)
    scores = rng.uniform(size=(K, 16)).astype(np.float32)     # K rows of B = 16 distinct D scores
    for _ in range(5):
        perm = rng.permutation(16)
        for delta in (12.0, 16.0):
            np.testing.assert_allclose(rewards.rescale_rank(tf.constant(scores[:, perm]), delta).numpy(),
                                       rewards.rescale_rank(tf.constant(scores), delta).numpy()[:, perm],
                                       rtol=1e-6)
        np.testing.assert_array_equal(rewards.rescale_ladder(tf.constant(scores[:, perm])).numpy(),
                                      rewards.rescale_ladder(tf.constant(scores)).numpy())
    assert not np.allclose(rewards.rescale_rank(tf.constant(scores[:, ::-1])).numpy(),
                           rewards.rescale_rank(tf.constant(scores)).numpy())


def test_rescale_delta_defaults():
    assert tiny_config().reward_delta == 16.0
    assert tiny_config(reward_rescale="rank").reward_delta == 12.0
    assert tiny_config(reward_rescale="rank", rescale_delta=5.0).reward_delta == 5.0


# ------------------------------------------------------------------ goal_schedule
def test_sliding_goals_agree_in_sampling_teacher_forcing_and_rollouts():
    gan = LeakGAN(tiny_config(goal_schedule="sliding"))
    gen = gan.generator
    trace = []
    x, _ = gen.free_run(gen.initial_state(B), 0, [1.0] * T, tf.constant([5, 6], tf.int64), trace=trace)
    # the traced (Python-unrolled) steps draw what the while loop draws
    np.testing.assert_array_equal(x.numpy(), gen.sample(B, [1.0] * T, tf.constant([5, 6], tf.int64)).numpy())
    out = gen.teacher_forced(x)
    sub = out.subgoals.numpy()
    # the Manager's teacher-forced sub-goals are the sampling loop's (same features, same order)
    for t in range(T):
        np.testing.assert_allclose(trace[t].numpy(), np_sliding(sub, t), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out.token_goals.numpy()[:, t], np_sliding(sub, t), rtol=1e-5, atol=1e-6)
    assert abs(np_sliding(sub, 0) - C * sub[:, 0]).max() < 1e-5                       # clamped window
    np.testing.assert_allclose(out.segment_goals.numpy(), sub[:, 0:T:C], rtol=1e-6)   # g_{ck}
    # rollouts: the continuation uses the goals teacher forcing gives the completed sequence
    seed = tf.constant([7, 8], tf.int64)
    for m in range(1, K):
        n = m * C
        trace = []
        tail, _ = gen.free_run(gen.rollout_state(x, out, n, 1), n, [1.0] * T, seed, trace=trace)
        untraced, _ = gen.free_run(gen.rollout_state(x, out, n, 1), n, [1.0] * T, seed)
        np.testing.assert_array_equal(tail.numpy(), untraced.numpy())
        full = tf.concat([x[:, :n], tail], axis=1)
        full_sub = gen.teacher_forced(full).subgoals.numpy()
        for s in range(n, T):
            np.testing.assert_allclose(trace[s - n].numpy(), np_sliding(full_sub, s), rtol=1e-5, atol=1e-6)


def test_block_schedule_is_unchanged_and_uses_the_spec_windows():
    gan = LeakGAN(tiny_config())
    gen = gan.generator
    trace = []
    x, _ = gen.free_run(gen.initial_state(B), 0, [1.0] * T, tf.constant([5, 6], tf.int64), trace=trace)
    np.testing.assert_array_equal(x.numpy(), gen.sample(B, [1.0] * T, tf.constant([5, 6], tf.int64)).numpy())
    out = gen.teacher_forced(x)
    sub, g0 = out.subgoals.numpy(), gan.manager.goal_init.numpy()
    for t in range(T):
        k = t // C
        sample = g0 if k == 0 else sub[:, (k - 1) * C:k * C].sum(1)
        train = g0 if k == 0 else sub[:, (k - 1) * C + 1:k * C + 1].sum(1)
        np.testing.assert_allclose(trace[t].numpy(), sample, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out.token_goals.numpy()[:, t], train, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ goal_normalize
def test_goal_normalize_false_gives_w_equal_goal_times_w_psi():
    gan = LeakGAN(tiny_config(goal_normalize=False))
    w = gan.worker
    x = tokens(4)
    raw = gan.generator.teacher_forced(x)
    w.normalize_goal = True
    normed = gan.generator.teacher_forced(x)
    wh = raw.worker_state[0].numpy()
    O = (wh @ w.out_kernel.numpy() + w.out_bias.numpy()).reshape(B, T, 30, 3)  # noqa: E741  (O_t of the paper)
    for out, norm in ((raw, lambda v: v), (normed, np_l2n)):
        wvec = norm(out.token_goals.numpy() @ w.goal_projection.numpy())
        logits = np.einsum("btvj,btj->btv", O, wvec)
        m = logits.max(-1, keepdims=True)
        logp = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
        expected = np.maximum(np.take_along_axis(logp, x.numpy()[..., None], -1)[..., 0], -46.051702)
        np.testing.assert_allclose(out.log_probs.numpy(), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(raw.token_goals.numpy(), normed.token_goals.numpy())  # goals themselves unchanged
    assert not np.allclose(raw.log_probs.numpy(), normed.log_probs.numpy())


# ------------------------------------------------------------------ variants
def test_variants_resolve_to_the_spec_values():
    code = config.make_config()
    assert (code.variant, code.adversarial_loss, code.reward_rescale, code.goal_schedule, code.goal_normalize,
            code.dis_positives) == ("code", "collapsed", "ladder", "block", True, "fresh")
    assert code == config.Config()
    paper = config.make_config(variant="paper")
    assert (paper.adversarial_loss, paper.reward_rescale, paper.reward_delta, paper.goal_schedule,
            paper.goal_normalize) == ("per_step", "rank", 12.0, "sliding", False)
    assert (paper.dis_dropout_keep_prob, paper.dis_l2_lambda, paper.dis_positives,
            paper.interleave_mle_every) == (0.75, 0.2, "fixed", 15)
    assert paper.gen_learning_rate == 0.001 and paper.feature_dim == 1720
    assert paper.adversarial_betas() == [1.0] * 20 and paper.eval_beta == 1.5
    paper40 = config.make_config("synthetic40", variant="paper")
    assert paper40.dis_filter_sizes == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 20, 30, 40)
    assert paper40.dis_num_filters == (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160, 160, 160)
    assert paper40.feature_dim == 2040 and paper40.gen_learning_rate == 0.0005 and paper40.gen_emb_dim == 64
    assert config.make_config("synthetic40").feature_dim == 1880
    cold = config.make_config(variant="no_temperature")
    assert (cold.eval_beta, cold.adv_beta_early, cold.adv_beta, cold.gen_learning_rate) == (1.0, 1.0, 1.0, 0.01)
    assert cold.adversarial_loss == "collapsed" and cold.goal_schedule == "block"
    coco = config.variant_values("no_temperature", "coco")
    assert coco["mle_epoch_fraction"] == pytest.approx(1 / 15)
    # explicit values win over the variant
    mixed = config.make_config(variant="paper", goal_schedule="block", dis_dropout_keep_prob=1.0)
    assert (mixed.goal_schedule, mixed.dis_dropout_keep_prob, mixed.adversarial_loss) == ("block", 1.0, "per_step")


@pytest.mark.parametrize("field,value", [("variant", "papers"), ("adversarial_loss", "sum"),
                                         ("reward_rescale", "sort"), ("goal_schedule", "window"),
                                         ("dis_positives", "stale"), ("rescale_delta", -1.0)])
def test_bad_switch_values_are_one_line_errors(field, value):
    with pytest.raises(UserError, match=f"--{field}="):
        tiny_config(**{field: value})


@pytest.fixture
def parsed_flags():
    from leakgan_tf import flags as run_flags
    run_flags.define_flags()
    run_flags.FLAGS.unparse_flags()

    def parse(*args):
        run_flags.FLAGS.unparse_flags()
        run_flags.FLAGS(["prog", *args])
        return run_flags.config_from_flags()
    yield parse
    run_flags.FLAGS.unparse_flags()


def test_flags_apply_preset_then_variant_then_explicit_flags(parsed_flags):
    cfg = parsed_flags("--preset=synthetic40", "--variant=paper", "--dis_dropout_keep_prob=0.9",
                       "--goal_normalize")
    assert cfg.variant == "paper" and cfg.seq_len == 40 and cfg.feature_dim == 2040
    assert cfg.dis_dropout_keep_prob == 0.9 and cfg.goal_normalize is True    # explicit
    assert cfg.dis_l2_lambda == 0.2 and cfg.goal_schedule == "sliding"        # variant
    assert cfg.gen_emb_dim == 64                                              # preset
    cfg = parsed_flags("--variant=paper", "--seq_len=40", "--dis_filter_sizes=1,2", "--dis_num_filters=3,4")
    assert cfg.dis_filter_sizes == (1, 2) and cfg.gen_learning_rate == 0.0015  # not the length-20 paper LR
    assert parsed_flags() == config.Config()


# ------------------------------------------------------------------ the adversarial step
@pytest.mark.parametrize("overrides", [
    dict(variant="code"), dict(variant="paper"), dict(variant="no_temperature"),
    dict(adversarial_loss="per_step", reward_rescale="rank"),
    dict(goal_schedule="sliding", goal_normalize=False),
], ids=["code", "paper", "no_temperature", "per_step+rank", "sliding+raw"])
def test_adversarial_step_runs_under_every_variant_and_updates_only_the_generator(overrides):
    cfg = tiny_config(**overrides)
    gan = LeakGAN(cfg)
    snap = lambda vs: [v.numpy().copy() for v in vs]  # noqa: E731
    groups = dict(d=gan.discriminator.weights, m=gan.manager.trainable_variables,
                  w=gan.worker.trainable_variables,
                  pre=gan.optimizers["pretrain_worker"].variables + gan.optimizers["pretrain_manager"].variables)
    before = {k: snap(v) for k, v in groups.items()}
    out = gan.adversarial_step(tf.constant([1, 2], tf.int64))
    moved = {k: [not np.array_equal(b, v.numpy()) for b, v in zip(before[k], groups[k])] for k in groups}
    assert not any(moved["d"]) and not any(moved["pre"])
    assert all(moved["w"])
    unused = {"goal_init"} if cfg.goal_schedule == "sliding" else set()
    for v, changed in zip(groups["m"], moved["m"]):
        assert changed == (v.name not in unused), v.name
    r = out["rewards"].numpy()
    assert r.shape == (B, K) and np.isfinite(r).all()
    assert np.isfinite(float(out["goal_loss"])) and np.isfinite(float(out["worker_loss"]))
    if cfg.reward_rescale == "rank":  # every column is a permutation of the rank values (no ties in D's output)
        ladder = 1 / (1 + np.exp(-12 * (0.5 - np.arange(1, B + 1) / B))) / cfg.rollout_num
        for k in range(K):
            if len(np.unique(r[:, k])) == B:
                np.testing.assert_allclose(np.sort(r[:, k])[::-1], ladder, rtol=1e-5)


def test_pretrain_step_under_the_paper_variant():
    gan = LeakGAN(tiny_config(variant="paper"))
    d_before = [v.numpy().copy() for v in gan.discriminator.weights]
    m_vars = gan.manager.trainable_variables
    m_before = [v.numpy().copy() for v in m_vars]
    worker_loss, manager_loss = gan.pretrain_step(tokens(5))
    assert np.isfinite(float(worker_loss)) and np.isfinite(float(manager_loss))
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(d_before, gan.discriminator.weights))
    for b, v in zip(m_before, m_vars):  # G0 is not used by the sliding schedule
        assert np.array_equal(b, v.numpy()) == (v.name == "goal_init"), v.name


@pytest.mark.parametrize("flagfile", ["synthetic_len20", "synthetic_len40", "coco", "emnlp_news", "quick"])
@pytest.mark.parametrize("variant", ["paper", "no_temperature"])
def test_shipped_flagfiles_leave_the_variant_switches_to_the_variant(parsed_flags, flagfile, variant, tmp_path,
                                                                    monkeypatch):
    """A flagfile value counts as given on the command line and wins over --variant,
    so the shipped flagfiles must not pin any field a variant sets."""
    from leakgan_tf import flags as run_flags
    for name in ("oracle_target_params.npz", "image_coco/train.txt", "image_coco/test.txt", "emnlp_news/test.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)  # parsing checks only that data files exist
        (tmp_path / name).write_text("a b\n")
    monkeypatch.setenv("LEAKGAN_SHARED_DATA", str(tmp_path))
    path = pathlib.Path(__file__).resolve().parent.parent / "experiments" / f"{flagfile}.cfg"
    cfg = parsed_flags(f"--flagfile={path}", f"--variant={variant}")
    for name, value in config.variant_values(variant, run_flags.FLAGS.preset, cfg.seq_len).items():
        assert getattr(cfg, name) == value, name
    assert run_flags.variant_overrides(cfg) == []


def test_a_flag_that_overrides_the_variant_is_named(parsed_flags):
    from leakgan_tf import flags as run_flags
    cfg = parsed_flags("--variant=paper", "--gen_learning_rate=0.0015", "--dis_positives=fixed", "--goal_normalize",
                       "--seq_len=40", "--dis_filter_sizes=1,2", "--dis_num_filters=3,4")
    assert run_flags.variant_overrides(cfg) == [
        "note: --dis_filter_sizes=1,2 (given) overrides --variant=paper's "
        "--dis_filter_sizes=1,2,3,4,5,6,7,8,9,10,16,20,30,40",
        "note: --dis_num_filters=3,4 (given) overrides --variant=paper's "
        "--dis_num_filters=100,200,200,200,200,100,100,100,100,100,160,160,160,160",
        "note: --goal_normalize (given) overrides --variant=paper's --nogoal_normalize"]
    cfg = parsed_flags("--variant=paper", "--gen_learning_rate=0.0015")
    assert run_flags.variant_overrides(cfg) == [
        "note: --gen_learning_rate=0.0015 (given) overrides --variant=paper's --gen_learning_rate=0.001"]
