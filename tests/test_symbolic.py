"""Tests of verify.kernels.symbolic: every named check passes, and every check can fail."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from verify.errors import InputError
from verify.kernels import symbolic as S
from verify.kernels.activations import get_activation

CLOSED_FORM = (
    ["relu", "step", "sign", "abs", "linear", "erf"]
    + [f"leaky_relu(alpha={a})" for a in (0.1, 0.25, -0.5)]
    + [f"hermite(n={n})" for n in range(6)]
)

Q1, Q2, C, RHO = S.Q1, S.Q2, S.C, S.RHO
P = sp.sqrt(Q1 * Q2)


def _assert_passed(rec: S.SymbolicCheck) -> None:
    assert rec.passed, rec.details
    assert rec.method in ("simplify", "simplify+numeric")
    if rec.method == "simplify":
        assert rec.residual == 0.0
    else:
        assert rec.residual < S.NUMERIC_TOL


# --------------------------------------------------------------------------------------------
# Every check passes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", CLOSED_FORM)
def test_price_theorem_passes(label):
    rec = S.price_theorem(label)
    _assert_passed(rec)
    assert rec.name == "price_theorem"
    assert rec.activation == get_activation(label).label
    assert "d k/dc" in rec.details


@pytest.mark.parametrize("label", CLOSED_FORM)
def test_boundary_values_pass(label):
    rec = S.boundary_values(label)
    _assert_passed(rec)
    assert rec.name == "boundary_values"
    assert rec.activation == get_activation(label).label


def test_relu_boundary_includes_odd_part_identity():
    rec = S.boundary_values("relu")
    assert "K(rho) - K(-rho) == rho/2" in rec.details
    assert "lim_{c -> -p+} k" in rec.details


def test_activation_objects_are_accepted():
    rec = S.price_theorem(get_activation("leaky_relu", alpha=0.25))
    _assert_passed(rec)
    assert rec.activation == "leaky_relu(alpha=0.25)"


def test_relu_K_derivatives_pass():
    rec = S.relu_K_derivatives()
    _assert_passed(rec)
    assert rec.activation == "relu"
    for piece in ("K'(rho)", "K''(rho)", "K(1)", "K(0)", "K(-1)", "convexity", "sqrt(q1 q2) K("):
        assert piece in rec.details


def test_relu_hermite_coefficients_pass():
    rec = S.relu_hermite_coefficients()
    _assert_passed(rec)
    assert "c_12" in rec.details and "c_13" not in rec.details
    assert "Taylor_12 K" in rec.details


def test_relu_hermite_coefficients_small_n_max():
    _assert_passed(S.relu_hermite_coefficients(n_max=0))
    _assert_passed(S.relu_hermite_coefficients(n_max=3))


def test_relu_hermite_coefficient_formula_values():
    c = S.relu_hermite_coefficient
    assert c(0) == 1 / sp.sqrt(2 * sp.pi)
    assert c(1) == sp.Rational(1, 2)
    assert c(2) == 1 / (2 * sp.sqrt(sp.pi))
    assert c(3) == 0 and c(5) == 0 and c(11) == 0
    assert sp.simplify(c(4) + sp.sqrt(3) / (12 * sp.sqrt(sp.pi))) == 0
    # Parseval: sum c_k^2 = E relu(Z)^2 = 1/2, and the partial sums approach it from below.
    partial = sum(c(k) ** 2 for k in range(41))
    assert 0.49 < float(partial) < 0.5


@pytest.mark.parametrize("k", [-1, 1.5, True, "2"])
def test_relu_hermite_coefficient_rejects_bad_index(k):
    with pytest.raises(InputError):
        S.relu_hermite_coefficient(k)


def test_derivative_kernel_forms():
    assert S.derivative_kernel("linear") == 1
    assert S.derivative_kernel("hermite(n=0)") == 0
    assert sp.simplify(S.derivative_kernel("sign") - 4 * S.derivative_kernel("step")) == 0
    assert sp.simplify(S.derivative_kernel("relu").subs(C, 0) - sp.Rational(1, 4)) == 0


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------


def test_registry_names():
    assert set(S.CHECKS) == {"price_theorem", "boundary_values", "relu_K_derivatives", "relu_hermite_coefficients"}


@pytest.mark.parametrize(
    "name, params",
    [
        ("price_theorem", {"activation": "leaky_relu(alpha=0.25)"}),
        ("boundary_values", {"activation": "hermite(n=3)"}),
        ("relu_K_derivatives", {}),
        ("relu_hermite_coefficients", {"n_max": 6}),
    ],
)
def test_run_check(name, params):
    rec = S.run_check(name, **params)
    _assert_passed(rec)
    assert rec.name == name


@pytest.mark.parametrize(
    "name, params",
    [
        ("no_such_check", {}),
        (None, {}),
        ("price_theorem", {}),  # missing activation
        ("price_theorem", {"activation": "relu", "extra": 1}),
        ("price_theorem", {"activation": "no_such_activation"}),
        ("price_theorem", {"activation": "tanh"}),  # no closed form
        ("boundary_values", {"activation": "leaky_relu(beta=1)"}),
        ("boundary_values", {"activation": 3}),
        ("relu_K_derivatives", {"activation": "relu"}),
        ("relu_hermite_coefficients", {"n_max": -1}),
        ("relu_hermite_coefficients", {"n_max": "12"}),
        ("relu_hermite_coefficients", {"n_max": 2.5}),
        ("relu_hermite_coefficients", {"n_max": S.MAX_N_MAX + 1}),
        ("relu_hermite_coefficients", {"n_max": True}),
    ],
)
def test_run_check_rejects(name, params):
    with pytest.raises(InputError) as info:
        S.run_check(name, **params)
    assert "\n" not in str(info.value)


def test_direct_call_rejects_activation_without_closed_form():
    with pytest.raises(InputError):
        S.price_theorem("gelu")


def test_record_is_frozen():
    rec = S.price_theorem("linear")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.passed = False  # type: ignore[misc]
    assert {f.name for f in dataclasses.fields(rec)} == {"name", "activation", "passed", "method", "details", "residual"}


# --------------------------------------------------------------------------------------------
# Every check can fail
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label, wrong",
    [
        ("relu", S._k_sign(Q1, Q2, C)),  # the abs' derivative kernel, not ReLU's
        ("step", 1 / (sp.pi * sp.sqrt(Q1 * Q2 - C**2))),  # twice the orthant density
        ("sign", 1 / (2 * sp.pi * sp.sqrt(Q1 * Q2 - C**2))),  # forgot sign' = 2 delta
        ("erf", (4 / sp.pi) / sp.sqrt((1 + 2 * Q1) * (1 + 2 * Q2) - 2 * C**2)),
        ("hermite(n=3)", 3 * get_activation("hermite", n=1).k_sym(Q1, Q2, C)),
        ("leaky_relu(alpha=0.25)", sp.Rational(5, 8) ** 2 + sp.Rational(3, 8) * S._k_sign(Q1, Q2, C)),
    ],
)
def test_price_theorem_detects_wrong_derivative_kernel(label, wrong):
    rec = S._price_theorem_against(get_activation(label), wrong)
    assert not rec.passed
    assert rec.method == "simplify+numeric"
    assert rec.residual > 1e-6


def test_boundary_values_detect_wrong_value():
    act = get_activation("relu")
    expected = S._expected_boundary(act)
    assert all(p.passed for p in S._boundary_parts(act, expected))
    wrong = {**expected, -1: P / 2}  # K(-1) = 1/2 is the classic antiparallel bug
    parts = S._boundary_parts(act, wrong)
    rec = S._record("boundary_values", act.label, parts)
    assert not rec.passed
    assert any("rho = -1" in p.text and not p.passed for p in parts)
    assert any("c -> -p+" in p.text and not p.passed for p in parts)


def test_boundary_values_detect_wrong_hermite_power():
    act = get_activation("hermite", n=3)
    parts = S._boundary_parts(act, {r: sp.Integer(r) ** 3 for r in (-1, 0, 1)})
    assert all(p.passed for p in parts)
    # A kernel that is rho^2 instead of rho^3 must fail the identity in rho.
    bad = S._compare(act.k_sym(1, 1, RHO), RHO**2, "k(1, 1, rho) == rho^2")
    assert not bad.passed


def _flipped_c4(k: int) -> sp.Expr:
    c = S.relu_hermite_coefficient(k)
    return -c if k == 4 else c


def _wrong_c0(k: int) -> sp.Expr:
    return 1 / sp.sqrt(sp.pi) if k == 0 else S.relu_hermite_coefficient(k)


def test_hermite_coefficients_detect_sign_flip():
    rec = S._hermite_coefficients_against(6, _flipped_c4)
    assert not rec.passed
    assert "c_4" in rec.details
    # The flipped sign squares away in Mehler's sum: that part alone cannot see it.
    part = [p for p in rec.details.split("; ") if p.startswith("sum_")]
    assert part and "numeric" not in part[0]


def test_hermite_coefficients_detect_wrong_constant_term():
    rec = S._hermite_coefficients_against(4, _wrong_c0)
    assert not rec.passed
    assert rec.residual > 1e-3  # both c_0 and the series' constant term differ


def test_convexity_check_can_fail():
    assert S._positive_on_open_interval(1 / sp.sqrt(1 - RHO**2), "ok").passed
    assert not S._positive_on_open_interval(-1 / sp.sqrt(1 - RHO**2), "negated").passed
    assert not S._positive_on_open_interval(RHO, "sign change").passed


# --------------------------------------------------------------------------------------------
# The comparison helper itself
# --------------------------------------------------------------------------------------------


def test_compare_exact_route():
    rec = S.compare_expressions(sp.acos(RHO) + sp.asin(RHO), sp.pi / 2)
    assert rec.passed and rec.method == "simplify" and rec.residual == 0.0


def test_compare_substitution_route():
    # sqrt(p - c) sqrt(p + c) = sqrt(q1 q2 - c^2) needs |c| < p, which plain simplify cannot know;
    # the substitution c = rho p, rho = (t-1)/(t+1), t > 0 supplies it.
    lhs, rhs = sp.sqrt(P - C) * sp.sqrt(P + C), sp.sqrt(Q1 * Q2 - C**2)
    assert sp.simplify(lhs - rhs) != 0
    rec = S.compare_expressions(lhs, rhs)
    assert rec.passed and rec.method == "simplify" and rec.residual == 0.0
    assert "c = rho sqrt(q1 q2)" in rec.details


def test_compare_numeric_route_passes_true_identity():
    # Euler's reflection formula for the dilogarithm: simplify does not reach 0.
    x = (1 + RHO) / 2
    lhs = sp.polylog(2, x) + sp.polylog(2, 1 - x)
    rhs = sp.pi**2 / 6 - sp.log(x) * sp.log(1 - x)
    rec = S.compare_expressions(lhs, rhs)
    assert rec.passed
    assert rec.method == "simplify+numeric"
    assert rec.residual < S.NUMERIC_TOL
    assert "numeric at 8 points" in rec.details


def test_compare_numeric_route_catches_tiny_error():
    x = (1 + RHO) / 2
    lhs = sp.polylog(2, x) + sp.polylog(2, 1 - x)
    rhs = sp.pi**2 / 6 - sp.log(x) * sp.log(1 - x) + sp.Rational(1, 10**30)
    rec = S.compare_expressions(lhs, rhs)
    assert not rec.passed
    assert rec.method == "simplify+numeric"
    assert 1e-31 < rec.residual < 1e-29


def test_compare_out_of_domain_is_not_a_pass():
    # At an explicit point where the difference is undefined: residual inf, not passed.
    rec = S.compare_expressions(1 / RHO, 2 / RHO, points=[{RHO: sp.Integer(0)}])
    assert rec.passed is False
    assert rec.residual == float("inf")


def test_compare_rejects_strings():
    with pytest.raises(TypeError):
        S.compare_expressions("x", 1)


def test_sample_points_lie_in_domain():
    pts = S.sample_points({Q1, Q2, C, RHO, S.T}, n=20)
    assert len(pts) == 20
    for pt in pts:
        assert pt[Q1] > 0 and pt[Q2] > 0 and pt[S.T] > 0
        assert -1 < pt[RHO] < 1
        assert pt[C] ** 2 < pt[Q1] * pt[Q2]
        assert all(isinstance(v, sp.Rational) for v in pt.values())
    assert pts == S.sample_points({Q1, Q2, C, RHO, S.T}, n=20)  # seeded: reproducible
