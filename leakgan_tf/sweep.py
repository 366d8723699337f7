"""Quality–diversity curves: one generator scored over inverse temperatures β.

Sampling at β draws from softmax(β · logits): β > 1 sharpens (better samples,
less diverse), β < 1 flattens. A GAN that only sharpens the MLE model moves
along the MLE model's curve; one that learned something lies below it (Caccia
et al., 2020, "Language GANs falling short"). For each β:

  quality    NLL-oracle of num samples drawn at β (oracle runs), or BLEU-4
             against the test references (text runs, the Texygen protocol)
  diversity  NLL-test at β: the tempered model's per-token NLL of held-out
             real data (oracle test set / text test split), so a model that
             covers the data less well at β scores higher
  distinct4  distinct 4-grams of the samples
  jeffreys, bhattacharyya, nll_balanced
             (oracle runs) the divergences between the oracle and the model
             at β, from the samples and the held-out rows
             (OracleSource.divergences, leakgan_tf.divergences)

Each β uses the same sampling seed, so the curves differ only by β.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from leakgan_tf import metrics

if TYPE_CHECKING:
    from leakgan_tf.leakgan import LeakGAN
    from leakgan_tf.sources import Source

DEFAULT_BETAS = (0.8, 1.0, 1.2, 1.5, 2.0)


def temperature_sweep(gan: LeakGAN, source: Source, betas: Sequence[float], num_samples: int,
                      seed: int = 0) -> list[dict[str, float]]:
    """[{beta, nll_oracle | bleu4, nll_test, distinct4[, jeffreys, bhattacharyya,
    nll_balanced]}] for each β, in order (the divergences on oracle runs).

    gan: a LeakGAN; source: sources.OracleSource or TextSource of its run;
    num_samples: samples (and held-out rows, oracle) per β.
    """
    oracle = getattr(source, "oracle", None)
    held_out = source.test_set() if oracle is not None else source.corpus.test
    scorer = None if oracle is not None else metrics.BleuScorer(source.corpus.test_tokens, max_n=4,
                                                                smoothing="method1")
    rows = []
    for beta in betas:
        gan.reset_rng(seed)
        samples = gan.generate(num_samples, float(beta))
        row = dict(beta=float(beta))
        if oracle is not None:
            log_p = oracle.log_probs(samples)  # one oracle pass for NLL-oracle and the divergences
            row["nll_oracle"] = float(oracle.nll_from_log_probs(log_p, samples.shape[1]))
        else:
            row["bleu4"] = float(scorer.mean_bleus([source.words(r) for r in samples], [4])[4])
        row.update(nll_test=float(gan.nll(held_out, beta)), distinct4=metrics.distinct_n(samples.tolist(), 4))
        if oracle is not None:
            row.update(source.divergences(gan, [(samples, float(beta), "", log_p)]))
        rows.append(row)
    return rows


def plot_sweeps(curves: dict[str, list[dict[str, float]]], path: str | os.PathLike,
                title: str = "") -> str | None:
    """Draws {label: rows of temperature_sweep} as quality against NLL-test, one
    line per label with its β values annotated, written atomically to path (PNG).
    Returns path, or None when matplotlib is missing (pip install -e .[experiments])."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.5))
    quality = "nll_oracle"
    for label, rows in curves.items():
        quality = "nll_oracle" if "nll_oracle" in rows[0] else "bleu4"
        xs, ys = [r["nll_test"] for r in rows], [r[quality] for r in rows]
        ax.plot(xs, ys, marker="o", label=label)
        for r, x, y in zip(rows, xs, ys):
            ax.annotate(f"β={r['beta']:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("NLL-test at β (diversity: lower covers held-out data better)")
    ax.set_ylabel("NLL-oracle of samples at β (quality: lower is better)" if quality == "nll_oracle"
                  else "BLEU-4 of samples at β (quality: higher is better)")
    ax.set_title(title or "quality–diversity over inverse temperature β")
    ax.legend(fontsize=8)
    return save_png(fig, path)


def save_png(fig, path: str | os.PathLike) -> str | os.PathLike:
    """Writes a matplotlib figure to path as PNG (laid out, 90 dpi), atomically, and
    closes it. Returns path."""
    import matplotlib.pyplot as plt

    from leakgan_tf import data
    fig.tight_layout()
    with data.atomic_write(path, "wb") as f:
        fig.savefig(f, dpi=90, format="png")
    plt.close(fig)
    return path
