"""The oracle benchmark: MLE, LeakGAN (code variant, two seeds), LeakGAN (paper
variant) and SeqGAN on the length-20 oracle of the paper and the fixed length-40 oracle, under
one protocol, beside the paper's Table 1 and the repository's logs, with
quality-diversity curves over the inverse temperature.

  python experiments/oracle_benchmark.py --out=/path/to/bench --lengths=20   # full protocol (issue 14)
  python experiments/oracle_benchmark.py --out=DIR --lengths=20 --seeds=88 --methods=mle,code \
      --pretrain_blocks=2 --adversarial_iterations=10 --mle_epochs=0 --betas=  # a shortened protocol
  python experiments/oracle_benchmark.py --out=DIR --lengths=20 --report_only  # tables of what is on disk

Per length L it runs (each a `leakgan_tf.main` or `leakgan_tf.evaluate`
subprocess with its own logdir under --out/len<L>, so rerunning the command
resumes whatever was interrupted):

  pretrain_code   pretraining only, --variant=code (or --pretrained_L=DIR: an
                  existing run's logdir is used instead); one per seed
  mle             the MLE baseline: pretrain_code's final generator, scored
                  with leakgan_tf.evaluate (it never sees a reward)
  mle_continued   that generator after --mle_epochs more MLE-only epochs (no D
                  rounds), scored the same way: does more MLE alone catch up?
  code            --init_from pretrain_code, --adversarial_iterations iterations
                  (the first seed) or --other_iterations (every further seed:
                  seed<S>/pretrain_code and seed<S>/code, the seed spread)
  pretrain_paper  pretraining only, --variant=paper (skipped with
                  --shared_pretraining: the paper branch then starts from
                  pretrain_code and keeps its model shapes and its goal
                  normalisation)
  paper           --init_from pretrain_paper, --other_iterations iterations
  seqgan          SeqGAN (--model=seqgan) from scratch with its official
                  settings (experiments/seqgan_len20.cfg: 120 MLE epochs, 50 D
                  rounds, --seqgan_iterations adversarial batches; length 20
                  only), the first seed; scored at its β_eval = 1 and, through
                  its sweep, at β = 1.5
  sweep_<run>     leakgan_tf.evaluate --betas on the final checkpoints of mle,
                  mle_continued, code, paper and seqgan: NLL-oracle against
                  NLL-test at each β (leakgan_tf.sweep)

Every score uses the same protocol (--extended_eval): NLL-oracle at the run's
β_eval = 1.5 (the paper's) and at β = 1.0, NLL-test on held-out oracle samples,
distinct-4 at both β, and at both β the oracle divergences of Montahaei et al. (2019)
(Jeffreys, Bhattacharyya, NLL-oracle + NLL-test at that β: leakgan_tf.divergences;
also in every β sweep row), each over --generated_num samples rounded down to a multiple
of the batch (9,984 in the full protocol, as the original's 10,000). A branch keeps
its pretraining run's MLE set and test set (their first --generated_num rows), and
the MLE rows are scored with the same sample count as the branches. Each seed
draws its own MLE set and test set.

The full protocol is the defaults: 10 pretraining blocks, 100 adversarial iterations
for the first seed and 50 for the second seed and the paper variant (the original's
TOTAL_BATCH is 800, but the README's logs stop at 85 and 91 iterations,
experiment-log40.txt at 120, and their best points lie at 45-90), 50 continued MLE
epochs, 9,984 samples everywhere, without --extra_flags. A report is marked full only
then, and only once the first seed's code run has all its iterations; every table
says how many iterations each run has so far.

Writes --out/results/oracle_<L>.json, PNG plots when matplotlib is installed
(pip install -e .[experiments]): oracle_<L>.png (trajectories) and
oracle_<L>_sweep.png (the β sweep), and the oracle section of --out/results.md;
with --publish the same into the repository's committed experiments/results/ and
docs/results.md (the report of a run worth keeping).
"""
import argparse
import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from leakgan_tf import run_dir  # noqa: E402  (TensorFlow-free at import)
from leakgan_tf.config import Config  # noqa: E402  (TensorFlow-free)
from leakgan_tf.divergences import KEYS as DIVERGENCES  # noqa: E402  (numpy only)
from leakgan_tf.sweep import DEFAULT_BETAS  # noqa: E402  (TensorFlow-free)

