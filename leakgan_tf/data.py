"""Integer-sequence files (spec §11), atomic writes and tf.data pipelines.

A sequence file holds one sequence a line, space-separated integer token ids,
all lines of the same length T; it is read as an int32 array [N, T].
TensorFlow is imported only by the dataset builders, so reading and checking
files stays fast for the command-line tools.
"""
import contextlib
import os
import pathlib
import tempfile

import numpy as np

from leakgan_tf.errors import UserError

_INT32_MAX = np.iinfo(np.int32).max
_UMASK = os.umask(0o022)  # read once at import (os.umask can only be read by setting it)
os.umask(_UMASK)


def read_int_sequences(path, vocab_size=None, length=None):
    """Reads a sequence file into int32 [N, T]; one-line UserError on bad input.

    Args:
      path: the file.
      vocab_size: if given, every id must lie in [0, vocab_size).
      length: if given, every line must hold exactly this many ids.
    Trailing blank lines are ignored; ids must be non-negative.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise UserError(f"sequence file {path} not found; pass an existing file of space-separated token ids")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise UserError(f"cannot read sequence file {path} ({e.strerror or e}); check its permissions") from None
    except UnicodeDecodeError as e:
        raise UserError(f"sequence file {path} is not UTF-8 text (bad byte at offset {e.start}); "
                        f"pass a text file of space-separated integer token ids") from None
    lines = text.rstrip().splitlines()
    if not lines:
        raise UserError(f"sequence file {path} is empty; it needs one sequence of space-separated token ids a line")
    rows = []
    for n, line in enumerate(lines, 1):
        tokens = line.split()
        if not tokens:
            raise UserError(f"{path}:{n}: blank line inside the file; remove it (only trailing blank lines are allowed)")
        try:
            rows.append([int(t) for t in tokens])
        except ValueError:
            bad = next(t for t in tokens if not _is_int(t))
            raise UserError(f"{path}:{n}: token {bad[:20]!r} is not an integer; "
                            f"each line must hold space-separated integer token ids") from None
        if length is not None and len(tokens) != length:
            raise UserError(f"{path}:{n}: {len(tokens)} ids but sequences of length {length} are expected; "
                            f"pass a file of length-{length} sequences or change the length setting")
        if len(tokens) != len(rows[0]):
            raise UserError(f"{path}:{n}: {len(tokens)} ids but line 1 has {len(rows[0])}; "
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
        raise UserError(f"{path}:{r + 1}: id {array[r, c]} (position {c + 1}) is outside {allowed}; {hint}")
    return array.astype(np.int32)


def _is_int(token):
    try:
        int(token)
        return True
    except ValueError:
        return False


@contextlib.contextmanager
def atomic_write(path, mode="w"):
    """Yields a file object for a temp file next to path; on success it is
    fsynced and renamed over path, on an exception it is removed and path is
    left untouched. mode is "w" (UTF-8 text) or "wb"."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    path = pathlib.Path(path)
    if not path.parent.is_dir():
        raise UserError(f"cannot write {path}: folder {path.parent} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise UserError(f"cannot write {path} ({e.strerror or e}); check the folder's permissions") from None
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


def write_int_sequences(path, array):
    """Writes int [N, T] as N lines of T space-separated ids, atomically."""
    array = np.asarray(array)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"expected an integer array [N, T], got {array.dtype} {array.shape}")
    with atomic_write(path) as f:
        f.write("".join(" ".join(map(str, row)) + "\n" for row in array.tolist()))


def atomic_save_npz(path, **arrays):
    """np.savez(path, **arrays) atomically (path is used as given, no .npz added)."""
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)


def batched_dataset(tokens, batch_size, shuffle=False, seed=None, drop_remainder=True):
    """tf.data.Dataset of int32 [batch_size, T] from tokens [N, T].

    shuffle permutes the rows once with np.random.default_rng(seed), so the
    order is repeatable and identical in every epoch.
    """
    import tensorflow as tf

    tokens = np.asarray(tokens, dtype=np.int32)
    if drop_remainder and len(tokens) < batch_size:
        raise UserError(f"{len(tokens)} sequences are fewer than one batch of {batch_size}; "
                        f"use more samples or a smaller batch size")
    if shuffle:
        tokens = tokens[np.random.default_rng(seed).permutation(len(tokens))]
    ds = tf.data.Dataset.from_tensor_slices(tokens).batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)


def discriminator_dataset(positives, negatives, batch_size, seed):
    """Shuffled (tokens int32 [batch, T], labels int32 [batch]) with real = 1, fake = 0.

    Like the original loader (spec §7.3): positives and negatives are pooled,
    permuted with numpy (np.random.default_rng(seed), repeatable) and truncated
    to a multiple of batch_size.
    """
    import tensorflow as tf

    positives = np.asarray(positives, dtype=np.int32)
    negatives = np.asarray(negatives, dtype=np.int32)
    if positives.ndim != 2 or negatives.ndim != 2 or positives.shape[1] != negatives.shape[1]:
        raise ValueError(f"positives {positives.shape} and negatives {negatives.shape} must be [N, T] with equal T")
    tokens = np.concatenate([positives, negatives])
    labels = np.concatenate([np.ones(len(positives), np.int32), np.zeros(len(negatives), np.int32)])
    n = len(tokens) // batch_size * batch_size
    if n == 0:
        raise UserError(f"{len(tokens)} discriminator examples are fewer than one batch of {batch_size}; "
                        f"use more samples or a smaller batch size")
    order = np.random.default_rng(seed).permutation(len(tokens))[:n]
    ds = tf.data.Dataset.from_tensor_slices((tokens[order], labels[order])).batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)
