"""Building and loading the native ops (leakgan_tf/models/native.py): the cache key
(sources' bytes, compiler and its version, TensorFlow), two processes building at
once, a read-only cache, a failed build's log, a prebuilt library named by
$LEAKGAN_TF_NATIVE_LIB, a first build outside traced steps (falling back without a
compiler: test_pooled_conv.py)."""
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

from leakgan_tf import kernels
from leakgan_tf.kernels import native
from tests import helpers

needs_compiler = helpers.needs_compiler()
REPO = helpers.EXPERIMENTS.parent


def fake_compiler(tmp_path, name, script):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_the_key_follows_the_compiler_version_and_source_bytes_not_their_place(tmp_path, monkeypatch):
    environ = {native.CACHE: str(tmp_path)}
    old = fake_compiler(tmp_path, "cxx-old", 'echo "cc 11.0"\n')
    base = native.library_path(old, environ)
    assert base == native.library_path(old, environ)
    new = fake_compiler(tmp_path, "cxx-new", 'echo "cc 12.0"\n')
    (tmp_path / "cxx-new").rename(tmp_path / "cxx-x")  # the same name, another version
    (tmp_path / "cxx-old").write_text('#!/bin/sh\necho "cc 12.0"\n')
    assert native.library_path(old, environ) != base
    del new
    # the sources copied elsewhere (another install of the same release): the same library
    moved = tmp_path / "src"
    moved.mkdir()
    for source in (*native.SOURCES, native.HEADER):
        shutil.copy(source, moved / source.name)
    before = native.library_path(old, environ)
    monkeypatch.setattr(native, "SOURCES", [moved / s.name for s in native.SOURCES])
    monkeypatch.setattr(native, "HEADER", moved / native.HEADER.name)
    assert native.library_path(old, environ) == before
    (moved / native.SOURCES[0].name).write_text(native.SOURCES[0].read_text() + "// changed\n")
    assert native.library_path(old, environ) != before


def test_a_failed_build_keeps_the_compilers_whole_output_and_names_it(tmp_path):
    cxx = fake_compiler(tmp_path, "cxx", 'echo "first problem" >&2\necho "second problem" >&2\n'
                                         'echo "last line" >&2\nexit 1\n')
    environ = {native.CACHE: str(tmp_path / "cache"), "CXX": cxx}
    with pytest.raises(native.BuildError) as e:
        native.ensure_built(environ)
    log = native.build_log(native.library_path(cxx, environ))
    assert "last line" in str(e.value) and str(log) in str(e.value)
    assert "first problem\nsecond problem\nlast line\n" in log.read_text()
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.suffix in (".so", ".partial", ".objects")] == []


def test_an_interrupted_build_kills_its_compilers_at_once():
    """Ctrl-C or a stop signal during the parallel compile ends the compilers still running
    (and starts no queued one) instead of waiting for them."""
    import signal
    import time

    def interrupt(*_):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            native.run_commands([["sleep", "30"]] * 3, 2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - start < 10
    assert subprocess.run(["pgrep", "-f", "^sleep 30$"], capture_output=True).stdout == b""


def build_ops(environ):
    return subprocess.Popen([sys.executable, "-m", "leakgan_tf.build_ops"], cwd=REPO, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **environ},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


D_STEP = textwrap.dedent("""
    import tensorflow as tf
    from leakgan_tf.leakgan import LeakGAN
    from leakgan_tf.kernels import native
    from tests.helpers import tiny_config
    gan = LeakGAN(tiny_config())
    loss, _ = gan.discriminator_step(tf.zeros([4, 8], tf.int32), tf.constant([1, 0, 1, 0]))
    print(float(loss), native.max_pooled_conv_grad() is not None)
""")


def d_step(environ):
    """A fresh process (the op is loaded once per process) that builds LeakGAN and runs one tiny D step."""
    return subprocess.Popen([sys.executable, "-c", D_STEP], cwd=REPO, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **environ},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@needs_compiler
def test_a_fresh_cache_is_built_once_by_two_processes_at_once_then_loaded_and_a_prebuilt_library_too(tmp_path):
    """A training process (the first build runs when LeakGAN is built, not inside a
    traced step: AutoGraph warned about the compiler's subprocess there) and
    `python -m leakgan_tf.build_ops` start at once on a fresh cache: one builds (one
    `compiling` note), the other waits for its lock and loads the same library. Then
    runs load it from the cache or by $LEAKGAN_TF_NATIVE_LIB without a build or a note."""
    environ = {native.CACHE: str(tmp_path / "cache")}
    train, build = d_step(environ), build_ops(environ)
    (train_out, train_err), (path, build_err) = [p.communicate(timeout=600) for p in (train, build)]
    assert (train.returncode, build.returncode) == (0, 0), (train_err, build_err)
    assert train_out.split()[-1] == "True" and "AutoGraph" not in train_err, train_err
    notes = [line for line in (train_err + build_err).splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "compiling" in notes[0], notes
    path = path.strip()
    assert [p.name for p in (tmp_path / "cache").glob("*.so")] == [os.path.basename(path)]
    assert not [*(tmp_path / "cache").glob("*partial"), *(tmp_path / "cache").glob(".*partial"),
                *(tmp_path / "cache").glob(".*objects")]
    for extra in ({native.PREBUILT: path, native.CACHE: str(tmp_path / "elsewhere")}, environ):
        out, err = (run := d_step(extra)).communicate(timeout=600)
        assert run.returncode == 0 and out.split()[-1] == "True", err
        assert "note:" not in err and "AutoGraph" not in err, err
    assert not (tmp_path / "elsewhere").exists()


def test_a_missing_prebuilt_library_or_a_read_only_cache_falls_back_with_a_note(tmp_path):
    script = textwrap.dedent("""
        from leakgan_tf.kernels import native
        print(native.load())
    """)
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1M", "tmpfs", str(readonly)],
                             capture_output=True).returncode == 0
    try:
        cases = [({native.PREBUILT: str(tmp_path / "none.so")}, "is not a file")]
        if mounted and shutil.which(native.compiler()):
            cases.append(({native.CACHE: str(readonly)}, "Read-only file system"))
        for extra, why in cases:
            done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                                  timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra})
            assert done.returncode == 0 and done.stdout.split()[-1] == "False", done.stderr
            notes = [line for line in done.stderr.splitlines() if line.startswith("note:")]
            if kernels.visible_gpus():  # a GPU backend never loads the CPU ops: no note, whatever the setting
                assert notes == [], done.stderr
            else:
                assert notes and why in notes[-1] and native.SWITCH in notes[-1], done.stderr
    finally:
        if mounted:
            subprocess.run(["umount", str(readonly)])
    if not mounted:
        pytest.skip("could not mount a read-only tmpfs here: the read-only cache case did not run")
