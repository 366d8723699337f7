"""Per-phase speed of LeakGAN on this machine, with FLOP accounting.

  python experiments/bench_speed.py [--lengths 20,40] [--out experiments/results/bench_speed.json]
  python experiments/bench_speed.py --distribute=mirrored --replicas=2 --lengths 20 --paths incremental --quick

--distribute=mirrored times every phase with one device and again under
tf.distribute.MirroredStrategy on --replicas logical CPU devices (GPUs, if any, are
what MirroredStrategy takes instead); rows are keyed by the replica count.

For each sequence length it times (after a warm-up call that compiles):
generation of 9,984 samples at β = 1.5, one MLE epoch (156 batches), one
discriminator epoch (312 batches), one adversarial generator step (sampling,
all rollouts, rewards, update) and NLL-oracle evaluation; counts each phase's
floating-point work from the model dimensions (a multiply-add is 2 FLOPs);
measures this process's dense matmul rate in the same run (the best of several
sizes, `matmul_peak`); and writes JSON. Each phase's row also holds the seconds
it would take at that rate (`seconds_at_matmul_rate`): a floor, not a goal.

Speed against the original on the same machine: experiments/bench_original.py.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from leakgan_tf.startup import prefer_onednn  # noqa: E402

prefer_onednn()  # as the CLIs run (TF_ENABLE_ONEDNN_OPTS=0 to time TensorFlow's own kernels)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from leakgan_tf import losses, rewards  # noqa: E402
from leakgan_tf.config import make_config  # noqa: E402
from leakgan_tf.leakgan import LeakGAN, num_params, xla_compiles  # noqa: E402


# ---------------------------------------------------------------------------- FLOPs
def conv_flops_full(cfg):
    """Convolutions of one full-length discriminator pass (all windows)."""
    return sum(2 * (cfg.seq_len - h + 1) * h * cfg.dis_emb_dim * n
               for h, n in zip(cfg.dis_filter_sizes, cfg.dis_num_filters))


def highway_flops(cfg):
    return 2 * 2 * cfg.feature_dim ** 2


def token_contribution_flops(cfg):
    """Incremental path: one token's terms e·K_j for every filter and offset, plus
    the window sums and max over windows it touches (additions counted too)."""
    pairs = list(zip(cfg.dis_filter_sizes, cfg.dis_num_filters))
    return 2 * cfg.dis_emb_dim * sum(h * n for h, n in pairs) + 2 * sum((cfg.seq_len - h + 1) * n for h, n in pairs)


def prefix_feature_flops(cfg, path):
    """One leaked feature of one prefix: plain recomputes all windows."""
    if path == "plain":
        return conv_flops_full(cfg) + highway_flops(cfg)
    return token_contribution_flops(cfg) + highway_flops(cfg)


def classify_flops(cfg):
    return conv_flops_full(cfg) + highway_flops(cfg) + 2 * 2 * cfg.feature_dim


def sparse_conv_backward_flops(cfg):
    """The pooled convolutions' backward pass with the sparse gradient
    (models/pooled_conv.py): each feature's gradient reaches one window (exact
    ties aside), which adds one h·E multiply-add to the kernel gradient and one to
    the input gradient; the dense gradients do that for all T − h + 1 windows."""
    return 2 * 2 * cfg.dis_emb_dim * sum(h * n for h, n in zip(cfg.dis_filter_sizes, cfg.dis_num_filters))


def conv_backward_flops(cfg, d_gradient="dense"):
    """The pooled convolutions' backward pass of one sequence: dense (≈ 2× forward) or sparse."""
    return sparse_conv_backward_flops(cfg) if d_gradient == "sparse" else 2 * conv_flops_full(cfg)


def train_classify_flops(cfg, d_gradient="dense"):
    """One sequence's D training pass: forward + backward (≈ 2× forward), with the
    pooled convolutions' backward dense or sparse."""
    return 3 * classify_flops(cfg) - 2 * conv_flops_full(cfg) + conv_backward_flops(cfg, d_gradient)


def d_gradient(cfg):
    """Which pooled-convolution gradient this process's D step runs: "sparse" (the
    native op, as the CLIs run where it can be built) or "dense" (no op, or XLA
    compiles the step, on one device or per replica: LeakGAN's rule)."""
    from leakgan_tf.kernels import pooled_conv
    from leakgan_tf.leakgan import xla_compiles
    op = pooled_conv.gradient_op(not xla_compiles(cfg, "discriminator"), tf.as_dtype(cfg.compute_dtype))
    return "dense" if op is None else "sparse"


