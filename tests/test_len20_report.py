"""experiments/len20_report.py (issue 32's report): the logs' band and which points lie
outside it, runs of three or more outside points, LeakGAN's sweep against MLE's curve,
the rendered section and its place in the docs. Its collection from real run folders is
checked in test_oracle_benchmark's end-to-end run."""
import pytest

from tests.helpers import load_experiment

report = load_experiment("len20_report")


def test_points_are_named_as_the_logs_print_them():
    assert [report.point(s) for s in (0, 5, 8, 13, 72, 77)] == ["1.0", "1.5", "2.0", "2.5", "10.0", "10.5"]


def test_the_logs_pretraining_and_adversarial_points_come_from_the_reference():
    pre, adv = report.logs("pretraining"), report.logs("adversarial")
    assert [label for label, _ in pre] == ["repo log1.txt (README)", "repo log.txt"]  # log2.txt: its own schedule
    assert [len(log) for _, log in pre] == [20, 20] and all(sorted(log) == sorted(pre[0][1]) for _, log in pre)
    assert pre[0][1][77] == 8.34681 and pre[1][1][0] == 9.65325
    assert [label for label, _ in adv] == ["repo log1.txt (README)", "repo log.txt", "repo log2.txt"]
    assert adv[2][1][100] == 7.574 and max(adv[1][1]) == 50


def test_band_is_the_logs_min_max_where_two_logs_scored():
    refs = [("a", {0: 8.0, 5: 7.5, 10: 7.0}), ("b", {0: 8.4, 5: 7.9})]
    rows = report.band_table({"88": {0: 8.2, 5: 8.0, 10: 6.0}, "89": {0: 7.9}}, refs)
    assert [r["band"] for r in rows] == [(8.0, 8.4), (7.5, 7.9), None]
    assert [r["inside"] for r in rows] == [{"88": True, "89": False}, {"88": False, "89": None},
                                           {"88": None, "89": None}]
    assert rows[2]["logs"] == [7.0, None]


def test_streaks_of_three_or_more_outside_points_with_their_side():
    band = (1.0, 2.0)

    def rows(values):
        return [dict(step=i, ours={"s": v}, band=None if v is None else band,
                     inside={"s": None if v is None else band[0] <= v <= band[1]}) for i, v in enumerate(values)]
    assert report.outside_streaks(rows([2.5, 2.6, 1.5, 2.1, 2.2, 2.3, 2.4]), "s") == [(3, 6, 4, "above")]
    assert report.outside_streaks(rows([2.5, 2.6, 0.5, 0.4]), "s") == []  # the side changes: two runs of two
    assert report.outside_streaks(rows([0.5, 0.4, None, 0.3, 1.5]), "s") == [(0, 3, 3, "below")]  # no band: skipped
    assert report.outside_streaks(rows([0.5, 0.4, 1.5, 0.3]), "s") == []


def test_curve_gap_measures_leakgan_against_the_mle_curve_at_equal_nll_test():
    mle = [dict(beta=b, nll_test=t, nll_oracle=o) for b, t, o in ((1.0, 9.0, 9.2), (1.5, 10.0, 8.5), (2.0, 11.0, 8.0))]
    gan = [dict(beta=1.0, nll_test=9.5, nll_oracle=8.35), dict(beta=1.5, nll_test=10.5, nll_oracle=8.25),
           dict(beta=2.0, nll_test=12.0, nll_oracle=7.0)]
    gaps = report.curve_gap(mle, gan)
    assert [(b, t) for b, t, _ in gaps] == [(1.0, 9.5), (1.5, 10.5)]  # β = 2 lies outside MLE's NLL-test range
    assert gaps[0][2] == pytest.approx(8.35 - 8.85) and gaps[1][2] == pytest.approx(0.0)


def body(**seed88):
    row = dict(pretraining=[dict(step=s, nll_oracle=v, nll_oracle_beta1=v + 1, nll_test=7.8)
                            for s, v in ((0, 9.70), (5, 9.9), (8, 9.9), (13, 9.9), (16, 8.1))],
               adversarial=[dict(step=0, nll_oracle=8.3), dict(step=5, nll_oracle=7.7)],
               mle=dict(blocks_done=10, nll_oracle=8.52, nll_oracle_beta1=9.18, nll_test=9.88),
               position=dict(blocks_done=10), adversarial_position=dict(iterations_done=6),
               busy_seconds=dict(pretraining=7200, adversarial=1800),
               sweeps={"mle@0": dict(generator="mle", iterations=0, rows=[
                   dict(beta=1.0, nll_oracle=9.2, nll_test=9.0), dict(beta=2.0, nll_oracle=8.0, nll_test=11.0)]),
                   "code@6": dict(generator="code", iterations=6, rows=[dict(beta=1.5, nll_oracle=8.0,
                                                                               nll_test=10.0)])})
    row.update(seed88)
    return dict(seeds={"88": row, "89": dict(pretraining=[dict(step=0, nll_oracle=9.68)], position=dict(
        blocks_done=1))}, machine=dict(model="AMD EPYC", cores=2, avx512=True), targets={"88": 100, "89": 50},
        full_protocol=False)


