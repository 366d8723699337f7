"""The original LeakGAN (CR-Gjx/LeakGAN, TF1) and leakgan_tf, timed side by side
on this machine in one invocation.

  python experiments/bench_original.py --original_dir ~/LeakGAN [--pairs 3] [--phases ...] [--out FILE]
  python experiments/bench_original.py --original_dir ~/LeakGAN --smoke     # a few batches per phase
  python experiments/bench_original.py --original_dir ~/LeakGAN --check     # is the port correct?

--original_dir is a checkout of the official repository; nothing of it is copied
here. Its length-20 synthetic code (`Synthetic Data/`) is imported under
TensorFlow 2 `compat.v1`, with the Python-2/TF1 changes of spec §15 made in memory
at import time (`py2_compile`: an AST transform, no file is written): TensorFlow
imported as `compat.v1` followed by `disable_v2_behavior()`; the private
`control_flow_ops.while_loop` replaced by the public v1 `while_loop`; every `/`
given Python 2's meaning (floor division when both operands are integers: Python
or numpy ints, integer tensors, TF1 `Dimension`s; true division otherwise), which
makes exactly the spec's list of integer divisions `//`; `cPickle` as `pickle`,
loading with encoding latin1; and the flags parsed right after their definitions
(`--length=20`). No algorithm or hyperparameter changes: the models are built
with the values of the original's Main module, and its own functions generate
samples, run MLE epochs, compute rewards and score NLL-oracle.

Phases (the sizes of bench_speed.py): generation of 9,984 samples at β = 1.5,
one MLE epoch (156 batches), one D epoch (312 batches), one adversarial G step
(sampling, 16 rollouts, rewards, update; each timing is the mean of
--g_steps_per_timing steps) and one adversarial iteration (a G step and
5 × (negatives, fresh oracle positives, 3 D epochs), the original's schedule
without its every-5th-iteration evaluation). Each side is a long-lived worker
process that builds its graph/functions once and warms every phase up (excluded)
before timing it; timings alternate original, ours, original, ours, ...

The original runs in several configurations (--original_configs: oneDNN on/off,
which must be set before TensorFlow is imported, so one process each, and
intra/inter-op thread counts in its session's ConfigProto). Each is screened on
--screen_fraction of every phase (the iteration's choice is the configuration
with the least screened G step + 5 × (generation + 3 × D epoch)) and the fastest
is paired with ours; the JSON names it and keeps the screening times.

Every timing records the 1-minute load average before and after and the CPU
seconds other processes used meanwhile (from /proc/stat, minus the worker's own).
The JSON (written after every timing) holds each pair's seconds and ratio
(original / ours: ours' speed-up) and the median ratio per phase.
"""
import argparse
import ast
import datetime
import hashlib
import importlib.abc
import importlib.util
import json
import numbers
import os
import pathlib
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from machine import cpu_flags, cpu_model  # noqa: E402  (experiments/machine.py)

PHASES = ("generation", "mle_epoch", "d_epoch", "adversarial_step", "adversarial_iteration")
# The modules of `Synthetic Data/` that the length-20 experiment imports.
ORIGINAL_MODULES = ("Main", "LeakGANModel", "Discriminator", "dataloader", "target_lstm", "target_lstm20")
FULL_GEN_BATCHES, FULL_D_BATCHES = 156, 312  # 9,984 samples; 2 × 9,984 D rows, batch 64
SMOKE_FRACTION = 2 / FULL_GEN_BATCHES        # two batches of generation / MLE, four of D
# Literals of the original's main(): rollouts per G step, D rounds per adversarial
# iteration and per pretraining block, D epochs per round.
ROLLOUT_NUM, D_ROUNDS, D_EPOCHS = 4, 5, 3
PHASE_DEFINITIONS = {
    "generation": "9,984 samples at β = 1.5. Original: its generate_samples (156 session runs of 64, written to "
                  "its sample file); ours: LeakGAN.generate (sample_batch rows a call).",
    "mle_epoch": "156 batches of 64 (Worker MLE + Manager pretraining). Original: its pre_train_epoch over oracle "
                 "samples; ours: LeakGAN.pretrain_step (bench_speed.phase_work).",
    "d_epoch": "312 Adam steps of D on batches of 64. Original: its D loop over its Dis_dataloader; ours: "
               "LeakGAN.discriminator_epochs, the steps in one compiled call as the Trainer runs them "
               "(bench_speed.phase_work).",
    "adversarial_step": "seconds per G step (mean of g_steps_per_timing steps): sample a batch (train=1), 4 × 4 "
                        "rollouts, D rewards, Manager and Worker update. Original: generate, its get_reward, one "
                        "session run of both updates; ours: LeakGAN.adversarial_step.",
    "adversarial_iteration": "one G step and 5 D rounds (9,984 negatives at β = 1.5, 9,984 fresh oracle positives, "
                             "3 D epochs), without the every-5th-iteration evaluation. Original: its own functions "
                             "in its main() order; ours: Trainer.adversarial_generator_step and "
                             "Trainer.discriminator_round.",
    "fractions": "with fraction < 1 (screening, --smoke) a phase runs that share of its batches and its seconds "
                 "are scaled up; the iteration scales only its D rounds. Fixed costs make such estimates rough "
                 "(ours samples at least sample_batch = 1,024 rows a call), so only fraction-1 timings compare.",
}
DEFAULT_CONFIGS = "on:0:0,off:0:0,on:1:2,off:1:2"
ONEDNN = {"on": "1", "off": "0", "default": None}  # TF_ENABLE_ONEDNN_OPTS
SMOKE_CONFIGS = "on:0:0,off:1:2"


# ============================================================================ Python 2 → 3, in memory
class TransformError(Exception):
    """The source holds a construct this transform does not handle."""


