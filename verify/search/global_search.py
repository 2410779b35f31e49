r"""Global search of the simplified objective L~ (MATH.md sections 5 and 6): many restarts at once.

For fixed directions the best output weights solve a linear system (MATH.md section 6:
K(G) beta = abar r h), so the search runs over the directions only (variable projection):

    f(V) = min_b L~(b, V) = L~(b*(V), V),   K_VV b* = abar c,   c_j = k(r^2, ||v_j||^2, <mu, v_j>),

and by the envelope theorem grad f(V) = d L~ / d V at (b*(V), V) (the analytic ReLU gradient of
`SimplifiedProblem.grad`). f is invariant under v_j -> c v_j (c > 0), so its gradient is
orthogonal to each v_j, and the gradient on the product of unit spheres has norm
sqrt(sum_j ||v_j||^2 ||g_j||^2): that is the norm every stopping rule and report uses.
b* is computed through the eigen-decomposition of K_VV with eigenvalues below 1e-13 of the largest
dropped (coincident directions make K_VV singular; the minimum over b is then attained on an
affine set and f stays smooth in the remaining directions).

The restarts run as one batch: a limited-memory BFGS (Nocedal and Wright, Numerical
Optimization, 2nd ed., Algorithm 7.4) with per-restart histories stored as arrays and a
backtracking Armijo line search done for all restarts at once, down to gradient norm 1e-9 (below
that the float64 values of f no longer resolve a step's decrease); then Newton steps for all
restarts at once, with the Hessian from central differences of the analytic gradient (symmetry
zero modes dropped), which take the gradient norm to ~1e-15. A restart counts as converged when
its gradient norm reaches `gtol` (1e-12 by default). Each distinct minimum gets the smallest
eigenvalue of the analytic Hessian of L~ in (b, V) (zero modes dropped) and its value at 30
digits in mpmath; the value at a point with gradient norm g is within ~g^2 / (2 lambda_min) of
the exact local minimum, reported as `value_error`.

Minima are identified modulo symmetry (permutations of neurons, rotations fixing mu, and all
rotations when mu = 0) by invariants: the loss, the sorted weights beta_j = b_j ||v_j||, the
sorted tilts t_j = <theta_j, mu_hat> (mu != 0), and the sorted eigenvalues and entries of the
Gram matrix of the directions theta_j. Basin statistics count how many restarts reach each.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import mpmath
import numpy as np

from verify.errors import InputError
from verify.objectives.simplified import SimplifiedProblem

PINV_CUTOFF = 1e-13
LBFGS_FLOOR = 1e-9  # below this the float64 values of f no longer resolve the decrease of a step


@dataclass
class ReducedSimplified:
    """f(V) = min_b L~(b, V) for a ReLU `SimplifiedProblem`, batched over leading axes of V.

    With unit directions theta_j = v_j / ||v_j||, m = ||mu||, r^2 = m^2 + s^2, t_j = <theta_j, mu_hat>:
    c_j = abar r K(m t_j / r), the optimal weights solve K(G) beta = c (b_j = beta_j / ||v_j||) and
    f = T - c^T beta, T = abar^2 r^2 K(m^2 / r^2). By the envelope theorem (beta optimal) and
    K'(rho) = (pi - arccos rho) / (2 pi):

        df/dtheta_j = -2 beta_j abar m K'(m t_j / r) mu_hat + 2 beta_j sum_{k != j} beta_k K'(G_jk) theta_k,

    and grad_{v_j} f = (I - theta_j theta_j^T) df/dtheta_j / ||v_j||. One pass computes all of it
    (the tests compare it with `SimplifiedProblem.loss` and `.grad` at b = b*(V)).
    """

    problem: SimplifiedProblem

    def __post_init__(self):
        if self.problem.activation.name != "relu":
            raise InputError("the batched search uses the analytic ReLU gradient; activation must be relu")
        p = self.problem
        self.m = float(np.linalg.norm(p.mu))
        self.r = math.sqrt(p.r2)
        self.mu_hat = p.mu / self.m if self.m > 0 else np.zeros_like(p.mu)
        self.T = float(p.target_term())

    @staticmethod
    def _K(rho):
        rho = np.clip(rho, -1.0, 1.0)
        return (np.sqrt(1.0 - rho * rho) + (math.pi - np.arccos(rho)) * rho) / (2 * math.pi)

    def _parts(self, V):
        nv = np.sqrt(np.einsum("...jd,...jd->...j", V, V))
        theta = V / nv[..., None]
        G = np.clip(np.einsum("...jd,...kd->...jk", theta, theta), -1.0, 1.0)
        t = theta @ self.mu_hat
        KG = self._K(G)
        M = V.shape[-2]
        idx = np.arange(M)
        KG[..., idx, idx] = 0.5
        c = self.problem.abar * self.r * self._K(self.m * t / self.r)
        lam, Q = np.linalg.eigh(KG)
        keep = lam > PINV_CUTOFF * lam[..., -1:]
        inv = np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)
        beta = np.einsum("...jk,...k,...lk,...l->...j", Q, inv, Q, c)
        return nv, theta, G, t, c, beta

    def optimal_b(self, V: np.ndarray) -> np.ndarray:
        nv, _, _, _, _, beta = self._parts(np.asarray(V, dtype=float))
        return beta / nv

    def value_grad(self, V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(f, grad_V f, b*) for V of shape (..., M, d)."""
        V = np.asarray(V, dtype=float)
        nv, theta, G, t, c, beta = self._parts(V)
        f = self.T - np.einsum("...j,...j->...", c, beta)
        Kp = (math.pi - np.arccos(G)) / (2 * math.pi)
        M = V.shape[-2]
        idx = np.arange(M)
        Kp[..., idx, idx] = 0.0
        w = beta[..., :, None] * Kp * beta[..., None, :]  # beta_j K'(G_jk) beta_k, k != j
        gth = 2.0 * np.einsum("...jk,...kd->...jd", w, theta)
        a_mu = -2.0 * beta * self.problem.abar * self.m * (math.pi - np.arccos(np.clip(self.m * t / self.r, -1, 1))) / (2 * math.pi)
        gth += a_mu[..., None] * self.mu_hat
        gth -= np.einsum("...jd,...jd->...j", gth, theta)[..., None] * theta
        return f, gth / nv[..., None], beta / nv

    @staticmethod
    def sphere_grad_norm(V: np.ndarray, gV: np.ndarray) -> np.ndarray:
        nv2 = np.einsum("...jd,...jd->...j", V, V)
        return np.sqrt(np.einsum("...j,...j->...", nv2, np.einsum("...jd,...jd->...j", gV, gV)))


