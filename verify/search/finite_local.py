r"""Local minimization of the exact finite-N loss L_N for ReLU (MATH.md section 3).

`ReluFiniteObjective` is L_N(b, V) for one target as a function of z = (b, vec V), with value,
gradient and analytic Hessian computed from the N x M cross terms only (the target term
u^T K_WW u is passed in once). `minimize_finite` runs rounds of L-BFGS-B, Levenberg-Marquardt
steps with the Hessian, and a negative-curvature step when an end point is a saddle.
The library paths `verify.model.loss` / `loss_and_grad_relu` are the reference: callers
re-evaluate reported values with them (this twin is a few times faster for repeated calls:
no thread-pool dispatch, one BLAS thread).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from verify.errors import InputError
from verify.kernels.relu import relu_a64, relu_dK64_atan2, relu_K64_atan2, relu_sin64
from verify.model.networks import TwoLayerNetwork
from verify.model.simplified import SimplifiedProblem

TWO_PI = 2.0 * math.pi
MAXCOR = 100  # L-BFGS memory: 100 pairs cut the iterations ~2x against 30 (n = M (d + 1) <= ~800)
ZERO_MODE = 1e-11  # |eigenvalue| below this fraction of the largest: an exact zero mode
NEG_CURV = 1e-10  # eigenvalues below -NEG_CURV * largest: negative curvature (a saddle)


# --------------------------------------------------------------------------------------------
# L_N for one target, as a function of z = (b, vec V): value, gradient and Hessian (ReLU)
# --------------------------------------------------------------------------------------------


class ReluFiniteObjective:
    r"""L_N(b, V) = T - 2 sum_j b_j h_j + b^T K_VV b for one ReLU target, T given.

    h_j = sum_i u_i k(w_i, v_j) (u = a / N). With rho_ij the cosine between w_i and v_j,
    a_ij = sqrt(1 - rho^2) / (2 pi), K'_ij = (pi - arccos rho) / (2 pi) (verify.kernels.derivatives):

        dL/db_j   = 2 (K_VV b - h)_j,
        dL/dv_j   = 2 b_j (sum_k b_k g(v_k, v_j) - sum_i u_i g(w_i, v_j)),  g(x, y) = ||x|| a y_hat + K' x,
        the target part of d2L/dv_j dv_j = -2 b_j sum_i u_i H_yy(w_i, v_j),
        H_yy(x, y) = (||x|| / ||y||) a (I - y_hat y_hat^T + e e^T),  e = (x_hat - rho y_hat) / sqrt(1 - rho^2),
        the target part of d2L/db_j dv_j = -2 sum_i u_i g(w_i, v_j).

    Every other Hessian block involves the compressed network only and is that of b^T K_VV b,
    which is the Hessian of L~ with abar = 0 (`SimplifiedProblem.hessian`). Each evaluation costs
    O(N M d) (two matrix products with W); the Hessian O(N M d^2). Variables z = (b, v_1, ..., v_M);
    the loss is not differentiable where some v_j = 0.
    """

    def __init__(self, target: TwoLayerNetwork, target_term: float):
        if target.activation.name != "relu":
            raise InputError("the finite-N local minimizer is implemented for relu")
        self.W = np.ascontiguousarray(target.inner)
        self.u = np.ascontiguousarray(target.effective_weights)
        self.T = float(target_term)
        self.nw = np.sqrt(np.einsum("ij,ij->i", self.W, self.W))
        self.uW = self.u[:, None] * self.W
        self.d = self.W.shape[1]
        self.evaluations = 0

    def split(self, z: np.ndarray, M: int) -> tuple[np.ndarray, np.ndarray]:
        return z[:M], z[M:].reshape(M, self.d)

    def _angles(self, V: np.ndarray):
        nv = np.sqrt(np.einsum("jd,jd->j", V, V))
        vh = V / nv[:, None]
        rho = np.clip((self.W @ vh.T) / np.where(self.nw > 0, self.nw, 1.0)[:, None], -1.0, 1.0)
        sn = relu_sin64(rho, factored=True)
        Kp = relu_dK64_atan2(rho, sn)
        return nv, vh, rho, sn, Kp

    @staticmethod
    def _self_part(b, V, nv, vh):
        rv = np.clip(vh @ vh.T, -1.0, 1.0)
        snv = relu_sin64(rv, factored=True)
        Pv = relu_dK64_atan2(rv, snv)
        Kvv = relu_K64_atan2(rv, relu_a64(snv), Pv) * np.outer(nv, nv)
        # sum_k b_k g(v_k, v_j): the k = j term is v_j / 2 (rho = 1), as it should be
        from_self = (b @ (snv * nv[:, None]) / TWO_PI)[:, None] * vh + (Pv * b[:, None]).T @ V
        return Kvv, from_self

    def value_grad(self, z: np.ndarray, M: int) -> tuple[float, np.ndarray]:
        self.evaluations += 1
        b, V = self.split(z, M)
        nv, vh, rho, sn, Kp = self._angles(V)
        Kn = relu_K64_atan2(rho, relu_a64(sn), Kp) * self.nw[:, None]  # k(w_i, v_hat_j)
        h = (self.u @ Kn) * nv
        Kvv, from_self = self._self_part(b, V, nv, vh)
        L = self.T - 2.0 * float(b @ h) + float(b @ Kvv @ b)
        from_target = ((self.u * self.nw) @ sn / TWO_PI)[:, None] * vh + Kp.T @ self.uW
        gb = 2.0 * (Kvv @ b - h)
        gV = 2.0 * b[:, None] * (from_self - from_target)
        return L, np.concatenate([gb, gV.ravel()])

    def hessian(self, z: np.ndarray, M: int) -> np.ndarray:
        b, V = self.split(z, M)
        d = self.d
        H = SimplifiedProblem(np.zeros(d), 1.0, 0.0).hessian(b, V)  # b^T K_VV b part
        nv, vh, rho, sn, Kp = self._angles(V)
        un = self.u * self.nw
        What = self.W / np.where(self.nw > 0, self.nw, 1.0)[:, None]
        for j in range(M):
            aj = relu_a64(sn[:, j])
            g_t = float(un @ aj) * vh[j] + Kp[:, j] @ self.uW
            # sum_i u_i ||w_i|| a_ij e_ij e_ij^T with e = (w_hat - rho v_hat) / sin:
            # weights u_i ||w_i|| / (2 pi sin_ij) on the unnormalized differences
            safe = sn[:, j] > 0
            wts = np.where(safe, un / (TWO_PI * np.where(safe, sn[:, j], 1.0)), 0.0)
            A = What - rho[:, j, None] * vh[j][None, :]
            EE = A.T @ (wts[:, None] * A)
            P = np.eye(d) - np.outer(vh[j], vh[j])
            Hyy = (float(un @ aj) * P + EE) / nv[j]
            sl = slice(M + j * d, M + (j + 1) * d)
            H[j, sl] -= 2.0 * g_t
            H[sl, j] -= 2.0 * g_t
            H[sl, sl] -= 2.0 * b[j] * Hyy
        return 0.5 * (H + H.T)


# --------------------------------------------------------------------------------------------
# The minimizer
# --------------------------------------------------------------------------------------------


def _lm_polish(obj, z, M, fun, *, newton_gtol, max_newton):
    """Levenberg-Marquardt steps on the eigen-decomposition of the analytic Hessian (see
    `minimize_finite`); returns (z, L, g, |g|, iterations)."""
    L, g = fun(z)
    gn = float(np.linalg.norm(g))
    noise = 64 * np.finfo(float).eps * max(1.0, abs(obj.T))
    damp, its = None, 0
    while its < max_newton and gn > newton_gtol:
        its += 1
        lam, Q = np.linalg.eigh(obj.hessian(z, M))
        keep = np.abs(lam) > ZERO_MODE * np.abs(lam).max()
        lam, Q = np.abs(lam[keep]), Q[:, keep]
        gq = Q.T @ g
        damp = lam.min() * 1e-3 if damp is None else damp
        accepted = False
        for _ in range(40):
            z2 = z - Q @ (gq / (lam + damp))
            L2, g2 = fun(z2)
            gn2 = float(np.linalg.norm(g2))
            if L2 < L - noise or (L2 <= L + noise and gn2 < gn):
                z, L, g, gn, accepted = z2, L2, g2, gn2, True
                damp /= 10.0
                break
            damp *= 10.0
        if not accepted:
            break
    return z, L, g, gn, its


def curvature(obj: ReluFiniteObjective, z: np.ndarray, M: int) -> tuple[float, float, float, np.ndarray]:
    """(smallest eigenvalue, smallest positive eigenvalue, largest |eigenvalue|, eigenvector of
    the smallest) of the Hessian, the exact zero modes of ReLU's homogeneity ((b_j, v_j) -> (c b_j, v_j / c);
    |lam| <= ZERO_MODE of the largest) left out. With gradient norm g and smallest eigenvalue
    lam > 0, the quadratic model puts L_N within g^2 / (2 lam) of the local minimum's value."""
    lam, Q = np.linalg.eigh(obj.hessian(z, M))
    top = float(np.abs(lam).max())
    keep = np.abs(lam) > ZERO_MODE * top
    lam, Q = lam[keep], Q[:, keep]
    pos = lam[lam > 0]
    return float(lam[0]), float(pos.min()) if pos.size else math.nan, top, Q[:, 0]


