"""The same seed gives the same run: tiny trainings in fresh processes write
identical sample files, with and without --deterministic (TensorFlow's op
determinism, TF32 off: what a GPU run needs for the same guarantee). That another
seed gives other samples (so that equal files mean something) is tests/test_train.py's
`other_seed` run."""
import json

from tests.helpers import tiny_flags
from tests.test_cli import cli


def samples(tmp_path, name, **flags):
    flagfile = tmp_path / f"{name}.cfg"
    flagfile.write_text(tiny_flags(adversarial_iterations=1, **flags))
    result = cli(f"--flagfile={flagfile}", f"--logdir={tmp_path / name}")
    assert result.returncode == 0, result.stderr
    # one start-up line says what the run uses; runtime.json records it
    runtime = json.loads((tmp_path / name / "runtime.json").read_text())
    assert set(runtime) == {"backend", "devices", "replicas", "xla", "native_ops", "deterministic", "tensorflow"}
    assert runtime["deterministic"] == ("on" if flags.get("deterministic") else "off") and runtime["xla"] == "none"
    start = [line for line in result.stdout.splitlines() if "native_ops: " in line]
    assert len(start) == 1 and f"devices: {runtime['devices']} |" in start[0] and "CPU" in runtime["devices"], \
        result.stdout
    return {p.name: p.read_bytes() for p in sorted((tmp_path / name / "samples").glob("*.txt"))}


def test_same_seed_same_samples_with_and_without_op_determinism(tmp_path):
    first = samples(tmp_path, "a")
    assert first and samples(tmp_path, "b", deterministic=True) == first  # no op it runs needed another kernel
