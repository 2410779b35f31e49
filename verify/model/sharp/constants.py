r"""The sharp constants of the simplification error, evaluated to `dps` digits with an error estimate.

For a compressed network (b, V) and the target law (mu, s, abar, var_a, xi) of MATH.md section 1:

  L_inf(b, V) - L~(b, V) = (c1_gauss + kappa4 c_kappa) / d + O(d^-2)         (`c1`, `c1_kappa4`)
  d tau^2 -> tau2_leading (var_a = 0),   tau^2 -> tau2_leading (var_a > 0)    (`tau2_leading`)

with the coefficients of `verify.model.sharp.derivation.derive()` (docs/sharp-constants.md).

Reduction to one dimension (c1). Let e be the unit vector along mu (any unit vector when mu = 0),
z = <e, x> ~ N(0, 1), and for each neuron alpha_j = <v_j, e>, beta_j = ||v_j - alpha_j e||.
Given z, <v_j, x> = alpha_j z + beta_j zeta_j with zeta_j ~ N(0, 1) independent of z, so
  E[sigma(<v_j, x>) | z] = R(alpha_j z, beta_j),
  E[sigma(<v_j, x>) (||Px||^2 - k) | z] = (z^2 - 1) R(alpha_j z, beta_j) + beta_j^2 R_mm(alpha_j z, beta_j)
(the span's other coordinates are independent of z with E[y^2 - 1] = 0; the last term is the Stein
step of the derivation), and with A = R_mm(||mu|| z, s), B = R_mmmm(||mu|| z, s), f~ = abar R(||mu|| z, s):
  E[R_mm^2]               = E_z A^2,
  E[R_mm u (f~ - g)]      = E_z A ((z^2 - 1) f~ - sum_j b_j ((z^2 - 1) R_j + beta_j^2 R_mm,j)),
  E[R_mmmm (f~ - g)]      = E_z B (f~ - sum_j b_j R_j).
Each is a one-dimensional Gaussian integral of functions that are smooth except at z = 0 (where
beta_j = 0 leaves sigma's kink or jump), evaluated by mpmath.quad on (-oo, 0] and [0, oo).
Error estimate: the same integrals by tanh-sinh and by Gauss-Legendre at dps + 10 digits; the
reported error is their difference plus 10^-(dps + 5) (both rules converge exponentially on these
analytic, Gaussian-decaying pieces, so their difference bounds the error of the better one in
practice; the constants are then rounded to dps digits).

tau2. H(w) = abar k(||w||^2, r^2, <w, mu>) - sum_j b_j k(||w||^2, ||v_j||^2, <w, v_j>)
(r^2 = ||mu||^2 + s^2) at the typical point q0 = r^2, <w, mu> = ||mu||^2, <w, v_j> = <mu, v_j>; its
partial derivatives H_q (in ||w||^2) and H_c (in the inner products) come from sympy derivatives
of the closed-form kernel `Activation.k_sym`, evaluated in mpmath;
gamma = (2 H_q + H_c,mu) mu + sum_j H_c,j v_j, and
  tau2_leading = 4 abar^2 (t_lin s^2 ||gamma||^2 + t_q (kappa4 + 2) s^4 H_q^2)   (var_a = 0),
  tau2_leading = 4 var_a H0^2                                                    (var_a > 0).
Domain: activations with a closed-form smoothing R (two-slope: relu, leaky relu, abs, linear;
step, sign, erf, hermite) and, for tau2, a closed-form kernel; s > 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp

from verify.errors import InputError
from verify.kernels import Activation, get_activation
from verify.model.sharp.derivation import Derivation, derive, kappa4, smoothing_sym


@dataclass(frozen=True)
class SharpConstants:
    """c1 (gaussian xi, plus kappa4 c_kappa for another law), c1_kappa4 (= c_kappa) and
    tau2_leading, as mpmath numbers at `dps` digits, each with an error estimate; `parts` holds the
    three integrals E[R_mm^2], E[R_mm u (f~ - g)], E[R_mmmm (f~ - g)] and H0, H_q, ||gamma||^2."""

    c1: mpmath.mpf
    c1_err: mpmath.mpf
    c1_gauss: mpmath.mpf
    c1_kappa4: mpmath.mpf
    c1_kappa4_err: mpmath.mpf
    tau2_leading: mpmath.mpf | None
    tau2_err: mpmath.mpf | None
    kappa4: Fraction
    xi: str
    dps: int
    parts: dict


@lru_cache(maxsize=None)
def _smoothing_mp(act: Activation):
    """(R, R_mm, R_mmmm) as mpmath functions of (m, tau), tau > 0, from sympy (None without a closed form)."""
    m = sp.Symbol("m", real=True)
    tau = sp.Symbol("tau", positive=True)
    R = smoothing_sym(act, m, tau)
    if R is None:
        return None
    fs = [sp.lambdify((m, tau), sp.diff(R, m, n), modules="mpmath") for n in (0, 2, 4)]
    return tuple(fs)


@lru_cache(maxsize=None)
def _kernel_grads_mp(act: Activation):
    """(k, dk/dq1, dk/dc) of the closed-form kernel as mpmath functions of (q1, q2, c)."""
    if act.k_sym is None:
        return None
    q1, q2 = sp.symbols("q1 q2", positive=True)
    c = sp.Symbol("c", real=True)
    k = act.k_sym(q1, q2, c)
    return tuple(sp.lambdify((q1, q2, c), f, modules="mpmath") for f in (k, sp.diff(k, q1), sp.diff(k, c)))


def supports(activation) -> bool:
    """True when the constants are implemented for this activation (closed-form smoothing)."""
    return _smoothing_mp(get_activation(activation)) is not None


def _gauss_mean(f, method: str):
    """E f(z), z ~ N(0, 1), split at 0."""
    c = 1 / mpmath.sqrt(2 * mpmath.pi)
    g = lambda z: f(z) * mpmath.exp(-z * z / 2)  # noqa: E731
    return c * (mpmath.quad(g, [-mpmath.inf, 0], method=method) + mpmath.quad(g, [0, mpmath.inf], method=method))


def _integrals(act, mu, s, abar, b, V):
    """The three integrals of c1 (module docstring) at the current mpmath precision."""
    R, R2, R4 = _smoothing_mp(act)
    mun = mpmath.sqrt(mpmath.fsum(mpmath.mpf(float(x)) ** 2 for x in mu))
    d = len(mu)
    if mun > 0:
        e = [mpmath.mpf(float(x)) / mun for x in mu]
    else:
        e = [mpmath.mpf(1)] + [mpmath.mpf(0)] * (d - 1)
    s = mpmath.mpf(s)
    abar = mpmath.mpf(abar)
    neurons = []
    for bj, v in zip(b, V):
        vv = [mpmath.mpf(float(x)) for x in v]
        alpha = mpmath.fsum(x * y for x, y in zip(vv, e))
        perp2 = mpmath.fsum((x - alpha * y) ** 2 for x, y in zip(vv, e))
        neurons.append((mpmath.mpf(float(bj)), alpha, mpmath.sqrt(perp2) if perp2 > 0 else mpmath.mpf(0)))

    def sig(m):
        return act.f_mp(m)

    def cond(z):  # (E[g | z], E[g (||Px||^2 - k) | z])
        G = U = mpmath.mpf(0)
        for bj, al, be in neurons:
            if be > 0:
                r = R(al * z, be)
                G += bj * r
                U += bj * ((z * z - 1) * r + be * be * R2(al * z, be))
            else:
                r = sig(al * z)
                G += bj * r
                U += bj * (z * z - 1) * r
        return G, U

    memo = {}

    def point(z):  # (A, B, f~, E[g | z], E[g u | z]) at z, computed once per node for the three integrals
        if z not in memo:
            memo[z] = (R2(mun * z, s), R4(mun * z, s), abar * R(mun * z, s)) + cond(z)
        return memo[z]

    def i1(z):
        return point(z)[0] ** 2

    def i2(z):
        A, _, ft, _, U = point(z)
        return A * ((z * z - 1) * ft - U)

    def i3(z):
        _, B, ft, G, _ = point(z)
        return B * (ft - G)

    def parts(method):
        memo.clear()
        return (_gauss_mean(i1, method), _gauss_mean(i2, method), _gauss_mean(i3, method))

    return parts


def _tau2_parts(act, mu, s, abar, b, V):
    """(H0, H_q, ||gamma||^2) at the current precision (module docstring)."""
    k, kq, kc = _kernel_grads_mp(act)
    mu_mp = [mpmath.mpf(float(x)) for x in mu]
    mu2 = mpmath.fsum(x * x for x in mu_mp)
    s = mpmath.mpf(s)
    abar = mpmath.mpf(abar)
    r2 = mu2 + s * s
    H0 = abar * k(r2, r2, mu2)
    Hq = abar * kq(r2, r2, mu2)
    gamma = [abar * kc(r2, r2, mu2) * x for x in mu_mp]
    for bj, v in zip(b, V):
        bj = mpmath.mpf(float(bj))
        vv = [mpmath.mpf(float(x)) for x in v]
        q2 = mpmath.fsum(x * x for x in vv)
        if q2 == 0:
            raise InputError("tau2_leading: a neuron of V is zero; drop it (its sigma(0) is a constant)")
        c = mpmath.fsum(x * y for x, y in zip(mu_mp, vv))
        H0 -= bj * k(r2, q2, c)
        Hq -= bj * kq(r2, q2, c)
        gc = bj * kc(r2, q2, c)
        gamma = [g - gc * x for g, x in zip(gamma, vv)]
    gamma = [g + 2 * Hq * x for g, x in zip(gamma, mu_mp)]
    return H0, Hq, mpmath.fsum(g * g for g in gamma)


def sharp_constants(activation, mu, s: float, b, V, *, abar: float = 1.0, var_a: float = 0.0,
                    xi: str = "gaussian", sparsity: float = 0.1, dps: int = 30,
                    derivation: Derivation | None = None) -> SharpConstants:
    """c1, c1_kappa4 and tau2_leading of the network (b, V) (rows of V in R^d) for the target law
    with mean mu (in R^d), s, abar, var_a and xi law (module docstring), at `dps` digits."""
    act = get_activation(activation)
    if _smoothing_mp(act) is None:
        raise InputError(f"the sharp constants need a closed-form gaussian smoothing of sigma; {act.label} has none "
                         "(closed forms: relu, leaky_relu, abs, linear, step, sign, erf, hermite)")
    if not (s > 0):
        raise InputError(f"the sharp constants need s > 0, got {s!r}")
    if dps < 10:
        raise InputError(f"dps = {dps}: at least 10 digits are needed for the error estimate to mean anything")
    b = np.asarray(b, dtype=float).reshape(-1)
    V = np.atleast_2d(np.asarray(V, dtype=float))
    mu = np.asarray(mu, dtype=float).reshape(-1)
    if V.shape != (b.size, mu.size):
        raise InputError(f"V has shape {V.shape}, expected ({b.size}, {mu.size}) for b and mu")
    D = derivation or derive()
    if not D.passed:
        raise InputError("the derivation of the sharp constants failed a sympy step; nothing is evaluated")
    k4 = Fraction(str(kappa4(xi, Fraction(str(sparsity)))))  # p as the decimal it was written as
    W = lambda r: mpmath.mpf(sp.Rational(r).p) / sp.Rational(r).q  # noqa: E731 -- exact rational -> mpf
    results = {}
    for method in ("tanh-sinh", "gauss-legendre"):
        with mpmath.workdps(dps + 10):
            T1, T2, T3 = _integrals(act, mu, s, abar, b, V)(method)
            sm = mpmath.mpf(s)
            ab = mpmath.mpf(abar)
            c1g = W(D.w1) * ab**2 * sm**4 * T1 + W(D.w2) * ab * sm**2 * T2 + W(D.w3) * ab * sm**4 * T3
            ck = W(D.wk) * ab * sm**4 * T3
            results[method] = (c1g, ck, T1, T2, T3)
    (c1g, ck, T1, T2, T3), alt = results["tanh-sinh"], results["gauss-legendre"]
    with mpmath.workdps(dps + 10):
        floor = mpmath.mpf(10) ** -(dps + 5)
        kq = mpmath.mpf(k4.numerator) / k4.denominator
        c1 = c1g + kq * ck
        c1_err = abs(c1 - (alt[0] + kq * alt[1])) + floor
        ck_err = abs(ck - alt[1]) + floor
        tau2 = tau2_err = None
        parts = {"E[R_mm^2]": T1, "E[R_mm u (f~ - g)]": T2, "E[R_mmmm (f~ - g)]": T3}
        if _kernel_grads_mp(act) is not None:
            H0, Hq, g2 = _tau2_parts(act, mu, s, abar, b, V)
            sm = mpmath.mpf(s)
            if var_a > 0:
                tau2 = 4 * mpmath.mpf(var_a) * H0**2
            else:
                tau2 = 4 * mpmath.mpf(abar) ** 2 * (W(D.t_lin) * sm**2 * g2 + W(D.t_q) * (kq + 2) * sm**4 * Hq**2)
            tau2_err = abs(tau2) * mpmath.mpf(10) ** -(dps + 3) + floor  # closed forms: rounding only
            parts.update({"H0": H0, "H_q": Hq, "||gamma||^2": g2})
    with mpmath.workdps(dps):
        rnd = lambda x: +x if x is not None else None  # noqa: E731
        return SharpConstants(c1=rnd(c1), c1_err=rnd(c1_err), c1_gauss=rnd(c1g), c1_kappa4=rnd(ck), c1_kappa4_err=rnd(ck_err),
                              tau2_leading=rnd(tau2), tau2_err=rnd(tau2_err), kappa4=k4, xi=xi, dps=dps,
                              parts={k_: rnd(v) for k_, v in parts.items()})
