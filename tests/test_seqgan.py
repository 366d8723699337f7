"""SeqGAN (--model=seqgan, leakgan_tf/seqgan.py) at tiny sizes: its rewards, loss,
optimizer wiring and rollout-network update against numpy re-derivations; a run
that trains, resumes from mid-run checkpoints equal to the uninterrupted run,
samples and exports; the flagfile; the fidelity harness against the official code
when $LEAKGAN_SEQGAN_DIR names a checkout of LantaoYu/SeqGAN."""
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf import gans, run_dir
from leakgan_tf.errors import UserError
from leakgan_tf.models.sampling import fold_in, uniforms
from leakgan_tf.seqgan import SeqGAN, policy_gradient_loss
from tests.conftest import REPO_ROOT
from tests.helpers import np_features, tiny_config, tiny_trainer
from tests.test_cli import cli

pytestmark = pytest.mark.heavy(seconds=60)  # measured on 2 cores; orders the modules (conftest)

SCHEDULE = dict(model="seqgan", pretrain_blocks=1, pretrain_g_epochs=2, pretrain_d_rounds=2, d_epochs=1,
                adversarial_iterations=2, adv_d_rounds=1, eval_every=1, rollout_num=2, eval_beta=1.0,
                adv_beta_early_steps=0, dis_dropout_keep_prob=0.75, dis_l2_lambda=0.2, dis_positives="fixed")


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def np_lstm_step(lstm, x, h, c):
    """The generator's LSTM step in numpy: gates packed [i | f | o | candidate]."""
    z = x @ lstm.kernel.numpy() + lstm.bias.numpy() + h @ lstm.recurrent.numpy()
    i, f, o, g = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def np_log_softmax(logits):
    z = logits - logits.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def np_states(gen, tokens):
    """Teacher-forced (h, c) [B, T, H] and log p(x_t) [B, T] in numpy."""
    emb, batch = gen.embedding.numpy(), len(tokens)
    inputs = np.concatenate([np.full([batch, 1], gen.start_token), tokens[:, :-1]], 1)
    h = c = np.zeros([batch, gen.lstm.hidden_dim])
    hs, cs, lps = [], [], []
    for t in range(tokens.shape[1]):
        h, c = np_lstm_step(gen.lstm, emb[inputs[:, t]], h, c)
        lp = np_log_softmax(h @ gen.out_kernel.numpy() + gen.out_bias.numpy())
        hs.append(h), cs.append(c), lps.append(lp[np.arange(batch), tokens[:, t]])
    return np.stack(hs, 1), np.stack(cs, 1), np.maximum(np.stack(lps, 1), -46.051702)


def np_prob_real(disc, tokens):
    logits = np_features(disc, tokens) @ disc.out_kernel.numpy() + disc.out_bias.numpy()
    return np.exp(np_log_softmax(logits))[:, 1]


def np_draw(logits, u):
    """Inverse transform sampling: the smallest k with Σ_{j≤k} p_j > u·Σ p."""
    p = np.exp(logits - logits.max(-1, keepdims=True))
    cum = np.cumsum(p, -1)
    return (cum <= (u * cum[:, -1])[:, None]).sum(-1)


@pytest.fixture(scope="module")
def gan():
    return SeqGAN(tiny_config(model="seqgan", rollout_num=3, dis_dropout_keep_prob=0.75, dis_l2_lambda=0.2))


def test_rollouts_continue_each_prefix_from_its_state_and_the_reward_is_d_prob_real(gan):
    """Rollout of prefix n: prefix kept, then tokens drawn from the LSTM state after
    x_{<n−1} fed x_{n−1} (numpy, with the same uniforms); reward column n−1 = mean
    over the rollouts of D's P(real), the last column D's P(real) of the sequence."""
    cfg = gan.cfg
    tokens = gan.generate(cfg.batch_size, 1.0)
    seed = tf.constant([5, 9], tf.int64)
    gen = gan.generator
    rollouts = gen.rollout(tf.constant(tokens), gen.teacher_forced(tf.constant(tokens)).states, cfg.rollout_num,
                           seed).numpy()
    T, R, B = cfg.seq_len, cfg.rollout_num, cfg.batch_size
    assert rollouts.shape == (T - 1, R, B, T)
    h_tf, c_tf, _ = np_states(gen, tokens)
    emb = gen.embedding.numpy()
    for n in range(1, T):
        rows = rollouts[n - 1].reshape(R * B, T)
        np.testing.assert_array_equal(rows[:, :n], np.tile(tokens[:, :n], [R, 1]))
        h, c, last = np.tile(h_tf[:, n - 1], [R, 1]), np.tile(c_tf[:, n - 1], [R, 1]), np.tile(tokens[:, n - 1], R)
        for s in range(n, T):
            h, c = np_lstm_step(gen.lstm, emb[last], h, c)
            u = uniforms(fold_in(seed, n), s, R * B).numpy()
            last = np_draw(h @ gen.out_kernel.numpy() + gen.out_bias.numpy(), u)
            np.testing.assert_array_equal(rows[:, s], last, err_msg=f"prefix {n}, position {s}")
    reward = gan.rollout_rewards(tf.constant(tokens), seed).numpy()
    expected = np.stack([np_prob_real(gan.discriminator, rollouts[k].reshape(R * B, T)).reshape(R, B).mean(0)
                         for k in range(T - 1)] + [np_prob_real(gan.discriminator, tokens)], 1)
    np.testing.assert_allclose(reward, expected, rtol=1e-5, atol=1e-6)


