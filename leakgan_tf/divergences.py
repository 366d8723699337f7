"""Divergences between the oracle P and a generator Q, estimated from per-sample
log-probabilities (synthetic experiments, where both densities can be evaluated).

Montahaei, Alihosseini and Soleymani Baghshah (2019), "Jointly Measuring Diversity
and Quality in Text Generation Models" (NeuralGen workshop at NAACL 2019, W19-2311;
arXiv:1904.03971), for oracle experiments: with X ~ P (held-out oracle rows, N of them) and Y ~ Q
(generator samples, M of them), and each sequence's log P and log Q (natural log,
summed over its T tokens):

  Jeffreys       J = KL(P‖Q) + KL(Q‖P)
                   ≈ mean_X[log P − log Q] + mean_Y[log Q − log P]
  Bhattacharyya  D_B = −log BC,  BC = Σ_s √(P(s) Q(s)) = E_P[√(Q/P)] = E_Q[√(P/Q)]
                   ≈ −½ (log mean_X √(Q/P) + log mean_Y √(P/Q))

The Bhattacharyya estimator is the authors' (their evaluation code,
github.com/Danial-Alh/TextGenerationEvaluator, metrics/divergences.py): the geometric
mean of the two one-sided estimates of BC, each a log-mean-exp of half the log-ratios
(computed with logsumexp, so no ratio is ever exponentiated on its own). The paper's own
text was not reachable (only its abstract). Taking the arithmetic mean of the two BC
estimates instead, −log ½(mean_X √(Q/P) + mean_Y √(P/Q)), has the same limit and gives
a D_B never above this one (AM ≥ GM).
The Jeffreys estimate is unbiased; D_B's is consistent but biased upwards for few
samples (the log of a sample mean), and both one-sided means are heavy-tailed where one
density is far below the other, so compare models at equal N and M.

Both are per sequence (nats over T tokens). `nll_balanced` is the per-token sum of the
two cross-entropies the project already reports, NLL-oracle (−mean_Y log P / T) and
NLL-test (−mean_X log Q / T): a score of quality and coverage at once.

Every function takes 1-D arrays: log_p_x, log_q_x [N] (the rows of X), log_p_y,
log_q_y [M] (the rows of Y), and optional weights_x [N], weights_y [M] (nonnegative,
normalised here) that replace the sample means by weighted means: with every sequence
enumerated and weighted by its P (for X) or Q (for Y) the estimates are the exact values
(tests/test_divergences.py).
"""
from __future__ import annotations

import numpy as np

KEYS = ("jeffreys", "bhattacharyya", "nll_balanced")  # the JSON / TensorBoard keys of `scores`


def _pair(log_a, log_b, weights, name):
    """float64 [n] arrays a, b and normalised weights [n] (None: uniform), checked."""
    a, b = np.asarray(log_a, np.float64), np.asarray(log_b, np.float64)
    if a.ndim != 1 or a.shape != b.shape or not a.size:
        raise ValueError(f"{name}: log-probabilities must be two non-empty 1-D arrays of one length, got shapes "
                         f"{a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError(f"{name}: log-probabilities must be finite")
    if weights is None:
        return a, b, np.full(a.shape, 1.0 / a.size)
    w = np.asarray(weights, np.float64)
    if w.shape != a.shape or (w < 0).any() or not w.sum() > 0:
        raise ValueError(f"{name}: weights must be nonnegative, not all 0, shape {a.shape}; got shape {w.shape}")
    return a, b, w / w.sum()


def _log_mean_exp(values, weights):
    """log Σ_i w_i exp(v_i) for weights summing to 1 (logsumexp: no overflow)."""
    keep = weights > 0
    v, logw = values[keep], np.log(weights[keep])
    top = np.max(v + logw)
    return float(top + np.log(np.sum(np.exp(v + logw - top))))


def kl_pq(log_p_x, log_q_x, weights_x=None) -> float:
    """KL(P‖Q) ≈ mean_X[log P − log Q], X ~ P (nats per sequence)."""
    p, q, w = _pair(log_p_x, log_q_x, weights_x, "X")
    return float(np.dot(w, p - q))


def kl_qp(log_p_y, log_q_y, weights_y=None) -> float:
    """KL(Q‖P) ≈ mean_Y[log Q − log P], Y ~ Q (nats per sequence)."""
    p, q, w = _pair(log_p_y, log_q_y, weights_y, "Y")
    return float(np.dot(w, q - p))


def jeffreys(log_p_x, log_q_x, log_p_y, log_q_y, weights_x=None, weights_y=None) -> float:
    """Jeffreys divergence KL(P‖Q) + KL(Q‖P) (nats per sequence; module doc)."""
    return kl_pq(log_p_x, log_q_x, weights_x) + kl_qp(log_p_y, log_q_y, weights_y)


def bhattacharyya(log_p_x, log_q_x, log_p_y, log_q_y, weights_x=None, weights_y=None) -> float:
    """Bhattacharyya distance −log Σ √(PQ), Montahaei et al.'s estimator
    −½ (log mean_X √(Q/P) + log mean_Y √(P/Q)) (nats per sequence; module doc)."""
    px, qx, wx = _pair(log_p_x, log_q_x, weights_x, "X")
    py, qy, wy = _pair(log_p_y, log_q_y, weights_y, "Y")
    return -0.5 * (_log_mean_exp(0.5 * (qx - px), wx) + _log_mean_exp(0.5 * (py - qy), wy))


def nll_balanced(log_p_y, log_q_x, length: int, weights_x=None, weights_y=None) -> float:
    """NLL-oracle + NLL-test per token: (−mean_Y log P − mean_X log Q) / T, for
    log_p_y [M] (the oracle on Y ~ Q) and log_q_x [N] (the generator on X ~ P)."""
    _, py, wy = _pair(log_p_y, log_p_y, weights_y, "Y")
    _, qx, wx = _pair(log_q_x, log_q_x, weights_x, "X")
    return -(float(np.dot(wy, py)) + float(np.dot(wx, qx))) / int(length)


def scores(log_p_x, log_q_x, log_p_y, log_q_y, length: int, suffix: str = "") -> dict[str, float]:
    """{jeffreys, bhattacharyya, nll_balanced} + suffix (KEYS) of one generator's samples
    Y and the held-out rows X, for sequences of `length` tokens."""
    return {f"jeffreys{suffix}": jeffreys(log_p_x, log_q_x, log_p_y, log_q_y),
            f"bhattacharyya{suffix}": bhattacharyya(log_p_x, log_q_x, log_p_y, log_q_y),
            f"nll_balanced{suffix}": nll_balanced(log_p_y, log_q_x, length)}
