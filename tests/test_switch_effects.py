"""What the remaining spec §13 switches do at run time (test_variants.py covers
the losses, rescales, goal schedules and config resolution): D dropout and L2,
D positives, interleaved MLE epochs and the sampling temperatures. Each switch
changes what it names and nothing else."""
import re

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from leakgan_tf import data
from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.models.leaked import pad_after
from leakgan_tf.models.sampling import fold_in
from leakgan_tf.sources import TextSource
from tests.helpers import np_features, tiny_config, tiny_trainer

_TINY = tiny_config()
T, B, V = _TINY.seq_len, _TINY.batch_size, _TINY.vocab_size
NUM = _TINY.num_samples      # D round size, MLE set size
HUGE = 1e5                   # an inverse temperature that turns sampling into argmax


def tokens(seed, n=B):
    return tf.constant(np.random.default_rng(seed).integers(0, V, size=(n, T)), tf.int32)


def labels(n):
    return tf.constant(np.arange(n) % 2, tf.int32)



def weights(model):
    return [v.numpy() for v in model.weights]


def np_cross_entropy(disc, x, y):
    """Mean softmax cross-entropy of D's dropout-free logits, from numpy features."""
    logits = np_features(disc, x) @ disc.out_kernel.numpy() + disc.out_bias.numpy()
    m = logits.max(-1, keepdims=True)
    log_p = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean()


@pytest.fixture
def d_inputs(monkeypatch):
    """The (positives, negatives) of every D round, recorded on their way into the
    real data.discriminator_batches."""
    seen, real = [], data.discriminator_batches

    def recording(positives, negatives, *args, **kwargs):
        seen.append((np.array(positives), np.array(negatives)))
        return real(positives, negatives, *args, **kwargs)

    monkeypatch.setattr(data, "discriminator_batches", recording)
    return seen


