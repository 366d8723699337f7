"""LEAKGAN_DOCCHECK=1: a benchmark checks its command line and stops before the
work. tests/test_docs.py runs every documented benchmark command this way (a
benchmark takes minutes to hours), so a flag or script the docs name that no
longer exists fails CI; each benchmark's own test runs its work at tiny sizes."""
import os
import sys


def exit_if_doccheck(args):
    """Exits 0 after the arguments parsed (argparse already refused bad ones)."""
    if os.environ.get("LEAKGAN_DOCCHECK") == "1":
        print(f"doccheck: {os.path.basename(sys.argv[0])} arguments ok: {vars(args)}")
        sys.exit(0)
