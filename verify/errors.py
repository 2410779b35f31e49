"""Error types shared by every stage.

`InputError` is the one exception a user can cause: a malformed file, a value outside a domain, an
unknown name. The command line turns it into one line on stderr and exit code 2. Everything else
is a bug in the suite.
"""


class VerifyError(Exception):
    """Base class of the suite's own errors."""


class InputError(VerifyError, ValueError):
    """Bad input: the message is one line, says what was wrong and, where possible, how to fix it."""