# ------------------------------------------------------------------ dis_dropout_keep_prob
def test_dropout_acts_in_d_training_only_not_on_leaked_features_p_real_or_samples():
    keep = 0.5
    plain, dropped = LeakGAN(tiny_config()), LeakGAN(tiny_config(dis_dropout_keep_prob=keep))
    for a, b in zip(weights(plain.discriminator), weights(dropped.discriminator)):
        np.testing.assert_array_equal(a, b)  # same seed, same weights: only the switch differs
    d, x = dropped.discriminator, tokens(0, 16)
    clean = np_features(d, x.numpy())
    # inference (rewards, D accuracy): no dropout
    np.testing.assert_allclose(d.features(x).numpy(), clean, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(d.prob_real(x).numpy(), plain.discriminator.prob_real(x).numpy())
    # the leaked feature of every prefix, as the generator sees it: no dropout
    out = dropped.generator.teacher_forced(x[:B])
    prefixes = np.stack([np_features(d, pad_after(x[:B], i).numpy()) for i in range(T + 1)], axis=1)
    np.testing.assert_allclose(out.features.numpy(), prefixes, rtol=1e-5, atol=1e-6)
    seed = tf.constant([3, 4], tf.int64)
    np.testing.assert_array_equal(dropped.generator.sample(B, [1.0] * T, seed).numpy(),
                                  plain.generator.sample(B, [1.0] * T, seed).numpy())
    # training=True: each feature is dropped or scaled by 1/keep
    train = d.features(x, training=True, seed=tf.constant([4, 2], tf.int64)).numpy()
    kept = ~np.isclose(train, 0.0)
    np.testing.assert_allclose(train[kept], clean[kept] / keep, rtol=1e-5)
    dropped_share = np.mean(~kept[clean > 1e-6])
    assert 0.3 < dropped_share < 0.7, dropped_share
    # the D train step trains on the dropped-out loss; without dropout it is the clean loss
    y = labels(16)
    expected = np_cross_entropy(d, x.numpy(), y.numpy())
    np.testing.assert_allclose(float(plain.discriminator_step(x, y)[0]), expected, rtol=1e-5)
    assert abs(float(dropped.discriminator_step(x, y)[0]) - expected) > 1e-3


def test_d_dropout_masks_are_stateless_and_resume_like_an_uninterrupted_run():
    """The masks come from the run's random stream (checkpointed), not from a stateful op
    that restarts with every process: two runs from the same seed and weights draw the
    same masks step after step, and a rebuilt run whose stream is restored continues them."""
    x, y = tokens(3, 16), labels(16)
    first, second = (LeakGAN(tiny_config(dis_dropout_keep_prob=0.5)) for _ in range(2))
    second.discriminator.set_weights(first.discriminator.get_weights())
    a = [float(first.discriminator_step(x, y)[0]) for _ in range(3)]
    assert len(set(a)) == 3
    assert [float(second.discriminator_step(x, y)[0]) for _ in range(3)] == a
    # the third step again, from the weights and stream state before it
    third = LeakGAN(tiny_config(dis_dropout_keep_prob=0.5))
    replay = LeakGAN(tiny_config(dis_dropout_keep_prob=0.5))
    replay.discriminator.set_weights(third.discriminator.get_weights())
    for _ in range(2):
        third.discriminator_step(x, y)
        replay.discriminator_step(x, y)
    state = replay.rng.state.numpy()
    weights = replay.discriminator.get_weights()
    fresh = LeakGAN(tiny_config(dis_dropout_keep_prob=0.5))
    fresh.discriminator.set_weights(weights)
    fresh.rng.state.assign(state)
    assert float(fresh.discriminator_step(x, y)[0]) == float(third.discriminator_step(x, y)[0])
    # the code variant (no dropout) draws nothing from the stream for its D steps
    plain = LeakGAN(tiny_config())
    before = plain.rng.state.numpy().copy()
    plain.discriminator_step(x, y)
    np.testing.assert_array_equal(plain.rng.state.numpy(), before)


# ------------------------------------------------------------------ dis_l2_lambda
@pytest.mark.parametrize("lam", [0.0, 0.2])
def test_d_train_step_loss_is_cross_entropy_plus_lambda_times_classifier_l2(lam):
    gan = LeakGAN(tiny_config(dis_l2_lambda=lam))
    d, x, y = gan.discriminator, tokens(1, 16), labels(16)
    w, b = d.out_kernel.numpy(), d.out_bias.numpy()
    expected = np_cross_entropy(d, x.numpy(), y.numpy()) + lam * 0.5 * ((w ** 2).sum() + (b ** 2).sum())
    loss, _ = gan.discriminator_step(x, y)  # the loss of the batch it trained on, before its update
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)  # the λ term is ~2.5% of it at λ = 0.2


def test_l2_term_adds_lambda_times_weight_to_the_classifier_gradient_only():
    lam = 0.2
    x, y = tokens(2, 16), labels(16)
    grads = {}
    for key, gan in (("l2", LeakGAN(tiny_config(dis_l2_lambda=lam))), ("bare", LeakGAN(tiny_config()))):
        variables = gan.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            loss, _ = gan.discriminator.classification_loss(x, y, training=True)
        grads[key] = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, variables)]
        names, values = [v.name for v in variables], [v.numpy() for v in variables]  # equal in both (same seed)
    for name, value, g_l2, g_bare in zip(names, values, grads["l2"], grads["bare"]):
        expected = lam * value if name in ("out_kernel", "out_bias") else np.zeros_like(value)
        np.testing.assert_allclose(g_l2 - g_bare, expected, rtol=1e-4, atol=1e-7, err_msg=name)
    assert {"out_kernel", "out_bias"} <= set(names)


