r"""Certified lower bounds on L~ for mu != 0 (ReLU): a Delsarte bound with a pole at hat(mu).

Setting (MATH.md sections 5 and 6). m = ||mu||, r^2 = m^2 + s^2, rho = m / r, c = |abar| r,
beta_j = b_j ||v_j||, theta_j = hat(v_j), t_j = <theta_j, hat(mu)>, G = [<theta_j, theta_l>]:

    L~ = T - 2 abar r sum_j beta_j h(t_j) + beta^T K(G) beta,   T = abar^2 r^2 K(rho^2),  h(t) = K(rho t).

Step 1 (Delsarte, as at mu = 0). Let p = sum_{k<=D} p_k P_k (Gegenbauer polynomials of S^{d'-1},
P_k(1) = 1, `verify.certify.gegenbauer`) with (i) p <= K on [-1, 1] and (ii) p_k >= 0 for k >= 1.
If all beta_j have one sign, beta_j beta_l >= 0 and

    beta^T K(G) beta >= (K(1) - p(1)) |beta|^2 + sum_k p_k beta^T P_k(G) beta.

Step 2 (zonal projection; any signs). By the addition theorem, for an orthonormal basis
Y_{k,1..N_k} of the degree-k harmonics that contains the zonal harmonic about hat(mu),
Y_{k,0}(theta) = sqrt(N_k) P_k(<theta, hat(mu)>),

    beta^T P_k(G) beta = (1/N_k) sum_i (sum_j beta_j Y_{k,i}(theta_j))^2 >= (sum_j beta_j P_k(t_j))^2.

Step 3 (Cauchy-Schwarz, M atoms). |beta|^2 >= (sum_j beta_j)^2 / M. With the nonnegative measure
nu = sum_j |beta_j| delta_{t_j} and its moments y_k = int P_k dnu (the sign case that matters is
sign(beta) = sign(abar); in the other one the linear term is >= 0 and L~ >= T directly):

    L~ >= T - 2 c int h dnu + sum_k q_k y_k^2,   q_0 = p_0 + (K(1) - p(1)) / M,  q_k = p_k (k >= 1).

Step 4 (duality). For every lambda, q_k y_k^2 >= 2 lambda_k y_k - lambda_k^2 / q_k (q_k > 0; take
lambda_k = 0 where q_k = 0). With ell = sum_k lambda_k P_k and (iii) ell(t) >= c h(t) on [-1, 1]:

    L~ >= T - sum_k lambda_k^2 / q_k + 2 int (ell - c h) dnu >= T - sum_k lambda_k^2 / q_k.

The certificate is (p, lambda) in exact rationals. (p, lambda) are chosen by one convex program
(minimize sum_k lambda_k^2 / q_k subject to (i), (ii), (iii) on a grid: an SOCP, cvxpy + Clarabel);
the solver's answer is only a suggestion: (i) is proven by `certify_polynomial` (arb subdivision
of `verify.certify.interval`), (iii) by `check_above_tilted_kernel` below, and the value is the
exact rational sum_k lambda_k^2 / q_k subtracted from an arb ball of T.

Dimension. The M directions and hat(mu) span at most M + 1 dimensions, so every Gram matrix of
(theta_1, ..., theta_M, hat(mu)) in R^d occurs in R^{d'}, d' = min(d, M + 1): the bound is computed
with the Gegenbauer family of S^{d'-1} and holds in R^d.

mu -> 0. Then h = K(0) is constant, the best lambda is lambda_0 = c K(0) alone and the bound is
T - (c K(0))^2 / q_0 = (abar^2 s^2 / (2 pi)) (1 - 1 / (2 pi q_0)), the Delsarte LP bound of
`verify.certify.delsarte` with A = q_0 (in dimension min(d, M + 1) instead of min(d, M)).

Assumption: one-signed output weights (step 1), stated in every result. What the bound does not
see, and why it is not tight (docs/bounds-mu.md): it keeps only the distribution of the t_j; step 2
drops the non-zonal energy of every neuron, which the ETF's neurons cancel among themselves but
which is lost for good in its worst case (one neuron on hat(mu), one off the axis). A two-point relaxation with a pole that does see it is explored, in float only, in
`verify.certify.pole` (docs/bounds-mu.md, section 5).

The interval check of (iii). On [a, b] with midpoint x, half-width w, u = t - x, Taylor's theorem
with the Lagrange remainder bounds the kernel from above and ell from below:

    c K(rho t) <= c K(rho x) + c rho K'(rho x) u + (c rho^2 / 2) max_{[a, b]} K''(rho .) u^2,
    ell(t)     >= ell(x) + ell'(x) u + (ell''(x) / 2) u^2 - |ell'''([a, b])| w^3 / 6,

(K''(rho t) = 1 / (2 pi sqrt(1 - rho^2 t^2)) is largest at the end farthest from 0 and finite since
rho < 1 for s > 0), so ell - c K(rho .) >= alpha + beta u + gamma u^2 on [a, b]; its minimum over
|u| <= w is bounded below in ball arithmetic (vertex value when gamma > 0, end points when
gamma <= 0, a crude bound otherwise). The model is tight to O(w^3), so lambda_0 raised by a
margin eps is proven with pieces of width ~ eps^(1/3) where ell touches c h. Branch and bound from
64 pieces, up to `max_depth` bisections; the returned min_lower is rigorous whatever the outcome.
"""

