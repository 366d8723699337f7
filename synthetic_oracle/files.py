"""Files of the oracle tool: integer-sequence files (one sequence a line,
space-separated token ids, all lines of the same length T; read as int32
[N, T]) and atomic writes (a temp file next to the target, fsynced, renamed).

Errors a user can fix raise `error` (OracleError by default; leakgan_tf.data
passes its UserError), one line naming the problem and the fix.
"""
import contextlib
import os
import pathlib
import tempfile

import numpy as np

from synthetic_oracle.errors import OracleError

_INT32_MAX = np.iinfo(np.int32).max
_UMASK = os.umask(0o022)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)


def read_int_sequences(path, vocab_size=None, length=None, error=OracleError):
    """Reads a sequence file into int32 [N, T]; a one-line `error` on bad input.

    Args:
      path: the file.
      vocab_size: if given, every id must lie in [0, vocab_size).
      length: if given, every line must hold exactly this many ids.
    Trailing blank lines are ignored; ids must be non-negative.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise error(f"sequence file {path} not found; pass an existing file of space-separated token ids")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise error(f"cannot read sequence file {path} ({e.strerror or e}); check its permissions") from None
    except UnicodeDecodeError as e:
        raise error(f"sequence file {path} is not UTF-8 text (bad byte at offset {e.start}); "
                        f"pass a text file of space-separated integer token ids") from None
    lines = text.rstrip().splitlines()
    if not lines:
        raise error(f"sequence file {path} is empty; it needs one sequence of space-separated token ids a line")
    rows = []
    for n, line in enumerate(lines, 1):
        tokens = line.split()
        if not tokens:
            raise error(f"{path}:{n}: blank line inside the file; remove it (only trailing blank lines are allowed)")
        try:
            rows.append([int(t) for t in tokens])
        except ValueError:
            bad = next(t for t in tokens if not _is_int(t))
            raise error(f"{path}:{n}: token {bad[:20]!r} is not an integer; "
                            f"each line must hold space-separated integer token ids") from None
        if length is not None and len(tokens) != length:
            raise error(f"{path}:{n}: {len(tokens)} ids but sequences of length {length} are expected; "
                            f"pass a file of length-{length} sequences or change the length setting")
        if len(tokens) != len(rows[0]):
            raise error(f"{path}:{n}: {len(tokens)} ids but line 1 has {len(rows[0])}; "
                            f"all lines must have the same length")
    high = vocab_size if vocab_size is not None else _INT32_MAX + 1
    try:
        array = np.array(rows, dtype=np.int64)
        bad = np.argwhere((array < 0) | (array >= high))
    except OverflowError:  # an id beyond int64
        array = np.array(rows, dtype=object)
        bad = np.argwhere((array < 0) | (array >= high))
    if len(bad):
        r, c = bad[0]
        allowed = f"[0, {vocab_size})" if vocab_size is not None else "[0, 2^31)"
        hint = "check the file or the vocabulary size" if vocab_size is not None else "ids must be non-negative int32"
        raise error(f"{path}:{r + 1}: id {array[r, c]} (position {c + 1}) is outside {allowed}; {hint}")
    return array.astype(np.int32)


def _is_int(token):
    try:
        int(token)
        return True
    except ValueError:
        return False


@contextlib.contextmanager
def atomic_write(path, mode="w", error=OracleError):
    """Yields a file object for a temp file next to path; on success it is
    fsynced and renamed over path, on an exception it is removed and path is
    left untouched. mode is "w" (UTF-8 text) or "wb"."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    path = pathlib.Path(path)
    if not path.parent.is_dir():
        raise error(f"cannot write {path}: folder {path.parent} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise error(f"cannot write {path} ({e.strerror or e}); check the folder's permissions") from None
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        with open(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_int_sequences(path, array, error=OracleError):
    """Writes int [N, T] as N lines of T space-separated ids, atomically."""
    array = np.asarray(array)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"expected an integer array [N, T], got {array.dtype} {array.shape}")
    with atomic_write(path, error=error) as f:
        f.write("".join(" ".join(map(str, row)) + "\n" for row in array.tolist()))


def atomic_save_npz(path, error=OracleError, **arrays):
    """np.savez(path, **arrays) atomically (path is used as given, no .npz added)."""
    with atomic_write(path, "wb", error) as f:
        np.savez(f, **arrays)
