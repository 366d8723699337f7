"""Scores of a run's latest checkpoint (the extended protocol): the library
part of `python -m leakgan_tf.evaluate`, also used by the oracle benchmark.

Oracle runs: NLL-oracle of samples at the run's eval_beta and at β = 1,
NLL-test on held-out oracle samples, distinct-4 at both β, the oracle's own
NLL, and the oracle divergences at both β (Jeffreys, Bhattacharyya, balanced
NLL: leakgan_tf.divergences). Text runs: NLL-test, BLEU-2..5 and
Self-BLEU-2..5 (Texygen protocol) and BLEU-2..5 under the paper's protocol.
betas adds a quality–diversity sweep.

Scoring writes nothing to the run folder: the source reads a temporary copy of
the run's data files (held-out rows it has to draw go there, and are gone after).
"""
from __future__ import annotations

import dataclasses
import glob
import os
import pathlib
import shutil
import tempfile
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from leakgan_tf import run_dir, sources
from leakgan_tf.errors import UserError

if TYPE_CHECKING:
    from leakgan_tf.config import Config


def evaluate_run(logdir: str | pathlib.Path, seed: int = 0, generated_num: int = 0,
                 betas: Sequence[float] = ()) -> dict[str, Any]:
    """Scores of the latest checkpoint in logdir: a dict (see module doc);
    generated_num > 0 scores that many samples instead of the run's; betas, a
    quality-diversity sweep over those inverse temperatures ("sweep")."""
    gan, cfg, latest, position = load_run(logdir)
    check_sample_count(cfg, generated_num)
    cfg = dataclasses.replace(cfg, extended_eval=True, **({"generated_num": generated_num} if generated_num else {}))
    with tempfile.TemporaryDirectory(prefix="leakgan_evaluate_") as scratch:
        return _scores(gan, cfg, latest, position, _scratch_copy(logdir, scratch), seed, betas)


def load_run(logdir: str | pathlib.Path):
    """run_dir.load_run for scoring and sampling: the checkpoint the run's
    `checkpoint` index file names, or a UserError naming the damaged file when that
    one's files are there but do not restore (run_dir.latest_checkpoint would fall
    back to an older complete one without a word, which suits a resumed training,
    not scores or samples that must come from the checkpoint the run says is its
    latest). A checkpoint whose files are all gone (moved away) is passed over.
    TensorFlow's own log lines about the checkpoint (after a failed restore, the
    warnings at exit about every value not restored) stay off stderr."""
    import tensorflow as tf
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("CRITICAL")
    named, latest = named_checkpoint(logdir), run_dir.latest_checkpoint(logdir)
    if named and latest and os.path.realpath(named) != os.path.realpath(latest) and (
            glob.glob(glob.escape(named) + ".index") or glob.glob(glob.escape(named) + ".data-*")):
        name, folder = pathlib.Path(named).name, pathlib.Path(named).parent
        damage = run_dir.checkpoint_damage(named) or "its files do not restore"
        raise UserError(f"checkpoint {named} is damaged: {damage}; restore the file, or move the checkpoint's files "
                        f"({name}.*) out of {folder} to use {latest}, the checkpoint before it")
    result = run_dir.load_run(logdir)  # on an error the logger stays quiet: the process ends with our line
    logger.setLevel(level)
    return result


def named_checkpoint(logdir: str | pathlib.Path) -> str | None:
    """The checkpoint prefix the run's `checkpoint` index file names (whether or not
    its files are there), None when the file is missing or does not parse."""
    import tensorflow as tf
    try:
        state = tf.train.get_checkpoint_state(str(pathlib.Path(logdir) / run_dir.CHECKPOINTS))
    except Exception:  # an empty or unreadable index file: run_dir.latest_checkpoint decides
        return None
    return state.model_checkpoint_path if state is not None and state.model_checkpoint_path else None


def check_sample_count(cfg: Config, generated_num: int) -> None:
    """UserError when generated_num (0: the run's) is below one batch, or its samples
    could not be held in this machine's memory (the arrays of samples, oracle draws
    and held-out rows, and the Python lists the n-gram metrics build: about
    MEMORY_PER_TOKEN bytes a token)."""
    num = dataclasses.replace(cfg, **({"generated_num": generated_num} if generated_num else {})).num_samples
    if num == 0:
        raise UserError(f"--generated_num={generated_num} is below one batch ({cfg.batch_size}); ask for more samples")
    need, have = num * cfg.seq_len * MEMORY_PER_TOKEN, physical_memory()
    if have and need > have:
        raise UserError(f"--generated_num={generated_num or cfg.generated_num} would need about "
                        f"{need / 2**30:,.0f} GiB of memory to score, more than this machine's "
                        f"{have / 2**30:,.1f} GiB; ask for fewer samples (at most about "
                        f"{have // (cfg.seq_len * MEMORY_PER_TOKEN):,})")


