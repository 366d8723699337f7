"""What a finished run gives the user (issue 35), as a user meets it: `sample`
(rows streamed for any --num), its --export (written only to a new or empty
folder or over a previous export; loads without warnings), `evaluate` (leaves the
run folder as it was), a damaged checkpoint under both, `main --help`, and every
flag of sample and evaluate given a bad value.

Every refused case checks the exit code, that stderr is one `error:` line (no
traceback, nothing else) and that the files involved are byte for byte what they
were before."""
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from leakgan_tf.export import MARKER
from tests.conftest import REPO_ROOT
from tests.helpers import tiny_flags
from tests.test_cli import cli

pytestmark = pytest.mark.heavy(seconds=190)  # measured on 2 cores; orders the modules (conftest)

DATA = "checkpoints/ckpt-2.data-00000-of-00001"
# Lines TensorFlow or absl print that a quiet CLI (and a quiet load of an export) must not show.
NOISE = ("I0000", "W0000", "E0000", "WARNING:", "ERROR:", "Traceback", "custom gradients", "oneDNN",
         "cpu_feature_guard", "All log messages before absl")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished tiny oracle run of the CLI: pretraining, one adversarial
    iteration, checkpoints ckpt-1 and ckpt-2, no test_data.txt (no --extended_eval)."""
    root = tmp_path_factory.mktemp("outputs")
    flagfile = root / "tiny.cfg"
    flagfile.write_text(tiny_flags(adversarial_iterations=1))
    result = cli(f"--flagfile={flagfile}", f"--logdir={root / 'run'}")
    assert result.returncode == 0, result.stderr
    assert (root / "run" / DATA).is_file() and not (root / "run" / "test_data.txt").exists()
    return root / "run"


def snapshot(folder):
    """{relative path: bytes} of everything under folder, hidden files too (None for a folder)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def quiet_env(**extra):
    """The environment of a user who set nothing: the CLIs quiet TensorFlow themselves."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return dict(env, PYTHONPATH=str(REPO_ROOT), **extra)


def user(*args, module, cwd=REPO_ROOT, **env):
    """A CLI run as a user runs it (TF_CPP_MIN_LOG_LEVEL unset; env: more variables)."""
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=cwd,
                          env=quiet_env(**env), timeout=600)


def assert_refused(result, *fragments):
    """Exit 2 and stderr exactly one `error:` line holding every fragment."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


# ---------------------------------------------------------------- item 1: --export

@pytest.mark.parametrize("case", ["run", "dot_above_run", "dot_elsewhere", "full_folder", "file", "empty"])
def test_export_refuses_a_folder_that_is_not_an_export_and_touches_nothing(run, tmp_path, case):
    other = tmp_path / "keep"
    (other / "sub").mkdir(parents=True)
    (other / "a.txt").write_text("mine\n")
    (other / "sub" / "b.bin").write_bytes(b"\x00\x01")
    cwd, target, fragments = REPO_ROOT, None, []
    if case == "run":
        target, fragments = str(run), ["is the run folder"]
    elif case == "dot_above_run":
        cwd, target, fragments = run.parent, ".", ["holds the run folder"]
    elif case == "dot_elsewhere":
        cwd, target, fragments = other, ".", ["not a leakgan_tf export", "a.txt"]
    elif case == "full_folder":
        target, fragments = str(other), ["not a leakgan_tf export", "a.txt, sub"]
    elif case == "file":
        target, fragments = str(other / "a.txt"), ["is a file"]
    elif case == "empty":
        target, fragments = "", ["--export is empty"]
    before = {"run": snapshot(run.parent), "tmp": snapshot(tmp_path)}
    result = user(f"--logdir={run}", f"--export={target}", module="leakgan_tf.sample", cwd=cwd)
    assert_refused(result, *fragments)
    assert {"run": snapshot(run.parent), "tmp": snapshot(tmp_path)} == before


def load_export_script(path, num, beta, seed):
    """Python run in a fresh process with only TensorFlow: loads the export and prints
    its rows; `loading` on stderr marks the end of TensorFlow's own start-up."""
    return (f"import sys, tensorflow as tf\n"
            f"print('loading', file=sys.stderr, flush=True)\n"
            f"m = tf.saved_model.load({str(path)!r})\n"
            f"ids = m.generate(num={num}, beta={beta}, seed={seed})['ids'].numpy()\n"
            f"assert 'leakgan_tf' not in sys.modules\n"
            f"print('\\n'.join(' '.join(map(str, row)) for row in ids))\n")


