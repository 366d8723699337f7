"""The oracle benchmark: MLE, LeakGAN (code variant) and LeakGAN (paper variant)
on the length-20 oracle of the paper and the fixed length-40 oracle, under one
protocol, beside the paper's Table 1 and the repository's logs.

  python experiments/oracle_benchmark.py --out=/path/to/bench            # full protocol (GPU-sized)
  python experiments/oracle_benchmark.py --out=DIR --lengths=20 \\
      --pretrain_blocks=2 --adversarial_iterations=10 --eval_every=5        # a shortened protocol

Per length L it runs (each a `leakgan_tf.main` subprocess with its own logdir
under --out, so rerunning the command resumes whatever was interrupted):

  pretrain_code   pretraining only, --variant=code (or --pretrained_L=DIR: an
                  existing run's logdir is used instead)
  pretrain_paper  pretraining only, --variant=paper (skipped with
                  --shared_pretraining: the paper branch then starts from
                  pretrain_code and keeps its model shapes and its goal
                  normalisation, so it measures the paper's training
                  procedure on the code's model)
  mle             the MLE baseline: pretrain_code's final generator, scored
                  with leakgan_tf.evaluate (it never sees a reward)
  code, paper     --init_from the pretraining, then adversarial_iterations
                  iterations of that variant, scored every eval_every

Every score uses the same protocol (--extended_eval): NLL-oracle at the run's
β_eval = 1.5 (the paper's) and at β = 1.0, NLL-test on held-out oracle samples,
distinct-4 at both β, each over --generated_num samples rounded down to a multiple
of the batch (9,984 in the full protocol, as the original's 10,000). A branch keeps
its pretraining run's MLE set and test set (their first --generated_num rows), and
the MLE row is scored with the same sample count as the branches.

The full protocol is the defaults: 10 pretraining blocks and 100 adversarial
iterations (the original's TOTAL_BATCH is 800, but the README's logs stop at 85 and 91
iterations, experiment-log40.txt at 120, and their best points lie at 45-90), 9,984
samples everywhere, without --extra_flags. A report is marked full only then
(--shared_pretraining and --methods subsets are stated in the report beside it).

Writes experiments/results/oracle_<L>.json, PNG plots when matplotlib is installed (pip install -e .[experiments]) and the
oracle section of docs/results.md.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FLAGFILES = {20: "experiments/synthetic_len20.cfg", 40: "experiments/synthetic_len40.cfg"}
# Paper Table 1 (NLL-oracle; LeakGAN at β = 1.5, baselines at β = 1.0) and the
# repository's logs (spec §9.3, §10).
REFERENCE = {
    20: dict(paper=dict(mle=9.038, leakgan=7.038),
             repo_log=dict(pretrain_end=8.347, adversarial={0: 8.242, 5: 7.884, 10: 7.578, 15: 7.429, 20: 7.162,
                                                             25: 6.931, 30: 6.879, 35: 6.758, 40: 6.895, 45: 6.711,
                                                             50: 6.842, 55: 6.899, 60: 6.940, 65: 7.041, 70: 7.020,
                                                             75: 7.010, 80: 7.075, 85: 7.014, 90: 7.011}),
             # Synthetic Data/save/log.txt: a second length-20 run of the same code.
             repo_log_2=dict(label="repo log.txt", pretrain_end=8.340,
                             adversarial={0: 8.217, 5: 7.649, 10: 7.290, 15: 7.124, 20: 6.925, 25: 6.810, 30: 6.688,
                                          35: 6.526, 40: 6.453, 45: 6.448, 50: 6.536}),
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
METRICS = ("nll_oracle", "nll_oracle_beta1", "nll_test", "distinct4", "distinct4_beta1", "ground_truth_nll")
MARK_BEGIN, MARK_END = "<!-- oracle-benchmark:begin -->", "<!-- oracle-benchmark:end -->"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder for the runs (outside the repo; reruns resume)")
    p.add_argument("--lengths", default="20,40")
    p.add_argument("--methods", default="mle,code,paper")
    p.add_argument("--pretrain_blocks", type=int, default=10)
    p.add_argument("--adversarial_iterations", type=int, default=100)
    p.add_argument("--eval_every", type=int, default=5)
    p.add_argument("--generated_num", type=int, default=10000, help="samples per evaluation and D round")
    p.add_argument("--shared_pretraining", action="store_true",
                   help="the paper variant starts from the code variant's pretraining")
    p.add_argument("--pretrained_20", default="", help="use this finished code-variant pretraining run (logdir)")
    p.add_argument("--pretrained_40", default="")
    p.add_argument("--extra_flags", default="", help="more leakgan_tf.main flags for every run, space-separated")
    p.add_argument("--report_only", action="store_true", help="only collect results from finished runs")
    p.add_argument("--results_dir", default=str(REPO / "experiments" / "results"))
    p.add_argument("--docs", default=str(REPO / "docs" / "results.md"))
    return p.parse_args(argv)


def run_main(logdir, length, flags, log):
    """Runs (or resumes) one leakgan_tf.main job; returns its wall seconds."""
    cmd = [sys.executable, "-m", "leakgan_tf.main", f"--flagfile={FLAGFILES[length]}", f"--logdir={logdir}",
           "--extended_eval", *flags]
    print("$", " ".join(cmd), flush=True)
    t0 = time.time()
    with open(log, "a") as f:
        code = subprocess.call(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT)
    if code:
        sys.exit(f"error: {' '.join(cmd)} exited with {code}; see {log} (rerun this command to resume)")
    return time.time() - t0


def evaluate(logdir, out, generated_num, report_only=False):
    """leakgan_tf.evaluate on the run's latest checkpoint with generated_num samples,
    cached in out (kept while it names that checkpoint and that sample count)."""
    import tensorflow as tf
    logdir = pathlib.Path(logdir)
    latest = tf.train.latest_checkpoint(str(logdir / "checkpoints"))
    if not latest or not (logdir / "config.json").exists():
        sys.exit(f"error: {logdir} holds no finished run (no checkpoint or config.json); pass the logdir of a "
                 f"pretraining run, or rerun this command without --pretrained_L to pretrain")
    cached = json.loads(out.read_text()) if out.exists() else {}
    if cached.get("checkpoint") == latest and cached.get("num_samples") == num_samples(generated_num, logdir):
        return cached
    cmd = [sys.executable, "-m", "leakgan_tf.evaluate", f"--logdir={logdir}", f"--out={out}",
           f"--generated_num={generated_num}"]
    if report_only:
        sys.exit(f"error: {out} does not hold the MLE row for {latest} at --generated_num={generated_num} "
                 f"(it has {cached.get('num_samples')} samples of {cached.get('checkpoint')}); pass the "
                 f"--generated_num the runs used, or run without --report_only to score it")
    print("$", " ".join(cmd), flush=True)
    if subprocess.call(cmd, cwd=REPO, stdout=subprocess.DEVNULL):
        sys.exit(f"error: {' '.join(cmd)} failed")
    return json.loads(out.read_text())


def scalars(logdir, prefix):
    """{metric: [(step, value, wall_time)]} of the evaluations in a run's events."""
    from tensorboard.backend.event_processing import event_accumulator
    import tensorflow as tf
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    acc.Reload()
    out = {}
    for metric in METRICS + ("eval_seconds",):
        tag = f"{prefix}/{metric}"
        if tag in acc.Tags()["tensors"]:
            events = {e.step: (float(tf.make_ndarray(e.tensor_proto)), e.wall_time) for e in acc.Tensors(tag)}
            out[metric] = [(step, round(v, 4), t) for step, (v, t) in sorted(events.items())]
    return out


