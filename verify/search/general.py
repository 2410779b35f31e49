"""The global search of L~ beyond ReLU (the objective and its ETF family are in
`verify.model.general`): random starts on the product of spheres (with log-norms boxed for
non-homogeneous activations), batched L-BFGS, a Newton polish, minima grouped modulo symmetry and
re-evaluated in mpmath."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from scipy.special import expit
import numpy as np

from verify.errors import InputError
from verify.errors import finite_number as _finite
from verify.errors import int_at_least as _int_at_least
from verify.model.general import GeneralProblem
from verify.search.global_search import batched_lbfgs, group_minima, invariants

# --------------------------------------------------------------------------------------------
# The global search
# --------------------------------------------------------------------------------------------


def general_invariants(b, V, mu, homogeneous: bool) -> np.ndarray:
    """`verify.search.global_search.invariants`, with the sorted norms when sigma is not
    positively homogeneous (then ||v_j|| matters, not only the direction)."""
    return invariants(b, V, mu, norms=not homogeneous)


@dataclass
class GeneralMinimum:
    """A distinct local minimum found (modulo symmetry)."""

    value: float
    b: np.ndarray
    V: np.ndarray
    grad_norm: float  # the stopping norm of `search_general` at the end point
    count: int
    norms: np.ndarray
    norm_spread: float  # (max - min) / mean of ||v_j|| (0 for homogeneous activations by convention)
    at_norm_bound: bool
    value_error: float  # float64 kernel error estimate of the value
    restart_ids: list = field(default_factory=list)


@dataclass
class GeneralSearchResult:
    minima: list
    restarts: int
    converged: int
    unconverged_best: float
    seconds: float
    seed: int
    gtol: float
    rho_bounds: tuple
    evaluations: int

    @property
    def best(self) -> GeneralMinimum:
        return self.minima[0]


def _newton_polish(fun, X0: np.ndarray, gnorm, *, steps: int = 4, h: float = 1e-6, cutoff: float = 1e-8) -> dict:
    """A few Newton steps for every row at once with the Hessian from central differences of the
    gradient (|eigenvalues|, those below `cutoff` times the largest dropped: the symmetry zero
    modes). A step is kept only where it lowers the stopping norm; this takes end points that
    L-BFGS left at the float64 floor of f (~1e-9 in gradient) further down."""
    X = np.array(X0, dtype=float)
    n = X.shape[1]
    f, g = fun(X)
    gn = gnorm(X, g)
    eye = np.eye(n)
    for c0 in range(0, X.shape[0], 128):
        rows = np.arange(c0, min(c0 + 128, X.shape[0]))
        Xr = X[rows]
        H = (fun((Xr[:, None, :] + h * eye).reshape(-1, n))[1]
             - fun((Xr[:, None, :] - h * eye).reshape(-1, n))[1]).reshape(rows.size, n, n) / (2 * h)
        lam, Q = np.linalg.eigh(0.5 * (H + np.swapaxes(H, 1, 2)))
        keep = np.abs(lam) > cutoff * np.abs(lam).max(axis=1, keepdims=True)
        inv = np.where(keep, 1.0 / np.where(keep, np.abs(lam), 1.0), 0.0)
        for _ in range(steps):
            X2 = X[rows] - np.einsum("rij,rj,rkj,rk->ri", Q, inv, Q, g[rows])
            f2, g2 = fun(X2)
            gn2 = gnorm(X2, g2)
            better = gn2 < gn[rows]
            if not np.any(better):
                break
            rb = rows[better]
            X[rb], f[rb], g[rb], gn[rb] = X2[better], f2[better], g2[better], gn2[better]
    return {"x": X, "f": f, "gnorm": gn}


def search_general(problem: GeneralProblem, M: int, *, restarts: int = 100, seed: int = 0, gtol: float = 1e-9,
                   rho_bounds: tuple[float, float] = (1e-2, 10.0), maxiter: int = 3000, dedup_rel: float = 1e-9,
                   progress=None) -> GeneralSearchResult:
    """Global search of f(V) = min_b L~(b, V) over V (M neurons), all restarts as one batch.

    Starts: directions uniform on the sphere, log-norms uniform on [log(r/3), log(2r)] clipped to
    rho_bounds (numpy default_rng(seed)). Variables per neuron: a direction w_j (v_j / ||v_j|| =
    w_j / ||w_j||) and, for non-homogeneous activations, u_j with log ||v_j|| = l_lo + (l_hi - l_lo)
    sigmoid(u_j), which keeps the norms inside rho_bounds (a smooth box). The batched L-BFGS of
    `verify.search.global_search` (Nocedal and Wright, Algorithm 7.4, histories per restart) runs to
    the stopping norm `gtol`: max over neurons of ||v_j|| |(I - theta_j theta_j^T) grad_{v_j} f|
    and |df/du_j| (a neuron pinned at a norm bound has df/du_j -> 0 there). Minima of the converged
    restarts are deduplicated by their value and `general_invariants`.

    rho_bounds are absolute norms; the upper bound is lowered to the Mehler path's `max_norm` where
    that is smaller (the result records the bounds used). Homogeneous activations optimize
    directions only (unit norms; b absorbs the scale).
    """
    from threadpoolctl import threadpool_limits


    M = _int_at_least("M", M, 1)
    restarts = _int_at_least("restarts", restarts, 1)
    gtol = _finite("gtol", gtol, lo=0.0, strict=True)
    t0 = time.perf_counter()
    d = problem.d
    hom = problem.pk.homogeneous
    lo, hi = (float(x) for x in rho_bounds)
    if not (0 < lo < hi):
        raise InputError("rho_bounds must satisfy 0 < rho_min < rho_max")
    hi = min(hi, problem.pk.max_norm)
    llo, lhi = math.log(lo), math.log(hi)
    span = lhi - llo
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((restarts, M, d))
    W0 /= np.linalg.norm(W0, axis=2, keepdims=True)
    L0 = np.clip(rng.uniform(math.log(problem.r / 3), math.log(2 * problem.r), (restarts, M)), llo + 1e-3 * span,
                 lhi - 1e-3 * span)
    P0 = (L0 - llo) / span
    U0 = np.log(P0 / (1 - P0))
    md = M * d
    count = [0]

    def unpack(X):
        W = X[:, :md].reshape(-1, M, d)
        nw = np.linalg.norm(W, axis=2)
        th = W / nw[..., None]
        if hom:
            return th, nw, np.ones(nw.shape), None
        sg = expit(X[:, md:])
        return th, nw, np.exp(llo + span * sg), sg

    def fun(X):
        count[0] += X.shape[0]
        th, nw, a, sg = unpack(X)
        f, g, _ = problem.value_grad(th * a[..., None])
        radial = np.einsum("rjd,rjd->rj", g, th)
        gw = (g - radial[..., None] * th) * (a / nw)[..., None]
        out = gw.reshape(-1, md)
        if not hom:
            out = np.concatenate([out, a * radial * span * sg * (1 - sg)], axis=1)
        return f, out

    def gnorm(X, G):
        nw = np.linalg.norm(X[:, :md].reshape(-1, M, d), axis=2)
        gw = np.abs(G[:, :md].reshape(-1, M, d)) * nw[..., None]
        out = gw.reshape(X.shape[0], md).max(axis=1, initial=0.0)
        if not hom:
            out = np.maximum(out, np.abs(G[:, md:]).max(axis=1, initial=0.0))
        return out

    X0 = W0.reshape(restarts, md) if hom else np.concatenate([W0.reshape(restarts, md), U0], axis=1)
    with threadpool_limits(limits=1, user_api="blas"):
        o = batched_lbfgs(fun, X0, gnorm, gtol=gtol, maxiter=maxiter, progress=progress)
        o.update(_newton_polish(fun, o["x"], gnorm))
    th, _, a, sg = unpack(o["x"])
    X = th * a[..., None]
    F = np.asarray(o["f"], dtype=float)
    GN = np.asarray(o["gnorm"], dtype=float)
    conv = GN <= gtol
    B = problem.optimal_b(X)
    groups = group_minima(F, conv, lambda i: general_invariants(B[i], X[i], problem.mu, hom), rel=dedup_rel, inv_tol=1e-4)
    minima = []
    for grp in groups:
        i = min(grp, key=lambda k: GN[k])
        nv = np.linalg.norm(X[i], axis=1)
        spread = 0.0 if hom else float((nv.max() - nv.min()) / nv.mean())
        atb = (not hom) and bool(np.any(sg[i] >= 1 - 1e-6) or np.any(sg[i] <= 1e-6))
        minima.append(GeneralMinimum(float(F[i]), B[i], X[i], float(GN[i]), len(grp), nv, spread, atb,
                                     problem.value_error(B[i], X[i]), grp))
    minima.sort(key=lambda mm: mm.value)
    unconv = float(np.min(F[~conv])) if np.any(~conv) else math.inf
    return GeneralSearchResult(minima, restarts, int(conv.sum()), unconv, time.perf_counter() - t0, seed, gtol,
                               (lo, hi), count[0])
