"""Score the latest checkpoint of a run with the extended protocol.

  python -m leakgan_tf.evaluate --logdir DIR [--seed S] [--generated_num N] [--out F.json]
  python -m leakgan_tf.evaluate --logdir DIR --betas=0.8,1.0,1.2,1.5,2.0 [--plot F.png]

Oracle runs: NLL-oracle of samples at the run's eval_beta (1.5 in the
original) and at β = 1, NLL-test on held-out oracle samples, distinct-4 at
both β, and the oracle's own NLL. Text runs: NLL-test, BLEU-2..5 and
Self-BLEU-2..5 (TextSource.protocol), and BLEU-2..5 under the paper's
protocol (2,000 hypotheses, no smoothing; metrics.PROTOCOLS). Prints one JSON object (also written
atomically to --out): the scores, the checkpoint and its schedule position.
--betas adds a quality–diversity sweep (leakgan_tf.sweep): for each inverse
temperature, the samples' NLL-oracle (text: BLEU-4), NLL-test of the model at
that β and distinct-4, under "sweep"; --plot draws it.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys

from leakgan_tf.startup import before_tensorflow  # noqa: E402

before_tensorflow()

from absl import flags  # noqa: E402

from leakgan_tf.errors import UserError, run_cli  # noqa: E402
from leakgan_tf.evaluation import evaluate_run  # noqa: E402

flags.DEFINE_string("logdir", None, "run directory written by leakgan_tf.main")
flags.DEFINE_integer("seed", 0, "seed of the evaluation samples (and of the held-out rows' order)", lower_bound=0)
flags.DEFINE_string("out", "", "also write the JSON here")
flags.DEFINE_integer("generated_num", 0, "samples to score (rounded down to a multiple of the batch size; "
                     "0 = the run's --generated_num); oracle runs score NLL-test on as many held-out samples",
                     lower_bound=0)
flags.DEFINE_list("betas", [], "inverse temperatures of a quality-diversity sweep (e.g. 0.8,1.0,1.2,1.5,2.0; "
                  "each > 0); empty = no sweep")
flags.DEFINE_string("plot", "", "with --betas: also draw the sweep as a PNG here (needs matplotlib)")
FLAGS = flags.FLAGS


def _betas_valid(values: list[str]) -> bool:
    try:
        parse_betas(values)
    except UserError as e:
        raise flags.ValidationError(str(e)) from None
    return True


flags.register_validator("betas", _betas_valid)


def parse_betas(values: list[str]) -> list[float]:
    """--betas strings -> floats, each > 0, or a UserError naming the bad one."""
    betas = []
    for v in values:
        try:
            beta = float(v)
        except ValueError:
            raise UserError(f"--betas: {v!r} is not a number; pass inverse temperatures like 0.8,1.0,1.5") from None
        if not beta > 0:
            raise UserError(f"--betas: {v} must be > 0 (an inverse temperature)")
        betas.append(beta)
    return betas


def main(argv: list[str]) -> None:
    from absl import logging

    from leakgan_tf import data
    logging.set_verbosity(logging.WARNING)
    if not FLAGS.logdir:
        raise UserError("--logdir is required")
    betas = parse_betas(FLAGS.betas)
    if FLAGS.plot and not betas:
        raise UserError("--plot draws the --betas sweep; pass --betas too (e.g. --betas=0.8,1.0,1.2,1.5,2.0)")
    # stdout carries only the JSON; progress lines (data loading) go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        scores = evaluate_run(FLAGS.logdir, FLAGS.seed, FLAGS.generated_num, betas)
        if FLAGS.plot:
            from leakgan_tf import sweep
            if sweep.plot_sweeps({os.path.basename(os.path.normpath(FLAGS.logdir)): scores["sweep"]},
                                 FLAGS.plot) is None:
                print("matplotlib not installed (pip install -e .[experiments]); no plot", file=sys.stderr)
        result = json.dumps(scores, indent=1, ensure_ascii=False)
    if FLAGS.out:
        with data.atomic_write(FLAGS.out) as f:
            f.write(result + "\n")
    sys.stdout.write(result + "\n")


def run() -> None:
    run_cli(main)


if __name__ == "__main__":
    run()
