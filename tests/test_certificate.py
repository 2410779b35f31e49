"""The local certificate of the tilted simplex ETF (verify.certify.local; MATH.md sections 5-7).

Tiers: certified instances (mu != 0 in d = M, M + 1, 2M; mu = 0; M = 1), consistency of the arb
derivatives with the float64 `SimplifiedProblem` and of the certified bounds with numpy's
eigenvalues, the symmetry tangents against the float Hessian, and rejections (a non-critical
tilt, a float candidate, a critical point that is a saddle, a flat problem, bad input).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.errors import InputError
from verify.numbers.precision import flint_prec
from verify.model.simplified import SimplifiedProblem, simplified_problem
from verify.model.etf import best_etf, etf_network, etf_stationarity_mp, tilted_etf
from verify.certify.local import (
    _etf_arb,
    _generators,
    _perp_basis,
    _phi_prime,
    _tangent_float,
    certify_configuration,
    certify_local,
    simplified_grad_hess_arb,
)

EPS = np.finfo(float).eps


def _sym_dim(M, d, m):
    """dim of the symmetry orbit: M homogeneities + so(d-1) (so(d) for mu = 0) minus the stabilizer."""
    if M == 1:  # one neuron: its sphere (mu = 0) or nothing (v along mu)
        return d if m == 0 else 1
    if m == 0:
        return M + (M - 1) * (2 * d - M) // 2
    return M + (M - 1) * (2 * d - M - 2) // 2


def _float_etf(M, d, m, s, abar=1.0):
    opt = best_etf(M, m, s, abar)
    b, V = etf_network(opt, d)
    return opt, b, V, simplified_problem(d, m, s, abar)


def _float_tangents(b, V, mu):
    P = _perp_basis(mu)
    return np.column_stack([_tangent_float(g, b, V, P) for g in _generators(*V.shape, P)])


def _float_restricted_eigs(M, d, m, s, abar=1.0):
    """numpy's eigenvalues of the float Hessian on the orthogonal complement of the float tangents."""
    _, b, V, P = _float_etf(M, d, m, s, abar)
    H = P.hessian(b, V)
    T = _float_tangents(b, V, P.mu)
    U, sv, _ = np.linalg.svd(T, full_matrices=True)
    r = int(np.sum(sv > 1e-9 * sv[0]))
    W = U[:, r:]
    return np.linalg.eigvalsh(W.T @ H @ W), np.linalg.eigvalsh(H), r


# ---- certified instances ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "M, d, m", [(3, 3, 1.0), (3, 4, 1.0), (3, 6, 1.0), (4, 3, 0.0), (2, 2, 1.0), (1, 3, 1.0), (1, 3, 0.0), (5, 4, 0.0)]
)
def test_certifies_the_etf(M, d, m):
    c = certify_local(M, d, m, 1.0)
    assert c.status == "certified" and c.certified and c.critical_point_proven, c.reason
    assert c.gradient_contains_zero and not c.negative_curvature
    assert c.symmetry_dimension == _sym_dim(M, d, m)
    assert c.complement_dimension == M + M * d - c.symmetry_dimension
    assert 0 < c.min_eigenvalue <= c.max_eigenvalue
    if m != 0 and M >= 2:  # the proven root lies in the reported interval, next to best_etf's alpha*
        lo, hi = (float(x) for x in c.alpha)
        alpha = best_etf(M, m, 1.0).alpha64
        assert lo <= alpha <= hi and hi - lo < 1e-15
        assert c.gradient_radius < 1e-15  # delta = 2^-64 times |d grad / d alpha|
    else:  # exact configurations: only rounding radii
        assert c.gradient_radius < 1e-30


def test_min_eigenvalue_does_not_depend_on_the_extra_dimensions():
    # the directions out of span(mu, V) are symmetries or strictly curved, never the weakest
    lams = [certify_local(3, d, 1.0, 1.0).min_eigenvalue for d in (3, 4, 6)]
    assert_close(lams[1], lams[0], rtol=1e-10)  # Gershgorin slack ~1e-14 absolute
    assert_close(lams[2], lams[0], rtol=1e-10)


