"""The original code's pretraining against ours on this machine, run for run: the
distribution comparison issue 32 calls for when our seeds' pretraining points leave the
band of the author's two logs. The logs are two runs; this runs the author's code itself,
here, as many times as asked, beside as many runs of ours.

  python experiments/original_pretraining.py --original_dir ~/LeakGAN --blocks 1 --runs 3 [--out FILE]
  python experiments/original_pretraining.py --original_dir ~/LeakGAN --smoke    # tiny data: the machinery only

The original: bench_original.OriginalSide (its own models and functions under
TensorFlow's compat.v1, nothing copied), one fresh process per run, with oneDNN off and
session threads 1/2 (its fastest D epochs on this CPU, bench_original.json), following its
main(): per block 5 D rounds (9,984 fresh negatives at β = 1.5 and fresh oracle positives,
3 D epochs), then 8 MLE epochs over the fixed MLE set, NLL-oracle of 9,984 samples at
β = 1.5 after epochs 0 and 5. The original seeds numpy with 88 and leaves D and G
unseeded; here run r seeds numpy and the TF graph with --first_seed + r, so each run
repeats. Ours: `leakgan_tf.main --flagfile=experiments/synthetic_len20.cfg
--pretrain_blocks=K --adversarial_iterations=0 --seed=S`, its points read from its events.

Runs alternate (original, ours, original, ...); the JSON (default
experiments/results/original_pretraining.json) is rewritten after every run with each
run's points and seconds and, per point, each side's mean, standard deviation and the
difference of the means with its standard error. A rerun with the same settings keeps
the runs already in the JSON and runs only the missing ones.
"""
import argparse
import datetime
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import bench_original  # noqa: E402  (experiments/bench_original.py: the original under compat.v1)
from machine import cpu_flags, cpu_model  # noqa: E402

ORIGINAL_ENV = dict(TF_ENABLE_ONEDNN_OPTS="0")  # with session threads 1/2 below
SMOKE = dict(rows=128, mle_batches=2)           # 2 batches of 64 for D rounds, scores and the MLE set


def summary(runs):
    """{step: {original: {n, mean, sd}, ours: {...}, difference, standard_error}} over the
    runs' points (standard error of the difference of the means: √(sd₁²/n₁ + sd₂²/n₂),
    when both sides have two runs or more)."""
    steps = sorted({int(s) for r in runs for s in r["points"]})
    table = {}
    for step in steps:
        row = {}
        for side in ("original", "ours"):
            values = [r["points"][str(step)] for r in runs if r["side"] == side and str(step) in r["points"]]
            if values:
                mean = sum(values) / len(values)
                sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else None
                row[side] = dict(n=len(values), mean=round(mean, 4), sd=None if sd is None else round(sd, 4))
        if "original" in row and "ours" in row:
            row["difference"] = round(row["ours"]["mean"] - row["original"]["mean"], 4)
            a, b = row["original"], row["ours"]
            if a["sd"] is not None and b["sd"] is not None:
                row["standard_error"] = round(math.sqrt(a["sd"] ** 2 / a["n"] + b["sd"] ** 2 / b["n"]), 4)
        table[str(step)] = row
    return table


def original_run(original_dir, seed, blocks, smoke, out):
    """In a child process: one run of the original; writes {points, seconds} to out."""
    workdir = tempfile.mkdtemp(prefix="original_pretraining_")
    t0 = time.perf_counter()
    side = bench_original.OriginalSide(original_dir, workdir, intra=1, inter=2, seed=seed)
    shrink = SMOKE if smoke else {}
    points = side.pretraining(blocks, **shrink)
    result = dict(points={str(k): round(float(v), 5) for k, v in points.items()},
                  seconds=round(time.perf_counter() - t0, 1), ground_truth_nll=side.info["ground_truth_nll"])
    pathlib.Path(out).write_text(json.dumps(result))


def ours_run(seed, blocks, smoke, logdir):
    """One run of leakgan_tf.main (a subprocess); {points, seconds} from its events."""
    from leakgan_tf import run_dir
    flags = ["--flagfile=experiments/synthetic_len20.cfg", f"--logdir={logdir}", f"--pretrain_blocks={blocks}",
             "--adversarial_iterations=0", f"--seed={seed}", "--fresh"]
    if smoke:
        flags += [f"--generated_num={SMOKE['rows']}", "--xla_phases="]
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "leakgan_tf.main", *flags], cwd=REPO, capture_output=True,
                          text=True, env=bench_original.ours_env(bench_original.child_env()))
    if done.returncode:
        raise SystemExit(f"error: our run (seed {seed}) failed:\n{done.stderr[-3000:]}")
    points = run_dir.scalars(logdir, keep="pretrain/nll_oracle".__eq__).get("pretrain/nll_oracle", {})
    return dict(points={str(k): round(v, 5) for k, (v, _) in sorted(points.items())},
                seconds=round(time.perf_counter() - t0, 1))


def _cell(side):
    if side is None:
        return "–"
    return f"{side['mean']:.3f}" + ("" if side["sd"] is None else f" ± {side['sd']:.3f}") + f" ({side['n']})"


