"""synthetic_oracle: parameters, the Keras OracleLSTM against a numpy
re-derivation, sampling, the safe pickle converter and the CLI's errors."""
import itertools
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO_ROOT

from synthetic_oracle import files as data
from synthetic_oracle import params as params_lib
from synthetic_oracle.errors import OracleError
from synthetic_oracle.model import OracleLSTM, block_size, sample_softmax

V, E, H = 11, 3, 4   # tiny oracle for everything that does not need the paper's


@pytest.fixture(scope="module")
def tiny_params():
    return params_lib.random_params(3, V, E, H)


@pytest.fixture(scope="module")
def tiny(tiny_params):
    return OracleLSTM(tiny_params)


def np_logprobs(p, tokens):
    """Independent numpy oracle (spec §8), float64: log p(x_t | x_<t) [N, T] and logits [N, T, V]."""
    p = {k: v.astype(np.float64) for k, v in p.items()}
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    n, length = tokens.shape
    h = np.zeros((n, p["Ui"].shape[0]))
    c = np.zeros_like(h)
    x = np.repeat(p["embedding"][:1], n, 0)          # start token 0
    logps, all_logits = [], []
    for t in range(length):
        i = sig(x @ p["Wi"] + h @ p["Ui"] + p["bi"])
        f = sig(x @ p["Wf"] + h @ p["Uf"] + p["bf"])
        o = sig(x @ p["Wog"] + h @ p["Uog"] + p["bog"])
        c = f * c + i * np.tanh(x @ p["Wc"] + h @ p["Uc"] + p["bc"])
        h = o * np.tanh(c)
        logits = h @ p["Wo"] + p["bo"]
        m = logits.max(1, keepdims=True)
        log_softmax = logits - m - np.log(np.exp(logits - m).sum(1, keepdims=True))
        logps.append(log_softmax[np.arange(n), tokens[:, t]])
        all_logits.append(logits)
        x = p["embedding"][tokens[:, t]]
    return np.stack(logps, 1), np.stack(all_logits, 1)


# ---------------------------------------------------------------------- parameters
def test_random_params_fixed_by_seed():
    a, b = params_lib.random_params(0, V, E, H), params_lib.random_params(0, V, E, H)
    assert list(a) == list(params_lib.NAMES)
    assert all(np.array_equal(a[k], b[k]) and a[k].dtype == np.float32 for k in a)
    assert not np.array_equal(a["Wo"], params_lib.random_params(1, V, E, H)["Wo"])
    # the first draw of default_rng(0): a seed names an oracle
    assert a["embedding"][0, 0] == np.float32(0.1257302210933933)
    assert {k: v.shape for k, v in a.items()} == params_lib.expected_shapes(V, E, H)


def test_the_length40_oracle_is_pinned():
    """The versioned length-40 oracle: seed 40 must draw the same arrays everywhere."""
    spec = params_lib.LENGTH40_ORACLE
    arrays = params_lib.random_params(spec["seed"], spec["vocab"], spec["emb"], spec["hidden"])
    assert params_lib.digest(arrays) == spec["sha256"]
    assert params_lib.digest(params_lib.random_params(41, 5000, 64, 64)) != spec["sha256"]


def test_npz_round_trip(tmp_path, tiny, tiny_params):
    path = tmp_path / "o.npz"
    tiny.save_npz(path)
    loaded = params_lib.load_npz(path)
    assert all(np.array_equal(loaded[k], tiny_params[k]) for k in params_lib.NAMES)
    again = OracleLSTM.from_npz(path)
    tokens = tiny.generate(20, 5, seed=1)
    assert again.nll(tokens) == tiny.nll(tokens)
    assert (again.vocab_size, again.emb_dim, again.hidden_dim) == (V, E, H)


@pytest.mark.parametrize("change, fragment", [
    (lambda p: p.pop("bc"), "missing array(s) bc"),
    (lambda p: p.update(Wo=np.zeros((H, V - 1), np.float32)),
     f"array Wo has shape ({H}, {V - 1}), expected ({H}, {V})"),
    (lambda p: p.update(Uf=np.zeros((H, H), np.int32)), "array Uf has dtype int32"),
    (lambda p: p.update(bi=np.full(H, np.nan, np.float32)), "array bi holds NaN"),
])
def test_load_npz_rejects_bad_params(tmp_path, tiny_params, change, fragment):
    bad = dict(tiny_params)
    change(bad)
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(OracleError) as e:
        params_lib.load_npz(tmp_path / "bad.npz")
    assert fragment in str(e.value)