def test_negative_abar_mirrors_positive():
    # L~(abar, b, V) = L~(-abar, -b, V): same tilt, certified as well
    c_neg = certify_local(3, 4, 1.0, 1.0, abar=-1.0)
    c_pos = certify_local(3, 4, 1.0, 1.0, abar=1.0)
    assert c_neg.certified and c_neg.alpha == c_pos.alpha
    assert_close(c_neg.min_eigenvalue, c_pos.min_eigenvalue, rtol=1e-10)


@pytest.mark.parametrize("M, d, m", [(3, 3, 1.0), (3, 6, 1.0), (4, 3, 0.0), (5, 10, 2.0), (8, 9, 0.5)])
def test_min_eigenvalue_bound_is_tight_against_numpy(M, d, m):
    c = certify_local(M, d, m, 1.0)
    eigs, full, r = _float_restricted_eigs(M, d, m, 1.0)
    assert c.certified and r == c.symmetry_dimension
    # a rigorous lower bound: below the float value (which carries ~n eps |H| of rounding) ...
    assert c.min_eigenvalue <= eigs[0] + 1e3 * EPS * full[-1]
    # ... and within a tiny factor of it (Gershgorin slack ~ n eps |H|, alpha ball 2^-64)
    assert c.min_eigenvalue >= eigs[0] * (1 - 1e-8)
    assert c.max_eigenvalue >= full[-1] * (1 - 1e-12)
    assert c.max_eigenvalue <= full[-1] * (1 + 1e-8)


def test_prec_64_uses_a_wider_tilt_interval_and_still_certifies():
    c = certify_local(3, 3, 1.0, 1.0, prec=64)
    lo, hi = (float(x) for x in c.alpha)
    assert c.certified and 1e-10 < hi - lo < 1e-8  # delta = 2^-32
    assert_close(c.min_eigenvalue, certify_local(3, 3, 1.0, 1.0).min_eigenvalue, rtol=1e-4)


@settings(max_examples=12)  # each example costs ~0.05 s of arb work
@given(M=st.integers(2, 7), extra=st.sampled_from([0, 1, 3]), ratio=st.floats(0.2, 10.0), abar=st.sampled_from([1.0, -0.5, 3.0]))
def test_certified_bounds_bracket_the_float_spectrum(M, extra, ratio, abar):
    d = M + extra
    c = certify_local(M, d, ratio, 1.0, abar=abar)
    assert c.certified, c.reason
    assert c.symmetry_dimension == _sym_dim(M, d, ratio)
    eigs, full, _ = _float_restricted_eigs(M, d, ratio, 1.0, abar)
    assert eigs[0] * (1 - 1e-8) <= c.min_eigenvalue <= eigs[0] + 1e3 * EPS * full[-1]
    assert c.max_eigenvalue >= full[-1] * (1 - 1e-12)


# ---- consistency with the float64 objective -------------------------------------------------------


def _arb_point(b, V, mu, s, abar, prec=128):
    from flint import arb

    with flint_prec(prec):
        g, H = simplified_grad_hess_arb(
            [arb(float(x)) for x in b], [[arb(float(x)) for x in row] for row in V],
            [arb(float(x)) for x in mu], arb(s), arb(abar),
        )
        n = H.nrows()
        mid = np.array([[float(H[i, j].mid()) for j in range(n)] for i in range(n)])
        rad = np.array([[float(H[i, j].rad()) for j in range(n)] for i in range(n)])
        gmid = np.array([float(x.mid()) for x in g])
        grad = np.array([float(x.rad()) for x in g])
    return gmid, grad, mid, rad


@pytest.mark.parametrize("seed", range(4))
def test_arb_derivatives_contain_the_float64_ones_at_random_points(seed):
    rng = np.random.default_rng(seed)
    M, d = 3, 4
    b, V, mu = rng.standard_normal(M), rng.standard_normal((M, d)), rng.standard_normal(d)
    P = SimplifiedProblem(mu, 0.7, 1.3)
    gmid, grad, mid, rad = _arb_point(b, V, mu, 0.7, 1.3)
    gb, gV = P.grad(b, V)
    H64 = P.hessian(b, V)
    scale = np.abs(H64).max()
    assert np.all(rad < 1e-30) and np.all(grad < 1e-30)  # 128-bit balls at an exact float point
    # the float64 forms round a few dozen times per entry: 64 eps of the largest entry
    assert_close(gmid, np.concatenate([gb, gV.ravel()]), atol=64 * EPS * scale)
    assert_close(mid, H64, atol=64 * EPS * scale)