from __future__ import annotations

import math
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
from verify.certify._common import exact as _fr
from verify.certify._common import float_up as _up
from verify.certify.delsarte import _ball_str, certify_polynomial
from verify.certify.gegenbauer import gegenbauer_basis64, to_monomials
from verify.certify.interval import check_below_relu_kernel
from verify.certify.result import CertifiedBound
from verify.certify.subdivide import DONE, bisect, subdivide
from verify.errors import InputError
from verify.kernels.relu import relu_d2K_arb, relu_dK_arb, relu_K64, relu_K_arb
from verify.numbers.precision import ball_bounds

__all__ = [
    "AboveKernelCheck",
    "TiltedBound",
    "TiltedCertificate",
    "TiltedCheck",
    "TiltedGrid",
    "check_above_tilted_kernel",
    "lower_bound_tilted",
    "lower_bound_tilted_grid",
    "tilted_socp",
    "verify_tilted_certificate",
]

ONE_SIGN = ("all output weights b_j have one sign (all >= 0 or all <= 0), i.e. beta >= 0 or beta <= 0",)
GRID_RATIOS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
GRID_MS = tuple(range(2, 11))


def _check_input(M, d, mu_norm, s, abar):
    M = int_at_least("M", M, 1)
    d = int_at_least("d", d, 2)
    m = finite("mu_norm", mu_norm)
    if m < 0:
        raise InputError(f"mu_norm must be >= 0, got {mu_norm!r}")
    s = finite("s", s, positive=True)
    abar = finite("abar", abar)
    return M, d, m, s, abar


# ---- exact data of the problem -------------------------------------------------------------------


def _target(m: float, s: float, abar: float):
    """(T, c, rho) as arb balls: T = abar^2 r^2 K(m^2 / r^2), c = |abar| r, rho = m / r (r^2 exact)."""
    r2 = Fraction(m) ** 2 + Fraction(s) ** 2
    r2a = arb_q(r2)
    r = r2a.sqrt()
    T = arb_q(Fraction(abar) ** 2 * r2) * relu_K_arb(arb_q(Fraction(m) ** 2 / r2))
    return T, arb_q(abs(Fraction(abar))) * r, arb_q(Fraction(m)) / r


# ---- the interval check of (iii): ell >= c K(rho t) ---------------------------------------------


@dataclass(frozen=True)
class AboveKernelCheck:
    """Outcome of `check_above_tilted_kernel`: min_lower <= min over [-1, 1] of ell(t) - c K(rho t)
    <= upper (rigorous lower bound; upper from ball values at midpoints); certified: min_lower >= 0."""

    certified: bool
    min_lower: Fraction
    upper: Fraction
    subintervals: int
    max_depth: int
    seconds: float


