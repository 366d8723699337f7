"""experiments/bench_speed.py's accounting (no timing): the discriminator weight
count behind the Adam floor, and floors that grow with the work they count."""
import importlib.util

import pytest

from leakgan_tf.config import make_config
from leakgan_tf.leakgan import LeakGAN, num_params
from tests.conftest import REPO_ROOT


def load_bench_speed():
    spec = importlib.util.spec_from_file_location("bench_speed", REPO_ROOT / "experiments" / "bench_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = load_bench_speed()


@pytest.mark.parametrize("preset", ["synthetic20", "synthetic40"])
def test_discriminator_weight_count_matches_the_model(preset):
    cfg = make_config(preset, xla_phases=())
    assert bench.discriminator_weights(cfg) == num_params(LeakGAN(cfg).discriminator)


def test_floors_are_flops_at_the_rate_plus_adam_bytes():
    cfg = bench.config_for(20, "incremental")
    flops = bench.phase_flops(cfg, "incremental")
    fast, slow = bench.floors(cfg, "incremental", 2e11, 2e10), bench.floors(cfg, "incremental", 1e11, 2e10)
    assert fast["generation"] == pytest.approx(flops["generation"] / 2e11, abs=0.01)
    adam_epoch = 2 * cfg.num_samples // cfg.batch_size * 28 * bench.discriminator_weights(cfg) / 2e10
    assert fast["d_epoch"] == pytest.approx(flops["d_epoch"] / 2e11 + adam_epoch, abs=0.01)
    assert fast["adversarial_iteration"] == pytest.approx(
        fast["adversarial_step"] + cfg.adv_d_rounds * (fast["generation"] + cfg.d_epochs * fast["d_epoch"]), abs=0.05)
    assert all(slow[p] > fast[p] for p in fast)
