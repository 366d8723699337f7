"""absl flags mirroring `Config`, plus the run flags, and their conversion.

Every Config field is a flag of the same name; `--preset` supplies the model
sizes of another experiment, `--variant` the code/paper switches (spec §13),
and any flag set on the command line or in a flagfile wins over both.
"""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

from absl import flags

from leakgan_tf import switches
from leakgan_tf.config import PRESETS, Config, make_config, variant_values

FLAGS = flags.FLAGS
_HELP = {
    "model": "leakgan (LeakGAN, the default) or seqgan (SeqGAN, Yu et al. 2017, as LantaoYu/SeqGAN: one LSTM, "
             "rewards D's P(real) of rollouts; its settings: experiments/seqgan_len20.cfg); both share the "
             "discriminator, data, schedule, checkpoints and CLIs. LeakGAN-only fields (goal_size, step_size, "
             "the --variant switches, ...) are not used by seqgan",
    "rollout_network": "seqgan: the rollout policy. generator (default: the official code in effect, whose "
                       "rollout graph reads the generator's variables, and the paper's beta <- theta) or delayed "
                       "(that code as written: a copy whose embeddings are copied and other weights moved to "
                       "rate*copy + (1-rate)*generator after each G step)",
    "rollout_update_rate": "seqgan, --rollout_network=delayed: the copy's share kept at each update (0.8 in the "
                           "official code)",
    "gen_emb_dim": "generator token embedding width E (Worker input)",
    "gen_hidden_dim": "hidden units H of the Manager and Worker LSTMs",
    "goal_size": "goal embedding width k (W_psi maps the D_f-wide goal to k)",
    "start_token": "token id fed to the Worker before the first token",
    "dis_emb_dim": "discriminator token embedding width",
    "dis_filter_sizes": "convolution widths (tokens) of the discriminator; zipped with --dis_num_filters",
    "dis_num_filters": "filters per width; their sum is the leaked feature width D_f",
    "gen_learning_rate": "Adam learning rate of the generator (MLE and adversarial steps)",
    "dis_learning_rate": "Adam learning rate of the discriminator",
    "grad_clip": "global-norm clip of each generator gradient",
    "pretrain_blocks": "pretraining blocks (each: D rounds, then MLE epochs)",
    "pretrain_d_rounds": "discriminator rounds per pretraining block (fresh negatives and positives each)",
    "d_epochs": "discriminator epochs over one round's negatives and positives",
    "pretrain_g_epochs": "MLE epochs of the generator per pretraining block",
    "adversarial_iterations": "adversarial iterations (each: one G step, then --adv_d_rounds D rounds)",
    "rollout_num": "Monte Carlo rollouts per prefix in the adversarial G step",
    "adv_d_rounds": "discriminator rounds per adversarial iteration",
    "eval_every": "adversarial iterations between evaluations (the last one is always evaluated)",
    "mle_epoch_fraction": "fraction of the MLE set one MLE epoch covers (COCO: 0.05, the original's 1/20)",
    "oracle_emb_dim": "embedding width of the seeded random oracle",
    "oracle_hidden_dim": "hidden units of the seeded random oracle",
    "test_fraction": "fraction of --train_file held out as the test split when --test_file is empty",
    "seed": "seed of the run: initial weights and the random stream of every sample and shuffle",
    "seq_len": "sequence length T", "step_size": "goal horizon c (must divide seq_len)",
    "vocab_size": "vocabulary size V", "batch_size": "batch size B (G0 has B rows)",
    "oracle_params": "oracle .npz (e.g. $LEAKGAN_SHARED_DATA/oracle_target_params.npz); empty = seeded random oracle",
    "oracle_seed": "seed of the random oracle used when --oracle_params is empty",
    "pretrain_eval_epochs": "MLE epochs (0-based, within a block) after which NLL-oracle is evaluated",
    "adv_beta": "inverse temperature of adversarial samples after the first adv_beta_early_steps tokens (tem)",
    "eval_beta": "inverse temperature of evaluation samples and D negatives (1.5 in the original)",
    "generated_num": "samples per evaluation / D round (rounded down to whole batches)",
    "interleave_mle_every": "adversarial iterations between interleaved MLE epochs (0 = none)",
    "sample_batch": "rows per compiled sampling call (a multiple of batch_size)",
    "dataset": "oracle (synthetic), text (--train_file/--test_file) or tfds (--tfds_name)",
    "train_file": "training text, one sentence a line (UTF-8); $LEAKGAN_SHARED_DATA is expanded",
    "test_file": "test text; empty = split --train_file by --test_fraction",
    "tfds_name": "a TFDS dataset with a 'text' feature, e.g. local_text/coco (built offline from manual_dir)",
    "tokenizer": "nltk (Treebank rules, no downloads), wordpunct or whitespace (pre-tokenised text)",
    "min_count": "drop words seen fewer times in the training split",
    "max_vocab": "largest vocabulary incl. <pad> <eos> <unk> (0 = no limit)",
    "too_long": "sentences longer than seq_len (with <eos>): drop or truncate",
    "oov": "test words outside the vocabulary: unk (map to <unk>) or drop the sentence",
    "extended_eval": "oracle runs: also NLL-oracle at β = 1, NLL-test on held-out oracle samples, distinct-4",
    "distribute": "D and MLE phases under tf.distribute: none, mirrored (local devices) or multiworker (TF_CONFIG)",
    "skip_nonfinite": "skip a batch whose loss or gradient is NaN/Inf (default: stop with the last good checkpoint)",
    "xla_phases": "compiled steps run with XLA (jit_compile): any of discriminator, pretrain, sampling, adversarial, "
                  "or auto (default): every phase on a GPU, pretrain on a CPU (the only one XLA made faster on a "
                  "2-core CPU, experiments/bench_xla.py); empty: none",
    "feature_path": "leaked features of prefixes: 'incremental' (exact, O(T) conv work) or 'plain' (the original's)",
    "variant": "code (the repository, default), paper (the paper's method, spec §13) or no_temperature (the "
               "repository's No Temperature copy, spec §12.B); sets adversarial_loss, reward_rescale, "
               "goal_schedule, goal_normalize, dis_*, betas and learning rate as config.VARIANTS says; "
               "explicit flags win",
    "adversarial_loss": "collapsed (code: −mean(R)·mean cos and mean cos × MLE) or per_step (paper Eq. 7–9: "
                        "−R[b,k]·cos per segment, −r^I_t·log p per token with the intrinsic reward)",
    "reward_rescale": "ladder (code: σ(16·idx/B − 8), idx in first-appearance order) or rank (paper Eq. 11: "
                      "σ(δ·(0.5 − rank/B)), rank 1 = highest, ties share their average rank)",
    "rescale_delta": "δ of the reward rescale; 0 = the rescale's own (16 for ladder, 12 for rank)",
    "goal_schedule": "block (code: goal constant over blocks of step_size tokens, G0 first) or sliding "
                     "(paper Eq. 4: sum of the last step_size sub-goals, the same in sampling, training, rollouts)",
    "goal_normalize": "goal embedding w = l2n(G·W_psi) (code) or, with --nogoal_normalize, w = G·W_psi (paper)",
    "dis_positives": "D positives per round: fresh (code: new oracle samples / a new random sample of the "
                     "training text) or fixed (paper: the fixed training set)",
    "dis_dropout_keep_prob": "D dropout keep probability during D training (code 1.0, paper 0.75)",
    "dis_l2_lambda": "L2 weight on D's classifier (code 0 in effect, paper 0.2)",
    "adv_beta_early": "inverse temperature of adversarial samples for the first adv_beta_early_steps tokens",
    "adv_beta_early_steps": "tokens sampled at adv_beta_early in the adversarial batch (code 2, paper 0)",
    "rollout_beta": "inverse temperature of the Monte Carlo rollouts",
    "compute_dtype": "float32, or bfloat16 for mixed precision (D convolutions, highway and the Worker's output "
                     "projection in bfloat16; weights, LSTMs, softmax and losses float32). Meant for GPUs/TPUs with "
                     "bfloat16 units; slower on this project's CPU (docs/performance.md)",
    "deterministic": "TensorFlow's op determinism on and TF32 off: the same flags and seed give bit-identical "
                     "runs on a GPU too (slower there; on the CPU runs repeat without it)",
    "init_from": "start a new run from another run's checkpoint (its --logdir or a checkpoints/ckpt-N path): "
                 "models, optimizer slots, random stream and schedule position; this run's learning rates and "
                 "switches apply from there (e.g. branch variants off one pretraining); an oracle run also keeps "
                 "the first --generated_num rows of that run's MLE set and test set",
}


