"""The mpmath twin of the three routes, and the mpmath S_inf, C_inf and L_inf of the problem.

mpmath path (`*_mp`, about `dps` digits, working precision dps + 12): the same reductions with
other rules and exact normalizations. Sphere route: S_inf by mpmath.quad (tanh-sinh) over u; C_inf
by mpmath.quad over u1 split at the kink u1 = 0, around a Gauss-Gegenbauer sum in om (Newton-refined
in mpmath; n = d - 2 <= 100) or a trapezoidal sum in u2; weights normalized by
sqrt(n) B(1/2, n/2). Polar and cartesian routes: nested sums (Gauss-Gegenbauer or trapezoidal rules
at exp(-(dps + 5) ln 10)) with the exact chi-square density (mpmath.loggamma). Inner products are
formed exactly from the float inputs (mpmath.fdot). dps 30 against dps 40 agree to ~1e-32. Cost at
dps 30: S_inf 0.1-0.5 s; C_inf (sphere) 0.5-3 s for any d; polar C_inf ~1-6 s at dps 16 (erf).
"""

from __future__ import annotations


import mpmath
import numpy as np

from verify.errors import InputError
from verify.kernels import kernel_mp
from verify.model.meanfield.cartesian import kinked_gamma, s_cart_step, x1_step, x2_step
from verify.model.meanfield.polar import dir_rule_choice, margins, q_hi
from verify.model.meanfield.rules import GEGENBAUER_MAX_N, chi2_step, gauss_nodes_for, sech_log_growth, trapezoid_h
from verify.model.meanfield.rules_mp import (
    MP_GUARD,
    mp_chi2_trap,
    mp_dot,
    mp_gauss_trap,
    mp_gegenbauer_rule,
    mp_quad,
    mp_sech_norm,
    mp_sech_trap,
    mp_sech_weight,
    mp_T,
    mp_vec,
)
from verify.model.meanfield.smoothing import g_growth, make_g_mp


def mp_scalars(p):
    mu = mp_vec(p.mu)
    with mpmath.workprec(mpmath.mp.prec + 120):
        mu2 = mp_dot(mu, mu)
    return mu, mu2, mpmath.mpf(p.s), mpmath.mpf(p.abar), mpmath.mpf(p.s) / mpmath.sqrt(p.d)


def mp_geometry(p, v: np.ndarray):
    """(||v||, m1, m2) from exact inner products of the float inputs."""
    mu, mu2, *_ = mp_scalars(p)
    vm = mp_vec(v)
    with mpmath.workprec(mpmath.mp.prec + 120):
        v2, mv = mp_dot(vm, vm), mp_dot(mu, vm)
        if v2 == 0:
            return mpmath.mpf(0), mpmath.mpf(0), mpmath.sqrt(mu2)
        # ||mu||^2 ||v||^2 - <mu, v>^2 >= 0 exactly; formed at 120 extra bits
        gram = mpmath.fsub(mpmath.fmul(mu2, v2), mpmath.fmul(mv, mv))
    vn = mpmath.sqrt(v2)
    return vn, mv / vn, mpmath.sqrt(max(gram, 0) / v2)


def S_sphere_mp(p, dps: int):
    _, mu2, _, abar, tau = mp_scalars(p)
    mun = mpmath.sqrt(mu2)
    n = p.d - 1
    rn = mpmath.sqrt(n)
    g = make_g_mp(p.activation, mp_T(dps))

    def f(u):
        G = g(mun * mpmath.tanh(u / rn), tau)
        return G * G * mp_sech_weight(u, n, rn)

    val = mp_quad(f, dps)
    return abar**2 * p.moment * val / mp_sech_norm(n)


def C_sphere_mp(p, v: np.ndarray, dps: int):
    act, d = p.activation, p.d
    _, _, _, abar, tau = mp_scalars(p)
    vn, m1, m2 = mp_geometry(p, v)
    if vn == 0:
        return mpmath.mpf(0)
    T = mp_T(dps)
    g = make_g_mp(act, T)
    n1 = d - 1
    r1 = mpmath.sqrt(n1)
    if m2 == 0:
        om, w2 = [], []
    elif d == 2:
        om, w2 = [mpmath.mpf(-1), mpmath.mpf(1)], [mpmath.mpf(1) / 2] * 2
    elif d - 2 <= GEGENBAUER_MAX_N:
        N = gauss_nodes_for(float(m2 / tau), T) * p.refine
        om, w2 = mp_gegenbauer_rule(N, d - 2, mpmath.mp.prec)
    else:
        n2 = d - 2
        lg, eta_max = sech_log_growth(n2, float(m2 / tau), 1.0)
        u2, w2 = mp_sech_trap(n2, p._refined(trapezoid_h(lg, T, eta_max)), T + 3.0)
        r2 = mpmath.sqrt(n2)
        om = [mpmath.tanh(u / r2) for u in u2]
    f1 = act.f_mp

    def outer(u1):
        th1 = mpmath.tanh(u1 / r1)
        sig = f1(th1)
        if sig == 0:
            return mpmath.mpf(0)
        if m2 == 0:
            inner = g(m1 * th1, tau)
        else:
            c1 = mpmath.sech(u1 / r1)
            a, b = m1 * th1, m2 * c1
            inner = mpmath.fsum(wj * g(a + b * oj, tau) for oj, wj in zip(om, w2))
        return mp_sech_weight(u1, n1, r1) * sig * inner

    val = mp_quad(outer, dps)
    return abar * p.moment * vn**act.degree * val / mp_sech_norm(n1)


