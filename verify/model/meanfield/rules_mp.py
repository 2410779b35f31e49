"""Quadrature rules of the mpmath path, with exact normalizations (the sech weight by
sqrt(n) B(1/2, n/2), the chi-square density by mpmath.loggamma; Gauss-Gegenbauer nodes Newton-refined
in mpmath), mpmath.quad over the standardized variable, and exact inner products of float inputs.
"""

from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np

from verify.model.meanfield.rules import chi2_y_range, gegenbauer_nodes64, sech_tail

MP_GUARD = 12  # guard digits of the mpmath path
MP_POINTS = (-8, -3, 0, 3, 8)  # breakpoints of mpmath.quad in the standardized u


def mp_T(dps: int) -> float:
    return (dps + 5) * math.log(10.0)


def mp_gauss_trap(h: float, tail: float):
    k = int(math.ceil((math.sqrt(2.0 * tail) + h) / h))
    hm = mpmath.mpf(h)
    c = hm / mpmath.sqrt(2 * mpmath.pi)
    z = [hm * i for i in range(-k, k + 1)]
    return z, [c * mpmath.exp(-zi * zi / 2) for zi in z]


def mp_sech_norm(n: int):
    """int sech(u / sqrt n)^n du = sqrt(n) B(1/2, n/2)."""
    return mpmath.sqrt(n) * mpmath.beta(mpmath.mpf(1) / 2, mpmath.mpf(n) / 2)


def mp_sech_weight(u, n: int, rn):
    return mpmath.sech(u / rn) ** n


def mp_sech_trap(n: int, h: float, tail: float):
    k = int(math.ceil((sech_tail(n, tail) + h) / h))
    hm, rn = mpmath.mpf(h), mpmath.sqrt(n)
    c = hm / mp_sech_norm(n)
    u = [hm * i for i in range(-k, k + 1)]
    return u, [c * mp_sech_weight(ui, n, rn) for ui in u]


@lru_cache(maxsize=32)
def mp_gegenbauer_rule(N: int, n: int, prec: int):
    """N-point Gauss rule (mpmath, `prec` bits) for om with density prop. to (1 - om^2)^((n-2)/2):
    the float nodes of `gegenbauer_nodes64` refined by Newton on C_N^lam (lam = (n - 1)/2) with
    (1 - x^2) C_N' = -N x C_N + (N + 2 lam - 1) C_(N-1); weights prop. to 1 / ((1 - x^2) C_N'(x)^2),
    normalized to sum 1 (the rule integrates constants exactly). n = 1: Gauss-Chebyshev."""
    with mpmath.workprec(prec):
        if n == 1:
            xs = [mpmath.cos((2 * i - 1) * mpmath.pi / (2 * N)) for i in range(1, N + 1)]
            return tuple(xs), tuple([mpmath.mpf(1) / N] * N)
        lam = mpmath.mpf(n - 1) / 2
        eps = mpmath.mpf(2) ** (8 - prec)

        def C(x):
            c0, c1 = mpmath.mpf(1), 2 * lam * x
            for k in range(2, N + 1):
                c0, c1 = c1, (2 * (k + lam - 1) * x * c1 - (k + 2 * lam - 2) * c0) / k
            return c1, (-N * x * c1 + (N + 2 * lam - 1) * c0) / (1 - x * x)

        xs, ws = [], []
        for xf in gegenbauer_nodes64(N, float(lam)):
            x = mpmath.mpf(float(xf))
            for _ in range(60):
                c, dc = C(x)
                dx = c / dc
                x -= dx
                if abs(dx) <= eps:
                    break
            _, dc = C(x)
            xs.append(x)
            ws.append(1 / ((1 - x * x) * dc * dc))
        total = mpmath.fsum(ws)
        return tuple(xs), tuple(w / total for w in ws)


def mp_chi2_trap(n: int, h: float, tail: float):
    """(R nodes, weights) of the trapezoidal rule in u for the exact chi^2_n density."""
    if n == 0:
        return [mpmath.mpf(0)], [mpmath.mpf(1)]
    cf = math.sqrt(2.0 / n)
    ylo, yhi = chi2_y_range(n, tail)
    k0, k1 = int(math.floor(ylo / cf / h)) - 1, int(math.ceil(yhi / cf / h)) + 1
    hm = mpmath.mpf(h)
    c = mpmath.sqrt(mpmath.mpf(2) / n)
    half_n = mpmath.mpf(n) / 2
    const = half_n * mpmath.log(half_n) - mpmath.loggamma(half_n)
    R, w = [], []
    for i in range(k0, k1 + 1):
        y = c * hm * i
        ey = mpmath.exp(y)
        R.append(n * ey)
        # density of y: (R/2)^(n/2) e^(-R/2) / Gamma(n/2), R = n e^y; dy = c du
        w.append(hm * c * mpmath.exp(const + half_n * (y - ey)))
    return R, w


def mp_quad(f, dps: int):
    """int_R f(u) du by mpmath.quad (tanh-sinh), split at MP_POINTS (0 among them: the kink),
    converged to dps + 3 digits; f itself is evaluated at dps + MP_GUARD digits."""
    prec = mpmath.mp.prec

    def f_guarded(u):
        with mpmath.workprec(prec):
            return f(u)

    with mpmath.workdps(dps + 3):
        val = mpmath.quad(f_guarded, [-mpmath.inf, *MP_POINTS, mpmath.inf])
    return +val


def mp_vec(x: np.ndarray) -> list:
    return [mpmath.mpf(float(v)) for v in x]


def mp_dot(x: list, y: list):
    """Exact products, one rounding (mpmath.fdot), at the current precision."""
    return mpmath.fdot(x, y)