MEMORY_PER_TOKEN = 100  # bytes: 200,000 samples of T = 8 (1.6 M tokens) raised the peak RSS by 144 MB, ~90 B a token
DATA_FILES = ("real_data.txt", "test_data.txt", "vocab.txt")  # what sources.from_config reads from a logdir


def physical_memory() -> int:
    """Bytes of physical memory (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _scratch_copy(logdir: str | pathlib.Path, scratch: str) -> pathlib.Path:
    """A temporary copy of the run's data files (DATA_FILES) for the source to read:
    what it adds (held-out rows drawn when the run kept none, or fewer than asked
    for) goes there, so scoring leaves the run folder as it was."""
    scratch = pathlib.Path(scratch)
    for name in DATA_FILES:
        if (pathlib.Path(logdir) / name).is_file():
            shutil.copyfile(pathlib.Path(logdir) / name, scratch / name)
    return scratch


def _scores(gan, cfg: Config, latest: str, position: dict[str, int], data_dir: pathlib.Path, seed: int,
            betas: Sequence[float]) -> dict[str, Any]:
    t0 = time.time()
    gan.reset_rng(seed)  # as sweep.temperature_sweep does
    source = sources.from_config(cfg, data_dir)
    cfg = source.cfg
    samples = gan.generate(cfg.num_samples, cfg.eval_beta)
    scores = {k: float(v) for k, v in source.evaluate(gan, samples, seed=seed).items()}
    protocols = {}
    if cfg.dataset == "oracle":
        protocols["oracle"] = (f"{cfg.num_samples} samples (sampling seed {seed}) scored by the oracle: nll_oracle at "
                               f"β = {cfg.eval_beta}, nll_oracle_beta1 at β = 1, distinct4 of each; nll_test: the "
                               f"model's NLL of {cfg.num_samples} held-out oracle rows (test_data.txt); "
                               f"ground_truth_nll: the oracle's NLL of its own samples; jeffreys (KL(P‖Q) + "
                               f"KL(Q‖P)) and bhattacharyya (−log Σ √(PQ)), nats per sequence of {cfg.seq_len} "
                               f"tokens, Montahaei et al. (2019)'s estimators from the log-probabilities of the oracle "
                               f"P and of the model Q at β = {cfg.eval_beta} on the β samples and the held-out rows, "
                               f"and nll_balanced, per token, the sum of NLL-oracle and NLL-test at that β; "
                               f"jeffreys_beta1, bhattacharyya_beta1, nll_balanced_beta1: the same at β = 1 "
                               f"(leakgan_tf.divergences)")
    else:
        from leakgan_tf import metrics
        protocols["texygen"] = source.protocol()
        paper = metrics.bleu_report([source.words(r) for r in samples], source.corpus.test_tokens, "paper",
                                    seed=seed)
        protocols["paper"] = f"{paper['description']} ({paper['hypotheses']} hypotheses, " \
                             f"{paper['references']} references)"
        scores.update({f"paper_bleu{n}": paper["scores"][f"BLEU-{n}"] for n in (2, 3, 4, 5)})
    result = dict(checkpoint=latest, eval_beta=cfg.eval_beta, num_samples=int(cfg.num_samples),
                  seconds=round(time.time() - t0, 1), **{k: position[k] for k in ("blocks_done", "iterations_done")},
                  protocols=protocols, **scores)
    if betas:
        from leakgan_tf import sweep
        result["sweep"] = sweep.temperature_sweep(gan, source, betas, cfg.num_samples, seed)
        result["sweep_protocol"] = (f"{cfg.num_samples} samples per β (sampling seed {seed}); NLL-test at β on "
                                    f"{cfg.num_samples} held-out rows; jeffreys, bhattacharyya, nll_balanced of the "
                                    f"model at β as in the oracle protocol" if cfg.dataset == "oracle" else
                                    f"{cfg.num_samples} samples per β (sampling seed {seed}); BLEU-4: "
                                    f"{source.protocol()}; NLL-test at β on the test split")
        result["seconds"] = round(time.time() - t0, 1)
    return result