def check_above_tilted_kernel(monomials, m: float, s: float, abar: float, *, prec: int = PREC,
                              initial: int = 64, max_depth: int = 30, rel_tol: float = 1e-3) -> AboveKernelCheck:
    """Prove ell(t) >= c K(rho t) on [-1, 1] (c = |abar| r, rho = m / r), ell = sum c_n t^n exact.

    Taylor models of both sides with Lagrange remainders (module docstring). Returns a rigorous lower bound of min(ell - c K(rho .)) whatever the outcome.
    """
    from flint import arb

    coeffs = [Fraction(x) for x in monomials]
    if not coeffs:
        raise InputError("the polynomial needs at least one coefficient")
    t0 = time.perf_counter()
    with flint_prec(prec):
        _, c, rho = _target(m, s, abar)
        cs = [arb_q(x) for x in coeffs]
        c1 = [arb_q(x * n) for n, x in enumerate(coeffs)][1:] or [arb(0)]
        c2 = [arb_q(x * n * (n - 1)) for n, x in enumerate(coeffs)][2:] or [arb(0)]
        c3 = [arb_q(x * n * (n - 1) * (n - 2)) for n, x in enumerate(coeffs)][3:] or [arb(0)]

        def horner(cf, x):
            out = cf[-1]
            for a in reversed(cf[:-1]):
                out = out * x + a
            return out

        def bound(a: Fraction, b: Fraction) -> Fraction:
            x, w = (a + b) / 2, (b - a) / 2
            xa, wa = arb_q(x), arb_q(w)
            y = rho * xa
            d2max = relu_d2K_arb(rho * arb_q(max(abs(a), abs(b))))  # max of K'' on rho [a, b]
            alpha = horner(cs, xa) - c * relu_K_arb(y) - abs(horner(c3, arb(xa, wa))) * wa * wa * wa / 6
            beta = horner(c1, xa) - c * rho * relu_dK_arb(y)
            gamma = (horner(c2, xa) - c * rho * rho * d2max) / 2
            wf = _fr(wa.upper())
            crude = _fr(alpha.lower()) - _fr(abs(beta).upper()) * wf + min(_fr(gamma.lower()), Fraction(0)) * wf * wf
            best = crude
            if gamma.upper() <= 0:  # concave model: the minimum is at an end point
                ends = [_fr((alpha + sg * beta * wa + gamma * wa * wa).lower()) for sg in (1, -1)]
                best = max(best, min(ends))
            elif gamma.lower() > 0:
                best = max(best, _fr((alpha - beta * beta / (4 * gamma)).lower()))
            point = horner(cs, xa) - c * relu_K_arb(y)  # a value of ell - c h: an upper bound of its min
            return best, _fr(point.upper())

        step = Fraction(2, initial)
        pieces = [(Fraction(-1) + i * step, Fraction(-1) + (i + 1) * step) for i in range(initial)][::-1]
        min_lower, U = None, None

        def examine(piece, depth, last):
            nonlocal min_lower, U
            lb, up = bound(*piece)
            U = up if U is None else min(U, up)
            # once a genuine violation U < 0 is seen, pieces within rel_tol |U| of it stop (as in
            # check_below_relu_kernel): min_lower then brackets the violation, which is all a
            # repair needs
            stop = U < 0 and lb >= U - Fraction(rel_tol) * abs(U)
            if lb >= 0 or stop or last:
                min_lower = lb if min_lower is None else min(min_lower, lb)
                return DONE
            return None

        stats = subdivide(pieces, examine, bisect, max_depth=max_depth)
    return AboveKernelCheck(certified=min_lower >= 0, min_lower=min_lower, upper=U, subintervals=stats.examined,
                            max_depth=stats.max_depth, seconds=time.perf_counter() - t0)


# ---- the float program ---------------------------------------------------------------------------


