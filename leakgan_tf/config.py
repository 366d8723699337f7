"""Run configuration: one frozen dataclass, absl flags mirroring it, presets
and validation with one-line errors.

Defaults are the official code's length-20 synthetic experiment (spec §2.1).
`--preset` fills in the other experiments' model sizes, `--variant` then sets
the switches of spec §13 (code, paper or no_temperature; see VARIANTS), and
any flag given on the command line or in a flagfile wins over both.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from leakgan_tf import switches
from leakgan_tf.errors import UserError

SYNTHETIC20_FILTERS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
SYNTHETIC20_COUNTS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)
# The paper's length-40 table (spec §2.1): widths 16 and 40 included, D_f = 2040.
PAPER40_FILTERS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 20, 30, 40)
PAPER40_COUNTS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160, 160, 160)


# The valid range of every numeric field (tuples: of each element). validate()
# checks them all; tests/test_ranges.py checks that every numeric field is here.
SEED_LIMIT = 2 ** 32  # numpy and Keras seeds are unsigned 32-bit
RANGES = dict(
    vocab_size=">=1", seq_len=">=1", batch_size=">=1", gen_emb_dim=">=1", gen_hidden_dim=">=1",
    goal_size=">=1", step_size=">=1", start_token=">=0", dis_emb_dim=">=1", dis_filter_sizes=">=1",
    dis_num_filters=">=1", dis_dropout_keep_prob="(0,1]", dis_l2_lambda=">=0",
    gen_learning_rate=">0", dis_learning_rate=">0", grad_clip=">0",
    eval_beta=">0", adv_beta_early=">0", adv_beta_early_steps=">=0", adv_beta=">0", rollout_beta=">0",
    generated_num=">=1", pretrain_blocks=">=0", pretrain_d_rounds=">=0", d_epochs=">=0",
    pretrain_g_epochs=">=0", pretrain_eval_epochs=">=0", adversarial_iterations=">=0", rollout_num=">=1",
    adv_d_rounds=">=0", eval_every=">=1", interleave_mle_every=">=0", mle_epoch_fraction="(0,1]",
    sample_batch=">=1", oracle_seed="seed", oracle_emb_dim=">=1", oracle_hidden_dim=">=1",
    min_count=">=1", max_vocab=">=0", test_fraction="(0,1)", seed="seed", rescale_delta=">=0",
    rollout_update_rate="[0,1]",
)
_RULES = {
    ">=0": (lambda v: v >= 0, "must be >= 0"),
    ">=1": (lambda v: v >= 1, "must be >= 1"),
    ">0": (lambda v: v > 0, "must be > 0"),
    "(0,1]": (lambda v: 0 < v <= 1, "must be in (0, 1]"),
    "(0,1)": (lambda v: 0 < v < 1, "must be in (0, 1)"),
    "[0,1]": (lambda v: 0 <= v <= 1, "must be in [0, 1]"),
    "seed": (lambda v: 0 <= v < SEED_LIMIT, f"must be in [0, {SEED_LIMIT}) (an unsigned 32-bit seed)"),
}


def check_range(name, value, rule):
    """Raises UserError if value (or, for a tuple, any element) breaks rule (see RANGES)."""
    ok, what = _RULES[rule]
    for v in value if isinstance(value, tuple) else (value,):
        if not ok(v):
            shown = ",".join(map(str, value)) if isinstance(value, tuple) else value
            raise UserError(f"--{name}={shown} {'has an element that ' if isinstance(value, tuple) else ''}{what}")


def _check_file(flag: str, path: str, fix: str) -> None:
    if os.path.isdir(path):
        raise UserError(f"--{flag}={path} is a folder, not a file; pass the file itself")
    if not os.path.isfile(path):
        raise UserError(f"--{flag}={path}: file not found; {fix}")


@dataclasses.dataclass(frozen=True)
class Config:
    # --- model (spec §1, §2); model=seqgan: SeqGAN (seqgan.py) with the same D, data and schedule machinery
    model: str = switches.default("model")
    vocab_size: int = 5000
    seq_len: int = 20
    batch_size: int = 64
    gen_emb_dim: int = 32
    gen_hidden_dim: int = 32
    goal_size: int = 16
    step_size: int = 4
    start_token: int = 0
    dis_emb_dim: int = 64
    dis_filter_sizes: tuple = SYNTHETIC20_FILTERS
    dis_num_filters: tuple = SYNTHETIC20_COUNTS
    dis_dropout_keep_prob: float = 1.0
    dis_l2_lambda: float = 0.0
    # --- optimisation
    gen_learning_rate: float = 0.0015
    dis_learning_rate: float = 5e-5
    grad_clip: float = 5.0
    # --- inverse temperatures β (logits × β), spec §2.1
    eval_beta: float = 1.5
    adv_beta_early: float = 1.5
    adv_beta_early_steps: int = 2
    adv_beta: float = 1.0
    rollout_beta: float = 1.0
    # --- SeqGAN's rollout network (seqgan.py)
    rollout_network: str = switches.default("rollout_network")
    rollout_update_rate: float = 0.8
    # --- schedule (spec §7.1)
    generated_num: int = 10000
    pretrain_blocks: int = 10
    pretrain_d_rounds: int = 5
    d_epochs: int = 3
    pretrain_g_epochs: int = 8
    pretrain_eval_epochs: tuple = (0, 5)
    adversarial_iterations: int = 800
    rollout_num: int = 4
    adv_d_rounds: int = 5
    eval_every: int = 5
    interleave_mle_every: int = 0
    mle_epoch_fraction: float = 1.0
    sample_batch: int = 1024
    extended_eval: bool = False
    distribute: str = switches.default("distribute")
    skip_nonfinite: bool = False
    xla_phases: tuple = ("auto",)  # kernels.xla_phases: every phase on a GPU, pretrain on a CPU
    feature_path: str = switches.default("feature_path")
    init_from: str = ""
    compute_dtype: str = switches.default("compute_dtype")
    deterministic: bool = False
    # --- data
    dataset: str = switches.default("dataset")
    oracle_params: str = ""
    oracle_seed: int = 0
    oracle_emb_dim: int = 32
    oracle_hidden_dim: int = 32
    train_file: str = ""
    test_file: str = ""
    tfds_name: str = ""
    tokenizer: str = switches.default("tokenizer")
    min_count: int = 1
    max_vocab: int = 0
    too_long: str = switches.default("too_long")
    oov: str = switches.default("oov")
    test_fraction: float = 0.1
    seed: int = 88
    # --- code vs paper switches (spec §13); --variant sets several at once
    variant: str = switches.default("variant")
    adversarial_loss: str = switches.default("adversarial_loss")
    reward_rescale: str = switches.default("reward_rescale")
    rescale_delta: float = 0.0
    goal_schedule: str = switches.default("goal_schedule")
    goal_normalize: bool = switches.GOAL_NORMALIZE
    dis_positives: str = switches.default("dis_positives")

    @property
    def num_samples(self) -> int:
        """generated_num rounded down to whole batches (10000 -> 9984)."""
        return self.generated_num // self.batch_size * self.batch_size

    @property
    def feature_dim(self) -> int:
        return sum(n for _, n in zip(self.dis_filter_sizes, self.dis_num_filters))

    @property
    def reward_delta(self) -> float:
        """δ of the reward rescale: rescale_delta, or 0 = the rescale's own (ladder 16, rank 12)."""
        return switches.rescale_delta(self.reward_rescale, self.rescale_delta)

    def adversarial_betas(self) -> list[float]:
        early = self.adv_beta_early_steps
        return [self.adv_beta_early] * min(early, self.seq_len) + [self.adv_beta] * max(self.seq_len - early, 0)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True)

    def validate(self) -> Config:
        """Raises UserError naming the first bad value and how to fix it."""
        for name, rule in RANGES.items():
            check_range(name, getattr(self, name), rule)
        if self.model == "leakgan" and self.seq_len % self.step_size:
            raise UserError(f"--step_size={self.step_size} must divide --seq_len={self.seq_len}")
        if not 0 <= self.start_token < self.vocab_size:
            raise UserError(f"--start_token={self.start_token} must be in [0, --vocab_size={self.vocab_size})")
        if len(self.dis_filter_sizes) != len(self.dis_num_filters):
            raise UserError(f"--dis_filter_sizes has {len(self.dis_filter_sizes)} widths but --dis_num_filters has "
                            f"{len(self.dis_num_filters)} counts; give one count per width")
        widths = list(self.dis_filter_sizes)
        if not widths or max(widths) > self.seq_len or min(widths) < 1:
            raise UserError(f"--dis_filter_sizes={list(widths)} must be between 1 and --seq_len={self.seq_len}")
        for name in switches.CHOICES:
            switches.check(name, getattr(self, name))
        if self.dataset == "text" and not self.train_file:
            raise UserError("--dataset=text needs --train_file (and --test_file, or a split by --test_fraction)")
        if self.dataset == "tfds" and not self.tfds_name:
            raise UserError("--dataset=tfds needs --tfds_name (e.g. local_text/coco)")
        for name in ("train_file", "test_file"):
            path = getattr(self, name)
            if self.dataset == "text" and path:
                _check_file(name, path, "set LEAKGAN_SHARED_DATA or pass an existing file")
        unknown = set(self.xla_phases) - set(XLA_PHASES) - {"auto"}
        if unknown:
            raise UserError(f"--xla_phases has unknown phases {sorted(unknown)}; choose from auto (the device's "
                            f"default) or {', '.join(XLA_PHASES)}")
        if "auto" in self.xla_phases and len(self.xla_phases) > 1:
            raise UserError(f"--xla_phases={','.join(self.xla_phases)}: auto stands alone; name the phases instead")
        if self.sample_batch % self.batch_size:
            raise UserError(f"--sample_batch={self.sample_batch} must be a multiple of --batch_size={self.batch_size}")
        if self.init_from and not (os.path.isdir(self.init_from) or os.path.isfile(self.init_from + ".index")):
            raise UserError(f"--init_from={self.init_from}: no such run directory or checkpoint; pass a --logdir "
                            f"of a finished run (or one of its checkpoints/ckpt-N)")
        if self.oracle_params:
            _check_file("oracle_params", self.oracle_params, "set LEAKGAN_SHARED_DATA or pass an existing .npz "
                                                             "(python -m synthetic_oracle create makes one)")
        if self.num_samples == 0:
            raise UserError(f"--generated_num={self.generated_num} is smaller than one batch ({self.batch_size})")
        if not isinstance(self.goal_normalize, bool):
            raise UserError(f"--goal_normalize={self.goal_normalize!r} must be true or false")
        if self.model == "seqgan":
            if self.distribute != "none":
                raise UserError(f"--model=seqgan runs on one device; --distribute={self.distribute} is for LeakGAN, "
                                f"drop it")
            if self.variant != "code":
                raise UserError(f"--variant={self.variant} sets LeakGAN's code/paper switches; --model=seqgan takes "
                                f"its settings from its flagfile (experiments/seqgan_len20.cfg): drop --variant")
        return self