# ---------------------------------------------------------------------- model
def test_logits_and_nll_match_numpy(tmp_path, tiny, tiny_params):
    tokens = np.random.default_rng(0).integers(0, V, (37, 9))
    path = tmp_path / "seq.txt"
    data.write_int_sequences(path, tokens)
    tokens = data.read_int_sequences(path, V)
    logp, logits = np_logprobs(tiny_params, tokens)
    np.testing.assert_allclose(tiny(tokens).numpy(), logits, rtol=1e-4, atol=1e-4)
    assert abs(tiny.nll(tokens, batch_size=8) - (-logp.mean())) < 1e-4   # 37 = 4×8 + padded tail
    assert abs(tiny.nll(tokens) - (-logp.mean())) < 1e-4


def test_log_probs_match_numpy_and_nll_is_the_batch_sums_it_always_was(tiny, tiny_params):
    """log_probs: each row's Σ_t log p of the numpy oracle; nll, now computed from them,
    equals to the last bit the sum of _nll_sums batch by batch (the NLL-oracle before
    log_probs existed), so scores of earlier runs stay comparable."""
    tokens = np.random.default_rng(1).integers(0, V, (37, 9)).astype(np.int32)
    lp = tiny.log_probs(tokens, batch_size=8)
    assert lp.shape == (37,) and lp.dtype == np.float64
    np.testing.assert_allclose(lp, np_logprobs(tiny_params, tokens)[0].sum(1), rtol=1e-5)
    np.testing.assert_allclose(lp, tiny.log_probs(tokens, batch_size=500), rtol=1e-6)  # one batch or five
    for batch in (8, 500):
        total = 0.0
        for start in range(0, 37, batch):
            chunk = tokens[start:start + batch]
            rows = len(chunk)
            chunk = np.concatenate([chunk, np.zeros((min(batch, 37) - rows, 9), np.int32)])
            total += float(np.sum(tiny._nll_sums(tf.constant(chunk)).numpy()[:rows], dtype=np.float64))
        assert tiny.nll(tokens, batch_size=batch) == total / tokens.size
        assert OracleLSTM.nll_from_log_probs(tiny.log_probs(tokens, batch), 9, batch) == total / tokens.size
    with pytest.raises(OracleError, match="outside the oracle vocabulary"):
        tiny.log_probs(np.array([[0, 1], [11, 2]]))


@pytest.mark.parametrize("vocab, length", [(4, 3), (7, 2)])   # block 2 (no padding); block 3 (padded to 9)
def test_samples_follow_the_oracle_distribution(vocab, length):
    """All V^T sequences enumerated: sample frequencies and the ground-truth
    NLL match the exact distribution of the numpy re-derivation."""
    p = params_lib.random_params(5, vocab, 3, 3)
    oracle = OracleLSTM(p)
    every = np.array(list(itertools.product(range(vocab), repeat=length)))
    prob = np.exp(np_logprobs(p, every)[0].sum(1))
    assert abs(prob.sum() - 1) < 1e-9
    samples = oracle.generate(100000, length, seed=11, batch_size=25000)
    codes = samples @ vocab ** np.arange(length)[::-1]
    counts = np.bincount(codes, minlength=len(prob)) / len(samples)
    assert 0.5 * np.abs(counts - prob).sum() < 0.02                       # total variation
    entropy = -(prob * np.log(prob)).sum() / length
    assert abs(oracle.ground_truth_nll(100000, length, seed=12) - entropy) < 0.01