def test_policy_gradient_loss_is_the_sum_and_one_step_is_clipped_adam(gan):
    """−Σ_{b,t} log p(y_t)·r_t (a sum), numpy; the update: the gradient clipped by
    global norm 5 and one Adam step (lr, ε = 1e-8) of the adversarial optimizer,
    whose moments are its own (the pretrain optimizer's stay untouched)."""
    cfg = gan.cfg
    tokens = gan.generate(cfg.batch_size, 1.0)
    reward = np.random.default_rng(1).uniform(size=tokens.shape).astype(np.float32) * 50  # a gradient to clip
    *_, log_p = np_states(gan.generator, tokens)
    np.testing.assert_allclose(float(policy_gradient_loss(gan.generator.teacher_forced(tf.constant(tokens)).log_probs,
                                                          tf.constant(reward))), -(log_p * reward).sum(), rtol=1e-5)
    fresh = SeqGAN(gan.cfg)  # untouched optimizers: this is its first Adam step
    for a, b in zip(fresh.generator.weights, gan.generator.weights):
        a.assign(b)
    with tf.GradientTape() as tape:
        loss = policy_gradient_loss(fresh.generator.teacher_forced(tf.constant(tokens)).log_probs, reward)
    grads = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, fresh.generator.trainable_variables)]
    norm = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads))
    assert norm > cfg.grad_clip
    before = [v.numpy() for v in fresh.generator.trainable_variables]
    out_loss, _ = fresh.policy_gradient_step(tf.constant(tokens), tf.constant(reward))
    np.testing.assert_allclose(float(out_loss), -(log_p * reward).sum(), rtol=1e-5)
    lr_t = cfg.gen_learning_rate * np.sqrt(1 - 0.999) / (1 - 0.9)
    for w, g, v in zip(before, grads, fresh.generator.trainable_variables):
        g = g * cfg.grad_clip / norm
        m, s = 0.1 * g, 0.001 * g * g
        np.testing.assert_allclose(v.numpy(), w - lr_t * m / (np.sqrt(s) + 1e-8), rtol=1e-4, atol=1e-6)
    assert int(fresh.optimizers["adversarial"].iterations.numpy()) == 1
    assert int(fresh.optimizers["pretrain"].iterations.numpy()) == 0


def test_rollout_network_update_copies_embeddings_and_averages_the_rest():
    """delayed: starts as the generator; after each G step the embeddings are copied
    and every other weight becomes 0.8·rollout + 0.2·generator. generator (the
    default): the rollouts run the generator itself and the update changes nothing."""
    gan = SeqGAN(tiny_config(model="seqgan", rollout_network="delayed", rollout_num=2))
    gan.start_rollout()
    for r, g in zip(gan.rollout_network.weights, gan.generator.weights, strict=True):
        np.testing.assert_array_equal(r.numpy(), g.numpy())
    old = [w.numpy() for w in gan.rollout_network.weights]
    gan.pretrain_step(tf.constant(gan.generate(gan.cfg.batch_size, 1.0)))
    gan.update_rollout()
    names = [w.path for w in gan.generator.weights]
    for name, o, r, g in zip(names, old, gan.rollout_network.weights, gan.generator.weights, strict=True):
        expected = g.numpy() if "embedding" in name else 0.8 * o + 0.2 * g.numpy()
        assert not np.array_equal(o, g.numpy()), name  # the MLE step moved every weight
        np.testing.assert_allclose(r.numpy(), expected, rtol=1e-6, atol=1e-7, err_msg=name)
    assert [n for n in names if "embedding" in n] == [gan.generator.embedding.path]
    plain = SeqGAN(tiny_config(model="seqgan"))
    assert plain.rollout_network is None and plain.rollout_policy() is plain.generator
    assert "rollout" not in plain.checkpoint_objects() and "rollout" in gan.checkpoint_objects()


