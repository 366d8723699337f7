"""A/B of process settings on bench_speed.py: each arm is a set of environment
variables; arms alternate within each round (A B A B ...), every run a fresh
process, and the JSON keeps every round and each arm's medians.

  python experiments/bench_ab.py --arm sparse:LEAKGAN_TF_NATIVE_OPS=1 --arm dense:LEAKGAN_TF_NATIVE_OPS=0 \\
      --rounds 3 --out experiments/results/bench_native_ab.json -- --lengths 20 --paths incremental --phases d_epoch

Arguments after `--` go to bench_speed.py (one length and path). An arm whose
PYTHONPATH is a snapshot of the repository (`git archive REV | tar -x -C DIR`) runs
that snapshot's bench_speed.py: two versions of the code, A/B:

  python experiments/bench_ab.py --arm before:PYTHONPATH=/tmp/old --arm after:PYTHONPATH=/tmp/new \
      --rounds 3 --out experiments/results/bench_backend_ab.json -- --lengths 20 --paths incremental
"""
import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).parent


def parse_arm(text):
    """'name:VAR=value,VAR=value' -> (name, {VAR: value})."""
    name, sep, settings = text.partition(":")
    pairs = [s.partition("=") for s in settings.split(",") if s] if sep else []
    if not name or not sep or any(not var or not eq for var, eq, _ in pairs):
        raise argparse.ArgumentTypeError(f"--arm {text!r}: write it as name:VAR=value[,VAR=value]")
    return name, {var: value for var, _, value in pairs}


def script(env):
    """The bench_speed.py an arm runs: that of the tree its PYTHONPATH names, when it has
    one (an arm of another version of the code, e.g. a `git archive` snapshot), else ours."""
    tree = pathlib.Path(env.get("PYTHONPATH", "")) / "experiments" / "bench_speed.py"
    return tree if env.get("PYTHONPATH") and tree.is_file() else HERE / "bench_speed.py"


def summary(report):
    """One bench_speed.py report -> its phase seconds, D step parts and rates."""
    (rows,) = report["results"].values()
    out = dict(seconds={p: r["seconds"] for p, r in rows.items() if isinstance(r, dict) and "seconds" in r},
               matmul_gflops=report["matmul_gflops"], memory_gbytes_per_s=report["memory_gbytes_per_s"],
               process=report["process"], load_average=[report["load_average_start"], report["load_average_end"]])
    if "d_step_parts" in rows:
        out["d_step_parts"] = {k: rows["d_step_parts"][k] for k in ("step_ms", "forward_backward_ms", "adam_ms")}
    return out


def medians(rounds):
    """Median over rounds of every phase's seconds and D step part."""
    keys = {("seconds", p) for r in rounds for p in r["seconds"]}
    keys |= {("d_step_parts", p) for r in rounds for p in r.get("d_step_parts", {})}
    return {f"{group}.{name}": statistics.median(r[group][name] for r in rounds if name in r.get(group, {}))
            for group, name in sorted(keys)}


def parse_arms(doc, passed):
    """(parser, args, the arguments after `--`) of an A/B benchmark's command line:
    --arm (repeated), --rounds, --out, then `--` and what each run is given (`passed`)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--arm", action="append", type=parse_arm, required=True,
                        help="name:VAR=value[,VAR=value] (PYTHONPATH=DIR: the code in DIR)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", required=True)
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=f"-- then {passed}")
    args = parser.parse_args()
    return parser, args, args.rest[1:] if args.rest[:1] == ["--"] else args.rest


def alternating(arms, rounds):
    """(round, name, settings) of every run: the arms in turn within each round."""
    for round_ in range(1, rounds + 1):
        for name, env in arms:
            print(f"round {round_}, {name} ({env}) ...", flush=True)
            yield round_, name, env


def write_report(report, out):
    """Writes an A/B report (its "medians" per arm) as JSON, atomically, and prints the medians."""
    path = pathlib.Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(report, indent=1) + "\n")
    os.replace(partial, path)
    for name, values in report["medians"].items():
        print(name, values)
    print(f"wrote {path}")


def main():
    parser, args, bench_args = parse_arms(__doc__, "bench_speed.py's arguments")
    if len(args.arm) < 2 or args.rounds < 1:
        parser.error("give at least two --arm and --rounds >= 1")
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    arms = {name: [] for name, _ in args.arm}
    with tempfile.TemporaryDirectory() as tmp:
        for round_, name, env in alternating(args.arm, args.rounds):
            out = pathlib.Path(tmp) / f"{name}_{round_}.json"
            subprocess.run([sys.executable, str(script(env)), *bench_args, "--out", str(out)],
                           env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
            arms[name].append(dict(round=round_, **summary(json.loads(out.read_text()))))
    report = dict(date=datetime.datetime.now().isoformat(timespec="seconds"),
                  command=" ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
                  protocol=f"{args.rounds} rounds, arms alternating within each round, each run a fresh "
                           "bench_speed.py process; medians over rounds",
                  settings={name: env for name, env in args.arm}, arms=arms,
                  medians={name: medians(rounds) for name, rounds in arms.items()})
    write_report(report, args.out)


if __name__ == "__main__":
    main()
