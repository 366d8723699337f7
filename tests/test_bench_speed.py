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


def test_the_sparse_d_gradient_counts_one_window_per_feature():
    """With the sparse gradient a feature's backward touches one window (h·E
    multiply-adds for the kernel, h·E for the input) instead of T − h + 1."""
    cfg = bench.config_for(20, "incremental")
    windows = sum((cfg.seq_len - h + 1) * h * n for h, n in zip(cfg.dis_filter_sizes, cfg.dis_num_filters))
    winners = sum(h * n for h, n in zip(cfg.dis_filter_sizes, cfg.dis_num_filters))
    dense = bench.phase_flops(cfg, "incremental", "dense")["d_epoch"]
    sparse = bench.phase_flops(cfg, "incremental", "sparse")["d_epoch"]
    sequences = 2 * cfg.num_samples  # positives and negatives
    assert dense - sparse == sequences * 2 * 2 * cfg.dis_emb_dim * (windows - winners)
    assert bench.phase_flops(cfg, "original", "sparse")["d_epoch"] == dense  # the original's gradients are dense
    row = bench.d_parts_row(cfg, dict(forward_backward_ms=40.0, adam_ms=7.0, adam_mbytes=197.0), 1.8e11, 4.5e10,
                            "sparse")
    assert row["gflop"] == pytest.approx(sparse / sequences * cfg.batch_size / 1e9, abs=1e-3)
    assert row["dense_gflop"] == pytest.approx(dense / sequences * cfg.batch_size / 1e9, abs=1e-3)
