"""leakgan_tf's native ops, one library built from five sources:

- `LeakganMaxPooledConv` (max_pooled_conv.cc): the discriminator's pooled
  convolution features (forward), and `LeakganMaxPooledConvGrad`
  (max_pooled_conv_grad.cc): their gradients through max-over-time pooling;
- `LeakganSampleCategorical` (sample_categorical.cc): one token per row of
  softmax(β · logits) by inverse transform sampling (models/sampling.py);
- `LeakganPrefixAppend`, `LeakganPrefixPooled` (prefix_features.cc): the
  free-running state of the incremental leaked features (models/leaked.py);
- `LeakganApplyAdam` (apply_adam.cc): TensorFlow's ResourceApplyAdam for a
  list of variables in one op and one pass (leakgan_tf/optimizers.py).

The library is compiled at first use against the installed TensorFlow with the
system's C++ compiler (`$CXX`, default `c++`; one process per source and core: ~45 s
of CPU, about 30 s on 2 cores), cached in
`$LEAKGAN_TF_CACHE_DIR` (default `~/.cache/leakgan_tf`) under a name hashed from
the sources, the compiler and its version and the TensorFlow build, and loaded
once per process; `LeakGAN` loads it when it is built, before any step is traced.
Several processes may build at once (a lock; a unique temporary file renamed
into place). `python -m leakgan_tf.build_ops` builds it ahead (cluster login
nodes); `$LEAKGAN_TF_NATIVE_LIB` names a library built beforehand, loaded as it is.
Where it cannot be had (no compiler, a failed build, a GPU machine: the ops have
CPU kernels only, or `LEAKGAN_TF_NATIVE_OPS=0`), the accessors return None and
TensorFlow's ops run instead: the discriminator's convolutions and their dense gradients,
`sampling.inverse_cdf`, leaked.py's state updates, one ResourceApplyAdam per
variable; equal up to float rounding
(the prefix features bit-identical), slower.
"""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import tensorflow as tf

SOURCES = [Path(__file__).with_name(name)
           for name in ("max_pooled_conv.cc", "max_pooled_conv_grad.cc", "sample_categorical.cc", "prefix_features.cc",
                        "apply_adam.cc")]
HEADER = Path(__file__).with_name("native_ops.h")  # included by every source
SWITCH = "LEAKGAN_TF_NATIVE_OPS"  # "0": never build or load the op
CACHE = "LEAKGAN_TF_CACHE_DIR"
PREBUILT = "LEAKGAN_TF_NATIVE_LIB"  # a library built beforehand (python -m leakgan_tf.build_ops): load it, never build

_loaded: dict = {}  # "library": the loaded library or None; "path": its file; "fast_forward": a bool


class BuildError(RuntimeError):
    """The compiler failed; the message names the log file with its whole output."""


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    if environ.get(CACHE):
        return Path(environ[CACHE])
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "leakgan_tf"


