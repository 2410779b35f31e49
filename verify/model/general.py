r"""L~ beyond ReLU: the objective for a general activation and its tilted-ETF family.

Objective (MATH.md section 5). For any activation sigma, with f~(x) = abar E_zeta sigma(<mu, x> + s zeta),

    L~(b, V) = abar^2 k(r^2, r^2, ||mu||^2) - 2 abar sum_j b_j k(r^2, ||v_j||^2, <mu, v_j>)
               + sum_{j,l} b_j b_l k(||v_j||^2, ||v_l||^2, <v_j, v_l>),      r^2 = ||mu||^2 + s^2,

k(q1, q2, c) = E sigma(X) sigma(Y) the dual kernel of MATH.md section 2 (the same formula as
`verify.model.simplified`, whose docstring derives it). Here every kernel is written in the
norms a1 = sqrt(q1), a2 = sqrt(q2) and the cosine rho = c / (a1 a2), and each path below returns
k with its partial derivatives k_a1, k_a2, k_rho (Price's theorem, MATH.md section 2:
dk/dc = E sigma'(X) sigma'(Y), dk/dq1 = (1/2) E sigma''(X) sigma(Y)):

- two-slope activations sigma = A z + B |z| (relu, leaky_relu, abs, linear), positively
  homogeneous: k = a1 a2 kappa(rho), kappa(rho) = k(1, 1, rho) (the closed form of
  `verify.kernels`), kappa'(rho) = A^2 + B^2 (2/pi) arcsin(rho) (sigma' = A + B sign z and the
  sign kernel of MATH.md section 2). Only the directions matter (beta_j = b_j ||v_j||).
- gelu(z) = z Phi(z), a closed form derived here by Gaussian integration by parts. Write
  Phi(X) = P(U <= X), Phi(Y) = P(W <= Y) with U, W ~ N(0, 1) independent, A = X - U, B = Y - W;
  then k = E[X Y 1{A > 0} 1{B > 0}], and Stein's lemma E[X g] = sum Cov(X, .) E[d g] with the
  orthant probability 1/4 + arcsin(corr(A, B)) / (2 pi) (Sheppard) gives, with S_i = 1 + q_i and
  D = S1 S2 - c^2 = 1 + q1 + q2 + (q1 q2 - c^2) >= 1,

      k_gelu = c/4 + c arcsin(c / sqrt(S1 S2)) / (2 pi) + (q1 q2 - c^2 + c^2/S1 + c^2/S2) / (2 pi sqrt(D)),

  the GELU kernel of Tsuchida, Pearce, van der Heide, Roosta and Gallagher, "Avoiding kernel
  fixed points: computing with ELU and GELU infinite networks", AAAI 2021, in another form; as
  q1 = q2 -> infinity it tends to q K(rho), the ReLU kernel. No cancellation: D >= 1 and
  q1 q2 - c^2 = q1 q2 (1 - rho)(1 + rho). Checked against the suite's quadrature in
  tests/test_beyond.py (float64 and 30-digit mpmath).
- every other smooth activation (softplus, tanh, sigmoid, silu, erf, hermite): Mehler's formula
  (the dual-activation series of A. Daniely, R. Frostig and Y. Singer, "Toward deeper
  understanding of neural networks", NeurIPS 2016, section 4; O'Donnell, "Analysis of Boolean
  Functions", ch. 11) with the scale kept in the coefficients:

      k = sum_n C_n(a1) C_n(a2) rho^n,   C_n(a) = E sigma(a Z) h_n(Z),   h_n = He_n / sqrt(n!),

  and, from d/da [h_n(x/a) phi(x/a) / a] and the three-term recurrence of h_n,

      dC_n/da = (n C_n(a) + sqrt((n+1)(n+2)) C_{n+2}(a)) / a,   k_rho = sum_n n C_n C_n rho^(n-1),

  so no derivative of sigma is needed. The C_n come from an N-point Gauss-Hermite rule through the
  orthogonal matrix [sqrt(w_i) h_n(z_i)] (Golub-Welsch): for n < N the discrete coefficients
  satisfy Parseval exactly, so the neglected tail sum_{n >= n_use} C_n^2 is a computed number, and
  |truncation| <= sqrt(tail(a1) tail(a2)) (Cauchy-Schwarz). The tail grows with the norm a
  (softplus: analytic in a strip of half-width pi / a, so C_n ~ exp(-(pi/a) sqrt(2n)));
  `MehlerPair.max_norm` is the largest norm at which the tail stays below 1e-13 relative, and the
  search keeps norms below it. Float64 accuracy about 1e-14 absolute (tests/test_beyond.py).

The reduced objective f(V) = min_b L~(b, V) = T - c^T K^+ c (K b = abar c, the pseudo-inverse with
the cutoff of `verify.search.global_search`), gradient by the envelope theorem. The search
parametrizes v_j = exp(l_j) w_j / ||w_j|| with the log-norms l_j boxed (scipy L-BFGS-B, one run per
random start; the log-norms are dropped for homogeneous activations, where they do not matter).

The tilted-ETF family for a general activation: v_j = rho (alpha hat(mu) + sqrt(1 - alpha^2) e_j)
(`verify.model.etf.tilted_etf`), common norm rho and tilt alpha free; by the symmetry of the
family the best b is equal across neurons, b = c / D with c = abar k(r, rho, m alpha / r),
D = k(rho, rho, 1) + (M - 1) k(rho, rho, t(alpha)), t(alpha) = alpha^2 - (1 - alpha^2)/(M - 1), and

    f(rho, alpha) = T - M c^2 / D.

Every stationary point of f in (rho, alpha) is a stationary point of L~ (the family is the set of
configurations fixed by the symmetry group of the simplex acting on neurons and on hat(mu)-perp
together; principle of symmetric criticality, R. S. Palais, Comm. Math. Phys. 69, 1979).
For homogeneous activations f does not depend on rho. For the others the optimum may sit at the
norm bound (gelu tends to ReLU as rho -> infinity) or at alpha = 1 (all neurons on one ray): both
are reported, never hidden.

High precision: `reduced_value_mp` and `etf_family_value_mp` evaluate the same values in mpmath,
with the closed forms (two-slope: `verify.kernels.kernel_mp`; gelu: `gelu_kernel_mp`) or the
suite's mpmath quadrature (`verify.kernels.kernel_mp`, trapezoidal rule with its own error
control) - a path independent of the float64 Mehler series (MATH.md section 7: a float64
quadrature once produced a false counterexample here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np
from scipy.optimize import minimize, minimize_scalar

from verify.errors import InputError
from verify.errors import int_at_least as _int_at_least
from verify.kernels import Activation, get_activation
from verify.kernels.pairs import pair_kernel
from verify.model.simplified import PINV_CUTOFF, check_target

# --------------------------------------------------------------------------------------------
# The problem: L~, the reduced objective and its gradient
# --------------------------------------------------------------------------------------------


@dataclass
class GeneralProblem:
    """L~ for (abar, mu, s) and any activation with a pair-kernel path (`pair_kernel`)."""

    mu: np.ndarray
    s: float
    abar: float = 1.0
    activation: Activation | str = "relu"

    def __post_init__(self):
        mu, self.s, self.abar = check_target(self.mu, self.s, self.abar)
        self.mu = mu
        self.activation = get_activation(self.activation)
        self.pk = pair_kernel(self.activation)
        self.m = float(np.linalg.norm(mu))
        self.r = math.hypot(self.m, self.s)
        self.mu_hat = mu / self.m if self.m > 0 else np.zeros_like(mu)
        self.su = self.pk.prepare(np.array(self.r))
        self.T = float(self.abar**2 * self.pk.pair(self.su, self.su, np.array(self.m**2 / self.r**2))[0])

    @property
    def d(self) -> int:
        return self.mu.size

    def _check_V(self, V):
        V = np.asarray(V, dtype=float)
        if V.ndim < 2 or V.shape[-1] != self.d or not np.all(np.isfinite(V)):
            raise InputError(f"V must be a finite array of shape (..., M, {self.d})")
        if np.any(np.linalg.norm(V, axis=-1) == 0):
            raise InputError("every v_j must be non-zero")
        return V

    def _parts(self, V):
        pk = self.pk
        a = np.linalg.norm(V, axis=-1)
        th = V / a[..., None]
        t = th @ self.mu_hat
        G = np.clip(np.einsum("...jd,...kd->...jk", th, th), -1.0, 1.0)
        M = V.shape[-2]
        idx = np.arange(M)
        G[..., idx, idx] = 1.0
        sv = pk.prepare(a)
        rc = self.m * t / self.r
        cross = pk.pair(self.su, sv, rc)
        gram = pk.pair(sv[..., :, None, :], sv[..., None, :, :], G)
        c = self.abar * cross[0]
        lam, Q = np.linalg.eigh(gram[0])
        keep = lam > PINV_CUTOFF * np.abs(lam[..., -1:])
        inv = np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)
        b = np.einsum("...jk,...k,...lk,...l->...j", Q, inv, Q, c)
        return a, th, t, G, sv, cross, gram, c, b

    def loss(self, b, V):
        """L~(b, V) in float64 (leading batch axes broadcast)."""
        V = self._check_V(V)
        b = np.asarray(b, dtype=float)
        if b.shape != V.shape[:-1]:
            raise InputError(f"b must have shape {V.shape[:-1]}, got {b.shape}")
        _, _, _, _, _, cross, gram, _, _ = self._parts(V)
        out = self.T - 2 * self.abar * np.sum(b * cross[0], axis=-1) + np.einsum("...j,...jk,...k->...", b, gram[0], b)
        return out[()] if np.ndim(out) == 0 else out

    def optimal_b(self, V):
        return self._parts(self._check_V(V))[-1]

    def value_grad(self, V):
        """(f, grad_V f, b*) with f(V) = min_b L~(b, V); V of shape (..., M, d)."""
        V = self._check_V(V)
        a, th, t, G, _, cross, gram, c, b = self._parts(V)
        f = self.T - np.einsum("...j,...j->...", c, b)
        _, _, kc_a2, kc_rho = cross
        _, K_a1, _, K_rho = gram
        ai = a[..., None]
        g = (-2.0 * self.abar * b)[..., None] * (kc_a2[..., None] * th
                                                 + (kc_rho * self.m / self.r)[..., None] * (self.mu_hat - t[..., None] * th) / ai)
        W1 = b[..., :, None] * K_a1 * b[..., None, :]
        Wr = b[..., :, None] * K_rho * b[..., None, :]
        g += 2.0 * np.sum(W1, axis=-1)[..., None] * th
        g += 2.0 * (np.einsum("...jl,...ld->...jd", Wr, th) - np.sum(Wr * G, axis=-1)[..., None] * th) / ai
        return f, g, b

    def value_error(self, b, V) -> float:
        """An absolute error estimate of the float64 L~(b, V) (kernel errors weighted by |b|)."""
        V = self._check_V(V)
        pk = self.pk
        a = np.linalg.norm(V, axis=-1)
        sv = pk.prepare(a)
        e_t = float(pk.error(self.su, self.su))
        e_c = pk.error(self.su, sv)
        e_g = pk.error(sv[..., :, None, :], sv[..., None, :, :])
        ab = np.abs(b)
        eps = np.finfo(float).eps
        return float(self.abar**2 * e_t + 2 * abs(self.abar) * np.sum(ab * e_c) + ab @ e_g @ ab
                     + 16 * eps * (abs(self.T) + 2 * abs(self.abar) * np.sum(ab * np.abs(self._parts(V)[5][0])) + 1.0))

    # ---- high precision ------------------------------------------------------------------

    def _k_mp(self, q1, q2, c, dps):
        return self.pk.k_mp(q1, q2, c, dps)

    def reduced_value_mp(self, V, dps: int = 20) -> mpmath.mpf:
        """min_b L~(b, V) = T - abar^2 c^T K^{-1} c at `dps` digits (inner products formed in
        mpmath from the float entries of V and mu; K solved by mpmath's LU)."""
        V = self._check_V(V)
        if V.ndim != 2:
            raise InputError("reduced_value_mp takes one configuration (M, d)")
        with mpmath.workdps(dps + 10):
            mu = [mpmath.mpf(float(x)) for x in self.mu]
            Vm = [[mpmath.mpf(float(x)) for x in row] for row in V]

            def dot(x, y):
                return mpmath.fsum(p * q for p, q in zip(x, y))

            mu2 = dot(mu, mu)
            r2 = mu2 + mpmath.mpf(self.s) ** 2
            abar = mpmath.mpf(self.abar)
            T = abar**2 * self._k_mp(r2, r2, mu2, dps + 5)
            q = [dot(v, v) for v in Vm]
            M = len(Vm)
            c = mpmath.matrix([abar * self._k_mp(r2, q[j], dot(mu, Vm[j]), dps + 5) for j in range(M)])
            K = mpmath.matrix(M, M)
            for j in range(M):
                for k in range(j, M):
                    K[j, k] = K[k, j] = self._k_mp(q[j], q[k], q[j] if j == k else dot(Vm[j], Vm[k]), dps + 5)
            x = mpmath.lu_solve(K, c)
            out = T - sum(c[j] * x[j] for j in range(M))
        with mpmath.workdps(dps):
            return +out


# --------------------------------------------------------------------------------------------
# The tilted-ETF family
# --------------------------------------------------------------------------------------------


def _t_of(alpha, M):
    alpha = np.asarray(alpha, dtype=float)
    return np.clip(alpha * alpha - (1.0 - alpha * alpha) / (M - 1), -1.0, 1.0) if M > 1 else np.ones_like(alpha)


def etf_family_value(problem: GeneralProblem, M: int, rho, alpha):
    """(f, b) on the family: f = T - M c^2 / D, b = c / D (each neuron's output weight), float64,
    broadcasting over rho (common norm) and alpha (tilt)."""
    M = _int_at_least("M", M, 1)
    rho, alpha = np.broadcast_arrays(np.asarray(rho, dtype=float), np.asarray(alpha, dtype=float))
    if np.any(rho <= 0) or np.any(np.abs(alpha) > 1):
        raise InputError("rho must be > 0 and alpha in [-1, 1]")
    pk = problem.pk
    sv = pk.prepare(rho)
    c = problem.abar * pk.pair(problem.su, sv, problem.m * alpha / problem.r)[0]
    kd = pk.pair(sv, sv, np.ones_like(alpha))[0]
    ko = pk.pair(sv, sv, _t_of(alpha, M))[0]
    D = kd + (M - 1) * ko
    f = problem.T - M * c * c / D
    return f[()], (c / D)[()]


def etf_family_value_mp(problem: GeneralProblem, M: int, rho: float, alpha: float, dps: int = 20) -> mpmath.mpf:
    """f(rho, alpha) of the family at `dps` digits (rho, alpha taken exactly; 4 kernel values)."""
    pk = problem.pk
    with mpmath.workdps(dps + 10):
        rho, alpha = mpmath.mpf(float(rho)), mpmath.mpf(float(alpha))
        m, s, abar = mpmath.mpf(problem.m), mpmath.mpf(problem.s), mpmath.mpf(problem.abar)
        r2 = m * m + s * s
        q = rho * rho
        t = alpha * alpha - (1 - alpha * alpha) / (M - 1) if M > 1 else mpmath.mpf(1)
        t = min(max(t, -1), 1)
        T = abar**2 * pk.k_mp(r2, r2, m * m, dps + 5)
        c = abar * pk.k_mp(r2, q, rho * m * alpha, dps + 5)
        kd = pk.k_mp(q, q, q, dps + 5)
        ko = pk.k_mp(q, q, q * t, dps + 5)
        out = T - M * c * c / (kd + (M - 1) * ko)
    with mpmath.workdps(dps):
        return +out


@dataclass(frozen=True)
class ETFFamilyOptimum:
    """The best member of the tilted-ETF family within rho in [rho_min, rho_max].

    value: f at (rho, alpha), float64; b: each neuron's output weight; beta = b rho; t: the common
    inner product of the directions. at_norm_bound: rho sits at a bound (the family's infimum is
    not attained inside: e.g. gelu -> ReLU as rho grows); collapsed: |alpha| = 1 within 1e-9 (all
    neurons on one ray, i.e. one neuron). For homogeneous activations rho = 1 (irrelevant).
    """

    M: int
    rho: float
    alpha: float
    b: float
    beta: float
    t: float
    value: float
    rho_bounds: tuple
    at_norm_bound: bool
    collapsed: bool
    evaluations: int


def best_etf_family(problem: GeneralProblem, M: int, rho_bounds: tuple[float, float] = (1e-2, 10.0),
                    grid: tuple[int, int] = (61, 201)) -> ETFFamilyOptimum:
    """The best (rho, alpha) of the family: a grid scan (log rho x alpha) then bounded L-BFGS-B
    polishes from the best grid points (value to float precision: f is flat at the optimum).

    rho_bounds are absolute norms; homogeneous activations use rho = 1 and a 1-D search in alpha."""
    M = _int_at_least("M", M, 2)
    if problem.m == 0:
        raise InputError("the tilted family needs mu != 0 (for mu = 0 it is the simplex)")
    lo, hi = (float(x) for x in rho_bounds)
    if not (0 < lo < hi):
        raise InputError("rho_bounds must satisfy 0 < rho_min < rho_max")
    hom = problem.pk.homogeneous
    hi = min(hi, problem.pk.max_norm)
    nl, na = grid
    alphas = np.linspace(-1.0, 1.0, na)
    logs = np.array([0.0]) if hom else np.linspace(math.log(lo), math.log(hi), nl)
    L, A = np.meshgrid(logs, alphas, indexing="ij")
    F, _ = etf_family_value(problem, M, np.exp(L), A)
    evals = F.size
    order = np.argsort(F, axis=None)[:5]

    def fun(x):
        return float(etf_family_value(problem, M, math.exp(x[0]), x[1])[0])

    best = (math.inf, None)
    bounds = [(0.0, 0.0) if hom else (math.log(lo), math.log(hi)), (-1.0, 1.0)]
    for flat in order:
        i, j = np.unravel_index(flat, F.shape)
        x0 = np.array([logs[i], alphas[j]])
        res = minimize(fun, x0, method="L-BFGS-B", bounds=bounds,
                       options={"ftol": 1e-16, "gtol": 1e-13, "maxiter": 500, "eps": 1e-9})
        evals += res.nfev
        # A final 1-D golden refinement in alpha (the value is flat; this removes FD-gradient noise).
        x = res.x
        r2 = minimize_scalar(lambda al, lr=x[0]: fun([lr, al]), bounds=(max(-1.0, x[1] - 1e-3), min(1.0, x[1] + 1e-3)),
                             method="bounded", options={"xatol": 1e-12})
        evals += r2.nfev
        cand = (r2.fun, np.array([x[0], r2.x])) if r2.fun < res.fun else (res.fun, x)
        if cand[0] < best[0]:
            best = cand
    _, (lr, al) = best
    rho = math.exp(lr)
    f, b = etf_family_value(problem, M, rho, al)
    at_bound = (not hom) and (lr <= math.log(lo) + 1e-6 or lr >= math.log(hi) - 1e-6)
    return ETFFamilyOptimum(M=M, rho=rho, alpha=float(al), b=float(b), beta=float(b) * rho, t=float(_t_of(al, M)),
                            value=float(f), rho_bounds=(lo, hi), at_norm_bound=bool(at_bound),
                            collapsed=bool(abs(al) >= 1 - 1e-9), evaluations=int(evals))


def etf_family_network(opt: ETFFamilyOptimum, mu) -> tuple[np.ndarray, np.ndarray]:
    """(b, V) of a family member: V = rho tilted_etf(M, d, mu, alpha), b = (b, ..., b)."""
    from verify.model.etf import tilted_etf

    mu = np.asarray(mu, dtype=float)
    V = opt.rho * tilted_etf(opt.M, mu.size, mu, opt.alpha)
    return np.full(opt.M, opt.b), V
