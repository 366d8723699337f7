"""oneDNN on (what the CLIs set on x86, `startup.prefer_onednn`) computes what
TensorFlow's own kernels compute, up to float rounding: the leaked features,
D's loss gradients, the losses of one D step and one MLE step and the NLL at the length-20 sizes, each side in its own
process (TF_ENABLE_ONEDNN_OPTS is read once, when TensorFlow loads)."""
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.heavy(seconds=40)  # two TensorFlow processes at the length-20 sizes (conftest orders)

SIDE = """
import sys
import numpy as np
import tensorflow as tf
from tensorflow.python.util import _pywrap_util_port
from leakgan_tf.config import make_config
from leakgan_tf.leakgan import LeakGAN
tf.keras.utils.set_random_seed(5)
cfg = make_config("synthetic20", xla_phases=(), seed=5)
gan = LeakGAN(cfg)
rng = np.random.default_rng(0)
tokens = tf.constant(rng.integers(0, cfg.vocab_size, (cfg.batch_size, cfg.seq_len)), tf.int32)
labels = tf.constant(np.tile(np.array([1, 0], np.int32), cfg.batch_size // 2))
d = gan.discriminator
out = dict(features=d.features(tokens).numpy())
with tf.GradientTape() as tape:
    loss, _ = d.classification_loss(tokens, labels, training=False)
for v, g in zip(d.trainable_variables, tape.gradient(loss, d.trainable_variables)):
    out["grad_" + v.name] = tf.convert_to_tensor(g).numpy()
out["d_loss"] = gan.discriminator_step(tokens, labels)[0].numpy()
out["mle_losses"] = np.array([v.numpy() for v in gan.pretrain_step(tokens)])
out["nll"] = np.array(gan.nll(tokens.numpy()))
np.savez(sys.argv[1], onednn=_pywrap_util_port.IsMklEnabled(), **out)
"""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="oneDNN's switch matters on x86")
def test_onednn_matches_tensorflows_own_kernels(tmp_path):
    results = {}
    for flag in ("0", "1"):
        env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=flag, TF_CPP_MIN_LOG_LEVEL="3")
        path = tmp_path / f"onednn{flag}.npz"
        done = subprocess.run([sys.executable, "-c", SIDE, str(path)], cwd=REPO_ROOT, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        results[flag] = dict(np.load(path))
    assert not results["0"].pop("onednn") and results["1"].pop("onednn")
    assert set(results["0"]) == set(results["1"])
    for key in results["0"]:
        np.testing.assert_allclose(results["1"][key], results["0"][key], rtol=2e-4, atol=2e-5, err_msg=key)
