r"""Activations and their dual kernels, each formula with its twins side by side.

The dual kernel of an activation sigma (MATH.md section 2) is

    k_sigma(q1, q2, c) = E sigma(X) sigma(Y),   (X, Y) ~ N(0, [[q1, c], [c, q2]]),

so that E_x sigma(<u, x>) sigma(<v, x>) = k_sigma(||u||^2, ||v||^2, <u, v>) for x ~ N(0, I_d).
Write p = sqrt(q1 q2), rho = c / p, s = sqrt(q1 q2 - c^2).

Every closed form below is given four times, next to each other: float64 (numpy, broadcasting),
mpmath (at the caller's working precision), arb (python-flint ball arithmetic, an enclosure) and
sympy (for the derivations in `verify.kernels.symbolic`). Closed forms: the two-slope family,
step, sign, erf, gelu and the normalized Hermite polynomials; tanh, sigmoid, softplus and silu
have none and go through `verify.kernels.quadrature`.

ReLU at unit variances: `verify.kernels.relu` holds K(rho) = k_relu(1, 1, rho) and its
derivatives for the ETF, search and bound code. Its accurate float64 and mpmath forms are
bit-identical to the relu (K) and step (K') closed forms here at q1 = q2 = 1 (tested).

The two-slope family sigma(z) = A z + B |z| covers linear (A=1, B=0), abs (0, 1), ReLU (1/2, 1/2)
and leaky ReLU max(z, alpha z) ((1+alpha)/2, (1-alpha)/2), as in neural-tangents' "ab-ReLU".
Since E[X |Y|] = 0,

    k = A^2 c + B^2 k_abs,   k_abs = (2/pi) (s + c arcsin rho)          (Cho & Saul 2009).

With x = arccos |rho| in [0, pi/2] and g(x) = sin x - x cos x >= 0 this is, exactly,

    k = (A^2 + B^2) c + (2 B^2 / pi) p g(x)   if c >= 0,
    k = (A^2 - B^2) c + (2 B^2 / pi) p g(x)   if c <  0,

which has no cancellation as rho -> +-1 (for ReLU at rho -> -1 the first term vanishes and
k = p g(x) / (2 pi) ~ p x^3 / (6 pi)). Hence K(-1) = 0 and K(1) = 1/2 hold exactly in float64.

Float64 accuracy (the contract `tests/test_kernels.py` enforces on q1, q2 in [1e-12, 1e16] and
every rho in [-1, 1], +-1 and +-(1 - 1e-12) included): for every closed form,

    |k64(q1, q2, c) - k(q1, q2, c)| <= FLOAT64_ULPS ulp of Sigma(q1, q2, c),   FLOAT64_ULPS = 8,

at the same binary inputs, where Sigma is the sum of the magnitudes of the terms the formula adds
(`Activation.k_scale_mp`). Sigma = |k|, i.e. the error is relative, for relu, abs, linear, leaky
ReLU with alpha <= 0, step, sign and erf; for leaky ReLU with alpha > 0 and for gelu, Sigma = |k|
for c >= 0 and within a small factor of |k| except near the kernel's zero in c, where the error is
absolute; for the Hermite kernels Sigma is the sum of |terms| of the polynomial. Measured worst
case over 34 000 random points each (`benchmarks/bench_kernel_edges.py` and two more seeds): 4.7 ulp
(relu), 3.75 (hermite(n=6)), 3.55 (gelu), 2.46 (leaky_relu(alpha=0.1)), 1.69 (erf), under 1.9 for
the rest.
erf and gelu are scaled internally by a power of two, so they are valid for every finite q.
Zero vectors: every kernel is defined at q = 0 as E sigma(0) sigma(Y), which is the limit for
continuous activations; step and sign use sigma(0) = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import mpmath
import numpy as np
from scipy import special

from verify.errors import InputError
from verify.numbers.exact import det_gram, g_scaled

TWO_PI = 2.0 * math.pi
FLOAT64_ULPS = 8  # the float64 accuracy contract of every closed form (module docstring)


# --------------------------------------------------------------------------------------------
# The activation record
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Activation:
    """One activation with every evaluation path the suite has for it.

    Attributes:
      name, params: registry name and parameters (e.g. ("alpha", 0.1) for leaky_relu).
      f, f_mp: the pointwise function in numpy and in mpmath.
      kinks: points where sigma or sigma' jumps.
      strip: half-width of the strip around the real axis where sigma is analytic (math.inf for
        entire functions, 0 for kinked ones); with `growth` it sets the trapezoidal step.
      growth: gamma with |sigma(x + i y)| <= C exp(gamma y^2) in that strip (0 for tanh and the
        like, 1/2 for GELU, 1 for erf).
      degree: k if sigma is positively homogeneous of degree k (sigma(t z) = t^k sigma(z), t > 0),
        else None; homogeneous kernels reduce to a one-dimensional angular integral.
      k64, k_mp, k_arb, k_sym: closed forms of k_sigma(q1, q2, c), or None where there is none.
      two_slope: (A, B) when sigma(z) = A z + B |z| (the fused kernel-matrix path uses it).
      two_slope_exact: the same (A, B) as exact rationals, for the high-precision paths.
      k_scale_mp: Sigma(q1, q2, c) in mpmath, the size the float64 accuracy contract is measured in
        (|k64 - k| <= FLOAT64_ULPS ulp of Sigma, module docstring); None means Sigma = |k|.
    """

    name: str
    params: tuple[tuple[str, float], ...]
    f: Callable
    f_mp: Callable
    kinks: tuple[float, ...] = ()
    strip: float = math.inf
    growth: float = 0.0
    degree: int | None = None
    k64: Callable | None = None
    k_mp: Callable | None = None
    k_arb: Callable | None = None
    k_sym: Callable | None = None
    two_slope: tuple[float, float] | None = None
    two_slope_exact: tuple[Fraction, Fraction] | None = None
    k_scale_mp: Callable | None = None
    notes: str = field(default="", compare=False)

    def __eq__(self, other) -> bool:
        return isinstance(other, Activation) and (self.name, self.params) == (other.name, other.params)

    def __hash__(self) -> int:
        return hash((self.name, self.params))

    @property
    def label(self) -> str:
        if not self.params:
            return self.name
        inner = ", ".join(f"{k}={_fmt_param(v)}" for k, v in self.params)
        return f"{self.name}({inner})"

    @property
    def has_closed_form(self) -> bool:
        return self.k64 is not None

    @property
    def param_dict(self) -> dict[str, float]:
        return dict(self.params)


def _fmt_param(v) -> str:
    """The label form of a parameter: the shortest decimal that reads back to the same value (an
    exact Fraction alpha = 1/10 prints as 0.1; one with more digits than a float keeps them all)."""
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return str(v.numerator)
        if Fraction(repr(float(v))) == v:
            return repr(float(v))
        from verify.numbers.decimal import decimal_string

        try:
            return decimal_string(v)
        except ValueError:  # not a terminating decimal (a caller's Fraction(1, 3))
            return f"{v.numerator}/{v.denominator}"
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _exact_param(key: str, name: str, value) -> Fraction:
    """A parameter's exact value: decimal strings by `parse_decimal` ("0.1" is 1/10), Fractions
    as given, and a float as the decimal its repr shows (0.1 is 1/10, as its label says)."""
    from verify.numbers.decimal import exact_decimal

    where = f"parameter {key} of {name!r}"
    if isinstance(value, str):
        return exact_decimal(value, where)
    if isinstance(value, (float, np.floating)) and math.isfinite(value):
        return exact_decimal(repr(float(value)), where)
    return exact_decimal(value, where)


# --------------------------------------------------------------------------------------------
# Shared float64 pieces
# --------------------------------------------------------------------------------------------


def _scale_exponent64(q1, q2):
    """e with max(q1, q2) in [2^e, 2^(e+1)) (0 where both are 0): 2^-e scales the pair exactly to
    about 1 (the homogeneous forms scale both ways; erf and gelu only down, `_power_scale64`)."""
    m = np.maximum(q1, q2)
    return np.where(m > 0, np.frexp(m)[1] - 1, 0)


def _prepare64(q1, q2, c):
    """(q1, q2, c, p, s) in float64 for the positively homogeneous forms (two-slope, step, sign).

    q1 q2 - c^2 is formed on inputs scaled by an exact power of two t ~ 1 / max(q1, q2) and s is
    scaled back, so it neither underflows (q ~ 1e-200: q1 q2 would be 0) nor overflows (q ~ 1e200).
    """
    q1, q2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q1, q2, c)))
    e = _scale_exponent64(q1, q2)
    p = np.sqrt(q1) * np.sqrt(q2)
    s = np.ldexp(np.sqrt(det_gram(np.ldexp(q1, -e), np.ldexp(q2, -e), np.ldexp(c, -e))), e)
    return q1, q2, c, p, s


def _det_mp(q1, q2, c):
    """q1 q2 - c^2 in mpmath, formed exactly and rounded once, clipped at 0."""
    return max(mpmath.fsub(mpmath.fmul(q1, q2, exact=True), mpmath.fmul(c, c, exact=True)), 0)


def _prepare_mp(q1, q2, c):
    """(p, s) in mpmath, with q1 q2 - c^2 formed exactly and rounded once."""
    return mpmath.sqrt(q1) * mpmath.sqrt(q2), mpmath.sqrt(_det_mp(q1, q2, c))


def _prepare_arb(q1, q2, c):
    """(p, s) as balls; s uses the nonnegative part of q1 q2 - c^2 (|c| <= p is known)."""
    return q1.sqrt() * q2.sqrt(), (q1 * q2 - c * c).nonnegative_part().sqrt()


def _two_slope64(A: Fraction, B: Fraction):
    A, B = float(A), float(B)

    def k64(q1, q2, c):
        q1, q2, c, p, s = _prepare64(q1, q2, c)
        cabs = np.abs(c)
        x = np.arctan2(s, cabs)
        lin = np.where(c >= 0, (A * A + B * B) * c, (A * A - B * B) * c)
        out = lin + (2.0 * B * B / math.pi) * g_scaled(x, s, cabs, p)
        return out[()] if out.ndim == 0 else out

    return k64


def _two_slope_mp(A: Fraction, B: Fraction):
    def k_mp(q1, q2, c):
        A_ = mpmath.mpf(A.numerator) / A.denominator
        B_ = mpmath.mpf(B.numerator) / B.denominator
        p, s = _prepare_mp(q1, q2, c)
        cabs = abs(c)
        if p == 0:
            return mpmath.mpf(0)
        x = mpmath.atan2(s, cabs)
        lin = (A_ * A_ + B_ * B_) * c if c >= 0 else (A_ * A_ - B_ * B_) * c
        return lin + 2 * B_ * B_ / mpmath.pi * _pg_mp(x, s, cabs, p)

    return k_mp


def _pg_mp(x, s, cabs, p):
    """p (sin x - x cos x) in mpmath, by its Taylor series for x < 1 (no cancellation)."""
    if x >= 1:
        return s - x * cabs
    eps = mpmath.eps
    x2 = x * x
    total, n = mpmath.mpf(0), 1
    term = x * x2 / 6  # x^(2n+1) / (2n+1)! for n = 1, updated by the ratio x^2 / ((2n)(2n+1))
    while True:
        contrib = (-1) ** (n + 1) * 2 * n * term
        total += contrib
        if abs(contrib) <= eps * abs(total):
            break
        n += 1
        term = term * x2 / ((2 * n) * (2 * n + 1))
    return p * total


def _two_slope_scale_mp(A: Fraction, B: Fraction):
    """Sigma = |lin| + (2 B^2 / pi) p g(x): |k| unless the two terms differ in sign (c < 0 with
    A^2 > B^2, i.e. leaky ReLU with alpha > 0, near its zero)."""

    def scale(q1, q2, c):
        A_ = mpmath.mpf(A.numerator) / A.denominator
        B_ = mpmath.mpf(B.numerator) / B.denominator
        p, s = _prepare_mp(q1, q2, c)
        if p == 0:
            return mpmath.mpf(0)
        lin = (A_ * A_ + B_ * B_) * c if c >= 0 else (A_ * A_ - B_ * B_) * c
        return abs(lin) + 2 * B_ * B_ / mpmath.pi * _pg_mp(mpmath.atan2(s, abs(c)), s, abs(c), p)

    return scale


def _two_slope_arb(A: Fraction, B: Fraction):
    def k_arb(q1, q2, c):
        from flint import arb

        A_, B_ = arb(A.numerator) / A.denominator, arb(B.numerator) / B.denominator
        p, s = _prepare_arb(q1, q2, c)
        if p.is_zero():
            return arb(0)
        cabs = abs(c)
        x = arb.atan2(s, cabs)
        # Both branches are exact identities for every c, so the choice by the midpoint is safe.
        lin = (A_ * A_ + B_ * B_) * c if c.mid() >= 0 else (A_ * A_ - B_ * B_) * c
        return lin + 2 * B_ * B_ / arb.pi() * (s - x * cabs)

    return k_arb


def _two_slope_sym(A: Fraction, B: Fraction):
    def k_sym(q1, q2, c):
        import sympy as sp

        A_, B_ = sp.Rational(A.numerator, A.denominator), sp.Rational(B.numerator, B.denominator)
        k_abs = 2 / sp.pi * (sp.sqrt(q1 * q2 - c**2) + c * sp.asin(c / sp.sqrt(q1 * q2)))
        return A_**2 * c + B_**2 * k_abs

    return k_sym


def _two_slope(name, params, A: Fraction, B: Fraction, f, f_mp):
    """sigma(z) = A z + B |z| with exact rational A, B (a float alpha is an exact binary rational)."""
    return Activation(
        name=name,
        params=params,
        f=f,
        f_mp=f_mp,
        kinks=(0.0,) if B != 0 else (),
        strip=0.0 if B != 0 else math.inf,
        degree=1,
        k64=_two_slope64(A, B),
        k_mp=_two_slope_mp(A, B),
        k_arb=_two_slope_arb(A, B),
        k_sym=_two_slope_sym(A, B),
        two_slope=(float(A), float(B)),
        two_slope_exact=(A, B),
        k_scale_mp=_two_slope_scale_mp(A, B),
    )


# --------------------------------------------------------------------------------------------
# Step 1{z > 0} and sign: the derivatives of ReLU and abs (Price's theorem)
# --------------------------------------------------------------------------------------------
# step: k = (pi - theta) / (2 pi), theta = arccos rho; sign: k = (2/pi) arcsin rho = (2/pi) atan2(c, s).


def _step64(q1, q2, c):
    q1, q2, c, p, s = _prepare64(q1, q2, c)
    # For c < 0, pi - theta = atan2(s, -c) is computed directly: relative accuracy as rho -> -1.
    ang = np.where(c >= 0, math.pi - np.arctan2(s, c), np.arctan2(s, -c))
    out = np.where(p > 0, ang / TWO_PI, 0.0)
    return out[()] if out.ndim == 0 else out


def _step_mp(q1, q2, c):
    p, s = _prepare_mp(q1, q2, c)
    if p == 0:
        return mpmath.mpf(0)
    ang = mpmath.pi - mpmath.atan2(s, c) if c >= 0 else mpmath.atan2(s, -c)
    return ang / (2 * mpmath.pi)


def _step_arb(q1, q2, c):
    from flint import arb

    p, s = _prepare_arb(q1, q2, c)
    if p.is_zero():
        return arb(0)
    # As in float64: for c < 0 the angle pi - theta = atan2(s, -c) directly (a tight ball as rho -> -1).
    ang = arb.pi() - arb.atan2(s, c) if c.mid() >= 0 else arb.atan2(s, -c)
    return ang / (2 * arb.pi())


def _step_sym(q1, q2, c):
    import sympy as sp

    return (sp.pi - sp.acos(c / sp.sqrt(q1 * q2))) / (2 * sp.pi)


def _sign64(q1, q2, c):
    q1, q2, c, p, s = _prepare64(q1, q2, c)
    out = np.where(p > 0, (2.0 / math.pi) * np.arctan2(c, s), 0.0)
    return out[()] if out.ndim == 0 else out


def _sign_mp(q1, q2, c):
    p, s = _prepare_mp(q1, q2, c)
    if p == 0:
        return mpmath.mpf(0)
    return 2 / mpmath.pi * mpmath.atan2(c, s)


def _sign_arb(q1, q2, c):
    from flint import arb

    p, s = _prepare_arb(q1, q2, c)
    if p.is_zero():
        return arb(0)
    return 2 / arb.pi() * arb.atan2(c, s)


def _sign_sym(q1, q2, c):
    import sympy as sp

    return 2 / sp.pi * sp.asin(c / sp.sqrt(q1 * q2))


# --------------------------------------------------------------------------------------------
# erf: k = (2/pi) arcsin(2c / sqrt((1 + 2 q1)(1 + 2 q2)))   (C. K. I. Williams, NIPS 1996/1998)
#      = (2/pi) atan2(2c, sqrt(1 + 2 q1 + 2 q2 + 4 (q1 q2 - c^2))),
# since (1 + 2 q1)(1 + 2 q2) - 4 c^2 = 1 + 2 q1 + 2 q2 + 4 (q1 q2 - c^2), a sum of nonnegative terms.
# The arcsin form is ill-conditioned where its argument nears +-1 (rho -> +-1 at large q: at
# q = 1e16 and rho = 1 it loses half the digits); the atan2 form is relatively accurate to a few ulp
# everywhere. float64 evaluates it on inputs scaled by a power of two t ~ 1 / max(1, q1, q2)
# (atan2 is unchanged by a common positive factor), so q1 q2 never overflows for finite q.
# --------------------------------------------------------------------------------------------


def _power_scale64(q1, q2):
    """t = 2^-e, e >= 0 the least with max(q1, q2) t < 2: an exact scale that keeps q t <= 2."""
    return np.ldexp(1.0, -np.maximum(_scale_exponent64(q1, q2), 0))


def _erf64(q1, q2, c):
    q1, q2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q1, q2, c)))
    t = _power_scale64(q1, q2)
    q1t, q2t, ct = q1 * t, q2 * t, c * t
    # den^2 t^2 = t^2 + 2 (q1 + q2) t^2 + 4 det t^2; a t^2 that underflows is negligible here.
    den = np.sqrt((t + 2.0 * (q1t + q2t)) * t + 4.0 * det_gram(q1t, q2t, ct))
    out = (2.0 / math.pi) * np.arctan2(2.0 * ct, den)
    return out[()] if out.ndim == 0 else out


def _erf_mp(q1, q2, c):
    return 2 / mpmath.pi * mpmath.atan2(2 * c, mpmath.sqrt(1 + 2 * q1 + 2 * q2 + 4 * _det_mp(q1, q2, c)))


def _erf_arb(q1, q2, c):
    from flint import arb

    det = (q1 * q2 - c * c).nonnegative_part()  # |c| <= sqrt(q1 q2) is known
    return 2 / arb.pi() * arb.atan2(2 * c, (1 + 2 * q1 + 2 * q2 + 4 * det).sqrt())


def _erf_sym(q1, q2, c):
    import sympy as sp

    return 2 / sp.pi * sp.asin(2 * c / sp.sqrt((1 + 2 * q1) * (1 + 2 * q2)))


# --------------------------------------------------------------------------------------------
# gelu(z) = z Phi(z): with S_i = 1 + q_i, D = S1 S2 - c^2 = 1 + q1 + q2 + (q1 q2 - c^2) >= 1,
#   k = c/4 + c arcsin(c / sqrt(S1 S2)) / (2 pi) + (q1 q2 - c^2 + c^2/S1 + c^2/S2) / (2 pi sqrt(D))   (A)
# (derived by Gaussian integration by parts in `verify.model.general`'s module docstring; the GELU
# kernel of Tsuchida et al., AAAI 2021, in another form), arcsin(c / sqrt(S1 S2)) = atan2(c, sqrt(D)).
# For c >= 0 every term of (A) is >= 0. For c < 0 the terms cancel: at rho = -1 and q1 = q2 = q,
# k ~ -0.19 / sqrt(q) while the terms are ~ q/4. Writing N = q1 q2 - c^2 + c^2/S1 + c^2/S2, the first
# two terms of (A) are -|c| x / (2 pi) with x = atan2(sqrt(D), |c|), and N - D = -E with
# E = 1 + (q2 + det)/S1 + (q1 + det)/S2 (det = q1 q2 - c^2), so for c < 0
#   k = (sqrt(S1 S2) (sin x - x cos x) - E / sqrt(D)) / (2 pi)                                  (B)
# (sqrt(D) - |c| x = sqrt(S1 S2) (sin x - x cos x), no cancellation by the series of
# `g_scaled`). Each form's rounding error is a few ulp of the sum of its terms' magnitudes; the
# float64, mpmath and arb paths take the form whose sum is smaller (arb: the narrower ball, both
# being enclosures). That sum is within a factor 7 of |k| except near the zero of k in c (at
# q1 = q2 = q: rho = -0.367 at q = 1, -0.983 at q = 100, -0.999998 at q = 1e6), where the error is
# absolute (`tests/test_kernels.py` checks the factor 7 at q = 1e-12, 1, 1e16 away from the zero).
# float64 scales by an exact power of two t ~ 1 / max(1, q1, q2) so that q1 q2 never overflows.
# --------------------------------------------------------------------------------------------


def _gelu_core64(q1, q2, c, t, det_t):
    """(k, sqrt(D) t, atan2(c, sqrt(D))) for gelu; t an exact power of two with q t <= 2 and
    det_t = (q1 q2 - c^2) t^2 >= 0."""
    q1t, q2t, ct, cabs_t = q1 * t, q2 * t, c * t, np.abs(c * t)
    S1, S2 = 1.0 + q1, 1.0 + q2
    sDt = np.sqrt((t + q1t + q2t) * t + det_t)  # sqrt(D) t
    ang = np.arctan2(ct, sDt)
    # (A): c/4 + c ang/(2 pi) + N/(2 pi sqrt D), N t^2 = det_t + (c t)^2 (1/S1 + 1/S2)
    a1, a2 = 0.25 * c, c * ang / TWO_PI
    a3 = ((det_t + ct * ct * (1.0 / S1 + 1.0 / S2)) / sDt) / t / TWO_PI
    kA, sumA = a1 + a2 + a3, np.abs(a1) + np.abs(a2) + a3
    # (B), c < 0: E t = t + (q2 t + det t)/S1 + (q1 t + det t)/S2, det t = det_t / t
    dt = det_t / t
    b2 = ((t + (q2t + dt) / S1 + (q1t + dt) / S2) / sDt) / TWO_PI
    x = np.arctan2(sDt, cabs_t)
    b1 = g_scaled(x, sDt, cabs_t, np.sqrt((t + q1t) * (t + q2t))) / t / TWO_PI
    use_b = (c < 0) & (b1 + b2 < sumA)
    return np.where(use_b, b1 - b2, kA), sDt, ang


def gelu_parts64(q1, q2, c, det):
    """(k, S1, S2, D, N, sqrt(D), atan2(c, sqrt(D))) for gelu in float64, det = q1 q2 - c^2 >= 0
    given (the pieces the derivatives in `verify.kernels.pairs` reuse; unscaled, for moderate q)."""
    S1, S2 = 1.0 + q1, 1.0 + q2
    D = 1.0 + q1 + q2 + det  # = S1 S2 - c^2 >= 1
    N = det + c * c * (1.0 / S1 + 1.0 / S2)
    k, sD, ang = _gelu_core64(q1, q2, c, np.ones_like(D), det)
    return k, S1, S2, D, N, sD, ang


def gelu_kernel64(q1, q2, c):
    """k_gelu(q1, q2, c) in float64; broadcasting; valid for every finite q; relative accuracy a few
    ulp except near the zero of k in c (absolute there: a few ulp of the smaller form's term sum)."""
    q1, q2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q1, q2, c)))
    t = _power_scale64(q1, q2)
    k = _gelu_core64(q1, q2, c, t, det_gram(q1 * t, q2 * t, c * t))[0]
    return k[()] if k.ndim == 0 else k


