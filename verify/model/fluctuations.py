r"""The fluctuation constant tau^2 of L_N around L_inf (MATH.md section 4), for gaussian xi.

    sqrt(N) (L_N - L_inf) -> N(0, tau^2),   tau^2 = 4 Var_{a,w}[a (F(w) - G(w))],
    F(w) = C_inf(w)  (= abar E_w' k(w, w')),   G(w) = sum_j b_j k(||w||^2, ||v_j||^2, <w, v_j>).

With a independent of w, E a^2 = abar^2 + var_a and h = F - G:

    tau^2 = 4 [ (abar^2 + var_a) Var_w h + var_a (E_w h)^2 ],
    Var_w h = Var F - 2 sum_j b_j Cov(F, k_j) + sum_{j,l} b_j b_l Cov(k_j, k_l),   k_j(w) = k(w, v_j).

Each variance and covariance involves w only through its projection on span(mu_hat, v_j, v_l)
(at most 3 dimensions) and the squared norm of the rest: with w = mu + tau xi, tau = s / sqrt(d),
and an orthonormal basis Q of that span,

    w_S = Q^T mu + tau z,  z ~ N(0, I_p),   ||w||^2 = ||w_S||^2 + tau^2 R,   R ~ chi^2_(d - p).

z is integrated by tensor Gauss-Hermite (probabilists'), R by the trapezoidal rule in the
log-variable of `verify.model.meanfield.rules` (accurate for any d). Covariances are formed as
E[(X - E X)(Y - E Y)] with the means from the same rule, so the rule's own cancellation is
exact. F(w) depends on w only through alpha = <w, mu_hat> and beta = ||w - alpha mu_hat||
(through ||w|| alone when mu = 0); for positively homogeneous sigma of degree k it is
||w||^k Psi(cos(w, mu)), and Psi is interpolated in the cosine on the range the rules visit,
otherwise C_inf is interpolated on the (alpha, beta) box (Chebyshev points, barycentric formula:
Berrut and Trefethen, SIAM Review 46, 2004). The interpolation error is measured halfway between
nodes and reported. The integrands are analytic where the rules put weight when tau is small against
||w|| (d not too small); for small d the rule is checked by refinement (`refine`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.errors import InputError
from verify.kernels import kernel
from verify.model.meanfield import MeanFieldProblem
from verify.model.meanfield.rules import TAIL64, chi2_trap


@dataclass(frozen=True)
class Tau2:
    """tau^2 and its parts; `interpolation_error` bounds |F_interp - C_inf| at test points."""

    tau2: float
    var_h: float
    mean_h: float
    var_F: float
    interpolation_error: float
    nodes: int


def _gauss_hermite(n: int):
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / w.sum()


def _cheb_points(lo: float, hi: float, n: int) -> np.ndarray:
    k = np.arange(n)
    return 0.5 * (lo + hi) + 0.5 * (hi - lo) * np.cos(np.pi * k / (n - 1))[::-1]


def _bary_matrix(x_nodes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Rows of the barycentric interpolation matrix at points x (second-kind Chebyshev nodes)."""
    n = x_nodes.size
    wts = np.ones(n)
    wts[1::2] = -1.0
    wts[0] *= 0.5
    wts[-1] *= 0.5
    diff = x[:, None] - x_nodes[None, :]
    exact = diff == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = wts / diff
    L = t / t.sum(axis=1, keepdims=True)
    hit = exact.any(axis=1)
    if np.any(hit):
        L[hit] = exact[hit].astype(float)
    return L


