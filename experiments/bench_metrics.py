"""Speed of leakgan_tf.metrics.BleuScorer vs nltk's sentence_bleu on full-reference BLEU.

  python experiments/bench_metrics.py [--hyps 200] [--refs 10000] [--out experiments/results/bench_metrics.json]

References: the first --refs lines of $LEAKGAN_SHARED_DATA/image_coco/test.txt
(whitespace tokens), hypotheses: the first --hyps lines of train.txt; without
the shared data, seeded synthetic sentences (vocab 5000, Zipf-like, 5-20 tokens).
nltk is timed with one sentence_bleu call per hypothesis and a list of weights,
so BLEU-2..5 share one pass (the fastest way to call it; Texygen calls it once
per n, which costs more). Both are extrapolated linearly to 2,000 hypotheses;
the scorer is also timed on 2,000 hypotheses directly, with 1 and 2 processes.
The largest |difference| between the two implementations is recorded.
"""
import argparse
import json
import os
import pathlib
import platform
import random
import sys
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leakgan_tf.metrics import BleuScorer, self_bleu  # noqa: E402

NS = (2, 3, 4, 5)


def load_corpus(num_refs, num_hyps, extra_hyps):
    data = pathlib.Path(os.environ.get("LEAKGAN_SHARED_DATA", ROOT.parent / "shared" / "data")) / "image_coco"
    if (data / "test.txt").is_file() and (data / "train.txt").is_file():
        refs = [line.split() for line in (data / "test.txt").read_text().splitlines()[:num_refs]]
        hyps = [line.split() for line in (data / "train.txt").read_text().splitlines()[:extra_hyps]]
        return refs, hyps, f"COCO {data}"
    rng = random.Random(0)
    words = [f"w{i}" for i in range(5000)]
    weights = [1 / (i + 1) for i in range(5000)]

    def sent():
        return rng.choices(words, weights, k=rng.randint(5, 20))
    return [sent() for _ in range(num_refs)], [sent() for _ in range(extra_hyps)], "synthetic"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hyps", type=int, default=200)
    parser.add_argument("--refs", type=int, default=10000)
    parser.add_argument("--out", default=str(ROOT / "experiments" / "results" / "bench_metrics.json"))
    args = parser.parse_args()
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    from nltk import __version__ as nltk_version
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    refs, pool, source = load_corpus(args.refs, args.hyps, 2000)
    hyps = pool[:args.hyps]
    result = {"source": source, "references": len(refs), "hypotheses": len(hyps), "orders": list(NS),
              "smoothing": "method1", "nltk": nltk_version, "python": platform.python_version(),
              "cpus": os.cpu_count(), "load_avg_start": os.getloadavg()[0]}

    t0 = time.perf_counter()
    scorer = BleuScorer(refs, max_n=max(NS), smoothing="method1")
    result["scorer_build_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = [scorer.sentence_bleus(h, NS) for h in hyps]
    result["scorer_score_s"] = time.perf_counter() - t0

    fn = SmoothingFunction().method1
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = [sentence_bleu(refs, h, weights=[(1 / n,) * n for n in NS], smoothing_function=fn) for h in hyps]
    result["nltk_s"] = time.perf_counter() - t0
    result["max_abs_diff"] = max(abs(a - b) for row_a, row_b in zip(ours, theirs) for a, b in zip(row_a, row_b))

    scale = 2000 / len(hyps)
    result["nltk_2000_extrapolated_s"] = result["nltk_s"] * scale
    result["scorer_2000_extrapolated_s"] = result["scorer_build_s"] + result["scorer_score_s"] * scale
    result["speedup_2000"] = result["nltk_2000_extrapolated_s"] / result["scorer_2000_extrapolated_s"]
    for processes in (1, 2):
        t0 = time.perf_counter()
        scorer.mean_bleus(pool, NS, processes=processes)
        result[f"scorer_2000_measured_p{processes}_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sb = self_bleu(pool, 4)
    result["self_bleu4_2000_s"] = time.perf_counter() - t0
    result["self_bleu4_2000"] = sb.score
    result["load_avg_end"] = os.getloadavg()[0]

    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