def batched_lbfgs(fun, X0: np.ndarray, gnorm, *, gtol: float = 1e-12, maxiter: int = 3000, memory: int = 20,
                  patience: int = 50, progress=None) -> dict:
    """Minimize each row of X0 (R, n): fun(X) -> (f (R,), g (R, n)) on the rows it is given,
    gnorm(X, g) -> (R,) the stopping norm. Returns x, f, gnorm, iterations, converged (per row).

    A restart stops when its norm reaches gtol, when no step of the line search (20 halvings)
    decreases f, or when f has not decreased by more than a few ulp in `patience` iterations
    (a kink: coincident or antipodal directions, where L~ is not twice differentiable)."""
    X = np.array(X0, dtype=float)
    R, n = X.shape
    f, g = fun(X)
    gn = gnorm(X, g)
    S = np.zeros((R, memory, n))
    Y = np.zeros((R, memory, n))
    rho = np.zeros((R, memory))
    count = np.zeros(R, dtype=int)  # pairs stored
    head = np.zeros(R, dtype=int)  # next slot
    its = np.zeros(R, dtype=int)
    active = gn > gtol
    stalled = np.zeros(R, dtype=bool)
    best_f = f.copy()
    last_gain = np.zeros(R, dtype=int)
    eps = np.finfo(float).eps
    for it in range(maxiter):
        idx = np.flatnonzero(active & ~stalled)
        if idx.size == 0:
            break
        if progress is not None and it % 100 == 0:
            progress(f"L-BFGS iteration {it}: {idx.size} of {R} restarts still running")
        gi = g[idx]
        # Two-loop recursion, vectorized over the active restarts (slots newest to oldest).
        qv = gi.copy()
        alphas = np.zeros((idx.size, memory))
        order = [(head[idx] - 1 - k) % memory for k in range(memory)]
        for k in range(memory):
            slot = order[k]
            valid = k < count[idx]
            s_k = S[idx, slot]
            y_k = Y[idx, slot]
            a = np.where(valid, rho[idx, slot] * np.einsum("ij,ij->i", s_k, qv), 0.0)
            alphas[:, k] = a
            qv -= a[:, None] * y_k
        newest = order[0]
        has = count[idx] > 0
        sy = np.einsum("ij,ij->i", S[idx, newest], Y[idx, newest])
        yy = np.einsum("ij,ij->i", Y[idx, newest], Y[idx, newest])
        gamma = np.where(has & (yy > 0), sy / np.where(yy > 0, yy, 1.0), 1.0 / np.maximum(np.linalg.norm(gi, axis=1), 1e-300))
        r = gamma[:, None] * qv
        for k in reversed(range(memory)):
            slot = order[k]
            valid = k < count[idx]
            b_ = np.where(valid, rho[idx, slot] * np.einsum("ij,ij->i", Y[idx, slot], r), 0.0)
            r += (alphas[:, k] - b_)[:, None] * S[idx, slot]
        p = -r
        slope = np.einsum("ij,ij->i", gi, p)
        bad = slope >= 0  # not a descent direction: reset to steepest descent
        if np.any(bad):
            p[bad] = -gi[bad] * gamma[bad, None]
            slope[bad] = np.einsum("ij,ij->i", gi[bad], p[bad])
            count[idx[bad]] = 0
        # Backtracking Armijo line search for all active restarts together.
        step = np.ones(idx.size)
        done = np.zeros(idx.size, dtype=bool)
        f_new = f[idx].copy()
        g_new = gi.copy()
        x_new = X[idx].copy()
        for _ in range(20):
            todo = np.flatnonzero(~done)
            if todo.size == 0:
                break
            xt = X[idx[todo]] + step[todo, None] * p[todo]
            ft, gt = fun(xt)
            tol = 1e-4 * step[todo] * slope[todo] + 8 * eps * np.abs(f[idx[todo]])
            ok = ft <= f[idx[todo]] + tol
            acc = todo[ok]
            f_new[acc], g_new[acc], x_new[acc] = ft[ok], gt[ok], xt[ok]
            done[acc] = True
            step[todo[~ok]] *= 0.5
        stalled[idx[~done]] = True  # no decrease representable: at the float64 floor
        acc = np.flatnonzero(done)
        ia = idx[acc]
        s_new = x_new[acc] - X[ia]
        y_new = g_new[acc] - g[ia]
        sy = np.einsum("ij,ij->i", s_new, y_new)
        store = sy > 1e-300
        slots = head[ia]
        S[ia[store], slots[store]] = s_new[store]
        Y[ia[store], slots[store]] = y_new[store]
        rho[ia[store], slots[store]] = 1.0 / sy[store]
        head[ia[store]] = (head[ia[store]] + 1) % memory
        count[ia[store]] = np.minimum(count[ia[store]] + 1, memory)
        X[ia], f[ia], g[ia] = x_new[acc], f_new[acc], g_new[acc]
        its[ia] += 1
        gn[ia] = gnorm(X[ia], g[ia])
        active[ia] = gn[ia] > gtol
        gained = f[ia] < best_f[ia] - 4 * eps * np.abs(best_f[ia])
        best_f[ia] = np.minimum(best_f[ia], f[ia])
        last_gain[ia] = np.where(gained, its[ia], last_gain[ia])
        stalled[ia] |= its[ia] - last_gain[ia] > patience
    return {"x": X, "f": f, "gnorm": gn, "iterations": its, "converged": gn <= gtol, "stalled": stalled & (gn > gtol)}


