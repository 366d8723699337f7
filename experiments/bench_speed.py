"""Per-phase speed of LeakGAN on this machine, with FLOP accounting.

  python experiments/bench_speed.py [--lengths 20,40] [--out experiments/results/bench_speed.json]
  python experiments/bench_speed.py --distribute=mirrored --replicas=2 --lengths 20 --paths incremental --quick

--distribute=mirrored times every phase with one device and again under
tf.distribute.MirroredStrategy on --replicas logical CPU devices (GPUs, if any, are
what MirroredStrategy takes instead); rows are keyed by the replica count.

For each sequence length it times (after a warm-up call that compiles):
generation of 9,984 samples at β = 1.5, one MLE epoch (156 batches), one
discriminator epoch (312 batches), one adversarial generator step (sampling,
all rollouts, rewards, update) and NLL-oracle evaluation; counts each phase's
floating-point work from the model dimensions (a multiply-add is 2 FLOPs);
measures the machine's dense matmul rate in the same run; and writes JSON.

Speed against the original on the same machine: experiments/bench_original.py.
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


# ---------------------------------------------------------------------------- FLOPs
def conv_flops_full(cfg):
    """Convolutions of one full-length discriminator pass (all windows)."""
    return sum(2 * (cfg.seq_len - h + 1) * h * cfg.dis_emb_dim * n
               for h, n in zip(cfg.dis_filter_sizes, cfg.dis_num_filters))


def highway_flops(cfg):
    return 2 * 2 * cfg.feature_dim ** 2


def token_contribution_flops(cfg):
    """Incremental path: one token's terms e·K_j for every filter and offset, plus
    the window sums and max over windows it touches (additions counted too)."""
    pairs = list(zip(cfg.dis_filter_sizes, cfg.dis_num_filters))
    return 2 * cfg.dis_emb_dim * sum(h * n for h, n in pairs) + 2 * sum((cfg.seq_len - h + 1) * n for h, n in pairs)


def prefix_feature_flops(cfg, path):
    """One leaked feature of one prefix: plain recomputes all windows."""
    if path == "plain":
        return conv_flops_full(cfg) + highway_flops(cfg)
    return token_contribution_flops(cfg) + highway_flops(cfg)


def classify_flops(cfg):
    return conv_flops_full(cfg) + highway_flops(cfg) + 2 * 2 * cfg.feature_dim


def generator_step_flops(cfg):
    """One Manager + Worker step of one sequence, excluding the leaked feature."""
    E, H, k, V, D = cfg.gen_emb_dim, cfg.gen_hidden_dim, cfg.goal_size, cfg.vocab_size, cfg.feature_dim
    worker = 2 * (E + H) * 4 * H + 2 * H * k * V + 2 * k * V + 2 * D * k
    manager = 2 * (D + H) * 4 * H + 2 * H * D
    return worker + manager


def phase_flops(cfg, path):
    """FLOPs per phase.

    path "original": the original's computation (every prefix recomputed by a
    full D pass, every rollout re-encodes its prefix); "plain": --feature_path=plain
    (full D pass per prefix, rollouts from the shared teacher-forced states);
    "incremental": ours (incremental features, shared rollouts).
    """
    T, B, c, R, K = cfg.seq_len, cfg.batch_size, cfg.step_size, cfg.rollout_num, cfg.seq_len // cfg.step_size
    n = cfg.num_samples
    feat, step = prefix_feature_flops(cfg, "plain" if path == "original" else path), generator_step_flops(cfg)
    sample_seq = T * (feat + step)
    tf_features = (T + 1) * feat
    teacher_forced_train = tf_features + 3 * T * step  # G forward + backward (≈ 2× forward)
    if path == "original":  # each of R·(K−1) rollouts: T+1 manager steps with features, T worker steps
        rollouts = R * (K - 1) * ((T + 1) * feat + T * step)
    else:  # shared prefix: only the free-running continuation
        rollouts = R * sum(T - m * c for m in range(1, K)) * (feat + step)
    adversarial = B * (sample_seq + teacher_forced_train + rollouts + (R * (K - 1) + 1) * classify_flops(cfg))
    d_epoch = 2 * n * 3 * classify_flops(cfg)
    return {
        "generation": n * sample_seq,
        "mle_epoch": n * teacher_forced_train,
        "d_epoch": d_epoch,
        "adversarial_step": adversarial,
        "adversarial_iteration": adversarial + cfg.adv_d_rounds * (n * sample_seq + cfg.d_epochs * d_epoch),
        "nll_eval": n * sample_seq
        + n * T * 2 * (cfg.oracle_emb_dim + cfg.oracle_hidden_dim) * 4 * cfg.oracle_hidden_dim
        + n * T * 2 * cfg.oracle_hidden_dim * cfg.vocab_size,
    }


# ---------------------------------------------------------------------------- timing
def matmul_rate(size=4096, repeats=5):
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


COMPUTE_DTYPE = "float32"  # --compute_dtype


def config_for(length, path, growth=False, distribute="none"):
    """The benchmarked model: the paper's experiment of that length, or with
    growth=True the length-20 model (same sizes and filters) at any length, so
    that only T changes between rows."""
    preset = "synthetic20" if growth or length == 20 else "synthetic40"
    return make_config(preset, seq_len=length, feature_path=path, compute_dtype=COMPUTE_DTYPE, distribute=distribute)


def phase_work(cfg, gan, oracle, fraction=1.0):
    """{phase: (run, scale)} for generation, mle_epoch, d_epoch, adversarial_step
    and nll_eval: run() does `fraction` of the phase's work (at least one batch;
    adversarial_step is always one step) on random tokens, and its seconds ×
    scale estimate the whole phase. Shared with experiments/bench_original.py."""
    rng = np.random.default_rng(0)
    real = rng.integers(0, cfg.vocab_size, size=(cfg.num_samples, cfg.seq_len)).astype(np.int32)
    labels = tf.constant(np.tile(np.array([1, 0], np.int32), cfg.batch_size // 2))
    batches = cfg.num_samples // cfg.batch_size
    n_mle, n_d = max(1, int(batches * fraction)), max(1, int(2 * batches * fraction))
    gen_rows = max(cfg.sample_batch, int(cfg.num_samples * fraction) // cfg.sample_batch * cfg.sample_batch)
    x_batches = [tf.constant(real[i * cfg.batch_size:(i + 1) * cfg.batch_size]) for i in range(batches)]

    def mle():
        for i in range(n_mle):
            gan.pretrain_step(x_batches[i % batches])

    def d_epoch():
        for i in range(n_d):
            gan.discriminator_step(x_batches[i % batches], labels)

    def nll_eval():
        oracle.nll(gan.generate(gen_rows, cfg.eval_beta))

    return {
        "generation": (lambda: gan.generate(gen_rows, cfg.eval_beta), cfg.num_samples / gen_rows),
        "mle_epoch": (mle, batches / n_mle),
        "d_epoch": (d_epoch, 2 * batches / n_d),
        "adversarial_step": (lambda: gan.adversarial_step(gan.next_seed())["goal_loss"].numpy(), 1.0),
        "nll_eval": (nll_eval, cfg.num_samples / gen_rows),
    }


def bench_length(length, path, quick, d_seconds=None, growth=False, phases=None, distribute="none"):
    """Seconds per phase for one length and feature path (D epoch is path-free)."""
    from synthetic_oracle.model import OracleLSTM
    cfg = config_for(length, path, growth, distribute)
    gan = LeakGAN(cfg)
    oracle = OracleLSTM.from_seed(0, cfg.vocab_size, cfg.oracle_emb_dim, cfg.oracle_hidden_dim)
    work = phase_work(cfg, gan, oracle, 0.1 if quick else 1.0)  # quick: a fraction of each phase, scaled up
    repeats = {"adversarial_step": 3}

    def timer(phase):
        if phase == "d_epoch" and d_seconds is not None:
            return d_seconds
        run, scale = work[phase]
        return timed(run, repeats.get(phase, 1)) * scale

    seconds = {phase: timer(phase) for phase in work if phases is None or phase in phases}
    if {"adversarial_step", "generation", "d_epoch"} <= set(seconds):
        seconds["adversarial_iteration"] = seconds["adversarial_step"] + cfg.adv_d_rounds * (
            seconds["generation"] + cfg.d_epochs * seconds["d_epoch"])
    return cfg, seconds


def rows_for(cfg, path, seconds, rate, length):
    """The JSON rows of one (length, path) from measured seconds."""
    flops, original_flops = phase_flops(cfg, path), phase_flops(cfg, "original")
    rows = {}
    for phase, sec in seconds.items():
        rows[phase] = dict(
            seconds=round(sec, 3), gflop=round(flops[phase] / 1e9, 2),
            flop_saving_vs_original=round(1 - flops[phase] / original_flops[phase], 3),
            gflops_per_s=round(flops[phase] / sec / 1e9, 1),
            fraction_of_matmul_rate=round(flops[phase] / sec / rate, 3))
    if "generation" in seconds:
        rows["samples_per_second_generation"] = round(cfg.num_samples / seconds["generation"], 1)
    return rows


def recompute(path):
    """Rewrites a result file's derived columns (FLOPs, rates) from its seconds."""
    report = json.loads(pathlib.Path(path).read_text())
    rate = report["matmul_gflops"] * 1e9
    for key, rows in report["results"].items():
        length, feature_path = int(key.split("_")[0][1:]), key.split("_")[1]
        seconds = {k: v["seconds"] for k, v in rows.items() if isinstance(v, dict)}
        cfg = config_for(length, feature_path, report.get("growth", False))
        report["results"][key] = rows_for(cfg, feature_path, seconds, rate, length)
    pathlib.Path(path).write_text(json.dumps(report, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recompute", help="only rewrite the derived columns of this result file")
    parser.add_argument("--lengths", default="20,40")
    parser.add_argument("--paths", default="incremental,plain")
    parser.add_argument("--quick", action="store_true", help="time 10%% of each phase and scale up")
    parser.add_argument("--compute_dtype", default="float32", help="float32 or bfloat16 (mixed precision)")
    parser.add_argument("--phases", default="", help="only these phases (comma-separated; default all)")
    parser.add_argument("--growth", action="store_true",
                        help="cost growth in T: the length-20 model at every --lengths (e.g. 20,40,80)")
    parser.add_argument("--distribute", default="none", choices=["none", "mirrored"],
                        help="mirrored: also time every phase under MirroredStrategy (rows per replica count)")
    parser.add_argument("--replicas", type=int, default=2, help="logical CPU devices for --distribute=mirrored")
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "bench_speed.json"))
    args = parser.parse_args()
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    global COMPUTE_DTYPE
    COMPUTE_DTYPE = args.compute_dtype
    if args.recompute:
        return recompute(args.recompute)
    strategies = [("none", 1)]
    if args.distribute == "mirrored":
        if not tf.config.list_physical_devices("GPU"):  # before any op: CPU replicas as logical devices
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.replicas)
        strategies.append(("mirrored", args.replicas))
    rate = matmul_rate()
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "tensorflow": tf.__version__,
              "cpus": os.cpu_count(), "machine": platform.machine(), "quick": args.quick,
              "matmul_gflops": round(rate / 1e9, 1), "growth": args.growth, "phases": args.phases or "all",
              "compute_dtype": args.compute_dtype, "distribute": args.distribute,
              "load_average_start": os.getloadavg()[0],
              "results": {}}
    for length in [int(v) for v in args.lengths.split(",")]:
        for distribute, replicas in strategies:
            d_seconds = None
            for path in args.paths.split(","):
                cfg, seconds = bench_length(length, path, args.quick, d_seconds, args.growth,
                                            set(args.phases.split(",")) if args.phases else None, distribute)
                d_seconds = seconds.get("d_epoch")
                rows = rows_for(cfg, path, seconds, rate, length)
                tag = f" {replicas} replica{'s' * (replicas > 1)}" if args.distribute != "none" else ""
                for phase, row in rows.items():
                    if isinstance(row, dict):
                        print(f"T={length} {path:11s}{tag} {phase:22s} {row['seconds']:9.2f} s "
                              f"{row['gflops_per_s']:7.1f} GFLOP/s ({row['fraction_of_matmul_rate']:.0%} of matmul, "
                              f"{row['flop_saving_vs_original']:.0%} fewer FLOPs than the original)", flush=True)
                key = f"T{length}_{path}" + (f"_{replicas}replicas" if args.distribute != "none" else "")
                report["results"][key] = rows
                report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
                report["load_average_end"] = os.getloadavg()[0]
                out = pathlib.Path(args.out)  # written after every row: a cut-short run keeps what it measured
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(report, indent=1))
    print(f"matmul {rate / 1e9:.1f} GFLOP/s; peak RSS {report['peak_rss_mb']} MB; wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