def _gelu_form_mp(q1, q2, c):
    """(k, sum of |terms|) of the form, (A) or (B), whose term sum is smaller, in mpmath (inputs
    converted exactly); (B) applies for c < 0 only."""
    q1, q2, c = (mpmath.mpf(v) for v in (q1, q2, c))
    det = _det_mp(q1, q2, c)
    S1, S2 = 1 + q1, 1 + q2
    D = 1 + q1 + q2 + det
    sD = mpmath.sqrt(D)
    N = det + c * c * (1 / S1 + 1 / S2)
    a = [c / 4, c * mpmath.atan2(c, sD) / (2 * mpmath.pi), N / (2 * mpmath.pi * sD)]
    forms = [(mpmath.fsum(a), mpmath.fsum(abs(v) for v in a))]
    if c < 0:
        x = mpmath.atan2(sD, -c)
        b1 = _pg_mp(x, sD, -c, mpmath.sqrt(S1 * S2)) / (2 * mpmath.pi)
        b2 = (1 + (q2 + det) / S1 + (q1 + det) / S2) / sD / (2 * mpmath.pi)
        forms.append((b1 - b2, b1 + b2))
    return min(forms, key=lambda f: f[1])


def gelu_kernel_mp(q1, q2, c):
    """k_gelu(q1, q2, c) at the current mpmath precision (inputs converted exactly; the form of
    smaller term sum, so the working precision is not eaten by cancellation)."""
    return _gelu_form_mp(q1, q2, c)[0]


