"""Integer-sequence files (spec §11), atomic writes and the discriminator's batches.

A sequence file holds one sequence a line, space-separated integer token ids,
all lines of the same length T; it is read as an int32 array [N, T]. The
format is defined once, by the oracle tool (synthetic_oracle.files); here its
errors are UserErrors.
TensorFlow is imported only by the dataset builders, so reading and checking
files stays fast for the command-line tools.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

import numpy as np

from leakgan_tf.errors import UserError
from synthetic_oracle import files

if TYPE_CHECKING:
    import tensorflow as tf


def read_int_sequences(path: str | os.PathLike, vocab_size: int | None = None,
                       length: int | None = None) -> np.ndarray:
    """Reads a sequence file into int32 [N, T] (synthetic_oracle.files); one-line UserError on bad input.

    Args:
      path: the file.
      vocab_size: if given, every id must lie in [0, vocab_size).
      length: if given, every line must hold exactly this many ids.
    """
    return files.read_int_sequences(path, vocab_size, length, error=UserError)


class WriteError(UserError):
    """A file could not be written (a full disk, permissions); the message names the
    file and the reason. Trainer adds the last good checkpoint to it."""


def write_error(path: str | os.PathLike, error: BaseException) -> WriteError:
    """The WriteError for an OSError (or TensorFlow error) writing path."""
    from leakgan_tf.run_dir import io_reason
    return WriteError(f"cannot write {path} ({io_reason(error)}); free space on its disk or fix its permissions")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Context manager: a file object for a temp file next to path, fsynced and
    renamed over path on success, removed on an exception (synthetic_oracle.files).
    mode is "w" (UTF-8 text) or "wb". An OSError (a full disk) is a WriteError."""
    try:
        with files.atomic_write(path, mode, error=UserError) as f:
            yield f
    except OSError as e:
        raise write_error(path, e) from None


def write_int_sequences(path: str | os.PathLike, array: np.ndarray) -> None:
    """Writes int [N, T] as N lines of T space-separated ids, atomically."""
    try:
        files.write_int_sequences(path, array, error=UserError)
    except OSError as e:
        raise write_error(path, e) from None


def write_lines(path: str | os.PathLike, lines: list[str]) -> None:
    """Writes one line per string (UTF-8), atomically."""
    with atomic_write(path) as f:
        f.write("".join(line + "\n" for line in lines))


def discriminator_batches(positives: np.ndarray, negatives: np.ndarray, batch_size: int,
                          seed: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Shuffled batches, tokens int32 [S, batch, T] and labels int32 [S, batch]
    with real = 1, fake = 0, as tensors made once and reused by every D epoch
    (LeakGAN.discriminator_epochs runs them in one compiled call).

    Like the original loader (spec §7.3): positives and negatives are pooled,
    permuted with numpy (np.random.default_rng(seed), repeatable) and truncated
    to a multiple of batch_size. Not a tf.data pipeline: its prefetching threads
    compete with the D step for the CPU; on 2 cores, D epochs fed by tf.data
    sometimes took 20–23 s against 11–14 s from tensors
    (experiments/bench_d_round.py, docs/performance.md).
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
    shape = [n // batch_size, batch_size]
    return tf.constant(tokens[order].reshape(shape + [-1])), tf.constant(labels[order].reshape(shape))