def define_flags() -> None:
    """Defines the flags once (safe to call again)."""
    if "seq_len" in FLAGS:
        return
    for field in dataclasses.fields(Config):
        default, name = field.default, field.name
        help_text = _HELP[name]  # tests/test_ranges.py: every field has a help text
        if name in switches.CHOICES:
            help_text += f" (one of {', '.join(switches.CHOICES[name])}; default {switches.default(name)})"
        if isinstance(default, bool):
            flags.DEFINE_bool(name, default, help_text)
        elif isinstance(default, int):
            flags.DEFINE_integer(name, default, help_text)
        elif isinstance(default, float):
            flags.DEFINE_float(name, default, help_text)
        elif isinstance(default, tuple):
            kind = "names" if name == "xla_phases" else "integers"
            flags.DEFINE_list(name, [str(v) for v in default], help_text + f" (comma-separated {kind})")
        else:
            flags.DEFINE_string(name, default, help_text)
    flags.DEFINE_enum("preset", "synthetic20", sorted(PRESETS), "model sizes of an experiment of the paper")
    flags.DEFINE_string("logdir", "runs/default", "checkpoints, samples and TensorBoard events go here")
    flags.DEFINE_bool("fresh", False, "ignore a checkpoint in --logdir and start over")
    flags.DEFINE_bool("dry_run", False, "build the models, print parameter counts and exit")
    flags.DEFINE_integer("checkpoint_every", 5, "adversarial iterations between checkpoints (also at every "
                         "pretraining block and on SIGINT/SIGTERM; --model=seqgan also every this many units of its "
                         "one long pretraining block)", lower_bound=1)
    flags.DEFINE_integer("keep_checkpoints", 3, "checkpoints kept in --logdir/checkpoints (the newest; each "
                         "holds models and optimizer slots, ~140 MB at length 20); resume needs only the last",
                         lower_bound=1)


