"""The run directory (a --logdir written by leakgan_tf.main): the one place
that knows what it holds and how it may be reused.

  config.json        the run's Config (`saved_settings`, `saved_config`)
  checkpoints/       `checkpoint(gan, position)`: the object whose key names are
                     the on-disk layout (models, the five optimizers, the random
                     stream, the schedule position); train, sample, evaluate and
                     export all build it here
  real_data.txt, test_data.txt, vocab.txt, samples/   (sources.py, text.py)
  events.out.tfevents.*   TensorBoard scalars (`scalars`)
  scalars.csv        every scalar of the event files as tag,step,value,wall_time
                     (summaries.ScalarsFile; a step written twice keeps its last value)
  .lock              empty; a training holds an flock on it while it runs (`lock`)

Checkpoints are found from the `checkpoint` index file, or, when it is missing or
names files that are gone, from the ckpt-N.index / ckpt-N.data-* files themselves
(`latest_checkpoint`); a checkpoint that cannot be read is told apart from one of
another model by reading it back (`checkpoint_damage`).

Resume rules: a rerun in the same logdir may change only RESUMABLE_CHANGES
(`check_resumable`); a --init_from branch must agree with its parent on
SAME_MEANING (`check_same_meaning`).
"""
from __future__ import annotations

import dataclasses
import glob
import json
import os
import pathlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from leakgan_tf.errors import UserError

if TYPE_CHECKING:  # TensorFlow-free at import time
    import tensorflow as tf

    from leakgan_tf.config import Config
    from leakgan_tf.leakgan import LeakGAN
    from leakgan_tf.text import Vocabulary

CONFIG = "config.json"
CHECKPOINTS = "checkpoints"
LOCK = ".lock"
# Fields that may change when a run is resumed (they do not change the models).
# xla_phases only chooses how the same steps compile (tests/test_backends.py: XLA
# and plain graphs give the same draws and updates); runs saved before its default
# became "auto" hold ("pretrain",).
RESUMABLE_CHANGES = frozenset({"adversarial_iterations", "eval_every", "sample_batch", "init_from", "deterministic",
                               "xla_phases"})
# Fields that change what the same weights compute; a --init_from branch must
# keep its parent's. goal_normalize=false turns w = l2n(G·W_ψ) into G·W_ψ, whose
# norm grows during training with normalisation on (the gradient is orthogonal
# to w): a generator pretrained with it and run without it samples at a far
# lower temperature and collapses to a few sequences.
SAME_MEANING = ("goal_normalize", "model")  # model: another GAN's checkpoint does not fit at all
# The schedule position kept in every checkpoint (checkpoint keys).
POSITION = ("blocks_done", "iterations_done", "units_done")


