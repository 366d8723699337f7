"""Every command in README.md (its ```bash blocks) and in WORKSPACE.md's "Run,
test, measure" block is run, in order, in a copy of the repository, so a
documented flag, module or file that no longer exists fails CI.

How a command is run (the mechanism, documented in WORKSPACE.md):
  - `python3 -m venv …` and `pip install …` steps are skipped (this suite already
    runs inside the installed package); `python`/`.venv/bin/python` is this
    interpreter; `pytest` (this suite) is skipped; `tensorboard` (a server) is
    asked for its version.
  - `leakgan_tf.main` training commands get TINY_ORACLE / TINY_TEXT appended (later
    flags win over the flagfile), so they run the whole pipeline in seconds;
    `--dry_run` commands run as written.
  - `experiments/*.py` and `experiments/*.sh` run with LEAKGAN_DOCCHECK=1: they parse their arguments and
    stop before the work (experiments/doccheck.py; each benchmark's own test runs
    its work at tiny sizes).
  - Placeholders (DIR, /data/bench, /tmp/…, ~/LeakGAN, my_train.txt) become paths
    in the test's folder; `[optional …]` parts are dropped.
Commands that need the shared data are skipped, with the reason, when it is absent.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, shared_data_path
from tests.test_cli import TINY_FLAGS

pytestmark = pytest.mark.heavy(seconds=210)  # measured on 2 cores; orders the modules (conftest)

TINY_ORACLE = [line for line in TINY_FLAGS.split() if not line.startswith(("--adversarial_iterations",
                                                                           "--checkpoint_every"))]
# XLA off: its compile time would dominate a run this small.
TINY_ORACLE += ["--adversarial_iterations=2", "--checkpoint_every=1", "--oracle_params=", "--xla_phases="]
TINY_TEXT = ["--seq_len=32", "--batch_size=4", "--gen_emb_dim=8", "--gen_hidden_dim=8", "--goal_size=4",
             "--dis_emb_dim=8", "--dis_filter_sizes=1,2,3,32", "--dis_num_filters=4,4,4,4", "--generated_num=32",
             "--sample_batch=16", "--pretrain_blocks=1", "--pretrain_d_rounds=1", "--d_epochs=1",
             "--pretrain_g_epochs=1", "--pretrain_eval_epochs=", "--adversarial_iterations=0", "--max_vocab=300",
             "--mle_epoch_fraction=0.01", "--xla_phases="]  # no evaluation: NLL-test over COCO's 10k test rows
                                                           # at B = 4 would take most of the time
SETUP_STEP = re.compile(r"^(python3? -m venv \S+|\S*pip3? install .*)$")


def readme_commands(text):
    """Command lines of the ```bash blocks, in order (continuations joined, comments dropped)."""
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in _lines(block.splitlines())]


def workspace_commands(text):
    """Command lines of the indented block under WORKSPACE.md's "## Run, test, measure"."""
    section = text.split("## Run, test, measure", 1)[1].split("\n## ", 1)[0]
    return list(_lines(line[4:] for line in section.splitlines() if line.startswith("    ")))


def _lines(raw):
    joined = ""
    for line in raw:
        joined += line.rstrip()
        if joined.endswith("\\"):
            joined = joined[:-1] + " "
            continue
        command = re.split(r"\s{2,}#", joined, maxsplit=1)[0].strip()
        joined = ""
        if command and not command.startswith("#"):
            yield command


def steps(command):
    """The steps of a documented command that this suite runs (setup steps dropped)."""
    return [step.strip() for step in command.split("&&") if not SETUP_STEP.match(step.strip())]


def plan(step, work, data):
    """(argv, extra environment) to run one documented step in `work`, or a str: why it is skipped."""
    step = re.sub(r"\s\[[^\]]*\]", "", step)  # [optional parts]
    step = step.replace("~/LeakGAN", str(work / "LeakGAN")).replace("/data/bench", str(work / "bench"))
    step = re.sub(r"(?<![\w/])/tmp/", str(work / "tmp") + "/", step)
    words = [str(work / "dir") if w == "DIR" else re.sub(r"=DIR$", f"={work / 'dir'}", w) for w in shlex.split(step)]
    exe, args = words[0], words[1:]
    env = {}
    if exe.endswith("pytest") or args[:2] == ["-m", "pytest"]:
        return "the test suite itself"
    if exe.endswith("tensorboard"):
        return [sys.executable, "-m", "tensorboard.main", "--version_tb"], env
    if exe.endswith("ruff"):
        return [sys.executable, "-m", "ruff", *args], env
    if exe.startswith("experiments/") and exe.endswith(".sh"):  # a script: checks its arguments and stops
        return ["bash", exe, *args], {"LEAKGAN_DOCCHECK": "1"}
    if not re.search(r"(^|/)python3?$", exe):
        return f"not a Python command: {exe}"
    if args and args[0].startswith("experiments/"):
        env["LEAKGAN_DOCCHECK"] = "1"
    needs_data = any("coco" in a or "emnlp" in a or "oracle_params" in a for a in args) or \
        (args and args[0] == "experiments/oracle_benchmark.py" and "--report_only" not in args)
    if args[:2] == ["-m", "leakgan_tf.main"] and "--dry_run" not in args:
        text = any("coco" in a or "emnlp" in a or a == "--dataset=text" for a in args)
        args = args + (TINY_TEXT if text else TINY_ORACLE)
        needs_data = text
    if needs_data and data is None and "LEAKGAN_DOCCHECK" not in env:
        return "needs the shared data ($LEAKGAN_SHARED_DATA)"
    return [sys.executable, *args], env


def documented():
    """(where, step) for every documented step, in order, without repeats."""
    seen, out = set(), []
    for where, commands in (("README.md", readme_commands((REPO_ROOT / "README.md").read_text())),
                            ("WORKSPACE.md", workspace_commands((REPO_ROOT / "WORKSPACE.md").read_text()))):
        for command in commands:
            for step in steps(command):
                if same_as(step) not in seen:
                    seen.add(same_as(step))
                    out.append((where, step))
    return out


def same_as(step):
    """What a step runs, as `plan` runs it: `.venv/bin/python` and `python` are one
    interpreter, `[optional …]` parts are dropped, `runs/` is `runs`."""
    step = re.sub(r"\s\[[^\]]*\]", "", step)
    step = re.sub(r"^\S*/(python3?|tensorboard)(?=\s)", r"\1", step)
    return re.sub(r"/(?=\s|$)", "", step)


def run_step(step, work, data):
    planned = plan(step, work, data)
    if isinstance(planned, str):
        pytest.skip(planned)
    argv, extra = planned
    env = dict(os.environ, **extra)
    if data is not None:
        env["LEAKGAN_SHARED_DATA"] = str(data)
    return subprocess.run(argv, cwd=work / "repo", env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A copy of the repository to run the commands in (their runs/ stay out of the real one)."""
    work = tmp_path_factory.mktemp("docs")
    shutil.copytree(REPO_ROOT, work / "repo", ignore=shutil.ignore_patterns(
        ".git", ".venv", "runs", "__pycache__", ".pytest_cache", "*.egg-info", "exported"))
    (work / "tmp").mkdir()
    data = shared_data_path()
    if data.is_dir():  # the README's own-text example names my_train.txt / my_test.txt
        for name, split in (("my_train.txt", "train"), ("my_test.txt", "test")):
            lines = (data / "image_coco" / f"{split}.txt").read_text().splitlines()[:300]
            (work / "repo" / name).write_text("\n".join(lines) + "\n")
    return work


@pytest.fixture(scope="module")
def data():
    path = shared_data_path()
    return path if path.is_dir() else None


@pytest.mark.parametrize("where,step", documented(), ids=lambda v: v if v.endswith(".md") else v[:70])
def test_documented_command_runs(where, step, work, data):
    result = run_step(step, work, data)
    assert result.returncode == 0, f"{where}: {step}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


def test_every_readme_section_has_commands_found():
    """The extraction itself: README's two first commands and the benchmark lines are seen."""
    found = [step for _, step in documented()]
    readme = (REPO_ROOT / "README.md").read_text()
    first_two = readme_commands(readme)[:2]
    assert "leakgan_tf.main --flagfile=experiments/quick.cfg" in first_two[0]
    assert "pytest" in first_two[1]
    assert any(step.startswith("python experiments/bench_speed.py") for step in found)
    assert any("synthetic_oracle" in step for step in found)


@pytest.mark.parametrize("original,broken", [
    ("--num 10", "--number 10"),                          # a renamed flag of an entry point
    ("leakgan_tf.sample", "leakgan_tf.sampler"),          # a module that does not exist
    ("--pretrain_blocks=2", "--pretrain_block=2"),         # a renamed training flag
])
def test_a_broken_documented_command_fails(original, broken, tmp_path):
    """A deliberately broken copy of a documented command fails the way the test above would."""
    candidates = [step for _, step in documented() if original in step]
    assert candidates, f"no documented command contains {original!r}"
    (tmp_path / "repo").mkdir()
    shutil.copytree(REPO_ROOT / "experiments", tmp_path / "repo" / "experiments")
    os.symlink(REPO_ROOT / "leakgan_tf", tmp_path / "repo" / "leakgan_tf")
    os.symlink(REPO_ROOT / "synthetic_oracle", tmp_path / "repo" / "synthetic_oracle")
    (tmp_path / "tmp").mkdir()
    result = run_step(candidates[0].replace(original, broken), tmp_path, None)
    assert result.returncode != 0, result.stdout