def test_the_section_states_the_band_the_streaks_the_sweep_gap_and_the_busy_time():
    text = report.markdown(body())
    assert text.startswith(report.MARK_BEGIN) and text.endswith(report.MARK_END)
    assert "seed 88: 10 of 10 pretraining blocks, 6 adversarial iterations (target 100); seed 89: 1 of 10" in text
    # 9.70 lies inside 9.653–9.694? no: above; 1.5–2.5 above too: four in a row; 3.0 (8.1) inside
    assert "| 1.0 | 9.700 / 10.700 / 7.800 | 9.680 / – / – | 9.694 | 9.653 | 9.653–9.694 | **no**, yes |" in text
    assert "seed 88's pretraining points 1.0–2.5 (4 in a row) lie above the logs' band" in text
    assert "| 3.0 | 8.100 / 9.100 / 7.800 | – | 8.136 | 7.964 | 7.964–8.136 | yes, – |" in text
    assert "| 5 | 7.700 / – / – | 7.884 | 7.649 | 8.377 | 7.649–8.377 | yes |" in text
    assert "Every adversarial point lies inside the logs' band" in text
    assert "| seed 88 (6 iterations done) | 5 | 7.700 | 7.700 (5) |" in text and "| repo log.txt | 50 | 6.536" in text
    assert "seed 88, LeakGAN after 6 iterations: β=1.5 -0.600" in text
    assert "| 88 | 2.0 h | 0.5 h | 5.0 min |" in text and "AMD EPYC, 2 cores, AVX-512" in text
    assert "Spread of seeds 88, 89 (pretraining, NLL-oracle β=1.5, 1.0–1.0): mean max−min 0.020" in text


def test_docs_section_is_replaced_between_markers_and_the_text_around_it_kept(tmp_path):
    docs = tmp_path / "results.md"
    docs.write_text("# Results\n\nbefore\n")
    report.write_docs(docs, report.markdown(body()))
    report.write_docs(docs, report.markdown(body(adversarial=[dict(step=0, nll_oracle=9.9)])))
    text = docs.read_text()
    assert text.count(report.MARK_BEGIN) == 1 and "before" in text and "| 0 | 9.900 / – / – |" in text
    docs.write_text(text + "after\n")
    report.write_docs(docs, report.markdown(body()))
    assert docs.read_text().endswith(report.MARK_END + "\nafter\n")


def test_a_sweep_no_longer_on_disk_is_kept_from_the_previous_report():
    now = {"88": dict(sweeps={"code@100": dict(generator="code", iterations=100, rows=[])})}
    before = {"88": dict(sweeps={"code@50": dict(generator="code", iterations=50, rows=[]),
                                 "code@100": dict(generator="code", iterations=100, rows=[dict(beta=1.0)])}),
              "90": dict(sweeps={"mle@0": {}})}
    kept = report.keep_old_sweeps(now, before)
    assert sorted(kept["88"]["sweeps"]) == ["code@100", "code@50"] and kept["88"]["sweeps"]["code@100"]["rows"] == []
    assert "90" not in kept


def test_the_plots_are_written_when_matplotlib_is_installed(tmp_path):
    pytest.importorskip("matplotlib")
    assert report.plot(body(), tmp_path / "r.png") == tmp_path / "r.png"
    assert report.plot_sweeps(body(), tmp_path / "s.png") == tmp_path / "s.png"
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "s.png").stat().st_size > 0


def test_each_scored_iteration_at_beta_1_is_set_against_the_mle_curve():
    adversarial = [dict(step=0, nll_oracle=8.3, nll_oracle_beta1=9.0, nll_test=9.5),
                   dict(step=5, nll_oracle=7.7, nll_oracle_beta1=8.5, nll_test=10.5),
                   dict(step=10, nll_oracle=7.5, nll_oracle_beta1=8.4, nll_test=11.5),
                   dict(step=15, nll_oracle=7.4)]  # scored without --extended_eval: not a point at β = 1
    assert [p["iteration"] for p in report.trajectory_at_beta1(adversarial)] == [0, 5, 10]
    text = report.markdown(body(adversarial=adversarial))
    # MLE's curve: (9.0, 9.2) to (11.0, 8.0); at 9.5 it is 8.9, at 10.5 8.3; 11.5 lies beyond it
    assert "by iteration (\"outside\": beyond the NLL-test range of MLE's sweep): seed 88: 0: +0.100, 5: +0.200, " \
           "10: outside." in text


def test_the_sweep_plot_draws_the_iterations_at_beta_1_beside_the_sweeps(tmp_path):
    pytest.importorskip("matplotlib")
    adversarial = [dict(step=0, nll_oracle=8.3, nll_oracle_beta1=9.0, nll_test=9.5)]
    assert report.plot_sweeps(body(adversarial=adversarial), tmp_path / "s.png") == tmp_path / "s.png"
    assert report.plot_sweeps(body(sweeps={}), tmp_path / "none.png") is None  # no sweep yet: no plot
    assert not (tmp_path / "none.png").exists()
