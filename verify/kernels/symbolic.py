r"""Named symbolic checks of the closed-form dual kernels (MATH.md section 2).

Each check is a plain function that returns a `SymbolicCheck` record; `CHECKS` maps the names a
claim file may use to the functions and `run_check(name, **params)` runs one by name. Nothing here
parses expressions out of strings: claim files are data, the formulas live in this module.

Notation: k_sigma(q1, q2, c) = E sigma(X) sigma(Y), (X, Y) ~ N(0, [[q1, c], [c, q2]]), with
q1, q2 > 0 (positive sympy symbols), c real, p = sqrt(q1 q2), rho = c / p in (-1, 1).
The kernels themselves come from `Activation.k_sym` (verify.kernels.activations).

What is checked
---------------
price_theorem(activation)
    Price's theorem (R. Price, "A useful theorem for nonlinear devices having Gaussian inputs",
    IRE Trans. Inform. Theory 4, 1958): d k_sigma / dc = k_{sigma'}, i.e. E sigma'(X) sigma'(Y).
    The derivative kernels, derived here independently of the kernels being differentiated:
      relu   (sigma' = step)            -> k_step = (pi - arccos rho) / (2 pi)
      step   (sigma' = delta)           -> bivariate density at 0: 1 / (2 pi sqrt(q1 q2 - c^2))
      abs    (sigma' = sign)            -> k_sign = (2/pi) arcsin rho
      sign   (sigma' = 2 delta)         -> 4 / (2 pi sqrt(q1 q2 - c^2)) = 2 / (pi sqrt(q1 q2 - c^2))
      leaky_relu(alpha) (sigma' = A + B sign, A = (1+alpha)/2, B = (1-alpha)/2)
                                        -> A^2 + B^2 (2/pi) arcsin rho   (E sign(Y) = 0)
      linear (sigma' = 1)               -> 1
      erf    (sigma' = (2/sqrt pi) exp(-z^2))
                                        -> (4/pi) E exp(-X^2 - Y^2)
                                         = (4/pi) / sqrt((1 + 2 q1)(1 + 2 q2) - 4 c^2)
      hermite(n) (h_n' = sqrt(n) h_{n-1}) -> n k_{h_{n-1}};  hermite(0) -> 0.
    (By hand: d/dc (2/pi) arcsin(2c / sqrt(D)) = (4/pi) / sqrt(D - 4 c^2), D = (1+2q1)(1+2q2),
    which is the erf line.)

boundary_values(activation)
    Values at rho = -1, 0, 1 (c = -p, 0, p), each by direct substitution into the closed form and,
    at rho = +-1, also as sympy's one-sided limit from inside (-p, p):
      relu   p (0, 1/(2 pi), 1/2)            step   (0, 1/4, 1/2)       sign (-1, 0, 1)
      abs    p (1, 2/pi, 1)                  linear (-p, 0, p)
      leaky_relu: A^2 c + B^2 k_abs there, i.e. p ((B^2 - A^2), 2 B^2 / pi, (A^2 + B^2))
      erf    0 at c = 0, and (2/pi) arcsin(+-2p / sqrt((1+2q1)(1+2q2))) at c = +-p (limit from
             inside; the kernel of Williams 1998 is continuous up to the boundary)
      hermite(n) at q1 = q2 = 1: rho^n identically in rho, and so (-1)^n, 0^n, 1.
    For the two-slope family sigma = A z + B |z| (relu, abs, linear, leaky_relu) also the odd part
    k(c) - k(-c) = 2 A^2 c; for ReLU this is the identity K(rho) - K(-rho) = rho / 2.

relu_K_derivatives()
    K(rho) = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi) (Cho & Saul 2009, arc-cosine
    kernel of degree 1): K'(rho) = (pi - arccos rho) / (2 pi), K''(rho) = 1 / (2 pi sqrt(1 - rho^2)),
    K(1) = 1/2, K(0) = 1/(2 pi), K(-1) = 0, K'(-1) = 0, K'' > 0 on (-1, 1) (shown by sympy's
    assumption system after rho = (t - 1)/(t + 1), t > 0, which maps onto (-1, 1)); with K'(-1) = 0
    this also makes K increasing. And relu's k_sym(q1, q2, c) = sqrt(q1 q2) K(c / sqrt(q1 q2)).

relu_hermite_coefficients(n_max=12)
    c_k = E relu(Z) h_k(Z), h_k = He_k / sqrt(k!), by exact sympy integration of
    z He_k(z) exp(-z^2/2) / sqrt(2 pi) over (0, oo), against `relu_hermite_coefficient(k)`:
    c_0 = 1/sqrt(2 pi), c_1 = 1/2, c_{2m+1} = 0 (m >= 1),
    c_{2m} = (-1)^(m+1) (2m-3)!! / (sqrt(2 pi) sqrt((2m)!)) (m >= 1, (-1)!! = 1);
    and sum_{k <= n_max} c_k^2 rho^k against the Taylor polynomial of K at 0 (sympy series), as
    K(rho) = sum_k c_k^2 rho^k (Mehler / E h_j(X) h_k(Y) = delta_jk rho^k).

How an equality is decided
--------------------------
The difference lhs - rhs is passed to sympy's simplify (then, if needed, after rewriting arccos as
arcsin, and after substituting c = rho sqrt(q1 q2) with rho = (t - 1)/(t + 1), t > 0, which is how
sympy is told that rho lies in (-1, 1)). If it becomes exactly 0 the method is
"simplify" and the residual 0.0. Otherwise the difference is evaluated with evalf(50) at >= 8
seeded random rational points inside the domain (q1 = a^2, q2 = b^2, c = rho a b with a, b > 0
and |rho| < 1 rational) and passes only if every |value| < 1e-40; the method is then
"simplify+numeric" and the residual the largest |value|. A numeric pass is evidence, not proof;
the record says which one it is.
"""