def _gelu_scale_mp(q1, q2, c):
    """Sigma for gelu: the smaller term sum of the forms (A), (B)."""
    return _gelu_form_mp(q1, q2, c)[1]


def _gelu_arb(q1, q2, c):
    from flint import arb

    det = (q1 * q2 - c * c).nonnegative_part()  # |c| <= sqrt(q1 q2) is known
    S1, S2 = 1 + q1, 1 + q2
    D = 1 + q1 + q2 + det
    sD = D.sqrt()
    N = det + c * c * (1 / S1 + 1 / S2)
    pi = arb.pi()
    k = c / 4 + c * arb.atan2(c, sD) / (2 * pi) + N / (2 * pi * sD)
    if c < 0:  # the whole ball: (B) holds; both are enclosures, keep the narrower
        x = arb.atan2(sD, -c)
        kB = ((S1 * S2).sqrt() * (x.sin() - x * x.cos()) - (1 + (q2 + det) / S1 + (q1 + det) / S2) / sD) / (2 * pi)
        if kB.rad() < k.rad():
            k = kB
    return k


def _gelu_sym(q1, q2, c):
    import sympy as sp

    S1, S2 = 1 + q1, 1 + q2
    N = q1 * q2 - c**2 + c**2 / S1 + c**2 / S2
    return c / 4 + c * sp.asin(c / sp.sqrt(S1 * S2)) / (2 * sp.pi) + N / (2 * sp.pi * sp.sqrt(S1 * S2 - c**2))