def trajectory(logdir, prefix):
    """[{step, metric: value, …}] ordered by step."""
    rows = {}
    for metric, points in scalars(logdir, prefix).items():
        for step, value, _ in points:
            rows.setdefault(step, {"step": step})[metric] = value
    return [rows[s] for s in sorted(rows)]


def config_of(logdir):
    return json.loads((pathlib.Path(logdir) / "config.json").read_text())


def num_samples(generated_num, logdir):
    """Samples a run scores for generated_num: whole batches, as Config.num_samples."""
    batch = config_of(logdir)["batch_size"]
    return generated_num // batch * batch


def run_length(args, length, out):
    out.mkdir(parents=True, exist_ok=True)
    methods = args.methods.split(",")
    common = [f"--generated_num={args.generated_num}", f"--eval_every={args.eval_every}",
              *args.extra_flags.split()]
    pretrained = getattr(args, f"pretrained_{length}") or str(out / "pretrain_code")
    timing = {}
    if not args.report_only and not getattr(args, f"pretrained_{length}"):
        timing["pretrain_code"] = run_main(pretrained, length, ["--variant=code", f"--pretrain_blocks="
                                                                f"{args.pretrain_blocks}", "--adversarial_iterations=0",
                                                                *common], out / "pretrain_code.log")
    paper_init, paper_shapes = str(out / "pretrain_paper"), []
    if args.shared_pretraining:
        base = config_of(pretrained)
        paper_init = pretrained
        # The paper variant's training on the pretrained model: its shapes and its goal
        # normalisation (the same weights without l2n sample far sharper and collapse).
        paper_shapes = [f"--dis_filter_sizes={','.join(map(str, base['dis_filter_sizes']))}",
                        f"--dis_num_filters={','.join(map(str, base['dis_num_filters']))}",
                        "--goal_normalize" if base["goal_normalize"] else "--nogoal_normalize"]
    elif "paper" in methods and not args.report_only:
        timing["pretrain_paper"] = run_main(paper_init, length, ["--variant=paper", f"--pretrain_blocks="
                                                                 f"{args.pretrain_blocks}",
                                                                 "--adversarial_iterations=0", *common],
                                            out / "pretrain_paper.log")
    # The pretrained generator, scored: the MLE baseline, and the position branches start from
    # (a --pretrained_L run may have been stopped after fewer blocks than its config names).
    scores = evaluate(pretrained, out / "mle_eval.json", args.generated_num, args.report_only)
    if scores["iterations_done"]:
        sys.exit(f"error: {pretrained} has {scores['iterations_done']} adversarial iterations; pass a run that "
                 f"only pretrained (its checkpoint after the last pretraining block)")
    blocks = scores["blocks_done"]
    results = {}
    if "mle" in methods:
        results["mle"] = dict(logdir=pretrained, final=scores, pretraining=trajectory(pretrained, "pretrain"))
    for variant in ("code", "paper"):
        if variant not in methods:
            continue
        logdir = out / variant
        init = pretrained if variant == "code" else paper_init
        if not args.report_only:
            flags = [f"--variant={variant}", f"--init_from={init}", f"--pretrain_blocks={blocks}",
                     f"--adversarial_iterations={args.adversarial_iterations}", *common]
            timing[variant] = run_main(logdir, length, flags + (paper_shapes if variant == "paper" else []),
                                       out / f"{variant}.log")
        results[variant] = dict(logdir=str(logdir), init_from=init, adversarial=trajectory(logdir, "adversarial"),
                                pretraining=trajectory(init, "pretrain"))
        if results[variant]["adversarial"]:
            results[variant]["final"] = results[variant]["adversarial"][-1]
    # Samples per score: the MLE row is scored by leakgan_tf.evaluate, the branches in
    # training, both with --generated_num (read back from each run, not assumed).
    samples = {"mle": scores["num_samples"]}
    for variant in ("code", "paper"):
        if variant in results and (out / variant / "config.json").exists():
            samples[variant] = num_samples(config_of(out / variant)["generated_num"], out / variant)
    return dict(length=length, protocol=dict(protocol(args, pretrained, blocks), samples_per_score=samples),
                results=results,
                wall_seconds_this_invocation={k: round(v) for k, v in timing.items()},
                reference=REFERENCE[length])


