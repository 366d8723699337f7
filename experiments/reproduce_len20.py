"""The length-20 reproduction of issue 32, resumable across sessions: one command
resumes every unfinished run of the protocol from its logdir outside the repository.

  python experiments/reproduce_len20.py --out /work/runs/repro20        # resume (or start) everything
  python experiments/reproduce_len20.py --out /work/runs/repro20 --status   # where each run stands

After every stage it writes the whole report of what is on disk to OUT/results
(reproduce_len20.json, its plots, results.md: the tables of docs/results.md, by
experiments/len20_report.py), so this one command reproduces the report.

The protocol (full default schedule of experiments/synthetic_len20.cfg, the paper's
oracle, 9,984 samples per score, NLL-oracle at β = 1.5 and 1.0, NLL-test, a β sweep
of each seed's pretrained (MLE) generator and of its last LeakGAN generator), in the
order the issue sets:

  stage 1  seed 88: 10 pretraining blocks, the MLE row, 50 adversarial iterations, sweeps
  stage 2  seed 89: the same
  stage 3  seed 90: 10 pretraining blocks, the MLE row, the sweep of the MLE generator
  stage 4  seed 88 on to 100 adversarial iterations, sweep
  stage 5  SeqGAN with its official settings, seed 88 (issue 34: its full protocol
           after LeakGAN's runs): 120 MLE epochs, 50 D rounds, 200 adversarial
           batches, sweep

Each stage is one `experiments/oracle_benchmark.py` invocation (each run a
`leakgan_tf.main` subprocess that resumes from its checkpoints), so a stage that was
stopped (SIGTERM: the runs checkpoint after their current unit) continues where it
stopped. Stage 4 resumes seed 88's run with a larger --adversarial_iterations: the
run then has one more scored point (iteration 49, the last of stage 1) than an
uninterrupted 100-iteration run, and its later draws differ from such a run's.

Run it from a snapshot of the code (`git archive HEAD | tar -x -C DIR`), not from a
working tree that changes under it: see WORKSPACE.md, "Long runs".
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from leakgan_tf import run_dir  # noqa: E402  (TensorFlow-free at import)

BETAS = "0.7,0.8,1.0,1.2,1.5,2.0"
# (seed, adversarial iterations; 0 = pretraining and the MLE row only)
STAGES = ((88, 50), (89, 50), (90, 0), (88, 100))
SEQGAN_STAGE, SEQGAN_SEED, SEQGAN_ITERATIONS = 5, 88, 200  # issue 34: after every LeakGAN stage


def run_folder(out, seed):
    """The oracle benchmark's folder of a seed's runs (seed 88 at the top)."""
    length = out / "len20"
    return length if seed == 88 else length / f"seed{seed}"


def position(checkpoint):
    """{blocks_done, iterations_done} saved in a checkpoint."""
    import tensorflow as tf
    reader = tf.train.load_checkpoint(checkpoint)
    return {name: int(reader.get_tensor(key)) for key in reader.get_variable_to_shape_map()
            for name in ("blocks_done", "iterations_done") if key.startswith(name + "/")}


def run_position(logdir):
    """position() of a run's latest checkpoint, None before its first."""
    latest = run_dir.latest_checkpoint(logdir)
    return position(latest) if latest else None


def status(out):
    """{seed: {run: {checkpoint, position}}} of what is on disk (its scored points are the
    report's `seeds`, read once by len20_report.collect)."""
    rows = {}
    for seed in sorted({s for s, _ in STAGES}):
        for name in ("pretrain_code", "code", "seqgan"):
            logdir = run_folder(out, seed) / name
            if not (logdir / run_dir.CONFIG).exists():
                continue
            latest = run_dir.latest_checkpoint(logdir)
            rows.setdefault(str(seed), {})[name] = dict(checkpoint=latest and pathlib.Path(latest).name,
                                                        position=position(latest) if latest else None)
    return rows


