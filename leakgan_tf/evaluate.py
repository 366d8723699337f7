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
import contextlib
import dataclasses
import json
import os
import sys
import time

from leakgan_tf.startup import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

from absl import flags  # noqa: E402

from leakgan_tf.errors import UserError, run_cli  # noqa: E402

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


def evaluate_run(logdir, seed=0, generated_num=0, betas=()):
    """Scores of the latest checkpoint in logdir: a dict (see module doc);
    generated_num > 0 scores that many samples instead of the run's; betas, a
    quality-diversity sweep over those inverse temperatures ("sweep")."""
    import tensorflow as tf
    from leakgan_tf import main as train_main
    from leakgan_tf import sources
    from leakgan_tf.run_dir import load_run
    gan, cfg = load_run(logdir)
    cfg = dataclasses.replace(cfg, extended_eval=True, **({"generated_num": generated_num} if generated_num else {}))
    if cfg.num_samples == 0:
        raise UserError(f"--generated_num={generated_num} is below one batch ({cfg.batch_size}); ask for more samples")
    latest = tf.train.latest_checkpoint(os.path.join(logdir, "checkpoints"))
    position = {k: tf.Variable(0, dtype=tf.int64) for k in ("blocks_done", "iterations_done")}
    tf.train.Checkpoint(**position).restore(latest).expect_partial()
    t0 = time.time()
    gan.rng.reset_from_seed(seed)
    if cfg.dataset == "oracle":
        import pathlib
        source = sources.OracleSource(train_main.build_oracle(cfg), cfg, pathlib.Path(logdir))
    else:
        cfg, source = train_main.build_text_source(cfg, logdir, fresh=False)
    samples = gan.generate(cfg.num_samples, cfg.eval_beta)
    scores = {k: float(v) for k, v in source.evaluate(gan, samples, seed=seed).items()}
    protocols = {}
    if cfg.dataset == "oracle":
        protocols["oracle"] = (f"{cfg.num_samples} samples (sampling seed {seed}) scored by the oracle: nll_oracle at "
                               f"β = {cfg.eval_beta}, nll_oracle_beta1 at β = 1, distinct4 of each; nll_test: the "
                               f"model's NLL of {cfg.num_samples} held-out oracle rows (test_data.txt); "
                               f"ground_truth_nll: the oracle's NLL of its own samples")
    else:
        from leakgan_tf import metrics
        protocols["texygen"] = source.protocol()
        paper = metrics.bleu_report([source.words(r) for r in samples], source.corpus.test_tokens, "paper",
                                    seed=seed)
        protocols["paper"] = f"{paper['description']} ({paper['hypotheses']} hypotheses, " \
                             f"{paper['references']} references)"
        scores.update({f"paper_bleu{n}": paper["scores"][f"BLEU-{n}"] for n in (2, 3, 4, 5)})
    result = dict(checkpoint=latest, eval_beta=cfg.eval_beta, num_samples=int(cfg.num_samples),
                  seconds=round(time.time() - t0, 1), **{k: int(v.numpy()) for k, v in position.items()},
                  protocols=protocols, **scores)
    if betas:
        from leakgan_tf import sweep
        result["sweep"] = sweep.temperature_sweep(gan, source, betas, cfg.num_samples, seed)
        result["sweep_protocol"] = (f"{cfg.num_samples} samples per β (sampling seed {seed}); NLL-test at β on "
                                    f"{cfg.num_samples} held-out rows" if cfg.dataset == "oracle" else
                                    f"{cfg.num_samples} samples per β (sampling seed {seed}); BLEU-4: "
                                    f"{source.protocol()}; NLL-test at β on the test split")
        result["seconds"] = round(time.time() - t0, 1)
    return result


def parse_betas(values):
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


def main(argv):
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


def run():
    run_cli(main)


if __name__ == "__main__":
    run()