def worker_output_flops(cfg):
    """The Worker's output layer for one token, forward: (h ⊗ w)·W̃ + w·b̃."""
    k, V = cfg.goal_size, cfg.vocab_size
    return 2 * cfg.gen_hidden_dim * k * V + 2 * k * V


def generator_step_flops(cfg):
    """One Manager + Worker step of one sequence, excluding the leaked feature."""
    E, H, k, D = cfg.gen_emb_dim, cfg.gen_hidden_dim, cfg.goal_size, cfg.feature_dim
    worker = 2 * (E + H) * 4 * H + worker_output_flops(cfg) + 2 * D * k
    manager = 2 * (D + H) * 4 * H + 2 * H * D
    return worker + manager


def sequence_flops(cfg, path):
    """FLOPs per sequence of the generator's work, by term: `sample` (T free-running
    steps), `features` (the leaked features of the T+1 teacher-forced prefixes),
    `teacher_forced_train` (those features, then G forward + backward ≈ 2×
    forward), `rollouts` (all rollouts of one sequence) and `rewards` (D's P(real)
    of every rollout and of the sequence). path as phase_flops'."""
    T, c, R, K = cfg.seq_len, cfg.step_size, cfg.rollout_num, cfg.seq_len // cfg.step_size
    feat, step = prefix_feature_flops(cfg, "plain" if path == "original" else path), generator_step_flops(cfg)
    if path == "original":  # each of R·(K−1) rollouts: T+1 manager steps with features, T worker steps
        rollouts = R * (K - 1) * ((T + 1) * feat + T * step)
    else:  # shared prefix: only the free-running continuation
        rollouts = R * sum(T - m * c for m in range(1, K)) * (feat + step)
    return dict(sample=T * (feat + step), features=(T + 1) * feat, teacher_forced=(T + 1) * feat + T * step,
                teacher_forced_train=(T + 1) * feat + 3 * T * step, rollouts=rollouts,
                rewards=(R * (K - 1) + 1) * classify_flops(cfg))


def phase_flops(cfg, path, d_gradient="dense"):
    """FLOPs per phase.

    path "original": the original's computation (every prefix recomputed by a
    full D pass, every rollout re-encodes its prefix; D's gradients dense); "plain":
    --feature_path=plain (full D pass per prefix, rollouts from the shared
    teacher-forced states); "incremental": ours (incremental features, shared
    rollouts). d_gradient: the D step's pooled-convolution gradient (ours).
    """
    T, B, n = cfg.seq_len, cfg.batch_size, cfg.num_samples
    seq = sequence_flops(cfg, path)
    adversarial = B * (seq["sample"] + seq["teacher_forced_train"] + seq["rollouts"] + seq["rewards"])
    d_epoch = 2 * n * train_classify_flops(cfg, "dense" if path == "original" else d_gradient)
    return {
        "generation": n * seq["sample"],
        "mle_epoch": n * seq["teacher_forced_train"],
        "d_epoch": d_epoch,
        "adversarial_step": adversarial,
        "adversarial_iteration": adversarial + cfg.adv_d_rounds * (n * seq["sample"] + cfg.d_epochs * d_epoch),
        "nll_eval": n * seq["sample"]
        + n * T * 2 * (cfg.oracle_emb_dim + cfg.oracle_hidden_dim) * 4 * cfg.oracle_hidden_dim
        + n * T * 2 * cfg.oracle_hidden_dim * cfg.vocab_size,
    }


# ---------------------------------------------------------------------------- timing
MATMUL_SIZES = (512, 1024, 2048, 4096)


def matmul_peak(sizes=MATMUL_SIZES, flop_per_timing=2e10):
    """This process's best dense float32 matmul rate in FLOP/s, and the rate per
    size: square matmuls of each size, the best of 3 timings of about
    flop_per_timing FLOPs each. The best over sizes, because no single size is
    the peak on every backend: with TF's Eigen kernels (oneDNN off) a 4096²
    matmul ran at 89 GFLOP/s on the 2-core AVX2 machine and a 1024² one at 139;
    with oneDNN, 4096² was the fastest (174)."""
    rates = {}
    for size in sizes:
        a, b = tf.random.normal([size, size]), tf.random.normal([size, size])
        f = tf.function(lambda a=a, b=b: tf.reduce_sum(tf.matmul(a, b)))
        f().numpy()
        flop = 2 * size ** 3
        rates[size] = flop / best_seconds(lambda f=f: f().numpy(), max(2, int(flop_per_timing / flop)))
    return max(rates.values()), rates


