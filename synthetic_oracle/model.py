"""The SeqGAN/LeakGAN oracle LSTM (spec §8) as a Keras model.

With x_t the embedding of the previous token (token 0 as start input at t = 0):
  i = σ(x Wi + h Ui + bi), f = σ(x Wf + h Uf + bf), o = σ(x Wog + h Uog + bog),
  ĉ = tanh(x Wc + h Uc + bc), c' = f c + i ĉ, h' = o tanh(c'),
  logits = h' Wo + bo, h0 = c0 = 0.
"""
import keras
import numpy as np
import tensorflow as tf

from synthetic_oracle import params as params_lib
from synthetic_oracle.errors import OracleError

# experiments/bench_oracle.py: on 2 cores, generation batches 500-10000 are within noise and
# NLL batches of 250-500 are fastest; 2000 keeps each [B, V] tensor at 40 MB for V = 5000.
GENERATE_BATCH = 2000
NLL_BATCH = 500


def seed_tensor(seed):
    """An int seed in [0, 2^63) as a stateless-RNG seed, int64 [2]."""
    seed = int(seed)
    if not 0 <= seed < 2 ** 63:
        raise OracleError(f"seed {seed} must lie in [0, 2^63)")
    return tf.constant([seed & 0xFFFFFFFF, seed >> 32], tf.int64)


def block_size(vocab):
    """Block width for sample_softmax: a divisor of vocab near sqrt(vocab)
    (no padding), else ceil(sqrt(vocab))."""
    root = int(np.ceil(np.sqrt(vocab)))
    return next((d for d in range(root, 2 * root) if vocab % d == 0), root)


