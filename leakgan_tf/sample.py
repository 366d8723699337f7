"""Sample from the latest checkpoint of a run, or export it as a SavedModel.

  python -m leakgan_tf.sample --logdir DIR --num N [--beta B] [--seed S] [--out F] [--ids]
  python -m leakgan_tf.sample --logdir DIR --export EXPORT_DIR

Restores the run's model from DIR/checkpoints (LeakGAN: the generator and the
discriminator whose features it leaks; --model=seqgan: its generator). Text runs print detokenised sentences (--ids
for the ids); oracle runs print one sequence of ids per line. Rows are drawn,
printed (or written to --out) chunk by chunk, so any --num streams in bounded
memory. The SavedModel has a `generate(num, beta, seed)` signature that needs
only TensorFlow; --export writes only to a new or empty folder or over a
previous export, never over the run or another folder.
"""
from __future__ import annotations

import math
import os
import signal
import sys

from leakgan_tf import startup  # noqa: E402

startup.prepare_environment()  # TensorFlow itself is imported once the flags are checked

from absl import flags  # noqa: E402

from leakgan_tf.errors import UserError, run_cli  # noqa: E402
from leakgan_tf.flags import check_output_file, exit_if_help, exit_on_signals  # noqa: E402

SEED_LIMIT = 2 ** 63  # the sampling seed is an int64 (the export's generate takes int64 seeds)
flags.DEFINE_string("logdir", None, "run directory written by leakgan_tf.main")
flags.DEFINE_integer("num", 64, "number of sequences to print (any number: they are streamed chunk by chunk)",
                     lower_bound=1)
flags.DEFINE_float("beta", None, "inverse temperature β > 0 (logits × β; default: the run's eval_beta, 1.5 in the "
                   "original)")
flags.register_validator("beta", lambda b: b is None or (math.isfinite(b) and b > 0),
                         "--beta must be > 0 and finite (an inverse temperature)")
flags.DEFINE_integer("seed", 0, "sampling seed; with the same --beta, the same rows as the export's "
                     "generate(num, beta, seed)", lower_bound=0, upper_bound=SEED_LIMIT - 1)
flags.DEFINE_string("out", "", "output file, written atomically (default: stdout)")
flags.DEFINE_bool("ids", False, "print token ids even for a text run")
flags.DEFINE_string("export", "", "write a SavedModel to this folder instead of sampling (a new or empty folder, "
                    "or a previous export, which is replaced)")
FLAGS = flags.FLAGS
GROUPS = [("run", ["logdir"]), ("sampling (printed, or written to --out)", ["num", "beta", "seed", "out", "ids"]),
          ("export", ["export"])]
SAMPLING_FLAGS = ("num", "beta", "seed", "out", "ids")


def check_flags() -> None:
    """The flags' values and combinations, before anything is loaded or written (TensorFlow
    is imported only for --export's folder check, after the others)."""
    from leakgan_tf.run_dir import saved_config
    if not (FLAGS.logdir or "").strip():
        raise UserError("--logdir is required: the folder of a run written by leakgan_tf.main")
    if FLAGS["export"].present:
        given = [f"--{name}" for name in SAMPLING_FLAGS if FLAGS[name].present]
        if given:
            raise UserError(f"--export writes a SavedModel and draws no rows, so {', '.join(given)} would be "
                            f"ignored; drop {'it' if len(given) == 1 else 'them'} (the export's generate(num, beta, "
                            f"seed) takes num, beta and seed when called)")
    elif FLAGS["out"].present:
        check_output_file("out", FLAGS.out, FLAGS.logdir)
    saved_config(FLAGS.logdir)  # a folder that is not a run
    if FLAGS["export"].present:
        startup.before_tensorflow()  # leakgan_tf.export imports it
        from leakgan_tf.export import check_target
        check_target(FLAGS.export, FLAGS.logdir)


def chunks(gan, beta: float, seed: int, num: int):
    """The rows of Generator.sample_seeded(num, β, seed), one chunk (int32 numpy
    [≤ sample_batch, T]) at a time: chunk i is drawn with the stateless seed
    (seed, i) as there, so any num is drawn in the memory of one chunk."""
    import tensorflow as tf

    from leakgan_tf.kernels import compiled
    size, seq_len = gan.cfg.sample_batch, gan.cfg.seq_len
    draw = compiled(lambda b, s, i: gan.generator.sample(size, [b] * seq_len, tf.stack([s, i]), portable=True))
    beta, seed = tf.constant(beta, tf.float32), tf.constant(seed, tf.int64)
    for i, start in enumerate(range(0, num, size)):
        yield draw(beta, seed, tf.constant(i, tf.int64)).numpy()[:num - start]


def write(lines) -> None:
    """Writes lines (chunks of strings) to --out atomically, or to stdout as they come."""
    from leakgan_tf import data
    if FLAGS.out:
        try:
            with data.atomic_write(FLAGS.out) as f:
                for chunk in lines:
                    f.write("".join(line + "\n" for line in chunk))
        except OSError as e:
            raise UserError(f"cannot write --out={FLAGS.out} ({e.strerror or e}); free space or choose another "
                            f"file") from None
        return
    try:
        for chunk in lines:
            sys.stdout.write("".join(line + "\n" for line in chunk))
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped (e.g. `| head`): exit as a program SIGPIPE ends, without
        # Python's complaint about flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)


def main(argv: list[str]) -> None:
    from absl import logging

    from leakgan_tf.evaluation import load_run
    from leakgan_tf.run_dir import load_vocab
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]}; flags are written --name=value")
    check_flags()
    startup.before_tensorflow()
    with exit_on_signals():  # Ctrl-C or SIGTERM: an --out or --export in progress leaves nothing behind
        gan, cfg, latest, _ = load_run(FLAGS.logdir)
        vocab = load_vocab(FLAGS.logdir)
        if FLAGS.export:
            from leakgan_tf.export import export
            path = export(gan, FLAGS.export, vocab, logdir=FLAGS.logdir, checkpoint=latest)
            print(f"SavedModel written to {path}")
            return
        if vocab is not None and not FLAGS.ids:
            from leakgan_tf import text
            show = lambda row: text.detokenize(vocab.decode(row), cfg.tokenizer)  # noqa: E731
        else:
            show = lambda row: " ".join(map(str, row))  # noqa: E731
        beta = cfg.eval_beta if FLAGS.beta is None else FLAGS.beta
        write([show(row) for row in chunk] for chunk in chunks(gan, beta, FLAGS.seed, FLAGS.num))


def run() -> None:
    exit_if_help(sys.argv, __doc__, GROUPS)
    run_cli(main)


if __name__ == "__main__":
    run()
