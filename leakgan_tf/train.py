"""The training schedule of the original synthetic experiment (spec §7.1) as
resumable phases:

  pretraining: blocks × [d_rounds × (fresh negatives, fresh positives,
               d_epochs D epochs); g_epochs MLE epochs, NLL-oracle at the
               epochs in pretrain_eval_epochs]
  adversarial: iterations × [1 G step (sample, rollouts, rewards, update);
               NLL-oracle every eval_every; optional interleaved MLE epoch;
               adv_d_rounds × (fresh negatives, positives, d_epochs D epochs)]

Progress (blocks and iterations done) lives in the checkpoint with the models,
the five optimizers and the random stream, so a rerun with the same logdir
continues where the last checkpoint left off.
"""
import dataclasses
import json
import os
import pathlib
import time

import numpy as np
import tensorflow as tf

from leakgan_tf import data
from leakgan_tf.errors import UserError
from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.summaries import Progress, Summaries

# Fields that may change when a run is resumed (they do not change the models).
RESUMABLE_CHANGES = {"adversarial_iterations", "eval_every", "sample_batch"}


class Trainer:
    """Runs the schedule for one Config in one logdir.

    Args:
      cfg: a validated Config.
      logdir: where checkpoints, samples, the config and event files go.
      oracle: an object with generate(num, length, seed) and nll(tokens), the
        synthetic data source and judge.
      fresh: start over even if logdir holds a checkpoint.
      checkpoint_every: adversarial iterations between checkpoints.
    """

    def __init__(self, cfg, logdir, oracle, fresh=False, checkpoint_every=5, out=None):
        self.cfg, self.oracle = cfg, oracle
        self.logdir = pathlib.Path(logdir)
        self.checkpoint_every = max(1, checkpoint_every)
        self._prepare_logdir(fresh)
        self.gan = LeakGAN(cfg)
        self.blocks_done = tf.Variable(0, dtype=tf.int64, name="pretrain_blocks_done")
        self.iterations_done = tf.Variable(0, dtype=tf.int64, name="adversarial_iterations_done")
        self.checkpoint = tf.train.Checkpoint(
            discriminator=self.gan.discriminator, manager=self.gan.manager, worker=self.gan.worker,
            rng=self.gan.rng, blocks_done=self.blocks_done, iterations_done=self.iterations_done,
            **{f"optimizer_{k}": v for k, v in self.gan.optimizers.items()})
        self.ckpt_manager = tf.train.CheckpointManager(self.checkpoint, str(self.logdir / "checkpoints"),
                                                       max_to_keep=3)
        self.summaries = Summaries(self.logdir)
        units = cfg.pretrain_blocks * (cfg.pretrain_d_rounds + cfg.pretrain_g_epochs) + \
            cfg.adversarial_iterations * (1 + cfg.adv_d_rounds)
        self.progress = Progress(units, **({"out": out} if out else {}))

    # ------------------------------------------------------------------ setup
    def _prepare_logdir(self, fresh):
        self.logdir.mkdir(parents=True, exist_ok=True)
        saved = self.logdir / "config.json"
        if fresh:
            for old in (self.logdir / "checkpoints").glob("*"):
                old.unlink()
        elif saved.exists():
            previous = json.loads(saved.read_text())
            current = json.loads(self.cfg.to_json())
            diff = sorted(k for k in set(previous) | set(current)
                          if previous.get(k) != current.get(k) and k not in RESUMABLE_CHANGES)
            if diff:
                shown = ", ".join(f"--{k}={previous.get(k)} (saved) vs {current.get(k)} (now)" for k in diff[:3])
                raise UserError(f"{self.logdir} holds a run with different settings: {shown}; "
                                f"use the saved values, another --logdir, or --fresh to start over")
        with data.atomic_write(saved) as f:
            f.write(self.cfg.to_json())

    def restore(self):
        """Restores the latest checkpoint if there is one; returns its path or None."""
        latest = self.ckpt_manager.latest_checkpoint
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        return latest

    def save(self):
        path = self.ckpt_manager.save()
        self.summaries.flush()
        return path

    def _mle_data(self):
        """The fixed MLE training set (spec §7.1): drawn once, kept in the logdir."""
        path = self.logdir / "real_data.txt"
        if path.exists():
            return data.read_int_sequences(path, self.cfg.vocab_size, self.cfg.seq_len)
        tokens = self.oracle.generate(self.cfg.num_samples, self.cfg.seq_len, seed=self.gan.next_numpy_seed())
        data.write_int_sequences(path, tokens)
        return tokens

    # ------------------------------------------------------------------ phases
    def train_discriminator(self, rounds, step, tag):
        """rounds × (fresh negatives at β_eval, fresh oracle positives, d_epochs epochs)."""
        cfg, gan = self.cfg, self.gan
        for r in range(rounds):
            t0 = time.time()
            negatives = gan.generate(cfg.num_samples, cfg.eval_beta)
            positives = self.oracle.generate(cfg.num_samples, cfg.seq_len, seed=gan.next_numpy_seed())
            dataset = data.discriminator_dataset(positives, negatives, cfg.batch_size, seed=gan.next_numpy_seed())
            losses = []
            for _ in range(cfg.d_epochs):
                for tokens, labels in dataset:
                    loss, _ = gan.discriminator_step(tokens, labels)
                    losses.append(loss)
            acc_real, acc_fake = self.discriminator_accuracy(positives, negatives)
            seconds = time.time() - t0
            stats = dict(loss=float(np.mean(losses)) if losses else float("nan"),
                         accuracy_real=acc_real, accuracy_fake=acc_fake, seconds=seconds)
            self.summaries.scalars(step * rounds + r, stats, f"{tag}/discriminator")
            self.progress.advance()
            self.progress.log(tag, f"D round {r + 1}/{rounds} loss {stats['loss']:.4f} "
                                   f"acc real {acc_real:.3f} fake {acc_fake:.3f} ({seconds:.1f}s)")

    def discriminator_accuracy(self, positives, negatives, limit=1024):
        probs = lambda x: self.gan.discriminator.prob_real(tf.constant(x[:limit])).numpy()  # noqa: E731
        return float(np.mean(probs(positives) > 0.5)), float(np.mean(probs(negatives) <= 0.5))

    def mle_epoch(self, tokens, max_batches=None):
        """One pass of Worker MLE + Manager pretraining over tokens in fixed order."""
        worker, manager = [], []
        for i, batch in enumerate(data.batched_dataset(tokens, self.cfg.batch_size)):
            if max_batches is not None and i >= max_batches:
                break
            w, m = self.gan.pretrain_step(batch)
            worker.append(w)
            manager.append(m)
        return float(np.mean(worker)), float(np.mean(manager))

    def evaluate(self, step, tag):
        """NLL-oracle of num_samples at β_eval, and the oracle's own NLL; writes the samples."""
        cfg = self.cfg
        t0 = time.time()
        samples = self.gan.generate(cfg.num_samples, cfg.eval_beta)
        nll = self.oracle.nll(samples)
        truth = self.oracle.nll(self.oracle.generate(cfg.num_samples, cfg.seq_len,
                                                     seed=self.gan.next_numpy_seed()))
        seconds = time.time() - t0
        self.summaries.scalars(step, dict(nll_oracle=nll, ground_truth_nll=truth, eval_seconds=seconds), tag)
        self.summaries.text(step, f"{tag}/samples", [" ".join(map(str, s)) for s in samples[:8]])
        sample_dir = self.logdir / "samples"
        sample_dir.mkdir(exist_ok=True)
        data.write_int_sequences(sample_dir / f"{tag}_{step:04d}.txt", samples)
        self.progress.log(tag, f"step {step}: NLL-oracle {nll:.4f} (ground truth {truth:.4f}, {seconds:.1f}s)")
        return nll

    # ------------------------------------------------------------------ schedule
    def pretrain(self):
        cfg = self.cfg
        mle = self._mle_data()
        for block in range(int(self.blocks_done.numpy()), cfg.pretrain_blocks):
            self.train_discriminator(cfg.pretrain_d_rounds, block, "pretrain")
            for e in range(cfg.pretrain_g_epochs):
                t0 = time.time()
                worker_loss, manager_loss = self.mle_epoch(mle)
                step = block * cfg.pretrain_g_epochs + e
                self.summaries.scalars(step, dict(worker_mle_loss=worker_loss, manager_loss=manager_loss,
                                                  epoch_seconds=time.time() - t0), "pretrain/generator")
                self.progress.advance()
                self.progress.log("pretrain", f"block {block + 1}/{cfg.pretrain_blocks} epoch {e + 1}/"
                                              f"{cfg.pretrain_g_epochs} mle {worker_loss:.4f} "
                                              f"manager {manager_loss:.6f} ({time.time() - t0:.1f}s)")
                if e in cfg.pretrain_eval_epochs:
                    self.evaluate(step, "pretrain")
            self.blocks_done.assign(block + 1)
            self.save()

    def adversarial(self):
        cfg, gan = self.cfg, self.gan
        mle = self._mle_data() if cfg.interleave_mle_every else None
        start = int(self.iterations_done.numpy())
        for it in range(start, cfg.adversarial_iterations):
            t0 = time.time()
            out = gan.adversarial_step(gan.next_seed())
            seconds = time.time() - t0
            reward = out["rewards"].numpy()
            stats = {k: float(out[k]) for k in ("goal_loss", "worker_loss", "manager_cosine", "worker_cosine",
                                                  "self_nll")}
            stats.update(mean_reward=float(reward.mean()), g_step_seconds=seconds)
            self.summaries.scalars(it, stats, "adversarial/generator")
            self.summaries.histogram(it, "adversarial/rewards", reward)
            self.progress.advance()
            self.progress.log("adversarial", f"iteration {it + 1}/{cfg.adversarial_iterations} goal_loss "
                                             f"{stats['goal_loss']:.4f} worker_loss {stats['worker_loss']:.4f} "
                                             f"({seconds:.1f}s)")
            if cfg.interleave_mle_every and it % cfg.interleave_mle_every == 0:
                self.mle_epoch(mle)
            if it % cfg.eval_every == 0 or it == cfg.adversarial_iterations - 1:
                self.evaluate(it, "adversarial")
            self.train_discriminator(cfg.adv_d_rounds, it, "adversarial")
            self.iterations_done.assign(it + 1)
            if (it + 1) % self.checkpoint_every == 0 or it == cfg.adversarial_iterations - 1:
                self.save()

    def run(self):
        latest = self.restore()
        if latest:
            cfg = self.cfg
            self.progress.resume(int(self.blocks_done.numpy()) * (cfg.pretrain_d_rounds + cfg.pretrain_g_epochs)
                                 + int(self.iterations_done.numpy()) * (1 + cfg.adv_d_rounds))
            self.progress.log("resume", f"from {latest}: {int(self.blocks_done.numpy())} pretraining blocks, "
                                        f"{int(self.iterations_done.numpy())} adversarial iterations done")
        else:
            self.summaries.hparams(dataclasses.asdict(self.cfg))
        self.pretrain()
        self.adversarial()
        self.summaries.flush()
