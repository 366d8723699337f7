"""--distribute=multiworker with two real worker processes on this machine
(TF_CONFIG with loopback ports chosen free at run time), on the tiny schedule (one
pretraining block, two adversarial iterations):

- the final checkpoint equals a one-process run of the same global batch
  (floats within rtol 1e-3 / atol 5e-5, as tests/test_distribute.py: Adam
  amplifies summation-order rounding; integers exactly);
- only the chief writes the logdir (the same files as the one-process run; the
  other worker's private folder is gone at exit);
- a SIGKILL of one worker, then of the other (left waiting in a collective), and a
  restart of both resume from the chief's last checkpoint and end where the
  uninterrupted run ended.

LEAKGAN_SKIP_MULTIWORKER=1 skips it (for machines that cannot open loopback ports);
it also skips, saying why, when no loopback port can be bound.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO_ROOT
from tests.helpers import tiny_flags

pytestmark = pytest.mark.heavy(seconds=150)  # measured on 2 cores; orders the modules (conftest)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture(scope="module")
def ports():
    if os.environ.get("LEAKGAN_SKIP_MULTIWORKER") == "1":
        pytest.skip("LEAKGAN_SKIP_MULTIWORKER=1")
    try:
        free_ports(2)
    except OSError as e:
        pytest.skip(f"cannot bind a loopback port ({e}); the two-worker test needs 127.0.0.1")
    return free_ports


def start(flagfile, logdir, index=None, ports=None, scratch=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    args = [sys.executable, "-m", "leakgan_tf.main", f"--flagfile={flagfile}", f"--logdir={logdir}"]
    if index is not None:
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                       "task": {"type": "worker", "index": index}})
        env["TMPDIR"] = str(scratch)
        args.append("--distribute=multiworker")
    return subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(procs, timeout=300):
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]
    return outputs


def two_workers(flagfile, logdir, ports, scratch):
    scratch.mkdir(exist_ok=True)
    return [start(flagfile, logdir, i, ports, scratch) for i in range(2)]


def checkpoint_values(logdir):
    reader = tf.train.load_checkpoint(str(logdir / "checkpoints"))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map() if "OBJECT_GRAPH" not in k}


def assert_same_checkpoint(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if np.issubdtype(a[key].dtype, np.floating):
            np.testing.assert_allclose(b[key], a[key], rtol=1e-3, atol=5e-5, err_msg=key)
        else:
            np.testing.assert_array_equal(b[key], a[key], err_msg=key)


def names(logdir):
    return sorted(str(p.relative_to(logdir)) for p in logdir.rglob("*") if "events.out" not in p.name)


def test_two_workers_equal_one_process_and_resume_after_a_kill(tmp_path, ports):
    flagfile = tmp_path / "tiny.cfg"
    flagfile.write_text(tiny_flags())
    single = tmp_path / "single"
    reference = start(flagfile, single)
    multi, scratch = tmp_path / "multi", tmp_path / "scratch"
    outputs = finish([reference] + two_workers(flagfile, multi, ports(2), scratch))
    assert "(chief: writes the logdir)" in outputs[1] and "writes nothing there" in outputs[2]
    assert_same_checkpoint(checkpoint_values(single), checkpoint_values(multi))
    assert names(multi) == names(single), "the chief alone wrote the logdir, the same files as one process"
    assert list(scratch.iterdir()) == [], "the other worker's private folder is removed"

    # SIGKILL worker 1 once the chief has a checkpoint, then the chief (it waits in a collective
    # for its peer); restarting both resumes from the chief's last checkpoint.
    killed = tmp_path / "killed"
    procs = two_workers(flagfile, killed, ports(2), scratch)
    try:
        deadline = time.time() + 300
        while not (killed / "checkpoints" / "checkpoint").exists() and time.time() < deadline:
            assert all(p.poll() is None for p in procs), [p.communicate()[0][-2000:] for p in procs]
            time.sleep(0.05)
        procs[1].send_signal(signal.SIGKILL)
        procs[0].send_signal(signal.SIGKILL)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    outputs = finish(two_workers(flagfile, killed, ports(2), scratch))
    assert "[resume]" in outputs[0] and "[resume]" in outputs[1], outputs[0][-2000:]
    assert "2 adversarial iterations done" not in outputs[0], "killed before the end"
    assert_same_checkpoint(checkpoint_values(multi), checkpoint_values(killed))
