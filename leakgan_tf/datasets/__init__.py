"""Real-text datasets as tensorflow-datasets builders over local files (no
downloads). Importing this package registers the tfds builder "local_text"
(configs coco and emnlp_news); see local_text.py."""
from leakgan_tf.datasets.local_text import (
                                            LocalText,
                                            LocalTextConfig,
                                            load_text_split,
                                            load_tfds_text,
                                            prepare_local_text,
                                            shared_data_dir,
)

__all__ = ["LocalText", "LocalTextConfig", "load_text_split", "load_tfds_text", "prepare_local_text",
           "shared_data_dir"]
