"""Certified lower bounds at mu = 0 (MATH.md section 6): the Delsarte-Yudin tangent line and LP
(conditional on beta >= 0) and the sign-free bound, against the simplex ETF, random
configurations, a multistart search, and their own exact ingredients."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from conftest import assert_close
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize, nnls

from verify.certify import (
    bound_from_A,
    certify_mu0,
    certify_mu0_grid,
    certify_polynomial,
    check_below_relu_kernel,
    delsarte_lp,
    simplex_A,
    tangent_line,
)
from verify.certify.gegenbauer import (
    derivative_bound_at_one,
    gegenbauer_basis64,
    harmonic_dim,
    monomial_coefficients,
    product_table,
    relu_gegenbauer,
    times_t,
    to_monomials,
)
from verify.certify.interval import relu_dK_arb, relu_K_arb
from verify.certify.signfree import signfree_bound
from verify.errors import InputError
from verify.kernels import kernel, kernel_arb
from verify.numbers.precision import ball_bounds, mpf_to_fraction
from verify.model.simplified import SimplifiedProblem
from verify.model.etf import best_etf

PREC = 128


def _K(t):
    return np.asarray(kernel("relu", 1.0, 1.0, np.clip(t, -1.0, 1.0)), dtype=float)


def _mpq(q) -> mpmath.mpf:
    q = Fraction(q)
    return mpmath.mpf(q.numerator) / q.denominator


def _K_mp(t):
    t = _mpq(t) if isinstance(t, Fraction) else mpmath.mpf(t)
    return (mpmath.sqrt(1 - t * t) + (mpmath.pi - mpmath.acos(t)) * t) / (2 * mpmath.pi)


def _random_unit(rng, M, d):
    V = rng.standard_normal((M, d))
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def _bounds(ball):
    return ball_bounds(ball, PREC)


def _phi_and_beta(Theta):
    """Phi = 1^T K(G)^{-1} 1 and the optimal beta direction K(G)^{-1} 1 (float64)."""
    G = np.clip(Theta @ Theta.T, -1.0, 1.0)
    Kmat = _K(G)
    x = np.linalg.solve(Kmat, np.ones(len(G)))
    return float(np.sum(x)), x, Kmat


def _loss_from_phi(phi, abar=1.0, s=1.0):
    return abar**2 * s**2 / (2 * math.pi) * (1 - phi / (2 * math.pi))


# ---- the tangent line: exact, equal to the simplex ---------------------------------------------


@pytest.mark.parametrize("M", range(2, 17))
def test_tangent_line_bound_equals_the_simplex_loss(M):
    """The bound's ball contains best_etf's mpmath simplex loss to 1e-30 (and is that narrow)."""
    for d in sorted({max(M - 1, 1), M + 3}):
        c = certify_mu0(M, d, method="tangent-line")
        assert c.status == "optimal" and c.certified
        assert c.assumptions == ("beta >= 0",)
        L_etf = mpf_to_fraction(best_etf(M, 0.0, 1.0, dps=40).loss)
        lo, hi = Fraction(c.lower_bound_ball[0]), Fraction(c.lower_bound_ball[1])
        assert lo - Fraction(1, 10**30) <= L_etf <= hi + Fraction(1, 10**30)
        assert c.lower_bound <= L_etf + Fraction(1, 10**35)  # a lower bound, never above the value
        assert 0 <= c.gap_upper <= Fraction(1, 10**30)
        assert hi - lo <= Fraction(1, 10**20)


@pytest.mark.parametrize("abar, s", [(0.7, 2.5), (-1.3, 0.25)])
def test_tangent_line_scales_with_abar_and_s(abar, s):
    c = certify_mu0(5, 4, abar, s)
    L_etf = mpf_to_fraction(best_etf(5, 0.0, s, abar, dps=40).loss)
    assert abs(c.lower_bound - L_etf) <= Fraction(1, 10**30)


@pytest.mark.parametrize("M", [2, 3, 7, 16])
def test_tangent_line_coefficients_and_A_in_closed_form(M):
    """p_0 = K(r) - r K'(r), p_1 = K'(r), A = (K(1) + (M-1) K(r)) / M at 50 digits."""
    tl = tangent_line(M)
    with mpmath.workdps(50):
        r = mpmath.mpf(-1) / (M - 1)
        K1 = (mpmath.pi - mpmath.acos(r)) / (2 * mpmath.pi)
        p0 = _K_mp(r) - r * K1
        A = (mpmath.mpf(1) / 2 + (M - 1) * _K_mp(r)) / M
        for ball, ref in ((tl.p0, p0), (tl.p1, K1), (tl.A, A)):
            lo, hi = _bounds(ball)
            assert lo - Fraction(1, 10**45) <= mpf_to_fraction(ref) <= hi + Fraction(1, 10**45)
    assert tl.check.certified and tl.A_q <= _bounds(tl.A)[0] + Fraction(1, 10**36)
    assert _bounds(tl.A)[0] - tl.A_q <= Fraction(1, 10**29)


def test_tangent_line_is_dimension_free_and_loose_beyond_the_simplex():
    """For M > d + 1 the tangent line is still a valid bound, but the LP improves on it."""
    tan = certify_mu0(6, 2, method="tangent-line")
    lp = certify_mu0(6, 2, method="lp", degree=12)
    assert tan.status == "bound-only" and lp.status == "bound-only"
    assert lp.lower_bound > tan.lower_bound


def test_one_neuron():
    c = certify_mu0(1, 3)
    assert c.A_lower == Fraction(1, 2) and c.certified
    assert_close(c.lower_bound64, (1 - 1 / math.pi) / (2 * math.pi), rtol=1e-15)


# ---- the LP and its rigorous certification ------------------------------------------------------


@pytest.mark.parametrize("M, d", [(3, 2), (4, 3), (5, 5), (8, 7)])
def test_lp_is_between_certified_and_simplex(M, d):
    """certified A <= LP float A <= A_simplex (the simplex configuration obeys every valid bound)."""
    c = certify_mu0(M, d, method="lp", degree=12)
    A_s_lo, _ = _bounds(simplex_A(M))
    assert c.A_lower <= A_s_lo  # exact: a valid bound cannot exceed the simplex value
    assert float(c.A_lower) <= c.extra["A64"]
    # the float LP only sees a grid (and the solver's tolerance): it may exceed the true optimum
    # by about its measured violation of p <= K; 1e-9 covers the solver's feasibility tolerance
    assert c.extra["A64"] <= float(A_s_lo) + 2 * c.extra["lp_violation64"] + 1e-9
    assert c.status == "near-optimal" and 0 <= c.gap_upper < Fraction(1, 10**8)
    assert c.assumptions == ("beta >= 0",)


def test_lp_gegenbauer_coefficients_are_admissible():
    lp = delsarte_lp(6, 3, 10)
    pc = certify_polynomial(lp.coefficients64, 6, 3)
    assert all(x >= 0 for x in pc.coefficients[1:])
    chk = check_below_relu_kernel(to_monomials(pc.coefficients, 3))
    assert chk.certified  # the certified polynomial passes the check again
    assert pc.A == pc.coefficients[0] + (Fraction(1, 2) - sum(pc.coefficients)) / 6


def test_interval_check_rejects_a_polynomial_above_K():
    """The tangent line shifted up by 1e-9 must fail, with a violation bound of about 1e-9."""
    tl = tangent_line(4)
    delta = Fraction(1, 10**9)
    chk = check_below_relu_kernel([tl.p0_q + delta, tl.p1_q])
    assert not chk.certified
    assert delta * (1 - Fraction(1, 10**20)) <= chk.violation <= delta * (1 + Fraction(2, 10**3))
    assert chk.upper < 0  # a point where p > K was seen, not just a failed enclosure
    # certify_polynomial shifts p_0 down by at least the violation
    pc = certify_polynomial([tl.p0_q + delta, tl.p1_q], 4, 3)
    assert pc.coefficients[0] <= tl.p0_q
    assert pc.verification.pre_shift + pc.verification.violation_shift >= delta
    assert pc.A <= tl.A_q


@pytest.mark.parametrize("t0", [-0.9, -0.2, 0.35, 0.999])
def test_interval_check_finds_an_interior_bump(t0):
    """p = tangent at t0 plus eps: the violation eps sits at t0 (a double touching point)."""
    t0 = Fraction(t0)
    with mpmath.workdps(40):
        K0 = mpf_to_fraction(_K_mp(t0))
        K1 = mpf_to_fraction((mpmath.pi - mpmath.acos(_mpq(t0))) / (2 * mpmath.pi))
    eps = Fraction(1, 10**7)
    bad = check_below_relu_kernel([K0 - K1 * t0 + eps, K1])
    assert not bad.certified and eps * Fraction(999, 1000) <= bad.violation <= eps * Fraction(1001, 1000)
    good = check_below_relu_kernel([K0 - K1 * t0 - eps, K1])
    assert good.certified and good.min_lower >= 0


def test_interval_check_of_a_far_violation():
    chk = check_below_relu_kernel([1])  # p = 1 exceeds K everywhere; max(p - K) = 1 at t = -1
    assert not chk.certified
    assert Fraction(999, 1000) <= chk.violation <= Fraction(1001, 1000)


@given(r=st.floats(-0.99, 0.99), deg=st.integers(2, 6), seed=st.integers(0, 2**16))
def test_interval_check_certifies_polynomials_below_K(r, deg, seed):
    """p = tangent line at r - sum_k e_k (1 - P_k) - 1e-12 <= K (|P_k| <= 1, K convex): certified."""
    rng = np.random.default_rng(seed)
    r = Fraction(r)
    with mpmath.workdps(40):
        K0 = mpf_to_fraction(_K_mp(r))
        K1 = mpf_to_fraction((mpmath.pi - mpmath.acos(_mpq(r))) / (2 * mpmath.pi))
    e = [Fraction(float(x)) / 1000 for x in rng.uniform(0, 1, deg - 1)]  # e_2..e_deg
    coeffs = [K0 - K1 * r - sum(e) - Fraction(1, 10**12), K1] + e
    assert check_below_relu_kernel(to_monomials(coeffs, 3)).certified


# ---- the bound against configurations -----------------------------------------------------------


@pytest.mark.parametrize("M, d", [(3, 2), (4, 3), (5, 4), (5, 8), (7, 6)])
def test_random_configurations_respect_the_bounds(M, d):
    """Random directions, best beta: the loss is >= the bounds. beta >= 0 configurations are
    compared with the conditional bound directly; configurations whose best beta has a negative
    entry are compared with it through their best nonnegative beta (NNLS), and with the sign-free
    bound as they are."""
    rng = np.random.default_rng(1000 * M + d)
    cond = certify_mu0(M, d, method="tangent-line")
    free = certify_mu0(M, d, method="signfree", degree=16)
    c = 1.0 / (2 * math.pi)  # abar s K(0)
    negative = 0
    for _ in range(300):
        Theta = _random_unit(rng, M, d)
        phi, x, Kmat = _phi_and_beta(Theta)
        L = _loss_from_phi(phi)
        assert L >= float(free.lower_bound) - 1e-12
        if np.all(x >= 0):
            assert L >= float(cond.lower_bound) - 1e-12
        else:
            negative += 1
            R = np.linalg.cholesky(Kmat).T  # Kmat = R^T R
            beta, _ = nnls(R, np.linalg.solve(R.T, c * np.ones(M)))
            L_pos = 1 / (2 * math.pi) - 2 * c * beta.sum() + beta @ Kmat @ beta
            assert L_pos >= float(cond.lower_bound) - 1e-12
    assert negative > 0  # the sample does reach the negative-weight branch (counts: docs/bounds.md)


@pytest.mark.parametrize("M, d", [(4, 3), (6, 5)])
def test_near_simplex_configurations_respect_the_bound(M, d):
    """Small perturbations of the simplex (where the bound is tight) stay above it."""
    from verify.model.etf import tilted_etf

    rng = np.random.default_rng(7)
    S = tilted_etf(M, d, np.zeros(d), 0.0)
    cond = certify_mu0(M, d)
    for eps in (1e-1, 1e-2, 1e-3):
        for _ in range(50):
            Theta = S + eps * rng.standard_normal(S.shape)
            Theta /= np.linalg.norm(Theta, axis=1, keepdims=True)
            phi, x, _ = _phi_and_beta(Theta)
            assert np.all(x > 0)
            assert _loss_from_phi(phi) >= float(cond.lower_bound) - 1e-15


def _multistart(M, d, starts, seed):
    P = SimplifiedProblem(mu=np.zeros(d), s=1.0)
    rng = np.random.default_rng(seed)

    def f(z):
        b, V = z[:M], z[M:].reshape(M, d)
        gb, gV = P.grad(b, V)
        return float(P.loss(b, V)), np.concatenate([gb, gV.ravel()])

    best = math.inf
    for _ in range(starts):
        z0 = np.concatenate([0.3 * rng.standard_normal(M), _random_unit(rng, M, d).ravel()])  # signed b
        res = minimize(f, z0, jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-12, "ftol": 1e-15})
        best = min(best, float(res.fun))
    return best


@pytest.mark.parametrize("M, d", [(4, 2), (5, 3)])
def test_bounds_beyond_the_simplex_are_below_a_multistart_search(M, d):
    """M > d + 1: no simplex; the certified LP and sign-free bounds lie below the best loss a
    small multistart L-BFGS search (signed output weights) finds."""
    best = _multistart(M, d, starts=5, seed=M + d)
    lp = certify_mu0(M, d, method="lp", degree=16)
    free = certify_mu0(M, d, method="signfree", degree=16)
    assert lp.status == "bound-only" and lp.simplex_loss is None
    assert float(lp.lower_bound) <= best
    assert float(free.lower_bound) <= best
    # and both beat the trivial bound beta^T K(G) beta >= K_0 (1^T beta)^2
    K0_lo, _ = _bounds(relu_gegenbauer(d, 0)[0])
    assert lp.A_lower > K0_lo


# ---- the sign-free bound ------------------------------------------------------------------------


@pytest.mark.parametrize("M, d", [(3, 2), (4, 4), (6, 5), (9, 9)])
def test_signfree_bound_is_valid_for_signed_beta(M, d):
    """beta^T K(G) beta >= A (1^T beta)^2 for random signed beta and random directions."""
    sf = signfree_bound(M, d, 12)
    A = float(sf.A)
    A_s_lo, _ = _bounds(simplex_A(M))
    assert sf.A <= A_s_lo  # below the simplex value, exactly
    rng = np.random.default_rng(M * d)
    for _ in range(300):
        Theta = _random_unit(rng, M, d)
        Kmat = _K(np.clip(Theta @ Theta.T, -1, 1))
        beta = rng.standard_normal(M)
        assert beta @ Kmat @ beta >= A * beta.sum() ** 2 - 1e-12


def test_signfree_exact_for_two_neurons():
    sf = signfree_bound(2, 5)
    assert sf.A == Fraction(1, 4)
    c = certify_mu0(2, 5, method="signfree")
    assert c.assumptions == () and c.status == "optimal" and c.certified
    assert c.gap_upper <= Fraction(1, 10**35)


def test_signfree_approaches_the_simplex_with_degree():
    gaps = []
    A_s_lo, _ = _bounds(simplex_A(4))
    for D in (8, 16, 24):
        gaps.append(A_s_lo - signfree_bound(4, 3, D).A)
    assert 0 < gaps[2] < gaps[1] < gaps[0]
    assert gaps[2] < 1e-6


def test_signfree_certificate_blocks_are_completely_positive():
    sf = signfree_bound(5, 4, 10)
    T = product_table(10, 4)
    sigma = [Fraction(0)] * 21
    for i, j, a, b, c in sf.blocks:
        assert a >= 0 and b >= 0 and c >= 0 and a * b >= c * c
        assert (i + j) % 2 == 0 or (i, j) == (0, 1)
        for k, x in enumerate(T[(i, i)]):
            sigma[k] += a * x
        for k, x in enumerate(T[(j, j)]):
            sigma[k] += b * x
        for k, x in enumerate(T[(i, j)]):
            sigma[k] += 2 * c * x
    for i, e in sf.diagonal:
        for k, x in enumerate(T[(i, i)]):
            sigma[k] += e * x
    assert tuple(sigma) == sf.sigma
    Kb = relu_gegenbauer(4, 20)
    for k in range(1, 21):
        assert sigma[k] <= _bounds(Kb[k])[0]


@pytest.mark.parametrize("i, j, d, M", [(0, 1, 2, 6), (1, 3, 2, 8), (2, 4, 3, 40), (0, 2, 4, 5)])
def test_rank_lemma(i, j, d, M):
    """beta^T [kappa(G)^2] beta >= kappa(1)^2 (1^T beta)^2 / min(M, N_i + N_j), kappa = c P_i + b P_j."""
    rng = np.random.default_rng(i + 10 * j + 100 * d)
    n = min(M, harmonic_dim(i, d) + harmonic_dim(j, d))
    for _ in range(200):
        c, b = rng.uniform(0, 1, 2)
        Theta = _random_unit(rng, M, d)
        G = np.clip(Theta @ Theta.T, -1, 1)
        P = gegenbauer_basis64(max(i, j), d, G)
        kap = c * P[i] + b * P[j]
        beta = rng.standard_normal(M)
        assert beta @ (kap**2) @ beta >= (c + b) ** 2 * beta.sum() ** 2 / n - 1e-10


# ---- the grid --------------------------------------------------------------------------------------


def test_grid_certifies_every_pair_up_to_16():
    g = certify_mu0_grid(range(2, 17), range(1, 18))
    assert g.pairs == sum(1 for M in range(2, 17) for d in range(1, 18) if M <= d + 1) == 150
    assert g.all_certified and g.certified == 150
    assert {c.method for c in g.certificates} == {"tangent-line"}


def test_dimension_reduction_for_lp_and_signfree():
    """The polynomial sign-free bound is computed in min(d, M) dimensions (M = 17 here; M = 3..16
    have the exact even-square route, computed in d = M - 1, tested in tests/test_evensquare.py)."""
    c = certify_mu0(17, 20, method="signfree", degree=8)
    assert c.extra["d_computed"] == 17 and c.status == "near-optimal"
    c2 = certify_mu0(17, 17, method="signfree", degree=8)
    assert c.A_lower == c2.A_lower


# ---- exact ingredients ------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 3, 4, 7])
def test_gegenbauer_monomials_recurrence_and_products(d):
    t = np.linspace(-1, 1, 9)
    P = gegenbauer_basis64(8, d, t)
    for k, row in enumerate(monomial_coefficients(8, d)):
        assert_close(np.polyval([float(c) for c in reversed(row)], t), P[k], atol=1e-13)
        assert sum(row) == 1  # P_k(1) = 1
    T = product_table(6, d)
    Pt = gegenbauer_basis64(12, d, t)
    for (i, j), coeffs in T.items():
        assert all(c >= 0 for c in coeffs)  # Schur: products of PD functions are PD
        assert_close(sum(float(c) * Pt[k] for k, c in enumerate(coeffs)), P[i] * P[j], atol=1e-13)
    assert times_t([Fraction(0), Fraction(1)], d)[:3] == [Fraction(1, d), 0, Fraction(d - 1, d)]


def test_harmonic_dimensions_and_derivative_bounds():
    assert [harmonic_dim(k, 2) for k in range(4)] == [1, 2, 2, 2]
    assert [harmonic_dim(k, 3) for k in range(4)] == [1, 3, 5, 7]
    assert harmonic_dim(2, 5) == 14
    assert derivative_bound_at_one(5, 2, 1) == 25  # T_5'(1) = 25
    assert derivative_bound_at_one(4, 3, 2) == Fraction(45)  # P_4''(1) = 45 for Legendre


@pytest.mark.parametrize("d", [2, 3, 6])
def test_relu_gegenbauer_coefficients(d):
    """K_k = d N_k mu_k^2: K_1 = 1/4, odd k >= 3 vanish, quadrature agrees, the series sums to K."""
    Kb = relu_gegenbauer(d, 40)
    lo, hi = _bounds(Kb[1])
    assert lo <= Fraction(1, 4) <= hi and hi - lo < Fraction(1, 10**36)
    assert all(_bounds(Kb[k]) == (0, 0) for k in range(3, 41, 2))
    a = mpmath.mpf(d - 3) / 2
    with mpmath.workdps(30):

        def P(k, t):
            p0, p1 = mpmath.mpf(1), t
            if k == 0:
                return p0
            for j in range(1, k):
                p0, p1 = p1, ((2 * j + d - 2) * t * p1 - j * p0) / (j + d - 2)
            return p1

        w = lambda t: (1 - t * t) ** a
        for k in (0, 2, 4):
            num = mpmath.quad(lambda t, k=k: _K_mp(t) * P(k, t) * w(t), [-1, 0, 1])
            den = mpmath.quad(lambda t, k=k: P(k, t) ** 2 * w(t), [-1, 0, 1])
            assert_close(float(Kb[k].mid()), float(num / den), rtol=1e-12)
    total = sum(float(x.mid()) for x in Kb)
    assert 0.5 - 2e-3 < total <= 0.5 + 1e-15  # partial sums of a positive series below K(1) = 1/2
    t = np.array([-0.7, 0.1, 0.6])
    series = sum(float(Kb[k].mid()) * gegenbauer_basis64(40, d, t)[k] for k in range(41))
    assert_close(series, _K(t), atol=2e-3)  # truncation at k = 40 (K_k ~ k^-(d/2+2))


@given(t=st.floats(-1.0, 1.0))
def test_arb_kernel_matches_the_kernels_module(t):
    from flint import arb

    a = relu_K_arb(arb(t))
    b = kernel_arb("relu", 1, 1, t)
    assert a.overlaps(b)
    if -1 < t < 1:
        d = relu_dK_arb(arb(t))
        assert abs(float(d.mid()) - float(kernel("step", 1.0, 1.0, t))) < 1e-14


def test_bound_from_A_is_monotone_and_exact_at_the_simplex():
    lo, _ = _bounds(bound_from_A(Fraction(1, 5)))
    lo2, _ = _bounds(bound_from_A(Fraction(1, 4)))
    assert lo < lo2
    with mpmath.workdps(40):
        ref = (1 - 1 / (2 * mpmath.pi * mpmath.mpf(0.25))) / (2 * mpmath.pi)
    b = bound_from_A(Fraction(1, 4))
    L, H = _bounds(b)
    assert L <= mpf_to_fraction(ref) + Fraction(1, 10**35) and mpf_to_fraction(ref) <= H + Fraction(1, 10**35)


# ---- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: certify_mu0(0, 3),
        lambda: certify_mu0(3, 0),
        lambda: certify_mu0(3.0, 3),
        lambda: certify_mu0(3, 3, s=0.0),
        lambda: certify_mu0(3, 3, abar=float("nan")),
        lambda: certify_mu0(3, 3, method="magic"),
        lambda: certify_mu0(3, 1, method="lp"),
        lambda: certify_mu0(3, 1, method="signfree"),
        lambda: certify_mu0(3, 3, method="lp", degree=0),
        lambda: delsarte_lp(3, 1, 4),
        lambda: certify_polynomial([], 3, 3),
        lambda: certify_polynomial([0.1, float("inf")], 3, 3),
        lambda: certify_polynomial([0.1], 3, 3, margin=-1),
        lambda: check_below_relu_kernel([]),
        lambda: check_below_relu_kernel([0], initial=0),
        lambda: simplex_A(0),
        lambda: tangent_line(1),
        lambda: relu_gegenbauer(1, 4),
        lambda: harmonic_dim(-1, 3),
        lambda: certify_mu0_grid([0], [3]),
        lambda: bound_from_A(Fraction(0)),
    ],
)
def test_bad_input_raises_input_error(call):
    with pytest.raises(InputError) as info:
        call()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("q", [Fraction(2, 10) - Fraction(1, 10**30), Fraction(2, 10) + Fraction(1, 10**30),
                               -Fraction(2, 10) - Fraction(1, 10**30), Fraction(1, 3), Fraction(-7, 9) / 10**5,
                               Fraction(123456789, 10**9), Fraction(10**7) - Fraction(1, 10**30)])
def test_decimal_ends_are_outward_and_within_one_unit(q):
    """The report's decimal ends: on the right side of q, and within one unit of the 25th digit
    (a nearest string on the wrong side, such as "0.2" for 0.2 - 1e-30, is not nudged to "0.1")."""
    from verify.certify.delsarte import _dec

    los, his = _dec(q, 25, down=True), _dec(q, 25, down=False)
    assert not los.lstrip("-").startswith("0") or los.lstrip("-").startswith("0.")  # no padded zeros
    lo, hi = Fraction(los), Fraction(his)
    assert lo <= q <= hi
    assert hi - lo <= 2 * abs(q) * Fraction(1, 10**24)
