r"""The mean-field objective L_inf (MATH.md section 4) for gaussian xi, to 13+ digits in float64
and to `dps` digits in mpmath.

Target law (MATH.md section 1): w = mu + (s / sqrt(d)) xi, xi ~ N(0, I_d), a independent of w
with mean abar and variance var_a. With tau = s / sqrt(d) and

    g(m, t) = E_zeta sigma(m + t zeta),   zeta ~ N(0, 1),

the mean-field target is f_inf(x) = E[a sigma(<w, x>)] = abar g(<mu, x>, tau ||x||), and

    L_inf(b, V) = S_inf - 2 sum_j b_j C_inf(v_j) + b^T K_VV b,
    C_inf(v)    = E_x f_inf(x) sigma(<v, x>)  = abar E_w k_sigma(||w||^2, ||v||^2, <w, v>),
    S_inf       = E_x f_inf(x)^2              = abar^2 E_{w, w'} k_sigma(w, w'),
    D           = E[a^2] E_w k_sigma(||w||^2, ||w||^2, ||w||^2),
    E L_N - L_inf = (D - S_inf) / N           (`bias_coefficient` = D - S_inf).

C_inf(w) is also the function F(w) of MATH.md section 4 (tau^2 = 4 Var[a (F - G)]).

Closed forms of g (t > 0, x = m / t, Phi and phi the standard normal cdf and density):
  two-slope sigma(z) = A z + B |z| (ReLU A = B = 1/2, abs, leaky ReLU, linear):
      g = (A + B) m Phi(x) + (A - B) m Phi(-x) + 2 B t phi(x)   (ReLU: m Phi(x) + t phi(x));
  step: Phi(x);  sign: erf(x / sqrt 2);  erf: erf(m / sqrt(1 + 2 t^2)).
Any other smooth activation: g by the trapezoidal rule in zeta (`verify.kernels.quadrature`).

Three exact reductions ("routes"); `route="auto"` takes the sphere route for positively
homogeneous sigma with a closed-form g and the polar route for every other (smooth) sigma.

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

Polar route (smooth sigma). Q = ||x||^2 ~ chi^2_d is independent of x_hat; with t = tau sqrt(Q),

    S_inf    = abar^2 E g(sqrt(Q) ||mu|| th1, t)^2,                                              (2-D)
    C_inf(v) = abar E g(sqrt(Q) (m1 th1 + m2 sqrt(1 - th1^2) om), t) sigma(sqrt(Q) ||v|| th1),    (3-D)

(th1, om) as above. Q is integrated in u with Q = d exp(y), y = sqrt(2/d) u, where the integrand is
analytic for |Im y| < pi/2 (no t -> 0 singularity at finite u, unlike the cartesian route for
strip-limited sigma such as tanh, sigmoid, softplus, whose g(m, t) is not analytic at t = 0).

Cartesian route (any sigma; a cross-check of the other two). With e1 = mu_hat (S_inf) or
e1 = v_hat, e2 as above (C_inf), x = x1 e1 + x2 e2 + rest and R = ||rest||^2 ~ chi^2_n independent
of x1, x2 ~ N(0, 1):

    S_inf    = abar^2 E g(||mu|| x1, tau sqrt(x1^2 + R))^2,            n = d - 1   (2-D)
    C_inf(v) = abar E g(m1 x1 + m2 x2, tau sqrt(x1^2 + x2^2 + R)) sigma(||v|| x1),  n = d - 2  (3-D).

It converges slowly near x = 0 for kinked sigma (d = 8, ReLU: 1e-9) and for strip-limited sigma
(d <= 8: 1e-11 .. 1e-5); from d ~ 30 on it agrees with the sphere route for ReLU to rounding.

Chi-square variables (R ~ chi^2_n, Q ~ chi^2_d) are integrated in u with R = n exp(y),
y = sqrt(2/n) u: the density in u is proportional to exp(-(n/2)(e^y - 1 - y)) (e^y - 1 - y from
its Taylor series for |y| < 1/2, no cancellation), ~ exp(-u^2/2) for large n and decaying like
exp(sqrt(n/2) u) as u -> -inf: accurate for every n from 1 to 10^5 and beyond (plain
Gauss-Laguerre with parameter n/2 - 1 is not).

Rules (float64). Directions without a kink use the trapezoidal rule on the real line, which
converges geometrically for integrands analytic in a strip (L. N. Trefethen and J. A. C. Weideman,
"The exponentially convergent trapezoidal rule", SIAM Review 56 (2014), sections 3 and 5). The
step is the largest h with exp(log M(eta) - 2 pi eta / h) <= exp(-40) for some admissible eta,
log M(eta) the growth of the integrand on Im u = eta: -n log cos(eta / sqrt n) for the sech
weight, -(n/2) log cos(sqrt(2/n) eta) for the chi-square weight, eta^2/2 for the gaussian weight,
plus the growth of g (exp(Im(x)^2 / 2) for the closed forms above, exp(gamma Im(m)^2) for an
activation of growth gamma) and of sigma. Nodes stop where the weight falls below exp(-46) of its
peak. The kinked direction u1 in [-U, 0] and [0, U] uses composite 16-point Gauss-Legendre panels
of width min(1, 1/kappa1) (kappa1 the rate of change of G's scaled argument). In the polar route a
direction with small n uses Gauss-Gegenbauer (weight (1 - th^2)^((n-2)/2) exactly; nodes by
Golub-Welsch) when its a-priori node count (Bernstein ellipse bound) is below the trapezoid's.
Every weight set is normalized by its own sum (the chi-square and sech normalizations via gammaln
lose ~|log Gamma| ulp, 1e-10 at d = 10^5; the discrete sum is exact to the rule's own accuracy).
`refine` divides every step and panel width and multiplies Gauss node counts, for convergence
checks. Quadrature g (no closed form) uses the trapezoidal rule in zeta with the step of t's
power-of-2 bin.

Measured float64 accuracy (tests/test_meanfield.py and sweeps over d = 2 .. 10^5,
||mu|| in {0, 0.3, 1, 4}, s in {0.5, 2}): ReLU and abs against the mpmath path, worst 5e-16
relative for S_inf and C_inf, L_inf to ~1e-15; erf, hermite against mpmath ~1e-15; refine=2
against refine=1 for erf, sigmoid, softplus, tanh, gelu: <= 3e-15 (1e-14 of the scale of S_inf).
Times (one core, float64): S_inf ~1 ms; C_inf ~2-10 ms per vector (sphere route), 10 ms - 2 s
(polar route; quadrature g and small d, large s/||mu|| cost most).

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

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import mpmath
import numpy as np
from scipy import optimize, special

from verify.errors import InputError
from verify.kernels import Activation, get_activation, kernel, kernel_mp
from verify.kernels.activations import hermite_he
from verify.kernels.quadrature import trapezoid_rule, trapezoid_step

__all__ = ["MeanFieldProblem", "mean_field_problem"]

T64 = 40.0  # -log of the targeted discretization error of each float64 rule (4e-18)
TAIL64 = 46.0  # float64 rules drop weight below exp(-46) = 1e-20 of the peak
GL_NODES = 16  # Gauss-Legendre nodes per panel (float64)
MP_GUARD = 12  # guard digits of the mpmath path
MP_POINTS = (-8, -3, 0, 3, 8)  # breakpoints of mpmath.quad in the standardized u
GEGENBAUER_MAX_N = 100  # mpmath inner rule: Gauss-Gegenbauer for d - 2 <= this, else trapezoid
_ROUTES = ("auto", "sphere", "polar", "cartesian")
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------------------------
# g(m, t) = E sigma(m + t zeta): closed forms (float64 and mpmath side by side), else quadrature
# --------------------------------------------------------------------------------------------


def _closed_kind(act: Activation) -> str | None:
    if act.two_slope is not None:
        return "two_slope"
    if act.name in ("step", "sign", "erf", "hermite"):
        return act.name
    return None


def _hermite_terms(n: int) -> list[tuple[int, int]]:
    """(j, C(n, j) (j - 1)!!) for even j <= n: He_n is an Appell sequence, He_n(m + y) =
    sum_j C(n, j) He_(n-j)(m) y^j, and E (t zeta)^j = (j - 1)!! t^j for even j."""
    return [(j, math.comb(n, j) * math.prod(range(j - 1, 0, -2))) for j in range(0, n + 1, 2)]


def _poly_degree(act: Activation) -> int:
    """Degree of a polynomial activation (hermite n), else 0: polynomial growth widens the tails."""
    return int(act.param_dict["n"]) if act.name == "hermite" else 0


def _g64_closed(act: Activation, kind: str, m: np.ndarray, t: np.ndarray) -> np.ndarray:
    m, t = np.broadcast_arrays(np.asarray(m, dtype=float), np.asarray(t, dtype=float))
    if kind == "erf":
        return special.erf(m / np.sqrt(1.0 + 2.0 * t * t))
    if kind == "hermite":
        n = _poly_degree(act)
        out = sum(c * t**j * hermite_he(n - j, m) for j, c in _hermite_terms(n))
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


def _g_mp_closed(act: Activation, kind: str):
    """g(m, t) at the current mpmath precision (constants taken when called inside workdps)."""
    sqrt2 = mpmath.sqrt(2)
    inv_sqrt_2pi = 1 / mpmath.sqrt(2 * mpmath.pi)
    if kind == "erf":
        return lambda m, t: mpmath.erf(m / mpmath.sqrt(1 + 2 * t * t))
    if kind == "hermite":
        n = _poly_degree(act)
        terms = _hermite_terms(n)
        norm = 1 / mpmath.sqrt(mpmath.factorial(n))
        one = mpmath.mpf(1)
        return lambda m, t: norm * mpmath.fsum(c * t**j * hermite_he(n - j, m, one) for j, c in terms)
    if kind == "two_slope":
        A, B = (mpmath.mpf(v) for v in act.two_slope)
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


def _t_bin(t: float) -> int:
    """Bins of t by powers of 2 (the quadrature g uses the rule of its bin's upper edge 2^k)."""
    return max(-6, math.ceil(math.log2(t))) if t > 0 else -6


def _make_g64(act: Activation):
    """g(m, t) in float64: closed form, else the trapezoidal rule in zeta.

    The quadrature rule's step shrinks like 1/t (sigma(m + t zeta) has features of width 1/t in
    zeta), so points are grouped by t in powers of 2 and each group gets the rule of its upper edge
    (`trapezoid_step` with a = 2^k): large t, which only the far tails of the radius reach, no
    longer sets the cost of every point.
    """
    kind = _closed_kind(act)
    if kind is not None:
        return lambda m, t: _g64_closed(act, kind, m, t)
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


def _make_g_mp(act: Activation, T: float):
    """g(m, t) at the current mpmath precision: closed form, else the trapezoidal rule in zeta with
    the step of t's power-of-2 bin (as in `_make_g64`), rules cached per bin."""
    kind = _closed_kind(act)
    if kind is not None:
        return _g_mp_closed(act, kind)
    if act.strip <= 0:
        raise InputError(f"no rule for E sigma(m + t zeta) with {act.label}: kinked and without a closed form")
    rules: dict[int, tuple[list, list]] = {}
    f = act.f_mp

    def g(m, t):
        k = _t_bin(float(t))
        if k not in rules:
            a = 2.0**k
            rules[k] = trapezoid_rule(trapezoid_step(act, a, a * a, T), T, lib=mpmath)
        z, w = rules[k]
        return mpmath.fsum(wj * f(m + t * zj) for zj, wj in zip(z, w))

    return g


def _g_growth(act: Activation) -> tuple[float, float]:
    """(gamma, strip) with |g(m + i eta, t)| <~ exp(gamma eta^2 / t_scale^2) in |eta| < strip.

    Closed forms with x = m / t grow like exp(Im(x)^2 / 2); g of a smooth activation inherits the
    growth and strip of sigma (a gaussian average over real shifts)."""
    if _closed_kind(act) in ("two_slope", "step", "sign"):
        return 0.5, math.inf
    return float(act.growth), float(act.strip)


# --------------------------------------------------------------------------------------------
# Rules (float64): normalized weights on standardized variables
# --------------------------------------------------------------------------------------------


def _trapezoid_h(log_growth, T: float, eta_max: float) -> float:
    """Largest h with exp(log_growth(eta) - 2 pi eta / h) <= exp(-T) for some 0 < eta < eta_max."""
    cap = min(eta_max, 3.0 * math.sqrt(2.0 * T))
    eta = cap * np.linspace(0.0, 0.995, 400)[1:]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        lg = np.asarray(log_growth(eta), dtype=float)
        h = np.where(np.isfinite(lg), 2.0 * math.pi * eta / (T + np.maximum(lg, 0.0)), 0.0)
    return float(np.max(h))


def _gauss_trap(h: float, tail: float):
    """Trapezoidal rule for E f(Z), Z ~ N(0, 1): nodes k h with |k h| <= sqrt(2 tail) + h."""
    k = int(math.ceil((math.sqrt(2.0 * tail) + h) / h))
    z = h * np.arange(-k, k + 1, dtype=float)
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()


def _logcosh(z):
    """log cosh z without cancellation for small z (log1p of 2 sinh^2(z/2))."""
    return np.log1p(2.0 * np.sinh(0.5 * z) ** 2)


def _sech_tail(n: int, tail: float) -> float:
    """U with n log cosh(U / sqrt n) = tail (arccosh(e^a) = a + log(1 + sqrt(1 - e^(-2a))))."""
    a = tail / n
    return math.sqrt(n) * (a + math.log1p(math.sqrt(-math.expm1(-2.0 * a))))


def _sech_weight(u, n: int):
    return np.exp(-n * _logcosh(u / math.sqrt(n)))


def _sech_trap(n: int, h: float, tail: float):
    """Trapezoidal rule in u for the density prop. to sech(u / sqrt n)^n (th = tanh(u / sqrt n))."""
    k = int(math.ceil((_sech_tail(n, tail) + h) / h))
    u = h * np.arange(-k, k + 1, dtype=float)
    w = _sech_weight(u, n)
    return u, w / w.sum()


def _gl_panels(lo: float, hi: float, width: float, p: int):
    """Composite p-point Gauss-Legendre nodes and weights on [lo, hi], panels of about `width`."""
    npan = max(1, int(math.ceil((hi - lo) / width)))
    edges = np.linspace(lo, hi, npan + 1)
    x, w = np.polynomial.legendre.leggauss(p)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[:-1] + edges[1:])
    return (mid[:, None] + half[:, None] * x[None, :]).ravel(), (half[:, None] * w[None, :]).ravel()


