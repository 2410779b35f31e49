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

_DECIMAL = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?)(\d+))?", re.ASCII)


def parse_decimal(text: str, name: str = "value") -> Fraction:
    """The exact value of a decimal literal, or InputError (one line) for anything else.

    Refused: empty strings, non-ASCII digits, '_' separators, inf/nan, hex, more than MAX_DIGITS
    significant digits, and magnitudes outside 10**-MAX_EXPONENT .. 10**MAX_EXPONENT (zero is fine).
    The cost is linear in len(text): no integer is ever built from more than MAX_DIGITS digits
    (leading and trailing zeros, "0.000...1" or "1000...0e-5000", are folded into the exponent).
    """
    if not isinstance(text, str):
        raise InputError(f"{name} must be a decimal string, got {type(text).__name__}")
    s = text.strip()
    m = _DECIMAL.fullmatch(s)
    if not s or m is None or not (m.group(2) or m.group(3)):
        raise InputError(f"{name} must be a plain decimal number (e.g. 0.1, -2, 1.5e-3), got {text[:40]!r}")
    sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
    exp_sign, exp_digits = m.group(4) or "", (m.group(5) or "0").lstrip("0") or "0"
    digits = (whole + frac).lstrip("0")
    if not digits:
        return Fraction(0)
    sig = digits.rstrip("0")
    if len(sig) > MAX_DIGITS:
        raise InputError(f"{name} has more than {MAX_DIGITS} significant digits")
    out_of_range = f"{name} = {text[:40]!r} is outside the accepted magnitudes 1e-{MAX_EXPONENT} .. 1e{MAX_EXPONENT}"
    if len(exp_digits) > 9:  # |exponent| >= 1e9: far outside, whatever the (argv-bounded) digit string
        raise InputError(out_of_range)
    exp = -int(exp_digits) if exp_sign == "-" else int(exp_digits)
    # value = int(sig) * 10**e10, and its leading digit sits at 10**lead
    e10 = exp - len(frac) + (len(digits) - len(sig))
    lead = e10 + len(sig) - 1
    if abs(lead) > MAX_EXPONENT:
        raise InputError(out_of_range)
    value = Fraction(int(sig)) * Fraction(10) ** e10
    return -value if sign == "-" else value


def parse_rational(text: str, name: str = "value") -> Fraction:
    """A decimal literal (`parse_decimal`) or a quotient of two, "p/q" (e.g. "-3/2", "1/10"), exactly."""
    if isinstance(text, str) and "/" in text:
        num, den = text.split("/", 1)
        q = parse_decimal(den, name)
        if q == 0:
            raise InputError(f"{name} = {text[:40]!r} divides by zero")
        value = parse_decimal(num, name) / q
        if value and abs(value.numerator.bit_length() - value.denominator.bit_length()) > 4 * MAX_EXPONENT:
            raise InputError(f"{name} = {text[:40]!r} is outside the accepted magnitudes")
        return value
    return parse_decimal(text, name)


def decimal_string(value: Fraction) -> str:
    """A short exact decimal literal ("3e-1", "-125e2", "0") for a rational whose denominator has
    no prime factors but 2 and 5 (every value `parse_decimal` returns); ValueError otherwise."""
    value = Fraction(value)
    if value == 0:
        return "0"
    n, q = value.numerator, value.denominator
    k2 = (q & -q).bit_length() - 1
    rest = q >> k2
    k5 = 0
    while rest % 5 == 0:
        rest //= 5
        k5 += 1
    if rest != 1:
        raise ValueError(f"{value} has no finite decimal expansion")
    k = max(k2, k5)  # value = n * 2**(k - k2) * 5**(k - k5) / 10**k
    n *= 2 ** (k - k2) * 5 ** (k - k5)
    e = -k
    while n % 10 == 0:
        n //= 10
        e += 1
    return f"{n}e{e}" if e else str(n)


def bounded_decimal(text: str, name: str, lo=None, hi=None, *, lo_open: bool = False, unit: str = "") -> Fraction:
    """parse_decimal(text) checked against lo <= value <= hi (lo < value with lo_open); the
    InputError names the accepted range."""
    v = parse_decimal(text, name)
    below = lo is not None and (v <= lo if lo_open else v < lo)
    above = hi is not None and v > hi
    if below or above:
        left = "(" if lo_open else "["
        rng = f"{left}{'-inf' if lo is None else _short(lo)}, {'inf' if hi is None else _short(hi)}]"
        raise InputError(f"{name} must lie in {rng}{unit}, got {text.strip()[:40]}")
    return v


def _short(v) -> str:
    v = Fraction(v)
    if v.denominator == 1 and abs(v) < 10**7:
        return str(v.numerator)
    return f"{float(v):g}"


def parse_int(text: str, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """An ASCII decimal integer ("42", "-3"; no '_', no non-ASCII digits, at most 30 digits)
    checked against lo <= value <= hi, or InputError naming the accepted range."""
    if not isinstance(text, str):
        raise InputError(f"{name} must be an integer, got {type(text).__name__}")
    s = text.strip()
    if not re.fullmatch(r"[+-]?\d{1,30}", s, re.ASCII):
        if re.fullmatch(r"[+-]?\d+", s, re.ASCII):
            v = None  # too many digits: out of any range
        else:
            raise InputError(f"{name} must be a plain integer (ASCII digits), got {text[:40]!r}")
    else:
        v = int(s)
    if v is None or (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"{'-inf' if lo is None else lo}..{'inf' if hi is None else hi}"
        raise InputError(f"{name} must be an integer in {rng}, got {s[:40]}")
    return v


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


def directed_decimal(value: Fraction, digits: int, up: bool) -> str:
    """A rational rounded outward (down for a lower end, up for an upper end) to about `digits`
    significant decimal digits, as an exact decimal string."""
    if value == 0:
        return "0"
    e10 = math.floor(math.log10(abs(value.numerator)) - math.log10(value.denominator))
    k = digits - 1 - e10  # value * 10^k has `digits` digits before the point
    scaled = value * Fraction(10) ** k
    n = math.ceil(scaled) if up else math.floor(scaled)
    if n == 0:
        return "0"
    sign, s = ("-" if n < 0 else ""), str(abs(n))
    return f"{sign}{s[0]}.{s[1:] or '0'}e{len(s) - 1 - k}"
