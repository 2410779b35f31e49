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

Float64 accuracy: a few ulp relative for the two-slope family, step, sign, erf and gelu on all of
|rho| <= 1 (except at a genuine zero of a leaky-ReLU or gelu kernel, where the error is absolute);
Hermite kernels are sums of signed terms and are accurate to a few ulp of the largest term.
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


def _prepare64(q1, q2, c):
    q1, q2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q1, q2, c)))
    p = np.sqrt(q1) * np.sqrt(q2)
    s = np.sqrt(det_gram(q1, q2, c))
    return q1, q2, c, p, s


def _prepare_mp(q1, q2, c):
    """(p, s) in mpmath, with q1 q2 - c^2 formed exactly and rounded once."""
    d = mpmath.fsub(mpmath.fmul(q1, q2, exact=True), mpmath.fmul(c, c, exact=True))
    return mpmath.sqrt(q1) * mpmath.sqrt(q2), mpmath.sqrt(max(d, 0))


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
# --------------------------------------------------------------------------------------------


def _erf64(q1, q2, c):
    q1, q2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q1, q2, c)))
    u = 2.0 * c / (np.sqrt(1.0 + 2.0 * q1) * np.sqrt(1.0 + 2.0 * q2))
    out = (2.0 / math.pi) * np.arcsin(u)
    return out[()] if out.ndim == 0 else out


def _erf_mp(q1, q2, c):
    return 2 / mpmath.pi * mpmath.asin(2 * c / (mpmath.sqrt(1 + 2 * q1) * mpmath.sqrt(1 + 2 * q2)))


def _erf_arb(q1, q2, c):
    from flint import arb

    return 2 / arb.pi() * (2 * c / ((1 + 2 * q1).sqrt() * (1 + 2 * q2).sqrt())).asin()


def _erf_sym(q1, q2, c):
    import sympy as sp

    return 2 / sp.pi * sp.asin(2 * c / sp.sqrt((1 + 2 * q1) * (1 + 2 * q2)))


# --------------------------------------------------------------------------------------------
# gelu(z) = z Phi(z): with S_i = 1 + q_i, D = S1 S2 - c^2 = 1 + q1 + q2 + (q1 q2 - c^2) >= 1,
#   k = c/4 + c arcsin(c / sqrt(S1 S2)) / (2 pi) + (q1 q2 - c^2 + c^2/S1 + c^2/S2) / (2 pi sqrt(D))
# (derived by Gaussian integration by parts in `verify.model.general`'s module docstring; the GELU
# kernel of Tsuchida et al., AAAI 2021, in another form). No cancellation in D or in
# q1 q2 - c^2 + c^2/S1 + c^2/S2 (every term >= 0); float64 relative accuracy a few ulp except near
# a zero of k (absolute, a few ulp of c/4). The float64 derivatives are `verify.kernels.pairs`'.
# --------------------------------------------------------------------------------------------


def _gelu_parts(q1, q2, c, det):
    S1, S2 = 1.0 + q1, 1.0 + q2
    D = 1.0 + q1 + q2 + det  # = S1 S2 - c^2 >= 1
    N = det + c * c * (1.0 / S1 + 1.0 / S2)
    return S1, S2, D, N


def gelu_parts64(q1, q2, c, det):
    """(k, S1, S2, D, N, sqrt(D), arcsin(c / sqrt(S1 S2))) for gelu in float64, det = q1 q2 - c^2 >= 0
    given (the pieces the derivatives in `verify.kernels.pairs` reuse)."""
    S1, S2, D, N = _gelu_parts(q1, q2, c, det)
    sD = np.sqrt(D)
    asn = np.arcsin(np.clip(c / np.sqrt(S1 * S2), -1.0, 1.0))
    k = 0.25 * c + c * asn / TWO_PI + N / (TWO_PI * sD)
    return k, S1, S2, D, N, sD, asn


def gelu_kernel64(q1, q2, c):
    """k_gelu(q1, q2, c) in float64; broadcasting; relative accuracy a few ulp except near a zero
    of k (absolute a few ulp of c/4)."""
    q1, q2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q1, q2, c)))
    det = np.maximum(q1 * q2 - c * c, 0.0)
    return gelu_parts64(q1, q2, c, det)[0]


def gelu_kernel_mp(q1, q2, c):
    """k_gelu(q1, q2, c) at the current mpmath precision (inputs converted exactly)."""
    q1, q2, c = (mpmath.mpf(v) for v in (q1, q2, c))
    det = max(mpmath.fsub(mpmath.fmul(q1, q2, exact=True), mpmath.fmul(c, c, exact=True)), 0)
    S1, S2 = 1 + q1, 1 + q2
    D = 1 + q1 + q2 + det
    N = det + c * c * (1 / S1 + 1 / S2)
    return c / 4 + c * mpmath.asin(c / mpmath.sqrt(S1 * S2)) / (2 * mpmath.pi) + N / (2 * mpmath.pi * mpmath.sqrt(D))


def _gelu_arb(q1, q2, c):
    from flint import arb

    det = (q1 * q2 - c * c).nonnegative_part()  # |c| <= sqrt(q1 q2) is known
    S1, S2 = 1 + q1, 1 + q2
    D = 1 + q1 + q2 + det
    N = det + c * c * (1 / S1 + 1 / S2)
    pi = arb.pi()
    return c / 4 + c * (c / (S1 * S2).sqrt()).asin() / (2 * pi) + N / (2 * pi * D.sqrt())


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

    return k64, k_mp, k_arb, k_sym


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
        k64, k_mp, k_arb, k_sym = _hermite_kernels(n)
        norm = math.sqrt(math.factorial(n))
        return Activation(
            name, params,
            lambda z: hermite_he(n, np.asarray(z, dtype=float)) / norm,
            lambda z: hermite_he(n, z, mpmath.mpf(1)) / mpmath.sqrt(mpmath.factorial(n)),
            k64=k64, k_mp=k_mp, k_arb=k_arb, k_sym=k_sym,
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
            k64=gelu_kernel64, k_mp=gelu_kernel_mp, k_arb=_gelu_arb, k_sym=_gelu_sym,
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