# ---------------------------------------------------------------- settings
def saved_settings(logdir: str | pathlib.Path) -> dict[str, Any] | None:
    """The run's config.json as a dict, None if there is none; settings added
    after the run was saved take their defaults (what that run used). UserError
    naming the file when it is not a JSON object (damaged)."""
    from leakgan_tf.config import Config
    path = pathlib.Path(logdir) / CONFIG
    if not path.exists():
        return None
    try:
        saved = json.loads(path.read_bytes().decode("utf-8"))
    except json.JSONDecodeError as e:
        raise _damaged_config(path, f"not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except UnicodeDecodeError:
        raise _damaged_config(path, "not UTF-8 text") from None
    except OSError as e:
        raise UserError(f"cannot read {path} ({e.strerror or e}); check its permissions") from None
    if not isinstance(saved, dict):
        raise _damaged_config(path, f"a JSON {type(saved).__name__}, not an object of settings")
    return {**json.loads(Config().to_json()), **saved}


def _damaged_config(path, why):
    return UserError(f"{path} is damaged ({why}); it holds the run's settings: delete it and rerun leakgan_tf.main "
                     f"with the run's flags to rewrite it, or start over with --fresh")


def saved_config(logdir: str | pathlib.Path) -> Config:
    """The run's Config (UserError if logdir holds no config.json, or a damaged one)."""
    from leakgan_tf.config import Config
    values = saved_settings(logdir)
    if values is None:
        raise UserError(f"{pathlib.Path(logdir) / CONFIG} not found; --logdir must be a directory written by "
                        f"leakgan_tf.main")
    fields = {f.name: f for f in dataclasses.fields(Config)}
    try:
        return Config(**{k: tuple(v) if isinstance(fields[k].default, tuple) else v
                         for k, v in values.items() if k in fields})
    except TypeError as e:
        raise _damaged_config(pathlib.Path(logdir) / CONFIG, f"a setting of the wrong type: {e}") from None


def num_samples(logdir: str | pathlib.Path, generated_num: int) -> int:
    """Samples the run scores for generated_num (Config.num_samples: whole batches)."""
    return dataclasses.replace(saved_config(logdir), generated_num=generated_num).num_samples


def check_resumable(logdir: str | pathlib.Path, cfg: Config) -> None:
    """UserError unless cfg differs from the run saved in logdir only in RESUMABLE_CHANGES."""
    previous = saved_settings(logdir)
    if previous is None:
        return
    current = json.loads(cfg.to_json())
    diff = sorted(k for k in set(previous) | set(current)
                  if previous.get(k) != current.get(k) and k not in RESUMABLE_CHANGES)
    if diff:
        shown = ", ".join(f"--{k}={previous.get(k)} (saved) vs {current.get(k)} (now)" for k in diff[:3])
        raise UserError(f"{logdir} holds a run with different settings: {shown}; "
                        f"use the saved values, another --logdir, or --fresh to start over")


def check_same_meaning(parent: str | pathlib.Path, cfg: Config, latest: str) -> None:
    """UserError if the run in parent (a --init_from source whose checkpoint is
    latest) was trained with another value of a SAME_MEANING field than cfg."""
    saved = saved_settings(parent)
    if saved is None:
        return
    for name in SAME_MEANING:
        if saved[name] != getattr(cfg, name):
            value = ("true" if saved[name] else "false") if isinstance(saved[name], bool) else saved[name]
            now = "the opposite" if isinstance(saved[name], bool) else f"--{name}={getattr(cfg, name)}"
            raise UserError(f"--init_from checkpoint {latest} was trained with --{name}={value} and this run "
                            f"has {now}; the same weights would compute a different generator; pass "
                            f"--{name}={value} or pretrain with this run's settings")


def same_meaning_flags(logdir: str | pathlib.Path) -> list[str]:
    """The flags a --init_from branch of the run in logdir must pass (SAME_MEANING)."""
    saved = saved_settings(logdir) or {}
    return [f"--{'' if saved[n] else 'no'}{n}" if isinstance(saved[n], bool) else f"--{n}={saved[n]}"
            for n in SAME_MEANING if n in saved]


# ---------------------------------------------------------------- the lock
_HELD: dict[str, int] = {}  # lock file -> open descriptor, held until the process ends


def lock(logdir: str | pathlib.Path) -> None:
    """Makes this process the only training in logdir: an exclusive flock on
    logdir/.lock (created empty, never written), held until the process ends (the
    kernel releases it at exit, after a crash or SIGKILL too). A second call in the
    same process returns at once. UserError naming the holder's pid (from
    /proc/locks) when another process holds it. Where the file system has no
    flock (some network file systems) the run goes on unlocked."""
    import fcntl
    path = pathlib.Path(logdir) / LOCK
    key = os.path.realpath(path)
    if key in _HELD:
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise UserError(f"cannot write to --logdir={logdir}: {e.strerror or e}; choose a writable directory "
                        f"with free space") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = lock_holder(fd)
        os.close(fd)
        who = f"pid {holder}" if holder else "another process"
        raise UserError(f"--logdir={logdir} is in use by another training ({who} holds {path}); wait for it to "
                        f"finish or stop it, or choose another --logdir") from None
    except OSError:
        os.close(fd)
        return
    _HELD[key] = fd


def lock_holder(fd: int) -> int | None:
    """The pid holding an flock on the open file fd, from /proc/locks (Linux), or None."""
    st = os.fstat(fd)
    where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        lines = pathlib.Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if "->" not in parts and len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == where:
            try:
                return int(parts[4])
            except ValueError:
                return None
    return None


def check_logdir(logdir: str | pathlib.Path) -> None:
    """UserError for an empty --logdir (it would mean the current directory)."""
    if not str(logdir).strip():
        raise UserError("--logdir is empty; pass the folder the run writes to, e.g. --logdir=runs/mine")


# ---------------------------------------------------------------- checkpoints
_CKPT_FILE = re.compile(r"^ckpt-(\d+)(?:\.index|\.data-(\d+)-of-(\d+)|_temp.*)$")


def checkpoint_numbers(directory: str | pathlib.Path) -> dict[int, list[pathlib.Path]]:
    """{N: the files of ckpt-N} in a checkpoints folder: .index, .data-* and the
    ckpt-N_temp* folders a save leaves when it fails."""
    out: dict[int, list[pathlib.Path]] = {}
    directory = pathlib.Path(directory)
    if directory.is_dir():
        for p in sorted(directory.iterdir()):
            m = _CKPT_FILE.match(p.name)
            if m:
                out.setdefault(int(m.group(1)), []).append(p)
    return out


def complete_checkpoints(directory: str | pathlib.Path) -> list[str]:
    """Prefixes (oldest first) of the checkpoints in directory whose files are all
    there: ckpt-N.index and every shard ckpt-N.data-i-of-S."""
    return [prefix for prefix in (str(pathlib.Path(directory) / f"ckpt-{n}")
                                  for n in sorted(checkpoint_numbers(directory))) if _all_files(prefix)]


def _all_files(prefix: str) -> bool:
    """Whether prefix.index and every data shard prefix.data-i-of-S exist."""
    path = pathlib.Path(prefix)
    shards = [re.fullmatch(r"\.data-(\d+)-of-(\d+)", p.name[len(path.name):])
              for p in path.parent.glob(glob.escape(path.name) + ".data-*")] if path.parent.is_dir() else []
    totals = {int(m.group(2)) for m in shards if m}
    return (path.parent / (path.name + ".index")).is_file() and len(totals) == 1 and \
        {int(m.group(1)) for m in shards if m} == set(range(totals.pop()))


def indexed_checkpoint(directory: str | pathlib.Path) -> str | None:
    """The checkpoint the folder's `checkpoint` index file names, if that file reads
    and any of the checkpoint's files is on disk (one with some files missing is
    returned: restoring it says it is damaged, and which file is missing); else
    None. Read here, not with tf.train.latest_checkpoint, which logs to stderr when
    the files are gone and raises on an empty index file."""
    import codecs
    directory = pathlib.Path(directory)
    try:
        text = (directory / "checkpoint").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    m = re.search(r'^model_checkpoint_path:\s*"((?:[^"\\]|\\.)*)"\s*$', text, re.M)
    if not m:
        return None
    try:
        name = codecs.escape_decode(m.group(1).encode("utf-8"))[0].decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    prefix = pathlib.Path(os.path.normpath(directory / name))  # a relative name is relative to the folder
    on_disk = prefix.parent.is_dir() and any(re.fullmatch(r"\.(index|data-\d+-of-\d+)", p.name[len(prefix.name):])
                                             for p in prefix.parent.glob(glob.escape(prefix.name) + ".*"))
    return str(prefix) if on_disk else None


def _number(name: str) -> int | None:
    """N of a checkpoint prefix ckpt-N, else None."""
    m = re.fullmatch(r"ckpt-(\d+)", name)
    return int(m.group(1)) if m else None


def latest_checkpoint(logdir: str | pathlib.Path) -> str | None:
    """Path of the run's latest checkpoint, or None if it has none.

    The one the `checkpoint` index file names (indexed_checkpoint, even with files
    missing: its restore then says it is damaged); when that file is missing,
    unreadable or names a checkpoint none of whose files is left (moved away), the
    newest complete checkpoint among the files (complete_checkpoints). UserError when the folder
    holds checkpoint files but none complete: starting over would write over them."""
    directory = pathlib.Path(logdir) / CHECKPOINTS
    latest = indexed_checkpoint(directory)
    if latest:
        return latest
    complete = complete_checkpoints(directory)
    if complete:
        return complete[-1]
    files = [p.name for paths in checkpoint_numbers(directory).values() for p in paths if "_temp" not in p.name]
    if files:
        shown = ", ".join(files[:3]) + (", ..." if len(files) > 3 else "")
        raise UserError(f"{directory} holds checkpoint files ({shown}) but no complete checkpoint (an .index with "
                        f"its .data files); move them out of the folder to start over, or rerun with --fresh")
    return None


def finished(logdir: str | pathlib.Path) -> bool:
    """True when logdir holds a run's settings and at least one checkpoint."""
    try:
        return (pathlib.Path(logdir) / CONFIG).exists() and bool(latest_checkpoint(logdir))
    except UserError:
        return False


def checkpoint_damage(path: str | pathlib.Path) -> str | None:
    """None when every tensor of checkpoint `path` (a ckpt-N prefix) reads back
    with its checksum; otherwise what is damaged, naming the file, e.g.
    "ckpt-3.data-00000-of-00001 is truncated". Reads the whole checkpoint: meant
    for telling a damaged checkpoint from one of another model after a restore failed."""
    import tensorflow as tf
    prefix = pathlib.Path(path)
    index = prefix.with_name(prefix.name + ".index")
    if not index.is_file():
        return f"{index.name} is missing"
    shards = sorted(prefix.parent.glob(glob.escape(prefix.name) + ".data-*-of-*"))
    if not shards:
        return f"its data file {prefix.name}.data-00000-of-00001 is missing"
    total = re.fullmatch(r".*\.data-\d+-of-(\d+)", shards[0].name)
    for i in range(int(total.group(1)) if total else 0):
        name = f"{prefix.name}.data-{i:05d}-of-{int(total.group(1)):05d}"
        if not (prefix.parent / name).is_file():
            return f"its data file {name} is missing"
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        keys = list(reader.get_variable_to_shape_map())
    except Exception as e:  # TensorFlow raises several kinds for a bad index
        return f"{index.name} is damaged ({io_reason(e)})"
    data = shards[0].name if len(shards) == 1 else f"one of its data files {prefix.name}.data-*"
    for key in keys:
        try:
            reader.get_tensor(key)
        except Exception as e:  # IndexError for a short file, DataLossError for a bad checksum, ...
            text = str(e)
            if "Read less bytes" in text or "truncated" in text.lower():
                return f"{data} is truncated (shorter than {index.name} says)"
            if "hecksum" in text:
                return f"{data} is damaged (its checksums do not match)"
            return f"{data} is damaged ({io_reason(e)})"
    return None


def io_reason(error: BaseException) -> str:
    """A one-line reason for a failed read or write: the OS error text (e.g. "No
    space left on device"), or TensorFlow's message without its op decorations."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(getattr(error, "message", None) or error).strip()
    for known in ("No space left on device", "Disk quota exceeded", "Permission denied", "Read-only file system"):
        if known in text:
            return known
    text = re.sub(r"\{\{[^}]*\}\}\s*", "", text)      # {{function_node __wrapped__SaveV2_...}}
    text = re.sub(r"\s*\[Op:[^\]]*\].*", "", text, flags=re.S)  # [Op:SaveV2] name: ...
    first = text.splitlines()[0].strip() if text.strip() else type(error).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def position_variables() -> dict[str, tf.Variable]:
    """The schedule position (POSITION keys) as int64 variables at 0."""
    import tensorflow as tf
    names = dict(blocks_done="pretrain_blocks_done", iterations_done="adversarial_iterations_done",
                 units_done="units_done_in_current_block_or_iteration")
    return {k: tf.Variable(0, dtype=tf.int64, name=names[k]) for k in POSITION}


def checkpoint(gan: LeakGAN, position: dict[str, tf.Variable] | None = None) -> tf.train.Checkpoint:
    """The checkpoint object of a run: its keys are the on-disk layout.

    LeakGAN: discriminator, manager, worker (the models), rng (the run's random
    stream), optimizer_<name> for each of gan.optimizers; SeqGAN: its own
    (SeqGAN.checkpoint_objects: discriminator, generator, rollout with
    --rollout_network=delayed, rng, optimizer_<name>); then the position variables
    (POSITION; position_variables() when None)."""
    import tensorflow as tf
    position = position_variables() if position is None else position
    if hasattr(gan, "checkpoint_objects"):
        objects = gan.checkpoint_objects()
    else:
        objects = dict(discriminator=gan.discriminator, manager=gan.manager, worker=gan.worker, rng=gan.rng,
                       **{f"optimizer_{k}": v for k, v in gan.optimizers.items()})
    return tf.train.Checkpoint(**objects, **position)


def load_run(logdir: str | pathlib.Path) -> tuple[LeakGAN, Config, str, dict[str, int]]:
    """(the run's model (gans.build: LeakGAN or SeqGAN) with the latest checkpoint restored, its Config, the checkpoint
    path, the schedule position {blocks_done, iterations_done, units_done});
    UserError when there is none or it is damaged."""
    from leakgan_tf import gans
    cfg = saved_config(logdir)
    gan = gans.build(cfg)
    latest = latest_checkpoint(logdir)
    if latest is None:
        raise UserError(f"no checkpoint in {pathlib.Path(logdir) / CHECKPOINTS}; train first (leakgan_tf.main)")
    position = position_variables()
    try:
        checkpoint(gan, position).restore(latest).expect_partial()
    except Exception as e:  # a damaged file raises IndexError, DataLossError, ...: restore_error tells
        raise restore_error(latest, e, f"checkpoint {latest}", "use the run's own settings") from None
    return gan, cfg, latest, {k: int(v.numpy()) for k, v in position.items()}


def restore_error(path: str, error: BaseException, what: str, fix: str, resume: bool = True) -> UserError:
    """The UserError for a restore of checkpoint path that raised error: damaged
    (naming the file, and the complete checkpoint before it if there is one:
    resume=True, this run's own, says to move the damaged one away; False, another
    run's (--init_from), to pass the older one) or, when it reads back whole, one
    that does not fit this model (fix says what to do)."""
    damage = checkpoint_damage(path)
    if damage is None:
        return UserError(f"{what} does not fit this model ({io_reason(error)}); {fix}")
    prefix = pathlib.Path(path)
    number = _number(prefix.name)
    older = [p for p in complete_checkpoints(prefix.parent)
             if number is not None and _number(pathlib.Path(p).name) < number]
    if not resume:
        then = f"pass --init_from={older[-1]}, the checkpoint before it" if older else "pass another run"
    elif older:
        then = (f"move its files ({prefix.name}.*) out of {prefix.parent} to resume from {older[-1]}, the "
                f"checkpoint before it, or start over with --fresh")
    else:
        then = "start over with --fresh"
    return UserError(f"{what} is damaged: {damage}; {then}")


def load_vocab(logdir: str | pathlib.Path) -> Vocabulary | None:
    """The vocabulary of a text run (vocab.txt), None for an oracle run."""
    from leakgan_tf import text
    path = pathlib.Path(logdir) / "vocab.txt"
    return text.Vocabulary.load(path) if path.exists() else None


# ---------------------------------------------------------------- events
def scalars(logdir: str | pathlib.Path,
            keep: Callable[[str], bool] = lambda tag: True) -> dict[str, dict[int, tuple[float, float]]]:
    """The scalars of the run's TensorBoard events: {tag: {step: (value, wall_time)}}
    for the tags keep(tag) accepts; a step written twice (a unit redone after a
    kill) keeps its last value. {} when logdir does not exist."""
    if not pathlib.Path(logdir).exists():
        return {}
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator
    acc = event_accumulator.EventAccumulator(str(logdir), size_guidance={"tensors": 0})
    acc.Reload()
    return {tag: {e.step: (float(tf.make_ndarray(e.tensor_proto)), e.wall_time) for e in acc.Tensors(tag)}
            for tag in acc.Tags()["tensors"] if keep(tag)}
