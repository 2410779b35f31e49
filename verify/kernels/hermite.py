r"""Hermite expansions of activations and the series form of their dual kernels.

With normalized Hermite polynomials h_k = He_k / sqrt(k!) (orthonormal for N(0, 1)) and
sigma(sqrt(q) z) = sum_k c_k(q) h_k(z), Mehler's formula gives for X = sqrt(q1) z1,
Y = sqrt(q2) z2, corr(z1, z2) = rho:

    k_sigma(q1, q2, c) = sum_k c_k(q1) c_k(q2) rho^k.

Truncation bound (Parseval and Cauchy-Schwarz): with R_n(q) = E sigma(sqrt(q) Z)^2 -
sum_{k<=n} c_k(q)^2 >= 0, the tail after degree n obeys

    | sum_{k>n} c_k(q1) c_k(q2) rho^k | <= |rho|^(n+1) sqrt(R_n(q1) R_n(q2)).

ReLU (MATH.md section 2): c_0 = 1/sqrt(2 pi), c_1 = 1/2, c_{2m+1} = 0 (m >= 1),
c_{2m} = (-1)^(m+1) (2m-3)!! / (sqrt(2 pi) sqrt((2m)!)), and c_k(q) = sqrt(q) c_k by homogeneity;
E relu(Z)^2 = 1/2. Other activations: c_k(q) = E sigma(sqrt(q) Z) h_k(Z) by tanh-sinh quadrature
split at the kinks, and the norm from the kernel's own diagonal k(q, q, q).
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath

from verify.errors import InputError
from verify.kernels.activations import Activation, get_activation, hermite_he
from verify.kernels.quadrature import gauss_expect_mp


def relu_hermite_coefficient(k: int) -> mpmath.mpf:
    """c_k of ReLU at unit variance, by the closed formula, at the current mpmath precision."""
    if k < 0:
        raise InputError("Hermite index must be >= 0")
    if k == 0:
        return 1 / mpmath.sqrt(2 * mpmath.pi)
    if k == 1:
        return mpmath.mpf(1) / 2
    if k % 2 == 1:
        return mpmath.mpf(0)
    m = k // 2
    double_fact = mpmath.fac2(2 * m - 3) if m >= 2 else mpmath.mpf(1)  # (-1)!! = 1
    sign = 1 if (m + 1) % 2 == 0 else -1
    return sign * double_fact / (mpmath.sqrt(2 * mpmath.pi) * mpmath.sqrt(mpmath.factorial(2 * m)))


def hermite_coefficients(act: Activation | str, n: int, q=1, *, method: str = "auto") -> list[mpmath.mpf]:
    """[c_0(q), ..., c_n(q)] at the current mpmath precision.

    method "auto" uses the closed formula for ReLU and quadrature otherwise; "quadrature" forces it.
    """
    act = get_activation(act)
    q = mpmath.mpf(q)
    if q < 0:
        raise InputError("q must be >= 0")
    if act.name == "relu" and method in ("auto", "closed-form"):
        return [mpmath.sqrt(q) * relu_hermite_coefficient(k) for k in range(n + 1)]
    if method not in ("auto", "quadrature"):
        raise InputError(f"unknown method {method!r}")
    a = mpmath.sqrt(q)
    kinks = [k / a for k in act.kinks] if a > 0 else []
    out = []
    for k in range(n + 1):
        norm = mpmath.sqrt(mpmath.factorial(k))
        out.append(gauss_expect_mp(lambda z, k=k, norm=norm: act.f_mp(a * z) * hermite_he(k, z, mpmath.mpf(1)) / norm, kinks))
    return out


def activation_norm_sq(act: Activation | str, q=1) -> mpmath.mpf:
    """E sigma(sqrt(q) Z)^2 at the current precision (closed form if any, else quadrature)."""
    act = get_activation(act)
    q = mpmath.mpf(q)
    if act.k_mp is not None:
        return act.k_mp(q, q, q)
    a = mpmath.sqrt(q)
    kinks = [k / a for k in act.kinks] if a > 0 else []
    return gauss_expect_mp(lambda z: act.f_mp(a * z) ** 2, kinks)


@dataclass(frozen=True)
class SeriesValue:
    value: mpmath.mpf
    truncation_bound: mpmath.mpf
    degree: int


def kernel_series(act: Activation | str, q1, q2, c, n: int, *, method: str = "auto") -> SeriesValue:
    """The degree-n Hermite series of k_sigma(q1, q2, c) and a rigorous bound on its tail
    (rigorous given the coefficients and norms, which are computed at the working precision)."""
    act = get_activation(act)
    q1, q2, c = (mpmath.mpf(v) for v in (q1, q2, c))
    p = mpmath.sqrt(q1 * q2)
    if p == 0:
        raise InputError("the Hermite series needs q1, q2 > 0")
    rho = c / p
    if abs(rho) > 1:
        raise InputError("|c| must not exceed sqrt(q1 q2)")
    a1 = hermite_coefficients(act, n, q1, method=method)
    a2 = a1 if q2 == q1 else hermite_coefficients(act, n, q2, method=method)
    value = mpmath.fsum(x * y * rho**k for k, (x, y) in enumerate(zip(a1, a2)))
    r1 = max(activation_norm_sq(act, q1) - mpmath.fsum(x * x for x in a1), 0)
    r2 = r1 if q2 == q1 else max(activation_norm_sq(act, q2) - mpmath.fsum(y * y for y in a2), 0)
    return SeriesValue(value, abs(rho) ** (n + 1) * mpmath.sqrt(r1 * r2), n)
