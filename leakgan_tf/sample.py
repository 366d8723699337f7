"""Sample from the latest checkpoint of a run, or export it as a SavedModel.

  python -m leakgan_tf.sample --logdir DIR --num N [--beta B] [--seed S] [--out F] [--ids]
  python -m leakgan_tf.sample --logdir DIR --export EXPORT_DIR

Restores the generator and the discriminator (the generator needs its leaked
features) from DIR/checkpoints. Text runs print detokenised sentences (--ids
for the ids); oracle runs print one sequence of ids per line. The SavedModel
has a `generate(num, beta, seed)` signature that needs only TensorFlow.
"""
from __future__ import annotations

import sys

from leakgan_tf.startup import before_tensorflow  # noqa: E402

before_tensorflow()

from absl import flags  # noqa: E402

from leakgan_tf.errors import UserError, run_cli  # noqa: E402
from leakgan_tf.run_dir import load_run, load_vocab  # noqa: E402

flags.DEFINE_string("logdir", None, "run directory written by leakgan_tf.main")
flags.DEFINE_integer("num", 64, "number of sequences to print", lower_bound=1)
flags.DEFINE_float("beta", None, "inverse temperature β > 0 (logits × β; default: the run's eval_beta, 1.5 in the "
                   "original)")
flags.register_validator("beta", lambda b: b is None or b > 0, "--beta must be > 0 (an inverse temperature)")
flags.DEFINE_integer("seed", 0, "sampling seed; with the same --beta, the same rows as the export's "
                     "generate(num, beta, seed)", lower_bound=0)
flags.DEFINE_string("out", "", "output file (default: stdout)")
flags.DEFINE_bool("ids", False, "print token ids even for a text run")
flags.DEFINE_string("export", "", "write a SavedModel here instead of sampling")
FLAGS = flags.FLAGS


def main(argv: list[str]) -> None:
    from absl import logging

    from leakgan_tf import data
    logging.set_verbosity(logging.WARNING)
    if not FLAGS.logdir:
        raise UserError("--logdir is required")
    gan, cfg, _, _ = load_run(FLAGS.logdir)
    vocab = load_vocab(FLAGS.logdir)
    if FLAGS.export:
        from leakgan_tf.export import export
        print(f"SavedModel written to {export(gan, FLAGS.export, vocab)}")
        return
    samples = gan.sample_seeded(FLAGS.num, cfg.eval_beta if FLAGS.beta is None else FLAGS.beta, FLAGS.seed)
    if vocab is not None and not FLAGS.ids:
        from leakgan_tf import text
        lines = [text.detokenize(vocab.decode(row), cfg.tokenizer) for row in samples]
    else:
        lines = [" ".join(map(str, row)) for row in samples]
    if FLAGS.out:
        with data.atomic_write(FLAGS.out) as f:
            f.write("".join(line + "\n" for line in lines))
    else:
        sys.stdout.write("".join(line + "\n" for line in lines))


def run() -> None:
    run_cli(main)


if __name__ == "__main__":
    run()
