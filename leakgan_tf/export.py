"""SavedModel export: a `generate(num, beta, seed)` signature that runs with
TensorFlow alone (no leakgan_tf import needed to load and call it)."""
from __future__ import annotations

import os
import pathlib
from typing import TYPE_CHECKING

import tensorflow as tf

from leakgan_tf import text

if TYPE_CHECKING:
    from leakgan_tf.leakgan import LeakGAN


class ExportedGenerator(tf.Module):
    """The generator with the discriminator whose features it leaks.

    generate(num: int [], beta: float32 [], seed: int []) ->
      {"ids": int32 [num, T], "text": string [num] (with a vocabulary; pads and
      everything after <eos> removed, tokens joined by spaces)}
    num and seed may be int32 or int64 (tensors or Python ints). The rows equal
    `python -m leakgan_tf.sample --seed S --beta B --num N --ids` on the same
    checkpoint (Generator.sample_seeded; chunks of the run's sample_batch rows).
    """

    def __init__(self, gan: LeakGAN, vocab: text.Vocabulary | None = None):
        super().__init__()
        self.discriminator, self.manager, self.worker = gan.discriminator, gan.manager, gan.worker
        self._generator = gan.generator
        self._chunk, self._seq_len = gan.cfg.sample_batch, gan.cfg.seq_len
        self.vocab = tf.constant(vocab.tokens if vocab is not None else [], tf.string)
        self._has_vocab = vocab is not None
        self.generate = tf.function(self._generate)

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


def export(gan: LeakGAN, directory: str | os.PathLike, vocab: text.Vocabulary | None = None) -> pathlib.Path:
    """Writes the SavedModel to directory (replaced atomically if it exists)."""
    import pathlib
    import shutil
    directory = pathlib.Path(directory)
    tmp = directory.with_name(directory.name + ".tmp-export")
    shutil.rmtree(tmp, ignore_errors=True)
    module = ExportedGenerator(gan, vocab)
    # No gradients are saved: generation needs none, and D's (models/pooled_conv.py) would
    # name the native op, which a process with only TensorFlow cannot load.
    tf.saved_model.save(module, str(tmp), signatures={"generate": module.concrete_functions()},
                        options=tf.saved_model.SaveOptions(experimental_custom_gradients=False))
    if directory.exists():
        shutil.rmtree(directory)
    tmp.rename(directory)
    return directory
