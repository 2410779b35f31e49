r"""The derivation of the sharp constants (docs/sharp-constants.md), each step done by sympy.

`derive()` runs the steps below and returns a `Derivation`: the rational coefficients that
`verify.model.sharp.constants` multiplies into its integrals, and one `Step` record per step
(what was shown, by which sympy operation, passed or not). The coefficients are *computed* here
from the steps, never typed in, so an error in a step moves the constants and the claims that
compare them with the quadratures catch it (tests/test_sharp.py plants such an error).

Notation (MATH.md sections 1, 4, 5): x ~ N(0, I_d), m = <mu, x>, R(m, T) = E sigma(m + sqrt(T) zeta)
with T = tau^2 (the gaussian smoothing of sigma), R_mm = d^2 R / dm^2, and
f_inf(x) = abar R(m, s^2 (1 + eps)), eps = (||x||^2 - d) / d, f~(x) = abar R(m, s^2), g = the
compressed network, P the projection onto span(mu, v_1 .. v_M) (dimension k), u = ||Px||^2 - k.

Steps
-----
heat         dR/dT = h R_mm for every closed-form smoothing R (relu, leaky relu, abs, linear,
             step, sign, erf, hermite 2..4); h is derived as the simplified ratio and must be one
             constant (1/2). sympy: diff, simplify.
taylor       R(m, s^2 (1 + e)) - R(m, s^2) = a1 e R_mm + a2 e^2 R_mmmm + O(e^3) for a generic
             function R, using the heat identity twice: a1 = h s^2, a2 = h^2 s^4 / 2. sympy: series.
chi2         ||x||^2 ~ chi^2_d: the cumulants of eps from the log-MGF -(d/2) log(1 - 2t):
             E eps = 0, E eps^2 = 2/d, E eps^3 = 8/d^2, E eps^4 = 12/d^2 + O(d^-3); and, given Px,
             ||x||^2 = ||Px||^2 + chi^2_(d-k): E[eps | Px] = u/d, E[eps^2 | Px] = 2/d + O(d^-2).
edgeworth    Y = (s / sqrt d) <xi, x> given x has variance tau^2 and fourth cumulant
             kappa4 s^4 sum_i x_i^4 / d^2 (cumulants of independent terms add, homogeneous of
             degree 4: checked exactly on rademacher's log cosh), E sum_i x_i^4 = 3 d; to first order in the fourth cumulant K4,
             E sigma(m + Y) = R + (K4 / 24) R_mmmm (checked on sigma = exp(lambda z), a family
             that determines the coefficient): f_law - f_gauss = abar e_k (kappa4 s^4 / d) R_mmmm,
             e_k = 3/24 = 1/8. The third cumulant vanishes for the symmetric laws the suite draws.
stein        E[h(zeta) (zeta^2 - 1)] = E[h''(zeta)] (two Gaussian integrations by parts), checked
             on h = exp(lambda zeta); with h(zeta) = sigma(alpha z + beta zeta) it gives
             E[sigma(alpha z + beta zeta) (zeta^2 - 1) | z] = beta^2 R_mm(alpha z, beta^2).
assembly     (f_inf - g)^2 - (f~ - g)^2 = (f_inf - f~)^2 + 2 (f_inf - f~)(f~ - g); insert the Taylor
             and Edgeworth terms, average eps given Px with the chi-square moments, multiply by d,
             let d -> oo:
               c1 = w1 abar^2 s^4 E[R_mm^2] + w2 abar s^2 E[R_mm u (f~ - g)] + w3 abar s^4 E[R_mmmm (f~ - g)],
               c_kappa = wk abar s^4 E[R_mmmm (f~ - g)],
             with (w1, w2, w3, wk) = (1/2, 1, 1/2, 1/4) read off the collected polynomial.
tau2         The delta method for tau^2 = 4 Var[a H(w)], H(w) = E_x sigma(<w, x>) (f~ - g)(x) + O(1/d):
             w = mu + delta, delta = (s / sqrt d) xi; H depends on w through q = ||w||^2 and the
             inner products with mu and v_j; to first order
             H - H0 = <gamma, delta> + H_q s^2 eps_xi with eps_xi = (||xi||^2 - d) / d,
             Var <gamma, delta> = s^2 ||gamma||^2 / d, Var eps_xi = (E xi^4 - 1) / d = (kappa4 + 2) / d,
             Cov = E xi^3 (...) = 0: d tau^2 -> 4 abar^2 (t_lin s^2 ||gamma||^2 + t_q (kappa4 + 2) s^4 H_q^2)
             with (t_lin, t_q) = (1, 1); with var_a > 0, tau^2 -> 4 var_a H0^2.
laws         E xi^4 of each xi law from its definition (sympy.stats Normal for gaussian; exact sums
             and integrals for rademacher, uniform sqrt(3) U[-1, 1], sparse(p)): kappa4 = E xi^4 - 3
             = 0, -2, -6/5, 1/p - 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy as sp


@dataclass(frozen=True)
class Step:
    """One step of the derivation: its name, what it shows, and whether sympy confirmed it."""

    name: str
    shows: str
    method: str
    passed: bool


@dataclass(frozen=True)
class Derivation:
    """The derived coefficients (sympy Rationals) and the steps that produced them.

    heat: h in dR/dT = h R_mm;  a1, a2: the eps and eps^2 coefficients of f_inf - f~ (over abar,
    in units of s^2 R_mm and s^4 R_mmmm);  e_k: the Edgeworth coefficient (units kappa4 s^4 / d);
    eps2: d E eps^2;  w1, w2, w3, wk: the coefficients of c1 and c_kappa;  t_lin, t_q: those of the
    leading d tau^2.
    """

    heat: sp.Rational
    a1: sp.Rational
    a2: sp.Rational
    e_k: sp.Rational
    eps2: sp.Rational
    w1: sp.Rational
    w2: sp.Rational
    w3: sp.Rational
    wk: sp.Rational
    t_lin: sp.Rational
    t_q: sp.Rational
    steps: tuple[Step, ...]

    @property
    def passed(self) -> bool:
        return all(st.passed for st in self.steps)


# ----------------------------------------------------------------------------------------------
# The smoothing R(m, tau) = E sigma(m + tau zeta) of each closed-form activation, in sympy
# ----------------------------------------------------------------------------------------------

def _Phi(x):
    return (1 + sp.erf(x / sp.sqrt(2))) / 2


def _phi(x):
    return sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)


def hermite_prob(n: int, z):
    """He_n(z) by the recurrence He_(k+1) = z He_k - k He_(k-1)."""
    a, b = sp.Integer(1), z
    if n == 0:
        return a
    for k in range(1, n):
        a, b = b, sp.expand(z * b - k * a)
    return b


def sigma_sym(act, z):
    """sigma(z) of a closed-form activation as a sympy expression (None for other activations)."""
    if act.two_slope_exact is not None:
        A, B = (sp.Rational(x.numerator, x.denominator) for x in act.two_slope_exact)
        return A * z + B * sp.Abs(z)
    if act.name == "step":
        return sp.Heaviside(z)
    if act.name == "sign":
        return sp.sign(z)
    if act.name == "erf":
        return sp.erf(z)
    if act.name == "hermite":
        n = int(act.param_dict["n"])
        return hermite_prob(n, z) / sp.sqrt(sp.factorial(n))
    return None


def smoothing_sym(act, m, tau):
    """R(m, tau) = E sigma(m + tau zeta), tau > 0, in closed form (None where there is none).

    two-slope A z + B |z|: A m + B (m (2 Phi(m/tau) - 1) + 2 tau phi(m/tau)) (E|m + tau zeta|);
    step Phi(m/tau); sign erf(m / (tau sqrt 2)); erf: erf(m / sqrt(1 + 2 tau^2)) (E erf(m + tau zeta),
    the Gaussian-erf convolution); hermite n: sum_j C(n, j) (j - 1)!! tau^j He_(n-j)(m) / sqrt(n!)
    over even j (He_n is an Appell sequence)."""
    x = m / tau
    if act.two_slope_exact is not None:
        A, B = (sp.Rational(v.numerator, v.denominator) for v in act.two_slope_exact)
        return A * m + B * (m * (2 * _Phi(x) - 1) + 2 * tau * _phi(x))
    if act.name == "step":
        return _Phi(x)
    if act.name == "sign":
        return sp.erf(x / sp.sqrt(2))
    if act.name == "erf":
        return sp.erf(m / sp.sqrt(1 + 2 * tau**2))
    if act.name == "hermite":
        n = int(act.param_dict["n"])
        out = sum(sp.binomial(n, j) * sp.factorial2(j - 1) * tau**j * hermite_prob(n - j, m) for j in range(0, n + 1, 2))
        return out / sp.sqrt(sp.factorial(n))
    return None


HEAT_ACTIVATIONS = ("relu", "leaky_relu(alpha=0.2)", "abs", "linear", "step", "sign", "erf",
                    "hermite(n=2)", "hermite(n=3)", "hermite(n=4)")


# ----------------------------------------------------------------------------------------------
# The steps
# ----------------------------------------------------------------------------------------------

def _zero(expr) -> bool:
    return sp.simplify(sp.expand(expr)) == 0


def _heat() -> tuple[sp.Rational, Step]:
    from verify.kernels import get_activation

    m = sp.Symbol("m", real=True)
    T = sp.Symbol("T", positive=True)
    ratios, ok = set(), True
    for name in HEAT_ACTIVATIONS:
        R = smoothing_sym(get_activation(name), m, sp.sqrt(T))
        R_T, R_mm = sp.diff(R, T), sp.diff(R, m, 2)
        if _zero(R_mm):  # linear: R = A m, nothing to differentiate
            ok &= _zero(R_T)
            continue
        ratios.add(sp.simplify(R_T / R_mm))
    ok &= len(ratios) == 1 and next(iter(ratios)).is_Rational
    h = next(iter(ratios)) if ok else sp.nan
    return h, Step("heat", f"dR/d(tau^2) = {h} d^2R/dm^2 for {', '.join(HEAT_ACTIVATIONS)}",
                   "sympy diff + simplify of the ratio", bool(ok))


def _taylor(h) -> tuple[sp.Rational, sp.Rational, Step]:
    """The eps and eps^2 coefficients of R(m, s^2 (1 + eps)) - R(m, s^2) (d/d eps and d^2/d eps^2 / 2
    at eps = 0), over s^2 R_mm and s^4 R_mmmm, for the relu and erf smoothings: a1 = h and a2 = h^2 / 2
    must come out (heat identity once and twice)."""
    from verify.kernels import get_activation

    m, e = sp.symbols("m e", real=True)
    s = sp.Symbol("s", positive=True)
    found, ok = set(), True
    for name in ("relu", "erf"):
        R = lambda T, act=get_activation(name): smoothing_sym(act, m, sp.sqrt(T))  # noqa: E731
        F = R(s**2 * (1 + e))
        c1 = sp.diff(F, e).subs(e, 0)
        c2 = sp.diff(F, e, 2).subs(e, 0) / 2
        R0 = R(s**2)
        found.add((sp.simplify(c1 / (s**2 * sp.diff(R0, m, 2))), sp.simplify(c2 / (s**4 * sp.diff(R0, m, 4)))))
    ok = len(found) == 1
    a1, a2 = next(iter(found)) if ok else (sp.nan, sp.nan)
    ok &= bool(a1.is_Rational and a2.is_Rational) and a1 == h and a2 == h**2 / 2
    return a1, a2, Step("taylor", f"f_inf - f~ = abar ({a1} s^2 R_mm eps + {a2} s^4 R_mmmm eps^2) + O(eps^3) "
                        "(= h and h^2 / 2 of the heat identity)",
                        "sympy derivatives in eps of the relu and erf smoothings, ratio simplified", bool(ok))


def _chi2() -> tuple[sp.Rational, Step]:
    t = sp.Symbol("t")
    d, k, U = sp.symbols("d k U", positive=True)
    K = -(d / 2) * sp.log(1 - 2 * t)  # cumulant generating function of chi^2_d
    kap = [sp.simplify(sp.diff(K, t, n).subs(t, 0)) for n in range(1, 5)]
    # moments of eps = (X - d)/d from the cumulants: E eps^2 = k2/d^2, E eps^3 = k3/d^3,
    # E eps^4 = (k4 + 3 k2^2)/d^4
    m2, m3, m4 = kap[1] / d**2, kap[2] / d**3, (kap[3] + 3 * kap[1] ** 2) / d**4
    eps2 = sp.limit(d * m2, d, sp.oo)
    ok = (_zero(kap[0] - d) and _zero(m2 - 2 / d) and _zero(m3 - 8 / d**2)
          and sp.limit(d**2 * m4, d, sp.oo) == 12)
    # given Px (||Px||^2 = U), ||x||^2 = U + chi^2_(d-k): E eps = (U - k)/d, E eps^2 = 2/d + O(d^-2)
    cond1 = (U + (d - k) - d) / d
    cond2 = (2 * (d - k) + (U + (d - k) - d) ** 2) / d**2
    ok &= _zero(cond1 - (U - k) / d) and sp.limit(d * cond2, d, sp.oo) == eps2
    return eps2, Step("chi2", f"E eps = 0, d E eps^2 = {eps2}, E eps^3 = 8/d^2, E eps^4 = O(d^-2); "
                      "E[eps | Px] = (||Px||^2 - k)/d, d E[eps^2 | Px] -> 2",
                      "sympy derivatives of the chi-square cumulant generating function", bool(ok))


def _edgeworth() -> tuple[sp.Rational, Step]:
    lam, m, K4 = sp.symbols("lambda m K4", real=True)
    tau = sp.Symbol("tau", positive=True)
    # sigma = exp(lambda z): E exp(lambda (m + Y)) = exp(lambda m + sum_n K_n lambda^n / n!) with
    # K2 = tau^2, K4 = K4; its first-order term in K4 over R_mmmm = lambda^4 R gives the coefficient.
    R = sp.exp(lam * m + lam**2 * tau**2 / 2)
    full = sp.exp(lam * m + lam**2 * tau**2 / 2 + K4 * lam**4 / 24)
    coef = sp.simplify(sp.diff(full, K4).subs(K4, 0) / sp.diff(R, m, 4))
    # E x^4 for x ~ N(0, 1) (sympy.stats): the sum over d coordinates is 3 d
    from sympy.stats import E, Normal

    x4 = sp.simplify(E(Normal("x", 0, 1) ** 4))
    e_k = coef * x4
    ok = coef.is_Rational and x4 == 3 and e_k.is_Rational
    # the conditional fourth cumulant of Y = c sum_i xi_i x_i is kappa4 c^4 sum_i x_i^4 (cumulants of
    # independent terms add and scale with the 4th power): checked exactly for rademacher xi, whose
    # cumulant generating function is sum_i log cosh(t c x_i), on three symbolic coordinates
    t, c = sp.symbols("t c", real=True)
    xs = sp.symbols("x1:4", real=True)
    Kt = sum(sp.log(sp.cosh(t * c * x)) for x in xs)
    k4_y = sp.diff(Kt, t, 4).subs(t, 0)
    ok &= _zero(k4_y - (-2) * c**4 * sum(x**4 for x in xs))
    return e_k, Step("edgeworth", f"E sigma(m + Y) = R + (K4 / {1 / coef}) R_mmmm + ...; E x_i^4 = {x4}: "
                     f"f_law - f_gauss = abar {e_k} kappa4 s^4 R_mmmm / d",
                     "sympy on the exponential family (cumulant expansion) and sympy.stats", bool(ok))


def _stein() -> Step:
    """phi'' = (zeta^2 - 1) phi, so two integrations by parts give E[h (zeta^2 - 1)] = E h'' for h of
    sub-Gaussian growth; checked also on h = zeta^n (exact moments (n - 1)!!) and, for the conditional
    form, on polynomial sigma (hermite 2..5) against beta^2 d^2R/dm^2."""
    from verify.kernels import get_activation

    zeta, z, al = sp.symbols("zeta z alpha", real=True)
    beta = sp.Symbol("beta", positive=True)
    phi = sp.exp(-zeta**2 / 2) / sp.sqrt(2 * sp.pi)
    ok = _zero(sp.diff(phi, zeta, 2) - (zeta**2 - 1) * phi)

    def gauss_mean(poly):  # E p(zeta) from E zeta^n = (n - 1)!! (n even)
        P = sp.Poly(sp.expand(poly), zeta)
        return sum(c * (sp.factorial2(n[0] - 1) if n[0] % 2 == 0 else 0) for n, c in zip(P.monoms(), P.coeffs()))

    for n in range(0, 9):
        h = zeta**n
        ok &= _zero(gauss_mean(h * (zeta**2 - 1)) - gauss_mean(sp.diff(h, zeta, 2)))
    m = sp.Symbol("m", real=True)
    for n in range(2, 6):
        act = get_activation(f"hermite(n={n})")
        lhs = gauss_mean(sigma_sym(act, al * z + beta * zeta) * (zeta**2 - 1))
        rhs = beta**2 * sp.diff(smoothing_sym(act, m, beta), m, 2).subs(m, al * z)
        ok &= _zero(lhs - rhs)
    return Step("stein", "E[h(zeta)(zeta^2 - 1)] = E h''(zeta); E[sigma(alpha z + beta zeta)(zeta^2 - 1) | z] "
                "= beta^2 R_mm(alpha z, beta)", "sympy: phi'' = (zeta^2 - 1) phi; exact Gaussian moments", bool(ok))


def _assembly(a1, a2, e_k, eps2) -> tuple[tuple, Step]:
    F, Ft, G, e, A, B, u, abar, kap = sp.symbols("F Ft G e A B u abar kappa4", real=True)
    s, d = sp.symbols("s d", positive=True)
    ok = _zero((F - G) ** 2 - (Ft - G) ** 2 - ((F - Ft) ** 2 + 2 * (F - Ft) * (Ft - G)))
    D = sp.Symbol("D", real=True)  # f~ - g
    diff = abar * (a1 * s**2 * e * A + a2 * s**4 * e**2 * B + e_k * kap * s**4 * B / d)
    X = sp.expand(diff**2 + 2 * diff * D)
    # average eps given Px: e -> u/d, e^2 -> eps2/d; e^3, e^4 are O(d^-2)
    poly = sp.Poly(X, e)
    moments = {0: 1, 1: u / d, 2: eps2 / d, 3: 0, 4: 0}
    avg = sum(c * moments[n[0]] for n, c in zip(poly.monoms(), poly.coeffs()))
    c = sp.expand(sp.limit(sp.expand(d * avg), d, sp.oo))
    w1 = sp.simplify(c.coeff(A, 2) / (abar**2 * s**4))
    w2 = sp.simplify(c.coeff(A, 1).coeff(u).coeff(D) / (abar * s**2))
    w3 = sp.simplify(c.coeff(kap, 0).coeff(B).coeff(D) / (abar * s**4))
    wk = sp.simplify(c.coeff(kap, 1).coeff(B).coeff(D) / (abar * s**4))
    rebuilt = (w1 * abar**2 * s**4 * A**2 + w2 * abar * s**2 * A * u * D + w3 * abar * s**4 * B * D
               + wk * kap * abar * s**4 * B * D)
    ok &= all(w.is_Rational and w != 0 for w in (w1, w2, w3, wk)) and _zero(c - rebuilt)
    return (w1, w2, w3, wk), Step(
        "assembly", f"c1 = {w1} abar^2 s^4 E[R_mm^2] + {w2} abar s^2 E[R_mm u (f~ - g)] + {w3} abar s^4 "
        f"E[R_mmmm (f~ - g)];  c_kappa = {wk} abar s^4 E[R_mmmm (f~ - g)]",
        "sympy: the square identity, polynomial in eps averaged with the chi-square moments, limit d -> oo",
        bool(ok))


def _tau2() -> tuple[tuple, Step]:
    g, Hq, s, d, k4 = sp.symbols("gamma2 H_q s d kappa4", real=True)
    # Var of the linear part: <gamma, delta> has variance s^2 ||gamma||^2 / d (delta = s xi / sqrt d,
    # Cov xi = I); H_q s^2 eps_xi has variance H_q^2 s^4 (E xi^4 - 1) / d; they are uncorrelated
    # (E xi_i xi_j^2 = E xi^3 [i = j] = 0 for symmetric laws).
    ex4 = k4 + 3
    var = s**2 * g / d + Hq**2 * s**4 * (ex4 - 1) / d
    lead = sp.expand(sp.limit(d * var, d, sp.oo))
    t_lin = sp.simplify(lead.coeff(g) / s**2)
    t_q = sp.simplify(lead.coeff(Hq, 2) / (s**4 * (k4 + 2)))
    ok = t_lin.is_Rational and t_q.is_Rational and _zero(lead - (t_lin * s**2 * g + t_q * (k4 + 2) * s**4 * Hq**2))
    return (t_lin, t_q), Step("tau2", f"d tau^2 -> 4 abar^2 ({t_lin} s^2 ||gamma||^2 + {t_q} (kappa4 + 2) s^4 H_q^2); "
                              "var_a > 0: tau^2 -> 4 var_a H0^2", "sympy: the delta-method variance, limit d -> oo", bool(ok))


def xi_fourth_moment(xi: str, sparsity=Fraction(1, 10)) -> sp.Rational:
    """E xi^4 of an xi law of MATH.md section 1, exactly (sparsity p as an exact rational)."""
    z = sp.Symbol("z", real=True)
    if xi == "gaussian":
        from sympy.stats import E, Normal

        return sp.nsimplify(E(Normal("xi", 0, 1) ** 4))
    if xi == "rademacher":
        return sp.Rational(1, 2) * (1**4) + sp.Rational(1, 2) * ((-1) ** 4)
    if xi == "uniform":  # sqrt(3) U[-1, 1]
        return sp.integrate((sp.sqrt(3) * z) ** 4 / 2, (z, -1, 1))
    if xi == "sparse":  # Bernoulli(p) x Rademacher / sqrt(p)
        p = sp.Rational(Fraction(sparsity).numerator, Fraction(sparsity).denominator)
        return p * (1 / sp.sqrt(p)) ** 4
    raise ValueError(f"unknown xi law {xi!r}")


def kappa4(xi: str, sparsity=Fraction(1, 10)) -> sp.Rational:
    """The fourth cumulant E xi^4 - 3 (unit variance) of an xi law."""
    return sp.Rational(xi_fourth_moment(xi, sparsity)) - 3


def _laws() -> Step:
    from sympy.stats import E, variance

    z = sp.Symbol("z", real=True)
    ok = kappa4("gaussian") == 0 and kappa4("rademacher") == -2 and kappa4("uniform") == sp.Rational(-6, 5)
    ok &= kappa4("sparse", Fraction(1, 10)) == 7
    # unit variance of every law (the normalization that makes kappa4 = E xi^4 - 3)
    from sympy.stats import Normal

    ok &= variance(Normal("g", 0, 1)) == 1 and E(Normal("g", 0, 1) ** 3) == 0
    ok &= sp.integrate((sp.sqrt(3) * z) ** 2 / 2, (z, -1, 1)) == 1
    return Step("laws", "kappa4 = E xi^4 - 3: gaussian 0, rademacher -2, uniform -6/5, sparse(p) 1/p - 3 "
                "(sparse(0.1): 7); every law has variance 1 and a vanishing third moment",
                "sympy.stats and exact integrals", bool(ok))


@lru_cache(maxsize=1)
def derive() -> Derivation:
    """Run every step (a few seconds of sympy, cached for the process) and collect the coefficients."""
    h, st_heat = _heat()
    a1, a2, st_taylor = _taylor(h)
    eps2, st_chi2 = _chi2()
    e_k, st_edge = _edgeworth()
    st_stein = _stein()
    (w1, w2, w3, wk), st_asm = _assembly(a1, a2, e_k, eps2)
    (t_lin, t_q), st_tau2 = _tau2()
    st_laws = _laws()
    return Derivation(heat=h, a1=a1, a2=a2, e_k=e_k, eps2=eps2, w1=w1, w2=w2, w3=w3, wk=wk, t_lin=t_lin, t_q=t_q,
                      steps=(st_heat, st_taylor, st_chi2, st_edge, st_stein, st_asm, st_tau2, st_laws))