FLAGFILES = {20: "experiments/synthetic_len20.cfg", 40: "experiments/synthetic_len40.cfg"}
# SeqGAN as its official code trains it (issue 34); its code has a length-20 setting only.
SEQGAN_FLAGFILES = {20: "experiments/seqgan_len20.cfg"}
# Paper Table 1 (NLL-oracle; LeakGAN at β = 1.5, baselines at β = 1.0) and the
# repository's logs (spec §9.3, §10).
REFERENCE = {
    20: dict(paper=dict(mle=9.038, leakgan=7.038, seqgan=8.736),
             # NLL-oracle in pretraining by MLE epoch ((block - 1) * 8 + epoch in the block; the logs print
             # epochs 0 and 5 of every block, "k.0" and "k.5"), as the logs print them.
             repo_log=dict(pretrain_end=8.347,
                           pretraining={0: 9.69433, 5: 9.03316, 8: 8.58167, 13: 8.21973, 16: 8.13603, 21: 8.15756,
                                        24: 8.17478, 29: 8.16642, 32: 8.15797, 37: 8.2205, 40: 8.19299, 45: 8.23519,
                                        48: 8.23879, 53: 8.28305, 56: 8.29373, 61: 8.31093, 64: 8.27784,
                                        69: 8.30236, 72: 8.35919, 77: 8.34681},
                           adversarial={0: 8.242, 5: 7.884, 10: 7.578, 15: 7.429, 20: 7.162, 25: 6.931, 30: 6.879,
                                        35: 6.758, 40: 6.895, 45: 6.711, 50: 6.842, 55: 6.899, 60: 6.940, 65: 7.041,
                                        70: 7.020, 75: 7.010, 80: 7.075, 85: 7.014, 90: 7.011}),
             # Synthetic Data/save/log.txt: a second length-20 run of the same code.
             repo_log_2=dict(label="repo log.txt", pretrain_end=8.340,
                             pretraining={0: 9.65325, 5: 8.63906, 8: 8.20058, 13: 8.12725, 16: 7.96377, 21: 7.92729,
                                          24: 7.9665, 29: 8.07936, 32: 8.15441, 37: 8.22372, 40: 8.23278,
                                          45: 8.30288, 48: 8.28703, 53: 8.28449, 56: 8.25828, 61: 8.34314,
                                          64: 8.36832, 69: 8.40438, 72: 8.38655, 77: 8.33983},
                             adversarial={0: 8.217, 5: 7.649, 10: 7.290, 15: 7.124, 20: 6.925, 25: 6.810, 30: 6.688,
                                          35: 6.526, 40: 6.453, 45: 6.448, 50: 6.536}),
             # Synthetic Data/save/log2.txt of the first commit (3bf2d03; later commits deleted it): a third
             # run whose pretraining differs (MLE epochs 0-115, no interleaved D rounds, apparently from a
             # checkpoint with D pretrained), so only its adversarial points are a reference.
             repo_log_3=dict(label="repo log2.txt", pretrain_end=None,
                             adversarial={0: 8.410, 5: 8.377, 10: 8.265, 15: 8.074, 20: 7.836, 25: 7.664, 30: 7.649,
                                          35: 7.627, 40: 7.571, 45: 7.315, 50: 7.294, 55: 7.180, 60: 7.352, 65: 7.161,
                                          70: 7.270, 75: 7.365, 80: 7.512, 85: 7.430, 90: 7.418, 95: 7.456,
                                          100: 7.574}),
             ground_truth="5.752 (paper oracle)"),
    40: dict(paper=dict(mle=10.411, leakgan=7.191),
             repo_log=dict(pretrain_end=9.295, adversarial={0: 9.294, 5: 8.891, 10: 8.657, 15: 8.411, 20: 8.275,
                                                             25: 8.109, 30: 8.036, 35: 7.907, 40: 7.792, 45: 7.632,
                                                             50: 7.539, 55: 7.392, 60: 7.413, 65: 7.391, 70: 7.312,
                                                             75: 7.304, 80: 7.164, 85: 7.162}),
             # save/experiment-log40.txt: another length-40 run (another random oracle, ground truth 4.119).
             repo_log_2=dict(label="repo experiment-log40.txt", pretrain_end=9.048,
                             adversarial={0: 9.036, 5: 8.721, 10: 8.513, 15: 8.191, 20: 8.004, 25: 7.900, 30: 7.726,
                                          35: 7.603, 40: 7.608, 45: 7.451, 50: 7.451, 55: 7.408, 60: 7.440, 65: 7.349,
                                          70: 7.153, 75: 7.247, 80: 7.125, 85: 7.279, 90: 7.013, 95: 7.117,
                                          100: 7.173, 105: 7.363, 110: 7.129, 115: 7.021, 120: 7.031}),
             ground_truth="4.184 (the README's random oracle; ours is seed 40: 4.195)"),
}
DEFAULT_SEED = Config.seed  # 88, the original's SEED
METRICS = ("nll_oracle", "nll_oracle_beta1", "nll_test", "distinct4", "distinct4_beta1", "ground_truth_nll",
           *DIVERGENCES, *(f"{key}_beta1" for key in DIVERGENCES))