def _integral(x):
    """Is x an integer in Python 2's sense of `/` (floor division)?"""
    if isinstance(x, numbers.Integral):  # int, bool, numpy integer scalars
        return True
    if type(x).__name__ == "Dimension":  # TF1 TensorShape entries (v1 shape behaviour)
        return True
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return False
    if hasattr(dtype, "is_integer"):  # tf.DType of a tensor or variable
        return bool(dtype.is_integer)
    try:
        import numpy as np
        return bool(np.issubdtype(dtype, np.integer))
    except TypeError:
        return False


def py2_div(a, b):
    """a / b as Python 2 computes it: floor division of two integers (an int32
    tensor divided by an int is TF1's floordiv), true division otherwise."""
    if _integral(a) and _integral(b):
        return a // b
    return a / b


DIV_HELPER = "__py2_div__"


def recording_div(floor_lines):
    """py2_div for a transformed module's globals (called as __py2_div__(a, b,
    line)); adds the line of every division that came out as floor division to
    the set floor_lines."""
    def div(a, b, line):
        if _integral(a) and _integral(b):
            floor_lines.add(line)
            return a // b
        return a / b
    return div


class _Py2Transformer(ast.NodeTransformer):
    """The rewrites of spec §15, each logged as (line, what)."""

    def __init__(self, flag_argv, program):
        self.flag_argv, self.program = list(flag_argv), program
        self.changes = []
        self.tf_alias = None
        self.flow_aliases, self.pickle_aliases = set(), set()

    def log(self, node, what):
        self.changes.append((getattr(node, "lineno", 0), what))

    # -- imports
    def visit_Import(self, node):
        out = []
        for alias in node.names:
            bound = alias.asname or alias.name
            if alias.name == "tensorflow":
                self.tf_alias = bound
                new = ast.Import(names=[ast.alias(name="tensorflow.compat.v1", asname=bound)])
                call = ast.Expr(ast.Call(ast.Attribute(ast.Name(bound, ast.Load()), "disable_v2_behavior",
                                                       ast.Load()), [], []))
                out += [ast.copy_location(new, node), ast.copy_location(call, node)]
                self.log(node, f"import tensorflow.compat.v1 as {bound}; {bound}.disable_v2_behavior()")
            elif alias.name == "cPickle":
                self.pickle_aliases.add(bound)
                out.append(ast.copy_location(ast.Import(names=[ast.alias(name="pickle", asname=bound)]), node))
                self.log(node, f"import pickle as {bound}")
            else:
                out.append(ast.copy_location(ast.Import(names=[alias]), node))
        return out

    def visit_ImportFrom(self, node):
        if node.module == "tensorflow.python.ops":
            self.flow_aliases |= {a.asname or a.name for a in node.names if a.name == "control_flow_ops"}
        if node.module == "cPickle":
            raise TransformError(f"line {node.lineno}: 'from cPickle import ...' is not handled")
        return node

    # -- expressions
    def visit_Attribute(self, node):
        self.generic_visit(node)
        if (node.attr == "while_loop" and isinstance(node.value, ast.Name)
                and node.value.id in self.flow_aliases):
            if self.tf_alias is None:
                raise TransformError(f"line {node.lineno}: control_flow_ops.while_loop without a TensorFlow import")
            self.log(node, f"{node.value.id}.while_loop -> {self.tf_alias}.while_loop")
            return ast.copy_location(ast.Attribute(ast.Name(self.tf_alias, ast.Load()), "while_loop", node.ctx), node)
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr in ("load", "loads") and isinstance(func.value, ast.Name)
                and func.value.id in self.pickle_aliases and not any(k.arg == "encoding" for k in node.keywords)):
            node.keywords.append(ast.keyword("encoding", ast.Constant("latin1")))
            self.log(node, f"{func.value.id}.{func.attr}(..., encoding='latin1')")
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Div):
            self.log(node, "a / b -> Python 2 division")
            call = ast.Call(ast.Name(DIV_HELPER, ast.Load()), [node.left, node.right, ast.Constant(node.lineno)], [])
            return ast.copy_location(call, node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, ast.Div):
            return node
        if not isinstance(node.target, ast.Name):
            raise TransformError(f"line {node.lineno}: '/=' on a non-name target is not handled")
        self.log(node, f"{node.target.id} /= b -> Python 2 division")
        value = ast.Call(ast.Name(DIV_HELPER, ast.Load()),
                         [ast.Name(node.target.id, ast.Load()), node.value, ast.Constant(node.lineno)], [])
        return ast.copy_location(ast.Assign([ast.Name(node.target.id, ast.Store())], value), node)

    # -- the module: flags parsed right after their definitions
    def visit_Module(self, node):
        self.generic_visit(node)
        last = None
        for i, stmt in enumerate(node.body):
            if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                    and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr.startswith("DEFINE")):
                last = i
        if last is not None:
            receiver = node.body[last].value.func.value
            argv = ast.List([ast.Constant(v) for v in [self.program] + self.flag_argv], ast.Load())
            parse = ast.Expr(ast.Call(ast.Attribute(receiver, "FLAGS", ast.Load()), [argv], []))
            node.body.insert(last + 1, ast.copy_location(parse, node.body[last]))
            self.log(node.body[last], f"parse the flags after their definitions: {[self.program] + self.flag_argv}")
        return node


def py2_compile(source, filename, flag_argv=()):
    """Compiles Python-2-era TF1 source as spec §15 describes, in memory.

    Returns (code object, changes): changes is a list of (line, description).
    The code expects `__py2_div__(a, b, line)` (recording_div) in its globals; line
    numbers are the source's, so tracebacks point at the original lines.
    """
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as e:
        raise TransformError(f"{filename}:{e.lineno}: not Python 3 syntax ({e.msg}); only the changes of spec §15 "
                             f"are made, statements such as 'print x' are not") from None
    transformer = _Py2Transformer(flag_argv, pathlib.Path(filename).name)
    tree = ast.fix_missing_locations(transformer.visit(tree))
    return compile(tree, filename, "exec"), transformer.changes


