"""A tiny COCO run end to end: trains, evaluates with BLEU, samples text,
exports a SavedModel that a fresh process reloads and calls."""
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.heavy(seconds=140)  # measured on 2 cores; orders the modules (conftest)

TINY = """--preset=coco
--dataset=text
--seq_len=32
--batch_size=4
--gen_emb_dim=8
--gen_hidden_dim=8
--goal_size=4
--dis_emb_dim=8
--dis_filter_sizes=1,2,3,32
--dis_num_filters=4,4,4,4
--generated_num=32
--sample_batch=16
--pretrain_blocks=1
--pretrain_d_rounds=1
--d_epochs=1
--pretrain_g_epochs=1
--pretrain_eval_epochs=0
--adversarial_iterations=2
--adv_d_rounds=1
--eval_every=1
--interleave_mle_every=1
--max_vocab=300
--xla_phases=
"""  # no XLA: compiling the pretrain step at length 32 took 25 of the run's 48 s (tested in test_steps)


def run(*args, module="leakgan_tf.main", cwd=REPO_ROOT):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", module, *args] if module else [sys.executable, *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=900)


@pytest.fixture(scope="module")
def coco_run(tmp_path_factory, shared_data):
    tmp = tmp_path_factory.mktemp("coco")
    train, test = tmp / "train.txt", tmp / "test.txt"
    train.write_text("\n".join((shared_data / "image_coco" / "train.txt").read_text().splitlines()[:400]) + "\n")
    test.write_text("\n".join((shared_data / "image_coco" / "test.txt").read_text().splitlines()[:200]) + "\n")
    flagfile = tmp / "tiny.cfg"
    flagfile.write_text(TINY + f"--train_file={train}\n--test_file={test}\n--logdir={tmp / 'run'}\n")
    result = run(f"--flagfile={flagfile}")
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp, result.stdout


def test_trains_and_reports_bleu_self_bleu_and_nll_test(coco_run):
    tmp, out = coco_run
    assert "vocabulary 300" in out
    for metric in ("nll_test", "bleu2", "bleu5", "self_bleu2"):
        assert metric in out
    assert (tmp / "run" / "vocab.txt").read_text().splitlines()[:3] == ["<pad>", "<eos>", "<unk>"]


def test_sample_prints_sentences(coco_run):
    tmp, _ = coco_run
    result = run("--logdir", str(tmp / "run"), "--num", "4", module="leakgan_tf.sample")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(not line.strip().isdigit() for line in lines)
    vocab = set((tmp / "run" / "vocab.txt").read_text().splitlines())
    assert all(word in vocab for line in lines for word in line.split() if word.isalpha())


def test_savedmodel_reloads_without_the_package(coco_run):
    tmp, _ = coco_run
    result = run("--logdir", str(tmp / "run"), "--export", str(tmp / "export"), module="leakgan_tf.sample")
    assert result.returncode == 0, result.stderr
    code = ("import sys, tensorflow as tf\n"
            f"m = tf.saved_model.load({str(tmp / 'export')!r})\n"
            "out = m.generate(num=tf.constant(6), beta=tf.constant(1.0), seed=tf.constant(5, tf.int64))\n"
            "again = m.generate(num=tf.constant(6), beta=tf.constant(1.0), seed=tf.constant(5, tf.int64))\n"
            "assert out['ids'].shape == (6, 32), out['ids'].shape\n"
            "assert (out['ids'].numpy() == again['ids'].numpy()).all()\n"
            "assert 'leakgan_tf' not in sys.modules\n"
            # what a user naturally passes: Python ints, int32 tensors; the first rows do not depend on num
            "plain = m.generate(num=6, beta=1.0, seed=5)['ids'].numpy()\n"
            "small = m.generate(num=tf.constant(3), beta=tf.constant(1.0), seed=tf.constant(5))['ids'].numpy()\n"
            "wide = m.generate(num=tf.constant(6, tf.int64), beta=1.0, seed=tf.constant(5, tf.int64))['ids'].numpy()\n"
            "assert (plain == out['ids'].numpy()).all() and (small == plain[:3]).all() and (wide == plain).all()\n"
            "print(' '.join(map(str, plain[0])))\n"
            "print(len(out['text'].numpy()))\n")
    result = run("-c", code, module=None, cwd=tmp)
    assert result.returncode == 0, result.stderr
    first_row, count = result.stdout.strip().splitlines()[-2:]
    assert count == "6"
    # leakgan_tf.sample with the same seed and β prints the same rows
    sampled = run("--logdir", str(tmp / "run"), "--num", "2", "--seed", "5", "--beta", "1.0", "--ids",
                  module="leakgan_tf.sample")
    assert sampled.returncode == 0, sampled.stderr
    assert sampled.stdout.splitlines()[0] == first_row


@pytest.mark.parametrize("content,fragment", [
    (b"", "empty"),
    (b"a cat .\n\xff\xfe bad bytes\n", "UTF-8"),
])
def test_malformed_corpora_get_one_line(tmp_path, content, fragment):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    result = run("--preset=coco", "--dataset=text", f"--train_file={bad}", f"--logdir={tmp_path / 'run'}")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and fragment in result.stderr.splitlines()[-1]


def test_test_file_with_no_sentence_that_fits(tmp_path):
    train, test = tmp_path / "train.txt", tmp_path / "test.txt"
    train.write_text("a dog runs .\n" * 50)
    test.write_text(" ".join(["word"] * 40) + "\n")
    result = run("--preset=coco", "--dataset=text", f"--train_file={train}", f"--test_file={test}",
                 f"--logdir={tmp_path / 'run'}")
    assert result.returncode == 2 and "no sentence fits" in result.stderr.splitlines()[-1], result.stderr


def test_evaluate_scores_the_checkpoint_under_both_bleu_protocols(coco_run):
    import json
    tmp, _ = coco_run
    out = tmp / "eval.json"
    result = run(f"--logdir={tmp / 'run'}", f"--out={out}", module="leakgan_tf.evaluate")
    assert result.returncode == 0, result.stdout + result.stderr
    scores = json.loads(out.read_text())
    assert scores == json.loads(result.stdout)
    assert scores["iterations_done"] == 2 and scores["blocks_done"] == 1 and scores["num_samples"] == 32
    for n in (2, 3, 4, 5):
        assert 0 <= scores[f"paper_bleu{n}"] <= 1 and 0 <= scores[f"bleu{n}"] <= 1
        assert 0 <= scores[f"self_bleu{n}"] <= 1
    assert "2,000 hypotheses" in scores["protocols"]["paper"] and "method1" in scores["protocols"]["texygen"]
    assert scores["nll_test"] > 0
