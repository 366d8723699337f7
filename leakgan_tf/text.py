"""Real-text corpora: tokenisation, vocabulary and fixed-length id arrays.

Pipeline (what `prepare_corpus` does, spec §2.2 and §11):

  text file (UTF-8, one sentence a line)
    -> tokens (`tokenize`, no nltk downloads)
    -> `Vocabulary.build` on the TRAINING split only
    -> `encode_corpus`: words -> ids, append `<eos>`, right-pad with `<pad>` to T
    -> int32 arrays [N, T] for train and test (test encoded with the training vocabulary).

Special tokens and ids (fixed; every vocabulary starts with them):

  id 0  `<pad>`  right-padding after the end token. The generator must learn to
                 emit it after `<eos>` (the original pads with a real vocabulary
                 token too, the space ' ' = id 1814). Id 0 is also the start-token
                 input of the generator (`--start_token=0`), so the first step is
                 conditioned on "nothing before" rather than on a real word (the
                 original feeds id 0 = 'raining').
  id 1  `<eos>`  end of sentence, appended to every sentence that fits.
  id 2  `<unk>`  any word outside the vocabulary (oov="unk"). With oov="drop"
                 sentences holding such words are dropped instead, as the paper's
                 preprocessing did (rare words removed together with their
                 sentences), and `<unk>` never occurs in the data, though its id stays
                 reserved so ids do not depend on that flag.
  ids 3..V-1     words, sorted by training-split frequency (descending), ties
                 broken by plain string order (Python `<`), so the ids are the same
                 in every process and on every machine.

Literal `<unk>` in the text (pre-processed corpora such as PTB) is read as the
unknown token; literal `<pad>`/`<eos>` are never given their special meaning and
also read as `<unk>`.

Tokenizers (no nltk data files are needed by any of them; case is kept, as in
the original COCO vocabulary, which has "A" and "a"):

  "nltk"       nltk's `NLTKWordTokenizer`, i.e. `nltk.word_tokenize(line,
               preserve_line=True)`: the improved Penn-Treebank rules that Texygen and
               TextGAN-PyTorch use, minus their punkt sentence splitter (which needs
               a download and is pointless for one sentence a line). Splits
               punctuation and clitics ("can't" -> "ca", "n't"), turns double quotes
               into `` and ''.
  "wordpunct"  nltk's `wordpunct_tokenize` (regexp \\w+|[^\\w\\s]+).
  "whitespace" `str.split()`, for pre-tokenised data such as EMNLP News, whose
               lines already have spaces around punctuation.

`detokenize` joins tokens for display (nltk's TreebankWordDetokenizer, or plain
spaces for "whitespace" data).
"""
from __future__ import annotations

import collections
import dataclasses
import pathlib
from collections.abc import Callable, Iterable

import numpy as np

from leakgan_tf import switches
from leakgan_tf.data import atomic_write
from leakgan_tf.errors import UserError

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
SPECIAL_TOKENS = (PAD, EOS, UNK)
NUM_SPECIAL = len(SPECIAL_TOKENS)


# ---------------------------------------------------------------- tokenisation

def get_tokenizer(name: str | Callable[[str], list[str]] = "nltk") -> Callable[[str], list[str]]:
    """Returns a function str -> list[str] for one of switches.CHOICES["tokenizer"]."""
    if callable(name):
        return name
    switches.check("tokenizer", name)
    if name == "nltk":
        from nltk.tokenize import NLTKWordTokenizer
        return NLTKWordTokenizer().tokenize
    if name == "wordpunct":
        from nltk.tokenize import wordpunct_tokenize
        return wordpunct_tokenize
    return str.split  # "whitespace"


def tokenize(line: str, tokenizer: str = "nltk") -> list[str]:
    """Tokens of one sentence (case kept)."""
    return get_tokenizer(tokenizer)(line)


def tokenize_lines(lines: Iterable[str], tokenizer: str = "nltk") -> list[list[str]]:
    """Tokens of each sentence: list[str] -> list[list[str]]."""
    fn = get_tokenizer(tokenizer)
    return [fn(line) for line in lines]


