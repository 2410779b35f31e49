"""Tests of verify.kernels.hermite: Hermite coefficients and the series form of the dual kernels.

Reference values: ReLU's closed-form coefficients (MATH.md section 2) against quadrature.
Consistency: the degree-n series against the closed-form / quadrature kernels, within the series'
own rigorous truncation bound (plus the working-precision rounding). Convergence: the ReLU tail
at rho = 1 decays like n^(-3/2), as the coefficients' asymptotics predict.
"""

from __future__ import annotations

import mpmath
import pytest
from conftest import assert_close

from verify.errors import InputError
from verify.kernels import kernel_mp
from verify.kernels.hermite import (
    activation_norm_sq,
    hermite_coefficients,
    kernel_series,
    relu_hermite_coefficient,
)

DPS = 30
ROUND = mpmath.mpf(10) ** -25  # 30-digit working precision, 5 digits of slack for sums of ~50 terms


def _mp(x) -> mpmath.mpf:
    return mpmath.mpf(x)


# --------------------------------------------------------------------------------------------
# Coefficients
# --------------------------------------------------------------------------------------------


def test_relu_coefficients_known_values():
    with mpmath.workdps(DPS):
        s2pi = mpmath.sqrt(2 * mpmath.pi)
        assert_close(relu_hermite_coefficient(0), 1 / s2pi, rtol=ROUND)
        assert relu_hermite_coefficient(1) == mpmath.mpf(1) / 2
        for k in (3, 5, 7, 21):
            assert relu_hermite_coefficient(k) == 0
        # c_2 = 1 / (sqrt(2 pi) sqrt(2)), c_4 = -1 / (sqrt(2 pi) sqrt(24)), c_6 = 3 / (sqrt(2 pi) sqrt(720))
        assert_close(relu_hermite_coefficient(2), 1 / (s2pi * mpmath.sqrt(2)), rtol=ROUND)
        assert_close(relu_hermite_coefficient(4), -1 / (s2pi * mpmath.sqrt(24)), rtol=ROUND)
        assert_close(relu_hermite_coefficient(6), 3 / (s2pi * mpmath.sqrt(720)), rtol=ROUND)


@pytest.mark.parametrize("q", ["1", "2.5"])
def test_relu_coefficients_closed_form_match_quadrature(q):
    n = 24
    with mpmath.workdps(DPS):
        closed = hermite_coefficients("relu", n, q)
        quad = hermite_coefficients("relu", n, q, method="quadrature")
        assert len(closed) == len(quad) == n + 1
        for k, (a, b) in enumerate(zip(closed, quad)):
            # Quadrature at 30 digits of integrands of size O(1) (|c_k| <= sqrt(q / 2)).
            assert_close(b, a, rtol=ROUND, atol=ROUND, what=f"c_{k}(q={q})")


def test_hermite_activation_has_a_single_coefficient():
    """h_3 = He_3 / sqrt(3!) is itself the third normalized Hermite polynomial: c_k = delta_k3."""
    with mpmath.workdps(DPS):
        coeffs = hermite_coefficients("hermite(n=3)", 6)
        for k, ck in enumerate(coeffs):
            assert_close(ck, 1 if k == 3 else 0, rtol=0, atol=ROUND, what=f"c_{k}")


def test_relu_parseval():
    """sum_k c_k^2 = E relu(Z)^2 = 1/2; the tail after degree n is what the truncation bound uses."""
    with mpmath.workdps(DPS):
        assert_close(activation_norm_sq("relu"), mpmath.mpf(1) / 2, rtol=ROUND)
        partial = mpmath.fsum(relu_hermite_coefficient(k) ** 2 for k in range(401))
        assert 0 < mpmath.mpf(1) / 2 - partial < mpmath.mpf("1e-3")


def test_relu_tail_decays_like_n_to_the_minus_three_halves():
    """c_{2m}^2 ~ m^(-5/2) (Stirling), so R_n = 1/2 - sum_{k<=n} c_k^2 ~ n^(-3/2): the measured
    order between n = 400 and n = 1600 must be -3/2 (to 2%, the size of the next asymptotic term)."""
    with mpmath.workdps(DPS):
        c2 = [relu_hermite_coefficient(k) ** 2 for k in range(1601)]
        total = mpmath.mpf(1) / 2
        r400 = total - mpmath.fsum(c2[:401])
        r1600 = total - mpmath.fsum(c2)
        order = mpmath.log(r1600 / r400) / mpmath.log(4)
        assert abs(order + mpmath.mpf(3) / 2) < 0.03, order