from __future__ import annotations

import inspect
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import sympy as sp

from verify.errors import InputError
from verify.kernels.activations import Activation, get_activation

__all__ = [
    "SymbolicCheck",
    "CHECKS",
    "run_check",
    "compare_expressions",
    "derivative_kernel",
    "price_theorem",
    "boundary_values",
    "relu_K",
    "relu_K_derivatives",
    "relu_hermite_coefficient",
    "relu_hermite_coefficients",
    "NUMERIC_TOL",
    "NUMERIC_DIGITS",
    "NUMERIC_POINTS",
]

# The symbols every check uses (sympy caches symbols by name and assumptions, so these are the
# same objects wherever the same name and assumptions are used).
Q1, Q2 = sp.symbols("q1 q2", positive=True)
C = sp.Symbol("c", real=True)
RHO = sp.Symbol("rho", real=True)  # meant in (-1, 1); sympy cannot be told, the sampler respects it
T = sp.Symbol("t", positive=True)  # rho = (t - 1)/(t + 1) maps t > 0 onto (-1, 1)
Z = sp.Symbol("z", real=True)

NUMERIC_TOL = 1e-40
NUMERIC_DIGITS = 50
NUMERIC_POINTS = 8
_SEED = 20220517

# Activations with a closed-form k_sym and a derivative kernel in `derivative_kernel`.
SUPPORTED = ("relu", "step", "sign", "abs", "leaky_relu", "linear", "erf", "hermite")
MAX_N_MAX = 24


@dataclass(frozen=True)
class SymbolicCheck:
    """The outcome of one named symbolic check.

    name: the check's name; activation: the activation's label ("" where none applies);
    passed: every comparison held; method: "simplify" if every difference simplified to exactly
    0, else "simplify+numeric"; details: the comparisons, in sympy's str form; residual: the
    largest |difference| at the numeric sample points (0.0 when everything was exactly zero).
    """

    name: str
    activation: str
    passed: bool
    method: str
    details: str
    residual: float


# --------------------------------------------------------------------------------------------
# Comparison machinery
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    what: str
    passed: bool
    exact: bool
    residual: float
    text: str


def _as_expr(x) -> sp.Expr:
    if isinstance(x, str):  # claim files are data: never parse expressions out of strings
        raise TypeError("symbolic comparisons take sympy expressions or numbers, not strings")
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    return sp.sympify(x)


def _rand_rational(rng: random.Random, lo: Fraction, hi: Fraction, den: int = 97) -> sp.Rational:
    """A rational strictly inside (lo, hi) with denominator dividing `den`."""
    n_lo = int(lo * den) + 1
    n_hi = -int(-hi * den) - 1
    return sp.Rational(rng.randint(n_lo, n_hi), den)