def _split_rule(U: float, width: float, p: int, weight):
    """Composite Gauss-Legendre on [-U, 0] and [0, U] (a kink at 0) times weight(u), normalized."""
    u, w = _gl_panels(0.0, U, width, p)
    u = np.concatenate([-u[::-1], u])
    w = np.concatenate([w[::-1], w]) * weight(u)
    return u, w / w.sum()


def _expm1mx(y):
    """e^y - 1 - y without cancellation: Taylor series for |y| < 1/2 (26 terms), else direct."""
    y = np.asarray(y, dtype=float)
    out = np.expm1(y) - y
    small = np.abs(y) < 0.5
    if np.any(small):
        ys = y[small]
        acc = np.full_like(ys, 1.0 / math.factorial(27))
        for k in range(26, 1, -1):  # y^2 sum_{k=2}^{27} y^(k-2) / k!, Horner in y
            acc = acc * ys + 1.0 / math.factorial(k)
        out[small] = acc * ys * ys
    return out


def _chi2_y_range(n: int, tail: float) -> tuple[float, float]:
    """y_lo < 0 < y_hi where (n/2)(e^y - 1 - y) = tail."""
    f = lambda y: 0.5 * n * float(_expm1mx(np.array([y]))[0]) - tail  # noqa: E731
    lo = optimize.brentq(f, -1.0 - 2.0 * tail / n - 1.0, 0.0, xtol=1e-12)
    hi = optimize.brentq(f, 0.0, math.sqrt(4.0 * tail / n) + 1.0, xtol=1e-12)
    return lo, hi