# --------------------------------------------------------------------------------------------
# Series vs closed form, within the truncation bound
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rho", ["0.3", "-0.9", "0.99", "-1", "1"])
@pytest.mark.parametrize("n", [10, 40])
@pytest.mark.parametrize("q1, q2", [("1", "1"), ("2", "0.5")])
def test_relu_series_within_truncation_bound(rho, n, q1, q2):
    with mpmath.workdps(DPS):
        p = mpmath.sqrt(_mp(q1) * _mp(q2))
        c = mpmath.mpf(rho) * p
        series = kernel_series("relu", q1, q2, c, n)
        assert series.degree == n
        assert series.truncation_bound >= 0
        exact = kernel_mp("relu", q1, q2, c, DPS).value
        # The bound is rigorous for the exact tail; ROUND covers the 30-digit arithmetic.
        err = abs(series.value - exact)
        assert err <= series.truncation_bound + ROUND * p, (rho, n, err, series.truncation_bound)


def test_relu_series_bound_is_not_vacuous():
    with mpmath.workdps(DPS):
        s = kernel_series("relu", 1, 1, "0.3", 40)
        # |rho|^41 R_40 <= 0.3^41 / 2 ~ 2e-22.
        assert s.truncation_bound < mpmath.mpf("1e-20")
        assert_close(s.value, kernel_mp("relu", 1, 1, "0.3", DPS).value, rtol=0, atol=s.truncation_bound + ROUND)


@pytest.mark.parametrize("n", [5, 20, 60])
def test_relu_series_bound_is_attained_at_rho_one(n):
    """At rho = 1 and q1 = q2 every tail term c_k^2 is >= 0, so the tail equals the bound R_n:
    series + bound = K(1) = 1/2 (the bound is sharp, not just valid)."""
    with mpmath.workdps(DPS):
        s = kernel_series("relu", 1, 1, 1, n)
        assert_close(s.value + s.truncation_bound, mpmath.mpf(1) / 2, rtol=ROUND)


def test_relu_series_bound_decreases_with_degree():
    with mpmath.workdps(DPS):
        bounds = [kernel_series("relu", 1, 1, "-0.9", n).truncation_bound for n in range(2, 30, 3)]
        assert all(b <= a * (1 + ROUND) for a, b in zip(bounds, bounds[1:]))


def test_tanh_series_matches_quadrature():
    with mpmath.workdps(DPS):
        s = kernel_series("tanh", 1, 2, "0.3", 20)
        ref = kernel_mp("tanh", 1, 2, "0.3", DPS)
        assert ref.method == "quadrature"
        # tanh is odd: only odd coefficients, and they decay geometrically (poles at +-i pi/2).
        assert s.truncation_bound < mpmath.mpf("1e-18")  # ~1.2e-19: the check is sharp
        assert_close(s.value, ref.value, rtol=0, atol=s.truncation_bound + mpmath.mpf("1e-20"))


def test_erf_series_matches_closed_form():
    """erf: coefficients by quadrature, the norm E erf(sqrt(q) Z)^2 by the closed form."""
    with mpmath.workdps(DPS):
        q1, q2, c = "0.5", "1.5", "0.4"
        s = kernel_series("erf", q1, q2, c, 25)
        exact = kernel_mp("erf", q1, q2, c, DPS).value
        assert s.truncation_bound < mpmath.mpf("1e-15")  # ~2e-17
        assert_close(s.value, exact, rtol=0, atol=s.truncation_bound + ROUND)


def test_odd_activation_has_no_even_coefficients():
    with mpmath.workdps(DPS):
        for k, ck in enumerate(hermite_coefficients("tanh", 8, "1.7")):
            if k % 2 == 0:
                assert abs(ck) < ROUND, (k, ck)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def test_series_rejects_bad_input():
    with mpmath.workdps(DPS):
        with pytest.raises(InputError):
            kernel_series("relu", 0, 1, 0, 5)
        with pytest.raises(InputError):
            kernel_series("relu", 1, 1, "1.5", 5)
        with pytest.raises(InputError):
            hermite_coefficients("relu", 5, -1)
        with pytest.raises(InputError):
            hermite_coefficients("relu", 5, 1, method="simpson")
        with pytest.raises(InputError):
            relu_hermite_coefficient(-1)
        with pytest.raises(InputError):
            hermite_coefficients("no_such_activation", 3)


def test_homogeneity_of_relu_coefficients():
    """c_k(q) = sqrt(q) c_k for ReLU (degree-1 homogeneity), here by quadrature at q = 9."""
    with mpmath.workdps(DPS):
        quad = hermite_coefficients("relu", 8, 9, method="quadrature")
        for k, ck in enumerate(quad):
            assert_close(ck, 3 * relu_hermite_coefficient(k), rtol=ROUND, atol=ROUND, what=f"c_{k}")
