"""SavedModel export: a `generate(num, beta, seed)` signature that runs with
TensorFlow alone (no leakgan_tf import needed to load and call it).

An export folder holds the SavedModel and MARKER (leakgan_tf_export.json: the
format, the checkpoint and run it came from). `export` writes only to a new or
empty folder or over a previous export (`is_export`), never over a run or any
other folder, and swaps the new model in once it is complete.
"""
from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import tempfile
from typing import TYPE_CHECKING

import tensorflow as tf

from leakgan_tf import text
from leakgan_tf.errors import UserError
from leakgan_tf.kernels import compiled

if TYPE_CHECKING:
    from leakgan_tf.leakgan import LeakGAN


class ExportedGenerator(tf.Module):
    """The generator with the discriminator whose features it leaks (LeakGAN), or
    the generator alone (SeqGAN: SeqGAN.export_models).

    generate(num: int [], beta: float32 [], seed: int []) ->
      {"ids": int32 [num, T], "text": string [num] (with a vocabulary; pads and
      everything after <eos> removed, tokens joined by spaces)}
    num and seed may be int32 or int64 (tensors or Python ints). The rows equal
    `python -m leakgan_tf.sample --seed S --beta B --num N --ids` on the same
    checkpoint (Generator.sample_seeded; chunks of the run's sample_batch rows).
    """

    def __init__(self, gan: LeakGAN, vocab: text.Vocabulary | None = None):
        super().__init__()
        if hasattr(gan, "export_models"):
            for name, model in gan.export_models().items():
                setattr(self, name, model)
        else:
            self.discriminator, self.manager, self.worker = gan.discriminator, gan.manager, gan.worker
        self._generator = gan.generator
        self._chunk, self._seq_len = gan.cfg.sample_batch, gan.cfg.seq_len
        self.vocab = tf.constant(vocab.tokens if vocab is not None else [], tf.string)
        self._has_vocab = vocab is not None
        # One trace of the sampler (int64 num and seed); every integer dtype the signature
        # accepts is cast to it, so an export traces it once, not once per dtype pair.
        self._generate_int64 = compiled(self._generate)
        self.generate = compiled(lambda num, beta, seed: self._generate_int64(
            tf.cast(num, tf.int64), beta, tf.cast(seed, tf.int64)))

    def _generate(self, num: tf.Tensor, beta: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        ids = self._generator.sample_seeded(num, [beta] * self._seq_len, seed, self._chunk)
        out = {"ids": ids}
        if self._has_vocab:
            # Keep tokens before the first <eos>, drop <pad>.
            before_end = tf.equal(tf.cumsum(tf.cast(tf.equal(ids, text.EOS_ID), tf.int32), axis=1), 0)
            keep = before_end & tf.not_equal(ids, text.PAD_ID)
            words = tf.where(keep, tf.gather(self.vocab, ids), "")
            joined = tf.strings.reduce_join(words, axis=1, separator=" ")
            out["text"] = tf.strings.strip(tf.strings.regex_replace(joined, " +", " "))
        return out

    def concrete_functions(self):
        """generate traced for every integer dtype of num and seed; the int32/int64
        one is the serving signature."""
        traced = {(n, s): self.generate.get_concrete_function(tf.TensorSpec([], n, name="num"),
                                                              tf.TensorSpec([], tf.float32, name="beta"),
                                                              tf.TensorSpec([], s, name="seed"))
                  for n in (tf.int32, tf.int64) for s in (tf.int32, tf.int64)}
        return traced[(tf.int32, tf.int64)]


# The file an export writes beside the SavedModel: what recognises a folder as one
# (a previous export is the only non-empty folder `export` replaces) and says
# where it came from.
MARKER = "leakgan_tf_export.json"
FORMAT = "leakgan_tf generator SavedModel"
# Everything an export folder holds; a folder with anything else is not replaced.
LAYOUT = frozenset({"saved_model.pb", "fingerprint.pb", "variables", "assets", MARKER})


def is_export(directory: str | os.PathLike) -> bool:
    """True when directory is a folder written by `export`: our marker file with its
    format, a saved_model.pb, and nothing outside the SavedModel layout."""
    directory = pathlib.Path(directory)
    marker = directory / MARKER
    if not directory.is_dir() or directory.is_symlink() or not marker.is_file() or marker.is_symlink():
        return False
    try:
        if json.loads(marker.read_text()).get("format") != FORMAT:
            return False
    except (OSError, ValueError, AttributeError):
        return False
    entries = list(directory.iterdir())
    return ((directory / "saved_model.pb").is_file() and all(e.name in LAYOUT for e in entries)
            and not any(e.is_symlink() for e in entries))


def check_target(directory: str | os.PathLike, logdir: str | os.PathLike | None = None) -> pathlib.Path:
    """The folder an export to `directory` would write (resolved), or a UserError:
    it must be new, an empty folder or a previous export (`is_export`), must not be
    or hold the run (logdir), and its nearest existing parent must be a writable
    folder. Writes nothing."""
    given = str(directory)
    if not given.strip():
        raise UserError("--export is empty; pass the folder to write the SavedModel to")
    target = pathlib.Path(directory).expanduser().resolve()
    if logdir is not None:
        run = pathlib.Path(logdir).expanduser().resolve()
        if target == run or target in run.parents:
            what = "is the run folder" if target == run else "holds the run folder"
            raise UserError(f"--export={given} {what} {logdir}; an export replaces its folder, so choose a new "
                            f"folder outside the run (e.g. --export={run.name}_export)")
    if target == pathlib.Path(target.anchor):
        raise UserError(f"--export={given} is the root folder; choose a new folder")
    if target.exists():
        if not target.is_dir():
            raise UserError(f"--export={given} is a file; choose a new or empty folder")
        entries = sorted(e.name for e in target.iterdir())
        if entries and not is_export(target):
            foreign = [e for e in entries if e not in LAYOUT]  # an export with files added: name those
            shown = foreign if (target / MARKER).is_file() and foreign else entries
            shown = ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
            raise UserError(f"--export={given} is a folder that is not a leakgan_tf export (it holds {shown}); "
                            f"choose a new or empty folder (only a folder holding {MARKER} and the SavedModel's "
                            f"files is replaced)")
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--export={given}: cannot create a folder under {parent} (not a writable folder); choose "
                        f"another place")
    return target


