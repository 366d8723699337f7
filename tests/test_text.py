"""Real-text pipeline: tokenisation, vocabulary, encoding, errors, the offline
tfds builder, and (when the shared data folder exists) the real COCO files."""
import numpy as np
import pytest

from leakgan_tf import text as T
from leakgan_tf.errors import UserError


def write(path, content):
    path.write_text(content, encoding="utf-8")
    return path


# ---------------------------------------------------------------- tokenisation

def test_tokenizers_keep_case_and_need_no_downloads():
    assert T.tokenize("A man can't ride.", "nltk") == ["A", "man", "ca", "n't", "ride", "."]
    assert T.tokenize("A man ,\" he said .", "whitespace") == ["A", "man", ',"', "he", "said", "."]
    assert T.tokenize("A dog's bone.", "wordpunct") == ["A", "dog", "'", "s", "bone", "."]
    assert T.detokenize(["A", "man", "ca", "n't", "ride", "."]) == "A man can't ride."
    assert T.detokenize(["a", ",", "b"], "whitespace") == "a , b"
    with pytest.raises(UserError, match="tokenizer='spacy' must be one of"):
        T.get_tokenizer("spacy")


# ---------------------------------------------------------------- vocabulary

def test_special_token_ids():
    assert (T.PAD_ID, T.EOS_ID, T.UNK_ID) == (0, 1, 2)
    assert T.SPECIAL_TOKENS == ("<pad>", "<eos>", "<unk>")


def test_vocabulary_order_frequency_then_lexicographic():
    sents = [["b", "a", "c"], ["c", "b", "Z"], ["c", "d", "a"], ["<unk>", "<pad>"]]
    vocab = T.Vocabulary.build(sents)
    # c:3, then a, b (2 each, string order), then Z, d (1 each; "Z" < "d")
    assert vocab.tokens == ("<pad>", "<eos>", "<unk>", "c", "a", "b", "Z", "d")
    assert vocab.counts == {"c": 3, "a": 2, "b": 2, "Z": 1, "d": 1}
    # literal special strings in the text have no special role
    assert vocab.encode(["<pad>", "<eos>", "<unk>", "d"]) == [T.UNK_ID, T.UNK_ID, T.UNK_ID, 7]
    assert T.Vocabulary.build(sents, min_count=2).tokens[3:] == ("c", "a", "b")
    assert len(T.Vocabulary.build(sents, max_size=5)) == 5            # max_size counts the specials
    assert T.Vocabulary.build(list(reversed(sents))) == vocab          # independent of input order
    with pytest.raises(UserError, match="lower --min_count"):
        T.Vocabulary.build(sents, min_count=9)
    with pytest.raises(UserError, match="special tokens"):
        T.Vocabulary.build(sents, max_size=3)


def test_vocabulary_save_load_round_trip(tmp_path):
    vocab = T.Vocabulary.build([["Ünïcode", "a", "a", "."], ["a", "."]])
    path = tmp_path / "vocab.txt"
    vocab.save(path)
    assert path.read_text(encoding="utf-8") == "<pad>\n<eos>\n<unk>\na\n.\nÜnïcode\n"
    loaded = T.Vocabulary.load(path)
    assert loaded == vocab and len(loaded) == 6
    assert loaded.encode(["a", "Ünïcode", "zzz"]) == [3, 5, T.UNK_ID]
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temp file


@pytest.mark.parametrize("content, message", [
    ("a\nb\n", r"vocab.txt:1: expected '<pad>'"),
    ("<pad>\n<eos>\n<unk>\na\n\nb\n", r"vocab.txt:5: blank line"),
    ("<pad>\n<eos>\n<unk>\na\nb\na\n", r"vocab.txt:6: token 'a' repeats line 4"),
    ("<pad>\n<eos>\n<unk>\n", "only the special tokens"),
])
def test_vocabulary_load_validation(tmp_path, content, message):
    path = write(tmp_path / "vocab.txt", content)
    with pytest.raises(UserError, match=message):
        T.Vocabulary.load(path)


