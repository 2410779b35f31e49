r"""The exact finite-N population loss (MATH.md section 3).

    L_N(b, V) = E_x (f_N(x) - g(x))^2 = u^T K_WW u - 2 u^T K_WV b + b^T K_VV b,   u = a / N,

with [K_AB]_ij = k_sigma(||A_i||^2, ||B_j||^2, <A_i, B_j>). The Gaussian expectation over x is
exact; no sampling is involved. The target-target term costs O(N^2 d) and does not depend on
(b, V): it is computed once, over the upper triangle of blocks only (K_WW is symmetric), with
blocks small enough that the temporaries stay below `MEMORY_BUDGET` whatever N is.

ReLU gradient (analytic). For k(w, v) = ||w|| ||v|| K(rho), the derivative in v is

    d k / d v = (||w|| sin(theta) / (2 pi)) v_hat + ((pi - theta) / (2 pi)) w,

theta the angle between w and v (E[relu(<w,x>) 1{<v,x> > 0} x]). Hence, with
S_ij = ||w_i|| sin(theta_ij) / (2 pi) and P_ij = (pi - theta_ij) / (2 pi) (the step kernel),

    dL/db   = 2 (K_VV b - K_WV^T u),
    dL/dv_j = 2 b_j [ sum_k b_k d k(v_k, v_j)/d v_j - sum_i u_i d k(w_i, v_j)/d v_j ].

At v_j = 0 the loss is not differentiable; the formula is then evaluated with v_hat = 0,
theta = pi/2 (one element of the Clarke subdifferential).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import mpmath
import numpy as np

from verify.errors import InputError
from verify.kernels import Activation, get_activation, kernel_block, row_norms_sq
from verify.kernels.relu import relu_dK64_atan2, relu_sin64
from verify.model.networks import TwoLayerNetwork

MEMORY_BUDGET = 512 * 2**20  # bytes for all temporaries of the blocked evaluation
_TEMPS_PER_BLOCK = 5  # the block itself, three fused chunk buffers per thread (small), a margin


def block_size(n_cols: int, budget: int | None = None) -> int:
    """Rows per block so that a rows x n_cols float64 block and its temporaries fit the budget
    (`MEMORY_BUDGET`, read at call time)."""
    budget = MEMORY_BUDGET if budget is None else budget
    per_row = 8 * max(n_cols, 1) * _TEMPS_PER_BLOCK
    return int(max(16, min(4096, budget // per_row)))


def _check_pair(target: TwoLayerNetwork, compressed: TwoLayerNetwork) -> None:
    if target.dim != compressed.dim:
        raise InputError(f"target has input dimension {target.dim} but the compressed network {compressed.dim}")
    if target.activation != compressed.activation:
        raise InputError("target and compressed network must share the activation")


def self_term(act: Activation | str, u: np.ndarray, W: np.ndarray, *, progress=None) -> float:
    """u^T K_WW u by symmetric blocks: each off-diagonal block is computed once and counted twice.

    The block edge B is chosen so that a B x B block fits the memory budget (B <= 4096).
    `progress`, if given, is called with the fraction done after each block row.
    """
    act = get_activation(act)
    W = np.ascontiguousarray(W, dtype=float)
    u = np.asarray(u, dtype=float)
    N = W.shape[0]
    B = min(N, block_size(min(N, 4096)))
    q = row_norms_sq(W)
    buf = np.empty(B * B)  # reused; each block is a C-contiguous view of its first entries
    total = 0.0
    starts = list(range(0, N, B))
    for bi, i0 in enumerate(starts):
        i1 = min(i0 + B, N)
        row = 0.0
        for j0 in starts[bi:]:
            j1 = min(j0 + B, N)
            out = buf[: (i1 - i0) * (j1 - j0)].reshape(i1 - i0, j1 - j0)
            K = kernel_block(act, W[i0:i1], W[j0:j1], q[i0:i1], q[j0:j1], out=out, diag_offset=0 if j0 == i0 else None)
            contrib = u[i0:i1] @ K @ u[j0:j1]
            row += contrib if j0 == i0 else 2.0 * contrib
        total += row
        if progress is not None:
            progress((bi + 1) / len(starts))
    return float(total)


def cross_matrix(act: Activation, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """K_WV (N x M) in row blocks (M is small; N may be large)."""
    N, M = W.shape[0], V.shape[0]
    out = np.empty((N, M))
    qv = row_norms_sq(V)
    step = block_size(M)
    for i0 in range(0, N, step):
        i1 = min(i0 + step, N)
        kernel_block(act, W[i0:i1], V, None, qv, out=out[i0:i1])
    return out


@dataclass(frozen=True)
class LossTerms:
    """L_N = target - 2 cross + compressed, with each term kept (the first is reusable)."""

    target: float
    cross: float
    compressed: float

    @property
    def loss(self) -> float:
        return self.target - 2.0 * self.cross + self.compressed


def loss_terms(target: TwoLayerNetwork, compressed: TwoLayerNetwork, *, target_term: float | None = None,
               progress=None) -> LossTerms:
    """The three terms of L_N; pass `target_term` (from `self_term`) to skip the O(N^2) part;
    `progress` is passed to `self_term`."""
    _check_pair(target, compressed)
    act = target.activation
    u = target.effective_weights
    b = compressed.effective_weights
    T = self_term(act, u, target.inner, progress=progress) if target_term is None else float(target_term)
    X = float(u @ (cross_matrix(act, target.inner, compressed.inner) @ b))
    Y = float(b @ kernel_block(act, compressed.inner, compressed.inner, diag_offset=0) @ b)
    return LossTerms(T, X, Y)


def loss(target: TwoLayerNetwork, compressed: TwoLayerNetwork, *, target_term: float | None = None,
         progress=None) -> float:
    """L_N(b, V) in float64 (exact population loss; no sampling); `progress(fraction)` is called as
    the O(N^2) target term advances."""
    return loss_terms(target, compressed, target_term=target_term, progress=progress).loss


def _relu_dk_dv(W: np.ndarray, V: np.ndarray):
    """Matrices S (||w_i|| sin theta_ij / 2 pi), P ((pi - theta_ij) / 2 pi) and v_hat for ReLU."""
    nw = np.sqrt(row_norms_sq(W))
    nv = np.sqrt(row_norms_sq(V))
    C = W @ V.T
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where((nw[:, None] > 0) & (nv[None, :] > 0), C / (nw[:, None] * nv[None, :]), 0.0)
    rho = np.clip(rho, -1.0, 1.0)
    sin = relu_sin64(rho)
    S = nw[:, None] * sin / (2 * math.pi)
    P = relu_dK64_atan2(rho, sin)
    with np.errstate(divide="ignore", invalid="ignore"):
        vhat = np.where(nv[:, None] > 0, V / np.where(nv > 0, nv, 1.0)[:, None], 0.0)
    return S, P, vhat


def _relu_grad_V_term(weights_rows: np.ndarray, rows: np.ndarray, V: np.ndarray) -> np.ndarray:
    """sum_i weights_rows[i] d k(rows_i, v_j) / d v_j for every j (M x d)."""
    S, P, vhat = _relu_dk_dv(rows, V)
    return (weights_rows @ S)[:, None] * vhat + (P * weights_rows[:, None]).T @ rows


def loss_and_grad_relu(target: TwoLayerNetwork, compressed: TwoLayerNetwork, *, target_term: float | None = None):
    """(L_N, dL/db, dL/dV) for ReLU; b, V are the compressed network's weights (scale folded in)."""
    _check_pair(target, compressed)
    if target.activation.name != "relu":
        raise InputError("the analytic gradient is implemented for relu only")
    act = target.activation
    u, W = target.effective_weights, target.inner
    b, V = compressed.effective_weights, compressed.inner
    terms = loss_terms(target, compressed, target_term=target_term)
    Kwv = cross_matrix(act, W, V)
    Kvv = kernel_block(act, V, V)
    grad_b = 2.0 * (Kvv @ b - Kwv.T @ u)
    from_target = np.zeros_like(V)
    step = block_size(V.shape[0])
    for i0 in range(0, W.shape[0], step):
        i1 = min(i0 + step, W.shape[0])
        from_target += _relu_grad_V_term(u[i0:i1], W[i0:i1], V)
    from_self = _relu_grad_V_term(b, V, V)
    grad_V = 2.0 * b[:, None] * (from_self - from_target)
    return terms.loss, grad_b * compressed.scale, grad_V