def _strip_custom_gradients(directory: pathlib.Path) -> int:
    """Removes the `_gradient_op_type` marks of custom gradients from the saved
    functions (and rewrites the fingerprint of the changed saved_model.pb); returns
    how many. The gradients themselves are not saved (they would name the native
    op), and loading a function whose ops carry the mark makes TensorFlow warn
    "Importing a function … with ops with unsaved custom gradients" once per loop
    body. Without it the ops' own gradients apply: the forward ops the custom
    gradients wrap are all in the graph."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.saved_model import fingerprinting_utils
    path = directory / "saved_model.pb"
    saved = saved_model_pb2.SavedModel.FromString(path.read_bytes())
    stripped = 0
    for meta in saved.meta_graphs:
        nodes = [meta.graph_def.node] + [f.node_def for f in meta.graph_def.library.function]
        for node in (n for group in nodes for n in group):
            if "_gradient_op_type" in node.attr:
                del node.attr["_gradient_op_type"]
                stripped += 1
    if stripped:
        path.write_bytes(saved.SerializeToString(deterministic=True))
        if (directory / "fingerprint.pb").exists():
            fingerprinting_utils.write_fingerprint(str(directory))
    return stripped


def export(gan: LeakGAN, directory: str | os.PathLike, vocab: text.Vocabulary | None = None, *,
           logdir: str | os.PathLike | None = None, checkpoint: str | None = None) -> pathlib.Path:
    """Writes the SavedModel to directory and returns its path. directory must be
    new, empty or a previous export (`check_target`; logdir, the run exported, may
    not be it or inside it); a previous export is replaced only once the new one is
    complete: it is written to a temporary sibling folder, then swapped in. Nothing
    else is deleted; a failure leaves directory as it was. checkpoint and logdir are
    recorded in the marker file."""
    target = check_target(directory, logdir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = pathlib.Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.export-"))
    except OSError as e:
        raise UserError(f"cannot write --export={directory} ({e.strerror or e}); choose a writable folder") from None
    new, old = work / "new", work / "old"
    try:
        module = ExportedGenerator(gan, vocab)
        try:
            # No gradients are saved: generation needs none, and D's (models/pooled_conv.py) would
            # name the native op, which a process with only TensorFlow cannot load.
            tf.saved_model.save(module, str(new), signatures={"generate": module.concrete_functions()},
                                options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
            _strip_custom_gradients(new)
            marker = dict(format=FORMAT, signature="generate(num, beta, seed) -> ids" + (", text" if vocab else ""),
                          model=gan.cfg.model, seq_len=gan.cfg.seq_len, vocab_size=gan.cfg.vocab_size,
                          sample_batch=gan.cfg.sample_batch,
                          checkpoint=None if checkpoint is None else str(pathlib.Path(checkpoint).resolve()),
                          logdir=None if logdir is None else str(pathlib.Path(logdir).resolve()))
            (new / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        except (OSError, tf.errors.OpError) as e:
            reason = getattr(e, "strerror", None) or (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
            raise UserError(f"cannot write --export={directory} ({reason}); free space or choose a writable "
                            f"folder") from None
        check_target(directory, logdir)  # the folder may have changed while the model was saved
        if target.exists():
            if is_export(target):
                os.rename(target, old)
            else:
                os.rmdir(target)  # empty (check_target): rmdir removes nothing else
        os.rename(new, target)
    except BaseException:
        if old.exists() and not target.exists():
            with contextlib.suppress(OSError):
                os.rename(old, target)  # put the previous export back
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)  # our temporary folder: the new model if unused, the old one
    return target
