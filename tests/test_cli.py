"""The command lines as a user runs them: flags, one-line errors, a killed run
that resumes, sampling from a checkpoint."""
import os
import platform
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO_ROOT
from tests.helpers import tiny_flags

pytestmark = pytest.mark.heavy(seconds=140)  # measured on 2 cores; orders the modules (conftest)

TINY_FLAGS = tiny_flags(adversarial_iterations=6)


def cli(*args, module="leakgan_tf.main", **kwargs):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          env=env, timeout=600, **kwargs)


def assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    # TensorFlow's C++ start-up notices (not ours) are printed before any of our code runs.
    noise = ("WARNING: All log messages before absl", "I0000 ", "W0000 ", "E0000 ")
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(noise)]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_dry_run_prints_parameter_counts():
    result = cli("--dry_run")
    assert result.returncode == 0, result.stderr
    assert "discriminator: 7,045,466 parameters" in result.stdout
    assert "manager: 391,224 parameters" in result.stdout
    assert "worker: 2,835,840 parameters" in result.stdout


@pytest.mark.parametrize("args,fragments", [
    (["--no_such_flag=1"], ["no_such_flag"]),
    (["--flagfile=/nonexistent/x.cfg"], ["x.cfg"]),
    (["--batch_size=-4", "--dry_run"], ["--batch_size=-4", ">= 1"]),
    (["--step_size=3", "--dry_run"], ["--step_size=3", "divide"]),
    (["--rollout_num=0", "--dry_run"], ["--rollout_num=0"]),
    (["--batch_size=abc"], ["batch_size"]),
    (["--oracle_params=/nonexistent/o.npz"], ["o.npz"]),
])
def test_bad_input_gets_one_line(args, fragments):
    assert_one_line_error(cli(*args), *fragments)


