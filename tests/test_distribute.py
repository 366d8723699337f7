"""Every phase under MirroredStrategy on 2 logical CPU devices against one device:
D and MLE steps give the same losses and weights (clipping applied to the summed
gradient); generation gives the same rows (each replica draws its own groups of
rows with their own seeds); the adversarial step gives the same sampled batch,
the same rewards (each replica runs half the rollout repeats, with the repeats'
own seeds) and the same weights after its one clipped update. With every phase under
XLA, each replica's share of a step runs as one XLA computation (the cross-replica sums
and updates around it) and matches one device's plain graphs within float tolerance."""
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

SCRIPT = r"""
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
from tests.helpers import tiny_config
from leakgan_tf.leakgan import LeakGAN

PHASES = ("pretrain", "discriminator", "sampling", "adversarial")

def xla_calls(fn, *args):
    # calls of an XLA-compiled function in fn's graph: one per replica and phase
    ops = fn.get_concrete_function(*args).graph.get_operations()
    return sum(op.type in ("PartitionedCall", "StatefulPartitionedCall") and op.node_def.attr["_XlaMustCompile"].b
               for op in ops)

def run(distribute, xla_phases=()):
    gan = LeakGAN(tiny_config(distribute=distribute, grad_clip=1e-3, xla_phases=xla_phases))  # the clip binds
    if xla_phases:
        x = tf.zeros([4, 8], tf.int32)
        assert set(gan.backend.xla) == set(PHASES), gan.backend.xla
        assert xla_calls(gan.pretrain_step, x) == 2, xla_calls(gan.pretrain_step, x)
        assert xla_calls(gan._discriminator_step, x, tf.zeros([4], tf.int32), tf.zeros([2], tf.int64)) == 2
        assert xla_calls(gan._adversarial_step, tf.zeros([2], tf.int64), x, tf.constant(0)) == 4  # rollouts, update
    rng = np.random.default_rng(0)
    out = []
    for _ in range(3):
        x = tf.constant(rng.integers(0, 30, size=(4, 8)), tf.int32)
        out.append([float(v) for v in gan.discriminator_step(x, tf.constant([1, 0, 1, 0]))])
        out.append([float(v) for v in gan.pretrain_step(x)])
    # Adam's moments too: the weights alone would hide a gradient off by a constant factor
    weights = [v.numpy() for m in (gan.discriminator, gan.manager, gan.worker) for v in m.weights]
    weights += [v.numpy() for opt in gan.optimizers.values() for v in opt.variables]
    rows = gan.generate(20, 1.5)  # 3 chunks of sample_batch = 8 rows, 2 groups of B = 4 each
    adversarial = [gan.adversarial_step(tf.constant([5, s], tf.int64)) for s in range(2)]
    steps = [(a["tokens"].numpy(), a["raw_rewards"].numpy(), float(a["goal_loss"]), float(a["worker_loss"]))
             for a in adversarial]
    after = [v.numpy() for m in (gan.manager, gan.worker) for v in m.weights]
    after += [v.numpy() for opt in gan.optimizers.values() for v in opt.variables]
    return gan.replicas, np.array(out), weights, rows, steps, after

n1, single, w1, rows1, steps1, after1 = run("none")
for XLA in (False, True):  # the plain graphs, then every phase under XLA per replica
    n2, mirrored, w2, rows2, steps2, after2 = run("mirrored", PHASES if XLA else ())
    assert (n1, n2) == (1, 2), (n1, n2)
    np.testing.assert_allclose(mirrored, single, rtol=1e-4 if XLA else 1e-5, atol=1e-6)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=5e-5)  # Adam amplifies summation-order rounding
    if XLA:  # the same draws up to one within rounding of a boundary (sampling.uniforms)
        assert (rows1 == rows2).all(1).mean() >= 0.9, (rows1 == rows2).all(1).mean()
    else:
        np.testing.assert_array_equal(rows1, rows2)
    for (t1, r1, g1, k1), (t2, r2, g2, k2) in zip(steps1, steps2):
        np.testing.assert_array_equal(t1, t2)
        # P(real) sums: the code's ladder hides values
        np.testing.assert_allclose(r2, r1, rtol=1e-4 if XLA else 1e-5, atol=1e-6)
        np.testing.assert_allclose([g2, k2], [g1, k1], rtol=1e-4, atol=1e-6)
    for a, b in zip(after1, after2):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=5e-5)
    print("xla" if XLA else "plain", "ok")
"""


@pytest.mark.heavy(seconds=140)
def test_every_phase_on_two_mirrored_cpus_matches_one_device_with_plain_graphs_and_under_xla():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["plain", "ok", "xla", "ok"], result.stdout