def sample_points(symbols, n: int = NUMERIC_POINTS, seed: int = _SEED) -> list[dict]:
    """n seeded random rational points in the domain of the module's symbols.

    q1 = a^2, q2 = b^2 and c = rho a b with a, b in (1/8, 3) and rho in (-1, 1), so that
    q1 q2 - c^2 > 0; t in (0, 8); any other positive symbol in (0, 4), any other symbol in (-1, 1).
    """
    rng = random.Random(seed)
    pts = []
    for _ in range(n):
        a = _rand_rational(rng, Fraction(1, 8), Fraction(3))
        b = _rand_rational(rng, Fraction(1, 8), Fraction(3))
        r = _rand_rational(rng, Fraction(-1), Fraction(1))
        pt = {Q1: a**2, Q2: b**2, C: r * a * b, RHO: r, T: _rand_rational(rng, Fraction(0), Fraction(8))}
        for s in sorted(symbols, key=str):
            if s in pt:
                continue
            if s.is_positive:
                pt[s] = _rand_rational(rng, Fraction(0), Fraction(4))
            else:
                pt[s] = _rand_rational(rng, Fraction(-1), Fraction(1))
        pts.append({s: v for s, v in pt.items() if s in symbols})
    return pts


def _numeric_value(expr: sp.Expr, point: dict) -> float:
    v = expr.subs(point).evalf(NUMERIC_DIGITS)
    if not v.is_number or v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return float("inf")
    try:
        return float(abs(v))
    except (TypeError, ValueError):
        return float("inf")


def _simplifies_to_zero(diff: sp.Expr) -> str | None:
    """The route by which `diff` simplifies to exactly 0, or None."""
    if diff == 0:
        return "identical"
    if sp.simplify(diff) == 0:
        return "simplify"
    if diff.has(sp.acos) and sp.simplify(diff.rewrite(sp.asin)) == 0:
        return "simplify after rewrite(asin)"
    if C in diff.free_symbols and (Q1 in diff.free_symbols or Q2 in diff.free_symbols):
        # c = rho sqrt(q1 q2) with rho = (t - 1)/(t + 1), t > 0: this tells sympy |rho| < 1, so
        # that 1 - rho, 1 + rho and q1 q2 - c^2 are known positive and square roots split.
        sub = diff.subs(C, (T - 1) / (T + 1) * sp.sqrt(Q1 * Q2))
        if sp.simplify(sub) == 0 or sp.simplify(sub.rewrite(sp.asin)) == 0:
            return "simplify after c = rho sqrt(q1 q2), rho = (t-1)/(t+1), t > 0"
    return None


def _compare(lhs, rhs, what: str, *, points: list[dict] | None = None) -> _Part:
    """Decide lhs == rhs: exactly by simplification, else numerically at 50 digits."""
    lhs, rhs = _as_expr(lhs), _as_expr(rhs)
    diff = lhs - rhs
    text = f"{what}: {sp.sstr(lhs)} == {sp.sstr(rhs)}"
    route = _simplifies_to_zero(diff)
    if route is not None:
        return _Part(what, True, True, 0.0, f"{text} [{route}]")
    pts = points if points is not None else sample_points(diff.free_symbols)
    if not pts:
        pts = [{}]
    residual = max(_numeric_value(diff, pt) for pt in pts)
    passed = residual < NUMERIC_TOL
    return _Part(what, passed, False, residual, f"{text} [numeric at {len(pts)} points: max |diff| = {residual:.3g}]")


def _positive_on_open_interval(expr: sp.Expr, what: str) -> _Part:
    """expr(rho) > 0 for every rho in (-1, 1), by sympy's assumptions after rho = (t-1)/(t+1)."""
    expr = _as_expr(expr)
    in_t = sp.simplify(expr.subs(RHO, (T - 1) / (T + 1)))
    ok = in_t.is_positive is True
    route = "is_positive for t > 0 after rho = (t-1)/(t+1)"
    if not ok:
        # Second route: the set where expr <= 0 inside (-1, 1) is empty.
        try:
            bad = sp.solveset(expr <= 0, RHO, sp.Interval.open(-1, 1))
            ok = bad == sp.S.EmptySet
            route = f"solveset(expr <= 0 on (-1, 1)) = {sp.sstr(bad)}"
        except (NotImplementedError, TypeError, ValueError) as exc:  # pragma: no cover - sympy limits
            route = f"undecided ({type(exc).__name__})"
    return _Part(what, ok, True, 0.0, f"{what}: {sp.sstr(expr)} > 0 on (-1, 1) [{route}]")


