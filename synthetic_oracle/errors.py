"""The oracle tool's one error type (it depends on nothing of leakgan_tf)."""


class OracleError(Exception):
    """Bad input that the user can fix; the message is one line naming the fix.
    The CLI prints it as `error: ...` and exits 2."""