class _FInterp:
    """F(w) = C_inf(w) as a function of alpha = <w, mu_hat> and beta = ||w - alpha mu_hat||.

    Positively homogeneous sigma of degree k: F(w) = ||w||^k Psi(c), c = alpha / ||w||, and Psi
    (a smooth function of the cosine) is interpolated in one variable on [c_min, c_max].
    Otherwise: tensor interpolation in (alpha, beta). With mu = 0, F depends on ||w|| only.
    """

    def __init__(self, problem: MeanFieldProblem, alphas: np.ndarray, betas: np.ndarray, n: int):
        self.problem = problem
        d = problem.d
        self.mu_hat = problem.mu / problem.mu_norm if problem.mu_norm > 0 else None
        self.e_perp = self._perp(d)
        self.degree = problem.activation.degree
        if self.degree is not None:
            nw = np.hypot(alphas, betas)
            c = np.where(nw > 0, alphas / np.where(nw > 0, nw, 1.0), 0.0)
            lo, hi = (float(c.min()), float(c.max())) if self.mu_hat is not None else (0.0, 0.0)
            pad = 1e-12
            self.c_nodes = _cheb_points(max(lo - pad, -1.0), min(hi + pad, 1.0), 2 * n) if hi > lo else np.array([lo])
            self.values = self._direct(self.c_nodes, np.sqrt(1.0 - self.c_nodes**2))
        else:
            pad = 1e-9 * max(1.0, float(betas.max()))
            self.a_nodes = (_cheb_points(float(alphas.min()) - pad, float(alphas.max()) + pad, n)
                            if self.mu_hat is not None else np.zeros(1))
            self.b_nodes = _cheb_points(max(float(betas.min()) - pad, 0.0), float(betas.max()) + pad, n)
            A, B = np.meshgrid(self.a_nodes, self.b_nodes, indexing="ij")
            self.values = self._direct(A.ravel(), B.ravel()).reshape(A.shape)

    def _perp(self, d):
        e = np.zeros(d)
        if self.mu_hat is None:
            e[0] = 1.0
            return e
        i = int(np.argmin(np.abs(self.mu_hat)))
        e[i] = 1.0
        e -= (e @ self.mu_hat) * self.mu_hat
        return e / np.linalg.norm(e)

    def _direct(self, alpha, beta):
        base = 0.0 if self.mu_hat is None else self.mu_hat[None, :] * np.asarray(alpha)[:, None]
        W = base + np.asarray(beta)[:, None] * self.e_perp[None, :]
        return np.asarray(self.problem.C_inf(W), dtype=float).reshape(-1)

    def __call__(self, alpha, beta):
        alpha, beta = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
        if self.degree is not None:
            nw = np.hypot(alpha, beta)
            c = np.where(nw > 0, alpha / np.where(nw > 0, nw, 1.0), 0.0)
            psi = _bary_matrix(self.c_nodes, c) @ self.values if self.c_nodes.size > 1 else np.full(c.shape, self.values[0])
            return nw**self.degree * psi
        Lb = _bary_matrix(self.b_nodes, beta)
        if self.mu_hat is None:
            return Lb @ self.values[0]
        La = _bary_matrix(self.a_nodes, alpha)
        return np.einsum("ni,ij,nj->n", La, self.values, Lb)

    def error_estimate(self) -> float:
        """max |interpolant - C_inf| at points halfway between neighbouring interpolation nodes."""
        if self.degree is not None:
            if self.c_nodes.size < 2:
                return 0.0
            c = 0.5 * (self.c_nodes[:-1] + self.c_nodes[1:])
            a, b = c, np.sqrt(1.0 - c * c)
        else:
            amid = 0.5 * (self.a_nodes[:-1] + self.a_nodes[1:]) if self.a_nodes.size > 1 else self.a_nodes
            bmid = 0.5 * (self.b_nodes[:-1] + self.b_nodes[1:])
            rng = np.random.default_rng(0)
            a = amid[rng.integers(0, amid.size, 2 * bmid.size)]
            b = bmid[rng.integers(0, bmid.size, 2 * bmid.size)]
        return float(np.max(np.abs(self(a, b) - self._direct(a, b))))


def _basis(vectors: list[np.ndarray], d: int, tol: float = 1e-12) -> np.ndarray:
    """Orthonormal basis (d x p) of the span of the nonzero vectors, by QR with a rank cut (d x 0
    when there are none: mu = 0 and the constant term)."""
    vs = [v for v in vectors if np.linalg.norm(v) > 0]
    if not vs:
        return np.zeros((d, 0))
    A = np.stack(vs, axis=1)
    Q, R = np.linalg.qr(A)
    keep = np.abs(np.diag(R)) > tol * max(1.0, np.abs(R).max())
    return Q[:, keep]


