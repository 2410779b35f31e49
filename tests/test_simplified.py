"""The simplified objective L~ (MATH.md section 5): value, gradient and Hessian, each against an
independent method."""

from __future__ import annotations

import numpy as np
import pytest

from verify.errors import InputError
from verify.model.networks import TwoLayerNetwork
from verify.model import loss
from verify.model.simplified import SimplifiedProblem, simplified_problem


def _config(seed, M=3, d=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(M), rng.standard_normal((M, d))


@pytest.mark.parametrize("act", ["relu", "abs", "leaky_relu(alpha=0.2)", "erf", "step", "hermite(n=3)"])
@pytest.mark.parametrize("seed", [0, 1])
def test_loss_matches_mpmath(act, seed):
    P = simplified_problem(4, 0.8, 1.3, abar=1.1, activation=act)
    b, V = _config(seed)
    L = P.loss(b, V)
    Lm = float(P.loss_mp(b, V, 30))
    # float64 kernels are accurate to a few ulp of each term; terms are O(1) and L is O(0.1..10):
    # 1e-13 leaves room for the cancellation between the three terms.
    assert abs(L - Lm) <= 1e-13 * max(1.0, abs(Lm))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_is_the_exact_loss_of_a_one_neuron_target(seed):
    """Against the neuron (mu, s) on the extended input (x, zeta): the cross and compressed terms of
    L~ are those of that network's exact loss; only the target term differs, by
    abar^2 (k(r^2, r^2, r^2) - k(r^2, r^2, ||mu||^2)) (zeta is averaged inside f~)."""
    d = 5
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal(d)
    s, abar = 0.7, 1.4
    b, V = _config(seed + 10, M=4, d=d)
    P = SimplifiedProblem(mu, s, abar)
    target = TwoLayerNetwork(np.array([abar]), np.append(mu, s)[None, :], "relu")
    comp = TwoLayerNetwork(b, np.hstack([V, np.zeros((4, 1))]), "relu")
    from verify.kernels import kernel

    r2 = P.r2
    shift = abar**2 * (kernel("relu", r2, r2, r2) - kernel("relu", r2, r2, float(mu @ mu)))
    expected = loss(target, comp) - shift
    assert abs(P.loss(b, V) - expected) <= 1e-13 * abs(expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_gradient_and_hessian_match_high_precision_differentiation(seed):
    P = simplified_problem(4, 1.0, 1.0, abar=1.3)
    b, V = _config(seed)
    gb, gV = P.grad(b, V)
    gb2, gV2 = P.grad(b, V, method="mp-diff")
    scale = max(1.0, np.abs(gb2).max(), np.abs(gV2).max())
    # mpmath.diff at 40 digits is exact to float64 rounding; the analytic path rounds once per term.
    assert np.abs(gb - gb2).max() <= 1e-13 * scale
    assert np.abs(gV - gV2).max() <= 1e-13 * scale
    H = P.hessian(b, V)
    H2 = P.hessian(b, V, method="mp-diff")
    assert np.abs(H - H.T).max() == 0.0
    assert np.abs(H - H2).max() <= 1e-12 * max(1.0, np.abs(H2).max())


def test_relu_gradient_matches_float64_central_differences():
    P = simplified_problem(6, 2.0, 0.5)
    b, V = _config(7, M=4, d=6)
    gb, gV = P.grad(b, V)
    h = 1e-6
    for j in range(4):
        e = np.zeros(4)
        e[j] = h
        fd = (P.loss(b + e, V) - P.loss(b - e, V)) / (2 * h)
        # central differences: O(h^2) truncation ~1e-12 plus rounding eps / h ~ 1e-10
        assert abs(fd - gb[j]) <= 1e-7 * max(1.0, abs(gb[j]))
        E = np.zeros_like(V)
        E[j, 1] = h
        fd = (P.loss(b, V + E) - P.loss(b, V - E)) / (2 * h)
        assert abs(fd - gV[j, 1]) <= 1e-7 * max(1.0, abs(gV[j, 1]))


def test_batched_evaluation_matches_single():
    P = simplified_problem(4, 1.0, 1.0)
    rng = np.random.default_rng(3)
    B, VV = rng.standard_normal((6, 3)), rng.standard_normal((6, 3, 4))
    L = P.loss(B, VV)
    gb, gV = P.grad(B, VV)
    for i in range(6):
        assert L[i] == pytest.approx(P.loss(B[i], VV[i]), rel=1e-15)
        gbi, gVi = P.grad(B[i], VV[i])
        assert np.allclose(gb[i], gbi, rtol=1e-14, atol=1e-15) and np.allclose(gV[i], gVi, rtol=1e-14, atol=1e-15)


def test_non_relu_derivatives_by_mp_diff_match_finite_differences():
    P = simplified_problem(3, 0.5, 1.0, activation="erf")
    b, V = _config(4, M=2, d=3)
    gb, gV = P.grad(b, V, method="mp-diff")
    h = 1e-6
    e = np.array([h, 0.0])
    fd = (P.loss(b + e, V) - P.loss(b - e, V)) / (2 * h)
    assert abs(fd - gb[0]) <= 1e-7
    with pytest.raises(InputError):
        P.grad(b, V)


def test_relu_homogeneity_and_optimal_b():
    """L~ is invariant under (b_j, v_j) -> (b_j / t, t v_j), t > 0; at the optimal b for fixed V,
    the b-gradient vanishes (it solves K_VV b = abar C)."""
    P = simplified_problem(4, 1.0, 1.0, abar=0.9)
    b, V = _config(5)
    t = np.array([2.0, 0.5, 3.0])
    assert P.loss(b / t, V * t[:, None]) == pytest.approx(P.loss(b, V), rel=1e-14)
    from verify.kernels import get_activation, kernel_matrix

    K = kernel_matrix(get_activation("relu"), V)
    C = kernel_matrix(get_activation("relu"), np.hstack([V, np.zeros((3, 1))]), P.u[None, :])[:, 0]
    bstar = np.linalg.solve(K, P.abar * C)
    assert np.abs(P.grad(bstar, V)[0]).max() <= 1e-12


@pytest.mark.parametrize(
    "kwargs",
    [dict(mu=np.array([np.nan, 0.0]), s=1.0), dict(mu=np.zeros(2), s=0.0), dict(mu=np.zeros(2), s=1.0, activation="tanh")],
)
def test_bad_input(kwargs):
    with pytest.raises(InputError):
        SimplifiedProblem(**kwargs)
    P = simplified_problem(3, 1.0, 1.0)
    with pytest.raises(InputError):
        P.loss(np.ones(2), np.ones((3, 3)))
