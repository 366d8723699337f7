"""Command line for the synthetic oracle.

  python -m synthetic_oracle create   --random_seed S [--vocab V --emb E --hidden H] --out P.npz [--length T]
  python -m synthetic_oracle generate (--params P.npz | --random_seed S ...) --num N --length T --seed S --out F.txt
  python -m synthetic_oracle nll      (--params P.npz | --random_seed S ...) --data F.txt   (last line: the NLL)
  python -m synthetic_oracle convert  --pickle target_params.pkl --out P.npz

Inputs are checked (numpy only) before TensorFlow is imported; bad input
prints one line `error: ...` and exits with status 2. Outputs are written
atomically.
"""
import argparse
import os
import sys

from leakgan_tf import data
from leakgan_tf.errors import UserError, exit_on_user_error
from synthetic_oracle import params as params_lib


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"error: {self.prog}: {' '.join(message.split())} (see --help)", file=sys.stderr)
        sys.exit(2)


def _add_oracle_args(p, required=False):
    if not required:
        p.add_argument("--params", help="oracle parameters (.npz); or give --random_seed")
    p.add_argument("--random_seed", type=int, required=required, help="seed of an N(0,1) oracle (params.random_params)")
    p.add_argument("--vocab", type=int, default=5000, help="vocabulary size of a seeded oracle (default 5000)")
    p.add_argument("--emb", type=int, default=32, help="embedding size of a seeded oracle (default 32)")
    p.add_argument("--hidden", type=int, default=32, help="hidden size of a seeded oracle (default 32)")


def build_parser():
    parser = _Parser(prog="python -m synthetic_oracle", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{create,generate,nll,convert}")

    p = sub.add_parser("create", help="save the N(0,1) oracle named by a seed and print its ground-truth NLL")
    _add_oracle_args(p, required=True)
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--length", type=int, default=40, help="sequence length for the ground-truth NLL")
    p.add_argument("--num", type=int, default=10000, help="samples for the ground-truth NLL")
    p.add_argument("--seed", type=int, default=0, help="sampling seed for the ground-truth NLL")

    p = sub.add_parser("generate", help="write oracle samples, one sequence of ids a line")
    _add_oracle_args(p)
    p.add_argument("--num", type=int, required=True)
    p.add_argument("--length", type=int, required=True)
    p.add_argument("--seed", type=int, required=True, help="sampling seed (same seed, same samples)")
    p.add_argument("--out", required=True, help="output text file")

    p = sub.add_parser("nll", help="mean per-token NLL (nats) of a sequence file under the oracle")
    _add_oracle_args(p)
    p.add_argument("--data", required=True, help="text file, one sequence of space-separated ids a line")

    p = sub.add_parser("convert", help="convert the original target_params.pkl to .npz (safe unpickling)")
    p.add_argument("--pickle", required=True, help="the original save/target_params.pkl")
    p.add_argument("--out", required=True, help="output .npz")
    return parser


def _oracle_params(args):
    """Validated parameter arrays from --params or --random_seed (numpy only)."""
    if getattr(args, "params", None) and args.random_seed is not None:
        raise UserError("give either --params or --random_seed, not both")
    if getattr(args, "params", None):
        return params_lib.load_npz(args.params)
    if args.random_seed is None:
        raise UserError("no oracle given; pass --params P.npz or --random_seed S (with --vocab/--emb/--hidden)")
    return params_lib.random_params(args.random_seed, args.vocab, args.emb, args.hidden)


def _check_out(path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {path}: folder {folder} does not exist; create it first")


def _positive(**values):
    for name, value in values.items():
        if value < 1:
            raise UserError(f"--{name}={value} must be positive")


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "convert":
        _check_out(args.out)
        params = params_lib.convert_pickle(args.pickle, args.out)
        print(f"wrote {args.out}: V={params['embedding'].shape[0]}, E={params['embedding'].shape[1]}, "
              f"H={params['Wi'].shape[1]}")
        return
    if getattr(args, "seed", 0) < 0:
        raise UserError(f"--seed={args.seed} must be non-negative")
    params = _oracle_params(args)
    tokens = None
    if args.command == "nll":
        tokens = data.read_int_sequences(args.data, vocab_size=params["embedding"].shape[0])
    else:
        _positive(num=args.num, length=args.length)
        _check_out(args.out)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from synthetic_oracle.model import OracleLSTM  # imports TensorFlow

    oracle = OracleLSTM(params)
    if args.command == "create":
        oracle.save_npz(args.out)
        nll = oracle.ground_truth_nll(args.num, args.length, args.seed)
        print(f"wrote {args.out}: seed {args.random_seed}, V={args.vocab}, E={args.emb}, H={args.hidden}")
        print(f"ground-truth NLL of {args.num} samples of length {args.length} (sampling seed {args.seed}): {nll:.4f}")
    elif args.command == "generate":
        data.write_int_sequences(args.out, oracle.generate(args.num, args.length, args.seed))
        print(f"wrote {args.num} sequences of length {args.length} to {args.out}")
    else:
        print(f"{tokens.shape[0]} sequences of length {tokens.shape[1]} from {args.data}")
        print(f"{oracle.nll(tokens):.6f}")


def run():
    """Console entry point (synthetic-oracle)."""
    exit_on_user_error(main)()


if __name__ == "__main__":
    run()