def mp_dir_rule(p, n: int, a_g: float, power: float, a_s: float, T: float):
    """(th, weights) for the density prop. to (1 - th^2)^((n-2)/2): Gauss-Gegenbauer for
    n <= GEGENBAUER_MAX_N, else the trapezoidal rule in u (th = tanh(u / sqrt n))."""
    N, h = dir_rule_choice(p, n, a_g, power, a_s, T, T + 3.0)
    if h is None:
        return mp_gegenbauer_rule(N, n, mpmath.mp.prec)
    u, w = mp_sech_trap(n, h, T + 3.0)
    r = mpmath.sqrt(n)
    return [mpmath.tanh(ui / r) for ui in u], w


def mp_q_rule(p, T: float):
    return mp_chi2_trap(p.d, p._refined(chi2_step(p.d, T)), T + 3.0)


def S_polar_mp(p, dps: int):
    act, d = p.activation, p.d
    _, mu2, _, abar, tau = mp_scalars(p)
    mun = mpmath.sqrt(mu2)
    T = margins(p, mp_T(dps), 0.0)[0]
    th, w1 = mp_dir_rule(p, d - 1, q_hi(p) * float(mun), 2.0, 0.0, T)
    Q, wQ = mp_q_rule(p, T)
    g = make_g_mp(act, T)
    total = []
    for q, wq in zip(Q, wQ):
        sq = mpmath.sqrt(q)
        a, t = mun * sq, tau * sq
        total.append(wq * mpmath.fsum(wi * g(a * ti, t) ** 2 for ti, wi in zip(th, w1)))
    return abar**2 * mpmath.fsum(total)


def C_polar_mp(p, v: np.ndarray, dps: int):
    act, d = p.activation, p.d
    _, _, _, abar, tau = mp_scalars(p)
    vn, m1, m2 = mp_geometry(p, v)
    T = margins(p, mp_T(dps), 0.0)[0]
    qhi = q_hi(p)
    th, w1 = mp_dir_rule(p, d - 1, qhi * p.mu_norm, 1.0, qhi * float(vn), T)
    if m2 == 0:
        om, w2 = [mpmath.mpf(0)], [mpmath.mpf(1)]
    elif d == 2:
        om, w2 = [mpmath.mpf(-1), mpmath.mpf(1)], [mpmath.mpf(1) / 2] * 2
    else:
        om, w2 = mp_dir_rule(p, d - 2, qhi * float(m2), 1.0, 0.0, T)
    Q, wQ = mp_q_rule(p, T)
    g = make_g_mp(act, T)
    f = act.f_mp
    cth = [mpmath.sqrt(1 - ti * ti) for ti in th]
    total = []
    for q, wq in zip(Q, wQ):
        sq = mpmath.sqrt(q)
        t = tau * sq
        acc = []
        for ti, ci, wi in zip(th, cth, w1):
            a, b = sq * m1 * ti, sq * m2 * ci
            inner = mpmath.fsum(wj * g(a + b * oj, t) for oj, wj in zip(om, w2))
            acc.append(wi * f(sq * vn * ti) * inner)
        total.append(wq * mpmath.fsum(acc))
    return abar * mpmath.fsum(total)


def S_cart_mp(p, dps: int):
    act = p.activation
    _, mu2, s, abar, _ = mp_scalars(p)
    mun = mpmath.sqrt(mu2)
    n, d = p.d - 1, p.d
    T = mp_T(dps)
    tail = T + 3.0
    gam, strip = g_growth(act)
    if act.strip <= 0:
        gam = kinked_gamma(p, n)
    mf = float(mun)
    R, wR = mp_chi2_trap(n, p._refined(chi2_step(n, T)), tail)
    x, wx = mp_gauss_trap(p._refined(s_cart_step(p, gam, strip, mf, T)), tail)
    g = make_g_mp(act, T)
    total = []
    for Rj, wj in zip(R, wR):
        acc = mpmath.fsum(wi * g(mun * xi, s * mpmath.sqrt((xi * xi + Rj) / d)) ** 2 for xi, wi in zip(x, wx))
        total.append(wj * acc)
    return abar**2 * mpmath.fsum(total)