# --------------------------------------------------------------------------------------------
# Normalized Hermite h_n = He_n / sqrt(n!).
# From He_n(a z) = n! sum_m a^(n-2m) (a^2-1)^m He_(n-2m)(z) / (m! (n-2m)! 2^m) and
# E He_j(Z1) He_k(Z2) = delta_jk k! rho^k:
#   k_{h_n}(q1, q2, c) = n! sum_{m <= n/2} c^(n-2m) ((q1-1)(q2-1))^m / ((m!)^2 (n-2m)! 4^m),
# which is rho^n at q1 = q2 = 1.
# --------------------------------------------------------------------------------------------


def _hermite_terms(n: int):
    """(power of c, power of A, integer-ratio coefficient) of the Hermite kernel polynomial."""
    out = []
    for m in range(n // 2 + 1):
        coef = Fraction(math.factorial(n), math.factorial(m) ** 2 * math.factorial(n - 2 * m) * 4**m)
        out.append((n - 2 * m, m, coef))
    return out


def _hermite_kernels(n: int):
    terms = _hermite_terms(n)

    def k64(q1, q2, c):
        q1, q2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q1, q2, c)))
        A = (q1 - 1.0) * (q2 - 1.0)
        out = sum(float(coef) * c**j * A**m for j, m, coef in terms)
        out = np.asarray(out, dtype=float)
        return out[()] if out.ndim == 0 else out

    def k_mp(q1, q2, c):
        A = (q1 - 1) * (q2 - 1)
        return mpmath.fsum(mpmath.mpf(coef.numerator) / coef.denominator * c**j * A**m for j, m, coef in terms)

    def k_arb(q1, q2, c):
        from flint import arb

        A = (q1 - 1) * (q2 - 1)
        total = arb(0)
        for j, m, coef in terms:
            total += arb(coef.numerator) / coef.denominator * c**j * A**m
        return total

    def k_sym(q1, q2, c):
        import sympy as sp

        A = (q1 - 1) * (q2 - 1)
        return sum(sp.Rational(coef.numerator, coef.denominator) * c**j * A**m for j, m, coef in terms)

    def k_scale_mp(q1, q2, c):  # Sigma: the sum of the terms' magnitudes
        A = (q1 - 1) * (q2 - 1)
        return mpmath.fsum(abs(mpmath.mpf(coef.numerator) / coef.denominator * c**j * A**m) for j, m, coef in terms)

    return k64, k_mp, k_arb, k_sym, k_scale_mp


