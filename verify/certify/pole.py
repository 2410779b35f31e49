r"""A certified two-point bound with a pole at hat(mu) (Bachoc-Vallentin type), and its float program.

Bachoc and Vallentin (J. Amer. Math. Soc. 21 (2008) 909-924) bound spherical codes with positive
semidefinite functions of pairs of points that see a distinguished point; here that point is hat(mu).
Write theta = t hat(mu) + s phi (s = sqrt(1 - t^2), phi a unit vector orthogonal to hat(mu)),
u = <phi_x, phi_y>, Q(t) = (1, t, ..., t^n), and

    F(x, y) = sum_{k=0}^{kmax} Q(t_x)^T F_k Q(t_y) (s_x s_y)^k P_k(u),

P_k the Gegenbauer polynomials of S^{d'-2} (u^k for d' = 2, where u = +-1), d' = min(d, M + 1).
Certificate (F_k, lambda, gamma, delta), exact rationals: (a) F_k positive definite; (b) F - delta <= K
on [-1, 1]^3; (c) e(t) beta^2 - 2 beta w(t) >= -gamma for t in [-1, 1], beta >= 0, with
e(t) = K(1) - F(x, x) - (M - 1) delta and w(t) = c K(rho t) - lambda^T Q(t). For one-signed weights
(ONE_SIGN, as in `verify.certify.tilted`):

    beta^T K(G) beta >= sum_j e(t_j) beta_j^2 + Y^T F_0 Y       (sign used: beta_j beta_l >= 0, and
                                                                  (sum beta)^2 <= M |beta|^2 for delta)
    Y^T F_0 Y >= 2 lambda^T Y - lambda^T F_0^{-1} lambda,        Y = sum_j beta_j Q(t_j)
    L~ >= T - tau - M gamma,   tau = lambda^T F_0^{-1} lambda    (sign used: (c) per neuron)

(k >= 1 terms are PSD Schur products and are dropped; docs/bounds-mu.md section 5 has each step).
`pole_program` finds (F_k, lambda) in float (an SDP with an exchange method); `certify_pole` rounds
and repairs them; `verify_pole_certificate` proves (a) by exact LDL^T, (b) and (c) by arb branch and
bound (`verify.certify.pole_check`) and returns T - tau - M gamma as an arb ball (tau exact).
`lower_bound_pole` wraps it with `verify.certify.tilted.TiltedBound`'s fields.

Status: M = 2 certifies (||mu|| / s <= 1 measured) with relative gap <= 4e-4 to the best tilted ETF; for M >= 3 the interval check
of (b) does not close within its box budget (certified = False, reason in details["notes"]).
`pole_sdp64` is the original grid-only float exploration (NOT a bound), kept for comparison.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from verify.certify._common import (
    PREC,
    Verification,
    arb_q,
    finite,
    flint_prec,
    int_at_least,
    solve_suggestion,
)
from verify.certify.gegenbauer import gegenbauer_basis64
from verify.certify.pole_check import (
    PAIR_PREC,
    check_neuron_condition,
    check_pair_below_kernel,
)
from verify.certify.tilted import (
    GRID_MS,
    GRID_RATIOS,
    TiltedBound,
    TiltedGrid,
    _check_input,
    _finish,
    _target,
    bound_grid,
)
from verify.errors import InputError
from verify.kernels.relu import relu_K64

__all__ = [
    "PoleBound",
    "PoleCertificate",
    "PoleCheck",
    "PoleGrid",
    "certify_pole",
    "lower_bound_pole",
    "lower_bound_pole_grid",
    "pole_program",
    "pole_sdp64",
    "verify_pole_certificate",
]


def pole_sdp64(M: int, d: int, mu_norm: float, s: float = 1.0, abar: float = 1.0, *, n: int = 4, kmax: int = 2,
               nt: int = 41, nu: int = 25, ne: int = 301, solver: str = "CLARABEL") -> tuple[float, str]:
    """(value64, status) of the grid version of the relaxation above. NOT a certified bound.

    d is used as min(d, M + 1); nt, nu: grid sizes in t (cosine points) and u; ne: points of the
    per-neuron cone constraint.
    """
    import cvxpy as cp

    M = int_at_least("M", M, 1)
    d = min(int_at_least("d", d, 2), M + 1)
    m = finite("mu_norm", mu_norm)
    if m < 0:
        raise InputError(f"mu_norm must be >= 0, got {mu_norm!r}")
    s = finite("s", s, positive=True)
    abar = finite("abar", abar)
    n, kmax = int_at_least("n", n, 0), int_at_least("kmax", kmax, 0)
    r = math.hypot(m, s)
    rho, c = m / r, abs(abar) * r
    T = abar * abar * r * r * float(relu_K64(rho * rho))
    tg = np.cos(np.pi * np.arange(nt) / (nt - 1))
    ug = np.linspace(-1.0, 1.0, nu) if d > 2 else np.array([-1.0, 1.0])
    TT, TP, UU = np.meshgrid(tg, tg, ug, indexing="ij")
    keep = TT <= TP + 1e-12  # F is symmetric in (x, y)
    TT, TP, UU = TT[keep], TP[keep], UU[keep]
    S1, S2 = np.sqrt(1 - TT**2), np.sqrt(1 - TP**2)
    RH = np.clip(TT * TP + S1 * S2 * UU, -1.0, 1.0)
    QQ = np.einsum("ia,ib->iab", np.vander(TT, n + 1, increasing=True), np.vander(TP, n + 1, increasing=True))
    QQ = QQ.reshape(len(TT), -1)
    PU = gegenbauer_basis64(kmax, max(d - 1, 2), UU)  # d = 2: u = +-1, where T_k(u) = u^k as needed
    Fk = [cp.Variable((n + 1, n + 1), symmetric=True) for _ in range(kmax + 1)]
    F = sum(cp.multiply((S1 * S2) ** k * PU[k], QQ @ cp.vec(Fk[k], order="C")) for k in range(kmax + 1))
    te = np.unique(np.concatenate([np.cos(np.pi * np.arange(ne) / (ne - 1)), np.linspace(-1, 1, ne)]))
    Qe = np.vander(te, n + 1, increasing=True)
    Qd = np.einsum("ia,ib->iab", Qe, Qe).reshape(len(te), -1)
    e = 0.5 - sum(cp.multiply((1 - te**2) ** k, Qd @ cp.vec(Fk[k], order="C")) for k in range(kmax + 1))
    lam, tau, gam, w = cp.Variable(n + 1), cp.Variable(), cp.Variable(), cp.Variable(len(te))
    cons = [F <= relu_K64(RH)] + [X >> 0 for X in Fk]
    col = cp.reshape(lam, (n + 1, 1), order="C")
    cons += [cp.bmat([[Fk[0], col], [col.T, cp.reshape(tau, (1, 1), order="C")]]) >> 0]
    cons += [w >= c * relu_K64(rho * te) - Qe @ lam, w >= 0, e >= 0]
    cons += [cp.SOC(gam + e, cp.vstack([2 * w, gam - e]), axis=0)]  # w^2 <= gam e
    prob = cp.Problem(cp.Minimize(tau + M * gam), cons)
    with warnings.catch_warnings():
        # Reason: a float exploration tool; its status is returned to the caller.
        warnings.simplefilter("ignore")
        prob.solve(solver=solver)
    if prob.value is None:
        raise RuntimeError(f"pole_sdp64: status {prob.status!r}")
    return float(T - prob.value), str(prob.status)


# ---- the certified bound -------------------------------------------------------------------------

GRID_NT, GRID_NU = 31, 9  # starting grid of the float program (cosine points in t, u)
ROUND = 2**56  # float suggestions are rounded to multiples of 2^-56


def _dyadic(x) -> Fraction:
    return Fraction(round(float(x) * ROUND), ROUND)


def _dyadic_up(x) -> Fraction:
    return Fraction(math.ceil(float(x) * ROUND), ROUND)


def _pair_F64(Fk, d: int, T1, T2, U):
    """F(t_x, t_y, u) in float64 (module docstring) for arrays of points."""
    n = Fk[0].shape[0] - 1
    S = np.sqrt(np.clip(1 - T1**2, 0, None)) * np.sqrt(np.clip(1 - T2**2, 0, None))
    V1, V2 = np.vander(T1, n + 1, increasing=True), np.vander(T2, n + 1, increasing=True)
    PU = gegenbauer_basis64(len(Fk) - 1, max(d - 1, 2), U)
    return sum(S**k * PU[k] * np.einsum("ia,ab,ib->i", V1, Fk[k], V2) for k in range(len(Fk)))


def _pair_excess64(Fk, d: int, *, N: int = 121, NU: int = 33, refine: int = 24, starts=None):
    """Float estimate of max (F - K) over the domain: a grid (t = cos of uniform angles), then
    L-BFGS-B from the best grid point of each of `refine` distinct neighbourhoods and from `starts`
    ((3, P) points). Returns (max, points (3, P) of the local maxima found)."""
    from scipy.optimize import minimize

    tg = np.cos(np.pi * np.arange(N) / (N - 1))
    ug = np.cos(np.pi * np.arange(NU) / (NU - 1)) if d > 2 else np.array([-1.0, 1.0])
    TT, TP, UU = (a.ravel() for a in np.meshgrid(tg, tg, ug, indexing="ij"))
    keep = TT <= TP + 1e-12
    TT, TP, UU = TT[keep], TP[keep], UU[keep]
    RH = np.clip(TT * TP + np.sqrt(1 - TT**2) * np.sqrt(1 - TP**2) * UU, -1, 1)
    D = _pair_F64(Fk, d, TT, TP, UU) - relu_K64(RH)
    A1, A2 = np.arccos(TT) / np.pi, np.arccos(TP) / np.pi
    chosen = []
    for i in np.argsort(-D):  # greedy: best points at least 0.05 apart (in angle / pi and u)
        if all(max(abs(A1[i] - A1[j]), abs(A2[i] - A2[j]), abs(UU[i] - UU[j]) / 4) > 0.05 for j in chosen):
            chosen.append(i)
            if len(chosen) >= refine:
                break
    z0s = [np.array([TT[i], TP[i], UU[i]]) for i in chosen]
    if starts is not None:
        z0s += [np.asarray(z, dtype=float) for z in np.asarray(starts).T]

    def neg(z):
        t1, t2, u = np.clip(z, -1, 1)
        rh = min(1.0, max(-1.0, t1 * t2 + math.sqrt(1 - t1 * t1) * math.sqrt(1 - t2 * t2) * u))
        return -(_pair_F64(Fk, d, np.array([t1]), np.array([t2]), np.array([u]))[0] - float(relu_K64(rh)))

    pts, best = [], float(D.max())
    for z0 in z0s:
        bnds = [(-1, 1), (-1, 1), (-1, 1) if d > 2 else (z0[2], z0[2])]
        res = minimize(neg, z0, bounds=bnds, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-13})
        pts.append(np.clip(res.x, -1, 1))
        best = max(best, -float(res.fun))
    return best, np.array(pts).T


def _estimate64(Fk, lam, M: int, m: float, s: float, abar: float, delta: float, ne: int = 20001):
    """Float estimate of the certified value: (T - tau - M gamma, gamma) for F, lambda and delta."""
    r = math.hypot(m, s)
    rho, c = m / r, abs(abar) * r
    n = len(lam) - 1
    tt = np.unique(np.concatenate([np.linspace(-1, 1, ne), np.cos(np.pi * np.arange(ne) / (ne - 1))]))
    Q = np.vander(tt, n + 1, increasing=True)
    e = 0.5 - sum((1 - tt**2) ** k * np.einsum("ia,ab,ib->i", Q, X, Q) for k, X in enumerate(Fk)) - (M - 1) * delta
    w = np.maximum(c * relu_K64(rho * tt) - Q @ lam, 0.0)
    if np.any(e < 0) or np.any((w > 0) & (e <= 0)):
        return -math.inf, math.inf
    gam = float(np.max(np.where(w > 0, w * w / np.where(e > 0, e, 1.0), 0.0)))
    try:
        tau = float(lam @ np.linalg.solve(Fk[0], lam))
    except np.linalg.LinAlgError:
        return -math.inf, gam
    T = abar * abar * r * r * float(relu_K64(rho * rho))
    return T - tau - M * gam, gam


def pole_program(M: int, d_eff: int, mu_norm: float, s: float = 1.0, abar: float = 1.0, *, n: int = 4,
                 kmax: int = 2, nt: int = GRID_NT, nu: int = GRID_NU, rounds: int = 4, ne: int = 601,
                 solver: str = "CLARABEL") -> dict:
    """Float suggestion (F_k, lambda) for the certified bound, by an exchange method.

    Solves the program of `pole_sdp64` (F <= K on a point set) `rounds` times, each time adding the
    local maxima of F - K found by `_pair_excess64`; keeps the round whose *repaired* float estimate
    (`_estimate64` with delta = max(F - K, 0)) is largest. Returns a dict with F (list of arrays),
    lam, value64 (the program's value, not a bound), estimate, excess, status, round.
    """
    import cvxpy as cp

    M, d_eff, m, s, abar = _check_input(M, d_eff, mu_norm, s, abar)
    r = math.hypot(m, s)
    rho, c = m / r, abs(abar) * r
    T = abar * abar * r * r * float(relu_K64(rho * rho))
    tg = np.cos(np.pi * np.arange(nt) / (nt - 1))
    ug = np.cos(np.pi * np.arange(nu) / (nu - 1)) if d_eff > 2 else np.array([-1.0, 1.0])
    TT, TP, UU = (a.ravel() for a in np.meshgrid(tg, tg, ug, indexing="ij"))
    keep = TT <= TP + 1e-12
    pts = np.array([TT[keep], TP[keep], UU[keep]])
    te = np.unique(np.concatenate([np.cos(np.pi * np.arange(ne) / (ne - 1)), np.linspace(-1, 1, ne)]))
    Qe = np.vander(te, n + 1, increasing=True)
    Qd = np.einsum("ia,ib->iab", Qe, Qe).reshape(len(te), -1)
    best = None
    for rnd in range(rounds):
        T1, T2, U = pts
        S12 = np.sqrt(np.clip(1 - T1**2, 0, None)) * np.sqrt(np.clip(1 - T2**2, 0, None))
        RH = np.clip(T1 * T2 + S12 * U, -1.0, 1.0)
        QQ = np.einsum("ia,ib->iab", np.vander(T1, n + 1, increasing=True),
                       np.vander(T2, n + 1, increasing=True)).reshape(len(T1), -1)
        PU = gegenbauer_basis64(kmax, max(d_eff - 1, 2), U)
        Fk = [cp.Variable((n + 1, n + 1), symmetric=True) for _ in range(kmax + 1)]
        F = sum(cp.multiply(S12**k * PU[k], QQ @ cp.vec(Fk[k], order="C")) for k in range(kmax + 1))
        e = 0.5 - sum(cp.multiply((1 - te**2) ** k, Qd @ cp.vec(Fk[k], order="C")) for k in range(kmax + 1))
        lam, tau, gam, w = cp.Variable(n + 1), cp.Variable(), cp.Variable(), cp.Variable(len(te))
        col = cp.reshape(lam, (n + 1, 1), order="C")
        cons = [F <= relu_K64(RH)] + [X >> 0 for X in Fk]
        cons += [cp.bmat([[Fk[0], col], [col.T, cp.reshape(tau, (1, 1), order="C")]]) >> 0]
        cons += [w >= c * relu_K64(rho * te) - Qe @ lam, w >= 0, e >= 0]
        cons += [cp.SOC(gam + e, cp.vstack([2 * w, gam - e]), axis=0)]  # w^2 <= gam e
        prob = cp.Problem(cp.Minimize(tau + M * gam), cons)
        solve_suggestion(prob, solver, "pole_program")
        if prob.value is None or lam.value is None:
            break
        F64 = [np.asarray(X.value, dtype=float) for X in Fk]
        F64 = [(X + X.T) / 2 for X in F64]
        lam64 = np.asarray(lam.value, dtype=float)
        exc, new = _pair_excess64(F64, d_eff)
        est, _ = _estimate64(F64, lam64, M, m, s, abar, max(exc, 0.0))
        if best is None or est > best["estimate"]:
            best = {"F": F64, "lam": lam64, "value64": float(T - prob.value), "estimate": est, "excess": exc,
                    "status": str(prob.status), "round": rnd}
        pts = np.concatenate([pts, new], axis=1)
    if best is None:
        raise RuntimeError(f"pole_program({M}, {d_eff}, {m}): no solution")
    return best


@dataclass(frozen=True)
class PoleCertificate:
    """An exact certificate of the two-point bound (docs/bounds-mu.md, section 5).

    F: matrices F_0..F_kmax ((n + 1) x (n + 1), exact rationals, monomial basis Q(t) = (1, ..., t^n));
    lam: lambda (n + 1 rationals); gamma >= 0; delta >= 0 (F - delta <= K is what is proven).
    d_eff: the dimension whose Gegenbauer family (of S^{d_eff - 2}, in u) F uses.
    """

    M: int
    d_eff: int
    mu_norm: float
    s: float
    abar: float
    F: tuple
    lam: tuple[Fraction, ...]
    gamma: Fraction
    delta: Fraction


@dataclass(frozen=True)
class PoleCheck:
    """`verify_pole_certificate`'s verdict. ok: every condition proven; reasons: what failed;
    value: arb ball of T - tau - M gamma (None unless ok); tau = lambda^T F_0^{-1} lambda (exact);
    pair, neuron: the two interval checks (`verify.certify.pole_check`); seconds."""

    ok: bool
    reasons: tuple[str, ...]
    value: object
    tau: Fraction | None
    pair: object
    neuron: object
    seconds: float


def _ldl_pivots(A) -> list[Fraction]:
    """Pivots of the exact LDL^T factorization of a symmetric rational matrix (stops at a pivot <= 0).
    A is positive definite iff all n pivots are > 0 (Sylvester)."""
    A = [[Fraction(x) for x in row] for row in A]
    n = len(A)
    piv = []
    for k in range(n):
        p = A[k][k]
        piv.append(p)
        if p <= 0:
            break
        for i in range(k + 1, n):
            f = A[i][k] / p
            if f:
                for j in range(k + 1, n):
                    A[i][j] -= f * A[k][j]
    return piv


def _solve_exact(A, b) -> list[Fraction]:
    """x with A x = b (A positive definite, exact Gaussian elimination)."""
    n = len(A)
    R = [[Fraction(x) for x in A[i]] + [Fraction(b[i])] for i in range(n)]
    for k in range(n):
        for i in range(k + 1, n):
            f = R[i][k] / R[k][k]
            if f:
                for j in range(k, n + 1):
                    R[i][j] -= f * R[k][j]
    x = [Fraction(0)] * n
    for i in reversed(range(n)):
        x[i] = (R[i][n] - sum((R[i][j] * x[j] for j in range(i + 1, n)), Fraction(0))) / R[i][i]
    return x


def _verify(cert: PoleCertificate, pair=None, *, pair_options=None) -> PoleCheck:
    t0 = time.perf_counter()
    M, d_eff, m, s, abar = _check_input(cert.M, cert.d_eff, cert.mu_norm, cert.s, cert.abar)
    F = [[[Fraction(x) for x in row] for row in Fk] for Fk in cert.F]
    lam = [Fraction(x) for x in cert.lam]
    gamma, delta = Fraction(cert.gamma), Fraction(cert.delta)
    reasons = []
    n1 = len(lam)
    if not F or any(len(Fk) != n1 or any(len(row) != n1 for row in Fk) for Fk in F):
        raise InputError("every F_k must be (n + 1) x (n + 1) with n + 1 = len(lam)")
    for k, Fk in enumerate(F):
        if any(Fk[i][j] != Fk[j][i] for i in range(n1) for j in range(i)):
            reasons.append(f"F_{k} is not symmetric")
        elif min(_ldl_pivots(Fk)) <= 0:
            reasons.append(f"F_{k} is not proven positive definite (exact LDL^T pivot <= 0)")
    if delta < 0:
        reasons.append("delta < 0")
    if gamma < 0:
        reasons.append("gamma < 0")
    if pair is None:
        pair = check_pair_below_kernel(F, d_eff, delta, **(pair_options or {}))
    if not pair.certified:
        reasons.append(f"F - delta <= K not proven (min(K - F + delta) >= {float(pair.min_lower):.3e}"
                       f"{', box budget exhausted' if pair.exhausted else ''})")
    neuron = check_neuron_condition(F, lam, gamma, delta, M, m, s, abar)
    if not neuron.certified:
        reasons.append(f"per-neuron condition not proven near t = {neuron.failed_at[:3]}")
    tau = value = None
    if not reasons:
        tau = sum((a * b for a, b in zip(lam, _solve_exact(F[0], lam))), Fraction(0))
        with flint_prec(PREC):
            T, _, _ = _target(m, s, abar)
            value = T - arb_q(tau + M * gamma)
    return PoleCheck(ok=not reasons, reasons=tuple(reasons), value=value, tau=tau, pair=pair, neuron=neuron,
                     seconds=time.perf_counter() - t0)


def verify_pole_certificate(cert: PoleCertificate, **pair_options) -> PoleCheck:
    """Check an exact certificate without repairing it: F_k symmetric and positive definite (exact
    LDL^T), delta, gamma >= 0, F - delta <= K on the whole domain (`check_pair_below_kernel`), the
    per-neuron condition (`check_neuron_condition`). If ok, L~ >= T - lambda^T F_0^{-1} lambda - M gamma
    for every network of cert.M one-signed neurons in every R^d with min(d, M + 1) = cert.d_eff."""
    return _verify(cert, pair_options=pair_options)


def certify_pole(M: int, d_eff: int, mu_norm: float, s: float, abar: float, F64, lam64, *,
                 delta_margin: float = 1e-7, gamma_rel_margin: float = 1e-9,
                 max_boxes: int = 150_000) -> tuple[PoleCertificate, PoleCheck, list[str]]:
    """Repair a float suggestion into an exact certificate and verify it.

    F_k: rounded to multiples of 2^-56, symmetrized, plus eps I (eps = the float negative part of the
    smallest eigenvalue plus 2^-40, raised until the exact LDL^T succeeds). delta: float estimate of
    max(F - K) plus `delta_margin`, then raised by the certified violation if the interval check finds
    one. gamma: float estimate of max(w+^2 / e) times (1 + gamma_rel_margin), raised until the
    per-neuron check succeeds. lambda: rounded. The verdict is `_verify`'s.
    """
    M, d_eff, m, s, abar = _check_input(M, d_eff, mu_norm, s, abar)
    notes = []
    F = []
    for k, X in enumerate(F64):
        X = np.asarray(X, dtype=float)
        X = (X + X.T) / 2
        eps = max(0.0, -float(np.linalg.eigvalsh(X)[0])) + 2.0**-40
        base = [[_dyadic(X[i][j]) for j in range(len(X))] for i in range(len(X))]
        base = [[base[min(i, j)][max(i, j)] for j in range(len(X))] for i in range(len(X))]
        for _ in range(20):
            Fk = [[base[i][j] + (_dyadic_up(eps) if i == j else 0) for j in range(len(X))] for i in range(len(X))]
            if min(_ldl_pivots(Fk)) > 0:
                break
            eps *= 16
        F.append(Fk)
    lam = [_dyadic(x) for x in lam64]
    Ff = [np.array([[float(x) for x in row] for row in Fk]) for Fk in F]
    lamf = np.array([float(x) for x in lam])
    exc, _ = _pair_excess64(Ff, d_eff, N=161, NU=41, refine=40)
    delta = _dyadic_up(max(exc, 0.0) + delta_margin)
    pair = None
    for attempt in range(6):
        pair = check_pair_below_kernel(F, d_eff, delta, max_boxes=max_boxes, stop_at_violation=True)
        if pair.certified or not pair.violated_at:
            break
        # a genuine violation: climb from it in float and raise delta past the local maximum
        z = np.array([[math.cos(math.pi * a1), math.cos(math.pi * a2), u] for a1, a2, u in pair.violated_at]).T
        exc2, _ = _pair_excess64(Ff, d_eff, N=3, NU=3, refine=0, starts=z)
        new = _dyadic_up(max(exc2, float(delta) - float(pair.upper)) + delta_margin)
        notes.append(f"delta raised from {float(delta):.3e} to {float(max(new, delta)):.3e} (violation found)")
        delta = max(new, delta + _dyadic_up(delta_margin))
    if pair.violated_at:  # the final certificate must be checked in full
        pair = None
    _, g64 = _estimate64(Ff, lamf, M, m, s, abar, float(delta))
    if not math.isfinite(g64):
        notes.append("e <= 0 where w > 0 (float): no finite gamma")
        g64 = 1.0
    gamma = _dyadic_up(g64 * (1 + gamma_rel_margin) + 1e-16)
    for attempt in range(4):
        cert = PoleCertificate(M, d_eff, m, s, abar, tuple(tuple(tuple(r) for r in Fk) for Fk in F), tuple(lam),
                               gamma, delta)
        chk = _verify(cert, pair)
        pair = chk.pair
        if chk.ok or not pair.certified or any("positive definite" in r for r in chk.reasons):
            break
        gamma = _dyadic_up(float(gamma) * (1 + 10.0 ** (-6 + 2 * attempt)))
        notes.append(f"gamma raised to {float(gamma):.6e}")
    return cert, chk, notes


class PoleBound(TiltedBound):
    """`TiltedBound`'s fields with the same meanings (so callers can use either), for the two-point
    bound with a pole. method: "pole-two-point-n{n}-k{kmax}". details: d_eff, n, kmax, the float
    program's value (sdp64, not a bound) and repaired estimate, the exact certificate (F, lam, gamma,
    delta, tau), check statistics, notes."""

    def _verification(self) -> Verification | None:
        det = self.details
        if not self.certified or "check_seconds" not in det:
            return None
        return Verification(method="branch and bound in arb: F - delta <= K (pairs) and the neuron condition",
                            subintervals=det["pair_boxes"] + det["neuron_pieces"], max_depth=det["pair_depth"],
                            prec=PAIR_PREC, seconds=det["check_seconds"], notes=tuple(det.get("notes", ())))


class PoleGrid(TiltedGrid):
    """`lower_bound_pole` over a grid (fields as `TiltedGrid`)."""


def lower_bound_pole(M: int, d: int, mu_norm: float, s: float = 1.0, abar: float = 1.0, *, n: int = 4,
                     kmax: int = 2, rounds: int = 4, delta_margin: float = 1e-7, max_boxes: int = 150_000,
                     solver: str = "CLARABEL", cache: dict | None = None) -> PoleBound:
    """Certified lower bound on min L~ by the two-point relaxation with a pole at hat(mu), compared
    with the best tilted ETF (fields as `verify.certify.tilted.lower_bound_tilted`).

    M >= 1 neurons, d >= 2, mu_norm >= 0, s > 0, abar finite; n: degree of Q in t; kmax: highest
    Gegenbauer degree in u; rounds: exchange rounds of the float program; delta_margin: the slack
    added to the estimated max(F - K) before the interval check (smaller: tighter but slower).
    cache: a dict reused across calls (the program depends on d only through min(d, M + 1)).
    If certification fails, certified is False, value is the float estimate and details["notes"]
    says why.
    """
    M, d, m, s, abar = _check_input(M, d, mu_norm, s, abar)
    n, kmax = int_at_least("n", n, 0), int_at_least("kmax", kmax, 0)
    rounds = int_at_least("rounds", rounds, 1)
    t0 = time.perf_counter()
    d_eff = min(d, M + 1)
    key = (M, d_eff, m, s, abar, n, kmax, rounds, delta_margin, max_boxes, solver)
    notes: list[str] = []
    prog = cert = chk = None
    if cache is not None and key in cache:
        prog, cert, chk, notes = cache[key]
    elif abar != 0:
        prog = pole_program(M, d_eff, m, s, abar, n=n, kmax=kmax, rounds=rounds, solver=solver)
        cert, chk, notes = certify_pole(M, d_eff, m, s, abar, prog["F"], prog["lam"], delta_margin=delta_margin,
                                        max_boxes=max_boxes)
        notes = [f"solver status {prog['status']} (best of {rounds} exchange rounds: {prog['round']})"] + notes
        if cache is not None:
            cache[key] = (prog, cert, chk, notes)
    fin = _finish(chk, M, d, m, s, abar, prog["estimate"] if prog is not None else 0.0, notes)
    notes, alpha_q = fin.pop("notes"), fin.pop("alpha_q")
    details = {"d_eff": d_eff, "n": n, "kmax": kmax, "notes": tuple(notes)}
    if prog is not None:
        details.update(sdp64=prog["value64"], estimate64=prog["estimate"], excess64=prog["excess"])
    if cert is not None:
        details.update(F=cert.F, lam=cert.lam, gamma=cert.gamma, delta=cert.delta, tau=chk.tau,
                       pair_boxes=chk.pair.boxes, pair_depth=chk.pair.max_depth, pair_seconds=chk.pair.seconds,
                       neuron_pieces=chk.neuron.pieces, check_seconds=chk.seconds)
    if alpha_q is not None:
        details["etf_alpha"] = float(alpha_q)
    return PoleBound(M=M, d=d, mu_norm=m, s=s, abar=abar, **fin, method=f"pole-two-point-n{n}-k{kmax}",
                     details=details, seconds=time.perf_counter() - t0)


def lower_bound_pole_grid(Ms=GRID_MS, ratios=GRID_RATIOS, d_rules=("M", "M+1", "2M"), s: float = 1.0,
                          abar: float = 1.0, *, progress=None, **options) -> PoleGrid:
    """`lower_bound_pole` over the issue's grid (as `lower_bound_tilted_grid`; d = M + 1 and 2M share
    d_eff and are solved once). options go to `lower_bound_pole`; progress: callable(PoleBound)."""
    return bound_grid(lower_bound_pole, PoleGrid, Ms, ratios, d_rules, s, abar, progress, **options)
