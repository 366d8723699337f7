"""Leaked features of −1-padded prefixes: f_i = F(x_0 … x_{i-1}, −1, …, −1).

The generator needs f_i for every prefix length i = 0..T. Two exact paths share
one interface:

  all_prefixes(tokens)                   teacher forcing: [B, T] -> [B, T+1, D_f]
  start(tokens, length) -> state         free running: a per-sequence state that
  feature(state, length) -> [N, D_f]     grows one token at a time (length and
  append(state, position, token) -> state  position may be int32 scalar tensors)
  repeat(state, repeats) -> state        the same state for repeated rollouts

`PlainPrefixFeatures` recomputes the whole discriminator feature for each
prefix, as the original does (O(T²) convolution work per sequence).

`IncrementalPrefixFeatures` gives the same result with O(T) convolution work.
A width-h window starting at p has pre-activation
    s_p = b + Σ_{j<h} e(x_{p+j})·K_j,
a sum of per-token terms C_t[j] = e(x_t)·K_j that do not depend on the other
tokens. For a prefix of length i, position t contributes C_t[j] if t < i and
the pad term P_j = e(−1)·K_j otherwise, so with A_p[m] = Σ_{j<m} C_{p+j}[j]
and S[m] = Σ_{j≥m} P_j,
    s_p(i) = A_p[m] + S[m] + b,   m = clip(i − p, 0, h).
Windows inside the prefix (m = h) never change again (a running max), windows
entirely in padding (m = 0) share one constant, and only the h−1 windows that
straddle the prefix end differ between prefixes. ReLU and max commute, so the
pooled feature is ReLU(max_p s_p(i)); the highway layer is then applied to
each prefix as usual.
"""
from __future__ import annotations

import collections

import tensorflow as tf

from leakgan_tf.kernels import native
from leakgan_tf.models.discriminator import PAD_ID

# IncrementalPrefixFeatures' free-running state; `terms` [E_d, Σ h·n] is the packed kernel
# (KernelState) or every token's terms [V + 1, Σ h·n] (TableState, see with_table)
KernelState = collections.namedtuple("KernelState", ["terms", "suffix", "done", "opened"])
TableState = collections.namedtuple("TableState", ["terms", "suffix", "done", "opened"])


def pad_after(tokens: tf.Tensor, length: int | tf.Tensor) -> tf.Tensor:
    """Keeps tokens[:, :length] and pads the rest with −1: [N, T] -> [N, T]."""
    keep = tf.range(tokens.shape[1])[None, :] < length
    return tf.where(keep, tokens, PAD_ID)


class PlainPrefixFeatures:
    """Recomputes F on each padded prefix (the original's computation)."""

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
        """State for a prefix of `length` known tokens of tokens [N, T]: the padded prefix."""
        return pad_after(tokens, length)

    def feature(self, state, length, use_native=True):
        """Feature of the current prefix: [N, D_f] (use_native=False: TensorFlow's ops only)."""
        del length
        return self.disc.features(state, native=use_native)

    def append(self, state, position, token, use_native=True):
        """Writes token [N] at `position` (an int or int32 scalar tensor)."""
        del use_native
        at = tf.range(state.shape[1])[None, :] == position
        return tf.where(at, token[:, None], state)

    def repeat(self, state, repeats):
        """The state of N sequences repeated `repeats` times: rows r·N + n."""
        return tf.tile(state, [repeats, 1])

    def token_table(self):
        """None: the plain path has no per-token terms."""
        return None

    def with_table(self, state, rows, steps, table=None):
        """The same state (the plain path has no per-token terms)."""
        return state


def _running_max(x, axis=1):
    """Inclusive cumulative max along `axis` (log-step doubling)."""
    size, shift = x.shape[axis], 1
    while shift < size:
        shifted = tf.concat([tf.fill(tf.shape(tf.gather(x, tf.range(shift), axis=axis)), -float("inf")),
                             tf.gather(x, tf.range(size - shift), axis=axis)], axis=axis)
        x = tf.maximum(x, shifted)
        shift *= 2
    return x


