"""Console progress: the ETA is the sum of measured seconds per kind of work
over the units left, and it survives a resume through the saved timings."""
import io

from leakgan_tf.config import Config
from leakgan_tf.summaries import Progress
from leakgan_tf.train import schedule_units


def test_schedule_units_follow_the_trainer_schedule():
    cfg = Config(pretrain_blocks=2, pretrain_d_rounds=1, pretrain_g_epochs=2, pretrain_eval_epochs=(1,),
                 adversarial_iterations=3, adv_d_rounds=2, eval_every=2, interleave_mle_every=2)
    units = schedule_units(cfg)
    assert units[:3] == [("d_round",), ("mle_epoch",), ("mle_epoch", "eval")]
    adversarial = units[6:]
    # iteration 0: eval + interleaved MLE; 1: neither; 2: the last one, evaluated and interleaved
    assert adversarial[0] == ("g_step", "eval", "mle_epoch") and adversarial[3] == ("g_step",)
    assert adversarial[6] == ("g_step", "eval", "mle_epoch")
    assert len(units) == 2 * (1 + 2) + 3 * (1 + 2)


def test_eta_weights_each_kind_by_its_own_duration():
    progress = Progress([("d_round",), ("g_step",), ("d_round",), ("g_step",)], out=io.StringIO())
    assert progress.eta() == (0.0, False)
    progress.timed("d_round", 100.0)
    progress.advance()
    # one D round left is known (100 s), the G steps are not timed yet: a lower bound
    assert progress.eta() == (100.0, False)
    progress.timed("g_step", 10.0)
    progress.advance()
    assert progress.eta() == (110.0, True)
    progress.log("x", "y")
    assert progress.out.getvalue().rstrip().endswith("eta 0:01:50")


def test_lower_bound_is_marked_and_nothing_known_is_a_question_mark():
    out = io.StringIO()
    progress = Progress([("d_round",), ("g_step",)], out=out)
    progress.log("a", "b")
    progress.timed("d_round", 65.0)
    progress.log("a", "b")
    first, second = out.getvalue().splitlines()
    assert first.endswith("eta ?") and second.endswith("eta >0:01:05")


def test_timings_saved_and_loaded_give_a_resumed_run_its_eta(tmp_path):
    first = Progress([("d_round",)] * 4, out=io.StringIO())
    first.timed("d_round", 30.0)
    first.timed("d_round", 50.0)
    first.save(tmp_path / "timings.json")
    resumed = Progress([("d_round",)] * 4, out=io.StringIO())
    resumed.load(tmp_path / "timings.json")
    resumed.resume(2)
    assert resumed.eta() == (80.0, True)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    ignored = Progress([("d_round",)], out=io.StringIO())
    ignored.load(broken)
    ignored.load(tmp_path / "missing.json")
    assert ignored.eta() == (0.0, False)
