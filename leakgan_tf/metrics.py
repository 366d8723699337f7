"""Text-generation metrics over token lists: fast exact BLEU, Self-BLEU, distinct-n.

Tokens may be str or int (any hashable); a sentence is a list/tuple of tokens.
Tokenisation and casing are the caller's job and should be stated with the
scores (Texygen lower-cases and uses nltk.word_tokenize; the official LeakGAN
code scores id strings).

BLEU here reproduces ``nltk.translate.bleu_score.sentence_bleu`` (behaviour of
nltk 3.10.4, see ``NLTK_REFERENCE_VERSION``) with uniform weights ``(1/n,)*n``,
float for float, but caches the reference statistics once instead of
recounting every reference n-gram for every hypothesis as nltk does:

* modified precision p_k = sum_g min(c_hyp(g), max_r c_r(g)) / max(1, #k-grams
  in the hypothesis); ``max_r c_r(g)`` is the cached clipped-count table;
* brevity penalty with the closest reference length (ties to the shorter);
* nltk edge cases: no unigram match (this includes an empty hypothesis) gives
  0; without smoothing a zero p_k is replaced by ``sys.float_info.min`` (nltk
  also warns, we do not), so the score is ~1e-150 or less rather than exactly 0;
  with ``method1`` a zero p_k becomes 0.1 / max(1, #k-grams).

No TensorFlow or nltk import is needed.
"""
from __future__ import annotations

import bisect
import math
import multiprocessing
import random
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

Sentence = Sequence[str] | str  # a tokenised sentence (or one string of space-separated tokens)

NLTK_REFERENCE_VERSION = "3.10.4"
_METHOD1_EPSILON = 0.1  # nltk SmoothingFunction(epsilon=0.1).method1


def _check_smoothing(smoothing):
    """Normalise the smoothing name to "method1" or None."""
    if smoothing in (None, "none", "method0"):
        return None
    if smoothing == "method1":
        return "method1"
    raise ValueError(f"unsupported smoothing {smoothing!r} (use 'method1' or None)")


def _tokens(sentence):
    if isinstance(sentence, (str, bytes)):
        raise TypeError("a sentence must be a sequence of tokens, not a string; split it first")
    return sentence if isinstance(sentence, (list, tuple)) else list(sentence)


def _ngram_counts(tokens, k):
    """Counter of the k-grams (tuples) of ``tokens``; empty if len < k."""
    return Counter(zip(*(tokens[i:] for i in range(k))))


def _closest_length(sorted_lengths, hyp_len):
    """Closest value to ``hyp_len`` in the sorted distinct ``sorted_lengths``, ties to the shorter."""
    i = bisect.bisect_left(sorted_lengths, hyp_len)
    if i == len(sorted_lengths):
        return sorted_lengths[-1]
    if sorted_lengths[i] == hyp_len or i == 0:
        return sorted_lengths[i]
    below, above = sorted_lengths[i - 1], sorted_lengths[i]
    return below if hyp_len - below <= above - hyp_len else above


def _bleu_from_stats(matches, totals, hyp_len, ref_len, n, smoothing):
    """nltk's sentence BLEU-n from clipped matches / n-gram totals for orders 1..n."""
    if matches[0] == 0:  # nltk returns 0 when no unigram matches (also an empty hypothesis)
        return 0.0
    w = 1 / n
    logs = []
    for k in range(n):
        den = max(1, totals[k])
        if matches[k]:
            p = matches[k] / den
        elif smoothing == "method1":
            p = _METHOD1_EPSILON / den
        else:
            p = sys.float_info.min
        logs.append(w * math.log(p))
    if hyp_len > ref_len:
        bp = 1.0
    else:
        bp = math.exp(1 - ref_len / hyp_len)
    return bp * math.exp(math.fsum(logs))


