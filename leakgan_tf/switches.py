"""Every switch of a run in one place (no TensorFlow): its name, its choices
and its default. The first choice is the default, the official code's
behaviour (spec §13 for the code/paper switches; for SeqGAN's, LantaoYu/SeqGAN's).

config.py builds its fields and validation from these tables, flags.py its
help, and losses, rewards, goals and text check their arguments against them.
"""
from leakgan_tf.errors import UserError

# name -> choices, the default first.
CHOICES: dict[str, tuple[str, ...]] = dict(
    # which GAN: LeakGAN (leakgan.py) or SeqGAN (seqgan.py, Yu et al. 2017)
    model=("leakgan", "seqgan"),
    # SeqGAN's rollout policy: the generator itself (its official code in effect, and the
    # paper's β ← θ) or a delayed copy updated at rollout_update_rate (that code as written)
    rollout_network=("generator", "delayed"),
    # code vs paper (spec §13); --variant sets several at once (config.VARIANTS)
    variant=("code", "paper", "no_temperature"),
    adversarial_loss=("collapsed", "per_step"),
    reward_rescale=("ladder", "rank"),
    goal_schedule=("block", "sliding"),
    dis_positives=("fresh", "fixed"),
    # how the same numbers are computed
    feature_path=("incremental", "plain"),
    compute_dtype=("float32", "bfloat16"),
    distribute=("none", "mirrored", "multiworker"),
    # data
    dataset=("oracle", "text", "tfds"),
    tokenizer=("nltk", "wordpunct", "whitespace"),
    too_long=("drop", "truncate"),
    oov=("unk", "drop"),
)

# δ of each reward rescale when --rescale_delta is 0 (ladder: the original's 16;
# rank: the paper's 12).
RESCALE_DELTA: dict[str, float] = {"ladder": 16.0, "rank": 12.0}
# goal_normalize (a bool switch): w = l2n(G·W_ψ) in the code.
GOAL_NORMALIZE = True


def default(name: str) -> str:
    """The default choice of switch `name` (the official code's)."""
    return CHOICES[name][0]


def check(name: str, value: str, error: type[Exception] = UserError) -> str:
    """Returns value if it is a choice of switch `name`, else raises error
    (UserError for user input, ValueError for a programming mistake)."""
    if value not in CHOICES[name]:
        raise error(f"--{name}={value!r} must be one of {', '.join(CHOICES[name])}")
    return value


def rescale_delta(rescale: str, delta: float = 0.0) -> float:
    """δ of the reward rescale: delta, or 0 = the rescale's own (ladder 16, rank 12)."""
    return float(delta) if delta else RESCALE_DELTA[check("reward_rescale", rescale, ValueError)]
