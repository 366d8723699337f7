"""SIGKILL a tiny training run at random moments, resume it, and check that
nothing is lost: the resumed run finishes with sample files identical to an
uninterrupted run's, and no half-written file is left behind.

  python experiments/kill_test.py [--kills 6] [--seed 0] [--out experiments/results/kill_test.json]

Each trial starts the run, kills it (SIGKILL) after a random delay drawn over the
uninterrupted run's duration, notes the phase from the last console line, then
reruns the same command until it finishes (killing again in later trials of a
chain is not needed: every trial starts from a fresh logdir).
"""
import argparse
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.test_cli import TINY_FLAGS  # noqa: E402  (the CLI test's tiny configuration)


def start(flagfile, log):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "leakgan_tf.main", f"--flagfile={flagfile}"], cwd=REPO,
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def samples(logdir):
    return {p.name: p.read_text() for p in sorted((logdir / "samples").glob("*.txt"))}


def phase_of(log_path):
    lines = [line for line in pathlib.Path(log_path).read_text().splitlines() if line.startswith("[")]
    return lines[-1][:90] if lines else "(start-up: before the first unit finished)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "experiments" / "results" / "kill_test.json"))
    args = parser.parse_args()
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    rng = random.Random(args.seed)
    root = pathlib.Path(tempfile.mkdtemp(prefix="leakgan_kill_"))

    def flagfile(name):
        path = root / f"{name}.cfg"
        path.write_text(TINY_FLAGS + f"--logdir={root / name}\n")
        return path

    t0 = time.time()
    with open(root / "reference.log", "w") as log:
        assert start(flagfile("reference"), log).wait() == 0, "the uninterrupted run failed"
    duration = time.time() - t0
    reference = samples(root / "reference")
    print(f"uninterrupted run: {duration:.1f}s, {len(reference)} sample files", flush=True)
    trials = []
    for k in range(args.kills):
        name = f"trial{k}"
        delay = rng.uniform(0.3, 1.0) * duration
        with open(root / f"{name}.log", "w") as log:
            proc = start(flagfile(name), log)
            time.sleep(delay)
            finished_first = proc.poll() is not None
            if not finished_first:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        phase = phase_of(root / f"{name}.log")
        with open(root / f"{name}.resume.log", "w") as log:
            code = start(flagfile(name), log).wait()
        leftovers = [str(p) for p in (root / name).rglob("*") if ".tmp" in p.name]
        same = samples(root / name) == reference
        trials.append(dict(kill_after_seconds=round(delay, 1), killed=not finished_first, phase_at_kill=phase,
                           resume_exit_code=code, samples_identical=same, leftover_temp_files=leftovers))
        print(f"trial {k}: kill at {delay:5.1f}s during {phase!r}: resume exit {code}, "
              f"samples identical {same}, leftovers {len(leftovers)}", flush=True)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(uninterrupted_seconds=round(duration, 1), trials=trials), indent=1))
    shutil.rmtree(root)
    ok = all(t["resume_exit_code"] == 0 and t["samples_identical"] and not t["leftover_temp_files"] for t in trials)
    print(("all trials recovered" if ok else "SOME TRIALS FAILED") + f"; wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
