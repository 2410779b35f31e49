"""The cartesian route (float64; any sigma): a cross-check of the sphere and polar routes.

Cartesian route (any sigma; a cross-check of the other two). With e1 = mu_hat (S_inf) or
e1 = v_hat, e2 as in `sphere` (C_inf), x = x1 e1 + x2 e2 + rest and R = ||rest||^2 ~ chi^2_n independent
of x1, x2 ~ N(0, 1):

    S_inf    = abar^2 E g(||mu|| x1, tau sqrt(x1^2 + R))^2,            n = d - 1   (2-D)
    C_inf(v) = abar E g(m1 x1 + m2 x2, tau sqrt(x1^2 + x2^2 + R)) sigma(||v|| x1),  n = d - 2  (3-D).

It converges slowly near x = 0 for kinked sigma (d = 8, ReLU: 1e-9) and for strip-limited sigma
(d <= 8: 1e-11 .. 1e-5); from d ~ 30 on it agrees with the sphere route for ReLU to rounding.
"""

from __future__ import annotations

import math

import numpy as np

from verify.model.meanfield.rules import GL_NODES, T64, TAIL64, chi2_step, chi2_trap, gauss_trap, split_rule, trapezoid_h
from verify.model.meanfield.smoothing import g_growth, make_g64


def kinked_gamma(p, n: int) -> float:
    """Growth rate of g(m, t) in m for kinked sigma: 1/(2 t^2) at a typical small t."""
    t2 = p.s**2 * max(0.25 * n, 0.25) / p.d
    return 0.5 / t2


def eta_t(p) -> float:
    """Strip in x1 (and x2) left by the dependence of g on t^2 = tau^2 (x1^2 + x2^2 + R).

    For sigma entire of growth gamma > 0, g(m, t) is analytic in t^2 for Re t^2 > -1/(2 gamma)
    (erf: 1 + 2 t^2 = 0 at gamma = 1); |Im x1| < sqrt(d / (4 gamma s^2)) keeps Re t^2 above
    -1/(4 gamma) whatever x2 and R are (a margin of 2 in t^2). For
    polynomial sigma (gamma = 0, no strip) g is entire in t^2. For strip-limited sigma (tanh, ...)
    and kinked sigma, g is analytic only for Re t^2 > 0 (|Im x1| < sqrt(x2^2 + R)); no limit is
    imposed there, and the error of those rules at small d is measured, not bounded (module doc).
    """
    gam = float(p.activation.growth)
    return math.sqrt(p.d / (4.0 * gam * p.s**2)) if gam > 0 else math.inf


# The steps of the cartesian rules, shared by the float64 route here and the mpmath route
# (`verify.model.meanfield.mp`), which differ only in T and in the arithmetic of the nodes.


def s_cart_step(p, gam: float, strip: float, mun: float, T: float) -> float:
    """The step in x of S_inf's rule: g(||mu|| x, .)^2 grows like exp(2 gam (||mu|| x)^2)."""
    return trapezoid_h(lambda e: 0.5 * e * e + 2.0 * gam * (mun * e) ** 2, T,
                       min(strip / mun if mun > 0 else math.inf, eta_t(p)))


def x1_step(p, gam: float, strip: float, vn: float, m1: float, T: float) -> float:
    """The step in x1 of C_inf's rule for smooth sigma: sigma(||v|| x1) g(m1 x1 + ..., .)."""
    act = p.activation
    sg, sstrip = float(act.growth), float(act.strip)
    lg1 = lambda e: 0.5 * e * e + (sg * vn * vn + gam * m1 * m1) * e * e  # noqa: E731
    eta1 = min(sstrip / vn if vn > 0 else math.inf, strip / abs(m1) if m1 != 0 else math.inf, eta_t(p))
    return trapezoid_h(lg1, T, eta1)


def x2_step(p, gam: float, strip: float, m2: float, T: float) -> float:
    """The step in x2 of C_inf's rule (m2 > 0): g(... + m2 x2, .) grows like exp(gam (m2 x2)^2)."""
    return trapezoid_h(lambda e: 0.5 * e * e + gam * (m2 * e) ** 2, T, min(strip / m2, eta_t(p)))


def S_cart64(p) -> float:
    act, n, mun = p.activation, p.d - 1, p.mu_norm
    gam, strip = g_growth(act)
    if act.strip <= 0:
        gam = kinked_gamma(p, n)
    R, wR = chi2_trap(n, p._refined(chi2_step(n, T64)), TAIL64)
    x, wx = gauss_trap(p._refined(s_cart_step(p, gam, strip, mun, T64)), TAIL64)
    t = p.s * np.sqrt((x[:, None] ** 2 + R[None, :]) / p.d)
    g = make_g64(act)
    G = g(mun * x[:, None], t)
    return p.abar**2 * math.fsum(wx * ((G * G) @ wR))


def C_cart64(p, v: np.ndarray) -> float:
    act, d, s = p.activation, p.d, p.s
    vn, m1, m2 = p._geometry(v)
    n = d - 2
    gam, strip = g_growth(act)
    kinked = act.strip <= 0
    if kinked:
        gam = kinked_gamma(p, n)
    # x1: sigma(||v|| x1) times g(m1 x1 + ...)
    if kinked:
        a = max(abs(m1) * math.sqrt(2.0 * gam), 1.0)
        x1, w1 = split_rule(math.sqrt(2.0 * TAIL64) + 1.0, p._refined(1.0 / a), GL_NODES, lambda x: np.exp(-0.5 * x * x))
    else:
        x1, w1 = gauss_trap(p._refined(x1_step(p, gam, strip, vn, m1, T64)), TAIL64)
    sig = act.f(vn * x1)
    keep = sig != 0
    x1, w1, sig = x1[keep], w1[keep], sig[keep]
    if m2 == 0.0:
        x2, w2 = np.zeros(1), np.ones(1)
    else:
        x2, w2 = gauss_trap(p._refined(x2_step(p, gam, strip, m2, T64)), TAIL64)
    if n > 0:
        R, wR = chi2_trap(n, p._refined(chi2_step(n, T64)), TAIL64)
    else:
        R, wR = np.zeros(1), np.ones(1)
    g = make_g64(act)
    base = x2[:, None] ** 2 + R[None, :]
    inner = np.empty(x1.size)
    for i, xi in enumerate(x1):
        t = s * np.sqrt((xi * xi + base) / d)
        inner[i] = w2 @ g(m1 * xi + m2 * x2[:, None], t) @ wR
    return p.abar * math.fsum(w1 * sig * inner)