def protocol(args, pretrained, blocks):
    cfg = config_of(pretrained)
    return dict(pretrain_blocks=blocks, pretrain_blocks_configured=cfg["pretrain_blocks"],
                pretrain_epochs_per_block=cfg["pretrain_g_epochs"],
                pretrain_d_rounds=cfg["pretrain_d_rounds"], adversarial_iterations=args.adversarial_iterations,
                eval_every=args.eval_every, eval_beta=cfg["eval_beta"], shared_pretraining=bool(args.shared_pretraining),
                full_protocol=blocks >= 10 and cfg["generated_num"] >= 10000 and args.adversarial_iterations >= 90
                and args.generated_num >= 10000 and not args.extra_flags.split(),
                oracle=cfg["oracle_params"] or f"seed {cfg['oracle_seed']}")


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
        for name in ("code", "paper"):
            rows = [r for r in report["results"].get(name, {}).get("adversarial", []) if metric in r]
            if rows:
                ax.plot([r["step"] for r in rows], [r[metric] for r in rows], marker="o", label=f"LeakGAN {name}")
        mle = report["results"].get("mle", {}).get("final", {})
        if metric in mle:
            ax.axhline(mle[metric], color="gray", linestyle="--", label="MLE (end of pretraining)")
        if metric == "nll_oracle":
            for (name, log), style in zip(repo_logs(report["reference"]), ("-", ":")):
                ax.plot(list(log), list(log.values()), color="black", alpha=0.5, linestyle=style, label=name)
        ax.set_title(f"length {report['length']}: {title}")
        ax.set_xlabel("adversarial iteration")
        ax.legend()
    fig.tight_layout()
    from leakgan_tf import data
    with data.atomic_write(path, "wb") as f:
        fig.savefig(f, dpi=90, format="png")
    plt.close(fig)
    return path