def tilted_socp(M: int, d_eff: int, mu_norm: float, s: float = 1.0, abar: float = 1.0, degree: int = 32,
                *, grid: int = 1500, solver: str = "CLARABEL"):
    """Float suggestion (p, lambda, value64): minimize sum_k lambda_k^2 / q_k subject to p <= K,
    p_k >= 0 (k >= 1) and ell >= c K(rho t) on a grid of [-1, 1] (cosine and uniform points).
    value64 = T - objective is the float bound (not certified)."""
    import cvxpy as cp

    M, d_eff, m, s, abar = _check_input(M, d_eff, mu_norm, s, abar)
    D = int_at_least("degree", degree, 1)
    r = math.hypot(m, s)
    rho, c = m / r, abs(abar) * r
    pts = np.unique(np.concatenate([np.cos(np.pi * np.arange(grid + 1) / grid), np.linspace(-1.0, 1.0, grid + 1)]))
    B = gegenbauer_basis64(D, d_eff, pts).T
    p, lam = cp.Variable(D + 1), cp.Variable(D + 1)
    q0 = p[0] + (0.5 - cp.sum(p)) / M
    obj = cp.quad_over_lin(lam[0], q0) + sum(cp.quad_over_lin(lam[k], p[k]) for k in range(1, D + 1))
    prob = cp.Problem(cp.Minimize(obj), [B @ p <= relu_K64(pts), p[1:] >= 0, B @ lam >= c * relu_K64(rho * pts)])
    solve_suggestion(prob, solver, "tilted_socp")  # only a suggestion: re-checked rigorously
    if p.value is None or lam.value is None:
        raise RuntimeError(f"tilted_socp({M}, {d_eff}, {m}, degree={D}) ended with status {prob.status!r}")
    T = abar**2 * r * r * float(relu_K64(rho * rho))
    return np.array(p.value, dtype=float), np.array(lam.value, dtype=float), float(T - prob.value), str(prob.status)


# ---- the certificate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TiltedCertificate:
    """(p, lambda) in exact rationals, Gegenbauer basis of S^{d_eff - 1}, for (M, mu_norm, s, abar)."""

    M: int
    d_eff: int
    mu_norm: float
    s: float
    abar: float
    p: tuple[Fraction, ...]
    lam: tuple[Fraction, ...]


@dataclass(frozen=True)
class TiltedCheck:
    """`verify_tilted_certificate`'s verdict. ok: all of (i)-(iii) and q_k > 0 where lambda_k != 0
    were proven; reasons: what failed; value: arb ball of T - sum lambda_k^2 / q_k (None unless ok);
    S: the exact rational sum lambda_k^2 / q_k; checks: the two interval checks."""

    ok: bool
    reasons: tuple[str, ...]
    value: object
    S: Fraction | None
    below: object
    above: object
    seconds: float


def _q(cert: TiltedCertificate) -> list[Fraction]:
    p = list(cert.p)
    q = [p[0] + (K1 - sum(p, Fraction(0))) / cert.M] + p[1:]
    return q