def _record(name: str, activation: str, parts: list[_Part]) -> SymbolicCheck:
    exact = all(p.exact for p in parts)
    return SymbolicCheck(
        name=name,
        activation=activation,
        passed=all(p.passed for p in parts),
        method="simplify" if exact else "simplify+numeric",
        details="; ".join(p.text for p in parts),
        residual=0.0 if exact else max(p.residual for p in parts),
    )


def compare_expressions(
    lhs, rhs, *, name: str = "compare", activation: str = "", what: str = "lhs == rhs",
    points: list[dict] | None = None,
) -> SymbolicCheck:
    """Compare two sympy expressions the way every check does (exact, else 50-digit numeric).

    `points` (list of {symbol: value}) overrides the random sample points.
    """
    return _record(name, activation, [_compare(lhs, rhs, what, points=points)])


# --------------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------------


def _activation(activation) -> Activation:
    act = get_activation(activation)
    if act.name not in SUPPORTED or act.k_sym is None:
        raise InputError(
            f"activation {act.label!r} has no closed-form kernel for symbolic checks; use one of: {', '.join(SUPPORTED)}"
        )
    return act


def _two_slope(act: Activation) -> tuple[sp.Rational, sp.Rational] | None:
    """(A, B) with sigma(z) = A z + B |z|, exact, or None."""
    if act.name == "relu":
        return sp.Rational(1, 2), sp.Rational(1, 2)
    if act.name == "abs":
        return sp.Integer(0), sp.Integer(1)
    if act.name == "linear":
        return sp.Integer(1), sp.Integer(0)
    if act.name == "leaky_relu":
        a = Fraction(act.param_dict["alpha"])  # a float alpha is an exact binary rational
        A, B = (1 + a) / 2, (1 - a) / 2
        return sp.Rational(A.numerator, A.denominator), sp.Rational(B.numerator, B.denominator)
    return None


def _k_step(q1, q2, c):
    return (sp.pi - sp.acos(c / sp.sqrt(q1 * q2))) / (2 * sp.pi)


def _k_sign(q1, q2, c):
    return 2 / sp.pi * sp.asin(c / sp.sqrt(q1 * q2))


def _orthant_density(q1, q2, c):
    """E delta(X) delta(Y): the N(0, [[q1, c], [c, q2]]) density at the origin."""
    return 1 / (2 * sp.pi * sp.sqrt(q1 * q2 - c**2))


def _hermite_kernel(n: int, q1, q2, c):
    return get_activation("hermite", n=n).k_sym(q1, q2, c)


def derivative_kernel(activation, q1=Q1, q2=Q2, c=C) -> sp.Expr:
    """k_{sigma'}(q1, q2, c), written down independently of sigma's own kernel (module docstring)."""
    act = _activation(activation)
    name = act.name
    if name == "relu":
        return _k_step(q1, q2, c)
    if name == "step":
        return _orthant_density(q1, q2, c)
    if name == "abs":
        return _k_sign(q1, q2, c)
    if name == "sign":
        return 4 * _orthant_density(q1, q2, c)
    if name == "leaky_relu":
        A, B = _two_slope(act)
        return A**2 + B**2 * _k_sign(q1, q2, c)
    if name == "linear":
        return sp.Integer(1)
    if name == "erf":
        return (4 / sp.pi) / sp.sqrt((1 + 2 * q1) * (1 + 2 * q2) - 4 * c**2)
    if name == "hermite":
        n = int(act.param_dict["n"])
        return sp.Integer(0) if n == 0 else n * _hermite_kernel(n - 1, q1, q2, c)
    raise AssertionError(name)  # pragma: no cover - guarded by _activation


# --------------------------------------------------------------------------------------------
# 1. Price's theorem
# --------------------------------------------------------------------------------------------


def _price_theorem_against(act: Activation, expected: sp.Expr) -> SymbolicCheck:
    dk = sp.diff(act.k_sym(Q1, Q2, C), C)
    part = _compare(dk, expected, "d k/dc == k_{sigma'}")
    return _record("price_theorem", act.label, [part])


def price_theorem(activation) -> SymbolicCheck:
    """d k_sigma / dc == k_{sigma'} (Price 1958), with k_{sigma'} from `derivative_kernel`."""
    act = _activation(activation)
    return _price_theorem_against(act, derivative_kernel(act))


# --------------------------------------------------------------------------------------------
# 2. Boundary values
# --------------------------------------------------------------------------------------------


