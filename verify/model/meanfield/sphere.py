"""The sphere route (float64) for positively homogeneous sigma with a closed-form g.

Sphere route (sigma positively homogeneous of degree k: ReLU, leaky ReLU, abs, linear, step, sign).
Then g(l m, l t) = l^k g(m, t) (l > 0), so f_inf(x) = abar ||x||^k G(<mu, x_hat>), G(m) = g(m, tau),
and ||x|| is independent of the direction x_hat (uniform on S^(d-1)):

    S_inf    = abar^2 m_k E G(||mu|| th1)^2,                                          (1-D)
    C_inf(v) = abar m_k ||v||^k E G(m1 th1 + m2 sqrt(1 - th1^2) om) sigma(th1),        (2-D)

with m_k = E ||x||^(2k) = d (d + 2) ... (d + 2k - 2), th1 = <e1, x_hat> (e1 = mu_hat for S_inf,
e1 = v_hat for C_inf), m1 = <mu, v_hat>, m2 = ||mu - m1 v_hat|| and e2 = (mu - m1 v_hat) / m2. The
first coordinate th1 of a uniform point on S^(d-1) has density proportional to
(1 - th1^2)^((d-3)/2) (x1^2 / ||x||^2 ~ Beta(1/2, (d-1)/2) for gaussian x), and given th1 the
rest is sqrt(1 - th1^2) times a uniform point of S^(d-2), whose first coordinate om has density
proportional to (1 - om^2)^((d-4)/2) (d = 2: om = +-1). Substituting th1 = tanh(z1),
om = tanh(z2) makes the weights sech(z1)^(d-1) and sech(z2)^(d-2): analytic in the strip
|Im z| < pi/2 and decaying exponentially, with no endpoint singularity for any d >= 2. The
variables are standardized, z = u / sqrt(n) (n = d-1 or d-2), so sech(u / sqrt n)^n ~ exp(-u^2/2)
for large n and node counts do not grow with d. The kink of sigma(th1) sits at u1 = 0, where the
C_inf rule is split ("rotate so the kink lies on an axis and split there"). This route has no
singularity at x = 0, which the cartesian coordinates have for kinked sigma (g(m, t) loses its
smoothness as t = tau ||x|| -> 0).
"""

from __future__ import annotations

import math

import numpy as np

from verify.model.meanfield.rules import (
    GL_NODES,
    T64,
    TAIL64,
    sech_log_growth,
    sech_tail,
    sech_trap,
    sech_weight,
    split_rule,
    trapezoid_h,
)
from verify.model.meanfield.smoothing import make_g64


def S_sphere64(p) -> float:
    n, tau, mun = p.d - 1, p.tau, p.mu_norm
    g = make_g64(p.activation)
    lg, eta_max = sech_log_growth(n, mun / tau, 2.0)
    u, w = sech_trap(n, p._refined(trapezoid_h(lg, T64, eta_max)), TAIL64)
    G = g(mun * np.tanh(u / math.sqrt(n)), tau)
    return p.abar**2 * p.moment * math.fsum(w * G * G)


def C_sphere64(p, v: np.ndarray) -> float:
    act, d, tau = p.activation, p.d, p.tau
    vn, m1, m2 = p._geometry(v)
    if vn == 0.0:
        return 0.0  # sigma(0) = 0 for every positively homogeneous activation here
    g = make_g64(act)
    n1 = d - 1
    r1 = math.sqrt(n1)
    kappa1 = p.mu_norm / tau / r1  # d(m / tau) / du1 at u1 = 0, at most
    width = p._refined(min(1.0, 1.0 / kappa1) if kappa1 > 0 else 1.0)
    u1, w1 = split_rule(sech_tail(n1, TAIL64), width, GL_NODES, lambda u: sech_weight(u, n1))
    th1, c1 = np.tanh(u1 / r1), 1.0 / np.cosh(u1 / r1)
    sig = act.f(th1)
    keep = sig != 0
    th1, c1, sig, w1 = th1[keep], c1[keep], sig[keep], w1[keep]
    if m2 == 0.0:
        inner = g(m1 * th1, tau)
    else:
        if d == 2:
            om, w2 = np.array([-1.0, 1.0]), np.array([0.5, 0.5])
        else:
            n2 = d - 2
            lg, eta_max = sech_log_growth(n2, m2 / tau, 1.0)
            u2, w2 = sech_trap(n2, p._refined(trapezoid_h(lg, T64, eta_max)), TAIL64)
            om = np.tanh(u2 / math.sqrt(n2))
        inner = g(m1 * th1[:, None] + m2 * c1[:, None] * om[None, :], tau) @ w2
    return p.abar * p.moment * vn**act.degree * math.fsum(w1 * sig * inner)
