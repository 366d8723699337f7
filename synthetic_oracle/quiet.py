"""Importing TensorFlow without its start-up notices on stderr: the lines it writes
whatever TF_CPP_MIN_LOG_LEVEL says (absl logs before its initialisation), e.g. its
"oneDNN custom operations are on" notice. Used by the oracle's CLI and by
leakgan_tf.startup."""
import os
import sys
import tempfile

# Lines TensorFlow writes to stderr whatever TF_CPP_MIN_LOG_LEVEL says (absl logs
# before its initialisation): its "oneDNN custom operations are on" notice.
START_UP_NOTICES = ("All log messages before absl::InitializeLog() is called", "oneDNN custom operations are on")


def import_tensorflow_quietly():
    """Imports TensorFlow and asks it once whether oneDNN is on (which is when it
    prints its notice, twice) with stderr captured, then writes back every
    captured line except those notices. Runs no op, so a multi-worker strategy
    can still be created afterwards."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
            from tensorflow.python.util import _pywrap_util_port
            _pywrap_util_port.IsMklEnabled()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not any(n in line for n in START_UP_NOTICES)))
            sys.stderr.flush()