def config_from_flags() -> Config:
    """A validated Config from the parsed flags (preset, then variant, then explicit flags)."""
    from leakgan_tf.errors import UserError
    seq_len = FLAGS.seq_len if FLAGS["seq_len"].present else PRESETS[FLAGS.preset].get("seq_len", Config.seq_len)
    implied = set(PRESETS[FLAGS.preset]) | set(variant_values(FLAGS.variant, FLAGS.preset, seq_len))
    overrides = {}
    for field in dataclasses.fields(Config):
        flag = FLAGS[field.name]
        if not flag.present and field.name in implied:
            continue
        value = flag.value
        if isinstance(field.default, tuple) and field.name == "xla_phases":
            value = tuple(v for v in value if v)
        elif isinstance(field.default, tuple):
            try:
                value = tuple(int(v) for v in value)
            except ValueError:
                raise UserError(f"--{field.name}={','.join(value)} must be comma-separated integers") from None
        overrides[field.name] = value
    for name in ("oracle_params", "train_file", "test_file"):
        if overrides.get(name):
            overrides[name] = expand_data_path(overrides[name])
    return make_config(FLAGS.preset, **overrides)


def variant_overrides(cfg: Config) -> list[str]:
    """Lines naming the flags given (on the command line or in a flagfile) that
    override a value --variant would set, e.g. a learning rate in a flagfile."""
    if cfg.variant == "code":
        return []

    def shown(name, value):
        if isinstance(value, bool):
            return f"--{'' if value else 'no'}{name}"
        return f"--{name}=" + (",".join(map(str, value)) if isinstance(value, tuple) else str(value))
    implied = variant_values(cfg.variant, FLAGS.preset, cfg.seq_len)
    return [f"note: {shown(name, getattr(cfg, name))} (given) overrides --variant={cfg.variant}'s "
            f"{shown(name, value)}"
            for name, value in sorted(implied.items())
            if FLAGS[name].present and getattr(cfg, name) != value]


def expand_data_path(path: str) -> str:
    """Expands $LEAKGAN_SHARED_DATA (default ../shared/data) and other env vars."""
    import os
    env = dict(os.environ)
    env.setdefault("LEAKGAN_SHARED_DATA", os.path.join("..", "shared", "data"))
    for name, value in env.items():
        path = path.replace("${" + name + "}", value).replace("$" + name, value)
    return path


# ---------------------------------------------------------------- --help
# `main --help` lists the flags by group: the first Config field of each group
# (Config's own order) and the run flags main defines itself.
CONFIG_GROUPS = {"model": "model (spec §1, §2)", "gen_learning_rate": "optimisation",
                 "eval_beta": "inverse temperatures β (logits × β, spec §2.1)",
                 "rollout_network": "SeqGAN's rollout network (--model=seqgan)",
                 "generated_num": "schedule and execution (spec §7.1)", "dataset": "data",
                 "variant": "code vs paper switches (spec §13); --variant sets several at once"}