def test_vocabulary_load_missing_and_binary(tmp_path):
    with pytest.raises(UserError, match="not found"):
        T.Vocabulary.load(tmp_path / "nope.txt")
    (tmp_path / "v.txt").write_bytes(b"<pad>\n<eos>\n<unk>\n\xff\n")
    with pytest.raises(UserError, match=r"v.txt:4: vocabulary file is not UTF-8"):
        T.Vocabulary.load(tmp_path / "v.txt")


# ---------------------------------------------------------------- encoding

def test_encode_pads_and_ends_and_decode_inverts():
    vocab = T.Vocabulary.build([["a", "dog", "runs", "."], ["a", "cat", "."]])
    array, stats = T.encode_corpus([["a", "dog", "runs", "."], ["a", "cat", "."]], vocab, seq_len=6)
    assert array.dtype == np.int32 and array.shape == (2, 6)
    a, dog, runs, dot, cat = vocab.encode(["a", "dog", "runs", ".", "cat"])
    np.testing.assert_array_equal(array, [[a, dog, runs, dot, T.EOS_ID, T.PAD_ID],
                                          [a, cat, dot, T.EOS_ID, T.PAD_ID, T.PAD_ID]])
    assert vocab.decode(array[0]) == ["a", "dog", "runs", "."]
    assert vocab.decode(array[1]) == ["a", "cat", "."]
    assert vocab.decode([a, T.PAD_ID, cat, T.EOS_ID, dog]) == ["a", "cat"]  # pads dropped, stops at <eos>
    assert vocab.decode_text(array[1]) == "a cat."
    assert stats["kept"] == 2 and stats["shortest"] == 4 and stats["longest"] == 5
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocab.decode([99])


def test_drop_versus_truncate_counts():
    vocab = T.Vocabulary.build([list("abcdefg")])
    sents = [list("ab"), list("abc"), list("abcd"), list("abcdefg")]  # lengths with <eos>: 3, 4, 5, 8
    dropped, s_drop = T.encode_corpus(sents, vocab, seq_len=4, too_long="drop")
    assert dropped.shape == (2, 4)
    assert (s_drop["kept"], s_drop["dropped_too_long"], s_drop["truncated"]) == (2, 2, 0)
    cut, s_cut = T.encode_corpus(sents, vocab, seq_len=4, too_long="truncate")
    assert cut.shape == (4, 4)
    assert (s_cut["kept"], s_cut["dropped_too_long"], s_cut["truncated"]) == (4, 0, 2)
    assert vocab.decode(cut[3]) == list("abcd") and T.EOS_ID not in cut[3]   # cut, not ended
    assert cut[1].tolist() == vocab.encode("abc") + [T.EOS_ID]               # exactly fits: not truncated
    assert s_cut["tokens"] == 2 + 3 + 4 + 4


def test_oov_as_unk_or_dropped():
    vocab = T.Vocabulary.build([["a", "b"]])
    sents = [["a", "b"], ["a", "x", "y"], ["b"]]
    unk, s_unk = T.encode_corpus(sents, vocab, seq_len=5, oov="unk")
    assert unk.shape[0] == 3 and unk[1].tolist()[:3] == [3, T.UNK_ID, T.UNK_ID]
    assert vocab.decode(unk[1]) == ["a", "<unk>", "<unk>"]
    assert (s_unk["unknown_tokens"], s_unk["tokens"], s_unk["dropped_oov"]) == (2, 6, 0)
    assert s_unk["unknown_rate"] == pytest.approx(2 / 6)
    dropped, s_drop = T.encode_corpus(sents, vocab, seq_len=5, oov="drop")
    assert dropped.shape[0] == 2 and T.UNK_ID not in dropped
    assert (s_drop["kept"], s_drop["dropped_oov"], s_drop["unknown_tokens"]) == (2, 1, 0)
    with pytest.raises(UserError, match="every one of its 1 sentences has a word outside"):
        T.encode_corpus([["x"]], vocab, seq_len=5, oov="drop", name="test.txt")


def test_no_sentence_fits_names_lengths_and_flag():
    vocab = T.Vocabulary.build([list("abcdef")])
    with pytest.raises(UserError, match=r"test.txt: no sentence fits --seq_len=3 .* 5 to 7 tokens .*--seq_len=7"):
        T.encode_corpus([list("abcd"), list("abcdef")], vocab, seq_len=3, name="test.txt")


