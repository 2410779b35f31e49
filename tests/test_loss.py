"""Tests of verify.model (the exact finite-N loss, MATH.md section 3) and verify.model.networks
(the target law, section 1).

Consistency: the float64 loss against Monte Carlo over x (statistical, 4 standard errors) and
against the all-mpmath twin `loss_mp`; the ReLU analytic gradient against central differences
(mpmath and float64); the blocked target term against the dense quadratic form.
Properties of the target law: reproducible sampling, moments of the xi laws, validated shapes.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from conftest import assert_close

import verify.model.finite as finite
from verify.errors import InputError
from verify.kernels import get_activation, kernel_matrix
from verify.model.networks import XI_LAWS, TargetLaw, TwoLayerNetwork
from verify.model import (
    LossTerms,
    loss,
    loss_and_grad_relu,
    loss_monte_carlo,
    loss_mp,
    loss_terms,
    self_term,
)

EPS = np.finfo(float).eps


def make_pair(act: str, N: int, M: int, d: int, seed: int, *, s: float = 1.0, mu: float = 0.3, b_scale: float = 0.5):
    """A target drawn from TargetLaw (random a with var_a = 0.5) and a random compressed network.

    The compressed output weights are scaled so that the three terms of L_N are of comparable size
    (no term dominates, so each is actually tested)."""
    law = TargetLaw(d, mu=np.full(d, mu / math.sqrt(d)), s=s, abar=1.0, var_a=0.5, xi="gaussian", activation=act)
    target = law.sample(N, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    V = s * rng.standard_normal((M, d)) / math.sqrt(d)
    b = b_scale * rng.standard_normal(M) / M
    return target, TwoLayerNetwork(b, V, act)


def condition(terms: LossTerms) -> float:
    """(|T| + 2|X| + |Y|) / |L|: how much the cancellation in L = T - 2X + Y amplifies relative errors."""
    return (abs(terms.target) + 2 * abs(terms.cross) + abs(terms.compressed)) / abs(terms.loss)


# --------------------------------------------------------------------------------------------
# L_N vs Monte Carlo over x
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
def test_loss_matches_monte_carlo(act):
    target, comp = make_pair(act, N=50, M=5, d=8, seed=11)
    L = loss(target, comp)
    mc = loss_monte_carlo(target, comp, samples=200_000, seed=7)
    assert mc.samples == 200_000 and mc.stderr > 0
    # Statistical: a correct L_N falls outside 4 standard errors with probability ~6e-5 (and the seed
    # is fixed). The exact terms must each be resolvable at this accuracy for the check to mean much.
    terms = loss_terms(target, comp)
    assert min(abs(terms.target), abs(terms.cross), abs(terms.compressed)) > 4 * mc.stderr, terms
    assert abs(L - mc.mean) <= 4 * mc.stderr, (act, L, mc.mean, mc.stderr)


@pytest.mark.parametrize("act", ["relu", "erf", "tanh"])
def test_target_term_matches_monte_carlo(act):
    """E f_N(x)^2 = u^T K_WW u alone (the O(N^2) term), against the sample mean of f_N(x)^2."""
    target, _ = make_pair(act, N=50, M=5, d=8, seed=12)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200_000, target.dim))
    f2 = target(x) ** 2
    mean, se = f2.mean(), f2.std(ddof=1) / math.sqrt(f2.size)
    T = self_term(target.activation, target.effective_weights, target.inner)
    assert abs(T - mean) <= 4 * se, (act, T, mean, se)


def test_monte_carlo_is_reproducible_and_validated():
    target, comp = make_pair("relu", N=10, M=3, d=4, seed=1)
    a = loss_monte_carlo(target, comp, samples=5000, seed=3)
    b = loss_monte_carlo(target, comp, samples=5000, seed=3)
    assert (a.mean, a.stderr) == (b.mean, b.stderr)
    assert loss_monte_carlo(target, comp, samples=5000, seed=4).mean != a.mean
    with pytest.raises(InputError):
        loss_monte_carlo(target, comp)


# --------------------------------------------------------------------------------------------
# L_N vs the mpmath twin
# --------------------------------------------------------------------------------------------


# step and sign: dk/dc is unbounded at rho = 1, so the diagonal of K_WW must use the row norms
# exactly (a one-ulp Gram error there cost 1e-9 of the loss before issue 14).
@pytest.mark.parametrize("act", ["relu", "abs", "erf", "leaky_relu(alpha=0.2)", "gelu", "step", "sign"])
@pytest.mark.parametrize("N, seed", [(20, 1), (37, 2)])
def test_loss_matches_loss_mp(act, N, seed):
    target, comp = make_pair(act, N=N, M=5, d=6, seed=seed)
    terms = loss_terms(target, comp)
    L = loss(target, comp)
    assert L == terms.loss
    ref = loss_mp(target, comp, dps=30)
    # float64 sums (N + M)^2 kernel values, each a few ulp accurate: relative error ~ (N + M) eps
    # times the cancellation factor of T - 2X + Y. With cond < 20 that is < 2e-13, under 1e-12.
    assert condition(terms) < 20
    assert_close(L, ref, rtol=1e-12)


def test_loss_matches_loss_mp_quadrature_activation():
    # Small norms (s = 0.5) keep each 30-digit trapezoidal kernel fast (~0.2 s; 28 of them).
    target, comp = make_pair("tanh", N=5, M=2, d=8, seed=3, s=0.5, mu=0.0)
    terms = loss_terms(target, comp)
    assert condition(terms) < 20
    assert_close(loss(target, comp), loss_mp(target, comp, dps=30), rtol=1e-12)


def test_loss_is_zero_for_identical_networks():
    """L(f, f) = 0: the three terms cancel exactly in exact arithmetic (here to rounding)."""
    target, _ = make_pair("relu", N=12, M=3, d=5, seed=4)
    same = TwoLayerNetwork(target.effective_weights, target.inner, "relu")
    terms = loss_terms(target, same)
    # Cancellation: the error is ~ N eps times the size of the terms, not of L = 0.
    assert abs(terms.loss) <= 100 * 12 * EPS * (abs(terms.target) + 2 * abs(terms.cross) + abs(terms.compressed))
    with mpmath.workdps(30):
        assert abs(loss_mp(target, same, dps=30)) < mpmath.mpf(10) ** -25


def test_target_term_reuse():
    target, comp = make_pair("relu", N=30, M=4, d=5, seed=5)
    T = self_term("relu", target.effective_weights, target.inner)
    assert loss(target, comp, target_term=T) == loss(target, comp)
    assert loss_terms(target, comp).target == T


# --------------------------------------------------------------------------------------------
# ReLU analytic gradient vs central differences
# --------------------------------------------------------------------------------------------


def _as_mpf(fr: Fraction) -> mpmath.mpf:
    return mpmath.mpf(fr.numerator) / fr.denominator


def _coordinates(M: int, d: int):
    return [("b", j, None) for j in range(M)] + [("V", j, k) for j in range(M) for k in range(d)]


def _perturbed(comp: TwoLayerNetwork, which, j, k, delta: float):
    """The compressed network with one coordinate moved by delta (in float64), and the exact move."""
    b, V = comp.weights.copy(), comp.inner.copy()
    arr, idx = (b, j) if which == "b" else (V, (j, k))
    old = arr[idx]
    arr[idx] = old + delta
    moved = Fraction(float(arr[idx])) - Fraction(float(old))  # the float step actually taken
    return TwoLayerNetwork(b, V, comp.activation, scale=comp.scale), moved


def test_relu_gradient_matches_mpmath_central_differences():
    """Reference: central differences of the 40-digit loss with step h = 2^-50 ~ 9e-16.

    Truncation h^2 L''' / 6 ~ 1e-31 and rounding 1e-55 / h ~ 1e-40 make the reference exact to
    ~1e-25 relative; the actual float steps (exact, taken from the perturbed floats) are used, and
    they are symmetric for |coordinate| < 4. Tolerance for the float64 gradient: it is a sum of
    N + M = 24 terms per entry, each a few ulp accurate -- the sqrt(eps) error in sin(theta) for the
    diagonal pairs (rho = 1 - eps) cancels to first order between the S and P parts, since
    d k / d v is C^1 in theta there -- so its error is ~ (N + M) eps ~ 5e-15 of the largest entry.
    1e-12 (relative, with the same floor times max |grad|) leaves a factor 200.
    """
    target, comp = make_pair("relu", N=20, M=4, d=6, seed=8)
    comp = TwoLayerNetwork(comp.weights, comp.inner, "relu", scale=0.5)  # the chain rule through `scale`
    L, grad_b, grad_V = loss_and_grad_relu(target, comp)
    assert_close(L, loss(target, comp), rtol=0, atol=0)
    assert grad_b.shape == (4,) and grad_V.shape == (4, 6)
    h = 2.0**-50
    gmax = max(np.max(np.abs(grad_b)), np.max(np.abs(grad_V)))
    with mpmath.workdps(40):
        for which, j, k in _coordinates(4, 6):
            plus, hp = _perturbed(comp, which, j, k, h)
            minus, hm = _perturbed(comp, which, j, k, -h)
            assert hp == -hm, "asymmetric step: the coordinate is too large for h = 2^-50"
            fd = (loss_mp(target, plus, dps=40) - loss_mp(target, minus, dps=40)) / (_as_mpf(hp) - _as_mpf(hm))
            got = grad_b[j] if which == "b" else grad_V[j, k]
            assert_close(got, fd, rtol=1e-12, atol=1e-12 * gmax, what=f"dL/d{which}[{j},{k}]")


def test_relu_gradient_matches_float_central_differences():
    """float64 central differences, h = 1e-6: truncation h^2 L''' ~ 1e-12, rounding ~ eps L / h
    ~ 1e-9 (L is O(1)): 1e-6 relative, with a floor of 1e-6 max|grad| for small entries."""
    target, comp = make_pair("relu", N=40, M=5, d=7, seed=9)
    _, grad_b, grad_V = loss_and_grad_relu(target, comp)
    T = self_term("relu", target.effective_weights, target.inner)
    gmax = max(np.max(np.abs(grad_b)), np.max(np.abs(grad_V)))
    h = 1e-6
    for which, j, k in _coordinates(5, 7):
        plus, hp = _perturbed(comp, which, j, k, h)
        minus, hm = _perturbed(comp, which, j, k, -h)
        fd = (loss(target, plus, target_term=T) - loss(target, minus, target_term=T)) / float(hp - hm)
        got = grad_b[j] if which == "b" else grad_V[j, k]
        assert_close(got, fd, rtol=1e-6, atol=1e-6 * gmax, what=f"dL/d{which}[{j},{k}]")


def test_relu_gradient_at_zero_vector_is_finite():
    target, comp = make_pair("relu", N=10, M=3, d=4, seed=10)
    V = comp.inner.copy()
    V[1] = 0.0
    _, gb, gV = loss_and_grad_relu(target, TwoLayerNetwork(comp.weights, V, "relu"))
    assert np.all(np.isfinite(gb)) and np.all(np.isfinite(gV))


def test_gradient_rejects_other_activations():
    target, comp = make_pair("erf", N=5, M=2, d=3, seed=1)
    with pytest.raises(InputError):
        loss_and_grad_relu(target, comp)


# --------------------------------------------------------------------------------------------
# Blocked target term vs the dense quadratic form
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("act", ["relu", "erf", "abs", "tanh"])
@pytest.mark.parametrize("N", [50, 67])
def test_blocked_self_term_matches_dense(monkeypatch, act, N):
    """Force blocks of 16 rows (block_size's floor) so that N = 50, 67 give 4, 5 block rows with a
    ragged last block. Note: block_size reads MEMORY_BUDGET through a default argument bound at
    import time, so patching the constant alone would not change the blocking; the function is
    wrapped instead (and the constant patched too, so the test also holds if that is changed)."""
    original = finite.block_size
    monkeypatch.setattr(finite, "MEMORY_BUDGET", 1)
    monkeypatch.setattr(finite, "block_size", lambda n_cols, budget=1: original(n_cols, budget))
    law = TargetLaw(6, mu=np.full(6, 0.2), s=1.0, abar=1.0, var_a=1.0, activation=act)
    target = law.sample(N, seed=N)
    u, W = target.effective_weights, target.inner
    fractions = []
    blocked = self_term(act, u, W, progress=fractions.append)
    assert len(fractions) == math.ceil(N / 16) and fractions[-1] == 1.0
    K = kernel_matrix(get_activation(act), W)
    dense = float(u @ K @ u)
    scale = float(np.abs(u) @ np.abs(K) @ np.abs(u))
    # Same N^2 products summed in a different order: <= ~N eps of the sum of their magnitudes.
    # tanh (quadrature): each block picks its trapezoidal step from its own largest norm, and the
    # float64 rule is accurate to ~1e-14 relative, so its values differ between the two paths.
    tol = 1e-12 if act == "tanh" else 4 * N * EPS
    assert_close(blocked, dense, rtol=0, atol=tol * scale)


# --------------------------------------------------------------------------------------------
# Pair validation
# --------------------------------------------------------------------------------------------


def test_loss_rejects_mismatched_pairs():
    target, comp = make_pair("relu", N=5, M=2, d=3, seed=1)
    other_dim = TwoLayerNetwork(np.ones(2), np.ones((2, 4)), "relu")
    other_act = TwoLayerNetwork(comp.weights, comp.inner, "abs")
    for bad in (other_dim, other_act):
        for fn in (loss, loss_terms, loss_mp, loss_and_grad_relu):
            with pytest.raises(InputError):
                fn(target, bad)


# --------------------------------------------------------------------------------------------
# Networks and the target law (MATH.md section 1)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("xi", XI_LAWS)
def test_target_law_sampling_is_reproducible(xi):
    law = TargetLaw(5, mu=np.arange(5.0) / 10, s=2.0, abar=0.5, var_a=0.3, xi=xi, sparsity=0.3)
    a, b = law.sample(40, seed=123), law.sample(40, seed=123)
    np.testing.assert_array_equal(a.inner, b.inner)
    np.testing.assert_array_equal(a.weights, b.weights)
    c = law.sample(40, seed=124)
    assert not np.array_equal(a.inner, c.inner)
    assert a.width == 40 and a.dim == 5 and a.scale == 1 / 40
    assert a.activation == get_activation("relu")


# E xi^4 for each law (unit variance): gaussian 3, rademacher 1, uniform sqrt(3) U: 9/5, sparse(p): 1/p.
FOURTH_MOMENT = {"gaussian": 3.0, "rademacher": 1.0, "uniform": 1.8, "sparse": 1 / 0.1}


@pytest.mark.parametrize("xi", XI_LAWS)
def test_xi_laws_have_mean_zero_and_unit_variance(xi):
    n = 100_000
    law = TargetLaw(1, s=1.0, xi=xi, sparsity=0.1)  # w = mu + (s / sqrt(d)) xi = xi
    x = law.sample(n, seed=2024).inner[:, 0]
    # Standard errors from the known moments: Var xi = 1, Var xi^2 = E xi^4 - 1.
    se_mean = math.sqrt(1.0 / n)
    se_m2 = math.sqrt((FOURTH_MOMENT[xi] - 1.0) / n)
    assert abs(x.mean()) <= 5 * se_mean, (xi, x.mean())
    # (+1e-12: Rademacher xi^2 = 1 exactly, zero variance; the floor is the float sum's rounding.)
    assert abs(np.mean(x * x) - 1.0) <= 5 * se_m2 + 1e-12, (xi, np.mean(x * x))
    if xi == "rademacher":
        assert set(np.unique(x)) == {-1.0, 1.0}
    if xi == "uniform":
        assert np.max(np.abs(x)) <= math.sqrt(3.0)
    if xi == "sparse":
        assert set(np.unique(np.round(x * math.sqrt(0.1), 12))) == {-1.0, 0.0, 1.0}


def test_target_law_mean_and_output_weights():
    d, n = 4, 50_000
    mu = np.array([0.5, -1.0, 0.0, 2.0])
    law = TargetLaw(d, mu=mu, s=2.0, abar=0.7, var_a=0.25)
    net = law.sample(n, seed=5)
    # w = mu + (s/sqrt(d)) xi: per-coordinate standard deviation s/sqrt(d) = 1.
    assert np.all(np.abs(net.inner.mean(axis=0) - mu) <= 5 / math.sqrt(n))
    assert abs(net.weights.mean() - 0.7) <= 5 * 0.5 / math.sqrt(n)
    assert abs(net.weights.var() - 0.25) <= 5 * 0.25 * math.sqrt(2 / n)
    fixed = TargetLaw(d, abar=1.5).sample(7, seed=0)
    assert np.all(fixed.weights == 1.5)
    np.testing.assert_allclose(fixed.effective_weights, 1.5 / 7, rtol=EPS)


def test_network_evaluation_matches_definition():
    rng = np.random.default_rng(0)
    net = TwoLayerNetwork(rng.standard_normal(3), rng.standard_normal((3, 4)), "relu", scale=0.25)
    x = rng.standard_normal((6, 4))
    expected = 0.25 * np.maximum(x @ net.inner.T, 0.0) @ net.weights
    np.testing.assert_allclose(net(x), expected, rtol=1e-14, atol=1e-15)
    assert net(x).shape == (6,)


@pytest.mark.parametrize(
    "weights, inner",
    [
        (np.ones(3), np.ones((2, 4))),  # widths disagree
        (np.ones((3, 1)), np.ones((3, 4))),  # weights not a vector
        (np.ones(3), np.ones(3)),  # inner not a matrix
        (np.array([1.0, np.nan, 0.0]), np.ones((3, 2))),
        (np.ones(2), np.array([[1.0, np.inf], [0.0, 1.0]])),
    ],
)
def test_network_rejects_bad_shapes_and_values(weights, inner):
    with pytest.raises(InputError):
        TwoLayerNetwork(weights, inner, "relu")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"d": 0},
        {"d": 2.0},
        {"d": 3, "mu": np.zeros(2)},
        {"d": 2, "mu": np.array([0.0, np.nan])},
        {"d": 2, "s": 0.0},
        {"d": 2, "s": -1.0},
        {"d": 2, "s": math.inf},
        {"d": 2, "var_a": -0.1},
        {"d": 2, "abar": math.nan},
        {"d": 2, "xi": "cauchy"},
        {"d": 2, "xi": "sparse", "sparsity": 0.0},
        {"d": 2, "xi": "sparse", "sparsity": 1.5},
        {"d": 2, "activation": "nope"},
    ],
)
def test_target_law_rejects_bad_parameters(kwargs):
    with pytest.raises(InputError):
        TargetLaw(**kwargs)


@pytest.mark.parametrize("N", [0, -3, 2.5])
def test_sample_rejects_bad_width(N):
    with pytest.raises(InputError):
        TargetLaw(3).sample(N, seed=0)