def sample_softmax(logits, seed, block):
    """One id per row of logits [B, V] drawn from softmax(logits), int32 [B].

    Exact two-stage sampling: pick a block of `block` consecutive ids with
    probability ∝ its softmax mass, then an id inside the block from its
    logits. Same distribution as tf.random.stateless_categorical on all V,
    about twice as fast on CPU (that kernel's per-element loop is scalar).
    """
    vocab = logits.shape[1]
    num_blocks = -(-vocab // block)
    if num_blocks * block != vocab:
        logits = tf.pad(logits, [[0, 0], [0, num_blocks * block - vocab]], constant_values=-np.inf)
    blocks = tf.reshape(logits, [-1, num_blocks, block])
    peak = tf.reduce_max(logits, 1)[:, None, None]
    log_mass = tf.math.log(tf.reduce_sum(tf.exp(blocks - peak), 2))          # [B, num_blocks]
    seed_block, seed_inner = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    chosen = tf.random.stateless_categorical(log_mass, 1, seed_block, dtype=tf.int32)[:, 0]
    inner = tf.gather(blocks, chosen, batch_dims=1)                          # [B, block]
    return chosen * block + tf.random.stateless_categorical(inner, 1, seed_inner, dtype=tf.int32)[:, 0]


class OracleLSTM(keras.Model):
    """Oracle with fixed (non-trainable) parameters {name: array} (params.NAMES)."""

    def __init__(self, params, name="oracle", **kwargs):
        super().__init__(name=name, **kwargs)
        params = params_lib.check_params(params)
        self.vocab_size, self.emb_dim = params["embedding"].shape
        self.hidden_dim = params["Wi"].shape[1]
        self._block = block_size(self.vocab_size)
        for n in params_lib.NAMES:
            setattr(self, n, tf.Variable(params[n], trainable=False, name=n))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_seed(cls, seed, vocab, emb, hidden):
        """N(0, 1) oracle named by a seed (params.random_params)."""
        return cls(params_lib.random_params(seed, vocab, emb, hidden))

    @classmethod
    def from_npz(cls, path):
        return cls(params_lib.load_npz(path))

    def get_params(self):
        """{name: float32 numpy array} in params.NAMES order."""
        return {n: getattr(self, n).numpy() for n in params_lib.NAMES}

    def save_npz(self, path):
        params_lib.save_npz(path, self.get_params())

    # ------------------------------------------------------------------ LSTM
    def _packed(self):
        """Gates packed in order i, f, o, ĉ: table [V, 4H] = embedding·W + b
        (the input projection of every token) and U [H, 4H]."""
        w = tf.concat([self.Wi, self.Wf, self.Wog, self.Wc], 1)
        u = tf.concat([self.Ui, self.Uf, self.Uog, self.Uc], 1)
        b = tf.concat([self.bi, self.bf, self.bog, self.bc], 0)
        return tf.matmul(self.embedding, w) + b, u

    @staticmethod
    def _cell(x_proj, h, c, u):
        i, f, o, g = tf.split(x_proj + tf.matmul(h, u), 4, axis=1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return tf.sigmoid(o) * tf.tanh(c), c

    def _states(self, tokens):
        """Teacher-forced hidden states [B, T, H]; state t predicts tokens[:, t]."""
        table, u = self._packed()
        batch, length = tf.shape(tokens)[0], tokens.shape[1]
        proj = tf.gather(table, tokens)                      # [B, T, 4H]
        h = c = tf.zeros([batch, self.hidden_dim])
        x = tf.broadcast_to(table[0], [batch, 4 * self.hidden_dim])
        states = []
        for t in range(length):
            h, c = self._cell(x, h, c, u)
            states.append(h)
            x = proj[:, t]
        return tf.stack(states, 1)

    @tf.function(autograph=False)  # plain Python loops, unrolled at trace time
    def _logits(self, tokens):
        return tf.einsum("bth,hv->btv", self._states(tokens), self.Wo) + self.bo

    def call(self, tokens):
        """Teacher-forced logits [B, T, V] for int tokens [B, T]."""
        return self._logits(tf.convert_to_tensor(tokens, tf.int32))

    @tf.function(autograph=False)  # plain Python loops, unrolled at trace time
    def _nll_sums(self, tokens):
        """Σ_t −log p(x_t | x_<t) per row, float32 [B]."""
        states = self._states(tokens)
        total = tf.zeros([tf.shape(tokens)[0]])
        for t in range(tokens.shape[1]):  # one [B, V] slice at a time keeps memory small
            logits = tf.matmul(states[:, t], self.Wo) + self.bo
            # −log softmax at the target; faster on CPU than sparse_softmax_cross_entropy
            total += tf.reduce_logsumexp(logits, 1) - tf.gather(logits, tokens[:, t], batch_dims=1)
        return total

    @tf.function(autograph=False)  # plain Python loops, unrolled at trace time
    def _sample(self, seed, batch, length, draw=None):
        """int32 [batch, length] sampled at temperature 1 (spec §8: multinomial over
        softmax(logits)); step t uses seed fold_in(seed, t). draw: see generate."""
        table, u = self._packed()
        h = c = tf.zeros([batch, self.hidden_dim])
        x = tf.broadcast_to(table[0], [batch, 4 * self.hidden_dim])
        out = []
        for t in range(length):
            h, c = self._cell(x, h, c, u)
            logits = tf.matmul(h, self.Wo) + self.bo
            step_seed = tf.random.experimental.stateless_fold_in(seed, tf.constant(t, tf.int64))  # 64-bit words
            token = sample_softmax(logits, step_seed, self._block) if draw is None else draw(logits, step_seed)
            out.append(token)
            x = tf.gather(table, token)
        return tf.stack(out, 1)

    # ------------------------------------------------------------------ public API
    def generate(self, num, length, seed, batch_size=GENERATE_BATCH, draw=None):
        """np.int32 [num, length] of oracle samples. Batch k uses seed
        fold_in(seed, k): the same (seed, batch_size, draw) gives the same samples.
        draw: another exact sampler (logits [B, V], seed [2]) -> int32 [B] to use
        instead of sample_softmax (one function object: each new one retraces)."""
        num, length = int(num), int(length)
        if num < 1 or length < 1:
            raise OracleError(f"cannot generate {num} samples of length {length}; both must be positive")
        base = seed_tensor(seed)
        batch = min(int(batch_size), num)
        chunks = [self._sample(tf.random.experimental.stateless_fold_in(base, tf.constant(k, tf.int64)), batch,
                               length, draw).numpy()
                  for k in range(-(-num // batch))]
        return np.concatenate(chunks)[:num]

    def log_probs(self, tokens, batch_size=NLL_BATCH):
        """Per-sequence log-probabilities Σ_t log p(x_t | x_<t) (nats, float64 [N]) of
        int tokens [N, T], teacher forced, no clipping; computed in float32 in batches of
        batch_size rows (the tail padded), as nll."""
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or tokens.size == 0 or not np.issubdtype(tokens.dtype, np.integer):
            raise OracleError(f"NLL needs a non-empty integer array [N, T], got {tokens.dtype} {tokens.shape}")
        bad = np.argwhere((tokens < 0) | (tokens >= self.vocab_size))
        if len(bad):
            r, c = bad[0]
            raise OracleError(f"token id {tokens[r, c]} (sequence {r + 1}, position {c + 1}) is outside the "
                            f"oracle vocabulary [0, {self.vocab_size})")
        tokens = tokens.astype(np.int32)
        n = len(tokens)
        batch = min(int(batch_size), n)
        sums = []
        for start in range(0, n, batch):
            chunk = tokens[start:start + batch]
            rows = len(chunk)
            if rows < batch:  # pad the tail so that one trace serves every batch
                chunk = np.concatenate([chunk, np.zeros((batch - rows, chunk.shape[1]), np.int32)])
            sums.append(self._nll_sums(tf.constant(chunk)).numpy()[:rows])
        return -np.concatenate(sums).astype(np.float64)

    def nll(self, tokens, batch_size=NLL_BATCH):
        """Mean per-token negative log-likelihood (nats) of int tokens [N, T],
        teacher forced, no clipping: the original's NLL-oracle (spec §8)."""
        tokens = np.asarray(tokens)
        return self.nll_from_log_probs(self.log_probs(tokens, batch_size), tokens.shape[1], batch_size)

    @staticmethod
    def nll_from_log_probs(log_probs, length, batch_size=NLL_BATCH):
        """nll of the rows whose log_probs [N] these are (sequences of `length` tokens),
        summed batch by batch as nll sums them: nll(x) == nll_from_log_probs(log_probs(x),
        T), to the last bit, so one oracle pass serves both."""
        log_probs = np.asarray(log_probs, np.float64)
        batch = min(int(batch_size), len(log_probs))
        total = 0.0
        for start in range(0, len(log_probs), batch):
            total -= float(np.sum(log_probs[start:start + batch]))
        return total / (len(log_probs) * int(length))

    def ground_truth_nll(self, num, length, seed, batch_size=GENERATE_BATCH):
        """NLL of num fresh samples: the oracle's entropy rate ("Groud-Truth")."""
        return self.nll(self.generate(num, length, seed, batch_size))
