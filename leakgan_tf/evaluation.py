"""Scores of a run's latest checkpoint (the extended protocol): the library
part of `python -m leakgan_tf.evaluate`, also used by the oracle benchmark.

Oracle runs: NLL-oracle of samples at the run's eval_beta and at β = 1,
NLL-test on held-out oracle samples, distinct-4 at both β, the oracle's own
NLL. Text runs: NLL-test, BLEU-2..5 and Self-BLEU-2..5 (Texygen protocol) and
BLEU-2..5 under the paper's protocol. betas adds a quality–diversity sweep.
"""
from __future__ import annotations

import dataclasses
import pathlib
import time
from collections.abc import Sequence
from typing import Any

from leakgan_tf import run_dir, sources
from leakgan_tf.errors import UserError


def evaluate_run(logdir: str | pathlib.Path, seed: int = 0, generated_num: int = 0,
                 betas: Sequence[float] = ()) -> dict[str, Any]:
    """Scores of the latest checkpoint in logdir: a dict (see module doc);
    generated_num > 0 scores that many samples instead of the run's; betas, a
    quality-diversity sweep over those inverse temperatures ("sweep")."""
    gan, cfg, latest, position = run_dir.load_run(logdir)
    cfg = dataclasses.replace(cfg, extended_eval=True, **({"generated_num": generated_num} if generated_num else {}))
    if cfg.num_samples == 0:
        raise UserError(f"--generated_num={generated_num} is below one batch ({cfg.batch_size}); ask for more samples")
    t0 = time.time()
    gan.rng.reset_from_seed(seed)
    source = sources.from_config(cfg, logdir)
    cfg = source.cfg
    samples = gan.generate(cfg.num_samples, cfg.eval_beta)
    scores = {k: float(v) for k, v in source.evaluate(gan, samples, seed=seed).items()}
    protocols = {}
    if cfg.dataset == "oracle":
        protocols["oracle"] = (f"{cfg.num_samples} samples (sampling seed {seed}) scored by the oracle: nll_oracle at "
                               f"β = {cfg.eval_beta}, nll_oracle_beta1 at β = 1, distinct4 of each; nll_test: the "
                               f"model's NLL of {cfg.num_samples} held-out oracle rows (test_data.txt); "
                               f"ground_truth_nll: the oracle's NLL of its own samples")
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
                                    f"{cfg.num_samples} held-out rows" if cfg.dataset == "oracle" else
                                    f"{cfg.num_samples} samples per β (sampling seed {seed}); BLEU-4: "
                                    f"{source.protocol()}; NLL-test at β on the test split")
        result["seconds"] = round(time.time() - t0, 1)
    return result