def verify_tilted_certificate(cert: TiltedCertificate, *, prec: int = PREC) -> TiltedCheck:
    """Check an exact certificate without repairing it: p_k >= 0 (k >= 1); p <= K on [-1, 1]
    (`check_below_relu_kernel`); ell >= c K(rho t) on [-1, 1] (`check_above_tilted_kernel`);
    q_k > 0 wherever lambda_k != 0. If ok, L~ >= T - sum_k lambda_k^2 / q_k for every network of
    cert.M one-signed neurons in every R^d with min(d, M + 1) = cert.d_eff (module docstring)."""
    t0 = time.perf_counter()
    M, d_eff, m, s, abar = _check_input(cert.M, cert.d_eff, cert.mu_norm, cert.s, cert.abar)
    p = [Fraction(x) for x in cert.p]
    lam = [Fraction(x) for x in cert.lam]
    reasons = []
    if len(lam) > len(p):
        reasons.append("lambda has more coefficients than p (q_k = 0 beyond deg p)")
    neg = [k for k in range(1, len(p)) if p[k] < 0]
    if neg:
        reasons.append(f"p_k < 0 for k in {neg}")
    below = check_below_relu_kernel(to_monomials(p, d_eff), prec=prec)
    if not below.certified:
        reasons.append(f"p <= K not proven (min(K - p) >= {float(below.min_lower):.3e})")
    above = check_above_tilted_kernel(to_monomials(lam, d_eff), m, s, abar, prec=prec)
    if not above.certified:
        reasons.append(f"ell >= c K(rho t) not proven (min >= {float(above.min_lower):.3e})")
    q = _q(TiltedCertificate(M, d_eff, m, s, abar, tuple(p), tuple(lam)))
    S = Fraction(0)
    for k, lk in enumerate(lam):
        if lk == 0:
            continue
        if k >= len(q) or q[k] <= 0:
            reasons.append(f"lambda_{k} != 0 but q_{k} <= 0")
            continue
        S += lk * lk / q[k]
    value = None
    if not reasons:
        with flint_prec(prec):
            T, _, _ = _target(m, s, abar)
            value = T - arb_q(S)
    return TiltedCheck(ok=not reasons, reasons=tuple(reasons), value=value, S=S if not reasons else None,
                       below=below, above=above, seconds=time.perf_counter() - t0)


def _to_fraction(x) -> Fraction:
    return x if isinstance(x, Fraction) else Fraction(float(x)).limit_denominator(10**18)


def certify_tilted(M: int, d_eff: int, mu_norm: float, s: float, abar: float, p64, lam64,
                   *, margin: Fraction = Fraction(1, 10**10)) -> tuple[TiltedCertificate, TiltedCheck, list[str]]:
    """Repair a float suggestion into an exact certificate and verify it.

    p: `certify_polynomial` (rationals, negative p_k -> 0, p_0 lowered until p <= K is proven).
    lambda: rationals; lambda_k with q_k <= 0 moved into lambda_0 as |lambda_k| (|P_k| <= 1);
    lambda_0 raised by the float estimate of max(c K(rho t) - ell) plus `margin` (scaled by c),
    then by the certified remaining violation if the interval check leaves one.
    """
    M, d_eff, m, s, abar = _check_input(M, d_eff, mu_norm, s, abar)
    notes = []
    pc = certify_polynomial(p64, M, d_eff)
    p = list(pc.coefficients)
    lam = [_to_fraction(x) for x in lam64][: len(p)]
    q = _q(TiltedCertificate(M, d_eff, m, s, abar, tuple(p), tuple(lam)))
    moved = [k for k in range(1, len(lam)) if lam[k] != 0 and q[k] <= 0]
    for k in moved:
        lam[0] += abs(lam[k])
        lam[k] = Fraction(0)
    if moved:
        notes.append(f"lambda_k moved into lambda_0 as |lambda_k| where q_k = 0: k in {moved}")
    # float pre-scan of c K(rho t) - ell
    r = math.hypot(m, s)
    tt = np.unique(np.concatenate([np.linspace(-1, 1, 20001), np.cos(np.pi * np.arange(5001) / 5000)]))
    ell = np.asarray([float(x) for x in lam]) @ gegenbauer_basis64(len(lam) - 1, d_eff, tt)
    viol = float(np.max(abs(abar) * r * relu_K64(m / r * tt) - ell))
    lam[0] += Fraction(max(viol, 0.0)) + margin * Fraction(max(1.0, abs(abar) * r))
    above = check_above_tilted_kernel(to_monomials(lam, d_eff), m, s, abar)
    if not above.certified:
        lam[0] += -above.min_lower
        notes.append(f"lambda_0 raised by the certified violation {float(-above.min_lower):.2e}")
    cert = TiltedCertificate(M, d_eff, m, s, abar, tuple(p), tuple(lam))
    return cert, verify_tilted_certificate(cert), notes


# ---- the ETF side: an achievable loss in arb ---------------------------------------------------


