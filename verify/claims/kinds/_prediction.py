"""What the generic kinds (`optimum`, `rate`, `value`) share: the verdict of an interval against a
predicted band, and the wording of what was shown.

A prediction with a tolerance is the band [p - tol, p + tol] (absolute, or rel_tol |p| for values).
A measurement is an interval [lo, hi] that contains the true quantity (rigorously for arb
enclosures; up to the stated method error otherwise). Then

    verified      [lo, hi] lies inside the band: every value the evidence allows is predicted;
    refuted       [lo, hi] and the band are disjoint: the evidence excludes every predicted value;
    inconclusive  they overlap without inclusion: a tighter measurement would settle it.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath


def band_verdict(lo, hi, band_lo, band_hi) -> str:
    """verified / refuted / inconclusive for the interval [lo, hi] against the band (exact or mpf)."""
    if band_lo <= lo and hi <= band_hi:
        return "verified"
    if hi < band_lo or lo > band_hi:
        return "refuted"
    return "inconclusive"


def relative_band(pred: Fraction, rel_tol: float) -> tuple[Fraction, Fraction]:
    """[p - rel_tol |p|, p + rel_tol |p|] exactly, a float rel_tol read as the shortest decimal that
    prints it (TOML's 1e-3 is 1/1000, not the double nearest to it)."""
    from verify.numbers.decimal import exact_decimal

    w = abs(pred) * exact_decimal(repr(float(rel_tol)) if isinstance(rel_tol, float) else rel_tol)
    return pred - w, pred + w


def as_mpf(x) -> mpmath.mpf:
    """An exact Fraction, float or mpf as an mpf at the working precision."""
    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    return mpmath.mpf(x)


def fmt(x, digits: int = 17) -> str:
    return mpmath.nstr(as_mpf(x), digits)