# ---------------------------------------------------------------- reading files

def test_read_sentences_strips_and_skips_blank_lines(tmp_path):
    path = write(tmp_path / "a.txt", "\ufeffone two \r\n\n  three\n")
    assert T.read_sentences(path) == ["one two", "three"]


def test_read_sentences_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        T.read_sentences(tmp_path / "missing.txt")
    with pytest.raises(UserError, match="empty"):
        T.read_sentences(write(tmp_path / "empty.txt", ""))
    with pytest.raises(UserError, match="empty"):
        T.read_sentences(write(tmp_path / "blank.txt", "\n  \n"))
    (tmp_path / "latin.txt").write_bytes("ok line\nsecond\ncaf\u00e9 au lait\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin.txt:3: byte 0xe9 is not UTF-8") as info:
        T.read_sentences(tmp_path / "latin.txt")
    assert "\n" not in str(info.value)


def test_split_lines_seeded_and_disjoint():
    lines = [f"s{i}" for i in range(100)]
    train, test = T.split_lines(lines, 0.1, seed=0)
    assert (len(train), len(test)) == (90, 10)
    assert sorted(train + test) == sorted(lines)
    assert train == sorted(train, key=lines.index)                 # file order kept
    assert T.split_lines(lines, 0.1, seed=0) == (train, test)
    assert T.split_lines(lines, 0.1, seed=1)[1] != test
    with pytest.raises(UserError, match="one split would be empty"):
        T.split_lines(["a", "b"], 0.1)


def test_prepare_corpus_files_vocab_reuse_and_single_file(tmp_path):
    train = write(tmp_path / "train.txt", "A dog runs .\nA cat sleeps .\na dog sleeps on a very long mat .\n")
    test = write(tmp_path / "test.txt", "A bird runs .\nA dog sleeps .\n")
    vocab_path = tmp_path / "vocab.txt"
    corpus = T.prepare_corpus(train, test, seq_len=6, min_count=1, max_vocab=None, tokenizer="whitespace",
                              too_long="drop", vocab_path=vocab_path)
    assert corpus.train.shape == (2, 6) and corpus.test.shape == (2, 6) and corpus.seq_len == 6
    assert corpus.stats["train"]["dropped_too_long"] == 1
    assert corpus.stats["test"]["unknown_tokens"] == 1                 # "bird" is not in the training vocabulary
    assert "A" in corpus.vocab and "a" in corpus.vocab                 # case kept
    assert corpus.test_tokens[0] == ["A", "bird", "runs", "."]
    assert T.Vocabulary.load(vocab_path) == corpus.vocab
    # an existing vocab_path is reused as it is (e.g. on resume): min_count is ignored
    again = T.prepare_corpus(train, test, 6, min_count=2, tokenizer="whitespace", vocab_path=vocab_path)
    assert again.vocab == corpus.vocab and again.stats["vocab"]["source"].startswith("loaded")
    # one file: seeded split
    lines = "".join(f"w{i % 7} w{i % 5} .\n" for i in range(20))
    single = T.prepare_corpus(write(tmp_path / "one.txt", lines), None, seq_len=8, tokenizer="whitespace",
                              test_fraction=0.1, split_seed=0)
    assert (single.train.shape[0], single.test.shape[0]) == (18, 2)
    with pytest.raises(UserError, match=r"test2.txt: no sentence fits --seq_len=5 .* 7 to 7 tokens"):
        T.prepare_corpus(train, write(tmp_path / "test2.txt", "A dog runs on mats .\n"), 5, tokenizer="whitespace",
                         too_long="drop")


# ---------------------------------------------------------------- tfds builder (offline)

@pytest.fixture(scope="module")
def tiny_tfds(tmp_path_factory):
    from leakgan_tf.datasets import load_text_split
    root = tmp_path_factory.mktemp("tfds")
    manual = root / "coco_files"
    manual.mkdir()
    train = [f"a small dog number {i} ." for i in range(12)]
    test = ["a cat .", "two birds fly .", "Ünïcode ok ."]
    write(manual / "train.txt", "\n".join(train) + "\n")
    write(manual / "test.txt", "\n".join(test))
    data_dir = root / "data"
    got = {split: load_text_split("coco", split, manual_dir=manual, data_dir=data_dir) for split in ("train", "test")}
    return dict(manual=manual, data_dir=data_dir, train=train, test=test, got=got)


