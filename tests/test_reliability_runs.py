"""A run folder in trouble (issue 35), as a user meets it: a lost or stale checkpoint
index, two trainings on one --logdir, damaged checkpoints and settings, a text
corpus smaller than a batch, a full disk; and what a run leaves for the user: the
decoded text of a text run's samples and every scalar as CSV.

Every refused case checks the exit code, the one `error:` line (no traceback) and
that the run folder's files are byte for byte what they were before."""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from leakgan_tf.errors import UserError
from leakgan_tf.summaries import ScalarsFile, read_scalars_csv
from tests.conftest import REPO_ROOT
from tests.helpers import TINY_CLI, TINY_SCHEDULE, tiny_config, tiny_flags, tiny_trainer
from tests.test_cli import assert_one_line_error, cli

pytestmark = pytest.mark.heavy(seconds=250)  # measured on 2 cores; orders the modules (conftest)

CKPT_FILES = {f"checkpoints/ckpt-{i}.{s}" for i in (1, 2, 3) for s in ("index", "data-00000-of-00001")}


def snapshot(folder):
    """{relative path: bytes} of every file under folder (None for a folder)."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def event_scalars(logdir):
    """{(tag, step): value} of the scalar summaries in logdir's event files (a step
    written twice: its last value, as TensorBoard shows it)."""
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    acc.Reload()
    return {(tag, e.step): float(tf.make_ndarray(e.tensor_proto)) for tag in acc.Tags()["tensors"]
            if acc.SummaryMetadata(tag).plugin_data.plugin_name == "scalars" for e in acc.Tensors(tag)}


def assert_csv_matches_events(logdir):
    csv = read_scalars_csv(logdir / "scalars.csv")
    events = event_scalars(logdir)
    assert set(csv) == set(events)
    for key, value in events.items():
        assert np.float32(csv[key][0]) == np.float32(value), key  # the event files keep float32
    lines = (logdir / "scalars.csv").read_text().splitlines()
    assert lines[0] == "tag,step,value,wall_time" and len(lines) == 1 + len(csv), "one row per (tag, step)"
    return csv


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A finished tiny oracle run of the CLI (pretraining block, 2 adversarial
    iterations, checkpoints ckpt-1..3) and its flagfile (without --logdir)."""
    root = tmp_path_factory.mktemp("base")
    flagfile = root / "tiny.cfg"
    flagfile.write_text(tiny_flags(adversarial_iterations=2))
    result = cli(f"--flagfile={flagfile}", f"--logdir={root / 'run'}")
    assert result.returncode == 0, result.stderr
    assert set(snapshot(root / "run")) >= CKPT_FILES
    return root / "run", flagfile


def copy_run(base, where):
    shutil.copytree(base[0], where)
    return where


# ---------------------------------------------------------------- item 1: the checkpoint index

def test_lost_checkpoint_index_resumes_from_the_newest_files_and_overwrites_none(base, tmp_path):
    run = copy_run(base, tmp_path / "run")
    (run / "checkpoints" / "checkpoint").unlink()
    before = snapshot(run)
    result = cli(f"--flagfile={base[1]}", f"--logdir={run}", "--adversarial_iterations=3")
    assert result.returncode == 0, result.stderr
    assert "newest complete checkpoint among the files" in result.stdout
    assert f"from {run / 'checkpoints' / 'ckpt-3'}: 1 pretraining blocks, 2 adversarial iterations done" \
        in result.stdout, result.stdout
    assert "[pretrain]" not in result.stdout.replace("[pretrain] D round", "")  # nothing redone from scratch
    after = snapshot(run)
    for name in CKPT_FILES | {"samples/adversarial_0000.txt", "samples/adversarial_0001.txt"}:
        assert after[name] == before[name], f"{name} was overwritten"
    assert "checkpoints/ckpt-4.index" in after and "samples/adversarial_0002.txt" in after
    assert_csv_matches_events(run)  # the resumed run's rows were appended, none twice