class _Py2Loader(importlib.abc.Loader):
    def __init__(self, path, flag_argv, changes, floor_lines):
        self.path, self.flag_argv, self.changes, self.floor_lines = path, flag_argv, changes, floor_lines

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        code, changes = py2_compile(pathlib.Path(self.path).read_text(), str(self.path), self.flag_argv)
        self.changes[module.__name__] = changes
        module.__dict__[DIV_HELPER] = recording_div(self.floor_lines.setdefault(module.__name__, set()))
        exec(code, module.__dict__)


class Py2Finder(importlib.abc.MetaPathFinder):
    """Imports top-level modules found in `folder` through py2_compile (no
    bytecode cache is read or written there). `changes` collects each module's
    list of rewrites, `floor_lines` the lines whose `/` has divided integers."""

    def __init__(self, folder, flag_argv=()):
        self.folder, self.flag_argv, self.changes, self.floor_lines = pathlib.Path(folder), list(flag_argv), {}, {}

    def find_spec(self, name, path=None, target=None):
        file = self.folder / f"{name}.py"
        if path is not None or "." in name or not file.is_file():
            return None
        loader = _Py2Loader(file, self.flag_argv, self.changes, self.floor_lines)
        return importlib.util.spec_from_file_location(name, file, loader=loader)

    def install(self):
        sys.meta_path.insert(0, self)
        return self


