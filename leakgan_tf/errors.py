"""User-facing errors: one line naming the problem and the fix, no traceback."""
import sys


class UserError(Exception):
    """Bad input that the user can fix. The message is printed as one line."""


def exit_on_user_error(main):
    """Wraps an argparse-style main so that a UserError prints one line and exits 2."""

    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    return wrapped


def run_cli(main):
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
