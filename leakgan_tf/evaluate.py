"""Score the latest checkpoint of a run with the extended protocol.

  python -m leakgan_tf.evaluate --logdir DIR [--seed S] [--generated_num N] [--out F.json]
  python -m leakgan_tf.evaluate --logdir DIR --betas=0.8,1.0,1.2,1.5,2.0 [--plot F.png]

Oracle runs: NLL-oracle of samples at the run's eval_beta (1.5 in the
original) and at β = 1, NLL-test on held-out oracle samples, distinct-4 at
both β, the oracle's own NLL, and at both β the divergences between the
oracle and the model of Montahaei et al. (2019): jeffreys, bhattacharyya
(nats per sequence) and nll_balanced (NLL-oracle + NLL-test at that β, per
token; leakgan_tf.divergences); keys ending in _beta1 are at β = 1. Text runs: NLL-test, BLEU-2..5 and
Self-BLEU-2..5 (TextSource.protocol), and BLEU-2..5 under the paper's
protocol (2,000 hypotheses, no smoothing; metrics.PROTOCOLS). Prints one JSON object (also written
atomically to --out): the scores, the checkpoint and its schedule position.
--betas adds a quality–diversity sweep (leakgan_tf.sweep): for each inverse
temperature, the samples' NLL-oracle (text: BLEU-4), NLL-test of the model at
that β and distinct-4 (oracle runs: and the divergences at that β), under
"sweep"; --plot draws it. Scoring leaves the run
folder as it was (leakgan_tf.evaluation).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import sys

from leakgan_tf import startup  # noqa: E402

startup.prepare_environment()  # TensorFlow itself is imported once the flags are checked

from absl import flags  # noqa: E402

from leakgan_tf.errors import UserError, run_cli  # noqa: E402
from leakgan_tf.evaluation import evaluate_run  # noqa: E402
from leakgan_tf.flags import check_output_file, exit_if_help, exit_on_signals  # noqa: E402

SEED_LIMIT = 2 ** 63  # the oracle's and the sampler's seeds are int64
flags.DEFINE_string("logdir", None, "run directory written by leakgan_tf.main")
flags.DEFINE_integer("seed", 0, "seed of the evaluation samples (and of the held-out rows' order)", lower_bound=0,
                     upper_bound=SEED_LIMIT - 1)
flags.DEFINE_string("out", "", "also write the JSON here (atomically)")
flags.DEFINE_integer("generated_num", 0, "samples to score (rounded down to a multiple of the batch size; "
                     "0 = the run's --generated_num); oracle runs score NLL-test on as many held-out samples",
                     lower_bound=0)
flags.DEFINE_list("betas", [], "inverse temperatures of a quality-diversity sweep (e.g. 0.8,1.0,1.2,1.5,2.0; "
                  "each > 0); empty = no sweep")
flags.DEFINE_string("plot", "", "with --betas: also draw the sweep as a PNG here (needs matplotlib)")
FLAGS = flags.FLAGS
GROUPS = [("run", ["logdir", "seed", "generated_num", "out"]), ("quality-diversity sweep", ["betas", "plot"])]


def _betas_valid(values: list[str]) -> bool:
    try:
        parse_betas(values)
    except UserError as e:
        raise flags.ValidationError(str(e)) from None
    return True


flags.register_validator("betas", _betas_valid)


def parse_betas(values: list[str]) -> list[float]:
    """--betas strings -> floats, each finite and > 0, or a UserError naming the bad one."""
    betas = []
    for v in values:
        if not v.strip():
            raise UserError("--betas has an empty entry (two commas in a row?); pass inverse temperatures like "
                            "0.8,1.0,1.5")
        try:
            beta = float(v)
        except ValueError:
            raise UserError(f"--betas: {v!r} is not a number; pass inverse temperatures like 0.8,1.0,1.5") from None
        if not (math.isfinite(beta) and beta > 0):
            raise UserError(f"--betas: {v} must be > 0 and finite (an inverse temperature)")
        betas.append(beta)
    return betas


def check_flags() -> list[float]:
    """The flags' values and combinations, before anything is loaded; returns the betas."""
    if not (FLAGS.logdir or "").strip():
        raise UserError("--logdir is required: the folder of a run written by leakgan_tf.main")
    betas = parse_betas(FLAGS.betas)
    if FLAGS["plot"].present and not betas:
        raise UserError("--plot draws the --betas sweep; pass --betas too (e.g. --betas=0.8,1.0,1.2,1.5,2.0)")
    for name in ("out", "plot"):
        if FLAGS[name].present:
            check_output_file(name, FLAGS[name].value, FLAGS.logdir)
    if FLAGS.out and FLAGS.plot and os.path.abspath(FLAGS.out) == os.path.abspath(FLAGS.plot):
        raise UserError(f"--out and --plot are the same file {FLAGS.out}; give each its own")
    from leakgan_tf.run_dir import saved_config
    saved_config(FLAGS.logdir)  # a folder that is not a run: said before TensorFlow is imported
    return betas


def main(argv: list[str]) -> None:
    from absl import logging

    from leakgan_tf import data
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]}; flags are written --name=value")
    betas = check_flags()
    startup.before_tensorflow()
    with exit_on_signals():  # Ctrl-C or SIGTERM: the temporary data copy and any --out are removed
        # stdout carries only the JSON; progress lines (data loading) go to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            scores = evaluate_run(FLAGS.logdir, FLAGS.seed, FLAGS.generated_num, betas)
            if FLAGS.plot:
                from leakgan_tf import sweep
                try:
                    drawn = sweep.plot_sweeps({os.path.basename(os.path.normpath(FLAGS.logdir)): scores["sweep"]},
                                              FLAGS.plot)
                except OSError as e:
                    raise UserError(f"cannot write --plot={FLAGS.plot} ({e.strerror or e}); free space or choose "
                                    f"another file") from None
                if drawn is None:
                    print("matplotlib not installed (pip install -e .[experiments]); no plot", file=sys.stderr)
            result = json.dumps(scores, indent=1, ensure_ascii=False)
        if FLAGS.out:
            try:
                with data.atomic_write(FLAGS.out) as f:
                    f.write(result + "\n")
            except OSError as e:
                raise UserError(f"cannot write --out={FLAGS.out} ({e.strerror or e}); free space or choose another "
                                f"file") from None
        sys.stdout.write(result + "\n")


def run() -> None:
    exit_if_help(sys.argv, __doc__, GROUPS)
    run_cli(main)


if __name__ == "__main__":
    run()
