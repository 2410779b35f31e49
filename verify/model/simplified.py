r"""The simplified objective L~ (MATH.md section 5): the paper's "simplified problem".

As d -> infinity with mu, s, b, V fixed, f_N is replaced by f~(x) = abar E_zeta sigma(<mu, x> + s zeta):

    L~(b, V) = abar^2 k(r^2, r^2, ||mu||^2) - 2 abar sum_j b_j k(r^2, ||v_j||^2, <mu, v_j>)
               + sum_{j,k} b_j b_k k(||v_j||^2, ||v_k||^2, <v_j, v_k>),      r^2 = ||mu||^2 + s^2.

The cross term is that of a one-neuron network with weight abar and input weight u = (mu, s) in
R^(d+1) (zeta as an extra input coordinate) against the compressed neurons (v_j, 0); the target
term differs from that network's, abar^2 k(r^2, r^2, r^2), because zeta is averaged inside f~
(independent zeta, zeta' give the covariance ||mu||^2). The gradient and Hessian for ReLU use
this view and the pair derivatives of `verify.kernels.derivatives`:

    dL/db_j   = 2 (sum_k K_jk b_k - abar C_j),   C_j = k(u, v_j),  K_jk = k(v_j, v_k)
    dL/dv_j   = 2 b_j (sum_{k != j} b_k g(v_k, v_j) - abar g(u, v_j)) + b_j^2 v_j,  g = grad_y k
    d2L/db_j db_k = 2 K_jk
    d2L/db_j dv_m = 2 b_m g(v_j, v_m)                     (m != j)
                  = 2 (sum_{k != j} b_k g(v_k, v_j) - abar g(u, v_j)) + 2 b_j v_j   (m = j)
    d2L/dv_j dv_j = 2 b_j (sum_{k != j} b_k H_yy(v_k, v_j) - abar H_yy(u, v_j)) + b_j^2 I
    d2L/dv_j dv_m = 2 b_j b_m H_yx(v_m, v_j)               (m != j)

(only the first d coordinates of the (d+1)-vectors enter). Variables are ordered
z = (b_1..b_M, v_1, ..., v_M). Other closed-form activations get L~ in float64 and mpmath and
derivatives by high-precision numerical differentiation of the mpmath path.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from verify.errors import InputError, finite_number
from verify.kernels import Activation, get_activation, kernel, kernel_mp
from verify.kernels.derivatives import relu_pair, relu_pair_hessians


PINV_CUTOFF = 1e-13


def check_target(mu, s, abar) -> tuple[np.ndarray, float, float]:
    """The target parameters of L~ checked once for every form of it: mu a finite non-empty vector,
    s > 0 and abar finite (InputError otherwise); returns (mu as a float array, s, abar)."""
    mu = np.asarray(mu, dtype=float)
    if mu.ndim != 1 or mu.size == 0 or not np.all(np.isfinite(mu)):
        raise InputError("mu must be a finite non-empty vector")
    return mu, finite_number("s", s, lo=0.0, strict=True), finite_number("abar", abar)

@dataclass(frozen=True)
class SimplifiedProblem:
    """L~ for the target parameters (abar, mu, s) and an activation with a closed-form kernel."""

    mu: np.ndarray
    s: float
    abar: float = 1.0
    activation: Activation | str = "relu"

    def __post_init__(self):
        mu, s, abar = check_target(self.mu, self.s, self.abar)
        object.__setattr__(self, "s", s)
        object.__setattr__(self, "abar", abar)
        act = get_activation(self.activation)
        if act.k64 is None:
            raise InputError(f"L~ needs a closed-form kernel; {act.label} has none")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "activation", act)

    @property
    def d(self) -> int:
        return self.mu.size

    @property
    def r2(self) -> float:
        return float(self.mu @ self.mu + self.s * self.s)

    @property
    def u(self) -> np.ndarray:
        """The target as one neuron in R^(d+1): (mu, s)."""
        return np.append(self.mu, self.s)

    def _check(self, b, V):
        b = np.asarray(b, dtype=float)
        V = np.asarray(V, dtype=float)
        if V.shape[-1] != self.d or V.shape[:-1] != b.shape or b.ndim < 1:
            raise InputError(f"b must have shape (..., M) and V (..., M, {self.d}); got {b.shape} and {V.shape}")
        if not (np.all(np.isfinite(b)) and np.all(np.isfinite(V))):
            raise InputError("b and V must be finite")
        return b, V

    def target_term(self) -> float:
        r2 = self.r2
        return float(self.abar**2 * kernel(self.activation, r2, r2, float(self.mu @ self.mu)))

    def loss(self, b, V) -> np.ndarray | float:
        """L~(b, V) in float64; leading batch axes of b (..., M) and V (..., M, d) broadcast."""
        b, V = self._check(b, V)
        act = self.activation
        q = np.einsum("...jd,...jd->...j", V, V)
        cross = kernel(act, self.r2, q, V @ self.mu)
        G = np.einsum("...jd,...kd->...jk", V, V)
        p = np.sqrt(q[..., :, None] * q[..., None, :])
        K = kernel(act, q[..., :, None], q[..., None, :], np.clip(G, -p, p))  # clip: Gram rounding
        out = self.target_term() - 2 * self.abar * np.sum(b * cross, axis=-1) + np.einsum("...j,...jk,...k->...", b, K, b)
        return out[()] if np.ndim(out) == 0 else out

    def loss_mp(self, b, V, dps: int = 30) -> mpmath.mpf:
        """L~ at `dps` digits, every inner product formed exactly from the float inputs."""
        b, V = self._check(b, V)
        if b.ndim != 1:
            raise InputError("loss_mp takes one configuration")
        act = self.activation
        with mpmath.workdps(dps + 15):
            mu = [mpmath.mpf(float(x)) for x in self.mu]
            Vm = [[mpmath.mpf(float(x)) for x in row] for row in V]
            bm = [mpmath.mpf(float(x)) for x in b]
            abar, s = mpmath.mpf(self.abar), mpmath.mpf(self.s)
            dot = lambda x, y: mpmath.fsum(p * q for p, q in zip(x, y))  # noqa: E731
            mu2 = dot(mu, mu)
            r2 = mu2 + s * s

            def k(q1, q2, c):
                return kernel_mp(act, q1, q2, c, dps + 10).value

            total = abar**2 * k(r2, r2, mu2)
            q = [dot(v, v) for v in Vm]
            for j in range(len(Vm)):
                total -= 2 * abar * bm[j] * k(r2, q[j], dot(mu, Vm[j]))
                for m in range(len(Vm)):
                    total += bm[j] * bm[m] * k(q[j], q[m], dot(Vm[j], Vm[m]))
        with mpmath.workdps(dps):
            return +total

    # ---- derivatives ----------------------------------------------------------------------

    def _require_relu(self):
        if self.activation.name != "relu":
            raise InputError("analytic derivatives are implemented for relu; use method='mp-diff'")

    def grad(self, b, V, *, method: str = "analytic"):
        """(dL/db, dL/dV); analytic for ReLU (batched), else by mpmath differentiation (one config)."""
        b, V = self._check(b, V)
        if method == "mp-diff":
            return self._grad_mp_diff(b, V)
        self._require_relu()
        M, d = V.shape[-2], V.shape[-1]
        u = self.u
        Vt = np.concatenate([V, np.zeros(V.shape[:-1] + (1,))], axis=-1)  # (..., M, d+1)
        U = np.broadcast_to(u, Vt.shape)
        Cj, gU, *_ = relu_pair(U, Vt)  # k(u, v_j), grad wrt v_j
        X = np.broadcast_to(Vt[..., :, None, :], Vt.shape[:-2] + (M, M, d + 1))  # x = v_k (axis -3)
        Y = np.broadcast_to(Vt[..., None, :, :], X.shape)  # y = v_j
        Kkj, gKV, *_ = relu_pair(X, Y)  # [..., k, j]; the diagonal k(v, v) = ||v||^2 / 2 comes out exactly
        eye = np.eye(M, dtype=bool)
        grad_b = 2.0 * (np.einsum("...kj,...k->...j", Kkj, b) - self.abar * Cj)
        off = np.where(eye[..., None], 0.0, gKV)  # drop k == j
        inner = np.einsum("...k,...kjd->...jd", b, off) - self.abar * gU
        grad_V = 2.0 * b[..., None] * inner[..., :d] + (b * b)[..., None] * V
        return grad_b, grad_V

    def hessian(self, b, V, *, method: str = "analytic") -> np.ndarray:
        """The (M + M d) x (M + M d) Hessian in z = (b, v_1, ..., v_M), for one configuration."""
        b, V = self._check(b, V)
        if b.ndim != 1:
            raise InputError("hessian takes one configuration")
        if method == "mp-diff":
            return self._hessian_mp_diff(b, V)
        self._require_relu()
        M, d = V.shape
        n = M + M * d
        H = np.zeros((n, n))
        Vt = np.hstack([V, np.zeros((M, 1))])
        u = self.u
        sl = lambda j: slice(M + j * d, M + (j + 1) * d)  # noqa: E731
        g_u = [relu_pair(u, Vt[j])[1][:d] for j in range(M)]
        Hyy_u = [relu_pair_hessians(u, Vt[j])[0][:d, :d] for j in range(M)]
        for j in range(M):
            for k in range(M):
                if j == k:
                    H[j, k] = float(Vt[j] @ Vt[j])  # 2 k(v, v) = ||v||^2
                else:
                    H[j, k] = 2.0 * relu_pair(Vt[j], Vt[k])[0]
        for j in range(M):
            inner_g = -self.abar * g_u[j]
            inner_H = -self.abar * Hyy_u[j]
            for k in range(M):
                if k == j:
                    continue
                g_kj = relu_pair(Vt[k], Vt[j])[1][:d]
                Hyy, Hyx = relu_pair_hessians(Vt[k], Vt[j])
                inner_g = inner_g + b[k] * g_kj
                inner_H = inner_H + b[k] * Hyy[:d, :d]
                # d2L/dv_j dv_k = 2 b_j b_k H_yx(v_k, v_j)
                H[sl(j), sl(k)] = 2.0 * b[j] * b[k] * Hyx[:d, :d]
                # d2L/db_k dv_j = 2 b_j g(v_k, v_j)
                H[k, sl(j)] = 2.0 * b[j] * g_kj
            H[j, sl(j)] = 2.0 * inner_g + 2.0 * b[j] * V[j]
            H[sl(j), sl(j)] = 2.0 * b[j] * inner_H + b[j] ** 2 * np.eye(d)
        # Fill the (v, b) blocks by symmetry.
        H[M:, :M] = H[:M, M:].T
        return H

    # ---- high-precision numerical derivatives (any closed-form activation) -------------------

    def _loss_mp_vector(self, z, M, d, dps):
        act = self.activation
        bm = list(z[:M])
        Vm = [list(z[M + j * d: M + (j + 1) * d]) for j in range(M)]
        mu = [mpmath.mpf(float(x)) for x in self.mu]
        abar, s = mpmath.mpf(self.abar), mpmath.mpf(self.s)
        dot = lambda x, y: mpmath.fsum(p * q for p, q in zip(x, y))  # noqa: E731
        mu2 = dot(mu, mu)
        r2 = mu2 + s * s
        k = act.k_mp
        total = abar**2 * k(r2, r2, mu2)
        q = [dot(v, v) for v in Vm]
        for j in range(M):
            total -= 2 * abar * bm[j] * k(r2, q[j], dot(mu, Vm[j]))
            for m in range(M):
                c = q[j] if m == j else dot(Vm[j], Vm[m])
                total += bm[j] * bm[m] * k(q[j], q[m], c)
        return total

    def _grad_mp_diff(self, b, V, dps: int = 40):
        M, d = V.shape
        z0 = [mpmath.mpf(float(x)) for x in np.concatenate([b, V.ravel()])]
        with mpmath.workdps(dps):
            g = []
            for i in range(len(z0)):
                def fi(t, i=i):
                    z = list(z0)
                    z[i] = t
                    return self._loss_mp_vector(z, M, d, dps)
                g.append(float(mpmath.diff(fi, z0[i])))
        g = np.array(g)
        return g[:M], g[M:].reshape(M, d)

    def _hessian_mp_diff(self, b, V, dps: int = 40):
        M, d = V.shape
        n = M + M * d
        z0 = [mpmath.mpf(float(x)) for x in np.concatenate([b, V.ravel()])]
        H = np.zeros((n, n))
        with mpmath.workdps(dps):
            for i in range(n):
                for j in range(i, n):
                    def fij(ti, tj, i=i, j=j):
                        z = list(z0)
                        z[i] = ti
                        if j != i:
                            z[j] = tj
                        return self._loss_mp_vector(z, M, d, dps)
                    if i == j:
                        val = mpmath.diff(lambda t: fij(t, t), z0[i], 2)
                    else:
                        val = mpmath.diff(fij, (z0[i], z0[j]), (1, 1))
                    H[i, j] = H[j, i] = float(val)
        return H


def simplified_problem(d: int, mu_norm: float, s: float, abar: float = 1.0, activation="relu") -> SimplifiedProblem:
    """L~ with mu = mu_norm e_1 in R^d."""
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise InputError(f"d must be a positive integer, got {d!r}")
    mu = np.zeros(d)
    mu[0] = mu_norm
    return SimplifiedProblem(mu, s, abar, activation)