def test_scores_log_probs_agree_with_nll(gan):
    tokens = gan.generate(2 * gan.cfg.batch_size, 1.0)
    log_probs = gan.log_probs(tokens[:7], beta=1.3)
    *_, lp = np_states(gan.generator, tokens[:7])
    assert log_probs.shape == (7,)
    np.testing.assert_allclose(gan.log_probs(tokens[:7]), lp.sum(1), rtol=1e-5)
    np.testing.assert_allclose(-gan.log_probs(tokens).mean() / gan.cfg.seq_len, gan.nll(tokens), rtol=1e-5)
    assert not np.allclose(log_probs, lp.sum(1))  # β changes them


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An uninterrupted tiny SeqGAN run (rollout network delayed, every unit checkpointed and kept)."""
    root = tmp_path_factory.mktemp("seqgan")
    out = io.StringIO()
    trainer = tiny_trainer(tiny_config(**SCHEDULE, rollout_network="delayed"), root / "straight", checkpoint_every=1,
                           keep_checkpoints=50, out=out)
    assert trainer.run() is None
    return root, trainer, out.getvalue()


def test_trains_in_seqgan_order_and_writes_its_scalars(straight):
    root, trainer, log = straight
    lines = [line.split(" | ")[0] for line in log.splitlines() if line.startswith(("[pretrain]", "[adversarial]"))]
    kinds = ["mle" if " mle " in line else "d" if "D round" in line else "g" if "generator_loss" in line else "eval"
             for line in lines]
    assert kinds == ["mle", "eval", "mle", "d", "d", "g", "eval", "d", "g", "eval", "d"], lines
    tags = ("pretrain/generator/mle_loss", "pretrain/discriminator/loss", "pretrain/nll_oracle",
            "adversarial/generator/generator_loss", "adversarial/generator/mean_reward", "adversarial/nll_oracle")
    rows = run_dir.scalars(root / "straight", keep=lambda tag: tag in tags)
    assert sorted(rows) == sorted(tags)
    assert 0 < rows["adversarial/generator/mean_reward"][1][0] < 1
    ckpt = str(root / "straight" / "checkpoints" / "ckpt-6")
    keys = {name.split("/")[0] for name, _ in tf.train.list_variables(ckpt)}
    assert {"generator", "rollout", "discriminator", "optimizer_pretrain", "optimizer_adversarial",
            "optimizer_discriminator", "rng"} <= keys and not keys & {"manager", "worker"}
    assert json.loads((root / "straight" / "config.json").read_text())["model"] == "seqgan"


@pytest.mark.parametrize("checkpoint", [2, 5], ids=["mid_pretraining", "mid_adversarial"])
def test_resume_from_the_checkpoint_a_kill_leaves_equals_the_uninterrupted_run(straight, tmp_path, checkpoint):
    """As after a kill once ckpt-<checkpoint> was written (ckpt-2: after two MLE
    epochs, in SeqGAN's one pretraining block; ckpt-5: after adversarial iteration 0):
    the rerun redoes the rest and ends with the uninterrupted run's samples and weights."""
    root, reference, _ = straight
    run = tmp_path / "run"
    shutil.copytree(root / "straight", run)
    (run / "checkpoints" / "checkpoint").write_text(f'model_checkpoint_path: "ckpt-{checkpoint}"\n')
    shutil.rmtree(run / "samples")
    resumed = tiny_trainer(reference.cfg, run, checkpoint_every=1, keep_checkpoints=50, out=io.StringIO())
    resumed.run()
    redone = sorted(p.name for p in (run / "samples").glob("*.txt"))
    assert redone == ["adversarial_0000.txt", "adversarial_0001.txt"][checkpoint == 5:]
    for name in redone:
        assert (run / "samples" / name).read_text() == (root / "straight" / "samples" / name).read_text(), name
    for model in ("generator", "rollout_network", "discriminator"):
        for a, b in zip(getattr(reference.gan, model).weights, getattr(resumed.gan, model).weights, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=model)
    np.testing.assert_array_equal(reference.gan.rng.state.numpy(), resumed.gan.rng.state.numpy())


def test_sample_cli_and_export_draw_the_same_rows(straight, tmp_path):
    root, reference, _ = straight
    from leakgan_tf.export import export
    gan, cfg, latest, _ = run_dir.load_run(root / "straight")
    assert isinstance(gan, SeqGAN) and latest.endswith("ckpt-6")
    path = export(gan, tmp_path / "export", logdir=root / "straight", checkpoint=latest)
    assert json.loads((path / "leakgan_tf_export.json").read_text())["model"] == "seqgan"
    loaded = tf.saved_model.load(str(path))
    rows = loaded.signatures["generate"](num=tf.constant(5), beta=tf.constant(1.0), seed=tf.constant(3, tf.int64))
    rows = rows["ids"].numpy()
    np.testing.assert_array_equal(rows, gan.sample_seeded(5, 1.0, 3))
    sampled = cli("--logdir", str(root / "straight"), "--num", "5", "--seed", "3", "--beta", "1.0",
                  module="leakgan_tf.sample")
    assert sampled.returncode == 0, sampled.stderr
    assert [list(map(int, line.split())) for line in sampled.stdout.splitlines()] == rows.tolist()
    assert rows.shape == (5, cfg.seq_len) and rows.min() >= 0 and rows.max() < cfg.vocab_size


def flagfile_config(path, shared_data):
    """The Config a flagfile's --name=value lines make (as leakgan_tf.main does, without its process)."""
    import dataclasses

    from leakgan_tf.config import Config, make_config
    types = {f.name: type(f.default) for f in dataclasses.fields(Config)}
    values = dict(line[2:].split("=", 1) for line in path.read_text().splitlines() if line.startswith("--"))
    convert = {tuple: lambda v: tuple(int(x) for x in v.split(",")), bool: lambda v: v == "true"}
    fields = {k: convert.get(types[k], types[k])(v) for k, v in values.items() if k in types}
    fields["oracle_params"] = fields["oracle_params"].replace("$LEAKGAN_SHARED_DATA", str(shared_data))
    return values, make_config(**fields)


def test_flagfile_holds_the_official_settings(shared_data):
    values, cfg = flagfile_config(REPO_ROOT / "experiments" / "seqgan_len20.cfg", shared_data)
    expected = dict(model="seqgan", gen_emb_dim="32", gen_hidden_dim="32", seq_len="20", vocab_size="5000",
                    batch_size="64", gen_learning_rate="0.01", grad_clip="5.0", pretrain_blocks="1",
                    pretrain_g_epochs="120", pretrain_d_rounds="50", d_epochs="3", adversarial_iterations="200",
                    rollout_num="16", adv_d_rounds="5", eval_every="5", rollout_update_rate="0.8",
                    dis_emb_dim="64", dis_dropout_keep_prob="0.75", dis_l2_lambda="0.2", dis_learning_rate="0.0001",
                    eval_beta="1.0", adv_beta="1.0", adv_beta_early_steps="0", rollout_beta="1.0",
                    dis_positives="fixed", seed="88", generated_num="10000")
    assert {k: values.get(k) for k in expected} == expected
    assert cfg.pretrain_eval_epochs == tuple(range(0, 120, 5)) and cfg.num_samples == 9984
    assert cfg.adversarial_betas() == [1.0] * 20 and cfg.rollout_network == "generator"
    # SeqGAN's D has 7,045,402 weights: ours keeps an embedding row for the pad id −1 (64 more)
    assert SeqGAN(cfg).param_counts() == dict(discriminator=7_045_466, generator=333_320)


def test_settings_seqgan_cannot_use_are_refused():
    with pytest.raises(UserError, match="--distribute=mirrored"):
        tiny_config(model="seqgan", distribute="mirrored")
    with pytest.raises(UserError, match="--variant=paper"):
        tiny_config(model="seqgan", variant="paper")
    odd = tiny_config(model="seqgan", seq_len=7, dis_filter_sizes=(1, 2), dis_num_filters=(3, 4))
    assert odd.seq_len == 7  # LeakGAN's step_size rule is not SeqGAN's
    with pytest.raises(UserError, match="--rollout_update_rate=1.5"):
        tiny_config(model="seqgan", rollout_update_rate=1.5)


def test_init_from_a_run_of_the_other_model_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(tiny_config().to_json())
    with pytest.raises(UserError, match="--model=leakgan and this run has --model=seqgan"):
        run_dir.check_same_meaning(tmp_path, tiny_config(model="seqgan"), str(tmp_path / "checkpoints/ckpt-1"))
    assert isinstance(gans.build(tiny_config(model="seqgan")), SeqGAN)


def test_fidelity_against_the_official_code():
    """experiments/seqgan_fidelity.py on $LEAKGAN_SEQGAN_DIR (a LantaoYu/SeqGAN checkout):
    the same weights in both, one step of each kind, equal up to float rounding."""
    folder = os.environ.get("LEAKGAN_SEQGAN_DIR")
    if not folder:
        pytest.skip("set LEAKGAN_SEQGAN_DIR to a checkout of LantaoYu/SeqGAN")
    out = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"seqgan_fidelity_{os.getpid()}.json"
    result = subprocess.run([sys.executable, str(REPO_ROOT / "experiments" / "seqgan_fidelity.py"),
                             f"--seqgan_dir={folder}", f"--out={out}"], capture_output=True, text=True,
                            cwd=REPO_ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    out.unlink()
    assert report["passed"], report
