"""Leaked features of −1-padded prefixes: f_i = F(x_0 … x_{i-1}, −1, …, −1).

The generator needs f_i for every prefix length i = 0..T. `PlainPrefixFeatures`
recomputes the whole discriminator feature for each prefix (what the original
does). It exposes two entry points used by the generator:

  all_prefixes(tokens)          teacher forcing: [B, T] -> [B, T+1, D_f]
  start / feature / append      free running: a per-sequence state that grows
                                one token at a time
"""
import tensorflow as tf

from leakgan_tf.models.discriminator import PAD_ID


def pad_after(tokens, length):
    """Keeps tokens[:, :length] and pads the rest with −1: [N, T] -> [N, T]."""
    keep = tf.range(tokens.shape[1])[None, :] < length
    return tf.where(keep, tokens, PAD_ID)


class PlainPrefixFeatures:
    """Recomputes F on each padded prefix (O(T²) convolution work per sequence)."""

    def __init__(self, discriminator):
        self.disc = discriminator

    def all_prefixes(self, tokens):
        """tokens [B, T] -> features of prefixes 0..T: [B, T+1, D_f]."""
        seq_len = tokens.shape[1]
        keep = tf.range(seq_len)[None, :] < tf.range(seq_len + 1)[:, None]  # [T+1, T]
        prefixes = tf.where(keep[None], tokens[:, None, :], PAD_ID)          # [B, T+1, T]
        flat = self.disc.features(tf.reshape(prefixes, [-1, seq_len]))
        return tf.reshape(flat, [-1, seq_len + 1, self.disc.feature_dim])

    def start(self, tokens, length):
        """State for a prefix of `length` known tokens of tokens [N, T]."""
        return pad_after(tokens, length)

    def feature(self, state):
        """Feature of the current prefix: [N, D_f]."""
        return self.disc.features(state)

    def append(self, state, position, token):
        """Writes token [N] at `position` (a Python int)."""
        at = tf.range(state.shape[1])[None, :] == position
        return tf.where(at, token[:, None], state)
