"""Tiny configurations and numpy re-derivations shared by the tests."""
import importlib.util
import pathlib

import numpy as np

from leakgan_tf.config import make_config

EXPERIMENTS = pathlib.Path(__file__).resolve().parent.parent / "experiments"


def needs_compiler():
    """A pytest mark that skips a test where leakgan_tf's native ops cannot be built
    or are not used (no C++ compiler, LEAKGAN_TF_NATIVE_OPS=0, or a GPU, real or simulated
    with LEAKGAN_TF_SIMULATE_GPU=1: the GPU backend runs none of these CPU ops);
    elsewhere a failed build fails it."""
    import os
    import shutil

    import pytest

    from leakgan_tf import kernels
    from leakgan_tf.kernels import native
    return pytest.mark.skipif(
        os.environ.get(native.SWITCH) == "0" or shutil.which(native.compiler()) is None
        or bool(kernels.visible_gpus()),
        reason=f"no C++ compiler `{native.compiler()}`, {native.SWITCH}=0, or a GPU visible (the native ops are "
               f"CPU kernels; the GPU backend does not use them)")


def op_types(graph):
    """The op types of a graph and of every function graph it holds (while-loop bodies, tf.cond branches),
    recursively."""
    types = {op.type for op in graph.get_operations()}
    for f in getattr(graph, "_functions", {}).values():
        if hasattr(f, "graph"):
            types |= op_types(f.graph)
    return types


def load_experiment(name):
    """experiments/<name>.py imported as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The one tiny configuration of the suite, for Python tests (tiny_config) and
# command lines (tiny_flags). Model sizes (also the oracle benchmark's
# --extra_flags), then the run's data and seeds, then a short schedule.
TINY_MODEL = dict(vocab_size=30, seq_len=8, batch_size=4, gen_emb_dim=6, gen_hidden_dim=5, goal_size=3, step_size=2,
                  dis_emb_dim=5, dis_filter_sizes=(1, 2, 3, 8), dis_num_filters=(3, 4, 2, 3), sample_batch=8,
                  oracle_emb_dim=4, oracle_hidden_dim=4)
# No XLA: compiling costs a tiny run more than the run (~9 s of CPU a process); the XLA
# path is tested equal to the plain one in tests/test_steps.py.
TINY_RUN = dict(generated_num=16, pretrain_eval_epochs=(0,), seed=3, oracle_seed=7, xla_phases=())
TINY_SCHEDULE = dict(pretrain_blocks=1, pretrain_d_rounds=1, d_epochs=1, pretrain_g_epochs=1, adversarial_iterations=2,
                     adv_d_rounds=1, eval_every=1)


def tiny_config(**overrides):
    """The tiny Config (Config's default schedule unless overridden)."""
    return make_config("synthetic20", **{**TINY_MODEL, **TINY_RUN, **overrides})


def flag_lines(values):
    """--name=value lines (a flagfile) of Config fields or run flags."""
    def line(name, value):
        if isinstance(value, bool):
            return f"--{'' if value else 'no'}{name}"
        return f"--{name}=" + (",".join(map(str, value)) if isinstance(value, tuple) else str(value))
    return "".join(line(k, v) + "\n" for k, v in values.items())


# Command lines run two goal steps of 4 (K - 1 = 1 rollout group): each group is a loop of its
# own to trace, ~2.3 s of CPU a process with tiny_config's three; the suite starts dozens of
# processes, and the three groups are tested in-process (test_rollout, test_steps, test_variants,
# test_distribute, test_backends); the command-line runs (kill/resume, multi-worker, determinism)
# exercise one group.
TINY_CLI = dict(step_size=4)


def tiny_flags(**overrides):
    """A flagfile of tiny_config (with TINY_CLI) and the tiny schedule (and --checkpoint_every=1)."""
    return flag_lines({**TINY_MODEL, **TINY_CLI, **TINY_RUN, **TINY_SCHEDULE, "checkpoint_every": 1, **overrides})


def tiny_trainer(cfg, logdir, **kwargs):
    """A Trainer of cfg in logdir on the source cfg names (the tiny seeded oracle)."""
    from leakgan_tf import sources
    from leakgan_tf.train import Trainer
    return Trainer(cfg, logdir, sources.from_config(cfg, logdir), **kwargs)


def np_l2n(x):
    return x / np.sqrt(np.maximum((x * x).sum(-1, keepdims=True), 1e-12))


def np_features(disc, tokens):
    """Numpy re-derivation of Discriminator.features for int tokens [N, T] (−1 = pad)."""
    emb = disc.embedding.numpy()[tokens + 1]                     # [N, T, E]
    pooled = []
    for k, b in zip(disc.conv_kernels, disc.conv_biases):
        k, b = k.numpy(), b.numpy()
        h = k.shape[0]
        windows = np.stack([np.einsum("nje,jef->nf", emb[:, p:p + h], k) for p in range(tokens.shape[1] - h + 1)], 1)
        pooled.append(np.maximum(windows + b, 0).max(1))
    x = np.concatenate(pooled, -1)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    t = sig(x @ disc.gate_kernel.numpy() + disc.gate_bias.numpy())
    g = np.maximum(x @ disc.highway_kernel.numpy() + disc.highway_bias.numpy(), 0)
    return t * g + (1 - t) * x
