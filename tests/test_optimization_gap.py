"""The optimization-gap claim kind: its L_N twin (value, gradient, Hessian) against the library and
finite differences, the minimizer, a run on a tiny grid, the rate fits, and the verdict logic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import assert_close
from verify.claims.kinds import KINDS
from verify.claims.kinds.optimization_gap import (
    ReluFiniteObjective,
    loglog_fit,
    meanfield_reference,
    minimize_finite,
    verdict,
)
from verify.claims.result import Context
from verify.claims.schema import load_claim
from verify.errors import InputError
from verify.model.networks import TargetLaw, TwoLayerNetwork
from verify.model import loss, loss_and_grad_relu, self_term
from verify.model.etf import best_etf, etf_network

EPS = np.finfo(float).eps


def _target(N=50, d=6, seed=0, var_a=0.0):
    mu = np.zeros(d)
    mu[0] = 1.0
    return TargetLaw(d=d, mu=mu, s=1.0, var_a=var_a).sample(N, seed), mu


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_objective_twin_matches_the_library(seed):
    tgt, mu = _target(N=70, d=7, seed=seed, var_a=0.5)
    T = self_term("relu", tgt.effective_weights, tgt.inner)
    obj = ReluFiniteObjective(tgt, T)
    rng = np.random.default_rng(seed + 100)
    b, V = rng.standard_normal(3), rng.standard_normal((3, 7))
    L, g = obj.value_grad(np.concatenate([b, V.ravel()]), 3)
    L_ref, gb, gV = loss_and_grad_relu(tgt, TwoLayerNetwork(b, V, "relu"), target_term=T)
    # both are sums of O(1) terms rounded a few times: 64 ulp of the largest term
    scale = max(1.0, abs(T), float(np.abs(b).max() ** 2 * np.abs(V).max() ** 2))
    assert_close(L, L_ref, atol=64 * EPS * scale)
    assert_close(g, np.concatenate([gb, gV.ravel()]), atol=64 * EPS * scale)
    assert_close(L, loss(tgt, TwoLayerNetwork(b, V, "relu"), target_term=T), atol=64 * EPS * scale)


@pytest.mark.parametrize("seed", [0, 1])
def test_hessian_matches_central_differences_of_the_gradient(seed):
    tgt, _ = _target(N=40, d=5, seed=seed)
    obj = ReluFiniteObjective(tgt, 0.0)
    rng = np.random.default_rng(seed)
    z = np.concatenate([rng.standard_normal(3), rng.standard_normal(15)])
    H = obj.hessian(z, 3)
    h = 1e-6
    fd = np.empty_like(H)
    for i in range(z.size):
        e = np.zeros(z.size)
        e[i] = h
        fd[:, i] = (obj.value_grad(z + e, 3)[1] - obj.value_grad(z - e, 3)[1]) / (2 * h)
    # central differences: O(h^2) truncation (~1e-12 times third derivatives) plus rounding eps/h ~ 2e-10
    assert_close(H, fd, atol=1e-8 * max(1.0, np.abs(H).max()))
    assert np.array_equal(H, H.T)


def test_minimizer_reaches_a_second_order_point_below_the_etf():
    tgt, mu = _target(N=120, d=8, seed=3)
    T = self_term("relu", tgt.effective_weights, tgt.inner)
    obj = ReluFiniteObjective(tgt, T)
    b0, V0 = etf_network(best_etf(3, 1.0, 1.0), 8, mu)
    r = minimize_finite(obj, b0, V0, gtol=1e-9)
    assert r["converged"] and r["second_order"]
    b, V = obj.split(r["z"], 3)
    _, gb, gV = loss_and_grad_relu(tgt, TwoLayerNetwork(b, V, "relu"), target_term=T)
    assert math.sqrt(gb @ gb + np.sum(gV * gV)) <= 1e-9
    L_min = loss(tgt, TwoLayerNetwork(b, V, "relu"), target_term=T)
    L_hat = loss(tgt, TwoLayerNetwork(b0, V0, "relu"), target_term=T)
    assert L_min <= L_hat
    assert r["lam_min_positive"] > 0


CLAIM = """
schema = "verify-claim/1"
id = "optimization-gap-tiny"
title = "tiny grid"
statement = "test"
formalization = "MATH.md section 6"
kind = "optimization-gap"
expected_status = "open"

[method]
description = "test"

[parameters]
M = 3
d = [5, 10]
N = [30, 60, 120]
targets = 3
random_starts = 1

