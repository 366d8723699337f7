"""Real-text corpora as tensorflow-datasets builders that read LOCAL files.

`LocalText` is a `tfds.core.GeneratorBasedBuilder` registered as "local_text";
it never downloads: its files come from `manual_dir`. Configs:

  local_text/coco        manual_dir holds train.txt and test.txt (the RelGAN /
                         Texygen Image COCO captions, 10k/10k; any folder with
                         those two files works).
  local_text/emnlp_news  manual_dir holds test.txt only (EMNLP2017 WMT News, 10k
                         sentences); it is split with `leakgan_tf.text.split_lines`
                         (test fraction 0.1, seed 0): 9,000 train / 1,000 test.

Each example is {"text": tfds.features.Text()}: one sentence (a line, stripped,
blank lines skipped), in file order (shuffling is disabled). Splits: "train",
"test". After the first build the data lives under data_dir
(data_dir/local_text/<config>/1.0.0/) and later loads read that cache, also
with `tfds.load("local_text/coco", data_dir=..., download=False)`.

What tfds 4.9.10 needs to build offline (found by experiment):
  * `builder.download_and_prepare(download_config=
    tfds.download.DownloadConfig(manual_dir=...))`; no URL is ever fetched
    because `_split_generators` only reads `dl_manager.manual_dir`; GCS lookups
    are disabled in this tfds version, so nothing touches the network.
  * `_info` must build `tfds.core.DatasetInfo` directly:
    `dataset_info_from_configs` reads README.md/CITATIONS.bib/TAGS.txt from the
    builder's package folder, which this package does not ship.
  * `importlib_resources` must be installed (tfds imports it for local builders).
  * `DatasetInfo(disable_shuffling=True)` (not a class attribute in this
    version) keeps file order; tfds otherwise reorders examples by a hash of
    their keys.

The sha256 and size of each source file are stored in the dataset's
metadata; when manual_dir is given, `load_text_split` compares them with the
files there and refuses a stale cache.

The shared data folder is $LEAKGAN_SHARED_DATA, by default ../shared/data
relative to the repository root (image_coco/ and emnlp_news/ under it); nothing
here requires it to exist.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib

import tensorflow_datasets as tfds

from leakgan_tf.errors import UserError
from leakgan_tf.text import read_sentences, split_lines

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SPLITS = ("train", "test")


def shared_data_dir() -> pathlib.Path:
    """$LEAKGAN_SHARED_DATA, or ../shared/data next to the repository."""
    return pathlib.Path(os.environ.get("LEAKGAN_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@dataclasses.dataclass(eq=False)
class LocalTextConfig(tfds.core.BuilderConfig):
    """Which files of manual_dir make the splits.

    test_file=None: the train file is split with split_lines(test_fraction, split_seed).
    shared_folder: the default manual_dir under `shared_data_dir()`.
    """
    train_file: str = "train.txt"
    test_file: str | None = "test.txt"
    test_fraction: float = 0.1
    split_seed: int = 0
    shared_folder: str = ""


class LocalText(tfds.core.GeneratorBasedBuilder):
    """Sentences from local text files (one sentence a line), splits train/test."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First version: local files through manual_dir."}
    BUILDER_CONFIGS = [
        LocalTextConfig(name="coco", description="Image COCO captions (RelGAN/Texygen split): "
                        "manual_dir/train.txt and manual_dir/test.txt.",
                        train_file="train.txt", test_file="test.txt", shared_folder="image_coco"),
        LocalTextConfig(name="emnlp_news", description="EMNLP2017 WMT News: manual_dir/test.txt split 9:1 "
                        "(seeded) into train and test.",
                        train_file="test.txt", test_file=None, test_fraction=0.1, split_seed=0,
                        shared_folder="emnlp_news"),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Put the UTF-8 text files (one sentence a line) in manual_dir: train.txt and test.txt for "
        "local_text/coco, test.txt for local_text/emnlp_news. Nothing is downloaded.")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description="Real-text sentences read from local files for LeakGAN (leakgan_tf).",
            features=tfds.features.FeaturesDict({"text": tfds.features.Text()}),
            metadata=tfds.core.MetadataDict(),
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        manual_dir = pathlib.Path(dl_manager.manual_dir)
        cfg = self.builder_config
        train = read_sentences(_required_file(manual_dir, cfg.train_file, cfg.name))
        if cfg.test_file is None:
            train, test = split_lines(train, cfg.test_fraction, cfg.split_seed)
        else:
            test = read_sentences(_required_file(manual_dir, cfg.test_file, cfg.name))
        self.info.metadata["sources"] = source_fingerprints(manual_dir, cfg)
        return {"train": self._generate_examples(train), "test": self._generate_examples(test)}

    def _generate_examples(self, sentences):
        for i, sentence in enumerate(sentences):
            yield i, {"text": sentence}


def _required_file(folder, name, config_name):
    path = pathlib.Path(folder) / name
    if not path.is_file():
        raise UserError(f"{path} not found: local_text/{config_name} reads {name} from its manual_dir; "
                        f"pass the folder that holds it (or set LEAKGAN_SHARED_DATA)")
    return path