RUN_FLAGS = ("flagfile", "logdir", "preset", "fresh", "dry_run", "checkpoint_every", "keep_checkpoints")
HELP_ARGS = ("--help", "--helpshort", "-?", "-h", "--help=true", "--help=1")


def help_asked(argv: list[str]) -> str | None:
    """"short" when argv (before a `--`) asks for help (--help, --helpshort, -?, -h),
    "full" for --helpfull, else None. absl answers both but exits 1."""
    args = argv[:argv.index("--")] if "--" in argv else argv
    if any(a in ("--helpfull", "--helpfull=true") for a in args):
        return "full"
    return "short" if any(a in HELP_ARGS for a in args) else None


def main_groups() -> list[tuple[str, list[str]]]:
    """(title, flag names) of every flag of `leakgan_tf.main`, by group (define_flags first)."""
    groups = [("run", list(RUN_FLAGS))]
    for field in dataclasses.fields(Config):
        if field.name in CONFIG_GROUPS:
            groups.append((CONFIG_GROUPS[field.name], []))
        groups[-1][1].append(field.name)
    return groups


def usage(doc: str, groups: list[tuple[str, list[str]]], width: int = 100) -> str:
    """The module doc, then each group's flags: `--name (default: …)` and the help
    text, wrapped; ends with where the full list is."""
    import textwrap
    out = [doc.strip(), ""]
    for title, names in groups:
        out.append(f"{title}:")
        for name in names:
            if name == "flagfile":
                out.append("  --flagfile=FILE")
                out.extend(textwrap.wrap("a file of flags, one --name=value a line (experiments/*.cfg)", width,
                                         initial_indent=" " * 6, subsequent_indent=" " * 6))
                continue
            flag = FLAGS[name]
            default = (flag.default_as_str or "").strip("'")
            shown = f"  --[no]{name}" if flag.boolean else f"  --{name}"
            out.append(shown + (f" (default: {default})" if default else ""))
            out.extend(textwrap.wrap(flag.help, width, initial_indent=" " * 6, subsequent_indent=" " * 6,
                                     break_on_hyphens=False))
        out.append("")
    out.append("--helpfull lists these and absl's own flags.")
    return "\n".join(out) + "\n"


def exit_if_help(argv: list[str], doc: str, groups: list[tuple[str, list[str]]]) -> None:
    """Prints `usage` (--help) or absl's full list (--helpfull) on stdout and exits 0
    when argv asks for help; returns otherwise."""
    import sys
    asked = help_asked(argv[1:])
    if asked is None:
        return
    if asked == "full":
        from absl import app
        app.usage(shorthelp=False, writeto_stdout=True)
    else:
        sys.stdout.write(usage(doc, groups))
    sys.stdout.flush()
    sys.exit(0)


# ---------------------------------------------------------------- output files
def check_output_file(name: str, path: str, logdir: str | None = None) -> None:
    """UserError unless --name=path can be written as a file: not empty, not a
    folder, in an existing writable folder, and not one of the run's own files
    (anything that exists inside logdir). Writes nothing."""
    import os
    import pathlib

    from leakgan_tf.errors import UserError
    if not path.strip():
        raise UserError(f"--{name} is empty; pass a file name, or leave --{name} out")
    target = pathlib.Path(path).expanduser()
    if target.is_dir():
        raise UserError(f"--{name}={path} is a folder; pass a file name (e.g. {target / 'out.txt'})")
    folder = target.parent
    if not folder.is_dir():
        raise UserError(f"--{name}={path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"--{name}={path}: folder {folder} is not writable; choose another place")
    if logdir and target.exists():
        run = pathlib.Path(logdir).expanduser().resolve()
        if run in target.resolve().parents:
            raise UserError(f"--{name}={path} is a file of the run {logdir}; writing it would change the run; "
                            f"choose a new file")


# ---------------------------------------------------------------- signals
class Stop(BaseException):
    """SIGINT or SIGTERM arrived: unwinds like KeyboardInterrupt, so `finally` blocks
    and atomic_write remove what they were writing."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """Runs the block with SIGINT and SIGTERM (unless ignored, as for a background job
    of a shell) raising Stop; a Stop exits quietly with 128 + the signal's number
    after the temporary files of an --out or an --export are removed."""
    import signal
    import sys

    def stop(signum, frame):
        raise Stop(signum)
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)
                if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        yield
    except Stop as e:
        sys.exit(128 + e.signum)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
