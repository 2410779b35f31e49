r"""Dual kernels by Gaussian quadrature, in float64 and in mpmath: the independent twin of every
closed form, and the only path for tanh, sigmoid, softplus, GELU and SiLU.

Write (X, Y) = (sqrt(q1) z, sqrt(q2) (rho z + s' zeta)), z, zeta i.i.d. N(0, 1),
s' = sqrt(1 - rho^2) (formed from q1 q2 - c^2 without cancellation). Two rules:

Smooth activations: the tensor trapezoidal rule on the real line,

    k = sum_i sum_j w_i w_j sigma(sqrt(q1) z_i) sigma(sqrt(q2) (rho z_i + s' z_j)).

It converges geometrically for integrands analytic in a strip (L. N. Trefethen and
J. A. C. Weideman, "The exponentially convergent trapezoidal rule", SIAM Review 56 (2014),
sections 3 and 5). Shifting the contour to Im z = y, the weight exp(-z^2/2) grows by exp(y^2/2)
and sigma(a z) by exp(gamma a^2 y^2) (`Activation.growth`), so the discretization error is about
exp((1/2 + gamma a^2) y^2 - 2 pi y / h) for every y below the strip strip(sigma) / a. The step h
is the largest that makes this exp(-T) for some admissible y (`trapezoid_step` says how a is
taken for the product of the two factors); the nodes stop where the Gaussian tail drops below exp(-T). float64 uses
T = 40 (4e-18); mpmath uses T = (dps + 10) ln 10.

Kinked activations (ReLU, leaky ReLU, abs, step, sign, all positively homogeneous of degree k):
polar coordinates (z, zeta) = r (cos psi, sin psi) give X = sqrt(q1) r cos psi and
Y = sqrt(q2) r cos(psi - theta), theta = arccos rho, hence

    k = (2^k k! / (2 pi)) (q1 q2)^(k/2) int_0^{2 pi} sigma(cos psi) sigma(cos(psi - theta)) dpsi,

a one-dimensional integral whose integrand is smooth between the kinks psi = pi/2, 3 pi/2,
theta + pi/2, theta + 3 pi/2, where tanh-sinh quadrature (mpmath.quad) is split. Kinks ruin
plain Gauss-Hermite accuracy (MATH.md section 7); splitting at them restores geometric
convergence.
"""

from __future__ import annotations

import math

from fractions import Fraction

import mpmath
import numpy as np

from verify.errors import InputError
from verify.numbers.exact import det_gram
from verify.kernels.activations import Activation, _prepare_mp

FLOAT64_T = 40.0  # -log of the targeted float64 discretization error, exp(-40) = 4e-18


def trapezoid_step(act: Activation, a_max: float, a_sq: float, T: float) -> float:
    """Largest step h with exp((1/2 + gamma a_sq) y^2 - 2 pi y / h) <= exp(-T) for an admissible y.

    a_max is the largest standard deviation a pre-activation has per unit of z (poles of
    sigma(a z) sit at strip / a), a_sq the sum of squares of the scales that multiply z in the
    integrand (the growth of sigma(a1 z) sigma(a2 rho z + ...) is exp(gamma (a1^2 + a2^2 rho^2) y^2)),
    gamma = act.growth and y < act.strip / a_max. The unconstrained best y is pi / (h c2),
    c2 = 1/2 + gamma a_sq, giving exp(-pi^2 / (h^2 c2)); if that y leaves the strip, y is pinned
    just inside the strip's edge.
    """
    if act.strip <= 0:
        raise InputError(f"{act.label} has kinks: the trapezoidal rule needs a smooth activation")
    c2 = 0.5 + act.growth * a_sq
    h = math.pi / math.sqrt(T * c2)
    y_max = act.strip / a_max if a_max > 0 else math.inf
    if math.pi / (h * c2) > y_max:
        y = 0.98 * y_max  # stay strictly inside the strip, where sigma is bounded
        h = 2 * math.pi * y / (T + c2 * y * y)
    return h


def trapezoid_rule(h: float, T: float, lib=np):
    """Nodes and weights of the trapezoidal rule for E f(Z), Z ~ N(0, 1): step h, |z| <= sqrt(2T) + 1."""
    n = int(math.ceil((math.sqrt(2 * T) + 1.0) / h))
    if lib is np:
        z = h * np.arange(-n, n + 1, dtype=float)
        return z, h * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    hm = mpmath.mpf(h)
    z = [hm * i for i in range(-n, n + 1)]
    norm = hm / mpmath.sqrt(2 * mpmath.pi)
    return z, [norm * mpmath.exp(-zi * zi / 2) for zi in z]