def _expected_boundary(act: Activation) -> dict[int, sp.Expr]:
    """Exact k_sigma at rho = -1, 0, 1 for general q1, q2 (not hermite)."""
    p = sp.sqrt(Q1 * Q2)
    name = act.name
    if name == "relu":
        return {-1: sp.Integer(0), 0: p / (2 * sp.pi), 1: p / 2}
    if name == "step":
        return {-1: sp.Integer(0), 0: sp.Rational(1, 4), 1: sp.Rational(1, 2)}
    if name == "sign":
        return {-1: sp.Integer(-1), 0: sp.Integer(0), 1: sp.Integer(1)}
    if name == "abs":
        return {-1: p, 0: 2 * p / sp.pi, 1: p}
    if name == "linear":
        return {-1: -p, 0: sp.Integer(0), 1: p}
    if name == "leaky_relu":
        A, B = _two_slope(act)
        return {-1: (B**2 - A**2) * p, 0: 2 * B**2 * p / sp.pi, 1: (A**2 + B**2) * p}
    if name == "erf":
        D = sp.sqrt((1 + 2 * Q1) * (1 + 2 * Q2))
        return {-1: 2 / sp.pi * sp.asin(-2 * p / D), 0: sp.Integer(0), 1: 2 / sp.pi * sp.asin(2 * p / D)}
    raise AssertionError(name)  # pragma: no cover


def _boundary_parts(act: Activation, expected: dict[int, sp.Expr]) -> list[_Part]:
    parts: list[_Part] = []
    if act.name == "hermite":
        n = int(act.param_dict["n"])
        k1 = act.k_sym(sp.Integer(1), sp.Integer(1), RHO)
        parts.append(_compare(k1, RHO**n, "k(1, 1, rho) == rho^n"))
        for r in (-1, 0, 1):
            parts.append(_compare(k1.subs(RHO, r), expected[r], f"k(1, 1, {r}) == ({r})^{n}"))
        return parts
    k = act.k_sym(Q1, Q2, C)
    p = sp.sqrt(Q1 * Q2)
    for r in (-1, 0, 1):
        parts.append(_compare(k.subs(C, r * p), expected[r], f"k at rho = {r}"))
    parts.append(_compare(sp.limit(k, C, p, "-"), expected[1], "lim_{c -> p-} k"))
    parts.append(_compare(sp.limit(k, C, -p, "+"), expected[-1], "lim_{c -> -p+} k"))
    ab = _two_slope(act)
    if ab is not None:
        A = ab[0]
        what = "K(rho) - K(-rho) == rho/2 (as k(c) - k(-c) == c/2)" if act.name == "relu" else "k(c) - k(-c) == 2 A^2 c"
        parts.append(_compare(k - k.subs(C, -C), 2 * A**2 * C, what))
    return parts


def boundary_values(activation) -> SymbolicCheck:
    """k_sigma at rho = -1, 0, 1 (and the one-sided limits) against the exact values."""
    act = _activation(activation)
    if act.name == "hermite":
        n = int(act.param_dict["n"])
        expected = {r: sp.Integer(r) ** n for r in (-1, 0, 1)}
    else:
        expected = _expected_boundary(act)
    return _record("boundary_values", act.label, _boundary_parts(act, expected))


# --------------------------------------------------------------------------------------------
# 3. ReLU's K
# --------------------------------------------------------------------------------------------


def relu_K(rho=RHO) -> sp.Expr:
    """K(rho) = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)  (Cho & Saul 2009)."""
    return (sp.sqrt(1 - rho**2) + (sp.pi - sp.acos(rho)) * rho) / (2 * sp.pi)


def relu_K_derivatives() -> SymbolicCheck:
    """K', K'', K(1), K(0), K(-1), K'(-1), K'' > 0 on (-1, 1), and k_relu = sqrt(q1 q2) K(rho)."""
    K = relu_K(RHO)
    K1 = sp.diff(K, RHO)
    K2 = sp.diff(K, RHO, 2)
    parts = [
        _compare(K1, (sp.pi - sp.acos(RHO)) / (2 * sp.pi), "K'(rho)"),
        _compare(K2, 1 / (2 * sp.pi * sp.sqrt(1 - RHO**2)), "K''(rho)"),
        _compare(K.subs(RHO, 1), sp.Rational(1, 2), "K(1)"),
        _compare(K.subs(RHO, 0), 1 / (2 * sp.pi), "K(0)"),
        _compare(K.subs(RHO, -1), 0, "K(-1)"),
        _compare(K1.subs(RHO, -1), 0, "K'(-1)"),
        _positive_on_open_interval(K2, "K''(rho) (convexity)"),
    ]
    p = sp.sqrt(Q1 * Q2)
    k = get_activation("relu").k_sym(Q1, Q2, C)
    parts.append(_compare(k, p * relu_K(C / p), "k_relu(q1, q2, c) == sqrt(q1 q2) K(c / sqrt(q1 q2))"))
    return _record("relu_K_derivatives", "relu", parts)


