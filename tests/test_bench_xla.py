"""experiments/bench_xla.py calls every compiled step as LeakGAN does: at tiny
sizes each phase's tf.function side runs and times (no timing is asserted), and
an XLA side that fails is reported in the row instead of stopping the benchmark."""
import pytest

from leakgan_tf.config import XLA_PHASES
from leakgan_tf.leakgan import LeakGAN
from tests.helpers import load_experiment, tiny_config

bench_xla = load_experiment("bench_xla")


@pytest.fixture(scope="module")
def gan_and_calls():
    cfg = tiny_config()
    gan = LeakGAN(cfg)
    return gan, bench_xla.phase_calls(gan, cfg)


def test_every_phase_xla_can_compile_is_benchmarked(gan_and_calls):
    _, calls = gan_and_calls
    assert tuple(calls) == XLA_PHASES


@pytest.mark.parametrize("phase", XLA_PHASES)
def test_the_products_step_runs_as_the_benchmark_calls_it(gan_and_calls, phase):
    gan, calls = gan_and_calls
    _, fn, inputs, _ = calls[phase]
    row = bench_xla.time_phase(gan, fn, inputs, repeats=1, rounds=2, sides=("tf.function",))
    assert isinstance(row["tf.function"], float), row  # a str is the failure message
    assert len(row["tf.function rounds"]) == 2 and row["tf.function first call"] >= 0
    assert "xla" not in row and "xla_speedup" not in row


def test_a_failing_side_is_reported_not_raised(gan_and_calls):
    gan, calls = gan_and_calls
    _, fn, (tokens, labels, seed), _ = calls["discriminator"]
    row = bench_xla.time_phase(gan, fn, (tokens[:, :3], labels, seed), repeats=1, rounds=2, sides=("tf.function",))
    assert row["tf.function"].startswith("failed: "), row
    assert "tf.function rounds" not in row
