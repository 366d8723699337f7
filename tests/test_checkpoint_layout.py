"""A checkpoint written with the key layout of the runs already on disk (the
object train.py built before run_dir.checkpoint existed, rebuilt here by hand)
resumes with today's code: every value comes back, nothing is left unmatched,
and the schedule continues from its position."""
import numpy as np
import tensorflow as tf

from leakgan_tf import run_dir
from leakgan_tf.leakgan import LeakGAN
from tests.helpers import TINY_SCHEDULE, tiny_config, tiny_trainer

# The layout of checkpoints written by earlier versions: these keys, these objects.
OLD_OPTIMIZERS = ("discriminator", "pretrain_manager", "pretrain_worker", "adversarial_manager", "adversarial_worker")


def write_old_checkpoint(cfg, logdir):
    """A run that trained a little, saved as the old Trainer saved it, after one
    pretraining block and one adversarial iteration. Returns the LeakGAN."""
    gan = LeakGAN(cfg)
    x = tf.constant(np.random.default_rng(0).integers(0, cfg.vocab_size, size=(cfg.batch_size, cfg.seq_len)),
                    tf.int32)
    gan.pretrain_step(x)
    gan.discriminator_step(x, tf.constant([1, 0] * (cfg.batch_size // 2), tf.int32))
    gan.next_seed()  # the random stream moved on
    old = tf.train.Checkpoint(
        discriminator=gan.discriminator, manager=gan.manager, worker=gan.worker, rng=gan.rng,
        blocks_done=tf.Variable(1, dtype=tf.int64, name="pretrain_blocks_done"),
        iterations_done=tf.Variable(1, dtype=tf.int64, name="adversarial_iterations_done"),
        units_done=tf.Variable(0, dtype=tf.int64, name="units_done_in_current_block_or_iteration"),
        **{f"optimizer_{name}": gan.optimizers[name] for name in OLD_OPTIMIZERS})
    tf.train.CheckpointManager(old, str(logdir / "checkpoints"), max_to_keep=3).save()
    (logdir / "config.json").write_text(cfg.to_json())
    return gan


def values(gan):
    return [v.numpy() for v in gan.discriminator.weights + gan.manager.weights + gan.worker.weights] + \
        [v.numpy() for name in OLD_OPTIMIZERS for v in gan.optimizers[name].variables] + [gan.rng.state.numpy()]


def test_an_old_layout_checkpoint_resumes(tmp_path):
    cfg = tiny_config(**TINY_SCHEDULE)
    old = write_old_checkpoint(cfg, tmp_path)
    trainer = tiny_trainer(cfg, tmp_path, checkpoint_every=1)
    assert trainer.restore().endswith("ckpt-1")  # restore() asserts that every object was matched
    for a, b in zip(values(old), values(trainer.gan), strict=True):
        np.testing.assert_array_equal(a, b)
    assert (int(trainer.blocks_done.numpy()), int(trainer.iterations_done.numpy())) == (1, 1)
    trainer.run()  # the last adversarial iteration (of 2) only
    assert int(trainer.iterations_done.numpy()) == 2
    assert sorted(p.name for p in (tmp_path / "samples").glob("*.txt")) == ["adversarial_0001.txt"]


def test_load_run_reads_an_old_layout_checkpoint(tmp_path):
    cfg = tiny_config(**TINY_SCHEDULE)
    old = write_old_checkpoint(cfg, tmp_path)
    gan, saved, latest, position = run_dir.load_run(tmp_path)
    assert saved == cfg and latest.endswith("ckpt-1")
    assert position == dict(blocks_done=1, iterations_done=1, units_done=0)
    for a, b in zip(values(old), values(gan), strict=True):
        np.testing.assert_array_equal(a, b)
