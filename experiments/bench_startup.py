"""Start-up cost of training: CPU and wall seconds of whole `leakgan_tf.main` processes
on a one-unit schedule (one pretraining block of one D round and one MLE epoch, one
adversarial iteration), where importing, tracing and compiling the steps are most of
the work. Arms are versions of the code (PYTHONPATH = a `git archive` snapshot; the
run's working folder is that snapshot) or environment settings, as in bench_ab.py;
they alternate within each round, every run a fresh process.

  python experiments/bench_startup.py --arm before:PYTHONPATH=/tmp/old --arm after:PYTHONPATH=/tmp/new \\
      --rounds 3 --out experiments/results/bench_startup.json

Arguments after `--` replace the default flags (the length-20 model of
experiments/quick.cfg on that one-unit schedule), e.g. `-- --flagfile=my.cfg`.
"""
import datetime
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_ab import alternating, parse_arms, write_report  # noqa: E402
from machine import cpu_flags  # noqa: E402

ONE_UNIT = ["--flagfile=experiments/quick.cfg", "--generated_num=256", "--pretrain_blocks=1", "--pretrain_d_rounds=1",
            "--d_epochs=1", "--pretrain_g_epochs=1", "--pretrain_eval_epochs=0", "--adversarial_iterations=1",
            "--adv_d_rounds=1", "--eval_every=1", "--checkpoint_every=1", "--keep_checkpoints=1"]


def run_once(env, flags, logdir):
    """Wall seconds of one training process (its CPU seconds: the caller's RUSAGE_CHILDREN
    difference); cwd is the arm's tree (its PYTHONPATH) or this repository."""
    tree = pathlib.Path(env["PYTHONPATH"]) if env.get("PYTHONPATH") else HERE.parent
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "leakgan_tf.main", *flags, f"--logdir={logdir}"], cwd=tree,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"error: the run of arm {env} failed ({proc.returncode}): {err.strip().splitlines()[-1:]}")
    return wall


def main():
    parser, args, flags = parse_arms(__doc__, "leakgan_tf.main's flags (default: the one-unit schedule)")
    flags = flags or ONE_UNIT
    if args.rounds < 1:
        parser.error("give --rounds >= 1")
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    import resource
    arms = {name: [] for name, _ in args.arm}
    with tempfile.TemporaryDirectory() as tmp:
        for round_, name, env in alternating(args.arm, args.rounds):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall = run_once(env, flags, pathlib.Path(tmp) / f"{name}_{round_}")
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            user, sys_ = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
            arms[name].append(dict(round=round_, wall=round(wall, 2), cpu=round(user + sys_, 2),
                                   user=round(user, 2), sys=round(sys_, 2)))
    report = dict(date=datetime.datetime.now().isoformat(timespec="seconds"),
                  command=" ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]]),
                  protocol=f"{args.rounds} rounds, arms alternating within each round, each run a fresh "
                           f"leakgan_tf.main process with flags {' '.join(flags)}; medians over rounds",
                  machine=dict(cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
                               avx512="avx512f" in cpu_flags(), load_average=os.getloadavg()),
                  settings={name: env for name, env in args.arm}, arms=arms,
                  medians={name: {key: round(statistics.median(r[key] for r in rounds), 2) for key in ("wall", "cpu")}
                           for name, rounds in arms.items()})
    write_report(report, args.out)


if __name__ == "__main__":
    main()