MARK_BEGIN, MARK_END = "<!-- oracle-benchmark:begin -->", "<!-- oracle-benchmark:end -->"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder for the runs (outside the repo; reruns resume)")
    p.add_argument("--lengths", default="20,40")
    p.add_argument("--methods", default="mle,code,paper,seqgan",
                   help="of mle, code, paper, seqgan (SeqGAN with its official settings, lengths with a SeqGAN "
                        "flagfile: 20)")
    p.add_argument("--seqgan_iterations", type=int, default=200,
                   help="SeqGAN's adversarial batches (its code's TOTAL_BATCH; after its own 120 MLE epochs and 50 "
                        "D rounds)")
    p.add_argument("--pretrain_blocks", type=int, default=10)
    p.add_argument("--adversarial_iterations", type=int, default=100,
                   help="iterations of the code variant for the first of --seeds")
    p.add_argument("--other_iterations", type=int, default=50,
                   help="iterations of the paper variant and of the code variant for the other seeds")
    p.add_argument("--seeds", default=f"{DEFAULT_SEED},{DEFAULT_SEED + 1}",
                   help="seeds of the code variant (pretraining + adversarial); the first gets the MLE rows, the "
                        "paper variant and the sweep; seed 88 (the original's) lives in len<L>/, others in "
                        "len<L>/seed<S>/")
    p.add_argument("--mle_epochs", type=int, default=50,
                   help="MLE-only epochs after pretraining for the continued MLE row (0: none)")
    p.add_argument("--betas", default=",".join(map(str, DEFAULT_BETAS)),
                   help="inverse temperatures of the quality-diversity sweep of the final checkpoints ('' : none)")
    p.add_argument("--eval_every", type=int, default=5)
    p.add_argument("--generated_num", type=int, default=10000, help="samples per evaluation and D round")
    p.add_argument("--shared_pretraining", action="store_true",
                   help="the paper variant starts from the code variant's pretraining")
    p.add_argument("--pretrained_20", default="", help="use this finished code-variant pretraining run (logdir)")
    p.add_argument("--pretrained_40", default="")
    p.add_argument("--extra_flags", default="", help="more leakgan_tf.main flags for every run, space-separated")
    p.add_argument("--report_only", action="store_true",
                   help="only collect results from the runs on disk (finished or still running); trains and scores "
                        "nothing")
    p.add_argument("--results_dir", default="",
                   help="where oracle_<L>.json and the plots go (default: --out/results; the repository's "
                        "experiments/results with --publish)")
    p.add_argument("--docs", default="", help="the markdown file whose oracle section is rewritten (default: "
                                              "--out/results.md; the repository's docs/results.md with --publish)")
    p.add_argument("--publish", action="store_true",
                   help="write the report into the repository's committed results (experiments/results/, "
                        "docs/results.md) instead of --out")
    args = p.parse_args(argv)
    base = (REPO / "experiments" / "results", REPO / "docs" / "results.md") if args.publish \
        else (pathlib.Path(args.out) / "results", pathlib.Path(args.out) / "results.md")
    args.results_dir, args.docs = args.results_dir or str(base[0]), args.docs or str(base[1])
    return args


def run_main(logdir, length, flags, log, flagfile=None):
    """Runs (or resumes) one leakgan_tf.main job (with FLAGFILES[length] unless `flagfile`);
    returns its wall seconds."""
    cmd = [sys.executable, "-m", "leakgan_tf.main", f"--flagfile={flagfile or FLAGFILES[length]}", f"--logdir={logdir}",
           "--extended_eval", *flags]
    print("$", " ".join(cmd), flush=True)
    t0 = time.time()
    with open(log, "a") as f:
        code = subprocess.call(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT)
    if code:
        sys.exit(f"error: {' '.join(cmd)} exited with {code}; see {log} (rerun this command to resume)")
    return time.time() - t0


