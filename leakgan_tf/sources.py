"""Where a run's data comes from and how its samples are judged.

  OracleSource  synthetic experiments: a fixed MLE set drawn once from the
                oracle, fresh oracle positives for every D round (spec §7.1),
                NLL-oracle and the oracle's own NLL as metrics.
  TextSource    real text: the training split as MLE data and as D positives
                (a fresh random sample of them each round, spec §2.2), NLL-test,
                BLEU-2..5 and Self-BLEU with their protocol, decoded samples.

Both are a `Source`: what the Trainer needs (mle_data, positives,
reward_reals, evaluate, decode, inherit). `from_config(cfg, logdir)` builds
the one a Config names (train and evaluate both call it).
"""
from __future__ import annotations

import dataclasses
import pathlib
from typing import TYPE_CHECKING, Protocol

import numpy as np

from leakgan_tf import data, metrics
from leakgan_tf.errors import UserError

if TYPE_CHECKING:
    from leakgan_tf.config import Config
    from leakgan_tf.leakgan import LeakGAN
    from leakgan_tf.text import Corpus
    from synthetic_oracle.model import OracleLSTM


class Source(Protocol):
    """What the Trainer needs of a data source. Token arrays are int32 [N, T]."""

    cfg: Config  # the run's Config (a text source sizes vocab_size to its corpus)

    def mle_data(self) -> np.ndarray:
        """The MLE training set [N, T] (the same array on every call)."""

    def positives(self, num: int, seed: int) -> np.ndarray:
        """num real sequences [num, T] as D's positives for one round."""

    def reward_reals(self, seed: int) -> np.ndarray | None:
        """Real sequences [M, T] ranked with the rollouts' rewards (spec §6.4), or None."""

    def evaluate(self, gan: LeakGAN, samples: np.ndarray, seed: int) -> dict[str, float]:
        """Scores of samples [N, T] drawn from gan."""

    def decode(self, row: np.ndarray) -> str:
        """One sequence [T] as display text."""

    def inherit(self, other_logdir: pathlib.Path) -> list[str]:
        """What a --init_from branch keeps of the run in other_logdir; one line per file."""


def _draw_positive(logits, seed):
    """One oracle token per row at temperature 1 (OracleLSTM.generate's draw)."""
    from leakgan_tf.models.sampling import draw_tokens
    return draw_tokens(logits, 1.0, seed, 0)


def from_config(cfg: Config, logdir: str | pathlib.Path, fresh: bool = False) -> Source:
    """The source cfg.dataset names, its data kept in logdir (fresh: a text run's
    vocabulary is rebuilt). A text source's cfg has vocab_size set to the corpus'."""
    logdir = pathlib.Path(logdir)
    if cfg.dataset == "oracle":
        return OracleSource(build_oracle(cfg), cfg, logdir)
    return build_text_source(cfg, logdir, fresh)


def build_oracle(cfg: Config) -> OracleLSTM:
    """The oracle the config names (synthetic_oracle.OracleLSTM): a parameter
    file or a seeded random LSTM."""
    from synthetic_oracle import OracleError
    from synthetic_oracle.model import OracleLSTM
    try:
        if cfg.oracle_params:
            oracle = OracleLSTM.from_npz(cfg.oracle_params)
            where = cfg.oracle_params
        else:
            oracle = OracleLSTM.from_seed(cfg.oracle_seed, cfg.vocab_size, cfg.oracle_emb_dim,
                                          cfg.oracle_hidden_dim)
            where = (f"seeded random oracle (seed {cfg.oracle_seed}, E={cfg.oracle_emb_dim}, "
                     f"H={cfg.oracle_hidden_dim}); {paper_oracle_hint()}")
    except OracleError as e:
        raise UserError(str(e)) from None
    if oracle.vocab_size != cfg.vocab_size:
        raise UserError(f"oracle vocabulary {oracle.vocab_size} != --vocab_size={cfg.vocab_size}; "
                        f"set --vocab_size={oracle.vocab_size}")
    print(f"oracle: {where}", flush=True)
    return oracle


def paper_oracle_hint() -> str:
    """Where the paper's oracle is, for a run on a seeded one: the file found under
    $LEAKGAN_SHARED_DATA (default ../shared/data), or how to get it."""
    from leakgan_tf.flags import expand_data_path
    path = pathlib.Path(expand_data_path(f"$LEAKGAN_SHARED_DATA/{PAPER_ORACLE}"))
    if path.is_file():
        return f"the paper's oracle is {path} (--oracle_params={path} trains on it)"
    return (f"the paper's oracle ({PAPER_ORACLE}, in the shared data folder) was not found under "
            f"$LEAKGAN_SHARED_DATA={path.parent}; pass --oracle_params=PATH.npz to train on it")


PAPER_ORACLE = "oracle_target_params.npz"