def print_table(table):
    print(f"{'point':>6} {'original':>20} {'ours':>20} {'ours - original':>18}")
    for step, row in table.items():
        diff = "–" if "difference" not in row else f"{row['difference']:+.3f}" + (
            f" ± {row['standard_error']:.3f}" if "standard_error" in row else "")
        print(f"{int(step) // 8 + 1}.{int(step) % 8:<4} {_cell(row.get('original')):>20} {_cell(row.get('ours')):>20}"
              f" {diff:>18}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--original_dir", required=True, help="a checkout of CR-Gjx/LeakGAN (not modified)")
    p.add_argument("--blocks", type=int, default=1, help="pretraining blocks per run (on 2 cores about 13 min of "
                                                         "ours; the original's, by its phase times, about 30)")
    p.add_argument("--runs", type=int, default=3, help="runs per side")
    p.add_argument("--first_seed", type=int, default=1, help="run r of each side uses seed first_seed + r")
    p.add_argument("--sides", default="original,ours", help="which sides to run (comma-separated): e.g. only "
                                                              "'original' when ours has runs of the same schedule")
    p.add_argument("--smoke", action="store_true", help="128 rows per D round and score, a 128-row MLE set: "
                                                        "exercises the machinery, measures nothing")
    p.add_argument("--out", default=None, help="JSON (default experiments/results/original_pretraining.json; with "
                                               "--smoke, original_pretraining_smoke.json in the temp folder)")
    p.add_argument("--worker_seed", type=int, help=argparse.SUPPRESS)  # child process: one original run
    p.add_argument("--worker_out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    sides = [side for side in ("original", "ours") if side in args.sides.split(",")]
    if not sides or set(args.sides.split(",")) - {"original", "ours"}:
        p.error(f"--sides={args.sides}: give original, ours or both (original,ours)")
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    original_dir = bench_original.check_original_dir(args.original_dir)
    if args.worker_out:
        original_run(original_dir, args.worker_seed, args.blocks, args.smoke, args.worker_out)
        return 0
    from leakgan_tf import startup
    startup.before_tensorflow()  # no TensorFlow start-up lines from the events read here
    if args.blocks < 1 or args.runs < 1:
        p.error("--blocks and --runs must be at least 1")
    out = pathlib.Path(args.out or (pathlib.Path(tempfile.gettempdir()) / "original_pretraining_smoke.json"
                                    if args.smoke else HERE / "results" / "original_pretraining.json"))
    settings = dict(blocks=args.blocks, smoke=args.smoke)
    report = json.loads(out.read_text()) if out.exists() else {}
    if report.get("settings") != settings:
        report = {}
    flags = cpu_flags()
    report.update(
        date=datetime.datetime.now().isoformat(timespec="seconds"), command=sys.argv, settings=settings,
        protocol=f"the first {args.blocks} pretraining block(s) of experiments/synthetic_len20.cfg's schedule (the "
                 f"original's main()), NLL-oracle at β = 1.5 after MLE epochs 0 and 5 of each block, "
                 + ("SMOKE: 128 rows per D round and score, a 128-row MLE set; measures nothing" if args.smoke
                    else "9,984 samples per score"),
        machine=dict(cpu=cpu_model(), cores=os.cpu_count(), avx512="avx512f" in flags),
        original=bench_original.original_identity(original_dir), runs=report.get("runs", []))
    done = {(r["side"], r["seed"]) for r in report["runs"]}
    from leakgan_tf import data
    work = pathlib.Path(tempfile.mkdtemp(prefix="original_pretraining_"))
    for r in range(args.runs):
        seed = args.first_seed + r
        for side in sides:
            if (side, seed) in done:
                continue
            print(f"{side} run, seed {seed} ...", flush=True)
            if side == "original":
                result_file = work / f"original_{seed}.json"
                env = dict(bench_original.child_env(), **ORIGINAL_ENV)
                child = subprocess.run([sys.executable, __file__, "--original_dir", str(original_dir),
                                        f"--blocks={args.blocks}", f"--worker_seed={seed}",
                                        f"--worker_out={result_file}", *(["--smoke"] if args.smoke else [])],
                                       cwd=REPO, env=env, capture_output=True, text=True)
                if child.returncode or not result_file.exists():
                    print(f"error: the original's run (seed {seed}) failed:\n{child.stderr[-3000:]}", file=sys.stderr)
                    return 1
                result = json.loads(result_file.read_text())
            else:
                result = ours_run(seed, args.blocks, args.smoke, work / f"ours_{seed}")
            report["runs"].append(dict(side=side, seed=seed, **result))
            report["summary"] = summary(report["runs"])
            with data.atomic_write(out) as f:
                f.write(json.dumps(report, indent=1) + "\n")
            print(f"  {result['seconds']:.0f} s: " + ", ".join(f"{int(s) // 8 + 1}.{int(s) % 8} {v:.3f}"
                                                              for s, v in result["points"].items()), flush=True)
    report["summary"] = summary(report["runs"])
    with data.atomic_write(out) as f:
        f.write(json.dumps(report, indent=1) + "\n")
    print_table(report["summary"])
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