def best_seconds(fn, calls, rounds=3):
    """Seconds per call of fn: the least over `rounds` timings of `calls` calls
    (the first round's calls after one untimed call by the caller)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def memory_rate(floats=2 ** 25, repeats=5):
    """This process's streaming rate in bytes/s: a += b in place over two
    variables of 32 M floats (reads 2, writes 1 array of 128 MB, as Adam updates
    its buffers in place), the best of `repeats` timings."""
    a, b = tf.Variable(tf.random.normal([floats])), tf.Variable(tf.random.normal([floats]))

    @tf.function
    def f():
        a.assign_add(b)

    f()
    return 3 * 4 * floats / best_seconds(lambda: (f(), a[0].numpy()), 1, rounds=repeats)


def d_step_parts(gan, tokens, labels, steps=40):
    """Milliseconds per discriminator step, whole and in two parts: forward +
    backward (every gradient, nothing applied) and the Adam update alone (dense
    gradients of the same shapes). Adam reads the weight, both moments and the
    gradient and writes three of them: 28 bytes per float32 weight."""
    d, opt = gan.discriminator, gan.optimizers["discriminator"]
    variables = d.trainable_variables

    @tf.function
    def gradients():
        with tf.GradientTape() as tape:
            loss, _ = d.classification_loss(tokens, labels, training=True, seed=tf.zeros([2], tf.int64))
        return [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]

    grads = [tf.zeros_like(v) + 1e-9 for v in variables]

    @tf.function
    def apply():
        opt.apply_gradients(zip(grads, variables))
        return opt.iterations

    def ms(fn):  # synced once per round: converting every call's gradients (28 MB) would be timed too
        return ms_per_call(fn, steps)

    weights = num_params(d)
    return dict(step_ms=ms(lambda: gan.discriminator_step(tokens, labels)), forward_backward_ms=ms(gradients),
                adam_ms=ms(apply), weights=weights, adam_mbytes=round(28 * weights / 1e6, 1),
                parts_ms={name: ms(fn) for name, fn in d_part_functions(d, tokens).items()})


def d_part_functions(d, tokens):
    """The D step's largest parts as separate compiled functions, each returning
    tensors (synced by the caller): the pooled convolutions forward and forward +
    backward (their gradient reaches the embedding, kernels and biases, through
    the native op where the step uses it), the highway layer forward + backward
    on fixed features, and the highway's six GEMMs alone (the forward x·W, the
    input gradient (W·dyᵀ)ᵀ and the weight gradient xᵀ·dy, twice): what
    TensorFlow's kernels take for those [batch, D_f]·[D_f, D_f] shapes."""
    pooled = d.pooled(tokens)
    dm = tf.ones_like(pooled) / tf.cast(tf.size(pooled), tf.float32)
    # Distinct operands, so that no two GEMMs are the same computation (grappler merges those).
    w, g = tf.convert_to_tensor(d.highway_kernel), tf.convert_to_tensor(d.gate_kernel)
    dy, dy2 = tf.ones_like(pooled), tf.fill(pooled.shape, 0.5)
    conv_variables = [d.embedding, *d.conv_kernels, *d.conv_biases]

    @tf.function
    def conv_forward_backward():
        with tf.GradientTape() as tape:
            m = d.pooled(tokens)
        return tf.nest.flatten(tape.gradient(m, conv_variables, output_gradients=dm), expand_composites=True)

    @tf.function
    def highway_forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(pooled)
            y = d.highway(pooled)
        return tape.gradient(y, [pooled, d.highway_kernel, d.gate_kernel, d.highway_bias, d.gate_bias],
                             output_gradients=dy)

    @tf.function
    def highway_gemms():
        return [tf.matmul(pooled, w), tf.matmul(pooled, g), tf.transpose(tf.matmul(w, dy, transpose_b=True)),
                tf.transpose(tf.matmul(g, dy, transpose_b=True)), tf.matmul(pooled, dy, transpose_a=True),
                tf.matmul(pooled, dy2, transpose_a=True)]

    return dict(conv_forward=tf.function(lambda: d.pooled(tokens)), conv_forward_backward=conv_forward_backward,
                highway_forward_backward=highway_forward_backward, highway_gemms=highway_gemms)


def ms_per_call(fn, calls):
    """Milliseconds per call of fn, the best of 3 rounds of `calls` calls after
    one untimed call; synced once per round (tensors converted at its end only)."""
    fn()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            out = fn()
        tf.nest.map_structure(lambda v: v.numpy(), out)
        best = min(best, (time.perf_counter() - t0) / calls * 1e3)
    return round(best, 2)


