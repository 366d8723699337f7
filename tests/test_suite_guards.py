"""The suite's own guards (pyproject.toml's pytest options): a test that hangs and a
worker that dies (a native abort, as the pooled convolution's shape function once did
on AVX-512 CPUs) fail the run in bounded time instead of hanging it."""
import subprocess
import sys
import textwrap
import time

import pytest

from tests.conftest import REPO_ROOT

HANGS = """
import time
def test_hangs():
    time.sleep(3600)
"""
DIES = """
import os
def test_dies():
    os.abort()
"""
BUSY = """
import time
def test_busy():
    time.sleep(8)
"""


@pytest.mark.parametrize("modules,culprit", [
    ({"test_hangs.py": HANGS}, "test_hangs.py::test_hangs"),
    ({"test_dies.py": DIES}, "test_dies.py::test_dies"),
    # a worker dies while the other is busy: xdist hung here when it replaced the dead worker
    ({"test_dies.py": DIES, "test_busy.py": BUSY}, "test_dies.py::test_dies"),
])
def test_a_hung_test_or_a_dead_worker_fails_the_run_instead_of_hanging_it(tmp_path, modules, culprit):
    for name, text in {**modules, "test_fine.py": "def test_fine():\n    pass\n"}.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    start = time.monotonic()
    # the repository's pytest options (two workers, loadfile, no worker restarts, the thread
    # timeout) with a short timeout in place of the suite's
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-c", str(REPO_ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "--timeout=5",
                           str(tmp_path)],
                          capture_output=True, text=True, timeout=240, cwd=tmp_path)
    elapsed = time.monotonic() - start
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert f"crashed while running '{culprit}'" in output, output[-3000:]
    assert elapsed < 120, elapsed
