"""The numba pass of the two-slope kernel matrix (verify.kernels.fused) against arccos at 60 digits.

The pass replaces arccos and sqrt(1 - rho^2) by one polynomial per branch on [0, 1/4]; the
polynomials are recomputed here from their definition (an independent mpmath fit), and every value
of the pass is compared with g(rho) = sqrt(1 - rho^2) + rho (shift - arccos rho) evaluated with
60 digits, which resolves the cancellation near rho = -1 (30 digits do not: at 1 + rho = 2^-52 the
two terms are 2e-8 and the value 3e-24). Tolerance: the polynomials' Horner error (1.4e-16) plus a
few roundings of values <= shift + pi/2, i.e. 8 ulps of 4; near rho = -1 the value is also
relatively accurate, checked with 64 ulps relative.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.kernels import get_activation, kernel, kernel_matrix
from verify.kernels.fused import DEGREE, G_COEFFS, H_COEFFS, fit_coefficients, two_slope_pass

ABS_TOL = 8 * math.ulp(4.0)  # 7.1e-15 absolute on values in [0, shift + pi/2] (<= 4.8 for these activations)


def g_exact(r: float, shift) -> mpmath.mpf:
    with mpmath.workdps(60):
        x = mpmath.mpf(r)
        return mpmath.sqrt(1 - x * x) + x * (shift - mpmath.acos(x))


def run_pass(values, shift=math.pi) -> np.ndarray:
    T = np.array(values, dtype=float).reshape(1, -1)
    out = np.empty_like(T)
    two_slope_pass(T, out, 0, 0, np.ones(1), np.ones(T.shape[1]), shift)
    return out[0]


def test_coefficients_are_the_fit():
    g, h = fit_coefficients(DEGREE)
    assert g == G_COEFFS and h == H_COEFFS


EDGES = [-1.0, -1 + 2**-53, -1 + 2**-52, -1 + 1e-12, -0.75, -0.5 - 2**-53, -0.5, -0.5 + 2**-54, -0.25, -5e-324, 0.0,
         5e-324, 1e-8, 0.25, 0.5 - 2**-54, 0.5, 0.5 + 2**-53, 0.75, 1 - 1e-12, 1 - 2**-53, 1.0]


@pytest.mark.parametrize("shift_name", ["relu", "leaky", "abs"])
def test_pass_matches_60_digit_arccos_on_edges_and_a_grid(shift_name):
    a, b = get_activation({"relu": "relu", "leaky": "leaky_relu", "abs": "abs"}[shift_name]).two_slope
    shift = math.pi * (a * a + b * b) / (2 * b * b)
    rs = EDGES + list(np.linspace(-1, 1, 2001))
    got = run_pass(rs, shift)
    with mpmath.workdps(60):
        mshift = mpmath.pi * (mpmath.mpf(a) ** 2 + mpmath.mpf(b) ** 2) / (2 * mpmath.mpf(b) ** 2)
        errs = [abs(g_exact(r, mshift) - v) for r, v in zip(rs, got)]
    assert max(errs) <= ABS_TOL, max(errs)


def test_relu_is_exactly_zero_at_minus_one_and_relatively_accurate_near_it():
    assert run_pass([-1.0])[0] == 0.0
    eps = [2.0**-k for k in range(1, 53)]
    rs = [-1 + e for e in eps]
    got = run_pass(rs)
    with mpmath.workdps(60):
        for r, v in zip(rs, got):
            ex = g_exact(r, mpmath.pi)
            assert abs(v - ex) <= 64 * 2.0**-53 * ex, (r, v, ex)


@settings(max_examples=200, deadline=None)
@given(st.floats(-1.0, 1.0, allow_nan=False))
def test_pass_matches_arccos_anywhere(r):
    v = run_pass([r])[0]
    assert abs(g_exact(r, mpmath.pi) - v) <= ABS_TOL


def test_values_outside_the_interval_are_clipped():
    assert np.array_equal(run_pass([-1.0 - 2**-52, 1 + 2**-52]), run_pass([-1.0, 1.0]))


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (513, 4099), (1030, 3)])
def test_kernel_matrix_tiles_match_the_scalar_closed_form(shape):
    """Odd sizes cross the tile edges (512 x 4096) and the thread bands; the scalar closed form of
    activations.py is an independent evaluation (arctan2-free, accurate relatively)."""
    n, m = shape
    rng = np.random.default_rng(n * 7919 + m)
    A, B = rng.standard_normal((n, 6)), rng.standard_normal((m, 6))
    B[0] = -2.5 * A[0]  # an antiparallel pair (rho = -1 up to the rounding of the normalized rows)
    relu = get_activation("relu")
    K = kernel_matrix(relu, A, B)
    qa, qb = np.einsum("ij,ij->i", A, A), np.einsum("ij,ij->i", B, B)
    ref = kernel(relu, qa[:, None], qb[None, :], A @ B.T)
    p = np.sqrt(qa)[:, None] * np.sqrt(qb)[None, :]
    # 1e-14 p: the contract; the Gram products themselves differ by ~d eps p between the two routes.
    assert np.max(np.abs(K - ref) / p) <= 1e-14
