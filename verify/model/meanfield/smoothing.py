"""g(m, t) = E_zeta sigma(m + t zeta), zeta ~ N(0, 1): the gaussian smoothing of sigma through which
the target f_inf(x) = abar g(<mu, x>, tau ||x||) enters every route (float64 and mpmath side by side).

Closed forms of g (t > 0, x = m / t, Phi and phi the standard normal cdf and density):
  two-slope sigma(z) = A z + B |z| (ReLU A = B = 1/2, abs, leaky ReLU, linear):
      g = (A + B) m Phi(x) + (A - B) m Phi(-x) + 2 B t phi(x)   (ReLU: m Phi(x) + t phi(x));
  step: Phi(x);  sign: erf(x / sqrt 2);  erf: erf(m / sqrt(1 + 2 t^2)).
Any other smooth activation: g by the trapezoidal rule in zeta (`verify.kernels.quadrature`).
Quadrature g (no closed form) uses the trapezoidal rule in zeta with the step of t's power-of-2 bin.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
from scipy import special

from verify.errors import InputError
from verify.kernels import Activation
from verify.kernels.activations import hermite_he
from verify.kernels.quadrature import trapezoid_rule, trapezoid_step
from verify.model.meanfield.rules import T64

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def closed_kind(act: Activation) -> str | None:
    if act.two_slope is not None:
        return "two_slope"
    if act.name in ("step", "sign", "erf", "hermite"):
        return act.name
    return None


def hermite_terms(n: int) -> list[tuple[int, int]]:
    """(j, C(n, j) (j - 1)!!) for even j <= n: He_n is an Appell sequence, He_n(m + y) =
    sum_j C(n, j) He_(n-j)(m) y^j, and E (t zeta)^j = (j - 1)!! t^j for even j."""
    return [(j, math.comb(n, j) * math.prod(range(j - 1, 0, -2))) for j in range(0, n + 1, 2)]


def poly_degree(act: Activation) -> int:
    """Degree of a polynomial activation (hermite n), else 0: polynomial growth widens the tails."""
    return int(act.param_dict["n"]) if act.name == "hermite" else 0


def g64_closed(act: Activation, kind: str, m: np.ndarray, t: np.ndarray) -> np.ndarray:
    m, t = np.broadcast_arrays(np.asarray(m, dtype=float), np.asarray(t, dtype=float))
    if kind == "erf":
        return special.erf(m / np.sqrt(1.0 + 2.0 * t * t))
    if kind == "hermite":
        n = poly_degree(act)
        out = sum(c * t**j * hermite_he(n - j, m) for j, c in hermite_terms(n))
        return np.asarray(out, dtype=float) / math.sqrt(math.factorial(n))
    if kind == "two_slope" and act.two_slope[1] == 0.0:
        return act.two_slope[0] * m
    pos = t > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(pos, m / np.where(pos, t, 1.0), 0.0)
    if kind == "two_slope":
        A, B = act.two_slope
        out = (A + B) * m * special.ndtr(x) + (A - B) * m * special.ndtr(-x) + (2.0 * B * _INV_SQRT_2PI) * t * np.exp(-0.5 * x * x)
    elif kind == "step":
        out = special.ndtr(x)
    else:  # sign
        out = special.erf(x / _SQRT2)
    return np.where(pos, out, act.f(m)) if not np.all(pos) else out


def g_mp_closed(act: Activation, kind: str):
    """g(m, t) at the current mpmath precision (constants taken when called inside workdps)."""
    sqrt2 = mpmath.sqrt(2)
    inv_sqrt_2pi = 1 / mpmath.sqrt(2 * mpmath.pi)
    if kind == "erf":
        return lambda m, t: mpmath.erf(m / mpmath.sqrt(1 + 2 * t * t))
    if kind == "hermite":
        n = poly_degree(act)
        terms = hermite_terms(n)
        norm = 1 / mpmath.sqrt(mpmath.factorial(n))
        one = mpmath.mpf(1)
        return lambda m, t: norm * mpmath.fsum(c * t**j * hermite_he(n - j, m, one) for j, c in terms)
    if kind == "two_slope":
        A, B = (mpmath.mpf(v.numerator) / v.denominator for v in act.two_slope_exact)  # exact: alpha = 1/10 is not a double
        if B == 0:
            return lambda m, t: A * m
        ApB, AmB, B2 = A + B, A - B, 2 * B * inv_sqrt_2pi

        def g(m, t):
            if t == 0:
                return act.f_mp(m)
            x = m / t
            P = mpmath.erfc(-x / sqrt2) / 2  # Phi(x); Phi(-x) = 1 - P (absolute accuracy suffices)
            out = ApB * m * P + B2 * t * mpmath.exp(-x * x / 2)
            return out + AmB * m * (1 - P) if AmB != 0 else out

        return g
    if kind == "step":
        return lambda m, t: act.f_mp(m) if t == 0 else mpmath.erfc(-m / (t * sqrt2)) / 2
    return lambda m, t: act.f_mp(m) if t == 0 else mpmath.erf(m / (t * sqrt2))  # sign


def t_bin(t: float) -> int:
    """Bins of t by powers of 2 (the quadrature g uses the rule of its bin's upper edge 2^k)."""
    return max(-6, math.ceil(math.log2(t))) if t > 0 else -6


def make_g64(act: Activation):
    """g(m, t) in float64: closed form, else the trapezoidal rule in zeta.

    The quadrature rule's step shrinks like 1/t (sigma(m + t zeta) has features of width 1/t in
    zeta), so points are grouped by t in powers of 2 and each group gets the rule of its upper edge
    (`trapezoid_step` with a = 2^k): large t, which only the far tails of the radius reach, no
    longer sets the cost of every point.
    """
    kind = closed_kind(act)
    if kind is not None:
        return lambda m, t: g64_closed(act, kind, m, t)
    if act.strip <= 0:
        raise InputError(f"no rule for E sigma(m + t zeta) with {act.label}: kinked and without a closed form")
    rules: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def rule(k: int):
        if k not in rules:
            a = 2.0**k
            rules[k] = trapezoid_rule(trapezoid_step(act, a, a * a, T64), T64)
        return rules[k]

    def g(m, t):
        m, t = np.broadcast_arrays(np.asarray(m, dtype=float), np.asarray(t, dtype=float))
        shape = m.shape
        m, t = m.ravel(), t.ravel()
        out = np.zeros(m.shape)
        with np.errstate(divide="ignore"):
            bins = np.where(t > 0, np.maximum(np.ceil(np.log2(t)), -6), -6).astype(int)
        for k in np.unique(bins):
            idx = np.nonzero(bins == k)[0]
            mk, tk = m[idx], t[idx]
            acc = np.zeros(idx.size)
            z, w = rule(int(k))
            for zj, wj in zip(z, w):
                acc += wj * act.f(mk + tk * zj)
            out[idx] = acc
        return out.reshape(shape)

    return g


def make_g_mp(act: Activation, T: float):
    """g(m, t) at the current mpmath precision: closed form, else the trapezoidal rule in zeta with
    the step of t's power-of-2 bin (as in `make_g64`), rules cached per bin."""
    kind = closed_kind(act)
    if kind is not None:
        return g_mp_closed(act, kind)
    if act.strip <= 0:
        raise InputError(f"no rule for E sigma(m + t zeta) with {act.label}: kinked and without a closed form")
    rules: dict[int, tuple[list, list]] = {}
    f = act.f_mp

    def g(m, t):
        k = t_bin(float(t))
        if k not in rules:
            a = 2.0**k
            rules[k] = trapezoid_rule(trapezoid_step(act, a, a * a, T), T, lib=mpmath)
        z, w = rules[k]
        return mpmath.fsum(wj * f(m + t * zj) for zj, wj in zip(z, w))

    return g


def g_growth(act: Activation) -> tuple[float, float]:
    """(gamma, strip) with |g(m + i eta, t)| <~ exp(gamma eta^2 / t_scale^2) in |eta| < strip.

    Closed forms with x = m / t grow like exp(Im(x)^2 / 2); g of a smooth activation inherits the
    growth and strip of sigma (a gaussian average over real shifts)."""
    if closed_kind(act) in ("two_slope", "step", "sign"):
        return 0.5, math.inf
    return float(act.growth), float(act.strip)