def build_text_source(cfg: Config, logdir: pathlib.Path, fresh: bool) -> TextSource:
    """Prepares the corpus and sizes the model to it. The vocabulary is read from
    the logdir's vocab.txt (unless fresh), or built from the training split and
    saved there once the corpus is known to be usable: both splits must hold at
    least one batch of sentences that fit (UserError saying how many are needed);
    a rejected corpus writes nothing."""
    from leakgan_tf import run_dir, text
    run_dir.check_logdir(logdir)
    vocab_path = pathlib.Path(logdir) / "vocab.txt"
    reuse = vocab_path.is_file() and not fresh
    common = dict(seq_len=cfg.seq_len, min_count=cfg.min_count, max_vocab=cfg.max_vocab or None,
                  tokenizer=cfg.tokenizer, too_long=cfg.too_long, vocab_path=vocab_path if reuse else None,
                  oov=cfg.oov)
    if cfg.dataset == "text":
        corpus = text.prepare_corpus(cfg.train_file, cfg.test_file or None, test_fraction=cfg.test_fraction,
                                     **common)
        where = cfg.train_file
    else:
        from leakgan_tf.datasets import load_text_split, load_tfds_text
        if cfg.tfds_name.startswith("local_text"):
            name = cfg.tfds_name.split("/", 1)[1] if "/" in cfg.tfds_name else "coco"
            train, test = (load_text_split(name, split) for split in ("train", "test"))
        else:
            train, test = (load_tfds_text(cfg.tfds_name, split) for split in ("train", "test"))
        corpus = text.corpus_from_sentences(train, test, **common)
        where = f"tfds {cfg.tfds_name}"
    check_batches(corpus, cfg)
    cfg = dataclasses.replace(cfg, vocab_size=corpus.vocab_size).validate()
    if not reuse:
        try:
            vocab_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot write to --logdir={logdir}: {e.strerror or e}; choose a writable directory "
                            f"with free space") from None
        run_dir.lock(logdir)  # one training per logdir: the vocabulary of a running one is not replaced
        corpus.vocab.save(vocab_path)
        corpus.stats["vocab"]["source"] += f", saved to {vocab_path}"
    tr, te = corpus.stats["train"], corpus.stats["test"]
    print(f"data: {where}: vocabulary {corpus.vocab_size} ({corpus.stats['vocab']['source']}); train {tr['kept']} "
          f"sentences ({tr['dropped_too_long']} too long, {tr['truncated']} truncated); test {te['kept']} "
          f"({te['dropped_too_long']} too long, {te['unknown_tokens']} unknown tokens)", flush=True)
    return TextSource(corpus, cfg, cfg.tokenizer)


def check_batches(corpus: Corpus, cfg: Config) -> None:
    """UserError unless the training and the test split each hold at least one
    batch (--batch_size) of sentences that fit: MLE epochs and NLL-test run on
    whole batches. Says how many sentences, or lines of --train_file, are needed."""
    need = cfg.batch_size
    split = cfg.dataset == "text" and not cfg.test_file
    for name, stats in (("training", corpus.stats["train"]), ("test", corpus.stats["test"])):
        if stats["kept"] >= need:
            continue
        dropped = stats["sentences"] - stats["kept"]
        why = f" ({dropped} of {stats['sentences']} left out: too long or unknown words)" if dropped else ""
        if split:  # both splits come from --train_file by --test_fraction
            where, lines = f"--train_file={cfg.train_file}", need
            while min(lines - round(lines * cfg.test_fraction), round(lines * cfg.test_fraction)) < need:
                lines += 1
            fix = (f"give it at least {lines} sentences that fit (--test_fraction={cfg.test_fraction} of them are "
                   f"held out for the test split), or lower --batch_size")
        elif cfg.dataset == "text":
            flag = "--train_file" if name == "training" else "--test_file"
            where = f"{flag}={cfg.train_file if name == 'training' else cfg.test_file}"
            fix = f"give it at least {need} sentences that fit, or lower --batch_size"
        else:
            where = f"--tfds_name={cfg.tfds_name}"
            fix = f"use a dataset with at least {need} such sentences in each split, or lower --batch_size"
        raise UserError(f"the {name} split of {where} has {stats['kept']} sentences that fit --seq_len={cfg.seq_len}"
                        f"{why}, fewer than one batch (--batch_size={need}); {fix}")


