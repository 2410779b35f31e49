"""verify.kernels.relu (the unit-norm ReLU K, K', K'' per precision) and the gelu closed form of the
activation registry.

Tiers (STYLE.md): bit-identity of relu.py's accurate forms with the registry's relu / step closed
forms at q1 = q2 = 1 (the callers moved onto relu.py rely on it); reference values (mpmath at 50
digits; the suite's mpmath quadrature for gelu); enclosures (arb balls contain the mpmath value).
"""

from __future__ import annotations

import math
import random

import mpmath
import numpy as np
import pytest
import sympy as sp
from conftest import assert_close
from flint import arb

from verify.kernels import get_activation, kernel, kernel_arb, kernel_mp
from verify.kernels import relu as R
from verify.kernels.quadrature import kernel_quad_mp
from verify.numbers.precision import flint_prec

EPS = np.finfo(float).eps


def _unit_inputs(seed=7, n=20000):
    rng = np.random.default_rng(seed)
    near = 10.0 ** rng.uniform(-16, -1, n // 4)
    rho = np.concatenate([rng.uniform(-1, 1, n), 1 - near, -1 + near, [-1.0, -0.0, 0.0, 1.0, 1e-300, -1e-300]])
    return np.clip(rho, -1.0, 1.0)


# ---- relu.py: bit-identity with the registry -----------------------------------------------------


def test_relu_float64_bit_identical_to_registry():
    rho = _unit_inputs()
    assert np.array_equal(R.relu_K64(rho), get_activation("relu").k64(1.0, 1.0, rho))
    assert np.array_equal(R.relu_dK64(rho), get_activation("step").k64(1.0, 1.0, rho))
    for x in rho[:200]:
        assert R.relu_K64(float(x)) == kernel("relu", 1.0, 1.0, float(x))


def test_relu_mpmath_bit_identical_to_registry():
    one = mpmath.mpf(1)
    for dps in (20, 50):
        with mpmath.workdps(dps):
            for x in _unit_inputs(n=400)[::3]:
                x = mpmath.mpf(float(x))
                assert R.relu_K_mp(x) == get_activation("relu").k_mp(one, one, x)
                assert R.relu_dK_mp(x) == get_activation("step").k_mp(one, one, x)


# ---- relu.py: accuracy against 50-digit mpmath ---------------------------------------------------


def _mp50(f, x):
    with mpmath.workdps(50):
        return f(mpmath.mpf(float(x)))


def test_relu_float64_accuracy():
    rho = _unit_inputs(n=400)
    K, dK = R.relu_K64(rho), R.relu_dK64(rho)
    inner = rho[np.abs(rho) < 1 - 1e-6]
    d2K = R.relu_d2K64(inner)
    for x, k, dk in zip(rho, K, dK):
        assert_close(k, _mp50(R.relu_K_mp, x), rtol=8 * EPS, atol=1e-300)
        assert_close(dk, _mp50(R.relu_dK_mp, x), rtol=8 * EPS, atol=1e-300)
    for x, k2 in zip(inner, d2K):
        assert_close(k2, _mp50(R.relu_d2K_mp, x), rtol=8 * EPS)
    # The fast paths (module docstring): a few ulp absolute, except where the plain sin's error
    # eps / sqrt(1 - rho^2) comes through (K' of the atan2 form, K of the arccos form).
    s_exact = np.sqrt((1.0 - rho) * (1.0 + rho))
    for factored in (True, False):
        sin = R.relu_sin64(rho, factored=factored)
        a, dKa = R.relu_a64(sin), R.relu_dK64_atan2(rho, sin)
        assert np.max(np.abs(R.relu_K64_atan2(rho, a, dKa) - K)) <= 4 * EPS
        assert np.max(np.abs(dKa - dK) * (1.0 if factored else s_exact)) <= 4 * EPS
    assert np.max(np.abs(R.relu_K64_acos(rho) - K) * s_exact) <= 4 * EPS
    assert np.max(np.abs(R.relu_dK64_acos(rho) - dK)) <= 4 * EPS
    ext = R.relu_K64_acos(rho.astype(np.longdouble), np.arccos(np.longdouble(-1)))
    assert ext.dtype == np.longdouble and np.max(np.abs(ext - K) * s_exact) <= 4 * EPS


def test_relu_exact_values():
    assert R.relu_K64(1.0) == 0.5 and R.relu_K64(-1.0) == 0.0 and R.relu_K64(0.0) == 1 / (2 * math.pi)
    assert R.relu_dK64(1.0) == 0.5 and R.relu_dK64(-1.0) == 0.0 and R.relu_dK64(0.0) == 0.25
    assert R.relu_d2K64(1.0) == math.inf


def test_relu_mpmath_derivatives_and_acos_form():
    with mpmath.workdps(40):
        for x in ("-0.9", "-0.3", "0.1", "0.75"):
            x = mpmath.mpf(x)
            assert abs(mpmath.diff(R.relu_K_mp, x) - R.relu_dK_mp(x)) < mpmath.mpf(10) ** -30
            assert abs(mpmath.diff(R.relu_dK_mp, x) - R.relu_d2K_mp(x)) < mpmath.mpf(10) ** -30
            assert abs(R.relu_K_mp_acos(x) - R.relu_K_mp(x)) < mpmath.mpf(10) ** -38


def test_relu_arb_contains_mpmath():
    for x in (-1.0, -0.999999, -0.5, 0.0, 0.3, 0.999999, 1.0):
        t = arb(x)  # exact binary values
        with mpmath.workdps(50), flint_prec(128):
            m = mpmath.mpf(x)
            vals = [(R.relu_K_arb(t), R.relu_K_mp(m)), (R.relu_dK_arb(t), R.relu_dK_mp(m))]
            if abs(m) < 1:
                vals.append((R.relu_d2K_arb(t), R.relu_d2K_mp(m)))
            for ball, ref in vals:
                assert ball.contains(arb(mpmath.nstr(ref, 45))) or ball.overlaps(arb(mpmath.nstr(ref, 45)))
                assert ball.rad() < 1e-25 * (1 + abs(float(ball.mid())))


# ---- gelu: the closed form on the activation record ---------------------------------------------

# (q1, q2, rho): |rho| near and at 1, small and large q.
GELU_POINTS = [
    ("1", "2", "0.35355339059327376"),
    ("0.5", "1.5", "-0.999999999999"),
    ("0.5", "1.5", "0.999999999999"),
    ("0.5", "1.5", "-1"),
    ("3.1", "0.4", "0.9"),
    # large q: the mpmath quadrature reference is slow here
    pytest.param("25", "25", "0.999999", marks=pytest.mark.slow),
    pytest.param("0.001", "30", "-0.8", marks=pytest.mark.slow),
]


def _c(q1, q2, rho):
    with mpmath.workdps(60):
        return mpmath.mpf(rho) * mpmath.sqrt(mpmath.mpf(q1) * mpmath.mpf(q2))


def test_gelu_uses_its_closed_form():
    act = get_activation("gelu")
    assert act.has_closed_form and act.k_arb is not None and act.k_sym is not None
    assert kernel_mp("gelu", 1, 2, "0.5", 30).method == "closed-form"
    from verify.kernels.pairs import gelu_kernel64, gelu_kernel_mp

    assert act.k64 is gelu_kernel64 and act.k_mp is gelu_kernel_mp  # one definition


@pytest.mark.parametrize("q1, q2, rho", GELU_POINTS)
def test_gelu_closed_form_matches_mpmath_quadrature_to_the_asked_digits(q1, q2, rho):
    dps = 25
    with mpmath.workdps(dps + 15):
        c = _c(q1, q2, rho) * (1 - mpmath.mpf(10) ** -(dps + 12))  # strictly inside |c| <= sqrt(q1 q2)
        closed = get_activation("gelu").k_mp(mpmath.mpf(q1), mpmath.mpf(q2), c)
        quad, err = kernel_quad_mp(get_activation("gelu"), mpmath.mpf(q1), mpmath.mpf(q2), c, dps=dps)
    scale = 1 + abs(quad)
    assert abs(closed - quad) <= mpmath.mpf(10) ** -(dps - 1) * scale, (closed, quad, err)


@pytest.mark.parametrize("q1, q2, rho", GELU_POINTS)
def test_gelu_float64_closed_form_matches_float64_quadrature(q1, q2, rho):
    q1, q2 = float(q1), float(q2)
    c = float(rho) * math.sqrt(q1) * math.sqrt(q2)
    closed = kernel("gelu", q1, q2, c)
    quad = kernel("gelu", q1, q2, c, method="quadrature")
    # kernel_quad64: about 1e-14 relative to the kernel's natural size (verify.kernels.quadrature).
    scale = math.sqrt(kernel("gelu", q1, q1, q1) * kernel("gelu", q2, q2, q2))
    assert_close(closed, quad, rtol=1e-12, atol=1e-13 * scale)
    with mpmath.workdps(50):
        ref = get_activation("gelu").k_mp(mpmath.mpf(q1), mpmath.mpf(q2), mpmath.mpf(c))
    assert_close(closed, ref, rtol=1e-14, atol=1e-15 * scale)


@pytest.mark.parametrize("q1, q2, rho", GELU_POINTS)
def test_gelu_ball_contains_the_value(q1, q2, rho):
    with mpmath.workdps(60):
        c = _c(q1, q2, rho) * (1 - mpmath.mpf(10) ** -40)
        ref = get_activation("gelu").k_mp(mpmath.mpf(q1), mpmath.mpf(q2), c)
        c_str = mpmath.nstr(c, 55)
    ball = kernel_arb("gelu", q1, q2, c_str, prec=200)
    assert ball.overlaps(arb(mpmath.nstr(ref, 55)))
    assert ball.rad() < 1e-40


def test_gelu_sympy_form_agrees():
    q1, q2, c = sp.symbols("q1 q2 c")
    expr = get_activation("gelu").k_sym(q1, q2, c)
    rng = random.Random(3)
    for _ in range(5):
        a, b, r = sp.Rational(rng.randint(1, 300), 97), sp.Rational(rng.randint(1, 300), 97), sp.Rational(rng.randint(-96, 96), 97)
        cv = r * sp.sqrt(a * b)
        v = expr.subs({q1: a, q2: b, c: cv}).evalf(40)
        with mpmath.workdps(40):
            m = get_activation("gelu").k_mp(mpmath.mpf(a.p) / a.q, mpmath.mpf(b.p) / b.q, mpmath.mpf(str(cv.evalf(60))))
            assert abs(mpmath.mpf(str(v)) - m) < mpmath.mpf(10) ** -35
