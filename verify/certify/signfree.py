r"""A lower bound on L~ at mu = 0 that needs no sign assumption on the output weights.

The Delsarte-Yudin bound of `verify.certify.delsarte` multiplies the entrywise inequality
K(rho_jl) >= p(rho_jl) by beta_j beta_l and so needs beta >= 0. Here the part of K that the
diagonal has to pay for is written as a sum of squares of positive definite functions, whose
matrices obey a sign-free inequality.

Rank lemma. Let kappa = sum_k c_k P_k with c_k >= 0 (positive definite on S^{d-1}, finitely many
c_k > 0) and n = sum of N_k over {k : c_k > 0} (N_k = dimension of the degree-k harmonics). For
every beta in R^M (any signs) and unit theta_1..theta_M in R^d,

    beta^T [kappa(rho_jl)^2] beta >= kappa(1)^2 (1^T beta)^2 / min(M, n).

Proof: psi(theta) = (sqrt(c_k / N_k) Y_{k,m}(theta))_{k,m} in R^n has <psi(x), psi(y)> = kappa(<x, y>)
(addition theorem). S = sum_j beta_j psi(theta_j) psi(theta_j)^T is symmetric of rank at most
min(M, n), ||S||_F^2 = sum_{j,l} beta_j beta_l kappa(rho_jl)^2 and tr S = kappa(1) 1^T beta; the
Cauchy-Schwarz inequality over the nonzero eigenvalues of S gives (tr S)^2 <= rank(S) ||S||_F^2.

The bound. Let sigma = sum_i lambda_i kappa_i^2 (lambda_i >= 0, kappa_i as above, n_i their ranks)
and suppose the Gegenbauer coefficients of E = K - sigma satisfy E_k >= 0 for all k >= 1. Since
K = sum_k K_k P_k with K_k = d N_k mu_k^2 >= 0 (`verify.certify.gegenbauer.relu_gegenbauer`),
E_k = K_k for k > deg sigma, and beta^T P_k(G) beta >= 0 for every beta,

    beta^T K(G) beta = beta^T E(G) beta + sum_i lambda_i beta^T kappa_i(G)^2 beta
                    >= (E_0 + sum_i lambda_i kappa_i(1)^2 / min(M, n_i)) (1^T beta)^2,

for EVERY beta: A = K_0 - sigma_0 + sum_i lambda_i kappa_i(1)^2 / min(M, n_i). With n_i >= M this
is the objective p_0 + (K(1) - p(1))/M of the Delsarte LP with sigma = K - p; the difference is
the cone: sigma >= 0 pointwise there, sigma a sum of squares of positive definite functions here
(a smaller cone, every member of which is pointwise >= 0).

Parametrization (a second-order cone program). sigma = sum_{(i,j)} (a P_i^2 + 2 c P_i P_j + b P_j^2)
over pairs i < j <= D, each 2 x 2 block [[a, c], [c, b]] positive semidefinite with a, b, c >= 0,
plus e_i P_i^2 (e_i >= 0) where N_i < M. A nonnegative PSD 2 x 2 matrix is completely positive:
[[a, c], [c, b]] = (a - c^2/b) e_1 e_1^T + (1/b) (c, b)(c, b)^T, so each block is
(a - c^2/b) P_i^2 + (1/b) (c P_i + b P_j)^2, two squares of positive definite functions of rank
<= N_i + N_j, contributing (a + 2c + b) / min(M, N_i + N_j) to A. Odd k >= 3 have K_k = 0, so only
pairs with i + j even and the pair (0, 1) can appear (products P_i P_j have the parity of i + j).

Certification (exact). The solver's a, b, c, e are rounded to rationals and clipped at 0; a block
with c^2 > a b gets a := c^2 / b; sigma_k is computed exactly from the exact linearization table;
K_k are arb balls; every block is scaled by lambda = min(1, min_k lower(K_k) / sigma_k) (exact),
so that sigma_k <= K_k holds exactly for 1 <= k <= 2D, and A is the lower end of its arb ball.

Measured (docs/bounds.md): for M <= d + 1, computed in dimension min(d, M), the bound approaches
the simplex value from below as D grows (A gap ~ D^-2.6: 1e-6 at D = 16, 1e-7 at D = 64 for
M = 4), so the simplex is globally optimal among ALL networks up to a certified gap; whether the
gap closes (the sign-free conjecture) is not decided. A polynomial sigma cannot close it: the
tail sum_{k > 2D} K_k P_k is only used through E_0. In d = 2 with M >= 4 the bound is K_0 (the
value of infinitely many neurons) and nothing better: the rank lemma gains too little there.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from verify.certify._common import PREC, Verification, int_at_least
from verify.certify.gegenbauer import harmonic_dim, product_table, relu_gegenbauer
from verify.numbers.precision import ball_bounds

__all__ = ["SignFreeBound", "signfree_bound"]

SHRINK = 1e-9  # the solver sees sigma_k <= (1 - SHRINK) K_k, so rounding rarely needs the scale step
SOLVER_OPTIONS = {"CLARABEL": {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}}


@dataclass(frozen=True)
class SignFreeBound:
    """A certified sign-free bound beta^T K(G) beta >= A (1^T beta)^2 for every beta in R^M.

    A: exact rational lower bound. A64: the solver's value. blocks: (i, j, a, b, c) exact rationals
    (after the scaling lambda), diagonal: (i, e). sigma: exact Gegenbauer coefficients of sigma.
    summary: (A, lambda, sigma_0, gain). verification: a `delsarte.Verification` record.
    """

    M: int
    d: int
    degree: int
    A: Fraction
    A64: float
    blocks: tuple[tuple[int, int, Fraction, Fraction, Fraction], ...]
    diagonal: tuple[tuple[int, Fraction], ...]
    scale: Fraction
    sigma: tuple[Fraction, ...]
    summary: tuple[Fraction, ...]
    solver_seconds: float
    verification: object


def _direct(M: int, d: int, D: int, t0: float) -> SignFreeBound:
    """M <= 2, exactly and for every sign: M = 1: beta^T K(G) beta = beta^2 / 2. M = 2:
    beta^T K(G) beta = (b1^2 + b2^2)/2 + 2 b1 b2 K(rho); if b1 b2 >= 0 drop the last term (K >= 0)
    and use (b1^2 + b2^2)/2 >= (b1 + b2)^2 / 4; if b1 b2 < 0 use K(rho) <= K(1) = 1/2 to get
    (b1 + b2)^2 / 2 >= (b1 + b2)^2 / 4. So A = 1/2 (M = 1) and A = 1/4 = A_simplex (M = 2)."""
    A = Fraction(1, 2) if M == 1 else Fraction(1, 4)
    ver = Verification(method="direct (M <= 2)", seconds=time.perf_counter() - t0, notes=("closed argument, no solver",))
    return SignFreeBound(
        M=M, d=d, degree=D, A=A, A64=float(A), blocks=(), diagonal=(), scale=Fraction(1), sigma=(),
        summary=(A,), solver_seconds=0.0, verification=ver,
    )


def _pairs(D: int) -> list[tuple[int, int]]:
    return [(0, 1)] * (D >= 1) + [(i, j) for i in range(D + 1) for j in range(i + 1, D + 1) if (i + j) % 2 == 0]


def signfree_bound(M: int, d: int, degree: int = 16, *, solver: str = "CLARABEL") -> SignFreeBound:
    """The sign-free bound of the module docstring with squares of degree <= `degree` (2D in sigma)."""
    import cvxpy as cp

    M = int_at_least("M", M, 1)
    d = int_at_least("d", d, 1 if M <= 2 else 2)  # M <= 2: the closed argument holds in every d
    D = int_at_least("degree", degree, 1)
    t0 = time.perf_counter()
    if M <= 2:
        return _direct(M, d, D, t0)
    T = product_table(D, d)
    Kb = relu_gegenbauer(d, 2 * D, PREC)
    Klo = [ball_bounds(k, PREC)[0] for k in Kb]
    N = [harmonic_dim(k, d) for k in range(D + 1)]
    pairs = _pairs(D)
    diag = [i for i in range(1, D + 1) if N[i] < M]
    nk = 2 * D + 1

    def col(i, j):
        v = np.zeros(nk)
        for k, x in enumerate(T[(i, j)]):
            v[k] = float(x)
        return v

    Ta = np.stack([col(i, i) for i, _ in pairs], axis=1)
    Tb = np.stack([col(j, j) for _, j in pairs], axis=1)
    Tc = np.stack([2 * col(i, j) for i, j in pairs], axis=1)
    rank = np.array([min(M, N[i] + N[j]) for i, j in pairs], dtype=float)
    a = cp.Variable(len(pairs), nonneg=True)
    b = cp.Variable(len(pairs), nonneg=True)
    c = cp.Variable(len(pairs), nonneg=True)
    sig = Ta @ a + Tb @ b + Tc @ c
    gain = cp.sum(cp.multiply(1.0 / rank, a + 2 * c + b))
    cons = [cp.SOC(a + b, cp.vstack([a - b, 2 * c]), axis=0)]
    if diag:
        e = cp.Variable(len(diag), nonneg=True)
        Te = np.stack([col(i, i) for i in diag], axis=1)
        sig = sig + Te @ e
        gain = gain + cp.sum(cp.multiply(1.0 / np.array([min(M, N[i]) for i in diag], dtype=float), e))
    Kf = np.array([float(x) for x in Klo])
    # rows scaled by 1 / K_k so that the solver's feasibility tolerance is relative (K_k spans
    # several decades); K_k = 0 (odd k >= 3) rows are exactly zero by the parity of the pairs
    live = [k for k in range(1, nk) if Kf[k] > 0]
    W = np.diag(1.0 / Kf[live])
    cons.append(W @ sig[live] <= 1.0 - SHRINK)
    prob = cp.Problem(cp.Maximize(Kf[0] - sig[0] + gain), cons)
    with warnings.catch_warnings():
        # Reason: cvxpy warns "Solution may be inaccurate" at these tight tolerances; the solver's
        # answer is only a suggestion, everything below is re-checked exactly.
        warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
        prob.solve(solver=solver, **SOLVER_OPTIONS.get(solver, {}))
    if a.value is None:
        raise RuntimeError(f"signfree_bound({M}, {d}, {D}): solver status {prob.status}")
    solver_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()

    # ---- exact certification ----
    def fr(x) -> Fraction:
        return max(Fraction(float(x)), Fraction(0))

    blocks = []
    for q, (i, j) in enumerate(pairs):
        aq, bq, cq = fr(a.value[q]), fr(b.value[q]), fr(c.value[q])
        if cq * cq > aq * bq:
            if bq > 0:
                aq = cq * cq / bq
            else:
                cq = Fraction(0)
        if aq or bq or cq:
            blocks.append((i, j, aq, bq, cq))
    diagonal = []
    if diag:
        for q, i in enumerate(diag):
            eq = fr(e.value[q])
            if eq:
                diagonal.append((i, eq))
    sigma = [Fraction(0)] * nk
    gain_q = Fraction(0)
    for i, j, aq, bq, cq in blocks:
        for k, x in enumerate(T[(i, i)]):
            sigma[k] += aq * x
        for k, x in enumerate(T[(j, j)]):
            sigma[k] += bq * x
        for k, x in enumerate(T[(i, j)]):
            sigma[k] += 2 * cq * x
        gain_q += (aq + 2 * cq + bq) / min(M, N[i] + N[j])
    for i, eq in diagonal:
        for k, x in enumerate(T[(i, i)]):
            sigma[k] += eq * x
        gain_q += eq / min(M, N[i])
    lam = Fraction(1)
    for k in range(1, nk):
        if sigma[k] > Klo[k]:
            lam = min(lam, Klo[k] / sigma[k])  # Klo[k] >= 0 exactly (K_k >= 0); odd k >= 3 have sigma_k = 0
    if lam < 1:
        blocks = [(i, j, lam * aq, lam * bq, lam * cq) for i, j, aq, bq, cq in blocks]
        diagonal = [(i, lam * eq) for i, eq in diagonal]
        sigma = [lam * x for x in sigma]
        gain_q *= lam
    # exact re-checks of everything the lemma needs
    for i, j, aq, bq, cq in blocks:
        if min(aq, bq, cq) < 0 or aq * bq < cq * cq:
            raise RuntimeError("signfree_bound: a block is not nonnegative PSD after rounding")  # pragma: no cover
    for k in range(1, nk):
        if sigma[k] > Klo[k]:
            raise RuntimeError(f"signfree_bound: sigma_{k} > K_{k} after scaling")  # pragma: no cover
        if k % 2 == 1 and k >= 3 and sigma[k] != 0:
            raise RuntimeError("signfree_bound: odd coefficient above 1")  # pragma: no cover
    A_q = Klo[0] - sigma[0] + gain_q  # Klo[0] <= K_0, so A_q is a lower bound of the true A
    ver = Verification(
        method="exact PSD and coefficient checks",
        seconds=time.perf_counter() - t1,
        notes=(f"{len(blocks)} blocks, {len(diagonal)} single squares, scale {float(lam):.12g}, solver status {prob.status}",),
    )
    return SignFreeBound(
        M=M, d=d, degree=D, A=A_q, A64=float(prob.value), blocks=tuple(blocks), diagonal=tuple(diagonal), scale=lam,
        sigma=tuple(sigma), summary=(A_q, lam, sigma[0], gain_q), solver_seconds=solver_seconds, verification=ver,
    )