def hermite_he(n: int, z, one=1.0):
    """Probabilists' Hermite polynomial He_n(z) by the three-term recurrence (works for numpy,
    mpmath and arb arguments)."""
    if n == 0:
        return z * 0 + one
    prev, cur = z * 0 + one, z
    for k in range(1, n):
        prev, cur = cur, z * cur - k * prev
    return cur


# --------------------------------------------------------------------------------------------
# Pointwise functions
# --------------------------------------------------------------------------------------------

_SQRT2 = math.sqrt(2.0)


def _gelu(z):
    return 0.5 * z * special.erfc(-z / _SQRT2)


def _gelu_mp(z):
    return z * mpmath.ncdf(z)


def _sigmoid(z):
    return special.expit(z)


def _sigmoid_mp(z):
    return 1 / (1 + mpmath.exp(-z))


def _softplus(z):
    return np.logaddexp(0.0, z)


def _softplus_mp(z):
    return mpmath.log1p(mpmath.exp(z)) if z < 0 else z + mpmath.log1p(mpmath.exp(-z))


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------

# name -> (allowed params with defaults, builder)
_PARAM_SPECS: dict[str, dict[str, float]] = {
    "relu": {},
    "step": {},
    "sign": {},
    "abs": {},
    "leaky_relu": {"alpha": 0.01},
    "linear": {},
    "erf": {},
    "hermite": {"n": 1},
    "tanh": {},
    "sigmoid": {},
    "softplus": {},
    "gelu": {},
    "silu": {},
}

