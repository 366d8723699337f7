"""LeakGAN assembled: the three Keras models, the five optimizers of the
original (D, pretrain-Manager, pretrain-Worker, adversarial-Manager,
adversarial-Worker) and the compiled train steps.

Every step is one `tf.function` call. Free-running loops (sampling, rollouts) are
`tf.while_loop`s over the position; the teacher-forced LSTMs are unrolled (T static).
The code/paper switches (spec §13) pick functions, not copies of a step:
goal_schedule and goal_normalize configure the Generator and Worker,
adversarial_loss picks the loss pair (losses.adversarial_losses) and
reward_rescale / rescale_delta the reward rescale (rewards.rescale).
Randomness comes from one checkpointable `tf.random.Generator`, so a resumed
run continues the same random stream.
"""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import keras
import numpy as np
import tensorflow as tf

from leakgan_tf import kernels, losses, rewards
from leakgan_tf.errors import UserError
from leakgan_tf.kernels import compiled, cpu_ops
from leakgan_tf.models import Discriminator, Manager, Worker
from leakgan_tf.models.generator import Generator
from leakgan_tf.models.leaked import IncrementalPrefixFeatures, PlainPrefixFeatures
from leakgan_tf.models.sampling import fold_in
from leakgan_tf.optimizers import adam

if TYPE_CHECKING:
    from leakgan_tf.config import Config


_MULTIWORKER: list[tf.distribute.Strategy] = []  # the process's one MultiWorkerMirroredStrategy


