"""What a CLI does before it imports TensorFlow: keep TensorFlow's C++ start-up
lines (CPU feature notices, oneDNN notices, and an error-level oneDNN line that
is false on some CPUs) off the console unless the user asks for them.

TensorFlow reads TF_CPP_MIN_LOG_LEVEL once, when it loads, so this must run
before the first `import tensorflow`. A user who sets TF_CPP_MIN_LOG_LEVEL
keeps their value; `--verbosity=N` (absl's flag, N >= 0) on the command line
shows TensorFlow's lines too (TF_CPP_MIN_LOG_LEVEL=0).
"""
import os
import sys

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