def test_export_writes_a_new_folder_replaces_only_a_previous_export_and_loads_quietly(run, tmp_path):
    target = tmp_path / "export"
    target.mkdir()  # an empty folder is taken
    first = user(f"--logdir={run}", f"--export={target}", module="leakgan_tf.sample")
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert first.stdout == f"SavedModel written to {target.resolve()}\n"
    marker = json.loads((target / MARKER).read_text())
    assert marker["checkpoint"] == str((run / "checkpoints" / "ckpt-2").resolve())
    assert marker["logdir"] == str(run.resolve())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"], "no temporary folder is left"

    # a previous export (told by its marker) is replaced as a whole
    (target / MARKER).write_text(json.dumps(dict(marker, note="the previous export")))
    (target / "variables" / "variables.index").write_bytes(b"old")
    again = user(f"--logdir={run}", f"--export={target}", module="leakgan_tf.sample")
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert "note" not in json.loads((target / MARKER).read_text())
    assert (target / "variables" / "variables.index").read_bytes() != b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]

    # loaded by a process with only TensorFlow: no warning about unsaved custom gradients (or
    # anything else) once TensorFlow has started; the rows are sample's, across three chunks
    loaded = subprocess.run([sys.executable, "-c", load_export_script(target, 21, 1.5, 4)], capture_output=True,
                            text=True, cwd=tmp_path, env=dict(quiet_env(), TF_CPP_MIN_LOG_LEVEL="3"), timeout=600)
    assert loaded.returncode == 0, loaded.stderr
    after_start = loaded.stderr.split("loading\n", 1)[1]
    assert after_start == "", after_start
    sampled = user(f"--logdir={run}", "--num=21", "--seed=4", "--beta=1.5", "--ids", module="leakgan_tf.sample")
    assert sampled.returncode == 0 and sampled.stderr == "", sampled.stderr
    assert sampled.stdout.splitlines() == loaded.stdout.splitlines() and len(sampled.stdout.splitlines()) == 21

    # a file added to an export makes it a folder of the user's: refused, nothing deleted
    (target / "my_notes.txt").write_text("keep me\n")
    before = snapshot(tmp_path)
    assert_refused(user(f"--logdir={run}", f"--export={target}", module="leakgan_tf.sample"),
                   "not a leakgan_tf export", "my_notes.txt")
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------- item 2: evaluate writes nothing in the run

def test_evaluate_leaves_the_run_folder_as_it_was(run, tmp_path):
    before = snapshot(run)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "scores.json"
    result = user(f"--logdir={run}", "--generated_num=32", f"--out={out}", module="leakgan_tf.evaluate",
                  TMPDIR=str(scratch))
    assert result.returncode == 0, result.stderr
    assert snapshot(run) == before, "scoring drew held-out rows (test_data.txt) and must keep them out of the run"
    scores = json.loads(result.stdout)
    assert json.loads(out.read_text()) == scores and scores["num_samples"] == 32 and "nll_test" in scores
    assert not [p for p in scratch.iterdir() if p.name.startswith("leakgan_evaluate_")], "its temporary copy is gone"
    assert not [line for line in result.stderr.splitlines() if line.startswith(NOISE)], result.stderr


# ---------------------------------------------------------------- item 3: damaged checkpoints

def _missing_data(run):
    (run / DATA).unlink()


def _truncated_data(run):
    with open(run / DATA, "r+b") as f:
        f.truncate(100)


def _missing_index(run):
    (run / "checkpoints" / "ckpt-2.index").unlink()


@pytest.mark.parametrize("module,args,damage,fragments", [
    ("leakgan_tf.evaluate", [], _missing_data, ["ckpt-2.data-00000-of-00001", "missing"]),
    ("leakgan_tf.sample", ["--num=3"], _truncated_data, ["ckpt-2.data-00000-of-00001", "truncated"]),
    ("leakgan_tf.sample", ["--num=3"], _missing_index, ["ckpt-2.index", "missing"]),
    ("leakgan_tf.sample", ["--export={tmp}/export"], _truncated_data, ["ckpt-2.data-00000-of-00001"]),
], ids=["evaluate-missing-data", "sample-truncated-data", "sample-missing-index", "export-truncated-data"])
def test_damaged_checkpoint_is_one_line_naming_the_file(run, tmp_path, module, args, damage, fragments):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    damage(copy)
    before = snapshot(tmp_path)
    result = user(f"--logdir={copy}", *[a.format(tmp=tmp_path) for a in args], module=module)
    assert_refused(result, "checkpoint", "ckpt-2", "damaged", *fragments)
    assert snapshot(tmp_path) == before  # nothing repaired, nothing written (no export folder)


# ---------------------------------------------------------------- item 4: any --num streams

