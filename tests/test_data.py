"""leakgan_tf.data: sequence files, atomic writes, tf.data pipelines."""
import numpy as np
import pytest

from leakgan_tf import data
from leakgan_tf.errors import UserError
from synthetic_oracle import files


def write(tmp_path, text, name="seq.txt", mode="w"):
    path = tmp_path / name
    (path.write_bytes if mode == "wb" else path.write_text)(text)
    return path


def test_round_trip(tmp_path):
    tokens = np.random.default_rng(0).integers(0, 5000, (7, 20))
    path = tmp_path / "out.txt"
    data.write_int_sequences(path, tokens)
    back = data.read_int_sequences(path, vocab_size=5000, length=20)
    assert back.dtype == np.int32 and back.shape == (7, 20)
    np.testing.assert_array_equal(back, tokens)
    assert path.read_text().splitlines()[0] == " ".join(map(str, tokens[0]))
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temp file left


def test_trailing_blank_lines_and_spaces_ignored(tmp_path):
    path = write(tmp_path, "1 2 3\n4  5 6 \n\n  \n")
    np.testing.assert_array_equal(data.read_int_sequences(path), [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize("text, kwargs, fragment", [
    ("", {}, "is empty"),
    ("\n \n", {}, "is empty"),
    ("1 2 x3\n", {}, "'x3' is not an integer"),
    ("1 2 3\n4 5\n", {}, ":2: 2 ids but line 1 has 3"),
    ("1 2 3\n\n4 5 6\n", {}, ":2: blank line"),
    ("1 2 3\n4 5 10\n", {"vocab_size": 10}, ":2: id 10 (position 3) is outside [0, 10)"),
    ("1 -2 3\n", {}, "id -2"),
    ("1 99999999999999999999999 3\n", {}, "id 99999999999999999999999 (position 2) is outside [0, 2^31)"),
    ("1 2 3\n", {"length": 4}, ":1: 3 ids but sequences of length 4"),
])
def test_bad_files(tmp_path, text, kwargs, fragment):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as e:
        data.read_int_sequences(path, **kwargs)
    message = str(e.value)
    assert fragment in message and str(path) in message and "\n" not in message


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        data.read_int_sequences(tmp_path / "nope.txt")
    with pytest.raises(UserError, match="not UTF-8"):
        data.read_int_sequences(write(tmp_path, b"1 2\xff\xfe 3\n", mode="wb"))


def test_atomic_write_keeps_target_on_error(tmp_path):
    path = write(tmp_path, "old\n", "target.txt")
    with pytest.raises(RuntimeError):
        with data.atomic_write(path) as f:
            f.write("new partial")
            raise RuntimeError("boom")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["target.txt"]
    with data.atomic_write(path) as f:
        f.write("new\n")
    assert path.read_text() == "new\n"


def test_atomic_write_missing_folder(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        with data.atomic_write(tmp_path / "no" / "file.txt"):
            pass


def test_atomic_save_npz(tmp_path):
    path = tmp_path / "a.npz"
    files.atomic_save_npz(path, x=np.arange(3), y=np.ones((2, 2), np.float32))
    with np.load(path) as z:
        assert sorted(z.files) == ["x", "y"] and z["y"].dtype == np.float32


def test_discriminator_batches():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 50, (13, 6)), rng.integers(50, 100, (9, 6))   # real ids < 50
    runs = []
    for seed in (4, 4, 5):
        tokens, labels = data.discriminator_batches(pos, neg, 4, seed=seed)
        assert tokens.shape == (5, 4, 6) and labels.shape == (5, 4)          # 22 -> 20 examples
        x, y = tokens.numpy().reshape(20, 6), labels.numpy().reshape(20)
        assert x.dtype == np.int32 and y.dtype == np.int32 and x.shape == (20, 6) and y.shape == (20,)
        np.testing.assert_array_equal(y, (x[:, 0] < 50).astype(np.int32))    # real = 1, fake = 0
        runs.append(x)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