def detokenize(tokens: list[str], tokenizer: str = "nltk") -> str:
    """One display string from tokens ("whitespace" data is joined with spaces)."""
    tokens = list(tokens)
    if tokenizer == "whitespace":
        return " ".join(tokens)
    from nltk.tokenize.treebank import TreebankWordDetokenizer
    return TreebankWordDetokenizer().detokenize(tokens)


# ---------------------------------------------------------------- reading and splitting

def read_sentences(path: str | pathlib.Path) -> list[str]:
    """Sentences of a UTF-8 text file, one a line: surrounding whitespace is
    stripped and blank lines are skipped (a leading BOM is ignored).

    Raises UserError for a missing or unreadable file, bytes that are not UTF-8
    (naming the line) and a file without any sentence.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "not found"
        raise UserError(f"text file {path} {what}; pass a UTF-8 text file with one sentence a line")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read text file {path} ({e.strerror or e}); check its permissions") from None
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as e:
        offset = e.start + bom
        line = raw[:offset].count(b"\n") + 1
        raise UserError(f"{path}:{line}: byte 0x{raw[offset]:02x} is not UTF-8; "
                        f"convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    sentences = [s.strip() for s in text.split("\n")]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise UserError(f"text file {path} is empty; it needs one sentence a line")
    return sentences


def split_lines(lines: list[str], test_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """Seeded random split of one corpus into (train, test), each in file order.

    round(len(lines) * test_fraction) lines go to test (EMNLP News: the 10k file
    -> 9,000 train / 1,000 test with the defaults). The chosen lines are the first
    n_test of numpy.random.default_rng(seed).permutation(len(lines)), so the split
    depends only on the number of lines, the fraction and the seed.
    """
    lines = list(lines)
    if not 0.0 < test_fraction < 1.0:
        raise UserError(f"test fraction {test_fraction} must be between 0 and 1 (exclusive), e.g. 0.1")
    n_test = int(round(len(lines) * test_fraction))
    if n_test < 1 or n_test >= len(lines):
        raise UserError(f"cannot split {len(lines)} sentences with test fraction {test_fraction}: "
                        f"one split would be empty; give more sentences or another fraction")
    order = np.random.default_rng(seed).permutation(len(lines))
    is_test = np.zeros(len(lines), dtype=bool)
    is_test[order[:n_test]] = True
    train = [line for line, t in zip(lines, is_test) if not t]
    test = [line for line, t in zip(lines, is_test) if t]
    return train, test


# ---------------------------------------------------------------- vocabulary

class Vocabulary:
    """Token <-> id mapping; ids 0, 1, 2 are `<pad>`, `<eos>`, `<unk>` (module doc).

    Build it with `Vocabulary.build` from the training split, save it with
    `save` (UTF-8, one token a line, line n+1 = id n) and read it back with
    `Vocabulary.load`; `len(vocab)` is the model's vocab_size.
    """

    def __init__(self, tokens: Iterable[str], counts: dict[str, int] | None = None):
        tokens = list(tokens)
        if tuple(tokens[:NUM_SPECIAL]) != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary must start with {SPECIAL_TOKENS}, got {tokens[:NUM_SPECIAL]}")
        seen = set()
        for t in tokens:
            if not isinstance(t, str) or not t or any(c.isspace() for c in t):
                raise ValueError(f"vocabulary token {t!r} must be a non-empty string without whitespace")
            if t in seen:
                raise ValueError(f"vocabulary token {t!r} occurs twice")
            seen.add(t)
        self._tokens = tuple(tokens)
        self._word_ids = {t: i for i, t in enumerate(tokens) if i >= NUM_SPECIAL}
        self._word_ids[UNK] = UNK_ID
        self.counts = dict(counts) if counts is not None else None  # training counts of the words, if built

    @classmethod
    def build(cls, token_lists: Iterable[list[str]], min_count: int = 1, max_size: int | None = None) -> Vocabulary:
        """Vocabulary of the words that occur at least min_count times.

        Args:
          token_lists: the tokenised TRAINING sentences.
          min_count: words rarer than this are left out (they become `<unk>`, or
            their sentences are dropped with oov="drop").
          max_size: if given, the TOTAL size including the 3 special tokens
            (= the model's --vocab_size); the most frequent words are kept.
        Order: special tokens, then words by count (descending), then by string.
        """
        if int(min_count) < 1:
            raise UserError(f"min_count={min_count} must be at least 1")
        if max_size is not None and int(max_size) <= NUM_SPECIAL:
            raise UserError(f"max vocabulary size {max_size} must exceed the {NUM_SPECIAL} special tokens "
                            f"{', '.join(SPECIAL_TOKENS)}; raise it")
        counts = collections.Counter()
        for tokens in token_lists:
            counts.update(tokens)
        for special in SPECIAL_TOKENS:
            counts.pop(special, None)
        for t in counts:
            if not t or any(c.isspace() for c in t):
                raise ValueError(f"token {t!r} contains whitespace; tokenizers must split on whitespace")
        if not counts:
            raise UserError("the training split has no words; pass a non-empty training file")
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        if not words:
            raise UserError(f"no word occurs at least {min_count} times in the training split "
                            f"(the most frequent occurs {max(counts.values())} times); lower --min_count")
        if max_size is not None:
            words = words[:int(max_size) - NUM_SPECIAL]
        return cls(SPECIAL_TOKENS + tuple(words), {w: counts[w] for w in words})

    # --- persistence
    def save(self, path: str | pathlib.Path) -> None:
        """Writes UTF-8 text, one token a line (line n+1 = id n), atomically."""
        with atomic_write(path, "w") as f:
            f.write("".join(t + "\n" for t in self._tokens))

    @classmethod
    def load(cls, path: str | pathlib.Path) -> Vocabulary:
        """Reads a file written by `save`, with one-line UserErrors for bad files."""
        path = pathlib.Path(path)
        if not path.is_file():
            raise UserError(f"vocabulary file {path} not found; pass a file written by Vocabulary.save "
                            f"(one token a line)")
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw[:e.start].count(b"\n") + 1
            raise UserError(f"{path}:{line}: vocabulary file is not UTF-8; rebuild it from the training text") from None
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for i, special in enumerate(SPECIAL_TOKENS):
            if i >= len(lines) or lines[i] != special:
                got = repr(lines[i]) if i < len(lines) else "end of file"
                raise UserError(f"{path}:{i + 1}: expected {special!r}, found {got}; not a leakgan_tf vocabulary "
                                f"(it must start with {', '.join(SPECIAL_TOKENS)}); rebuild it")
        first_line = {}
        for n, t in enumerate(lines, 1):
            if not t or any(c.isspace() for c in t):
                what = "blank line" if not t else f"token {t!r} contains whitespace"
                raise UserError(f"{path}:{n}: {what}; a vocabulary file holds one token a line, rebuild it")
            if t in first_line:
                raise UserError(f"{path}:{n}: token {t!r} repeats line {first_line[t]}; rebuild the vocabulary")
            first_line[t] = n
        if len(lines) == NUM_SPECIAL:
            raise UserError(f"vocabulary file {path} holds only the special tokens; rebuild it from the training text")
        return cls(lines)

    # --- lookups
    def __len__(self):
        return len(self._tokens)

    @property
    def size(self) -> int:
        return len(self._tokens)

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order (a tuple)."""
        return self._tokens

    def __contains__(self, word):
        return word in self._word_ids and word != UNK

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and self._tokens == other._tokens

    def __repr__(self):
        return f"Vocabulary(size={len(self)}, words={list(self._tokens[NUM_SPECIAL:NUM_SPECIAL + 5])}...)"

    def token_id(self, word: str) -> int:
        """Id of a word (`<unk>`'s id if it is not in the vocabulary)."""
        return self._word_ids.get(word, UNK_ID)

    def encode(self, tokens: list[str]) -> list[int]:
        """Ids of the tokens; unknown words map to UNK_ID. No `<eos>` is added."""
        get = self._word_ids.get
        return [get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of one id sequence: stops at the first `<eos>`, drops `<pad>`s,
        shows unknown words as `<unk>`."""
        out = []
        size = len(self._tokens)
        for i in np.asarray(ids).reshape(-1).tolist():
            if i == EOS_ID:
                break
            if i == PAD_ID:
                continue
            if not 0 <= i < size:
                raise ValueError(f"id {i} is outside the vocabulary [0, {size})")
            out.append(self._tokens[i])
        return out

    def decode_text(self, ids: Iterable[int], tokenizer: str = "nltk") -> str:
        """`decode` joined into one display string (see `detokenize`)."""
        return detokenize(self.decode(ids), tokenizer)


# ---------------------------------------------------------------- encoding

def encode_corpus(token_lists: list[list[str]], vocab: Vocabulary, seq_len: int, too_long: str = "drop",
                  oov: str = "unk", name: str = "corpus") -> tuple[np.ndarray, dict]:
    """Tokenised sentences -> int32 [N, seq_len] and a stats dict.

    Each sentence becomes its word ids + `<eos>`, right-padded with `<pad>`.
    A sentence "fits" when its length counting `<eos>` is at most seq_len.
    too_long="drop" leaves longer sentences out; too_long="truncate" keeps their
    first seq_len words WITHOUT `<eos>` (the sentence was cut, not ended, so G is
    not taught to end sentences mid-clause). oov="unk" maps unknown words to
    `<unk>`; oov="drop" leaves out every sentence with an unknown word.

    stats: sentences (input), kept, dropped_too_long, dropped_oov, truncated,
    tokens (word tokens in the kept rows), unknown_tokens (of them `<unk>`),
    unknown_rate, shortest/longest (input lengths counting `<eos>`), seq_len.
    Raises UserError, naming `name` (e.g. the file), when no sentence is kept.
    """
    switches.check("too_long", too_long)
    switches.check("oov", oov)
    if int(seq_len) < 1:
        raise UserError(f"--seq_len={seq_len} must be positive")
    seq_len = int(seq_len)
    rows = []
    lengths = []
    dropped_too_long = dropped_oov = truncated = 0
    for tokens in token_lists:
        ids = vocab.encode(tokens)
        lengths.append(len(ids) + 1)
        if oov == "drop" and UNK_ID in ids:
            dropped_oov += 1
            continue
        if len(ids) + 1 > seq_len:
            if too_long == "drop":
                dropped_too_long += 1
                continue
            truncated += 1
            rows.append(ids[:seq_len])
        else:
            rows.append(ids + [EOS_ID] + [PAD_ID] * (seq_len - len(ids) - 1))
    array = np.array(rows, dtype=np.int32).reshape(len(rows), seq_len)
    words = (array != PAD_ID) & (array != EOS_ID)
    n_tokens = int(words.sum())
    n_unk = int((array == UNK_ID).sum())
    stats = dict(sentences=len(lengths), kept=len(rows), dropped_too_long=dropped_too_long,
                 dropped_oov=dropped_oov, truncated=truncated, tokens=n_tokens, unknown_tokens=n_unk,
                 unknown_rate=n_unk / n_tokens if n_tokens else 0.0,
                 shortest=min(lengths, default=0), longest=max(lengths, default=0), seq_len=seq_len)
    if not rows:
        if not lengths:
            raise UserError(f"{name} has no sentences; pass a file with one sentence a line")
        if dropped_oov == len(lengths):
            raise UserError(f"{name}: every one of its {len(lengths)} sentences has a word outside the vocabulary; "
                            f"use oov=unk (--oov=unk) or lower --min_count")
        raise UserError(f"{name}: no sentence fits --seq_len={seq_len} (with the end token its sentences are "
                        f"{stats['shortest']} to {stats['longest']} tokens long); use --seq_len={stats['longest']} "
                        f"or at least {stats['shortest']}, or --too_long=truncate")
    return array, stats


# ---------------------------------------------------------------- the one call for the trainer

@dataclasses.dataclass
class Corpus:
    """A prepared corpus: int32 arrays [N, T] (ids as in the module doc), the
    vocabulary, and stats {"train": ..., "test": ..., "vocab": ..., "settings": ...}.
    test_tokens holds every tokenised test sentence (before length/OOV filtering),
    e.g. as BLEU references."""
    train: np.ndarray
    test: np.ndarray
    vocab: Vocabulary
    stats: dict
    test_tokens: list = dataclasses.field(default_factory=list, repr=False)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def seq_len(self) -> int:
        return int(self.train.shape[1])


def corpus_from_sentences(train_sentences: list[str], test_sentences: list[str], seq_len: int, min_count: int = 1,
                          max_vocab: int | None = None, tokenizer: str = "nltk", too_long: str = "drop",
                          vocab_path: str | pathlib.Path | None = None, oov: str = "unk",
                          names: tuple[str, str] = ("train split", "test split")) -> Corpus:
    """`prepare_corpus` on sentences already in memory (e.g. from `load_text_split`)."""
    train_tokens = tokenize_lines(train_sentences, tokenizer)
    test_tokens = tokenize_lines(test_sentences, tokenizer)
    if vocab_path is not None and pathlib.Path(vocab_path).is_file():
        vocab = Vocabulary.load(vocab_path)
        source = f"loaded from {vocab_path}"
    else:
        vocab = Vocabulary.build(train_tokens, min_count=min_count, max_size=max_vocab)
        source = "built from the training split"
    train, train_stats = encode_corpus(train_tokens, vocab, seq_len, too_long, oov, names[0])
    test, test_stats = encode_corpus(test_tokens, vocab, seq_len, too_long, oov, names[1])
    if vocab_path is not None and not pathlib.Path(vocab_path).is_file():
        vocab.save(vocab_path)  # only once both splits encoded: a rejected corpus writes nothing
        source += f", saved to {vocab_path}"
    distinct = len({t for tokens in train_tokens for t in tokens})
    stats = dict(train=train_stats, test=test_stats,
                 vocab=dict(size=len(vocab), words=len(vocab) - NUM_SPECIAL, distinct_train_words=distinct,
                            source=source),
                 settings=dict(seq_len=int(seq_len), min_count=min_count, max_vocab=max_vocab,
                               tokenizer=tokenizer, too_long=too_long, oov=oov))
    return Corpus(train=train, test=test, vocab=vocab, stats=stats, test_tokens=test_tokens)


def prepare_corpus(train_path: str | pathlib.Path, test_path: str | pathlib.Path | None, seq_len: int,
                   min_count: int = 1, max_vocab: int | None = None, tokenizer: str = "nltk", too_long: str = "drop",
                   vocab_path: str | pathlib.Path | None = None, oov: str = "unk", test_fraction: float = 0.1,
                   split_seed: int = 0) -> Corpus:
    """Reads, tokenises and encodes a train/test pair of text files.

    Args:
      train_path, test_path: UTF-8 files, one sentence a line. test_path=None
        splits train_path with `split_lines(lines, test_fraction, split_seed)`
        (EMNLP News: one 10k file -> 9k/1k).
      seq_len: T; see `encode_corpus` for what fits.
      min_count, max_vocab: see `Vocabulary.build` (max_vocab counts the 3 special tokens).
      tokenizer: one of switches.CHOICES["tokenizer"].
      too_long: "drop" | "truncate"; oov: "unk" | "drop" (see `encode_corpus`).
      vocab_path: if the file exists, that vocabulary is used as it is (e.g. on
        resume; min_count and max_vocab are then ignored); otherwise the vocabulary
        is built from the training split and, if vocab_path is given, saved there.
    Returns a Corpus; the test split is encoded with the training vocabulary.
    """
    train_lines = read_sentences(train_path)
    if test_path is None:
        train_lines, test_lines = split_lines(train_lines, test_fraction, split_seed)
        names = (f"{train_path} (train part)", f"{train_path} (test part)")
    else:
        test_lines = read_sentences(test_path)
        names = (str(train_path), str(test_path))
    corpus = corpus_from_sentences(train_lines, test_lines, seq_len, min_count, max_vocab, tokenizer,
                                   too_long, vocab_path, oov, names)
    corpus.stats["settings"].update(train_path=str(train_path), test_path=None if test_path is None else str(test_path))
    if test_path is None:
        corpus.stats["settings"].update(test_fraction=test_fraction, split_seed=split_seed)
    return corpus


def length_histogram(token_lists: Iterable[list[str]], with_end: bool = True) -> dict[int, int]:
    """{length: count} of sentence lengths (counting `<eos>` when with_end)."""
    extra = 1 if with_end else 0
    return dict(sorted(collections.Counter(len(t) + extra for t in token_lists).items()))