def test_sample_softmax_is_exact():
    logits = np.array([[3.0, -1.0, 0.5, 2.0, -50.0, 1.0, 0.0]], np.float32)
    assert block_size(7) == 3 and block_size(5000) == 100
    tokens = sample_softmax(tf.constant(np.repeat(logits, 200000, 0)), tf.constant([1, 2], tf.int64), 3).numpy()
    prob = np.exp(logits[0] - logits.max()) / np.exp(logits[0] - logits.max()).sum()
    assert 0.5 * np.abs(np.bincount(tokens, minlength=7) / len(tokens) - prob).sum() < 0.005


def test_generate_shape_range_and_seeds(tiny):
    a = tiny.generate(50, 7, seed=2, batch_size=16)     # 4 batches, last one partial
    assert a.shape == (50, 7) and a.dtype == np.int32 and a.min() >= 0 and a.max() < V
    np.testing.assert_array_equal(a, tiny.generate(50, 7, seed=2, batch_size=16))
    assert not np.array_equal(a, tiny.generate(50, 7, seed=3, batch_size=16))
    assert not np.array_equal(a[:16], a[16:32])          # batches use different seeds
    assert tiny.generate(1, 1, seed=2 ** 62).shape == (1, 1)


def test_nll_rejects_bad_tokens(tiny):
    with pytest.raises(OracleError, match=r"token id 11 \(sequence 2, position 1\) is outside"):
        tiny.nll(np.array([[0, 1], [11, 2]]))
    with pytest.raises(OracleError, match="non-empty integer array"):
        tiny.nll(np.zeros((2, 3), np.float32))


def test_paper_oracle_self_nll(paper_oracle_npz):
    """Spec §8: self-NLL of fresh length-20 samples ≈ 5.744–5.75 ("Real 5.750")."""
    oracle = OracleLSTM.from_npz(paper_oracle_npz)
    assert (oracle.vocab_size, oracle.emb_dim, oracle.hidden_dim) == (5000, 32, 32)
    samples = oracle.generate(10000, 20, seed=0)
    assert 5.74 <= oracle.nll(samples) <= 5.77
    sub = samples[:200]
    assert abs(oracle.nll(sub) - (-np_logprobs(oracle.get_params(), sub)[0].mean())) < 1e-4


# ---------------------------------------------------------------------- pickle conversion
def py2_pickle(arrays):
    """Protocol-0 bytes laid out as Python 2 with numpy 1.x writes a list of
    float32 arrays (numpy.core paths, array data as a latin-1 STRING)."""
    text = "(l"
    for a in arrays:
        shape = "".join(f"I{d}\n" for d in a.shape)
        text += ("cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n(I0\ntS'b'\ntR"
                 f"(I1\n({shape}tcnumpy\ndtype\n(S'f4'\nI00\nI01\ntR(I3\nS'<'\nNNNI-1\nI-1\nI0\ntb"
                 f"I00\nS{repr(a.astype('<f4').tobytes())[1:]}\ntba")
    return (text + ".").encode("latin1")


@pytest.mark.parametrize("writer", ["python2", "python3"])
def test_convert_pickle(tmp_path, tiny_params, writer):
    arrays = [tiny_params[k] for k in params_lib.NAMES]
    pkl = tmp_path / "target_params.pkl"
    pkl.write_bytes(py2_pickle(arrays) if writer == "python2" else pickle.dumps(arrays, protocol=0))
    assert pkl.read_bytes().startswith(b"(l")                   # like the original file
    out = tmp_path / "o.npz"
    params_lib.convert_pickle(pkl, out)
    loaded = params_lib.load_npz(out)
    assert all(np.array_equal(loaded[k], tiny_params[k]) for k in params_lib.NAMES)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_convert_refuses_code_and_wrong_content(tmp_path, tiny_params):
    marker = tmp_path / "pwned"
    pkl = tmp_path / "evil.pkl"
    pkl.write_bytes(pickle.dumps([_Evil(marker)], protocol=0))
    with pytest.raises(OracleError, match="refusing to load"):
        params_lib.convert_pickle(pkl, tmp_path / "o.npz")
    assert not marker.exists() and not (tmp_path / "o.npz").exists()
    pkl.write_bytes(pickle.dumps([tiny_params[k] for k in params_lib.NAMES[:14]], protocol=0))
    with pytest.raises(OracleError, match="list of 15 numpy arrays"):
        params_lib.convert_pickle(pkl, tmp_path / "o.npz")


