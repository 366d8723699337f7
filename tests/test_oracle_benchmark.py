"""experiments/oracle_benchmark.py end to end on tiny models (length-40 flagfile,
seeded oracle, shrunk by --extra_flags): runs, resumes, JSON and docs section."""
import json
import pathlib
import subprocess
import sys

import pytest

from tests.helpers import TINY_CLI, TINY_MODEL, TINY_SCHEDULE, flag_lines, load_experiment

pytestmark = pytest.mark.heavy(seconds=240)  # measured on 2 cores; orders the modules (conftest)

REPO = pathlib.Path(__file__).resolve().parent.parent
# The suite's tiny model sizes and short phases (not its seeds: the benchmark sets --seed per run).
PHASES = ("pretrain_d_rounds", "d_epochs", "pretrain_g_epochs", "adv_d_rounds")
TINY = flag_lines({**TINY_MODEL, **TINY_CLI, **{k: TINY_SCHEDULE[k] for k in PHASES}, "pretrain_eval_epochs": (0,),
                   "xla_phases": ()})
TINY = " ".join(TINY.split())


def bench(tmp_path, *extra):
    cmd = [sys.executable, "experiments/oracle_benchmark.py", f"--out={tmp_path / 'runs'}", "--lengths=40",
           "--pretrain_blocks=1", "--adversarial_iterations=2", "--eval_every=1", "--generated_num=32",
           "--seeds=88,5", "--other_iterations=2", "--mle_epochs=2", "--betas=1.0,2",
           f"--extra_flags={TINY}", f"--results_dir={tmp_path / 'results'}", f"--docs={tmp_path / 'results.md'}",
           *extra]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1500)


