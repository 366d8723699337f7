"""Where a run's data comes from and how its samples are judged.

  OracleSource  synthetic experiments: a fixed MLE set drawn once from the
                oracle, fresh oracle positives for every D round (spec §7.1),
                NLL-oracle and the oracle's own NLL as metrics.
  TextSource    real text: the training split as MLE data and as D positives
                (a fresh random sample of them each round, spec §2.2), NLL-test,
                BLEU-2..5 and Self-BLEU with their protocol, decoded samples.

Both give the Trainer the same six things: mle_data(), positives(num, seed),
reward_reals(seed), evaluate(gan, samples, seed), decode(row) and inherit(logdir)
(what a run branched off another with --init_from keeps of that run's data).
"""
import numpy as np

from leakgan_tf import data, metrics


class OracleSource:
    """Synthetic data from an oracle LSTM (synthetic_oracle.OracleLSTM)."""

    def __init__(self, oracle, cfg, logdir):
        self.oracle, self.cfg, self.path = oracle, cfg, logdir / "real_data.txt"
        self._mle = None

    def mle_data(self):
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

    def positives(self, num, seed):
        """Fresh oracle samples every round (code), or the fixed MLE set (paper)."""
        if self.cfg.dis_positives == "fixed":
            return self.mle_data()[:num]
        return self.oracle.generate(num, self.cfg.seq_len, seed=seed)

    def reward_reals(self, seed):
        return None

    def evaluate(self, gan, samples, seed):
        """NLL-oracle of samples (drawn at eval_beta) and the oracle's own NLL; with
        extended_eval also NLL-oracle at β = 1, NLL-test and distinct-4 at both β."""
        truth = self.oracle.generate(len(samples), self.cfg.seq_len, seed=seed)
        out = dict(nll_oracle=self.oracle.nll(samples), ground_truth_nll=self.oracle.nll(truth))
        if self.cfg.extended_eval:
            hot = gan.generate(len(samples), 1.0)
            out.update(nll_oracle_beta1=self.oracle.nll(hot), nll_test=gan.nll(self.test_set()),
                       distinct4=metrics.distinct_n(samples.tolist(), 4),
                       distinct4_beta1=metrics.distinct_n(hot.tolist(), 4))
        return out

    def test_set(self):
        """num_samples held-out oracle samples the generator never trains on (fixed
        seed, kept in the logdir; the first num_samples rows if the file holds more)."""
        path = self.path.with_name("test_data.txt")
        rows = data.read_int_sequences(path, self.cfg.vocab_size, self.cfg.seq_len) if path.exists() else []
        if len(rows) < self.cfg.num_samples:  # none yet, or fewer (the oracle's draws are prefix-stable)
            rows = self.oracle.generate(self.cfg.num_samples, self.cfg.seq_len, seed=2**31 - 1 - self.cfg.seed)
            data.write_int_sequences(path, rows)
        return rows[:self.cfg.num_samples]

    def inherit(self, other_logdir):
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

    def decode(self, row):
        return " ".join(map(str, row))


class TextSource:
    """A prepared text.Corpus (train/test id arrays and the vocabulary)."""

    SELF_BLEU_REFERENCES = 1000

    def __init__(self, corpus, cfg, tokenizer="nltk"):
        from leakgan_tf import text
        self.text, self.corpus, self.cfg, self.tokenizer = text, corpus, cfg, tokenizer
        self._scorer = None

    def mle_data(self):
        return self.corpus.train

    def inherit(self, other_logdir):
        """Text runs read the same corpus whatever run they branch off: nothing to keep."""
        return []

    def positives(self, num, seed):
        """A fresh random sample of training sentences each round (with replacement
        only if too few); with dis_positives=fixed, the same sample every round."""
        rng = np.random.default_rng(self.cfg.seed if self.cfg.dis_positives == "fixed" else seed)
        train = self.corpus.train
        return train[rng.choice(len(train), size=num, replace=num > len(train))]

    def reward_reals(self, seed):
        """One batch of real sentences appended to reward ranking (spec §6.4)."""
        return self.positives(self.cfg.batch_size, seed)

    def words(self, row):
        return self.corpus.vocab.decode(row)

    def decode(self, row):
        return self.text.detokenize(self.words(row), self.tokenizer)

    def evaluate(self, gan, samples, seed):
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

    def protocol(self):
        return (f"BLEU: every sample vs all {len(self.corpus.test_tokens)} test references, nltk method1 "
                f"smoothing (Texygen); Self-BLEU: {self.SELF_BLEU_REFERENCES} random samples, each vs the others")
