"""Speed of the paper oracle: 10,000 samples of length 20, and their NLL.

  python experiments/bench_oracle.py [--repeats 3] [--out experiments/results/bench_oracle.json]

Uses $LEAKGAN_SHARED_DATA/oracle_target_params.npz (default ../shared/data
from the repo root). Each timing follows one warm-up call that compiles; the
median of the repeats is reported, plus one-shot sweeps over batch sizes
(model.GENERATE_BATCH, model.NLL_BATCH). Writes JSON with the load average,
since another job on the machine slows every figure.

Reference (another CPU, a Zen 3 core; not comparable): the original TF1 code took 5.7-8 s for this.
"""
import argparse
import datetime
import json
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

from leakgan_tf.data import atomic_write  # noqa: E402
from synthetic_oracle.model import GENERATE_BATCH, NLL_BATCH, OracleLSTM  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
NUM, LENGTH = 10000, 20
ORIGINAL_SECONDS = (5.7, 8.0)


def timed(fn, repeats):
    """(median wall seconds, all wall seconds, median CPU seconds, last result)
    over repeats calls, after one warm-up call."""
    fn(0)
    wall, cpu, result = [], [], None
    for r in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn(r + 1)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), wall, statistics.median(cpu), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "experiments" / "results" / "bench_oracle.json"))
    parser.add_argument("--no_sweep", action="store_true", help="skip the batch-size sweep")
    args = parser.parse_args()
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)

    shared = pathlib.Path(os.environ.get("LEAKGAN_SHARED_DATA", REPO.parent / "shared" / "data"))
    npz = shared / "oracle_target_params.npz"
    if not npz.is_file():
        sys.exit(f"error: {npz} not found; set LEAKGAN_SHARED_DATA to the folder holding oracle_target_params.npz")
    oracle = OracleLSTM.from_npz(npz)
    load_before = [round(x, 2) for x in os.getloadavg()]

    gen_s, gen_all, gen_cpu, samples = timed(lambda s: oracle.generate(NUM, LENGTH, seed=s), args.repeats)
    nll_s, nll_all, nll_cpu, nll = timed(lambda s: oracle.nll(samples), args.repeats)
    sweep, nll_sweep = {}, {}
    if not args.no_sweep:
        for batch in (500, 1000, 2000, 5000, 10000):
            generate = lambda s, batch=batch: oracle.generate(NUM, LENGTH, s, batch_size=batch)  # noqa: E731
            sweep[batch] = round(timed(generate, 1)[0], 3)
        for batch in (250, 500, 1000, 2000):
            nll_sweep[batch] = round(timed(lambda s, batch=batch: oracle.nll(samples, batch_size=batch), 1)[0], 3)

    result = {
        "task": f"oracle {NUM} samples x length {LENGTH} (V=5000, E=H=32)",
        "generate_seconds": round(gen_s, 3), "generate_seconds_all": [round(t, 3) for t in gen_all],
        "generate_samples_per_second": round(NUM / gen_s), "generate_cpu_seconds": round(gen_cpu, 3),
        "nll_seconds": round(nll_s, 3), "nll_seconds_all": [round(t, 3) for t in nll_all],
        "nll_cpu_seconds": round(nll_cpu, 3),
        "generate_plus_nll_seconds": round(gen_s + nll_s, 3),
        "nll": round(nll, 5),
        "generate_batch": GENERATE_BATCH, "nll_batch": NLL_BATCH,
        "generate_seconds_by_batch": sweep, "nll_seconds_by_batch": nll_sweep,
        "original_seconds_other_cpu": list(ORIGINAL_SECONDS),  # Zen 3, not this machine
        "tensorflow": tf.__version__, "cpu_count": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as f:
        f.write(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