def _etf_loss_ball(M: int, m: float, s: float, abar: float, alpha: Fraction):
    """L~ of the tilted ETF with tilt alpha (any alpha in [-1, 1] is a feasible network for d >= M):
    abar^2 r^2 K(rho^2) - M abar^2 r^2 K(rho alpha)^2 / (K(1) + (M - 1) K(t)), t = alpha^2 - (1 - alpha^2)/(M - 1)."""
    r2 = Fraction(m) ** 2 + Fraction(s) ** 2
    rho = arb_q(Fraction(m)) / arb_q(r2).sqrt()
    a2r2 = arb_q(Fraction(abar) ** 2 * r2)
    T = a2r2 * relu_K_arb(arb_q(Fraction(m) ** 2 / r2))
    if M == 1:
        Dn = arb_q(K1)
    else:
        t = alpha * alpha - (1 - alpha * alpha) / (M - 1)
        Dn = arb_q(K1) + (M - 1) * relu_K_arb(arb_q(t))
    g = relu_K_arb(rho * arb_q(alpha))
    return T - M * a2r2 * g * g / Dn


# ---- the public result ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TiltedBound:
    """A lower bound on min L~ over all networks of M ReLU neurons in R^d (target mu, s, abar).

    value: (lo, hi) decimal strings of the bound's ball (lo is the bound; rounded outward);
      value64: float(lo).
    etf_loss: the best tilted ETF's loss (best_etf, mpmath 40 digits) as float, etf_loss_str its
      30-digit string; None when d < M (no tilted ETF in R^d).
    gap: a rigorous upper bound of etf_loss - value (float, rounded up): the upper end of an arb
      ball of the ETF loss at a rational tilt next to alpha* (an achievable loss) minus the lower
      end of the bound; relative_gap = gap / etf_loss.
    certified: (i)-(iii) were proven in ball arithmetic, so value is a lower bound of min L~ under
      `assumptions`; False means the float program or the repair failed (value is then the float
      suggestion, not a bound).
    assumptions: the sign assumption (ONE_SIGN) unless abar == 0 (then L~ >= 0 is the bound).
    method: "tilted-delsarte-degree-D".
    details: d_eff, degree, value64 of the float program (socp64), S (exact), p and lambda
      (exact, Gegenbauer basis of S^{d_eff - 1}), check statistics, ETF tilt, notes.
    """

    M: int
    d: int
    mu_norm: float
    s: float
    abar: float
    value: tuple[str, str]
    value64: float
    etf_loss: float | None
    etf_loss_str: str | None
    gap: float | None
    relative_gap: float | None
    certified: bool
    assumptions: tuple[str, ...]
    method: str
    details: dict = field(default_factory=dict, compare=False)
    seconds: float = 0.0

    def as_certified_bound(self) -> CertifiedBound:
        """The common view (`verify.certify.result`): value and value_hi are the exact rationals of
        the outward-rounded decimal ball `value` (None when not certified); the reference of the gap
        is the best tilted ETF's loss."""
        lo, hi = (Fraction(self.value[0]), Fraction(self.value[1])) if self.certified else (None, None)
        details = {"M": self.M, "d": self.d, "mu_norm": self.mu_norm, "s": self.s, "abar": self.abar,
                   "etf_loss": self.etf_loss, "etf_loss_str": self.etf_loss_str, "seconds": self.seconds, **self.details}
        return CertifiedBound(value=lo, value_hi=hi, ball=self.value, value64=self.value64, gap=self.gap,
                              relative_gap=self.relative_gap, certified=self.certified, assumptions=self.assumptions,
                              method=self.method, verification=self._verification(), details=details)

    def _verification(self) -> Verification | None:
        """The rigorous checks behind the bound, from the statistics in details (None when none ran)."""
        det = self.details
        if not self.certified or "check_seconds" not in det:
            return None
        return Verification(method="interval subdivision: p <= K and ell >= c K(rho t) in arb",
                            subintervals=det["below_pieces"] + det["above_pieces"], seconds=det["check_seconds"],
                            notes=tuple(det.get("notes", ())))


