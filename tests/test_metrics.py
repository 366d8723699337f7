"""leakgan_tf.metrics against nltk's sentence_bleu and by-hand values."""
import random
import subprocess
import sys
import warnings

import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from leakgan_tf.metrics import PROTOCOLS, BleuScorer, bleu_report, distinct_n, format_report, self_bleu

SMOOTHINGS = [("method1", SmoothingFunction().method1), (None, None)]


def nltk_bleu(refs, hyp, n, smoothing_fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nltk warns on zero n-gram overlaps without smoothing
        return sentence_bleu(refs, hyp, weights=(1 / n,) * n, smoothing_function=smoothing_fn)


def random_corpus(rng, count, vocab=12, max_len=14, ints=False):
    words = list(range(vocab)) if ints else [f"w{i}" for i in range(vocab)]
    return [[rng.choice(words) for _ in range(rng.randint(0, max_len))] for _ in range(count)]


REFS = [
    "the cat sat on the mat".split(),
    "there is a cat on the mat".split(),
    "a cat is sitting on a mat near the door".split(),
]
EDGE_HYPS = [
    "the cat is on the mat".split(),
    "the the the the the the the".split(),
    [],                                   # empty hypothesis -> 0
    ["cat"],                              # shorter than n
    ["cat", "mat"],
    ["dog", "barks"],                     # no unigram match -> 0
    "the cat sat on the mat".split(),     # identical to a reference
    "on the mat the cat sat there".split(),
    "the dog sat on the cat".split(),     # no 4-gram match: nltk's sys.float_info.min path
    "mat the cat".split(),
]


@pytest.mark.parametrize("smoothing,fn", SMOOTHINGS)
def test_fixed_sentences_match_nltk(smoothing, fn):
    scorer = BleuScorer(REFS, max_n=5, smoothing=smoothing)
    for hyp in EDGE_HYPS:
        for n in range(1, 6):
            assert scorer.sentence_bleu(hyp, n) == pytest.approx(nltk_bleu(REFS, hyp, n, fn), abs=1e-12), (hyp, n)


def test_edge_cases():
    scorer = BleuScorer(REFS, smoothing=None)
    assert scorer.sentence_bleu([], 2) == 0.0
    assert scorer.sentence_bleu(["dog"], 3) == 0.0
    # zero 4-gram overlap without smoothing: tiny but, as in nltk, not exactly 0
    assert 0 < scorer.sentence_bleu("the dog sat on the cat".split(), 4) < 1e-70
    with pytest.raises(TypeError):
        scorer.sentence_bleu("the cat", 2)
    with pytest.raises(ValueError):
        scorer.sentence_bleu(["cat"], 6)
    with pytest.raises(ValueError):
        BleuScorer([])


def test_brevity_penalty_ties_to_shorter():
    refs = [list("abc"), list("abcde")]  # lengths 3 and 5, hypothesis length 4 -> 3
    for hyp in (list("abcd"), list("abce"), list("ab"), list("abcdefg")):
        for smoothing, fn in SMOOTHINGS:
            assert BleuScorer(refs, smoothing=smoothing).sentence_bleu(hyp, 2) == pytest.approx(
                nltk_bleu(refs, hyp, 2, fn), abs=1e-12)


@pytest.mark.parametrize("ints", [False, True])
@pytest.mark.parametrize("smoothing,fn", SMOOTHINGS)
def test_random_sentences_match_nltk(ints, smoothing, fn):
    rng = random.Random(7 + ints)
    refs = random_corpus(rng, 40, ints=ints)
    hyps = random_corpus(rng, 150, ints=ints)
    scorer = BleuScorer(refs, max_n=5, smoothing=smoothing)
    for hyp in hyps:
        for n in (2, 3, 4, 5):
            assert scorer.sentence_bleu(hyp, n) == pytest.approx(nltk_bleu(refs, hyp, n, fn), abs=1e-12)
    expected = sum(nltk_bleu(refs, h, 3, fn) for h in hyps) / len(hyps)
    assert scorer.mean_bleu(hyps, 3) == pytest.approx(expected, abs=1e-12)
    assert scorer.mean_bleus(hyps, [3])[3] == scorer.mean_bleu(hyps, 3)


def test_multiprocessing_identical():
    rng = random.Random(3)
    refs, hyps = random_corpus(rng, 50), random_corpus(rng, 101)
    scorer = BleuScorer(refs, max_n=4)
    single = scorer.mean_bleus(hyps, [2, 3, 4], processes=1)
    assert scorer.mean_bleus(hyps, [2, 3, 4], processes=2) == single
    assert scorer.mean_bleus(hyps, [2, 3, 4], processes=3) == single


@pytest.mark.parametrize("smoothing,fn", SMOOTHINGS)
def test_self_bleu_matches_naive_loop(smoothing, fn):
    rng = random.Random(11)
    samples = random_corpus(rng, 40, vocab=8, max_len=9)
    samples += [samples[0][:], samples[1][:], ["w1"], []]  # duplicates, a unique short length, empty
    for n in (2, 3, 4, 5):
        naive = sum(nltk_bleu(samples[:i] + samples[i + 1:], s, n, fn) for i, s in enumerate(samples))
        result = self_bleu(samples, n, smoothing=smoothing)
        assert result.score == pytest.approx(naive / len(samples), abs=1e-12)
        assert (result.hypotheses, result.references) == (len(samples), len(samples) - 1)


def test_self_bleu_exclusion_and_subset():
    # The hypothesis's own count must not clip: "a a a" vs others that have "a" at most once.
    samples = [["a", "a", "a"], ["a", "b", "c"], ["b", "a", "d"]]
    fn = SmoothingFunction().method1
    naive = sum(nltk_bleu(samples[:i] + samples[i + 1:], s, 2, fn) for i, s in enumerate(samples)) / 3
    assert self_bleu(samples, 2).score == pytest.approx(naive, abs=1e-12)

    rng = random.Random(5)
    samples = random_corpus(rng, 60, ints=True)
    result = self_bleu(samples, 3, max_references=20, seed=4)
    keep = sorted(random.Random(4).sample(range(60), 20))
    subset = [samples[i] for i in keep]
    naive = sum(nltk_bleu(subset[:i] + subset[i + 1:], s, 3, fn) for i, s in enumerate(subset)) / 20
    assert result.score == pytest.approx(naive, abs=1e-12)
    assert (result.hypotheses, result.references) == (20, 19)
    assert self_bleu(samples, 3, max_references=100).references == 59


def test_distinct_n_by_hand():
    samples = [["a", "b", "a", "b"], ["a", "b"], ["c"]]
    assert distinct_n(samples, 1) == pytest.approx(3 / 7)   # a, b, c out of 7 tokens
    assert distinct_n(samples, 2) == pytest.approx(2 / 4)   # ab, ba out of ab ba ab ab
    assert distinct_n(samples, 3) == pytest.approx(2 / 2)   # aba, bab
    assert distinct_n(samples, 5) == 0.0


def test_bleu_report_fields():
    rng = random.Random(2)
    refs, hyps = random_corpus(rng, 600), random_corpus(rng, 2100, max_len=6)
    assert set(PROTOCOLS) >= {"texygen", "texygen-fast", "paper"}
    paper = bleu_report(hyps, refs, "paper", max_n=4, seed=1)
    assert paper["hypotheses"] == 2000 and paper["references"] == 600
    assert paper["smoothing"] == "none" and paper["protocol"] == "paper"
    assert paper["description"] == PROTOCOLS["paper"].description
    assert list(paper["scores"]) == ["BLEU-2", "BLEU-3", "BLEU-4"]
    assert bleu_report(hyps, refs, "paper", max_n=4, seed=1) == paper

    fast = bleu_report(hyps[:30], refs, "texygen-fast", max_n=3)
    assert (fast["hypotheses"], fast["references"], fast["smoothing"]) == (30, 500, "method1")
    expected = sum(nltk_bleu(refs[:500], h, 3, SmoothingFunction().method1) for h in hyps[:30]) / 30
    assert fast["scores"]["BLEU-3"] == pytest.approx(expected, abs=1e-12)

    lines = format_report(fast).splitlines()
    assert len(lines) == 3 and lines[0].startswith("protocol texygen-fast:") and "references=500" in lines[0]
    assert lines[1].startswith("BLEU-2 ") and "[texygen-fast: 30 hyp x 500 ref]" in lines[1]


def test_no_tensorflow_import():
    code = "import sys, leakgan_tf.metrics; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_coco_sentences_match_nltk(shared_data):
    test_file, train_file = shared_data / "image_coco" / "test.txt", shared_data / "image_coco" / "train.txt"
    if not (test_file.is_file() and train_file.is_file()):
        pytest.skip("image_coco/train.txt or test.txt not found")
    refs = [line.split() for line in test_file.read_text().splitlines()[:500]]
    hyps = [line.split() for line in train_file.read_text().splitlines()[:50]]
    weights = [(1 / n,) * n for n in (2, 3, 4, 5)]
    for smoothing, fn in SMOOTHINGS:
        scorer = BleuScorer(refs, smoothing=smoothing)
        for hyp in hyps:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = sentence_bleu(refs, hyp, weights=weights, smoothing_function=fn)
            if not isinstance(expected, list):  # nltk returns a bare 0 when nothing matches
                expected = [expected] * 4
            assert scorer.sentence_bleus(hyp, (2, 3, 4, 5)) == pytest.approx(expected, abs=1e-12)
