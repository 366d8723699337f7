"""TensorBoard output, the same scalars as CSV, and console progress."""
from __future__ import annotations

import contextlib
import os
import pathlib
import sys
import time
from collections.abc import Iterator
from typing import TextIO

import numpy as np
import tensorflow as tf

from leakgan_tf import data

SCALARS_CSV = "scalars.csv"


class Summaries:
    """Scalars, histograms and text under one logdir (one event-file writer, made
    at the first write), and every scalar also in logdir/scalars.csv
    (ScalarsFile), so curves can be plotted without TensorBoard. A failed write
    (a full disk) is a data.WriteError naming the file."""

    def __init__(self, logdir: str | os.PathLike):
        self.logdir = pathlib.Path(logdir)
        self._writer = None
        self.csv = ScalarsFile(self.logdir / SCALARS_CSV)

    @property
    def writer(self):
        if self._writer is None:
            with self._writing():
                self._writer = tf.summary.create_file_writer(str(self.logdir))
        return self._writer

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except tf.errors.OpError as e:
            raise data.write_error(f"TensorBoard events in {self.logdir}", e) from None

    def scalars(self, step: int, values: dict[str, float], prefix: str) -> None:
        with self._writing(), self.writer.as_default(step=int(step)):
            for name, value in values.items():
                tf.summary.scalar(f"{prefix}/{name}", float(value))
        self.csv.add(int(step), {f"{prefix}/{name}": float(value) for name, value in values.items()})

    def histogram(self, step: int, name: str, values: np.ndarray) -> None:
        with self._writing(), self.writer.as_default(step=int(step)):
            tf.summary.histogram(name, np.asarray(values))

    def text(self, step: int, name: str, lines: list[str]) -> None:
        with self._writing(), self.writer.as_default(step=int(step)):
            tf.summary.text(name, "\n\n".join(f"`{line}`" for line in lines))

    def hparams(self, config_dict: dict) -> None:
        from tensorboard.plugins.hparams import api as hp
        clean = {k: (v if isinstance(v, (bool, int, float, str)) else str(v)) for k, v in config_dict.items()}
        with self._writing(), self.writer.as_default():
            hp.hparams(clean)

    def flush(self) -> None:
        if self._writer is not None:
            with self._writing():
                self._writer.flush()


class ScalarsFile:
    """A run's scalars as CSV: a header `tag,step,value,wall_time`, then one row per
    (tag, step), in the order first written; values as Python writes floats (full
    precision; the event files keep them as float32), wall_time in seconds since
    the epoch.

    New rows are appended (one write per call, flushed); a (tag, step) written
    again (a unit redone after a kill, on a resumed run) replaces its row, by
    rewriting the file atomically, so the file never holds a step twice and keeps
    the last value, as `run_dir.scalars` reads the event files. A row cut short by
    a crash is dropped when the file is read again. Nothing is written before the
    first row."""

    HEADER = "tag,step,value,wall_time"

    def __init__(self, path: str | os.PathLike):
        self.path = pathlib.Path(path)
        self.rows = read_scalars_csv(self.path)
        self._clean = self._is_clean()

    def _is_clean(self) -> bool:
        """Whether the file on disk is exactly the rows read (else the first add rewrites it)."""
        if not self.path.exists():
            return not self.rows
        return self.path.read_text(encoding="utf-8", errors="replace") == self._render()

    def _render(self) -> str:
        return self.HEADER + "\n" + "".join(_row(tag, step, v, w) for (tag, step), (v, w) in self.rows.items())

    def add(self, step: int, values: dict[str, float], wall_time: float | None = None) -> None:
        wall_time = time.time() if wall_time is None else wall_time
        again = any((tag, step) in self.rows for tag in values)
        for tag, value in values.items():
            self.rows[(tag, step)] = (float(value), wall_time)
        if again or not self._clean or not self.path.exists():
            with data.atomic_write(self.path) as f:
                f.write(self._render())
            self._clean = True
            return
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write("".join(_row(tag, step, float(v), wall_time) for tag, v in values.items()))
        except OSError as e:
            self._clean = False  # a partial row may be on disk: the next add rewrites the file
            raise data.write_error(self.path, e) from None