def batched_newton(fun, X0: np.ndarray, gnorm, *, steps: int = 4, h: float = 1e-6, cutoff: float = 1e-7) -> dict:
    """Newton steps for every row at once, with the Hessian by central differences of the analytic
    gradient (error ~h^2 |third derivative| + eps |g| / h, ~1e-11 relative here: Newton then
    contracts the gradient by about that factor per step). Eigenvalues below `cutoff` times the
    largest (the symmetry zero modes and their difference noise) are dropped. A step is kept only
    where it lowers the gradient norm; this takes the gradient below the L-BFGS floor (~1e-10,
    where the float64 values of f no longer resolve a decrease)."""
    X = np.array(X0, dtype=float)
    n = X.shape[1]
    f, g = fun(X)
    gn = gnorm(X, g)
    eye = np.eye(n)
    # One difference Hessian per row (at the L-BFGS end point), reused for every step: the
    # Hessian moves by O(|step|) ~ 1e-9 relative, far below the accuracy the steps need.
    todo = np.flatnonzero(gn > 0)
    for c0 in range(0, todo.size, 256):  # chunks bound the (rows x 2n x n) difference batch
        rows = todo[c0:c0 + 256]
        Xr = X[rows]
        P = (Xr[:, None, :] + h * eye[None]).reshape(-1, n)
        Mn = (Xr[:, None, :] - h * eye[None]).reshape(-1, n)
        H = (fun(P)[1] - fun(Mn)[1]).reshape(rows.size, n, n) / (2 * h)
        H = 0.5 * (H + np.swapaxes(H, 1, 2))
        lam, Q = np.linalg.eigh(H)
        keep = np.abs(lam) > cutoff * np.abs(lam).max(axis=1, keepdims=True)
        inv = np.where(keep, 1.0 / np.where(keep, np.abs(lam), 1.0), 0.0)
        for _ in range(steps):
            step = -np.einsum("rij,rj,rkj,rk->ri", Q, inv, Q, g[rows])
            X2 = X[rows] + step
            f2, g2 = fun(X2)
            gn2 = gnorm(X2, g2)
            better = gn2 < gn[rows]
            if not np.any(better):
                break
            rb = rows[better]
            X[rb], f[rb], g[rb], gn[rb] = X2[better], f2[better], g2[better], gn2[better]
    return {"x": X, "f": f, "gnorm": gn}


