"""The training schedule of the original synthetic experiment (spec §7.1) as
resumable phases:

  pretraining: blocks × [d_rounds × (fresh negatives, fresh positives,
               d_epochs D epochs); g_epochs MLE epochs, NLL-oracle at the
               epochs in pretrain_eval_epochs]
  adversarial: iterations × [1 G step (sample, rollouts, rewards, update);
               NLL-oracle every eval_every; optional interleaved MLE epoch;
               adv_d_rounds × (fresh negatives, positives, d_epochs D epochs)]

--model=seqgan (LantaoYu/SeqGAN's sequence_gan.py) runs the same units in its
order: a pretraining block is its g_epochs MLE epochs first, then its d_rounds
D rounds (one block: 120 epochs, then 50 rounds), checkpointed also every
`checkpoint_every` units; an adversarial iteration's first unit is the G step,
its evaluation and the rollout network's update (SeqGAN.update_rollout).

Progress (blocks and iterations done, and the finished units — D rounds, MLE
epochs, the G step — inside the current one) lives in the checkpoint with the
models, the five optimizers and the random stream, so a rerun with the same
logdir continues where the last checkpoint left off, on the same random stream.
Checkpoints are written at every block, every `checkpoint_every` adversarial
iterations, and when SIGINT/SIGTERM asks the run to stop (at the next unit
boundary; a second signal quits at once).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import pathlib
import shutil
import signal
import time
from typing import TYPE_CHECKING, TextIO

import numpy as np
import tensorflow as tf

from leakgan_tf import data, gans, run_dir
from leakgan_tf.errors import UserError
from leakgan_tf.summaries import SCALARS_CSV, Progress, Summaries

RUNTIME = "runtime.json"  # devices, XLA phases, native ops, determinism of the latest attempt (LeakGAN.runtime)

if TYPE_CHECKING:
    from leakgan_tf.config import Config
    from leakgan_tf.sources import Source


class Trainer:
    """Runs the schedule for one Config in one logdir.

    Args:
      cfg: a validated Config.
      logdir: where checkpoints, samples, the config and event files go.
      source: a sources.Source (what D's positives and the MLE data are, how
        samples are judged; sources.from_config builds it).
      fresh: start over even if logdir holds a checkpoint.
      checkpoint_every: adversarial iterations between checkpoints.
      keep_checkpoints: how many of the newest checkpoints to keep (resume uses the last).
      scratch: set on a multi-worker run's non-chief workers: everything this
        worker writes (checkpoints, events, samples, timings) goes there, a private
        folder the caller deletes; the run is still resumed from the chief's
        checkpoints in logdir, which only the chief writes.
    """

    def __init__(self, cfg: Config, logdir: str | pathlib.Path, source: Source, fresh: bool = False,
                 checkpoint_every: int = 5, out: TextIO | None = None, keep_checkpoints: int = 3,
                 scratch: str | pathlib.Path | None = None):
        run_dir.check_logdir(logdir)
        self.cfg = cfg
        self.logdir = pathlib.Path(logdir)
        self.chief = scratch is None
        self.outdir = self.logdir if self.chief else pathlib.Path(scratch)  # where this process writes
        self.fresh = fresh
        self.checkpoint_every = max(1, checkpoint_every)
        if not fresh:
            run_dir.check_resumable(self.logdir, cfg)  # reads only: a refused rerun writes nothing
        self.source = source
        self.gan = gans.build(cfg)
        self.seqgan = cfg.model == "seqgan"
        position = run_dir.position_variables()
        self.blocks_done, self.iterations_done, self.units_done = (position[k] for k in run_dir.POSITION)
        self._stop_requested = False
        self.checkpoint = run_dir.checkpoint(self.gan, position)
        self._latest = None  # the checkpoint restored or last written by this process
        self._config_written = False
        self._check_space("this run's checkpoints", reclaim=self._checkpoints_bytes() if fresh else 0)
        self._prepare_logdir(fresh)
        self._keep = max(1, keep_checkpoints) if self.chief else 1
        self._manager = None  # made at the first save (ckpt_manager)
        self.summaries = Summaries(self.outdir)  # writes nothing until the first scalar
        self.progress = Progress(schedule_units(cfg), **({"out": out} if out else {}))
        self.progress.load(self.logdir / run_dir.CHECKPOINTS / TIMINGS)

    # ------------------------------------------------------------------ setup
    def _prepare_logdir(self, fresh):
        """Creates the folder and locks it (run_dir.lock: one training per logdir);
        with fresh, removes what the last run wrote. config.json is written once a
        checkpoint is restored (or before the first save), so a refused resume
        leaves the folder as it was."""
        try:
            self.outdir.mkdir(parents=True, exist_ok=True)
            if self.chief:
                run_dir.lock(self.logdir)
            if self.chief and fresh:
                for name in ("checkpoints", "samples"):
                    shutil.rmtree(self.logdir / name, ignore_errors=True)
                for name in ("real_data.txt", "test_data.txt", run_dir.CONFIG, SCALARS_CSV):
                    (self.logdir / name).unlink(missing_ok=True)
        except OSError as e:
            raise UserError(f"cannot write to --logdir={self.logdir}: {e.strerror or e}; "
                            f"choose a writable directory with free space") from None

    @property
    def ckpt_manager(self) -> tf.train.CheckpointManager:
        """The CheckpointManager of this process's checkpoints folder, made when first
        needed (at the first save: after the restore, so a refused resume writes
        nothing). An index file that names no complete checkpoint (lost files, an
        empty or garbled file, on which TensorFlow's reader warns or fails) is
        dropped first: the save writes it anew."""
        if self._manager is None:
            directory = self.outdir / run_dir.CHECKPOINTS
            index = directory / "checkpoint"
            if index.exists() and run_dir.indexed_checkpoint(directory) is None:
                index.unlink()
            self._manager = tf.train.CheckpointManager(self.checkpoint, str(directory), max_to_keep=self._keep)
        return self._manager

    def _write_config(self):
        if not self._config_written:
            with data.atomic_write(self.outdir / run_dir.CONFIG) as f:
                f.write(self.cfg.to_json())
            self._config_written = True

    def restore(self) -> str | None:
        """Restores the latest checkpoint if there is one (run_dir.latest_checkpoint:
        from the index file, or from the checkpoint files when it is missing);
        returns its path or None."""
        if not self.chief and self.fresh:
            return None  # the chief is starting over (and may be deleting the old checkpoints)
        directory = self.logdir / run_dir.CHECKPOINTS
        latest = run_dir.latest_checkpoint(self.logdir)
        if latest:
            if latest != run_dir.indexed_checkpoint(directory):
                self.progress.log("resume", f"{directory / 'checkpoint'} is missing or names no checkpoint on "
                                            f"disk; using {pathlib.Path(latest).name}, the newest complete "
                                            f"checkpoint among the files")
            self._restore(latest, f"checkpoint {latest}", "use the run's own settings or --fresh")
            self._latest = latest
        return latest

    def _restore(self, path, what, fix, resume=True):
        """Restores checkpoint path into this run's objects, or raises a UserError:
        the checkpoint is damaged (naming the file) or does not fit (what did not
        fit, and fix)."""
        try:
            status = self.checkpoint.restore(path)
            status.expect_partial()  # silences TF's warnings at exit if the check below fails
            status.assert_existing_objects_matched()
        except Exception as e:  # a damaged file raises IndexError, DataLossError, ...: restore_error tells
            tf.get_logger().setLevel("ERROR")  # TF's unrestored-value warnings at exit add nothing
            raise run_dir.restore_error(path, e, what, fix, resume) from None

    def initialize_from(self, where: str) -> str:
        """Warm start (--init_from): restores another run's latest checkpoint (or the
        named ckpt-N) — models, optimizer slots, random stream, schedule position —
        then applies this run's learning rates and saves it as this run's first
        checkpoint. Returns the checkpoint path."""
        path = pathlib.Path(where)
        latest = run_dir.latest_checkpoint(path) if path.is_dir() else str(path)
        if not latest:
            raise UserError(f"--init_from={where} holds no checkpoint (expected {path / 'checkpoints'}); "
                            f"run that experiment first or pass a checkpoints/ckpt-N path")
        source_run = pathlib.Path(latest).parent.parent
        run_dir.check_same_meaning(source_run, self.cfg, latest)
        self._restore(latest, f"--init_from checkpoint {latest}", "use the same model sizes as that run",
                      resume=False)
        for line in self.source.inherit(source_run):
            self.progress.log("init", line)
        parent_seed = (run_dir.saved_settings(source_run) or {}).get("seed")
        if parent_seed != self.cfg.seed:
            # Another seed than the parent's: a random stream of the branch's own (the
            # restored one would make every branch of that checkpoint draw alike).
            self.gan.reset_rng(self.cfg.seed, branch=1)
            self.progress.log("init", f"--seed={self.cfg.seed} differs from that run's seed {parent_seed}: "
                                      f"random draws restart from seed {self.cfg.seed}")
        rates = dict(discriminator=self.cfg.dis_learning_rate)
        for name, opt in self.gan.optimizers.items():
            opt.learning_rate = rates.get(name, self.cfg.gen_learning_rate)
        self.save()
        return latest

    def save(self) -> str:
        """Writes the next checkpoint (config.json first, then timings). Its number
        is above every checkpoint file in the folder, so no file this attempt did not
        write is overwritten (a run whose `checkpoint` index was lost resumes from the
        files and saves after them). UserError, before anything is written, when the
        disk has less free space than a checkpoint takes."""
        self._write_config()
        number = max([int(self.checkpoint.save_counter.numpy()),
                      *run_dir.checkpoint_numbers(self.outdir / run_dir.CHECKPOINTS)]) + 1
        self._check_space(f"checkpoint ckpt-{number}")
        path = self._write_checkpoint(number)
        self.summaries.flush()
        self.progress.save(self.outdir / run_dir.CHECKPOINTS / TIMINGS)
        return path

    def _write_checkpoint(self, number: int) -> str:
        """Writes checkpoint ckpt-<number>; if that fails (a full disk), removes what
        the failed write left (TensorFlow's ckpt-N_temp folder, partial files) and
        raises a UserError naming the reason and the last good checkpoint."""
        directory = self.outdir / run_dir.CHECKPOINTS
        try:
            path = self.ckpt_manager.save(checkpoint_number=number)
        except (OSError, tf.errors.OpError) as e:
            prefix = os.path.normpath(directory / f"ckpt-{number}")
            if run_dir.indexed_checkpoint(directory) == prefix:
                self._latest = prefix  # written and indexed: only the clean-up of old ones failed
            else:
                for leftover in run_dir.checkpoint_numbers(directory).get(number, []):
                    if leftover.is_dir():
                        shutil.rmtree(leftover, ignore_errors=True)
                    else:
                        leftover.unlink(missing_ok=True)
            raise UserError(f"could not write checkpoint {prefix} ({run_dir.io_reason(e)}); {self._last_good()}; "
                            f"free space or fix permissions and rerun") from None
        self._latest = path
        return path

    def _last_good(self) -> str:
        if self._latest:
            return f"the last good checkpoint is {self._latest} (rerun the same command to resume from it)"
        return "there is no checkpoint yet (a rerun starts from the beginning)"

    def _checkpoint_bytes(self) -> int:
        """Bytes one checkpoint takes: the last one's files, or (none yet) the sum of
        every variable's bytes plus 320 bytes each for the index and object graph."""
        if self._latest:
            files = [p for p in pathlib.Path(self._latest).parent.glob(pathlib.Path(self._latest).name + ".*")]
            if files:
                return sum(p.stat().st_size for p in files if p.is_file())
        gan = self.gan
        if hasattr(gan, "all_variables"):
            variables = gan.all_variables()
        else:
            variables = [*gan.discriminator.variables, *gan.manager.variables, *gan.worker.variables,
                         *(v for opt in gan.optimizers.values() for v in opt.variables)]
        return sum(int(np.prod(v.shape)) * tf.as_dtype(v.dtype).size + 320 for v in variables)

    def _checkpoints_bytes(self) -> int:
        """Bytes of the files in this process's checkpoints folder (--fresh frees them)."""
        directory = self.outdir / run_dir.CHECKPOINTS
        return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) if directory.is_dir() else 0

    def _check_space(self, what: str, reclaim: int = 0) -> None:
        """UserError when the disk of the checkpoints folder has less free space
        (plus reclaim) than one checkpoint needs. Cheap (statvfs); run at start-up,
        so a disk that cannot hold a checkpoint is noticed before the first unit,
        and before every save, so a full disk stops the run without a half-written one."""
        directory = self.outdir / run_dir.CHECKPOINTS
        existing = next(p for p in (directory, *directory.parents) if p.exists())
        free = shutil.disk_usage(existing).free + reclaim
        need = self._checkpoint_bytes()
        if free < need:
            then = f"; {self._last_good()}" if what.startswith("checkpoint") else ""  # mid-run: what is kept
            raise UserError(f"not enough free space for {what} in {directory}: {_size(free)} free, a checkpoint of "
                            f"this model takes about {_size(need)}{then}; free space or choose another --logdir")

    def _mle_data(self):
        return self.source.mle_data()

    def _check_finite(self, where, **values):
        """Stops the run (or reports a skip) when a loss or reward is NaN/Inf."""
        for name, value in values.items():
            if not np.all(np.isfinite(value)):
                if self.cfg.skip_nonfinite:
                    self.progress.log("warning", f"{name} is not finite during {where}; those batches were "
                                                 f"skipped (--skip_nonfinite)")
                    continue
                last = self._latest or "none yet (rerun with --fresh)"
                raise NonFiniteError(f"{name} is not finite during {where}; the last good checkpoint is {last} "
                                     f"(rerun to resume from it; lower --gen_learning_rate/--dis_learning_rate "
                                     f"if it recurs, or pass --skip_nonfinite to skip such batches)")

    # ------------------------------------------------------------------ phases
    def discriminator_round(self, step: int, tag: str) -> None:
        """Fresh negatives at β_eval, fresh positives, d_epochs epochs of D."""
        cfg, gan = self.cfg, self.gan
        t0 = time.time()
        negatives = gan.generate(cfg.num_samples, cfg.eval_beta)
        positives = self.source.positives(cfg.num_samples, seed=gan.next_numpy_seed())
        tokens, labels = data.discriminator_batches(positives, negatives, cfg.batch_size, seed=gan.next_numpy_seed())
        losses = gan.discriminator_epochs(tokens, labels, cfg.d_epochs) if cfg.d_epochs else []
        loss = float(np.mean(losses)) if len(losses) else float("nan")
        self._check_finite(f"{tag} D round {step}", discriminator_loss=loss)
        acc_real, acc_fake = self.discriminator_accuracy(positives, negatives)
        seconds = time.time() - t0
        self.summaries.scalars(step, dict(loss=loss, accuracy_real=acc_real, accuracy_fake=acc_fake,
                                          seconds=seconds), f"{tag}/discriminator")
        self.progress.timed("d_round", seconds)
        self.progress.advance()
        self.progress.log(tag, f"D round {step}: loss {loss:.4f} acc real {acc_real:.3f} fake {acc_fake:.3f} "
                               f"({seconds:.1f}s)")

    def discriminator_accuracy(self, positives: np.ndarray, negatives: np.ndarray,
                               limit: int = 1024) -> tuple[float, float]:
        probs = lambda x: self.gan.prob_real(tf.constant(x[:limit])).numpy()  # noqa: E731
        return float(np.mean(probs(positives) > 0.5)), float(np.mean(probs(negatives) <= 0.5))

    def mle_epoch(self, tokens: np.ndarray, where: str, call_index: int = 0) -> tuple[float, float | None]:
        """Worker MLE + Manager pretraining (SeqGAN: its generator's MLE) over tokens in
        fixed order: the whole set, or (mle_epoch_fraction < 1, COCO's 1/20 "epoch")
        the next slice of it, rotating with call_index so successive calls cover all
        the data. Returns the mean losses (MLE, Manager's; SeqGAN: MLE, None)."""
        batches = len(tokens) // self.cfg.batch_size
        if batches == 0:
            raise UserError(f"the MLE set has {len(tokens)} sequences, fewer than one batch (--batch_size="
                            f"{self.cfg.batch_size}); give more training data or lower --batch_size")
        take = max(1, math.ceil(batches * self.cfg.mle_epoch_fraction))
        first = call_index * take % batches if take < batches else 0
        order = [(first + i) % batches for i in range(take)]
        worker, manager = [], []
        for i in order:
            out = self.gan.pretrain_step(tokens[i * self.cfg.batch_size:(i + 1) * self.cfg.batch_size])
            if self.seqgan:
                worker.append(out)
                continue
            w, m = out
            worker.append(w)
            manager.append(m)
        if self.seqgan:
            worker = float(np.mean(worker))
            self._check_finite(where, mle_loss=worker)
            return worker, None
        worker, manager = float(np.mean(worker)), float(np.mean(manager))
        self._check_finite(where, worker_mle_loss=worker, manager_loss=manager)
        return worker, manager

    def evaluate(self, step: int, tag: str) -> dict[str, float]:
        """Samples num_samples at β_eval, judges them (source.evaluate) and writes them."""
        cfg = self.cfg
        t0 = time.time()
        samples = self.gan.generate(cfg.num_samples, cfg.eval_beta)
        scores = self.source.evaluate(self.gan, samples, seed=self.gan.next_numpy_seed())
        seconds = time.time() - t0
        self.summaries.scalars(step, dict(scores, eval_seconds=seconds), tag)
        self.progress.timed("eval", seconds)
        self.summaries.text(step, f"{tag}/samples", [self.source.decode(s) for s in samples[:8]])
        sample_dir = self.outdir / "samples"
        try:
            sample_dir.mkdir(exist_ok=True)
        except OSError as e:
            raise data.write_error(sample_dir, e) from None
        if self.cfg.dataset != "oracle":  # text runs: the sentences too, decoded with the run's vocabulary
            data.write_lines(sample_dir / f"{tag}_{step:04d}{TEXT_SAMPLES}", [self.source.decode(s) for s in samples])
        data.write_int_sequences(sample_dir / f"{tag}_{step:04d}.txt", samples)
        shown = " ".join(f"{k} {v:.4f}" for k, v in scores.items())
        self.progress.log(tag, f"step {step}: {shown} ({seconds:.1f}s)")
        return scores

    def adversarial_generator_step(self, it: int) -> None:
        cfg = self.cfg
        t0 = time.time()
        if self.seqgan:  # SeqGAN ranks no real sentences with its rewards: no draw for them
            out = self.gan.adversarial_step(self.gan.next_seed())
            self._generator_stats(it, out, time.time() - t0, self.gan.adversarial_scalars, ("generator_loss",),
                                  ("generator_loss", "mean_reward"))
            return
        reals = self.source.reward_reals(seed=self.gan.next_numpy_seed())
        num_reals = 0 if reals is None else min(cfg.batch_size, it // 2)  # spec §6.4: pos_num
        out = self.gan.adversarial_step(self.gan.next_seed(), reals, num_reals)
        self._generator_stats(it, out, time.time() - t0,
                              ("goal_loss", "worker_loss", "manager_cosine", "worker_cosine", "self_nll"),
                              ("goal_loss", "worker_loss"), ("goal_loss", "worker_loss"))

    def _generator_stats(self, it: int, out: dict, seconds: float, scalars, checked, shown) -> None:
        """Scalars, rewards histogram and log line of the G step of iteration it: the
        `scalars` of out logged, the `checked` ones and the rewards checked finite, the
        `shown` ones in the log line."""
        reward = out["rewards"].numpy()
        stats = {k: float(out[k]) for k in scalars}
        self._check_finite(f"adversarial iteration {it}", rewards=reward, **{k: stats[k] for k in checked})
        stats.update(mean_reward=float(reward.mean()), g_step_seconds=seconds)
        self.summaries.scalars(it, stats, "adversarial/generator")
        self.summaries.histogram(it, "adversarial/rewards", reward)
        self.progress.timed("g_step", seconds)
        self.progress.advance()
        values = " ".join(f"{k} {stats[k]:.4f}" for k in shown)
        self.progress.log("adversarial", f"iteration {it + 1}/{self.cfg.adversarial_iterations} {values} "
                                         f"({seconds:.1f}s)")

    def _units(self, position, count):
        """Yields the unfinished unit indices of the current block/iteration and
        records each as done; stops early when a stop was requested."""
        for unit in range(int(self.units_done.numpy()), count):
            if self._stop_requested:
                raise _Stop()
            yield unit
            self.units_done.assign(unit + 1)

    def pretrain(self) -> None:
        if self.seqgan:
            return self._pretrain_seqgan()
        cfg = self.cfg
        mle = self._mle_data()
        rounds = cfg.pretrain_d_rounds
        for block in range(int(self.blocks_done.numpy()), cfg.pretrain_blocks):
            for unit in self._units(block, rounds + cfg.pretrain_g_epochs):
                if unit < rounds:
                    self.discriminator_round(block * rounds + unit, "pretrain")
                    continue
                self._pretrain_mle_epoch(mle, block, unit - rounds)
            self.blocks_done.assign(block + 1)
            self.units_done.assign(0)
            self.save()

    def _pretrain_mle_epoch(self, mle: np.ndarray, block: int, e: int) -> None:
        """Pretraining block block's MLE epoch e, logged and evaluated (pretrain_eval_epochs)."""
        cfg = self.cfg
        step = block * cfg.pretrain_g_epochs + e
        t0 = time.time()
        worker_loss, manager_loss = self.mle_epoch(mle, f"pretraining block {block} epoch {e}", step)
        losses = dict(mle_loss=worker_loss) if self.seqgan else dict(worker_mle_loss=worker_loss,
                                                                       manager_loss=manager_loss)
        self.summaries.scalars(step, dict(losses, epoch_seconds=time.time() - t0), "pretrain/generator")
        self.progress.timed("mle_epoch", time.time() - t0)
        self.progress.advance()
        shown = "" if self.seqgan else f" manager {manager_loss:.6f}"
        self.progress.log("pretrain", f"block {block + 1}/{cfg.pretrain_blocks} epoch {e + 1}/"
                                      f"{cfg.pretrain_g_epochs} mle {worker_loss:.4f}{shown} "
                                      f"({time.time() - t0:.1f}s)")
        if e in cfg.pretrain_eval_epochs:
            self.evaluate(step, "pretrain")

    def _pretrain_seqgan(self) -> None:
        """SeqGAN's pretraining (sequence_gan.py): per block, g_epochs MLE epochs, then
        d_rounds D rounds; a checkpoint every checkpoint_every units and at the block's end."""
        cfg = self.cfg
        mle = self._mle_data()
        epochs, total = cfg.pretrain_g_epochs, cfg.pretrain_g_epochs + cfg.pretrain_d_rounds
        for block in range(int(self.blocks_done.numpy()), cfg.pretrain_blocks):
            for unit in self._units(block, total):
                if unit < epochs:
                    self._pretrain_mle_epoch(mle, block, unit)
                else:
                    self.discriminator_round(block * cfg.pretrain_d_rounds + unit - epochs, "pretrain")
                if (unit + 1) % self.checkpoint_every == 0 and unit + 1 < total:
                    self.units_done.assign(unit + 1)
                    self.save()
            self.blocks_done.assign(block + 1)
            self.units_done.assign(0)
            self.save()

    def adversarial(self) -> None:
        cfg = self.cfg
        mle = self._mle_data() if cfg.interleave_mle_every else None
        for it in range(int(self.iterations_done.numpy()), cfg.adversarial_iterations):
            for unit in self._units(it, 1 + cfg.adv_d_rounds):
                if unit > 0:
                    self.discriminator_round(it * cfg.adv_d_rounds + unit - 1, "adversarial")
                    continue
                if self.seqgan and it == 0:
                    self.gan.start_rollout()
                self.adversarial_generator_step(it)
                # The original's order: G step, test, interleaved MLE epoch (SeqGAN: the
                # rollout network's update), D rounds.
                if it % cfg.eval_every == 0 or it == cfg.adversarial_iterations - 1:
                    self.evaluate(it, "adversarial")
                if cfg.interleave_mle_every and it % cfg.interleave_mle_every == 0:
                    self.interleaved_mle_epoch(mle, it)
                if self.seqgan:
                    self.gan.update_rollout()
            self.iterations_done.assign(it + 1)
            self.units_done.assign(0)
            if (it + 1) % self.checkpoint_every == 0 or it == cfg.adversarial_iterations - 1:
                self.save()

    def interleaved_mle_epoch(self, mle: np.ndarray, it: int) -> None:
        """One MLE epoch after adversarial iteration it (every interleave_mle_every),
        logged under adversarial/mle at step it."""
        t0 = time.time()
        call_index = self.cfg.pretrain_blocks * self.cfg.pretrain_g_epochs + it // self.cfg.interleave_mle_every
        worker_loss, manager_loss = self.mle_epoch(mle, f"interleaved MLE at iteration {it}", call_index)
        self.summaries.scalars(it, dict(worker_mle_loss=worker_loss, manager_loss=manager_loss,
                                        epoch_seconds=time.time() - t0), "adversarial/mle")
        self.progress.timed("mle_epoch", time.time() - t0)
        self.progress.log("adversarial", f"interleaved MLE epoch after the G step of iteration {it + 1}/"
                                         f"{self.cfg.adversarial_iterations}: mle {worker_loss:.4f} "
                                         f"manager {manager_loss:.6f} ({time.time() - t0:.1f}s)")

    def _request_stop(self, signum, frame):
        if self._stop_requested:
            raise KeyboardInterrupt
        self._stop_requested = signum
        self.progress.log("signal", f"{signal.Signals(signum).name}: saving a checkpoint after the current unit "
                                    f"(send it again to quit without saving)")

    def run(self) -> int | None:
        """Runs (or resumes) the whole schedule; returns None, or the signal number
        that stopped it after saving a checkpoint. A file that cannot be written
        (a full disk) stops it with one line naming the file and the last good checkpoint."""
        try:
            return self._run()
        except data.WriteError as e:
            raise UserError(f"{e}; {self._last_good()}") from None

    def _run(self) -> int | None:
        latest, how = self.restore(), "resume"
        cfg = self.cfg
        if not latest and cfg.init_from:
            latest, how = self.initialize_from(cfg.init_from), "init"
        self._write_config()
        runtime = self.gan.runtime()
        self.progress.log("start", " | ".join(f"{k}: {v}" for k, v in runtime.items()))
        with data.atomic_write(self.outdir / RUNTIME) as f:  # this attempt's; config.json holds the settings
            f.write(json.dumps(runtime, indent=1) + "\n")
        if latest:
            self.progress.resume(int(self.blocks_done.numpy()) * (cfg.pretrain_d_rounds + cfg.pretrain_g_epochs)
                                 + int(self.iterations_done.numpy()) * (1 + cfg.adv_d_rounds)
                                 + int(self.units_done.numpy()))
            self.progress.log(how, f"from {latest}: {int(self.blocks_done.numpy())} pretraining blocks, "
                                   f"{int(self.iterations_done.numpy())} adversarial iterations done")
        if how == "init" or not latest:
            self.summaries.hparams(dataclasses.asdict(cfg))
        previous = {sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.pretrain()
            self.adversarial()
        except _Stop:
            path = self.save()
            self.progress.log("signal", f"stopped; checkpoint {path}; rerun the same command to resume")
            return self._stop_requested
        except BaseException:
            with contextlib.suppress(UserError):  # e.g. a full disk: the error on its way out says what failed
                self.summaries.flush()
            raise
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.summaries.flush()
        return None


TIMINGS = "timings.json"  # Progress timings, kept beside the checkpoints (removed with them by --fresh)
TEXT_SAMPLES = ".text"  # text runs: samples/<tag>_<step>.text holds the decoded sentences of <tag>_<step>.txt


def _size(count: int) -> str:
    return f"{count / 2 ** 20:.1f} MB" if count >= 2 ** 20 else f"{count / 1024:.0f} KB"


def schedule_units(cfg):
    """The run's units in order, each a tuple of the kinds of work it does (for
    Progress's ETA): pretraining D rounds and MLE epochs (with an evaluation at
    pretrain_eval_epochs; SeqGAN: the epochs first), then per adversarial iteration
    the G step (with its evaluation and interleaved MLE epoch, as
    Trainer.adversarial) and the D rounds."""
    units = []
    for _ in range(cfg.pretrain_blocks):
        rounds = [("d_round",)] * cfg.pretrain_d_rounds
        epochs = [("mle_epoch", "eval") if e in cfg.pretrain_eval_epochs else ("mle_epoch",)
                  for e in range(cfg.pretrain_g_epochs)]
        units += epochs + rounds if cfg.model == "seqgan" else rounds + epochs
    for it in range(cfg.adversarial_iterations):
        unit = ["g_step"]
        if it % cfg.eval_every == 0 or it == cfg.adversarial_iterations - 1:
            unit.append("eval")
        if cfg.interleave_mle_every and it % cfg.interleave_mle_every == 0:
            unit.append("mle_epoch")
        units += [tuple(unit)] + [("d_round",)] * cfg.adv_d_rounds
    return units


class _Stop(Exception):
    """Raised at a unit boundary after SIGINT/SIGTERM."""


class NonFiniteError(UserError):
    """A loss or reward became NaN/Inf."""
