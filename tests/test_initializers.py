"""Every weight has a random stream of its own, with the original's distribution
(spec §2.3), and the same seed gives the same weights.

A Keras 3 initializer instance draws the same values every call (the same shape:
equal; another shape: a prefix of one stream), so one instance shared by several
weights made, e.g., D's highway transform and gate start identical and every LSTM
bias the first values of its kernel (leakgan_tf/models/initializers.py)."""
import itertools
import math

import numpy as np
import pytest

from leakgan_tf.config import make_config
from leakgan_tf.leakgan import LeakGAN

# (mean, std, bound) of each kind of draw; bound = the largest |x| it may give
NORMAL = (0.0, 0.1, None)
TRUNCATED = (0.0, 0.1 * 0.87962566, 0.2)  # N(0, 0.1²) cut at 2σ: std 0.1·sqrt(1 − 2·2φ(2)/(2Φ(2) − 1))


def uniform(limit):
    return (0.0, limit / math.sqrt(3.0), limit)


def expected(name, feature_dim):
    """The original's initialiser of a variable of the length-20 models, by its path."""
    leaf = name.split("/")[-1]
    if name.startswith("discriminator/"):
        if leaf == "embedding":
            return uniform(1.0)
        if leaf.startswith("conv") and leaf.endswith("_bias") or leaf == "out_bias":
            return "constant"
        if leaf.startswith("conv") or leaf == "out_kernel":
            return TRUNCATED
        return uniform(math.sqrt(3.0 / feature_dim))  # highway and gate: TF1's Glorot default
    if leaf == "goal_init":
        return TRUNCATED
    return NORMAL  # every other Manager and Worker weight and bias


@pytest.fixture(scope="module")
def length20():
    gan = LeakGAN(make_config("synthetic20", seed=88, xla_phases=()))
    models = (gan.discriminator, gan.manager, gan.worker)
    return gan, {v.path: v.numpy().ravel() for m in models for v in m.weights}


def test_the_length20_models_have_31_random_variables(length20):
    gan, weights = length20
    kinds = {name: expected(name, gan.discriminator.feature_dim) for name in weights}
    assert sum(kind != "constant" for kind in kinds.values()) == 31, sorted(kinds)


def test_no_two_variables_share_a_stream(length20):
    gan, weights = length20
    random = {n: w for n, w in weights.items() if expected(n, gan.discriminator.feature_dim) != "constant"}
    for (a, x), (b, y) in itertools.combinations(random.items(), 2):
        n = min(x.size, y.size)
        assert not np.array_equal(x[:n], y[:n]), f"{a} and {b} agree on their first {n} values"
        # standardised: a shared stream of another distribution still correlates
        r = np.corrcoef(x[:n], y[:n])[0, 1]
        assert abs(r) < 6 / math.sqrt(n), f"{a} and {b} correlate: r = {r:.3f} over {n} values"


def test_each_variable_fits_its_initialiser(length20):
    gan, weights = length20
    for name, w in weights.items():
        kind = expected(name, gan.discriminator.feature_dim)
        if kind == "constant":
            np.testing.assert_array_equal(w, np.full_like(w, 0.1), err_msg=name)
            continue
        mean, std, bound = kind
        n = w.size
        assert abs(w.mean() - mean) < 6 * std / math.sqrt(n), (name, w.mean())
        assert abs(w.std() / std - 1) < 6 / math.sqrt(2 * n) + 0.01, (name, w.std(), std)
        if bound is not None:
            assert np.abs(w).max() <= bound, (name, np.abs(w).max(), bound)
            assert np.abs(w).max() > 0.9 * bound or n < 1000, (name, np.abs(w).max(), bound)  # uses its range


def test_the_same_seed_gives_the_same_weights_and_another_seed_other_weights(length20):
    _, weights = length20
    again = LeakGAN(make_config("synthetic20", seed=88, xla_phases=()))
    other = LeakGAN(make_config("synthetic20", seed=89, xla_phases=()))
    for gan, same in ((again, True), (other, False)):
        built = {v.path: v.numpy().ravel() for m in (gan.discriminator, gan.manager, gan.worker) for v in m.weights}
        assert built.keys() == weights.keys()
        for name, w in weights.items():
            if "bias" in name and name.startswith("discriminator/") and "highway" not in name and "gate" not in name:
                continue  # constants
            assert np.array_equal(built[name], w) == same, name