# --------------------------------------------------------------------------------------------
# Independent twins: mpmath (exact arithmetic on the inputs, closed or quadrature kernels) and
# Monte Carlo over x.
# --------------------------------------------------------------------------------------------


def _mp_dot(x: np.ndarray, y: np.ndarray) -> mpmath.mpf:
    return mpmath.fsum(mpmath.mpf(float(a)) * mpmath.mpf(float(b)) for a, b in zip(x, y))


def loss_mp(target: TwoLayerNetwork, compressed: TwoLayerNetwork, dps: int = 30) -> mpmath.mpf:
    """L_N at `dps` digits: every inner product and kernel in mpmath (intended for N up to ~100)."""
    _check_pair(target, compressed)
    act = target.activation
    if act.k_mp is None:
        from verify.kernels.quadrature import kernel_quad_mp

        def k(q1, q2, c):
            return kernel_quad_mp(act, q1, q2, c, dps)[0]
    else:
        k = act.k_mp
    with mpmath.workdps(dps + 15):
        nets = [target, compressed]
        # The float scale (e.g. fl(1/N)) is used as is, so both paths see the same inputs.
        rows = [(mpmath.mpf(float(w)) * mpmath.mpf(n.scale), x) for n in nets for w, x in zip(n.weights, n.inner)]
        signs = [1] * target.width + [-1] * compressed.width
        q = [_mp_dot(x, x) for _, x in rows]
        total = mpmath.mpf(0)
        n = len(rows)
        for i in range(n):
            wi, xi = rows[i]
            total += signs[i] * signs[i] * wi * wi * k(q[i], q[i], q[i])
            for j in range(i + 1, n):
                wj, xj = rows[j]
                total += 2 * signs[i] * signs[j] * wi * wj * k(q[i], q[j], _mp_dot(xi, xj))
    with mpmath.workdps(dps):
        return +total