# ------------------------------------------------------------------ dis_positives
def test_oracle_positives_fixed_repeat_the_mle_set_fresh_differ_each_round_negatives_unchanged(tmp_path, d_inputs):
    rounds = {}
    for mode in ("fresh", "fixed"):
        trainer = tiny_trainer(tiny_config(dis_positives=mode, d_epochs=1), tmp_path / mode)
        del d_inputs[:]
        for r in range(2):
            trainer.discriminator_round(r, "pretrain")
        rounds[mode] = list(d_inputs)
        mle = trainer.source.mle_data()  # the fixed MLE set (drawn from --seed, kept in the logdir)
        positives = [p for p, _ in rounds[mode]]
        assert all(p.shape == (NUM, T) for p in positives)
        if mode == "fixed":
            np.testing.assert_array_equal(mle, data.read_int_sequences(tmp_path / mode / "real_data.txt", V, T))
            np.testing.assert_array_equal(positives[0], mle)
            np.testing.assert_array_equal(positives[1], mle)
        else:
            assert not np.array_equal(positives[0], positives[1])
            assert not any(np.array_equal(p, mle) for p in positives)
    # the negatives (the generator's samples, one per round) do not depend on the switch
    for (_, fresh), (_, fixed) in zip(rounds["fresh"], rounds["fixed"]):
        np.testing.assert_array_equal(fresh, fixed)
    assert not np.array_equal(rounds["fixed"][0][1], rounds["fixed"][1][1])


def test_text_positives_fixed_are_one_sample_fresh_resample_each_round():
    from leakgan_tf.text import corpus_from_sentences
    sentences = [" ".join(f"w{(i * 7 + j) % 23}" for j in range(1 + i % 6)) for i in range(40)]
    corpus = corpus_from_sentences(sentences, sentences[:5], seq_len=T, tokenizer="whitespace")
    draws = {}
    for mode in ("fresh", "fixed"):
        source = TextSource(corpus, tiny_config(dis_positives=mode))
        draws[mode] = [source.positives(NUM, seed=s) for s in (11, 12)]
        train_rows = {tuple(row) for row in corpus.train}
        assert all(tuple(row) in train_rows for d in draws[mode] for row in d)
    np.testing.assert_array_equal(*draws["fixed"])
    assert not np.array_equal(*draws["fresh"])


# ------------------------------------------------------------------ interleave_mle_every
class StepCountingLog:
    """The trainer's console: keeps each progress line with the number of
    generator-MLE updates (pretrain_worker optimizer steps) done when it was printed."""

    def __init__(self):
        self.lines, self.trainer = [], None

    def mle_steps(self):
        return int(self.trainer.gan.optimizers["pretrain_worker"].iterations.numpy())

    def write(self, text):
        if text.strip():
            self.lines.append((text, self.mle_steps()))

    def flush(self):
        pass


@pytest.mark.parametrize("every", [0, 3])
def test_interleaved_mle_epoch_follows_every_nth_adversarial_iteration(tmp_path, every):
    """As the original's `if total_batch % 15 == 0: pre_train_epoch(...)` after the G
    step: one MLE epoch (NUM / B updates) after the 0-based iterations it with
    it % every == 0, none with every = 0."""
    iterations = 4
    cfg = tiny_config(pretrain_blocks=0, adversarial_iterations=iterations, adv_d_rounds=0, eval_every=100,
                      interleave_mle_every=every, xla_phases=())  # no XLA: compiling it costs more than the run
    log = StepCountingLog()
    trainer = tiny_trainer(cfg, tmp_path, out=log)
    log.trainer = trainer
    trainer.run()
    # MLE updates done when "iteration k/n" was printed (right after G step k), and at the end
    at = [steps for text, steps in log.lines if re.match(r"\[adversarial\] iteration \d+/", text)]
    assert len(at) == iterations
    at.append(log.mle_steps())
    after = [at[i + 1] - at[i] for i in range(iterations)]  # MLE updates following iteration i
    epoch = NUM // B
    expected = [epoch if every and i % every == 0 else 0 for i in range(iterations)]
    assert after == expected
    assert at[0] == 0
    # each interleaved epoch is logged: a console line and adversarial/mle scalars at its iteration
    assert sum("interleaved MLE epoch" in text for text, _ in log.lines) == sum(map(bool, expected))
    trainer.summaries.flush()
    acc = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    acc.Reload()
    logged = [e.step for e in acc.Tensors("adversarial/mle/worker_mle_loss")] if every else []
    assert logged == [i for i, n in enumerate(expected) if n]
    assert every or "adversarial/mle/worker_mle_loss" not in acc.Tags()["tensors"]