def test_benchmark_runs_all_methods_and_reports(tmp_path):
    (tmp_path / "results.md").write_text("# Results\n\nkept text\n")
    done = bench(tmp_path, "--shared_pretraining")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "results" / "oracle_40.json").read_text())  # the folder is made
    res = report["results"]
    assert set(res) == {"mle", "mle_continued", "code", "code_seed5", "paper"}
    for key in ("nll_oracle", "nll_oracle_beta1", "nll_test", "distinct4"):
        assert res["mle"]["final"][key] > 0, key
    # the oracle divergences: in evaluate's scores, in the training runs' events, in every sweep row
    divergences = [key + suffix for suffix in ("", "_beta1") for key in ("jeffreys", "bhattacharyya", "nll_balanced")]
    for key in divergences:
        assert res["mle"]["final"][key] > 0 and res["code"]["adversarial"][-1][key] > 0, key
    assert all(row["jeffreys"] > 0 and row["nll_balanced"] > 0 for name in ("mle", "code")
               for row in res[name]["sweep"])
    for name in ("code", "paper"):
        assert [r["step"] for r in res[name]["adversarial"]] == [0, 1]
        assert res[name]["final"]["nll_test"] > 0
    assert res["paper"]["init_from"] == res["mle"]["logdir"]
    assert res["code_seed5"]["seed"] == 5 and res["code"]["seed"] == 88
    assert res["code_seed5"]["init_from"].endswith("len40/seed5/pretrain_code")
    # The continued MLE row: 2 more MLE epochs without D rounds, scored after each.
    assert [r["epochs_after_pretraining"] for r in res["mle_continued"]["epochs"]] == [1, 2]
    cont_cfg = json.loads((tmp_path / "runs" / "len40" / "mle_continued" / "config.json").read_text())
    assert cont_cfg["pretrain_d_rounds"] == 0 and cont_cfg["adversarial_iterations"] == 0
    assert res["mle_continued"]["final"]["nll_oracle"] > 0
    assert res["mle_continued"]["final"]["checkpoint"] != res["mle"]["final"]["checkpoint"]
    for name in ("mle", "mle_continued", "code", "paper"):
        assert [r["beta"] for r in res[name]["sweep"]] == [1.0, 2.0], name
    assert all(res[name]["busy_seconds"] > 0 for name in ("mle", "code", "code_seed5", "paper"))
    paper_cfg = json.loads((tmp_path / "runs" / "len40" / "paper" / "config.json").read_text())
    assert paper_cfg["variant"] == "paper" and paper_cfg["goal_normalize"] is True  # kept from the shared pretraining
    assert report["protocol"]["full_protocol"] is False
    if report["plot"]:  # matplotlib installed (the experiments extra)
        assert (tmp_path / "results" / "oracle_40.png").stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["oracle_40.json"] + (
        ["oracle_40.png", "oracle_40_sweep.png"] if report["plot"] else [])  # no temporary file left behind
    assert report["protocol"]["samples_per_score"] == {"mle": 32, "mle_continued": 32, "code": 32, "code_seed5": 32,
                                                       "paper": 32}
    docs = (tmp_path / "results.md").read_text()
    assert "kept text" in docs and "SHORTENED PROTOCOL" in docs and "LeakGAN, paper variant" in docs
    assert "Seed spread (NLL-oracle β=1.5, seeds 88 and 5, iterations 0–1)" in docs
    assert "| 2 of 2 |" in docs and "+2 MLE epochs" in docs and "Quality–diversity" in docs
    assert "Oracle divergences of the same scores" in docs and "| Jeffreys β=1.5 |" in docs
    # Issue 32's report (experiments/len20_report.py) reads the same runs from their events and scores.
    seeds = issue32_report(tmp_path / "runs" / "len40", [88, 5])
    assert seeds["88"]["position"] == {"blocks_done": 1, "iterations_done": 0}
    assert seeds["88"]["adversarial_position"] == {"blocks_done": 1, "iterations_done": 2}
    assert seeds["88"]["adversarial"] == res["code"]["adversarial"] and seeds["5"]["mle"]["blocks_done"] == 1
    assert [r["step"] for r in seeds["88"]["pretraining"]] == [0] and seeds["88"]["busy_seconds"]["adversarial"] > 0
    assert sorted(seeds["88"]["sweeps"]) == ["code@2", "mle@0"] and seeds["5"]["sweeps"] == {}
    assert [r["beta"] for r in seeds["88"]["sweeps"]["code@2"]["rows"]] == [1.0, 2.0]
    section = load_experiment("len20_report").markdown(dict(seeds=seeds, machine={}, targets={}, full_protocol=False))
    assert "seed 88: 1 of 10 pretraining blocks, 2 adversarial iterations" in section
    assert "| 88 | MLE | 2 |" in section and "| 88 | LeakGAN after 2 iterations | 1 |" in section
    # --report_only collects the same tables from disk without running or scoring anything.
    only = bench(tmp_path, "--shared_pretraining", "--report_only")
    assert only.returncode == 0 and "$ " not in only.stdout, only.stdout[-2000:] + only.stderr[-2000:]
    # A rerun finds its runs finished: nothing is trained again, the section is replaced, not appended
    # (one seed and method: each finished run it names still starts a process that checks and exits).
    index = [tmp_path / "runs" / "len40" / name / "checkpoints" / "checkpoint" for name in ("pretrain_code", "code")]
    before = [path.read_text() for path in index]
    again = bench(tmp_path, "--shared_pretraining", "--methods=code", "--seeds=88")
    assert again.returncode == 0, again.stderr[-2000:]
    assert [path.read_text() for path in index] == before
    assert (tmp_path / "results.md").read_text().count("oracle-benchmark:begin") == 1



def issue32_report(length_folder, seeds):
    """len20_report.collect over one length's seed folders (the oracle benchmark's layout)."""
    report, driver = load_experiment("len20_report"), load_experiment("reproduce_len20")
    return report.collect(length_folder, seeds, lambda folder, seed: report.ob.seed_dir(folder, seed),
                          driver.run_position)


def report_module():
    sys.path.insert(0, str(REPO / "experiments"))
    import oracle_benchmark
    return oracle_benchmark


def short_report(ob, length, results):
    """A report as run_length builds it, for a shortened protocol."""
    protocol = dict(full_protocol=False, oracle="paper", pretrain_blocks=4, pretrain_d_rounds=5,
                    pretrain_epochs_per_block=8, adversarial_iterations=10, eval_every=5,
                    samples_per_score={"code": 2048}, shared_pretraining=True)
    return dict(length=length, protocol=protocol, results=results, reference=ob.REFERENCE[length])