# ============================================================================ machine load
def cpu_busy_seconds():
    """CPU seconds all processes have used since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def own_cpu_seconds():
    t = os.times()
    return t.user + t.system


# ============================================================================ the two sides
def batches_for(total, fraction):
    return max(1, min(total, round(total * fraction)))


def _timed(fn):
    cpu0, t0 = own_cpu_seconds(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, own_cpu_seconds() - cpu0


class OriginalSide:
    """The original's length-20 synthetic experiment, built as its main() builds
    it, in one TF1 session. Data files go to workdir, never to the checkout."""

    def __init__(self, original_dir, workdir, intra=0, inter=0, seed=None):
        """seed: None builds it as main() does (numpy and random seeded 88, D and G
        unseeded); an int seeds numpy, random and the TF graph before D and G are built,
        so a run repeats (the oracle's constructor still sets graph seed 66 after them)."""
        import random

        import numpy as np
        folder = pathlib.Path(original_dir) / "Synthetic Data"
        self.finder = Py2Finder(folder, ["--length=20"]).install()
        import pickle

        import Main as M  # noqa: N813  (the original's driver module: its hyperparameters and functions)
        tf = M.tf
        self.M, self.tf, self.workdir = M, tf, pathlib.Path(workdir)
        random.seed(M.SEED if seed is None else seed)
        np.random.seed(M.SEED if seed is None else seed)
        if seed is not None:
            tf.set_random_seed(seed)
        vocab_size = 5000  # main()'s local
        with open(folder / "save" / "target_params.pkl", "rb") as f:
            target_params = pickle.load(f, encoding="latin1")
        self.gen_loader = M.Gen_Data_loader(M.BATCH_SIZE, M.FLAGS.length)
        self.likelihood_loader = M.Gen_Data_loader(M.BATCH_SIZE, M.FLAGS.length)
        self.dis_loader = M.Dis_dataloader(M.BATCH_SIZE, M.SEQ_LENGTH)
        t0 = time.perf_counter()
        self.discriminator = M.Discriminator(
            M.SEQ_LENGTH, num_classes=2, vocab_size=vocab_size, dis_emb_dim=M.dis_embedding_dim,
            filter_sizes=M.dis_filter_sizes, num_filters=M.dis_num_filters, batch_size=M.BATCH_SIZE,
            hidden_dim=M.HIDDEN_DIM, start_token=M.START_TOKEN, goal_out_size=M.GOAL_OUT_SIZE, step_size=4)
        self.leakgan = M.LeakGAN(
            M.SEQ_LENGTH, num_classes=2, vocab_size=vocab_size, emb_dim=M.EMB_DIM, dis_emb_dim=M.dis_embedding_dim,
            filter_sizes=M.dis_filter_sizes, num_filters=M.dis_num_filters, batch_size=M.BATCH_SIZE,
            hidden_dim=M.HIDDEN_DIM, start_token=M.START_TOKEN, goal_out_size=M.GOAL_OUT_SIZE,
            goal_size=M.GOAL_SIZE, step_size=4, D_model=self.discriminator, learning_rate=M.LEARNING_RATE)
        self.target_lstm = M.TARGET_LSTM20(vocab_size, M.BATCH_SIZE, M.EMB_DIM, M.HIDDEN_DIM, M.SEQ_LENGTH,
                                           M.START_TOKEN, target_params)
        config = tf.ConfigProto()
        config.gpu_options.allow_growth = True
        config.gpu_options.per_process_gpu_memory_fraction = 0.5
        config.intra_op_parallelism_threads, config.inter_op_parallelism_threads = intra, inter
        self.sess = tf.Session(config=config)
        self.sess.run(tf.global_variables_initializer())
        self.build_seconds = time.perf_counter() - t0
        # The fixed MLE set (main() writes it first), a second oracle sample file standing
        # in for D's negatives in the D-epoch phase (D's cost does not depend on the tokens).
        self.mle_file = self.sample(self.target_lstm, "real_data.txt")
        self.neg_file = self.sample(self.target_lstm, "d_negatives.txt")
        self.gen_loader.create_batches(str(self.mle_file))
        self._loaders = {}
        self.info = dict(build_seconds=round(self.build_seconds, 1), ground_truth_nll=self.ground_truth(),
                         hyperparameters=dict(seq_len=M.SEQ_LENGTH, emb_dim=M.EMB_DIM, hidden_dim=M.HIDDEN_DIM,
                                              learning_rate=M.LEARNING_RATE, batch_size=M.BATCH_SIZE,
                                              goal_size=M.GOAL_SIZE, filter_sizes=list(M.dis_filter_sizes),
                                              num_filters=list(M.dis_num_filters),
                                              generated_num=M.generated_num),
                         source_changes={name: len(ch) for name, ch in self.finder.changes.items()})

    def status(self):
        """Peak memory, and the lines of each module whose `/` divided integers so far."""
        return dict(peak_rss_mb=peak_rss_mb(),
                    floor_division_lines={m: sorted(v) for m, v in self.finder.floor_lines.items() if v})

    # -- helpers built from the original's own functions
    def sample(self, model, name, rows=None, train=0):
        """The original's generate_samples (β = 1.5 for G with train=0) into workdir/name."""
        path = self.workdir / name
        self.M.generate_samples(self.sess, model, self.M.BATCH_SIZE, rows or self.M.generated_num, str(path), train)
        return path

    def head(self, path, rows):
        """workdir copy of the first rows lines of path (a fraction of a phase's data)."""
        out = self.workdir / f"{path.stem}_{rows}.txt"
        if not out.exists():
            out.write_text("".join(path.read_text().splitlines(keepends=True)[:rows]))
        return out

    def nll_oracle(self, path):
        self.likelihood_loader.create_batches(str(path))
        return float(self.M.target_loss(self.sess, self.target_lstm, self.likelihood_loader))

    def ground_truth(self):
        return self.nll_oracle(self.sample(self.target_lstm, "eval_file.txt"))

    def d_epochs(self, loader, epochs):
        """epochs passes of D over loader, one Adam step a batch (main()'s D loop)."""
        d = self.discriminator
        for _ in range(epochs):
            loader.reset_pointer()
            for _ in range(loader.num_batch):
                x, y = loader.next_batch()
                self.sess.run([d.D_loss, d.D_train_op], {d.D_input_x: x, d.D_input_y: y, d.dropout_keep_prob:
                                                          self.M.dis_dropout_keep_prob})

    def d_round(self, rows):
        """Fresh negatives (β = 1.5) and oracle positives, 3 D epochs (main()'s D round)."""
        neg = self.sample(self.leakgan, "generator_sample.txt", rows)
        pos = self.sample(self.target_lstm, "positives.txt", rows)
        self.dis_loader.load_train_data(str(pos), str(neg))
        self.d_epochs(self.dis_loader, D_EPOCHS)
        self.leakgan.update_feature_function(self.discriminator)

    def g_step(self):
        """main()'s adversarial G step: sample (train=1), rewards from rollouts, update."""
        g = self.leakgan
        samples = g.generate(self.sess, 1.0, 1)
        rewards = self.M.get_reward(g, self.discriminator, self.sess, samples, ROLLOUT_NUM,
                                    self.M.dis_dropout_keep_prob)
        self.sess.run([g.manager_updates, g.worker_updates, g.goal_loss, g.worker_loss],
                      {g.x: samples, g.reward: rewards, g.drop_out: 1.0})

    def mle_loader(self, batches):
        if batches not in self._loaders:
            loader = self.M.Gen_Data_loader(self.M.BATCH_SIZE, self.M.FLAGS.length)
            loader.create_batches(str(self.head(self.mle_file, batches * self.M.BATCH_SIZE)))
            self._loaders[batches] = loader
        return self._loaders[batches]

    def d_loader(self, batches):
        key = ("d", batches)
        if key not in self._loaders:
            rows = batches * self.M.BATCH_SIZE // 2
            loader = self.M.Dis_dataloader(self.M.BATCH_SIZE, self.M.SEQ_LENGTH)
            loader.load_train_data(str(self.head(self.mle_file, rows)), str(self.head(self.neg_file, rows)))
            self._loaders[key] = loader
        return self._loaders[key]

    # -- the phases: (run, scale) as in bench_speed.phase_work
    def work(self, phase, fraction):
        M = self.M
        n_gen = batches_for(FULL_GEN_BATCHES, fraction)
        if phase == "generation":
            return lambda: self.sample(self.leakgan, "eval_file.txt", n_gen * M.BATCH_SIZE), FULL_GEN_BATCHES / n_gen
        if phase == "mle_epoch":
            loader = self.mle_loader(n_gen)
            return lambda: M.pre_train_epoch(self.sess, self.leakgan, loader), FULL_GEN_BATCHES / n_gen
        if phase == "d_epoch":
            n_d = batches_for(FULL_D_BATCHES, fraction)
            loader = self.d_loader(n_d)
            return lambda: self.d_epochs(loader, 1), FULL_D_BATCHES / n_d
        if phase == "adversarial_step":
            return self.g_step, 1.0
        if phase == "adversarial_iteration":
            return lambda: self.iteration(n_gen * M.BATCH_SIZE), None
        raise ValueError(phase)

    def iteration(self, rows):
        """G step + 5 D rounds; returns the D rounds' share of the seconds."""
        self.g_step()
        t0 = time.perf_counter()
        for _ in range(D_ROUNDS):
            self.d_round(rows)
        return time.perf_counter() - t0

    def pretraining(self, blocks, rows=None, mle_batches=None):
        """main()'s pretraining for blocks blocks: 5 D rounds, then PRE_EPOCH_NUM / 10 = 8 MLE
        epochs over the fixed MLE set, NLL-oracle of 9,984 samples at β = 1.5 after epochs 0
        and 5 (then, as main() does, the ground truth of fresh oracle samples).
        {step: NLL-oracle}, step = block · 8 + epoch as the logs' points ("k.e").
        rows / mle_batches shrink the D rounds, the scores and the MLE set (smoke runs)."""
        M = self.M
        loader = self.gen_loader if mle_batches is None else self.mle_loader(mle_batches)
        epochs, points = M.PRE_EPOCH_NUM // 10, {}
        for block in range(blocks):
            for _ in range(D_ROUNDS):
                self.d_round(rows)
            for epoch in range(epochs):
                M.pre_train_epoch(self.sess, self.leakgan, loader)
                if epoch % 5 == 0:
                    points[block * epochs + epoch] = self.nll_oracle(self.sample(self.leakgan, "eval_file.txt", rows))
                    self.nll_oracle(self.sample(self.target_lstm, "eval_file.txt", rows))
        return points

    def check(self, d_rounds):
        """Main's first pretraining block up to its first evaluation: d_rounds D rounds,
        one MLE epoch, NLL-oracle of 9,984 samples at β = 1.5; then the ground truth."""
        for _ in range(d_rounds):
            self.d_round(None)
        mle_loss = float(self.M.pre_train_epoch(self.sess, self.leakgan, self.gen_loader))
        nll = self.nll_oracle(self.sample(self.leakgan, "eval_file.txt"))
        return dict(d_rounds=d_rounds, mle_loss=mle_loss, nll_oracle_after_first_mle_epoch=nll,
                    ground_truth_nll=self.ground_truth())


class OursSide:
    """leakgan_tf through its public API: bench_speed.phase_work for the single
    phases and a Trainer (its G step and D rounds) for the adversarial iteration."""

    def __init__(self, original_dir, workdir, feature_path="incremental"):
        sys.path.insert(0, str(HERE))
        import bench_speed

        from leakgan_tf.sources import OracleSource
        from leakgan_tf.train import Trainer
        from synthetic_oracle import convert_pickle
        from synthetic_oracle.model import OracleLSTM
        self.workdir = pathlib.Path(workdir)
        shared = pathlib.Path(os.environ.get("LEAKGAN_SHARED_DATA", REPO.parent / "shared" / "data"))
        npz = shared / "oracle_target_params.npz"
        if not npz.is_file():  # the same oracle, converted from the checkout's pickle without running it
            npz = self.workdir / "oracle_target_params.npz"
            convert_pickle(pathlib.Path(original_dir) / "Synthetic Data" / "save" / "target_params.pkl", npz)
        t0 = time.perf_counter()
        self.cfg = bench_speed.config_for(20, feature_path)
        self.oracle = OracleLSTM.from_npz(npz)
        run = self.workdir / "run"
        self.trainer = Trainer(self.cfg, run, OracleSource(self.oracle, self.cfg, run), fresh=True, out=sys.stderr)
        self.gan = self.trainer.gan
        self.phase_work = bench_speed.phase_work
        self._work = {}
        self._iteration = 0
        self.info = dict(build_seconds=round(time.perf_counter() - t0, 1), oracle=str(npz),
                         feature_path=feature_path, xla_phases=list(self.cfg.xla_phases),
                         compute_dtype=self.cfg.compute_dtype,
                         ground_truth_nll=self.oracle.ground_truth_nll(self.cfg.num_samples, 20, seed=1))

    def status(self):
        return dict(peak_rss_mb=peak_rss_mb())

    def work(self, phase, fraction):
        if phase == "adversarial_iteration":
            rows = batches_for(FULL_GEN_BATCHES, fraction) * self.cfg.batch_size
            return lambda: self.iteration(rows), None
        if fraction not in self._work:
            self._work[fraction] = self.phase_work(self.cfg, self.gan, self.oracle, fraction)
        return self._work[fraction][phase]

    def iteration(self, rows):
        """The Trainer's G step and adv_d_rounds D rounds of rows negatives and positives."""
        import dataclasses
        trainer, it = self.trainer, self._iteration
        self._iteration += 1
        if it == 0:  # the warm-up: also trace the sampler for the last chunk of a full round (9,984 = 9·1,024 + 768)
            self.gan.generate(self.cfg.num_samples, self.cfg.eval_beta)
        trainer.adversarial_generator_step(it)
        t0 = time.perf_counter()
        full = trainer.cfg
        trainer.cfg = dataclasses.replace(full, generated_num=rows)  # num_samples = rows
        try:
            for r in range(full.adv_d_rounds):
                trainer.discriminator_round(it * full.adv_d_rounds + r, "adversarial")
        finally:
            trainer.cfg = full
        return time.perf_counter() - t0


class Worker:
    """One side in a worker process: warm-up and timed runs on request."""

    def __init__(self, side):
        self.side, self.warm = side, set()

    def run(self, phase, fraction, repeats=1, warmup=False):
        """Runs a phase (fraction of it, repeats times); returns the estimate of the
        whole phase in seconds (per G step for adversarial_step), as measured when
        fraction is 1."""
        run, scale = self.side.work(phase, fraction)
        if warmup:
            seconds, _ = _timed(run)
            self.warm.add(phase)
            return dict(warmup_seconds=round(seconds, 3))
        if phase not in self.warm:
            raise RuntimeError(f"phase {phase} timed before its warm-up")
        seconds, cpu, estimate = 0.0, 0.0, 0.0
        for _ in range(repeats):
            out = {}
            s, c = _timed(lambda out=out: out.update(value=run()))
            seconds, cpu = seconds + s, cpu + c
            if scale is None:  # the iteration: its G step as measured, its D rounds scaled to 9,984 rows
                rounds = out["value"]
                estimate += s - rounds + rounds * FULL_GEN_BATCHES / batches_for(FULL_GEN_BATCHES, fraction)
            else:
                estimate += s * scale
        return dict(seconds=estimate / repeats, measured_seconds=seconds / repeats, repeats=repeats,
                    fraction=fraction, cpu_seconds=cpu, **self.side.status())


def serve(args):
    """Worker process: builds one side, then answers JSON requests on stdin, one
    JSON line each on the original stdout; everything else printed goes to stderr."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def reply(**message):
        proto.write(json.dumps(message) + "\n")

    workdir = tempfile.mkdtemp(prefix=f"bench_original_{args.worker}_")
    try:
        try:
            if args.worker == "original":
                side = OriginalSide(args.original_dir, workdir, args.intra, args.inter)
            else:
                side = OursSide(args.original_dir, workdir)
        except Exception:
            reply(ok=False, error=traceback.format_exc())
            return 1
        worker = Worker(side)
        import tensorflow as tf
        from tensorflow.python.util import _pywrap_util_port
        reply(ok=True, info=dict(side.info, tensorflow=tf.__version__, pid=os.getpid(),
                                 onednn_env=os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                                 onednn_enabled=bool(_pywrap_util_port.IsMklEnabled())))
        for line in sys.stdin:
            request = json.loads(line)
            if request["cmd"] == "quit":
                break
            try:
                if request["cmd"] == "run":
                    result = worker.run(request["phase"], request["fraction"], request.get("repeats", 1),
                                        request.get("warmup", False))
                elif request["cmd"] == "check":
                    result = side.check(request["d_rounds"])
                else:
                    raise ValueError(f"unknown command {request['cmd']!r}")
                reply(ok=True, **result)
            except Exception:
                reply(ok=False, error=traceback.format_exc())
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ============================================================================ driver
class WorkerError(RuntimeError):
    pass


class WorkerProcess:
    """A worker subprocess and its log file."""

    def __init__(self, label, argv, env, log_path):
        self.label, self.log_path = label, log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     text=True, env=env, cwd=REPO)
        self.info = self._receive()

    def _receive(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise WorkerError(f"worker {self.label} exited ({self.proc.returncode}); log {self.log_path}:\n"
                              + self.tail())
        message = json.loads(line)
        if not message.pop("ok"):
            raise WorkerError(f"worker {self.label}: {message['error']}\nlog {self.log_path}:\n{self.tail()}")
        return message

    def tail(self, lines=30):
        self.log.flush()
        return "".join(pathlib.Path(self.log_path).read_text().splitlines(keepends=True)[-lines:])

    def request(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._receive()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()  # our own child
                self.proc.wait()
        self.log.close()


def parse_configs(text):
    """'on:0:0,off:1:2' -> [dict(onednn='on', intra=0, inter=0), ...]: oneDNN on, off
    or default (TF_ENABLE_ONEDNN_OPTS unset: TensorFlow decides by CPU), session
    intra/inter-op threads (0 = TF's default)."""
    configs = []
    for item in text.split(","):
        parts = item.strip().split(":")
        if len(parts) != 3 or parts[0] not in ONEDNN or not all(p.isdigit() for p in parts[1:]):
            raise SystemExit(f"error: --original_configs item {item!r} must be on|off|default:INTRA:INTER "
                             f"(thread count 0 = TF's default)")
        configs.append(dict(onednn=parts[0], intra=int(parts[1]), inter=int(parts[2])))
    return configs


def config_label(c):
    threads = lambda n: str(n) if n else "default"  # noqa: E731
    return f"oneDNN {c['onednn']}, intra {threads(c['intra'])}, inter {threads(c['inter'])}"


def check_original_dir(path):
    folder = pathlib.Path(path).expanduser() / "Synthetic Data"
    missing = [name for name in [f"{m}.py" for m in ORIGINAL_MODULES] + ["save/target_params.pkl"]
               if not (folder / name).is_file()]
    if missing:
        raise SystemExit(f"error: --original_dir={path} is not a checkout of CR-Gjx/LeakGAN: {folder} lacks "
                         f"{', '.join(missing)}; clone https://github.com/CR-Gjx/LeakGAN and pass its folder")
    return pathlib.Path(path).expanduser().resolve()


def original_identity(root):
    """The checkout's commit (if it is a git work tree) and the sha256 of the files run."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=30).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        commit = None
    folder = root / "Synthetic Data"
    files = {f"{m}.py": hashlib.sha256((folder / f"{m}.py").read_bytes()).hexdigest()[:16] for m in ORIGINAL_MODULES}
    return dict(commit=commit, sha256_16=files)


def child_env(**extra):
    """The environment of a child process: this repository first on PYTHONPATH,
    TensorFlow's INFO lines off, plus `extra`."""
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **extra, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))