_ETF: dict = {}


def _best_etf(M, m, s, abar):
    from verify.model.etf import best_etf

    key = (M, m, s, abar)
    if key not in _ETF:
        _ETF[key] = best_etf(M, m, s, abar)
    return _ETF[key]


def _down(q: Fraction) -> float:
    f = float(q)
    return f if Fraction(f) <= q else math.nextafter(f, -math.inf)


def _finish(chk, M: int, d: int, m: float, s: float, abar: float, fallback64: float, notes: list) -> dict:
    """The fields a bound reports once its check `chk` (with .ok, .value, .reasons) is done: the
    ball of the bound (abar = 0: exactly 0), its decimal strings, the assumptions, and the rigorous
    gap to the best tilted ETF (arb ball of the ETF loss at a rational tilt next to alpha*). Shared
    by the tilted and the pole bounds; `fallback64` is the float value reported when not certified."""
    notes = list(notes)
    with flint_prec(PREC):
        if abar == 0:
            from flint import arb

            ball, certified, assumptions = arb(0), True, ()
            notes = ["abar = 0: L~ = |g|^2 >= 0 and g = 0 attains it"]
        else:
            certified = chk.ok
            ball = chk.value if chk.ok else None
            assumptions = ONE_SIGN
        if ball is not None:
            lo, _ = ball_bounds(ball, PREC)
            value = _ball_str(ball)
            value64 = _down(lo)
        else:
            lo, value, value64 = None, (repr(fallback64), repr(fallback64)), fallback64
            notes.append("not certified: " + "; ".join(chk.reasons))
        etf_loss = etf_str = gap = rel = None
        alpha_q = None
        if d >= M:
            opt = _best_etf(M, m, s, abar)
            etf_loss = float(opt.loss)
            etf_str = mpmath.nstr(opt.loss, 30)
            alpha_q = Fraction(mpmath.nstr(opt.alpha, 35)) if m > 0 or M == 1 else Fraction(0)
            alpha_q = max(Fraction(-1), min(Fraction(1), alpha_q))
            _, E_hi = ball_bounds(_etf_loss_ball(M, m, s, abar, alpha_q), PREC)
            if lo is not None:
                gap = _up(max(E_hi - lo, Fraction(0)))
                rel = gap / etf_loss if etf_loss > 0 else None
            if abs(float(E_hi) - etf_loss) > 1e-20 + 1e-15 * abs(etf_loss):  # pragma: no cover - a bug
                raise RuntimeError(f"ETF loss in arb {float(E_hi)!r} disagrees with best_etf {etf_loss!r}")
    return {"value": value, "value64": value64, "etf_loss": etf_loss, "etf_loss_str": etf_str, "gap": gap,
            "relative_gap": rel, "certified": bool(certified), "assumptions": tuple(assumptions), "notes": notes,
            "alpha_q": alpha_q}


