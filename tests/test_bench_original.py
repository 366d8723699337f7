"""experiments/bench_original.py: the in-memory Python-2/TF1 source transform
(spec §15) on a Python-2-style module written here, and the whole benchmark in
--smoke mode against a checkout of the original named by $LEAKGAN_ORIGINAL_DIR."""
import json
import os
import pathlib
import platform
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.helpers import load_experiment

REPO = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = REPO / "experiments" / "bench_original.py"


bench = load_experiment("bench_original")

# A module in the style of the original (Python 2.7, TensorFlow 1.2): integer `/`
# on Python ints and on an int32 loop counter, the private while_loop, cPickle, flags
# read at import time.
PY2_MODULE = textwrap.dedent('''\
    import tensorflow as tf
    from tensorflow.python.ops import tensor_array_ops, control_flow_ops
    import cPickle

    flags = tf.app.flags
    FLAGS = flags.FLAGS
    flags.DEFINE_integer('length', 4, 'sequence length')
    LENGTH = FLAGS.length
    HALF = LENGTH / 2
    QUARTER = 1 / 4.0
    STEPS = range(1, LENGTH / 2)

    def load(path):
        f = open(path, 'rb')
        return cPickle.load(f)

    def halves():
        ta = tensor_array_ops.TensorArray(dtype=tf.int32, size=LENGTH / 2)
        def body(i, ta):
            return i + 2, ta.write(i / 2, i * 10)
        _, ta = control_flow_ops.while_loop(cond=lambda i, _1: i < LENGTH, body=body,
                                            loop_vars=(tf.constant(0), ta))
        return ta.stack()

    def mean(total, n):
        total /= n
        return total
''')

# A Python 2 pickle (protocol 0) of ['café'] with a latin-1 byte string: Python 3
# reads it only with encoding='latin1' (as the original's target_params.pkl).
PY2_PICKLE = b"(lp0\nS'caf\\xe9'\np1\na."


def test_py2_div_has_python2_meaning():
    assert bench.py2_div(7, 2) == 3 and isinstance(bench.py2_div(7, 2), int)
    assert bench.py2_div(-7, 2) == -4  # floor, as Python 2
    assert bench.py2_div(7, 2.0) == 3.5 and bench.py2_div(7.0, 2) == 3.5
    assert bench.py2_div(np.int32(9), 4) == 2
    assert bench.py2_div(np.arange(5), 2).tolist() == [0, 0, 1, 1, 2]
    assert bench.py2_div(np.arange(5.0), 2).tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_transform_rewrites_exactly_the_python2_constructs():
    code, changes = bench.py2_compile(PY2_MODULE, "toy.py", ["--length=8"])
    text = "\n".join(what for _, what in changes)
    assert "import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()" in text
    assert "control_flow_ops.while_loop -> tf.while_loop" in text
    assert "import pickle as cPickle" in text and "cPickle.load(..., encoding='latin1')" in text
    assert "parse the flags after their definitions: ['toy.py', '--length=8']" in text
    lines = sorted(line for line, what in changes if "division" in what)
    assert lines == [9, 10, 11, 18, 20, 26]  # every '/' and '/=' of the module, nothing else
    # the flags are parsed right after the last definition, before FLAGS.length is read
    assert [line for line, what in changes if "flags" in what] == [7]


def test_transform_refuses_python2_only_syntax():
    with pytest.raises(bench.TransformError, match="toy.py:1"):
        bench.py2_compile("print 'hello'\n", "toy.py")


