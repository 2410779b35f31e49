"""The polar route (float64) for smooth sigma: Q = ||x||^2 ~ chi^2_d, the direction on the sphere.

Polar route (smooth sigma). Q = ||x||^2 ~ chi^2_d is independent of x_hat; with t = tau sqrt(Q),

    S_inf    = abar^2 E g(sqrt(Q) ||mu|| th1, t)^2,                                              (2-D)
    C_inf(v) = abar E g(sqrt(Q) (m1 th1 + m2 sqrt(1 - th1^2) om), t) sigma(sqrt(Q) ||v|| th1),    (3-D)

(th1, om) as in `sphere`. Q is integrated in u with Q = d exp(y), y = sqrt(2/d) u, where the integrand is
analytic for |Im y| < pi/2 (no t -> 0 singularity at finite u, unlike the cartesian route for
strip-limited sigma such as tanh, sigmoid, softplus, whose g(m, t) is not analytic at t = 0).
"""

from __future__ import annotations

import math

import numpy as np

from verify.model.meanfield.rules import (
    GEGENBAUER_MAX_N,
    T64,
    TAIL64,
    chi2_step,
    chi2_trap,
    gauss_nodes_for,
    gegenbauer_rule64,
    sech_tail,
    sech_trap,
    trapezoid_h,
)
from verify.model.meanfield.smoothing import g_growth, make_g64, poly_degree


def margins(p, T: float, tail: float) -> tuple[float, float]:
    """(T, tail) widened for polynomial activations (their growth is not gaussian-bounded)."""
    p = poly_degree(p.activation)
    return T + 2.0 * p, tail + 4.0 * p


def q_hi(p) -> float:
    """sqrt of a high quantile of Q ~ chi^2_d (mean d, sd sqrt(2d)): the scale of sqrt(Q) x_hat."""
    return math.sqrt(p.d + 4.0 * math.sqrt(2.0 * p.d) + 8.0)


def dir_growth(p, n: int, a_g: float, power: float, a_s: float = 0.0):
    """(log growth, eta_max) in u (th = tanh(u / sqrt n)) of sech^n times g(a_g th)^power
    times sigma(a_s th): g grows like exp(gamma Im^2), sigma like exp(growth Im^2)."""
    act = p.activation
    gam, strip = g_growth(act)
    sg, sstrip = float(act.growth), float(act.strip)
    r = math.sqrt(n)

    def lg(eta):
        tn = np.tan(eta / r)
        return -n * np.log(np.cos(eta / r)) + power * gam * (a_g * tn) ** 2 + sg * (a_s * tn) ** 2

    eta = 0.5 * math.pi
    if a_g > 0 and math.isfinite(strip):
        eta = min(eta, math.atan(0.9 * strip / a_g))
    if a_s > 0 and math.isfinite(sstrip):
        eta = min(eta, math.atan(0.9 * sstrip / a_s))
    return lg, eta * r


def dir_rule64(p, n: int, a_g: float, power: float, a_s: float, T: float, tail: float):
    """(th, weights) for the density prop. to (1 - th^2)^((n-2)/2) (float64): Gauss-Gegenbauer
    for n <= GEGENBAUER_MAX_N (exact weight; the tanh map would give slowly decaying tails for
    small n), else the trapezoidal rule in u with th = tanh(u / sqrt n)."""
    N, h = dir_rule_choice(p, n, a_g, power, a_s, T, tail)
    if h is None:
        return gegenbauer_rule64(N, n)
    u, w = sech_trap(n, h, tail)
    return np.tanh(u / math.sqrt(n)), w


def dir_rule_choice(p, n: int, a_g: float, power: float, a_s: float, T: float, tail: float):
    """(N, None) for an N-point Gauss-Gegenbauer rule or (N, h) for the trapezoidal rule in u,
    whichever needs fewer nodes by its a-priori bound (Gauss-Gegenbauer only for n <= 100)."""
    act = p.activation
    lg, eta = dir_growth(p, n, a_g, power, a_s)
    h = p._refined(trapezoid_h(lg, T, eta))
    n_trap = 2 * int(math.ceil((sech_tail(n, tail) + h) / h)) + 1
    if n <= GEGENBAUER_MAX_N:
        gam, strip = g_growth(act)
        N = max(gauss_nodes_for(a_g, T, power * gam, strip), gauss_nodes_for(a_s, T, float(act.growth), float(act.strip)))
        N = (N + 2 * poly_degree(act)) * p.refine
        if N <= n_trap:
            return N, None
    return n_trap, h


def S_polar64(p) -> float:
    act, d, tau, mun = p.activation, p.d, p.tau, p.mu_norm
    T, tail = margins(p, T64, TAIL64)
    th1, w1 = dir_rule64(p, d - 1, q_hi(p) * mun, 2.0, 0.0, T, tail)
    Q, wQ = chi2_trap(d, p._refined(chi2_step(d, T)), tail)
    sq = np.sqrt(Q)
    G = make_g64(act)(mun * sq[:, None] * th1[None, :], tau * sq[:, None])
    return p.abar**2 * math.fsum(wQ * ((G * G) @ w1))


def C_polar64(p, v: np.ndarray) -> float:
    act, d, tau = p.activation, p.d, p.tau
    vn, m1, m2 = p._geometry(v)
    T, tail = margins(p, T64, TAIL64)
    qhi = q_hi(p)
    g = make_g64(act)
    # g(sqrt(Q) (m1 th1 + m2 sqrt(1 - th1^2) om)): both terms move with th1 off the real axis
    th1, w1 = dir_rule64(p, d - 1, qhi * p.mu_norm, 1.0, qhi * vn, T, tail)
    c1 = np.sqrt((1.0 - th1) * (1.0 + th1))
    if m2 == 0.0:
        om, w2 = np.zeros(1), np.ones(1)
    elif d == 2:
        om, w2 = np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    else:
        om, w2 = dir_rule64(p, d - 2, qhi * m2, 1.0, 0.0, T, tail)
    Q, wQ = chi2_trap(d, p._refined(chi2_step(d, T)), tail)
    direction = m1 * th1[:, None] + m2 * c1[:, None] * om[None, :]
    acc = np.empty(Q.size)
    for k, q in enumerate(Q):
        sq = math.sqrt(q)
        sig = act.f(sq * vn * th1)
        acc[k] = (w1 * sig) @ g(sq * direction, tau * sq) @ w2
    return p.abar * math.fsum(wQ * acc)