def mle_step_parts(gan, tokens, steps=10):
    """Milliseconds per MLE (pretrain) step on tokens [B, T], whole and in parts,
    each part compiled as the step is (XLA where --xla_phases has pretrain):
      features          the leaked features of the T+1 prefixes (forward only:
                        the step stops their gradient), [B, T+1, D_f];
      output            the Worker's output layer on fixed inputs, forward +
                        backward: logits [B·T, V], log-softmax, the tokens'
                        log-probabilities;
      forward           teacher forcing and both losses;
      forward_backward  both losses' gradients, nothing applied;
      apply             gradient clipping and both Adam updates alone."""
    g, jit = gan.generator, xla_compiles(gan.cfg, "pretrain")
    names = ("pretrain_worker", "pretrain_manager")
    variables = {n: gan._variables(n) for n in names}
    compiled = lambda fn: tf.function(fn, jit_compile=jit)  # noqa: E731

    def forward():
        out = g.teacher_forced(tokens)
        return losses.worker_mle_loss(out), losses.manager_pretrain_loss(out)

    def gradients():
        with tf.GradientTape(persistent=True) as tape:
            loss = dict(zip(names, forward()))
        return [tf.convert_to_tensor(grad) if grad is not None else tf.zeros_like(v)
                for n in names for grad, v in zip(tape.gradient(loss[n], variables[n]), variables[n])]

    fixed = {n: [tf.zeros_like(v) + 1e-9 for v in variables[n]] for n in names}

    def apply():
        for n in names:
            clipped, _ = tf.clip_by_global_norm(fixed[n], gan.cfg.grad_clip)
            gan.optimizers[n].apply_gradients(zip(clipped, variables[n]))
        return [gan.optimizers[n].iterations for n in names]

    rows = tokens.shape[0] * tokens.shape[1]
    rng = np.random.default_rng(2)
    h = tf.constant(rng.normal(size=(rows, g.worker.hidden_dim)), tf.float32)
    w = tf.constant(rng.normal(size=(rows, g.worker.goal_size)), tf.float32)
    targets = tf.reshape(tokens, [-1])
    worker_weights = [g.worker.out_kernel, g.worker.out_bias]

    def output():
        with tf.GradientTape() as tape:
            tape.watch(h)
            log_p = tf.gather(tf.nn.log_softmax(g.worker.logits(h, w)), targets, batch_dims=1)
            loss = -tf.reduce_mean(log_p)
        return tape.gradient(loss, [h, *worker_weights])

    def features():
        return g.prefix.all_prefixes(tokens)

    parts = dict(features=features, output=output, forward=forward,
                 forward_backward=gradients, apply=apply)
    weights = sum(num_params(m) for m in (gan.manager, gan.worker))
    return dict(step_ms=ms_per_call(lambda: gan.pretrain_step(tokens), steps), xla=jit, weights=weights,
                parts_ms={name: ms_per_call(compiled(fn), steps) for name, fn in parts.items()})


def mle_parts_row(cfg, parts, rate):
    """mle_step_parts with the GFLOP/s each part reaches and the step's fraction
    of the matmul rate (FLOPs counted as phase_flops counts the MLE epoch)."""
    B, seq = cfg.batch_size, sequence_flops(cfg, cfg.feature_path)
    part_flops = dict(features=B * seq["features"], output=B * cfg.seq_len * 3 * worker_output_flops(cfg),
                      forward=B * seq["teacher_forced"], forward_backward=B * seq["teacher_forced_train"])
    return parts_row(parts, part_flops, part_flops["forward_backward"], rate)


def parts_row(parts, part_flops, step_flops, rate):
    """parts (step_ms, parts_ms) with the step's GFLOP, the GFLOP/s of every part
    whose FLOPs part_flops counts, and the step's fraction of the matmul rate and
    its milliseconds at that rate."""
    return dict(parts, gflop=round(step_flops / 1e9, 3),
                parts_gflops_per_s={name: round(part_flops[name] / (t / 1e3) / 1e9, 1)
                                    for name, t in parts["parts_ms"].items() if name in part_flops},
                step_fraction_of_matmul_rate=round(step_flops / (parts["step_ms"] / 1e3) / rate, 3),
                floor_ms=round(step_flops / rate * 1e3, 2))


