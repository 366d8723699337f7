"""The model a Config names (--model): where the Trainer, the run folder's loader
and the CLIs get theirs."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from leakgan_tf.config import Config
    from leakgan_tf.leakgan import LeakGAN


def build(cfg: Config) -> LeakGAN:
    """LeakGAN(cfg), or SeqGAN(cfg) for --model=seqgan (a LeakGAN subclass with the
    same interface: steps, sampling, scores, checkpoint objects)."""
    if cfg.model == "seqgan":
        from leakgan_tf.seqgan import SeqGAN
        return SeqGAN(cfg)
    from leakgan_tf.leakgan import LeakGAN
    return LeakGAN(cfg)
