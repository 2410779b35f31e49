"""verify.kernels.pairs, verify.model.general, verify.search.general and the etf-beyond-relu kind: L~ for general activations, its gradient,
the tilted-ETF family, and the verdict logic.

Tiers (STYLE.md): reference values (the suite's mpmath quadrature, 20-30 digits), consistency
(closed form vs quadrature vs Monte Carlo vs Mehler series; Price's theorem for the derivatives;
finite differences), and the verdict reacting to a planted better configuration.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy import special

from conftest import assert_close
from verify.errors import InputError
from verify.kernels import Activation, kernel, kernel_mp
from verify.model.simplified import SimplifiedProblem
from verify.model.etf import best_etf
from verify.kernels.pairs import gelu_kernel64, gelu_kernel_grad64, gelu_kernel_mp, pair_kernel
from verify.model.general import GeneralProblem, best_etf_family, etf_family_value, etf_family_value_mp
from verify.search.general import search_general


def _triples(n, seed, qmax=6.0):
    rng = np.random.default_rng(seed)
    q1, q2 = rng.uniform(0.05, qmax, (2, n))
    rho = rng.uniform(-1, 1, n)
    rho[:3] = [1.0, -1.0, 0.0]  # the boundary and the middle
    return q1, q2, rho * np.sqrt(q1 * q2)


def _mu(d, m):
    mu = np.zeros(d)
    mu[0] = m
    return mu


# ---- GELU closed form ------------------------------------------------------------------------


def test_gelu_closed_form_matches_float_quadrature():
    q1, q2, c = _triples(40, 1)
    # kernel_quad64 is accurate to ~1e-14 relative (verify.kernels.quadrature); values are O(1).
    assert_close(gelu_kernel64(q1, q2, c), kernel("gelu", q1, q2, c, method="quadrature"), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("q1,q2,c", [("0.7", "2.3", "-0.9"), ("3.1", "0.4", "1.1"), ("1.5", "1.5", "1.5")])
def test_gelu_closed_form_matches_mpmath_quadrature(q1, q2, c):
    ref = kernel_mp("gelu", q1, q2, c, dps=25, method="quadrature")
    assert ref.method == "quadrature"
    with mpmath.workdps(40):
        val = gelu_kernel_mp(mpmath.mpf(q1), mpmath.mpf(q2), mpmath.mpf(c))
    # The quadrature's own error estimate is ~1e-35; 1e-22 leaves three digits of the 25.
    assert abs(val - ref.value) <= mpmath.mpf("1e-22") * (1 + abs(ref.value))


def test_gelu_large_norm_tends_to_relu():
    q = 1e8
    rho = np.linspace(-1, 1, 11)
    # gelu(a z) / a -> relu(z): k / q -> K(rho) with an O(1/sqrt(q)) correction.
    assert_close(gelu_kernel64(q, q, q * rho) / q, kernel("relu", 1.0, 1.0, rho), atol=1e-4)


def _gelu_prime():
    def f(z):
        return special.ndtr(z) + z * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

    def f_mp(z):
        return mpmath.ncdf(z) + z * mpmath.npdf(z)

    return Activation("gelu_prime", (), f, f_mp, growth=0.5)


def test_gelu_derivatives_price_and_finite_differences():
    q1, q2, c = _triples(25, 2, qmax=4.0)
    _, kq1, kq2, kc = gelu_kernel_grad64(q1, q2, c)
    # Price: dk/dc = E gelu'(X) gelu'(Y), by the suite's quadrature on gelu' (independent of the closed form).
    assert_close(kc, kernel(_gelu_prime(), q1, q2, c, method="quadrature"), rtol=1e-12, atol=1e-13)
    # dk/dq1 by central differences of the quadrature at fixed c, away from |rho| = 1 where a step
    # in q leaves the domain (h = 1e-5: error ~h^2 + 1e-14/h ~ 1e-9).
    i = np.abs(c) < 0.9 * np.sqrt(q1 * q2)
    q1, q2, c, kq1, kq2 = q1[i], q2[i], c[i], kq1[i], kq2[i]
    h = 1e-5
    fd = (kernel("gelu", q1 + h, q2, c, method="quadrature") - kernel("gelu", q1 - h, q2, c, method="quadrature")) / (2 * h)
    assert_close(kq1, fd, atol=1e-8)
    fd2 = (gelu_kernel64(q1, q2 + h, c) - gelu_kernel64(q1, q2 - h, c)) / (2 * h)
    assert_close(kq2, fd2, atol=1e-8)


# ---- Mehler path (softplus) -------------------------------------------------------------------


def test_mehler_softplus_against_quadrature_and_price():
    pk = pair_kernel("softplus")
    rng = np.random.default_rng(3)
    a1, a2 = rng.uniform(0.1, min(3.0, pk.max_norm), (2, 20))
    rho = rng.uniform(-1, 1, 20)
    rho[:2] = [1.0, -1.0]
    s1, s2 = pk.prepare(a1), pk.prepare(a2)
    k, k1, k2, kr = pk.pair(s1, s2, rho)
    q1, q2, c = a1 * a1, a2 * a2, a1 * a2 * rho
    err = pk.error(s1, s2)
    assert np.all(err < 1e-12)
    # Truncation bound plus the quadrature reference's own ~1e-14.
    assert np.all(np.abs(k - kernel("softplus", q1, q2, c, method="quadrature")) <= err + 2e-14)
    # Price: dk/dc = E sigmoid(X) sigmoid(Y) (softplus' = sigmoid), a separate kernel of the suite.
    # Looser (5e-12): the series for dk/drho carries the factor n, so its truncation error is larger.
    assert_close(kr / (a1 * a2), kernel("sigmoid", q1, q2, c, method="quadrature"), atol=5e-12)
    # dk/da1 by central differences of the (independent) quadrature at fixed rho.
    h = 1e-5
    fd = (kernel("softplus", (a1 + h) ** 2, q2, (a1 + h) * a2 * rho, method="quadrature")
          - kernel("softplus", (a1 - h) ** 2, q2, (a1 - h) * a2 * rho, method="quadrature")) / (2 * h)
    assert_close(k1, fd, atol=1e-8)
    _, k1_sw, _, _ = pk.pair(s2, s1, rho)
    assert_close(k2, k1_sw, atol=1e-14)  # symmetry k(a1, a2) = k(a2, a1)


def test_mehler_max_norm_is_where_the_tail_is_small():
    pk = pair_kernel("softplus")
    assert 2.0 < pk.max_norm < 10.0
    s = pk.prepare(np.array([pk.max_norm * 0.99, pk.max_norm * 1.5]))
    n = pk.n
    rel = s[:, 2 * n] / s[:, 2 * n + 1]
    assert rel[0] <= 1e-13 < rel[1]


# ---- L~: float paths against independent references -----------------------------------------


def _config(M, d, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(M), scale * rng.standard_normal((M, d)) / math.sqrt(d)


@pytest.mark.parametrize("act", ["gelu", "softplus"])
def test_loss_against_mpmath_quadrature(act):
    M, d = 3, 4
    mu = _mu(d, 1.3)
    prob = GeneralProblem(mu, 0.8, 1.1, act)
    _, V = _config(M, d, 5, scale=1.5)
    b = prob.optimal_b(V)
    f = float(prob.value_grad(V)[0])
    # Reference: the reduced value with every kernel from the suite's mpmath quadrature (15 digits).
    q = np.sum(V * V, axis=1)
    r2 = prob.r**2

    def kq(x, y, z):
        return float(kernel_mp(act, x, y, z, dps=15, method="quadrature").value)

    T = 1.1**2 * kq(r2, r2, 1.3**2)
    c = np.array([1.1 * kq(r2, q[j], V[j] @ mu) for j in range(M)])
    K = np.array([[kq(q[j], q[k], V[j] @ V[k]) for k in range(M)] for j in range(M)])
    ref = T - c @ np.linalg.solve(K, c)
    # Error: the float path's own estimate plus the rounding of the 15-digit reference in float64.
    tol = prob.value_error(b, V) + 1e-14
    assert abs(f - ref) <= tol
    assert abs(float(prob.loss(b, V)) - f) <= 1e-14


def test_softplus_loss_against_monte_carlo():
    """L~ = E_x (f~(x) - g(x))^2 with f~(x) = E_zeta softplus(<mu, x> + s zeta) by 80-point
    Gauss-Hermite in zeta and x sampled: independent of every kernel."""
    M, d, s, abar = 3, 4, 0.9, 1.0
    mu = _mu(d, 1.2)
    b, V = _config(M, d, 7, scale=2.0)
    prob = GeneralProblem(mu, s, abar, "softplus")
    L = float(prob.loss(b, V))
    rng = np.random.default_rng(11)
    z, w = special.roots_hermitenorm(80)
    w = w / w.sum()
    n = 200_000
    X = rng.standard_normal((n, d))
    ft = abar * (np.logaddexp(0.0, (X @ mu)[:, None] + s * z[None, :]) @ w)
    g = np.logaddexp(0.0, X @ V.T) @ b
    sq = (ft - g) ** 2
    se = sq.std(ddof=1) / math.sqrt(n)
    assert abs(sq.mean() - L) <= 5 * se  # a 5-sigma band: the MC error dominates


def test_leaky_relu_matches_simplified_problem():
    M, d = 4, 5
    mu = _mu(d, 0.7)
    act = "leaky_relu(alpha=0.1)"
    b, V = _config(M, d, 13)
    ref = SimplifiedProblem(mu, 1.3, 0.9, act)
    prob = GeneralProblem(mu, 1.3, 0.9, act)
    # Same closed form, different arrangement (a1 a2 kappa(rho) vs k(q1, q2, c)): a few ulp of O(1) terms.
    assert_close(prob.loss(b, V), ref.loss(b, V), atol=1e-14)
    bs = prob.optimal_b(V)
    assert_close(prob.value_grad(V)[0], ref.loss(bs, V), atol=1e-14)


@pytest.mark.parametrize("act", ["relu", "leaky_relu(alpha=0.1)", "gelu", "softplus"])
def test_gradient_against_finite_differences(act):
    M, d = 3, 4
    prob = GeneralProblem(_mu(d, 1.1), 1.0, 1.0, act)
    _, V = _config(M, d, 17, scale=1.2)
    _, g, _ = prob.value_grad(V)
    h = 1e-6
    fd = np.zeros_like(V)
    for j in range(M):
        for k in range(d):
            E = np.zeros_like(V)
            E[j, k] = h
            fd[j, k] = (prob.value_grad(V + E)[0] - prob.value_grad(V - E)[0]) / (2 * h)
    # Central differences: error ~h^2 |f'''| + eps |f| / h ~ 1e-10 here.
    assert_close(g, fd, atol=5e-9)


# ---- the ETF family ----------------------------------------------------------------------------


@pytest.mark.parametrize("M,m", [(3, 0.5), (4, 2.0)])
def test_relu_family_matches_best_etf(M, m):
    prob = GeneralProblem(_mu(M + 1, m), 1.0, 1.0, "relu")
    opt = best_etf_family(prob, M)
    ref = best_etf(M, m, 1.0)
    assert_close(opt.value, float(ref.loss), atol=1e-13)
    # The value is flat at the optimum: alpha is known to ~sqrt(eps).
    assert_close(opt.alpha, ref.alpha64, atol=1e-6)
    # The family value agrees with L~ of the network it describes, and with its mpmath twin.
    assert_close(float(etf_family_value_mp(prob, M, opt.rho, opt.alpha, dps=25)), opt.value, atol=1e-15)


def test_family_value_is_the_loss_of_its_network():
    from verify.model.general import etf_family_network

    M = 3
    mu = _mu(4, 1.5)
    prob = GeneralProblem(mu, 1.0, 1.0, "gelu")
    f, bb = etf_family_value(prob, M, 2.3, 0.6)
    from verify.model.general import ETFFamilyOptimum

    opt = ETFFamilyOptimum(M, 2.3, 0.6, float(bb), float(bb) * 2.3, 0.0, float(f), (0.1, 10), False, False, 0)
    b, V = etf_family_network(opt, mu)
    assert_close(prob.loss(b, V), f, atol=1e-14)
    assert_close(prob.value_grad(V)[0], f, atol=1e-14)  # equal weights are optimal by symmetry


# ---- the search and the verdict -------------------------------------------------------------------


def test_search_relu_finds_the_tilted_etf():
    from verify.search.structure import classify

    M, m = 3, 0.5
    mu = _mu(M + 1, m)
    prob = GeneralProblem(mu, 1.0, 1.0, "relu")
    res = search_general(prob, M, restarts=20, seed=0)
    best = res.best
    assert classify(best.b, best.V, mu, tol=1e-5).cls == "tilted-etf"
    assert_close(best.value, float(best_etf(M, m, 1.0).loss), atol=1e-12)


def test_point_verdict_cases():
    from verify.claims.kinds.etf_beyond_relu import point_verdict

    assert point_verdict(1e-13, 1e-13, 1e-10, True) == "etf-best-found"
    assert point_verdict(-1e-3, 1e-13, 1e-10, False, -1e-3, 1e-12) == "etf-beaten"
    assert point_verdict(-1e-3, 1e-13, 1e-10, False, None) == "inconclusive"  # no high-precision confirmation
    assert point_verdict(-1e-3, 1e-13, 1e-10, False, +1e-4, 1e-12) == "inconclusive"  # mpmath disagrees
    assert point_verdict(1e-3, 1e-13, 1e-10, False) == "etf-best-known"
    assert point_verdict(1e-13, 1e-13, 1e-10, False) == "inconclusive"  # a tie with another structure


def test_kind_reacts_to_a_planted_better_configuration():
    """Plant a worse 'best ETF' (tilt 0.2 instead of the optimum): the true ETF the search finds is
    then a better configuration, and the point must come out etf-beaten, confirmed in mpmath."""
    from dataclasses import replace

    from verify.claims.kinds.etf_beyond_relu import evaluate_point

    p = {"s": 1.0, "abar": 1.0, "rho_min": 0.01, "rho_max": 10.0, "restarts": 10, "seed": 0, "dps": 20}
    tol = {"value_atol": 1e-10, "structure": 1e-5, "gtol": 1e-9}
    honest = evaluate_point("leaky_relu(alpha=0.1)", 3, 4, 0.5, p, tol)
    assert honest["verdict"] == "etf-best-found" and honest["cls"] == "tilted-etf"
    prob = GeneralProblem(_mu(4, 0.5), 1.0, 1.0, "leaky_relu(alpha=0.1)")
    f, bb = etf_family_value(prob, 3, 1.0, 0.2)
    planted = replace(honest["etf"], alpha=0.2, b=float(bb), beta=float(bb), value=float(f))
    out = evaluate_point("leaky_relu(alpha=0.1)", 3, 4, 0.5, p, tol, etf_override=planted)
    assert out["verdict"] == "etf-beaten"
    assert out["diff_mp"] is not None and out["diff_mp"] < -1e-4


def test_bad_input():
    with pytest.raises(InputError):
        GeneralProblem(_mu(3, 1.0), 0.0, 1.0, "gelu")
    with pytest.raises(InputError):
        pair_kernel("step")
    prob = GeneralProblem(_mu(3, 1.0), 1.0, 1.0, "gelu")
    with pytest.raises(InputError):
        search_general(prob, 2, restarts=0)
    with pytest.raises(InputError):
        etf_family_value(prob, 2, -1.0, 0.5)
    with pytest.raises(InputError):
        prob.value_grad(np.zeros((2, 3)))