def test_sample_streams_the_first_rows_of_a_huge_num_and_stops_when_the_reader_does(run):
    expected = user(f"--logdir={run}", "--num=3", "--seed=4", module="leakgan_tf.sample")
    assert expected.returncode == 0, expected.stderr
    proc = subprocess.Popen([sys.executable, "-m", "leakgan_tf.sample", f"--logdir={run}", f"--num={10 ** 15}",
                             "--seed=4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                            env=quiet_env())
    lines = queue.Queue()

    def read_three_then_leave():  # as `| head -3` does
        for _ in range(3):
            lines.put(proc.stdout.readline())
        proc.stdout.close()

    threading.Thread(target=read_three_then_leave, daemon=True).start()
    try:
        first = [lines.get(timeout=300) for _ in range(3)]  # 10^15 rows would need about 32 PB at once
    except queue.Empty:
        proc.kill()
        raise
    assert "".join(first) == expected.stdout
    assert proc.wait(timeout=120) == 128 + signal.SIGPIPE
    stderr = proc.stderr.read()
    assert stderr == "", stderr


def test_a_stopped_stream_to_out_leaves_no_file(run, tmp_path):
    """SIGTERM while rows stream into --out: the temporary file goes, the target is
    never created, the exit status is 128 + SIGTERM and stderr stays empty."""
    out = tmp_path / "rows.txt"
    proc = subprocess.Popen([sys.executable, "-m", "leakgan_tf.sample", f"--logdir={run}", f"--num={10 ** 15}",
                             f"--out={out}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                            env=quiet_env())
    deadline = time.time() + 300
    while not any(p.stat().st_size for p in tmp_path.glob(".rows.txt.*.tmp")) and time.time() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM and (stdout, stderr) == ("", ""), (proc.returncode, stderr)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- item 5: --help

def test_help_lists_the_flags_by_group_and_exits_0():
    import dataclasses

    from leakgan_tf.config import Config
    from leakgan_tf.flags import CONFIG_GROUPS, RUN_FLAGS
    result = user("--help", module="leakgan_tf.main")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    text = result.stdout
    assert text.startswith("Train LeakGAN") and "Try --helpfull" not in text
    titles = ["run:"] + [f"{title}:" for title in CONFIG_GROUPS.values()]
    assert [line for line in text.splitlines() if line in titles] == titles
    shown = {m.group(1) for m in re.finditer(r"^  --(?:\[no\])?(\w+)(?:=FILE| \(default: .*\))?$", text, re.M)}
    assert shown == {f.name for f in dataclasses.fields(Config)} | set(RUN_FLAGS)
    assert "  --seq_len (default: 20)\n      sequence length T\n" in text
    for module, names in [("leakgan_tf.sample", ["logdir", "num", "beta", "seed", "out", "ids", "export"]),
                          ("leakgan_tf.evaluate", ["logdir", "seed", "generated_num", "out", "betas", "plot"])]:
        result = user("-h", module=module)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert re.findall(r"^  --(?:\[no\])?(\w+)", result.stdout, re.M) == names, result.stdout


# ---------------------------------------------------------------- bad values of every flag

BAD = [
    ("leakgan_tf.sample", ["--beta=inf"], ["--beta", "finite"]),
    ("leakgan_tf.sample", [f"--seed={2 ** 63}"], ["--seed"]),
    ("leakgan_tf.sample", ["--logdir="], ["--logdir is required"]),
    ("leakgan_tf.sample", ["--logdir={tmp}/nowhere"], ["config.json not found"]),
    ("leakgan_tf.sample", ["--out="], ["--out is empty"]),
    ("leakgan_tf.sample", ["--out={tmp}"], ["is a folder"]),
    ("leakgan_tf.sample", ["--out={tmp}/no/such/rows.txt"], ["does not exist"]),
    ("leakgan_tf.sample", ["--out={run}/config.json"], ["a file of the run"]),
    ("leakgan_tf.sample", ["--export={tmp}/e", "--num=3", "--seed=2"], ["--num, --seed", "ignored"]),
    ("leakgan_tf.sample", ["rows"], ["unexpected arguments"]),
    ("leakgan_tf.evaluate", ["--betas=1.0,,2"], ["--betas", "empty entry"]),
    ("leakgan_tf.evaluate", ["--betas=1.0,inf"], ["--betas", "finite"]),
    ("leakgan_tf.evaluate", [f"--seed={2 ** 63}"], ["--seed"]),
    ("leakgan_tf.evaluate", ["--generated_num=1"], ["--generated_num=1", "below one batch"]),
    ("leakgan_tf.evaluate", [f"--generated_num={10 ** 15}"], ["--generated_num", "memory"]),
    ("leakgan_tf.evaluate", ["--betas=1", "--plot="], ["--plot is empty"]),
    ("leakgan_tf.evaluate", ["--betas=1", "--out={tmp}/s.json", "--plot={tmp}/s.json"], ["same file"]),
    ("leakgan_tf.evaluate", ["--out={run}/config.json"], ["a file of the run"]),
    ("leakgan_tf.evaluate", ["--logdir="], ["--logdir is required"]),
]


@pytest.mark.parametrize("module,args,fragments", BAD, ids=[f"{m.split('.')[1]}{' '.join(a)}" for m, a, _ in BAD])
def test_bad_flag_value_is_one_line_and_writes_nothing(run, tmp_path, module, args, fragments):
    args = [a.format(tmp=tmp_path, run=run) for a in args]
    if not any(a.startswith("--logdir") for a in args):
        args.insert(0, f"--logdir={run}")
    before = {"run": snapshot(run), "tmp": snapshot(tmp_path)}
    started = time.time()
    assert_refused(user(*args, module=module), *fragments)
    assert time.time() - started < 120
    assert {"run": snapshot(run), "tmp": snapshot(tmp_path)} == before
