"""A finished or running run directory (written by leakgan_tf.main), read back:
its Config and its latest weights, and its vocabulary for text runs."""
import dataclasses
import json
import pathlib

from leakgan_tf.errors import UserError


def load_run(logdir):
    """(LeakGAN with the latest weights, Config) of a run directory."""
    import tensorflow as tf
    from leakgan_tf.config import Config
    from leakgan_tf.leakgan import LeakGAN
    logdir = pathlib.Path(logdir)
    saved = logdir / "config.json"
    if not saved.exists():
        raise UserError(f"{saved} not found; --logdir must be a directory written by leakgan_tf.main")
    values = json.loads(saved.read_text())
    fields = {f.name: f for f in dataclasses.fields(Config)}
    cfg = Config(**{k: tuple(v) if isinstance(fields[k].default, tuple) else v
                    for k, v in values.items() if k in fields})
    gan = LeakGAN(cfg)
    latest = tf.train.latest_checkpoint(str(logdir / "checkpoints"))
    if latest is None:
        raise UserError(f"no checkpoint in {logdir / 'checkpoints'}; train first (leakgan_tf.main)")
    tf.train.Checkpoint(discriminator=gan.discriminator, manager=gan.manager,
                        worker=gan.worker).restore(latest).expect_partial()
    return gan, cfg


def load_vocab(logdir):
    from leakgan_tf import text
    path = pathlib.Path(logdir) / "vocab.txt"
    return text.Vocabulary.load(path) if path.exists() else None
