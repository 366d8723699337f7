"""SavedModel export: a `generate(num, beta, seed)` signature that runs with
TensorFlow alone (no leakgan_tf import needed to load and call it)."""
import tensorflow as tf

from leakgan_tf import text


class ExportedGenerator(tf.Module):
    """The generator with the discriminator whose features it leaks.

    generate(num: int32 [], beta: float32 [], seed: int64 []) ->
      {"ids": int32 [num, T], "text": string [num] (with a vocabulary; pads and
      everything after <eos> removed, tokens joined by spaces)}
    """

    def __init__(self, gan, vocab=None):
        super().__init__()
        self.discriminator, self.manager, self.worker = gan.discriminator, gan.manager, gan.worker
        self._generator = gan.generator
        self._batch, self._seq_len = gan.cfg.batch_size, gan.cfg.seq_len
        self.vocab = tf.constant(vocab.tokens if vocab is not None else [], tf.string)
        self._has_vocab = vocab is not None

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="num"),
                                  tf.TensorSpec([], tf.float32, name="beta"),
                                  tf.TensorSpec([], tf.int64, name="seed")])
    def generate(self, num, beta, seed):
        rows = (num + self._batch - 1) // self._batch * self._batch
        ids = self._generator.sample(rows, [beta] * self._seq_len, tf.stack([seed, tf.zeros_like(seed)]))[:num]
        out = {"ids": ids}
        if self._has_vocab:
            # Keep tokens before the first <eos>, drop <pad>.
            before_end = tf.equal(tf.cumsum(tf.cast(tf.equal(ids, text.EOS_ID), tf.int32), axis=1), 0)
            keep = before_end & tf.not_equal(ids, text.PAD_ID)
            words = tf.where(keep, tf.gather(self.vocab, ids), "")
            joined = tf.strings.reduce_join(words, axis=1, separator=" ")
            out["text"] = tf.strings.strip(tf.strings.regex_replace(joined, " +", " "))
        return out


def export(gan, directory, vocab=None):
    """Writes the SavedModel to directory (replaced atomically if it exists)."""
    import pathlib
    import shutil
    directory = pathlib.Path(directory)
    tmp = directory.with_name(directory.name + ".tmp-export")
    shutil.rmtree(tmp, ignore_errors=True)
    module = ExportedGenerator(gan, vocab)
    tf.saved_model.save(module, str(tmp), signatures={"generate": module.generate})
    if directory.exists():
        shutil.rmtree(directory)
    tmp.rename(directory)
    return directory