def minimize_finite(obj: ReluFiniteObjective, b0: np.ndarray, V0: np.ndarray, *, gtol: float = 1e-9,
                    lbfgs_gtol: float | None = None, newton_gtol: float = 1e-13, max_newton: int = 30,
                    max_rounds: int = 3) -> dict:
    """Minimize L_N from (b0, V0): rounds of L-BFGS-B, damped Newton, and a negative-curvature step.

    Each round: L-BFGS-B (memory MAXCOR) to gradient norm lbfgs_gtol (default gtol) or until L_N
    stops falling in float64 (ftol = 0: L-BFGS keeps following the long, shallow valleys along
    the rotations about mu, where L_N changes by ~1e-8 over O(1) rotations at d = 256, N = 10^4);
    then Levenberg-Marquardt on the eigen-decomposition H = Q diag(lam) Q^T of the analytic
    Hessian: the step
    -Q diag(1 / (|lam| + damping)) Q^T g, damping divided by 10 after an accepted step and
    multiplied by 10 after a rejected one. Damping shrinks only the directions of small curvature
    (near-flat: L_N is almost invariant under the rotations that fix mu), which a plain Newton
    step overshoots; the exact zero modes of ReLU's homogeneity are dropped. A step is accepted
    when it lowers L_N, or, once L_N changes by less than its rounding, when it lowers the
    gradient norm without raising it. If the end point has a negative Hessian eigenvalue below
    -NEG_CURV of the largest (a saddle of this very flat landscape: seen at d = 256), a line
    search along that eigenvector (t = 1e-3, 2e-3, ... while L_N falls, |t| <= 1) starts the next
    round. Returns the end point, L_N there (the optimizer's twin), the gradient norm, the
    smallest Hessian eigenvalues and iteration counts.
    """
    M = b0.size
    z = np.concatenate([b0, V0.ravel()])
    fun = lambda x: obj.value_grad(x, M)  # noqa: E731
    lbfgs_gtol = gtol if lbfgs_gtol is None else lbfgs_gtol
    lbfgs_its = newton_its = rounds = 0
    for rounds in range(1, max_rounds + 1):
        res = optimize.minimize(fun, z, jac=True, method="L-BFGS-B",
                                options={"maxcor": MAXCOR, "gtol": lbfgs_gtol, "ftol": 0.0, "maxiter": 30000, "maxfun": 60000})
        lbfgs_its += int(res.nit)
        z, L, g, gn, its = _lm_polish(obj, res.x, M, fun, newton_gtol=newton_gtol, max_newton=max_newton)
        newton_its += its
        lam0, lam_pos, lam_max, v = curvature(obj, z, M)
        if lam0 >= -NEG_CURV * lam_max or rounds == max_rounds:
            break
        v = -v if v @ g > 0 else v
        best_t, best_L, t = 0.0, L, 1e-3
        while t <= 1.0:
            Lt, _ = fun(z + t * v)
            if Lt >= best_L:
                break
            best_t, best_L, t = t, Lt, 2.0 * t
        if best_t == 0.0:
            break
        z = z + best_t * v
    second_order = lam0 >= -NEG_CURV * lam_max
    return {"z": z, "L": L, "grad_norm": gn, "lam_min": lam0, "lam_min_positive": lam_pos, "lam_max": lam_max,
            "second_order": second_order, "lbfgs_iterations": lbfgs_its, "newton_iterations": newton_its,
            "rounds": rounds, "converged": gn <= gtol and second_order}


# --------------------------------------------------------------------------------------------
# One instance, and the per-d mean-field references
# --------------------------------------------------------------------------------------------


