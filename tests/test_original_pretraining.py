"""experiments/original_pretraining.py: the per-point summary of the original's runs
against ours, and (with LEAKGAN_ORIGINAL_DIR, a checkout of CR-Gjx/LeakGAN) a smoke run
of both sides on tiny data."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.helpers import EXPERIMENTS, load_experiment

ORIGINAL = os.environ.get("LEAKGAN_ORIGINAL_DIR")


def test_summary_gives_each_sides_mean_sd_and_the_difference_with_its_standard_error():
    runs = [dict(side="original", seed=1, points={"0": 9.6, "5": 8.9}), dict(side="original", seed=2,
                                                                             points={"0": 9.8, "5": 9.1}),
            dict(side="ours", seed=1, points={"0": 9.75, "5": 9.0}), dict(side="ours", seed=2, points={"0": 9.85})]
    table = load_experiment("original_pretraining").summary(runs)
    assert list(table) == ["0", "5"]
    assert table["0"]["original"] == dict(n=2, mean=9.7, sd=pytest.approx(0.1414, abs=1e-4))
    assert table["0"]["ours"]["mean"] == 9.8 and table["0"]["difference"] == pytest.approx(0.1)
    assert table["0"]["standard_error"] == pytest.approx((0.02 / 2 + 0.005 / 2) ** 0.5, abs=1e-4)
    assert table["5"]["ours"] == dict(n=1, mean=9.0, sd=None)  # one run: no spread, no standard error
    assert table["5"]["difference"] == pytest.approx(0.0) and "standard_error" not in table["5"]


def test_a_folder_that_is_not_the_original_is_refused(tmp_path):
    done = subprocess.run([sys.executable, str(EXPERIMENTS / "original_pretraining.py"), "--original_dir",
                           str(tmp_path), "--smoke"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "is not a checkout of CR-Gjx/LeakGAN" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_sides_are_refused(tmp_path):
    done = subprocess.run([sys.executable, str(EXPERIMENTS / "original_pretraining.py"), "--original_dir",
                           str(tmp_path), "--sides=theirs"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--sides=theirs" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(not ORIGINAL, reason="set LEAKGAN_ORIGINAL_DIR to a checkout of CR-Gjx/LeakGAN to run the "
                                         "original's pretraining beside ours")
def test_smoke_runs_both_sides_and_a_rerun_keeps_them(tmp_path):
    out = tmp_path / "op.json"
    cmd = [sys.executable, str(EXPERIMENTS / "original_pretraining.py"), "--original_dir", ORIGINAL, "--smoke",
           "--runs", "1", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [(r["side"], r["seed"]) for r in report["runs"]] == [("original", 1), ("ours", 1)]
    for r in report["runs"]:
        assert sorted(r["points"], key=int) == ["0", "5"] and all(5 < v < 12 for v in r["points"].values())
    assert report["summary"]["0"]["original"]["n"] == 1 and "difference" in report["summary"]["5"]
    assert 5.6 < report["runs"][0]["ground_truth_nll"] < 5.9  # the original's oracle, scored by its own code
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "run, seed" not in again.stdout  # nothing to run again
    assert pathlib.Path(out).exists() and json.loads(out.read_text())["runs"] == report["runs"]
