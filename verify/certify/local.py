r"""A local certificate for the tilted simplex ETF (ReLU, MATH.md sections 5-7): in ball arithmetic
(python-flint arb), an exact critical point of L~ exists in a tiny ball around the candidate, and
the Hessian there is positive semidefinite with kernel exactly the tangent space of the symmetry
orbit. Together: a strict local minimum modulo symmetry (Morse-Bott).

Variables. z = (b_1..b_M, v_1, ..., v_M) in R^n, n = M + M d, as in `SimplifiedProblem`;
mu = m e_1 (m >= 0), s > 0, target weight abar. Only the ReLU activation.

Symmetries of L~ (continuous part; neuron permutations are discrete and have no tangent):
  homogeneity  (b_j, v_j) -> (b_j / c, c v_j)            tangent (delta b_j, delta v_j) = (-b_j, v_j),
  rotations    v_j -> Q v_j,  Q in SO(d), Q mu = mu       tangent delta v_j = A v_j,
with A = p q^T - q p^T for orthonormal p, q in mu-perp (all of R^d when mu = 0). T(z) denotes the
span of all these tangent vectors at z. Both actions are linear, so differentiating
grad L~(g z) = g^{-T} grad L~(z) at a critical point z* gives H(z*) T(z*) = 0.

What is proven (certified = True), for z* the exact point described below:
  (1) grad L~(z*) = 0;
  (2) dim T(z*) = symmetry_dimension =: r (r tangent vectors, enclosed in balls, have a Gram
      matrix that Gershgorin's theorem shows positive definite);
  (3) W^T H(z*) W is positive definite for a float n x (n - r) matrix W (Gershgorin on the arb
      matrix W^T H W, W the float eigenvectors of the float restricted Hessian, so W^T H W is
      nearly diagonal).
From (3), span(W) meets ker H trivially, so dim ker H <= r; with T subset ker H and (2), ker H = T
and R^n = T (+) span(W); every x = t + W y has x^T H x = y^T (W^T H W) y >= 0. Hence H(z*) is PSD
with kernel exactly T(z*): a slice through z* along span(W) has a strict local minimum at z*, and
(group coordinates x slice) -> R^n is a local diffeomorphism, so L~ >= L~(z*) near z* with
equality only on the orbit. `min_eigenvalue` is a rigorous lower bound of min x^T H x / |x|^2
over x in T^perp (the smallest nonzero eigenvalue of H): for x in T^perp, x = t + W y gives
|x|^2 = <x, W y> <= |x| |W y|, so |y| >= |x| / sigma_max(W) and the bound is
lambda_min(W^T H W) / sigma_max(W)^2. `max_eigenvalue` bounds the largest eigenvalue of H above
(Gershgorin on F^T H F, F = [T0 | W] nearly orthogonal, divided by sigma_min(F)^2).

The exact critical point (`certify_local`). For mu != 0 and M >= 2 the ETF is
  theta_j = alpha e_1 + sqrt(1 - alpha^2) e_j,   v_j = theta_j,   b_j = beta(alpha),
  beta(alpha) = abar r K(rho alpha) / D(alpha),  D = K(1) + (M - 1) K(t(alpha))
(`verify.model.etf`; e_j the Helmert simplex in coordinates 2..M, every coordinate an arb ball
built from the exact alpha: sqrt in arb, no float rounding). Its stabilizer in O(d-1) x S_M (the
simplex symmetries times O(d - M) on the rest) fixes grad L~(z(alpha)) (equivariance), and the
vectors it fixes are (c, .., c; c1 e_1 + c2 e_j): the 3-dimensional tangent space of the family
(beta, alpha, scale). The gradient is orthogonal to d/dbeta (beta(alpha) solves K(G) beta = abar r h)
and to the scale direction (homogeneity); so grad L~(z(alpha)) = 0 iff
  phi'(alpha) := <grad L~(z(alpha)), d z / d alpha> = 0      (beta held at beta(alpha)).
phi' is evaluated in arb at the two thin ends of A = [alpha0 - delta, alpha0 + delta] (alpha0 from
`best_etf`, delta = 2^(-prec/2), then 2^-32, 2^-20); opposite signs prove an exact root alpha* in A
(intermediate value theorem; L~ is real-analytic there: no two neurons parallel, s > 0). Every
ball below (configuration, gradient, Hessian, tangents) is then evaluated with alpha = A, so it
contains its value at z* = z(alpha*). The gradient ball must contain 0 (a consistency check: the
proof of (1) is the sign change plus the symmetry argument, not the ball).
mu = 0: the untilted simplex, beta = abar s K(0) / D(0), exactly critical by the same argument
(the fixed vectors are (c..c; c2 e_j)); M = 1, mu != 0: v = +-e_1, b = 2 abar r K(+-rho) (fixed
vectors (c; c1 e_1)), exactly critical; no interval is needed in these cases.

Not covered. mu = 0, M = 2: the simplex is an antipodal pair, where K is not twice
differentiable (K'' = 1 / (2 pi sqrt(1 - rho^2)) at rho = -1): "inconclusive". abar = 0: beta = 0 and
L~ is flat in V (no sign change, a flat restricted Hessian): "inconclusive".

Not a minimum. When (1) holds and some float x has x^T H x < 0 in arb, z* is proven NOT a local
minimum (second-order necessary condition): status "not-a-minimum", e.g. M = 1, v = -e_1.

`certify_configuration` (any float (b, V), arbitrary mu) computes the same balls at the float point
but cannot prove an exact critical point (no interval Newton): it always returns certified = False.

Precision: `prec` bits (default 128) for every ball; rounding radii are ~2^-prec |H|, the alpha
ball adds ~delta |dH/dalpha|; Gershgorin's off-diagonal row sums are ~(n - r) eps |H| (float
eigenvectors), so min_eigenvalue sits ~1e-14 (absolute, at |H| ~ 5) below the float estimate
(measured: relative gaps <= 4e-10 on the grid M = 2..10, d in {M, M+1, 2M}). Floats reported as
bounds are rounded outward (one ulp); the alpha interval's decimal ends are rounded outward too.

Cost: Python loops over the n^2 Hessian entries and three n^3 arb products (n = M (d + 1)).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import mpmath
import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from verify.errors import InputError
from verify.errors import finite_number as _finite
from verify.errors import int_at_least as _int_at_least
from verify.kernels.relu import relu_K_arb
from verify.numbers.precision import flint_prec

__all__ = ["LocalCertificate", "certify_configuration", "certify_local", "simplified_grad_hess_arb"]

RANK_RTOL = 1e-9  # float rank of the tangent generators: singular values below RANK_RTOL * max
DELTA_EXPONENTS = (None, 32, 20)  # alpha ball half-widths tried: 2^-(prec // 2), 2^-32, 2^-20
ALPHA_DIGITS = 40  # significant digits of the reported alpha interval (rounded outward)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalCertificate:
    """The outcome of a local certificate (see the module docstring for what each field proves).

    status: "certified" (strict local minimum modulo symmetry, proven), "not-a-minimum" (an exact
      critical point is proven and a direction of negative curvature is certified), "inconclusive"
      (reason says which step failed).
    certified: status == "certified".
    critical_point_proven: an exact critical point z* lies in the configuration ball.
    min_eigenvalue: rigorous lower bound of the smallest eigenvalue of H on T^perp (on span(W) when
      no critical point is proven); may be negative, and then certifies nothing.
    min_eigenvalue_estimate: float64 eigvalsh of W0^T H_mid W0 (W0 orthonormal, float T^perp).
    max_eigenvalue: rigorous upper bound of the largest eigenvalue of H.
    gradient_radius: rigorous upper bound of max_i |dL~/dz_i| over the configuration ball.
    gradient_contains_zero: every gradient ball contains 0.
    negative_curvature: some float x with x^T H x < 0 certified in arb (over the whole ball).
    alpha: (lo, hi) decimal strings of the tilt interval A (None for certify_configuration).
    symmetry_dimension: r = dim T (proven lower bound; equality when certified).
    complement_dimension: n - r. n: number of variables M + M d.
    """

    status: str
    certified: bool
    critical_point_proven: bool
    min_eigenvalue: float
    min_eigenvalue_estimate: float
    max_eigenvalue: float
    gradient_radius: float
    gradient_contains_zero: bool
    negative_curvature: bool
    alpha: tuple[str, str] | None
    symmetry_dimension: int
    complement_dimension: int
    n: int
    M: int
    d: int
    mu_norm: float
    s: float
    abar: float
    prec: int
    reason: str
    seconds: float


# --------------------------------------------------------------------------------------------
# Input checks and arb helpers
# --------------------------------------------------------------------------------------------


def _check_prec(prec):
    if isinstance(prec, bool) or not isinstance(prec, (int, np.integer)) or not 64 <= prec <= 4096:
        raise InputError(f"prec must be an integer in 64..4096 (bits), got {prec!r}")
    return int(prec)


class _NotSmooth(Exception):
    """L~ is not twice differentiable on the ball (a zero neuron or two parallel ones)."""


def _mpf_to_arb(x):
    """An mpf as an exact arb (mantissa times a power of two)."""
    from flint import arb, fmpz

    if not isinstance(x, mpmath.mpf):
        x = mpmath.mpf(x)  # ints and floats convert exactly at any precision
    sign, man, exp, _ = x._mpf_  # not mpf(x): that would round an mpf to the current precision
    if not man:
        return arb(0)
    v = arb(fmpz(int(man))) * arb(2) ** int(exp)
    return -v if sign else v


def _decimal(x, digits: int, up: bool) -> str:
    """A decimal string with `digits` significant digits, >= (up) or <= (not up) every point of x."""
    import decimal
    from fractions import Fraction

    man, exp = (x.upper() if up else x.lower()).mid().man_exp()
    q = Fraction(int(man)) * Fraction(2) ** int(exp)
    if q == 0:
        return "0"
    num, den = abs(q.numerator), q.denominator
    k = len(str(num // den)) - 1 if num >= den else -len(str(den // num))  # ~floor(log10 |q|)
    shift = digits - 1 - k  # q * 10^shift has about `digits` digits before the point
    scaled = q * Fraction(10) ** shift
    N = -((-scaled.numerator) // scaled.denominator) if up else scaled.numerator // scaled.denominator
    with decimal.localcontext() as c:
        c.prec = digits + 20
        return str(decimal.Decimal(N).scaleb(-shift))


def _lower(x) -> float:
    """A float <= every point of the arb ball x."""
    return math.nextafter(float(x.lower()), -math.inf)


def _upper(x) -> float:
    """A float >= every point of the arb ball x."""
    return math.nextafter(float(x.upper()), math.inf)


def _dot(x, y):
    from flint import arb

    out = arb(0)
    for a, b in zip(x, y):
        out += a * b
    return out


def _col(v):
    from flint import arb_mat

    return arb_mat([[x] for x in v])


def _outer(x, y):
    return _col(x) * _col(y).transpose()


def _eye(n):
    from flint import arb_mat

    m = arb_mat(n, n)
    for i in range(n):
        m[i, i] = 1
    return m


# --------------------------------------------------------------------------------------------
# ReLU pair derivatives in arb (the twins of `verify.kernels.derivatives`)
# --------------------------------------------------------------------------------------------


def _relu_pair_arb(x, y, hessians=True):
    r"""k(x, y) = |x| |y| K(rho), grad_y k, and optionally H_yy, H_yx, all as arb balls.

    Formulas of `verify.kernels.derivatives`: a = sin / (2 pi), K' = (pi - theta) / (2 pi),
    theta = atan2(sin, rho), grad_y k = |x| a y_hat + K' x,
    H_yy = (|x| / |y|) a (I - y_hat y_hat^T + e e^T), H_yx = K' I + a (e f^T + y_hat x_hat^T),
    e = (x_hat - rho y_hat) / sin, f = (y_hat - rho x_hat) / sin. Raises _NotSmooth when the ball
    allows x = 0, y = 0 or |rho| = 1 (k is not twice differentiable there).
    """
    from flint import arb

    qx, qy, c = _dot(x, x), _dot(y, y), _dot(x, y)
    if not (qx > 0 and qy > 0):
        raise _NotSmooth("a neuron may be zero")
    disc = qx * qy - c * c  # |x|^2 |y|^2 sin^2
    if not disc > 0:
        raise _NotSmooth("two neurons (or a neuron and the target) may be parallel or antiparallel")
    nx, ny = qx.sqrt(), qy.sqrt()
    p = nx * ny
    sp = disc.sqrt()
    pi = arb.pi()
    theta = arb.atan2(sp, c)
    a = sp / (p * 2 * pi)
    Kp = (pi - theta) / (2 * pi)
    rho = c / p
    k = p * (a + rho * Kp)
    xh = [xi / nx for xi in x]
    yh = [yi / ny for yi in y]
    g = [nx * a * yi + Kp * xi for xi, yi in zip(x, yh)]
    if not hessians:
        return k, g, None, None
    sin = sp / p
    e = [(xi - rho * yi) / sin for xi, yi in zip(xh, yh)]
    f = [(yi - rho * xi) / sin for xi, yi in zip(xh, yh)]
    n = len(x)
    Hyy = (nx / ny * a) * (_eye(n) - _outer(yh, yh) + _outer(e, e))
    Hyx = Kp * _eye(n) + a * (_outer(e, f) + _outer(yh, xh))
    return k, g, Hyy, Hyx


def simplified_grad_hess_arb(b, V, mu, s, abar, hessian=True):
    r"""(gradient as a list of n arb balls, Hessian as an n x n arb_mat or None) of L~ (ReLU).

    b: list of M arb; V: list of M lists of d arb; mu: list of d arb; s, abar: arb. The formulas of
    `verify.model.simplified` (docstring there), variables z = (b, v_1, ..., v_M); the target
    enters as the neuron u = (mu, s) in R^(d+1) against (v_j, 0). The Hessian is assembled
    symmetric (the v_j v_m blocks for j < m, mirrored). Call inside a precision context.
    Raises _NotSmooth when L~ is not twice differentiable on the ball.
    """
    from flint import arb, arb_mat

    M, d = len(V), len(mu)
    n = M + M * d
    u = list(mu) + [s]
    zero = arb(0)
    q = [_dot(v, v) for v in V]
    # pairs with the target: C_j = k(u, v_j), g(u, v_j), H_yy(u, v_j) (first d coordinates)
    C, gU, HU = [], [], []
    for j in range(M):
        k, g, Hyy, _ = _relu_pair_arb(u, list(V[j]) + [zero], hessian)
        C.append(k)
        gU.append(g[:d])
        HU.append(None if Hyy is None else arb_mat([[Hyy[i, i2] for i2 in range(d)] for i in range(d)]))
    # neuron pairs (k, j), k != j: x = v_k, y = v_j
    K = [[None] * M for _ in range(M)]
    G = [[None] * M for _ in range(M)]
    HYY = [[None] * M for _ in range(M)]
    HYX = [[None] * M for _ in range(M)]
    for kk in range(M):
        for j in range(M):
            if kk != j:
                K[kk][j], G[kk][j], HYY[kk][j], HYX[kk][j] = _relu_pair_arb(V[kk], V[j], hessian)
    for j in range(M):
        K[j][j] = q[j] / 2
    # gradient
    grad = []
    for j in range(M):
        acc = -abar * C[j]
        for kk in range(M):
            acc += K[j][kk] * b[kk]
        grad.append(2 * acc)
    inner = []  # sum_{k != j} b_k g(v_k, v_j) - abar g(u, v_j)
    for j in range(M):
        vec = [-abar * gi for gi in gU[j]]
        for kk in range(M):
            if kk != j:
                vec = [a + b[kk] * gi for a, gi in zip(vec, G[kk][j])]
        inner.append(vec)
    for j in range(M):
        grad.extend(2 * b[j] * inner[j][i] + b[j] * b[j] * V[j][i] for i in range(d))
    if not hessian:
        return grad, None
    H = [[zero] * n for _ in range(n)]

    def put(i, jj, val):
        H[i][jj] = val
        H[jj][i] = val

    for j in range(M):
        H[j][j] = q[j]
        for kk in range(j + 1, M):
            put(j, kk, 2 * K[j][kk])
    for j in range(M):
        off = M + j * d
        for i in range(d):
            put(j, off + i, 2 * inner[j][i] + 2 * b[j] * V[j][i])
        for m in range(M):
            if m != j:
                for i in range(d):
                    put(m, off + i, 2 * b[j] * G[m][j][i])
    for j in range(M):
        off = M + j * d
        blk = -abar * HU[j]
        for kk in range(M):
            if kk != j:
                blk = blk + b[kk] * HYY[kk][j]
        blk = 2 * b[j] * blk
        bj2 = b[j] * b[j]
        for i in range(d):
            for i2 in range(i, d):
                val = blk[i, i2] + (bj2 if i == i2 else 0)
                put(off + i, off + i2, val)
        for m in range(j + 1, M):
            offm = M + m * d
            cross = 2 * b[j] * b[m] * HYX[m][j]  # d2L / dv_j dv_m, rows v_j
            for i in range(d):
                for i2 in range(d):
                    H[off + i][offm + i2] = cross[i, i2]
                    H[offm + i2][off + i] = cross[i, i2]
    return grad, arb_mat(H)


# --------------------------------------------------------------------------------------------
# Configurations and symmetry tangents
# --------------------------------------------------------------------------------------------


def _simplex_arb(M):
    """M x (M-1) Helmert simplex coordinates as arb balls (the rows of `etf._simplex_coordinates`)."""
    from flint import arb

    scale = (arb(M) / (M - 1)).sqrt()
    E = [[arb(0)] * (M - 1) for _ in range(M)]
    for k in range(1, M):
        c = scale / arb(k * (k + 1)).sqrt()
        for j in range(k):
            E[j][k - 1] = c
        E[k][k - 1] = -k * c
    return E


def _etf_arb(M, d, m, s, abar, alpha):
    """(b, V, dV/dalpha) of the tilted ETF at an arb alpha (mu = m e_1), b_j = beta(alpha).

    mu = 0: the simplex in coordinates 1..M-1 (alpha ignored); M = 1: v = alpha e_1 (alpha = +-1)
    or e_1 for mu = 0. Coordinates match `etf.tilted_etf` with mu along e_1.
    """
    from flint import arb

    m_, s_, abar_ = arb(m), arb(s), arb(abar)
    r = (m_ * m_ + s_ * s_).sqrt()
    rho = m_ / r
    zero = arb(0)
    V = [[zero] * d for _ in range(M)]
    dV = [[zero] * d for _ in range(M)]
    if M == 1:
        V[0][0] = arb(1) if m == 0 else alpha
        D = arb(1) / 2
        h = relu_K_arb(rho * V[0][0])
    elif m == 0:
        E = _simplex_arb(M)
        for j in range(M):
            V[j][: M - 1] = E[j]
        t = arb(-1) / (M - 1)
        D = arb(1) / 2 + (M - 1) * relu_K_arb(t)
        h = relu_K_arb(zero)
    else:
        E = _simplex_arb(M)
        c = (1 - alpha * alpha).sqrt()
        dc = -alpha / c
        for j in range(M):
            V[j][0] = alpha
            dV[j][0] = arb(1)
            for k in range(M - 1):
                V[j][1 + k] = c * E[j][k]
                dV[j][1 + k] = dc * E[j][k]
        t = alpha * alpha - (1 - alpha * alpha) / (M - 1)
        D = arb(1) / 2 + (M - 1) * relu_K_arb(t)
        h = relu_K_arb(rho * alpha)
    beta = abar_ * r * h / D
    return [beta] * M, V, dV


def _perp_basis(mu):
    """d x (d-1) float orthonormal basis of mu-perp (Householder; exact for mu on a coordinate
    axis), or the identity for mu = 0."""
    d = mu.size
    nm = math.sqrt(math.fsum(mu * mu))
    if nm == 0.0:
        return np.eye(d)
    mh = mu / nm
    v = mh.copy()
    v[0] += 1.0 if mh[0] >= 0 else -1.0
    Hh = np.eye(d) - (2.0 / (v @ v)) * np.outer(v, v)
    return Hh[:, 1:]


def _generators(M, d, P):
    """The continuous symmetry generators: ('h', j) homogeneity of neuron j, ('r', p, q) the
    rotation A = P_p P_q^T - P_q P_p^T of mu-perp (P its float basis)."""
    gens = [("h", j) for j in range(M)]
    k = P.shape[1]
    gens += [("r", p, q) for p in range(k) for q in range(p + 1, k)]
    return gens


def _tangent_float(gen, b, V, P):
    M, d = V.shape
    t = np.zeros(M + M * d)
    if gen[0] == "h":
        j = gen[1]
        t[j] = -b[j]
        t[M + j * d: M + (j + 1) * d] = V[j]
    else:
        p, q = P[:, gen[1]], P[:, gen[2]]
        t[M:] = (np.outer(V @ q, p) - np.outer(V @ p, q)).ravel()
    return t


def _tangent_arb(gen, b, V, P):
    from flint import arb

    M, d = len(V), len(V[0])
    t = [arb(0)] * (M + M * d)
    if gen[0] == "h":
        j = gen[1]
        t[j] = -b[j]
        t[M + j * d: M + (j + 1) * d] = list(V[j])
    else:
        p, q = P[:, gen[1]], P[:, gen[2]]
        nzp, nzq = np.flatnonzero(p), np.flatnonzero(q)
        for j in range(M):
            vq = _dot([V[j][i] for i in nzq], [arb(float(x)) for x in q[nzq]])
            vp = _dot([V[j][i] for i in nzp], [arb(float(x)) for x in p[nzp]])
            for i in range(d):
                if p[i] != 0.0 or q[i] != 0.0:
                    t[M + j * d + i] = vq * float(p[i]) - vp * float(q[i])
    return t


# --------------------------------------------------------------------------------------------
# Linear algebra with balls
# --------------------------------------------------------------------------------------------


def _mid_array(A):
    return np.array([[float(A[i, j].mid()) for j in range(A.ncols())] for i in range(A.nrows())])


def _gershgorin(S, idx):
    """(lower bound of lambda_min, upper bound of lambda_max) of every symmetric matrix in the arb
    ball matrix S restricted to rows/columns idx (rigorous, as arb balls)."""
    from flint import arb

    lo = hi = None
    for i in idx:
        rad = arb(0)
        for j in idx:
            if j != i:
                rad += abs(S[i, j])
        a, b_ = S[i, i] - rad, S[i, i] + rad
        lo = a.lower() if lo is None else lo.min(a.lower())
        hi = b_.upper() if hi is None else hi.max(b_.upper())
    return lo, hi


def _analyse(grad, H, b, V, mu_f, bm, Vm):
    """The common part: gradient radius, symmetry tangents, restricted Hessian bounds.

    grad, H: arb; b, V: arb configuration; mu_f: float mu; bm, Vm: float mids.
    Returns a dict of the LocalCertificate fields it determines.
    """
    from flint import arb_mat

    M, d = Vm.shape
    n = M + M * d
    grad_rad = max(_upper(abs(g)) for g in grad)
    contains0 = all(g.contains(0) for g in grad)
    # symmetry tangents: float selection, arb evaluation, Gram check
    P = _perp_basis(mu_f)
    gens = _generators(M, d, P)
    Tf = np.column_stack([_tangent_float(g, bm, Vm, P) for g in gens])
    sv = np.linalg.svd(Tf, compute_uv=False)
    r = int(np.sum(sv > RANK_RTOL * sv[0])) if sv.size and sv[0] > 0 else 0
    _, _, piv = scipy.linalg.qr(Tf, mode="economic", pivoting=True)
    sel = [gens[i] for i in piv[:r]]
    out = {"n": n, "symmetry_dimension": r, "complement_dimension": n - r, "gradient_radius": grad_rad,
           "gradient_contains_zero": contains0}
    tangents_ok = True
    if r:
        Tsel = Tf[:, piv[:r]]
        _, R = np.linalg.qr(Tsel)
        Cm = np.linalg.inv(R)  # T_sel C is nearly orthonormal; C is just some float matrix
        Ta = arb_mat([list(row) for row in zip(*[_tangent_arb(g, b, V, P) for g in sel])])
        B = Ta * arb_mat(Cm.tolist())
        Gram = B.transpose() * B
        glo, _ = _gershgorin(Gram, range(r))
        tangents_ok = glo > 0
        Bm = _mid_array(B)
        Qf, _ = np.linalg.qr(Bm, mode="complete")
    else:
        Qf = np.eye(n)
    T0, W0 = Qf[:, :r], Qf[:, r:]
    Hm = _mid_array(H)
    Hm = 0.5 * (Hm + Hm.T)
    C0 = W0.T @ Hm @ W0
    lam, U = np.linalg.eigh(0.5 * (C0 + C0.T))
    W = W0 @ U
    F = np.hstack([T0, W])
    Fa = arb_mat(F.tolist())
    Sf = Fa.transpose() * H * Fa
    Gf = Fa.transpose() * Fa
    k = n - r
    cidx = range(r, n)
    slo, _ = _gershgorin(Sf, cidx)
    glo_w, ghi_w = _gershgorin(Gf, cidx)  # sigma_min(W)^2 >= glo_w, sigma_max(W)^2 <= ghi_w
    _, shi = _gershgorin(Sf, range(n))
    gflo, _ = _gershgorin(Gf, range(n))
    if k == 0:
        lam_lo = math.inf
    elif slo > 0:
        lam_lo = _lower(slo / ghi_w)
    elif glo_w > 0:
        lam_lo = _lower(slo / glo_w)
    else:
        lam_lo = -math.inf
    lam_hi = _upper(shi / gflo) if (gflo > 0 and shi > 0) else (0.0 if shi <= 0 and gflo > 0 else math.inf)
    negcurv = k > 0 and bool(Sf[r, r] < 0)
    out.update(
        tangents_ok=bool(tangents_ok), positive=bool(k == 0 or slo > 0), min_eigenvalue=lam_lo,
        min_eigenvalue_estimate=float(lam[0]) if k else math.inf, max_eigenvalue=lam_hi,
        negative_curvature=negcurv,
    )
    return out


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _phi_prime(M, d, m, s, abar, alpha):
    """<grad L~(z(alpha)), dz/dalpha> at the ETF with b = beta(alpha), as an arb ball."""
    from flint import arb

    b, V, dV = _etf_arb(M, d, m, s, abar, alpha)
    mu = [arb(m)] + [arb(0)] * (d - 1)
    grad, _ = simplified_grad_hess_arb(b, V, mu, arb(s), arb(abar), hessian=False)
    out = arb(0)
    for j in range(M):
        out += _dot(grad[M + j * d: M + (j + 1) * d], dV[j])
    return out


def _finish(t0, info, **kw):
    fields = dict(info)
    fields.update(kw)
    for key in ("tangents_ok", "positive"):
        fields.pop(key, None)
    fields["seconds"] = time.perf_counter() - t0
    return LocalCertificate(**fields)


def _verdict(info, critical):
    if not critical:
        return "inconclusive", None
    if not info["gradient_contains_zero"]:
        return "inconclusive", "gradient ball excludes 0 although a critical point was proven (internal inconsistency)"
    if not info["tangents_ok"]:
        return "inconclusive", f"the {info['symmetry_dimension']} symmetry tangents were not proven independent"
    if info["positive"]:
        return "certified", ""
    if info["negative_curvature"]:
        return "not-a-minimum", (
            f"exact critical point with a certified direction of negative curvature "
            f"(restricted Hessian eigenvalue estimate {info['min_eigenvalue_estimate']:.6g}): not a local minimum"
        )
    return "inconclusive", (
        f"restricted Hessian not proven positive definite (smallest eigenvalue estimate "
        f"{info['min_eigenvalue_estimate']:.6g}, lower bound {info['min_eigenvalue']:.6g})"
    )


def certify_local(M: int, d: int, mu_norm: float, s: float, abar: float = 1.0, prec: int = 128,
                  alpha=None) -> LocalCertificate:
    r"""Certify the tilted simplex ETF of L~ (ReLU, mu = mu_norm e_1) as a strict local minimum
    modulo symmetry, in arb ball arithmetic at `prec` bits (module docstring: what is proven).

    M >= 1 neurons in R^d; d >= M for mu != 0 (d >= 1 for M = 1), d >= M - 1 for mu = 0.
    alpha: the candidate tilt (float, mpf or decimal string); default: `best_etf`'s alpha* at
    prec * log10(2) + 10 digits. For M >= 2 and mu != 0 a sign change of dL~/dalpha must be
    certified on [alpha - delta, alpha + delta] (delta = 2^-(prec/2), 2^-32 or 2^-20); M = 1 takes
    alpha = +-1 only (v = alpha e_1), mu = 0 ignores alpha (the untilted simplex).
    Returns a LocalCertificate; `seconds` is the wall time of the whole call.
    """
    from flint import arb

    t0 = time.perf_counter()
    M = _int_at_least("M", M, 1)
    d = _int_at_least("d", d, 1)
    m = _finite("mu_norm", mu_norm, lo=0.0)
    s = _finite("s", s, lo=0.0, strict=True)
    abar = _finite("abar", abar)
    prec = _check_prec(prec)
    if m == 0.0 and d < M - 1:
        raise InputError(f"the simplex of M = {M} neurons needs d >= M - 1 = {M - 1} (mu = 0), got d = {d}")
    if m != 0.0 and M >= 2 and d < M:
        raise InputError(f"the tilted simplex of M = {M} neurons needs d >= M (mu != 0), got d = {d}")
    base = {"M": M, "d": d, "mu_norm": m, "s": s, "abar": abar, "prec": prec}

    # 1. the tilt: exact, or an interval with a certified sign change of phi'
    with mpmath.workdps(int(prec * 0.30103) + 20):
        if alpha is None:
            a0 = mpmath.mpf(0) if m == 0.0 else None
        else:
            try:
                a0 = mpmath.mpf(alpha.strip() if isinstance(alpha, str) else alpha)
            except (TypeError, ValueError):
                raise InputError(f"alpha must be a number or a decimal string, got {alpha!r}") from None
            if not (mpmath.isfinite(a0) and abs(a0) <= 1):
                raise InputError(f"alpha must be finite and in [-1, 1], got {alpha!r}")
        if M == 1 and m != 0.0:
            if a0 is None:
                a0 = mpmath.mpf(1)
            if abs(a0) != 1:
                raise InputError("M = 1 with mu != 0: alpha must be +1 or -1 (v = alpha e_1 is critical only there)")
        if a0 is None:
            from verify.model.etf import best_etf

            a0 = best_etf(M, m, s, abar, dps=min(1000, int(prec * 0.30103) + 10)).alpha
    with flint_prec(prec):
        mu = [arb(m)] + [arb(0)] * (d - 1)
        exact = m == 0.0 or M == 1
        A = _mpf_to_arb(a0)
        critical, reason0, interval = exact, None, None
        if not exact:
            if abs(a0) == 1:
                return _inconclusive_early(t0, base, "alpha = +-1: all neurons coincide and L~ is not differentiable there")
            for e in DELTA_EXPONENTS:
                delta = arb(2) ** -(prec // 2 if e is None else e)
                lo, hi = A - delta, A + delta
                if not (lo > -1 and hi < 1):
                    continue
                interval = (_decimal(lo, ALPHA_DIGITS, up=False), _decimal(hi, ALPHA_DIGITS, up=True))
                try:
                    plo, phi = _phi_prime(M, d, m, s, abar, lo), _phi_prime(M, d, m, s, abar, hi)
                except _NotSmooth:
                    continue
                if (plo < 0 and phi > 0) or (plo > 0 and phi < 0):
                    critical = True
                    A = lo.union(hi)
                    break
            if not critical:
                if interval is not None:  # report the balls over the last interval tried
                    A = lo.union(hi)
                reason0 = ("no certified sign change of dL~/dalpha on [alpha - delta, alpha + delta] "
                           "(delta up to 2^-20): no exact critical point proven")
        b, V, _ = _etf_arb(M, d, m, s, abar, A)
        try:
            grad, H = simplified_grad_hess_arb(b, V, mu, arb(s), arb(abar))
        except _NotSmooth as exc:
            return _inconclusive_early(t0, base, f"L~ is not twice differentiable on the ball: {exc}", interval)
        bm = np.array([float(x.mid()) for x in b])
        Vm = np.array([[float(x.mid()) for x in row] for row in V])
        mu_f = np.zeros(d)
        mu_f[0] = m
        with threadpool_limits(limits=1, user_api="blas"):  # small matrices: threads only cost
            info = _analyse(grad, H, b, V, mu_f, bm, Vm)
    status, reason = _verdict(info, critical)
    if reason is None:
        reason = reason0
    return _finish(t0, info, status=status, certified=status == "certified", critical_point_proven=critical,
                   alpha=interval if interval else (str(a0), str(a0)), reason=reason, **base)


def _inconclusive_early(t0, base, reason, interval=None):
    return LocalCertificate(
        status="inconclusive", certified=False, critical_point_proven=False, min_eigenvalue=-math.inf,
        min_eigenvalue_estimate=math.nan, max_eigenvalue=math.inf, gradient_radius=math.inf,
        gradient_contains_zero=False, negative_curvature=False, alpha=interval, symmetry_dimension=0,
        complement_dimension=0, n=base["M"] * (1 + base["d"]), reason=reason,
        seconds=time.perf_counter() - t0, **base,
    )


def certify_configuration(b, V, mu, s: float, abar: float = 1.0, prec: int = 128) -> LocalCertificate:
    r"""The balls of the local certificate at an arbitrary float configuration (b, V) of L~ (ReLU).

    b: shape (M,); V: shape (M, d); mu: shape (d,) (any direction; the rotation generators use a
    float basis of mu-perp, exact when mu lies on a coordinate axis); s > 0; abar finite.
    Computes the gradient ball at the float point (gradient_radius, gradient_contains_zero), the
    symmetry tangent space there and the bounds of the Hessian on its float complement. No
    interval Newton step is implemented, so no exact critical point is ever proven: the result is
    always certified = False, status "inconclusive", with the reason
    "gradient ball does not contain 0: no exact critical point proven" when it does not.
    """
    from flint import arb

    t0 = time.perf_counter()
    prec = _check_prec(prec)
    b = np.asarray(b, dtype=float)
    V = np.asarray(V, dtype=float)
    mu = np.asarray(mu, dtype=float)
    if V.ndim != 2 or b.shape != (V.shape[0],) or mu.shape != (V.shape[1],) or V.shape[0] < 1:
        raise InputError(f"need b of shape (M,), V of shape (M, d), mu of shape (d,); got {b.shape}, {V.shape}, {mu.shape}")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(V)) and np.all(np.isfinite(mu))):
        raise InputError("b, V and mu must be finite")
    s = _finite("s", s, lo=0.0, strict=True)
    abar = _finite("abar", abar)
    M, d = V.shape
    base = {"M": M, "d": d, "mu_norm": math.sqrt(math.fsum(mu * mu)), "s": s, "abar": abar, "prec": prec}
    with flint_prec(prec):
        ba = [arb(float(x)) for x in b]
        Va = [[arb(float(x)) for x in row] for row in V]
        try:
            grad, H = simplified_grad_hess_arb(ba, Va, [arb(float(x)) for x in mu], arb(s), arb(abar))
        except _NotSmooth as exc:
            return _inconclusive_early(t0, base, f"L~ is not twice differentiable here: {exc}")
        with threadpool_limits(limits=1, user_api="blas"):
            info = _analyse(grad, H, ba, Va, mu, b, V)
    if not info["gradient_contains_zero"]:
        reason = "gradient ball does not contain 0: no exact critical point proven"
    else:
        reason = "gradient ball contains 0, but a float candidate has no existence proof (no interval Newton step)"
    return _finish(t0, info, status="inconclusive", certified=False, critical_point_proven=False, alpha=None,
                   reason=reason, **base)
