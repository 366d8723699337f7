"""Train LeakGAN on a synthetic oracle or on real text.

  python -m leakgan_tf.main --flagfile=experiments/quick.cfg [--flag=value …]
  python -m leakgan_tf.main --flagfile=experiments/coco.cfg
  python -m leakgan_tf.main --flagfile=experiments/seqgan_len20.cfg    # SeqGAN (--model=seqgan)

Writes checkpoints, evaluation samples, config.json and TensorBoard events to
--logdir; rerunning with the same --logdir resumes from the last checkpoint.
"""
from __future__ import annotations

import pathlib
import shutil
import sys
import tempfile

from leakgan_tf import startup  # noqa: E402

startup.prepare_environment()  # TensorFlow itself is imported once the flags are checked

from absl import flags  # noqa: E402

from leakgan_tf import flags as run_flags  # noqa: E402
from leakgan_tf import run_dir  # noqa: E402
from leakgan_tf.errors import UserError, run_cli  # noqa: E402

FLAGS = flags.FLAGS


def cluster_task() -> dict:
    """TF_CONFIG's task, or a UserError when TF_CONFIG cannot describe this worker
    (checked before TensorFlow is imported)."""
    import json
    import os
    try:
        config = json.loads(os.environ["TF_CONFIG"])
        task, cluster = config["task"], config["cluster"]
        if not isinstance(task, dict) or not isinstance(cluster, dict) or not cluster:
            raise TypeError
    except (KeyError, ValueError, TypeError):
        raise UserError("--distribute=multiworker needs TF_CONFIG (JSON with \"cluster\" and \"task\") in the "
                        "environment of every worker; see docs/distributed.md") from None
    hosts = cluster.get(task.get("type"))
    if not isinstance(hosts, list) or not isinstance(task.get("index"), int) or not 0 <= task["index"] < len(hosts):
        raise UserError(f"TF_CONFIG's task {task} names no host of its cluster {cluster}: \"type\" must be a key of "
                        f"\"cluster\" whose value is a list of hosts, and \"index\" a position in it")
    return task


def start_multiworker(task: dict) -> bool:
    """Creates the multi-worker strategy before any TensorFlow op (TensorFlow's rule);
    returns whether this process is the chief (the one that writes the logdir)."""
    from leakgan_tf.leakgan import make_strategy
    try:
        strategy = make_strategy("multiworker")
    except (ValueError, TypeError) as e:
        raise UserError(f"TF_CONFIG does not describe a cluster TensorFlow accepts ({e}); see docs/distributed.md") \
            from None
    chief = strategy.extended.should_checkpoint
    role = " (chief: writes the logdir)" if chief else " (resumes from the chief's checkpoints, writes nothing there)"
    print(f"multiworker: task {task.get('type')} {task.get('index')}, {strategy.num_replicas_in_sync} replicas"
          + role, flush=True)
    return chief


DATA_FILES = ("real_data.txt", "test_data.txt", "vocab.txt")


def worker_scratch(logdir: str, fresh: bool) -> pathlib.Path:
    """A non-chief worker's private folder (deleted at exit) holding copies of the
    chief's data files (unless --fresh: the chief makes them anew, from the seed, as
    this worker does), so it trains on the same data without writing the logdir."""
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="leakgan_worker_"))
    for name in DATA_FILES:
        if not fresh and (pathlib.Path(logdir) / name).is_file():
            shutil.copy(pathlib.Path(logdir) / name, scratch / name)
    return scratch


def main(argv: list[str]) -> None:
    from absl import logging
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]} (a flagfile line that is not a flag?); "
                        f"flags are written --name=value")
    cfg = run_flags.config_from_flags()
    for line in run_flags.variant_overrides(cfg):
        print(line, flush=True)
    task = cluster_task() if cfg.distribute == "multiworker" else None
    if not FLAGS.dry_run:
        run_dir.check_logdir(FLAGS.logdir)
    startup.before_tensorflow()  # only now: a bad flag is answered without TensorFlow's import
    startup.configure_devices()  # GPU memory growth; a warning when a CUDA build sees no GPU
    chief = start_multiworker(task) if task is not None else True
    if FLAGS.dry_run:
        from leakgan_tf import gans
        gan = gans.build(cfg)
        for name, count in gan.param_counts().items():
            print(f"{name}: {count:,} parameters")
        if cfg.model == "leakgan":
            print(f"leaked feature dim D_f = {gan.discriminator.feature_dim}")
        return
    from leakgan_tf import sources
    from leakgan_tf.train import Trainer
    scratch = None if chief else worker_scratch(FLAGS.logdir, FLAGS.fresh)
    try:
        source = sources.from_config(cfg, scratch or FLAGS.logdir, FLAGS.fresh)
        cfg = source.cfg
        trainer = Trainer(cfg, FLAGS.logdir, source, fresh=FLAGS.fresh, checkpoint_every=FLAGS.checkpoint_every,
                          keep_checkpoints=FLAGS.keep_checkpoints, scratch=scratch)
        stopped_by = trainer.run()
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    if stopped_by:
        sys.exit(128 + stopped_by)
    print(f"done: checkpoints, samples and TensorBoard events in {FLAGS.logdir}", flush=True)


def run() -> None:
    run_flags.define_flags()
    run_flags.exit_if_help(sys.argv, __doc__, run_flags.main_groups())  # absl's --help lists no flags, exits 1
    run_cli(main)


if __name__ == "__main__":
    run()