def test_transformed_module_runs_under_tensorflow_compat_v1(tmp_path):
    """Imported through Py2Finder in a fresh process (disable_v2_behavior is
    process-wide): flags parsed, integer divisions floor (also on the int32 loop
    counter, whose float result would not index a TensorArray), float division
    kept, the v1 while_loop used, the latin-1 pickle read, no file written."""
    (tmp_path / "toy.py").write_text(PY2_MODULE)
    (tmp_path / "params.pkl").write_bytes(PY2_PICKLE)
    before = sorted(p.name for p in tmp_path.iterdir())
    program = textwrap.dedent(f'''\
        import importlib.util, json, sys
        spec = importlib.util.spec_from_file_location("bench_original", {str(SCRIPT)!r})
        bench = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench)
        finder = bench.Py2Finder({str(tmp_path)!r}, ["--length=8"]).install()
        import toy
        with toy.tf.Session() as sess:
            halves = sess.run(toy.halves()).tolist()
        print(json.dumps(dict(length=toy.LENGTH, half=toy.HALF, quarter=toy.QUARTER, steps=list(toy.STEPS),
                              halves=halves, mean=toy.mean(9, 2), mean_float=toy.mean(9.0, 2),
                              pickle=toy.load({str(tmp_path / "params.pkl")!r}),
                              eager=toy.tf.executing_eagerly(),
                              floor_lines=sorted(finder.floor_lines["toy"]))))
    ''')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["length"] == 8 and out["half"] == 4 and out["quarter"] == 0.25
    assert out["steps"] == [1, 2, 3]
    assert out["halves"] == [0, 20, 40, 60]
    assert out["mean"] == 4 and out["mean_float"] == 4.5
    assert out["pickle"] == ["café"]
    assert out["eager"] is False
    assert out["floor_lines"] == [9, 11, 18, 20, 26]  # the integer ones; 1 / 4.0 (line 10) is not among them
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no bytecode cache or other file


ORIGINAL = os.environ.get("LEAKGAN_ORIGINAL_DIR")


@pytest.mark.skipif(not ORIGINAL, reason="set LEAKGAN_ORIGINAL_DIR to a checkout of CR-Gjx/LeakGAN to run the "
                                         "original side by side (bench_original --smoke)")
def test_smoke_against_the_original(tmp_path):
    checkout = pathlib.Path(ORIGINAL) / "Synthetic Data"
    files_before = sorted((str(f), f.stat().st_mtime_ns) for f in checkout.rglob("*"))
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(SCRIPT), "--original_dir", ORIGINAL, "--smoke", "--pairs", "2", "--out", str(out)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    configs = report["settings"]["original_configs"]
    assert len(configs) == 2
    for key, worker in report["workers"].items():
        assert abs(worker["ground_truth_nll"] - 5.75) < 0.05, (key, worker["ground_truth_nll"])
        if key != "ours":
            assert worker["hyperparameters"]["learning_rate"] == 0.0015  # the original's Main, length 20
            assert {"LeakGANModel", "Main"} <= set(worker["floor_division_lines"])
    assert set(report["phases"]) == set(bench.PHASES)
    for entry in report["phases"].values():
        assert entry["original_config"] in configs
        assert len(entry["pairs"]) == 2
        for pair in entry["pairs"]:
            assert pair["original"]["seconds"] > 0 and pair["ours"]["seconds"] > 0
            assert pair["ratio"] == pytest.approx(pair["original"]["seconds"] / pair["ours"]["seconds"], rel=1e-2)
            assert len(pair["original"]["loadavg_before"]) == 3
        assert entry["median_ratio"] == pytest.approx(float(np.median([p["ratio"] for p in entry["pairs"]])), abs=1e-3)
    assert set(report["rates"]) == {"oneDNN on", "oneDNN off"}
    assert report["rates"]["oneDNN on"]["process"]["onednn_enabled"] != report["rates"]["oneDNN off"]["process"][
        "onednn_enabled"]
    for phase, entry in report["phases"].items():  # floors: our FLOPs at the best rate measured in the run
        assert entry["ours_floor_seconds"] == min(r["floor_seconds"][phase] for r in report["rates"].values())
        assert entry["ratio_at_floor"] == pytest.approx(entry["median_original_seconds"] / entry["ours_floor_seconds"],
                                                        rel=1e-2)
    assert report["workers"]["ours"]["onednn_env"] == ("1" if platform.machine() == "x86_64" else None)
    screened = report["screening"]
    assert screened["adversarial_iteration"]["fastest"] == report["phases"]["adversarial_iteration"]["original_config"]
    for phase in ("generation", "mle_epoch", "d_epoch", "adversarial_step"):
        assert screened[phase]["fastest"] == report["phases"][phase]["original_config"]
        assert set(screened[phase]["seconds"]) == set(configs)
    assert sorted((str(f), f.stat().st_mtime_ns) for f in checkout.rglob("*")) == files_before  # checkout untouched
