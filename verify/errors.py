"""Error types shared by every stage.

`InputError` is the one exception a user can cause: a malformed file, a value outside a domain, an
unknown name. The command line turns it into one line on stderr and exit code 2. Everything else
is a bug in the suite.
"""


class VerifyError(Exception):
    """Base class of the suite's own errors."""


class InputError(VerifyError, ValueError):
    """Bad input: the message is one line, says what was wrong and, where possible, how to fix it."""


def int_at_least(name: str, v, lo: int) -> int:
    """v as an int, or InputError unless it is an integer (not a bool) >= lo."""
    import numpy as np

    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise InputError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def finite_number(name: str, v, *, lo: float | None = None, strict: bool = False) -> float:
    """v as a finite float, or InputError; with `lo`, also v >= lo (v > lo when `strict`)."""
    import math

    if isinstance(v, bool):
        raise InputError(f"{name} must be a number, got {v!r}")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {v!r}") from None
    if not math.isfinite(f):
        raise InputError(f"{name} must be finite, got {v!r}")
    if lo is not None and (f <= lo if strict else f < lo):
        raise InputError(f"{name} must be {'>' if strict else '>='} {lo}, got {v!r}")
    return f