class NoRetracingHint(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" hint. Every in-process evaluation
    builds its own oracle and model, whose first traces TensorFlow counts as retracing of the
    same Python functions and, from the fifth, warns about: expected here, noise in the log."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def quiet_retracing_hints():
    """Adds NoRetracingHint to TensorFlow's logger (once)."""
    import tensorflow as tf
    logger = tf.get_logger()
    if not any(isinstance(f, NoRetracingHint) for f in logger.filters):
        logger.addFilter(NoRetracingHint())


def evaluate(logdir, out, generated_num, betas=()):
    """leakgan_tf.evaluate on the run's latest checkpoint with generated_num samples
    (and a β sweep when betas are given), cached in out: kept while it names that
    checkpoint, that sample count and those β, and has the divergences (a score of an
    older protocol is redone)."""
    logdir = pathlib.Path(logdir)
    latest = run_dir.latest_checkpoint(logdir)
    if not latest or not (logdir / run_dir.CONFIG).exists():
        sys.exit(f"error: {logdir} holds no finished run (no checkpoint or config.json); pass the logdir of a "
                 f"pretraining run, or rerun this command without --pretrained_L to pretrain")
    cached = read_json(out) or {}
    swept = [r["beta"] for r in cached.get("sweep", [])]
    if cached.get("checkpoint") == latest and cached.get("num_samples") == num_samples(generated_num, logdir) \
            and swept == [float(b) for b in betas] and all(key in cached for key in DIVERGENCES):
        return cached
    # In this process (one TensorFlow start-up for all scores), as `python -m leakgan_tf.evaluate
    # --logdir=LOGDIR --generated_num=N [--betas=...] --out=OUT` would.
    from leakgan_tf import data
    from leakgan_tf.evaluation import evaluate_run
    quiet_retracing_hints()
    print(f"$ python -m leakgan_tf.evaluate --logdir={logdir} --generated_num={generated_num} --out={out}"
          + (f" --betas={','.join(map(str, betas))}" if betas else ""), flush=True)
    from leakgan_tf.errors import UserError
    try:
        scores = evaluate_run(str(logdir), 0, generated_num, [float(b) for b in betas])
    except UserError as e:
        sys.exit(f"error: scoring {logdir}: {e}")
    with data.atomic_write(out) as f:
        f.write(json.dumps(scores, indent=1) + "\n")
    return scores


def scalars(logdir, prefix):
    """{metric: [(step, value, wall_time)]} of the evaluations in a run's events."""
    tags = {f"{prefix}/{metric}": metric for metric in METRICS + ("eval_seconds",)}
    return {tags[tag]: [(step, round(v, 4), t) for step, (v, t) in sorted(events.items())]
            for tag, events in run_dir.scalars(logdir, keep=tags.__contains__).items()}


def trajectory(logdir, prefix):
    """[{step, metric: value, …}] ordered by step."""
    rows = {}
    for metric, points in scalars(logdir, prefix).items():
        for step, value, _ in points:
            rows.setdefault(step, {"step": step})[metric] = value
    return [rows[s] for s in sorted(rows)]


def config_of(logdir):
    return run_dir.saved_settings(logdir)


def num_samples(generated_num, logdir):
    """Samples a run scores for generated_num (Config.num_samples: whole batches)."""
    return run_dir.num_samples(logdir, generated_num)


def seed_dir(out, seed):
    """Where one seed's runs live: the default seed (88, the original's) at the top of
    the length's folder, any other seed under seed<S>/."""
    return out if seed == DEFAULT_SEED else out / f"seed{seed}"


finished = run_dir.finished


def run_length(args, length, out):
    """Runs (or resumes) every run of one length that the arguments ask for, then
    collects the report from what is on disk (--report_only: collect only)."""
    out.mkdir(parents=True, exist_ok=True)
    methods = args.methods.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    timing = {}
    for rank, seed in enumerate(seeds):
        sub = seed_dir(out, seed)
        sub.mkdir(parents=True, exist_ok=True)
        common = [f"--generated_num={args.generated_num}", f"--eval_every={args.eval_every}", f"--seed={seed}",
                  *args.extra_flags.split()]
        given = getattr(args, f"pretrained_{length}") if seed == DEFAULT_SEED else ""
        pretrained = given or str(sub / "pretrain_code")
        if args.report_only:
            continue
        if not given:
            timing[f"pretrain_code{tag(seed)}"] = run_main(
                pretrained, length, ["--variant=code", f"--pretrain_blocks={args.pretrain_blocks}",
                                     "--adversarial_iterations=0", *common], sub / "pretrain_code.log")
        scores = evaluate(pretrained, sub / "mle_eval.json", args.generated_num)
        if scores["iterations_done"]:
            sys.exit(f"error: {pretrained} has {scores['iterations_done']} adversarial iterations; pass a run that "
                     f"only pretrained (its checkpoint after the last pretraining block)")
        blocks = scores["blocks_done"]
        iterations = args.adversarial_iterations if rank == 0 else args.other_iterations
        if "code" in methods:
            timing[f"code{tag(seed)}"] = run_main(
                sub / "code", length, ["--variant=code", f"--init_from={pretrained}", f"--pretrain_blocks={blocks}",
                                       f"--adversarial_iterations={iterations}", *common], sub / "code.log")
        if rank:
            continue  # further seeds: the code variant only (seed-to-seed spread)
        if "seqgan" in methods and length in SEQGAN_FLAGFILES:
            # SeqGAN trains from scratch with its own schedule; scored under the same protocol.
            timing["seqgan"] = run_main(sub / "seqgan", length, [f"--adversarial_iterations={args.seqgan_iterations}",
                                                                 *common], sub / "seqgan.log",
                                        flagfile=SEQGAN_FLAGFILES[length])
        if "mle" in methods and args.mle_epochs:
            # The MLE row's continuation: the same generator, args.mle_epochs more MLE epochs (no D, no reward).
            evals = ",".join(str(e) for e in range(args.eval_every - 1, args.mle_epochs, args.eval_every))
            timing["mle_continued"] = run_main(
                sub / "mle_continued", length,
                [*common, "--variant=code", f"--init_from={pretrained}", f"--pretrain_blocks={blocks + 1}",
                 "--pretrain_d_rounds=0", f"--pretrain_g_epochs={args.mle_epochs}",  # after --extra_flags: these win
                 f"--pretrain_eval_epochs={evals or args.mle_epochs - 1}", "--adversarial_iterations=0"],
                sub / "mle_continued.log")
            evaluate(sub / "mle_continued", sub / "mle_continued_eval.json", args.generated_num)
        if "paper" in methods:
            paper_init, paper_flags = str(sub / "pretrain_paper"), []
            if args.shared_pretraining:
                base = config_of(pretrained)
                paper_init = pretrained
                # The paper variant's training on the pretrained model: its shapes and its goal
                # normalisation (the same weights without l2n sample far sharper and collapse).
                paper_flags = [f"--dis_filter_sizes={','.join(map(str, base['dis_filter_sizes']))}",
                               f"--dis_num_filters={','.join(map(str, base['dis_num_filters']))}",
                               *run_dir.same_meaning_flags(pretrained)]
            else:
                timing["pretrain_paper"] = run_main(paper_init, length, [
                    "--variant=paper", f"--pretrain_blocks={args.pretrain_blocks}", "--adversarial_iterations=0",
                    *common], sub / "pretrain_paper.log")
            timing["paper"] = run_main(sub / "paper", length, [
                "--variant=paper", f"--init_from={paper_init}", f"--pretrain_blocks={blocks}",
                f"--adversarial_iterations={args.other_iterations}", *common, *paper_flags], sub / "paper.log")
        betas = [b for b in args.betas.split(",") if b]
        if betas:
            for name in SWEPT:
                logdir = sweep_logdir(name, sub, pretrained)
                if finished(logdir):
                    evaluate(logdir, sub / f"sweep_{name}.json", args.generated_num, betas=betas)
    report = collect(args, length, out)
    report["wall_seconds_this_invocation"] = {k: round(v) for k, v in timing.items()}
    return report


SWEPT = ("mle", "mle_continued", "code", "paper", "seqgan")


def tag(seed):
    return "" if seed == DEFAULT_SEED else f"_seed{seed}"


def sweep_logdir(name, sub, pretrained):
    return pathlib.Path(pretrained) if name == "mle" else sub / name


def read_json(path):
    """The JSON object saved at path, or None when there is none."""
    return json.loads(pathlib.Path(path).read_text()) if pathlib.Path(path).exists() else None


def collect(args, length, out):
    """The report of one length from the run folders under out: every run found
    (finished or not), its trajectory, final scores, busy time and β sweep."""
    seeds = [int(s) for s in args.seeds.split(",")]
    main_sub = seed_dir(out, seeds[0])
    pretrained = getattr(args, f"pretrained_{length}") if seeds[0] == DEFAULT_SEED else ""
    pretrained = pretrained or str(main_sub / "pretrain_code")
    results = {}
    mle = read_json(main_sub / "mle_eval.json")
    if mle:
        results["mle"] = dict(logdir=pretrained, final=mle, pretraining=trajectory(pretrained, "pretrain"),
                              busy_seconds=busy_seconds(pretrained))
    cont = main_sub / "mle_continued"
    if (cont / run_dir.CONFIG).exists():
        epochs0 = config_of(cont)["pretrain_g_epochs"] * (config_of(cont)["pretrain_blocks"] - 1)
        results["mle_continued"] = dict(
            logdir=str(cont), init_from=pretrained,
            epochs=[dict(r, epochs_after_pretraining=r["step"] - epochs0 + 1) for r in trajectory(cont, "pretrain")],
            busy_seconds=busy_seconds(cont))
        final = read_json(main_sub / "mle_continued_eval.json")
        if final:
            results["mle_continued"]["final"] = final
    names = [("code", main_sub / "code", pretrained, args.adversarial_iterations)]
    names += [(f"code_seed{s}", seed_dir(out, s) / "code", str(seed_dir(out, s) / "pretrain_code"),
               args.other_iterations) for s in seeds[1:]]
    paper_init = pretrained if args.shared_pretraining else str(main_sub / "pretrain_paper")
    names.append(("paper", main_sub / "paper", paper_init, args.other_iterations))
    names.append(("seqgan", main_sub / "seqgan", str(main_sub / "seqgan"), args.seqgan_iterations))
    for name, logdir, init, target in names:
        if not (logdir / run_dir.CONFIG).exists():
            continue
        cfg = config_of(logdir)
        res = dict(logdir=str(logdir), init_from=init, seed=cfg["seed"], target_iterations=target,
                   adversarial=trajectory(logdir, "adversarial"), pretraining=trajectory(init, "pretrain"),
                   busy_seconds=busy_seconds(logdir), pretrain_busy_seconds=busy_seconds(init),
                   samples_per_score=num_samples(cfg["generated_num"], logdir))
        if name == "seqgan":  # one run: its busy seconds hold its pretraining
            res.update(pretrain_busy_seconds=0, eval_beta=cfg.get("eval_beta"))
        if res["adversarial"]:
            res["final"] = res["adversarial"][-1]
        results[name] = res
    for name in SWEPT:
        sweep = read_json(main_sub / f"sweep_{name}.json")
        if sweep and name in results and "sweep" in sweep:
            results[name]["sweep"] = sweep["sweep"]
            results[name]["sweep_protocol"] = sweep["sweep_protocol"]
    blocks = mle["blocks_done"] if mle else 0
    samples = {k: v.get("samples_per_score", (v.get("final") or {}).get("num_samples")) for k, v in results.items()}
    return dict(length=length, protocol=dict(protocol(args, pretrained, blocks, results),
                                             samples_per_score={k: v for k, v in samples.items() if v}),
                results=results, reference=REFERENCE[length])


def busy_seconds(logdir):
    """Seconds the run spent in its units (D rounds, MLE epochs, G steps,
    evaluations), summed from its events: the run's time without the pauses
    between sessions (a unit that was redone after a kill counts once)."""
    if not pathlib.Path(logdir).exists():
        return None
    events = run_dir.scalars(logdir, keep=lambda tag: tag.endswith("seconds"))
    return round(sum(v for steps in events.values() for v, _ in steps.values()))


def protocol(args, pretrained, blocks, results):
    cfg = config_of(pretrained) or {}
    done = lambda name: len(results.get(name, {}).get("adversarial", [])) and (  # noqa: E731
        results[name]["adversarial"][-1]["step"] + 1)
    full_flags = (cfg.get("pretrain_blocks", 0) >= 10 and cfg.get("generated_num", 0) >= 10000
                  and args.generated_num >= 10000 and args.adversarial_iterations >= 100
                  and args.other_iterations >= 50 and not args.extra_flags.split() and not args.shared_pretraining)
    return dict(pretrain_blocks=blocks, pretrain_blocks_configured=cfg.get("pretrain_blocks"),
                pretrain_epochs_per_block=cfg.get("pretrain_g_epochs"),
                pretrain_d_rounds=cfg.get("pretrain_d_rounds"), adversarial_iterations=args.adversarial_iterations,
                other_iterations=args.other_iterations, mle_epochs=args.mle_epochs, seeds=args.seeds,
                eval_every=args.eval_every, eval_beta=cfg.get("eval_beta"),
                shared_pretraining=bool(args.shared_pretraining),
                full_flags=full_flags, full_protocol=full_flags and (done("code") or 0) >= args.adversarial_iterations
                and all((done(n) or 0) >= args.other_iterations for n in results if n == "paper" or "seed" in n),
                oracle=(cfg.get("oracle_params") or f"seed {cfg.get('oracle_seed')}") if cfg else "?")


def plot(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (pip install -e .[experiments]); no plot", flush=True)
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric, title in ((axes[0], "nll_oracle", "NLL-oracle (β_eval)"), (axes[1], "nll_test", "NLL-test")):
        for name in adversarial_runs(report["results"]):
            rows = [r for r in report["results"][name]["adversarial"] if metric in r]
            if rows:
                ax.plot([r["step"] for r in rows], [r[metric] for r in rows], marker="o", markersize=3,
                        label=label_of(name, report["results"][name]))
        for name, style in (("mle", "--"), ("mle_continued", "-.")):
            final = report["results"].get(name, {}).get("final", {})
            if metric in final:
                ax.axhline(final[metric], color="gray", linestyle=style, label=label_of(name, {}))
        if metric == "nll_oracle":
            for name, steps, values, style in reference_lines(report["reference"]):
                ax.plot(steps, values, color="black", alpha=0.5, linestyle=style, label=name)
        ax.set_title(f"length {report['length']}: {title}")
        ax.set_xlabel("adversarial iteration")
        ax.legend()
    from leakgan_tf.sweep import save_png
    return save_png(fig, path)


def reference_lines(reference):
    """[(label, iterations, NLL-oracle values, line style)]: every repository log of a
    length, each in its own style, as the trajectory plot draws them."""
    styles = ("-", ":", "-.", "--")
    return [(name, list(log), list(log.values()), styles[i % len(styles)])
            for i, (name, log) in enumerate(repo_logs(reference))]


def repo_logs(reference):
    """[(label, {iteration: NLL-oracle})] of the repository's adversarial logs."""
    logs = [("repo log", reference["repo_log"]["adversarial"])]
    logs += [(reference[key]["label"], reference[key]["adversarial"]) for key in ("repo_log_2", "repo_log_3")
             if key in reference]
    return [(name, {int(k): v for k, v in log.items()}) for name, log in logs]


def fmt(value, digits=3):
    return "–" if value is None else f"{value:.{digits}f}"


def adversarial_runs(results, leakgan_only=False):
    """Names of the adversarial runs in a report, in table order (SeqGAN last, unless leakgan_only)."""
    names = ["code"] + sorted(k for k in results if k.startswith("code_seed")) + ["paper"]
    return [n for n in names + ([] if leakgan_only else ["seqgan"]) if n in results]


def label_of(name, res):
    if name == "mle":
        return "MLE (end of pretraining)"
    if name == "mle_continued":
        return "MLE + continued MLE epochs"
    if name == "seqgan":
        return "SeqGAN (its official settings)" + (f", seed {res['seed']}" if "seed" in res else "")
    seed = f", seed {res['seed']}" if "seed" in res else ""
    return f"LeakGAN, {'paper' if name == 'paper' else 'code'} variant{seed}"


def hours(seconds):
    return "–" if not seconds else f"{seconds / 3600:.1f} h"


def plot_sweep(report, path):
    """The β sweeps of a report in one PNG (leakgan_tf.sweep.plot_sweeps)."""
    from leakgan_tf import sweep
    curves = {label_of(name, res): res["sweep"] for name, res in report["results"].items() if res.get("sweep")}
    if not curves:
        return None
    return sweep.plot_sweeps(curves, path, title=f"length {report['length']}: quality–diversity over β")


def markdown(reports):
    lines = [MARK_BEGIN, "", "Written by `experiments/oracle_benchmark.py` from the runs' event files.", ""]
    for rep in reports:
        lines += length_section(rep)
    lines.append(MARK_END)
    return "\n".join(lines)


def length_section(rep):
    p, res = rep["protocol"], rep["results"]
    short = "" if p["full_protocol"] else " — full protocol, **runs not finished**" if p.get("full_flags") \
        else " — **SHORTENED PROTOCOL**"
    samples = ", ".join(f"{k} {v:,}" for k, v in p["samples_per_score"].items())
    lines = [f"#### Length {rep['length']}{short}", "",
             f"Oracle {p['oracle']}; pretraining {p['pretrain_blocks']} blocks × ({p['pretrain_d_rounds']} D "
             f"rounds + {p['pretrain_epochs_per_block']} MLE epochs); adversarial iterations: "
             f"{p['adversarial_iterations']} for the first seed's code variant, {p.get('other_iterations', '–')} "
             f"for the other runs; scored every {p['eval_every']}; samples per score: {samples}; "
             f"shared pretraining: {p['shared_pretraining']}. Busy time: the seconds of a run's units (D rounds, "
             f"MLE epochs, G steps, evaluations) from its events, on this 2-core CPU, shared with other jobs.", "",
             "| method | iterations | NLL-oracle β=1.5 | NLL-oracle β=1.0 | NLL-test | distinct-4 β=1.5 | "
             "distinct-4 β=1.0 | paper Table 1 (MLE, SeqGAN at β=1.0, LeakGAN at β=1.5) | busy time |",
             "|---|---|---|---|---|---|---|---|---|"]
    paper = rep["reference"]["paper"]
    for name in ["mle", "mle_continued"] + adversarial_runs(res):
        final = res.get(name, {}).get("final")
        if not final:
            continue
        if name.startswith("mle"):
            epochs = res[name].get("epochs") or [{"epochs_after_pretraining": "?"}]
            its = "0" if name == "mle" else f"0, +{epochs[-1]['epochs_after_pretraining']} MLE epochs"
            busy = res[name].get("busy_seconds")
        else:
            # reports written before target_iterations was recorded say "?"
            its = f"{final.get('step', 0) + 1} of {res[name].get('target_iterations', '?')}"
            busy = (res[name].get("busy_seconds") or 0) + (res[name].get("pretrain_busy_seconds") or 0)
        label = label_of(name, res[name]) + (" (code's goal normalisation, shared pretraining)"
                                             if name == "paper" and p["shared_pretraining"] else "")
        ref = paper["mle"] if name.startswith("mle") else paper.get("seqgan", "–") if name == "seqgan" \
            else paper["leakgan"]
        if name == "seqgan":  # scored at its β_eval = 1 (temperature 1); β = 1.5 from its sweep, if swept
            hot = next((r for r in res[name].get("sweep") or [] if r["beta"] == 1.5), {})
            final = dict(final, nll_oracle=hot.get("nll_oracle"), distinct4=hot.get("distinct4"))
        lines.append(f"| {label} | {its} | {fmt(final.get('nll_oracle'))} | {fmt(final.get('nll_oracle_beta1'))}"
                     f" | {fmt(final.get('nll_test'))} | {fmt(final.get('distinct4'))} | "
                     f"{fmt(final.get('distinct4_beta1'))} | {ref} | {hours(busy)} |")
    lines += divergence_lines(rep)
    logs = repo_logs(rep["reference"])
    for name in adversarial_runs(res, leakgan_only=True):
        rows = res[name]["adversarial"]
        if not rows:
            continue
        lines += ["", f"{label_of(name, res[name])}, by adversarial iteration (NLL-oracle, per token, nats; the "
                      f"repository's logs at β = 1.5):", "",
                  "| iteration | NLL-oracle β=1.5 | NLL-oracle β=1.0 | NLL-test | distinct-4 β=1.5 | "
                  + " | ".join(n for n, _ in logs) + " | logs' band | inside |",
                  "|---|---|---|---|---|" + "---|" * (len(logs) + 2)]
        for r in rows:
            band = [log[r["step"]] for _, log in logs if r["step"] in log]
            ours = r.get("nll_oracle")
            inside = "–" if len(band) < 2 or ours is None else "yes" if min(band) <= ours <= max(band) else "no"
            lines.append(f"| {r['step']} | {fmt(ours)} | {fmt(r.get('nll_oracle_beta1'))} | "
                         f"{fmt(r.get('nll_test'))} | {fmt(r.get('distinct4'))} | "
                         + " | ".join(fmt(log.get(r["step"])) for _, log in logs)
                         + (f" | {fmt(min(band))}–{fmt(max(band))}" if len(band) > 1 else " | –") + f" | {inside} |")
    seqgan = res.get("seqgan", {})
    if seqgan.get("pretraining") or seqgan.get("adversarial"):
        lines += ["", f"{label_of('seqgan', seqgan)} (β_eval = {seqgan.get('eval_beta', 1.0):g}: its samples are "
                      f"drawn at temperature 1), by MLE epoch and adversarial batch:", "",
                  "| phase | step | NLL-oracle | NLL-test | distinct-4 |", "|---|---|---|---|---|"]
        for phase in ("pretraining", "adversarial"):
            for r in seqgan.get(phase) or []:
                lines.append(f"| {phase} | {r['step']} | {fmt(r.get('nll_oracle'))} | {fmt(r.get('nll_test'))} | "
                             f"{fmt(r.get('distinct4'))} |")
    lines += spread_lines(res, logs)
    cont = res.get("mle_continued", {}).get("epochs")
    if cont:
        lines += ["", "The pretrained generator trained on with MLE only (no D rounds, no reward), by MLE epochs "
                      "after the end of pretraining:", "",
                  "| MLE epochs after pretraining | NLL-oracle β=1.5 | NLL-oracle β=1.0 | NLL-test |",
                  "|---|---|---|---|"]
        mle = res.get("mle", {}).get("final", {})
        if mle:
            lines.append(f"| 0 | {fmt(mle.get('nll_oracle'))} | {fmt(mle.get('nll_oracle_beta1'))} | "
                         f"{fmt(mle.get('nll_test'))} |")
        for r in cont:
            lines.append(f"| {r['epochs_after_pretraining']} | {fmt(r.get('nll_oracle'))} | "
                         f"{fmt(r.get('nll_oracle_beta1'))} | {fmt(r.get('nll_test'))} |")
    swept = [(name, r) for name, r in res.items() if r.get("sweep")]
    if swept:
        lines += ["", f"Quality–diversity over the inverse temperature β ({swept[0][1]['sweep_protocol']}); "
                      f"plot `experiments/results/oracle_{rep['length']}_sweep.png`:", "",
                  "| run | β | NLL-oracle | NLL-test at β | distinct-4 | Jeffreys | Bhattacharyya | balanced NLL |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, r in swept:
            for row in r["sweep"]:
                lines.append(f"| {label_of(name, r)} | {row['beta']:g} | {fmt(row.get('nll_oracle'))} | "
                             f"{fmt(row['nll_test'])} | {fmt(row['distinct4'])} | {fmt(row.get('jeffreys'))} | "
                             f"{fmt(row.get('bhattacharyya'))} | {fmt(row.get('nll_balanced'))} |")
    lines.append("")
    return lines


def divergence_lines(rep):
    """The oracle divergences of every run's final scores at β_eval and β = 1 (reports
    written before they existed: none)."""
    res, beta = rep["results"], rep["protocol"].get("eval_beta") or 1.5
    names = [n for n in ["mle", "mle_continued"] + adversarial_runs(res)
             if any(k in (res.get(n, {}).get("final") or {}) for k in DIVERGENCES)]
    if not names:
        return []
    lines = ["", f"Oracle divergences of the same scores (Montahaei et al. 2019, leakgan_tf.divergences): Jeffreys "
                 f"KL(P‖Q) + KL(Q‖P) and Bhattacharyya −log Σ√(PQ) between the oracle P and the model Q at β, nats "
                 f"per sequence of {rep['length']} tokens; balanced NLL = NLL-oracle + NLL-test of Q at β, per token "
                 f"(lower is better for all three):", "",
             f"| method | Jeffreys β={beta:g} | Bhattacharyya β={beta:g} | balanced NLL β={beta:g} | Jeffreys β=1.0 | "
             f"Bhattacharyya β=1.0 | balanced NLL β=1.0 |", "|---|---|---|---|---|---|---|"]
    for name in names:
        final = res[name]["final"]
        # a run scored at another β_eval (SeqGAN: 1) has only its β = 1 columns here
        at_eval = res[name].get("eval_beta", beta) in (None, beta)
        lines.append(f"| {label_of(name, res[name])} | "
                     + " | ".join(fmt(final.get(k + suffix) if at_eval or suffix else None)
                                  for suffix in ("", "_beta1") for k in DIVERGENCES) + " |")
    return lines


def spread_lines(res, logs):
    """The seed spread of the code variant beside the spread of the repository's two logs."""
    code = {r["step"]: r.get("nll_oracle") for r in res.get("code", {}).get("adversarial", [])}
    others = [n for n in adversarial_runs(res) if n.startswith("code_seed")]
    if not code or not others:
        return []
    other = {r["step"]: r.get("nll_oracle") for r in res[others[0]]["adversarial"]}
    shared = [s for s in sorted(code) if s in other and code[s] is not None and other[s] is not None]
    if not shared:
        return []
    ours = [abs(code[s] - other[s]) for s in shared]
    repo = [abs(logs[0][1][s] - logs[1][1][s]) for s in shared if len(logs) > 1 and s in logs[0][1] and s in logs[1][1]]
    line = (f"Seed spread (NLL-oracle β=1.5, seeds {res['code'].get('seed')} and {res[others[0]].get('seed')}, "
            f"iterations {shared[0]}–{shared[-1]}): mean |difference| {sum(ours) / len(ours):.3f}, largest "
            f"{max(ours):.3f}")
    if repo:
        line += f"; between the repository's two logs at the same iterations: mean {sum(repo) / len(repo):.3f}, " \
                f"largest {max(repo):.3f}"
    return ["", line + "."]


def write_docs(path, section, begin=MARK_BEGIN, end=MARK_END, heading="## Oracle benchmark"):
    """Replaces the section between the markers begin and end in path (its first and last
    lines), or appends it under heading when path has none."""
    path = pathlib.Path(path)
    text = path.read_text() if path.exists() else "# Results\n"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + (heading + "\n\n" if heading else "") + section + "\n"
    from leakgan_tf import data
    with data.atomic_write(path) as f:
        f.write(text)


def main(argv=None):
    args = parse_args(argv)
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    # SIGTERM (resume_len20.sh stop while it scores in-process) ends it through its `finally`
    # blocks, which remove the evaluations' temporary folders, not at once
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    os.environ.setdefault("LEAKGAN_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    from leakgan_tf import startup
    startup.before_tensorflow()  # the in-process evaluations: none of TensorFlow's start-up lines, oneDNN as the CLIs
    if 20 in map(int, args.lengths.split(",")) and not os.path.isfile(
            os.path.join(os.environ["LEAKGAN_SHARED_DATA"], "oracle_target_params.npz")):
        sys.exit(f"error: the length-20 benchmark needs the paper's oracle at $LEAKGAN_SHARED_DATA/"
                 f"oracle_target_params.npz ({os.environ['LEAKGAN_SHARED_DATA']}); set LEAKGAN_SHARED_DATA "
                 f"or run --lengths=40")
    from leakgan_tf import data
    pathlib.Path(args.results_dir).mkdir(parents=True, exist_ok=True)
    reports = []
    for length in map(int, args.lengths.split(",")):
        if length not in FLAGFILES:
            sys.exit(f"error: --lengths must be 20 and/or 40, got {length}")
        rep = run_length(args, length, pathlib.Path(args.out) / f"len{length}")
        results_dir = pathlib.Path(args.results_dir)
        for key, png in (("plot", plot(rep, results_dir / f"oracle_{length}.png")),
                         ("sweep_plot", plot_sweep(rep, results_dir / f"oracle_{length}_sweep.png"))):
            png = pathlib.Path(png) if png else None
            rep[key] = str(png.relative_to(REPO)) if png and REPO in png.parents else (str(png) if png else None)
        with data.atomic_write(pathlib.Path(args.results_dir) / f"oracle_{length}.json") as f:
            json.dump(rep, f, indent=1)
        reports.append(rep)
    print(markdown(reports))
    write_docs(args.docs, markdown(with_other_lengths(reports, pathlib.Path(args.results_dir))))


def with_other_lengths(reports, results_dir):
    """reports plus the saved oracle_<L>.json of lengths this invocation did not
    run, by length, so the docs section keeps every length's latest results."""
    done = {rep["length"] for rep in reports}
    saved = [json.loads(path.read_text()) for length in FLAGFILES if length not in done
             for path in [results_dir / f"oracle_{length}.json"] if path.exists()]
    return sorted(reports + saved, key=lambda rep: rep["length"])


if __name__ == "__main__":
    main()