class OracleSource:
    """Synthetic data from an oracle LSTM (synthetic_oracle.OracleLSTM)."""

    def __init__(self, oracle: OracleLSTM, cfg: Config, logdir: str | pathlib.Path):
        self.oracle, self.cfg, self.path = oracle, cfg, pathlib.Path(logdir) / "real_data.txt"
        self._mle = None
        self._test_log_p = None  # (held-out rows, their oracle log-probs), computed once (divergences)

    def mle_data(self) -> np.ndarray:
        """The fixed MLE training set: drawn once, kept in the logdir. Its seed comes
        from --seed, not from the run's random stream, so the stream is the same
        whether or not an interrupted run already wrote the file."""
        if self._mle is None:
            if self.path.exists():
                self._mle = data.read_int_sequences(self.path, self.cfg.vocab_size, self.cfg.seq_len)
            else:
                self._mle = self.oracle.generate(self.cfg.num_samples, self.cfg.seq_len, seed=self.cfg.seed)
                data.write_int_sequences(self.path, self._mle)
        return self._mle

    def positives(self, num: int, seed: int) -> np.ndarray:
        """Fresh oracle samples every round (code), or the fixed MLE set (paper). The
        fresh ones are drawn with the generator's sampler (models/sampling.py: the
        native op where it can be had; at [1024, 5000] it took about 3 ms a step here
        against 11 ms for the oracle's own exact two-stage sampler); the data files
        keep the oracle's sampler."""
        if self.cfg.dis_positives == "fixed":
            return self.mle_data()[:num]
        return self.oracle.generate(num, self.cfg.seq_len, seed=seed, draw=_draw_positive)

    def reward_reals(self, seed: int) -> None:
        return None

    def evaluate(self, gan: LeakGAN, samples: np.ndarray, seed: int) -> dict[str, float]:
        """NLL-oracle of samples (drawn at eval_beta) and the oracle's own NLL; with
        extended_eval also NLL-oracle at β = 1, NLL-test and distinct-4 at both β, and
        the oracle divergences (`divergences`) at eval_beta and (suffix _beta1) at β = 1."""
        length = self.cfg.seq_len
        truth = self.oracle.generate(len(samples), length, seed=seed)
        log_p = self.oracle.log_probs(samples)  # one oracle pass for NLL-oracle and the divergences
        out = dict(nll_oracle=self.oracle.nll_from_log_probs(log_p, length), ground_truth_nll=self.oracle.nll(truth))
        if self.cfg.extended_eval:
            hot = gan.generate(len(samples), 1.0)
            log_p_hot = self.oracle.log_probs(hot)
            out.update(nll_oracle_beta1=self.oracle.nll_from_log_probs(log_p_hot, length),
                       nll_test=gan.nll(self.test_set()), distinct4=metrics.distinct_n(samples.tolist(), 4),
                       distinct4_beta1=metrics.distinct_n(hot.tolist(), 4))
            out.update(self.divergences(gan, [(samples, self.cfg.eval_beta, "", log_p),
                                              (hot, 1.0, "_beta1", log_p_hot)]))
        return out

    def divergences(self, gan: LeakGAN, sets: list[tuple[np.ndarray, float, str, np.ndarray | None]]
                    ) -> dict[str, float]:
        """Montahaei et al.'s oracle divergences of gan (leakgan_tf.divergences.scores:
        jeffreys and bhattacharyya in nats per sequence, nll_balanced per token), one
        group of keys per (samples [N, T] drawn at β, β, key suffix, the samples' oracle
        log-probs [N] or None). P is the oracle, X the held-out test set (test_set), Y the
        samples; log Q is the model's at that β (its log_probs: the teacher-forced
        distribution that NLL-test scores). Nothing is drawn from the run's random stream.

        LeakGAN: row i of X and of Y is scored under G0's row i mod B, as generate draws Y,
        so the estimates are of the divergence between P and the model averaged over G0's
        B rows. Under goal_schedule=block (the code) sampling sums the sub-goal windows
        shifted by one from the teacher-forced pass's (spec §4.2), so Y comes from a slightly
        different distribution than the one log Q scores; the mean_Y terms then estimate
        E_Y[log Q − log P] = KL(Q_s‖P) − KL(Q_s‖Q) for the sampling distribution Q_s
        (goals.py; sliding: the same distribution). Measured at length 20 after 8 MLE
        epochs on 2,048 oracle rows: KL(Q_s‖Q) ≈ 0.06 nats a sequence at β = 1 and 0.12 at
        β = 1.5, against KL(P‖Q) ≈ 45."""
        from leakgan_tf import divergences
        held_out = self.test_set()
        if self._test_log_p is None or not np.array_equal(self._test_log_p[0], held_out):
            self._test_log_p = (held_out, self.oracle.log_probs(held_out))  # the oracle's: the same at every call
        log_p_x, log_q_x, out = self._test_log_p[1], {}, {}
        for samples, beta, suffix, log_p_y in sets:
            if beta not in log_q_x:
                log_q_x[beta] = gan.log_probs(held_out, beta)
            log_p_y = self.oracle.log_probs(samples) if log_p_y is None else log_p_y
            out.update(divergences.scores(log_p_x, log_q_x[beta], log_p_y, gan.log_probs(samples, beta),
                                          self.cfg.seq_len, suffix))
        return out

    def test_set(self) -> np.ndarray:
        """num_samples held-out oracle samples the generator never trains on (fixed
        seed, kept in the logdir; the first num_samples rows if the file holds more)."""
        path = self.path.with_name("test_data.txt")
        rows = data.read_int_sequences(path, self.cfg.vocab_size, self.cfg.seq_len) if path.exists() else []
        if len(rows) < self.cfg.num_samples:  # none yet, or fewer (the oracle's draws are prefix-stable)
            rows = self.oracle.generate(self.cfg.num_samples, self.cfg.seq_len, seed=2**31 - 1 - self.cfg.seed)
            data.write_int_sequences(path, rows)
        return rows[:self.cfg.num_samples]

    def inherit(self, other_logdir: pathlib.Path) -> list[str]:
        """A run branched off another (--init_from) keeps that run's data: the first
        num_samples rows of its MLE set (the generator's training data, and the fixed
        D positives) and of its test set, so scores and training sets stay comparable.
        Returns one line per file saying what was kept or why not."""
        lines, n = [], self.cfg.num_samples
        for name in ("real_data.txt", "test_data.txt"):
            source, target = other_logdir / name, self.path.with_name(name)
            if not source.exists():
                continue
            rows = data.read_int_sequences(source, self.cfg.vocab_size, self.cfg.seq_len)
            if len(rows) < n:
                lines.append(f"{name} not kept: {source} has {len(rows):,} rows, fewer than {n:,}; "
                             f"this run draws its own")
            elif target.exists() and not np.array_equal(
                    data.read_int_sequences(target, self.cfg.vocab_size, self.cfg.seq_len)[:n], rows[:n]):
                lines.append(f"{name} not kept: {target} already holds other data (use --fresh to replace it)")
            else:
                data.write_int_sequences(target, rows[:n])
                lines.append(f"kept the first {n:,} rows of {source}")
        self._mle = None
        return lines

    def decode(self, row: np.ndarray) -> str:
        return " ".join(map(str, row))


