"""experiments/reproduce_len20.py (issue 32's protocol driver): the stages in the
issue's order, each an oracle_benchmark invocation of the full protocol whose
reports stay under --out, a refused --out inside the repository, and a report of
where the runs stand."""
import json
import os
import pathlib
import signal
import subprocess
import sys

from tests.helpers import EXPERIMENTS, load_experiment

REPO = EXPERIMENTS.parent


def test_stages_follow_the_issue_order_with_the_full_protocol(tmp_path):
    driver = load_experiment("reproduce_len20")
    assert driver.STAGES == ((88, 50), (89, 50), (90, 0), (88, 100))
    bench = load_experiment("oracle_benchmark")
    for seed, iterations in driver.STAGES:
        cmd = driver.stage_command(tmp_path, seed, iterations, tmp_path / "results", [])
        args = bench.parse_args(cmd[2:])
        assert args.seeds == str(seed) and args.lengths == "20" and args.pretrain_blocks == 10
        assert args.generated_num == 10000 and not args.extra_flags and args.betas == driver.BETAS
        assert args.methods == ("mle,code" if iterations else "mle")
        if iterations:
            assert args.adversarial_iterations == iterations
        assert tmp_path in pathlib.Path(args.results_dir).parents  # never the committed results
    # stage 5 (issue 34): SeqGAN's full protocol for seed 88, after every LeakGAN stage
    cmd = driver.stage_command(tmp_path, driver.SEQGAN_SEED, 100, tmp_path / "results",
                               [f"--seqgan_iterations={driver.SEQGAN_ITERATIONS}"], methods="seqgan")
    args = bench.parse_args(cmd[2:])
    assert (args.methods, args.seqgan_iterations, args.seeds) == ("seqgan", 200, "88") and driver.SEQGAN_STAGE == 5


def test_out_inside_the_repository_is_refused_and_an_empty_out_reports_nothing_done(tmp_path):
    done = subprocess.run([sys.executable, "experiments/reproduce_len20.py", f"--out={REPO / 'runs_here'}"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "lies inside the repository" in done.stderr
    assert not (REPO / "runs_here").exists()
    report, docs = tmp_path / "report.json", tmp_path / "results.md"
    docs.write_text("# Results\n\nkept\n")
    done = subprocess.run([sys.executable, "experiments/reproduce_len20.py", f"--out={tmp_path / 'runs'}",
                           f"--report={report}", f"--docs={docs}"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    body = json.loads(report.read_text())
    assert body["full_protocol"] is False and body["runs"] == body["seeds"] == {} and body["targets"]["88"] == 100
    assert body["plot"] is None and body["sweep_plot"] is None  # nothing to draw
    text = docs.read_text()
    assert text.startswith("# Results\n\nkept\n") and "Position: nothing run yet" in text
    assert "No β sweep yet" in text and text.rstrip().endswith("<!-- reproduce-len20:end -->")
    assert body["targets"]["seqgan_88"].startswith("200 adversarial batches")
    # No stage: the driver writes the report of what is on disk under OUT/results, as after every stage.
    done = subprocess.run([sys.executable, "experiments/reproduce_len20.py", f"--out={tmp_path / 'runs'}", "--stages="],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "report: " in done.stdout, done.stdout + done.stderr
    results = tmp_path / "runs" / "results"
    assert json.loads((results / "reproduce_len20.json").read_text())["seeds"] == {}
    assert "<!-- reproduce-len20:begin -->" in (results / "results.md").read_text()


def test_stop_ends_a_driver_that_is_scoring_in_process(tmp_path):
    """`resume_len20.sh stop` with no training process going (the driver sweeping or scoring
    in its own process), and paused, stops the driver instead of waiting for it forever."""
    out = tmp_path / "runs"
    out.mkdir()
    # a process that looks like the driver (its command line names --out=OUT) and would run for long
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", f"--out={out}"])
    try:
        os.kill(driver.pid, signal.SIGSTOP)  # paused (`resume_len20.sh pause`): stop must still end it
        done = subprocess.run(["bash", "experiments/resume_len20.sh", "stop", str(out)], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout.strip() == "stopped", done.stdout + done.stderr
        assert driver.wait(timeout=30) == -15  # SIGTERM
    finally:
        driver.kill()