# --------------------------------------------------------------------------------------------
# 4. Hermite coefficients of ReLU
# --------------------------------------------------------------------------------------------


def relu_hermite_coefficient(k: int) -> sp.Expr:
    """c_k = E relu(Z) h_k(Z), h_k = He_k / sqrt(k!), exactly (formula in the module docstring)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise InputError(f"Hermite index k must be a nonnegative integer, got {k!r}")
    if k == 0:
        return 1 / sp.sqrt(2 * sp.pi)
    if k == 1:
        return sp.Rational(1, 2)
    if k % 2 == 1:
        return sp.Integer(0)
    m = k // 2
    return (-1) ** (m + 1) * sp.factorial2(2 * m - 3) / (sp.sqrt(2 * sp.pi) * sp.sqrt(sp.factorial(2 * m)))


def _integrated_coefficient(k: int) -> sp.Expr:
    """E relu(Z) h_k(Z) by exact integration over (0, oo)."""
    integrand = Z * sp.hermite_prob(k, Z) * sp.exp(-(Z**2) / 2) / sp.sqrt(2 * sp.pi)
    return sp.integrate(integrand, (Z, 0, sp.oo)) / sp.sqrt(sp.factorial(k))


def _hermite_coefficients_against(n_max: int, formula: Callable[[int], sp.Expr]) -> SymbolicCheck:
    parts = []
    coeffs = []
    for k in range(n_max + 1):
        ck = formula(k)
        coeffs.append(ck)
        parts.append(_compare(_integrated_coefficient(k), ck, f"c_{k}"))
    series = sp.series(relu_K(RHO), RHO, 0, n_max + 1).removeO()
    poly = sum((ck**2 * RHO**k for k, ck in enumerate(coeffs)), sp.Integer(0))
    parts.append(_compare(sp.expand(poly), sp.expand(series), f"sum_(k<={n_max}) c_k^2 rho^k == Taylor_{n_max} K"))
    return _record("relu_hermite_coefficients", "relu", parts)


def relu_hermite_coefficients(n_max: int = 12) -> SymbolicCheck:
    """c_0..c_{n_max} by exact integration against the formula, and Mehler's sum against K's series."""
    n_max = _int_param("n_max", n_max, 0, MAX_N_MAX)
    return _hermite_coefficients_against(n_max, relu_hermite_coefficient)


# --------------------------------------------------------------------------------------------
# 5. The registry
# --------------------------------------------------------------------------------------------


def _int_param(key: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool):
        raise InputError(f"parameter {key}={value!r} must be an integer in {lo}..{hi}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(f"parameter {key}={value!r} must be an integer in {lo}..{hi}")
    return value


CHECKS: dict[str, Callable[..., SymbolicCheck]] = {
    "price_theorem": price_theorem,
    "boundary_values": boundary_values,
    "relu_K_derivatives": relu_K_derivatives,
    "relu_hermite_coefficients": relu_hermite_coefficients,
}


def run_check(name: str, **params) -> SymbolicCheck:
    """Run the check `name` with `params` (e.g. activation="leaky_relu(alpha=0.25)").

    Raises InputError for an unknown check, a missing, unknown or malformed parameter, or an
    activation without a closed-form kernel.
    """
    if not isinstance(name, str) or name not in CHECKS:
        raise InputError(f"unknown symbolic check {name!r}; known: {', '.join(CHECKS)}")
    fn = CHECKS[name]
    try:
        inspect.signature(fn).bind(**params)
    except TypeError as exc:
        allowed = ", ".join(inspect.signature(fn).parameters) or "none"
        raise InputError(f"bad parameters for symbolic check {name!r}: {exc} (allowed: {allowed})") from None
    if "activation" in params:
        act = params["activation"]
        if not isinstance(act, (str, Activation)):
            raise InputError(f"parameter activation={act!r} of {name!r} must be an activation name")
        params["activation"] = _activation(act)
    return fn(**params)
