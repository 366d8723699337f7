"""The schedule end to end on a tiny configuration: events, checkpoints, resume,
determinism."""
import glob

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from leakgan_tf.train import NonFiniteError
from tests.helpers import TINY_SCHEDULE as SCHEDULE
from tests.helpers import tiny_config, tiny_trainer

pytestmark = pytest.mark.heavy(seconds=110)  # measured on 2 cores; orders the modules (conftest)


def run(logdir, checkpoint_every=1, **overrides):
    cfg = tiny_config(**{**SCHEDULE, **overrides})
    trainer = tiny_trainer(cfg, logdir, checkpoint_every=checkpoint_every)
    trainer.run()
    return trainer


def scalar_tags(logdir):
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    acc.Reload()
    return set(acc.Tags()["tensors"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One uninterrupted run, one run stopped after an iteration and resumed, one other seed."""
    root = tmp_path_factory.mktemp("runs")
    straight = run(root / "straight")
    first = run(root / "resumed", adversarial_iterations=1)
    slots = [v.numpy() for v in first.gan.optimizers["adversarial_worker"].variables]
    other_seed = run(root / "other_seed", adversarial_iterations=1, seed=4)
    return dict(root=root, straight=straight, first_slots=slots, other_seed=other_seed)


def test_tiny_run_writes_events_samples_and_checkpoints(runs):
    logdir = runs["root"] / "straight"
    tags = scalar_tags(logdir)
    for tag in ["pretrain/nll_oracle", "pretrain/ground_truth_nll", "pretrain/generator/worker_mle_loss",
                "pretrain/generator/manager_loss", "pretrain/discriminator/loss",
                "pretrain/discriminator/accuracy_real", "pretrain/discriminator/accuracy_fake",
                "adversarial/nll_oracle", "adversarial/generator/goal_loss", "adversarial/generator/worker_loss",
                "adversarial/generator/mean_reward", "adversarial/generator/g_step_seconds",
                "adversarial/rewards", "adversarial/samples"]:
        assert tag in tags, tag
    assert glob.glob(str(logdir / "checkpoints" / "ckpt-*.index"))
    samples = sorted((logdir / "samples").glob("adversarial_*.txt"))
    assert [p.name for p in samples] == ["adversarial_0000.txt", "adversarial_0001.txt"]
    assert len(samples[0].read_text().splitlines()) == 16


def test_resume_restores_position_optimizer_slots_and_random_stream(runs):
    root = runs["root"]
    resumed = tiny_trainer(tiny_config(**SCHEDULE), root / "resumed", checkpoint_every=1)
    resumed.restore()
    assert int(resumed.blocks_done.numpy()) == 1 and int(resumed.iterations_done.numpy()) == 1
    for a, b in zip(runs["first_slots"], resumed.gan.optimizers["adversarial_worker"].variables):
        np.testing.assert_array_equal(a, b.numpy())
    resumed.run()
    for name in ["adversarial_0000.txt", "adversarial_0001.txt"]:
        assert (root / "straight" / "samples" / name).read_text() == \
            (root / "resumed" / "samples" / name).read_text(), name
    for a, b in zip(runs["straight"].gan.worker.weights, resumed.gan.worker.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_another_seed_draws_other_samples(runs):
    root = runs["root"]
    read = lambda d: (root / d / "samples" / "adversarial_0000.txt").read_text()  # noqa: E731
    assert read("straight") != read("other_seed")


def test_nan_in_a_loss_stops_with_the_last_good_checkpoint(tmp_path):
    trainer = tiny_trainer(tiny_config(**SCHEDULE), tmp_path, checkpoint_every=1)
    trainer.save()
    trainer.gan.discriminator.out_kernel.assign(tf.fill(trainer.gan.discriminator.out_kernel.shape, float("nan")))
    with pytest.raises(NonFiniteError, match="discriminator_loss is not finite.*ckpt-1"):
        trainer.pretrain()  # the phase itself: run() would first restore the good weights


def test_extended_eval_reports_beta1_nll_test_and_diversity(tmp_path):
    trainer = tiny_trainer(tiny_config(**SCHEDULE, extended_eval=True), tmp_path)
    scores = trainer.evaluate(0, "adversarial")
    assert set(scores) >= {"nll_oracle", "nll_oracle_beta1", "nll_test", "distinct4", "distinct4_beta1"}
    assert (tmp_path / "test_data.txt").exists() and 0 < scores["distinct4"] <= 1
    assert scores["nll_test"] > 0


def test_init_from_branches_a_run_off_another_runs_checkpoint(tmp_path):
    """--init_from: the new run starts from the other run's weights, optimizer slots
    and position, with its own learning rate and switches, and saves itself."""
    base = run(tmp_path / "pretrained", adversarial_iterations=0, extended_eval=True)
    weights = [v.numpy() for v in base.gan.worker.variables]
    slots = [v.numpy() for v in base.gan.optimizers["pretrain_worker"].variables if v.shape.rank]
    cfg = tiny_config(**{**SCHEDULE, "adversarial_iterations": 1, "variant": "paper", "gen_learning_rate": 0.003,
                         "goal_normalize": True, "init_from": str(tmp_path / "pretrained"), "generated_num": 8,
                         "seed": 11})  # another seed would draw other data: what the branch holds was copied
    branch = tiny_trainer(cfg, tmp_path / "branch", checkpoint_every=1)
    assert branch.initialize_from(cfg.init_from).endswith("ckpt-1")
    # the branch keeps the first 8 rows of the other run's MLE set (its fixed D positives) and test set
    for name in ("real_data.txt", "test_data.txt"):
        kept = (tmp_path / "branch" / name).read_text().splitlines()
        assert kept == (tmp_path / "pretrained" / name).read_text().splitlines()[:8], name
    for a, b in zip(weights, branch.gan.worker.variables):
        np.testing.assert_array_equal(a, b.numpy())
    for a, b in zip(slots, [v for v in branch.gan.optimizers["pretrain_worker"].variables if v.shape.rank]):
        np.testing.assert_array_equal(a, b.numpy())
    assert float(branch.gan.optimizers["adversarial_worker"].learning_rate.numpy()) == pytest.approx(0.003)
    # another seed than the parent's: a stream of the branch's own, not the parent's continued
    parent_state = base.gan.rng.state.numpy()
    assert not np.array_equal(branch.gan.rng.state.numpy(), parent_state)
    same = tiny_trainer(tiny_config(**{**SCHEDULE, "init_from": str(tmp_path / "pretrained"), "generated_num": 8,
                                       "seed": base.cfg.seed, "extended_eval": True}), tmp_path / "same")
    same.initialize_from(str(tmp_path / "pretrained"))
    np.testing.assert_array_equal(same.gan.rng.state.numpy(), parent_state)  # the same seed continues it
    assert int(branch.blocks_done.numpy()) == 1 and branch.ckpt_manager.latest_checkpoint
    branch = tiny_trainer(cfg, tmp_path / "branch", checkpoint_every=1)  # resumes its own checkpoint
    branch.run()
    assert int(branch.iterations_done.numpy()) == 1 and int(branch.blocks_done.numpy()) == 1
    assert sorted(p.name for p in (tmp_path / "branch" / "samples").glob("*.txt")) == ["adversarial_0000.txt"]
    assert not any(np.array_equal(a, b.numpy()) for a, b in zip(weights, branch.gan.worker.variables)
                   if a.size > 1)


def test_init_from_errors_name_the_fix(tmp_path):
    from leakgan_tf.errors import UserError
    with pytest.raises(UserError, match="no such run directory"):
        tiny_config(init_from=str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    cfg = tiny_config(**SCHEDULE, init_from=str(tmp_path / "empty"))
    with pytest.raises(UserError, match="holds no checkpoint"):
        tiny_trainer(cfg, tmp_path / "x").run()


def test_init_from_refuses_a_generator_whose_goal_normalisation_differs(tmp_path):
    """Pretrained with w = l2n(G·W_ψ), run with w = G·W_ψ: the same weights sample
    at another temperature, so the branch is refused with the fix named."""
    from leakgan_tf.errors import UserError
    run(tmp_path / "pretrained", adversarial_iterations=0)
    cfg = tiny_config(**SCHEDULE, variant="paper", init_from=str(tmp_path / "pretrained"))
    assert cfg.goal_normalize is False
    with pytest.raises(UserError, match="--goal_normalize=true"):
        tiny_trainer(cfg, tmp_path / "branch").initialize_from(cfg.init_from)
    assert not (tmp_path / "branch" / "checkpoints" / "checkpoint").exists()
    # A run saved before the setting existed used its default (normalised): still refused.
    import json
    saved = tmp_path / "pretrained" / "config.json"
    saved.write_text(json.dumps({k: v for k, v in json.loads(saved.read_text()).items() if k != "goal_normalize"}))
    with pytest.raises(UserError, match="--goal_normalize=true"):
        tiny_trainer(cfg, tmp_path / "branch").initialize_from(cfg.init_from)