class BleuScorer:
    """Sentence BLEU against a fixed reference set, with the reference statistics cached.

    ``BleuScorer(refs).sentence_bleu(hyp, n)`` equals
    ``nltk.translate.bleu_score.sentence_bleu(refs, hyp, weights=(1/n,)*n,
    smoothing_function=SmoothingFunction().method1)`` (or ``None`` when
    ``smoothing=None``), for 1 <= n <= max_n.
    """

    def __init__(self, references: Iterable[Sentence], max_n: int = 5, smoothing: str = "method1"):
        references = [_tokens(r) for r in references]
        if not references:
            raise ValueError("BleuScorer needs at least one reference")
        self.max_n = int(max_n)
        self.smoothing = _check_smoothing(smoothing)
        self.num_references = len(references)
        # order k-1 -> {k-gram: max count over all references}
        self.max_counts = [{} for _ in range(self.max_n)]
        for ref in references:
            for k in range(1, self.max_n + 1):
                table = self.max_counts[k - 1]
                for gram, c in _ngram_counts(ref, k).items():
                    if c > table.get(gram, 0):
                        table[gram] = c
        self.ref_lengths = sorted({len(r) for r in references})

    def _scores(self, hypothesis, ns):
        hyp = _tokens(hypothesis)
        top = max(ns)
        if top > self.max_n or min(ns) < 1:
            raise ValueError(f"n must be in 1..{self.max_n}, got {ns}")
        matches, totals = [], []
        for k in range(1, top + 1):
            table = self.max_counts[k - 1]
            counts = _ngram_counts(hyp, k)
            matches.append(sum(min(c, table.get(g, 0)) for g, c in counts.items()))
            totals.append(len(hyp) - k + 1 if len(hyp) >= k else 0)
        ref_len = _closest_length(self.ref_lengths, len(hyp))
        return [_bleu_from_stats(matches, totals, len(hyp), ref_len, n, self.smoothing) for n in ns]

    def sentence_bleu(self, hypothesis: Sentence, n: int) -> float:
        """BLEU-n (uniform weights) of one hypothesis against all references."""
        return self._scores(hypothesis, [n])[0]

    def sentence_bleus(self, hypothesis: Sentence, ns: Sequence[int]) -> list[float]:
        """[BLEU-n for n in ns] of one hypothesis, counting its n-grams once."""
        return self._scores(hypothesis, list(ns))

    def mean_bleus(self, hypotheses: Sequence[Sentence], ns: Sequence[int], processes: int = 1) -> dict[int, float]:
        """{n: mean sentence BLEU-n over hypotheses}; identical for any ``processes``."""
        ns = list(ns)
        hypotheses = [_tokens(h) for h in hypotheses]
        if not hypotheses:
            raise ValueError("no hypotheses to score")
        rows = _map_chunks(self, hypotheses, ns, processes)
        return {n: math.fsum(r[j] for r in rows) / len(rows) for j, n in enumerate(ns)}

    def mean_bleu(self, hypotheses: Sequence[Sentence], n: int, processes: int = 1) -> float:
        """Mean sentence BLEU-n over hypotheses.

        processes > 1 splits the hypotheses over forked workers (same result,
        float for float); scoring is cheap once the table is built, so this
        only pays off for very large hypothesis sets.
        """
        return self.mean_bleus(hypotheses, [n], processes)[n]


# --- multiprocessing: the scorer and the hypotheses reach the workers by fork, not pickling
_WORKER_STATE = None


def _worker_init(scorer, hypotheses, ns):
    global _WORKER_STATE
    _WORKER_STATE = (scorer, hypotheses, ns)


def _worker_run(bounds):
    scorer, hypotheses, ns = _WORKER_STATE
    return [scorer._scores(h, ns) for h in hypotheses[bounds[0]:bounds[1]]]


