"""The run directory (a --logdir written by leakgan_tf.main): the one place
that knows what it holds and how it may be reused.

  config.json        the run's Config (`saved_settings`, `saved_config`)
  checkpoints/       `checkpoint(gan, position)`: the object whose key names are
                     the on-disk layout (models, the five optimizers, the random
                     stream, the schedule position); train, sample, evaluate and
                     export all build it here
  real_data.txt, test_data.txt, vocab.txt, samples/   (sources.py, text.py)
  events.out.tfevents.*   TensorBoard scalars (`scalars`)

Resume rules: a rerun in the same logdir may change only RESUMABLE_CHANGES
(`check_resumable`); a --init_from branch must agree with its parent on
SAME_MEANING (`check_same_meaning`).
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from leakgan_tf.errors import UserError

if TYPE_CHECKING:  # TensorFlow-free at import time
    import tensorflow as tf

    from leakgan_tf.config import Config
    from leakgan_tf.leakgan import LeakGAN
    from leakgan_tf.text import Vocabulary

CONFIG = "config.json"
CHECKPOINTS = "checkpoints"
# Fields that may change when a run is resumed (they do not change the models).
RESUMABLE_CHANGES = frozenset({"adversarial_iterations", "eval_every", "sample_batch", "init_from"})
# Fields that change what the same weights compute; a --init_from branch must
# keep its parent's. goal_normalize=false turns w = l2n(G·W_ψ) into G·W_ψ, whose
# norm grows during training with normalisation on (the gradient is orthogonal
# to w): a generator pretrained with it and run without it samples at a far
# lower temperature and collapses to a few sequences.
SAME_MEANING = ("goal_normalize",)
# The schedule position kept in every checkpoint (checkpoint keys).
POSITION = ("blocks_done", "iterations_done", "units_done")


# ---------------------------------------------------------------- settings
def saved_settings(logdir: str | pathlib.Path) -> dict[str, Any] | None:
    """The run's config.json as a dict, None if there is none; settings added
    after the run was saved take their defaults (what that run used)."""
    from leakgan_tf.config import Config
    path = pathlib.Path(logdir) / CONFIG
    if not path.exists():
        return None
    return {**json.loads(Config().to_json()), **json.loads(path.read_text())}


def saved_config(logdir: str | pathlib.Path) -> Config:
    """The run's Config (UserError if logdir holds no config.json)."""
    from leakgan_tf.config import Config
    values = saved_settings(logdir)
    if values is None:
        raise UserError(f"{pathlib.Path(logdir) / CONFIG} not found; --logdir must be a directory written by "
                        f"leakgan_tf.main")
    fields = {f.name: f for f in dataclasses.fields(Config)}
    return Config(**{k: tuple(v) if isinstance(fields[k].default, tuple) else v
                     for k, v in values.items() if k in fields})


def num_samples(logdir: str | pathlib.Path, generated_num: int) -> int:
    """Samples the run scores for generated_num (Config.num_samples: whole batches)."""
    return dataclasses.replace(saved_config(logdir), generated_num=generated_num).num_samples


def check_resumable(logdir: str | pathlib.Path, cfg: Config) -> None:
    """UserError unless cfg differs from the run saved in logdir only in RESUMABLE_CHANGES."""
    previous = saved_settings(logdir)
    if previous is None:
        return
    current = json.loads(cfg.to_json())
    diff = sorted(k for k in set(previous) | set(current)
                  if previous.get(k) != current.get(k) and k not in RESUMABLE_CHANGES)
    if diff:
        shown = ", ".join(f"--{k}={previous.get(k)} (saved) vs {current.get(k)} (now)" for k in diff[:3])
        raise UserError(f"{logdir} holds a run with different settings: {shown}; "
                        f"use the saved values, another --logdir, or --fresh to start over")


def check_same_meaning(parent: str | pathlib.Path, cfg: Config, latest: str) -> None:
    """UserError if the run in parent (a --init_from source whose checkpoint is
    latest) was trained with another value of a SAME_MEANING field than cfg."""
    saved = saved_settings(parent)
    if saved is None:
        return
    for name in SAME_MEANING:
        if saved[name] != getattr(cfg, name):
            value = "true" if saved[name] else "false"
            raise UserError(f"--init_from checkpoint {latest} was trained with --{name}={value} and this run "
                            f"has the opposite; the same weights would compute a different generator; pass "
                            f"--{name}={value} or pretrain with this run's settings")