def _row(tag: str, step: int, value: float, wall_time: float) -> str:
    return f"{tag},{step},{value!r},{wall_time:.3f}\n"


def read_scalars_csv(path: str | os.PathLike) -> dict[tuple[str, int], tuple[float, float]]:
    """{(tag, step): (value, wall_time)} of a scalars.csv (ScalarsFile), the last
    row of a (tag, step) winning; rows that do not parse (a line cut short by a
    crash) are left out. {} when there is no file."""
    rows: dict[tuple[str, int], tuple[float, float]] = {}
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return rows
    for line in text.split("\n")[1:-1]:  # after the header; the last piece is "" or a line cut short
        parts = line.split(",")
        try:
            tag, step, value, wall = parts[0], int(parts[1]), float(parts[2]), float(parts[3])
        except (ValueError, IndexError):
            continue
        if len(parts) == 4 and tag:
            rows[(tag, step)] = (value, wall)
    return rows


class Progress:
    """One console line per event: phase, position, elapsed time and ETA.

    The schedule is a list of units (D round, MLE epoch, G step), each a tuple of
    the kinds of work it does, e.g. ("g_step", "eval", "mle_epoch"). The ETA sums
    the mean measured seconds of each kind over the units left, so a slow kind
    (a D round) and a fast one (a G step) are not averaged into one rate.
    Kinds not timed yet are left out and the ETA is printed as a lower bound
    (">0:12:00"). Timings are saved with the checkpoints (`save`/`load`), so a
    resumed run has an ETA from its first line.
    """

    RECENT = 10  # measurements per kind in the mean

    def __init__(self, schedule: list[tuple[str, ...]], out: TextIO = sys.stdout):
        self.schedule, self.out = list(schedule), out
        self.done, self.start = 0, time.time()
        self.seconds: dict[str, list[float]] = {}  # kind -> recent durations

    def resume(self, units_done: int) -> None:
        """Continues after units_done units finished by an earlier process."""
        self.done = units_done

    def advance(self, units: int = 1) -> None:
        self.done += units

    def timed(self, kind: str, seconds: float) -> None:
        """Records one piece of work of `kind` that took `seconds`."""
        self.seconds[kind] = (self.seconds.get(kind, []) + [float(seconds)])[-self.RECENT:]

    def eta(self) -> tuple[float, bool]:
        """(seconds left as far as measured, True if every kind left was measured)."""
        means = {kind: sum(v) / len(v) for kind, v in self.seconds.items() if v}
        left, known = 0.0, True
        for unit in self.schedule[self.done:]:
            for kind in unit:
                if kind in means:
                    left += means[kind]
                else:
                    known = False
        return left, known

    def log(self, phase: str, message: str) -> None:
        elapsed = time.time() - self.start
        left, known = self.eta()
        shown = _hms(left) if known else (f">{_hms(left)}" if left else "?")
        print(f"[{phase}] {message} | elapsed {_hms(elapsed)} eta {shown}", file=self.out, flush=True)

    def save(self, path: str | os.PathLike) -> None:
        """Writes the timings (JSON, atomically) for a resumed run's ETA."""
        import json

        from leakgan_tf import data
        with data.atomic_write(path) as f:
            f.write(json.dumps(self.seconds))

    def load(self, path: str | os.PathLike) -> None:
        """Reads timings written by save; a missing or unreadable file is ignored
        (the ETA then waits for new measurements)."""
        import json
        try:
            loaded = json.loads(open(path).read())
            self.seconds = {str(k): [float(x) for x in v][-self.RECENT:] for k, v in loaded.items()}
        except (OSError, ValueError, TypeError, AttributeError):
            pass


def _hms(seconds):
    if seconds != seconds:  # NaN
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
