"""SeqGAN's generator (Yu et al., AAAI 2017; the official `generator.py`): token
embeddings, one hand-written LSTM (`LSTMWeights`: the same gates i, f, o and
candidate, N(0, 0.1²) weights and biases, no forget offset) and a linear output
layer, sampled at inverse temperature β by `sampling.draw_tokens`.

Three computations, each meant to run inside a compiled tf.function:
  teacher_forced(x)        log p(x_t | x_<t) and the LSTM states (every loss)
  sample(...)              free running from the start token
  rollout(x, states, R)    Monte Carlo completions of every prefix 1 … T−1,
                           R repeats each, started from the teacher-forced states
Free running is a tf.while_loop over the position (its graph does not grow with T).
"""
from __future__ import annotations

import collections
from collections.abc import Sequence

import keras
import tensorflow as tf

from leakgan_tf.models import initializers as init
from leakgan_tf.models.lstm import LSTMWeights
from leakgan_tf.models.sampling import draw_tokens, fold_in, seeded_chunks

LOG_PROB_FLOOR = -46.051702  # log(1e-20): the original clips probabilities at 1e-20

TeacherForced = collections.namedtuple("TeacherForced", [
    "log_probs",  # [B, T] log p(x_t | x_<t), clipped at log(1e-20)
    "states",     # ([B, T, H], [B, T, H]) (h, c) after consuming the input of token t
])