def report(out, path, docs=None):
    """The protocol's position and every scored point as JSON (committed at the end of
    a session), its plots beside it, and its tables in docs (experiments/len20_report.py)."""
    import platform

    import len20_report
    from machine import cpu_flags, cpu_model  # experiments/machine.py (this script's folder is on sys.path)
    flags = cpu_flags()
    targets = dict(STAGES)  # a seed's last stage sets its target
    rows = status(out)

    def reached(seed, iterations):
        run = rows.get(str(seed), {}).get("code" if iterations else "pretrain_code") or {}
        done = run.get("position") or {}
        return done.get("iterations_done", 0) >= iterations if iterations else done.get("blocks_done", 0) >= 10
    seqgan = (rows.get(str(SEQGAN_SEED), {}).get("seqgan") or {}).get("position") or {}
    done = all(reached(seed, iterations) for seed, iterations in targets.items()) and \
        seqgan.get("iterations_done", 0) >= SEQGAN_ITERATIONS
    body = dict(
        protocol="issue 32: experiments/synthetic_len20.cfg's full default schedule (10 pretraining blocks of 5 D "
                 "rounds x 3 epochs + 8 MLE epochs), the paper's oracle, 9,984 samples per score, NLL-oracle at "
                 "beta 1.5 (and 1.0, NLL-test, distinct-4: --extended_eval), scored every 5 iterations",
        full_protocol=done, shortened=False,
        targets={**{str(k): v or "pretraining only" for k, v in targets.items()},
                 f"seqgan_{SEQGAN_SEED}": f"{SEQGAN_ITERATIONS} adversarial batches (experiments/seqgan_len20.cfg)"},
        runs=rows, machine=dict(cpu=platform.processor() or platform.machine(), model=cpu_model(),
                                avx512="avx512f" in flags, cores=os.cpu_count()),
        note="runs still going; full_protocol turns true when every seed has reached its target",
        samples_per_score=9984,
        seeds=len20_report.keep_old_sweeps(
            len20_report.collect(out, sorted({s for s, _ in STAGES}), run_folder, run_position),
            len20_report.previous_seeds(path)))
    from leakgan_tf import data
    path = pathlib.Path(path)
    for key, png in (("plot", len20_report.plot(body, path.with_suffix(".png"))),
                     ("sweep_plot", len20_report.plot_sweeps(body, path.with_name(path.stem + "_sweep.png")))):
        body[key] = png and pathlib.Path(png).name
    with data.atomic_write(path) as f:
        f.write(json.dumps(body, indent=1) + "\n")
    if docs:
        len20_report.write_docs(docs, len20_report.markdown(body))
    return body


def stage_command(out, seed, iterations, results, extra, methods=None):
    methods = methods or ("mle,code" if iterations else "mle")
    return [sys.executable, str(REPO / "experiments" / "oracle_benchmark.py"), f"--out={out}", "--lengths=20",
            f"--seeds={seed}", f"--methods={methods}", f"--adversarial_iterations={max(iterations, 1)}",
            "--mle_epochs=0", f"--betas={BETAS}", f"--results_dir={results / f'seed{seed}'}",
            f"--docs={results / f'seed{seed}' / 'results.md'}", *extra]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder of the runs, outside the repository (reruns resume)")
    p.add_argument("--status", action="store_true", help="print where each run stands and exit")
    p.add_argument("--report", default="", help="write where the protocol stands as JSON to this file (its plots "
                                                "beside it) and exit")
    p.add_argument("--docs", default="", help="with --report: also write its tables into this markdown file "
                                              "(between experiments/len20_report.py's markers)")
    p.add_argument("--extra_flags", default="", help="passed to oracle_benchmark.py (tests: tiny models)")
    p.add_argument("--stages", default="1,2,3,4,5", help="which stages to run, in order (empty: none, only "
                                                          "write the report of what is on disk)")
    args, extra = p.parse_known_args(argv)
    out = pathlib.Path(args.out).resolve()
    if REPO in out.parents or out == REPO:
        sys.exit(f"error: --out={out} lies inside the repository; give a folder outside it (checkpoints are large)")
    if args.status or args.report:
        from leakgan_tf import startup
        startup.before_tensorflow()
    if args.status:
        print(json.dumps(status(out), indent=1))
        return 0
    if args.report:
        body = report(out, args.report, args.docs)
        print(json.dumps({k: v for k, v in body.items() if k != "seeds"}, indent=1))
        return 0
    results = out / "results"
    for index in (int(s) for s in args.stages.split(",") if s):
        flags = [f"--extra_flags={args.extra_flags}"] if args.extra_flags else []
        if index == SEQGAN_STAGE:
            print(f"== stage {index}: SeqGAN, seed {SEQGAN_SEED}, {SEQGAN_ITERATIONS} adversarial batches", flush=True)
            cmd = stage_command(out, SEQGAN_SEED, dict(STAGES)[SEQGAN_SEED], results,
                                [*flags, f"--seqgan_iterations={SEQGAN_ITERATIONS}"], methods="seqgan")
        else:
            seed, iterations = STAGES[index - 1]
            print(f"== stage {index}: seed {seed}, {iterations} adversarial iterations", flush=True)
            cmd = stage_command(out, seed, iterations, results, flags)
        code = subprocess.call([*cmd, *extra], cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        if code:
            return code
        write_report(out)
    if not args.stages.strip(","):
        write_report(out)
    return 0


def write_report(out):
    """The whole report of what is on disk (OUT/results/reproduce_len20.json, its plots and
    results.md with its tables), in a process of its own: written after every stage, so one
    command of this script gives the report that docs/results.md holds."""
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    code = subprocess.call([sys.executable, __file__, f"--out={out}", f"--report={results / 'reproduce_len20.json'}",
                            f"--docs={results / 'results.md'}"], cwd=REPO, stdout=subprocess.DEVNULL)
    print(f"report: {results / 'results.md'}" if code == 0 else f"note: the report failed (exit {code})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
