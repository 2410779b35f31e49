"""Certified lower bounds on L~ for mu != 0 (verify.certify.tilted): against the best tilted ETF,
random configurations with their best one-signed weights, tampered certificates, the mu -> 0
limit (the mu = 0 bounds of verify.certify), and input validation."""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import nnls

from verify.certify import certify_mu0
from verify.certify.tilted import (
    ONE_SIGN,
    TiltedCertificate,
    check_above_tilted_kernel,
    lower_bound_tilted,
    lower_bound_tilted_grid,
    verify_tilted_certificate,
)
from verify.errors import InputError
from verify.kernels import kernel
from verify.numbers.precision import ball_bounds
from verify.model.simplified import SimplifiedProblem

INSTANCES = [(2, 2, 0.25), (3, 4, 1.0), (4, 4, 2.0), (5, 10, 8.0)]
_CACHE: dict = {}


def _bound(M, d, m, **kw):
    key = (M, d, m, tuple(sorted(kw.items())))
    if key not in _CACHE:
        _CACHE[key] = lower_bound_tilted(M, d, m, **kw)
    return _CACHE[key]


def _K(t):
    return np.asarray(kernel("relu", 1.0, 1.0, np.clip(t, -1.0, 1.0)), dtype=float)


@pytest.mark.parametrize("M,d,m", INSTANCES)
def test_bound_is_certified_and_below_the_etf(M, d, m):
    b = _bound(M, d, m)
    assert b.certified
    assert b.assumptions == ONE_SIGN
    lo, hi = (Fraction(x) for x in b.value)
    assert lo <= hi and hi - lo < Fraction(1, 10**20)
    assert b.value64 <= float(lo) + 1e-300
    assert b.etf_loss is not None and b.value64 < b.etf_loss
    # gap is a rigorous upper bound of etf - value: at least the float difference
    assert b.gap >= b.etf_loss - b.value64 - 1e-15
    assert 0 < b.relative_gap < 0.5  # measured 0.06..0.30 on the grid (docs/bounds-mu.md)
    assert b.method == "tilted-delsarte-degree-32"
    assert b.details["d_eff"] == min(d, M + 1)


def _best_beta(K_G, h, nonneg: bool):
    """argmin_beta beta^T K_G beta - 2 h^T beta (over beta >= 0 when nonneg)."""
    if not nonneg:
        return np.linalg.lstsq(K_G, h, rcond=None)[0]
    w, U = np.linalg.eigh(K_G)
    w = np.maximum(w, 1e-14)
    R = (U * np.sqrt(w)).T  # K_G = R^T R
    beta, _ = nnls(R, U @ ((U.T @ h) / np.sqrt(w)))
    return beta


@pytest.mark.parametrize("M,d,m", INSTANCES)
def test_bound_is_below_random_configurations(M, d, m):
    b = _bound(M, d, m)
    rng = np.random.default_rng(1000 * M + d)
    mu = np.zeros(d)
    mu[0] = m
    prob = SimplifiedProblem(mu=mu, s=1.0, abar=1.0)
    r = math.hypot(m, 1.0)
    worst = math.inf
    for trial in range(300):
        V = rng.standard_normal((M, d))
        if trial % 3 == 0:  # directions near hat(mu), where the best ETF lives for large ||mu||
            V[:, 0] += 3.0 * abs(rng.standard_normal())
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        K_G = _K(V @ V.T)
        h = r * _K(m / r * V[:, 0])
        for nonneg in (True, False):
            beta = _best_beta(K_G, h, nonneg)
            if nonneg or np.all(beta >= 0) or np.all(beta <= 0):  # the bound's class (ONE_SIGN)
                worst = min(worst, float(prob.loss(beta, V)))
    assert worst >= b.value64
    assert worst >= b.etf_loss * (1 - 1e-9)  # nothing random beats the ETF either


def test_certificate_round_trip_and_tampering():
    b = _bound(3, 4, 1.0)
    cert = TiltedCertificate(3, b.details["d_eff"], 1.0, 1.0, 1.0, b.details["p"], b.details["lam"])
    ok = verify_tilted_certificate(cert)
    assert ok.ok and ok.reasons == ()
    lo, _ = ball_bounds(ok.value, 128)
    # value64 is the round-to-nearest float of the bound and lo the exact lower end of a 128-bit
    # ball (width ~1e-36): both round to floats at most one spacing apart, never closer by design.
    assert lo == Fraction(b.value[0]) or abs(float(lo) - b.value64) <= math.ulp(b.value64)
    # p pushed above K (p_0 + 1e-6): the interval check finds the violation
    p = list(cert.p)
    p[0] += Fraction(1, 10**6)
    bad = verify_tilted_certificate(dataclasses.replace(cert, p=tuple(p)))
    assert not bad.ok and bad.value is None
    assert any("p <= K" in r for r in bad.reasons)
    # ell pushed below c K(rho t) (lambda_0 - 1e-6)
    lam = list(cert.lam)
    lam[0] -= Fraction(1, 10**6)
    bad = verify_tilted_certificate(dataclasses.replace(cert, lam=tuple(lam)))
    assert not bad.ok and any("ell >=" in r for r in bad.reasons)
    # a negative Gegenbauer coefficient (k >= 1) is not admissible
    p = list(cert.p)
    p[2] = -abs(p[2]) - Fraction(1, 10**3)
    bad = verify_tilted_certificate(dataclasses.replace(cert, p=tuple(p)))
    assert not bad.ok and any("p_k < 0" in r for r in bad.reasons)
    # lambda_k != 0 where q_k = 0 (the dual term lambda_k^2 / q_k would be infinite)
    k0 = next(k for k in range(1, len(cert.p)) if cert.p[k] == 0)
    lam = list(cert.lam)
    lam[k0] = Fraction(1, 10**9)
    lam[0] += Fraction(1, 10**9)  # keep ell >= c h (|P_k| <= 1)
    bad = verify_tilted_certificate(dataclasses.replace(cert, lam=tuple(lam)))
    assert not bad.ok and any(f"q_{k0} <= 0" in r for r in bad.reasons)