def repo_logs(reference):
    """[(label, {iteration: NLL-oracle})] of the repository's adversarial logs."""
    logs = [("repo log", reference["repo_log"]["adversarial"])]
    if "repo_log_2" in reference:
        logs.append((reference["repo_log_2"]["label"], reference["repo_log_2"]["adversarial"]))
    return [(name, {int(k): v for k, v in log.items()}) for name, log in logs]


def fmt(value, digits=3):
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(reports):
    lines = [MARK_BEGIN, "", "Written by `experiments/oracle_benchmark.py` from the runs' event files.", ""]
    for rep in reports:
        p, res = rep["protocol"], rep["results"]
        short = "" if p["full_protocol"] else " — **SHORTENED PROTOCOL**"
        lines += [f"#### Length {rep['length']}{short}", "",
                  f"Oracle {p['oracle']}; pretraining {p['pretrain_blocks']} blocks × ({p['pretrain_d_rounds']} D "
                  f"rounds + {p['pretrain_epochs_per_block']} MLE epochs); {p['adversarial_iterations']} adversarial "
                  f"iterations, scored every {p['eval_every']}; samples per score: "
                  + ", ".join(f"{k} {v:,}" for k, v in p["samples_per_score"].items()) + "; "
                  f"shared pretraining: {p['shared_pretraining']}.", "",
                  "| method | iterations | NLL-oracle β=1.5 | NLL-oracle β=1.0 | NLL-test | distinct-4 β=1.5 | "
                  "distinct-4 β=1.0 | paper Table 1 (MLE at β=1.0, LeakGAN at β=1.5) |",
                  "|---|---|---|---|---|---|---|---|"]
        paper = rep["reference"]["paper"]
        for name, label, ref in (("mle", "MLE (pretrained generator)", paper["mle"]),
                                 ("code", "LeakGAN, code variant", paper["leakgan"]),
                                 ("paper", "LeakGAN, paper variant" + (" (code's goal normalisation, shared "
                                           "pretraining)" if p["shared_pretraining"] else ""), paper["leakgan"])):
            final = res.get(name, {}).get("final")
            if not final:
                continue
            its = "0" if name == "mle" else str(final.get("step", 0) + 1)
            lines.append(f"| {label} | {its} | {fmt(final.get('nll_oracle'))} | {fmt(final.get('nll_oracle_beta1'))}"
                         f" | {fmt(final.get('nll_test'))} | {fmt(final.get('distinct4'))} | "
                         f"{fmt(final.get('distinct4_beta1'))} | {ref} |")
        logs = repo_logs(rep["reference"])
        code = {r["step"]: r.get("nll_oracle") for r in res.get("code", {}).get("adversarial", [])}
        shared = [s for s in sorted(code) if s in logs[0][1]]
        if shared:
            refs = lambda s: " / ".join(fmt(log[s]) for _, log in logs if s in log)  # noqa: E731
            lines += ["", "Code variant against the repository's logs at the same iterations (NLL-oracle β=1.5; "
                      + " / ".join(name for name, _ in logs) + "): "
                      + ", ".join(f"{s}: {fmt(code[s])} (repo {refs(s)})" for s in shared) + "."]
        lines.append("")
    lines.append(MARK_END)
    return "\n".join(lines)


def write_docs(path, section):
    path = pathlib.Path(path)
    text = path.read_text() if path.exists() else "# Results\n"
    if MARK_BEGIN in text:
        head, rest = text.split(MARK_BEGIN, 1)
        text = head + section + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Oracle benchmark\n\n" + section + "\n"
    from leakgan_tf import data
    with data.atomic_write(path) as f:
        f.write(text)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("LEAKGAN_SHARED_DATA", str(REPO.parent / "shared" / "data"))
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
        png = plot(rep, pathlib.Path(args.results_dir) / f"oracle_{length}.png")
        rep["plot"] = str(png.relative_to(REPO)) if png and REPO in png.parents else (str(png) if png else None)
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
