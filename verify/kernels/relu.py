r"""The unit-norm ReLU kernel K and its derivatives, once per precision.

For sigma = relu and unit variances (q1 = q2 = 1, c = rho),

    K(rho)   = E relu(X) relu(Y) = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi),
    K'(rho)  = (pi - arccos rho) / (2 pi)            (= E 1{X > 0} 1{Y > 0}, Price's theorem),
    K''(rho) = 1 / (2 pi sqrt(1 - rho^2)),

the arc-cosine kernel of degree 1 (Y. Cho and L. K. Saul, "Kernel methods for deep learning",
NIPS 2009; MATH.md section 2; sympy derives K' and K'' from K in `verify.kernels.symbolic`'s
relu_K_derivatives). By positive homogeneity k_relu(q1, q2, c) = sqrt(q1 q2) K(c / sqrt(q1 q2));
the general two-slope form sigma = A z + B |z| (any q1, q2) is in `verify.kernels.activations`.
Domain: rho in [-1, 1]; K(-1) = 0, K(0) = 1/(2 pi), K(1) = 1/2, K'(-1) = 0, K'(1) = 1/2; K'' is
infinite at rho = +-1. With a(rho) = sqrt(1 - rho^2) / (2 pi) = K - rho K', K = a + rho K'.

This module is the one definition used by the ETF family, the searches and the certified bounds.
The forms, and why each exists (each is kept bit for bit as its callers used it, so that their
recorded figures do not change):

float64, accurate (`relu_K64`, `relu_dK64`, `relu_d2K64`): no cancellation up to and including
  rho = +-1 (a few ulp relative on all of [-1, 1]). K uses x = arccos |rho| = atan2(s, |rho|),
  s = sqrt(1 - rho^2) formed by `det_gram` (a few ulp of its own size), and the identity
  K = rho / 2 + g(x) / (2 pi) (rho >= 0), K = g(x) / (2 pi) (rho < 0), g(x) = sin x - x cos x
  by its Taylor series for x < 1 (`verify.numbers.exact.g_scaled`). K' uses pi - arccos rho =
  atan2(s, -rho) directly for rho < 0. Bit-identical to the registry's relu k64 and step k64 at
  q1 = q2 = 1 (`get_activation("relu").k64(1, 1, rho)`, tested on random inputs in
  tests/test_closed_forms.py). Inputs with |rho| slightly above 1 (rounding) give s = 0; no clipping.

float64, vectorized fast path (`relu_sin64`, `relu_a64`, `relu_dK64_atan2`, `relu_K64_atan2`): the
  factors of the matrix-form derivatives (`verify.kernels.derivatives`, `verify.model.finite`,
  `verify.search.finite_local`): theta = atan2(sin, rho) with a caller-given sin (numpy's arctan2
  is SIMD-vectorized, arccos is not), K' = (pi - theta) / (2 pi), K = sin / (2 pi) + rho K'.
  `relu_sin64(rho, factored=True)` = sqrt((1 - rho)(1 + rho)) is relatively accurate near
  rho = +-1, and then K and K' are accurate to a few ulp absolute; the plain sqrt(max(1 - rho^2, 0))
  carries an error ~ eps / sqrt(1 - rho^2) into sin and K' (measured: <= 0.4 eps / sqrt(1 - rho^2)),
  which cancels in K (still a few ulp absolute). Relative accuracy of K is lost as rho -> -1
  (K -> 0 there by cancellation).

float64 / longdouble, arccos form (`relu_K64_acos`, `relu_dK64_acos`): the formulas as written,
  for any numpy float dtype (the batched global search evaluates them in extended precision with pi
  formed in that dtype) and with an arccos the caller may form once for both K and K'. K' is
  accurate to a few ulp absolute; K carries the error of sqrt(1 - rho^2) near rho = +-1
  (measured in float64: <= 0.4 eps / sqrt(1 - rho^2) absolute) and loses relative accuracy as
  rho -> -1. Inputs are clipped to [-1, 1].

mpmath (`relu_K_mp`, `relu_dK_mp`, `relu_d2K_mp`): at the current working precision, the same
  cancellation-free forms as the accurate float64 ones (1 - rho^2 formed exactly and rounded
  once; g by its Taylor series for x < 1); bit-identical to the registry's relu and step k_mp at
  q1 = q2 = 1. `relu_K_mp_acos` is the formula as written (clipped to [-1, 1]), with absolute
  accuracy at the working precision: bit-identical to the K inside `phi_value_mp` of the codes
  claim kind, which can call it instead.

arb (`relu_K_arb`, `relu_dK_arb`, `relu_d2K_arb`, python-flint balls): enclosures, the formulas as
  written; K and K' need a ball t in [-1, 1] (arccos of a ball poking past +-1 is nan), K'' one
  strictly inside (-1, 1). Used thousands of times by the interval checks, hence thin.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from verify.kernels.activations import _pg_mp
from verify.numbers.exact import det_gram, g_scaled

__all__ = [
    "TWO_PI",
    "relu_K64",
    "relu_K64_acos",
    "relu_K64_atan2",
    "relu_K_arb",
    "relu_K_mp",
    "relu_K_mp_acos",
    "relu_a64",
    "relu_d2K64",
    "relu_d2K_arb",
    "relu_d2K_mp",
    "relu_dK64",
    "relu_dK64_acos",
    "relu_dK64_atan2",
    "relu_dK_arb",
    "relu_dK_mp",
    "relu_sin64",
]

TWO_PI = 2.0 * math.pi


def _scalar(out):
    return out[()] if out.ndim == 0 else out


# --------------------------------------------------------------------------------------------
# float64, accurate on all of [-1, 1]
# --------------------------------------------------------------------------------------------


def _s64(rho):
    """(rho, s = sqrt(1 - rho^2) by det_gram, one) as float arrays."""
    rho = np.asarray(rho, dtype=float)
    one = np.ones_like(rho)
    return rho, np.sqrt(det_gram(one, one, rho)), one


def relu_K64(rho):
    """K(rho) in float64, broadcasting; a few ulp relative on [-1, 1] (module docstring)."""
    rho, s, one = _s64(rho)
    cabs = np.abs(rho)
    x = np.arctan2(s, cabs)
    lin = np.where(rho >= 0, 0.5 * rho, 0.0 * rho)
    return _scalar(lin + (0.5 / math.pi) * g_scaled(x, s, cabs, one))


def relu_dK64(rho):
    """K'(rho) = (pi - arccos rho) / (2 pi) in float64; pi - arccos rho = atan2(s, -rho) for rho < 0."""
    rho, s, _ = _s64(rho)
    ang = np.where(rho >= 0, math.pi - np.arctan2(s, rho), np.arctan2(s, -rho))
    return _scalar(ang / TWO_PI)


