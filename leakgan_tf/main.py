"""Train LeakGAN on a synthetic oracle or on real text.

  python -m leakgan_tf.main --flagfile=experiments/quick.cfg [--flag=value …]
  python -m leakgan_tf.main --flagfile=experiments/coco.cfg

Writes checkpoints, evaluation samples, config.json and TensorBoard events to
--logdir; rerunning with the same --logdir resumes from the last checkpoint.
"""
import sys

from leakgan_tf.startup import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

from absl import flags  # noqa: E402

from leakgan_tf import flags as run_flags  # noqa: E402
from leakgan_tf.errors import UserError, run_cli  # noqa: E402

FLAGS = flags.FLAGS


def build_oracle(cfg):
    """The oracle the config names: a parameter file or a seeded random LSTM."""
    from synthetic_oracle.model import OracleLSTM
    if cfg.oracle_params:
        oracle = OracleLSTM.from_npz(cfg.oracle_params)
        source = cfg.oracle_params
    else:
        oracle = OracleLSTM.from_seed(cfg.oracle_seed, cfg.vocab_size, cfg.oracle_emb_dim, cfg.oracle_hidden_dim)
        source = (f"seeded random oracle (seed {cfg.oracle_seed}, E={cfg.oracle_emb_dim}, "
                  f"H={cfg.oracle_hidden_dim}); pass --oracle_params=PATH.npz for the paper's oracle")
    if oracle.vocab_size != cfg.vocab_size:
        raise UserError(f"oracle vocabulary {oracle.vocab_size} != --vocab_size={cfg.vocab_size}; "
                        f"set --vocab_size={oracle.vocab_size}")
    print(f"oracle: {source}", flush=True)
    return oracle


def build_text_source(cfg, logdir, fresh):
    """Prepares the corpus (vocabulary kept in the logdir) and sizes the model to it."""
    import dataclasses
    import pathlib
    from leakgan_tf import sources, text
    vocab_path = pathlib.Path(logdir) / "vocab.txt"
    if fresh:
        vocab_path.unlink(missing_ok=True)
    vocab_path.parent.mkdir(parents=True, exist_ok=True)
    common = dict(seq_len=cfg.seq_len, min_count=cfg.min_count, max_vocab=cfg.max_vocab or None,
                  tokenizer=cfg.tokenizer, too_long=cfg.too_long, vocab_path=vocab_path, oov=cfg.oov)
    if cfg.dataset == "text":
        corpus = text.prepare_corpus(cfg.train_file, cfg.test_file or None, test_fraction=cfg.test_fraction,
                                     **common)
        where = cfg.train_file
    else:
        from leakgan_tf.datasets import load_text_split, load_tfds_text
        if cfg.tfds_name.startswith("local_text"):
            name = cfg.tfds_name.split("/", 1)[1] if "/" in cfg.tfds_name else "coco"
            train, test = (load_text_split(name, split) for split in ("train", "test"))
        else:
            train, test = (load_tfds_text(cfg.tfds_name, split) for split in ("train", "test"))
        corpus = text.corpus_from_sentences(train, test, **common)
        where = f"tfds {cfg.tfds_name}"
    cfg = dataclasses.replace(cfg, vocab_size=corpus.vocab_size).validate()
    tr, te = corpus.stats["train"], corpus.stats["test"]
    print(f"data: {where}: vocabulary {corpus.vocab_size} ({corpus.stats['vocab']['source']}); train {tr['kept']} "
          f"sentences ({tr['dropped_too_long']} too long, {tr['truncated']} truncated); test {te['kept']} "
          f"({te['dropped_too_long']} too long, {te['unknown_tokens']} unknown tokens)", flush=True)
    return cfg, sources.TextSource(corpus, cfg, cfg.tokenizer)


def start_multiworker():
    """Creates the multi-worker strategy before any TensorFlow op (TensorFlow's rule)."""
    import json
    import os
    try:
        task = json.loads(os.environ["TF_CONFIG"])["task"]
    except (KeyError, ValueError, TypeError):
        raise UserError("--distribute=multiworker needs TF_CONFIG (JSON with \"cluster\" and \"task\") in the "
                        "environment of every worker; see docs/distributed.md") from None
    from leakgan_tf.leakgan import make_strategy
    strategy = make_strategy("multiworker")
    print(f"multiworker: task {task.get('type')} {task.get('index')}, {strategy.num_replicas_in_sync} replicas",
          flush=True)


def main(argv):
    from absl import logging
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]} (a flagfile line that is not a flag?); "
                        f"flags are written --name=value")
    cfg = run_flags.config_from_flags()
    for line in run_flags.variant_overrides(cfg):
        print(line, flush=True)
    if cfg.distribute == "multiworker":
        start_multiworker()
    if FLAGS.dry_run:
        from leakgan_tf.leakgan import LeakGAN
        gan = LeakGAN(cfg)
        for name, count in gan.param_counts().items():
            print(f"{name}: {count:,} parameters")
        print(f"leaked feature dim D_f = {gan.discriminator.feature_dim}")
        return
    from leakgan_tf.train import Trainer
    if cfg.dataset == "oracle":
        source = build_oracle(cfg)
    else:
        cfg, source = build_text_source(cfg, FLAGS.logdir, FLAGS.fresh)
    trainer = Trainer(cfg, FLAGS.logdir, source, fresh=FLAGS.fresh, checkpoint_every=FLAGS.checkpoint_every,
                      keep_checkpoints=FLAGS.keep_checkpoints)
    stopped_by = trainer.run()
    if stopped_by:
        sys.exit(128 + stopped_by)
    print(f"done: checkpoints, samples and TensorBoard events in {FLAGS.logdir}", flush=True)


def run():
    run_flags.define_flags()
    run_cli(main)


if __name__ == "__main__":
    run()