@pytest.mark.parametrize("module,args", [
    ("leakgan_tf.main", ["--batch_size=-4"]),
    ("leakgan_tf.main", ["--no_such_flag=1"]),
    ("leakgan_tf.main", ["--logdir="]),
    ("leakgan_tf.main", ["--distribute=multiworker"]),  # no TF_CONFIG
    ("leakgan_tf.sample", ["--logdir=/nonexistent/run"]),
    ("leakgan_tf.sample", ["--logdir=/nonexistent/run", "--export=/nonexistent/export"]),
    ("leakgan_tf.evaluate", ["--logdir=/nonexistent/run"]),
    ("leakgan_tf.evaluate", ["--logdir=/nonexistent/run", "--betas=1,,2"]),
])
def test_a_bad_flag_is_answered_before_tensorflow_is_imported(module, args):
    # TensorFlow's import takes seconds; a typo should not.
    code = (f"import runpy, sys\nsys.argv = [{module!r}] + {args!r}\ntry:\n"
            f"    runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
            f"except SystemExit as e:\n    print('exit', e.code, 'tensorflow' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.stdout.split() == ["exit", "2", "False"], (result.stdout, result.stderr)
    assert result.stderr.startswith("error:"), result.stderr


def test_killed_run_resumes_and_finishes_then_samples(tmp_path):
    flagfile = tmp_path / "tiny.cfg"
    flagfile.write_text(TINY_FLAGS + f"--logdir={tmp_path / 'run'}\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "leakgan_tf.main", f"--flagfile={flagfile}"], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    target = tmp_path / "run" / "samples" / "adversarial_0001.txt"
    deadline = time.time() + 300
    while not target.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert target.exists(), proc.communicate()[0]
    proc.send_signal(signal.SIGKILL)  # mid-adversarial phase
    proc.wait()
    assert not (tmp_path / "run" / "samples" / "adversarial_0005.txt").exists()
    resumed = cli(f"--flagfile={flagfile}")
    assert resumed.returncode == 0, resumed.stderr
    assert "[resume]" in resumed.stdout and "1 pretraining blocks" in resumed.stdout
    names = sorted(p.name for p in (tmp_path / "run" / "samples").glob("adversarial_*.txt"))
    assert names == [f"adversarial_{i:04d}.txt" for i in range(6)]
    assert not list((tmp_path / "run").rglob("*.tmp*")), "no half-written files are left"

    sampled = cli("--logdir", str(tmp_path / "run"), "--num", "5", "--seed", "3", module="leakgan_tf.sample")
    assert sampled.returncode == 0, sampled.stderr
    rows = [list(map(int, line.split())) for line in sampled.stdout.splitlines()]
    assert len(rows) == 5 and all(len(r) == 8 and all(0 <= t < 30 for t in r) for r in rows)
    again = cli("--logdir", str(tmp_path / "run"), "--num", "5", "--seed", "3", module="leakgan_tf.sample")
    assert again.stdout == sampled.stdout

    conflict = cli(f"--flagfile={flagfile}", "--gen_hidden_dim=7")
    assert_one_line_error(conflict, "gen_hidden_dim", "--fresh")

    # a checkpoint of another model size (no config.json to warn first)
    other = tmp_path / "other"
    shutil.copytree(tmp_path / "run" / "checkpoints", other / "checkpoints")
    mismatch = cli(f"--flagfile={flagfile}", f"--logdir={other}", "--gen_hidden_dim=7")
    assert_one_line_error(mismatch, "does not fit this model", "--fresh")


def test_malformed_flagfile_line_and_unwritable_logdir(tmp_path):
    junk = tmp_path / "junk.cfg"
    junk.write_text("--seq_len=20\nthis line is not a flag\n")
    assert_one_line_error(cli(f"--flagfile={junk}", "--dry_run"), "this line is not a flag")
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    flagfile = tmp_path / "tiny.cfg"
    flagfile.write_text(TINY_FLAGS + f"--logdir={blocker / 'run'}\n")
    assert_one_line_error(cli(f"--flagfile={flagfile}"), "cannot write to --logdir", "writable")


def test_sigterm_saves_a_checkpoint_and_the_rerun_finishes(tmp_path):
    flagfile = tmp_path / "tiny.cfg"
    flagfile.write_text(tiny_flags(adversarial_iterations=2)
                        + f"--logdir={tmp_path / 'run'}\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "leakgan_tf.main", f"--flagfile={flagfile}"], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    for line in proc.stdout:  # stop during pretraining, right after the first D round
        if "[pretrain] D round 0" in line or time.time() > deadline:
            break
    proc.send_signal(signal.SIGTERM)
    output = line + proc.communicate(timeout=300)[0]
    assert proc.returncode == 128 + signal.SIGTERM, output
    assert "stopped; checkpoint" in output
    assert list((tmp_path / "run" / "checkpoints").glob("ckpt-*.index"))
    resumed = cli(f"--flagfile={flagfile}")
    assert resumed.returncode == 0, resumed.stderr
    assert "[resume]" in resumed.stdout and "[pretrain] D round 0" not in resumed.stdout


def test_tensorflow_start_up_lines_only_when_asked_for():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run([sys.executable, "-m", "leakgan_tf.main", "--dry_run"], capture_output=True, text=True,
                           cwd=REPO_ROOT, env=env, timeout=600)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert quiet.stdout.startswith("discriminator: ")
    # --verbosity=0 on the command line shows TensorFlow's own lines (at least its CPU feature notice,
    # which TensorFlow prints at start-up on every x86 build).
    loud = subprocess.run([sys.executable, "-m", "leakgan_tf.main", "--dry_run", "--verbosity=0"],
                          capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=600)
    assert loud.returncode == 0, loud.stderr
    if platform.machine() in ("x86_64", "AMD64"):
        assert "cpu_feature_guard" in loud.stderr, loud.stderr
        assert "oneDNN custom operations are on" in loud.stderr, loud.stderr  # kept out of the quiet run only


def test_package_map_names_every_entry_point():
    result = subprocess.run([sys.executable, "-m", "leakgan_tf"], capture_output=True, text=True, cwd=REPO_ROOT,
                            timeout=60)
    assert result.returncode == 0
    for name, module in [("train", "leakgan_tf.main"), ("sample", "leakgan_tf.sample"),
                         ("evaluate", "leakgan_tf.evaluate"), ("export", "--export"), ("oracle", "synthetic_oracle")]:
        assert any(line.split()[:1] == [name] for line in result.stdout.splitlines()), name
        assert module in result.stdout
    wrong = subprocess.run([sys.executable, "-m", "leakgan_tf", "trian"], capture_output=True, text=True,
                           cwd=REPO_ROOT, timeout=60)
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: ") and "train" in wrong.stderr


def test_onednn_preferred_on_x86_unless_the_user_says_otherwise():
    from leakgan_tf.startup import prefer_onednn
    env = {}
    assert prefer_onednn(env, machine="x86_64") == "1" and env == {"TF_ENABLE_ONEDNN_OPTS": "1"}
    assert prefer_onednn({"TF_ENABLE_ONEDNN_OPTS": "0"}, machine="x86_64") == "0"
    assert prefer_onednn({}, machine="aarch64") is None
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("TensorFlow's oneDNN switch is checked on x86 only")
    probe = ("from leakgan_tf import main; from tensorflow.python.util import _pywrap_util_port as p; "
             "print(p.IsMklEnabled())")
    base = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    for env, expected in [(base, "True"), (dict(base, TF_ENABLE_ONEDNN_OPTS="0"), "False")]:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                             timeout=300)
        assert out.stdout.strip().splitlines()[-1] == expected, out.stderr
