"""TensorBoard output and console progress."""
from __future__ import annotations

import os
import sys
import time
from typing import TextIO

import numpy as np
import tensorflow as tf


class Summaries:
    """Scalars, histograms and text under one logdir (one event-file writer)."""

    def __init__(self, logdir: str | os.PathLike):
        self.writer = tf.summary.create_file_writer(str(logdir))

    def scalars(self, step: int, values: dict[str, float], prefix: str) -> None:
        with self.writer.as_default(step=int(step)):
            for name, value in values.items():
                tf.summary.scalar(f"{prefix}/{name}", float(value))

    def histogram(self, step: int, name: str, values: np.ndarray) -> None:
        with self.writer.as_default(step=int(step)):
            tf.summary.histogram(name, np.asarray(values))

    def text(self, step: int, name: str, lines: list[str]) -> None:
        with self.writer.as_default(step=int(step)):
            tf.summary.text(name, "\n\n".join(f"`{line}`" for line in lines))

    def hparams(self, config_dict: dict) -> None:
        from tensorboard.plugins.hparams import api as hp
        clean = {k: (v if isinstance(v, (bool, int, float, str)) else str(v)) for k, v in config_dict.items()}
        with self.writer.as_default():
            hp.hparams(clean)

    def flush(self) -> None:
        self.writer.flush()


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
