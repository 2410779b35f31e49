"""Quadrature rules (float64): normalized weights on standardized variables, and the chi-square
and sech (sphere-coordinate) tail helpers shared by the routes and by `verify.model.fluctuations`.

Chi-square variables (R ~ chi^2_n, Q ~ chi^2_d) are integrated in u with R = n exp(y),
y = sqrt(2/n) u: the density in u is proportional to exp(-(n/2)(e^y - 1 - y)) (e^y - 1 - y from
its Taylor series for |y| < 1/2, no cancellation), ~ exp(-u^2/2) for large n and decaying like
exp(sqrt(n/2) u) as u -> -inf: accurate for every n from 1 to 10^5 and beyond (plain
Gauss-Laguerre with parameter n/2 - 1 is not).

Rules (float64). Directions without a kink use the trapezoidal rule on the real line, which
converges geometrically for integrands analytic in a strip (L. N. Trefethen and J. A. C. Weideman,
"The exponentially convergent trapezoidal rule", SIAM Review 56 (2014), sections 3 and 5). The
step is the largest h with exp(log M(eta) - 2 pi eta / h) <= exp(-40) for some admissible eta,
log M(eta) the growth of the integrand on Im u = eta: -n log cos(eta / sqrt n) for the sech
weight, -(n/2) log cos(sqrt(2/n) eta) for the chi-square weight, eta^2/2 for the gaussian weight,
plus the growth of g (exp(Im(x)^2 / 2) for the closed forms of `smoothing`, exp(gamma Im(m)^2) for an
activation of growth gamma) and of sigma. Nodes stop where the weight falls below exp(-46) of its
peak. The kinked direction u1 in [-U, 0] and [0, U] uses composite 16-point Gauss-Legendre panels
of width min(1, 1/kappa1) (kappa1 the rate of change of G's scaled argument). In the polar route a
direction with small n uses Gauss-Gegenbauer (weight (1 - th^2)^((n-2)/2) exactly; nodes by
Golub-Welsch) when its a-priori node count (Bernstein ellipse bound) is below the trapezoid's.
Every weight set is normalized by its own sum (the chi-square and sech normalizations via gammaln
lose ~|log Gamma| ulp, 1e-10 at d = 10^5; the discrete sum is exact to the rule's own accuracy).
`refine` divides every step and panel width and multiplies Gauss node counts, for convergence
checks.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import optimize

T64 = 40.0  # -log of the targeted discretization error of each float64 rule (4e-18)
TAIL64 = 46.0  # float64 rules drop weight below exp(-46) = 1e-20 of the peak
GL_NODES = 16  # Gauss-Legendre nodes per panel (float64)
GEGENBAUER_MAX_N = 100  # mpmath inner rule: Gauss-Gegenbauer for d - 2 <= this, else trapezoid


def trapezoid_h(log_growth, T: float, eta_max: float) -> float:
    """Largest h with exp(log_growth(eta) - 2 pi eta / h) <= exp(-T) for some 0 < eta < eta_max."""
    cap = min(eta_max, 3.0 * math.sqrt(2.0 * T))
    eta = cap * np.linspace(0.0, 0.995, 400)[1:]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        lg = np.asarray(log_growth(eta), dtype=float)
        h = np.where(np.isfinite(lg), 2.0 * math.pi * eta / (T + np.maximum(lg, 0.0)), 0.0)
    return float(np.max(h))


def gauss_trap(h: float, tail: float):
    """Trapezoidal rule for E f(Z), Z ~ N(0, 1): nodes k h with |k h| <= sqrt(2 tail) + h."""
    k = int(math.ceil((math.sqrt(2.0 * tail) + h) / h))
    z = h * np.arange(-k, k + 1, dtype=float)
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()


def logcosh(z):
    """log cosh z without cancellation for small z (log1p of 2 sinh^2(z/2))."""
    return np.log1p(2.0 * np.sinh(0.5 * z) ** 2)


def sech_tail(n: int, tail: float) -> float:
    """U with n log cosh(U / sqrt n) = tail (arccosh(e^a) = a + log(1 + sqrt(1 - e^(-2a))))."""
    a = tail / n
    return math.sqrt(n) * (a + math.log1p(math.sqrt(-math.expm1(-2.0 * a))))


def sech_weight(u, n: int):
    return np.exp(-n * logcosh(u / math.sqrt(n)))


def sech_trap(n: int, h: float, tail: float):
    """Trapezoidal rule in u for the density prop. to sech(u / sqrt n)^n (th = tanh(u / sqrt n))."""
    k = int(math.ceil((sech_tail(n, tail) + h) / h))
    u = h * np.arange(-k, k + 1, dtype=float)
    w = sech_weight(u, n)
    return u, w / w.sum()


def gl_panels(lo: float, hi: float, width: float, p: int):
    """Composite p-point Gauss-Legendre nodes and weights on [lo, hi], panels of about `width`."""
    npan = max(1, int(math.ceil((hi - lo) / width)))
    edges = np.linspace(lo, hi, npan + 1)
    x, w = np.polynomial.legendre.leggauss(p)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[:-1] + edges[1:])
    return (mid[:, None] + half[:, None] * x[None, :]).ravel(), (half[:, None] * w[None, :]).ravel()


def split_rule(U: float, width: float, p: int, weight):
    """Composite Gauss-Legendre on [-U, 0] and [0, U] (a kink at 0) times weight(u), normalized."""
    u, w = gl_panels(0.0, U, width, p)
    u = np.concatenate([-u[::-1], u])
    w = np.concatenate([w[::-1], w]) * weight(u)
    return u, w / w.sum()


def expm1mx(y):
    """e^y - 1 - y without cancellation: Taylor series for |y| < 1/2 (26 terms), else direct."""
    y = np.asarray(y, dtype=float)
    out = np.expm1(y) - y
    small = np.abs(y) < 0.5
    if np.any(small):
        ys = y[small]
        acc = np.full_like(ys, 1.0 / math.factorial(27))
        for k in range(26, 1, -1):  # y^2 sum_{k=2}^{27} y^(k-2) / k!, Horner in y
            acc = acc * ys + 1.0 / math.factorial(k)
        out[small] = acc * ys * ys
    return out


def chi2_y_range(n: int, tail: float) -> tuple[float, float]:
    """y_lo < 0 < y_hi where (n/2)(e^y - 1 - y) = tail."""
    f = lambda y: 0.5 * n * float(expm1mx(np.array([y]))[0]) - tail  # noqa: E731
    lo = optimize.brentq(f, -1.0 - 2.0 * tail / n - 1.0, 0.0, xtol=1e-12)
    hi = optimize.brentq(f, 0.0, math.sqrt(4.0 * tail / n) + 1.0, xtol=1e-12)
    return lo, hi


def chi2_trap(n: int, h: float, tail: float):
    """Trapezoidal rule in u for R ~ chi^2_n, R = n exp(sqrt(2/n) u); returns (R, weights)."""
    if n == 0:
        return np.zeros(1), np.ones(1)
    c = math.sqrt(2.0 / n)
    ylo, yhi = chi2_y_range(n, tail)
    k0, k1 = int(math.floor(ylo / c / h)) - 1, int(math.ceil(yhi / c / h)) + 1
    u = h * np.arange(k0, k1 + 1, dtype=float)
    y = c * u
    w = np.exp(-0.5 * n * expm1mx(y))
    return n * np.exp(y), w / w.sum()


def chi2_log_growth(n: int):
    c = math.sqrt(2.0 / n)
    return (lambda eta: -0.5 * n * np.log(np.cos(c * eta))), 0.5 * math.pi / c


def chi2_step(n: int, T: float) -> float:
    """The trapezoidal step of the chi^2_n rule for a discretization error exp(-T) (float64 and
    mpmath rules alike: `chi2_trap`, `rules_mp.mp_chi2_trap`)."""
    lgR, etaR = chi2_log_growth(n)
    return trapezoid_h(lgR, T, etaR)


def sech_log_growth(n: int, scale: float, power: float):
    """Growth of sech^n(u/sqrt n) G(scale tanh(u/sqrt n))^power on Im u = eta."""
    r = math.sqrt(n)

    def lg(eta):
        tn = np.tan(eta / r)
        return -n * np.log(np.cos(eta / r)) + 0.5 * power * (scale * tn) ** 2

    return lg, 0.5 * math.pi * r


def gegenbauer_nodes64(N: int, lam: float) -> np.ndarray:
    """Nodes of the N-point Gauss rule for the weight (1 - x^2)^(lam - 1/2) on [-1, 1]
    (Golub-Welsch: eigenvalues of the Jacobi matrix of the monic Gegenbauer recurrence,
    beta_k = k (k + 2 lam - 1) / (4 (k + lam) (k + lam - 1)))."""
    k = np.arange(1, N, dtype=float)
    off = np.sqrt(k * (k + 2 * lam - 1) / (4 * (k + lam) * (k + lam - 1)))
    return np.linalg.eigvalsh(np.diag(off, 1) + np.diag(off, -1))


@lru_cache(maxsize=64)
def gegenbauer_rule64(N: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """N-point Gauss rule (float64) for om with density prop. to (1 - om^2)^((n-2)/2), weights
    summing to 1: Golub-Welsch (weights = squared first components of the eigenvectors; G. H. Golub
    and J. H. Welsch, Math. Comp. 23 (1969)); n = 1: Gauss-Chebyshev."""
    if n == 1:
        x = np.cos((2 * np.arange(1, N + 1) - 1) * math.pi / (2 * N))
        return x, np.full(N, 1.0 / N)
    lam = 0.5 * (n - 1)
    k = np.arange(1, N, dtype=float)
    off = np.sqrt(k * (k + 2 * lam - 1) / (4 * (k + lam) * (k + lam - 1)))
    x, vec = np.linalg.eigh(np.diag(off, 1) + np.diag(off, -1))
    w = vec[0] ** 2
    return x, w / w.sum()


def gauss_nodes_for(kappa: float, T: float, gamma: float = 0.5, strip: float = math.inf) -> int:
    """Nodes N of a Gauss rule on [-1, 1] (Gauss-Gegenbauer here) for F(kappa om), F of growth
    exp(gamma Im(z)^2) in |Im z| < strip: the error is about rho^(-2N) max over the Bernstein ellipse
    E_rho, where |Im(kappa om)| <= kappa (rho - 1/rho) / 2; N is the smallest over rho."""
    rho = np.linspace(1.02, 60.0, 3000)
    im = kappa * (rho - 1 / rho) / 2
    ok = im < 0.9 * strip
    need = (T + gamma * im[ok] ** 2) / (2 * np.log(rho[ok]))
    return int(math.ceil(float(np.min(need)))) + 2