# ------------------------------------------------------------------ temperatures
def test_adversarial_step_samples_at_the_configured_per_position_betas():
    cfg = tiny_config(adv_beta_early=HUGE, adv_beta_early_steps=3, adv_beta=0.5)
    assert cfg.adversarial_betas() == [HUGE] * 3 + [0.5] * 5
    gan = LeakGAN(cfg)
    seed = tf.constant([5, 6], tf.int64)
    sample_seed = fold_in(seed, 0)  # the step's sampling seed (LeakGAN._adversarial_share)
    at_cfg = gan.generator.sample(B, [HUGE] * 3 + [0.5] * 5, sample_seed).numpy()
    at_one = gan.generator.sample(B, [1.0] * T, sample_seed).numpy()
    assert not np.array_equal(at_cfg, at_one)
    np.testing.assert_array_equal(gan.adversarial_step(seed)["tokens"].numpy(), at_cfg)


@pytest.mark.parametrize("early_steps", [0, 3])
def test_huge_early_beta_makes_exactly_the_first_early_steps_positions_argmax(early_steps):
    """Each row's state before position s depends on its earlier tokens only (and on
    G0[row]), so argmax positions repeat across seeds; sampled ones do not."""
    cfg = tiny_config(adv_beta_early=HUGE, adv_beta_early_steps=early_steps, adv_beta=1.0)
    gen = LeakGAN(cfg).generator
    runs = np.stack([gen.sample(B, cfg.adversarial_betas(), tf.constant([s, 1], tf.int64)).numpy()
                     for s in range(8)])                                          # [seeds, B, T]
    same = (runs == runs[:1]).all(axis=(0, 1))                                    # per position
    assert same[:early_steps].all()
    assert not same[early_steps]                                                  # first sampled position
    assert not same[early_steps:].any()


def test_eval_beta_sets_the_temperature_of_evaluation_samples_and_d_negatives(tmp_path, d_inputs):
    """At a huge eval_beta every sample is the argmax decode of its G0 row, so each
    block of B rows repeats; at eval_beta = 1 they do not."""
    blocks_equal = lambda rows: (rows.reshape(-1, B, T) == rows[:B]).all()  # noqa: E731
    for beta, greedy in ((HUGE, True), (1.0, False)):
        trainer = tiny_trainer(tiny_config(eval_beta=beta, d_epochs=1), tmp_path / str(beta))
        trainer.evaluate(0, "adversarial")
        samples = data.read_int_sequences(tmp_path / str(beta) / "samples" / "adversarial_0000.txt", V, T)
        assert samples.shape == (NUM, T) and blocks_equal(samples) == greedy
        del d_inputs[:]
        trainer.discriminator_round(0, "adversarial")
        assert blocks_equal(d_inputs[0][1]) == greedy


def test_no_temperature_variant_samples_at_beta_one_everywhere(tmp_path):
    trainer = tiny_trainer(tiny_config(variant="no_temperature"), tmp_path)
    gan = trainer.gan
    state = gan.rng.state.numpy()
    trainer.evaluate(0, "adversarial")
    gan.rng.reset(state)  # replay the evaluation's random stream at an explicit β = 1
    np.testing.assert_array_equal(data.read_int_sequences(tmp_path / "samples" / "adversarial_0000.txt", V, T),
                                  gan.generate(NUM, 1.0))
    seed = tf.constant([7, 8], tf.int64)
    sample_seed = fold_in(seed, 0)
    expected = gan.generator.sample(B, [1.0] * T, sample_seed).numpy()
    np.testing.assert_array_equal(gan.adversarial_step(seed)["tokens"].numpy(), expected)
