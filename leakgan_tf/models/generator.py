"""The LeakGAN generator: Manager + Worker wired by the leaked features of the
discriminator (spec §4.3–§4.5).

Three computations, each meant to run inside a compiled tf.function:
  teacher_forced(x)   the pass behind every loss: token log-probs and the
                      (feature change, goal) pairs of Manager and Worker
  sample(...)         free-running generation from the empty prefix
  rollout(x, tf_out)  Monte Carlo completions of every prefix c, 2c, …, T−c,
                      started from the teacher-forced states (the generator's
                      weights are the same, so re-encoding the prefix, as the
                      original does, would give the same states)
Sampling and rollouts draw tokens in a tf.while_loop over the position (free_run),
so their graph does not grow with T; rollouts run one loop per prefix length.

`goal_schedule` selects which sub-goals steer each token (goals.py):
  "block"    the original's block sums (sampling and teacher forcing use the
             windows of spec §4.2; the rollout feeds f_n to the Manager twice)
  "sliding"  paper Eq. 4, goal(t) = Σ_{i=1..c} g_{max(t−i,0)}, the same in
             sampling, teacher forcing and rollouts: a rollout from prefix n
             continues exactly as the sampling loop would (Manager state after
             f_{n−1}, history g_{n−c} … g_{n−1}; f_n is consumed once).
"""
from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import TYPE_CHECKING

import tensorflow as tf

from leakgan_tf import goals, switches
from leakgan_tf.models.leaked import PlainPrefixFeatures
from leakgan_tf.models.sampling import draw_tokens, fold_in, seeded_chunks

if TYPE_CHECKING:
    from leakgan_tf.models import Discriminator, Manager, Worker
    from leakgan_tf.models.leaked import IncrementalPrefixFeatures

LOG_PROB_FLOOR = -46.051702  # log(1e-20): the original clips probabilities at 1e-20

TeacherForced = collections.namedtuple("TeacherForced", [
    "log_probs",             # [B, T] log p(x_t | x_<t), clipped at log(1e-20)
    "features",              # [B, T+1, D_f] f_i of every prefix
    "segment_change",        # [B, K, D_f] f_{c(k+1)} − f_{ck}
    "segment_goals",         # [B, K, D_f] the Manager's goal for segment k ("block": the goal of tokens
                             #   ck … ck+c−1; "sliding": g_{ck}); see teacher_forced
    "token_change",          # [B, T, D_f] f_{t+1} − f_{c⌊t/c⌋} (both schedules)
    "token_goals",           # [B, T, D_f] goal used for token t
    "worker_state",          # ([B, T, H], [B, T, H]) after consuming the input of token t
    "manager_state",         # ([B, T+1, H], [B, T+1, H]) after consuming f_i
    "block_goals",           # [B, K+1, D_f] goal at tokens 0, c, …, T ("block": the train windows)
    "subgoals",              # [B, T+1, D_f] g_i, emitted after consuming f_i
])

FreeRunState = collections.namedtuple("FreeRunState", [
    "worker", "manager",     # LSTM (h, c) pairs
    "goal", "accumulated",   # "block": current block goal and the running sum of sub-goals [N, D_f]
    "last_token",            # [N] the Worker's next input
    "prefix",                # feature-path state of the prefix
    "history",               # "sliding": [N, c, D_f] the sub-goals g_{max(s−c,0)} … g_{max(s−1,0)} summed
                             #   for token s, oldest first (goals.sliding_step); "block": ()
], defaults=[()])