def relu_d2K64(rho):
    """K''(rho) = 1 / (2 pi sqrt(1 - rho^2)) in float64 (inf at rho = +-1), sqrt((1 - rho)(1 + rho))."""
    rho = np.asarray(rho, dtype=float)
    with np.errstate(divide="ignore"):
        return _scalar(1.0 / (TWO_PI * relu_sin64(rho, factored=True)))


# --------------------------------------------------------------------------------------------
# float64, the vectorized factors of the matrix forms
# --------------------------------------------------------------------------------------------


def relu_sin64(rho, *, factored: bool = False):
    """sqrt(1 - rho^2) for rho in [-1, 1]: sqrt(max(1 - rho^2, 0)), or sqrt((1 - rho)(1 + rho)) if
    factored (relatively accurate near rho = +-1)."""
    if factored:
        return np.sqrt((1.0 - rho) * (1.0 + rho))
    return np.sqrt(np.maximum(1.0 - rho * rho, 0.0))


def relu_a64(sin):
    """a(rho) = sqrt(1 - rho^2) / (2 pi) = K - rho K', from sin = sqrt(1 - rho^2)."""
    return sin / TWO_PI


def relu_dK64_atan2(rho, sin):
    """K'(rho) = (pi - theta) / (2 pi), theta = atan2(sin, rho), sin = sqrt(1 - rho^2) given."""
    return (math.pi - np.arctan2(sin, rho)) / TWO_PI