class IncrementalPrefixFeatures:
    """Same features as PlainPrefixFeatures with O(T) convolution work (see module doc).

    The free-running state (see start) keeps, per filter, the running max of
    the complete windows [N, n] and the h − 1 straddling windows [N, h−1, n],
    so a free-running step costs O(Σ h·n) per sequence, independent of T.
    """

    def __init__(self, discriminator):
        self.disc = discriminator
        self.widths = discriminator.filter_sizes
        self.seq_len = discriminator.seq_len

    def _packed_kernel(self):
        """All conv kernels as one [E_d, Σ h·n] matrix (column blocks (filter, offset j))."""
        return tf.concat([tf.reshape(tf.transpose(k, [1, 0, 2]), [k.shape[1], -1])
                          for k in self.disc.conv_kernels], axis=1)

    def _biases(self):
        return [tf.convert_to_tensor(b) for b in self.disc.conv_biases]

    def _per_filter(self, flat, lead_shape):
        """Splits [..., Σ h·n] into per-filter [..., h, n]."""
        sizes = [h * n for h, n in zip(self.widths, self.disc.num_filters)]
        parts = tf.split(flat, sizes, axis=-1)
        return [tf.reshape(p, lead_shape + [h, n]) for p, h, n in zip(parts, self.widths, self.disc.num_filters)]

    def _pad_suffix_sums(self, kernel):
        """S[m] = Σ_{j≥m} P_j for every filter: list of [h+1, n]."""
        pad = tf.matmul(self.disc.embedding[:1], kernel)[0]                          # [Σ h·n]
        out = []
        for p, n in zip(self._per_filter(pad[None], [1]), self.disc.num_filters):
            p = p[0]                                                                  # [h, n]
            out.append(tf.concat([tf.cumsum(p, axis=0, reverse=True), tf.zeros([1, n])], axis=0))
        return out

    def pooled_all_prefixes(self, tokens):
        """Max-pooled conv features of prefixes 0..T before the highway: [B, T+1, Σ n]."""
        T = self.seq_len
        kernel = self._packed_kernel()
        contrib = tf.tensordot(self.disc.embed(tokens), kernel, axes=1)              # [B, T, Σ h·n]
        batch = tf.shape(tokens)[0]
        pooled = []
        for c, h, n, b, suffix in zip(self._per_filter(contrib, [batch, T]), self.widths, self.disc.num_filters,
                                      self.disc.conv_biases, self._pad_suffix_sums(kernel)):
            w = T - h + 1
            diag = tf.stack([c[:, j:j + w, j] for j in range(h)], axis=2)             # [B, W, h, n]
            partial = tf.cumsum(diag, axis=2, exclusive=True)                          # A_p[m], m < h
            full = tf.reduce_sum(diag, axis=2) + b                                     # A_p[h] + b
            neg = tf.fill([batch, 1, n], -float("inf"))
            # windows complete inside prefix i: p ≤ i − h
            done = tf.concat([tf.tile(neg, [1, h, 1]), _running_max(full)], axis=1)    # [B, T+1, n]
            best = done
            # windows straddling the end of prefix i: p = i − m, 1 ≤ m ≤ h − 1
            for m in range(1, h):
                vals = partial[:, :, m] + suffix[m] + b                                 # [B, W, n]
                vals = tf.concat([tf.tile(neg, [1, m, 1]), vals, tf.tile(neg, [1, h - m, 1])], axis=1)
                best = tf.maximum(best, vals)
            # windows entirely in padding exist while i ≤ W − 1
            pad_val = suffix[0] + b
            has_pad = tf.range(T + 1)[None, :, None] <= w - 1
            best = tf.maximum(best, tf.where(has_pad, pad_val, -float("inf")))
            pooled.append(tf.nn.relu(best))
        return tf.concat(pooled, axis=-1)

    def all_prefixes(self, tokens):
        """tokens [B, T] -> features of prefixes 0..T: [B, T+1, D_f]."""
        pooled = self.pooled_all_prefixes(tokens)
        flat = self.disc.highway(tf.reshape(pooled, [-1, pooled.shape[-1]]))
        return tf.reshape(flat, [-1, self.seq_len + 1, self.disc.feature_dim])

    # ------------------------------------------------------------ free running
    # State (KernelState; a TableState once with_table made it): (packed kernel, pad
    # suffix sums S, per filter `done` [N, n] = max of
    # A_p + b over the windows already complete, and `open` [N, h−1, n] = the
    # partial sums A_p[j+1] of the windows p = i−1−j still straddling the end of
    # the prefix of length i, newest first). A step touches O(h·n) values per
    # filter instead of all W windows, and adds the terms in the same order as
    # pooled_all_prefixes (so, given the same per-token terms, results are bit-identical to it).
    def start(self, tokens, length):
        """State for a prefix of `length` (a Python int) known tokens of tokens [N, T]."""
        kernel = self._packed_kernel()
        suffix = self._pad_suffix_sums(kernel)
        batch = tf.shape(tokens)[0]
        done, opened = [], []
        if length == 0:
            for h, n in zip(self.widths, self.disc.num_filters):
                done.append(tf.fill([batch, n], -float("inf")))
                opened.append(tf.zeros([batch, h - 1, n]))
            return KernelState(kernel, suffix, done, opened)
        contrib = tf.tensordot(self.disc.embed(tokens), kernel, axes=1)
        for c, h, n, b in zip(self._per_filter(contrib, [batch, self.seq_len]), self.widths, self.disc.num_filters,
                              self.disc.conv_biases):
            w = self.seq_len - h + 1
            diag = tf.stack([c[:, j:j + w, j] for j in range(h)], axis=2)             # [N, W, h, n]
            sums = tf.concat([tf.zeros_like(diag[:, :, :1]), tf.cumsum(diag, axis=2)], axis=2)  # A_p[m], m = 0..h
            complete = length - h + 1                                                   # windows p < this are done
            if complete > 0:
                done.append(tf.reduce_max(sums[:, :complete, h] + b, axis=1))
            else:
                done.append(tf.fill([batch, n], -float("inf")))
            # open slot j: window p = length − 1 − j with j + 1 known terms (zeros where p is not a window)
            slots = [sums[:, length - 1 - j, j + 1] if 0 <= length - 1 - j < w else tf.zeros([batch, n])
                     for j in range(h - 1)]
            opened.append(tf.stack(slots, axis=1) if slots else tf.zeros([batch, 0, n]))
        return KernelState(kernel, suffix, done, opened)

    # A KernelState holds the packed kernel [E_d, Σ h·n]; a TableState (with_table)
    # every token's terms [V + 1, Σ h·n] instead: a step then reads its tokens'
    # rows instead of multiplying [N, E_d] by the kernel. tf.while_loop keeps the
    # state's type, so the type says which one a step holds.
    TABLE_BYTES = 512 * 2 ** 20

    def token_table(self):
        """Every token's terms [V + 1, Σ h·n] (row 0: the padding id −1)."""
        return tf.matmul(self.disc.embedding, self._packed_kernel())

    def with_table(self, state, rows, steps, table=None):
        """state with the table of every token's terms (`table`, or token_table())
        when `steps` appends of `rows` (static) rows would multiply more rows than
        it has and it fits TABLE_BYTES; else state. Equal up to the rounding of
        the matmul (bit-identical on the CPUs measured here)."""
        table_rows = self.disc.embedding.shape[0]
        size = table_rows * state.terms.shape[1] * 4
        if isinstance(state, TableState) or rows is None or rows * steps < table_rows or size > self.TABLE_BYTES:
            return state
        return TableState(self.token_table() if table is None else table, *state[1:])

    def feature(self, state, length, use_native=True):
        """Feature of the prefix of `length` (an int or int32 scalar tensor) tokens: [N, D_f].
        use_native: one pass of the native op where it can be had (bit-identical)."""
        _, suffix, done, opened = state
        ops = native.prefix_ops() if use_native else None
        if ops is not None:
            pooled = ops[1](tf.cast(length, tf.int32), done, opened, suffix, self._biases(), seq_len=self.seq_len)
            return self.disc.highway(pooled)
        pooled = []
        for best, win, h, b, s in zip(done, opened, self.widths, self.disc.conv_biases, suffix):
            w = self.seq_len - h + 1
            if h > 1:
                j = tf.range(h - 1)                                                     # window p = length − 1 − j
                exists = (length - 1 - j >= 0) & (length - 1 - j <= w - 1)
                straddling = tf.where(exists[None, :, None], win + s[1:h] + b, -float("inf"))  # (A_p[m] + S[m]) + b
                best = tf.maximum(best, tf.reduce_max(straddling, axis=1))
            best = tf.where(length <= w - 1, tf.maximum(best, s[0] + b), best)         # windows all padding
            pooled.append(tf.nn.relu(best))
        return self.disc.highway(tf.concat(pooled, axis=-1))

    def repeat(self, state, repeats):
        """The state of N sequences repeated `repeats` times (rows r·N + n); the
        weights in it are shared."""
        return state._replace(done=[tf.tile(d, [repeats, 1]) for d in state.done],
                              opened=[tf.tile(o, [repeats, 1, 1]) for o in state.opened])

    def append(self, state, position, token, use_native=True):
        """Adds token [N] at `position` (an int or int32 scalar tensor): window
        p = position − j gets its term C_position[j], j < h; the window that
        this completes (j = h − 1) joins the running max. use_native: as feature."""
        terms, suffix, done, opened = state
        table = isinstance(state, TableState)
        contrib = terms if table else tf.matmul(self.disc.embed(token), terms)       # [V + 1 or N, Σ h·n]
        ops = native.prefix_ops() if use_native else None
        if ops is not None:  # a CPU op: int32 rows of contrib (the embedding rows, or each row's own)
            rows = token - PAD_ID if table else tf.range(tf.shape(token)[0])
            new_done, new_open = ops[0](tf.cast(position, tf.int32), contrib, rows, done, opened, self._biases())
            return state._replace(done=list(new_done), opened=list(new_open))
        if table:  # int64 index arithmetic (GPU kernels for int32 keep their tensors in host memory)
            contrib = tf.gather(terms, tf.cast(token, tf.int64) - PAD_ID)
        new_done, new_open = [], []
        for best, win, c, h, b in zip(done, opened, self._per_filter(contrib, [tf.shape(token)[0]]), self.widths,
                                      self.disc.conv_biases):
            last = c[:, h - 1] if h == 1 else win[:, h - 2] + c[:, h - 1]               # window p = position − h + 1
            best = tf.where(position >= h - 1, tf.maximum(best, last + b), best)
            new_done.append(best)
            new_open.append(tf.concat([c[:, :1], win[:, :h - 2] + c[:, 1:h - 1]], axis=1) if h > 1 else win)
        return state._replace(done=new_done, opened=new_open)
