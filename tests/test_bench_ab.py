"""experiments/bench_ab.py's bookkeeping (no timing): arms parsed or refused with
the fix, and medians taken per phase over rounds; experiments/bench_startup.py's
whole training processes at tiny sizes."""
import argparse
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import load_experiment, tiny_flags

bench_ab = load_experiment("bench_ab")


def test_an_arm_is_a_name_and_environment_settings():
    assert bench_ab.parse_arm("dense:LEAKGAN_TF_NATIVE_OPS=0,TF_ENABLE_ONEDNN_OPTS=1") == (
        "dense", {"LEAKGAN_TF_NATIVE_OPS": "0", "TF_ENABLE_ONEDNN_OPTS": "1"})
    assert bench_ab.parse_arm("as-is:") == ("as-is", {})


@pytest.mark.parametrize("text", ["dense", ":X=1", "dense:X", "dense:=1"])
def test_a_malformed_arm_says_how_to_write_it(text):
    with pytest.raises(argparse.ArgumentTypeError, match="name:VAR=value"):
        bench_ab.parse_arm(text)


def report(d_epoch, step_ms):
    rows = {"d_epoch": {"seconds": d_epoch, "gflop": 1.0}, "d_step_parts": {
        "step_ms": step_ms, "forward_backward_ms": step_ms - 10, "adam_ms": 7.0, "weights": 1}}
    return {"results": {"T20_incremental": rows}, "matmul_gflops": 170.0, "memory_gbytes_per_s": 45.0,
            "process": {"onednn_env": "1"}, "load_average_start": 0.1, "load_average_end": 0.2}


def test_medians_per_phase_and_step_part_over_rounds():
    rounds = [dict(round=i, **bench_ab.summary(report(d, s))) for i, (d, s) in enumerate([(15.0, 48.0), (19.0, 47.0),
                                                                                          (16.0, 60.0)])]
    assert bench_ab.medians(rounds) == {"seconds.d_epoch": 16.0, "d_step_parts.step_ms": 48.0,
                                        "d_step_parts.forward_backward_ms": 38.0, "d_step_parts.adam_ms": 7.0}


def test_an_arm_on_a_snapshot_runs_the_snapshots_bench_speed(tmp_path):
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "bench_speed.py").write_text("")
    assert bench_ab.script({"PYTHONPATH": str(tmp_path)}) == tmp_path / "experiments" / "bench_speed.py"
    assert bench_ab.script({"PYTHONPATH": str(tmp_path / "nothing")}) == bench_ab.HERE / "bench_speed.py"
    assert bench_ab.script({"LEAKGAN_TF_NATIVE_OPS": "0"}) == bench_ab.HERE / "bench_speed.py"


def test_startup_bench_times_whole_training_processes_per_arm_and_names_a_failed_run(tmp_path):
    flagfile = tmp_path / "tiny.cfg"
    flagfile.write_text(tiny_flags(adversarial_iterations=1))
    out = tmp_path / "startup.json"
    bench = [sys.executable, str(REPO_ROOT / "experiments" / "bench_startup.py"), "--rounds=1", f"--out={out}"]
    done = subprocess.run([*bench, "--arm=here:", "--", f"--flagfile={flagfile}"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    (run,) = report["arms"]["here"]
    # the child's own CPU seconds (TensorFlow's import alone takes more than one)
    assert abs(run["cpu"] - run["user"] - run["sys"]) < 0.02
    assert 1.0 < run["cpu"] and 1.0 < run["wall"]
    assert report["medians"]["here"] == {"wall": run["wall"], "cpu": run["cpu"]}
    failed = subprocess.run([*bench, "--arm=here:", "--", f"--flagfile={flagfile}", "--seq_len=0"],
                            capture_output=True, text=True, timeout=600)
    assert failed.returncode != 0 and "error: the run of arm {} failed" in failed.stderr, failed.stderr[-2000:]