NAMES = tuple(_PARAM_SPECS)


def _build(name: str, p: dict[str, float]) -> Activation:
    params = tuple(sorted(p.items()))
    if name == "relu":
        half = Fraction(1, 2)
        return _two_slope(name, params, half, half, lambda z: np.maximum(z, 0.0), lambda z: max(z, 0))
    if name == "abs":
        return _two_slope(name, params, Fraction(0), Fraction(1), np.abs, abs)
    if name == "linear":
        return _two_slope(name, params, Fraction(1), Fraction(0), lambda z: np.asarray(z, dtype=float) * 1.0, lambda z: z)
    if name == "leaky_relu":
        # alpha is exact (a Fraction: "0.1" is 1/10): A, B exact for the mpmath, arb and sympy
        # forms; the float64 paths use float(alpha), float(A), float(B).
        fa = Fraction(p["alpha"])
        a = float(fa)
        return _two_slope(
            name,
            params,
            (1 + fa) / 2,
            (1 - fa) / 2,
            lambda z: np.where(z > 0, z, a * z),
            lambda z: z if z > 0 else mpmath.mpf(fa.numerator) / fa.denominator * z,
        )
    if name == "step":
        return Activation(
            name, params, lambda z: (np.asarray(z) > 0).astype(float), lambda z: mpmath.mpf(1 if z > 0 else 0),
            kinks=(0.0,), strip=0.0, degree=0, k64=_step64, k_mp=_step_mp, k_arb=_step_arb, k_sym=_step_sym,
        )
    if name == "sign":
        return Activation(
            name, params, np.sign, lambda z: mpmath.sign(z),
            kinks=(0.0,), strip=0.0, degree=0, k64=_sign64, k_mp=_sign_mp, k_arb=_sign_arb, k_sym=_sign_sym,
        )
    if name == "erf":
        # erf is entire and grows like exp(y^2) off the real axis.
        return Activation(
            name, params, special.erf, mpmath.erf, growth=1.0,
            k64=_erf64, k_mp=_erf_mp, k_arb=_erf_arb, k_sym=_erf_sym,
        )
    if name == "hermite":
        n = int(p["n"])
        k64, k_mp, k_arb, k_sym, k_scale_mp = _hermite_kernels(n)
        norm = math.sqrt(math.factorial(n))
        return Activation(
            name, params,
            lambda z: hermite_he(n, np.asarray(z, dtype=float)) / norm,
            lambda z: hermite_he(n, z, mpmath.mpf(1)) / mpmath.sqrt(mpmath.factorial(n)),
            k64=k64, k_mp=k_mp, k_arb=k_arb, k_sym=k_sym, k_scale_mp=k_scale_mp,
        )
    if name == "tanh":
        return Activation(name, params, np.tanh, mpmath.tanh, strip=math.pi / 2)
    if name == "sigmoid":
        return Activation(name, params, _sigmoid, _sigmoid_mp, strip=math.pi)
    if name == "softplus":
        return Activation(name, params, _softplus, _softplus_mp, strip=math.pi)
    if name == "gelu":
        return Activation(
            name, params, _gelu, _gelu_mp, growth=0.5,  # Phi(iy) ~ exp(y^2/2)
            k64=gelu_kernel64, k_mp=gelu_kernel_mp, k_arb=_gelu_arb, k_sym=_gelu_sym, k_scale_mp=_gelu_scale_mp,
        )
    if name == "silu":
        return Activation(name, params, lambda z: z * special.expit(z), lambda z: z * _sigmoid_mp(z), strip=math.pi)
    raise AssertionError(name)  # pragma: no cover - guarded by get_activation