def C_cart_mp(p, v: np.ndarray, dps: int):
    act, d = p.activation, p.d
    _, _, s, abar, _ = mp_scalars(p)
    vn, m1, m2 = mp_geometry(p, v)
    T = mp_T(dps)
    tail = T + 3.0
    n = d - 2
    gam, strip = g_growth(act)
    if act.strip <= 0:
        raise InputError("the mpmath cartesian route is for smooth activations; kinked ones use the sphere route")
    fv, f1, f2 = float(vn), float(m1), float(m2)
    x1, w1 = mp_gauss_trap(p._refined(x1_step(p, gam, strip, fv, f1, T)), tail)
    if m2 == 0:
        x2, w2 = [mpmath.mpf(0)], [mpmath.mpf(1)]
    else:
        x2, w2 = mp_gauss_trap(p._refined(x2_step(p, gam, strip, f2, T)), tail)
    if n > 0:
        R, wR = mp_chi2_trap(n, p._refined(chi2_step(n, T)), tail)
    else:
        R, wR = [mpmath.mpf(0)], [mpmath.mpf(1)]
    g = make_g_mp(act, T)
    total = []
    for xi, wi in zip(x1, w1):
        sig = act.f_mp(vn * xi)
        if sig == 0:
            continue
        a = m1 * xi
        acc = []
        for xj, wj in zip(x2, w2):
            m = a + m2 * xj
            q = xi * xi + xj * xj
            acc.append(wj * mpmath.fsum(wk * g(m, s * mpmath.sqrt((q + Rk) / d)) for Rk, wk in zip(R, wR)))
        total.append(wi * sig * mpmath.fsum(acc))
    return abar * mpmath.fsum(total)


def check_dps(dps) -> int:
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or not 10 <= dps <= 200:
        raise InputError(f"dps must be an integer in 10..200, got {dps!r}")
    return int(dps)


def S_inf_mp(p, dps: int = 30) -> mpmath.mpf:
    """S_inf to about `dps` significant digits (cached per dps)."""
    dps = check_dps(dps)
    key = ("S", dps)
    if key not in p._mp_cache:
        with mpmath.workdps(dps + MP_GUARD):
            val = {"sphere": S_sphere_mp, "polar": S_polar_mp, "cartesian": S_cart_mp}[p.route](p, dps)
        with mpmath.workdps(dps):
            p._mp_cache[key] = +val
    return p._mp_cache[key]


def C_inf_mp(p, v, dps: int = 30) -> mpmath.mpf:
    """C_inf(v) to about `dps` significant digits, for one vector v (d,) (cached per v and dps)."""
    dps = check_dps(dps)
    V, single = p._vectors(v)
    if not single:
        raise InputError("C_inf_mp takes one vector of shape (d,)")
    key = ("C", dps, V[0].tobytes())
    if key not in p._mp_cache:
        with mpmath.workdps(dps + MP_GUARD):
            val = {"sphere": C_sphere_mp, "polar": C_polar_mp, "cartesian": C_cart_mp}[p.route](p, V[0], dps)
        with mpmath.workdps(dps):
            p._mp_cache[key] = +val
    return p._mp_cache[key]


def L_inf_mp(p, b, V, dps: int = 30) -> mpmath.mpf:
    """L_inf(b, V) to about `dps` digits: S_inf_mp - 2 sum_j b_j C_inf_mp(v_j) + b^T K_VV b,
    K_VV by `kernel_mp` from exact inner products."""
    dps = check_dps(dps)
    b, V = p._bV(b, V)
    S = p.S_inf_mp(dps)
    C = [p.C_inf_mp(v, dps) for v in V]
    act = p.activation
    with mpmath.workdps(dps + MP_GUARD):
        Vm = [mp_vec(v) for v in V]
        bm = mp_vec(b)
        with mpmath.workprec(mpmath.mp.prec + 120):
            G = [[mp_dot(x, y) for y in Vm] for x in Vm]
        M = len(Vm)
        quad = mpmath.fsum(
            bm[j] * bm[k] * kernel_mp(act, G[j][j], G[k][k], G[j][k], dps + 10).value for j in range(M) for k in range(M)
        )
        total = S - 2 * mpmath.fsum(bj * Cj for bj, Cj in zip(bm, C)) + quad
    with mpmath.workdps(dps):
        return +total