# The compiled steps --xla_phases can put under XLA (LeakGAN.__init__; experiments/bench_xla.py times each).
XLA_PHASES = ("discriminator", "pretrain", "sampling", "adversarial")

PRESETS = {
    "synthetic20": {},
    "synthetic40": dict(
        seq_len=40, gen_emb_dim=64, gen_hidden_dim=64, gen_learning_rate=0.0005,
        # The original lists widths …, 30, 40 but only 13 counts: zip drops 40 (D_f = 1880).
        dis_filter_sizes=SYNTHETIC20_FILTERS + (30,), dis_num_filters=SYNTHETIC20_COUNTS + (160,),
        oracle_emb_dim=64, oracle_hidden_dim=64),
    "coco": dict(
        vocab_size=4839, seq_len=32, gen_emb_dim=128, gen_hidden_dim=128, gen_learning_rate=0.001,
        dis_emb_dim=256, dis_filter_sizes=SYNTHETIC20_FILTERS + (32,), dis_num_filters=SYNTHETIC20_COUNTS + (160,),
        adv_beta=0.8, pretrain_blocks=16, pretrain_g_epochs=12, interleave_mle_every=15,
        mle_epoch_fraction=0.05),
}


# --variant: the spec §13 switches. "code" is the Config defaults (the
# repository). "paper" fixes the code's bugs as the paper describes the method:
#   per-step reward-weighted losses (Eq. 7–9), rank rescale (Eq. 11, δ = 12 via
#   rescale_delta = 0), sliding goal window (Eq. 4) without the extra l2n,
#   D dropout keep 0.75 and L2 0.2 on the classifier, the fixed training set as
#   D positives, one interleaved MLE epoch per 15 adversarial iterations, and
#   "higher temperature when training, lower when generating": adversarial
#   samples at adv_beta (1.0; COCO 0.8) at every position (no β = 1.5 on the
#   first two tokens), evaluation at eval_beta = 1.5.
#   Length 20: the paper's G learning rate 0.001 (code 0.0015).
#   Length 40: the paper's filter table (14 widths incl. 16 and 40, D_f = 2040).
#   Model sizes (E = H) are not changed.
# "no_temperature" is the repository's `No Temperature/` copy (spec §12.B):
#   β = 1 instead of the two 1.5 constants, G learning rate 0.01, and COCO's
#   MLE "epoch" 1/15 of the data (was 1/20); everything else as "code".
_PAPER = dict(
    adversarial_loss="per_step", reward_rescale="rank", goal_schedule="sliding", goal_normalize=False,
    dis_dropout_keep_prob=0.75, dis_l2_lambda=0.2, dis_positives="fixed", interleave_mle_every=15,
    adv_beta_early_steps=0)