def test_stale_index_resumes_its_checkpoint_numbers_after_every_file_and_redone_rows_keep_the_last_value(
        base, tmp_path):
    """The index names ckpt-2 (as after a kill between writing ckpt-3 and recording it):
    the run resumes from ckpt-2, redoes iteration 1 and saves it as ckpt-4 (ckpt-3's
    files stay as they were); the redone iteration's CSV rows are replaced, not repeated."""
    run = copy_run(base, tmp_path / "run")
    index = run / "checkpoints" / "checkpoint"
    index.write_text('model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-1"\n'
                     'all_model_checkpoint_paths: "ckpt-2"\n')
    before = snapshot(run)
    old_rows = read_scalars_csv(run / "scalars.csv")
    trainer = tiny_trainer(tiny_config(**TINY_SCHEDULE, **TINY_CLI), run, checkpoint_every=1)
    trainer.run()
    after = snapshot(run)
    assert all(after[name] == before[name] for name in CKPT_FILES), "ckpt-1, ckpt-2 and ckpt-3 untouched"
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-4")
    rows = assert_csv_matches_events(run)
    redone = ("adversarial/generator/goal_loss", 1)
    assert rows[redone][1] > old_rows[redone][1], "the redone unit's row holds the later write"
    assert rows[("pretrain/discriminator/loss", 0)] == old_rows[("pretrain/discriminator/loss", 0)]


@pytest.mark.parametrize("content,moved,restored,saved", [
    ("", False, 3, 4), ("model_checkpoint_path: \"ckpt-9\"\n", False, 3, 4), ("\x00garbage{", False, 3, 4),
    (None, True, 2, 3),
], ids=["empty", "names_lost_files", "garbled", "newest_moved_away"])
def test_unusable_checkpoint_index_resumes_from_the_files_quietly(base, tmp_path, capfd, content, moved, restored,
                                                                  saved):
    """An index file that is empty, garbled or names a checkpoint none of whose files
    is left (the fix the damaged-checkpoint error gives: move its files away)."""
    run = copy_run(base, tmp_path / "run")
    if content is not None:
        (run / "checkpoints" / "checkpoint").write_text(content)
    if moved:
        (tmp_path / "away").mkdir()
        for path in (run / "checkpoints").glob("ckpt-3.*"):
            path.rename(tmp_path / "away" / path.name)
    trainer = tiny_trainer(tiny_config(**TINY_SCHEDULE, **TINY_CLI), run)
    assert trainer.restore() == str(run / "checkpoints" / f"ckpt-{restored}")
    assert trainer.save() == str(run / "checkpoints" / f"ckpt-{saved}")
    assert tf.train.latest_checkpoint(str(run / "checkpoints")) == str(run / "checkpoints" / f"ckpt-{saved}")
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Couldn't match files" not in err and "Checkpoint ignored" not in err, err


# ---------------------------------------------------------------- item 3: damaged files

def _truncate(run):
    path = run / "checkpoints" / "ckpt-3.data-00000-of-00001"
    path.write_bytes(path.read_bytes()[:30000])


def _scribble(run):
    path = run / "checkpoints" / "ckpt-3.data-00000-of-00001"
    raw = bytearray(path.read_bytes())
    raw[20000:20300] = b"\xff" * 300
    path.write_bytes(bytes(raw))


def _garbage_index(run):
    (run / "checkpoints" / "ckpt-3.index").write_bytes(bytes(range(256)) * 12)


def _garbage_config(run):
    (run / "config.json").write_text('{"seq_len": 8,\n')


def _missing_data(run):
    (run / "checkpoints" / "ckpt-3.data-00000-of-00001").unlink()


def _no_complete_checkpoint(run):
    (run / "checkpoints" / "checkpoint").unlink()
    for path in (run / "checkpoints").glob("ckpt-*.data-*"):
        path.unlink()


@pytest.mark.parametrize("damage,fragments", [
    (_truncate, ["checkpoint", "ckpt-3 is damaged", "ckpt-3.data-00000-of-00001 is truncated", "ckpt-2"]),
    (_scribble, ["ckpt-3.data-00000-of-00001 is damaged", "checksums do not match", "ckpt-2", "--fresh"]),
    (_garbage_index, ["ckpt-3.index is damaged", "ckpt-2"]),
    (_missing_data, ["ckpt-3 is damaged", "its data file ckpt-3.data-00000-of-00001 is missing", "ckpt-2"]),
    (_garbage_config, ["config.json is damaged", "not JSON", "line 2", "--fresh"]),
    (_no_complete_checkpoint, ["no complete checkpoint", "ckpt-1.index", "--fresh"]),
], ids=["truncated_data", "bad_checksum", "garbage_index", "missing_data", "garbage_config",
        "no_complete_checkpoint"])