def _polar_prefactor(k: int):
    return mpmath.mpf(2**k * math.factorial(k)) / (2 * mpmath.pi)


QUAD64_NODES_MAX = 10**6  # nodes per axis beyond which the float64 rule is refused (q ~ 1e10 for tanh)
QUAD64_CHUNK = 2**22  # entries x nodes per temporary array (32 MiB of float64)
QUAD64_SECONDS_PER_NODE_PAIR = 8e-9  # measured: 3-11 ns per node pair (tanh, sigmoid, softplus, silu at q = 1, 100)


def float64_nodes(act: Activation, q_max: float) -> int:
    """Nodes per axis of `kernel_quad64`'s rule when the largest squared norm is q_max: about
    8 sqrt(q) for tanh and 4 sqrt(q) for sigmoid, softplus and silu at large q (the strip of
    analyticity of sigma(sqrt(q) z) narrows as 1/sqrt(q))."""
    q_max = min(float(q_max), 1e300)
    h = trapezoid_step(act, math.sqrt(q_max), 2.0 * q_max, FLOAT64_T)
    return 2 * int(math.ceil((math.sqrt(2 * FLOAT64_T) + 1.0) / h)) + 1


def kernel_quad64(act: Activation, q1, q2, c) -> np.ndarray:
    """k_sigma(q1, q2, c) by the float64 tensor trapezoidal rule, vectorized over broadcast inputs.

    Only for smooth activations (kinked ones have closed forms; their quadrature twin is mpmath).
    The entries are processed in chunks so that the temporaries stay below QUAD64_CHUNK floats;
    a rule of more than QUAD64_NODES_MAX nodes per axis (squared norms beyond ~1e10) raises InputError.
    """
    q1, q2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q1, q2, c)))
    shape = q1.shape
    q1, q2, c = (v.ravel() for v in (q1, q2, c))
    if not (np.all(np.isfinite(q1)) and np.all(np.isfinite(q2)) and np.all(np.isfinite(c))):
        raise InputError(f"{act.label}: squared norms and inner products must be finite")
    q_max = float(max(np.max(q1, initial=0.0), np.max(q2, initial=0.0)))
    n = float64_nodes(act, q_max)
    if n > QUAD64_NODES_MAX:
        raise InputError(f"{act.label} has no closed form and its float64 quadrature at ||w||^2 = {q_max:.3g} "
                         f"would need {n:.3g} nodes per axis (limit {QUAD64_NODES_MAX:.0e}, about ||w||^2 <= 1e10)")
    a1, a2 = np.sqrt(q1), np.sqrt(q2)
    p = a1 * a2
    s = np.sqrt(det_gram(q1, q2, c))
    safe = np.where(p > 0, p, 1.0)
    rho = np.where(p > 0, c / safe, 0.0)
    sp = np.where(p > 0, s / safe, 1.0)
    a_max = float(max(np.max(a1, initial=0.0), np.max(a2, initial=0.0)))
    a_sq = float(np.max(q1 + q2, initial=0.0))
    z, w = trapezoid_rule(trapezoid_step(act, a_max, a_sq, FLOAT64_T), FLOAT64_T)
    out = np.zeros_like(q1)
    step = max(1, QUAD64_CHUNK // len(z))
    for i0 in range(0, len(q1), step):
        part = slice(i0, i0 + step)
        inner_base = (a2[part] * sp[part])[:, None] * z[None, :]
        acc = np.zeros(inner_base.shape[0])
        for zi, wi in zip(z, w):
            inner = act.f(inner_base + (a2[part] * rho[part] * zi)[:, None]) @ w
            acc += wi * act.f(a1[part] * zi) * inner
        out[part] = acc
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out


def gauss_expect_mp(f, kinks=(), error: bool = False):
    """E f(Z), Z ~ N(0, 1), by tanh-sinh quadrature at the current mpmath precision, split at kinks."""
    pts = [-mpmath.inf, *sorted(set(mpmath.mpf(k) for k in kinks)), mpmath.inf]
    norm = 1 / mpmath.sqrt(2 * mpmath.pi)
    return mpmath.quad(lambda z: norm * mpmath.exp(-z * z / 2) * f(z), pts, error=error)


def _mp_inputs(q1, q2, c):
    q1, q2, c = (mpmath.mpf(v) for v in (q1, q2, c))
    if q1 < 0 or q2 < 0:
        raise InputError("q1 and q2 must be >= 0")
    return q1, q2, c, _prepare_mp(q1, q2, c)[1]


def _kernel_polar_mp(act: Activation, q1, q2, c) -> tuple[mpmath.mpf, mpmath.mpf]:
    q1, q2, c, s = _mp_inputs(q1, q2, c)
    p = mpmath.sqrt(q1) * mpmath.sqrt(q2)
    if p == 0:
        return mpmath.mpf(0), mpmath.mpf(0)  # sigma(0) = 0 for the homogeneous activations here
    theta = mpmath.atan2(s, c)
    f = act.f_mp
    half = mpmath.pi / 2
    cuts = sorted({half, 3 * half, theta + half, (theta + 3 * half) % (2 * mpmath.pi)})
    pts = [mpmath.mpf(0), *cuts, 2 * mpmath.pi]
    val, err = mpmath.quad(lambda t: f(mpmath.cos(t)) * f(mpmath.cos(t - theta)), pts, error=True)
    k = act.degree
    pref = _polar_prefactor(k) * p**k
    return pref * val, pref * err


def _kernel_trapezoid_mp(act: Activation, q1, q2, c, dps: int) -> tuple[mpmath.mpf, mpmath.mpf]:
    q1, q2, c, s = _mp_inputs(q1, q2, c)
    a1, a2 = mpmath.sqrt(q1), mpmath.sqrt(q2)
    p = a1 * a2
    rho, sp = (c / p, s / p) if p > 0 else (mpmath.mpf(0), mpmath.mpf(1))
    T = (dps + 10) * math.log(10)
    h = trapezoid_step(act, float(max(a1, a2)), float(q1 + q2), T)
    z, w = trapezoid_rule(h, T, lib=mpmath)
    f = act.f_mp
    outer = [f(a1 * zi) for zi in z]
    total = mpmath.mpf(0)
    for zi, wi, fo in zip(z, w, outer):
        if wi * abs(fo) == 0:
            continue
        m = a2 * rho * zi
        inner = mpmath.fsum(wj * f(m + a2 * sp * zj) for zj, wj in zip(z, w))
        total += wi * fo * inner
    # The a-priori estimate of the rule (exp(-T) relative to the scale of sigma's values).
    return total, mpmath.exp(-T) * (1 + abs(total))


def kernel_quad_mp(act: Activation, q1, q2, c, dps: int) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(value, error estimate) of k_sigma(q1, q2, c) by quadrature at `dps` significant digits.

    Works at dps + 10 guard digits; positively homogeneous activations use the angular integral,
    smooth ones the trapezoidal rule. Raises InputError for an activation with neither property.
    """
    with mpmath.workdps(dps + 10):
        if act.degree is not None:
            value, err = _kernel_polar_mp(act, q1, q2, c)
        elif act.strip > 0:
            value, err = _kernel_trapezoid_mp(act, q1, q2, c, dps)
        else:  # pragma: no cover - every registered kinked activation is homogeneous
            raise InputError(f"no quadrature rule for {act.label}: kinked and not positively homogeneous")
    return +value, +err


QUAD_SECONDS_PER_PAIR = 35e-6  # seconds per node pair of the mpmath rule at dps <= 40 (reference machine)


def quadrature_cost(act: Activation, q1, q2, dps: int) -> tuple[int, float]:
    """(nodes per axis, estimated seconds) of `kernel_quad_mp`'s trapezoidal rule at `dps` digits: the
    same step choice as the rule itself, n x n node pairs at QUAD_SECONDS_PER_PAIR each (measured:
    tanh at q = 1, dps 20: 187^2 pairs, 1.2 s; dps 40: 391^2, 5 s; dps 80: 923^2, 51 s; q = 10, dps
    20: 579^2, 9 s), scaled by (dps + 10) / 50 above 40 digits. Exact q1, q2 of any size are clamped
    at 1e300 first, so the estimate itself is always cheap."""
    big = Fraction(10) ** 300
    q1, q2 = (float(min(q, big)) for q in (q1, q2))
    T = (dps + 10) * math.log(10)
    h = trapezoid_step(act, math.sqrt(max(q1, q2)), q1 + q2, T)
    n = 2 * math.ceil(min((math.sqrt(2 * T) + 1.0) / h, 1e150)) + 1
    return n, n * n * QUAD_SECONDS_PER_PAIR * max(1.0, (dps + 10) / 50)
