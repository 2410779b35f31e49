r"""The tilted simplex ETF family of MATH.md section 6 (ReLU) and its best member.

Configuration. For unit directions theta_j = alpha hat(mu) + sqrt(1 - alpha^2) e_j, with
e_1..e_M unit vectors in hat(mu)-perp and <e_j, e_k> = -1/(M-1) (a regular simplex), every
theta_j has <theta_j, hat(mu)> = alpha and the Gram matrix is (1 - t) I + t 11^T with

    t(alpha) = alpha^2 - (1 - alpha^2) / (M - 1)          (t = 1 for M = 1).

Reduced objective. Write m = ||mu||, r = sqrt(m^2 + s^2), rho = m / r and K the ReLU arc-cosine
function (MATH.md section 2). By positive homogeneity (section 6), with beta_j = b_j ||v_j||,

    L~ = abar^2 r^2 K(rho^2) - 2 abar r sum_j beta_j K(rho t_j) + beta^T K(G) beta,

and on the family t_j = alpha, K(G) = (K(1) - K(t)) I + K(t) 11^T. The vector 1 is an
eigenvector of K(G) with eigenvalue D(alpha) = K(1) + (M - 1) K(t) > 0, and the linear term is
a multiple of 1, so the best beta for fixed directions (K(G) beta = abar r K(rho alpha) 1) is

    beta(alpha) = abar r K(rho alpha) / D(alpha)   (equal for all j),
    L~(alpha)   = abar^2 r^2 K(rho^2) - M abar^2 r^2 K(rho alpha)^2 / D(alpha).

(For |alpha| = 1, t = 1 and K(G) = K(1) 11^T is singular; beta(alpha) is still a minimizer,
all M neurons coincide and L~ is that of one neuron.) The gain term M K(rho alpha)^2 / D does not
depend on abar, so neither does the best tilt; beta is linear in abar (negative for abar < 0).

Stationarity. With t'(alpha) = 2 alpha M / (M - 1) and K'(rho) = (pi - arccos rho)/(2 pi) (the
step kernel, Price's theorem),

    d/dalpha [K(rho alpha)^2 / D] = 2 K(rho alpha) F(alpha) / D^2,
    F(alpha) = rho K'(rho alpha) D(alpha) - alpha M K(rho alpha) K'(t(alpha)),

and K(rho alpha) > 0 for s > 0, so the interior maxima of the gain are the + to - sign changes
of F. F(1) = -(M/2) sqrt(1 - rho^2) / (2 pi) < 0 and F(0) = rho D / 4 > 0 (m > 0): the best
tilt is interior, in (0, 1); alpha -> -alpha lowers K(rho alpha) and keeps t, so alpha >= 0.

mu = 0: the gain is M K(0)^2 / D, largest where t is smallest, t = -1/(M-1) at alpha = 0:

    L~* = (abar^2 s^2 / (2 pi)) (1 - Phi / (2 pi)),   Phi = M / (K(1) + (M - 1) K(-1/(M - 1))).

`best_etf` is the best member of this family only. That it is a global minimizer of L~ is the
conjecture of MATH.md section 6, not something this module proves. It is, however, a stationary
point of the full L~ in (b, V) (the symmetry group of the configuration leaves only the radial
and tilt directions of each neuron, and both are stationary); tests/test_etf.py checks the full
gradient.

Precision: the float64 forms (`etf_loss`, `etf_beta`) lose about |first term| / |L~| ulp to
cancellation (~20 ulp at m = s = 1, M = 3); the mpmath forms (`*_mp`) work with 10 guard digits,
their inputs taken exactly. `best_etf` brackets the maxima by a float64 scan and solves F = 0
in mpmath; it re-solves at dps + 20 and requires agreement to dps - 5 digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from verify.errors import InputError
from verify.errors import finite_number as _finite
from verify.errors import int_at_least as _int_at_least
from verify.kernels.relu import relu_dK64, relu_dK_mp, relu_K64, relu_K_mp

__all__ = [
    "ETFOptimum",
    "best_etf",
    "etf_beta",
    "etf_beta_mp",
    "etf_loss",
    "etf_loss_mp",
    "etf_network",
    "etf_stationarity",
    "etf_stationarity_mp",
    "etf_t",
    "tilted_etf",
]

SCAN_POINTS = 4001  # float64 grid on [-1, 1] that brackets the maxima of the gain
GUARD = 10  # guard digits of the mpmath forms
RECHECK_DIGITS = 20  # extra digits of the confirming re-solve


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _check_problem(M, mu_norm, s, abar):
    M = _int_at_least("M", M, 1)
    m = _finite("mu_norm", mu_norm, lo=0.0)
    s = _finite("s", s, lo=0.0, strict=True)
    abar = _finite("abar", abar)
    return M, m, s, abar


def _check_alpha(alpha) -> np.ndarray:
    a = np.asarray(alpha, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(np.abs(a) > 1.0):
        raise InputError("alpha must be finite and in [-1, 1]")
    return a


# --------------------------------------------------------------------------------------------
# The configuration
# --------------------------------------------------------------------------------------------


def _simplex_coordinates(M: int) -> np.ndarray:
    """M unit vectors in R^(M-1) with pairwise inner products -1/(M-1) (rows).

    Coordinates of the centered basis vectors E_j - 1/M in the Helmert basis of 1-perp
    (h_k = (1, ..., 1, -k, 0, ..., 0) / sqrt(k (k + 1)), k = 1..M-1), scaled by sqrt(M / (M-1)).
    """
    H = np.zeros((M - 1, M))
    for k in range(1, M):
        c = 1.0 / math.sqrt(k * (k + 1))
        H[k - 1, :k] = c
        H[k - 1, k] = -k * c
    return math.sqrt(M / (M - 1)) * H.T


def _perp_basis(mu_hat: np.ndarray, cols: int | None = None) -> np.ndarray:
    """d x cols orthonormal basis of mu_hat-perp (cols <= d - 1, default d - 1): columns 2..cols+1
    of the Householder reflection H = I - 2 v v^T / (v^T v), v = mu_hat + sign(mu_hat_1) e_1
    (exactly e_2..e_(cols+1) when mu_hat = e_1). Only those columns are formed: O(d cols) memory,
    so d = 1e5 costs 1e5 x cols numbers, not the 1e10 of the whole reflection."""
    d = mu_hat.size
    cols = d - 1 if cols is None else min(cols, d - 1)
    v = mu_hat.copy()
    v[0] += 1.0 if mu_hat[0] >= 0 else -1.0
    H = -(2.0 / (v @ v)) * np.outer(v, v[1:cols + 1])
    H[np.arange(1, cols + 1), np.arange(cols)] += 1.0
    return H


def tilted_etf(M: int, d: int, mu, alpha: float) -> np.ndarray:
    r"""Unit rows theta_j = alpha hat(mu) + sqrt(1 - alpha^2) e_j (M x d), MATH.md section 6.

    M: number of neurons (>= 1); d: input dimension; mu: the mean of the target's inner weights,
    shape (d,); alpha in [-1, 1]: the common cosine <theta_j, hat(mu)>.
    The e_j form a regular simplex (<e_j, e_k> = -1/(M-1)) in the first M - 1 coordinates of a
    fixed orthonormal basis of hat(mu)-perp (e_2, ..., e_M when mu is along e_1), so d >= M is
    needed; M = 1 uses one unit vector e of hat(mu)-perp (d >= 2 unless |alpha| = 1).
    mu = 0: the untilted simplex in the first M - 1 coordinates (alpha is ignored; d >= M - 1).
    Deterministic; Gram matrix exact to a few ulp.
    """
    M = _int_at_least("M", M, 1)
    d = _int_at_least("d", d, 1)
    a = float(_check_alpha(alpha))
    mu = np.asarray(mu, dtype=float)
    if mu.shape != (d,) or not np.all(np.isfinite(mu)):
        raise InputError(f"mu must be a finite vector of shape ({d},), got shape {mu.shape}")
    E = _simplex_coordinates(M) if M > 1 else np.ones((1, 1))  # M x max(M-1, 1)
    m = math.sqrt(math.fsum(mu * mu))
    if m == 0.0:
        if d < M - 1:
            raise InputError(f"the simplex of M = {M} directions needs d >= M - 1 = {M - 1}, got d = {d}")
        out = np.zeros((M, d))
        out[:, : E.shape[1]] = E
        return out
    mu_hat = mu / m
    if abs(a) == 1.0:
        return np.tile(a * mu_hat, (M, 1))
    if d < max(M, 2):
        raise InputError(f"the tilted simplex of M = {M} directions needs d >= {max(M, 2)}, got d = {d}")
    P = _perp_basis(mu_hat, E.shape[1])  # d x (M-1)
    return a * mu_hat[None, :] + math.sqrt((1.0 - a) * (1.0 + a)) * (E @ P.T)


# --------------------------------------------------------------------------------------------
# The reduced objective: float64 and mpmath side by side
# --------------------------------------------------------------------------------------------


def etf_t(alpha, M: int):
    """t(alpha) = alpha^2 - (1 - alpha^2)/(M - 1), the common inner product (1 for M = 1)."""
    M = _int_at_least("M", M, 1)
    a = _check_alpha(alpha)
    if M == 1:
        return np.ones_like(a)[()]
    return np.clip(a * a - (1.0 - a * a) / (M - 1), -1.0, 1.0)[()]


def _parts64(alpha, M, m, s):
    r = math.hypot(m, s)
    rho = m / r
    t = etf_t(alpha, M)
    h = relu_K64(rho * np.asarray(alpha, dtype=float))
    D = 0.5 + (M - 1) * relu_K64(t)
    return r, rho, h, D


def etf_beta(alpha, M: int, mu_norm: float, s: float, abar: float = 1.0):
    """beta(alpha) = abar r K(rho alpha) / (K(1) + (M-1) K(t)), float64 (broadcasts in alpha)."""
    M, m, s, abar = _check_problem(M, mu_norm, s, abar)
    a = _check_alpha(alpha)
    r, _, h, D = _parts64(a, M, m, s)
    return (abar * r * h / D)[()]


def etf_loss(alpha, M: int, mu_norm: float, s: float, abar: float = 1.0):
    """L~(alpha) at the best beta: abar^2 r^2 (K(rho^2) - M K(rho alpha)^2 / D(alpha)), float64.

    Broadcasts in alpha. Accuracy: a few ulp of abar^2 r^2 K(rho^2) (absolute).
    """
    M, m, s, abar = _check_problem(M, mu_norm, s, abar)
    a = _check_alpha(alpha)
    r, rho, h, D = _parts64(a, M, m, s)
    return (abar * abar * r * r * (relu_K64(rho * rho) - M * h * h / D))[()]


def etf_stationarity(alpha, M: int, mu_norm: float, s: float):
    """F(alpha) = rho K'(rho alpha) D - alpha M K(rho alpha) K'(t), float64; sign of dGain/dalpha."""
    M, m, s, _ = _check_problem(M, mu_norm, s, 1.0)
    a = _check_alpha(alpha)
    _, rho, h, D = _parts64(a, M, m, s)
    t = etf_t(a, M)
    return (rho * relu_dK64(rho * a) * D - a * M * h * relu_dK64(t))[()]


def _mp(v):
    return v if isinstance(v, mpmath.mpf) else mpmath.mpf(float(v))


def _check_dps(dps) -> int:
    if isinstance(dps, bool) or not isinstance(dps, (int, np.integer)) or not 15 <= dps <= 1000:
        raise InputError(f"dps must be an integer in 15..1000, got {dps!r}")
    return int(dps)


class _MpParts:
    """The pieces of the reduced objective at the current mpmath precision (inputs exact)."""

    def __init__(self, M, m, s):
        self.M = M
        self.m, self.s = _mp(m), _mp(s)
        self.r = mpmath.sqrt(self.m**2 + self.s**2)
        self.rho = self.m / self.r
        self.one = mpmath.mpf(1)

    def K(self, x):
        return relu_K_mp(x)

    def Kp(self, x):
        return relu_dK_mp(x)

    def t(self, a):
        if self.M == 1:
            return self.one
        return min(max(a * a - (1 - a * a) / (self.M - 1), -self.one), self.one)

    def D(self, a):
        return self.K(self.one) + (self.M - 1) * self.K(self.t(a))

    def gain(self, a):
        """M K(rho alpha)^2 / D(alpha) (the abar^2 r^2 factor left out)."""
        return self.M * self.K(self.rho * a) ** 2 / self.D(a)

    def F(self, a):
        return self.rho * self.Kp(self.rho * a) * self.D(a) - a * self.M * self.K(self.rho * a) * self.Kp(self.t(a))

    def loss(self, a, abar):
        return abar**2 * self.r**2 * (self.K(self.rho**2) - self.gain(a))

    def beta(self, a, abar):
        return abar * self.r * self.K(self.rho * a) / self.D(a)


def _mp_alpha(alpha):
    a = _mp(alpha)
    if not (mpmath.isfinite(a) and abs(a) <= 1):
        raise InputError("alpha must be finite and in [-1, 1]")
    return a


def _at_dps(dps, M: int, mu_norm: float, s: float, abar: float, part):
    """part(_MpParts, abar) evaluated with GUARD guard digits, rounded to `dps` digits."""
    M, m, s, abar = _check_problem(M, mu_norm, s, abar)
    dps = _check_dps(dps)
    with mpmath.workdps(dps + GUARD):
        out = part(_MpParts(M, m, s), _mp(abar))
    with mpmath.workdps(dps):
        return +out


def etf_loss_mp(alpha, M: int, mu_norm: float, s: float, abar: float = 1.0, dps: int = 30) -> mpmath.mpf:
    """`etf_loss` at `dps` digits (alpha: float or mpf, taken exactly; GUARD guard digits)."""
    return _at_dps(dps, M, mu_norm, s, abar, lambda P, ab: P.loss(_mp_alpha(alpha), ab))


def etf_beta_mp(alpha, M: int, mu_norm: float, s: float, abar: float = 1.0, dps: int = 30) -> mpmath.mpf:
    """`etf_beta` at `dps` digits."""
    return _at_dps(dps, M, mu_norm, s, abar, lambda P, ab: P.beta(_mp_alpha(alpha), ab))


def etf_stationarity_mp(alpha, M: int, mu_norm: float, s: float, dps: int = 30) -> mpmath.mpf:
    """`etf_stationarity` at `dps` digits."""
    return _at_dps(dps, M, mu_norm, s, 1.0, lambda P, _: P.F(_mp_alpha(alpha)))


# --------------------------------------------------------------------------------------------
# The best tilt
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ETFOptimum:
    """The best tilted simplex ETF for (M, ||mu||, s, abar).

    alpha, beta, t, loss: mpmath values at `dps` digits (the tilt <theta_j, hat(mu)>, the common
    output weight of the unit-norm neurons, their common inner product, and L~ there);
    alpha64, beta64, t64, loss64: the same rounded to float64. `digits`: agreement of alpha with
    a re-solve at dps + 20 (-log10 of the relative difference; inf when exact). `endpoint`: alpha
    is +-1 (all neurons coincide; only M = 1 with mu != 0 gets there). `candidates`: the number
    of local maxima of the gain compared.
    """

    M: int
    mu_norm: float
    s: float
    abar: float
    alpha: mpmath.mpf
    beta: mpmath.mpf
    t: mpmath.mpf
    loss: mpmath.mpf
    alpha64: float
    beta64: float
    t64: float
    loss64: float
    dps: int
    digits: float
    endpoint: bool
    candidates: int


def _local_maxima(M: int, m: float, s: float) -> list[tuple[float, float]]:
    """Brackets [a, b] of the + to - sign changes of F on the float64 grid of [-1, 1]."""
    grid = np.linspace(-1.0, 1.0, SCAN_POINTS)
    F = etf_stationarity(grid, M, m, s)
    out = []
    for i in range(SCAN_POINTS - 1):
        if F[i] > 0 and F[i + 1] <= 0:
            out.append((float(grid[i]), float(grid[i + 1])))
    return out


def _solve(M: int, m: float, s: float, dps: int) -> tuple[mpmath.mpf, bool, int]:
    """(alpha*, endpoint?, number of candidates) at the current working precision dps + GUARD."""
    P = _MpParts(M, m, s)
    one = mpmath.mpf(1)
    cands = [-one, one]  # endpoints are local maxima when F points outwards; compared anyway
    for a, b in _local_maxima(M, m, s):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        # widen by grid steps until the sign change holds at this precision (float F may round)
        step = mpmath.mpf(2) / (SCAN_POINTS - 1)
        while P.F(a) <= 0 and a > -1:
            a = max(a - step, -one)
        while P.F(b) > 0 and b < 1:
            b = min(b + step, one)
        if P.F(a) > 0 >= P.F(b):
            if P.F(b) == 0:
                cands.append(b)
                continue
            root = mpmath.findroot(P.F, (a, b), solver="anderson", tol=mpmath.mpf(10) ** (-2 * dps))
            if not a <= root <= b:  # the bracketing solver stays in [a, b]; guard anyway
                raise RuntimeError(f"findroot left the bracket [{a}, {b}]")
            cands.append(root)
    best = max(cands, key=P.gain)
    return best, abs(best) == 1, len(cands)


def best_etf(M: int, mu_norm: float, s: float, abar: float = 1.0, dps: int = 40) -> ETFOptimum:
    """The best tilted simplex ETF: alpha* = argmax over [-1, 1] of the gain M K(rho alpha)^2 / D.

    This is the best member of the family of MATH.md section 6, not a proof that it minimizes L~
    over all (b, V): that is the section's conjecture.

    Method: F (the sign of the gain's derivative) on a float64 grid of 4001 points brackets every
    local maximum; each is solved by mpmath's bracketing `findroot` (Anderson-Bjorck) at
    dps + 10 digits; the endpoints +-1 are candidates too, and the largest gain (compared in
    mpmath) wins. The whole solve is repeated at dps + 20 digits and alpha must agree to
    dps - 5 digits (else RuntimeError: a bug, not bad input). mu = 0 gives alpha = 0 (the
    untilted simplex, t = -1/(M-1)); M = 1 gives alpha = 1 (alpha = 0 for mu = 0).
    abar enters only as abar^2 in the loss and abar in beta (abar = 0: beta = 0, loss = 0, alpha
    the tilt of abar = 1; abar < 0: beta < 0, same alpha).
    """
    M, m, s, abar = _check_problem(M, mu_norm, s, abar)
    dps = _check_dps(dps)

    def at(prec):
        with mpmath.workdps(prec + GUARD):
            if m == 0.0:
                alpha, endpoint, n = mpmath.mpf(0), False, 1
            elif M == 1:
                alpha, endpoint, n = mpmath.mpf(1), True, 1
            else:
                alpha, endpoint, n = _solve(M, m, s, prec)
            P = _MpParts(M, m, s)
            ab = _mp(abar)
            return alpha, P.beta(alpha, ab), P.t(alpha), P.loss(alpha, ab), endpoint, n

    alpha, beta, t, L, endpoint, n = at(dps)
    alpha2, *_ = at(dps + RECHECK_DIGITS)
    with mpmath.workdps(dps + RECHECK_DIGITS):
        diff = abs(alpha - alpha2)
        digits = math.inf if diff == 0 else float(-mpmath.log10(diff / max(abs(alpha2), mpmath.mpf(10) ** -dps)))
    if digits < dps - 5:
        raise RuntimeError(f"best_etf: alpha at dps {dps} and {dps + RECHECK_DIGITS} agree to only {digits:.1f} digits")
    with mpmath.workdps(dps):
        alpha, beta, t, L = +alpha, +beta, +t, +L
    return ETFOptimum(
        M=M, mu_norm=m, s=s, abar=abar, alpha=alpha, beta=beta, t=t, loss=L,
        alpha64=float(alpha), beta64=float(beta), t64=float(t), loss64=float(L),
        dps=dps, digits=digits, endpoint=endpoint, candidates=n,
    )


def etf_network(opt: ETFOptimum, d: int, mu=None) -> tuple[np.ndarray, np.ndarray]:
    """(b, V) in float64: V = tilted_etf(M, d, mu, alpha*) (unit rows), b = beta* (all equal).

    mu defaults to mu_norm e_1; a given mu must have norm opt.mu_norm (relative 1e-12).
    Use with `SimplifiedProblem` (L~), `MeanFieldProblem.L_inf` or a `TwoLayerNetwork` (L_N).
    """
    if not isinstance(opt, ETFOptimum):
        raise InputError("etf_network takes the ETFOptimum returned by best_etf")
    d = _int_at_least("d", d, 1)
    if mu is None:
        mu = np.zeros(d)
        mu[0] = opt.mu_norm
    mu = np.asarray(mu, dtype=float)
    if mu.shape != (d,) or not np.all(np.isfinite(mu)):
        raise InputError(f"mu must be a finite vector of shape ({d},)")
    m = math.sqrt(math.fsum(mu * mu))
    if abs(m - opt.mu_norm) > 1e-12 * max(opt.mu_norm, 1e-300) and not (m == 0 == opt.mu_norm):
        raise InputError(f"||mu|| = {m!r} but the optimum was computed for mu_norm = {opt.mu_norm!r}")
    V = tilted_etf(opt.M, d, mu, opt.alpha64)
    return np.full(opt.M, opt.beta64), V
