"""Does XLA (`jit_compile=True`) pay on this machine? Times each compiled step of
a preset's model with and without XLA: the first call (trace + compile) and the
steady-state seconds per call, and writes JSON. Without XLA the D step runs as
the CLIs run it (the native sparse convolution gradient where it can be had);
with XLA, D's dense gradient, as `--xla_phases=discriminator` would. The two alternate over --rounds
rounds (tf.function, XLA, tf.function, ...) and the medians are compared; the
process runs with oneDNN as the CLIs set it (TF_ENABLE_ONEDNN_OPTS=0 for
TensorFlow's own kernels), which the JSON records.

  python experiments/bench_xla.py [--preset synthetic20|synthetic40|coco] [--phases pretrain,...]
                                  [--rounds 3] [--out experiments/results/bench_xla.json]
"""
import argparse
import dataclasses
import json
import os
import pathlib
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from leakgan_tf.startup import prefer_onednn  # noqa: E402

prefer_onednn()
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from leakgan_tf.config import make_config  # noqa: E402
from leakgan_tf.leakgan import LeakGAN  # noqa: E402


def timed_with_first(fn, repeats):
    """(seconds of the first call, mean seconds of the next `repeats` calls)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return first, (time.perf_counter() - t0) / repeats


def with_dense_d_gradient(gan, fn):
    """fn traced without native ops, as LeakGAN builds its models for the phases
    --xla_phases names (XLA has no kernel for them): D's dense convolution gradient
    and the generator's TensorFlow sampling and prefix-state ops."""
    def traced(*inputs):
        kernels = gan.discriminator.kernels
        gan.discriminator.kernels = dataclasses.replace(kernels, sparse_gradient=False, native_forward=False)
        native, gan.generator.native_sampling = gan.generator.native_sampling, False
        try:
            return fn(*inputs)
        finally:
            gan.discriminator.kernels = kernels
            gan.generator.native_sampling = native
    return traced


def phase_calls(gan, cfg):
    """{phase: (name, step function, its inputs, calls per timing)}: each compiled
    step of `gan` as LeakGAN calls it, on random tokens of cfg's sizes."""
    batch, length, vocab = cfg.batch_size, cfg.seq_len, cfg.vocab_size
    x = tf.constant(np.random.default_rng(0).integers(0, vocab, size=(batch, length)), tf.int32)
    y = tf.constant([1, 0] * (batch // 2), tf.int32)
    betas = tf.constant([1.5] * length)
    seed = tf.constant([1, 2], tf.int64)
    return {
        "discriminator": (f"discriminator_step (batch {batch})", gan._discriminator_step_fn, (x, y, seed), 20),
        "pretrain": (f"pretrain_step (batch {batch})", gan._pretrain_step_fn, (x,), 10),
        "sampling": (f"sampling ({cfg.sample_batch:,} sequences)", gan._sample_fn,
                     (betas, seed, cfg.sample_batch // batch), 3),
        "adversarial": (f"adversarial G step (batch {batch})", gan._adversarial_step_fn,
                        (seed, tf.zeros([batch, length], tf.int32), tf.constant(0)), 3),
    }


SIDES = ("tf.function", "xla")


def time_phase(gan, fn, inputs, repeats, rounds, sides=SIDES):
    """One phase's row: per side, the first call's seconds and the median over
    `rounds` alternating timings of the mean of `repeats` calls (or "failed: …"),
    and xla_speedup when both sides ran."""
    row, steady = {}, {key: [] for key in sides}
    compiled = {"tf.function": tf.function(fn, jit_compile=False),
                "xla": tf.function(with_dense_d_gradient(gan, fn), jit_compile=True)}
    call = lambda key: tf.nest.map_structure(lambda t: t.numpy(), compiled[key](*inputs))  # noqa: E731
    for round_ in range(rounds):
        for key in sides:
            if isinstance(row.get(key), str):
                continue
            try:
                if round_ == 0:
                    t0 = time.perf_counter()
                    call(key)
                    row[key + " first call"] = round(time.perf_counter() - t0, 1)
                steady[key].append(timed_with_first(lambda key=key: call(key), repeats)[1])
            except Exception as e:  # noqa: BLE001  (report, don't hide, an XLA failure)
                row[key] = f"failed: {str(e).splitlines()[0][:120]}"
    for key, values in steady.items():
        if values and not isinstance(row.get(key), str):
            row[key], row[key + " rounds"] = round(statistics.median(values), 4), [round(v, 4) for v in values]
    if all(isinstance(row.get(k), float) for k in SIDES):
        row["xla_speedup"] = round(row["tf.function"] / row["xla"], 2)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="synthetic20")
    parser.add_argument("--phases", default="discriminator,pretrain,sampling,adversarial")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timings of each side (median kept)")
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "bench_xla.json"))
    args = parser.parse_args()
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    cfg = make_config(args.preset)
    gan = LeakGAN(cfg)
    calls = phase_calls(gan, cfg)
    unknown = [p for p in args.phases.split(",") if p not in calls]
    if unknown:
        raise SystemExit(f"error: unknown --phases {','.join(unknown)}; choose from {','.join(calls)}")
    results = {}
    for phase in args.phases.split(","):
        name, fn, inputs, repeats = calls[phase]
        results[name] = row = time_phase(gan, fn, inputs, repeats, args.rounds)
        print(name, row, flush=True)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from tensorflow.python.util import _pywrap_util_port
    out.write_text(json.dumps(dict(tensorflow=tf.__version__, cpus=os.cpu_count(), preset=args.preset,
                                   rounds=args.rounds, onednn_env=os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                                   onednn_enabled=bool(_pywrap_util_port.IsMklEnabled()),
                                   loadavg_end=os.getloadavg(), seconds_per_call=results), indent=1))
    print(f"wrote {out}")
    broken = [name for name, row in results.items() if isinstance(row.get("tf.function"), str)]
    if broken:  # XLA may fail (reported above); the tf.function side is the product's own step
        raise SystemExit(f"error: the tf.function step failed for {', '.join(broken)}: the benchmark no longer "
                         f"calls it as LeakGAN does; fix its inputs in bench_xla.py (phase_calls)")


if __name__ == "__main__":
    main()
