"""Dual-activation kernels k_sigma(q1, q2, c) (MATH.md section 2): one API, three paths.

- `kernel(act, q1, q2, c)`: float64, broadcasting; the closed form where one exists (a few ulp,
  relative, up to and including rho = +-1), else the trapezoidal quadrature (about 1e-14).
- `kernel_mp(act, q1, q2, c, dps)`: mpmath at `dps` significant digits; closed form (two-slope,
  step, sign, erf, GELU, Hermite), or quadrature for tanh, sigmoid, softplus, SiLU.
- `verify.kernels.relu`: the unit-norm ReLU K(rho), K', K'' in float64, mpmath and arb.
- `kernel_arb(act, q1, q2, c, prec)`: a python-flint ball that contains the exact value.
- `kernel_matrix(act, A, B)`: kernel matrices between point sets (fused float64 path).

Inputs must satisfy q1, q2 >= 0 and c^2 <= q1 q2; `check_triple` says so in one line otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np

from verify.errors import InputError
from verify.numbers.decimal import exact_decimal, parse_rational
from verify.numbers.precision import flint_prec
from verify.kernels.activations import NAMES, Activation, get_activation, parse_label
from verify.kernels.matrix import kernel_block, kernel_matrix, row_norms_sq
from verify.kernels.quadrature import kernel_quad64, kernel_quad_mp

__all__ = [
    "NAMES",
    "Activation",
    "KernelValue",
    "check_triple",
    "get_activation",
    "kernel",
    "kernel_arb",
    "kernel_block",
    "kernel_matrix",
    "kernel_mp",
    "parse_label",
    "row_norms_sq",
]

# Float inputs with c^2 exceeding q1 q2 by this relative margin are rounding, not an error.
_ROUNDING_SLACK = 8 * np.finfo(float).eps


def check_triple(q1, q2, c) -> None:
    """Raise InputError unless q1, q2 >= 0, c^2 <= q1 q2 (up to float rounding) and all are finite."""
    q1, q2, c = (np.asarray(v, dtype=float) for v in (q1, q2, c))
    for name, v in (("q1", q1), ("q2", q2), ("c", c)):
        if not np.all(np.isfinite(v)):
            raise InputError(f"{name} must be finite (got NaN or inf)")
    if np.any(q1 < 0) or np.any(q2 < 0):
        raise InputError("q1 and q2 are squared norms and must be >= 0")
    if np.any(np.abs(c) > np.sqrt(q1) * np.sqrt(q2) * (1 + _ROUNDING_SLACK)):
        raise InputError("|c| must not exceed sqrt(q1 q2) (Cauchy-Schwarz): not a covariance matrix")


def _check_exact(q1: Fraction, q2: Fraction, c: Fraction) -> None:
    if q1 < 0 or q2 < 0:
        raise InputError("q1 and q2 are squared norms and must be >= 0")
    if c * c > q1 * q2:
        raise InputError("|c| must not exceed sqrt(q1 q2) (Cauchy-Schwarz): not a covariance matrix")


def _as_fraction(v) -> Fraction:
    """Exact rational value of a float, int, Fraction, decimal string or "p/q" string (validation
    happens in exact arithmetic; strings have bounded digits and exponents, `verify.numbers.decimal`)."""
    if isinstance(v, str):  # bounded exponent and digits: Fraction("1e-100000000") would run for minutes
        return parse_rational(v)
    return exact_decimal(v)


def kernel(act: Activation | str, q1, q2, c, *, method: str = "auto") -> np.ndarray | float:
    """k_sigma(q1, q2, c) in float64, broadcasting over the three arguments.

    method: "auto" (closed form if any, else quadrature), "closed-form" or "quadrature".
    """
    act = get_activation(act)
    check_triple(q1, q2, c)
    if method == "auto":
        method = "closed-form" if act.k64 is not None else "quadrature"
    if method == "closed-form":
        if act.k64 is None:
            raise InputError(f"{act.label} has no closed-form kernel; use method='quadrature'")
        return act.k64(q1, q2, c)
    if method == "quadrature":
        return kernel_quad64(act, q1, q2, c)
    raise InputError(f"unknown method {method!r}; use auto, closed-form or quadrature")


@dataclass(frozen=True)
class KernelValue:
    """A high-precision kernel value: `value` carries `dps` significant digits."""

    value: mpmath.mpf
    dps: int
    method: str
    error_estimate: mpmath.mpf | None = None


def kernel_mp(act: Activation | str, q1, q2, c, dps: int = 30, *, method: str = "auto") -> KernelValue:
    """k_sigma(q1, q2, c) to `dps` significant digits.

    q1, q2, c may be floats, ints, decimal strings or mpf; strings are read exactly (as rationals),
    so "0.1" means one tenth. The closed form is evaluated with 15 guard digits; quadrature uses
    10 guard digits and its own error control (`verify.kernels.quadrature`).
    """
    act = get_activation(act)
    if not isinstance(dps, int) or not 5 <= dps <= 10000:
        raise InputError(f"dps must be an integer in 5..10000, got {dps!r}")
    exact = [v if isinstance(v, mpmath.mpf) else _as_fraction(v) for v in (q1, q2, c)]
    if not any(isinstance(v, mpmath.mpf) for v in exact):
        _check_exact(*exact)
    if method == "auto":
        method = "closed-form" if act.k_mp is not None else "quadrature"
    with mpmath.workdps(dps + 15):
        args = [v if isinstance(v, mpmath.mpf) else mpmath.mpf(v.numerator) / v.denominator for v in exact]
        if method == "closed-form":
            if act.k_mp is None:
                raise InputError(f"{act.label} has no closed-form kernel; use method='quadrature'")
            value, err = act.k_mp(*args), None
        elif method == "quadrature":
            value, err = kernel_quad_mp(act, *args, dps=dps)
        else:
            raise InputError(f"unknown method {method!r}; use auto, closed-form or quadrature")
    with mpmath.workdps(dps):
        return KernelValue(+value, dps, method, None if err is None else +err)


def kernel_arb(act: Activation | str, q1, q2, c, prec: int = 128):
    """An arb ball (python-flint) containing k_sigma(q1, q2, c), computed at `prec` bits.

    Inputs may be floats (exact binary values), ints, decimal strings (read as arb balls that
    contain the decimal) or arb balls. Raises InputError when the activation has no ball form.
    """
    from flint import arb

    act = get_activation(act)
    if act.k_arb is None:
        raise InputError(f"{act.label} has no ball-arithmetic kernel (closed forms only)")
    with flint_prec(prec):
        args = []
        for v in (q1, q2, c):
            if isinstance(v, arb):
                args.append(v)
            elif isinstance(v, str):
                _as_fraction(v)  # validates the string
                args.append(arb(v.strip()))
            else:
                f = _as_fraction(v)
                args.append(arb(f.numerator) / f.denominator)
        if not any(isinstance(v, arb) for v in (q1, q2, c)):
            _check_exact(*(_as_fraction(v) for v in (q1, q2, c)))
        return act.k_arb(*args)
