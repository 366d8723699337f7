"""SeqGAN (Yu et al., AAAI 2017) as its official TF1 code (LantaoYu/SeqGAN) trains
it, on the machinery LeakGAN runs on: the same highway-CNN discriminator (without
the leak), random stream, D steps, optimizer application, sampling in chunks,
NLL and checkpoint/Trainer interface (`SeqGAN` subclasses `LeakGAN` and replaces
its generator and generator steps).

  generator   models/seqgan_generator.py: one LSTM (generator.py)
  MLE step    −Σ log p(x_t)/(B·T), clipped at 1e-20, Adam (lr 0.01), global-norm
              clip 5 (generator.py: pretrain_loss, pretrain_updates)
  G step      a batch sampled at β = 1, rewards from Monte Carlo rollouts, then
              −Σ_{b,t} log p(y_t)·r_t (a sum, not a mean) with its own Adam
              (generator.py: g_loss, g_updates; sequence_gan.py: main)
  reward      r_t = mean over the rollouts of D's P(real) of the completions of
              y_{1..t} for t < T, and D's P(real) of y at t = T; no rescale
              (rollout.py: get_reward)
  rollouts    with the generator's current weights (`--rollout_network=generator`,
              the default): the official ROLLOUT's update_params never reaches
              its sampling graph, which reads the generator's variables through
              tf.identity, so every rollout uses the current generator (as the
              paper's β ← θ). `delayed` keeps a rollout network of its own, as that
              code was written to: update_params copies the embeddings and moves
              the LSTM and output weights to rate·rollout + (1 − rate)·generator
              (rate 0.8, `--rollout_update_rate`), started from the generator at
              the first adversarial iteration.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from leakgan_tf import rewards
from leakgan_tf.kernels import compiled
from leakgan_tf.leakgan import LeakGAN, num_params
from leakgan_tf.models import Discriminator
from leakgan_tf.models.sampling import fold_in
from leakgan_tf.models.seqgan_generator import SeqGANGenerator
from leakgan_tf.optimizers import adam

if TYPE_CHECKING:
    from leakgan_tf.config import Config


# ---------------------------------------------------------------- losses (pure)
def mle_loss(log_probs: tf.Tensor) -> tf.Tensor:
    """The MLE loss −Σ log p(x_t) / (B·T) of teacher-forced log_probs [B, T]."""
    return -tf.reduce_mean(log_probs)


def policy_gradient_loss(log_probs: tf.Tensor, reward: tf.Tensor) -> tf.Tensor:
    """SeqGAN's adversarial loss −Σ_{b,t} log p(y_t)·r_t (summed, as the original):
    log_probs [B, T] of the sampled tokens, reward [B, T] (a constant)."""
    return -tf.reduce_sum(log_probs * tf.stop_gradient(reward))


def rollout_rewards(discriminator: Discriminator, tokens: tf.Tensor, rollouts: tf.Tensor) -> tf.Tensor:
    """Rewards [B, T] of tokens [B, T] from rollouts [T−1, R, B, T]: column t < T−1 is
    the mean over the R rollouts of D's P(real) of the completions of the prefix of
    t + 1 tokens, column T−1 is D's P(real) of the sequence itself; summed over the
    rollouts and divided by R as the original (rewards.segment_rewards). D scores one
    prefix length (R·B rows) at a time."""
    prefixes, num, batch, seq_len = rollouts.shape
    probs = tf.map_fn(discriminator.prob_real, tf.reshape(rollouts, [prefixes, num * batch, seq_len]),
                      fn_output_signature=tf.float32, parallel_iterations=1)             # [T−1, R·B]
    sums = tf.reduce_sum(tf.reshape(probs, [prefixes, num, batch]), axis=1)             # [T−1, B]
    raw = rewards.segment_rewards(discriminator, tokens, None, sums=sums, num=num)      # [T, B]
    return tf.transpose(raw) / float(num)


class SeqGAN(LeakGAN):
    """Models, optimizers and compiled steps of SeqGAN for one Config (cfg.model == "seqgan").

    Optimizers (as the original's three Adams): discriminator (dis_learning_rate),
    pretrain and adversarial (gen_learning_rate, each its own moments).
    """

    adversarial_scalars = ("generator_loss", "self_nll")  # what Trainer logs of adversarial_step

    def __init__(self, cfg: Config):
        if cfg.model != "seqgan":
            raise ValueError(f"SeqGAN built from a Config of --model={cfg.model}")
        super().__init__(cfg)  # Config.validate refused what SeqGAN cannot run (--distribute, --variant)

    def _build(self, cfg):
        backend = self.backend
        xla = backend.compiles  # one replica (Config.validate refuses --distribute)
        self.discriminator = Discriminator(
            cfg.vocab_size, cfg.seq_len, cfg.dis_emb_dim, cfg.dis_filter_sizes, cfg.dis_num_filters,
            dropout_keep_prob=cfg.dis_dropout_keep_prob, l2_reg_lambda=cfg.dis_l2_lambda,
            compute_dtype=cfg.compute_dtype, name="discriminator",
            kernels=backend.discriminator_kernels("incremental"))  # D runs in its own steps and the rollouts only
        native_sampling = backend.native_sampling
        self.generator = SeqGANGenerator(cfg.vocab_size, cfg.gen_emb_dim, cfg.gen_hidden_dim, cfg.seq_len,
                                         start_token=cfg.start_token, native_sampling=native_sampling,
                                         name="generator")
        self.rollout_network = None
        if cfg.rollout_network == "delayed":  # built last: its initial values are never used (start_rollout)
            self.rollout_network = SeqGANGenerator(cfg.vocab_size, cfg.gen_emb_dim, cfg.gen_hidden_dim, cfg.seq_len,
                                                   start_token=cfg.start_token, native_sampling=native_sampling,
                                                   name="rollout")
            self.rollout_network.trainable = False
        # Gradients are clipped by global norm (grad_clip, the original's 5.0) in LeakGAN._apply.
        self.optimizers = {
            "discriminator": adam(cfg.dis_learning_rate, native=backend.native_adam),
            "pretrain": adam(cfg.gen_learning_rate),
            "adversarial": adam(cfg.gen_learning_rate),
        }
        for name, opt in self.optimizers.items():
            opt.build(self._variables(name))
        self._compile_steps()  # LeakGAN's: sampling, the D steps, pretrain, adversarial, prob_real, nll
        self.rollout_rewards = compiled(self._rollout_rewards_fn, jit_compile=xla("adversarial"))
        self.policy_gradient_step = compiled(self._policy_gradient_step_fn, jit_compile=xla("adversarial"))
        self._log_prob_rows = compiled(lambda x, beta: tf.reduce_sum(
            self.generator.teacher_forced(x, beta=beta).log_probs, axis=1))
        self._update_rollout = compiled(self._update_rollout_fn)

    def _variables(self, optimizer_name):
        if optimizer_name == "discriminator":
            return self.discriminator.trainable_variables
        return self.generator.trainable_variables

    def param_counts(self) -> dict[str, int]:
        return {m.name: num_params(m) for m in (self.discriminator, self.generator)}

    def checkpoint_objects(self) -> dict[str, object]:
        """The checkpoint's keys (run_dir.checkpoint): the models, the rollout network
        (rollout_network=delayed only), the random stream and optimizer_<name> each."""
        objects = dict(discriminator=self.discriminator, generator=self.generator, rng=self.rng,
                       **{f"optimizer_{k}": v for k, v in self.optimizers.items()})
        if self.rollout_network is not None:
            objects["rollout"] = self.rollout_network
        return objects

    def export_models(self) -> dict[str, object]:
        """What an export holds (export.ExportedGenerator): the generator alone."""
        return dict(generator_model=self.generator)

    def all_variables(self) -> list[tf.Variable]:
        """Every variable a checkpoint holds but the position and the random stream."""
        models = [self.discriminator, self.generator] + ([self.rollout_network] if self.rollout_network else [])
        return [v for m in models for v in m.variables] + [v for o in self.optimizers.values() for v in o.variables]

    # ------------------------------------------------------------------ steps
    def _pretrain_step_fn(self, tokens):
        """One MLE update on real tokens [B, T] -> the loss (float32 scalar)."""
        with tf.GradientTape() as tape:
            loss = mle_loss(self.generator.teacher_forced(tokens).log_probs)
        self._apply("pretrain", loss, tape)
        return loss

    def rollout_policy(self) -> SeqGANGenerator:
        """The network the rollouts run (see the module docstring)."""
        return self.rollout_network if self.rollout_network is not None else self.generator

    def _rollout_rewards_fn(self, tokens, seed):
        """tokens int32 [B, T], seed int64 [2] -> rewards [B, T] (rollout_rewards of
        rollout_num completions per prefix by rollout_policy)."""
        policy = self.rollout_policy()
        rollouts = policy.rollout(tokens, policy.teacher_forced(tokens).states, self.cfg.rollout_num, seed,
                                  self.cfg.rollout_beta)
        return rollout_rewards(self.discriminator, tokens, rollouts)

    def _policy_gradient_step_fn(self, tokens, reward):
        """One adversarial update of the generator on tokens int32 [B, T] with rewards
        [B, T] -> (loss, the generator's own per-token NLL of tokens)."""
        with tf.GradientTape() as tape:
            log_probs = self.generator.teacher_forced(tokens).log_probs
            loss = policy_gradient_loss(log_probs, reward)
        self._apply("adversarial", loss, tape)
        return loss, mle_loss(log_probs)

    def _adversarial_step_fn(self, seed):
        sample_seed, rollout_seed = fold_in(seed, 0), fold_in(seed, 1)
        tokens = self.generator.sample(self.cfg.batch_size, self.cfg.adversarial_betas(), sample_seed)
        reward = self._rollout_rewards_fn(tokens, rollout_seed)
        loss, self_nll = self._policy_gradient_step_fn(tokens, reward)
        return dict(generator_loss=loss, self_nll=self_nll, rewards=reward, tokens=tokens)

    def adversarial_step(self, seed: tf.Tensor, reals: np.ndarray | None = None,
                         num_reals: int = 0) -> dict[str, tf.Tensor]:
        """One adversarial G step (sample B rows, rollouts, rewards, update) from seed
        int64 [2] -> {generator_loss, self_nll, rewards [B, T], tokens [B, T]}. SeqGAN
        ranks no real sentences with its rewards: reals and num_reals are not used."""
        return self._adversarial_step(seed)

    # ------------------------------------------------------------------ the rollout network
    def start_rollout(self) -> None:
        """Before the first adversarial G step: the rollout network (delayed) starts
        as the generator (the original builds ROLLOUT after pretraining)."""
        if self.rollout_network is not None:
            for r, g in zip(self.rollout_network.weights, self.generator.weights, strict=True):
                r.assign(g)

    def update_rollout(self) -> None:
        """After each adversarial G step (rollout.update_params): delayed: embeddings
        copied, every LSTM and output weight w_r ← rate·w_r + (1 − rate)·w_g; with
        the generator as the rollout policy there is nothing to update."""
        if self.rollout_network is not None:
            self._update_rollout()

    def _update_rollout_fn(self):
        rate = self.cfg.rollout_update_rate
        for r, g in zip(self.rollout_network.weights, self.generator.weights, strict=True):
            r.assign(g if g is self.generator.embedding else rate * r + (1.0 - rate) * g)

    # ------------------------------------------------------------------ scores
    def log_probs(self, tokens: np.ndarray, beta: float = 1.0) -> np.ndarray:
        """Per-sequence log-probabilities (nats, float64 [N]) of int tokens [N, T]: Σ_t
        of the teacher-forced log p(x_t | x_<t) at inverse temperature β that `nll`
        averages (each clipped at log 1e-20 as there), in chunks of sample_batch rows
        (the tail padded). −mean(log_probs)/T equals nll on the same rows up to rounding."""
        tokens = np.asarray(tokens, np.int32)
        chunk, n = self.cfg.sample_batch, len(tokens)
        padded = np.concatenate([tokens, np.zeros([-n % chunk, tokens.shape[1]], np.int32)])
        beta = tf.constant(beta, tf.float32)
        sums = [self._log_prob_rows(tf.constant(padded[i:i + chunk]), beta).numpy()
                for i in range(0, len(padded), chunk)]
        return np.concatenate(sums or [np.zeros([0], np.float32)])[:n].astype(np.float64)