def relu_K64_atan2(rho, a, dK):
    """K(rho) = a(rho) + rho K'(rho) from a = `relu_a64(sin)` and dK = `relu_dK64_atan2(rho, sin)`."""
    return a + rho * dK


# --------------------------------------------------------------------------------------------
# any numpy float dtype, the arccos form
# --------------------------------------------------------------------------------------------


def relu_K64_acos(rho, pi=math.pi, acos=None):
    """K(rho) = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi) in rho's dtype (pi given in
    that dtype); acos: arccos(rho) if the caller has it. rho is clipped to [-1, 1]."""
    rho = np.clip(rho, -1.0, 1.0)
    A = np.arccos(rho) if acos is None else acos
    return (relu_sin64(rho) + (pi - A) * rho) / (2 * pi)


def relu_dK64_acos(rho=None, pi=math.pi, acos=None):
    """K'(rho) = (pi - arccos rho) / (2 pi) in rho's dtype; pass rho (clipped to [-1, 1]) or acos."""
    A = np.arccos(np.clip(rho, -1, 1)) if acos is None else acos
    return (pi - A) / (2 * pi)


# --------------------------------------------------------------------------------------------
# mpmath, at the current working precision
# --------------------------------------------------------------------------------------------


def _mpf(v):
    """v as an mpf; an mpf is used as it is (not rounded to the working precision)."""
    return v if isinstance(v, mpmath.mpf) else mpmath.mpf(v)


def _s_mp(rho):
    """sqrt(max(1 - rho^2, 0)) with 1 - rho^2 formed exactly and rounded once."""
    return mpmath.sqrt(max(mpmath.fsub(1, mpmath.fmul(rho, rho, exact=True)), 0))


def relu_K_mp(rho):
    """K(rho) in mpmath (rho an mpf in [-1, 1]); no cancellation as rho -> +-1."""
    rho = _mpf(rho)
    s, cabs, half = _s_mp(rho), abs(rho), mpmath.mpf(1) / 2
    x = mpmath.atan2(s, cabs)
    lin = half * rho if rho >= 0 else 0 * rho
    return lin + half / mpmath.pi * _pg_mp(x, s, cabs, mpmath.mpf(1))


def relu_dK_mp(rho):
    """K'(rho) = (pi - arccos rho) / (2 pi) in mpmath; pi - arccos rho = atan2(s, -rho) for rho < 0."""
    rho = _mpf(rho)
    s = _s_mp(rho)
    ang = mpmath.pi - mpmath.atan2(s, rho) if rho >= 0 else mpmath.atan2(s, -rho)
    return ang / (2 * mpmath.pi)


def relu_d2K_mp(rho):
    """K''(rho) = 1 / (2 pi sqrt(1 - rho^2)) in mpmath (rho strictly inside (-1, 1))."""
    return 1 / (2 * mpmath.pi * _s_mp(_mpf(rho)))


def relu_K_mp_acos(rho):
    """K(rho) = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi) as written, rho clipped to [-1, 1]."""
    rho = min(max(rho, mpmath.mpf(-1)), mpmath.mpf(1))
    pi = mpmath.pi
    return (mpmath.sqrt(1 - rho * rho) + (pi - mpmath.acos(rho)) * rho) / (2 * pi)


# --------------------------------------------------------------------------------------------
# arb balls (python-flint)
# --------------------------------------------------------------------------------------------


def relu_K_arb(t):
    """K(t) for an arb t in [-1, 1]."""
    from flint import arb

    pi = arb.pi()
    return ((1 - t * t).nonnegative_part().sqrt() + (pi - t.acos()) * t) / (2 * pi)


def relu_dK_arb(t):
    """K'(t) = (pi - arccos t) / (2 pi) (the step kernel)."""
    from flint import arb

    pi = arb.pi()
    return (pi - t.acos()) / (2 * pi)


def relu_d2K_arb(t):
    """K''(t) = 1 / (2 pi sqrt(1 - t^2)) for an arb t strictly inside (-1, 1)."""
    from flint import arb

    return 1 / (2 * arb.pi() * (1 - t * t).sqrt())
