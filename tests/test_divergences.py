"""The oracle divergences (leakgan_tf.divergences) against closed forms, and the
per-sequence log-probabilities of LeakGAN and the oracle they are computed from.

Closed forms: under P every token is i.i.d. Bernoulli(p), under Q Bernoulli(q), over
T tokens, so a sequence with k ones has log P = k log p + (T − k) log(1 − p) and
  BC = (√(pq) + √((1 − p)(1 − q)))^T,   D_B = −log BC,
  J  = T (p − q) (log(p/q) − log((1 − p)/(1 − q))),
  NLL-oracle + NLL-test = −(q log p + (1 − q) log(1 − p)) − (p log q + (1 − p) log(1 − q)).
"""
import itertools

import numpy as np
import pytest

from leakgan_tf import divergences

T, P_ONE, Q_ONE = 10, 0.3, 0.55


def log_prob(seqs, one):
    """log-probability [N] of 0/1 sequences [N, T] with i.i.d. Bernoulli(one) tokens."""
    k = seqs.sum(1)
    return k * np.log(one) + (seqs.shape[1] - k) * np.log(1 - one)


def closed_form(p, q, length):
    bc = np.sqrt(p * q) + np.sqrt((1 - p) * (1 - q))
    return dict(jeffreys=length * (p - q) * (np.log(p / q) - np.log((1 - p) / (1 - q))),
                bhattacharyya=-length * np.log(bc),
                nll_balanced=-(q * np.log(p) + (1 - q) * np.log(1 - p)) - (p * np.log(q) + (1 - p) * np.log(1 - q)))


def test_exact_on_every_sequence_weighted_by_its_probability():
    """All 2^T sequences, X weighted by P and Y by Q: the estimators' weighted means are
    expectations, so they equal the closed forms (and a direct numpy sum over sequences)."""
    seqs = np.array(list(itertools.product([0, 1], repeat=T)))
    lp, lq = log_prob(seqs, P_ONE), log_prob(seqs, Q_ONE)
    wp, wq = np.exp(lp), np.exp(lq)
    expect = closed_form(P_ONE, Q_ONE, T)
    got = dict(jeffreys=divergences.jeffreys(lp, lq, lp, lq, wp, wq),
               bhattacharyya=divergences.bhattacharyya(lp, lq, lp, lq, wp, wq),
               nll_balanced=divergences.nll_balanced(lp, lq, T, weights_x=wp, weights_y=wq))
    for key in expect:
        assert got[key] == pytest.approx(expect[key], rel=1e-12), key
    # the same sums written out directly over the 1024 sequences
    assert got["jeffreys"] == pytest.approx(np.sum((wp - wq) * (lp - lq)), rel=1e-12)
    assert got["bhattacharyya"] == pytest.approx(-np.log(np.sum(np.sqrt(wp * wq))), rel=1e-12)
    assert divergences.kl_pq(lp, lq, wp) == pytest.approx(np.sum(wp * (lp - lq)), rel=1e-12)


def test_monte_carlo_within_five_standard_errors():
    """Samples X ~ P and Y ~ Q: each estimate lies within 5 of its standard errors
    (from the samples; the delta method for D_B) of the closed form."""
    rng = np.random.default_rng(34)
    n = 100_000
    x = (rng.random((n, T)) < P_ONE).astype(int)
    y = (rng.random((n, T)) < Q_ONE).astype(int)
    lpx, lqx, lpy, lqy = log_prob(x, P_ONE), log_prob(x, Q_ONE), log_prob(y, P_ONE), log_prob(y, Q_ONE)
    expect = closed_form(P_ONE, Q_ONE, T)
    got = divergences.scores(lpx, lqx, lpy, lqy, T)
    se_j = np.sqrt(np.var(lpx - lqx) / n + np.var(lqy - lpy) / n)
    rx, ry = np.exp(0.5 * (lqx - lpx)), np.exp(0.5 * (lpy - lqy))
    se_b = 0.5 * np.sqrt(np.var(rx) / (n * rx.mean() ** 2) + np.var(ry) / (n * ry.mean() ** 2))
    se_n = np.sqrt(np.var(lpy) / n + np.var(lqx) / n) / T
    for key, se in (("jeffreys", se_j), ("bhattacharyya", se_b), ("nll_balanced", se_n)):
        assert 0 < se < 0.02 * expect[key], key  # the test can tell a wrong estimator from a right one
        assert abs(got[key] - expect[key]) < 5 * se, (key, got[key], expect[key], se)
    # the estimates from a direct numpy computation on the same samples
    assert got["jeffreys"] == pytest.approx(np.mean(lpx - lqx) + np.mean(lqy - lpy), rel=1e-12)
    assert got["bhattacharyya"] == pytest.approx(-0.5 * (np.log(rx.mean()) + np.log(ry.mean())), rel=1e-12)
    assert got["nll_balanced"] == pytest.approx(-(lpy.mean() + lqx.mean()) / T, rel=1e-12)