def make_strategy(name: str) -> tf.distribute.Strategy:
    """tf.distribute strategy for --distribute: none (default device), mirrored
    (all local GPUs, or CPUs configured as logical devices), multiworker (TF_CONFIG).

    A multi-worker strategy configures collective ops, which TensorFlow allows only
    before the first op of the process: `main` creates it at start-up and every
    later call returns that one."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if not _MULTIWORKER:
            _MULTIWORKER.append(tf.distribute.MultiWorkerMirroredStrategy())
        return _MULTIWORKER[0]
    return tf.distribute.get_strategy()


def num_params(model: keras.Model) -> int:
    return int(sum(np.prod(v.shape) for v in model.weights))


def xla_compiles(cfg: Config, phase: str) -> bool:
    """Whether `phase`'s steps use XLA on this machine's backend (kernels.xla_phases)."""
    device = "gpu" if kernels.visible_gpus() else "cpu"
    return phase in kernels.xla_phases(cfg.xla_phases, device)


class LeakGAN:
    """Models, optimizers and compiled steps for one Config."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        keras.utils.set_random_seed(cfg.seed)
        self.rng = tf.random.Generator.from_key_counter(0, [0, 0], "philox")  # outside the scope: cross-replica code
        self.reset_rng(cfg.seed)
        self.strategy = make_strategy(cfg.distribute)
        self.replicas = self.strategy.num_replicas_in_sync
        for name, count in (("batch_size", cfg.batch_size), ("rollout_num", cfg.rollout_num),
                            ("sample_batch / batch_size", cfg.sample_batch // cfg.batch_size)):
            if count % self.replicas:
                raise UserError(f"--{name.split(' ')[0]}: {name} = {count} is not a multiple of the "
                                f"{self.replicas} replicas of --distribute={cfg.distribute}; choose sizes that split "
                                f"evenly (docs/distributed.md)")
        if cfg.deterministic:  # process-wide: every op deterministic (an error where one cannot be), no TF32
            tf.config.experimental.enable_op_determinism()
            tf.config.experimental.enable_tensor_float_32_execution(False)
        # chosen once: the device, the XLA phases, the native ops (a first build runs here, not inside a traced step)
        self.backend = kernels.choose(cfg.xla_phases, self.replicas, cfg.compute_dtype)
        with self.strategy.scope():
            self._build(cfg)

    def _build(self, cfg):
        backend = self.backend
        self.discriminator = Discriminator(
            cfg.vocab_size, cfg.seq_len, cfg.dis_emb_dim, cfg.dis_filter_sizes, cfg.dis_num_filters,
            dropout_keep_prob=cfg.dis_dropout_keep_prob, l2_reg_lambda=cfg.dis_l2_lambda,
            compute_dtype=cfg.compute_dtype, kernels=backend.discriminator_kernels(cfg.feature_path),
            name="discriminator")
        d_f = self.discriminator.feature_dim
        self.manager = Manager(d_f, cfg.gen_hidden_dim, cfg.batch_size, name="manager")
        self.worker = Worker(cfg.vocab_size, cfg.gen_emb_dim, cfg.gen_hidden_dim, cfg.goal_size, d_f,
                             start_token=cfg.start_token, normalize_goal=cfg.goal_normalize,
                             compute_dtype=cfg.compute_dtype, name="worker")
        paths = {"plain": PlainPrefixFeatures, "incremental": IncrementalPrefixFeatures}
        self.generator = Generator(self.manager, self.worker, self.discriminator, cfg.seq_len, cfg.step_size,
                                   prefix_features=paths[cfg.feature_path](self.discriminator),
                                   goal_schedule=cfg.goal_schedule,
                                   native_sampling=backend.native_sampling)
        self.adversarial_manager_loss, self.adversarial_worker_loss = losses.adversarial_losses(cfg.adversarial_loss)
        lr = cfg.gen_learning_rate
        # Generator gradients are clipped by global norm in _apply, after the
        # cross-replica sum (Keras' own clipping would clip each replica's share).
        self.optimizers = {
            "discriminator": adam(cfg.dis_learning_rate, native=backend.native_adam),
            "pretrain_manager": adam(lr),
            "pretrain_worker": adam(lr),
            "adversarial_manager": adam(lr),
            "adversarial_worker": adam(lr),
        }
        for name, opt in self.optimizers.items():
            opt.build(self._variables(name))
        self._compile_steps()

    def _compile_steps(self):
        """The compiled steps. XLA compiles a phase's whole step on one device; under a
        strategy with several replicas it compiles what each replica computes (samples,
        rollouts, losses and gradients) and the cross-replica sums and the optimizers'
        updates run around it (a cross-replica op cannot run inside XLA)."""
        compiles, one = self.backend.compiles, self.replicas == 1
        xla = lambda phase: compiles(phase) and one  # noqa: E731
        per_replica = lambda phase, fn: compiled(fn, jit_compile=True) if compiles(phase) and not one else fn  # noqa: E731
        self._sample_rows = per_replica("sampling", self.generator.sample)
        self._pretrain_gradients = per_replica("pretrain", self._pretrain_gradients_fn)
        self._discriminator_gradients = per_replica("discriminator", self._discriminator_gradients_fn)
        self._rollout_sums = per_replica("adversarial", self._rollout_sums_fn)
        self._adversarial_gradients = per_replica("adversarial", self._adversarial_gradients_fn)
        self._sample = compiled(self._sample_fn, jit_compile=xla("sampling"))
        self._sample_seeded = None  # built on first use (leakgan_tf.sample)
        self._discriminator_step = compiled(self._discriminator_step_fn, jit_compile=xla("discriminator"))
        self._discriminator_epochs = compiled(self._discriminator_epochs_fn, jit_compile=xla("discriminator"))
        self.pretrain_step = compiled(self._pretrain_step_fn, jit_compile=xla("pretrain"))
        self._adversarial_step = compiled(self._adversarial_step_fn, jit_compile=xla("adversarial"))
        self.prob_real = compiled(self.discriminator.prob_real)  # P(real) [N] of tokens [N, T], compiled
        self._nll_batch = compiled(lambda x, beta: -tf.reduce_mean(self.generator.teacher_forced(x, beta=beta)
                                                                    .log_probs))
        self._log_prob_sums = compiled(self._log_prob_sums_fn)

    def _variables(self, optimizer_name):
        if optimizer_name == "discriminator":
            return self.discriminator.trainable_variables
        return (self.manager if optimizer_name.endswith("manager") else self.worker).trainable_variables

    def param_counts(self) -> dict[str, int]:
        return {m.name: num_params(m) for m in (self.discriminator, self.manager, self.worker)}

    def runtime(self) -> dict[str, str]:
        """What this process runs on, for the start-up line and the run's runtime.json:
        the backend (devices, the phases under XLA, the native ops and why not), determinism."""
        return dict(self.backend.describe(), deterministic="on" if self.cfg.deterministic else "off",
                    tensorflow=tf.__version__)

    def reset_rng(self, seed: int, branch: int = 0) -> None:
        """Restarts the run's random stream at `seed`. The seed is Philox's key: from_seed
        would put it in the counter, which every draw advances by 256, so seeds 256 apart
        would replay one stream shifted by a draw. `branch` > 0 starts 2⁶⁴·branch draws
        in, a stream of its own (a --init_from branch with another seed)."""
        self.rng.reset_from_key_counter(seed, [0, branch])

    def next_seed(self) -> tf.Tensor:
        """A fresh int64 [2] seed from the run's random stream."""
        return self.rng.make_seeds(1)[:, 0]

    def next_numpy_seed(self) -> int:
        return int(self.rng.uniform_full_int([], tf.int64).numpy() & 0x7FFFFFFFFFFFFFFF)

    # ------------------------------------------------------------------ steps
    def _gradients(self, name, loss, tape) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """(loss, its gradient for optimizer `name`'s variables): one entry of the
        updates a step's gradient function returns (_update applies them)."""
        variables = self._variables(name)
        grads = tape.gradient(loss, variables)
        # A variable a loss does not reach (G0 under goal_schedule=sliding) gets a zero
        # gradient: Adam's moments stay 0, so it does not move.
        return loss, [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, variables)]

    def _apply(self, name, loss, tape, replicated=False):
        """Applies the gradient of loss to optimizer `name`'s variables (_update)."""
        self._update({name: self._gradients(name, loss, tape)}, replicated)

    def _update(self, updates, replicated=False):
        """Applies updates {optimizer name: (loss, gradients)}. Under a strategy, each
        replica's loss is a mean over its share of the batch and the batch's gradient
        is the mean of the replicas' gradients; replicated=True: every replica computed
        the same full-batch gradient (the adversarial step), which is applied once."""
        for name, (loss, grads) in updates.items():
            self._apply_gradients(name, loss, grads, replicated)

    def _apply_gradients(self, name, loss, grads, replicated):
        variables = self._variables(name)
        context = tf.distribute.get_replica_context()
        distributed = context is not None and context.num_replicas_in_sync > 1
        if distributed and not replicated:
            # Every replica's loss is a mean over its equal share of the batch, so the
            # batch's gradient is the mean of the replicas' gradients, on every replica.
            grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
            grads = [g / context.num_replicas_in_sync for g in grads]
        if name != "discriminator":
            grads, _ = tf.clip_by_global_norm(grads, self.cfg.grad_clip)
        if distributed:  # Keras sums the replicas' gradients again
            grads = [g / context.num_replicas_in_sync for g in grads]
        if not self.cfg.skip_nonfinite:
            self.optimizers[name].apply_gradients(zip(grads, variables))
            return
        # --skip_nonfinite: a batch whose loss or gradient is NaN/Inf changes nothing
        # (no update, no moment decay, no step count).
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads] + [tf.math.is_finite(loss)])

        def update():
            self.optimizers[name].apply_gradients(zip(grads, variables))
            return tf.constant(True)

        tf.cond(finite, update, lambda: tf.constant(False))

    def _replicated(self, gradients, batch, *shared):
        """One update from gradients(*batch rows, *shared, offset) -> (outputs, updates):
        with one replica on the whole batch (offset None); under a strategy each replica
        on its share of the batch tensors (rows split in order, offset its first row),
        the updates averaged across replicas and the outputs too."""
        if self.replicas == 1:
            outputs, updates = gradients(*batch, *shared, None)
            self._update(updates)
            return outputs

        def share(*tensors):
            ctx = tf.distribute.get_replica_context()
            rows = tf.shape(tensors[0])[0] // ctx.num_replicas_in_sync
            offset = ctx.replica_id_in_sync_group * rows
            outputs, updates = gradients(*[t[offset:offset + rows] for t in tensors], *shared, offset)
            self._update(updates)
            return outputs

        outputs = self.strategy.run(share, args=batch)
        return tf.nest.map_structure(lambda v: self.strategy.reduce("MEAN", v, axis=None), outputs)

    def _discriminator_gradients_fn(self, tokens, labels, seed, offset):
        """tokens [B, T], labels [B] (1 = real), seed int64 [2] (dropout's), offset (the
        replica's first row, or None) -> ((loss, accuracy), updates)."""
        with tf.GradientTape() as tape:
            # each replica's rows get their own dropout masks
            loss, logits = self.discriminator.classification_loss(tokens, labels, training=True,
                                                                  seed=seed if offset is None
                                                                  else fold_in(seed, offset))
        hits = tf.equal(tf.argmax(logits, -1), tf.cast(labels, tf.int64))  # int64: a GPU compares int32 on the host
        return (loss, tf.reduce_mean(tf.cast(hits, tf.float32))), {
            "discriminator": self._gradients("discriminator", loss, tape)}

    def _discriminator_step_fn(self, tokens, labels, seed):
        """tokens [B, T], labels [B] (1 = real), seed int64 [2] (dropout's) -> (loss, accuracy)."""
        return self._replicated(self._discriminator_gradients, (tokens, labels), seed)

    def _d_step_options(self):
        """The context the D steps run in: grappler's remapper off on the CPU backend."""
        return cpu_ops.without_remapper() if self.backend.remapper_off else contextlib.nullcontext()

    def dropout_seed(self) -> tf.Tensor:
        """The seed of a D update's (or round's) dropout masks: drawn from the run's stream
        only where dropout acts, so runs without it (the code variant) draw nothing."""
        return self.next_seed() if self.cfg.dis_dropout_keep_prob < 1.0 else tf.zeros([2], tf.int64)

    def discriminator_step(self, tokens: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """One D update on tokens int32 [B, T], labels int32 [B] (1 = real) ->
        (loss, accuracy), float32 scalars."""
        seed = self.dropout_seed()
        with self._d_step_options():
            return self._discriminator_step(tokens, labels, seed)

    def discriminator_epochs(self, tokens: tf.Tensor, labels: tf.Tensor, epochs: int) -> np.ndarray:
        """`epochs` passes of discriminator_step over the batches tokens int32 [S, B, T],
        labels int32 [S, B], in order, as one compiled call; returns every step's
        loss, float32 [epochs · S]. The same updates as S · epochs calls of
        discriminator_step (tests/test_steps.py) without their per-call overhead
        (about 12% of a length-20 D epoch on 2 cores: experiments/bench_d_round.py)."""
        # One trace for any number of batches (a warm-up on a few traces the full round's).
        specs = [tf.TensorSpec([None, *x.shape[1:]], tf.int32) for x in (tokens, labels)]
        run = self._discriminator_epochs.get_concrete_function(*specs, tf.TensorSpec([2], tf.int64), int(epochs))
        seed = self.dropout_seed()  # step i's masks: fold_in(seed, i)
        with self._d_step_options():
            return run(tokens, labels, seed).numpy()

    def _discriminator_epochs_fn(self, tokens, labels, seed, epochs):
        steps = tf.shape(tokens)[0]

        def step(i, losses):
            loss, _ = self._discriminator_step_fn(tokens[i % steps], labels[i % steps], fold_in(seed, i))
            return i + 1, losses.write(i, loss)
        # One step at a time (parallel_iterations=1): each reads the weights the previous one wrote.
        _, losses = tf.while_loop(lambda i, _: i < epochs * steps, step,
                                  (tf.constant(0), tf.TensorArray(tf.float32, size=epochs * steps)),
                                  parallel_iterations=1)
        return losses.stack()

    def _pretrain_gradients_fn(self, tokens, offset):
        """The MLE and Manager-pretrain losses of real tokens [B, T] (one forward pass)
        and their updates; offset: the replica's first row, or None."""
        with tf.GradientTape(persistent=True) as tape:
            out = self.generator.teacher_forced(tokens, goal_offset=offset)
            worker_loss = losses.worker_mle_loss(out)
            manager_loss = losses.manager_pretrain_loss(out, batch_size=self.cfg.batch_size)
        return (worker_loss, manager_loss), {
            "pretrain_worker": self._gradients("pretrain_worker", worker_loss, tape),
            "pretrain_manager": self._gradients("pretrain_manager", manager_loss, tape)}

    def _pretrain_step_fn(self, tokens):
        """One MLE + Manager-pretrain update on real tokens [B, T] -> (worker loss, manager loss)."""
        return self._replicated(self._pretrain_gradients, (tokens,))

    def _adversarial_step_fn(self, seed, reals, num_reals):
        """Sample a batch, score it by rollouts, update Manager and Worker (spec §5–§6).

        reals [B, T], num_reals: the first num_reals rows of reals join reward
        ranking (COCO, spec §6.4); 0 for the synthetic experiments.
        Under a strategy every replica samples the same batch (same seed) and runs
        its share of the rollout repeats; their P(real) sums are added across
        replicas, so every replica holds the rewards of all rollout_num repeats and
        computes the same full-batch gradient, applied once (the original's one
        G step on B sequences, clipped by global norm).
        """
        if self.replicas == 1:
            return self._adversarial_share(seed, reals, num_reals)
        out = self.strategy.run(self._adversarial_share, args=(seed, reals, num_reals))
        return tf.nest.map_structure(lambda v: self.strategy.experimental_local_results(v)[0], out)

    def _adversarial_share(self, seed, reals, num_reals):
        """The adversarial step on one replica (of one or several)."""
        context = tf.distribute.get_replica_context()
        tokens = sums = None  # one device: sampled and rolled out in _adversarial_gradients, on its forward pass
        if context.num_replicas_in_sync > 1:  # every replica samples the batch and rolls out its repeats
            tokens, sums = self._rollout_sums(seed)
            sums = context.all_reduce(tf.distribute.ReduceOp.SUM, sums)
        outputs, updates = self._adversarial_gradients(seed, tokens, sums, reals, num_reals)
        self._update(updates, replicated=True)
        return outputs

    def _sample_batch(self, seed):
        """The step's batch int32 [B, T] at the adversarial temperatures (every replica draws the same)."""
        return self.generator.sample(self.cfg.batch_size, self.cfg.adversarial_betas(), fold_in(seed, 0))

    def _rollout_sums_fn(self, seed, tokens=None, out=None):
        """(tokens [B, T], the P(real) sums of this replica's share of the rollout_num
        repeats of them, rewards.rollout_sums) under the step's seed int64 [2];
        tokens None: sampled here; out: their teacher-forced pass (None: run here)."""
        context = tf.distribute.get_replica_context()
        repeats = self.cfg.rollout_num // context.num_replicas_in_sync
        tokens = self._sample_batch(seed) if tokens is None else tokens
        out = self.generator.teacher_forced(tokens) if out is None else out
        first = tf.cast(context.replica_id_in_sync_group, tf.int32) * repeats
        rollouts = self.generator.rollout(tokens, out, repeats, fold_in(seed, 1), self.cfg.rollout_beta,
                                          first_repeat=first)
        return tokens, rewards.rollout_sums(self.discriminator, rollouts)

    def _adversarial_gradients_fn(self, seed, tokens, sums, reals, num_reals):
        """Rewards of tokens [B, T] from the P(real) sums of all rollout_num repeats, the
        Manager's and Worker's adversarial losses (spec §5–§6) and their updates ->
        (the step's outputs, updates). tokens and sums None (one device): sampled and
        rolled out here under the step's seed."""
        cfg = self.cfg
        tokens = self._sample_batch(seed) if tokens is None else tokens
        with tf.GradientTape(persistent=True) as tape:
            out = self.generator.teacher_forced(tokens)
            with tape.stop_recording():
                if sums is None:
                    _, sums = self._rollout_sums_fn(seed, tokens, out)
                raw = rewards.segment_rewards(self.discriminator, tokens, None, sums=sums, num=cfg.rollout_num)
                reward = rewards.scale_rewards(raw, cfg.rollout_num, self.discriminator, reals, num_reals,
                                               method=cfg.reward_rescale, delta=cfg.reward_delta)
            manager_loss = self.adversarial_manager_loss(out, reward)
            worker_loss = self.adversarial_worker_loss(out, reward)
        outputs = dict(goal_loss=manager_loss, worker_loss=worker_loss, rewards=reward, raw_rewards=raw, tokens=tokens,
                       manager_cosine=losses.manager_cosine(out), worker_cosine=losses.worker_cosine(out),
                       self_nll=losses.worker_mle_loss(out))
        return outputs, {"adversarial_manager": self._gradients("adversarial_manager", manager_loss, tape),
                         "adversarial_worker": self._gradients("adversarial_worker", worker_loss, tape)}

    def adversarial_step(self, seed: tf.Tensor, reals: np.ndarray | None = None,
                         num_reals: int = 0) -> dict[str, tf.Tensor]:
        """One adversarial generator update; see _adversarial_step_fn."""
        if reals is None:
            reals = tf.zeros([self.cfg.batch_size, self.cfg.seq_len], tf.int32)
        return self._adversarial_step(seed, tf.constant(reals, tf.int32), tf.constant(num_reals, tf.int32))

    def nll(self, tokens: np.ndarray, beta: float = 1.0) -> float:
        """The generator's mean per-token NLL (nats) of int tokens [N, T], teacher
        forced, over the first N // B · B rows (G0 fixes the batch size), under its
        distribution at inverse temperature β (1 = the trained distribution)."""
        b = self.cfg.batch_size
        beta = tf.constant(beta, tf.float32)
        values = [self._nll_batch(tf.constant(tokens[i:i + b]), beta) for i in range(0, len(tokens) // b * b, b)]
        return float(np.mean(values))

    def log_probs(self, tokens: np.ndarray, beta: float = 1.0) -> np.ndarray:
        """Per-sequence log-probabilities (nats, float64 [N]) of int tokens [N, T]: Σ_t of the
        teacher-forced log p(x_t | x_<t) at inverse temperature β that `nll` averages (each
        token's clipped at log 1e-20 as there), in batches of B; row i is scored with G0's row
        i mod B, as generate draws it. A tail short of a batch is padded and scored too, so
        −mean(log_probs)/T equals nll up to float rounding when N is a multiple of B."""
        tokens = np.asarray(tokens, np.int32)
        b, n = self.cfg.batch_size, len(tokens)
        padded = np.concatenate([tokens, np.zeros([-n % b, tokens.shape[1]], np.int32)])
        beta = tf.constant(beta, tf.float32)
        sums = [self._log_prob_sums(tf.constant(padded[i:i + b]), beta).numpy() for i in range(0, len(padded), b)]
        return np.concatenate(sums or [np.zeros([0], np.float32)])[:n].astype(np.float64)

    def _log_prob_sums_fn(self, tokens, beta):
        """Σ_t teacher-forced log-probs at β, float32 [B], of tokens [B, T]."""
        return tf.reduce_sum(self.generator.teacher_forced(tokens, beta=beta).log_probs, axis=1)

    # ------------------------------------------------------------------ sampling
    def _sample_fn(self, betas, seed, groups):
        """groups · B rows (groups ≤ sample_batch / B; one trace per count) as
        groups of B rows, rows gB … (g+1)B − 1 of the draws under `seed`
        (sampling.uniforms addresses rows); under a strategy replica r draws the contiguous
        groups r·G/R … and the shares are gathered in replica order, so the rows
        are those of one device up to the float rounding of logits computed in
        smaller batches (docs/distributed.md)."""
        betas = tf.unstack(betas)
        if self.replicas == 1:
            return self.generator.sample(groups * self.cfg.batch_size, betas, seed)
        per = groups // self.replicas

        def share():
            replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int64)
            return self._sample_rows(per * self.cfg.batch_size, betas, seed,
                                     first_row=replica * per * self.cfg.batch_size)

        return self.strategy.gather(self.strategy.run(share), axis=0)

    def generate(self, num: int, beta: float) -> np.ndarray:
        """num sequences (int32 numpy [num, T]) at inverse temperature β, which is a
        float or a per-position list. Drawn in chunks of sample_batch rows; the
        last chunk only has the groups of B rows that num needs (the original's
        9,984 negatives are 9 chunks of 1,024 and one of 768 rows at B = 64), so a
        call traces the sampler once more for that size."""
        betas = beta if isinstance(beta, (list, tuple)) else [beta] * self.cfg.seq_len
        betas = tf.constant(betas, tf.float32)
        full = self.cfg.sample_batch // self.cfg.batch_size
        chunks, have = [], 0
        while have < num:
            groups = min(full, -(-(num - have) // self.cfg.batch_size))
            if groups % self.replicas:  # every replica draws an equal share
                groups = full
            chunks.append(self._sample(betas, self.next_seed(), groups).numpy())
            have += len(chunks[-1])
        return np.concatenate(chunks)[:num]

    def sample_seeded(self, num, beta, seed):
        """num sequences (int32 numpy [num, T]) at inverse temperature β from the
        integer seed alone (not the run's random stream): the rows the exported
        SavedModel's generate(num, beta, seed) returns (Generator.sample_seeded,
        chunks of sample_batch rows)."""
        if self._sample_seeded is None:
            self._sample_seeded = compiled(
                lambda n, b, s: self.generator.sample_seeded(n, [b] * self.cfg.seq_len, s, self.cfg.sample_batch))
        return self._sample_seeded(tf.constant(num, tf.int32), tf.constant(beta, tf.float32),
                                   tf.constant(seed, tf.int64)).numpy()