def _chi2_trap(n: int, h: float, tail: float):
    """Trapezoidal rule in u for R ~ chi^2_n, R = n exp(sqrt(2/n) u); returns (R, weights)."""
    if n == 0:
        return np.zeros(1), np.ones(1)
    c = math.sqrt(2.0 / n)
    ylo, yhi = _chi2_y_range(n, tail)
    k0, k1 = int(math.floor(ylo / c / h)) - 1, int(math.ceil(yhi / c / h)) + 1
    u = h * np.arange(k0, k1 + 1, dtype=float)
    y = c * u
    w = np.exp(-0.5 * n * _expm1mx(y))
    return n * np.exp(y), w / w.sum()


def _chi2_log_growth(n: int):
    c = math.sqrt(2.0 / n)
    return (lambda eta: -0.5 * n * np.log(np.cos(c * eta))), 0.5 * math.pi / c


def _sech_log_growth(n: int, scale: float, power: float):
    """Growth of sech^n(u/sqrt n) G(scale tanh(u/sqrt n))^power on Im u = eta."""
    r = math.sqrt(n)

    def lg(eta):
        tn = np.tan(eta / r)
        return -n * np.log(np.cos(eta / r)) + 0.5 * power * (scale * tn) ** 2

    return lg, 0.5 * math.pi * r


# --------------------------------------------------------------------------------------------
# mpmath rules (exact normalizations)
# --------------------------------------------------------------------------------------------


def _mp_T(dps: int) -> float:
    return (dps + 5) * math.log(10.0)


def _mp_gauss_trap(h: float, tail: float):
    k = int(math.ceil((math.sqrt(2.0 * tail) + h) / h))
    hm = mpmath.mpf(h)
    c = hm / mpmath.sqrt(2 * mpmath.pi)
    z = [hm * i for i in range(-k, k + 1)]
    return z, [c * mpmath.exp(-zi * zi / 2) for zi in z]


def _mp_sech_norm(n: int):
    """int sech(u / sqrt n)^n du = sqrt(n) B(1/2, n/2)."""
    return mpmath.sqrt(n) * mpmath.beta(mpmath.mpf(1) / 2, mpmath.mpf(n) / 2)


def _mp_sech_weight(u, n: int, rn):
    return mpmath.sech(u / rn) ** n


def _mp_sech_trap(n: int, h: float, tail: float):
    k = int(math.ceil((_sech_tail(n, tail) + h) / h))
    hm, rn = mpmath.mpf(h), mpmath.sqrt(n)
    c = hm / _mp_sech_norm(n)
    u = [hm * i for i in range(-k, k + 1)]
    return u, [c * _mp_sech_weight(ui, n, rn) for ui in u]


def _gegenbauer_nodes64(N: int, lam: float) -> np.ndarray:
    """Nodes of the N-point Gauss rule for the weight (1 - x^2)^(lam - 1/2) on [-1, 1]
    (Golub-Welsch: eigenvalues of the Jacobi matrix of the monic Gegenbauer recurrence,
    beta_k = k (k + 2 lam - 1) / (4 (k + lam) (k + lam - 1)))."""
    k = np.arange(1, N, dtype=float)
    off = np.sqrt(k * (k + 2 * lam - 1) / (4 * (k + lam) * (k + lam - 1)))
    return np.linalg.eigvalsh(np.diag(off, 1) + np.diag(off, -1))