def _rule(problem: MeanFieldProblem, Q: np.ndarray, n_gauss: int, h_chi: float):
    """Nodes (w_S coordinates, R) and weights of the product rule for the span Q."""
    p = Q.shape[1]
    z1, w1 = _gauss_hermite(n_gauss)
    grids = np.meshgrid(*([z1] * p), indexing="ij") if p else []
    Z = np.stack([g.ravel() for g in grids], axis=1) if p else np.zeros((1, 0))
    WZ = np.ones(Z.shape[0])
    if p:
        wg = np.meshgrid(*([w1] * p), indexing="ij")
        WZ = np.prod(np.stack([g.ravel() for g in wg], axis=1), axis=1)
    R, WR = chi2_trap(problem.d - p, h_chi, TAIL64)
    W = WZ[:, None] * WR[None, :]
    # Drop product nodes that weigh less than 1e-22 of the largest: they change nothing in float64
    # and would only widen the box on which F is interpolated.
    iz, ir = np.nonzero(W > 1e-22 * W.max())
    WS = Q.T @ problem.mu + problem.tau * Z[iz]  # (n, p)
    return WS, R[ir], W[iz, ir] / W[iz, ir].sum()


def tau2(problem: MeanFieldProblem, b, V, *, n_gauss: int = 24, n_cheb: int = 24, refine: int = 1) -> Tau2:
    """tau^2(b, V) for the mean-field problem (gaussian xi) and the compressed network (b, V)."""
    b, V = problem._bV(b, V)
    if problem.activation.k64 is None:
        raise InputError("tau^2 needs a closed-form kernel for G(w)")
    act = problem.activation
    M = V.shape[0]
    n_gauss = int(n_gauss * refine)
    h_chi = 0.35 / refine
    mu_hat = problem.mu / problem.mu_norm if problem.mu_norm > 0 else None
    base = [mu_hat] if mu_hat is not None else []

    # The rules, one per term, and the (alpha, beta) box they visit.
    rules = {}
    keys = [()] + [(j,) for j in range(M)] + [(j, l) for j in range(M) for l in range(j, M)]
    for key in keys:
        Q = _basis(base + [V[j] for j in key], problem.d)
        WS, R, W = _rule(problem, Q, n_gauss, h_chi)
        nw2 = np.sum(WS * WS, axis=1) + problem.tau**2 * R  # ||w||^2 at each node
        alpha = WS @ (Q.T @ mu_hat) if mu_hat is not None else np.zeros_like(nw2)
        beta = np.sqrt(np.maximum(nw2 - alpha**2, 0.0))
        dots = {j: WS @ (Q.T @ V[j]) for j in key}
        rules[key] = (nw2, alpha, beta, dots, W)
    # F is needed where the rules visit (F enters the rules of () and (j,) only).
    visited = [rules[k] for k in keys if len(k) <= 1]
    F = _FInterp(problem, np.concatenate([r[1] for r in visited]), np.concatenate([r[2] for r in visited]), n_cheb)
    qv = np.einsum("jd,jd->j", V, V)

    def k_j(rule, j):
        nw2, _, _, dots, _ = rule
        c = np.clip(dots[j], -np.sqrt(nw2 * qv[j]), np.sqrt(nw2 * qv[j]))
        return kernel(act, nw2, qv[j], c)

    def mean(x, W):
        return float(np.sum(W * x))

    def cov(x, y, W):
        return float(np.sum(W * (x - mean(x, W)) * (y - mean(y, W))))

    nw2, alpha, beta, _, W = rules[()]
    Fv = F(alpha, beta)
    var_F = cov(Fv, Fv, W)
    mean_h = mean(Fv, W)
    var_h = var_F
    for j in range(M):
        rule = rules[(j,)]
        Fj = F(rule[1], rule[2])
        kj = k_j(rule, j)
        mean_h -= b[j] * mean(kj, rule[4])
        var_h -= 2 * b[j] * cov(Fj, kj, rule[4])
    for j in range(M):
        for l in range(j, M):
            rule = rules[(j, l)]
            c = cov(k_j(rule, j), k_j(rule, l), rule[4])
            var_h += (1 if j == l else 2) * b[j] * b[l] * c
    abar2 = problem.abar**2
    t2 = 4.0 * ((abar2 + problem.var_a) * var_h + problem.var_a * mean_h**2)
    nodes = sum(r[4].size for r in rules.values())
    return Tau2(t2, var_h, mean_h, var_F, F.error_estimate(), nodes)