def source_fingerprints(folder: pathlib.Path, cfg) -> dict[str, str]:
    """{file name: {"sha256": ..., "bytes": ...}} of the config's source files in folder."""
    out = {}
    for name in [cfg.train_file] + ([cfg.test_file] if cfg.test_file else []):
        raw = (pathlib.Path(folder) / name).read_bytes()
        out[name] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    return out


def _config_name(name):
    name = name[len("local_text/"):] if name.startswith("local_text/") else name
    names = [c.name for c in LocalText.BUILDER_CONFIGS]
    if name not in names:
        raise UserError(f"unknown local text dataset {name!r}; choose one of {', '.join(names)}")
    return name


def _check_split(split):
    if split not in SPLITS:
        raise UserError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")


def prepare_local_text(name: str, manual_dir: str | None = None, data_dir: str | None = None):
    """Builds (once) and returns the LocalText builder of config `name`.

    manual_dir defaults to shared_data_dir()/<image_coco|emnlp_news>; data_dir
    is the tfds cache (None = tfds' default, $TFDS_DATA_DIR or ~/tensorflow_datasets).
    Once the cache exists it is used as it is when manual_dir is None; when a
    manual_dir is given and its files differ from those the cache was built
    from (sha256), the cache is refused with a UserError.
    """
    config = _config_name(name)
    builder = LocalText(config=config, data_dir=None if data_dir is None else str(data_dir))
    cfg = builder.builder_config
    explicit = manual_dir is not None
    manual_dir = pathlib.Path(manual_dir) if explicit else shared_data_dir() / cfg.shared_folder
    prepared = builder.data_path.joinpath("dataset_info.json").exists()
    if prepared:
        # A cache alone is enough to read; a manual_dir that is given must hold the files it was built from.
        if explicit:
            for f in _source_names(cfg):
                _required_file(manual_dir, f, config)
            stored = builder.info.metadata.get("sources") if builder.info.metadata else None
            if stored != source_fingerprints(manual_dir, cfg):
                raise UserError(f"the tfds cache {builder.data_path} was built from other files than those in "
                                f"{manual_dir}; delete that folder or pass another data_dir")
        return builder
    if not manual_dir.is_dir():
        hint = "pass manual_dir" if explicit else "set LEAKGAN_SHARED_DATA or pass manual_dir"
        raise UserError(f"local_text/{config}: folder {manual_dir} not found and no cache in "
                        f"{builder.data_path}; {hint}")
    for f in _source_names(cfg):
        _required_file(manual_dir, f, config)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    return builder


def _source_names(cfg):
    return [cfg.train_file] + ([cfg.test_file] if cfg.test_file else [])


def load_text_split(name: str, split: str, manual_dir: str | None = None,
                    data_dir: str | None = None) -> list[str]:
    """Sentences (list[str], file order) of split "train"|"test" of local_text/<name>,
    building the tfds cache in data_dir from manual_dir on first use (offline)."""
    _check_split(split)
    builder = prepare_local_text(name, manual_dir, data_dir)
    ds = builder.as_dataset(split=split, shuffle_files=False)
    return [example["text"].decode("utf-8") for example in tfds.as_numpy(ds)]


def load_tfds_text(name: str, split: str, text_key: str = "text", data_dir: str | None = None) -> list[str]:
    """Sentences of any PREPARED tfds dataset with a text feature `text_key`.

    Uses tfds.load(name, split=split, data_dir=data_dir, download=False), so it
    never downloads; a dataset that is not prepared in data_dir, an unknown name,
    split or feature gives a one-line UserError. local_text/* is registered by
    importing this module.
    """
    try:
        ds = tfds.load(name, split=split, data_dir=None if data_dir is None else str(data_dir),
                       download=False, shuffle_files=False)
    except tfds.core.registered.DatasetNotFoundError:
        raise UserError(f"tfds dataset {name!r} is unknown; check --tfds_name (e.g. local_text/coco)") from None
    except AssertionError:
        where = data_dir if data_dir is not None else "the default tfds data_dir"
        raise UserError(f"tfds dataset {name!r} is not prepared in {where} and downloads are off; "
                        f"build it there first (tfds build, or load_text_split for local_text/*)") from None
    except ValueError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"tfds dataset {name!r}, split {split!r}: {first}; check the name and split") from None
    spec = ds.element_spec
    if not isinstance(spec, dict) or text_key not in spec:
        keys = sorted(spec) if isinstance(spec, dict) else []
        raise UserError(f"tfds dataset {name!r} has no feature {text_key!r} (features: {', '.join(keys) or 'none'}); "
                        f"pass the text feature's name")
    ds = ds.map(lambda example: example[text_key])
    out = []
    for value in tfds.as_numpy(ds):
        if not isinstance(value, bytes):
            raise UserError(f"feature {text_key!r} of tfds dataset {name!r} is not text; pass a text feature's name")
        out.append(value.decode("utf-8"))
    return out
