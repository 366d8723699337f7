"""The quality-diversity sweep: NLL at an inverse temperature, the sweep's rows,
and `leakgan_tf.evaluate --betas` on a tiny trained run."""
import json

import numpy as np
import pytest
import tensorflow as tf

from leakgan_tf import divergences, run_dir, sources, sweep
from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.summaries import read_scalars_csv
from tests.helpers import tiny_config, tiny_flags
from tests.test_cli import assert_one_line_error, cli

TINY = dict(extended_eval=True, xla_phases=())


def test_log_probs_at_beta_are_the_tempered_softmax():
    """Rows that share a prefix and differ in the last token: at β the log-prob
    differences are β times those at 1, and over the whole vocabulary the
    probabilities sum to 1 (softmax(β · logits))."""
    gan = LeakGAN(tiny_config(**TINY))
    prefix = np.random.default_rng(0).integers(0, 30, size=7)
    rows = np.array([np.append(prefix, v) for v in range(30)] + [np.append(prefix, 0)] * 2, np.int32)  # 32 = 8 B
    last = {}
    for beta in (1.0, 2.5):
        lp = np.concatenate([gan.generator.teacher_forced(tf.constant(rows[i:i + 4]), beta=beta).log_probs[:, -1]
                             for i in range(0, 32, 4)])[:30]
        last[beta] = lp
        assert abs(np.exp(lp).sum() - 1) < 1e-4
    np.testing.assert_allclose(last[2.5] - last[2.5][0], 2.5 * (last[1.0] - last[1.0][0]), atol=2e-4)
    assert abs(gan.nll(rows, 1.0) - gan.nll(rows)) < 1e-7
    assert abs(gan.nll(rows, 2.5) - gan.nll(rows)) > 1e-3


def test_sweep_rows_share_one_sampling_seed_and_score_the_test_set(tmp_path):
    cfg = tiny_config(**TINY)
    gan = LeakGAN(cfg)
    source = sources.from_config(cfg, tmp_path)
    rows = sweep.temperature_sweep(gan, source, [0.5, 1.0, 3.0], 16, seed=7)
    assert [r["beta"] for r in rows] == [0.5, 1.0, 3.0]
    for r in rows:
        gan.reset_rng(7)
        samples = gan.generate(16, r["beta"])
        assert r["nll_oracle"] == pytest.approx(source.oracle.nll(samples), abs=1e-6)
        assert r["nll_test"] == pytest.approx(gan.nll(source.test_set(), r["beta"]), abs=1e-6)
        assert 0 < r["distinct4"] <= 1
        assert {k: r[k] for k in divergences.KEYS} == pytest.approx(
            source.divergences(gan, [(samples, r["beta"], "", None)]), rel=1e-9)
        # the balanced NLL is the row's NLL-oracle + NLL-test at β (float32 NLL-test: up to rounding)
        assert r["nll_balanced"] == pytest.approx(r["nll_oracle"] + r["nll_test"], rel=1e-5)
    assert rows[0]["nll_test"] != rows[2]["nll_test"]
    png = sweep.plot_sweeps({"tiny": rows}, tmp_path / "sweep.png")
    if png is not None:
        assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_betas_writes_the_sweep_and_its_plot(tmp_path):
    flagfile = tmp_path / "tiny.cfg"
    flagfile.write_text(tiny_flags(adversarial_iterations=1)
                        + f"--logdir={tmp_path / 'run'}\n--extended_eval\n")
    assert cli(f"--flagfile={flagfile}").returncode == 0
    out, png = tmp_path / "eval.json", tmp_path / "sweep.png"
    result = cli(f"--logdir={tmp_path / 'run'}", "--betas=0.5,1.0,2", f"--out={out}", f"--plot={png}",
                 module="leakgan_tf.evaluate")
    assert result.returncode == 0, result.stderr
    scores = json.loads(out.read_text())
    assert [r["beta"] for r in scores["sweep"]] == [0.5, 1.0, 2.0]
    # NLL-test at β = 1 is the protocol's NLL-test (same held-out rows, same model).
    assert scores["sweep"][1]["nll_test"] == pytest.approx(scores["nll_test"], abs=1e-6)
    assert "samples per β" in scores["sweep_protocol"]
    # every score of an oracle run is named in its protocol line
    protocol = scores["protocols"]["oracle"]
    keys = [key + suffix for suffix in ("", "_beta1") for key in divergences.KEYS]
    assert all(name in protocol for name in ("nll_oracle", "nll_oracle_beta1", "nll_test", "distinct4",
                                             "ground_truth_nll", str(scores["num_samples"]), *keys))
    assert all(scores[key] > 0 for key in keys) and "jeffreys" in scores["sweep"][0]
    assert scores["nll_balanced_beta1"] == pytest.approx(scores["nll_oracle_beta1"] + scores["nll_test"], rel=1e-5)
    # the run's own evaluations (--extended_eval) logged them to TensorBoard and scalars.csv
    events = run_dir.scalars(tmp_path / "run", keep=lambda tag: tag.split("/")[-1] in keys)
    logged = {tag for tag, _ in read_scalars_csv(tmp_path / "run" / "scalars.csv")}
    for key in keys:
        assert f"adversarial/{key}" in events and f"adversarial/{key}" in logged, key
    pytest.importorskip("matplotlib")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args,fragment", [
    (["--betas=0"], "must be > 0"),
    (["--betas=-1.5"], "must be > 0"),
    (["--betas=warm"], "not a number"),
    (["--plot=x.png"], "pass --betas"),
])
def test_evaluate_rejects_bad_betas(tmp_path, args, fragment):
    assert_one_line_error(cli(f"--logdir={tmp_path}", *args, module="leakgan_tf.evaluate"), fragment)
