"""User-facing errors: one line naming the problem and the fix, no traceback."""
from __future__ import annotations

import sys
from collections.abc import Callable


class UserError(Exception):
    """Bad input that the user can fix. The message is printed as one line."""


def run_cli(main: Callable[[list[str]], None]) -> None:
    """absl `app.run` for our CLIs: a bad flag or a UserError prints one line
    (`error: …`) and exits 2 instead of absl's usage dump or a traceback."""
    from absl import app, flags

    def parse(argv):
        try:
            return flags.FLAGS(argv)
        except flags.Error as e:
            print(f"error: {e} (see --helpfull)", file=sys.stderr)
            sys.exit(2)

    def guarded(argv):
        try:
            main(argv)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    app.run(guarded, flags_parser=parse)