def test_damaged_run_folder_gets_one_line_naming_the_file_and_is_left_as_it_was(base, tmp_path, damage, fragments):
    run = copy_run(base, tmp_path / "run")
    damage(run)
    before = snapshot(run)
    result = cli(f"--flagfile={base[1]}", f"--logdir={run}", "--adversarial_iterations=3")
    assert result.returncode == 2
    assert_one_line_error(result, *fragments)
    assert "does not fit this model" not in result.stderr
    assert snapshot(run) == before


# ---------------------------------------------------------------- item 2: one training per logdir

def test_second_training_on_a_logdir_is_refused_naming_the_pid_and_a_crash_releases_it(base, tmp_path):
    logdir = tmp_path / "run"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    first = subprocess.Popen([sys.executable, "-m", "leakgan_tf.main", f"--flagfile={base[1]}", f"--logdir={logdir}",
                              "--adversarial_iterations=6"], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        deadline, line = time.time() + 300, ""
        for line in first.stdout:  # training, past start-up
            if line.startswith("[pretrain]") or time.time() > deadline:
                break
        assert line.startswith("[pretrain]"), line
        first.send_signal(signal.SIGSTOP)  # holds the lock and writes nothing while the second one tries
        before = snapshot(logdir)
        second = cli(f"--flagfile={base[1]}", f"--logdir={logdir}", "--adversarial_iterations=6")
        assert second.returncode == 2
        assert_one_line_error(second, f"--logdir={logdir} is in use by another training", f"pid {first.pid}")
        assert snapshot(logdir) == before
    finally:
        first.kill()  # a crash: the kernel releases the lock
        first.wait()
    third = cli(f"--flagfile={base[1]}", f"--logdir={logdir}", "--adversarial_iterations=6")
    assert third.returncode == 0, third.stderr
    assert (logdir / "samples" / "adversarial_0005.txt").exists()


# ---------------------------------------------------------------- item 4: a text corpus smaller than a batch

def sentences(count, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(12)]
    return "".join(" ".join(rng.choice(words, size=rng.integers(2, 7))) + "\n" for _ in range(count))


def text_flags(tmp_path, train_lines, test_lines=None, **overrides):
    (tmp_path / "train.txt").write_text(sentences(train_lines))
    files = {"train_file": tmp_path / "train.txt"}
    if test_lines is not None:
        (tmp_path / "test.txt").write_text(sentences(test_lines, seed=1))
        files["test_file"] = tmp_path / "test.txt"
    flagfile = tmp_path / "text.cfg"
    flagfile.write_text(tiny_flags(dataset="text", tokenizer="whitespace", **files, **overrides))
    return flagfile


@pytest.mark.parametrize("train_lines,test_lines,fragments", [
    (3, 10, ["the training split of --train_file=", "has 3 sentences", "--batch_size=4", "at least 4"]),
    (20, None, ["the test split of --train_file=", "has 2 sentences", "fewer than one batch", "at least 35 sentences",
                "--test_fraction=0.1"]),
], ids=["train_file_too_small", "split_too_small"])
def test_text_corpus_smaller_than_a_batch_says_how_many_lines_are_needed(tmp_path, train_lines, test_lines,
                                                                        fragments):
    flagfile = text_flags(tmp_path, train_lines, test_lines)
    result = cli(f"--flagfile={flagfile}", f"--logdir={tmp_path / 'run'}")
    assert result.returncode == 2
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "run").exists(), "nothing is written"


def test_folder_as_train_file_says_it_is_a_folder(tmp_path):
    (tmp_path / "corpus").mkdir()
    flagfile = tmp_path / "text.cfg"
    flagfile.write_text(tiny_flags(dataset="text", train_file=tmp_path / "corpus"))
    result = cli(f"--flagfile={flagfile}", f"--logdir={tmp_path / 'run'}", "--dry_run")
    assert_one_line_error(result, str(tmp_path / "corpus"))
    said = result.stderr.replace(str(tmp_path / "corpus"), "")  # the path itself holds the test's name
    assert "folder" in said or "directory" in said, result.stderr