def g_step_parts(gan, steps=3):
    """Milliseconds per adversarial G step (batch B), whole and in parts, each
    compiled as the step is (tf.function):
      sample    B sequences at the adversarial β, T dependent steps;
      rollouts  the rollout_num completions of every prefix length c, 2c, …
                (the shared-prefix continuations: groups of rollout_num·B rows);
      rewards   D's P(real) of every rollout and of the batch;
    the rest of the step is the teacher-forced pass, the reward rescaling, both
    losses' gradients and the two Adam updates."""
    cfg, g = gan.cfg, gan.generator
    seed = tf.constant([3, 4], tf.int64)
    betas = cfg.adversarial_betas()
    tokens = g.sample(cfg.batch_size, betas, seed)
    out = g.teacher_forced(tokens)
    rollouts = g.rollout(tokens, out, cfg.rollout_num, seed, cfg.rollout_beta)

    def sample():
        return g.sample(cfg.batch_size, betas, seed)

    def rollout():
        return g.rollout(tokens, out, cfg.rollout_num, seed, cfg.rollout_beta)

    def reward_probabilities():
        return rewards.rollout_sums(gan.discriminator, rollouts), gan.discriminator.prob_real(tokens)

    parts = dict(sample=sample, rollouts=rollout, rewards=reward_probabilities)
    return dict(step_ms=ms_per_call(lambda: gan.adversarial_step(seed)["goal_loss"], steps),
                parts_ms={name: ms_per_call(tf.function(fn), steps) for name, fn in parts.items()})


def g_parts_row(cfg, parts, rate):
    """g_step_parts with the GFLOP/s each part reaches (FLOPs as phase_flops counts
    the adversarial step) and the step's fraction of the matmul rate."""
    B, seq = cfg.batch_size, sequence_flops(cfg, cfg.feature_path)
    part_flops = {name: B * seq[name] for name in ("sample", "rollouts", "rewards")}
    return parts_row(parts, part_flops, phase_flops(cfg, cfg.feature_path)["adversarial_step"], rate)


def process_settings():
    """What decides this process's kernels: the backend a run would choose (devices,
    XLA phases, native ops), oneDNN (TF_ENABLE_ONEDNN_OPTS, and whether TF enabled it)
    and the thread pools."""
    from tensorflow.python.util import _pywrap_util_port

    from leakgan_tf import kernels
    return dict(backend=kernels.choose(("auto",)).describe(), onednn_env=os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                onednn_enabled=bool(_pywrap_util_port.IsMklEnabled()),
                intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
                inter_op_threads=tf.config.threading.get_inter_op_parallelism_threads())


def timed(fn, repeats=1):
    fn()  # warm-up: compile
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


COMPUTE_DTYPE = "float32"  # --compute_dtype


def config_for(length, path, growth=False, distribute="none"):
    """The benchmarked model: the paper's experiment of that length, or with
    growth=True the length-20 model (same sizes and filters) at any length, so
    that only T changes between rows."""
    preset = "synthetic20" if growth or length == 20 else "synthetic40"
    return make_config(preset, seq_len=length, feature_path=path, compute_dtype=COMPUTE_DTYPE, distribute=distribute)


