"""experiments/bench_speed.py's accounting (no timing): the discriminator weight
count behind the Adam floor, and floors that grow with the work they count."""
import pytest
import tensorflow as tf

from leakgan_tf.config import make_config
from leakgan_tf.leakgan import LeakGAN, num_params
from tests.helpers import load_experiment, tiny_config

bench = load_experiment("bench_speed")


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


def test_d_gradient_follows_leakgans_xla_rule():
    """XLA compiles the D step (dense gradient), on one device or per replica;
    without XLA the step runs the sparse op wherever it can be built."""
    from leakgan_tf.kernels import pooled_conv
    with_op = "sparse" if pooled_conv.gradient_op(True, tf.float32) is not None else "dense"
    cfg = make_config("synthetic20", xla_phases=("discriminator",))
    assert bench.d_gradient(cfg) == "dense"
    assert bench.d_gradient(make_config("synthetic20", xla_phases=())) == with_op


def test_d_step_parts_run_and_report_their_rates():
    """The per-part functions run on the model (tiny sizes) and d_parts_row turns
    their milliseconds into GFLOP/s from the model's FLOP counts."""
    cfg = tiny_config()
    gan = LeakGAN(cfg)
    tokens = tf.zeros([cfg.batch_size, cfg.seq_len], tf.int32)
    for name, fn in bench.d_part_functions(gan.discriminator, tokens).items():
        outputs = tf.nest.flatten(fn(), expand_composites=True)
        assert outputs and all(bool(tf.reduce_all(tf.math.is_finite(tf.cast(o, tf.float32)))) for o in outputs), name
    parts = dict(forward_backward_ms=40.0, adam_ms=7.0, adam_mbytes=197.0,
                 parts_ms=dict(conv_forward=8.0, highway_gemms=10.0))
    row = bench.d_parts_row(cfg, parts, 1.8e11, 4.5e10, "sparse")
    assert row["parts_gflops_per_s"]["highway_gemms"] == pytest.approx(
        cfg.batch_size * 3 * bench.highway_flops(cfg) / 0.010 / 1e9, abs=0.1)
    assert row["parts_gflops_per_s"]["conv_forward"] == pytest.approx(
        cfg.batch_size * bench.conv_flops_full(cfg) / 0.008 / 1e9, abs=0.1)


def test_mle_step_parts_run_and_report_their_rates():
    """The MLE step's parts run on the model (tiny sizes), compiled as the step
    is, and mle_parts_row turns their milliseconds into GFLOP/s from the FLOPs
    phase_flops counts for the MLE epoch."""
    cfg = tiny_config()
    gan = LeakGAN(cfg)
    tokens = tf.zeros([cfg.batch_size, cfg.seq_len], tf.int32)
    parts = bench.mle_step_parts(gan, tokens, steps=1)
    assert set(parts["parts_ms"]) == {"features", "output", "forward", "forward_backward", "apply"}
    assert parts["step_ms"] > 0 and all(t > 0 for t in parts["parts_ms"].values())
    assert parts["weights"] == num_params(gan.manager) + num_params(gan.worker)
    parts = dict(parts, step_ms=20.0, parts_ms=dict(features=5.0, forward_backward=10.0, apply=2.0))
    row = bench.mle_parts_row(cfg, parts, 1.8e11)
    epoch = bench.phase_flops(cfg, cfg.feature_path)["mle_epoch"]
    assert row["gflop"] == pytest.approx(epoch / cfg.num_samples * cfg.batch_size / 1e9, abs=1e-3)
    assert row["parts_gflops_per_s"]["forward_backward"] == pytest.approx(row["gflop"] / 0.010, abs=0.1)
    assert row["step_fraction_of_matmul_rate"] == pytest.approx(row["gflop"] * 1e9 / 0.020 / 1.8e11, abs=1e-3)
    assert "apply" not in row["parts_gflops_per_s"]


def test_g_step_parts_run_and_report_their_rates():
    """The G step's parts (sampling, rollouts, D's rewards) run on the model (tiny
    sizes) and g_parts_row counts their FLOPs as phase_flops counts the step."""
    cfg = tiny_config()
    gan = LeakGAN(cfg)
    parts = bench.g_step_parts(gan, steps=1)
    assert set(parts["parts_ms"]) == {"sample", "rollouts", "rewards"}
    assert parts["step_ms"] > 0 and all(t > 0 for t in parts["parts_ms"].values())
    row = bench.g_parts_row(cfg, dict(step_ms=100.0, parts_ms=dict(sample=10.0, rollouts=20.0, rewards=5.0)), 1e11)
    step = bench.phase_flops(cfg, cfg.feature_path)["adversarial_step"]
    assert row["step_fraction_of_matmul_rate"] == pytest.approx(step / 0.1 / 1e11, abs=1e-3)
    B, T = cfg.batch_size, cfg.seq_len
    per_token = bench.prefix_feature_flops(cfg, cfg.feature_path) + bench.generator_step_flops(cfg)
    assert row["parts_gflops_per_s"]["sample"] == pytest.approx(B * T * per_token / 0.010 / 1e9, abs=0.1)
    # sampling, rollouts and rewards are part of the step's FLOPs, not more than it
    flops = {k: v * t / 1e3 for (k, v), t in zip(row["parts_gflops_per_s"].items(), (10.0, 20.0, 5.0))}
    assert sum(flops.values()) < row["gflop"]
