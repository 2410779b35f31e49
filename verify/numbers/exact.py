"""Float64 building blocks that keep the kernels accurate near rho = +-1.

The dual kernels depend on (q1, q2, c) through p = sqrt(q1 q2), the sine part
s = sqrt(q1 q2 - c^2) and the angle between the two vectors. Near rho = c / p = +-1 the
difference q1 q2 - c^2 cancels catastrophically when formed naively; here it is formed with
Dekker's error-free product (T. J. Dekker, "A floating-point technique for extending the available
precision", Numer. Math. 18, 1971), so s carries a relative error of a few ulp whatever rho is.

Valid for finite inputs with |q1 q2|, c^2 below about 1e300 (Veltkamp splitting overflows above).
"""

from __future__ import annotations

import numpy as np

_SPLITTER = 134217729.0  # 2**27 + 1, Veltkamp's constant for binary64


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = _SPLITTER * a
    hi = t - (t - a)
    return hi, a - hi


def two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (p, e) with p = fl(a b) and a b = p + e exactly (barring over/underflow)."""
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, e


def det_gram(q1: np.ndarray, q2: np.ndarray, c: np.ndarray) -> np.ndarray:
    """q1 q2 - c^2 to a few ulp of its own size (not of q1 q2), clipped at 0."""
    p, ep = two_product(q1, q2)
    r, er = two_product(c, c)
    d = (p - r) + (ep - er)
    return np.maximum(d, 0.0)


# Taylor coefficients of g(x) / x^3 in powers of x^2, with g(x) = sin x - x cos x
# = sum_{n>=1} (-1)^(n+1) 2n x^(2n+1) / (2n+1)!.  Eleven terms reach 4e-19 relative at x = 1.
def _g_coefficients(terms: int = 11) -> np.ndarray:
    from math import factorial

    return np.array([(-1) ** (n + 1) * 2 * n / factorial(2 * n + 1) for n in range(1, terms + 1)])


_G_COEFFS = _g_coefficients()


def g_scaled(x: np.ndarray, s: np.ndarray, cabs: np.ndarray, p: np.ndarray) -> np.ndarray:
    """p * g(x), g(x) = sin x - x cos x, where x is the angle with sin x = s/p, cos x = cabs/p.

    For x >= 1 the direct form s - x |c| loses at most a factor 3; below 1 the Taylor series of
    g(x)/x^3 in x^2 is used, so the result is relatively accurate as x -> 0 (rho -> +-1).
    """
    x = np.asarray(x, dtype=float)
    x2 = x * x
    series = np.zeros_like(x)
    for coef in _G_COEFFS[::-1]:
        series = series * x2 + coef
    small = p * x2 * x * series
    return np.where(x < 1.0, small, s - x * cabs)