def phase_work(cfg, gan, oracle, fraction=1.0):
    """{phase: (run, scale)} for generation, mle_epoch, d_epoch, adversarial_step
    and nll_eval: run() does `fraction` of the phase's work (at least one batch;
    adversarial_step is always one step) on random tokens, and its seconds ×
    scale estimate the whole phase. Shared with experiments/bench_original.py."""
    rng = np.random.default_rng(0)
    real = rng.integers(0, cfg.vocab_size, size=(cfg.num_samples, cfg.seq_len)).astype(np.int32)
    labels = tf.constant(np.tile(np.array([1, 0], np.int32), cfg.batch_size // 2))
    batches = cfg.num_samples // cfg.batch_size
    n_mle, n_d = max(1, int(batches * fraction)), max(1, int(2 * batches * fraction))
    gen_rows = max(cfg.sample_batch, int(cfg.num_samples * fraction) // cfg.sample_batch * cfg.sample_batch)
    x_batches = [tf.constant(real[i * cfg.batch_size:(i + 1) * cfg.batch_size]) for i in range(batches)]

    def mle():
        for i in range(n_mle):
            gan.pretrain_step(x_batches[i % batches])

    d_tokens = tf.stack([x_batches[i % batches] for i in range(n_d)])
    d_labels = tf.stack([labels] * n_d)

    def d_epoch():  # as the Trainer's D rounds run their epochs: one compiled call
        gan.discriminator_epochs(d_tokens, d_labels, 1)

    def nll_eval():
        oracle.nll(gan.generate(gen_rows, cfg.eval_beta))

    return {
        "generation": (lambda: gan.generate(gen_rows, cfg.eval_beta), cfg.num_samples / gen_rows),
        "mle_epoch": (mle, batches / n_mle),
        "d_epoch": (d_epoch, 2 * batches / n_d),
        "adversarial_step": (lambda: gan.adversarial_step(gan.next_seed())["goal_loss"].numpy(), 1.0),
        "nll_eval": (nll_eval, cfg.num_samples / gen_rows),
    }


def bench_length(length, path, quick, d_seconds=None, growth=False, phases=None, distribute="none"):
    """Seconds per phase for one length and feature path (D epoch is path-free)."""
    from synthetic_oracle.model import OracleLSTM
    cfg = config_for(length, path, growth, distribute)
    gan = LeakGAN(cfg)
    oracle = OracleLSTM.from_seed(0, cfg.vocab_size, cfg.oracle_emb_dim, cfg.oracle_hidden_dim)
    work = phase_work(cfg, gan, oracle, 0.1 if quick else 1.0)  # quick: a fraction of each phase, scaled up
    repeats = {"adversarial_step": 3}

    def timer(phase):
        if phase == "d_epoch" and d_seconds is not None:
            return d_seconds
        run, scale = work[phase]
        return timed(run, repeats.get(phase, 1)) * scale

    seconds = {phase: timer(phase) for phase in work if phases is None or phase in phases}
    if {"adversarial_step", "generation", "d_epoch"} <= set(seconds):
        seconds["adversarial_iteration"] = seconds["adversarial_step"] + cfg.adv_d_rounds * (
            seconds["generation"] + cfg.d_epochs * seconds["d_epoch"])
    parts = {}
    tokens = tf.constant(np.random.default_rng(1).integers(0, cfg.vocab_size, (cfg.batch_size, cfg.seq_len)),
                         tf.int32)
    if "d_epoch" in seconds and d_seconds is None and gan.replicas == 1:
        labels = tf.constant(np.tile(np.array([1, 0], np.int32), cfg.batch_size // 2))
        parts["d_step_parts"] = d_step_parts(gan, tokens, labels)
    if "mle_epoch" in seconds and gan.replicas == 1:
        parts["mle_step_parts"] = mle_step_parts(gan, tokens)
    if "adversarial_step" in seconds and gan.replicas == 1:
        parts["g_step_parts"] = g_step_parts(gan)
    return cfg, seconds, parts


def rows_for(cfg, path, seconds, rate, length, d_gradient="dense"):
    """The JSON rows of one (length, path) from measured seconds."""
    flops, original_flops = phase_flops(cfg, path, d_gradient), phase_flops(cfg, "original")
    rows = {}
    for phase, sec in seconds.items():
        rows[phase] = dict(
            seconds=round(sec, 3), gflop=round(flops[phase] / 1e9, 2),
            flop_saving_vs_original=round(1 - flops[phase] / original_flops[phase], 3),
            gflops_per_s=round(flops[phase] / sec / 1e9, 1),
            fraction_of_matmul_rate=round(flops[phase] / sec / rate, 3),
            seconds_at_matmul_rate=round(flops[phase] / rate, 3))
    if "generation" in seconds:
        rows["samples_per_second_generation"] = round(cfg.num_samples / seconds["generation"], 1)
    return rows


def d_parts_row(cfg, parts, rate, bandwidth, d_gradient="dense"):
    """d_step_parts with the rates they reach: the FLOPs of one D step's forward
    and backward against the matmul rate, Adam's bytes against the streaming rate.
    `dense_gflop` is the step's FLOPs with dense gradients (the original's step)."""
    flops, adam_bytes = cfg.batch_size * train_classify_flops(cfg, d_gradient), parts["adam_mbytes"] * 1e6
    dense = cfg.batch_size * train_classify_flops(cfg)
    part_flops = dict(conv_forward=conv_flops_full(cfg),
                      conv_forward_backward=conv_flops_full(cfg) + conv_backward_flops(cfg, d_gradient),
                      highway_forward_backward=3 * highway_flops(cfg), highway_gemms=3 * highway_flops(cfg))
    rates = {name: round(cfg.batch_size * part_flops[name] / (t / 1e3) / 1e9, 1)
             for name, t in parts.get("parts_ms", {}).items()}
    return dict(parts, d_gradient=d_gradient, gflop=round(flops / 1e9, 3), dense_gflop=round(dense / 1e9, 3),
                parts_gflops_per_s=rates,
                forward_backward_fraction_of_matmul_rate=round(flops / (parts["forward_backward_ms"] / 1e3) / rate, 3),
                adam_fraction_of_memory_rate=round(adam_bytes / (parts["adam_ms"] / 1e3) / bandwidth, 3),
                floor_ms=round((flops / rate + adam_bytes / bandwidth) * 1e3, 2))


def discriminator_weights(cfg):
    """Float32 weights of the discriminator (embedding, convolutions, highway, classifier)."""
    pairs = list(zip(cfg.dis_filter_sizes, cfg.dis_num_filters))
    d = cfg.feature_dim
    return ((cfg.vocab_size + 1) * cfg.dis_emb_dim + sum(h * cfg.dis_emb_dim * n + n for h, n in pairs)
            + 2 * (d * d + d) + 2 * d + 2)


def floors(cfg, path, rate, bandwidth, d_gradient="dense"):
    """Seconds per phase if its FLOPs ran at the matmul rate and, for the phases
    with D epochs, each D step's Adam update (28 bytes per weight) at the
    streaming rate: what no implementation of that FLOP count can beat here."""
    flops = phase_flops(cfg, path, d_gradient)
    adam = 2 * cfg.num_samples // cfg.batch_size * 28 * discriminator_weights(cfg) / bandwidth  # one D epoch
    out = {phase: f / rate for phase, f in flops.items()}
    out["d_epoch"] += adam
    out["adversarial_iteration"] += cfg.adv_d_rounds * cfg.d_epochs * adam
    return {phase: round(v, 2) for phase, v in out.items()}


def peak_only(length=20, path="incremental"):
    """--peak_only: the rates of this process and the floors they give, as JSON."""
    rate, by_size = matmul_peak()
    bandwidth = memory_rate()
    cfg = config_for(length, path)
    grad = d_gradient(cfg)
    return dict(matmul_gflops=round(rate / 1e9, 1),
                matmul_gflops_by_size={n: round(r / 1e9, 1) for n, r in by_size.items()},
                memory_gbytes_per_s=round(bandwidth / 1e9, 1), process=process_settings(),
                length=length, feature_path=path, d_gradient=grad,
                gflop={phase: round(f / 1e9, 2) for phase, f in phase_flops(cfg, path, grad).items()},
                floor_seconds=floors(cfg, path, rate, bandwidth, grad))


def recompute(path):
    """Rewrites a result file's derived columns (FLOPs, rates) from its seconds."""
    report = json.loads(pathlib.Path(path).read_text())
    rate = report["matmul_gflops"] * 1e9
    for key, rows in report["results"].items():
        length, feature_path = int(key.split("_")[0][1:]), key.split("_")[1]
        seconds = {k: v["seconds"] for k, v in rows.items() if isinstance(v, dict) and "seconds" in v}
        cfg = config_for(length, feature_path, report.get("growth", False))
        parts = rows.get("d_step_parts")
        grad = report.get("d_gradient", "dense")  # files from before the sparse gradient ran dense
        report["results"][key] = rows_for(cfg, feature_path, seconds, rate, length, grad)
        for name, to_row, fields in (("mle_step_parts", mle_parts_row, ("step_ms", "xla", "weights", "parts_ms")),
                                     ("g_step_parts", g_parts_row, ("step_ms", "parts_ms"))):
            if name in rows:
                report["results"][key][name] = to_row(cfg, {k: rows[name][k] for k in fields}, rate)
        if parts and "memory_gbytes_per_s" in report:
            raw = {k: parts[k] for k in ("step_ms", "forward_backward_ms", "adam_ms", "weights", "adam_mbytes")}
            if "parts_ms" in parts:  # files from before the per-part timings have none
                raw["parts_ms"] = parts["parts_ms"]
            report["results"][key]["d_step_parts"] = d_parts_row(cfg, raw, rate, report["memory_gbytes_per_s"] * 1e9,
                                                                 grad)
    pathlib.Path(path).write_text(json.dumps(report, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recompute", help="only rewrite the derived columns of this result file")
    parser.add_argument("--lengths", default="20,40")
    parser.add_argument("--paths", default="incremental,plain")
    parser.add_argument("--quick", action="store_true", help="time 10%% of each phase and scale up")
    parser.add_argument("--compute_dtype", default="float32", help="float32 or bfloat16 (mixed precision)")
    parser.add_argument("--phases", default="", help="only these phases (comma-separated; default all)")
    parser.add_argument("--growth", action="store_true",
                        help="cost growth in T: the length-20 model at every --lengths (e.g. 20,40,80)")
    parser.add_argument("--distribute", default="none", choices=["none", "mirrored"],
                        help="mirrored: also time every phase under MirroredStrategy (rows per replica count)")
    parser.add_argument("--replicas", type=int, default=2, help="logical CPU devices for --distribute=mirrored")
    parser.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "bench_speed.json"))
    parser.add_argument("--peak_only", action="store_true",
                        help="print the matmul and streaming rates and the phase floors as JSON; time nothing")
    args = parser.parse_args()
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    global COMPUTE_DTYPE
    COMPUTE_DTYPE = args.compute_dtype
    if args.recompute:
        return recompute(args.recompute)
    if args.peak_only:
        print(json.dumps(peak_only()))
        return 0
    strategies = [("none", 1)]
    if args.distribute == "mirrored":
        if not tf.config.list_physical_devices("GPU"):  # before any op: CPU replicas as logical devices
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.replicas)
        strategies.append(("mirrored", args.replicas))
    rate, by_size = matmul_peak()
    bandwidth = memory_rate()
    report = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "tensorflow": tf.__version__,
              "cpus": os.cpu_count(), "machine": platform.machine(), "quick": args.quick,
              "matmul_gflops": round(rate / 1e9, 1),
              "matmul_gflops_by_size": {n: round(r / 1e9, 1) for n, r in by_size.items()},
              "memory_gbytes_per_s": round(bandwidth / 1e9, 1),
              "process": process_settings(), "growth": args.growth, "phases": args.phases or "all",
              "compute_dtype": args.compute_dtype, "distribute": args.distribute,
              "load_average_start": os.getloadavg()[0],
              "results": {}}
    for length in [int(v) for v in args.lengths.split(",")]:
        for distribute, replicas in strategies:
            d_seconds = None
            for path in args.paths.split(","):
                cfg, seconds, parts = bench_length(length, path, args.quick, d_seconds, args.growth,
                                                   set(args.phases.split(",")) if args.phases else None, distribute)
                d_seconds = seconds.get("d_epoch")
                grad = report["d_gradient"] = d_gradient(cfg)
                rows = rows_for(cfg, path, seconds, rate, length, grad)
                for key, step, to_row in (("mle_step_parts", "MLE", mle_parts_row), ("g_step_parts", "G", g_parts_row)):
                    if key in parts:
                        row = rows[key] = to_row(cfg, parts[key], rate)
                        print(f"T={length} {path} {step} step {row['step_ms']:.1f} ms "
                              f"({row['step_fraction_of_matmul_rate']:.0%} of matmul): "
                              + ", ".join(f"{name} {t:.1f} ms"
                                          + (f" ({row['parts_gflops_per_s'][name]:.0f} GFLOP/s)"
                                             if name in row["parts_gflops_per_s"] else "")
                                          for name, t in row["parts_ms"].items()), flush=True)
                if "d_step_parts" in parts:
                    d_parts = parts["d_step_parts"]
                    rows["d_step_parts"] = d_parts_row(cfg, d_parts, rate, bandwidth, grad)
                    print(f"T={length} D step {d_parts['step_ms']:.1f} ms: forward+backward "
                          f"{d_parts['forward_backward_ms']:.1f} ms "
                          f"({rows['d_step_parts']['forward_backward_fraction_of_matmul_rate']:.0%} of matmul), "
                          f"Adam {d_parts['adam_ms']:.1f} ms "
                          f"({rows['d_step_parts']['adam_fraction_of_memory_rate']:.0%} of the streaming rate); "
                          + ", ".join(f"{name} {t:.1f} ms ({rows['d_step_parts']['parts_gflops_per_s'][name]:.0f} "
                                      f"GFLOP/s)" for name, t in d_parts["parts_ms"].items()),
                          flush=True)
                tag = f" {replicas} replica{'s' * (replicas > 1)}" if args.distribute != "none" else ""
                for phase, row in rows.items():
                    if isinstance(row, dict) and "seconds" in row:
                        print(f"T={length} {path:11s}{tag} {phase:22s} {row['seconds']:9.2f} s "
                              f"{row['gflops_per_s']:7.1f} GFLOP/s ({row['fraction_of_matmul_rate']:.0%} of matmul, "
                              f"{row['flop_saving_vs_original']:.0%} fewer FLOPs than the original)", flush=True)
                key = f"T{length}_{path}" + (f"_{replicas}replicas" if args.distribute != "none" else "")
                report["results"][key] = rows
                report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
                report["load_average_end"] = os.getloadavg()[0]
                out = pathlib.Path(args.out)  # written after every row: a cut-short run keeps what it measured
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(report, indent=1))
    print(f"matmul {rate / 1e9:.1f} GFLOP/s; peak RSS {report['peak_rss_mb']} MB; wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