def test_report_sets_the_code_variant_beside_both_length20_repo_logs():
    ob = report_module()
    results = {"code": {"final": {"step": 9, "nll_oracle": 7.7}, "seed": 88, "target_iterations": 100,
                        "adversarial": [{"step": 0, "nll_oracle": 8.2}, {"step": 5, "nll_oracle": 8.0}]},
               "code_seed89": {"seed": 89, "target_iterations": 50,
                               "adversarial": [{"step": 0, "nll_oracle": 8.3}, {"step": 5, "nll_oracle": 7.9}]}}
    text = ob.markdown([short_report(ob, 20, results)])
    # beside log1.txt, log.txt and log2.txt of the first commit, with their band
    assert "| 0 | 8.200 | – | – | – | 8.242 | 8.217 | 8.410 | 8.217–8.410 | no |" in text
    assert "| 5 | 8.000 | – | – | – | 7.884 | 7.649 | 8.377 | 7.649–8.377 | yes |" in text
    assert "| LeakGAN, code variant, seed 88 | 10 of 100 |" in text
    # seeds differ by 0.1 at both iterations; the repo logs by 0.025 and 0.235
    assert "mean |difference| 0.100, largest 0.100; between the repository's two logs at the same iterations: " \
           "mean 0.130, largest 0.235" in text
    text40 = ob.markdown([short_report(ob, 40, results)])
    assert "| 0 | 8.200 | – | – | – | 9.294 | 9.036 | 9.036–9.294 | no |" in text40
    assert "| 5 | 8.000 | – | – | – | 8.891 | 8.721 | 8.721–8.891 | no |" in text40
    assert "| repo log | repo experiment-log40.txt |" in text40


def test_divergence_table_shows_both_betas_and_only_runs_that_have_them():
    ob = report_module()
    final = dict(step=1, nll_oracle=7.5, jeffreys=41.25, bhattacharyya=3.5, nll_balanced=15.125, jeffreys_beta1=20.5,
                 bhattacharyya_beta1=2.25, nll_balanced_beta1=14.0)
    results = {"code": {"final": final, "seed": 88, "target_iterations": 2, "adversarial": [final]},
               "mle": {"final": {"nll_oracle": 9.0}}}  # scored before the divergences existed
    text = ob.markdown([short_report(ob, 20, results)])
    assert "| LeakGAN, code variant, seed 88 | 41.250 | 3.500 | 15.125 | 20.500 | 2.250 | 14.000 |" in text
    assert text.count("| MLE (end of pretraining) |") == 1  # in the main table, not among the divergences
    assert "Oracle divergences" not in ob.markdown([short_report(ob, 20, {"mle": results["mle"]})])


def test_seqgan_row_beside_the_paper_and_at_both_betas():
    """SeqGAN (scored at its β_eval = 1) in the main table with the paper's 8.736, its β = 1.5
    values from its sweep, only its β = 1 divergences, its own trajectory table, no repo-log table."""
    ob = report_module()
    final = dict(step=1, nll_oracle=8.9, nll_oracle_beta1=8.95, nll_test=8.4, distinct4=0.99, distinct4_beta1=0.98,
                 jeffreys=30.0, bhattacharyya=3.0, nll_balanced=17.3, jeffreys_beta1=31.0, bhattacharyya_beta1=3.25,
                 nll_balanced_beta1=17.5)
    seqgan = {"final": final, "seed": 88, "target_iterations": 200, "eval_beta": 1.0, "busy_seconds": 7200,
              "pretraining": [{"step": 0, "nll_oracle": 10.2, "nll_test": 7.8, "distinct4": 1.0}],
              "adversarial": [final], "sweep_protocol": "32 samples per β",
              "sweep": [{"beta": 1.0, "nll_oracle": 8.9, "nll_test": 8.4, "distinct4": 0.99},
                        {"beta": 1.5, "nll_oracle": 8.1, "nll_test": 8.9, "distinct4": 0.9}]}
    text = ob.markdown([short_report(ob, 20, {"seqgan": seqgan})])
    assert "| SeqGAN (its official settings), seed 88 | 2 of 200 | 8.100 | 8.950 | 8.400 | 0.900 | 0.980 | 8.736 " \
           "| 2.0 h |" in text
    assert "| SeqGAN (its official settings), seed 88 | – | – | – | 31.000 | 3.250 | 17.500 |" in text
    assert "| pretraining | 0 | 10.200 | 7.800 | 1.000 |" in text and "| adversarial | 1 | 8.900 | 8.400 |" in text
    assert "by adversarial iteration" not in text  # the repository's logs are LeakGAN's
    unswept = ob.markdown([short_report(ob, 20, {"seqgan": dict(seqgan, sweep=None)})])
    assert "| SeqGAN (its official settings), seed 88 | 2 of 200 | – | 8.950 |" in unswept


