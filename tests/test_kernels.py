"""Tests of verify.kernels: the float64, mpmath and arb paths of k_sigma(q1, q2, c) (MATH.md sections 2, 7).

Tiers (STYLE.md): reference values (exact boundary values), consistency between independent paths
(float64 closed form vs 50-digit mpmath; float64 and mpmath quadrature vs mpmath; closed form vs
quadrature; arb enclosures vs mpmath), properties (symmetry, homogeneity, PSD, monotonicity,
convexity, the ReLU odd-part identity) and bad input.

Inputs: the float paths take (q1, q2, c) as binary floats; `kernel_mp` and `kernel_arb` read the
same floats exactly, so every comparison below is between two evaluations of the same exact
function at the same exact point, and measures the evaluation error only (not the conditioning).
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from conftest import assert_close
from hypothesis import example, given, settings
from hypothesis import strategies as st

from verify.errors import InputError
from verify.kernels.activations import FLOAT64_ULPS
from verify.kernels import (
    KernelValue,
    check_triple,
    get_activation,
    kernel,
    kernel_arb,
    kernel_matrix,
    kernel_mp,
    row_norms_sq,
)

EPS = np.finfo(float).eps

TWO_SLOPE = ["relu", "abs", "linear", "leaky_relu(alpha=0.1)", "leaky_relu(alpha=-0.5)", "leaky_relu(alpha=0.9)"]
HERMITE = [f"hermite(n={n})" for n in range(7)]
CLOSED = TWO_SLOPE + ["step", "sign", "erf", "gelu"] + HERMITE
SMOOTH = ["tanh", "sigmoid", "softplus", "gelu", "silu"]
HOMOGENEOUS_1 = ["relu", "abs", "leaky_relu(alpha=0.1)", "leaky_relu(alpha=-0.5)", "linear"]
HOMOGENEOUS_0 = ["step", "sign"]
KINKED_ZERO_AT_ZERO = ["relu", "abs", "step", "sign", "leaky_relu(alpha=0.1)", "linear"]


# --------------------------------------------------------------------------------------------
# Helpers and strategies
# --------------------------------------------------------------------------------------------


def fit_c(q1: float, q2: float, rho: float) -> float:
    """c = rho sqrt(q1) sqrt(q2) in float64, moved towards 0 until c^2 <= q1 q2 holds exactly.

    check_triple tolerates 8 ulp of excess, but kernel_mp and kernel_arb check Cauchy-Schwarz in
    exact arithmetic; a c that satisfies it exactly is valid for every path.
    """
    c = float(rho) * math.sqrt(q1) * math.sqrt(q2)
    fq = Fraction(q1) * Fraction(q2)
    while Fraction(c) ** 2 > fq:
        c = float(np.nextafter(c, 0.0))
    return c


def hermite_largest_term(n: int, q1, q2, c) -> mpmath.mpf:
    """max_m |n! c^(n-2m) ((q1-1)(q2-1))^m / ((m!)^2 (n-2m)! 4^m)| (the polynomial's largest term),
    written out here independently of verify.kernels.activations."""
    q1, q2, c = mpmath.mpf(q1), mpmath.mpf(q2), mpmath.mpf(c)
    A = (q1 - 1) * (q2 - 1)
    terms = [
        mpmath.mpf(math.factorial(n)) / (math.factorial(m) ** 2 * math.factorial(n - 2 * m) * 4**m) * c ** (n - 2 * m) * A**m
        for m in range(n // 2 + 1)
    ]
    return max(abs(t) for t in terms)


def natural_scale(label: str, q1, q2, c) -> mpmath.mpf:
    """The size the absolute error floor is measured in: sqrt(q1 q2) for degree-1 activations, 1 for
    the bounded ones (step, sign, erf: |k| <= 1), the largest term for Hermite kernels."""
    act = get_activation(label)
    with mpmath.workdps(50):
        if act.name == "hermite":
            return hermite_largest_term(int(act.param_dict["n"]), q1, q2, c)
        if act.degree == 1:
            return mpmath.sqrt(mpmath.mpf(q1)) * mpmath.sqrt(mpmath.mpf(q2))
        return mpmath.mpf(1)


signs = st.sampled_from([-1.0, 1.0])
# rho = +-(1 - 10^-k), k = 1..14: the arccos / sqrt(1 - rho^2) cancellation region of MATH.md section 7.
rho_near_one = st.builds(lambda s, k: s * (1.0 - 10.0 ** (-k)), signs, st.integers(1, 14))
# rho within 1e-12 of +-1, including exactly +-1.
rho_at_one = st.builds(lambda s, t: s * (1.0 - t), signs, st.floats(0.0, 1e-12))
rhos = st.one_of(st.floats(-1.0, 1.0), rho_near_one, rho_at_one, st.sampled_from([-1.0, 0.0, 1.0]))


@st.composite
def triples(draw, lo: float = -3.0, hi: float = 3.0):
    """(q1, q2, c) with q in [10^lo, 10^hi], valid for every path: mostly log-uniform q and rho from
    `rhos`; sometimes an exactly collinear pair (q1 = a^2, q2 = b^2, c = +-a b with a, b of 24-bit
    mantissa, so all three are exact in binary64 and rho = +-1 exactly)."""
    if draw(st.integers(0, 4)) == 0:
        roots = st.floats(lo / 2, hi / 2).map(lambda e: float(np.float32(10.0**e)))
        a, b = draw(roots), draw(roots)
        return a * a, b * b, draw(signs) * a * b
    q = st.floats(lo, hi).map(lambda e: float(10.0**e))
    q1, q2, rho = draw(q), draw(q), draw(rhos)
    return q1, q2, fit_c(q1, q2, rho)


def _closed_form_case(label, q1, q2, c):
    """The float64 contract of `verify.kernels.activations`: |k64 - k| <= FLOAT64_ULPS ulp of Sigma."""
    act = get_activation(label)
    got = kernel(act, q1, q2, c)
    assert isinstance(got, float)
    ref = kernel_mp(act, q1, q2, c, 50)
    assert isinstance(ref, KernelValue) and ref.dps == 50 and ref.method == "closed-form"
    with mpmath.workdps(50):
        args = [mpmath.mpf(v) for v in (q1, q2, c)]
        sigma = abs(ref.value) if act.k_scale_mp is None else act.k_scale_mp(*args)
        assert sigma >= abs(ref.value) * (1 - mpmath.mpf(10) ** -40)  # a sum of |terms| bounds |k|
        err = abs(mpmath.mpf(got) - ref.value)
        # + 1e-300: values below the float64 range underflow (e.g. c^3 for c ~ 1e-280).
        assert err <= FLOAT64_ULPS * EPS * sigma + 1e-300, (
            f"{label} at {(q1, q2, c)}: error {mpmath.nstr(err, 3)} = "
            f"{mpmath.nstr(err / (EPS * sigma), 3) if sigma else 'inf'} ulp of Sigma = {mpmath.nstr(sigma, 5)}")


# --------------------------------------------------------------------------------------------
# 1. float64 closed forms vs 50-digit mpmath at the same inputs, q in [1e-12, 1e16]
# --------------------------------------------------------------------------------------------

Q_GRID = [10.0**e for e in range(-12, 17)]
RHO_EDGES = [-1.0, -(1 - 1e-12), -0.5, 0.0, 0.5, 1 - 1e-12, 1.0]


@pytest.mark.parametrize("label", CLOSED)
@given(t=triples(lo=-12.0, hi=16.0))
@example(t=(1.0, 1.0, 1.0))
@example(t=(1.0, 1.0, -1.0))
@example(t=(3.0, 3.0, -3.0))  # antiparallel weights: K(-1) = 0 (a public code got this wrong)
@example(t=(0.25, 4.0, 1.0))  # rho = 1 exactly with q1 != q2
@example(t=(0.25, 4.0, -1.0))
@example(t=(2.0, 2.0, 2.0 * (1 - 1e-12)))
@example(t=(2.0, 2.0, -2.0 * (1 - 1e-12)))
@example(t=(1e-3, 1e3, fit_c(1e-3, 1e3, 1 - 1e-13)))
@example(t=(1e3, 1e3, -1e3 * (1 - 1e-14)))
@example(t=(1e16, 1e16, 1e16))  # erf: the arcsin form lost half the digits here (issue 14)
@example(t=(1e16, 1e16, -1e16))  # gelu: k ~ -2e-9 from terms ~ 2.5e15
@example(t=(1e12, 1e16, fit_c(1e12, 1e16, -(1 - 1e-12))))  # gelu near its zero: absolute
@example(t=(0.7, 1.3, 0.0))
def test_closed_form_float64_matches_mpmath(label, t):
    _closed_form_case(label, *t)


@pytest.mark.parametrize("label", CLOSED)
def test_closed_form_float64_log_grid(label):
    """Every q1, q2 on the decade grid 1e-12 .. 1e16 with rho at the edges (+-1, +-(1 - 1e-12))."""
    for q1 in Q_GRID:
        for q2 in Q_GRID[::4]:
            for rho in RHO_EDGES:
                _closed_form_case(label, q1, q2, fit_c(q1, q2, rho))


@pytest.mark.parametrize("label", ["relu", "leaky_relu(alpha=0.1)", "abs", "step", "sign", "erf", "gelu"])
@pytest.mark.parametrize("k", range(1, 15))
@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_closed_form_near_plus_minus_one_grid(label, k, sign):
    """Deterministic sweep of rho = +-(1 - 10^-k): relative accuracy must not degrade as rho -> +-1."""
    for q1, q2 in [(0.37, 5.3), (1e16, 1e16), (1e-12, 1e8)]:
        _closed_form_case(label, q1, q2, fit_c(q1, q2, sign * (1 - 10.0**-k)))


def test_sigma_is_within_a_small_factor_of_k_away_from_zeros():
    """Sigma (the contract's scale) is |k| itself, or close to it, except near a zero of k: measured
    on a grid, so the contract is relative where the docstring says so."""
    with mpmath.workdps(40):
        for label in ["relu", "abs", "leaky_relu(alpha=-0.5)"]:
            act = get_activation(label)
            for q1, q2, rho in [(1.0, 1.0, -1.0 + 1e-9), (1e-12, 1e16, -0.9), (2.0, 3.0, -0.3)]:
                c = fit_c(q1, q2, rho)
                k = kernel_mp(act, q1, q2, c, 40).value
                assert act.k_scale_mp(*(mpmath.mpf(v) for v in (q1, q2, c))) <= abs(k) * (1 + mpmath.mpf(10) ** -30)
        gelu = get_activation("gelu")
        for q in [1e-12, 1.0, 1e16]:
            for rho in [1.0, 0.5, 0.0, -0.999, -1.0]:
                c = fit_c(q, q, rho)
                k = kernel_mp(gelu, q, q, c, 40).value
                assert gelu.k_scale_mp(*(mpmath.mpf(v) for v in (q, q, c))) <= 7 * abs(k), (q, rho)


@pytest.mark.parametrize("q1, q2, rho", [(1e16, 1e16, -1.0), (1e16, 1e16, 1.0), (1e12, 1e16, -(1 - 1e-12)),
                                         (1e-12, 1e-12, -1.0), (1.0, 1.0, -0.4), (30.0, 1e-6, -0.7)])
def test_gelu_forms_match_the_textbook_formula_at_high_precision(q1, q2, rho):
    """The cancellation-free forms of k_gelu against the single formula of Tsuchida et al. (written
    out here), evaluated at 150 digits so that its cancellation (up to 1e24) leaves 100 good ones."""
    c = fit_c(q1, q2, rho)
    with mpmath.workdps(150):
        a, b, cc = (mpmath.mpf(v) for v in (q1, q2, c))
        S1, S2 = 1 + a, 1 + b
        textbook = cc / 4 + cc * mpmath.asin(cc / mpmath.sqrt(S1 * S2)) / (2 * mpmath.pi) + (
            a * b - cc**2 + cc**2 / S1 + cc**2 / S2) / (2 * mpmath.pi * mpmath.sqrt(S1 * S2 - cc**2))
    assert_close(kernel_mp("gelu", q1, q2, c, 60).value, textbook, rtol=mpmath.mpf(10) ** -55)
    ball = kernel_arb("gelu", q1, q2, c, prec=200)
    with mpmath.workdps(150):
        assert mpmath.mpf(ball.lower().str(60, radius=False)) - mpmath.mpf(10) ** -50 * abs(textbook) <= textbook


# --------------------------------------------------------------------------------------------
# 2. Exact boundary values in float64
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [1e-300, 1e-3, 0.5, 1.0, 3.0, 7.25, 1e3, 1e150])
def test_relu_antiparallel_is_exactly_zero(q):
    assert kernel("relu", q, q, -q) == 0.0


def test_relu_exact_values():
    assert kernel("relu", 1.0, 1.0, 1.0) == 0.5
    assert kernel("relu", 4.0, 4.0, 4.0) == 2.0
    assert kernel("relu", 0.25, 4.0, -1.0) == 0.0
    # K(0) = 1/(2 pi): within one rounding of the true value (the float 1/(2 pi) is itself rounded).
    with mpmath.workdps(30):
        assert_close(kernel("relu", 1.0, 1.0, 0.0), 1 / (2 * mpmath.pi), rtol=EPS)
    assert kernel("relu", 1.0, 1.0, 0.0) == 1 / (2 * math.pi)


def test_step_sign_exact_values():
    assert kernel("step", 1.0, 1.0, 1.0) == 0.5
    assert kernel("step", 1.0, 1.0, -1.0) == 0.0
    assert kernel("sign", 1.0, 1.0, 1.0) == 1.0
    assert kernel("sign", 1.0, 1.0, -1.0) == -1.0
    assert kernel("sign", 2.0, 3.0, 0.0) == 0.0
    assert kernel("step", 2.0, 3.0, 0.0) == 0.25
    assert kernel("linear", 2.0, 3.0, -1.75) == -1.75


@pytest.mark.parametrize("label", KINKED_ZERO_AT_ZERO)
@pytest.mark.parametrize("q1, q2", [(0.0, 0.0), (0.0, 2.5), (3.0, 0.0)])
def test_zero_vectors_give_zero(label, q1, q2):
    assert kernel(label, q1, q2, 0.0) == 0.0
    assert kernel_mp(label, q1, q2, 0.0, 30).value == 0
    if get_activation(label).degree is not None:
        assert kernel_mp(label, q1, q2, 0.0, 30, method="quadrature").value == 0
    ball = kernel_arb(label, q1, q2, 0.0)
    assert ball.is_exact() and ball.is_zero()


@pytest.mark.parametrize("label", ["relu", "abs", "step", "sign", "erf", "leaky_relu(alpha=0.1)"])
def test_zero_rows_in_kernel_matrix(label):
    A = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5], [0.0, 0.0, 0.0], [-0.3, 0.1, 2.0]])
    K = kernel_matrix(get_activation(label), A)
    assert np.all(K[0] == 0.0) and np.all(K[:, 0] == 0.0) and np.all(K[2] == 0.0)
    assert np.all(np.isfinite(K))


def test_broadcasting_shapes():
    q1 = np.array([1.0, 2.0, 3.0])
    out = kernel("relu", q1[:, None], 2.0, np.array([[0.5, -0.5]]))
    assert out.shape == (3, 2)
    for i in range(3):
        for j, c in enumerate([0.5, -0.5]):
            assert out[i, j] == kernel("relu", q1[i], 2.0, c)


# --------------------------------------------------------------------------------------------
# 3. float64 quadrature vs mpmath (smooth activations), and vs the erf closed form
# --------------------------------------------------------------------------------------------


def _quad_case(label, q1, q2, c, dps=20):
    act = get_activation(label)
    got = kernel(act, q1, q2, c, method="quadrature")
    ref = kernel_mp(act, q1, q2, c, dps, method="quadrature")  # gelu has a closed form too
    assert ref.method == "quadrature"
    # |k| <= sqrt(k(q1, q1, q1) k(q2, q2, q2)) (Cauchy-Schwarz): the kernel's natural size. The floor
    # matters only where k itself vanishes (odd activations at c = 0).
    scale = math.sqrt(abs(kernel(act, q1, q1, q1, method="quadrature") * kernel(act, q2, q2, q2, method="quadrature")))
    assert_close(got, ref.value, rtol=1e-10, atol=1e-12 * scale, what=f"{label} at {(q1, q2, c)}")


QUAD_GRID = [
    (1e-3, 1e-3, 0.5),
    (1.0, 2.0, 0.3),
    (0.7, 5.0, -1 + 1e-12),
    (2.0, 0.5, 1.0),
    (4.0, 4.0, -1.0),
    (3.0, 1.5, 0.0),
]


@pytest.mark.parametrize("label", SMOOTH)
@pytest.mark.parametrize("q1, q2, rho", QUAD_GRID)
def test_quadrature_float64_matches_mpmath_grid(label, q1, q2, rho):
    _quad_case(label, q1, q2, fit_c(q1, q2, rho))


LARGE_Q = [(label, 30.0, 30.0, 1 - 1e-12) for label in SMOOTH] + [
    # tanh has the poles nearest the real axis, GELU the fastest growth: one more point each.
    ("tanh", 1e-3, 30.0, -0.8),
    ("gelu", 1e-3, 30.0, -0.8),
]


@pytest.mark.slow
@pytest.mark.parametrize("label, q1, q2, rho", LARGE_Q)
def test_quadrature_float64_matches_mpmath_large_q(label, q1, q2, rho):
    """q = 30: poles of tanh(sqrt(q) z) sit at distance pi / (2 sqrt(30)) from the real axis; the
    trapezoidal step must shrink accordingly. The mpmath reference takes seconds here."""
    _quad_case(label, q1, q2, fit_c(q1, q2, rho), dps=15)


@pytest.mark.parametrize("label", SMOOTH)
@settings(max_examples=8)  # each mpmath reference is a 2-D rule in mpmath (0.05-0.3 s for q <= 1)
@given(t=triples(hi=0.0))
def test_quadrature_float64_matches_mpmath_random(label, t):
    # q <= 1 keeps each 15-digit mpmath reference fast (its cost grows with q); larger q is covered
    # by the grids above.
    _quad_case(label, *t, dps=15)


@given(t=triples(hi=math.log10(30.0)))
@example(t=(30.0, 30.0, 30.0))
@example(t=(30.0, 30.0, -30.0))
@example(t=(1e-3, 30.0, fit_c(1e-3, 30.0, 1 - 1e-12)))
def test_erf_quadrature_matches_closed_form(t):
    """The independent twin: the trapezoidal rule (with erf's exp(y^2) growth) vs Williams' arcsin."""
    q1, q2, c = t
    quad = kernel("erf", q1, q2, c, method="quadrature")
    closed = kernel("erf", q1, q2, c, method="closed-form")
    # |k_erf| <= 1; the floor covers c = 0, where the kernel vanishes.
    assert_close(quad, closed, rtol=1e-10, atol=1e-12)


def test_quadrature_broadcasts():
    c = np.array([-0.5, 0.0, 0.4, 1.0])
    out = kernel("tanh", 1.0, 1.0, c)
    assert out.shape == (4,)
    for ci, oi in zip(c, out):
        assert_close(oi, kernel("tanh", 1.0, 1.0, float(ci)), rtol=1e-13, atol=1e-15)


# --------------------------------------------------------------------------------------------
# 4. mpmath gives at least the asked digits (minus 3)
# --------------------------------------------------------------------------------------------

# Exact decimal strings: kernel_mp reads them as rationals, so all precisions see the same point.
# erf and gelu are left out here: their trapezoidal rule grows with q and the digits (erf has its
# own slow test below; gelu's closed form against quadrature at 25-40 digits is in
# tests/test_closed_forms.py and tests/test_beyond.py).
QUAD_CHECKED = [lbl for lbl in CLOSED if lbl not in ("erf", "gelu")]
MP_TRIPLES = [("1", "2", "0.7"), ("0.5", "0.3", "-0.387298334620")]


@pytest.mark.parametrize("dps", [15, 25, 40])
@pytest.mark.parametrize("label", QUAD_CHECKED)
@pytest.mark.parametrize("triple", MP_TRIPLES)
def test_mp_closed_form_has_asked_digits(label, dps, triple):
    """Closed form at dps vs an independent quadrature at dps + 20."""
    got = kernel_mp(label, *triple, dps)
    ref = kernel_mp(label, *triple, dps + 20, method="quadrature")
    with mpmath.workdps(dps + 20):
        assert_close(got.value, ref.value, rtol=mpmath.mpf(10) ** (3 - dps), what=f"{label} dps={dps}")


@pytest.mark.slow
@pytest.mark.parametrize("dps", [15, 25, 40])
def test_mp_erf_has_asked_digits(dps):
    # Small q: the trapezoidal cost for erf grows with q1 + q2 (its exp(y^2) growth shrinks the step).
    triple = ("0.25", "0.125", "0.1")
    got = kernel_mp("erf", *triple, dps)
    ref = kernel_mp("erf", *triple, dps + 20, method="quadrature")
    with mpmath.workdps(dps + 20):
        assert_close(got.value, ref.value, rtol=mpmath.mpf(10) ** (3 - dps))


@pytest.mark.parametrize("dps", [15, 25, pytest.param(40, marks=pytest.mark.slow)])
def test_mp_tanh_has_asked_digits(dps):
    triple = ("0.25", "0.2", "-0.15")
    got = kernel_mp("tanh", *triple, dps)
    ref = kernel_mp("tanh", *triple, dps + 20)
    assert got.method == "quadrature" and got.error_estimate is not None
    with mpmath.workdps(dps + 20):
        assert_close(got.value, ref.value, rtol=mpmath.mpf(10) ** (3 - dps))


RHO_40 = ["-1", "-0.999999999999", "-0.3", "0.6", "0.999999999999", "1"]


@pytest.mark.parametrize("label", QUAD_CHECKED)
@pytest.mark.parametrize("rho", RHO_40)
def test_closed_form_matches_quadrature_at_40_digits(label, rho):
    q1, q2 = "1.5", "1.5"  # equal q: c = rho q1 is an exact rational, rho = +-1 included exactly
    c = str(Fraction(rho) * Fraction(q1))  # "a/b", read exactly by kernel_mp
    closed = kernel_mp(label, q1, q2, c, 40)
    quad = kernel_mp(label, q1, q2, c, 40, method="quadrature")
    with mpmath.workdps(40):
        # Both at 40 digits; 3 digits of slack for the quadrature's error control. The floor
        # (1e-37 of the natural size 1.5) covers the exact zeros (relu at rho = -1, hermite at c = 0).
        assert_close(closed.value, quad.value, rtol=mpmath.mpf(10) ** -37, atol=mpmath.mpf(10) ** -37 * 1.5)


@pytest.mark.slow
@pytest.mark.parametrize("rho", ["-0.999999999999", "0.3", "0.999999999999"])
def test_erf_closed_form_matches_quadrature_at_40_digits(rho):
    q1, q2 = "0.5", "0.25"
    # sqrt(q1 q2) = 0.3535... is irrational; c = 0.35 rho keeps c exact and |rho_eff| <= 0.99.
    c = Fraction(rho) * Fraction(35, 100)
    cs = f"{c.numerator}/{c.denominator}"
    closed = kernel_mp("erf", q1, q2, cs, 40)
    quad = kernel_mp("erf", q1, q2, cs, 40, method="quadrature")
    with mpmath.workdps(40):
        assert_close(closed.value, quad.value, rtol=mpmath.mpf(10) ** -37)


def test_kernel_mp_reads_strings_exactly():
    # "0.1" is one tenth, not the float 0.1.
    v_str = kernel_mp("linear", "1", "1", "0.1", 40).value
    v_flt = kernel_mp("linear", 1, 1, 0.1, 40).value
    with mpmath.workdps(40):
        assert v_str == mpmath.mpf(1) / 10
        assert v_flt == mpmath.mpf(0.1)


# --------------------------------------------------------------------------------------------
# 5. arb enclosures contain the 60-digit value and are narrow
# --------------------------------------------------------------------------------------------


def _mpf_exact(arb_exact) -> mpmath.mpf:
    """An exact arb (radius 0) as an mpf, without rounding."""
    assert arb_exact.is_exact()
    man, exp = (int(v) for v in arb_exact.man_exp())
    with mpmath.workprec(max(53, man.bit_length() + 2)):
        return mpmath.mpf((man, exp))


ARB_GRID = [
    (1.0, 1.0, 1.0),
    (1.0, 1.0, -1.0),
    (0.25, 4.0, 1.0),
    (0.25, 4.0, -1.0),
    (2.0, 2.0, 2.0 * (1 - 1e-12)),
    (2.0, 2.0, -2.0 * (1 - 1e-12)),
    (0.37, 5.3, fit_c(0.37, 5.3, 1 - 1e-14)),
    (0.37, 5.3, fit_c(0.37, 5.3, -1 + 1e-14)),
    (1.7, 0.6, 0.4),
    (1.7, 0.6, -0.9),
    (1e-3, 1e3, 0.0),
    (1e3, 2e-3, fit_c(1e3, 2e-3, -0.5)),
]


@pytest.mark.parametrize("label", CLOSED)
@pytest.mark.parametrize("q1, q2, c", ARB_GRID)
def test_arb_encloses_mpmath_value(label, q1, q2, c):
    from flint import arb

    ball = kernel_arb(label, q1, q2, c, prec=128)
    assert isinstance(ball, arb) and ball.is_finite()
    ref = kernel_mp(label, q1, q2, c, 60).value
    lo, hi = _mpf_exact(ball.lower()), _mpf_exact(ball.upper())
    assert lo <= ref <= hi, f"{label} at {(q1, q2, c)}: {mpmath.nstr(ref, 60)} not in {ball.str(50, radius=True)}"
    # 128 bits is ~38 digits of the natural size (sqrt(q1 q2), 1, or the largest Hermite term, which
    # reaches 3e8 at q = 1e3); 1e-30 of it leaves room for the cancellation near rho = +-1.
    bound = 1e-30 * max(1.0, float(natural_scale(label, q1, q2, c)))
    assert float(ball.rad()) < bound, f"{label} at {(q1, q2, c)}: radius {ball.rad()} (bound {bound:g})"


def test_arb_rejects_activations_without_ball_form():
    with pytest.raises(InputError):
        kernel_arb("tanh", 1.0, 1.0, 0.5)


def test_arb_restores_precision():
    from flint import ctx

    old = ctx.prec
    kernel_arb("relu", 1.0, 2.0, 0.5, prec=300)
    assert ctx.prec == old


# --------------------------------------------------------------------------------------------
# 6. Properties
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", CLOSED)
@given(t=triples())
def test_symmetry_closed_forms(label, t):
    q1, q2, c = t
    act = get_activation(label)
    a, b = kernel(act, q1, q2, c), kernel(act, q2, q1, c)
    # Each side is within the section-1 accuracy of the same exact value.
    scale = natural_scale(label, q1, q2, c)
    assert_close(a, b, rtol=2e-14, atol=2e-14 * scale if act.name == "hermite" else 2e-15 * scale)


@pytest.mark.parametrize("label", SMOOTH)
@given(t=triples(hi=1.0))
def test_symmetry_quadrature(label, t):
    q1, q2, c = t
    a = kernel(label, q1, q2, c)
    b = kernel(label, q2, q1, c)
    # Swapping q1, q2 changes the nodes the rule samples: agreement to the quadrature's own accuracy.
    scale = math.sqrt(abs(kernel(label, q1, q1, q1) * kernel(label, q2, q2, q2)))
    assert_close(a, b, rtol=1e-10, atol=1e-12 * scale)


@pytest.mark.parametrize("label", HOMOGENEOUS_1 + HOMOGENEOUS_0)
@given(t=triples(), k=st.integers(-20, 20))
def test_homogeneity(label, t, k):
    """k(t q1, t q2, t c) = t^deg k(q1, q2, c). t = 2^k scales the float inputs exactly, so both sides
    are evaluations at exactly related points and differ only by the evaluation error."""
    q1, q2, c = t
    act = get_activation(label)
    s = 2.0**k
    lhs = kernel(act, s * q1, s * q2, s * c)
    rhs = s**act.degree * kernel(act, q1, q2, c)  # a power of two: exact
    scale = natural_scale(label, s * q1, s * q2, s * c)
    assert_close(lhs, rhs, rtol=2e-14, atol=2e-15 * scale)


@pytest.mark.parametrize("label", HOMOGENEOUS_1 + HOMOGENEOUS_0)
def test_homogeneity_non_dyadic(label):
    """With t = 3 the inputs are rounded; away from rho = +-1 the kernel is well conditioned there."""
    act = get_activation(label)
    for q1, q2, rho in [(1.0, 2.0, 0.3), (0.7, 0.2, -0.6)]:
        c = fit_c(q1, q2, rho)
        lhs = kernel(act, 3 * q1, 3 * q2, 3 * c)
        # Each input carries <= 1/2 ulp of rounding; the kernel's relative condition number is O(1) here.
        assert_close(lhs, 3.0**act.degree * kernel(act, q1, q2, c), rtol=1e-14, atol=1e-15)


def _point_set(seed: int, n: int, d: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.05, 2.0, size=(n, 1))
    # Adversarial rows: a zero vector, a duplicate, an antipodal copy and a rescaled copy.
    X[0] = 0.0
    X[1] = X[2]
    X[3] = -X[4]
    X[5] = 3.0 * X[6]
    return X


@pytest.mark.parametrize("label", CLOSED)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 6))
def test_kernel_matrix_is_psd(label, seed, d):
    X = _point_set(seed, 24, d)
    K = kernel_matrix(get_activation(label), X)
    assert np.array_equal(K, K.T) or np.allclose(K, K.T, rtol=0, atol=1e-14 * np.max(np.abs(K)))
    ev = np.linalg.eigvalsh((K + K.T) / 2)
    # Entries carry ~1e-15 of max|K| of rounding; eigvalsh adds ~n eps ||K||: 1e-12 is well above both.
    tol = 1e-12 * np.max(np.abs(ev))
    if label in ("step", "sign"):
        # Loosened: these kernels are only Hoelder-1/2 in c at rho = +-1 (dk/dc ~ 1/sqrt(q1 q2 - c^2)).
        # The Gram entries and norms are rounded (relative error <= (d + 1) eps), so for the duplicate,
        # antipodal and rescaled rows (and every pair when d = 1) an entry can move by up to
        # (2/pi) sqrt(2 (d + 1) eps) ~ 5e-8 -- a conditioning limit of the data, not of the kernel
        # code. The perturbation matrix has spectral norm <= n times that.
        tol = X.shape[0] * (2 / math.pi) * math.sqrt(2 * (d + 1) * EPS)
    assert ev.min() >= -tol, (label, seed, d, ev.min(), ev.max())


@pytest.mark.parametrize("label", SMOOTH)
@settings(max_examples=15)  # float64 quadrature of a 12 x 12 matrix: ~0.05 s per example
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 4))
def test_kernel_matrix_is_psd_quadrature(label, seed, d):
    X = _point_set(seed, 12, d)
    K = kernel_matrix(get_activation(label), X)
    ev = np.linalg.eigvalsh((K + K.T) / 2)
    # The quadrature's entries are accurate to ~1e-14 relative; 1e-12 leaves a wide margin.
    assert ev.min() >= -1e-12 * np.max(np.abs(ev)), (label, seed, d, ev.min(), ev.max())


@pytest.mark.parametrize("label", TWO_SLOPE + ["erf", "step", "sign"])
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 8), block_rows=st.sampled_from([1, 5, 1024]))
def test_kernel_matrix_matches_elementwise_kernel(label, seed, d, block_rows):
    act = get_activation(label)
    rng = np.random.default_rng(seed)
    A = _point_set(seed, 17, d)
    B = np.vstack([A[:4], -A[6:8], rng.standard_normal((6, d))])
    K = kernel_matrix(act, A, B, block_rows=block_rows)
    qa, qb = row_norms_sq(A), row_norms_sq(B)
    C = A @ B.T
    # The Gram product may differ from the fused path's by a few ulp; keep Cauchy-Schwarz in float.
    bound = np.sqrt(qa)[:, None] * np.sqrt(qb)[None, :]
    ref = kernel(act, qa[:, None], qb[None, :], np.clip(C, -bound, bound))
    if act.name in ("step", "sign"):
        # dk/dc = 1/(2 pi sqrt(q1 q2 - c^2)) is unbounded at rho = +-1: a one-ulp difference in the
        # Gram entry of a duplicated or antipodal pair moves k by ~sqrt(eps). Compare where
        # 1 - |rho| > 1e-4 only: there sqrt(1 - rho^2) > 0.014, and a Gram difference of d eps p
        # (d <= 8) moves k by at most 8 eps / (2 pi 0.014) ~ 2e-14 (step; sign is 4x that), < 1e-13.
        rho = np.abs(np.clip(C, -bound, bound)) / np.where(bound > 0, bound, 1.0)
        mask = rho < 1 - 1e-4
        np.testing.assert_array_equal(K.shape, ref.shape)
        assert_close(K[mask], ref[mask], rtol=0, atol=1e-13)
        return
    # The fused path is accurate to ~1e-15 sqrt(q1 q2) absolute (matrix.py), the Gram product to
    # ~d eps sqrt(q1 q2): 1e-14 of max|K| covers both for d <= 8.
    assert_close(K, ref, rtol=0, atol=1e-14 * np.max(np.abs(ref)))


def test_kernel_matrix_default_is_symmetric_gram():
    A = _point_set(3, 10, 4)
    act = get_activation("relu")
    np.testing.assert_array_equal(kernel_matrix(act, A), kernel_matrix(act, A, A))


@given(rho=st.one_of(st.floats(-1.0, 1.0), rho_near_one, rho_at_one))
@example(rho=1.0)
@example(rho=0.0)
def test_relu_odd_part_identity(rho):
    """K(rho) - K(-rho) = rho / 2 (MATH.md section 2), at unit variances and at general q."""
    kp, km = kernel("relu", 1.0, 1.0, rho), kernel("relu", 1.0, 1.0, -rho)
    # Each value carries <= 1e-14 relative error (section 1): the difference carries their sum.
    assert_close(kp - km, rho / 2, rtol=0, atol=1e-14 * (abs(kp) + abs(km)) + EPS * abs(rho))
    q1, q2 = 0.3, 7.0
    c = fit_c(q1, q2, rho)
    kp, km = kernel("relu", q1, q2, c), kernel("relu", q1, q2, -c)
    assert_close(kp - km, c / 2, rtol=0, atol=1e-14 * (abs(kp) + abs(km)) + EPS * abs(c))
    with mpmath.workdps(50):
        d = kernel_mp("relu", q1, q2, c, 50).value - kernel_mp("relu", q1, q2, -c, 50).value
        assert_close(d, mpmath.mpf(c) / 2, rtol=mpmath.mpf(10) ** -45, atol=mpmath.mpf(10) ** -48)


def test_relu_kernel_increasing_and_convex():
    """K' = (pi - arccos rho)/(2 pi) > 0 on (-1, 1], K'' = 1/(2 pi sqrt(1 - rho^2)) > 0."""
    rho = np.linspace(-1.0, 1.0, 4001)
    K = kernel("relu", 1.0, 1.0, rho)
    assert K[0] == 0.0 and K[-1] == 0.5
    d1 = np.diff(K)
    # Grid step h = 5e-4: first differences >= h K'(rho) > 0; second differences ~ h^2 K'' >= 4e-8,
    # far above the ~1e-16 rounding of the values.
    assert np.all(d1 > 0)
    assert np.all(np.diff(d1) > 0)
    # The step kernel (its derivative) is increasing too.
    assert np.all(np.diff(kernel("step", 1.0, 1.0, rho)) > 0)
    # The same on a grid that crowds at +-1.
    t = 10.0 ** -np.arange(1, 15)
    r = np.concatenate([[-1.0], -1 + t[::-1], [0.0], 1 - t, [1.0]])
    assert np.all(np.diff(r) > 0)
    K = kernel("relu", 1.0, 1.0, r)
    # Neighbouring values differ by >= 5e-15 (K' >= 1/2 near rho = 1; near -1, K ~ (2t)^1.5 / (3 pi)),
    # far above their relative rounding of ~1e-16.
    assert np.all(np.diff(K) > 0)
    # Convexity needs the slopes, whose float64 rounding (ulp / 1e-14 ~ 1e-2) would swamp their
    # differences: check them at 50 digits instead.
    with mpmath.workdps(50):
        Km = [kernel_mp("relu", 1.0, 1.0, float(x), 50).value for x in r]
        rm = [mpmath.mpf(float(x)) for x in r]
        slopes = [(Km[i + 1] - Km[i]) / (rm[i + 1] - rm[i]) for i in range(len(r) - 1)]
        assert all(b > a for a, b in zip(slopes, slopes[1:]))


# --------------------------------------------------------------------------------------------
# 7. Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q1, q2, c",
    [
        (-1.0, 1.0, 0.0),
        (1.0, -1e-300, 0.0),
        (1.0, 1.0, 1.0 + 1e-10),
        (1.0, 1.0, -(1.0 + 1e-10)),
        (2.0, 8.0, 4.0 * (1 + 1e-12)),
        (float("nan"), 1.0, 0.0),
        (1.0, float("inf"), 0.0),
        (1.0, 1.0, float("nan")),
        (1.0, 1.0, float("-inf")),
    ],
)
def test_bad_triples_raise(q1, q2, c):
    with pytest.raises(InputError):
        check_triple(q1, q2, c)
    for label in ("relu", "erf", "tanh"):
        with pytest.raises(InputError):
            kernel(label, q1, q2, c)
    with pytest.raises(InputError):
        kernel_mp("relu", q1, q2, c, 20)
    with pytest.raises(InputError):
        kernel_arb("relu", q1, q2, c)


def test_bad_triple_in_array_raises():
    with pytest.raises(InputError):
        kernel("relu", np.array([1.0, 1.0]), 1.0, np.array([0.5, 1.5]))


def test_rounding_slack_is_accepted():
    # c = sqrt(q1) sqrt(q2) rounded up by an ulp is rounding, not an error.
    q1, q2 = 2.0, 3.0
    c = float(np.nextafter(math.sqrt(q1) * math.sqrt(q2), np.inf))
    check_triple(q1, q2, c)
    assert math.isfinite(kernel("relu", q1, q2, c))


def test_kernel_mp_checks_cauchy_schwarz_exactly():
    with pytest.raises(InputError):
        kernel_mp("relu", "1", "1", "1.0000000000000000000001", 30)
    kernel_mp("relu", "1", "4", "-2", 30)  # exactly on the boundary: valid


@pytest.mark.parametrize(
    "name, params",
    [
        ("nope", {}),
        ("relu", {"alpha": 1}),
        ("tanh", {"n": 2}),
        ("leaky_relu", {"alpha": 1.5}),
        ("leaky_relu", {"alpha": -1.01}),
        ("leaky_relu", {"alpha": float("nan")}),
        ("leaky_relu", {"alpha": "abc"}),
        ("hermite", {"n": 2.5}),
        ("hermite", {"n": -1}),
        ("hermite", {"n": 61}),
        ("relu(", {}),
        ("leaky_relu(alpha)", {}),
        ("leaky_relu(alpha=2)", {}),
    ],
)
def test_get_activation_rejects(name, params):
    with pytest.raises(InputError):
        get_activation(name, **params)


def test_get_activation_labels_and_params():
    act = get_activation("leaky_relu(alpha=0.25)")
    assert act == get_activation("leaky_relu", alpha=0.25)
    assert act.param_dict == {"alpha": 0.25}
    assert act.label == "leaky_relu(alpha=0.25)"
    assert get_activation("hermite", n=3).label == "hermite(n=3)"
    assert get_activation(act) is act
    with pytest.raises(InputError):
        get_activation(act, alpha=0.1)


def test_bad_methods_and_precision():
    with pytest.raises(InputError):
        kernel("tanh", 1.0, 1.0, 0.5, method="closed-form")
    with pytest.raises(InputError):
        kernel("relu", 1.0, 1.0, 0.5, method="simpson")
    with pytest.raises(InputError):
        kernel("relu", 1.0, 1.0, 0.5, method="quadrature")  # kinked: no float64 trapezoidal rule
    with pytest.raises(InputError):
        kernel_mp("tanh", 1.0, 1.0, 0.5, 20, method="closed-form")
    for dps in (4, 10001, 20.0):
        with pytest.raises(InputError):
            kernel_mp("relu", 1.0, 1.0, 0.5, dps)
    with pytest.raises(InputError):
        kernel_mp("relu", "1", "1", "abc", 20)


@pytest.mark.parametrize("q", [1e4, 1e12, 1e16])
@pytest.mark.parametrize("sign", [1, -1])
def test_gelu_closed_form_at_huge_q_matches_one_dimensional_quadrature(q, sign):
    """At rho = +-1, k_gelu(q, q, +-q) = +-E[q Z^2 Phi(sqrt(q) Z) Phi(+-sqrt(q) Z)]: a 1-D integral,
    split where Phi(sqrt(q) z) turns (|z| ~ 1/sqrt(q)), independent of the closed form. For
    rho = -1 the closed form's terms are ~q/4 and k ~ -0.19/sqrt(q) (a cancellation of up to 1e24)."""
    with mpmath.workdps(40):
        Q = mpmath.mpf(q)
        r = mpmath.sqrt(Q)

        def integrand(z):
            return Q * z * z * mpmath.ncdf(r * z) * mpmath.ncdf(sign * r * z) * mpmath.npdf(z)

        cuts = [-mpmath.inf, -40 / r, -1 / r, 0, 1 / r, 40 / r, mpmath.inf]
        quad, err = mpmath.quad(integrand, cuts, error=True)
        ref = sign * quad
        got = kernel_mp("gelu", q, q, sign * q, 30).value
        assert err < mpmath.mpf(10) ** -28 * abs(ref)
        assert abs(got - ref) <= mpmath.mpf(10) ** -25 * abs(ref), (mpmath.nstr(got, 30), mpmath.nstr(ref, 30))
        ball = kernel_arb("gelu", q, q, sign * q, prec=300)
        assert _mpf_exact(ball.lower()) <= got + abs(got) * mpmath.mpf(10) ** -29
        assert got - abs(got) * mpmath.mpf(10) ** -29 <= _mpf_exact(ball.upper())
        sigma = get_activation("gelu").k_scale_mp(Q, Q, sign * Q)
        assert abs(kernel("gelu", q, q, sign * q) - ref) <= FLOAT64_ULPS * EPS * sigma
