"""Does every phase compiled by XLA compute what its plain graph computes, at a preset's
sizes? Builds the model twice from one seed, every phase of `config.XLA_PHASES` under
XLA and none, with TensorFlow's ops only (LEAKGAN_TF_NATIVE_OPS=0: XLA has no kernel for
the native ops, so the comparison is of the same ops compiled two ways), and runs each
kind of step on both: generation (the share of rows drawn identically: the draws are
device-independent, sampling.uniforms, so rows differ only where a draw falls within
rounding of a boundary), a D step with dropout, a D round's epochs, a pretrain step and
an adversarial step (tokens, losses, rewards), comparing outputs and every weight after
each. Writes JSON: per check the largest relative deviation (|a − b| / max(|b|, floor))
against the tolerance tests/test_backends.py holds the tiny model to (for weights: the
share of elements beyond it, see OUTLIERS).

  python experiments/xla_check.py [--preset synthetic20] [--rows 256] [--out experiments/results/xla_check.json]

`check(cfg)` is what tests/test_backends.py runs on the tiny model; experiments/gpu_check.sh
runs this file on a GPU. A first call compiles each step (minutes at length 20 on a CPU).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import platform
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Tolerances (relative, with an absolute floor): none for the initial weights, losses after one step,
# weights after the D and MLE steps, weights after the adversarial step, and the share of identical
# rows. Adam's first steps move each weight by about ±lr whatever its gradient's size, so a gradient
# near zero whose summation order differs can move its weight otherwise: the weight checks pass when
# at most OUTLIERS of the elements exceed the tolerance (none in the tiny model's few thousand
# elements), and report the largest deviation beside it.
TOLERANCE = dict(initial=0.0, loss=1e-4, weights=1e-4, adversarial_weights=1e-3, rows_identical=0.95)
FLOOR = dict(loss=1e-6, weights=1e-5, adversarial_weights=1e-5)
OUTLIERS = 1e-4


def relative(a, b, floor):
    """|a − b| / max(|b|, floor) of every element of the arrays in a and b, flat float64."""
    parts = [np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)).ravel()
             / np.maximum(np.abs(np.asarray(y, np.float64)).ravel(), floor) for x, y in zip(a, b, strict=True)]
    return np.concatenate(parts) if parts else np.zeros([0])


def deviation(a, b, floor):
    """The largest relative deviation of the elements of a from b."""
    r = relative(a, b, floor)
    return float(r.max()) if r.size else 0.0


def check(cfg, rows: int = 256) -> dict:
    """{check: {value, tolerance, ok}} and overall ok, comparing cfg's model with
    every phase under XLA against none (cfg.xla_phases is replaced). The caller keeps
    the native ops out (LEAKGAN_TF_NATIVE_OPS=0, or a GPU backend)."""
    import tensorflow as tf

    from leakgan_tf.config import XLA_PHASES
    from leakgan_tf.leakgan import LeakGAN

    xla = LeakGAN(dataclasses.replace(cfg, xla_phases=XLA_PHASES))
    plain = LeakGAN(dataclasses.replace(cfg, xla_phases=()))
    assert set(xla.backend.xla) == set(XLA_PHASES) and plain.backend.xla == () and not plain.backend.native
    gans = (xla, plain)
    weights = lambda gan: [v.numpy() for m in (gan.discriminator, gan.manager, gan.worker)  # noqa: E731
                           for v in m.weights]
    report, B = {}, cfg.batch_size

    def record(name, value, kind, larger_is_worse=True):
        limit = TOLERANCE[kind]
        report[name] = dict(value=value, tolerance=limit, ok=value <= limit if larger_is_worse else value >= limit)

    def record_weights(name, kind):
        r = relative(weights(xla), weights(plain), FLOOR[kind])
        beyond = float(np.mean(r > TOLERANCE[kind]))
        report[name] = dict(value=float(r.max()), tolerance=TOLERANCE[kind], share_beyond=beyond,
                            elements=int(r.size), ok=beyond <= OUTLIERS)

    record("initial_weights", deviation(weights(xla), weights(plain), 1e-30), "initial")
    a, b = xla.generate(rows, 1.5), plain.generate(rows, 1.5)
    record("generate_rows_identical", float((a == b).all(1).mean()), "rows_identical", larger_is_worse=False)
    tokens = tf.constant(np.concatenate([a[:B], b[B:2 * B]]))
    labels = tf.constant(np.repeat(np.array([1, 0], np.int32), B))
    for gan in gans:  # D step with dropout (the masks come from sampling.uniforms too)
        gan.reset_rng(9)
    steps = [[float(t) for t in gan.discriminator_step(tokens, labels)] for gan in gans]
    record("d_step_loss", deviation([steps[0][0]], [steps[1][0]], FLOOR["loss"]), "loss")
    epochs = [gan.discriminator_epochs(tf.reshape(tokens, [2, B, -1]), tf.reshape(labels, [2, B]), 2)
              for gan in gans]
    record("d_epochs_losses", deviation([epochs[0]], [epochs[1]], FLOOR["loss"]), "loss")
    record_weights("d_weights", "weights")
    pre = [[t.numpy() for t in gan.pretrain_step(tf.constant(a[:B]))] for gan in gans]
    record("pretrain_losses", deviation(pre[0], pre[1], FLOOR["loss"]), "loss")
    record_weights("pretrain_weights", "weights")
    seed = tf.constant([3, 4], tf.int64)
    out = [gan.adversarial_step(seed) for gan in gans]
    record("adversarial_tokens_identical", float((out[0]["tokens"].numpy() == out[1]["tokens"].numpy()).all(1).mean()),
           "rows_identical", larger_is_worse=False)
    record("adversarial_losses_rewards",
           deviation([out[0][k].numpy() for k in ("goal_loss", "worker_loss", "rewards")],
                     [out[1][k].numpy() for k in ("goal_loss", "worker_loss", "rewards")], FLOOR["loss"]), "loss")
    record_weights("adversarial_weights", "adversarial_weights")
    return dict(checks=report, ok=all(r["ok"] for r in report.values()), outliers_allowed=OUTLIERS)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="synthetic20")
    p.add_argument("--rows", type=int, default=256, help="rows generate draws on each side")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--out", default="experiments/results/xla_check.json")
    args = p.parse_args(argv)
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    os.environ["LEAKGAN_TF_NATIVE_OPS"] = "0"  # the same TensorFlow ops on both sides
    import tensorflow as tf

    from leakgan_tf import kernels
    from leakgan_tf.config import make_config
    cfg = make_config(args.preset, seed=args.seed, oracle_params="")
    backend = kernels.choose(("auto",))
    start = time.time()
    result = check(cfg, args.rows)
    result.update(preset=args.preset, seed=args.seed, rows=args.rows, seconds=round(time.time() - start, 1),
                  backend=backend.device, devices=backend.describe()["devices"], tensorflow=tf.__version__,
                  cpu=platform.processor() or platform.machine(),
                  avx512="avx512f" in pathlib.Path("/proc/cpuinfo").read_text() if os.path.exists("/proc/cpuinfo")
                  else None, date=time.strftime("%Y-%m-%d"))
    for name, r in result["checks"].items():
        beyond = f", {r['share_beyond']:.2g} of {r['elements']:,} elements beyond (at most {OUTLIERS:g})" \
            if "share_beyond" in r else ""
        print(f"{name:30s} {r['value']:.3g} (tolerance {r['tolerance']:g}{beyond}) {'ok' if r['ok'] else 'FAILED'}")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(out)
    print(f"{'ok' if result['ok'] else 'FAILED'} in {result['seconds']} s: {out}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