def test_docs_keep_the_lengths_a_run_did_not_touch(tmp_path):
    ob = report_module()
    (tmp_path / "oracle_20.json").write_text(json.dumps(short_report(ob, 20, {})))
    merged = ob.with_other_lengths([short_report(ob, 40, {})], tmp_path)
    assert [r["length"] for r in merged] == [20, 40]
    text = ob.markdown(merged)
    assert text.index("#### Length 20") < text.index("#### Length 40")
    assert [r["length"] for r in ob.with_other_lengths([short_report(ob, 20, {})], tmp_path)] == [20]


def test_the_committed_reports_render_and_merge():
    """Every oracle_<L>.json committed in experiments/results (written by older versions
    of the benchmark, e.g. without target_iterations) renders and merges with a new report."""
    ob = report_module()
    committed = sorted((REPO / "experiments" / "results").glob("oracle_*.json"))
    committed = [p for p in committed if p.stem.split("_")[1].isdigit()]
    assert committed, "no committed oracle report"
    for path in committed:
        rep = json.loads(path.read_text())
        assert f"#### Length {rep['length']}" in ob.markdown([rep]), path
    assert ob.markdown(ob.with_other_lengths([short_report(ob, 20, {})], REPO / "experiments" / "results"))


def test_results_go_under_out_unless_published(tmp_path):
    ob = report_module()
    args = ob.parse_args([f"--out={tmp_path}"])
    assert (args.results_dir, args.docs) == (str(tmp_path / "results"), str(tmp_path / "results.md"))
    args = ob.parse_args([f"--out={tmp_path}", "--publish"])
    assert (args.results_dir, args.docs) == (str(REPO / "experiments" / "results"), str(REPO / "docs" / "results.md"))
    args = ob.parse_args([f"--out={tmp_path}", f"--results_dir={tmp_path / 'r'}"])
    assert args.results_dir == str(tmp_path / "r") and args.docs == str(tmp_path / "results.md")


def test_in_process_evaluations_leave_no_retracing_hint():
    """The benchmark scores many runs in one process; TensorFlow's retracing hint (from
    the fifth new model) is filtered from its log, and nothing else is."""
    import logging

    import tensorflow as tf
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = tf.get_logger()
    logger.addHandler(handler)

    def retrace():
        @tf.function
        def double(x):
            return 2 * x
        for n in range(1, 8):  # a new shape each call: a new trace
            double(tf.zeros([n]))
    try:
        retrace()
        assert any("retracing" in r.getMessage() for r in records)  # the case is real
        ob = report_module()
        ob.quiet_retracing_hints()
        ob.quiet_retracing_hints()  # once only
        assert sum(isinstance(f, ob.NoRetracingHint) for f in logger.filters) == 1
        records.clear()
        retrace()
        logger.warning("another warning")
        assert [r.getMessage() for r in records] == ["another warning"]
    finally:
        logger.removeHandler(handler)
        logger.filters = [f for f in logger.filters if not isinstance(f, report_module().NoRetracingHint)]


def test_the_trajectory_plot_draws_every_repository_log_in_its_own_style():
    ob = report_module()
    lines = ob.reference_lines(ob.REFERENCE[20])
    assert [name for name, *_ in lines] == ["repo log", "repo log.txt", "repo log2.txt"]  # log1.txt, log.txt, log2.txt
    assert len({style for *_, style in lines}) == 3
    name, steps, values, _ = lines[2]
    assert steps[:3] == [0, 5, 10] and values[:3] == [8.410, 8.377, 8.265] and steps[-1] == 100
    assert [name for name, *_ in ob.reference_lines(ob.REFERENCE[40])] == ["repo log", "repo experiment-log40.txt"]