VARIANTS = {"code": {}, "paper": _PAPER, "no_temperature": dict(eval_beta=1.0, adv_beta_early=1.0,
                                                                  gen_learning_rate=0.01)}


def variant_values(variant: str, preset: str = "synthetic20", seq_len: int | None = None) -> dict[str, Any]:
    """The fields --variant sets for a preset and sequence length (None = the preset's)."""
    if variant not in VARIANTS:
        raise UserError(f"--variant={variant!r} must be one of {', '.join(VARIANTS)}")
    if seq_len is None:
        seq_len = PRESETS.get(preset, {}).get("seq_len", Config.seq_len)
    values = dict(VARIANTS[variant])
    if variant == "paper" and seq_len == 20:
        values.update(gen_learning_rate=0.001)
    if variant == "paper" and seq_len == 40:
        values.update(dis_filter_sizes=PAPER40_FILTERS, dis_num_filters=PAPER40_COUNTS)
    if variant == "no_temperature" and preset == "coco":
        values.update(mle_epoch_fraction=1.0 / 15)
    return values


def make_config(preset: str = "synthetic20", **overrides: Any) -> Config:
    """Config of a preset, then its variant (overrides["variant"], default
    "code"), then the overrides; validated."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    values = dict(PRESETS[preset])
    variant = overrides.get("variant", Config.variant)
    seq_len = overrides.get("seq_len", values.get("seq_len", Config.seq_len))
    values.update(variant_values(variant, preset, seq_len))
    values.update(overrides)
    return Config(**values).validate()
