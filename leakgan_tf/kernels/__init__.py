"""Which kernels compute a run's hot paths, chosen once per run and passed into the models.

The models (`leakgan_tf/models/`) hold the math as the paper and the original code
write it; a backend supplies the few primitives where speed is decided per device:

  cpu   TensorFlow's CPU kernels, leakgan_tf's native C++ ops where they build
        (`kernels/native/`: D's sparse pooled-convolution gradient and its forward,
        the sampler, the free-running leaked-feature state, D's Adam), the custom
        gradients measured faster on the CPU (`kernels/cpu_ops.py`), grappler's
        remapper off for the D steps, and XLA only where it was measured to pay
        there: the pretrain step (docs/performance.md).
  gpu   TensorFlow's ops only, and every phase under XLA: one fused program per
        step instead of hundreds of kernel launches per token, and no host-memory
        kernels (TensorFlow's GPU kernels for int32 arithmetic keep their tensors
        in host memory; XLA compiles them into the device program). Designed from
        TensorFlow's kernel registrations and tested on the CPU (XLA, a simulated
        GPU: `LEAKGAN_TF_SIMULATE_GPU=1`); not yet run on a GPU.

`choose(cfg, replicas)` picks one from the visible devices and the flags;
`Backend.describe()` is the run's start-up line and runtime.json.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence

import tensorflow as tf

from leakgan_tf.config import XLA_PHASES
from leakgan_tf.kernels import cpu_ops, native, pooled_conv

SIMULATE_GPU = "LEAKGAN_TF_SIMULATE_GPU"  # "1": choose as if one GPU were visible (tests of the GPU path on a CPU)
AUTO = "auto"
CPU_XLA_PHASES = ("pretrain",)  # measured on 2-core CPUs (docs/performance.md, "XLA per phase")
GPU_XLA_PHASES = tuple(XLA_PHASES)
# The phases whose compiled steps compute D's features; under XLA none may hold a native op.
FEATURE_PHASES = {"plain": ("discriminator", "adversarial", "sampling", "pretrain"),
                  "incremental": ("discriminator", "adversarial")}


def compiled(fn, jit_compile: bool = False):
    """fn as a tf.function (under XLA with jit_compile), traced without AutoGraph.

    The models write their loops as TensorFlow control flow (tf.while_loop over the
    position) or as Python loops unrolled at trace time (T and K are static), so
    AutoGraph's source conversion has nothing to convert; it cost every process about
    5 s of start-up, a third of a tiny run (docs/performance.md, "Start-up")."""
    return tf.function(fn, jit_compile=jit_compile, autograph=False)


def visible_gpus(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Names of the GPUs TensorFlow sees (one simulated one with LEAKGAN_TF_SIMULATE_GPU=1)."""
    if environ.get(SIMULATE_GPU) == "1":
        return ["GPU:0 (simulated)"]
    return [d.name.replace("/physical_device:", "") for d in tf.config.list_physical_devices("GPU")]


def xla_phases(requested: Sequence[str], device: str) -> tuple[str, ...]:
    """The phases compiled by XLA: `requested` (--xla_phases; "auto" = this device's
    default: every phase on a GPU, the pretrain step on a CPU). Under tf.distribute with
    several replicas XLA compiles each replica's share of a step (LeakGAN._compile_steps)."""
    if AUTO in requested:
        return GPU_XLA_PHASES if device == "gpu" else CPU_XLA_PHASES
    return tuple(p for p in XLA_PHASES if p in requested)


@dataclasses.dataclass(frozen=True)
class DiscriminatorKernels:
    """D's hot-path primitives: the pooled convolutions and the highway's matmuls.

    sparse_gradient: the native sparse gradient of the pooled convolutions where it
      can be had (kernels/pooled_conv.py); native_forward: with it, their native
      forward; cpu_gradients: kernels/cpu_ops.py's gradients (CPU-measured) instead
      of TensorFlow's. The defaults are the CPU backend's outside XLA.
    """
    sparse_gradient: bool = True
    native_forward: bool = True
    cpu_gradients: bool = True

    def pooled(self, x: tf.Tensor, kernels: Sequence[tf.Tensor], biases: Sequence[tf.Tensor],
               native: bool = True) -> tf.Tensor:
        """Max-over-time features [N, Σ n_i] of x [N, T, E]; native=False: TensorFlow's ops only."""
        return pooled_conv.pooled(x, kernels, biases, self.sparse_gradient, self.native_forward and native,
                                  self.cpu_gradients)

    def matmul(self, x: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
        """x [N, I] · w [I, O] -> [N, O]."""
        return cpu_ops.matmul(x, w) if self.cpu_gradients else tf.matmul(x, w)


PLAIN = DiscriminatorKernels(sparse_gradient=False, native_forward=False, cpu_gradients=False)


@dataclasses.dataclass(frozen=True)
class Backend:
    """One run's kernel choices (see the module docstring).

    device: "cpu" or "gpu"; gpus: their names; xla: the phases compiled by XLA;
    native: leakgan_tf's C++ ops in use; native_status: native.status() or why off.
    """
    device: str
    gpus: tuple[str, ...]
    xla: tuple[str, ...]
    native: bool
    native_status: str
    replicas: int = 1

    def compiles(self, phase: str) -> bool:
        """Whether `phase`'s step is compiled by XLA."""
        return phase in self.xla

    def discriminator_kernels(self, feature_path: str) -> DiscriminatorKernels:
        """D's primitives: no native op inside an XLA-compiled step (XLA has no kernel for them)."""
        return DiscriminatorKernels(
            sparse_gradient=self.native and not self.compiles("discriminator"),
            native_forward=self.native and not any(map(self.compiles, FEATURE_PHASES[feature_path])),
            cpu_gradients=self.device == "cpu")

    @property
    def native_sampling(self) -> bool:
        """The native sampler and prefix-state ops in the free-running loops (not under XLA)."""
        return self.native and not (self.compiles("sampling") or self.compiles("adversarial"))

    @property
    def native_adam(self) -> bool:
        """D's Adam as one native op (not under XLA)."""
        return self.native and not self.compiles("discriminator")

    @property
    def remapper_off(self) -> bool:
        """Grappler's remapper off around the D steps (measured on the CPU: docs/performance.md item 8)."""
        return self.device == "cpu"

    def describe(self) -> dict[str, str]:
        """The start-up line's and runtime.json's fields."""
        import platform
        devices = ", ".join([*self.gpus, f"CPU ({platform.machine()}, {os.cpu_count()} cores)"])
        return dict(backend=self.device, devices=devices, replicas=str(self.replicas),
                    xla=", ".join(self.xla) or "none", native_ops=self.native_status)


def choose(requested_xla: Sequence[str], replicas: int = 1, compute_dtype: str = "float32",
           environ: Mapping[str, str] = os.environ) -> Backend:
    """The backend for a run: "gpu" where a GPU is visible, else "cpu"; XLA phases by
    `xla_phases`; the native ops on the CPU backend where they load (a first build runs
    here, not inside a traced step), float32 compute only."""
    gpus = tuple(visible_gpus(environ))
    device = "gpu" if gpus else "cpu"
    if device == "gpu":
        on, status = False, "off: the GPU backend (the native ops are CPU kernels)"
    elif compute_dtype != "float32":
        on, status = False, f"off: --compute_dtype={compute_dtype} (the native ops are float32)"
    else:
        on = native.load(environ)
        status = native.status(environ)
    return Backend(device=device, gpus=gpus, xla=xla_phases(requested_xla, device), native=on,
                   native_status=status, replicas=replicas)
