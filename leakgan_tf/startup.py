"""What a CLI does before it imports TensorFlow: keep TensorFlow's C++ start-up
lines (CPU feature notices, oneDNN notices, and an error-level oneDNN line that
is false on some CPUs) off the console unless the user asks for them, and turn
on TensorFlow's oneDNN CPU kernels on x86 (`prefer_onednn`).

TensorFlow reads TF_CPP_MIN_LOG_LEVEL once, when it loads, so this must run
before the first `import tensorflow`. A user who sets TF_CPP_MIN_LOG_LEVEL
keeps their value; `--verbosity=N` (absl's flag, N >= 0) on the command line
shows TensorFlow's lines too (TF_CPP_MIN_LOG_LEVEL=0).
"""
import os
import platform
import sys

# The quiet import lives with the oracle tool, which stands alone (tests/test_layout.py)
# and needs it too.
from synthetic_oracle.quiet import import_tensorflow_quietly

QUIET_LEVEL = "3"  # 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR


def _verbosity(argv):
    """The value of --verbosity/-v given on the command line, or None."""
    for i, arg in enumerate(argv):
        for name in ("--verbosity", "-v"):
            if arg.startswith(name + "="):
                value = arg.split("=", 1)[1]
            elif arg == name and i + 1 < len(argv):
                value = argv[i + 1]
            else:
                continue
            try:
                return int(value)
            except ValueError:
                return None  # absl reports the bad value itself
    return None


def quiet_tensorflow(argv=None, environ=None):
    """Sets TF_CPP_MIN_LOG_LEVEL for this process unless the user set it:
    3 (silent) by default, 0 with --verbosity >= 0 on the command line."""
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    if "TF_CPP_MIN_LOG_LEVEL" in environ:
        return environ["TF_CPP_MIN_LOG_LEVEL"]
    verbosity = _verbosity(argv[1:])
    environ["TF_CPP_MIN_LOG_LEVEL"] = "0" if verbosity is not None and verbosity >= 0 else QUIET_LEVEL
    return environ["TF_CPP_MIN_LOG_LEVEL"]


def prefer_onednn(environ=None, machine=None):
    """Sets TF_ENABLE_ONEDNN_OPTS=1 on x86-64 unless the user set it; returns its value.

    TensorFlow turns its oneDNN kernels on by default only on x86 CPUs with
    AVX-512 VNNI/BF16 or AMX. On the 2-core AVX2 machine of docs/performance.md
    they made generation about 1.3x, the MLE epoch and the adversarial G step
    about 1.2x faster and the D epoch no slower (experiments/bench_speed.py,
    3 alternating rounds; their dense matmul peak is 170 GFLOP/s against Eigen's
    140). TF_ENABLE_ONEDNN_OPTS=0 in the environment keeps TensorFlow's own kernels.
    """
    environ = os.environ if environ is None else environ
    machine = platform.machine() if machine is None else machine
    if "TF_ENABLE_ONEDNN_OPTS" not in environ and machine.lower() in ("x86_64", "amd64"):
        environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    return environ.get("TF_ENABLE_ONEDNN_OPTS")


def prepare_environment(argv=None, environ=None):
    """TensorFlow's environment (log level, oneDNN) without importing it; returns the
    log level. A CLI calls this when it loads and `before_tensorflow` once its flags
    are checked, so a bad flag is reported at once, not after TensorFlow's ~4 s import."""
    level = quiet_tensorflow(argv, environ)
    prefer_onednn(environ)
    return level


def before_tensorflow(argv=None, environ=None):
    """Everything a CLI does before it uses TensorFlow: log level, oneDNN, and
    the import itself without the oneDNN notice unless TensorFlow's INFO lines
    were asked for (TF_CPP_MIN_LOG_LEVEL=0 or --verbosity)."""
    level = prepare_environment(argv, environ)
    if level != "0" and "tensorflow" not in sys.modules:
        import_tensorflow_quietly()


def configure_devices(environ=None) -> list[str]:
    """After TensorFlow is imported, before it makes a tensor: GPU memory growth on (one
    process no longer takes every GPU's whole memory; TF_FORCE_GPU_ALLOW_GROWTH=false
    keeps TensorFlow's default), and a `warning:` line when a CUDA build of TensorFlow
    sees no GPU (it trains on the CPU then). Returns the physical GPUs' names."""
    import tensorflow as tf
    environ = os.environ if environ is None else environ
    gpus = tf.config.list_physical_devices("GPU")
    if environ.get("TF_FORCE_GPU_ALLOW_GROWTH", "").lower() != "false":
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # the device was initialised already: keep what it has
                pass
    if tf.test.is_built_with_cuda() and not gpus:
        print("warning: this TensorFlow is built with CUDA but sees no GPU (check CUDA_VISIBLE_DEVICES and the "
              "driver; TensorFlow's own lines: --verbosity=0); training runs on the CPU", file=sys.stderr, flush=True)
    return [gpu.name for gpu in gpus]