@lru_cache(maxsize=64)
def _gegenbauer_rule64(N: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """N-point Gauss rule (float64) for om with density prop. to (1 - om^2)^((n-2)/2), weights
    summing to 1: Golub-Welsch (weights = squared first components of the eigenvectors; G. H. Golub
    and J. H. Welsch, Math. Comp. 23 (1969)); n = 1: Gauss-Chebyshev."""
    if n == 1:
        x = np.cos((2 * np.arange(1, N + 1) - 1) * math.pi / (2 * N))
        return x, np.full(N, 1.0 / N)
    lam = 0.5 * (n - 1)
    k = np.arange(1, N, dtype=float)
    off = np.sqrt(k * (k + 2 * lam - 1) / (4 * (k + lam) * (k + lam - 1)))
    x, vec = np.linalg.eigh(np.diag(off, 1) + np.diag(off, -1))
    w = vec[0] ** 2
    return x, w / w.sum()


@lru_cache(maxsize=32)
def _mp_gegenbauer_rule(N: int, n: int, prec: int):
    """N-point Gauss rule (mpmath, `prec` bits) for om with density prop. to (1 - om^2)^((n-2)/2):
    the float nodes of `_gegenbauer_nodes64` refined by Newton on C_N^lam (lam = (n - 1)/2) with
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
        for xf in _gegenbauer_nodes64(N, float(lam)):
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


def _gauss_nodes_for(kappa: float, T: float, gamma: float = 0.5, strip: float = math.inf) -> int:
    """Nodes N of a Gauss rule on [-1, 1] (Gauss-Gegenbauer here) for F(kappa om), F of growth
    exp(gamma Im(z)^2) in |Im z| < strip: the error is about rho^(-2N) max over the Bernstein ellipse
    E_rho, where |Im(kappa om)| <= kappa (rho - 1/rho) / 2; N is the smallest over rho."""
    rho = np.linspace(1.02, 60.0, 3000)
    im = kappa * (rho - 1 / rho) / 2
    ok = im < 0.9 * strip
    need = (T + gamma * im[ok] ** 2) / (2 * np.log(rho[ok]))
    return int(math.ceil(float(np.min(need)))) + 2


def _mp_chi2_trap(n: int, h: float, tail: float):
    """(R nodes, weights) of the trapezoidal rule in u for the exact chi^2_n density."""
    if n == 0:
        return [mpmath.mpf(0)], [mpmath.mpf(1)]
    cf = math.sqrt(2.0 / n)
    ylo, yhi = _chi2_y_range(n, tail)
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


def _mp_quad(f, dps: int):
    """int_R f(u) du by mpmath.quad (tanh-sinh), split at MP_POINTS (0 among them: the kink),
    converged to dps + 3 digits; f itself is evaluated at dps + MP_GUARD digits."""
    prec = mpmath.mp.prec

    def f_guarded(u):
        with mpmath.workprec(prec):
            return f(u)

    with mpmath.workdps(dps + 3):
        val = mpmath.quad(f_guarded, [-mpmath.inf, *MP_POINTS, mpmath.inf])
    return +val


def _mp_vec(x: np.ndarray) -> list:
    return [mpmath.mpf(float(v)) for v in x]


def _mp_dot(x: list, y: list):
    """Exact products, one rounding (mpmath.fdot), at the current precision."""
    return mpmath.fdot(x, y)


# --------------------------------------------------------------------------------------------
# The problem
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MeanFieldProblem:
    """S_inf, C_inf, L_inf, D and the bias coefficient for gaussian xi (MATH.md section 4).

    Fields: d >= 2 (input dimension), mu (length d), s > 0, abar (mean of a), var_a >= 0 (variance
    of a; enters D only), activation (name or Activation), route ("auto": "sphere" for positively
    homogeneous sigma with a closed-form g, "polar" for smooth sigma; "cartesian" for cross-checks;
    see the module docstring), refine (integer >= 1 dividing every step and panel width and
    multiplying Gauss node counts: refine=2 against refine=1 checks convergence).
    S_inf is computed once per instance and cached (float64 and, per dps, mpmath; C_inf_mp per v).

    Example: mean_field_problem(100, 1.0, 1.0).L_inf(b, V) for b (M,), V (M, 100).
    """

    d: int
    mu: np.ndarray
    s: float
    abar: float = 1.0
    var_a: float = 0.0
    activation: Activation | str = "relu"
    route: str = "auto"
    refine: int = 1
    _mp_cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        if isinstance(self.d, bool) or not isinstance(self.d, (int, np.integer)) or self.d < 2:
            raise InputError(f"d must be an integer >= 2, got {self.d!r}")
        object.__setattr__(self, "d", int(self.d))
        mu = np.array(self.mu, dtype=float, copy=True) if self.mu is not None else None
        if mu is None or mu.shape != (self.d,):
            raise InputError(f"mu must have shape ({self.d},), got {None if mu is None else mu.shape}")
        if not np.all(np.isfinite(mu)):
            raise InputError("mu must be finite (found NaN or inf)")
        mu.setflags(write=False)
        for name in ("s", "abar", "var_a"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
                raise InputError(f"{name} must be a finite number, got {v!r}")
            object.__setattr__(self, name, float(v))
        if self.s <= 0:
            raise InputError(f"s must be > 0, got {self.s!r}")
        if self.var_a < 0:
            raise InputError(f"var_a must be >= 0, got {self.var_a!r}")
        act = get_activation(self.activation)
        if self.route not in _ROUTES:
            raise InputError(f"unknown route {self.route!r}; use one of {', '.join(_ROUTES)}")
        sphere_ok = act.degree is not None and _closed_kind(act) in ("two_slope", "step", "sign")
        if self.route == "sphere" and not sphere_ok:
            raise InputError(f"the sphere route needs a positively homogeneous activation with closed-form g; {act.label} is not")
        if self.route == "polar" and act.strip <= 0:
            raise InputError(f"the polar route needs a smooth activation; {act.label} is kinked (use the sphere route)")
        if act.degree is None and act.strip <= 0:
            raise InputError(f"{act.label} is kinked and not positively homogeneous: no mean-field rule")
        if isinstance(self.refine, bool) or not isinstance(self.refine, (int, np.integer)) or not 1 <= self.refine <= 64:
            raise InputError(f"refine must be an integer in 1..64, got {self.refine!r}")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "activation", act)
        if self.route == "auto":
            object.__setattr__(self, "route", "sphere" if sphere_ok else "polar")

    @classmethod
    def from_target_law(cls, law, **kwargs) -> MeanFieldProblem:
        """The problem of a `verify.model.networks.TargetLaw` (its xi must be gaussian)."""
        if law.xi != "gaussian":
            raise InputError(f"L_inf is low-dimensional only for gaussian xi (got {law.xi!r}); estimate it by sampling")
        return cls(law.d, law.mu, law.s, law.abar, law.var_a, law.activation, **kwargs)

    # ---- derived constants --------------------------------------------------------------------

    @cached_property
    def mu_norm(self) -> float:
        return math.sqrt(math.fsum(self.mu * self.mu))

    @cached_property
    def tau(self) -> float:
        """tau = s / sqrt(d): the standard deviation of each entry of w."""
        return self.s / math.sqrt(self.d)

    @property
    def moment(self) -> int:
        """m_k = E ||x||^(2k) = d (d + 2) ... (d + 2k - 2) for sigma of degree k (sphere route)."""
        return math.prod(self.d + 2 * j for j in range(self.activation.degree))

    def _refined(self, h: float) -> float:
        return h / self.refine

    # ---- input checks -------------------------------------------------------------------------

    def _vectors(self, V) -> tuple[np.ndarray, bool]:
        V = np.asarray(V, dtype=float)
        single = V.ndim == 1
        V2 = V[None, :] if single else V
        if V2.ndim != 2 or V2.shape[1] != self.d:
            raise InputError(f"V must have shape (M, {self.d}) or ({self.d},), got {V.shape}")
        if not np.all(np.isfinite(V2)):
            raise InputError("V must be finite (found NaN or inf)")
        return V2, single

    def _bV(self, b, V) -> tuple[np.ndarray, np.ndarray]:
        V, _ = self._vectors(V)
        b = np.asarray(b, dtype=float)
        if b.shape != (V.shape[0],):
            raise InputError(f"b must have shape ({V.shape[0]},) to match V {V.shape}, got {b.shape}")
        if not np.all(np.isfinite(b)):
            raise InputError("b must be finite (found NaN or inf)")
        return b, V

    def _geometry(self, v: np.ndarray) -> tuple[float, float, float]:
        """(||v||, m1 = <mu, v_hat>, m2 = ||mu - m1 v_hat||); v = 0 gives (0, 0, ||mu||)."""
        vn = math.sqrt(math.fsum(v * v))
        if vn == 0.0:
            return 0.0, 0.0, self.mu_norm
        vhat = v / vn
        m1 = math.fsum(self.mu * v) / vn
        r = self.mu - m1 * vhat
        return vn, m1, math.sqrt(math.fsum(r * r))

    # ---- float64: S_inf ------------------------------------------------------------------------

    def S_inf(self) -> float:
        """S_inf = E_x f_inf(x)^2 = abar^2 E_{w, w'} k_sigma(w, w') (float64, cached)."""
        return self._S64

    @cached_property
    def _S64(self) -> float:
        return {"sphere": self._S_sphere64, "polar": self._S_polar64, "cartesian": self._S_cart64}[self.route]()

    def _S_sphere64(self) -> float:
        n, tau, mun = self.d - 1, self.tau, self.mu_norm
        g = _make_g64(self.activation)
        lg, eta_max = _sech_log_growth(n, mun / tau, 2.0)
        u, w = _sech_trap(n, self._refined(_trapezoid_h(lg, T64, eta_max)), TAIL64)
        G = g(mun * np.tanh(u / math.sqrt(n)), tau)
        return self.abar**2 * self.moment * math.fsum(w * G * G)

    # ---- polar route (smooth sigma): Q = ||x||^2 ~ chi^2_d, direction on the sphere -------------

    def _margins(self, T: float, tail: float) -> tuple[float, float]:
        """(T, tail) widened for polynomial activations (their growth is not gaussian-bounded)."""
        p = _poly_degree(self.activation)
        return T + 2.0 * p, tail + 4.0 * p

    def _q_hi(self) -> float:
        """sqrt of a high quantile of Q ~ chi^2_d (mean d, sd sqrt(2d)): the scale of sqrt(Q) x_hat."""
        return math.sqrt(self.d + 4.0 * math.sqrt(2.0 * self.d) + 8.0)

    def _polar_dir_growth(self, n: int, a_g: float, power: float, a_s: float = 0.0):
        """(log growth, eta_max) in u (th = tanh(u / sqrt n)) of sech^n times g(a_g th)^power
        times sigma(a_s th): g grows like exp(gamma Im^2), sigma like exp(growth Im^2)."""
        act = self.activation
        gam, strip = _g_growth(act)
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

    def _dir_rule64(self, n: int, a_g: float, power: float, a_s: float, T: float, tail: float):
        """(th, weights) for the density prop. to (1 - th^2)^((n-2)/2) (float64): Gauss-Gegenbauer
        for n <= GEGENBAUER_MAX_N (exact weight; the tanh map would give slowly decaying tails for
        small n), else the trapezoidal rule in u with th = tanh(u / sqrt n)."""
        N, h = self._dir_rule_choice(n, a_g, power, a_s, T, tail)
        if h is None:
            return _gegenbauer_rule64(N, n)
        u, w = _sech_trap(n, h, tail)
        return np.tanh(u / math.sqrt(n)), w

    def _dir_rule_choice(self, n: int, a_g: float, power: float, a_s: float, T: float, tail: float):
        """(N, None) for an N-point Gauss-Gegenbauer rule or (N, h) for the trapezoidal rule in u,
        whichever needs fewer nodes by its a-priori bound (Gauss-Gegenbauer only for n <= 100)."""
        act = self.activation
        lg, eta = self._polar_dir_growth(n, a_g, power, a_s)
        h = self._refined(_trapezoid_h(lg, T, eta))
        n_trap = 2 * int(math.ceil((_sech_tail(n, tail) + h) / h)) + 1
        if n <= GEGENBAUER_MAX_N:
            gam, strip = _g_growth(act)
            N = max(_gauss_nodes_for(a_g, T, power * gam, strip), _gauss_nodes_for(a_s, T, float(act.growth), float(act.strip)))
            N = (N + 2 * _poly_degree(act)) * self.refine
            if N <= n_trap:
                return N, None
        return n_trap, h

    def _S_polar64(self) -> float:
        act, d, tau, mun = self.activation, self.d, self.tau, self.mu_norm
        T, tail = self._margins(T64, TAIL64)
        th1, w1 = self._dir_rule64(d - 1, self._q_hi() * mun, 2.0, 0.0, T, tail)
        lgQ, eQ = _chi2_log_growth(d)
        Q, wQ = _chi2_trap(d, self._refined(_trapezoid_h(lgQ, T, eQ)), tail)
        sq = np.sqrt(Q)
        G = _make_g64(act)(mun * sq[:, None] * th1[None, :], tau * sq[:, None])
        return self.abar**2 * math.fsum(wQ * ((G * G) @ w1))

    def _C_polar64(self, v: np.ndarray) -> float:
        act, d, tau = self.activation, self.d, self.tau
        vn, m1, m2 = self._geometry(v)
        T, tail = self._margins(T64, TAIL64)
        qhi = self._q_hi()
        g = _make_g64(act)
        # g(sqrt(Q) (m1 th1 + m2 sqrt(1 - th1^2) om)): both terms move with th1 off the real axis
        th1, w1 = self._dir_rule64(d - 1, qhi * self.mu_norm, 1.0, qhi * vn, T, tail)
        c1 = np.sqrt((1.0 - th1) * (1.0 + th1))
        if m2 == 0.0:
            om, w2 = np.zeros(1), np.ones(1)
        elif d == 2:
            om, w2 = np.array([-1.0, 1.0]), np.array([0.5, 0.5])
        else:
            om, w2 = self._dir_rule64(d - 2, qhi * m2, 1.0, 0.0, T, tail)
        lgQ, eQ = _chi2_log_growth(d)
        Q, wQ = _chi2_trap(d, self._refined(_trapezoid_h(lgQ, T, eQ)), tail)
        direction = m1 * th1[:, None] + m2 * c1[:, None] * om[None, :]
        acc = np.empty(Q.size)
        for k, q in enumerate(Q):
            sq = math.sqrt(q)
            sig = act.f(sq * vn * th1)
            acc[k] = (w1 * sig) @ g(sq * direction, tau * sq) @ w2
        return self.abar * math.fsum(wQ * acc)

    def _kinked_gamma(self, n: int) -> float:
        """Growth rate of g(m, t) in m for kinked sigma: 1/(2 t^2) at a typical small t."""
        t2 = self.s**2 * max(0.25 * n, 0.25) / self.d
        return 0.5 / t2

    def _eta_t(self) -> float:
        """Strip in x1 (and x2) left by the dependence of g on t^2 = tau^2 (x1^2 + x2^2 + R).

        For sigma entire of growth gamma > 0, g(m, t) is analytic in t^2 for Re t^2 > -1/(2 gamma)
        (erf: 1 + 2 t^2 = 0 at gamma = 1); |Im x1| < sqrt(d / (4 gamma s^2)) keeps Re t^2 above
        -1/(4 gamma) whatever x2 and R are (a margin of 2 in t^2). For
        polynomial sigma (gamma = 0, no strip) g is entire in t^2. For strip-limited sigma (tanh, ...)
        and kinked sigma, g is analytic only for Re t^2 > 0 (|Im x1| < sqrt(x2^2 + R)); no limit is
        imposed there, and the error of those rules at small d is measured, not bounded (module doc).
        """
        gam = float(self.activation.growth)
        return math.sqrt(self.d / (4.0 * gam * self.s**2)) if gam > 0 else math.inf

    def _S_cart64(self) -> float:
        act, n, mun = self.activation, self.d - 1, self.mu_norm
        gam, strip = _g_growth(act)
        if act.strip <= 0:
            gam = self._kinked_gamma(n)
        lgR, etaR = _chi2_log_growth(n)
        R, wR = _chi2_trap(n, self._refined(_trapezoid_h(lgR, T64, etaR)), TAIL64)
        hx = _trapezoid_h(lambda e: 0.5 * e * e + 2.0 * gam * (mun * e) ** 2, T64, min(strip / mun if mun > 0 else math.inf, self._eta_t()))
        x, wx = _gauss_trap(self._refined(hx), TAIL64)
        t = self.s * np.sqrt((x[:, None] ** 2 + R[None, :]) / self.d)
        g = _make_g64(act)
        G = g(mun * x[:, None], t)
        return self.abar**2 * math.fsum(wx * ((G * G) @ wR))

    # ---- float64: C_inf ------------------------------------------------------------------------

    def C_inf(self, V) -> np.ndarray | float:
        """C_inf(v) = E_x f_inf(x) sigma(<v, x>) = abar E_w k_sigma(||w||^2, ||v||^2, <w, v>).

        V: one vector (d,) -> float, or rows (M, d) -> (M,) array. C_inf(w) is F(w) of MATH.md 4.
        """
        V, single = self._vectors(V)
        f = {"sphere": self._C_sphere64, "polar": self._C_polar64, "cartesian": self._C_cart64}[self.route]
        out = np.array([f(v) for v in V])
        return float(out[0]) if single else out

    def _C_sphere64(self, v: np.ndarray) -> float:
        act, d, tau = self.activation, self.d, self.tau
        vn, m1, m2 = self._geometry(v)
        if vn == 0.0:
            return 0.0  # sigma(0) = 0 for every positively homogeneous activation here
        g = _make_g64(act)
        n1 = d - 1
        r1 = math.sqrt(n1)
        kappa1 = self.mu_norm / tau / r1  # d(m / tau) / du1 at u1 = 0, at most
        width = self._refined(min(1.0, 1.0 / kappa1) if kappa1 > 0 else 1.0)
        u1, w1 = _split_rule(_sech_tail(n1, TAIL64), width, GL_NODES, lambda u: _sech_weight(u, n1))
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
                lg, eta_max = _sech_log_growth(n2, m2 / tau, 1.0)
                u2, w2 = _sech_trap(n2, self._refined(_trapezoid_h(lg, T64, eta_max)), TAIL64)
                om = np.tanh(u2 / math.sqrt(n2))
            inner = g(m1 * th1[:, None] + m2 * c1[:, None] * om[None, :], tau) @ w2
        return self.abar * self.moment * vn**act.degree * math.fsum(w1 * sig * inner)

    def _C_cart64(self, v: np.ndarray) -> float:
        act, d, s = self.activation, self.d, self.s
        vn, m1, m2 = self._geometry(v)
        n = d - 2
        gam, strip = _g_growth(act)
        kinked = act.strip <= 0
        if kinked:
            gam = self._kinked_gamma(n)
        sg, sstrip = float(act.growth), float(act.strip)
        # x1: sigma(||v|| x1) times g(m1 x1 + ...)
        if kinked:
            a = max(abs(m1) * math.sqrt(2.0 * gam), 1.0)
            x1, w1 = _split_rule(math.sqrt(2.0 * TAIL64) + 1.0, self._refined(1.0 / a), GL_NODES, lambda x: np.exp(-0.5 * x * x))
        else:
            lg1 = lambda e: 0.5 * e * e + (sg * vn * vn + gam * m1 * m1) * e * e  # noqa: E731
            eta1 = min(sstrip / vn if vn > 0 else math.inf, strip / abs(m1) if m1 != 0 else math.inf, self._eta_t())
            x1, w1 = _gauss_trap(self._refined(_trapezoid_h(lg1, T64, eta1)), TAIL64)
        sig = act.f(vn * x1)
        keep = sig != 0
        x1, w1, sig = x1[keep], w1[keep], sig[keep]
        if m2 == 0.0:
            x2, w2 = np.zeros(1), np.ones(1)
        else:
            h2 = _trapezoid_h(lambda e: 0.5 * e * e + gam * (m2 * e) ** 2, T64, min(strip / m2, self._eta_t()))
            x2, w2 = _gauss_trap(self._refined(h2), TAIL64)
        if n > 0:
            lgR, etaR = _chi2_log_growth(n)
            R, wR = _chi2_trap(n, self._refined(_trapezoid_h(lgR, T64, etaR)), TAIL64)
        else:
            R, wR = np.zeros(1), np.ones(1)
        g = _make_g64(act)
        base = x2[:, None] ** 2 + R[None, :]
        inner = np.empty(x1.size)
        for i, xi in enumerate(x1):
            t = s * np.sqrt((xi * xi + base) / d)
            inner[i] = w2 @ g(m1 * xi + m2 * x2[:, None], t) @ wR
        return self.abar * math.fsum(w1 * sig * inner)

    # ---- float64: L_inf, D, bias ----------------------------------------------------------------

    def K_VV(self, V) -> np.ndarray:
        """[K_VV]_jk = k_sigma(||v_j||^2, ||v_k||^2, <v_j, v_k>) (inner products by math.fsum)."""
        V, _ = self._vectors(V)
        M = V.shape[0]
        if M * M * self.d <= 4_000_000:
            G = np.array([[math.fsum(V[j] * V[k]) for k in range(M)] for j in range(M)])
        else:
            G = V @ V.T
        q = np.diag(G).copy()
        p = np.sqrt(q[:, None] * q[None, :])
        return np.asarray(kernel(self.activation, q[:, None], q[None, :], np.clip(G, -p, p)), dtype=float)

    def L_inf(self, b, V) -> float:
        """L_inf(b, V) = S_inf - 2 sum_j b_j C_inf(v_j) + b^T K_VV b (float64)."""
        b, V = self._bV(b, V)
        C = self.C_inf(V)
        return float(self.S_inf() - 2.0 * math.fsum(b * C) + b @ self.K_VV(V) @ b)

    def D(self) -> float:
        """D = E[a^2] E_w k_sigma(||w||^2, ||w||^2, ||w||^2), E[a^2] = abar^2 + var_a.

        Degree-k homogeneous sigma: E[a^2] k_sigma(1, 1, 1) E ||w||^(2k), with E ||w||^2 = ||mu||^2 + s^2
        (k = 1) and 1 (k = 0), exactly. Otherwise ||w||^2 = (||mu|| + tau z)^2 + tau^2 R, z ~ N(0, 1),
        R ~ chi^2_(d-1): a 2-D integral by the rules above (kernel by `verify.kernels.kernel`).
        """
        act = self.activation
        ea2 = self.abar**2 + self.var_a
        if act.degree in (0, 1):
            k111 = float(kernel(act, 1.0, 1.0, 1.0))
            return ea2 * k111 * (1.0 if act.degree == 0 else self.mu_norm**2 + self.s**2)
        n, tau = self.d - 1, self.tau
        lgR, etaR = _chi2_log_growth(n)
        R, wR = _chi2_trap(n, self._refined(_trapezoid_h(lgR, T64, etaR)), TAIL64)
        z, wz = _gauss_trap(self._refined(0.25), TAIL64)
        q = (self.mu_norm + tau * z[:, None]) ** 2 + tau * tau * R[None, :]
        k = np.asarray(kernel(act, q, q, q), dtype=float)
        return ea2 * math.fsum(wz * (k @ wR))

    def bias_coefficient(self) -> float:
        """D - S_inf: E L_N(b, V) - L_inf(b, V) = (D - S_inf) / N for every (b, V)."""
        return self.D() - self.S_inf()

    # ---- mpmath twins ----------------------------------------------------------------------------

    def _check_dps(self, dps) -> int:
        if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or not 10 <= dps <= 200:
            raise InputError(f"dps must be an integer in 10..200, got {dps!r}")
        return int(dps)

    def S_inf_mp(self, dps: int = 30) -> mpmath.mpf:
        """S_inf to about `dps` significant digits (cached per dps)."""
        dps = self._check_dps(dps)
        key = ("S", dps)
        if key not in self._mp_cache:
            with mpmath.workdps(dps + MP_GUARD):
                val = {"sphere": self._S_sphere_mp, "polar": self._S_polar_mp, "cartesian": self._S_cart_mp}[self.route](dps)
            with mpmath.workdps(dps):
                self._mp_cache[key] = +val
        return self._mp_cache[key]

    def _mp_scalars(self):
        mu = _mp_vec(self.mu)
        with mpmath.workprec(mpmath.mp.prec + 120):
            mu2 = _mp_dot(mu, mu)
        return mu, mu2, mpmath.mpf(self.s), mpmath.mpf(self.abar), mpmath.mpf(self.s) / mpmath.sqrt(self.d)

    def _S_sphere_mp(self, dps: int):
        _, mu2, _, abar, tau = self._mp_scalars()
        mun = mpmath.sqrt(mu2)
        n = self.d - 1
        rn = mpmath.sqrt(n)
        g = _make_g_mp(self.activation, _mp_T(dps))

        def f(u):
            G = g(mun * mpmath.tanh(u / rn), tau)
            return G * G * _mp_sech_weight(u, n, rn)

        val = _mp_quad(f, dps)
        return abar**2 * self.moment * val / _mp_sech_norm(n)

    def _S_cart_mp(self, dps: int):
        act = self.activation
        _, mu2, s, abar, _ = self._mp_scalars()
        mun = mpmath.sqrt(mu2)
        n, d = self.d - 1, self.d
        T = _mp_T(dps)
        tail = T + 3.0
        gam, strip = _g_growth(act)
        if act.strip <= 0:
            gam = self._kinked_gamma(n)
        mf = float(mun)
        lgR, etaR = _chi2_log_growth(n)
        R, wR = _mp_chi2_trap(n, self._refined(_trapezoid_h(lgR, T, etaR)), tail)
        hx = _trapezoid_h(lambda e: 0.5 * e * e + 2.0 * gam * (mf * e) ** 2, T, min(strip / mf if mf > 0 else math.inf, self._eta_t()))
        x, wx = _mp_gauss_trap(self._refined(hx), tail)
        g = _make_g_mp(act, T)
        total = []
        for Rj, wj in zip(R, wR):
            acc = mpmath.fsum(wi * g(mun * xi, s * mpmath.sqrt((xi * xi + Rj) / d)) ** 2 for xi, wi in zip(x, wx))
            total.append(wj * acc)
        return abar**2 * mpmath.fsum(total)

    def _mp_dir_rule(self, n: int, a_g: float, power: float, a_s: float, T: float):
        """(th, weights) for the density prop. to (1 - th^2)^((n-2)/2): Gauss-Gegenbauer for
        n <= GEGENBAUER_MAX_N, else the trapezoidal rule in u (th = tanh(u / sqrt n))."""
        N, h = self._dir_rule_choice(n, a_g, power, a_s, T, T + 3.0)
        if h is None:
            return _mp_gegenbauer_rule(N, n, mpmath.mp.prec)
        u, w = _mp_sech_trap(n, h, T + 3.0)
        r = mpmath.sqrt(n)
        return [mpmath.tanh(ui / r) for ui in u], w

    def _mp_q_rule(self, T: float):
        lgQ, eQ = _chi2_log_growth(self.d)
        return _mp_chi2_trap(self.d, self._refined(_trapezoid_h(lgQ, T, eQ)), T + 3.0)

    def _S_polar_mp(self, dps: int):
        act, d = self.activation, self.d
        _, mu2, _, abar, tau = self._mp_scalars()
        mun = mpmath.sqrt(mu2)
        T = self._margins(_mp_T(dps), 0.0)[0]
        th, w1 = self._mp_dir_rule(d - 1, self._q_hi() * float(mun), 2.0, 0.0, T)
        Q, wQ = self._mp_q_rule(T)
        g = _make_g_mp(act, T)
        total = []
        for q, wq in zip(Q, wQ):
            sq = mpmath.sqrt(q)
            a, t = mun * sq, tau * sq
            total.append(wq * mpmath.fsum(wi * g(a * ti, t) ** 2 for ti, wi in zip(th, w1)))
        return abar**2 * mpmath.fsum(total)

    def _C_polar_mp(self, v: np.ndarray, dps: int):
        act, d = self.activation, self.d
        _, _, _, abar, tau = self._mp_scalars()
        vn, m1, m2 = self._mp_geometry(v)
        T = self._margins(_mp_T(dps), 0.0)[0]
        qhi = self._q_hi()
        th, w1 = self._mp_dir_rule(d - 1, qhi * self.mu_norm, 1.0, qhi * float(vn), T)
        if m2 == 0:
            om, w2 = [mpmath.mpf(0)], [mpmath.mpf(1)]
        elif d == 2:
            om, w2 = [mpmath.mpf(-1), mpmath.mpf(1)], [mpmath.mpf(1) / 2] * 2
        else:
            om, w2 = self._mp_dir_rule(d - 2, qhi * float(m2), 1.0, 0.0, T)
        Q, wQ = self._mp_q_rule(T)
        g = _make_g_mp(act, T)
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

    def C_inf_mp(self, v, dps: int = 30) -> mpmath.mpf:
        """C_inf(v) to about `dps` significant digits, for one vector v (d,) (cached per v and dps)."""
        dps = self._check_dps(dps)
        V, single = self._vectors(v)
        if not single:
            raise InputError("C_inf_mp takes one vector of shape (d,)")
        key = ("C", dps, V[0].tobytes())
        if key not in self._mp_cache:
            with mpmath.workdps(dps + MP_GUARD):
                val = {"sphere": self._C_sphere_mp, "polar": self._C_polar_mp, "cartesian": self._C_cart_mp}[self.route](V[0], dps)
            with mpmath.workdps(dps):
                self._mp_cache[key] = +val
        return self._mp_cache[key]

    def _mp_geometry(self, v: np.ndarray):
        """(||v||, m1, m2) from exact inner products of the float inputs."""
        mu, mu2, *_ = self._mp_scalars()
        vm = _mp_vec(v)
        with mpmath.workprec(mpmath.mp.prec + 120):
            v2, mv = _mp_dot(vm, vm), _mp_dot(mu, vm)
            if v2 == 0:
                return mpmath.mpf(0), mpmath.mpf(0), mpmath.sqrt(mu2)
            # ||mu||^2 ||v||^2 - <mu, v>^2 >= 0 exactly; formed at 120 extra bits
            gram = mpmath.fsub(mpmath.fmul(mu2, v2), mpmath.fmul(mv, mv))
        vn = mpmath.sqrt(v2)
        return vn, mv / vn, mpmath.sqrt(max(gram, 0) / v2)

    def _C_sphere_mp(self, v: np.ndarray, dps: int):
        act, d = self.activation, self.d
        _, _, _, abar, tau = self._mp_scalars()
        vn, m1, m2 = self._mp_geometry(v)
        if vn == 0:
            return mpmath.mpf(0)
        T = _mp_T(dps)
        g = _make_g_mp(act, T)
        n1 = d - 1
        r1 = mpmath.sqrt(n1)
        if m2 == 0:
            om, w2 = [], []
        elif d == 2:
            om, w2 = [mpmath.mpf(-1), mpmath.mpf(1)], [mpmath.mpf(1) / 2] * 2
        elif d - 2 <= GEGENBAUER_MAX_N:
            N = _gauss_nodes_for(float(m2 / tau), T) * self.refine
            om, w2 = _mp_gegenbauer_rule(N, d - 2, mpmath.mp.prec)
        else:
            n2 = d - 2
            lg, eta_max = _sech_log_growth(n2, float(m2 / tau), 1.0)
            u2, w2 = _mp_sech_trap(n2, self._refined(_trapezoid_h(lg, T, eta_max)), T + 3.0)
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
            return _mp_sech_weight(u1, n1, r1) * sig * inner

        val = _mp_quad(outer, dps)
        return abar * self.moment * vn**act.degree * val / _mp_sech_norm(n1)

    def _C_cart_mp(self, v: np.ndarray, dps: int):
        act, d = self.activation, self.d
        _, _, s, abar, _ = self._mp_scalars()
        vn, m1, m2 = self._mp_geometry(v)
        T = _mp_T(dps)
        tail = T + 3.0
        n = d - 2
        gam, strip = _g_growth(act)
        if act.strip <= 0:
            raise InputError("the mpmath cartesian route is for smooth activations; kinked ones use the sphere route")
        sg, sstrip = float(act.growth), float(act.strip)
        fv, f1, f2 = float(vn), float(m1), float(m2)
        lg1 = lambda e: 0.5 * e * e + (sg * fv * fv + gam * f1 * f1) * e * e  # noqa: E731
        em1 = min(sstrip / fv if fv > 0 else math.inf, strip / abs(f1) if f1 != 0 else math.inf, self._eta_t())
        x1, w1 = _mp_gauss_trap(self._refined(_trapezoid_h(lg1, T, em1)), tail)
        if m2 == 0:
            x2, w2 = [mpmath.mpf(0)], [mpmath.mpf(1)]
        else:
            h2 = _trapezoid_h(lambda e: 0.5 * e * e + gam * (f2 * e) ** 2, T, min(strip / f2, self._eta_t()))
            x2, w2 = _mp_gauss_trap(self._refined(h2), tail)
        if n > 0:
            lgR, etaR = _chi2_log_growth(n)
            R, wR = _mp_chi2_trap(n, self._refined(_trapezoid_h(lgR, T, etaR)), tail)
        else:
            R, wR = [mpmath.mpf(0)], [mpmath.mpf(1)]
        g = _make_g_mp(act, T)
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

    def L_inf_mp(self, b, V, dps: int = 30) -> mpmath.mpf:
        """L_inf(b, V) to about `dps` digits: S_inf_mp - 2 sum_j b_j C_inf_mp(v_j) + b^T K_VV b,
        K_VV by `kernel_mp` from exact inner products."""
        dps = self._check_dps(dps)
        b, V = self._bV(b, V)
        S = self.S_inf_mp(dps)
        C = [self.C_inf_mp(v, dps) for v in V]
        act = self.activation
        with mpmath.workdps(dps + MP_GUARD):
            Vm = [_mp_vec(v) for v in V]
            bm = _mp_vec(b)
            with mpmath.workprec(mpmath.mp.prec + 120):
                G = [[_mp_dot(x, y) for y in Vm] for x in Vm]
            M = len(Vm)
            quad = mpmath.fsum(
                bm[j] * bm[k] * kernel_mp(act, G[j][j], G[k][k], G[j][k], dps + 10).value for j in range(M) for k in range(M)
            )
            total = S - 2 * mpmath.fsum(bj * Cj for bj, Cj in zip(bm, C)) + quad
        with mpmath.workdps(dps):
            return +total


def mean_field_problem(d: int, mu_norm: float, s: float, abar: float = 1.0, var_a: float = 0.0, activation="relu", **kwargs) -> MeanFieldProblem:
    """The problem with mu = mu_norm e_1 in R^d (other fields as in MeanFieldProblem)."""
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 2:
        raise InputError(f"d must be an integer >= 2, got {d!r}")
    try:
        mn = float(mu_norm)
    except (TypeError, ValueError):
        raise InputError(f"mu_norm must be a number, got {mu_norm!r}") from None
    if not math.isfinite(mn):
        raise InputError(f"mu_norm must be finite, got {mu_norm!r}")
    mu = np.zeros(int(d))
    mu[0] = mn
    return MeanFieldProblem(int(d), mu, s, abar, var_a, activation, **kwargs)