@pytest.mark.parametrize("M, d, m", [(3, 3, 1.0), (3, 6, 1.0), (4, 3, 0.0)])
def test_arb_hessian_at_the_etf_contains_the_float64_hessian(M, d, m):
    opt, b, V, P = _float_etf(M, d, m, 1.0)
    H64 = P.hessian(b, V)
    scale = np.abs(H64).max()
    # at the float point: the balls are rounding-thin, the float64 Hessian within its rounding
    _, _, mid, _rad = _arb_point(b, V, P.mu, 1.0, 1.0)
    assert_close(mid, H64, atol=64 * EPS * scale)
    # over the ball around the exact ETF: the float point is 1e-16 away, so again ~eps |H|
    from flint import arb

    with flint_prec(128):
        A = arb(opt.alpha64) if m else arb(0)
        bb, VV, _ = _etf_arb(M, d, m, 1.0, 1.0, A)
        _, H = simplified_grad_hess_arb(bb, VV, [arb(m)] + [arb(0)] * (d - 1), arb(1.0), arb(1.0))
        Hmid = np.array([[float(H[i, j].mid()) for j in range(H.ncols())] for i in range(H.nrows())])
    assert_close(Hmid, H64, atol=64 * EPS * scale)


@pytest.mark.parametrize("M, d, m", [(3, 3, 1.0), (3, 4, 1.0), (3, 6, 1.0), (4, 3, 0.0), (5, 7, 2.0)])
def test_symmetry_tangents_are_in_the_kernel_of_the_float_hessian(M, d, m):
    _, b, V, P = _float_etf(M, d, m, 1.0)
    H = P.hessian(b, V)
    T = _float_tangents(b, V, P.mu)
    HT = np.abs(H @ T).max(axis=0) / np.maximum(np.linalg.norm(T, axis=0), 1e-300)
    nonzero = np.linalg.norm(T, axis=0) > 0  # generators of the stabilizer give zero tangents
    assert np.count_nonzero(nonzero) >= _sym_dim(M, d, m)
    # the float point is critical to ~1e-16, so |H t| / |t| ~ eps |H|
    assert HT[nonzero].max() < 32 * EPS * np.abs(H).max()
    assert np.linalg.matrix_rank(T, tol=1e-9 * np.linalg.norm(T, 2)) == _sym_dim(M, d, m)


def test_etf_fixed_ends_agree_with_the_closed_stationarity_function():
    # phi'(alpha) = <grad L~, dz/dalpha> = -(2 abar^2 r^2 M K(rho alpha) / D^2) F(alpha): opposite signs
    from flint import arb

    M, d, m, s = 4, 5, 1.5, 1.0
    with flint_prec(128):
        for alpha in (0.2, 0.5, 0.7, 0.9, 0.99):
            ph = _phi_prime(M, d, m, s, 1.0, arb(alpha))
            F = etf_stationarity_mp(alpha, M, m, s)
            assert (ph < 0 and F > 0) or (ph > 0 and F < 0)


# ---- what is not certified ------------------------------------------------------------------------


def test_a_wrong_tilt_is_not_critical():
    opt = best_etf(3, 1.0, 1.0)
    c = certify_local(3, 3, 1.0, 1.0, alpha=opt.alpha64 + 0.05)
    assert c.status == "inconclusive" and not c.certified and not c.critical_point_proven
    assert "no certified sign change" in c.reason
    assert not c.gradient_contains_zero and c.gradient_radius > 1e-3


def test_a_float_candidate_off_the_critical_point_is_rejected():
    opt = best_etf(3, 1.0, 1.0)
    P = simplified_problem(4, 1.0, 1.0)
    V = tilted_etf(3, 4, P.mu, opt.alpha64 - 0.05)
    b = np.full(3, opt.beta64)
    c = certify_configuration(b, V, P.mu, 1.0)
    assert not c.certified and c.status == "inconclusive"
    assert c.reason == "gradient ball does not contain 0: no exact critical point proven"
    assert c.gradient_radius > 1e-3