def get_activation(name: str | Activation, **params) -> Activation:
    """The activation `name` with `params` (e.g. get_activation("leaky_relu", alpha=0.1)).

    Accepts "name(key=value, ...)" as well. Raises InputError for an unknown name or parameter.
    """
    if isinstance(name, Activation):
        if params:
            raise InputError("parameters given twice: pass either an Activation or a name with parameters")
        return name
    name, parsed = parse_label(name)
    parsed.update(params)
    if name not in _PARAM_SPECS:
        raise InputError(f"unknown activation {name!r}; known: {', '.join(NAMES)}")
    spec = _PARAM_SPECS[name]
    unknown = set(parsed) - set(spec)
    if unknown:
        allowed = ", ".join(spec) or "none"
        raise InputError(f"unknown parameter {sorted(unknown)[0]!r} for activation {name!r} (allowed: {allowed})")
    values = {**spec, **parsed}
    for key, value in values.items():
        # Exact first (plain ASCII decimals, bounded digits and exponent: never float("1_0") or
        # Fraction("1e100000000")); alpha stays an exact rational, other parameters become floats.
        exact = _exact_param(key, name, value)
        if abs(exact) > 10**6:
            raise InputError(f"parameter {key} of {name!r} is out of range (|{key}| <= 1e6), got {_fmt_param(exact)[:40]}")
        values[key] = exact if (name, key) == ("leaky_relu", "alpha") else float(exact)
    if name == "hermite" and (not values["n"].is_integer() or not 0 <= values["n"] <= 60):
        raise InputError(f"hermite degree n must be an integer in 0..60, got {_fmt_param(values['n'])}")
    if name == "leaky_relu" and not -1 <= values["alpha"] <= 1:
        raise InputError(f"leaky_relu alpha must lie in [-1, 1], got {_fmt_param(values['alpha'])}")
    return _build(name, values)


def parse_label(label: str) -> tuple[str, dict[str, float]]:
    """Split "leaky_relu(alpha=0.1)" into ("leaky_relu", {"alpha": "0.1"}); plain names pass."""
    label = str(label).strip()
    if "(" not in label:
        return label, {}
    if not label.endswith(")"):
        raise InputError(f"malformed activation {label!r}; expected name(key=value, ...)")
    name, inner = label[:-1].split("(", 1)
    out: dict[str, float] = {}
    for part in filter(None, (x.strip() for x in inner.split(","))):
        if "=" not in part:
            raise InputError(f"malformed activation parameter {part!r} in {label!r}; expected key=value")
        key, value = (x.strip() for x in part.split("=", 1))
        out[key] = value
    return name.strip(), out