# --------------------------------------------------------------------------------------------
# invariants, deduplication, polish
# --------------------------------------------------------------------------------------------


def invariants(b: np.ndarray, V: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Permutation- and rotation-invariant description of one configuration (see module doc)."""
    nv = np.linalg.norm(V, axis=1)
    theta = V / np.where(nv > 0, nv, 1.0)[:, None]
    beta = b * nv
    G = theta @ theta.T
    iu = np.triu_indices(len(b), 1)
    parts = [np.sort(beta), np.linalg.eigvalsh(G), np.sort(G[iu])]
    mn = float(np.linalg.norm(mu))
    if mn > 0:
        parts.append(np.sort(theta @ (mu / mn)))
    return np.concatenate(parts)


@dataclass
class Minimum:
    """A distinct local minimum of L~ found by the search (modulo symmetry)."""

    loss: float
    loss_mp: str  # the polished point's value at 30 digits
    value_error: float  # bound ~ g^2 / (2 lambda_min) on |loss_mp - local minimum value|
    b: np.ndarray
    V: np.ndarray
    grad_norm: float  # on the product of spheres
    count: int  # restarts that reached it
    min_curvature: float  # smallest Hessian eigenvalue of L~ in (b, V) apart from symmetry zero modes
    restart_ids: list = field(default_factory=list)


@dataclass
class SearchResult:
    minima: list  # Minimum (converged restarts only), best first
    restarts: int
    converged: int  # restarts whose gradient norm reached gtol
    max_grad_norm: float  # over the converged restarts
    unconverged_best: float  # lowest loss among restarts that did not reach gtol (inf if none)
    seconds: float
    seed: int
    gtol: float

    @property
    def best(self) -> Minimum:
        return self.minima[0]

    def basin_table(self) -> list[tuple[float, int, float]]:
        """(loss, restarts, fraction of the converged restarts) per distinct minimum."""
        return [(m.loss, m.count, m.count / max(self.converged, 1)) for m in self.minima]


def curvature(problem: SimplifiedProblem, b: np.ndarray, V: np.ndarray) -> float:
    """Smallest eigenvalue of the analytic Hessian of L~ in (b, V) apart from the zero modes."""
    lam = np.linalg.eigvalsh(problem.hessian(b, V))
    keep = np.abs(lam) > 1e-9 * np.abs(lam).max()
    return float(lam[keep].min()) if np.any(keep) else math.nan


def random_directions(R: int, M: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((R, M, d))
    return V / np.linalg.norm(V, axis=2, keepdims=True)


def search_simplified(problem: SimplifiedProblem, M: int, *, restarts: int = 1000, seed: int = 0, gtol: float = 1e-12,
                      maxiter: int = 4000, batch: int = 1000, dedup_rel: float = 1e-9, hp_dps: int = 30,
                      progress=None) -> SearchResult:
    """Global search of L~ over (b, V) with M neurons: `restarts` random starts (directions uniform on
    the sphere, numpy default_rng(seed)), batched L-BFGS then Newton on the directions, dedup
    modulo symmetry among the restarts that reach gradient norm `gtol`, curvature and a
    `hp_dps`-digit value of each distinct minimum."""
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
        raise InputError(f"M must be a positive integer, got {M!r}")
    if isinstance(restarts, bool) or not isinstance(restarts, (int, np.integer)) or restarts < 1:
        raise InputError(f"restarts must be a positive integer, got {restarts!r}")
    t0 = time.perf_counter()
    # mu and the M directions span at most M + 1 dimensions (M when mu = 0); a rotation fixing mu
    # (a symmetry of L~) takes that span into the first coordinates (mu = ||mu|| e_1 is required),
    # so the search runs in d_eff = min(d, M + 1) dimensions and pads the result with zeros.
    d_full = problem.d
    mn = float(np.linalg.norm(problem.mu))
    if mn > 0 and np.any(problem.mu[1:] != 0):
        raise InputError("search_simplified expects mu = ||mu|| e_1")
    d = min(d_full, M + 1 if mn > 0 else M)
    full_problem = problem
    problem = SimplifiedProblem(problem.mu[:d], problem.s, problem.abar, problem.activation)
    red = ReducedSimplified(problem)
    n = M * d

    def fun(X):
        f, gV, _ = red.value_grad(X.reshape(-1, M, d))
        return f, gV.reshape(-1, n)

    def gnorm(X, g):
        return red.sphere_grad_norm(X.reshape(-1, M, d), g.reshape(-1, M, d))

    V0 = random_directions(restarts, M, d, seed).reshape(restarts, n)
    outs = []
    for s0 in range(0, restarts, batch):
        if progress is not None:
            progress(f"restarts {s0 + 1}-{min(s0 + batch, restarts)} of {restarts}")
        o = batched_lbfgs(fun, V0[s0:s0 + batch], gnorm, gtol=max(gtol, LBFGS_FLOOR), maxiter=maxiter)
        o.update(batched_newton(fun, o["x"], gnorm))
        outs.append(o)
    X = np.zeros((restarts, M, d_full))
    X[:, :, :d] = np.concatenate([o["x"] for o in outs]).reshape(restarts, M, d)
    problem = full_problem
    f = np.concatenate([o["f"] for o in outs])
    gn = np.concatenate([o["gnorm"] for o in outs])
    b = ReducedSimplified(problem).optimal_b(X)
    conv = gn <= gtol
    # Deduplicate modulo symmetry among converged restarts: by loss, then invariants.
    groups: list[list[int]] = []
    reps: list[np.ndarray] = []
    for i in np.flatnonzero(conv)[np.argsort(f[conv], kind="stable")]:
        inv = invariants(b[i], X[i], problem.mu)
        for gidx, rep in enumerate(reps):
            j = groups[gidx][0]
            if abs(f[i] - f[j]) <= dedup_rel * max(1e-3, abs(f[j])) and np.max(np.abs(inv - rep)) <= 1e-5:
                groups[gidx].append(int(i))
                break
        else:
            groups.append([int(i)])
            reps.append(inv)
    minima = []
    for grp in groups:
        i = min(grp, key=lambda k: gn[k])
        lam = curvature(problem, b[i], X[i])
        hp = problem.loss_mp(b[i], X[i], dps=hp_dps)
        err = gn[i] ** 2 / (2 * lam) if lam > 0 else math.inf
        minima.append(Minimum(float(f[i]), mpmath.nstr(hp, hp_dps), float(err), b[i], X[i], float(gn[i]), len(grp), lam, grp))
    minima.sort(key=lambda m: m.loss)
    unconv = float(np.min(f[~conv])) if np.any(~conv) else math.inf
    return SearchResult(minima, restarts, int(conv.sum()), float(np.max(gn[conv])) if np.any(conv) else math.inf,
                        unconv, time.perf_counter() - t0, seed, gtol)
