"""Command line for the synthetic oracle.

  python -m synthetic_oracle create   --random_seed S [--vocab V --emb E --hidden H] --out P.npz [--length T]
  python -m synthetic_oracle generate (--params P.npz | --random_seed S ...) --num N --length T [--seed S] --out F.txt
  python -m synthetic_oracle nll      (--params P.npz | --random_seed S ...) --data F.txt   (last line: the NLL)
  python -m synthetic_oracle convert  --pickle target_params.pkl --out P.npz

Flags may also come from a file (--flagfile=F); --helpfull lists them all.
Inputs are checked (numpy only) before TensorFlow is imported; bad input
prints one line `error: ...` and exits with status 2. Outputs are written
atomically.
"""
import os
import sys

from absl import app, flags

from synthetic_oracle import files, quiet
from synthetic_oracle import params as params_lib
from synthetic_oracle.errors import OracleError

FLAGS = flags.FLAGS
ORACLE = ("params", "random_seed", "vocab", "emb", "hidden")
# subcommand -> (flags it accepts, flags it needs)
COMMANDS = {
    "create": ((*ORACLE[1:], "out", "length", "num", "seed"), ("random_seed", "out")),
    "generate": ((*ORACLE, "num", "length", "seed", "out"), ("num", "length", "out")),
    "nll": ((*ORACLE, "data"), ("data",)),
    "convert": (("pickle", "out"), ("pickle", "out")),
}
CREATE_DEFAULTS = dict(length=40, num=10000)  # the ground-truth NLL that `create` prints


def define_flags():
    """Defines the flags once (safe to call again)."""
    if "random_seed" in FLAGS:
        return
    flags.DEFINE_string("params", None, "oracle parameters (.npz); or give --random_seed")
    flags.DEFINE_integer("random_seed", None, "seed of an N(0,1) oracle (params.random_params)", lower_bound=0)
    flags.DEFINE_integer("vocab", 5000, "vocabulary size of a seeded oracle (tokens)", lower_bound=2)
    flags.DEFINE_integer("emb", 32, "embedding size of a seeded oracle", lower_bound=1)
    flags.DEFINE_integer("hidden", 32, "LSTM hidden size of a seeded oracle", lower_bound=1)
    flags.DEFINE_string("out", None, "output file (.npz for create/convert, text for generate)")
    flags.DEFINE_integer("num", None, "sequences to generate (create: for the ground-truth NLL, default 10000)",
                         lower_bound=1)
    flags.DEFINE_integer("length", None, "sequence length in tokens (create: for the ground-truth NLL, default 40)",
                         lower_bound=1)
    flags.DEFINE_integer("seed", 0, "sampling seed (same seed, same samples)", lower_bound=0)
    flags.DEFINE_string("data", None, "nll: text file, one sequence of space-separated ids a line")
    flags.DEFINE_string("pickle", None, "convert: the original save/target_params.pkl")


def _command(argv):
    """The subcommand in argv (after flag parsing), checked against its flags."""
    if len(argv) != 2 or argv[1] not in COMMANDS:
        given = " ".join(argv[1:]) or "none"
        raise OracleError(f"give one subcommand of {', '.join(COMMANDS)} (got {given}); see --helpfull")
    command = argv[1]
    accepted, needed = COMMANDS[command]
    for name in ("params", "random_seed", "out", "num", "length", "data", "pickle", "vocab", "emb", "hidden",
                 "seed"):
        if FLAGS[name].present and name not in accepted:
            raise OracleError(f"--{name} does not apply to {command}; it takes --{', --'.join(accepted)}")
    missing = [f"--{n}" for n in needed if FLAGS[n].value is None]
    if missing:
        raise OracleError(f"{command} needs {' and '.join(missing)}")
    return command


