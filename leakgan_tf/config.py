"""Run configuration: one frozen dataclass, absl flags mirroring it, presets
and validation with one-line errors.

Defaults are the official code's length-20 synthetic experiment (spec §2.1).
`--preset` fills in the other experiments' model sizes; any flag given on the
command line or in a flagfile wins over the preset.
"""
import dataclasses
import json
import os

from leakgan_tf.errors import UserError

SYNTHETIC20_FILTERS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
SYNTHETIC20_COUNTS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)


@dataclasses.dataclass(frozen=True)
class Config:
    # --- model (spec §1, §2)
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
    feature_path: str = "incremental"
    # --- data
    dataset: str = "oracle"
    oracle_params: str = ""
    oracle_seed: int = 0
    oracle_emb_dim: int = 32
    oracle_hidden_dim: int = 32
    train_file: str = ""
    test_file: str = ""
    tfds_name: str = ""
    tokenizer: str = "nltk"
    min_count: int = 1
    max_vocab: int = 0
    too_long: str = "drop"
    oov: str = "unk"
    test_fraction: float = 0.1
    seed: int = 88

    @property
    def num_samples(self):
        """generated_num rounded down to whole batches (10000 -> 9984)."""
        return self.generated_num // self.batch_size * self.batch_size

    @property
    def feature_dim(self):
        return sum(n for _, n in zip(self.dis_filter_sizes, self.dis_num_filters))

    def adversarial_betas(self):
        early = self.adv_beta_early_steps
        return [self.adv_beta_early] * min(early, self.seq_len) + [self.adv_beta] * max(self.seq_len - early, 0)

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True)

    def validate(self):
        """Raises UserError naming the first bad value and how to fix it."""
        positive = ["vocab_size", "seq_len", "batch_size", "gen_emb_dim", "gen_hidden_dim", "goal_size",
                    "step_size", "dis_emb_dim", "generated_num", "rollout_num", "sample_batch"]
        for name in positive:
            if getattr(self, name) <= 0:
                raise UserError(f"--{name}={getattr(self, name)} must be positive")
        nonneg = ["pretrain_blocks", "pretrain_d_rounds", "d_epochs", "pretrain_g_epochs",
                  "adversarial_iterations", "adv_d_rounds", "eval_every", "interleave_mle_every"]
        for name in nonneg:
            if getattr(self, name) < 0:
                raise UserError(f"--{name}={getattr(self, name)} must be >= 0")
        if self.seq_len % self.step_size:
            raise UserError(f"--step_size={self.step_size} must divide --seq_len={self.seq_len}")
        if not 0 <= self.start_token < self.vocab_size:
            raise UserError(f"--start_token={self.start_token} must be in [0, --vocab_size={self.vocab_size})")
        widths = [h for h, _ in zip(self.dis_filter_sizes, self.dis_num_filters)]
        if not widths or max(widths) > self.seq_len or min(widths) < 1:
            raise UserError(f"--dis_filter_sizes={list(widths)} must be between 1 and --seq_len={self.seq_len}")
        if min(self.dis_num_filters) < 1:
            raise UserError("--dis_num_filters must all be positive")
        if not 0.0 < self.dis_dropout_keep_prob <= 1.0:
            raise UserError(f"--dis_dropout_keep_prob={self.dis_dropout_keep_prob} must be in (0, 1]")
        for name in ["gen_learning_rate", "dis_learning_rate", "grad_clip", "eval_beta", "adv_beta",
                     "adv_beta_early", "rollout_beta"]:
            if getattr(self, name) <= 0:
                raise UserError(f"--{name}={getattr(self, name)} must be positive")
        choices = dict(dataset=("oracle", "text", "tfds"), tokenizer=("nltk", "wordpunct", "whitespace"),
                       too_long=("drop", "truncate"), oov=("unk", "drop"))
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise UserError(f"--{name}={getattr(self, name)!r} must be one of {', '.join(allowed)}")
        if self.dataset == "text" and not self.train_file:
            raise UserError("--dataset=text needs --train_file (and --test_file, or a split by --test_fraction)")
        if self.dataset == "tfds" and not self.tfds_name:
            raise UserError("--dataset=tfds needs --tfds_name (e.g. local_text/coco)")
        for name in ("train_file", "test_file"):
            path = getattr(self, name)
            if self.dataset == "text" and path and not os.path.isfile(path):
                raise UserError(f"--{name}={path}: file not found; set LEAKGAN_SHARED_DATA or pass an existing file")
        if not 0.0 < self.test_fraction < 1.0:
            raise UserError(f"--test_fraction={self.test_fraction} must be in (0, 1)")
        if not 0.0 < self.mle_epoch_fraction <= 1.0:
            raise UserError(f"--mle_epoch_fraction={self.mle_epoch_fraction} must be in (0, 1]")
        if self.feature_path not in ("incremental", "plain"):
            raise UserError(f"--feature_path={self.feature_path!r} must be 'incremental' or 'plain'")
        if self.sample_batch % self.batch_size:
            raise UserError(f"--sample_batch={self.sample_batch} must be a multiple of --batch_size={self.batch_size}")
        if self.oracle_params and not os.path.isfile(self.oracle_params):
            raise UserError(f"--oracle_params={self.oracle_params}: file not found; set LEAKGAN_SHARED_DATA or "
                            f"pass an existing .npz (python -m synthetic_oracle create makes one)")
        if self.num_samples == 0:
            raise UserError(f"--generated_num={self.generated_num} is smaller than one batch ({self.batch_size})")
        return self


PRESETS = {
    "synthetic20": {},
    "synthetic40": dict(
        seq_len=40, gen_emb_dim=64, gen_hidden_dim=64, gen_learning_rate=0.0005,
        # The original lists widths …, 30, 40 but only 13 counts: zip drops 40 (D_f = 1880).
        dis_filter_sizes=SYNTHETIC20_FILTERS + (30,), dis_num_filters=SYNTHETIC20_COUNTS + (160,),
        oracle_emb_dim=64, oracle_hidden_dim=64),
    "coco": dict(
        dataset="text", vocab_size=4839, seq_len=32, gen_emb_dim=128, gen_hidden_dim=128, gen_learning_rate=0.001,
        dis_emb_dim=256, dis_filter_sizes=SYNTHETIC20_FILTERS + (32,), dis_num_filters=SYNTHETIC20_COUNTS + (160,),
        adv_beta=0.8, pretrain_blocks=16, pretrain_g_epochs=12, interleave_mle_every=15,
        mle_epoch_fraction=0.05),
}


def make_config(preset="synthetic20", **overrides):
    """Config of a preset with some fields replaced; validated."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    values = dict(PRESETS[preset])
    values.update(overrides)
    return Config(**values).validate()