def compiler(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("CXX") or "c++"


def compile_flags() -> list[str]:
    # -ffp-contract=off: the AVX2/AVX-512 clones do not fuse a·b + c into FMAs the baseline
    # clone cannot, so the sampler's draws are the same on every node of a cluster (and Adam's
    # updates TensorFlow's); -fno-math-errno: sqrt vectorises (it cannot set errno then)
    return ["-O3", "-ffp-contract=off", "-fno-math-errno", "-shared", "-fPIC", "-w", *tf.sysconfig.get_compile_flags()]


def compile_commands(output: Path, cxx: str, objects: Path) -> tuple[list[list[str]], list[str]]:
    """One command per source, compiling it to an object file in `objects` (they run at
    once, one per core: each source parses TensorFlow's headers, ~10 s of CPU), and the
    command that links them into `output`."""
    flags = [f for f in compile_flags() if f != "-shared"]
    files = [objects / f"{source.stem}.o" for source in SOURCES]
    compiles = [[cxx, *flags, "-c", str(source), "-o", str(o)] for source, o in zip(SOURCES, files)]
    return compiles, [cxx, "-shared", *map(str, files), "-o", str(output), *tf.sysconfig.get_link_flags()]


def cores() -> int:
    """The CPUs this process may run on (all of them where the OS cannot say, e.g. macOS)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_commands(commands: list[list[str]], jobs: int) -> list[subprocess.CompletedProcess]:
    """Runs commands, at most `jobs` at a time; their results in order. An exception here
    (Ctrl-C, a stop signal) kills the compilers still running before it propagates."""
    from concurrent.futures import ThreadPoolExecutor
    started: list[subprocess.Popen] = []

    def run(command):
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        out, err = proc.communicate()
        return subprocess.CompletedProcess(command, proc.returncode, out, err)

    pool = ThreadPoolExecutor(max(1, jobs))
    try:
        return list(pool.map(run, commands))
    except BaseException:
        for proc in started:
            proc.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def compiler_version(cxx: str) -> str:
    """The compiler's `--version` output ('' where it does not run): part of the cache key,
    so an upgraded compiler builds anew."""
    try:
        return subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def library_path(cxx: str, environ: Mapping[str, str] = os.environ) -> Path:
    """Where the library built from these sources by `cxx` for this TensorFlow lives: the
    name hashes the sources' and header's bytes (not where they are installed), the compiler
    and its version, the flags and the TensorFlow build."""
    key = hashlib.sha256()
    for part in (*(source.read_bytes() for source in (*SOURCES, HEADER)), cxx.encode(),
                 compiler_version(cxx).encode(), tf.__version__.encode(), tf.sysconfig.get_lib().encode(),
                 " ".join(compile_flags() + tf.sysconfig.get_link_flags()).encode()):
        key.update(part + b"\0")
    return cache_dir(environ) / f"leakgan_ops-{key.hexdigest()[:16]}.so"


def build_log(output: Path) -> Path:
    return output.with_suffix(".build.log")


def build(output: Path, cxx: str) -> None:
    """Compiles SOURCES to `output` under a lock (`output`.lock), after a `note:` line on
    stderr: a process that waited for another's build finds the library and returns. One compiler
    per source and core makes the object files, the link a unique temporary file (safe for
    several hosts sharing one cache), renamed into place when complete; every command's whole
    output goes to build_log(output), which a BuildError names."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if output.exists():
            return
        # announced by the process that compiles (one that waited for it says nothing)
        print(f"note: compiling leakgan_tf's native ops once for this TensorFlow: {output}", file=sys.stderr,
              flush=True)
        fd, partial = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
        os.close(fd)
        partial, objects = Path(partial), None
        try:
            objects = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".objects", dir=output.parent))
            compiles, link = compile_commands(partial, cxx, objects)
            steps = list(zip(compiles, run_commands(compiles, cores())))
            if not any(done.returncode for _, done in steps):
                steps.append((link, subprocess.run(link, capture_output=True, text=True)))
            log = build_log(output)
            log.write_text("".join(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}exit code {done.returncode}\n"
                                   for command, done in steps))
            failed = [done for _, done in steps if done.returncode]
            if failed:
                done = failed[0]
                lines = (done.stderr or done.stdout).strip().splitlines() or [f"exit code {done.returncode}"]
                raise BuildError(f"{lines[-1]} (the compiler's whole output: {log})")
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
            if objects is not None:
                shutil.rmtree(objects, ignore_errors=True)


class NoCompilerError(BuildError):
    """There is no compiler to build with."""


def ensure_built(environ: Mapping[str, str] = os.environ) -> Path:
    """Builds the library into the cache unless it is there (build: a `note:` line on
    stderr first); returns its path (also `python -m leakgan_tf.build_ops`). Raises
    NoCompilerError, BuildError or OSError (e.g. a read-only cache)."""
    cxx = compiler(environ)
    path = library_path(cxx, environ)
    if not path.exists():
        if shutil.which(cxx) is None:
            raise NoCompilerError(f"no C++ compiler `{cxx}` (set CXX)")
        build(path, cxx)
    return path


def _load(environ: Mapping[str, str]):
    """(the loaded library, None), or (None, why not; None when the user or the machine said so)."""
    if environ.get(SWITCH, "1") == "0":
        return None, None
    from leakgan_tf.kernels import visible_gpus  # (a simulated GPU too: LEAKGAN_TF_SIMULATE_GPU)
    if visible_gpus(environ):
        return None, None  # CPU kernels only: GPU runs keep TensorFlow's ops
    if environ.get(PREBUILT):
        path = Path(environ[PREBUILT])
        if not path.is_file():
            return None, f"{PREBUILT}={path} is not a file"
    else:
        try:
            path = ensure_built(environ)
        except NoCompilerError as e:
            return None, str(e)
        except (OSError, BuildError) as e:
            return None, f"building them failed: {e}"
    try:
        library = tf.load_op_library(str(path))
    except (tf.errors.NotFoundError, OSError) as e:
        return None, f"loading {path} failed: {e}"
    _loaded["path"] = path
    return library, None