def _map_chunks(scorer, hypotheses, ns, processes):
    """Per-hypothesis score rows in input order, computed in ``processes`` forked workers."""
    processes = max(1, min(int(processes or 1), len(hypotheses)))
    if processes > 1:
        try:
            ctx = multiprocessing.get_context("fork")
        except ValueError:  # no fork on this platform: fall back to one process
            processes = 1
    if processes == 1:
        return [scorer._scores(h, ns) for h in hypotheses]
    step = -(-len(hypotheses) // processes)
    bounds = [(i, min(i + step, len(hypotheses))) for i in range(0, len(hypotheses), step)]
    with ctx.Pool(processes, initializer=_worker_init, initargs=(scorer, hypotheses, ns)) as pool:
        chunks = pool.map(_worker_run, bounds)
    return [row for chunk in chunks for row in chunk]


class SelfBleuResult(NamedTuple):
    score: float
    hypotheses: int  # samples scored
    references: int  # references per hypothesis (= scored set size - 1)


def self_bleu(samples: Sequence[Sentence], n: int, smoothing: str = "method1", max_references: int | None = None,
              seed: int = 0) -> SelfBleuResult:
    """Self-BLEU-n: each sample scored against all the *other* samples, then averaged.

    Texygen (geek-ai/Texygen ``utils/metrics/SelfBleu.py``) tokenises each
    generated line with ``nltk.word_tokenize`` and uses nltk ``sentence_bleu``
    with uniform weights and ``SmoothingFunction().method1``. Its default fast
    mode keeps the *first 500* samples and scores each against the other 499;
    the full mode scores every sample against all others. Its unused
    ``get_bleu()`` keeps the hypothesis among its own references (Texygen#46),
    and the sample list is cached from the first call, so later epochs are
    scored on stale samples (Texygen#27).

    Here the hypothesis is excluded by position (a duplicate elsewhere in the
    set still counts as a reference, as in Texygen). For speed, the n-gram
    counts are tabulated once, keeping per n-gram the two largest counts and
    which sample holds the largest, so the maximum over "all samples but i" is
    exact.

    max_references: if given and smaller than len(samples), a seeded random
    subset of that many samples is drawn (``random.Random(seed).sample``) and
    Self-BLEU is computed within it, like Texygen's fast mode but with a random
    rather than the first subset; each hypothesis then has max_references - 1
    references. Self-BLEU grows with the reference count, so always report it.

    Returns SelfBleuResult(score, hypotheses, references).
    """
    smoothing = _check_smoothing(smoothing)
    samples = [_tokens(s) for s in samples]
    if max_references is not None and max_references < len(samples):
        keep = sorted(random.Random(seed).sample(range(len(samples)), int(max_references)))
        samples = [samples[i] for i in keep]
    m = len(samples)
    if m < 2:
        raise ValueError("Self-BLEU needs at least two samples")
    counts = [[_ngram_counts(s, k) for k in range(1, n + 1)] for s in samples]
    # order k-1 -> {gram: [largest count, index of the first sample with it, second largest]}
    tables = [{} for _ in range(n)]
    for i, per_order in enumerate(counts):
        for table, cnt in zip(tables, per_order):
            for g, c in cnt.items():
                entry = table.get(g)
                if entry is None:
                    table[g] = [c, i, 0]
                elif c > entry[0]:
                    entry[2], entry[0], entry[1] = entry[0], c, i
                elif c > entry[2]:
                    entry[2] = c
    length_counts = Counter(len(s) for s in samples)
    lengths = sorted(length_counts)
    scores = []
    for i, (s, per_order) in enumerate(zip(samples, counts)):
        matches, totals = [], []
        for table, cnt in zip(tables, per_order):
            hits = 0
            for g, c in cnt.items():
                top, who, second = table[g]
                hits += min(c, second if who == i else top)
            matches.append(hits)
            totals.append(sum(cnt.values()))
        h = len(s)
        if length_counts[h] > 1:
            ref_len = h
        else:
            others = [x for x in lengths if x != h]
            ref_len = _closest_length(others, h)
        scores.append(_bleu_from_stats(matches, totals, h, ref_len, n, smoothing))
    return SelfBleuResult(math.fsum(scores) / m, m, m - 1)


def distinct_n(samples: Iterable[Sequence], n: int) -> float:
    """Distinct-n over the whole sample set: #distinct n-grams / #n-grams (0.0 if none)."""
    seen, total = set(), 0
    for s in samples:
        grams = list(zip(*(_tokens(s)[i:] for i in range(n))))
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


@dataclass(frozen=True)
class Protocol:
    """How hypotheses and references are chosen and smoothed for a BLEU report."""

    name: str
    description: str
    smoothing: str | None
    max_hypotheses: int | None = None  # keep this many after a seeded shuffle
    max_references: int | None = None  # keep the first this many references


PROTOCOLS = {
    "texygen": Protocol(
        "texygen",
        "Texygen full BLEU: every hypothesis vs all test references, nltk method1 smoothing",
        "method1"),
    "texygen-fast": Protocol(
        "texygen-fast",
        "Texygen fast BLEU (its default): every hypothesis vs the first 500 test references, method1",
        "method1", max_references=500),
    "paper": Protocol(
        "paper",
        "LeakGAN eval_bleu.py: 2,000 hypotheses (seeded shuffle) vs all test references, no smoothing",
        None, max_hypotheses=2000),
}


def bleu_report(hypotheses: Sequence[Sentence], references: Sequence[Sentence], protocol: str, max_n: int = 5,
                seed: int = 0, processes: int = 1) -> dict:
    """BLEU-2..max_n under a named protocol, with the protocol and the counts used.

    Returns a dict: protocol, description, smoothing, hypotheses, references
    (counts actually scored), seed, max_n, nltk_reference, and scores
    {"BLEU-2": ..., ..., "BLEU-<max_n>": ...}.
    """
    proto = PROTOCOLS[protocol] if isinstance(protocol, str) else protocol
    hyps = list(hypotheses)
    if proto.max_hypotheses is not None and len(hyps) > proto.max_hypotheses:
        order = list(range(len(hyps)))
        random.Random(seed).shuffle(order)
        hyps = [hyps[i] for i in order[:proto.max_hypotheses]]
    refs = list(references)
    if proto.max_references is not None:
        refs = refs[:proto.max_references]
    scorer = BleuScorer(refs, max_n=max_n, smoothing=proto.smoothing)
    means = scorer.mean_bleus(hyps, range(2, max_n + 1), processes=processes)
    return {
        "protocol": proto.name,
        "description": proto.description,
        "smoothing": proto.smoothing or "none",
        "hypotheses": len(hyps),
        "references": len(refs),
        "seed": seed,
        "max_n": max_n,
        "nltk_reference": f"equals nltk {NLTK_REFERENCE_VERSION} sentence_bleu, uniform weights",
        "scores": {f"BLEU-{n}": means[n] for n in range(2, max_n + 1)},
    }


def format_report(report: dict) -> str:
    """One protocol line, then one line per score tagged with the protocol and counts."""
    tag = f"[{report['protocol']}: {report['hypotheses']} hyp x {report['references']} ref]"
    lines = [f"protocol {report['protocol']}: {report['description']} "
             f"(hypotheses={report['hypotheses']}, references={report['references']}, "
             f"smoothing={report['smoothing']}, seed={report['seed']})"]
    lines += [f"{name} {value:.4f} {tag}" for name, value in report["scores"].items()]
    return "\n".join(lines)
