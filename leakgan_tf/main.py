"""Train LeakGAN on a synthetic oracle or on real text.

  python -m leakgan_tf.main --flagfile=experiments/quick.cfg [--flag=value …]
  python -m leakgan_tf.main --flagfile=experiments/coco.cfg

Writes checkpoints, evaluation samples, config.json and TensorBoard events to
--logdir; rerunning with the same --logdir resumes from the last checkpoint.
"""
from __future__ import annotations

import sys

from leakgan_tf.startup import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

from absl import flags  # noqa: E402

from leakgan_tf import flags as run_flags  # noqa: E402
from leakgan_tf.errors import UserError, run_cli  # noqa: E402

FLAGS = flags.FLAGS


def start_multiworker() -> None:
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


def main(argv: list[str]) -> None:
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
    from leakgan_tf import sources
    from leakgan_tf.train import Trainer
    source = sources.from_config(cfg, FLAGS.logdir, FLAGS.fresh)
    cfg = source.cfg
    trainer = Trainer(cfg, FLAGS.logdir, source, fresh=FLAGS.fresh, checkpoint_every=FLAGS.checkpoint_every,
                      keep_checkpoints=FLAGS.keep_checkpoints)
    stopped_by = trainer.run()
    if stopped_by:
        sys.exit(128 + stopped_by)
    print(f"done: checkpoints, samples and TensorBoard events in {FLAGS.logdir}", flush=True)


def run() -> None:
    run_flags.define_flags()
    run_cli(main)


if __name__ == "__main__":
    run()
