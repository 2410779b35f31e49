r"""Certified global lower bounds on L~ at mu = 0 (ReLU): the Delsarte-Yudin bound of MATH.md section 6.

Setting. At mu = 0 the target of the simplified problem is the constant f~ = abar s / sqrt(2 pi),
and with beta_j = b_j ||v_j||, theta_j = hat(v_j), G = Theta Theta^T (MATH.md sections 5 and 6),

    L~ = abar^2 s^2 K(0) - 2 abar s K(0) 1^T beta + beta^T K(G) beta,      K(0) = 1 / (2 pi),

so for fixed directions L~ is minimized by K(G) beta = abar s K(0) 1 and

    L~* = (abar^2 s^2 / (2 pi)) (1 - Phi / (2 pi)),   Phi = sup_beta (2 1^T beta - beta^T K(G) beta).

A lower bound beta^T K(G) beta >= A (1^T beta)^2, valid for every configuration of M unit vectors
in R^d and every admissible beta, gives 2 S - A S^2 <= 1 / A (S = 1^T beta), hence Phi <= 1 / A
and the global bound

    L~ >= (abar^2 s^2 / (2 pi)) (1 - 1 / (2 pi A))          for every network of M neurons.

The Delsarte-Yudin bound (conditional on beta >= 0). Let p(t) = sum_{k=0}^D p_k P_k(t), P_k the
Gegenbauer polynomials of S^{d-1} with P_k(1) = 1 (`verify.certify.gegenbauer`), with

    (i)  p(t) <= K(t) for all t in [-1, 1],      (ii)  p_k >= 0 for k >= 1.

Then for beta >= 0 (entrywise) and any unit theta_1..theta_M (rho_jl = <theta_j, theta_l>):

    beta^T K(G) beta = K(1) sum_j beta_j^2 + sum_{j != l} beta_j beta_l K(rho_jl)
                    >= K(1) sum_j beta_j^2 + sum_{j != l} beta_j beta_l p(rho_jl)     [(i) and beta_j beta_l >= 0]
                     = (K(1) - p(1)) sum_j beta_j^2 + beta^T p(G) beta
                    >= (K(1) - p(1)) sum_j beta_j^2 + p_0 (1^T beta)^2             [(ii): P_k(G) PSD]
                    >= (K(1) - p(1) ) (1^T beta)^2 / M + p_0 (1^T beta)^2           [K(1) >= p(1) by (i); Cauchy-Schwarz]

so A = p_0 + (K(1) - p(1)) / M. The first inequality is the only place where the sign of beta
enters: the entrywise inequality K(rho_jl) >= p(rho_jl) is multiplied by beta_j beta_l, which
must be >= 0. The second uses that beta^T P_k(G) beta = |sum_j beta_j Y_k(theta_j)|^2 / N_k >= 0
(the addition theorem: P_k is positive definite on S^{d-1}, Schoenberg 1942), for every beta. The
bound is therefore stated with assumptions = ("beta >= 0",): it covers every network whose output
weights b_j are all >= 0 (beta_j = b_j ||v_j|| has the sign of b_j), and, since beta -> -beta
changes neither side, every network whose b_j are all <= 0. `verify.certify.signfree` gives a
bound without that assumption.

Dimension. M unit vectors in R^d with d > M span at most M dimensions, so every Gram matrix that
occurs in R^d occurs in R^M: the LP and sign-free bounds are computed in dimension min(d, M).

The tangent line (exact, every d). P_1(t) = t in every dimension, so p(t) = K(r) + K'(r)(t - r)
has p_1 = K'(r) = (pi - arccos r)/(2 pi) >= 0, p_0 = K(r) - r K'(r), and p <= K on [-1, 1] because
K is convex (K'' = 1 / (2 pi sqrt(1 - t^2)) > 0): a proof, not a numeric check. At
r = -1/(M-1), 1 - r = M/(M-1) and (K(1) - p(1))/M = (K(1) - K(r))/M + r K'(r), so

    A = (K(1) + (M - 1) K(-1/(M-1))) / M = A_simplex,

the value of the regular simplex (Gram (1 - t) I + t 11^T, t = -1/(M-1), beta equal): the bound
EQUALS the simplex loss, so for M <= d + 1 (where the simplex exists in R^d) the simplex is a global
minimizer of L~ among networks with nonnegative output weights. For M > d + 1 the same line is a
valid but loose bound; the LP below does better there.

The LP (`delsarte_lp`). Maximize A = p_0 + (K(1) - p(1))/M over p of degree D subject to (ii) and
(i) on a finite grid of [-1, 1] (float64, cvxpy), refined by a few exchange rounds that add the
local maxima of p - K. The solver's answer is never trusted: `certify_polynomial` rounds it to
rationals, sets negative p_k (k >= 1) to 0, lowers p_0 by the float estimate of max(p - K) plus a
margin, proves (i) on all of [-1, 1] in arb ball arithmetic by interval subdivision
(`verify.certify.interval`), and if that proof leaves a certified violation V > 0 lowers p_0 by V
(which proves (i) by the same enclosure). A is then an exact rational, and L~'s bound an arb ball.

Precision: every certified number is an exact rational or an arb ball at `prec` bits; floats
appear only as the solver's suggestion and in the *64 convenience fields.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import numpy as np

from verify.certify._common import (
    K1,
    PREC,
    Verification,
    arb_q,
    finite,
    flint_prec,
    int_at_least,
    solve_suggestion,
)
from verify.certify.gegenbauer import gegenbauer_basis64, to_monomials
from verify.certify.interval import BelowKernelCheck, check_below_relu_kernel
from verify.certify.result import CertifiedBound
from verify.errors import InputError
from verify.kernels.relu import relu_dK_arb, relu_K64, relu_K_arb
from verify.numbers.precision import ball_bounds

__all__ = [
    "DelsarteLP",
    "Mu0Certificate",
    "Mu0Grid",
    "PolynomialCertificate",
    "TangentLine",
    "Verification",
    "bound_from_A",
    "certify_mu0",
    "certify_mu0_grid",
    "certify_polynomial",
    "delsarte_lp",
    "simplex_A",
    "tangent_line",
]

CONDITIONAL = ("beta >= 0",)


# ---- decimal output -----------------------------------------------------------------------------


def _ball_str(ball, digits: int = 25) -> tuple[str, str]:
    """(lower, upper) of a ball as decimal strings rounded outward."""
    lo, hi = ball_bounds(ball, PREC)
    return _dec(lo, digits, down=True), _dec(hi, digits, down=False)


def _dec(q: Fraction, digits: int, *, down: bool) -> str:
    """q as a decimal string of `digits` significant digits, rounded down (or up). The nearest
    string is within half a unit of its last digit; when it is on the wrong side, the string with
    all `digits` digits (zeros kept: "0.2" would be nudged to "0.1") moves one unit outward."""
    with mpmath.workdps(digits + 10):
        x = mpmath.mpf(q.numerator) / q.denominator
        s = mpmath.nstr(x, digits)
        return s if _outward_ok(q, s, down) else _nudge(mpmath.nstr(x, digits, strip_zeros=False), down)


def _outward_ok(q: Fraction, s: str, down: bool) -> bool:
    v = Fraction(s)
    return v <= q if down else v >= q


def _nudge(s: str, down: bool) -> str:
    """Move a decimal string one unit of its last digit outward."""
    mant, _, exp = s.partition("e")
    neg = mant.startswith("-")
    digits = mant.lstrip("-")
    if "." in digits:
        ip, fp = digits.split(".")
    else:
        ip, fp = digits, ""
    n = int(ip + fp)
    away = (down and neg) or (not down and not neg)
    n = n + 1 if away else n - 1
    body = str(abs(n)).rjust(len(ip + fp), "0")
    new = (body[: len(body) - len(fp)].lstrip("0") or "0") + ("." + body[len(body) - len(fp):] if fp else "")
    sign = "-" if (neg and n != 0) or (n < 0) else ""
    return sign + new + (("e" + exp) if exp else "")


# ---- the two closed forms ------------------------------------------------------------------------


def simplex_A(M: int, prec: int = PREC):
    """A_simplex = (K(1) + (M - 1) K(-1/(M-1))) / M as an arb ball (A = K(1) = 1/2 for M = 1)."""
    M = int_at_least("M", M, 1)
    from flint import arb

    with flint_prec(prec):
        if M == 1:
            return arb(1) / 2
        r = arb(-1) / (M - 1)
        return (arb(1) / 2 + (M - 1) * relu_K_arb(r)) / M


def bound_from_A(A, abar: float = 1.0, s: float = 1.0, prec: int = PREC):
    """L = (abar^2 s^2 / (2 pi)) (1 - 1 / (2 pi A)) as an arb ball (A: Fraction or arb, A > 0).

    Decreasing in 1/A: a lower bound on A gives a lower bound on the loss.
    """
    from flint import arb

    abar = finite("abar", abar)
    s = finite("s", s, positive=True)
    with flint_prec(prec):
        Aa = A if isinstance(A, arb) else arb_q(A)
        if not Aa > 0:
            raise InputError("A must be > 0 (a lower bound of beta^T K(G) beta / (1^T beta)^2)")
        c = arb_q(Fraction(abar) ** 2 * Fraction(s) ** 2) / (2 * arb.pi())
        return c * (1 - 1 / (2 * arb.pi() * Aa))


@dataclass(frozen=True)
class TangentLine:
    """The tangent line of K at r = -1/(M-1): p(t) = p0 + p1 t, admissible by convexity of K.

    p0, p1, A: arb balls of p_0 = K(r) - r K'(r), p_1 = K'(r), A = p0 + (K(1) - p0 - p1)/M
    (= A_simplex identically). p0_q, p1_q: exact rationals with p0_q + p1_q t <= K(t) on [-1, 1]
    proven again by interval subdivision (`check`), A_q their exact A (A_q <= A, within 1e-30).
    """

    M: int
    r: Fraction
    p0: object
    p1: object
    A: object
    p0_q: Fraction
    p1_q: Fraction
    A_q: Fraction
    check: BelowKernelCheck


def tangent_line(M: int, prec: int = PREC, inner_margin: Fraction = Fraction(1, 10**30)) -> TangentLine:
    """The exact tangent-line certificate of MATH.md section 6 for M >= 2 (see the module docstring)."""
    M = int_at_least("M", M, 2)
    with flint_prec(prec):
        r = Fraction(-1, M - 1)
        ra = arb_q(r)
        K_r, dK_r = relu_K_arb(ra), relu_dK_arb(ra)
        p0 = K_r - ra * dK_r
        p1 = dK_r
        A = p0 + (arb_q(K1) - p0 - p1) / M
        p0_lo, _ = ball_bounds(p0, prec)
        p1_lo, p1_hi = ball_bounds(p1, prec)
    # A rational inner line: p1_q within the ball of p1, p0_q below p0 by a margin that dominates
    # |p1_q - p1| |t|; the interval check below proves p0_q + p1_q t <= K independently.
    p1_q = (p1_lo + p1_hi) / 2
    p0_q = p0_lo - inner_margin
    chk = check_below_relu_kernel([p0_q, p1_q], prec=prec)
    if not chk.certified:  # pragma: no cover - would mean a bug in the bound or in K
        raise RuntimeError(f"tangent line for M = {M}: the interval check failed ({chk})")
    A_q = p0_q + (K1 - p0_q - p1_q) / M
    return TangentLine(M=M, r=r, p0=p0, p1=p1, A=A, p0_q=p0_q, p1_q=p1_q, A_q=A_q, check=chk)


# ---- the LP --------------------------------------------------------------------------------------


def _max_violation64(coeffs, d: int, n: int = 20001, refine: int = 40) -> tuple[float, np.ndarray]:
    """Float estimate of max over [-1, 1] of p - K and the local maxima (candidates) of p - K."""
    c = np.asarray([float(x) for x in coeffs])
    D = len(c) - 1
    t = np.unique(np.concatenate([np.linspace(-1, 1, n), np.cos(np.pi * np.arange(n // 4 + 1) / (n // 4))]))
    g = c @ gegenbauer_basis64(D, d, t) - relu_K64(t)
    left = np.concatenate([[-np.inf], g[:-1]])
    right = np.concatenate([g[1:], [-np.inf]])
    idx = np.flatnonzero((g >= left) & (g >= right))
    lo = t[np.maximum(idx - 1, 0)]
    hi = t[np.minimum(idx + 1, len(t) - 1)]
    f = lambda x: c @ gegenbauer_basis64(D, d, x) - relu_K64(x)
    for _ in range(refine):  # vectorized golden-section search on each bracket
        a = lo + 0.381966 * (hi - lo)
        b = hi - 0.381966 * (hi - lo)
        fa, fb = f(a), f(b)
        keep_left = fa >= fb
        hi = np.where(keep_left, b, hi)
        lo = np.where(keep_left, lo, a)
    cand = np.concatenate([(lo + hi) / 2, t[idx]])
    vals = f(cand)
    return float(max(vals.max(), g.max())), cand[vals > vals.max() - 1e-6]


@dataclass(frozen=True)
class DelsarteLP:
    """The float LP optimum (a suggestion for `certify_polynomial`, not a bound).

    A64: the LP's A = p_0 + (K(1) - p(1))/M; coefficients64: p_0..p_D in the Gegenbauer basis of
    S^{d-1}; violation64: float estimate of max(p - K) on [-1, 1] after the last round (so A64
    may exceed the true optimum by about that much); grid_points: constraints of the last LP.
    """

    M: int
    d: int
    degree: int
    A64: float
    coefficients64: tuple[float, ...]
    violation64: float
    grid_points: int
    rounds: int
    solver: str
    status: str
    seconds: float


def delsarte_lp(M: int, d: int, degree: int, *, grid: int = 2000, rounds: int = 3, solver: str = "CLARABEL") -> DelsarteLP:
    """Choose p by linear programming: maximize p_0 + (K(1) - p(1))/M s.t. p_k >= 0 (k >= 1) and
    p <= K on a grid of [-1, 1] (cosine and uniform points, plus the local maxima of p - K of each
    previous round). Float64 only: certify with `certify_polynomial`.
    """
    import cvxpy as cp

    M = int_at_least("M", M, 1)
    d = int_at_least("d", d, 2)
    D = int_at_least("degree", degree, 1)
    grid = int_at_least("grid", grid, 10)
    rounds = int_at_least("rounds", rounds, 1)
    t0 = time.perf_counter()
    pts = np.unique(np.concatenate([np.cos(np.pi * np.arange(grid + 1) / grid), np.linspace(-1.0, 1.0, grid + 1)]))
    c = np.full(D + 1, -1.0 / M)
    c[0] = 1.0 - 1.0 / M
    status, value, coeffs, viol, used = "not run", float("nan"), np.zeros(D + 1), float("inf"), 0
    for used in range(1, rounds + 1):
        B = gegenbauer_basis64(D, d, pts).T
        p = cp.Variable(D + 1)
        prob = cp.Problem(cp.Maximize(c @ p + 0.5 / M), [B @ p <= relu_K64(pts), p[1:] >= 0])
        solve_suggestion(prob, solver, "delsarte_lp")  # only a suggestion: re-checked rigorously
        status = prob.status
        if p.value is None:
            break
        coeffs = np.array(p.value, dtype=float)
        value = float(c @ coeffs + 0.5 / M)
        viol, cand = _max_violation64(coeffs, d)
        if viol <= 1e-13:
            break
        pts = np.unique(np.concatenate([pts, np.clip(cand, -1.0, 1.0)]))
    return DelsarteLP(
        M=M, d=d, degree=D, A64=value, coefficients64=tuple(float(x) for x in coeffs), violation64=viol,
        grid_points=int(pts.size), rounds=used, solver=solver, status=str(status), seconds=time.perf_counter() - t0,
    )


# ---- rigorous certification of a polynomial ------------------------------------------------------


@dataclass(frozen=True)
class PolynomialCertificate:
    """An admissible p (exact rationals, Gegenbauer basis of S^{d-1}) and its exact A."""

    M: int
    d: int
    coefficients: tuple[Fraction, ...]
    A: Fraction
    verification: Verification


def certify_polynomial(
    coeffs, M: int, d: int, *, margin: Fraction = Fraction(1, 10**13), prec: int = PREC, max_depth: int = 44
) -> PolynomialCertificate:
    """Turn suggested Gegenbauer coefficients (floats or Fractions) into a proven admissible p.

    Steps: exact rationals; p_k := max(p_k, 0) for k >= 1; p_0 lowered by the float estimate of
    max(p - K) (if positive) plus `margin`; arb proof of p <= K on [-1, 1]; if a certified
    violation V remains, p_0 := p_0 - V (proven by the same enclosure). Returns the exact
    A = p_0 + (K(1) - p(1)) / M, valid for every configuration with beta >= 0.
    """
    M = int_at_least("M", M, 1)
    d = int_at_least("d", d, 2)
    margin = Fraction(margin)
    if margin < 0:
        raise InputError("margin must be >= 0")
    q = [Fraction(x) if isinstance(x, (Fraction, int)) else Fraction(finite("coefficient", x)) for x in coeffs]
    if not q:
        raise InputError("need at least one coefficient")
    t0 = time.perf_counter()
    notes = []
    clipped = [k for k in range(1, len(q)) if q[k] < 0]
    for k in clipped:
        q[k] = Fraction(0)
    if clipped:
        notes.append(f"p_k < 0 from the solver set to 0 for k in {clipped}")
    est, _ = _max_violation64(q, d)
    pre = Fraction(max(est, 0.0)) + margin
    q[0] -= pre
    chk = check_below_relu_kernel(to_monomials(q, d), prec=prec, max_depth=max_depth)
    vshift = chk.violation
    if vshift > 0:
        q[0] -= vshift
        notes.append("the interval check found a certified violation; p_0 lowered by its bound")
    pval1 = sum(q, Fraction(0))
    A = q[0] + (K1 - pval1) / M
    ver = Verification(
        method="interval subdivision", subintervals=chk.subintervals, max_depth=chk.max_depth, pre_shift=pre,
        violation_shift=vshift, min_margin=max(chk.min_lower, Fraction(0)), prec=prec,
        seconds=time.perf_counter() - t0, notes=tuple(notes),
    )
    return PolynomialCertificate(M=M, d=d, coefficients=tuple(q), A=A, verification=ver)


# ---- the public certificate ----------------------------------------------------------------------


@dataclass(frozen=True)
class Mu0Certificate:
    """A certified global lower bound on L~ at mu = 0 for M neurons in dimension d (ReLU).

    Statement: every network g = sum_j b_j relu(<v_j, x>) with M neurons in R^d satisfying
    `assumptions` has L~ >= lower_bound (exact rational). Equivalently
    beta^T K(G) beta >= A_lower (1^T beta)^2 for all such networks.

    method: "tangent-line", "lp-degree-D" or "signfree-degree-D".
    status: "optimal" (the bound equals the simplex loss: the tangent line's exact identity,
      confirmed in balls, or the direct sign-free argument for M <= 2; certified = True),
      "near-optimal" (M <= d + 1 and 0 <= gap <= gap_upper), "bound-only" (M > d + 1: no simplex
      in R^d, the number is a lower bound only). Read `certified` with `assumptions`.
    A_lower: exact rational lower bound of A (Phi <= 1 / A_lower); A_ball: (lo, hi) decimal strings.
    lower_bound: exact rational; lower_bound_ball: decimal enclosure of the bound formula at
      A_lower; lower_bound64: float.
    simplex_loss: best_etf(M, 0, s, abar).loss (mpmath) when M <= d + 1, else None;
      simplex_loss_ball: the closed form in arb.
    gap_upper: rigorous upper bound of simplex_loss - lower_bound (rational; None if no simplex);
      gap64: its float value.
    coefficients: exact rationals of p: Gegenbauer coefficients in dimension d (LP), (p_0, p_1) of
      the rational inner tangent line, or the sign-free data summary; coefficients_closed_form:
      the exact closed forms (tangent line).
    verification: how it was checked; seconds: total time.
    extra: method details (A64: the solver's float A; d_computed: the dimension min(d, M) the LP or
      sign-free program was solved in; solver and LP timings and the LP's float violation).
    """

    M: int
    d: int
    abar: float
    s: float
    method: str
    assumptions: tuple[str, ...]
    status: str
    certified: bool
    A_lower: Fraction
    A_ball: tuple[str, str]
    lower_bound: Fraction
    lower_bound_ball: tuple[str, str]
    lower_bound64: float
    simplex_loss: mpmath.mpf | None
    simplex_loss_ball: tuple[str, str] | None
    gap_upper: Fraction | None
    gap64: float | None
    coefficients: tuple[Fraction, ...]
    coefficients_closed_form: tuple[str, ...] | None
    verification: Verification
    seconds: float
    extra: dict = field(default_factory=dict, compare=False)

    def as_certified_bound(self) -> CertifiedBound:
        """The common view (`verify.certify.result`). Every status is a proven bound, so certified
        is True there; this record's own `certified` (the bound equals the simplex loss) is
        details["optimal"]. The reference of the gap is the simplex loss."""
        rel = None
        if self.gap64 is not None and self.simplex_loss is not None and self.simplex_loss > 0:
            rel = self.gap64 / float(self.simplex_loss)
        details = {"status": self.status, "optimal": self.certified, "M": self.M, "d": self.d, "abar": self.abar,
                   "s": self.s, "A_lower": self.A_lower, "A_ball": self.A_ball, "gap_upper": self.gap_upper,
                   "simplex_loss_ball": self.simplex_loss_ball, "coefficients": self.coefficients,
                   "coefficients_closed_form": self.coefficients_closed_form, "seconds": self.seconds, **self.extra}
        return CertifiedBound(
            value=self.lower_bound, value_hi=Fraction(self.lower_bound_ball[1]), ball=self.lower_bound_ball,
            value64=self.lower_bound64, gap=self.gap64, relative_gap=rel, certified=True, assumptions=self.assumptions,
            method=self.method, verification=self.verification, details=details,
        )


_ETF_CACHE: dict = {}  # (M, abar, s) -> best_etf loss; mu = 0 makes it cheap but the grid asks 150 times


def _simplex_loss_mp(M: int, abar: float, s: float):
    from verify.model.etf import best_etf

    key = (M, abar, s)
    if key not in _ETF_CACHE:
        _ETF_CACHE[key] = best_etf(M, 0.0, s, abar).loss
    return _ETF_CACHE[key]


def _assemble(M, d, abar, s, method, assumptions, A_lower: Fraction, A_ball, coeffs, closed, ver, t0, exact_simplex, extra=None):
    with flint_prec(PREC):
        L_ball = bound_from_A(A_lower, abar, s)
        L_lo, _ = ball_bounds(L_ball, PREC)
        has_simplex = M <= d + 1
        if has_simplex:
            S_ball = bound_from_A(simplex_A(M), abar, s)
            _, S_hi = ball_bounds(S_ball, PREC)
            gap_upper = max(S_hi - L_lo, Fraction(0))
            simplex_loss = _simplex_loss_mp(M, abar, s)
            simplex_ball = _ball_str(S_ball)
        else:
            gap_upper, simplex_loss, simplex_ball = None, None, None
    if has_simplex and exact_simplex:
        status = "optimal"
    elif has_simplex:
        status = "near-optimal"
    else:
        status = "bound-only"
    return Mu0Certificate(
        M=M, d=d, abar=abar, s=s, method=method, assumptions=tuple(assumptions), status=status,
        certified=status == "optimal", A_lower=A_lower, A_ball=A_ball, lower_bound=L_lo,
        lower_bound_ball=_ball_str(L_ball), lower_bound64=float(L_lo), simplex_loss=simplex_loss,
        simplex_loss_ball=simplex_ball, gap_upper=gap_upper, gap64=None if gap_upper is None else float(gap_upper),
        coefficients=tuple(coeffs), coefficients_closed_form=closed, verification=ver,
        seconds=time.perf_counter() - t0, extra=dict(extra or {}),
    )


def certify_mu0(
    M: int,
    d: int,
    abar: float = 1.0,
    s: float = 1.0,
    *,
    method: str = "auto",
    degree: int = 16,
    solver: str = "CLARABEL",
    cache: dict | None = None,
) -> Mu0Certificate:
    """A certified lower bound on L~ at mu = 0 for M neurons in R^d (ReLU), see `Mu0Certificate`.

    The LP and sign-free bounds are computed in dimension min(d, M): the Gram matrix of M unit
    vectors in R^d (d >= M) is that of M unit vectors in R^M, so a bound for R^M holds in R^d.

    method: "auto" (tangent-line when M <= d + 1, else lp), "tangent-line" (exact, valid in every
    dimension, equal to the simplex value), "lp" (the Delsarte LP of `degree`, certified by
    `certify_polynomial`; needs d >= 2), "signfree" (no sign assumption: the closed argument for
    M <= 2 in every d; the exact even square of `verify.certify.evensquare` for M in its EXACT_M
    and d >= M - 1; else the polynomial bound of `verify.certify.signfree`, which needs d >= 2). abar: target mean output weight; s > 0: target spread.
    cache: optional dict reused across calls (the grid passes one) so that the LP or sign-free
    program of (M, min(d, M), degree) is solved and certified once.
    """
    M = int_at_least("M", M, 1)
    d = int_at_least("d", d, 1)
    abar = finite("abar", abar)
    s = finite("s", s, positive=True)
    if method == "auto":
        method = "tangent-line" if M <= d + 1 or d == 1 else "lp"
    t0 = time.perf_counter()
    if method == "tangent-line":
        if M == 1:
            A = Fraction(1, 2)  # beta^T K(G) beta = beta^2 / 2 exactly: no polynomial needed
            with flint_prec(PREC):
                ball = _ball_str(arb_q(A))
            ver = Verification(method="exact (one neuron: beta^T K(G) beta = K(1) beta^2)")
            return _assemble(M, d, abar, s, "tangent-line", (), A, ball, (A,), ("K(1) = 1/2",), ver, t0, True)
        tl = tangent_line(M)
        ver = Verification(
            method="convexity + interval re-check", subintervals=tl.check.subintervals, max_depth=tl.check.max_depth,
            min_margin=max(tl.check.min_lower, Fraction(0)), seconds=tl.check.seconds,
            notes=("p <= K by convexity of K (proof); the rational inner line re-proven by subdivision",),
        )
        with flint_prec(PREC):
            A_lo, _ = ball_bounds(tl.A, PREC)
            ball = _ball_str(tl.A)
        closed = (
            f"p_0 = K(r) - r K'(r), r = -1/{M - 1}",
            f"p_1 = K'(r) = (pi - arccos r) / (2 pi), r = -1/{M - 1}",
            f"A = (K(1) + {M - 1} K(-1/{M - 1})) / {M}",
        )
        # A_lower: the better of the ball's lower end and the re-proven rational line's exact A
        A_lower = max(A_lo, tl.A_q)
        return _assemble(M, d, abar, s, "tangent-line", CONDITIONAL, A_lower, ball, (tl.p0_q, tl.p1_q), closed, ver, t0, True)
    d_eff = min(d, M)  # M unit vectors span at most M dimensions: the bound for R^M holds in R^d
    reduction = {"d_computed": d_eff}
    if method == "lp":
        if d < 2:
            raise InputError("the LP bound needs d >= 2 (use method='tangent-line' for d = 1)")
        key = ("lp", M, d_eff, degree, solver)
        if cache is not None and key in cache:
            lp, pc = cache[key]
        else:
            lp = delsarte_lp(M, d_eff, degree, solver=solver)
            if not np.all(np.isfinite(lp.coefficients64)) or lp.status not in ("optimal", "optimal_inaccurate"):
                raise RuntimeError(f"delsarte_lp({M}, {d_eff}, {degree}) ended with status {lp.status!r}")
            pc = certify_polynomial(lp.coefficients64, M, d_eff)
            if cache is not None:
                cache[key] = (lp, pc)
        with flint_prec(PREC):
            ball = _ball_str(arb_q(pc.A))
        return _assemble(
            M, d, abar, s, f"lp-degree-{degree}", CONDITIONAL, pc.A, ball, pc.coefficients, None, pc.verification, t0,
            False, extra={"A64": lp.A64, "lp_seconds": lp.seconds, "lp_violation64": lp.violation64, **reduction},
        )
    if method == "signfree":
        from verify.certify.signfree import signfree_bound

        if d == 1 and M > 2:
            raise InputError("the sign-free bound needs d >= 2 for M >= 3")
        from verify.certify.evensquare import exact_route

        if exact_route(M, d):  # (d < M - 1: no simplex; the polynomial bound below)
            exact = _signfree_even_square(M, d, abar, s, t0)
            if exact is not None:
                return exact
        key = ("signfree", M, d_eff, degree, solver)
        if cache is not None and key in cache:
            sf = cache[key]
        else:
            sf = signfree_bound(M, d_eff, degree, solver=solver)
            if cache is not None:
                cache[key] = sf
        with flint_prec(PREC):
            ball = _ball_str(arb_q(sf.A))
        return _assemble(
            M, d, abar, s, f"signfree-degree-{degree}" if M > 2 else "signfree-direct", (), sf.A, ball, sf.summary, None,
            sf.verification, t0, M <= 2,
            extra={"A64": sf.A64, "solver_seconds": sf.solver_seconds, **reduction},
        )
    raise InputError(f"unknown method {method!r}; use auto, tangent-line, lp or signfree")


@functools.cache
def _even_square_proof(M: int):
    """`certify_even_square(M)` at its defaults: deterministic, so one proof per process serves
    every (d, abar, s) and every caller."""
    from verify.certify.evensquare import certify_even_square

    return certify_even_square(M)


def _signfree_even_square(M: int, d: int, abar: float, s: float, t0: float):
    """M in evensquare.EXACT_M, any d >= M - 1, no sign assumption, no gap: the even square of
    `verify.certify.evensquare` with L proven positive definite (`certify_even_square`); by the rank
    lemma (docs/bounds-mu.md section 8) d = M - 1 covers every d >= M - 1. None when the proof
    does not go through."""
    cert = _even_square_proof(M)
    if not cert.proven:  # pragma: no cover - the proof holds at the defaults (tested)
        return None
    with flint_prec(PREC):
        A_ball = simplex_A(M)
        A_lo, _ = ball_bounds(A_ball, PREC)
        ball = _ball_str(A_ball)
    ver = Verification(
        method=f"even square + ball-arithmetic positivity of L's Gegenbauer coefficients on S^{cert.D - 1}",
        subintervals=cert.pieces, min_margin=Fraction(cert.min_finite), seconds=cert.seconds, prec=cert.prec,
        notes=cert.notes,
    )
    return _assemble(M, d, abar, s, cert.method, (), A_lo, ball, (), None, ver, t0, True,
                     extra={"d_computed": M - 1, "proved_on_sphere_dim": cert.D, "N_star": cert.N_star, "B": cert.B})


@dataclass(frozen=True)
class Mu0Grid:
    """`certify_mu0` over a grid: the certificates, how many are certified, wall time."""

    certificates: tuple[Mu0Certificate, ...]
    pairs: int
    certified: int
    all_certified: bool
    seconds: float
    method: str


def certify_mu0_grid(
    Ms, ds, abar: float = 1.0, s: float = 1.0, *, method: str = "tangent-line", degree: int = 16, include_outside: bool = False
) -> Mu0Grid:
    """Certify every pair (M, d) of Ms x ds with M <= d + 1 (and the others too if include_outside,
    with the LP for tangent-line / auto). Returns the certificates and the total wall time."""
    Ms = [int_at_least("M", M, 1) for M in Ms]
    ds = [int_at_least("d", d, 1) for d in ds]
    t0 = time.perf_counter()
    out = []
    cache: dict = {}
    for M in Ms:
        for d in ds:
            inside = M <= d + 1
            if not inside and not include_outside:
                continue
            m = method if inside or method in ("lp", "signfree") or d == 1 else "lp"
            out.append(certify_mu0(M, d, abar, s, method=m, degree=degree, cache=cache))
    n_cert = sum(c.certified for c in out)
    return Mu0Grid(
        certificates=tuple(out), pairs=len(out), certified=n_cert, all_certified=bool(out) and n_cert == len(out),
        seconds=time.perf_counter() - t0, method=method,
    )