# ---------------------------------------------------------------------- CLI
def cli(*args, **environ):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | environ
    return subprocess.run([sys.executable, "-m", "synthetic_oracle", *map(str, args)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_cli_create_generate_nll(tmp_path):
    npz, seqs = tmp_path / "o.npz", tmp_path / "s.txt"
    r = cli("create", "--random_seed", 3, "--vocab", V, "--emb", E, "--hidden", H, "--out", npz,
            "--length", 6, "--num", 500)
    assert r.returncode == 0, r.stderr
    assert "ground-truth NLL" in r.stdout
    r = cli("generate", "--params", npz, "--num", 30, "--length", 6, "--seed", 4, "--out", seqs)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # none of TensorFlow's start-up lines
    tokens = data.read_int_sequences(seqs, V, 6)
    assert tokens.shape == (30, 6)
    r = cli("nll", "--random_seed", 3, "--vocab", V, "--emb", E, "--hidden", H, "--data", seqs)
    assert r.returncode == 0, r.stderr
    expected = -np_logprobs(params_lib.random_params(3, V, E, H), tokens)[0].mean()
    assert abs(float(r.stdout.strip().splitlines()[-1]) - expected) < 1e-4


def _bad_inputs(tmp, good_params):
    """name -> CLI argument list, for inputs that must fail with one line."""
    good_npz, good_txt = tmp / "good.npz", tmp / "good.txt"
    params_lib.save_npz(good_npz, good_params)
    good_txt.write_text("1 2 3\n4 5 6\n")
    (tmp / "garbage.npz").write_bytes(b"this is not a zip file")
    (tmp / "truncated.npz").write_bytes(good_npz.read_bytes()[:300])
    damaged = bytearray(good_npz.read_bytes())
    damaged[200:260] = bytes(b ^ 0xFF for b in damaged[200:260])   # inside embedding.npy's data
    (tmp / "damaged.npz").write_bytes(bytes(damaged))
    shape = dict(good_params, Ui=np.zeros((H, H + 1), np.float32))
    np.savez(tmp / "shape.npz", **shape)
    np.savez(tmp / "missing.npz", **{k: v for k, v in good_params.items() if k != "Wo"})
    files = {"vocab.txt": "1 2 3\n4 5 11\n", "ragged.txt": "1 2 3\n4 5\n", "empty.txt": "",
             "word.txt": "1 2 3\n4 five 6\n"}
    for name, text in files.items():
        (tmp / name).write_text(text)
    (tmp / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    (tmp / "evil.pkl").write_bytes(pickle.dumps([_Evil(tmp / "pwned")], protocol=0))
    nll = lambda npz, txt: ["nll", "--params", tmp / npz, "--data", tmp / txt]  # noqa: E731
    return {
        "missing npz": nll("nope.npz", "good.txt"),
        "corrupt npz": nll("garbage.npz", "good.txt"),
        "truncated npz": nll("truncated.npz", "good.txt"),
        "damaged npz": nll("damaged.npz", "good.txt"),
        "wrong shape": nll("shape.npz", "good.txt"),
        "missing array": nll("missing.npz", "good.txt"),
        "id outside vocab": nll("good.npz", "vocab.txt"),
        "ragged lines": nll("good.npz", "ragged.txt"),
        "empty file": nll("good.npz", "empty.txt"),
        "non-integer token": nll("good.npz", "word.txt"),
        "binary data": nll("good.npz", "binary.txt"),
        "missing data": nll("good.npz", "nope.txt"),
        "unknown flag": nll("good.npz", "good.txt") + ["--bogus", "1"],
        "bad flag value": ["generate", "--params", good_npz, "--num", "ten", "--length", 5, "--seed", 0,
                           "--out", tmp / "x.txt"],
        "no subcommand": [],
        "both oracles": nll("good.npz", "good.txt") + ["--random_seed", 1],
        "zero samples": ["generate", "--params", good_npz, "--num", 0, "--length", 5, "--seed", 0,
                         "--out", tmp / "x.txt"],
        "missing out folder": ["generate", "--params", good_npz, "--num", 2, "--length", 5, "--seed", 0,
                               "--out", tmp / "no" / "x.txt"],
        "malicious pickle": ["convert", "--pickle", tmp / "evil.pkl", "--out", tmp / "x.npz"],
    }


def test_cli_bad_input_one_line_errors(tmp_path, tiny_params):
    cases = _bad_inputs(tmp_path, tiny_params)
    expected = {"missing npz": "not found", "corrupt npz": "not an .npz archive", "truncated npz": "not an .npz",
                "damaged npz": "Bad CRC-32",
                "wrong shape": "array Ui has shape (4, 5), expected (4, 4)", "missing array": "missing array(s) Wo",
                "id outside vocab": "id 11 (position 3) is outside [0, 11)", "ragged lines": "line 1 has 3",
                "empty file": "is empty", "non-integer token": "'five' is not an integer",
                "binary data": "not UTF-8", "unknown flag": "Unknown command line flag 'bogus'",
                "bad flag value": "flag --num=ten: invalid literal", "both oracles": "not both",
                "zero samples": "--num=0: 0 is not a positive integer",
                "missing out folder": "does not exist", "malicious pickle": "refusing to load posix.system"}
    for name, args in cases.items():
        r = cli(*args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2, (name, r.stderr)
        assert len(lines) == 1 and lines[0].startswith("error:"), (name, r.stderr)
        assert "Traceback" not in r.stderr and expected.get(name, "") in lines[0], (name, lines[0])
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "x.txt").exists()


@pytest.mark.parametrize("arg", ["--help", "-h", "--helpfull"])
def test_cli_help_exits_0_and_lists_the_flags(arg):
    r = cli(arg)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "LSTM hidden size of a seeded oracle" in r.stdout and "Traceback" not in r.stdout  # a flag's help
    assert "python -m synthetic_oracle generate" in r.stdout
    assert ("--undefok" in r.stdout) == (arg == "--helpfull")  # absl's own flags: only in the full list


def test_readme_oracle_commands_run_as_documented(tmp_path):
    """README's `python -m synthetic_oracle` lines, verbatim but for the output path
    (--seed has a default, so generate needs none)."""
    lines = [line.split("python -m synthetic_oracle ", 1)[1].split("#")[0].split()
             for line in (REPO_ROOT / "README.md").read_text().splitlines() if "python -m synthetic_oracle " in line]
    assert [args[0] for args in lines[:2]] == ["generate", "nll"]
    out = tmp_path / "x.txt"
    for args in lines[:2]:
        r = cli(*[str(out) if a == "/tmp/x.txt" else a for a in args])
        assert r.returncode == 0, (args, r.stderr)
    assert len(out.read_text().splitlines()) == 100 and float(r.stdout.strip().splitlines()[-1]) > 0


def test_cli_reads_a_flagfile(tmp_path):
    flagfile = tmp_path / "oracle.cfg"
    flagfile.write_text(f"--random_seed=3\n--vocab={V}\n--emb={E}\n--hidden={H}\n--num=7\n--length=4\n"
                        f"--out={tmp_path / 'x.txt'}\n")
    r = cli("generate", f"--flagfile={flagfile}")
    assert r.returncode == 0, r.stderr
    assert data.read_int_sequences(tmp_path / "x.txt", V, 4).shape == (7, 4)
    r = cli("generate", f"--flagfile={flagfile}", "--pickle=p.pkl")
    assert r.returncode == 2 and "--pickle does not apply to generate" in r.stderr


def test_a_seeded_run_names_the_paper_oracle_where_it_is_found(tmp_path, monkeypatch):
    from leakgan_tf.sources import PAPER_ORACLE, paper_oracle_hint
    monkeypatch.setenv("LEAKGAN_SHARED_DATA", str(tmp_path))
    assert "was not found" in paper_oracle_hint() and "--oracle_params=PATH.npz" in paper_oracle_hint()
    (tmp_path / PAPER_ORACLE).write_bytes(b"")
    assert paper_oracle_hint() == (f"the paper's oracle is {tmp_path / PAPER_ORACLE} "
                                   f"(--oracle_params={tmp_path / PAPER_ORACLE} trains on it)")
