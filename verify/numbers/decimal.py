"""Exact decimals from text, with bounds that keep every conversion cheap.

`Fraction("1e-100000000")` builds 10**100000000 and runs for minutes; `float("1_0")` accepts
Python's digit separators and `int("١٢")` accepts non-ASCII digits. Every number the suite reads
from a command line or a claim file goes through `parse_decimal`, which accepts only the plain
ASCII grammar

    [+-] digits [. digits] [(e|E) [+-] digits]        (at least one digit before the exponent)

with at most `MAX_DIGITS` significant digits and a decimal exponent of magnitude at most
`MAX_EXPONENT`, and returns the exact rational value. Floats given as numbers (TOML floats, numpy
values) are exact binary rationals and convert with `Fraction(float)`; `exact_decimal` takes
either.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from verify.errors import InputError

MAX_DIGITS = 200  # significant digits of one literal (a 4299-digit literal is refused, not parsed)
MAX_EXPONENT = 400  # |decimal exponent| after normalization: covers float64's range (1e-324..1e308)

_DECIMAL = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,9}))?", re.ASCII)


def parse_decimal(text: str, name: str = "value") -> Fraction:
    """The exact value of a decimal literal, or InputError (one line) for anything else.

    Refused: empty strings, non-ASCII digits, '_' separators, inf/nan, hex, more than MAX_DIGITS
    significant digits, and magnitudes outside 10**-MAX_EXPONENT .. 10**MAX_EXPONENT (zero is fine).
    """
    if not isinstance(text, str):
        raise InputError(f"{name} must be a decimal string, got {type(text).__name__}")
    s = text.strip()
    m = _DECIMAL.fullmatch(s)
    if not s or m is None or not (m.group(2) or m.group(3)):
        raise InputError(f"{name} must be a plain decimal number (e.g. 0.1, -2, 1.5e-3), got {text[:40]!r}")
    sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or "", int(m.group(4) or 0)
    digits = (whole + frac).lstrip("0")
    if not digits:
        return Fraction(0)
    if len(digits.rstrip("0")) > MAX_DIGITS:
        raise InputError(f"{name} has more than {MAX_DIGITS} significant digits")
    # value = int(whole frac) * 10**(exp - len(frac)); its magnitude is 10**(lead) with
    lead = exp + len(whole.lstrip("0")) - 1 if whole.lstrip("0") else exp - (len(frac) - len(frac.lstrip("0"))) - 1
    if abs(lead) > MAX_EXPONENT:
        raise InputError(f"{name} = {text[:40]!r} is outside the accepted magnitudes 1e-{MAX_EXPONENT} .. 1e{MAX_EXPONENT}")
    value = Fraction(int(whole + frac)) * Fraction(10) ** (exp - len(frac))
    return -value if sign == "-" else value


def exact_decimal(v, name: str = "value") -> Fraction:
    """The exact rational value of a decimal string, an int or a finite float (floats are exact
    binary rationals: 0.1 as a float is not 1/10; pass the string "0.1" for that)."""
    if isinstance(v, str):
        return parse_decimal(v, name)
    if isinstance(v, bool):
        raise InputError(f"{name} must be a number, got {v!r}")
    if isinstance(v, Fraction):
        return v
    if isinstance(v, int):
        if abs(v).bit_length() > 4 * MAX_EXPONENT:
            raise InputError(f"{name} is too large")
        return Fraction(v)
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {type(v).__name__}") from None
    if not math.isfinite(f):
        raise InputError(f"{name} must be finite, got {v!r}")
    return Fraction(f)