@dataclass(frozen=True)
class MonteCarloEstimate:
    mean: float
    stderr: float
    samples: int
    seed: int
    seconds: float


def loss_monte_carlo(
    target: TwoLayerNetwork,
    compressed: TwoLayerNetwork,
    *,
    samples: int | None = None,
    seconds: float | None = None,
    seed: int = 0,
    batch: int = 4096,
) -> MonteCarloEstimate:
    """Sample mean of (f_N(x) - g(x))^2 over x ~ N(0, I_d), with its standard error.

    Stops after `samples` draws or after `seconds` of wall time, whichever is given (both: first).
    """
    _check_pair(target, compressed)
    if samples is None and seconds is None:
        raise InputError("give samples or seconds")
    rng = np.random.default_rng(seed)
    n, s1, s2 = 0, 0.0, 0.0
    t0 = time.perf_counter()
    while True:
        m = batch if samples is None else min(batch, samples - n)
        if m <= 0:
            break
        x = rng.standard_normal((m, target.dim))
        r = (target(x) - compressed(x)) ** 2
        n += m
        s1 += float(r.sum())
        s2 += float((r * r).sum())
        if seconds is not None and time.perf_counter() - t0 >= seconds:
            break
    mean = s1 / n
    var = max(s2 / n - mean * mean, 0.0) * n / max(n - 1, 1)
    return MonteCarloEstimate(mean, math.sqrt(var / n), n, seed, time.perf_counter() - t0)


FLOAT64_TINY = 2.2250738585072014e-308  # the smallest normal float64


@dataclass(frozen=True)
class ScaledLoss:
    """L_N = mantissa * 2^exponent: the float64 loss of a rescaled problem and the exact power of
    two that undoes the rescaling, so that losses beyond the float64 range keep their digits."""

    mantissa: float
    exponent: int

    def as_float(self) -> float | None:
        """The value as a normal float64 (or 0.0), None when it lies outside that range."""
        if self.mantissa == 0.0:
            return 0.0
        try:
            v = math.ldexp(self.mantissa, self.exponent)
        except OverflowError:
            return None
        return v if math.isfinite(v) and abs(v) >= FLOAT64_TINY else None

    def decimal(self, digits: int = 17) -> str:
        """The value as a decimal string with `digits` significant digits (exact binary to decimal)."""
        with mpmath.workprec(64):
            return mpmath.nstr(mpmath.ldexp(mpmath.mpf(self.mantissa), self.exponent), digits, strip_zeros=False)


