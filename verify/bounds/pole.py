r"""A two-point bound with a pole at hat(mu) (Bachoc-Vallentin type): FLOAT ONLY, not a bound.

This is the relaxation that docs/bounds-mu.md (section 5) found to be near-tight against the best
tilted ETF in float experiments. It is kept as a suggestion generator for a future certificate;
its value is NOT a lower bound (F <= K is imposed on a grid only, and the value has been seen to
exceed the ETF loss by up to 0.4 % on coarse grids). Use `verify.bounds.tilted` for certified
numbers.

Relaxation. Write theta = t hat(mu) + s phi (s = sqrt(1 - t^2), phi a unit vector orthogonal to
hat(mu)), u = <phi_x, phi_y>, and let

    F(x, y) = sum_{k=0}^{kmax} Q(t_x)^T F_k Q(t_y) (s_x s_y)^k P_k^{(d-1)}(u),   F_k PSD,

with Q(t) = (1, t, ..., t^n) and P_k^{(d-1)} the Gegenbauer polynomials of S^{d-2} (u in {-1, 1}
for d = 2). For k >= 1 the matrices [F_k-term(theta_j, theta_l)] are PSD (Schur products of PSD
matrices) and are dropped; the k = 0 part is Y^T F_0 Y, Y = sum_j beta_j Q(t_j). If F <= K(<x, y>)
for all pairs and all beta_j have one sign, with e(t) = K(1) - F(x, x) >= 0:

    L~ >= T - 2 c sum_j beta_j h(t_j) + sum_j e(t_j) beta_j^2 + Y^T F_0 Y
       >= T - lambda^T F_0^{-1} lambda - M gamma,

for every lambda and gamma with w(t) >= max(c h(t) - lambda^T Q(t), 0) and w(t)^2 <= gamma e(t) on
[-1, 1] (per neuron: e beta^2 - 2 beta w >= -w^2 / e). All constraints are convex (an SDP).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from verify.bounds._common import finite, int_at_least
from verify.bounds.delsarte import _K64
from verify.bounds.gegenbauer import gegenbauer_basis64
from verify.errors import InputError

__all__ = ["pole_sdp64"]


def pole_sdp64(M: int, d: int, mu_norm: float, s: float = 1.0, abar: float = 1.0, *, n: int = 4, kmax: int = 2,
               nt: int = 41, nu: int = 25, ne: int = 301, solver: str = "CLARABEL") -> tuple[float, str]:
    """(value64, status) of the grid version of the relaxation above. NOT a certified bound.

    d is used as min(d, M + 1); nt, nu: grid sizes in t (cosine points) and u; ne: points of the
    per-neuron cone constraint. Costs about 1-4 s for the defaults.
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
    T = abar * abar * r * r * float(_K64(rho * rho))
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
    cons = [F <= _K64(RH)] + [X >> 0 for X in Fk]
    col = cp.reshape(lam, (n + 1, 1), order="C")
    cons += [cp.bmat([[Fk[0], col], [col.T, cp.reshape(tau, (1, 1), order="C")]]) >> 0]
    cons += [w >= c * _K64(rho * te) - Qe @ lam, w >= 0, e >= 0]
    cons += [cp.SOC(gam + e, cp.vstack([2 * w, gam - e]), axis=0)]  # w^2 <= gam e
    prob = cp.Problem(cp.Minimize(tau + M * gam), cons)
    with warnings.catch_warnings():
        # Reason: a float exploration tool; its status is returned to the caller.
        warnings.simplefilter("ignore")
        prob.solve(solver=solver)
    if prob.value is None:
        raise RuntimeError(f"pole_sdp64: status {prob.status!r}")
    return float(T - prob.value), str(prob.status)