class Generator:
    """Wires a Manager, a Worker and the Discriminator whose features leak.

    Args:
      manager, worker, discriminator: the Keras models.
      seq_len: T; step_size: c (T must be a multiple of c).
      prefix_features: the leaked-feature path (default: the plain recomputation).
      goal_schedule: "block" (the original) or "sliding" (paper Eq. 4); goals.py.
      native_sampling: draw tokens and advance the leaked features' free-running
        state with the native ops where they can be had (sampling.py, leaked.py);
        False inside XLA (no kernels there).
    """

    def __init__(self, manager: Manager, worker: Worker, discriminator: Discriminator, seq_len: int, step_size: int,
                 prefix_features: PlainPrefixFeatures | IncrementalPrefixFeatures | None = None,
                 goal_schedule: str = "block", native_sampling: bool = True):
        if seq_len % step_size:
            raise ValueError(f"seq_len {seq_len} is not a multiple of step_size {step_size}")
        switches.check("goal_schedule", goal_schedule, ValueError)
        self.goal_schedule = goal_schedule
        self.manager, self.worker, self.disc = manager, worker, discriminator
        self.seq_len, self.step_size = seq_len, step_size
        self.num_blocks = seq_len // step_size
        self.batch_size = manager.batch_size
        self.prefix = prefix_features or PlainPrefixFeatures(discriminator)
        self.native_sampling = native_sampling

    # ---------------------------------------------------------------- teacher forcing
    def teacher_forced(self, tokens: tf.Tensor, features: tf.Tensor | None = None, goal_offset: tf.Tensor | None = None,
                       beta: float | None = None) -> TeacherForced:
        """tokens int [B, T] -> TeacherForced (spec §4.4). goal_offset: the first G0
        row of these tokens when they are a replica's share of a batch. beta: an
        inverse temperature for log_probs (logits × β, the distribution sampling at
        β draws from); None = 1, the training distribution.

        segment_goals[:, k], the goal the Manager is judged on for segment k
        (paired with f_{c(k+1)} − f_{ck}):
          "block"    the block goal used for tokens ck … ck+c−1 (G0 for k = 0)
          "sliding"  g_{ck}, the sub-goal emitted on f_{ck} (paper Eq. 7/10:
                     cos(f_{t+c} − f_t, g_t) at t = ck)
        """
        c, T = self.step_size, self.seq_len
        if features is None:
            features = tf.stop_gradient(self.prefix.all_prefixes(tokens))
        batch = tf.shape(tokens)[0]
        subgoals, mh, mc = self.manager(features)                       # [B, T+1, ·]
        if self.goal_schedule == "block":
            g0 = self.manager.initial_goal(batch, goal_offset)
            blocks = goals.block_goals(subgoals, g0, c, "train")        # [B, K+1, D_f]
            tok_goals = goals.token_goals(blocks, c, T)
            seg_goals = blocks[:, :self.num_blocks]
        else:
            sliding = goals.sliding_goals(subgoals, c, T + 1)           # goal(t), t = 0..T
            tok_goals = sliding[:, :T]
            blocks = sliding[:, ::c]
            seg_goals = subgoals[:, 0:T:c]
        # The goal is a constant for the Worker (the paper's "no BP" arrow; the
        # original differentiates the Worker loss w.r.t. Worker variables only).
        tok_goals = tf.stop_gradient(tok_goals)
        wh, wc = self.worker(tokens)
        w = self.worker.goal_embedding(tok_goals)                       # [B, T, k]
        kernel, bias = self.worker.output_weights()
        logits = self.worker.logits(tf.reshape(wh, [-1, wh.shape[-1]]), tf.reshape(w, [-1, w.shape[-1]]),
                                    (kernel, bias))
        logits = tf.reshape(logits, [batch, T, -1])
        if beta is not None:
            logits = logits * beta
        # int64 indices: the gather's gradient offsets them, int32 arithmetic a GPU keeps in host memory
        log_p = tf.gather(tf.nn.log_softmax(logits), tf.cast(tokens, tf.int64), batch_dims=2)
        block_start = features[:, 0:T:c]                                # f_{ck}, k = 0..K−1
        return TeacherForced(
            log_probs=tf.maximum(log_p, LOG_PROB_FLOOR),
            features=features,
            segment_change=features[:, c::c] - block_start,
            segment_goals=seg_goals,
            token_change=features[:, 1:] - tf.repeat(block_start, c, axis=1),
            token_goals=tok_goals,
            worker_state=(wh, wc),
            manager_state=(mh, mc),
            block_goals=blocks,
            subgoals=subgoals,
        )

    # ---------------------------------------------------------------- free running
    def initial_state(self, batch):
        """State before the first token: zero LSTMs, goal G0, input = start token."""
        tokens = tf.fill([batch, self.seq_len], 0)
        zeros = tf.zeros([batch, self.manager.feature_dim])
        return FreeRunState(
            worker=self.worker.lstm.zero_state(batch), manager=self.manager.lstm.zero_state(batch),
            goal=self.manager.initial_goal(batch), accumulated=zeros,
            last_token=tf.fill([batch], self.worker.start_token),
            prefix=self.prefix.start(tokens, 0),
            history=tf.zeros([batch, self.step_size, self.manager.feature_dim]) if self.goal_schedule == "sliding"
            else ())

    def _steering_positions(self):
        """Positions s < L whose sub-goal g_s steers a token: L = T − c for "block"
        (the last block's sum is never used), T − 1 for "sliding" (g_s steers
        tokens s+1 … s+c; g_0 also token 0)."""
        if self.goal_schedule == "block":
            return self.seq_len - self.step_size
        return max(self.seq_len - 1, 1)

    def _step(self, state, s, betas, seed, out_weights, steer=True, native=True, first_row=0):
        """Draws token s (an int32 scalar tensor) from FreeRunState `state`; row i
        with uniform first_row + i of (seed, s) (sampling.uniforms).

        steer=False, for positions whose sub-goal steers no token, skips the
        Manager and the prefix features (the unrolled graph pruned this dead work).
        Returns (goal used [N, D_f], token [N], state after it).
        """
        m_state, prefix, goal, acc, history = state.manager, state.prefix, state.goal, state.accumulated, state.history
        g = None
        if steer:
            f = self.prefix.feature(prefix, s, use_native=native)        # f_s
            m_state = self.manager.lstm.step(self.manager.lstm.project(f), m_state)
            g = self.manager.subgoal(m_state[0])                         # g_s
        if self.goal_schedule == "sliding":
            used, history = goals.sliding_step(history, g, s)
        else:
            used = goal
            if steer:
                acc = acc + g
                block_end = tf.equal((s + 1) % self.step_size, 0)
                goal, acc = tf.where(block_end, acc, goal), tf.where(block_end, tf.zeros_like(acc), acc)
        w_state = self.worker.lstm.step(self.worker.lstm.project(self.worker.embed(state.last_token)), state.worker)
        logits = self.worker.logits(w_state[0], self.worker.goal_embedding(used), out_weights)
        y = draw_tokens(logits, betas[s], seed, s, use_native=native, first_row=first_row)
        if steer:
            prefix = self.prefix.append(prefix, s, y, use_native=native)
        return used, y, FreeRunState(worker=w_state, manager=m_state, goal=goal, accumulated=acc, last_token=y,
                                     prefix=prefix, history=history)

    def free_run(self, state, start, betas, seed, trace=None, portable=False, table=None, first_row=0):
        """Samples tokens start..T−1 (spec §4.3; §4.5 phase B) in tf.while_loops
        over the position, so the graph does not grow with T.

        Args:
          state: FreeRunState after `start` tokens.
          start: Python int, the number of tokens already fixed.
          betas: inverse temperature per position, a length-T sequence
            (Python floats or scalar tensors) or a [T] tensor; logits are multiplied by β.
          seed: int [2] stateless seed; row i draws element first_row + i of each
            position's stream (sampling.uniforms), so rows drawn in parts (replicas,
            rollout repeats) are the rows one call would draw.
          trace: optional Python list; the goal used for each drawn token
            ([N, D_f], before W_ψ) is appended to it (for tests). The steps are
            then unrolled in Python (the same step function).
          portable: TensorFlow's ops even where the native sampling and prefix-state
            ops could run (exports, and the rows they must reproduce).
          table: the prefix path's per-token terms table (leaked.with_table), when
            the caller made it for several calls.
        Returns:
          (new tokens [N, T − start], final state). The final state's Manager,
          goal sums and prefix features stop at the last position whose
          sub-goal steers a token (see _steering_positions); its prefix state may
          hold the per-token table instead of the packed kernel.
        """
        betas = tf.convert_to_tensor(betas, tf.float32)
        native = self.native_sampling and not portable
        out_weights = self.worker.output_weights()
        live = self._steering_positions()
        state = state._replace(prefix=self.prefix.with_table(state.prefix, state.last_token.shape[0],
                                                             live - start, table))
        if trace is not None:
            sampled = []
            for s in range(start, self.seq_len):
                used, y, state = self._step(state, tf.constant(s), betas, seed, out_weights, steer=s < live,
                                            native=native, first_row=first_row)
                trace.append(used)
                sampled.append(y)
            return tf.stack(sampled, axis=1), state

        sampled = tf.TensorArray(tf.int32, size=self.seq_len - start, element_shape=state.last_token.shape)
        # one loop over the steering positions, one over the rest (Worker only)
        for lo, hi, steer in ((start, live, True), (max(start, live), self.seq_len, False)):
            def body(s, state, sampled, steer=steer):
                _, y, state = self._step(state, s, betas, seed, out_weights, steer, native, first_row)
                return s + 1, state, sampled.write(s - start, y)

            if lo < hi:
                _, state, sampled = tf.while_loop(lambda s, *_, hi=hi: s < hi, body,
                                                  (tf.constant(lo), state, sampled))
        return tf.transpose(sampled.stack()), state

    def sample(self, batch: int, betas: Sequence[float] | tf.Tensor, seed: tf.Tensor,
               portable: bool = False, first_row: tf.Tensor | int = 0) -> tf.Tensor:
        """batch (a multiple of the model batch size) sequences: int32 [batch, T],
        rows first_row … first_row + batch − 1 of the draws under seed [2] (a replica
        drawing its share passes its first row); portable: see free_run."""
        tokens, _ = self.free_run(self.initial_state(batch), 0, betas, seed, portable=portable, first_row=first_row)
        return tokens

    def sample_seeded(self, num, betas, seed, chunk):
        """num sequences int32 [num, T] from one integer seed: chunk i of `chunk`
        rows (a multiple of the model batch size) is drawn with the stateless
        seed (seed, i), so the first rows do not depend on num and the same
        (seed, β, chunk) gives the same rows wherever this runs (the SavedModel's
        `generate`, `leakgan_tf.sample`: TensorFlow's sampling ops, which a SavedModel
        can hold, not the native op). num and seed may be tensors."""
        return seeded_chunks(lambda rows, s: self.sample(rows, betas, s, portable=True), num, seed, chunk,
                             self.seq_len)

    # ---------------------------------------------------------------- rollouts
    def rollout_state(self, tokens, tf_out, length, repeats):
        """Free-run state after the first `length` (a multiple of c) tokens, from the
        teacher-forced pass, tiled `repeats` times: rows r·B + b.

        "block": the original's phase A (Manager after f_length, so the first
        free step feeds f_length again; goal = the train-window block goal).
        "sliding": the sampling loop's state before step `length` (Manager after
        f_{length−1}, history g_{length−c} … g_{length−1})."""
        tile = lambda x: tf.tile(x, [repeats] + [1] * (len(x.shape) - 1))  # noqa: E731
        wh, wc = tf_out.worker_state
        mh, mc = tf_out.manager_state
        goal = tf_out.block_goals[:, length // self.step_size]
        # The prefix state is built once per sequence, then repeated (not rebuilt per rollout).
        prefix = self.prefix.repeat(self.prefix.start(tokens, length), repeats)
        tokens = tile(tokens)
        if self.goal_schedule == "sliding":
            manager = (tile(mh[:, length - 1]), tile(mc[:, length - 1]))
            oldest_first = goals.sliding_window_indices(length, self.step_size)[::-1]
            history = tile(tf.gather(tf_out.subgoals, oldest_first, axis=1))
        else:
            manager, history = (tile(mh[:, length]), tile(mc[:, length])), ()
        return FreeRunState(
            worker=(tile(wh[:, length - 1]), tile(wc[:, length - 1])),
            manager=manager,
            goal=tile(goal), accumulated=tf.zeros_like(tile(goal)),
            last_token=tokens[:, length - 1],
            prefix=prefix,
            history=history)

    def rollout(self, tokens: tf.Tensor, tf_out: TeacherForced, rollout_num: int, seed: tf.Tensor,
                beta: float = 1.0, first_repeat: int | tf.Tensor = 0) -> tf.Tensor:
        """Monte Carlo completions of x[:, :n] for n = c, 2c, …, T − c.

        "block": the manager consumes f_n a second time at the first free step,
        as the original's rollout graph does (spec §4.5). "sliding": it
        continues exactly as the sampling loop (see rollout_state).
        Repeat j of prefix length n draws rows j·B … (j+1)·B − 1 of the stream
        fold_in(seed, m), so repeats first_repeat … first_repeat+rollout_num−1
        are the same rows whichever replica computes them.
        Returns int32 [K−1, rollout_num, B, T].
        """
        batch = tf.shape(tokens)[0]
        tf_out = tf.nest.map_structure(tf.stop_gradient, tf_out)
        betas = [beta] * self.seq_len
        table = self.prefix.token_table()  # one for every prefix length (unused ones are pruned)
        out = []
        for m in range(1, self.num_blocks):
            n = m * self.step_size
            state = self.rollout_state(tokens, tf_out, n, rollout_num)
            tail, _ = self.free_run(state, n, betas, fold_in(seed, m), table=table,
                                    first_row=tf.cast(first_repeat, tf.int64) * tf.cast(batch, tf.int64))
            full = tf.concat([tf.tile(tokens[:, :n], [rollout_num, 1]), tail], axis=1)
            out.append(tf.reshape(full, [rollout_num, batch, self.seq_len]))
        return tf.stack(out, axis=0)
