"""The even-square route at mu = 0 (verify.certify.evensquare): the decomposition identity, its
exactness at the simplex, the coefficients against independent quadratures, the inequalities it
implies on random signed configurations, and a planted error."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from verify.certify.evensquare import _coefficients_mp, even_square, even_square_parts64
from verify.errors import InputError
from verify.kernels.relu import relu_K64


def _L64(t, M):
    d, rho0, c0, r2 = even_square_parts64(M)
    t = np.asarray(t, float)
    E = (np.sqrt(1 - t * t) + t * np.arcsin(t)) / (2 * math.pi)
    R = E - c0 - r2 * (d * t * t - 1) / (d - 1)
    return np.sign(np.abs(t) - abs(rho0)) * np.sqrt(np.maximum(R, 0.0))


@pytest.mark.parametrize("M", [3, 4, 7, 16])
def test_identity_and_no_gap_in_30_digits(M):
    """K(t) = t/4 + c0 + r2 P_2(t) + L(t)^2 (L^2 = R by definition, so this checks the split
    K = t/4 + E and R >= 0 at the points), and c0 + L(1)^2 / M equals the simplex value
    (K(1) + (M-1) K(rho_0)) / M, all in 30-digit mpmath from the closed form of K."""
    with mpmath.workdps(30):
        d = M - 1
        rho0 = mpmath.mpf(-1) / (M - 1)
        K = lambda t: (mpmath.sqrt(1 - t * t) + (mpmath.pi - mpmath.acos(t)) * t) / (2 * mpmath.pi)  # noqa: E731
        E = lambda t: (mpmath.sqrt(1 - t * t) + t * mpmath.asin(t)) / (2 * mpmath.pi)  # noqa: E731
        r2 = mpmath.diff(E, rho0) / (2 * d * rho0 / (d - 1))  # tangency by numerical differentiation
        P2 = lambda t: (d * t * t - 1) / (d - 1)  # noqa: E731
        c0 = E(rho0) - r2 * P2(rho0)
        _, _, c0f, r2f = even_square_parts64(M)
        assert abs(c0 - c0f) < 1e-15 and abs(r2 - r2f) < 1e-15
        for t in mpmath.linspace(-1, 1, 41):
            R = E(t) - c0 - r2 * P2(t)
            assert R > -mpmath.mpf(10) ** -28  # R >= 0 (double roots at +-rho_0)
            assert abs(K(t) - (t / 4 + c0 + r2 * P2(t) + R)) < mpmath.mpf(10) ** -28
        A = c0 + (E(1) - c0 - r2) / M
        A_s = (K(1) + (M - 1) * K(rho0)) / M
        assert abs(A - A_s) < mpmath.mpf(10) ** -28


def test_coefficients_against_float_quadrature_and_mpmath_quad():
    """Degrees 0..30 for M = 3, 4 against a float64 Gauss-Legendre quadrature in t-space pieces
    (a different variable and rule; float64 is accurate at small d), and three degrees for M = 5
    against mpmath.quad (tanh-sinh) in 30 digits."""
    for M in (3, 4):
        d = M - 1
        a, _ = _coefficients_mp(M, 30, 7, 30)
        _, rho0, _, _ = even_square_parts64(M)
        # t = cos theta; on [|rho0|, 1] and [0, |rho0|] with the weight (1 - t^2)^((d-3)/2): use
        # t = cos(theta) only inside each piece to remove the endpoint weight singularity at t = 1
        x, w = np.polynomial.legendre.leggauss(300)
        th0 = math.acos(abs(rho0))
        num = np.zeros(31)
        den = np.zeros(31)
        for lo, hi in ((0.0, th0), (th0, math.pi / 2)):
            th = (hi - lo) / 2 * x + (hi + lo) / 2
            wt = (hi - lo) / 2 * w * np.sin(th) ** (d - 2)
            t = np.cos(th)
            from verify.certify.gegenbauer import gegenbauer_basis64

            P = gegenbauer_basis64(30, d, t)
            num += P @ (wt * _L64(t, M))
            den += (P * P) @ wt
        f = num / den
        for n in range(0, 31, 2):
            assert abs(float(a[n]) - f[n]) < 1e-12, (M, n)
    M, d = 5, 4
    a, _ = _coefficients_mp(M, 10, 7, 30)
    with mpmath.workdps(30):
        _, rho0, _, _ = even_square_parts64(M)
        r0 = mpmath.mpf(-1) / (M - 1)
        r2 = mpmath.asin(r0) * (d - 1) / (4 * mpmath.pi * d * r0)
        c0 = (mpmath.sqrt(1 - r0**2) + r0 * mpmath.asin(r0)) / (2 * mpmath.pi) + r2 / (M - 1)

        def L(t):
            R = (mpmath.sqrt(1 - t * t) + t * mpmath.asin(t)) / (2 * mpmath.pi) - c0 - r2 * (d * t * t - 1) / (d - 1)
            return mpmath.sign(abs(t) + r0) * mpmath.sqrt(max(R, 0))

        def P(n, t):
            return mpmath.gegenbauer(n, mpmath.mpf(d - 2) / 2, t) / mpmath.gegenbauer(n, mpmath.mpf(d - 2) / 2, 1)

        w = lambda t: (1 - t * t) ** (mpmath.mpf(d - 3) / 2)  # noqa: E731
        pts = [-1, r0, 0, -r0, 1]
        for n in (0, 4, 10):
            num = mpmath.quad(lambda t: L(t) * P(n, t) * w(t), pts)
            den = mpmath.quad(lambda t: P(n, t) ** 2 * w(t), [-1, 0, 1])
            assert abs(num / den - a[n]) < mpmath.mpf(10) ** -20, n


@pytest.mark.parametrize("M", [3, 4, 6])
def test_random_signed_configurations_obey_both_inequalities(M):
    """For random unit vectors in R^(M-1) (spread out, clustered, near the simplex) and random
    signed beta: beta^T [L(G)^2] beta >= L(1)^2 (1^T beta)^2 / M (the rank lemma, which needs L
    positive definite: a violation would show that it is not) and beta^T K(G) beta >= A_simplex
    (1^T beta)^2 (the sign-free statement). Float64 with a relative slack of 1e-12."""
    rng = np.random.default_rng(20261204 + M)
    d = M - 1
    es = even_square(M, n_max=4, degree=5, dps=20)
    # the simplex in R^(M-1): centred standard basis of R^M, expressed in an orthonormal basis of 1-perp
    S = np.eye(M) - 1.0 / M
    U = np.linalg.svd(S)[0][:, :d]
    simplex = (S @ U) / np.linalg.norm(S @ U, axis=1, keepdims=True)
    worst_rank, worst_K = np.inf, np.inf
    for trial in range(3000):
        kind = trial % 3
        if kind == 0:
            X = rng.standard_normal((M, d))
        elif kind == 1:
            X = rng.standard_normal(d) + 0.05 * rng.standard_normal((M, d))
        else:
            X = simplex + 0.05 * rng.standard_normal((M, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        G = np.clip(X @ X.T, -1, 1)
        beta = rng.standard_normal(M) * (1 + 10 * (rng.random(M) < 0.3))
        s2 = beta.sum() ** 2
        Lq = beta @ (_L64(G, M) ** 2) @ beta
        Kq = beta @ relu_K64(G) @ beta
        scale = np.abs(beta).sum() ** 2
        worst_rank = min(worst_rank, (Lq - es.L1**2 * s2 / M) / scale)
        worst_K = min(worst_K, (Kq - es.A_simplex * s2) / scale)
    assert worst_rank > -1e-12 and worst_K > -1e-12


def test_planted_tangency_error_is_not_positive():
    """r_2 moved by 1e-3 (c_0 keeps R(rho_0) = 0): R turns negative beside rho_0, and the record
    must not look positive; the true decomposition does."""
    bad = even_square(4, n_max=20, degree=6, dps=25, r2_scale=1.001)
    assert bad.min_R < -1e-9 and not bad.positive
    good = even_square(4, n_max=20, degree=6, dps=25)
    assert good.positive and good.min_R >= -1e-15
    assert good.relative_A_error < 1e-14


def test_inputs():
    with pytest.raises(InputError):
        even_square(2)
    with pytest.raises(InputError):
        even_square(4, n_max=1)


# ---- the positivity of L proven (certify_even_square) ---------------------------------------------


@pytest.fixture(scope="module", params=[3, 4, 5, 9, 16])  # j = 0, 1, 1, 3, 7; d = M - 1 even and odd
def cert(request):
    from verify.certify.evensquare import certify_even_square

    return certify_even_square(request.param)


def _g_mp(theta):
    """g(theta) = L(cos theta) for M = 3 in mpmath, from the t-form of E (independent of the
    theta-form and of the Taylor model the certificate uses)."""
    t = mpmath.cos(theta)
    c0 = mpmath.sqrt(3) / (4 * mpmath.pi) + mpmath.mpf(1) / 16  # E(-1/2) + r2/2, r2 = 1/24
    R = (mpmath.sqrt(1 - t * t) + t * mpmath.asin(t)) / (2 * mpmath.pi) - c0 - (2 * t * t - 1) / 24
    return mpmath.sign(abs(t) - mpmath.mpf(1) / 2) * mpmath.sqrt(max(R, 0))


def test_proven_and_finite_part_matches_quadrature(cert):
    """The certificate holds (on S^(D-1), D = M - 1 or M, whichever is even); its rigorous a_m
    (acb integrals of the Taylor model) contain the 45-digit Gauss-Legendre values of the
    evidence routine (another representation of L, another rule)."""
    assert cert.proven and cert.D % 2 == 0 and cert.D in (cert.M - 1, cert.M) and cert.min_finite > 0
    top = cert.finite[-1][0]
    a, _ = _coefficients_mp(cert.M, top, 8, 45, dim=cert.D)
    with mpmath.workdps(45):
        for m, lo, hi in cert.finite:
            assert mpmath.mpf(lo) <= a[m] <= mpmath.mpf(hi), m
            assert mpmath.mpf(hi) - mpmath.mpf(lo) < 1e-18
    assert top + cert.j + 2 >= cert.N_star  # the finite part reaches the tail


def test_m3_closed_constants():
    """r_2 = 1/24 and c_0 = sqrt(3)/(4 pi) + 1/16 for M = 3 (asin(-1/2) = -pi/6), and the tail's
    leading coefficient 2 g^(3)(0) = 2 (1/pi) / (2 L(1)) = 1 / (pi L(1))."""
    from verify.certify.evensquare import certify_even_square

    c = certify_even_square(3)
    d, rho0, c0, r2 = even_square_parts64(3)
    assert abs(r2 - 1 / 24) < 1e-16 and abs(c0 - (math.sqrt(3) / (4 * math.pi) + 1 / 16)) < 1e-16
    with mpmath.workdps(30):
        L1 = _g_mp(mpmath.mpf(0))
        assert abs(_mid(c.lead) - 1 / (mpmath.pi * L1)) < 1e-22


def _mid(s):
    body = s.strip("[]").split("+/-")[0].strip()
    return mpmath.mpf(body) if body else mpmath.mpf(0)


def _tail_interval(cert, n):
    """J(n) = int_0^pi G_j cos(n theta) from the certificate's integration-by-parts expansion, as
    (lo, hi): sum of the derivative terms +- B / n^(2k+1) (the docstring's recursion)."""
    ders = [_mid(s) for s in cert.odd_derivatives]  # G^(1)(0), G^(3)(0), ...
    value, factor = mpmath.mpf(0), mpmath.mpf(1)
    for i in range(cert.k):  # J_{2i} = -2 G^(2i+1)(0)/n^2 - J_{2i+2}/n^2
        value += factor * (-2 * ders[i] / n**2)
        factor *= -mpmath.mpf(1) / n**2
    rem = abs(factor) * mpmath.mpf(cert.B) / n
    return value - rem, value + rem


def test_tail_expansion_brackets_the_coefficients(cert):
    """Independent check of the march, the integration by parts and the dimension walk: for
    n = m + j >= N*, the Chebyshev coefficient chi_n of L_[j] obtained from a_m^(D)(L) (45-digit
    quadrature) through the walk's factors lies in the tail expansion's interval, whose lower end
    is positive."""
    D, j = cert.D, cert.j
    for n in (cert.N_star, cert.N_star + 2, cert.N_star + 10):
        m = n - j
        with mpmath.workdps(45):
            a, _ = _coefficients_mp(cert.M, m, 8, 45, dim=D)
            coef, e = a[m], D
            for _ in range(j):  # a_m^(e)(h) = (m+1)(m+e-3)/(e-3) a_{m+1}^(e-2)(H), H' = h
                coef = coef * (e - 3) / ((m + 1) * (m + e - 3))
                m, e = m + 1, e - 2
            J = mpmath.pi / 2 * coef
            lo, hi = _tail_interval(cert, n)
            assert lo > 0
            assert lo <= J <= hi, (n, lo, J, hi)


def test_m3_derivative_integral_bound_is_valid_and_not_vacuous():
    """B >= int_0^pi |g^(7)| for M = 3 (here by 30-digit differentiation of the t-form of L at 401
    points and the trapezoidal rule, which resolves the integral to a few %), within a factor 3."""
    from verify.certify.evensquare import certify_even_square

    c = certify_even_square(3, extra_k=(1,))
    m = 2 * c.k + 1
    assert m == 7
    with mpmath.workdps(30):
        ts = mpmath.linspace(mpmath.mpf("1e-3"), mpmath.pi / 2 - mpmath.mpf("1e-3"), 401)
        vals = [abs(mpmath.diff(_g_mp, t, m)) if abs(mpmath.cos(t) - 0.5) > 1e-3 else None for t in ts]
        pts = [(t, v) for t, v in zip(ts, vals) if v is not None]
        numeric = 2 * sum((pts[i + 1][0] - pts[i][0]) * (pts[i + 1][1] + pts[i][1]) / 2 for i in range(len(pts) - 1))
    assert c.B >= float(numeric)
    assert c.B <= 3 * float(numeric)


@pytest.mark.parametrize("M", [3, 4])
def test_planted_tangency_error_is_not_proven(M):
    from verify.certify.evensquare import certify_even_square

    bad = certify_even_square(M, r2_scale=1.001)
    assert not bad.proven and "double root" in bad.notes[-1]


def test_signfree_is_exact_in_every_dimension_for_the_proven_M():
    """certify_mu0(M, d, 'signfree') is exact (status optimal, no assumption) for M = 3..16 and
    every d >= M - 1, and equals the tangent-line (one-signed) bound: the sign assumption costs
    nothing there. Below d = M - 1 (no simplex) the route is not used."""
    from verify.certify.delsarte import certify_mu0
    from verify.certify.evensquare import EXACT_M

    assert EXACT_M == tuple(range(3, 17))
    cache: dict = {}
    low = certify_mu0(5, 3, method="signfree", degree=8)
    assert low.status == "bound-only" and low.method == "signfree-degree-8"
    for M in EXACT_M:
        one_signed = certify_mu0(M, M + 2, method="tangent-line")
        for d in (M - 1, M, 17):
            c = certify_mu0(M, d, method="signfree", cache=cache)
            assert c.status == "optimal" and c.certified and c.assumptions == ()
            assert c.extra["d_computed"] == M - 1
            assert c.gap_upper < 1e-30
            assert abs(float(c.lower_bound) - float(one_signed.lower_bound)) < 1e-30