@tf.autograph.experimental.do_not_convert  # a first build may run inside a trace (the oracle's draws)
def _library(environ: Mapping[str, str]):
    """The loaded library or None (then a one-line note says why, once per process).
    SWITCH=0 in environ answers None even after another caller loaded it."""
    if environ.get(SWITCH, "1") == "0":
        return None
    if "library" not in _loaded:
        library, why_not = _load(environ)
        _loaded["why_not"] = why_not or "a GPU is visible (the ops have CPU kernels only)"
        if why_not:
            print(f"note: leakgan_tf's native ops are not available ({why_not}); using TensorFlow's ops "
                  f"instead (same results up to float rounding, slower; {SWITCH}=0 silences this)",
                  file=sys.stderr, flush=True)
        if library is not None:
            for name in ("LeakganSampleCategorical", "LeakganPrefixAppend", "LeakganPrefixPooled"):
                tf.no_gradient(name)  # they feed sampling only
        _loaded["library"] = library
    return _loaded["library"]


def status(environ: Mapping[str, str] = os.environ) -> str:
    """One phrase for the start-up line: whether the native ops run, which, and why not."""
    if environ.get(SWITCH, "1") == "0":
        return f"off ({SWITCH}=0)"
    if _library(environ) is None:
        return f"off ({_loaded['why_not']})"
    forward = "its AVX-512 forward" if max_pooled_conv_is_fast(environ) else "TensorFlow's forward (no AVX-512 tile)"
    return f"on (D's sparse gradient with {forward}, sampler, prefix state, D's Adam)"


def load(environ: Mapping[str, str] = os.environ) -> bool:
    """Builds (at first use) and loads the library now, outside any traced function
    (a build inside one makes AutoGraph warn about the compiler's subprocess); True
    when it can be used."""
    return _library(environ) is not None


def max_pooled_conv(environ: Mapping[str, str] = os.environ) -> Callable | None:
    """The op `leakgan_max_pooled_conv(x, kernels, biases) -> (relus, m)`, or None:
    also where the op has no fast tile for this CPU (`max_pooled_conv_is_fast`)."""
    library = _library(environ)
    if library is None or not max_pooled_conv_is_fast(environ):
        return None
    return library.leakgan_max_pooled_conv


def max_pooled_conv_is_fast(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the library's forward beats TensorFlow's convolution here: where its
    AVX-512 tile runs (x86 with AVX-512, GCC). Elsewhere (an AVX2 CPU: 24x slower,
    measured on AMD Zen 3) the forward stays TensorFlow's and only the gradient op runs."""
    if "fast_forward" not in _loaded:
        fast = False
        if _library(environ) is not None:  # the file it was loaded from, opened again to call the C function
            try:
                fast = bool(ctypes.CDLL(str(_loaded["path"])).LeakganMaxPooledConvFast())
            except (OSError, AttributeError):
                pass
        _loaded["fast_forward"] = fast
    return _loaded["fast_forward"]


def max_pooled_conv_grad(environ: Mapping[str, str] = os.environ) -> Callable | None:
    """The op `leakgan_max_pooled_conv_grad(x, kernels, relus, m, dm) -> (dx, dkernels,
    dbiases)`, or None."""
    library = _library(environ)
    return None if library is None else library.leakgan_max_pooled_conv_grad


def sample_categorical(environ: Mapping[str, str] = os.environ) -> Callable | None:
    """The op `leakgan_sample_categorical(logits [N, V], scale [], uniforms float64 [N])
    -> int32 [N]`, or None."""
    library = _library(environ)
    return None if library is None else library.leakgan_sample_categorical


def prefix_ops(environ: Mapping[str, str] = os.environ) -> tuple[Callable, Callable] | None:
    """The ops (`leakgan_prefix_append(position, terms, rows, done, opened, biases) ->
    (done, opened)`, `leakgan_prefix_pooled(length, done, opened, suffix, biases,
    seq_len) -> pooled`), or None."""
    library = _library(environ)
    return None if library is None else (library.leakgan_prefix_append, library.leakgan_prefix_pooled)


def apply_adam(environ: Mapping[str, str] = os.environ) -> Callable | None:
    """The op `leakgan_apply_adam(variables, m, v, grads, beta1_power, beta2_power, lr,
    beta1, beta2, epsilon)` (three lists of N float32 resource handles, N gradients,
    float32 scalars; no outputs), or None."""
    library = _library(environ)
    return None if library is None else library.leakgan_apply_adam
