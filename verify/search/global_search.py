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

The restarts run as one batch (docs/search.md): a limited-memory BFGS (Nocedal and Wright,
Numerical Optimization, 2nd ed., Algorithm 7.4) with per-restart histories stored as arrays and a
backtracking Armijo line search done for all restarts at once, down to gradient norm 1e-9 (below
that the float64 values of f no longer resolve a step's decrease) or 600 iterations; then damped
saddle-free Newton steps for all restarts at once with the analytic Hessian of f (the Schur
complement of the (b, V) Hessian of L~, `ReducedSimplified.hessian`), on the product of unit
spheres; then, where the float64 gradient stalls above the tolerance, Newton steps on the
extended-precision gradient. A restart counts as converged when its gradient norm (evaluated in
extended precision) reaches `gtol` (1e-12 by default). Each distinct minimum gets the smallest
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
from threadpoolctl import threadpool_limits

from verify.errors import InputError
from verify.kernels.derivatives import relu_pair, relu_pair_hessians
from verify.kernels.relu import relu_dK64_acos, relu_K64_acos
from verify.model.simplified import PINV_CUTOFF, SimplifiedProblem

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
    (the tests compare it with `SimplifiedProblem.loss` and `.grad` at b = b*(V)); arccos G is
    formed once and gives both K and K'.

    `value_grad(V, extended=True)` evaluates f and its gradient in the platform's extended
    precision (numpy longdouble: 64-bit significand on x86-64, eps = 1.1e-19), with beta from
    iterative refinement of the float64 solve (residuals in extended precision): the float64
    gradient stalls at ~1e-11..1e-10 when K(G) is ill-conditioned (||mu|| / s >= 2, M >= 8), the
    extended one ~2000 times lower. `hessian(V)` is the analytic Hessian of f in V (the Schur
    complement of the (b, V) Hessian of L~ at b = b*(V); see `hessian`).
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
        self._consts = {dt: self._constants(dt) for dt in (np.float64, np.longdouble)}

    def _constants(self, dt):
        """(pi, m, r, mu_hat, abar, T) in dtype dt (pi and the roots formed in dt)."""
        one = dt(1)
        pi = np.arccos(-one)
        m = np.sqrt(np.sum(np.asarray(self.problem.mu, dtype=dt) ** 2))
        r = np.sqrt(m * m + dt(self.problem.s) ** 2)
        mu_hat = np.asarray(self.problem.mu, dtype=dt) / m if m > 0 else np.zeros(self.problem.d, dtype=dt)
        abar = dt(self.problem.abar)
        rho = m / r
        T = abar * abar * r * r * relu_K64_acos(rho * rho, pi)
        return pi, m, r, mu_hat, abar, T

    @staticmethod
    def _pinv(K64):
        """(Q, inv): K^+ = Q diag(inv) Q^T, eigenvalues below PINV_CUTOFF of the largest dropped; batched."""
        lam, Q = np.linalg.eigh(K64)
        keep = lam > PINV_CUTOFF * lam[..., -1:]
        return Q, np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)

    @staticmethod
    def _apply(Q, inv, rhs):
        return (Q @ (inv * (np.swapaxes(Q, -1, -2) @ rhs[..., None])[..., 0])[..., None])[..., 0]

    def _parts(self, V, extended: bool = False):
        dt = np.longdouble if extended else np.float64
        pi, m, r, mu_hat, abar, _ = self._consts[dt]
        V = np.asarray(V, dtype=dt)
        nv = np.sqrt(np.einsum("...jd,...jd->...j", V, V))
        theta = V / nv[..., None]
        G = np.clip(theta @ np.swapaxes(theta, -1, -2), -1.0, 1.0)
        A = np.arccos(G)
        KG = relu_K64_acos(G, pi, A)
        M = V.shape[-2]
        idx = np.arange(M)
        KG[..., idx, idx] = 0.5
        t = theta @ mu_hat
        c = abar * r * relu_K64_acos(m * t / r, pi)
        Q, inv = self._pinv(np.asarray(KG, dtype=float))
        beta = self._apply(Q, inv, np.asarray(c, dtype=float))
        if extended:  # iterative refinement: residuals in extended precision, corrections in float64
            beta = beta.astype(dt)
            for _ in range(3):
                res = c - (KG @ beta[..., None])[..., 0]
                beta = beta + self._apply(Q, inv, res.astype(float))
        return nv, theta, G, A, t, c, beta, (pi, m, r, mu_hat, abar)

    def optimal_b(self, V: np.ndarray) -> np.ndarray:
        nv, *_, beta, _ = self._parts(np.asarray(V, dtype=float))
        return beta / nv

    def value_grad(self, V: np.ndarray, extended: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(f, grad_V f, b*) for V of shape (..., M, d); in extended precision if asked (module doc)."""
        nv, theta, G, A, t, c, beta, (pi, m, r, mu_hat, abar) = self._parts(V, extended)
        T = self._consts[np.longdouble][5] if extended else self.T
        f = T - np.einsum("...j,...j->...", c, beta)
        Kp = relu_dK64_acos(pi=pi, acos=A)
        M = theta.shape[-2]
        idx = np.arange(M)
        Kp[..., idx, idx] = 0.0
        w = beta[..., :, None] * Kp * beta[..., None, :]  # beta_j K'(G_jk) beta_k, k != j
        gth = 2.0 * (w @ theta)
        # -2 beta abar m K'(m t / r), K' written out: its association (the products first, then / (2 pi))
        # differs from relu_dK64_acos's, and the recorded search figures depend on these bits.
        a_mu = -2.0 * beta * abar * m * (pi - np.arccos(np.clip(m * t / r, -1, 1))) / (2 * pi)
        gth += a_mu[..., None] * mu_hat
        gth -= np.einsum("...jd,...jd->...j", gth, theta)[..., None] * theta
        return f, gth / nv[..., None], beta / nv

    def hessian(self, V: np.ndarray) -> np.ndarray:
        r"""The analytic Hessian of f in V (shape (..., M d, M d), float64).

        f(V) = L~(b*(V), V) with L~ quadratic in b, so f'' = L_VV - L_Vb L_bb^+ L_bV at b = b*(V)
        (differentiate grad f(V) = L_V(b*(V), V) with db*/dV = -L_bb^+ L_bV). The blocks are those of
        `SimplifiedProblem.hessian` (the pair derivatives of `verify.kernels.derivatives`),
        vectorized over the batch and the neuron pairs.
        """
        V = np.asarray(V, dtype=float)
        M, d = V.shape[-2], V.shape[-1]
        batch = V.shape[:-2]
        b = self.optimal_b(V)
        p = self.problem
        Vt = np.concatenate([V, np.zeros(batch + (M, 1))], axis=-1)
        U = np.broadcast_to(p.u, Vt.shape)
        pU = relu_pair(U, Vt)
        gU = pU[1]  # g(u, v_j), (..., M, d+1)
        HyyU, _ = relu_pair_hessians(U, Vt, pU)
        X = np.broadcast_to(V[..., :, None, :], batch + (M, M, d))  # x = v_k
        Y = np.broadcast_to(V[..., None, :, :], X.shape)  # y = v_j
        pXY = relu_pair(X, Y)
        Kkj, gKV = pXY[0], pXY[1]
        Hyy, Hyx = relu_pair_hessians(X, Y, pXY)  # [..., k, j]
        off = ~np.eye(M, dtype=bool)
        bo = b[..., :, None] * off  # b_k, zero on k == j
        inner_g = np.einsum("...kj,...kjd->...jd", bo, gKV) - p.abar * gU[..., :d]
        inner_H = np.einsum("...kj,...kjde->...jde", bo, Hyy) - p.abar * HyyU[..., :d, :d]
        Hbb = 2.0 * Kkj
        Hbb[..., np.arange(M), np.arange(M)] = np.einsum("...jd,...jd->...j", V, V)
        # L_{b_k, v_j} = 2 b_j g(v_k, v_j) (k != j); 2 inner_g_j + 2 b_j v_j (k == j)
        HbV = 2.0 * b[..., None, :, None] * gKV * off[..., None]
        jj = np.arange(M)
        HbV[..., jj, jj, :] = 2.0 * inner_g + 2.0 * b[..., None] * V
        HbV = HbV.reshape(batch + (M, M * d))
        # L_{v_j, v_k} = 2 b_j b_k H_yx(v_k, v_j) (k != j); 2 b_j inner_H_j + b_j^2 I (k == j)
        HVV = 2.0 * (b[..., None, :] * b[..., :, None])[..., None, None] * Hyx * off[..., None, None]
        HVV[..., jj, jj, :, :] = 2.0 * b[..., None, None] * inner_H + (b * b)[..., None, None] * np.eye(d)
        HVV = np.swapaxes(HVV, -4, -3)  # [..., j, k] blocks: row v_j, column v_k (H_yx(v_k, v_j) at [k, j])
        HVV = np.swapaxes(HVV, -3, -2).reshape(batch + (M * d, M * d))
        Q, inv = self._pinv(Hbb)
        W = np.swapaxes(Q, -1, -2) @ HbV  # (..., M, M d)
        H = HVV - np.swapaxes(W, -1, -2) @ (inv[..., :, None] * W)
        return 0.5 * (H + np.swapaxes(H, -1, -2))

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


def batched_newton(fun, X0: np.ndarray, gnorm, hess, *, gtol: float = 1e-12, steps: int = 100, cutoff: float = 1e-10,
                   retract=None, fun_hp=None, hp_steps: int = 4, progress=None) -> dict:
    """Damped saddle-free Newton steps for every row at once, with the analytic Hessian
    hess(X) -> (R, n, n): the step -Q (|Lambda| + kappa |g|)^{-1} Q^T g (|Lambda| as in
    Dauphin et al., NIPS 2014, a descent direction at saddles too; the Levenberg-Marquardt term
    kappa |g| bounds the step by 1 / kappa and vanishes at the minimum, so the convergence stays
    superlinear). Eigenvalues below `cutoff` times the largest in modulus (symmetry zero modes)
    are dropped. A step length 1, 1/2, ..., 1/256 is accepted when f decreases by more than its
    float64 noise, or when f stays within that noise and the gradient norm decreases (near a
    minimum the values no longer resolve a step's decrease, the gradient still does); kappa is
    divided by 4 after an accepted step and multiplied by 16 after a rejected one. `retract`
    maps a stepped point back to the feasible set (here: unit directions). Rows stop at gnorm <=
    gtol, after `steps` iterations, or when kappa exceeds 1e8 (nothing acceptable).

    fun_hp (optional): the gradient in higher precision, fun_hp(X) -> (f, g). Rows still above gtol
    then get up to `hp_steps` Newton steps on it (same float64 Hessian, point kept in float64: the
    minimum is representable to ~1e-16 relative, only the float64 gradient's rounding stops the
    float iteration), and every row's final `gnorm` is the high-precision one."""
    X = np.array(X0, dtype=float)
    R = X.shape[0]
    f, g = fun(X)
    gn = gnorm(X, g)
    eps = np.finfo(float).eps
    active = gn > gtol
    its = np.zeros(R, dtype=int)
    kappa = np.ones(R)

    def direction(rows, grad, damping=None):
        H = hess(X[rows])
        lam, Q = np.linalg.eigh(H)
        keep = np.abs(lam) > cutoff * np.abs(lam).max(axis=1, keepdims=True)
        shift = 0.0 if damping is None else damping[:, None]
        inv = np.where(keep, 1.0 / np.where(keep, np.abs(lam) + shift, 1.0), 0.0)
        return -(Q @ (inv * (np.swapaxes(Q, 1, 2) @ grad[..., None])[..., 0])[..., None])[..., 0]

    for it in range(steps):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        if progress is not None and it % 10 == 0:
            progress(f"Newton iteration {it}: {rows.size} of {R} rows above gradient norm {gtol:g}")
        p = direction(rows, g[rows], kappa[rows] * gn[rows])
        alpha = np.ones(rows.size)
        todo = np.arange(rows.size)
        moved = np.zeros(rows.size, dtype=bool)
        for _ in range(9):
            if todo.size == 0:
                break
            rt = rows[todo]
            Xt = X[rt] + alpha[todo, None] * p[todo]
            if retract is not None:
                Xt = retract(Xt)
            ft, gt = fun(Xt)
            gnt = gnorm(Xt, gt)
            noise = 8 * eps * np.maximum(np.abs(f[rt]), 1e-300)
            ok = (ft < f[rt] - noise) | ((ft <= f[rt] + noise) & (gnt < gn[rt]))
            acc = rt[ok]
            X[acc], f[acc], g[acc], gn[acc] = Xt[ok], ft[ok], gt[ok], gnt[ok]
            moved[todo[ok]] = True
            todo = todo[~ok]
            alpha[todo] *= 0.5
        its[rows[moved]] += 1
        kappa[rows[moved]] = np.maximum(kappa[rows[moved]] / 4, 1e-8)
        kappa[rows[~moved]] *= 16
        active[rows] &= (gn[rows] > gtol) & (kappa[rows] <= 1e8)
    if fun_hp is not None:
        _, ghp = fun_hp(X)
        gn_hp = gnorm(X, ghp.astype(float))
        rows = np.flatnonzero(gn_hp > gtol)
        for _ in range(hp_steps):
            if rows.size == 0:
                break
            Xt = X[rows] + direction(rows, ghp[rows].astype(float))
            if retract is not None:
                Xt = retract(Xt)
            _, gt = fun_hp(Xt)
            gnt = gnorm(Xt, gt.astype(float))
            better = gnt < gn_hp[rows]
            rb = rows[better]
            X[rb], ghp[rb], gn_hp[rb] = Xt[better], gt[better], gnt[better]
            rows = rb[gn_hp[rb] > gtol]
        f, g = fun(X)
        gn = gn_hp
    return {"x": X, "f": f, "gnorm": gn, "newton_iterations": its}


# --------------------------------------------------------------------------------------------
# invariants, deduplication, polish
# --------------------------------------------------------------------------------------------


def invariants(b: np.ndarray, V: np.ndarray, mu: np.ndarray, norms: bool = False) -> np.ndarray:
    """Permutation- and rotation-invariant description of one configuration (see module doc);
    norms: also the sorted ||v_j|| (for activations that are not positively homogeneous)."""
    nv = np.linalg.norm(V, axis=1)
    theta = V / np.where(nv > 0, nv, 1.0)[:, None]
    beta = b * nv
    G = theta @ theta.T
    iu = np.triu_indices(len(b), 1)
    parts = [np.sort(beta), np.linalg.eigvalsh(G), np.sort(G[iu])]
    if norms:
        parts.append(np.sort(nv))
    mn = float(np.linalg.norm(mu))
    if mn > 0:
        parts.append(np.sort(theta @ (mu / mn)))
    return np.concatenate(parts)


def group_minima(f: np.ndarray, mask: np.ndarray, inv, *, rel: float, inv_tol: float) -> list[list[int]]:
    """Group the rows in `mask` modulo symmetry, lowest f first: a row joins the first group whose
    first member has f within rel * max(1e-3, |f|) and invariants inv(i) within inv_tol (max norm).
    Returns the groups as lists of row indices, each in the order the rows joined."""
    groups: list[list[int]] = []
    reps: list[np.ndarray] = []
    for i in np.flatnonzero(mask)[np.argsort(f[mask], kind="stable")]:
        vec = inv(i)
        for gidx, rep in enumerate(reps):
            j = groups[gidx][0]
            if abs(f[i] - f[j]) <= rel * max(1e-3, abs(f[j])) and np.max(np.abs(vec - rep)) <= inv_tol:
                groups[gidx].append(int(i))
                break
        else:
            groups.append([int(i)])
            reps.append(vec)
    return groups


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
                      maxiter: int = 600, batch: int = 1000, dedup_rel: float = 1e-9, hp_dps: int = 30,
                      progress=None) -> SearchResult:
    """Global search of L~ over (b, V) with M neurons: `restarts` random starts (directions uniform on
    the sphere, numpy default_rng(seed)), batched L-BFGS (at most `maxiter` iterations) then
    Newton with the analytic Hessian and the extended-precision polish on the directions, dedup
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

    def fun_hp(X):
        f, gV, _ = red.value_grad(X.reshape(-1, M, d), extended=True)
        return f, gV.reshape(-1, n)

    def gnorm(X, g):
        return red.sphere_grad_norm(X.reshape(-1, M, d), g.reshape(-1, M, d))

    def retract(X):
        V = X.reshape(-1, M, d)
        return (V / np.linalg.norm(V, axis=2, keepdims=True)).reshape(-1, n)

    def hess(X):
        # On the product of unit spheres (X is kept there by `retract`) the Riemannian Hessian of
        # the 0-homogeneous f is P H P, P the projection off each theta_j (theta_j^T grad_j = 0).
        V = X.reshape(-1, M, d)
        H = red.hessian(V).reshape(-1, M, d, M, d)
        P = np.eye(d) - V[..., :, None] * V[..., None, :]  # (R, M, d, d)
        H = np.einsum("rjab,rjbkc->rjakc", P, H)
        H = np.einsum("rjakc,rkdc->rjakd", H, P)
        return H.reshape(-1, n, n)

    V0 = random_directions(restarts, M, d, seed).reshape(restarts, n)
    outs = []
    # One BLAS thread: the batched linear algebra is on tiny matrices, where OpenBLAS's worker
    # threads only cost (a batched eigh of many 110 x 110 matrices is far slower on two busy cores than on one).
    with threadpool_limits(1):
        for s0 in range(0, restarts, batch):
            if progress is not None:
                progress(f"restarts {s0 + 1}-{min(s0 + batch, restarts)} of {restarts}")
            o = batched_lbfgs(fun, V0[s0:s0 + batch], gnorm, gtol=max(gtol, LBFGS_FLOOR), maxiter=maxiter,
                              progress=progress)
            o.update(batched_newton(fun, retract(o["x"]), gnorm, hess, gtol=gtol, retract=retract, fun_hp=fun_hp,
                                    progress=progress))
            outs.append(o)
    X = np.zeros((restarts, M, d_full))
    X[:, :, :d] = np.concatenate([o["x"] for o in outs]).reshape(restarts, M, d)
    problem = full_problem
    f = np.concatenate([o["f"] for o in outs])
    gn = np.concatenate([o["gnorm"] for o in outs])
    b = ReducedSimplified(problem).optimal_b(X)
    conv = gn <= gtol
    groups = group_minima(f, conv, lambda i: invariants(b[i], X[i], problem.mu), rel=dedup_rel, inv_tol=1e-5)
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