def same_meaning_flags(logdir: str | pathlib.Path) -> list[str]:
    """The flags a --init_from branch of the run in logdir must pass (SAME_MEANING)."""
    saved = saved_settings(logdir) or {}
    return [f"--{'' if saved[n] else 'no'}{n}" if isinstance(saved[n], bool) else f"--{n}={saved[n]}"
            for n in SAME_MEANING if n in saved]


# ---------------------------------------------------------------- checkpoints
def latest_checkpoint(logdir: str | pathlib.Path) -> str | None:
    """Path of the run's latest checkpoint, or None."""
    import tensorflow as tf
    return tf.train.latest_checkpoint(str(pathlib.Path(logdir) / CHECKPOINTS))


def finished(logdir: str | pathlib.Path) -> bool:
    """True when logdir holds a run's settings and at least one checkpoint."""
    return (pathlib.Path(logdir) / CONFIG).exists() and bool(latest_checkpoint(logdir))


def position_variables() -> dict[str, tf.Variable]:
    """The schedule position (POSITION keys) as int64 variables at 0."""
    import tensorflow as tf
    names = dict(blocks_done="pretrain_blocks_done", iterations_done="adversarial_iterations_done",
                 units_done="units_done_in_current_block_or_iteration")
    return {k: tf.Variable(0, dtype=tf.int64, name=names[k]) for k in POSITION}


def checkpoint(gan: LeakGAN, position: dict[str, tf.Variable] | None = None) -> tf.train.Checkpoint:
    """The checkpoint object of a run: its keys are the on-disk layout.

    discriminator, manager, worker (the models), rng (the run's random stream),
    optimizer_<name> for each of gan.optimizers, and the position variables
    (POSITION; position_variables() when None)."""
    import tensorflow as tf
    position = position_variables() if position is None else position
    return tf.train.Checkpoint(
        discriminator=gan.discriminator, manager=gan.manager, worker=gan.worker, rng=gan.rng,
        **{f"optimizer_{k}": v for k, v in gan.optimizers.items()}, **position)


def load_run(logdir: str | pathlib.Path) -> tuple[LeakGAN, Config, str, dict[str, int]]:
    """(LeakGAN with the latest checkpoint restored, its Config, the checkpoint
    path, the schedule position {blocks_done, iterations_done, units_done})."""
    from leakgan_tf.leakgan import LeakGAN
    cfg = saved_config(logdir)
    gan = LeakGAN(cfg)
    latest = latest_checkpoint(logdir)
    if latest is None:
        raise UserError(f"no checkpoint in {pathlib.Path(logdir) / CHECKPOINTS}; train first (leakgan_tf.main)")
    position = position_variables()
    checkpoint(gan, position).restore(latest).expect_partial()
    return gan, cfg, latest, {k: int(v.numpy()) for k, v in position.items()}


def load_vocab(logdir: str | pathlib.Path) -> Vocabulary | None:
    """The vocabulary of a text run (vocab.txt), None for an oracle run."""
    from leakgan_tf import text
    path = pathlib.Path(logdir) / "vocab.txt"
    return text.Vocabulary.load(path) if path.exists() else None


# ---------------------------------------------------------------- events
def scalars(logdir: str | pathlib.Path,
            keep: Callable[[str], bool] = lambda tag: True) -> dict[str, dict[int, tuple[float, float]]]:
    """The scalars of the run's TensorBoard events: {tag: {step: (value, wall_time)}}
    for the tags keep(tag) accepts; a step written twice (a unit redone after a
    kill) keeps its last value. {} when logdir does not exist."""
    if not pathlib.Path(logdir).exists():
        return {}
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    acc.Reload()
    return {tag: {e.step: (float(tf.make_ndarray(e.tensor_proto)), e.wall_time) for e in acc.Tensors(tag)}
            for tag in acc.Tags()["tensors"] if keep(tag)}