class TextSource:
    """A prepared text.Corpus (train/test id arrays and the vocabulary)."""

    SELF_BLEU_REFERENCES = 1000

    def __init__(self, corpus: Corpus, cfg: Config, tokenizer: str = "nltk"):
        from leakgan_tf import text
        self.text, self.corpus, self.cfg, self.tokenizer = text, corpus, cfg, tokenizer
        self._scorer = None

    def mle_data(self) -> np.ndarray:
        return self.corpus.train

    def inherit(self, other_logdir: pathlib.Path) -> list[str]:
        """Text runs read the same corpus whatever run they branch off: nothing to keep."""
        return []

    def positives(self, num: int, seed: int) -> np.ndarray:
        """A fresh random sample of training sentences each round (with replacement
        only if too few); with dis_positives=fixed, the same sample every round."""
        return self._sentences(num, self.cfg.seed if self.cfg.dis_positives == "fixed" else seed)

    def reward_reals(self, seed: int) -> np.ndarray:
        """One batch of real sentences appended to reward ranking (spec §6.4): a fresh
        one at every G step whatever --dis_positives says (the original takes the next
        batch of its MLE loader each time)."""
        return self._sentences(self.cfg.batch_size, seed)

    def _sentences(self, num: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        train = self.corpus.train
        return train[rng.choice(len(train), size=num, replace=num > len(train))]

    def words(self, row: np.ndarray) -> list[str]:
        return self.corpus.vocab.decode(row)

    def decode(self, row: np.ndarray) -> str:
        return self.text.detokenize(self.words(row), self.tokenizer)

    def evaluate(self, gan: LeakGAN, samples: np.ndarray, seed: int) -> dict[str, float]:
        """NLL-test, BLEU-2..5 (Texygen protocol) and Self-BLEU-2..5 of samples."""
        if self._scorer is None:
            self._scorer = metrics.BleuScorer(self.corpus.test_tokens, max_n=5, smoothing="method1")
        hyps = [self.words(row) for row in samples]
        bleu = self._scorer.mean_bleus(hyps, [2, 3, 4, 5])
        out = dict(nll_test=gan.nll(self.corpus.test))
        out.update({f"bleu{n}": v for n, v in bleu.items()})
        for n in (2, 3, 4, 5):
            out[f"self_bleu{n}"] = metrics.self_bleu(hyps, n, max_references=self.SELF_BLEU_REFERENCES, seed=seed).score
        return out

    def protocol(self) -> str:
        return (f"BLEU: every sample vs all {len(self.corpus.test_tokens)} test references, nltk method1 "
                f"smoothing (Texygen); Self-BLEU: {self.SELF_BLEU_REFERENCES} random samples, each vs the others")
