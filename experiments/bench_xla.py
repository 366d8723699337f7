"""Does XLA (`jit_compile=True`) pay on this machine? Times each compiled step of
the length-20 model with and without XLA and writes JSON.

  python experiments/bench_xla.py [--out experiments/results/bench_xla.json]
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


def timed(fn, repeats):
    fn()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "bench_xla.json"))
    args = parser.parse_args()
    gan = LeakGAN(make_config("synthetic20"))
    x = tf.constant(np.random.default_rng(0).integers(0, 5000, size=(64, 20)), tf.int32)
    y = tf.constant([1, 0] * 32, tf.int32)
    betas = tf.constant([1.5] * 20)
    seed = tf.constant([1, 2], tf.int64)
    phases = {
        "discriminator_step (batch 64)": (gan._discriminator_step_fn, (x, y), 20),
        "pretrain_step (batch 64)": (gan._pretrain_step_fn, (x,), 10),
        "sampling (1,024 sequences)": (gan._sample_fn, (betas, seed), 3),
    }
    results = {}
    for name, (fn, inputs, repeats) in phases.items():
        row = {}
        for jit in (False, True):
            compiled = tf.function(fn, jit_compile=jit)
            try:
                row["xla" if jit else "tf.function"] = round(
                    timed(lambda: tf.nest.map_structure(lambda t: t.numpy(), compiled(*inputs)), repeats), 4)
            except Exception as e:  # noqa: BLE001  (report, don't hide, an XLA failure)
                row["xla" if jit else "tf.function"] = f"failed: {str(e).splitlines()[0][:120]}"
        if all(isinstance(v, float) for v in row.values()):
            row["xla_speedup"] = round(row["tf.function"] / row["xla"], 2)
        results[name] = row
        print(name, row, flush=True)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(tensorflow=tf.__version__, cpus=os.cpu_count(), seconds_per_call=results), indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
