"""TensorBoard output and console progress."""
import sys
import time

import numpy as np
import tensorflow as tf


class Summaries:
    """Scalars, histograms and text under one logdir (one event-file writer)."""

    def __init__(self, logdir):
        self.writer = tf.summary.create_file_writer(str(logdir))

    def scalars(self, step, values, prefix):
        with self.writer.as_default(step=int(step)):
            for name, value in values.items():
                tf.summary.scalar(f"{prefix}/{name}", float(value))

    def histogram(self, step, name, values):
        with self.writer.as_default(step=int(step)):
            tf.summary.histogram(name, np.asarray(values))

    def text(self, step, name, lines):
        with self.writer.as_default(step=int(step)):
            tf.summary.text(name, "\n\n".join(f"`{line}`" for line in lines))

    def hparams(self, config_dict):
        from tensorboard.plugins.hparams import api as hp
        clean = {k: (v if isinstance(v, (bool, int, float, str)) else str(v)) for k, v in config_dict.items()}
        with self.writer.as_default():
            hp.hparams(clean)

    def flush(self):
        self.writer.flush()


class Progress:
    """One console line per event: phase, position, elapsed time and ETA."""

    def __init__(self, total_units, out=sys.stdout):
        self.total, self.done, self.start, self.out = max(total_units, 1), 0, time.time(), out
        self.baseline = 0

    def resume(self, units_done):
        """Counts work finished by an earlier process (not in this one's rate)."""
        self.done = self.baseline = units_done

    def advance(self, units=1):
        self.done += units

    def log(self, phase, message):
        elapsed = time.time() - self.start
        rate_units = self.done - self.baseline
        eta = elapsed / rate_units * (self.total - self.done) if rate_units else float("nan")
        print(f"[{phase}] {message} | elapsed {_hms(elapsed)} eta {_hms(eta)}", file=self.out, flush=True)


def _hms(seconds):
    if seconds != seconds:  # NaN
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
