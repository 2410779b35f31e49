r"""Gegenbauer polynomials of the sphere S^{d-1}, exactly (rationals) and in float64.

Normalization: P_k = P_k^{(d)} is the degree-k Gegenbauer polynomial C_k^{((d-2)/2)} scaled to
P_k(1) = 1 (Chebyshev T_k for d = 2, Legendre for d = 3). Three-term recurrence, k >= 1:

    P_0 = 1,  P_1 = t,  (k + d - 2) P_{k+1} = (2k + d - 2) t P_k - k P_{k-1},

and its inverse, multiplication by t in coefficient space (k >= 1; t P_0 = P_1):

    t P_k = ((k + d - 2) P_{k+1} + k P_{k-1}) / (2k + d - 2).

The P_k are orthogonal for the weight w_d(t) = (1 - t^2)^((d-3)/2) on [-1, 1], which is the law of
one coordinate u_1 of a uniform point u of S^{d-1}. Addition theorem (Schoenberg 1942; Stein and
Weiss, ch. IV): with an orthonormal basis Y_{k,1..N_k} of the degree-k spherical harmonics
(normalized to mean square 1 on the sphere),

    sum_m Y_{k,m}(x) Y_{k,m}(y) = N_k P_k(<x, y>),   N_k = C(k+d-1, d-1) - C(k+d-3, d-1),

so every matrix [P_k(<theta_j, theta_l>)] is positive semidefinite (a Gram matrix of the vectors
Y_k(theta_j)), of rank at most N_k. Derivatives: |P_k^{(j)}(t)| <= P_k^{(j)}(1) on [-1, 1] for
d >= 2 (Szego, Orthogonal polynomials, 7.33.1, applied to d/dt C_k^lam = 2 lam C_{k-1}^{lam+1}),

    P_k^{(j)}(1) = prod_{i=0}^{j-1} (k - i)(k + d - 2 + i) / (d - 1 + 2 i).

Gegenbauer coefficients of the ReLU kernel K (MATH.md section 2) on S^{d-1}: for x ~ N(0, I_d),
E relu(<a, x>) relu(<b, x>) = E||x||^2 E_u relu(<a, u>) relu(<b, u>) (radius and direction are
independent), and Funk-Hecke gives

    K(t) = sum_k K_k P_k(t),   K_k = d N_k mu_k^2,   mu_k = E_u[relu(u_1) P_k(u_1)] >= 0 squared,

so K_k >= 0 for every k (K is positive definite on S^{d-1}); mu_1 = 1/(2d), K_1 = 1/4, and
mu_k = 0 for odd k >= 3 (relu(t) - t/2 = |t|/2 is even). With J_m = E[u_1^m 1{u_1 > 0}]:
J_0 = 1/2, J_1 = Gamma(d/2) / (2 sqrt(pi) Gamma((d+1)/2)), J_m = J_{m-2} (m - 1) / (m + d - 2), so
mu_k = sum_n c_{k,n} J_{n+1} (c_{k,n} the monomial coefficients of P_k) is J_1 times a rational
for even k and a rational for odd k. `relu_gegenbauer` returns arb balls of K_k.

Domain: d >= 2 (d = 1, the sphere S^0 = {-1, 1}, has no Gegenbauer family). Every exact routine
works in `fractions.Fraction`; the float64 evaluators use the recurrence (stable, |P_k| <= 1).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import numpy as np

from verify.errors import InputError
from verify.numbers.precision import flint_prec

__all__ = [
    "derivative_bound_at_one",
    "gegenbauer_basis64",
    "gegenbauer_values",
    "gegenbauer_eval64",
    "harmonic_dim",
    "monomial_coefficients",
    "product_table",
    "relu_gegenbauer",
    "times_t",
    "to_monomials",
]


def _check_d(d) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 2:
        raise InputError(f"the Gegenbauer family of S^(d-1) needs an integer d >= 2, got {d!r}")
    return int(d)


def _check_degree(D) -> int:
    if isinstance(D, bool) or not isinstance(D, (int, np.integer)) or D < 0:
        raise InputError(f"degree must be an integer >= 0, got {D!r}")
    return int(D)


def harmonic_dim(k: int, d: int) -> int:
    """N_k: the dimension of the degree-k spherical harmonics on S^{d-1} (N_0 = 1, N_1 = d)."""
    d = _check_d(d)
    k = _check_degree(k)
    if k == 0:
        return 1
    return math.comb(k + d - 1, d - 1) - math.comb(k + d - 3, d - 1)


# ---- exact ---------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _monomials_cached(D: int, d: int) -> tuple[tuple[Fraction, ...], ...]:
    rows = [[Fraction(1)], [Fraction(0), Fraction(1)]]
    for k in range(1, D):
        a = Fraction(2 * k + d - 2, k + d - 2)
        b = Fraction(k, k + d - 2)
        nxt = [Fraction(0)] * (k + 2)
        for n, c in enumerate(rows[k]):
            nxt[n + 1] += a * c
        for n, c in enumerate(rows[k - 1]):
            nxt[n] -= b * c
        rows.append(nxt)
    return tuple(tuple(r) for r in rows[: D + 1])


def monomial_coefficients(D: int, d: int) -> list[list[Fraction]]:
    """Exact monomial coefficients of P_0..P_D: row k lists the coefficients of t^0..t^k."""
    return [list(r) for r in _monomials_cached(_check_degree(D), _check_d(d))]


def to_monomials(coeffs, d: int) -> list[Fraction]:
    """Exact monomial coefficients of sum_k coeffs[k] P_k (coeffs: Fractions or ints)."""
    coeffs = [Fraction(c) for c in coeffs]
    rows = _monomials_cached(max(len(coeffs) - 1, 0), _check_d(d))
    out = [Fraction(0)] * max(len(coeffs), 1)
    for k, ck in enumerate(coeffs):
        if ck:
            for n, c in enumerate(rows[k]):
                out[n] += ck * c
    return out


def times_t(vec, d: int) -> list[Fraction]:
    """Gegenbauer coefficients of t f, given those of f (exact)."""
    d = _check_d(d)
    out = [Fraction(0)] * (len(vec) + 1)
    for k, c in enumerate(vec):
        if not c:
            continue
        if k == 0:
            out[1] += c
            continue
        den = 2 * k + d - 2
        out[k + 1] += c * Fraction(k + d - 2, den)
        out[k - 1] += c * Fraction(k, den)
    return out


@lru_cache(maxsize=64)
def _product_cached(D: int, d: int) -> tuple:
    table = {}
    for i in range(D + 1):
        prev = [Fraction(0)] * i + [Fraction(1)]  # P_i P_0
        table[(i, 0)] = tuple(prev)
        if D == 0:
            continue
        cur = times_t(prev, d)  # P_i P_1
        table[(i, 1)] = tuple(cur)
        for j in range(1, D):
            a = Fraction(2 * j + d - 2, j + d - 2)
            b = Fraction(j, j + d - 2)
            tc = times_t(cur, d)
            nxt = [a * x for x in tc]
            for n, x in enumerate(prev):
                nxt[n] -= b * x
            while len(nxt) > i + j + 2:  # exact zeros above degree i + j + 1
                if nxt[-1] != 0:
                    raise RuntimeError("product_table: nonzero coefficient above the degree")
                nxt.pop()
            table[(i, j + 1)] = tuple(nxt)
            prev, cur = cur, nxt
    return tuple(sorted(table.items()))


def product_table(D: int, d: int) -> dict[tuple[int, int], tuple[Fraction, ...]]:
    """Exact Gegenbauer coefficients of P_i P_j for 0 <= i, j <= D: entry (i, j) lists k = 0..i+j.

    The linearization coefficients are >= 0 (products of positive definite functions are positive
    definite: Schur's product theorem), which the tests check.
    """
    return dict(_product_cached(_check_degree(D), _check_d(d)))


def derivative_bound_at_one(k: int, d: int, j: int) -> Fraction:
    """P_k^{(j)}(1) = max over [-1, 1] of |P_k^{(j)}| (d >= 2), exact."""
    d = _check_d(d)
    out = Fraction(1)
    for i in range(j):
        if k - i <= 0:
            return Fraction(0)
        out *= Fraction((k - i) * (k + d - 2 + i), d - 1 + 2 * i)
    return out


def relu_gegenbauer(d: int, kmax: int, prec: int = 128):
    """arb balls of K_0..K_kmax, the Gegenbauer coefficients of the ReLU kernel K on S^{d-1}.

    K_k = d N_k mu_k^2 with mu_k exact up to the one transcendental factor J_1 (module docstring).
    """
    from flint import arb

    d = _check_d(d)
    kmax = _check_degree(kmax)
    rows = _monomials_cached(kmax, d)
    # J_m / J_1 for odd m (rational) and J_m for even m (rational)
    J = [Fraction(0)] * (kmax + 2)
    J[0] = Fraction(1, 2)
    J[1] = Fraction(1)  # stands for J_1 itself; odd entries are multiples of J_1
    for m in range(2, kmax + 2):
        J[m] = J[m - 2] * Fraction(m - 1, m + d - 2)
    with flint_prec(prec):
        J1 = arb(d) / 2
        J1 = (J1).gamma() / (2 * arb.pi().sqrt() * ((arb(d) + 1) / 2).gamma())
        out = []
        for k in range(kmax + 1):
            q = sum((c * J[n + 1] for n, c in enumerate(rows[k]) if c), Fraction(0))
            Nk = harmonic_dim(k, d)
            if k % 2 == 0:
                val = arb(d * Nk) * _arb(q * q) * J1 * J1
            else:
                val = arb(d * Nk) * _arb(q * q)
            out.append(val)
        return out


def _arb(q: Fraction):
    from flint import arb, fmpq

    return arb(fmpq(q.numerator, q.denominator))


# ---- any number type (float64 arrays, mpmath, arb/acb balls) -------------------------------------


def gegenbauer_values(D: int, d: int, t, one=1.0) -> list:
    """[P_0(t), ..., P_D(t)] by the three-term recurrence, in the number type of t (numpy arrays,
    mpmath numbers, python-flint balls); one: P_0 in that type."""
    P = [one, t][: D + 1]
    for k in range(1, D):
        P.append(((2 * k + d - 2) * t * P[k] - k * P[k - 1]) / (k + d - 2))
    return P


def gegenbauer_basis64(D: int, d: int, t) -> np.ndarray:
    """(D + 1, len(t)) array of P_0..P_D at the points t (float64 recurrence)."""
    D = _check_degree(D)
    d = _check_d(d)
    t = np.asarray(t, dtype=float)
    P = np.empty((D + 1,) + t.shape)
    P[:] = gegenbauer_values(D, d, t, np.ones_like(t))
    return P


def gegenbauer_eval64(coeffs, d: int, t) -> np.ndarray:
    """sum_k coeffs[k] P_k(t) in float64."""
    c = np.asarray([float(x) for x in coeffs])
    return np.tensordot(c, gegenbauer_basis64(len(c) - 1, d, t), axes=1)
