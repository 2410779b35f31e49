r"""Pair kernels k(a1, a2, rho) with their partial derivatives, for L~ beyond ReLU.

Each activation's dual kernel written in the norms a1 = sqrt(q1), a2 = sqrt(q2) and the cosine
rho = c / (a1 a2), returning k with k_a1, k_a2, k_rho (Price's theorem, MATH.md section 2). Three
paths with one interface; the derivations are in `verify.model.general`'s module docstring:

- two-slope activations (relu, leaky_relu, abs, linear): the closed form of `verify.kernels`;
- gelu: the closed form k_gelu (Tsuchida et al., AAAI 2021, in another form) of the gelu
  activation record (`verify.kernels.activations`), with its float64 derivatives here;
- every other smooth activation: Mehler's series with norm-dependent Hermite coefficients from a
  Gauss-Hermite rule (Golub-Welsch), with a computed tail bound.
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
from scipy.special import roots_hermitenorm

from verify.errors import InputError
from verify.kernels import Activation, get_activation, kernel_mp
from verify.kernels.activations import gelu_kernel64, gelu_kernel_mp, gelu_parts64  # noqa: F401 (re-exported)

MEHLER_NODES = 256  # Gauss-Hermite nodes; beyond ~300 scipy's weights underflow in sqrt(w) h_n
MEHLER_TERMS = 192  # series terms used; the rest of the N coefficients measure the tail
MEHLER_TAIL_REL = 1e-13  # largest accepted tail sum_{n >= MEHLER_TERMS} C_n^2 / sum C_n^2
TWO_PI = 2.0 * math.pi

# --------------------------------------------------------------------------------------------
# GELU: the derivatives of the closed form (the form itself: `verify.kernels.activations`)
# --------------------------------------------------------------------------------------------


def gelu_kernel_grad64(q1, q2, c, det=None):
    """(k, dk/dq1, dk/dq2, dk/dc) for gelu in float64 (derivatives of the closed form;
    dk/dc = E gelu'(X) gelu'(Y) and dk/dq1 = E gelu''(X) gelu(Y) / 2 by Price's theorem).

    det: q1 q2 - c^2 if known more accurately than by subtraction (e.g. q1 q2 (1 - rho^2))."""
    q1, q2, c = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q1, q2, c)))
    det = np.maximum(q1 * q2 - c * c, 0.0) if det is None else np.broadcast_to(det, q1.shape)
    k, S1, S2, D, N, sD, asn = gelu_parts64(q1, q2, c, det)
    Nc = -2.0 * c + 2.0 * c * (1.0 / S1 + 1.0 / S2)
    kc = 0.25 + asn / TWO_PI + (c + Nc + N * c / D) / (TWO_PI * sD)

    def kq(Sa, qb, Sb):
        return (-c * c / (2.0 * Sa) + qb - c * c / (Sa * Sa) - N * Sb / (2.0 * D)) / (TWO_PI * sD)

    return k, kq(S1, q2, S2), kq(S2, q1, S1), kc


# --------------------------------------------------------------------------------------------
# Pair kernels in (norm, norm, cosine): three paths with one interface
# --------------------------------------------------------------------------------------------
# prepare(a) -> a state array (..., F) per norm; pair(s1, s2, rho) -> (k, k_a1, k_a2, k_rho) with
# the leading axes of s1, s2 and rho broadcast; error(s1, s2) -> an absolute error estimate of k;
# k_mp(q1, q2, c, dps) -> the high-precision value.


class _PairBase:
    homogeneous = False
    max_norm = math.inf

    def __init__(self, act: Activation):
        self.act = act

    def k_mp(self, q1, q2, c, dps: int):
        return kernel_mp(self.act, q1, q2, c, dps).value


class TwoSlopePair(_PairBase):
    """sigma = A z + B |z|: k = a1 a2 kappa(rho), kappa' = A^2 + B^2 (2/pi) arcsin rho."""

    homogeneous = True
    path = "closed form (two-slope, positively homogeneous)"

    def __init__(self, act: Activation):
        super().__init__(act)
        self.A, self.B = act.two_slope

    def prepare(self, a):
        return np.asarray(a, dtype=float)[..., None]

    def pair(self, s1, s2, rho):
        a1, a2 = s1[..., 0], s2[..., 0]
        rho = np.clip(rho, -1.0, 1.0)
        kap = self.act.k64(1.0, 1.0, rho)
        dkap = self.A**2 + self.B**2 * (2.0 / math.pi) * np.arcsin(rho)
        return a1 * a2 * kap, a2 * kap, a1 * kap, a1 * a2 * dkap

    def error(self, s1, s2):
        return 8 * np.finfo(float).eps * s1[..., 0] * s2[..., 0]


class GeluPair(_PairBase):
    """gelu by its closed form (module docstring)."""

    path = "closed form (gelu, derived here)"

    def prepare(self, a):
        return np.asarray(a, dtype=float)[..., None]

    def pair(self, s1, s2, rho):
        a1, a2 = s1[..., 0], s2[..., 0]
        rho = np.clip(rho, -1.0, 1.0)
        q1, q2 = a1 * a1, a2 * a2
        c = a1 * a2 * rho
        det = q1 * q2 * (1.0 - rho) * (1.0 + rho)
        k, kq1, kq2, kc = gelu_kernel_grad64(q1, q2, c, det)
        return k, 2 * a1 * kq1 + a2 * rho * kc, 2 * a2 * kq2 + a1 * rho * kc, a1 * a2 * kc

    def error(self, s1, s2):
        return 16 * np.finfo(float).eps * (1.0 + s1[..., 0] * s2[..., 0])

    def k_mp(self, q1, q2, c, dps: int):
        with mpmath.workdps(dps + 15):
            v = self.act.k_mp(q1, q2, c)  # gelu_kernel_mp
        with mpmath.workdps(dps):
            return +v


@functools.lru_cache(maxsize=4)
def hermite_table(N: int):
    """(z, w, Psi): probabilists' Gauss-Hermite nodes and weights (sum w = 1) and the orthogonal
    N x N matrix Psi[i, n] = sqrt(w_i) h_n(z_i), by the normalized three-term recurrence."""
    z, w = roots_hermitenorm(N)
    w = w / math.sqrt(2 * math.pi)
    P = np.zeros((N, N))
    P[:, 0] = np.sqrt(w)
    P[:, 1] = z * P[:, 0]
    for n in range(1, N - 1):
        P[:, n + 1] = (z * P[:, n] - math.sqrt(n) * P[:, n - 1]) / math.sqrt(n + 1)
    return z, w, P


class MehlerPair(_PairBase):
    """A smooth activation by Mehler's series with norm-dependent coefficients (module docstring)."""

    path = "Mehler series (float64), mpmath quadrature for the high-precision values"

    def __init__(self, act: Activation, nodes: int = MEHLER_NODES, terms: int = MEHLER_TERMS):
        super().__init__(act)
        if act.strip <= 0:
            raise InputError(f"{act.label} is not smooth: Mehler's series needs an analytic activation")
        self.N, self.n = nodes, terms
        self.z, self.w, self.P = hermite_table(nodes)
        self.sw = np.sqrt(self.w)
        self.idx = np.arange(terms, dtype=float)
        self.up = np.sqrt((self.idx + 1) * (self.idx + 2))
        # Largest norm with tail <= MEHLER_TAIL_REL (bisection in log a on [1e-3, 1e3]).
        lo, hi = math.log(1e-3), math.log(1e3)
        if self._rel_tail(math.exp(hi)) <= MEHLER_TAIL_REL:
            self.max_norm = math.exp(hi)
        else:
            for _ in range(40):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if self._rel_tail(math.exp(mid)) <= MEHLER_TAIL_REL else (lo, mid)
            self.max_norm = math.exp(lo)

    def _coeffs(self, a):
        a = np.asarray(a, dtype=float)
        vals = self.act.f(a[..., None] * self.z) * self.sw
        return vals @ self.P  # (..., N)

    def _rel_tail(self, a: float) -> float:
        C = self._coeffs(np.array([a]))[0]
        return float(np.sum(C[self.n:] ** 2) / max(np.sum(C**2), 1e-300))

    def prepare(self, a):
        a = np.asarray(a, dtype=float)
        C = self._coeffs(a)
        n = self.n
        dC = (self.idx * C[..., :n] + self.up * C[..., 2:n + 2]) / a[..., None]
        tail = np.sum(C[..., n:] ** 2, axis=-1, keepdims=True)
        energy = np.sum(C**2, axis=-1, keepdims=True)
        return np.concatenate([C[..., :n], dC, tail, energy], axis=-1)

    def pair(self, s1, s2, rho):
        n = self.n
        rho = np.clip(rho, -1.0, 1.0)
        pw = np.cumprod(np.concatenate([np.ones(rho.shape + (1,)), np.broadcast_to(rho[..., None], rho.shape + (n - 1,))],
                                       axis=-1), axis=-1)  # rho^0 .. rho^(n-1)
        C1, dC1 = s1[..., :n], s1[..., n:2 * n]
        C2, dC2 = s2[..., :n], s2[..., n:2 * n]
        k = np.sum(C1 * C2 * pw, axis=-1)
        k1 = np.sum(dC1 * C2 * pw, axis=-1)
        k2 = np.sum(C1 * dC2 * pw, axis=-1)
        kr = np.sum((self.idx[1:] * C1[..., 1:] * C2[..., 1:]) * pw[..., :-1], axis=-1)
        return k, k1, k2, kr

    def error(self, s1, s2):
        n = self.n
        t1, e1 = s1[..., 2 * n], s1[..., 2 * n + 1]
        t2, e2 = s2[..., 2 * n], s2[..., 2 * n + 1]
        return np.sqrt(t1 * t2) + 1e-14 * np.sqrt(e1 * e2) * math.sqrt(self.N) / 4


def pair_kernel(activation) -> _PairBase:
    """The pair-kernel path for an activation (two-slope closed form, gelu closed form or Mehler)."""
    act = get_activation(activation)
    if act.two_slope is not None:
        return TwoSlopePair(act)
    if act.name == "gelu":
        return GeluPair(act)
    if act.strip > 0:
        return MehlerPair(act)
    raise InputError(f"{act.label}: no kernel path with derivatives (kinked and not of the form A z + B |z|)")
