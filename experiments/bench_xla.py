"""Does XLA (`jit_compile=True`) pay on this machine? Times each compiled step of
a preset's model with and without XLA: the first call (trace + compile) and the
steady-state seconds per call, and writes JSON.

  python experiments/bench_xla.py [--preset synthetic20|synthetic40|coco] [--phases pretrain,...]
                                  [--out experiments/results/bench_xla.json]
"""
import argparse
import json
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="synthetic20")
    parser.add_argument("--phases", default="discriminator,pretrain,sampling")
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "bench_xla.json"))
    args = parser.parse_args()
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    cfg = make_config(args.preset)
    gan = LeakGAN(cfg)
    batch, length, vocab = cfg.batch_size, cfg.seq_len, cfg.vocab_size
    x = tf.constant(np.random.default_rng(0).integers(0, vocab, size=(batch, length)), tf.int32)
    y = tf.constant([1, 0] * (batch // 2), tf.int32)
    betas = tf.constant([1.5] * length)
    seed = tf.constant([1, 2], tf.int64)
    phases = {
        "discriminator": (f"discriminator_step (batch {batch})", gan._discriminator_step_fn, (x, y), 20),
        "pretrain": (f"pretrain_step (batch {batch})", gan._pretrain_step_fn, (x,), 10),
        "sampling": (f"sampling ({cfg.sample_batch:,} sequences)", gan._sample_fn, (betas, seed), 3),
    }
    results = {}
    for phase in args.phases.split(","):
        name, fn, inputs, repeats = phases[phase]
        row = {}
        for jit in (False, True):
            key = "xla" if jit else "tf.function"
            compiled = tf.function(fn, jit_compile=jit)
            try:
                first, steady = timed_with_first(
                    lambda compiled=compiled, inputs=inputs: tf.nest.map_structure(lambda t: t.numpy(),
                                                                               compiled(*inputs)), repeats)
                row[key], row[key + " first call"] = round(steady, 4), round(first, 1)
            except Exception as e:  # noqa: BLE001  (report, don't hide, an XLA failure)
                row[key] = f"failed: {str(e).splitlines()[0][:120]}"
        if all(isinstance(row.get(k), float) for k in ("xla", "tf.function")):
            row["xla_speedup"] = round(row["tf.function"] / row["xla"], 2)
        results[name] = row
        print(name, row, flush=True)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(tensorflow=tf.__version__, cpus=os.cpu_count(), preset=args.preset,
                                        seconds_per_call=results), indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