def ours_env(env):
    """The environment of our worker: oneDNN as leakgan_tf's CLIs set it."""
    from leakgan_tf.startup import prefer_onednn
    env = dict(env)
    prefer_onednn(env)
    return env


def measure_rates():
    """{oneDNN on|off: bench_speed.py --peak_only}: the dense matmul peak, the
    streaming rate and the length-20 phases' floor seconds (our FLOPs at that
    peak, D's Adam bytes at that streaming rate), each in a fresh process."""
    rates = {}
    for label, value in (("oneDNN on", "1"), ("oneDNN off", "0")):
        env = child_env(TF_ENABLE_ONEDNN_OPTS=value)
        out = subprocess.run([sys.executable, str(HERE / "bench_speed.py"), "--peak_only"], capture_output=True,
                             text=True, env=env, cwd=REPO, timeout=900)
        if out.returncode != 0:
            raise WorkerError(f"bench_speed.py --peak_only ({label}) failed:\n{out.stderr[-3000:]}")
        rates[label] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {label}: matmul {rates[label]['matmul_gflops']} GFLOP/s, streaming "
              f"{rates[label]['memory_gbytes_per_s']} GB/s", flush=True)
    return rates


def floor_seconds(rates, phase):
    """The least floor of a phase over the measured configurations."""
    return min(r["floor_seconds"][phase] for r in rates.values())


