"""`python -m leakgan_tf`: a map of the entry points, one example each.

Imports nothing heavy (no TensorFlow), so it answers at once.
"""
import sys

ENTRY_POINTS = (
    ("train", "python -m leakgan_tf.main --flagfile=experiments/quick.cfg",
     "train LeakGAN (oracle or text); rerun with the same --logdir to resume"),
    ("sample", "python -m leakgan_tf.sample --logdir runs/quick --num 10",
     "sequences (text runs: sentences) from a run's latest checkpoint"),
    ("evaluate", "python -m leakgan_tf.evaluate --logdir runs/quick",
     "score a run's latest checkpoint as JSON (--betas: quality-diversity sweep)"),
    ("export", "python -m leakgan_tf.sample --logdir runs/quick --export exported/",
     "SavedModel with generate(num, beta, seed) that needs only TensorFlow"),
    ("oracle", "python -m synthetic_oracle --helpfull",
     "the synthetic oracle LSTM on its own: generate data, score NLL, convert parameters"),
)


def usage():
    """The map as text: one block per entry point."""
    lines = ["LeakGAN in TensorFlow 2 / Keras. Entry points:", ""]
    for name, example, what in ENTRY_POINTS:
        lines += [f"  {name:<9}{what}", f"  {'':<9}{example}", ""]
    lines += ["Every entry point takes --helpfull; README.md has more examples, WORKSPACE.md the code map."]
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1 and argv[1] not in ("-h", "--help", "help"):
        print(f"error: python -m leakgan_tf takes no arguments (got {' '.join(argv[1:])}); "
              f"run one of the entry points below", file=sys.stderr)
        print(usage(), file=sys.stderr)
        return 2
    print(usage())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