[tolerance]
grad_max = 1e-9
sandwich_atol = 1e-12
confidence = 0.95
source = "test"
"""


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("claim") / "tiny.toml"
    path.write_text(CLAIM)
    claim = load_claim(path)
    out = tmp_path_factory.mktemp("reports")
    ctx = Context(claim.id, out, True)
    return KINDS["optimization-gap"].run(claim, ctx), out


def test_tiny_grid_run(tiny_run):
    finding, out = tiny_run
    f = finding.figures
    assert finding.status in ("verified", "inconclusive")
    assert set(KINDS["optimization-gap"].figures) <= set(f)
    assert f["instances"] == 18 and len(finding.rows) == 6
    # the sandwich: min L~ + delta(z_N) <= min L_N <= min L~ + delta(z^)
    assert f["sandwich_lower_margin"] >= -1e-12
    assert f["sandwich_upper_margin"] >= -1e-12
    assert f["min_excess"] >= -1e-12  # min L_N <= L_N(z^)
    assert f["max_grad_norm"] <= 1e-9
    assert f["min_curvature"] >= -1e-9
    assert f["excess_slope_N"] < 0
    assert len(finding.seeds) == len(set(finding.seeds)) == 18
    assert sorted(p.name for p in out.iterdir()) == ["optimization-gap-tiny-gap-vs-d.png", "optimization-gap-tiny-rates.png"]


def test_tiny_grid_rejects_bad_parameters(tmp_path):
    for bad in ("M = 1", "targets = 1", "d = [2, 10]"):
        key = bad.split(" =")[0]
        text = "\n".join(bad if line.startswith(key + " =") else line for line in CLAIM.splitlines())
        path = tmp_path / "bad.toml"
        path.write_text(text)
        with pytest.raises(InputError):  # refused when loaded, before any work
            load_claim(path)


def test_meanfield_reference_has_the_predicted_size():
    """MATH.md section 5: L_inf - L~ ~ -0.036 / d at the tilted ETF; the ETF floor is O(1/d^2)."""
    ref = meanfield_reference(best_etf(3, 1.0, 1.0), 32)
    assert -0.045 / 32 < ref["mf_part"] < -0.030 / 32
    assert 0 <= ref["floor"] < 1e-5
    assert ref["bias_coef"] > 0


# ---- fits and verdict ------------------------------------------------------------------------------


def test_loglog_fit_recovers_slopes_with_group_intercepts():
    N = np.array([100.0, 400.0, 1600.0, 6400.0] * 2)
    groups = np.array([16] * 4 + [64] * 4)
    rng = np.random.default_rng(0)
    y = np.where(groups == 16, 2.0, 0.5) * N**-0.75 * np.exp(0.02 * rng.standard_normal(8))
    fit = loglog_fit(N, y, 0.02 * y, groups)
    assert fit["lo"] < -0.75 < fit["hi"] and fit["dof"] == 5
    assert_close(math.exp(fit["intercepts"][16] - fit["intercepts"][64]), 4.0, rtol=0.1)
    exact = loglog_fit(N[:4], 3.0 * N[:4] ** -0.5, 0.01 * N[:4] ** -0.5)
    assert_close(exact["slope"], -0.5, atol=1e-12)
    with pytest.raises(InputError):
        loglog_fit([1.0, 2.0], [1.0, -1.0], [0.1, 0.1])


GOOD_EX = {"lo": -0.9, "hi": -0.6}
GOOD_GAP = {"lo": -0.7, "hi": -0.4}


@pytest.mark.parametrize(
    "kw, status",
    [
        ({}, "verified"),
        ({"gap_fit": {"lo": -1.2, "hi": -0.9}}, "verified"),  # steeper than N^-1/2
        ({"sandwich_ok": False}, "refuted"),
        ({"excess_fit": {"lo": 0.05, "hi": 0.3}}, "refuted"),  # the excess grows
        ({"gap_fit": {"lo": 0.0, "hi": 0.2}}, "refuted"),  # the deviation does not decay
        ({"sandwich_ok": False, "converged": False}, "refuted"),
        ({"converged": False}, "inconclusive"),
        ({"excess_fit": {"lo": -0.5, "hi": 0.1}}, "inconclusive"),  # interval includes 0
        ({"gap_fit": {"lo": -0.45, "hi": -0.3}}, "inconclusive"),  # decays, but slower than N^-1/2
        ({"gap_fit": {"lo": math.nan, "hi": math.nan}}, "inconclusive"),  # no interval
        ({"excess_fit": {"lo": math.nan, "hi": math.nan}}, "inconclusive"),
    ],
)
def test_verdict_maps_synthetic_figures(kw, status):
    args = {"sandwich_ok": True, "converged": True, "excess_fit": GOOD_EX, "gap_fit": GOOD_GAP, **kw}
    got, reasons = verdict(**args)
    assert got == status
    assert (got == "verified") == (not reasons)