class Bench:
    def __init__(self, args):
        self.args = args
        self.out = pathlib.Path(args.out)
        self.logs = pathlib.Path(tempfile.mkdtemp(prefix="bench_original_logs_"))
        self.workers = {}
        flags = cpu_flags()
        self.report = dict(
            date=datetime.datetime.now().isoformat(timespec="seconds"), command=sys.argv,
            machine=dict(cpus=os.cpu_count(), cpu=cpu_model(), arch=platform.machine(),
                         avx2="avx2" in flags, avx512f="avx512f" in flags, avx512_bf16="avx512_bf16" in flags,
                         amx="amx_tile" in flags, loadavg_at_start=os.getloadavg()),
            original=dict(dir=str(args.original_dir), **original_identity(args.original_dir)),
            settings=dict(pairs=args.pairs, phases=args.phases, smoke=args.smoke, fraction=args.fraction,
                          screen_fraction=args.screen_fraction, g_steps_per_timing=args.g_steps_per_timing,
                          original_configs=[config_label(c) for c in args.configs]),
            ratio="original seconds / ours seconds (> 1: ours is faster)",
            definitions=PHASE_DEFINITIONS,
            floors="ours_floor_seconds: our FLOPs at the best dense matmul peak measured in this run (and each D "
                   "step's Adam update at the streaming rate); ratio_at_floor: the original's median over it, the "
                   "most an implementation of our FLOP count could reach here",
            workers={}, screening={}, phases={})

    def write(self):
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.out.with_name(self.out.name + ".tmp")
        tmp.write_text(json.dumps(self.report, indent=1))
        os.replace(tmp, self.out)

    def start(self, key, argv, env):
        print(f"starting {key} ...", flush=True)
        t0 = time.perf_counter()
        log = self.logs / f"{key.replace(' ', '_').replace(',', '')}.log"
        worker = WorkerProcess(key, argv, env, log)
        self.workers[key] = worker
        self.report["workers"][key] = dict(worker.info["info"], start_seconds=round(time.perf_counter() - t0, 1),
                                           log=str(log))
        print(f"  {key}: ready in {time.perf_counter() - t0:.0f} s; ground-truth NLL "
              f"{worker.info['info']['ground_truth_nll']:.3f}", flush=True)
        self.write()
        return worker

    def start_all(self, ours=True, configs=None):
        """Starts the original's workers (one per configuration) and ours, one after another."""
        base = [sys.executable, str(pathlib.Path(__file__).resolve()), "--original_dir", str(self.args.original_dir)]
        env = child_env()
        for c in configs or self.args.configs:
            c_env = {k: v for k, v in env.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
            if ONEDNN[c["onednn"]] is not None:
                c_env["TF_ENABLE_ONEDNN_OPTS"] = ONEDNN[c["onednn"]]
            self.start(config_label(c), base + ["--worker", "original", "--intra", str(c["intra"]),
                                                "--inter", str(c["inter"])], c_env)
        if ours:
            self.start("ours", base + ["--worker", "ours"], ours_env(env))

    def timing(self, key, phase, fraction, repeats):
        """One timed run with the machine's load around it."""
        worker = self.workers[key]
        load0, busy0, t0 = os.getloadavg(), cpu_busy_seconds(), time.perf_counter()
        result = worker.request(cmd="run", phase=phase, fraction=fraction, repeats=repeats)
        wall, load1, busy1 = time.perf_counter() - t0, os.getloadavg(), cpu_busy_seconds()
        other = None if busy0 is None or busy1 is None else busy1 - busy0 - result["cpu_seconds"]
        record = dict(seconds=round(result["seconds"], 3), measured_seconds=round(result["measured_seconds"], 3),
                      cpu_seconds=round(result["cpu_seconds"], 2),
                      other_processes_cpu_seconds=None if other is None else round(max(other, 0.0), 2),
                      other_processes_cores=None if other is None else round(max(other, 0.0) / wall, 2),
                      loadavg_before=[round(v, 2) for v in load0], loadavg_after=[round(v, 2) for v in load1],
                      peak_rss_mb=result["peak_rss_mb"])
        if "floor_division_lines" in result:
            self.report["workers"][key]["floor_division_lines"] = result["floor_division_lines"]
        print(f"  {phase:22s} {key:40s} {record['seconds']:9.2f} s   load {load0[0]:.2f} -> {load1[0]:.2f}, "
              f"others {record['other_processes_cores']} cores", flush=True)
        return record

    def warm(self, key, phase):
        if phase not in self.warmed.setdefault(key, set()):
            result = self.workers[key].request(cmd="run", phase=phase, fraction=SMOKE_FRACTION, warmup=True)
            self.warmed[key].add(phase)
            self.report["workers"][key].setdefault("warmup_seconds", {})[phase] = result["warmup_seconds"]

    def repeats(self, phase):
        return self.args.g_steps_per_timing if phase == "adversarial_step" else 1

    def screen(self, phases):
        """Times every original configuration on screen_fraction of each phase
        (alternating configurations) and returns {phase: the fastest's key}."""
        keys = [config_label(c) for c in self.args.configs]
        if len(keys) == 1:
            return {phase: keys[0] for phase in phases}
        needed = [p for p in PHASES if p in phases and p != "adversarial_iteration"]
        if "adversarial_iteration" in phases:
            needed = [p for p in PHASES if p in needed or p in ("generation", "d_epoch", "adversarial_step")]
        print(f"screening {len(keys)} configurations of the original on {self.args.screen_fraction:.0%} of "
              f"{', '.join(needed)}", flush=True)
        best = {}
        for phase in needed:
            for key in keys:
                self.warm(key, phase)
            times = {key: [] for key in keys}
            for _ in range(self.args.screen_repeats):
                for key in keys:
                    times[key].append(self.timing(key, phase, self.args.screen_fraction, 1)["seconds"])
            best[phase] = min(keys, key=lambda k: min(times[k]))
            self.report["screening"][phase] = dict(seconds={k: v for k, v in times.items()}, fastest=best[phase],
                                                   by="least of the screening times (scaled to the full phase)")
            self.write()
        if "adversarial_iteration" in phases:
            least = lambda phase, k: min(self.report["screening"][phase]["seconds"][k])  # noqa: E731
            est = {k: least("adversarial_step", k)
                   + D_ROUNDS * (least("generation", k) + D_EPOCHS * least("d_epoch", k)) for k in keys}
            best["adversarial_iteration"] = min(keys, key=est.get)
            self.report["screening"]["adversarial_iteration"] = dict(
                estimated_seconds={k: round(v, 2) for k, v in est.items()}, fastest=best["adversarial_iteration"],
                by="least screened G step + 5 × (generation + 3 × D epoch)")
        return {phase: best[phase] for phase in phases}

    def run(self):
        args = self.args
        self.warmed = {}
        try:
            print("rates of this machine (matmul peak, streaming) ...", flush=True)
            self.report["rates"] = measure_rates()
            self.write()
            self.start_all()
            chosen = self.screen(args.phases)
            for key in [config_label(c) for c in args.configs]:
                if key not in chosen.values():
                    self.workers.pop(key).close()
            for phase in args.phases:
                key = chosen[phase]
                self.warm(key, phase)
                self.warm("ours", phase)
                entry = self.report["phases"][phase] = dict(original_config=key, pairs=[])
                print(f"{phase}: {args.pairs} pairs, original as {key}", flush=True)
                for _ in range(args.pairs):
                    a = self.timing(key, phase, args.fraction, self.repeats(phase))
                    b = self.timing("ours", phase, args.fraction, self.repeats(phase))
                    entry["pairs"].append(dict(original=a, ours=b, ratio=round(a["seconds"] / b["seconds"], 3)))
                    ratios = [p["ratio"] for p in entry["pairs"]]
                    entry.update(median_ratio=round(statistics.median(ratios), 3),
                                 median_original_seconds=round(statistics.median(
                                     p["original"]["seconds"] for p in entry["pairs"]), 3),
                                 median_ours_seconds=round(statistics.median(
                                     p["ours"]["seconds"] for p in entry["pairs"]), 3))
                    floor = floor_seconds(self.report["rates"], phase)  # per G step for adversarial_step
                    entry.update(ours_floor_seconds=floor,
                                 ratio_at_floor=round(entry["median_original_seconds"] / floor, 3))
                    self.write()
                print(f"{phase}: median ratio {entry['median_ratio']:.2f} (original "
                      f"{entry['median_original_seconds']:.1f} s, ours {entry['median_ours_seconds']:.1f} s)",
                      flush=True)
        finally:
            for worker in self.workers.values():
                worker.close()
            self.report["machine"]["loadavg_at_end"] = os.getloadavg()
            self.write()
        print(f"wrote {self.out}; worker logs in {self.logs}")

    def check(self):
        """Runs the port's correctness check in a fresh worker of the first configuration."""
        c = self.args.configs[0]
        key = config_label(c)
        try:
            self.start_all(ours=False, configs=[c])
            result = self.workers[key].request(cmd="check", d_rounds=self.args.check_d_rounds)
        finally:
            for worker in self.workers.values():
                worker.close()
        result["ground_truth_nll_at_start"] = self.report["workers"][key]["ground_truth_nll"]
        print(f"ground-truth NLL of oracle samples: {result['ground_truth_nll_at_start']:.3f} and "
              f"{result['ground_truth_nll']:.3f} (spec: about 5.75)")
        print(f"NLL-oracle after {result['d_rounds']} D rounds and the first MLE epoch: "
              f"{result['nll_oracle_after_first_mle_epoch']:.3f} (spec: about 9.69, the README log's 9.694 after 5 "
              f"D rounds); MLE loss of that epoch {result['mle_loss']:.3f}")
        print(json.dumps(result))
        return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--original_dir", required=True, help="a checkout of CR-Gjx/LeakGAN (not modified)")
    parser.add_argument("--pairs", type=int, default=3, help="original/ours timing pairs per phase (≥ 3 to report)")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--out", default=None, help="JSON result (default experiments/results/bench_original.json; "
                                                     "with --smoke, bench_original_smoke.json in the temp folder)")
    parser.add_argument("--smoke", action="store_true", help="a few batches per phase, two original configurations: "
                                                             "exercises the machinery, measures nothing")
    parser.add_argument("--original_configs", default=None,
                        help=f"original configurations to screen, on|off:INTRA:INTER (oneDNN, session threads, "
                             f"0 = TF's default); default {DEFAULT_CONFIGS} ({SMOKE_CONFIGS} with --smoke)")
    parser.add_argument("--screen_fraction", type=float, default=None, help="fraction of each phase the screening "
                                                                            "times (default 0.1)")
    parser.add_argument("--screen_repeats", type=int, default=2)
    parser.add_argument("--g_steps_per_timing", type=int, default=None, help="G steps averaged per timing "
                                                                             "(default 3, 1 with --smoke)")
    parser.add_argument("--check", action="store_true", help="only check the port: ground-truth NLL (≈ 5.75) and "
                                                             "NLL-oracle after the first MLE epoch (≈ 9.69)")
    parser.add_argument("--check_d_rounds", type=int, default=5,
                        help="D rounds before that MLE epoch (5 = the original's first block)")
    # worker processes (internal)
    parser.add_argument("--worker", choices=("original", "ours"), help=argparse.SUPPRESS)
    parser.add_argument("--intra", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--inter", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    args.original_dir = check_original_dir(args.original_dir)
    if args.worker:
        return serve(args)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown or not args.phases:
        parser.error(f"--phases: unknown {sorted(unknown)}; choose from {','.join(PHASES)}")
    if args.pairs < 1:
        parser.error("--pairs must be at least 1")
    args.configs = parse_configs(args.original_configs or (SMOKE_CONFIGS if args.smoke else DEFAULT_CONFIGS))
    args.fraction = SMOKE_FRACTION if args.smoke else 1.0
    if args.screen_fraction is None:
        args.screen_fraction = SMOKE_FRACTION if args.smoke else 0.1
    if args.g_steps_per_timing is None:
        args.g_steps_per_timing = 1 if args.smoke else 3
    if args.out is None:
        args.out = (pathlib.Path(tempfile.gettempdir()) / "bench_original_smoke.json" if args.smoke
                    else HERE / "results" / "bench_original.json")
    bench = Bench(args)
    try:
        bench.check() if args.check else bench.run()
    except WorkerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
