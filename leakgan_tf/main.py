"""Train LeakGAN on a synthetic oracle.

  python -m leakgan_tf.main --flagfile=experiments/quick.cfg [--flag=value …]

Writes checkpoints, evaluation samples, config.json and TensorBoard events to
--logdir; rerunning with the same --logdir resumes from the last checkpoint.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from leakgan_tf import flags as run_flags  # noqa: E402
from leakgan_tf.errors import UserError  # noqa: E402

FLAGS = flags.FLAGS


def build_oracle(cfg):
    """The oracle the config names: a parameter file or a seeded random LSTM."""
    from synthetic_oracle.model import OracleLSTM
    if cfg.oracle_params:
        oracle = OracleLSTM.from_npz(cfg.oracle_params)
        source = cfg.oracle_params
    else:
        oracle = OracleLSTM.from_seed(cfg.oracle_seed, cfg.vocab_size, cfg.oracle_emb_dim, cfg.oracle_hidden_dim)
        source = (f"seeded random oracle (seed {cfg.oracle_seed}, E={cfg.oracle_emb_dim}, "
                  f"H={cfg.oracle_hidden_dim}); pass --oracle_params=PATH.npz for the paper's oracle")
    if oracle.vocab_size != cfg.vocab_size:
        raise UserError(f"oracle vocabulary {oracle.vocab_size} != --vocab_size={cfg.vocab_size}; "
                        f"set --vocab_size={oracle.vocab_size}")
    print(f"oracle: {source}", flush=True)
    return oracle


def parse_flags(argv):
    """absl parsing with a one-line error instead of absl's usage dump."""
    run_flags.define_flags()
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f"error: {e} (see --helpfull)", file=sys.stderr)
        sys.exit(2)


def main(argv):
    from absl import logging
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        raise UserError(f"unexpected arguments {argv[1:]}; flags are written --name=value")
    cfg = run_flags.config_from_flags()
    if FLAGS.dry_run:
        from leakgan_tf.leakgan import LeakGAN
        gan = LeakGAN(cfg)
        for name, count in gan.param_counts().items():
            print(f"{name}: {count:,} parameters")
        print(f"leaked feature dim D_f = {gan.discriminator.feature_dim}")
        return
    from leakgan_tf.train import Trainer
    oracle = build_oracle(cfg)
    trainer = Trainer(cfg, FLAGS.logdir, oracle, fresh=FLAGS.fresh, checkpoint_every=FLAGS.checkpoint_every)
    stopped_by = trainer.run()
    if stopped_by:
        sys.exit(128 + stopped_by)
    print(f"done: checkpoints, samples and TensorBoard events in {FLAGS.logdir}", flush=True)


def guarded_main(argv):
    try:
        main(argv)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def run():
    app.run(guarded_main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