def lower_bound_tilted(M: int, d: int, mu_norm: float, s: float = 1.0, abar: float = 1.0, *, degree: int = 32,
                       grid: int = 1500, solver: str = "CLARABEL", cache: dict | None = None) -> TiltedBound:
    """Certified lower bound on min L~ (module docstring), compared with the best tilted ETF.

    M >= 1 neurons, d >= 2, mu_norm >= 0, s > 0, abar finite. degree: of p and ell (32 by default;
    the gap shrinks with the degree for large ||mu|| / s and is flat for small). cache: a dict
    reused across calls so that the program of (M, min(d, M + 1), mu_norm, s, abar, degree) is
    solved and certified once (the grid passes one).
    """
    M, d, m, s, abar = _check_input(M, d, mu_norm, s, abar)
    D = int_at_least("degree", degree, 1)
    t0 = time.perf_counter()
    d_eff = min(d, M + 1)
    key = (M, d_eff, m, s, abar, D, grid, solver)
    notes: list[str] = []
    if cache is not None and key in cache:
        cert, chk, notes, socp64 = cache[key]
    elif abar == 0:
        cert, chk, socp64 = None, None, 0.0
    else:
        p64, lam64, socp64, status = tilted_socp(M, d_eff, m, s, abar, D, grid=grid, solver=solver)
        cert, chk, notes = certify_tilted(M, d_eff, m, s, abar, p64, lam64)
        notes = [f"solver status {status}"] + notes
        if cache is not None:
            cache[key] = (cert, chk, notes, socp64)
    fin = _finish(chk, M, d, m, s, abar, socp64, notes)
    notes, alpha_q = fin.pop("notes"), fin.pop("alpha_q")
    details = {"d_eff": d_eff, "degree": D, "socp64": socp64, "notes": tuple(notes)}
    if cert is not None:
        details.update(p=cert.p, lam=cert.lam, S=chk.S, below_pieces=chk.below.subintervals,
                       above_pieces=chk.above.subintervals, check_seconds=chk.seconds)
    if alpha_q is not None:
        details["etf_alpha"] = float(alpha_q)
    return TiltedBound(M=M, d=d, mu_norm=m, s=s, abar=abar, **fin, method=f"tilted-delsarte-degree-{D}",
                       details=details, seconds=time.perf_counter() - t0)


@dataclass(frozen=True)
class TiltedGrid:
    """`lower_bound_tilted` over a grid: the bounds, how many are certified, gap summary, wall time."""

    bounds: tuple[TiltedBound, ...]
    certified: int
    all_certified: bool
    relative_gap_min: float | None
    relative_gap_median: float | None
    relative_gap_max: float | None
    seconds: float


D_RULES = {"M": lambda M: M, "M+1": lambda M: M + 1, "2M": lambda M: 2 * M}  # the d for each M


def check_d_rules(d_rules) -> dict:
    """D_RULES, after checking that every name in d_rules is one of its keys (else InputError)."""
    for rname in d_rules:
        if rname not in D_RULES:
            raise InputError(f"unknown d rule {rname!r}; use 'M', 'M+1' or '2M'")
    return D_RULES


def lower_bound_tilted_grid(Ms=GRID_MS, ratios=GRID_RATIOS, d_rules=("M", "M+1", "2M"), s: float = 1.0,
                            abar: float = 1.0, *, degree: int = 32, progress=None) -> TiltedGrid:
    """The issue's grid: M in Ms, d in {M, M + 1, 2M} (d_rules), ||mu|| = ratio * s for ratio in
    ratios. d = M + 1 and d = 2M share d_eff = M + 1, so their programs are solved once.
    progress: optional callable(TiltedBound) called after each instance."""
    return bound_grid(lower_bound_tilted, TiltedGrid, Ms, ratios, d_rules, s, abar, progress, degree=degree)


def bound_grid(bound, grid_cls, Ms, ratios, d_rules, s: float, abar: float, progress=None, **options):
    """`bound(M, d, ratio * s, s, abar, cache=..., **options)` over the grid, one shared cache (so
    d = M + 1 and 2M, which share d_eff, are solved once), summarized as a `grid_cls`."""
    rules = check_d_rules(d_rules)
    s = finite("s", s, positive=True)
    t0 = time.perf_counter()
    cache: dict = {}
    out = []
    for M in Ms:
        M = int_at_least("M", M, 1)
        ds = sorted({max(rules[rn](M), 2) for rn in d_rules})
        for ratio in ratios:
            for d in ds:
                b = bound(M, d, finite("ratio", ratio) * s, s, abar, cache=cache, **options)
                out.append(b)
                if progress is not None:
                    progress(b)
    gaps = sorted(b.relative_gap for b in out if b.relative_gap is not None)
    n = sum(b.certified for b in out)
    return grid_cls(
        bounds=tuple(out), certified=n, all_certified=bool(out) and n == len(out),
        relative_gap_min=gaps[0] if gaps else None, relative_gap_median=gaps[len(gaps) // 2] if gaps else None,
        relative_gap_max=gaps[-1] if gaps else None, seconds=time.perf_counter() - t0,
    )