def test_a_float_etf_is_never_certified_but_its_hessian_bounds_match():
    _opt, b, V, P = _float_etf(3, 4, 1.0, 1.0)
    c = certify_configuration(b, V, P.mu, 1.0)
    assert not c.certified and not c.critical_point_proven
    assert c.gradient_radius < 1e-14  # the float point is critical to rounding, not exactly
    assert c.symmetry_dimension == _sym_dim(3, 4, 1.0)
    assert_close(c.min_eigenvalue, certify_local(3, 4, 1.0, 1.0).min_eigenvalue, rtol=1e-8)


def test_a_critical_point_that_is_not_a_minimum():
    # M = 1, v = -mu_hat with its best b: critical (symmetry + optimal b), but turning v toward
    # +mu_hat lowers L~: a certified direction of negative curvature
    c = certify_local(1, 3, 1.0, 1.0, alpha=-1)
    assert c.status == "not-a-minimum" and not c.certified
    assert c.critical_point_proven and c.gradient_contains_zero and c.negative_curvature
    assert c.min_eigenvalue < 0 and c.min_eigenvalue_estimate < 0
    # the float Hessian agrees: two negative eigenvalues (the two directions of mu-perp)
    P = simplified_problem(3, 1.0, 1.0)
    r = math.sqrt(2.0)
    K = lambda x: (math.sqrt(1 - x * x) + (math.pi - math.acos(x)) * x) / (2 * math.pi)
    b = np.array([2 * r * K(-1 / r)])
    H = P.hessian(b, np.array([[-1.0, 0.0, 0.0]]))
    eig = np.linalg.eigvalsh(H)
    assert np.sum(eig < -1e-3) == 2
    assert_close(c.min_eigenvalue_estimate, eig[0], rtol=1e-10)


def test_flat_problem_is_not_certified():
    # abar = 0: beta = 0, L~ = b^T K(G) b does not depend on alpha or V at b = 0
    c = certify_local(3, 4, 1.0, 1.0, abar=0.0)
    assert not c.certified and c.status == "inconclusive"
    assert abs(c.min_eigenvalue_estimate) < 1e-12


def test_antipodal_pair_is_not_differentiable():
    c = certify_local(2, 3, 0.0, 1.0)
    assert not c.certified and "not twice differentiable" in c.reason


def test_float_candidate_with_parallel_neurons():
    P = simplified_problem(3, 1.0, 1.0)
    V = np.array([[0.6, 0.8, 0.0], [0.6, 0.8, 0.0]])
    c = certify_configuration(np.array([0.3, 0.3]), V, P.mu, 1.0)
    assert not c.certified and "not twice differentiable" in c.reason


# ---- input checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, kw",
    [
        ((3, 2, 1.0, 1.0), {}),  # d < M with mu != 0
        ((4, 2, 0.0, 1.0), {}),  # d < M - 1 with mu = 0
        ((3, 3, 1.0, 0.0), {}),  # s must be > 0
        ((3, 3, -1.0, 1.0), {}),
        ((0, 3, 1.0, 1.0), {}),
        ((3, 3, 1.0, 1.0), {"prec": 32}),
        ((3, 3, 1.0, 1.0), {"alpha": 1.5}),
        ((3, 3, 1.0, 1.0), {"alpha": "abc"}),
        ((1, 3, 1.0, 1.0), {"alpha": 0.5}),  # M = 1: only v = +-mu_hat
        ((3, 3, math.nan, 1.0), {}),
    ],
)
def test_bad_input(args, kw):
    with pytest.raises(InputError):
        certify_local(*args, **kw)


def test_bad_configuration_input():
    with pytest.raises(InputError):
        certify_configuration(np.ones(2), np.ones((3, 4)), np.ones(4), 1.0)
    with pytest.raises(InputError):
        certify_configuration(np.ones(2), np.ones((2, 4)), np.ones(3), 1.0)
    with pytest.raises(InputError):
        certify_configuration(np.ones(2), np.full((2, 4), np.inf), np.ones(4), 1.0)
