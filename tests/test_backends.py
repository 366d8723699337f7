"""The backend chosen per run (leakgan_tf/kernels) and the GPU path, tested on the CPU:
a simulated GPU (LEAKGAN_TF_SIMULATE_GPU=1) chooses the GPU backend; its graphs hold no
op that would leave the GPU (kernels/gpu_scan.py); every phase compiled by XLA computes
what its plain graph computes."""
import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf import kernels
from leakgan_tf.kernels import gpu_scan
from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.models import sampling
from tests.helpers import load_experiment, tiny_config

xla_check = load_experiment("xla_check")

GPU = {kernels.SIMULATE_GPU: "1"}
ALL_PHASES = {"pretrain", "discriminator", "sampling", "adversarial"}


def test_the_backend_follows_the_devices_and_the_flags():
    cpu = kernels.choose(("auto",), environ={kernels.native.SWITCH: "0"})
    assert (cpu.device, cpu.xla, cpu.native) == ("cpu", ("pretrain",), False)
    assert cpu.discriminator_kernels("incremental").cpu_gradients and cpu.remapper_off
    gpu = kernels.choose(("auto",), environ=GPU)
    assert gpu.device == "gpu" and set(gpu.xla) == ALL_PHASES
    assert not (gpu.native or gpu.native_sampling or gpu.native_adam or gpu.remapper_off)
    assert gpu.discriminator_kernels("plain") == kernels.PLAIN
    assert "GPU:0 (simulated)" in gpu.describe()["devices"] and gpu.describe()["backend"] == "gpu"
    assert kernels.choose(("sampling",), environ=GPU).xla == ("sampling",)   # named phases win
    assert kernels.choose((), environ=GPU).xla == ()                         # --xla_phases= : none
    assert set(kernels.choose(("auto",), replicas=2, environ=GPU).xla) == ALL_PHASES  # per replica
    bf16 = kernels.choose(("auto",), compute_dtype="bfloat16", environ={})
    assert not bf16.native and "bfloat16" in bf16.native_status


def test_the_scan_finds_host_memory_ops_and_per_group_seeds():
    """The scan's own check: int32 batch arithmetic, ArgMax over int32 and a seed per row group are found."""
    @tf.function
    def bad(tokens, seed):
        rows = tokens - 1                                                     # int32 Sub on [B, T]
        first = tf.argmax(tokens, 1, output_type=tf.int32)                    # ArgMax over int32

        def body(s, acc):
            u = tf.concat([tf.random.stateless_uniform([5], seed + g) for g in range(4)], 0)  # 4 groups, 4 seeds
            return s + 1, acc + u

        _, acc = tf.while_loop(lambda s, _: s < 3, body, (tf.constant(0), tf.zeros([20])))
        return rows, first, acc

    graph = bad.get_concrete_function(tf.TensorSpec([5, 8], tf.int32), tf.TensorSpec([2], tf.int64)).graph
    kinds = {f.why.split(" ")[0] for f in gpu_scan.findings(graph, batch=5)}
    assert kinds == {"int32", "ArgMax/ArgMin", "8"}, gpu_scan.findings(graph, batch=5)  # 4 groups × (key, draw)


def gpu_gan(monkeypatch, **overrides):
    monkeypatch.setenv(kernels.SIMULATE_GPU, "1")
    return LeakGAN(tiny_config(**overrides))


@pytest.mark.parametrize("variant,feature_path", [("code", "incremental"), ("paper", "plain")])
def test_gpu_path_graphs_hold_no_host_memory_op(monkeypatch, variant, feature_path):
    """Every phase's plain graph on the GPU backend (what XLA compiles, and what runs with
    --xla_phases=): no int32 arithmetic on batch tensors, no ArgMax over int32, no native
    op, at most one seed derivation per loop step. B = 5 divides no other size."""
    gan = gpu_gan(monkeypatch, xla_phases=(), batch_size=5, sample_batch=20, rollout_num=2, variant=variant,
                  feature_path=feature_path)
    cfg = gan.cfg
    B, T = cfg.batch_size, cfg.seq_len
    tokens, labels = tf.zeros([B, T], tf.int32), tf.ones([B], tf.int32)
    graphs = {
        "sampling": gan._sample.get_concrete_function(tf.constant([1.0] * T), gan.next_seed(), 4),
        "discriminator": gan._discriminator_step.get_concrete_function(tokens, labels, gan.dropout_seed()),
        "discriminator_epochs": gan._discriminator_epochs.get_concrete_function(
            tokens[None], labels[None], gan.dropout_seed(), 2),
        "pretrain": gan.pretrain_step.get_concrete_function(tokens),
        "adversarial": gan._adversarial_step.get_concrete_function(gan.next_seed(), tokens, tf.constant(0)),
    }
    found = {name: [str(f) for f in gpu_scan.findings(fn.graph, B)] for name, fn in graphs.items()}
    assert found == {name: [] for name in graphs}


@pytest.mark.heavy(seconds=90)
def test_every_phase_under_xla_computes_what_its_plain_graph_computes(monkeypatch):
    """experiments/xla_check.py on the tiny model: the GPU backend with every phase under
    XLA against the same backend with none (both TensorFlow's ops only), from the same
    seed: the same initial weights, the same tokens (the draws are device-independent:
    sampling.uniforms; 95% of generated rows, all 4 of the adversarial batch), losses and
    weights within float tolerance after each kind of step."""
    monkeypatch.setenv(kernels.SIMULATE_GPU, "1")
    cfg = tiny_config(seed=5)
    result = xla_check.check(cfg, rows=4 * cfg.batch_size)
    assert result["ok"], result["checks"]
    assert all(r.get("share_beyond", 0) == 0 for r in result["checks"].values()), result["checks"]  # no outlier
    assert set(result["checks"]) >= {"initial_weights", "generate_rows_identical", "d_step_loss", "d_epochs_losses",
                                     "pretrain_losses", "adversarial_tokens_identical", "adversarial_weights"}


def test_dropout_keeps_its_rate_and_repeats_for_a_seed():
    x = tf.ones([64, 50])
    seed = tf.constant([1, 2], tf.int64)
    y = sampling.dropout(x, 0.25, seed).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y > 0).mean() - 0.75) < 0.02
    np.testing.assert_array_equal(sampling.dropout(x, 0.25, seed).numpy(), y)
    xla = tf.function(lambda x, s: sampling.dropout(x, 0.25, s), jit_compile=True)
    np.testing.assert_array_equal(xla(x, seed).numpy(), y)