def test_identical_distributions_give_zero_and_the_keys_take_a_suffix():
    rng = np.random.default_rng(1)
    lx, ly = rng.normal(-30, 5, 64), rng.normal(-30, 5, 48)
    got = divergences.scores(lx, lx, ly, ly, 20, suffix="_beta1")
    assert set(got) == {key + "_beta1" for key in divergences.KEYS}
    assert got["jeffreys_beta1"] == 0.0
    assert abs(got["bhattacharyya_beta1"]) < 1e-12
    assert got["nll_balanced_beta1"] == pytest.approx(-(ly.mean() + lx.mean()) / 20, rel=1e-12)


def test_large_log_ratios_stay_finite():
    """Log-ratios of hundreds of nats (a model far from the oracle) overflow exp; logsumexp does not."""
    lpx, lqx = np.array([-50.0, -60.0]), np.array([-900.0, -40.0])
    lpy, lqy = np.array([-800.0, -700.0]), np.array([-20.0, -30.0])
    value = divergences.bhattacharyya(lpx, lqx, lpy, lqy)
    direct = -0.5 * (np.log(np.mean(np.exp(0.5 * (lqx - lpx)))) + (0.5 * (-700.0 + 30.0) + np.log(
        np.mean(np.exp(0.5 * (lpy - lqy) - 0.5 * (-700.0 + 30.0))))))
    assert np.isfinite(value) and value == pytest.approx(direct, rel=1e-12)


@pytest.mark.parametrize("args,fragment", [
    (([1.0, 2.0], [1.0], [1.0], [1.0]), "one length"),
    (([], [], [1.0], [1.0]), "non-empty"),
    (([np.nan], [1.0], [1.0], [1.0]), "finite"),
    (([[1.0]], [[1.0]], [1.0], [1.0]), "1-D"),
])
def test_bad_arrays_are_refused(args, fragment):
    with pytest.raises(ValueError, match=fragment):
        divergences.jeffreys(*args)


@pytest.mark.parametrize("weights", [[-1.0], [0.0], [1.0, 1.0]])
def test_bad_weights_are_refused(weights):
    with pytest.raises(ValueError, match="weights must be nonnegative"):
        divergences.bhattacharyya([1.0], [1.0], [1.0], [1.0], weights_x=weights)


def test_leakgan_and_oracle_log_probs_agree_with_their_nll(tmp_path):
    """LeakGAN.log_probs: −mean / T is nll at every β, a tail short of a batch is scored
    as in a full batch; the oracle's nll is computed from its log_probs to the last bit;
    OracleSource.divergences puts both together."""
    from leakgan_tf import sources
    from leakgan_tf.leakgan import LeakGAN
    from tests.helpers import tiny_config
    cfg = tiny_config(extended_eval=True)
    gan, source = LeakGAN(cfg), sources.from_config(cfg, tmp_path)
    rows = source.test_set()  # 16 rows = 4 batches
    for beta in (1.0, 1.5):
        lq = gan.log_probs(rows, beta)
        assert lq.shape == (16,) and lq.dtype == np.float64 and (lq < 0).all()
        assert -lq.mean() / cfg.seq_len == pytest.approx(gan.nll(rows, beta), rel=1e-6)
        np.testing.assert_allclose(gan.log_probs(rows[:7], beta), lq[:7], rtol=1e-6)  # 7 = 1 batch + 3 padded
    assert np.abs(gan.log_probs(rows, 1.5) - gan.log_probs(rows, 1.0)).max() > 0.05  # β is applied
    oracle = source.oracle
    lp = oracle.log_probs(rows)
    assert oracle.nll(rows) == oracle.nll_from_log_probs(lp, cfg.seq_len)
    assert -lp.mean() / cfg.seq_len == pytest.approx(oracle.nll(rows), rel=1e-12)
    samples = gan.generate(16, 1.5)
    got = source.divergences(gan, [(samples, 1.5, "", None)])
    expect = divergences.scores(lp, gan.log_probs(rows, 1.5), oracle.log_probs(samples), gan.log_probs(samples, 1.5),
                                cfg.seq_len)
    assert got == pytest.approx(expect, rel=1e-12)
    assert got["jeffreys"] > 0 and got["bhattacharyya"] > 0