def _oracle_params():
    """Validated parameter arrays from --params or --random_seed (numpy only)."""
    if FLAGS.params and FLAGS.random_seed is not None:
        raise OracleError("give either --params or --random_seed, not both")
    if FLAGS.params:
        return params_lib.load_npz(FLAGS.params)
    if FLAGS.random_seed is None:
        raise OracleError("no oracle given; pass --params P.npz or --random_seed S (with --vocab/--emb/--hidden)")
    return params_lib.random_params(FLAGS.random_seed, FLAGS.vocab, FLAGS.emb, FLAGS.hidden)


def _check_out(path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OracleError(f"cannot write {path}: folder {folder} does not exist; create it first")


def main(argv):
    command = _command(argv)
    if command == "convert":
        _check_out(FLAGS.out)
        params = params_lib.convert_pickle(FLAGS.pickle, FLAGS.out)
        print(f"wrote {FLAGS.out}: V={params['embedding'].shape[0]}, E={params['embedding'].shape[1]}, "
              f"H={params['Wi'].shape[1]}")
        return
    if FLAGS.seed < 0:
        raise OracleError(f"--seed={FLAGS.seed} must be non-negative")
    params = _oracle_params()
    tokens = None
    num, length = FLAGS.num, FLAGS.length
    if command == "nll":
        tokens = files.read_int_sequences(FLAGS.data, vocab_size=params["embedding"].shape[0])
    else:
        if command == "create":
            num = CREATE_DEFAULTS["num"] if num is None else num
            length = CREATE_DEFAULTS["length"] if length is None else length
        _check_out(FLAGS.out)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"] != "0":
        quiet.import_tensorflow_quietly()
    from synthetic_oracle.model import OracleLSTM  # imports TensorFlow

    oracle = OracleLSTM(params)
    if command == "create":
        oracle.save_npz(FLAGS.out)
        nll = oracle.ground_truth_nll(num, length, FLAGS.seed)
        print(f"wrote {FLAGS.out}: seed {FLAGS.random_seed}, V={FLAGS.vocab}, E={FLAGS.emb}, H={FLAGS.hidden}")
        print(f"ground-truth NLL of {num} samples of length {length} (sampling seed {FLAGS.seed}): {nll:.4f}")
    elif command == "generate":
        files.write_int_sequences(FLAGS.out, oracle.generate(num, length, FLAGS.seed))
        print(f"wrote {num} sequences of length {length} to {FLAGS.out}")
    else:
        print(f"{tokens.shape[0]} sequences of length {tokens.shape[1]} from {FLAGS.data}")
        print(f"{oracle.nll(tokens):.6f}")


HELP_ARGS = ("--help", "--helpshort", "-h", "-?", "--help=true", "--helpshort=true")


def exit_if_help(argv):
    """Prints the usage and this tool's flags (--helpfull: every flag) on stdout and
    exits 0 when argv (before a `--`) asks for help; absl would exit 1."""
    args = argv[1:argv.index("--")] if "--" in argv else argv[1:]
    full = any(a in ("--helpfull", "--helpfull=true") for a in args)
    if not full and not any(a in HELP_ARGS for a in args):
        return
    if full:
        app.usage(shorthelp=False, writeto_stdout=True)
    else:
        listed = [line for line in FLAGS.module_help(define_flags.__module__).splitlines() if line.startswith(" ")]
        sys.stdout.write(__doc__ + "\nflags:\n" + "\n".join(listed) + "\n")  # without absl's "module:" line
    sys.stdout.flush()
    sys.exit(0)


def run():
    """Console entry point (synthetic-oracle): absl flags; --help exits 0; a bad flag or an
    OracleError prints one line `error: ...` and exits 2."""
    define_flags()
    exit_if_help(sys.argv)

    def parse(argv):
        try:
            return FLAGS(argv)
        except flags.Error as e:
            print(f"error: {e} (see --helpfull)", file=sys.stderr)
            sys.exit(2)

    def guarded(argv):
        try:
            main(argv)
        except OracleError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    app.run(guarded, flags_parser=parse)


if __name__ == "__main__":
    run()
