"""The D and MLE phases under MirroredStrategy on 2 logical CPU devices give the
same losses and weights as one device (clipping applied to the summed gradient)."""
import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

SCRIPT = r"""
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
from tests.helpers import tiny_config
from leakgan_tf.leakgan import LeakGAN

def run(distribute):
    gan = LeakGAN(tiny_config(distribute=distribute, grad_clip=1e-3))  # the clip binds
    rng = np.random.default_rng(0)
    out = []
    for _ in range(3):
        x = tf.constant(rng.integers(0, 30, size=(4, 8)), tf.int32)
        out.append([float(v) for v in gan.discriminator_step(x, tf.constant([1, 0, 1, 0]))])
        out.append([float(v) for v in gan.pretrain_step(x)])
    weights = [v.numpy() for m in (gan.discriminator, gan.manager, gan.worker) for v in m.weights]
    return gan.replicas, np.array(out), weights

n1, single, w1 = run("none")
n2, mirrored, w2 = run("mirrored")
assert (n1, n2) == (1, 2), (n1, n2)
np.testing.assert_allclose(mirrored, single, rtol=1e-5, atol=1e-6)
for a, b in zip(w1, w2):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=5e-5)  # Adam amplifies summation-order rounding
print("ok", single[:2].tolist())
"""


def test_mirrored_two_cpus_matches_one_device():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")