def test_tfds_builder_builds_offline_and_reads_both_splits(tiny_tfds):
    assert tiny_tfds["got"]["train"] == tiny_tfds["train"]           # file order kept
    assert tiny_tfds["got"]["test"] == tiny_tfds["test"]
    assert (tiny_tfds["data_dir"] / "local_text" / "coco" / "1.0.0" / "dataset_info.json").is_file()


def test_tfds_cache_reuse_and_generic_loader(tiny_tfds):
    from leakgan_tf.datasets import load_text_split, load_tfds_text
    data_dir = tiny_tfds["data_dir"]
    # the cache alone is enough (the default manual folder need not exist)
    assert load_text_split("local_text/coco", "test", manual_dir=None, data_dir=data_dir) == tiny_tfds["test"]
    assert load_tfds_text("local_text/coco", "train", text_key="text", data_dir=data_dir) == tiny_tfds["train"]
    with pytest.raises(UserError, match="no feature 'sentence'"):
        load_tfds_text("local_text/coco", "train", text_key="sentence", data_dir=data_dir)
    with pytest.raises(UserError, match="is not prepared in .* downloads are off"):
        load_tfds_text("local_text/emnlp_news", "train", data_dir=data_dir)
    with pytest.raises(UserError, match="unknown split 'valid'"):
        load_text_split("coco", "valid", manual_dir=tiny_tfds["manual"], data_dir=data_dir)


def test_tfds_refuses_stale_cache(tiny_tfds, tmp_path):
    from leakgan_tf.datasets import load_text_split
    changed = tmp_path / "changed"
    changed.mkdir()
    write(changed / "train.txt", "different text .\n")
    write(changed / "test.txt", "\n".join(tiny_tfds["test"]))
    with pytest.raises(UserError, match="was built from other files"):
        load_text_split("coco", "train", manual_dir=changed, data_dir=tiny_tfds["data_dir"])


def test_tfds_missing_manual_files(tmp_path):
    from leakgan_tf.datasets import load_text_split
    (tmp_path / "m").mkdir()
    with pytest.raises(UserError, match=r"test.txt not found: local_text/emnlp_news reads test.txt"):
        load_text_split("emnlp_news", "train", manual_dir=tmp_path / "m", data_dir=tmp_path / "d")
    with pytest.raises(UserError, match="unknown local text dataset 'wiki'"):
        load_text_split("wiki", "train", manual_dir=tmp_path / "m", data_dir=tmp_path / "d")


# ---------------------------------------------------------------- the real COCO files

def test_real_coco_vocabulary_and_lengths(shared_data):
    coco = shared_data / "image_coco"
    if not (coco / "train.txt").is_file() or not (coco / "test.txt").is_file():
        pytest.skip(f"{coco}/train.txt or test.txt not found")
    corpus = T.prepare_corpus(coco / "train.txt", coco / "test.txt", seq_len=32, min_count=1, max_vocab=None,
                              tokenizer="nltk", too_long="drop")
    tr, te, v = corpus.stats["train"], corpus.stats["test"], corpus.stats["vocab"]
    print(f"\nCOCO nltk min_count=1: V={v['size']} (original 4839); train kept {tr['kept']}/{tr['sentences']} "
          f"at T=32 (longest {tr['longest']}); test kept {te['kept']}/{te['sentences']}, "
          f"test OOV rate {te['unknown_rate']:.4f}")
    assert 4000 < v["size"] < 5500                          # 4662 with nltk 3.10.4 on the 10k RelGAN/Texygen split
    assert tr["kept"] >= 0.99 * tr["sentences"] and te["kept"] >= 0.99 * te["sentences"]
    assert te["unknown_rate"] < 0.1
    assert (corpus.train[:, 0] != T.PAD_ID).all()
    assert ((corpus.train == T.EOS_ID).sum(1) == 1).all()   # every kept sentence ends exactly once