def test_above_check_brackets_a_known_minimum():
    # ell = c K(rho) is >= c K(rho t) on [-1, 1] with equality at t = 1 only
    m, s = 2.0, 1.0
    r = math.hypot(m, s)
    c_K_rho = Fraction(r * float(_K(m / r)))  # float: within 1e-15 of c K(rho), sign unknown
    good = check_above_tilted_kernel([c_K_rho + Fraction(1, 10**12)], m, s, 1.0)
    assert good.certified and good.min_lower >= 0
    bad = check_above_tilted_kernel([c_K_rho - Fraction(1, 10**9)], m, s, 1.0)
    assert not bad.certified and bad.min_lower <= Fraction(-1, 10**9) + Fraction(1, 10**14)


@pytest.mark.parametrize("M,d", [(3, 3), (4, 8)])
def test_mu_to_zero_limit_matches_the_mu0_bound(M, d):
    simplex = certify_mu0(M, d)  # tangent line: exact simplex value (beta >= 0)
    for m in (0.0, 1e-7):
        b = _bound(M, d, m)
        assert b.certified
        # below the simplex value, and within 1e-6 (relative) of it: the mu = 0 LP in d_eff
        assert b.value64 <= float(simplex.lower_bound) + 1e-15
        assert b.value64 >= float(simplex.lower_bound) * (1 - 1e-6)
    # continuity in ||mu||: the bound moves by O(||mu||)
    assert abs(_bound(M, d, 1e-7).value64 - _bound(M, d, 0.0).value64) < 1e-6


def test_abar_zero_and_abar_sign():
    z = lower_bound_tilted(3, 3, 1.0, abar=0.0)
    assert z.certified and z.value64 == 0.0 and z.assumptions == ()
    neg = lower_bound_tilted(2, 2, 1.0, abar=-1.0)
    pos = _bound(2, 2, 1.0)
    assert neg.certified and abs(neg.value64 - pos.value64) < 1e-20


def test_grid_small_slice():
    g = lower_bound_tilted_grid(Ms=(2,), ratios=(0.5, 4.0))
    assert g.all_certified and len(g.bounds) == 6  # d in {2, 3, 4} x 2 ratios
    assert 0 < g.relative_gap_min <= g.relative_gap_median <= g.relative_gap_max < 0.5
    # d = M + 1 and d = 2M share d_eff = M + 1: the same value
    by = {(b.d, b.mu_norm): b for b in g.bounds}
    assert by[(3, 4.0)].value == by[(4, 4.0)].value


@pytest.mark.parametrize(
    "args,kw",
    [
        ((0, 3, 1.0), {}),
        ((3, 1, 1.0), {}),
        ((3, 3, -1.0), {}),
        ((3, 3, float("nan")), {}),
        ((3, 3, 1.0), {"s": 0.0}),
        ((3, 3, 1.0), {"abar": float("inf")}),
        ((3.5, 3, 1.0), {}),
        ((3, 3, 1.0), {"degree": 0}),
    ],
)
def test_bad_input_raises_one_line(args, kw):
    with pytest.raises(InputError) as exc:
        lower_bound_tilted(*args, **kw)
    assert "\n" not in str(exc.value)


def test_bad_grid_rule():
    with pytest.raises(InputError):
        lower_bound_tilted_grid(Ms=(2,), d_rules=("3M",))


def test_pole_sdp_float_exploration_is_near_the_etf():
    # Float only (docs/bounds-mu.md section 5): NOT a bound. On a fine grid the two-point
    # relaxation with a pole lands within 0.1 % of the ETF (above it, by grid discretization), far
    # closer than the certified Delsarte bound (gap 8.8 % here).
    from verify.certify.pole import pole_sdp64

    v, status = pole_sdp64(2, 2, 1.0, nt=121)
    etf = _bound(2, 2, 1.0).etf_loss
    assert status in ("optimal", "optimal_inaccurate")
    assert abs(v - etf) <= 1e-3 * etf  # measured 2.8e-4 relative
    assert _bound(2, 2, 1.0).value64 < v