class SeqGANGenerator(keras.Model):
    """Emb [V, E] -> LSTM (hidden H) -> logits = h·W_out + b_out [V].

    Token t is predicted from the state that consumed [start, x_0, …, x_{t−1}];
    the start token's embedding is the first input (as the original).
    """

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int, seq_len: int, start_token: int = 0,
                 native_sampling: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.seq_len, self.start_token = vocab_size, seq_len, start_token
        self.native_sampling = native_sampling
        self.embedding = self.add_weight(shape=(vocab_size, emb_dim), initializer=init.normal(0.1), name="embedding")
        self.lstm = LSTMWeights(emb_dim, hidden_dim, name=f"{self.name}_lstm")
        self.out_kernel = self.add_weight(shape=(hidden_dim, vocab_size), initializer=init.normal(0.1),
                                          name="out_kernel")
        self.out_bias = self.add_weight(shape=(vocab_size,), initializer=init.normal(0.1), name="out_bias")
        self.built = True  # every weight is created above

    def logits(self, h: tf.Tensor) -> tf.Tensor:
        """h [..., H] -> logits [..., V]."""
        return tf.tensordot(h, self.out_kernel, axes=1) + self.out_bias

    def embed(self, tokens: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.embedding, tokens)

    def call(self, tokens: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Teacher-forced LSTM over inputs [start, x_0, …, x_{T−2}]: tokens [B, T] ->
        (h [B, T, H], c [B, T, H]); state t has consumed the input of token t."""
        batch = tf.shape(tokens)[0]
        inputs = tf.concat([tf.fill([batch, 1], self.start_token), tokens[:, :-1]], axis=1)
        return self.lstm.teacher_forced(self.embed(inputs))

    def teacher_forced(self, tokens: tf.Tensor, beta: float | tf.Tensor | None = None) -> TeacherForced:
        """tokens int [B, T] -> TeacherForced; beta: log_probs of softmax(β·logits)
        (the distribution sampling at β draws from); None = 1."""
        h, c = self(tokens)
        logits = self.logits(h)                                                   # [B, T, V]
        if beta is not None:
            logits = logits * beta
        log_p = tf.gather(tf.nn.log_softmax(logits), tokens, batch_dims=2)
        return TeacherForced(log_probs=tf.maximum(log_p, LOG_PROB_FLOOR), states=(h, c))

    # ---------------------------------------------------------------- free running
    def free_run(self, state: tuple, last_token: tf.Tensor, start: int, betas, seed: tf.Tensor,
                 portable: bool = False, first_row: tf.Tensor | int = 0) -> tf.Tensor:
        """Draws tokens start … T−1 in a tf.while_loop over the position.

        Args:
          state: (h, c) [N, H] after the inputs before token `start`.
          last_token: int32 [N], the input of token `start` (the start token, or x_{start−1}).
          start: Python int, the tokens already fixed.
          betas: inverse temperature per position: a length-T sequence or a [T] tensor.
          seed: int64 [2]; row i draws element first_row + i of each position's stream
            (sampling.uniforms), so rows drawn in parts are the rows of one call.
          portable: TensorFlow's sampling ops even where the native op could run (exports).
        Returns: int32 [N, T − start].
        """
        betas = tf.convert_to_tensor(betas, tf.float32)
        native = self.native_sampling and not portable
        sampled = tf.TensorArray(tf.int32, size=self.seq_len - start, element_shape=last_token.shape)

        def body(s, state, token, sampled):
            state = self.lstm.step(self.lstm.project(self.embed(token)), state)
            y = draw_tokens(self.logits(state[0]), betas[s], seed, s, use_native=native, first_row=first_row)
            return s + 1, state, y, sampled.write(s - start, y)

        _, _, _, sampled = tf.while_loop(lambda s, *_: s < self.seq_len, body,
                                         (tf.constant(start), state, last_token, sampled))
        return tf.transpose(sampled.stack())

    def sample(self, batch: int, betas: Sequence[float] | tf.Tensor, seed: tf.Tensor, portable: bool = False,
               first_row: tf.Tensor | int = 0) -> tf.Tensor:
        """batch sequences int32 [batch, T]: rows first_row … first_row + batch − 1 of
        the draws under seed [2]; portable: see free_run."""
        return self.free_run(self.lstm.zero_state(batch), tf.fill([batch], self.start_token), 0, betas, seed,
                             portable=portable, first_row=first_row)

    def sample_seeded(self, num, betas, seed, chunk: int) -> tf.Tensor:
        """num sequences int32 [num, T] from one integer seed: chunk i of `chunk` rows
        is drawn with the stateless seed (seed, i) in TensorFlow's ops, as the export's
        generate and `leakgan_tf.sample` draw them. num and seed may be tensors."""
        return seeded_chunks(lambda rows, s: self.sample(rows, betas, s, portable=True), num, seed, chunk,
                             self.seq_len)

    # ---------------------------------------------------------------- rollouts
    def rollout(self, tokens: tf.Tensor, states: tuple[tf.Tensor, tf.Tensor], rollout_num: int, seed: tf.Tensor,
                beta: float = 1.0) -> tf.Tensor:
        """Monte Carlo completions of x[:, :n] for n = 1 … T−1 (the original's given_num),
        rollout_num repeats each, all in one graph: one while loop per prefix length over
        its rollout_num · B rows (repeat r = rows r·B … (r+1)·B − 1 of the stream
        fold_in(seed, n)).

        tokens [B, T]; states: the teacher-forced (h, c) [B, T, H] of tokens under this
        network's weights (teacher_forced(tokens).states): a rollout of prefix n starts
        from state n − 1 with input x_{n−1}, as the original's rollout graph reaches it.
        Returns int32 [T − 1, rollout_num, B, T].
        """
        batch = tf.shape(tokens)[0]
        h, c = (tf.stop_gradient(s) for s in states)
        tile = lambda x: tf.tile(x, [rollout_num] + [1] * (len(x.shape) - 1))  # noqa: E731
        betas = [beta] * self.seq_len
        out = []
        for n in range(1, self.seq_len):
            tail = self.free_run((tile(h[:, n - 1]), tile(c[:, n - 1])), tile(tokens[:, n - 1]), n, betas,
                                 fold_in(seed, n))
            full = tf.concat([tile(tokens[:, :n]), tail], axis=1)
            out.append(tf.reshape(full, [rollout_num, batch, self.seq_len]))
        return tf.stack(out, axis=0)