@pytest.mark.parametrize("flags,says", [
    (dict(dis_filter_sizes=(1, 2, 3), dis_num_filters=(3, 4)), "--dis_filter_sizes has 3 widths but "
                                                               "--dis_num_filters has 2 counts"),
    (dict(oracle_params="FOLDER"), "is a folder, not a file"),
    (dict(dataset="text", train_file="CORPUS", min_count=0), "--min_count=0 must be >= 1"),
])
def test_flags_that_cannot_work_together_get_one_line(tmp_path, flags, says):
    (tmp_path / "FOLDER").mkdir()
    (tmp_path / "CORPUS").write_text("a b c\n" * 50)
    flags = {k: tmp_path / v if v in ("FOLDER", "CORPUS") else v for k, v in flags.items()}
    flagfile = tmp_path / "bad.cfg"
    flagfile.write_text(tiny_flags(**flags))
    result = cli(f"--flagfile={flagfile}", f"--logdir={tmp_path / 'run'}", "--dry_run")
    assert_one_line_error(result, says)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("tf_config,says", [
    ({"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}, "names no host"),
    ({"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "chief", "index": 0}}, "names no host"),
    ({"cluster": {}, "task": {"type": "worker", "index": 0}}, "needs TF_CONFIG"),
    ({"cluster": {"worker": "127.0.0.1:1"}, "task": {"type": "worker", "index": 0}}, "names no host"),
])
def test_a_cluster_description_that_cannot_work_gets_one_line(tmp_path, tf_config, says):
    import json
    flagfile = tmp_path / "mw.cfg"
    flagfile.write_text(tiny_flags(distribute="multiworker"))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_CONFIG=json.dumps(tf_config))
    result = subprocess.run([sys.executable, "-m", "leakgan_tf.main", f"--flagfile={flagfile}",
                             f"--logdir={tmp_path / 'run'}"], capture_output=True, text=True, cwd=REPO_ROOT,
                            timeout=600, env=env)
    assert_one_line_error(result, says)
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- item 6: text samples as text

def test_text_run_writes_decoded_sentences_beside_the_sample_ids(tmp_path):
    from leakgan_tf import data, text
    flagfile = text_flags(tmp_path, 60, 12, adversarial_iterations=1)
    result = cli(f"--flagfile={flagfile}", f"--logdir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stderr
    vocab = text.Vocabulary.load(tmp_path / "run" / "vocab.txt")
    names = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert names == ["adversarial_0000.text", "adversarial_0000.txt", "pretrain_0000.text", "pretrain_0000.txt"]
    for stem in ("pretrain_0000", "adversarial_0000"):
        ids = data.read_int_sequences(tmp_path / "run" / "samples" / f"{stem}.txt")
        lines = (tmp_path / "run" / "samples" / f"{stem}.text").read_text().split("\n")
        assert lines[-1] == "" and len(lines) - 1 == len(ids) == 16
        assert lines[:-1] == [vocab.decode_text(row, "whitespace") for row in ids]
        assert any(line.strip() for line in lines), "words, not only empty sentences"
    assert_csv_matches_events(tmp_path / "run")


# ---------------------------------------------------------------- item 7: scalars as CSV

def test_scalars_csv_holds_every_event_scalar(base):
    rows = assert_csv_matches_events(base[0])
    assert ("pretrain/nll_oracle", 0) in rows and ("adversarial/generator/goal_loss", 1) in rows


def test_scalars_csv_drops_a_row_cut_short_and_replaces_a_step_written_again(tmp_path):
    path = tmp_path / "scalars.csv"
    path.write_text("tag,step,value,wall_time\na/b,0,1.5,100.000\na/b,1,2.5,101.000\na/b,2,3.")  # killed mid-row
    table = ScalarsFile(path)
    assert table.rows == {("a/b", 0): (1.5, 100.0), ("a/b", 1): (2.5, 101.0)}
    assert path.read_text().endswith("3."), "reading writes nothing"
    table.add(2, {"a/b": 3.25, "c": float("nan")}, wall_time=102.0)
    table.add(1, {"a/b": 2.75}, wall_time=103.0)  # the unit redone after a kill
    table.add(3, {"a/b": 4.0}, wall_time=104.0)  # appended
    assert path.read_text() == ("tag,step,value,wall_time\na/b,0,1.5,100.000\na/b,1,2.75,103.000\n"
                                "a/b,2,3.25,102.000\nc,2,nan,102.000\na/b,3,4.0,104.000\n")


# ---------------------------------------------------------------- item 5: a full disk

@pytest.fixture
def small_disk(tmp_path):
    """mount(size) -> a folder on a tmpfs of that size (root only; skips otherwise)."""
    mounted = []

    def mount(size):
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        try:
            result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                                    capture_output=True, text=True, timeout=60)
        except OSError as e:
            pytest.skip(f"cannot mount a small tmpfs here: {e}")
        if result.returncode:
            pytest.skip(f"cannot mount a small tmpfs here (needs root): {result.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=60)


def test_disk_too_small_for_a_checkpoint_is_noticed_before_training(base, small_disk):
    disk = small_disk("3M")
    start = time.time()
    result = cli(f"--flagfile={base[1]}", f"--logdir={disk / 'run'}", "--vocab_size=8000")
    assert result.returncode == 2
    assert_one_line_error(result, "not enough free space for this run's checkpoints", "3.0 MB free",
                          "takes about", "choose another --logdir")
    assert "[pretrain]" not in result.stdout and time.time() - start < 120
    assert snapshot(disk) == {}, "nothing is written"


def test_disk_that_fills_during_a_run_stops_it_with_the_last_good_checkpoint_which_resumes(base, small_disk):
    disk = small_disk("3M")  # one checkpoint of this model (1.6 MB) fits, two do not
    args = (f"--flagfile={base[1]}", f"--logdir={disk / 'run'}", "--vocab_size=3000")
    result = cli(*args)
    assert result.returncode == 2
    assert_one_line_error(result, "not enough free space for checkpoint ckpt-2",
                          f"the last good checkpoint is {disk / 'run' / 'checkpoints' / 'ckpt-1'}")
    assert not [p for p in (disk / "run").rglob("*") if "_temp" in p.name or ".tmp" in p.name]
    subprocess.run(["mount", "-o", "remount,size=12M", str(disk)], check=True, timeout=60)
    resumed = cli(*args)
    assert resumed.returncode == 0, resumed.stderr
    assert f"from {disk / 'run' / 'checkpoints' / 'ckpt-1'}: 1 pretraining blocks" in resumed.stdout


def test_failed_checkpoint_write_leaves_no_temp_folder_and_names_the_last_good_one(small_disk):
    disk = small_disk("1M")
    trainer = tiny_trainer(tiny_config(**TINY_SCHEDULE), disk / "run")
    first = trainer.save()
    ballast = disk / "ballast"
    ballast.write_bytes(b"\0" * (shutil.disk_usage(disk).free - 24 * 1024))
    before = snapshot(disk / "run")
    with pytest.raises(UserError) as caught:
        trainer._write_checkpoint(2)  # what save() does after its free-space check: a real write on a full disk
    message = str(caught.value)
    assert message.startswith(f"could not write checkpoint {disk / 'run' / 'checkpoints' / 'ckpt-2'} "
                              f"(No space left on device); the last good checkpoint is {first}"), message
    assert "\n" not in message and "{{" not in message and "[Op:" not in message
    assert snapshot(disk / "run") == before, "the failed write's ckpt-2_temp folder is removed"
    ballast.unlink()
    assert trainer.save().endswith("ckpt-3")  # numbered past anything a failed save may have left

    again = tiny_trainer(tiny_config(**TINY_SCHEDULE), disk / "run")  # the disk fills after it started
    ballast.write_bytes(b"\0" * shutil.disk_usage(disk).free)
    with pytest.raises(UserError, match=r"cannot write .*config.json \(No space left on device\).*the last good "
                                        r"checkpoint is .*ckpt-3"):
        again.run()


# ---------------------------------------------------------------- other flags of the training CLI

def test_empty_logdir_is_refused(base):
    before = sorted(p.name for p in REPO_ROOT.iterdir())
    result = cli(f"--flagfile={base[1]}", "--logdir=")
    assert result.returncode == 2
    assert_one_line_error(result, "--logdir is empty")
    assert not {"config.json", "checkpoints", ".lock", "scalars.csv"} & (
        set(p.name for p in REPO_ROOT.iterdir()) - set(before))
