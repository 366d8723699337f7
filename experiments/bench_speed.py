"""Per-phase speed of LeakGAN on this machine, with FLOP accounting.

  python experiments/bench_speed.py [--lengths 20,40] [--out experiments/results/bench_speed.json]

For each sequence length it times (after a warm-up call that compiles):
generation of 9,984 samples at β = 1.5, one MLE epoch (156 batches), one
discriminator epoch (312 batches), one adversarial generator step (sampling,
all rollouts, rewards, update) and NLL-oracle evaluation; counts each phase's
floating-point work from the model dimensions (a multiply-add is 2 FLOPs);
measures the machine's dense matmul rate in the same run; and writes JSON.

Reference: the original TF1 code on this 2-core CPU takes about 73 s
(generation), 155 s (MLE epoch), 25 s (D epoch) and 10 s (adversarial step).
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from leakgan_tf.config import make_config  # noqa: E402
from leakgan_tf.leakgan import LeakGAN  # noqa: E402

ORIGINAL_SECONDS = {"generation": 73.0, "mle_epoch": 155.0, "d_epoch": 25.0, "adversarial_step": 10.0,
                    "adversarial_iteration": 13 * 60.0}


# ---------------------------------------------------------------------------- FLOPs
def feature_flops(cfg):
    """One full discriminator feature pass of one sequence (conv + highway)."""
    conv = sum(2 * (cfg.seq_len - h + 1) * h * cfg.dis_emb_dim * n
               for h, n in zip(cfg.dis_filter_sizes, cfg.dis_num_filters))
    return conv + 2 * 2 * cfg.feature_dim ** 2


def classify_flops(cfg):
    return feature_flops(cfg) + 2 * 2 * cfg.feature_dim


def generator_step_flops(cfg):
    """One Manager + Worker step of one sequence, excluding the leaked feature."""
    E, H, k, V, D = cfg.gen_emb_dim, cfg.gen_hidden_dim, cfg.goal_size, cfg.vocab_size, cfg.feature_dim
    worker = 2 * (E + H) * 4 * H + 2 * H * k * V + 2 * k * V + 2 * D * k
    manager = 2 * (D + H) * 4 * H + 2 * H * D
    return worker + manager


def phase_flops(cfg):
    T, B, c, R = cfg.seq_len, cfg.batch_size, cfg.step_size, cfg.rollout_num
    n = cfg.num_samples
    sample_seq = T * (feature_flops(cfg) + generator_step_flops(cfg))
    teacher_forced = (T + 1) * feature_flops(cfg) + T * generator_step_flops(cfg)
    teacher_forced_train = (T + 1) * feature_flops(cfg) + 3 * T * generator_step_flops(cfg)  # fwd + 2× bwd
    rollout_steps = R * sum(T - m * c for m in range(1, T // c))
    adversarial = B * (sample_seq + teacher_forced_train + rollout_steps * (feature_flops(cfg) + generator_step_flops(cfg))
                       + (R * (T // c - 1) + 1) * classify_flops(cfg))
    d_epoch = 2 * n * 3 * classify_flops(cfg)
    return {
        "generation": n * sample_seq,
        "mle_epoch": n * teacher_forced_train,
        "d_epoch": d_epoch,
        "adversarial_step": adversarial,
        "adversarial_iteration": adversarial + cfg.adv_d_rounds * (n * sample_seq + cfg.d_epochs * d_epoch),
    }


# ---------------------------------------------------------------------------- timing
def matmul_rate(size=2048, repeats=10):
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    f = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    f()
    t0 = time.perf_counter()
    for _ in range(repeats):
        f().numpy()
    return 2 * size ** 3 * repeats / (time.perf_counter() - t0)


def timed(fn, repeats=1):
    fn()  # warm-up: compile
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def bench_length(length, quick):
    preset = {20: "synthetic20", 40: "synthetic40"}[length]
    cfg = make_config(preset)
    gan = LeakGAN(cfg)
    rng = np.random.default_rng(0)
    real = rng.integers(0, cfg.vocab_size, size=(cfg.num_samples, cfg.seq_len)).astype(np.int32)
    labels = np.tile(np.array([1, 0], np.int32), cfg.batch_size // 2)
    batches = cfg.num_samples // cfg.batch_size
    frac = 0.1 if quick else 1.0  # quick mode times a fraction of each epoch and scales it
    n_mle, n_d = max(1, int(batches * frac)), max(1, int(2 * batches * frac))
    x_batches = [tf.constant(real[i * cfg.batch_size:(i + 1) * cfg.batch_size]) for i in range(batches)]

    def mle():
        for i in range(n_mle):
            gan.pretrain_step(x_batches[i % batches])

    def d_epoch():
        for i in range(n_d):
            gan.discriminator_step(x_batches[i % batches], tf.constant(labels))

    def generation():
        gan.generate(int(cfg.num_samples * frac) // cfg.sample_batch * cfg.sample_batch or cfg.sample_batch, 1.5)

    gen_rows = int(cfg.num_samples * frac) // cfg.sample_batch * cfg.sample_batch or cfg.sample_batch
    seconds = {
        "generation": timed(generation) * cfg.num_samples / gen_rows,
        "mle_epoch": timed(mle) * batches / n_mle,
        "d_epoch": timed(d_epoch) * 2 * batches / n_d,
        "adversarial_step": timed(lambda: gan.adversarial_step(gan.next_seed())["goal_loss"].numpy(), repeats=3),
    }
    seconds["adversarial_iteration"] = seconds["adversarial_step"] + cfg.adv_d_rounds * (
        seconds["generation"] + cfg.d_epochs * seconds["d_epoch"])
    flops = phase_flops(cfg)
    return cfg, seconds, flops


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="20")
    parser.add_argument("--quick", action="store_true", help="time 10%% of each epoch and scale")
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "bench_speed.json"))
    args = parser.parse_args()
    rate = matmul_rate()
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "tensorflow": tf.__version__,
              "cpus": os.cpu_count(), "machine": platform.machine(), "quick": args.quick,
              "matmul_gflops": rate / 1e9, "phases": {}}
    for length in [int(v) for v in args.lengths.split(",")]:
        cfg, seconds, flops = bench_length(length, args.quick)
        rows = {}
        for phase, s in seconds.items():
            rows[phase] = dict(seconds=round(s, 3), gflop=round(flops[phase] / 1e9, 2),
                               gflops_per_s=round(flops[phase] / s / 1e9, 2),
                               fraction_of_matmul_rate=round(flops[phase] / s / rate, 3),
                               original_seconds=ORIGINAL_SECONDS[phase] if length == 20 else None,
                               speedup_vs_original=round(ORIGINAL_SECONDS[phase] / s, 2) if length == 20 else None)
            print(f"T={length} {phase:22s} {s:9.2f} s  {rows[phase]['gflops_per_s']:7.1f} GFLOP/s "
                  f"({rows[phase]['fraction_of_matmul_rate']:.0%} of matmul)", flush=True)
        report["phases"][str(length)] = rows
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"matmul {rate / 1e9:.1f} GFLOP/s; wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