def _exponent_of(x: np.ndarray) -> int:
    """e with max |x| in [2^(e-1), 2^e) (0 for an all-zero array)."""
    m = float(np.max(np.abs(x), initial=0.0))
    return math.frexp(m)[1] if m > 0 else 0


# Input weights whose largest entry lies outside [2^-INNER_EXP_SAFE, 2^INNER_EXP_SAFE] would give
# inner products near the float64 range limits (2^-1022 .. 2^1024, or subnormal with lost digits).
INNER_EXP_SAFE = 250
INNER_EXP_LIMIT = 500


def loss_finite(target: TwoLayerNetwork, compressed: TwoLayerNetwork, *, progress=None) -> ScaledLoss:
    """L_N in float64 without overflow, underflow or NaN, as mantissa * 2^exponent.

    The plain evaluation is used when the input weights are of moderate size and the value is a
    normal float64 (the common case, bit for bit `loss`). Otherwise the problem is rescaled by
    exact powers of two: L_N is quadratic in the output weights (a, b -> 2^-e a, 2^-e b multiplies
    it by 2^-2e) and, for a positively homogeneous activation of degree p (two-slope: p = 1, step
    and sign: p = 0), of degree 2p in the input weights (W, V -> 2^-f W, 2^-f V multiplies it by
    2^-2pf). Other activations cannot have their input weights rescaled: InputError when the
    largest entry exceeds 2^500 (squared norms overflow) or is below 2^-500 (inner products
    underflow), or when the value leaves the float64 range."""
    act = target.activation
    p = act.degree
    W, V = target.inner, compressed.inner
    f = max(_exponent_of(W), _exponent_of(V))
    if p is None and abs(f) > INNER_EXP_LIMIT:
        raise InputError(_range_reason(act, target, compressed, "overflows" if f > 0 else "underflows"))
    if p is None or abs(f) <= INNER_EXP_SAFE:
        with np.errstate(all="ignore"):
            plain = loss(target, compressed, progress=progress)
        if plain != 0.0 and ScaledLoss(plain, 0).as_float() is not None:
            return ScaledLoss(plain, 0)
    if p is None:
        f = 0
    else:
        W, V = np.ldexp(W, -f), np.ldexp(V, -f)
    a, b = target.weights * target.scale, compressed.weights
    e = max(_exponent_of(a), _exponent_of(compressed.scale * b))
    with np.errstate(all="ignore"):
        scaled = loss(TwoLayerNetwork(np.ldexp(a, -e), W, act), TwoLayerNetwork(np.ldexp(b, -e), V, act, scale=compressed.scale),
                      progress=progress)
    if not math.isfinite(scaled):
        raise InputError(_range_reason(act, target, compressed, "overflows"))
    if p is None and 0.0 < abs(scaled) < FLOAT64_TINY * 2.0**53:
        # the kernel values themselves are near underflow: no exact rescaling recovers their digits
        raise InputError(_range_reason(act, target, compressed, "underflows"))
    return ScaledLoss(scaled, 2 * e + 2 * (p or 0) * f)


def _range_reason(act: Activation, target: TwoLayerNetwork, compressed: TwoLayerNetwork, what: str) -> str:
    big = max(float(np.max(np.abs(target.inner), initial=0.0)), float(np.max(np.abs(compressed.inner), initial=0.0)))
    with np.errstate(all="ignore"):
        norms_overflow = not (np.all(np.isfinite(row_norms_sq(target.inner))) and np.all(np.isfinite(row_norms_sq(compressed.inner))))
    if act.degree is not None:
        return f"the loss {what} float64 even after exact rescaling (largest input-weight entry {big:.3g})"
    if norms_overflow or big > 2.0**INNER_EXP_LIMIT:
        cause = "the squared norms of the input weights overflow float64"
    elif 0 < big < 2.0**-INNER_EXP_LIMIT:
        cause = "the inner products of the input weights underflow float64"
    else:
        cause = f"the loss {what} float64"
    return (f"{cause} (largest input-weight entry {big:.3g}) and {act.label} is not positively homogeneous, "
            f"so the input weights cannot be rescaled exactly; rescale the problem's inputs")
