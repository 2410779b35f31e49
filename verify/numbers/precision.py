"""Precision contexts and exact conversions between float, mpmath, arb and Fraction.

Every ball computation of the suite runs inside `flint_prec` (python-flint's counterpart of
mpmath.workprec); the conversions here are exact (a finite float, mpf or arb endpoint is a dyadic
rational), so a value crosses from one arithmetic to another without rounding.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath

from verify.errors import InputError


class flint_prec:
    """Set python-flint's working precision (bits) for a block and always restore it (the
    counterpart of mpmath.workprec); every ball computation of the suite runs inside one."""

    def __init__(self, bits: int):
        self.bits = int(bits)

    def __enter__(self):
        from flint import ctx

        self.old = ctx.prec
        ctx.prec = self.bits
        return self

    def __exit__(self, *exc):
        from flint import ctx

        ctx.prec = self.old



def ball_bounds(ball, prec: int) -> tuple[Fraction, Fraction]:
    """Exact rational lower and upper bounds of an arb ball (computed at `prec` bits, rounded outward)."""
    with flint_prec(prec):
        out = []
        for end in (ball.lower(), ball.upper()):
            man, exp = end.mid().man_exp()
            out.append(Fraction(int(man)) * Fraction(2) ** int(exp))
        return out[0], out[1]


def mpf_to_fraction(x) -> Fraction:
    """The exact rational value of a finite mpmath number."""
    if not isinstance(x, mpmath.mpf):
        x = mpmath.mpf(x)  # ints, floats and Fractions convert exactly
    sign, man, exp, _ = x._mpf_
    if not man and exp:  # mpmath encodes inf and nan with a zero mantissa and nonzero exponent
        raise InputError("not a finite number")
    value = Fraction(int(man)) * Fraction(2) ** int(exp)
    return -value if sign else value


def arb_q(q):
    """An arb ball containing the rational q (exact when q is dyadic and fits the precision)."""
    from flint import arb, fmpq

    q = Fraction(q)
    return arb(fmpq(q.numerator, q.denominator))


def exact(x) -> Fraction:
    """The exact value of an exact arb (e.g. the result of .lower() or .upper())."""
    man, exp = x.mid().man_exp()
    return Fraction(int(man)) * Fraction(2) ** int(exp)
