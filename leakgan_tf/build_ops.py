"""Builds leakgan_tf's native CPU ops into the cache ahead of training (e.g. on a
cluster's login node, whose compiler the compute nodes may lack):

  python -m leakgan_tf.build_ops            # prints the library's path
  export LEAKGAN_TF_NATIVE_LIB=$(python -m leakgan_tf.build_ops)   # then load exactly it

The cache is $LEAKGAN_TF_CACHE_DIR (default ~/.cache/leakgan_tf); a run finds the
library there by itself when the sources, compiler and TensorFlow are the same.
Exit status 2 with one `error:` line when it cannot be built.
"""
import sys

from leakgan_tf import startup


def run() -> None:
    startup.before_tensorflow()
    from leakgan_tf.kernels import native
    try:
        path = native.ensure_built()
    except (OSError, native.BuildError) as e:
        print(f"error: cannot build leakgan_tf's native ops: {e}", file=sys.stderr)
        sys.exit(2)
    print(path)


if __name__ == "__main__":
    run()
