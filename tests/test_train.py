"""The schedule end to end on a tiny configuration: events, checkpoints, resume,
determinism."""
import glob

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from leakgan_tf.train import Trainer
from synthetic_oracle.model import OracleLSTM
from tests.helpers import tiny_config

SCHEDULE = dict(pretrain_blocks=1, pretrain_d_rounds=1, d_epochs=1, pretrain_g_epochs=1,
                adversarial_iterations=2, adv_d_rounds=1, eval_every=1)


def oracle():
    return OracleLSTM.from_seed(7, 30, 4, 4)


def run(logdir, checkpoint_every=1, **overrides):
    cfg = tiny_config(**{**SCHEDULE, **overrides})
    trainer = Trainer(cfg, logdir, oracle(), checkpoint_every=checkpoint_every)
    trainer.run()
    return trainer


def scalar_tags(logdir):
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    acc.Reload()
    return set(acc.Tags()["tensors"])


def test_tiny_run_writes_events_samples_and_checkpoints(tmp_path):
    run(tmp_path)
    tags = scalar_tags(tmp_path)
    for tag in ["pretrain/nll_oracle", "pretrain/ground_truth_nll", "pretrain/generator/worker_mle_loss",
                "pretrain/generator/manager_loss", "pretrain/discriminator/loss",
                "pretrain/discriminator/accuracy_real", "pretrain/discriminator/accuracy_fake",
                "adversarial/nll_oracle", "adversarial/generator/goal_loss", "adversarial/generator/worker_loss",
                "adversarial/generator/mean_reward", "adversarial/generator/g_step_seconds",
                "adversarial/rewards", "adversarial/samples"]:
        assert tag in tags, tag
    assert glob.glob(str(tmp_path / "checkpoints" / "ckpt-*.index"))
    samples = sorted((tmp_path / "samples").glob("adversarial_*.txt"))
    assert [p.name for p in samples] == ["adversarial_0000.txt", "adversarial_0001.txt"]
    assert len(samples[0].read_text().splitlines()) == 16


def test_resume_restores_position_optimizer_slots_and_random_stream(tmp_path):
    straight = run(tmp_path / "straight")
    first = run(tmp_path / "resumed", adversarial_iterations=1)
    slots_saved = [v.numpy() for v in first.gan.optimizers["adversarial_worker"].variables]
    resumed_cfg = tiny_config(**SCHEDULE)
    resumed = Trainer(resumed_cfg, tmp_path / "resumed", oracle(), checkpoint_every=1)
    resumed.restore()
    assert int(resumed.blocks_done.numpy()) == 1 and int(resumed.iterations_done.numpy()) == 1
    for a, b in zip(slots_saved, resumed.gan.optimizers["adversarial_worker"].variables):
        np.testing.assert_array_equal(a, b.numpy())
    resumed.run()
    for name in ["adversarial_0000.txt", "adversarial_0001.txt"]:
        assert (tmp_path / "straight" / "samples" / name).read_text() == \
            (tmp_path / "resumed" / "samples" / name).read_text(), name
    for a, b in zip(straight.gan.worker.weights, resumed.gan.worker.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_same_seed_same_samples(tmp_path):
    run(tmp_path / "a", adversarial_iterations=1)
    run(tmp_path / "b", adversarial_iterations=1)
    run(tmp_path / "c", adversarial_iterations=1, seed=4)
    a, b, c = [(tmp_path / d / "samples" / "adversarial_0000.txt").read_text() for d in "abc"]
    assert a == b and a != c
