"""User-facing errors: one line naming the problem and the fix, no traceback."""
import sys


class UserError(Exception):
    """Bad input that the user can fix. The message is printed as one line."""


def exit_on_user_error(main):
    """Wraps a CLI main so that a UserError prints one line and exits with status 2."""

    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)

    wrapped.__name__ = getattr(main, "__name__", "main")
    wrapped.__doc__ = main.__doc__
    return wrapped
