"""The M = 2 certificate without sign assumption (verify.certify.planar): the plane lemma, the
two-angle objective against independent evaluations, the certificate and its planted failures."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from verify.certify.planar import GAP_TARGET, certify_m2, psi64
from verify.errors import InputError
from verify.kernels.relu import relu_K_mp
from verify.model.etf import best_etf
from verify.model.simplified import SimplifiedProblem


def _phi_mp(t1, t2, G, rho):
    """h^T K(G)^{-1} h by a 2 x 2 solve in mpmath (independent of Psi's rearrangement)."""
    h = mpmath.matrix([relu_K_mp(rho * t1), relu_K_mp(rho * t2)])
    k = relu_K_mp(G)
    Kmat = mpmath.matrix([[relu_K_mp(1), k], [k, relu_K_mp(1)]])
    return (h.T * mpmath.lu_solve(Kmat, h))[0]


def test_plane_lemma_the_largest_value_over_G_is_at_an_end():
    """Step 1: for fixed t_1, t_2, Phi over the admissible G is largest at G = t1 t2 +- s1 s2."""
    rng = np.random.default_rng(3)
    with mpmath.workdps(30):
        for _ in range(200):
            rho = mpmath.mpf(float(rng.uniform(0.05, 0.99)))
            t1, t2 = (mpmath.mpf(float(x)) for x in rng.uniform(-1, 1, 2))
            s1, s2 = mpmath.sqrt(1 - t1**2), mpmath.sqrt(1 - t2**2)
            lo, hi = t1 * t2 - s1 * s2, t1 * t2 + s1 * s2
            ends = max(_phi_mp(t1, t2, lo, rho), _phi_mp(t1, t2, hi, rho))
            for u in rng.uniform(0, 1, 5):
                G = lo + (hi - lo) * mpmath.mpf(float(u))
                assert _phi_mp(t1, t2, G, rho) <= ends * (1 + mpmath.mpf(10) ** -25)


def _phi_C_mp(t, C, rho):
    """h^T K(G)^{-1} h for M directions t_j hat(mu) + s_j e_j, C = [<e_i, e_j>] (mpmath)."""
    M = len(t)
    s = [mpmath.sqrt(1 - x**2) for x in t]
    K = mpmath.matrix(M, M)
    for i in range(M):
        for j in range(M):
            K[i, j] = relu_K_mp(1) if i == j else relu_K_mp(t[i] * t[j] + s[i] * s[j] * C[i, j])
    h = mpmath.matrix([relu_K_mp(rho * x) for x in t])
    beta = mpmath.lu_solve(K, h)
    return (h.T * beta)[0], beta, K


@pytest.mark.parametrize("M", [3, 4])
def test_rank_lemma_phi_is_quasi_convex_in_each_orthogonal_cosine(M):
    """docs/bounds-mu.md section 8: along one c_ij (the tilts and the other cosines fixed) Phi is
    largest at an end of the feasible interval (where det C = 0), and its second derivative in the
    kernel entry A_ij is 2 (beta_j, beta_i) A^{-1} (beta_j, beta_i)^T >= 0, checked by a central
    difference at step 1e-8 in 30 digits: truncation ~ step^2 |Phi^(4)| ~ 1e-16 and rounding
    ~ 1e-30 / step^2 = 1e-14 (measured <= 8e-15 relative over these draws); asserted to 1e-12. Here
    (beta_j, beta_i) is the M-vector v with v_i = beta_j, v_j = beta_i and zeros elsewhere."""
    rng = np.random.default_rng(M)
    with mpmath.workdps(30):
        for _ in range(12):
            rho = mpmath.mpf(float(rng.uniform(0.05, 0.99)))
            t = [mpmath.mpf(float(x)) for x in rng.uniform(-0.95, 0.95, M)]
            E = rng.standard_normal((M, M))
            E /= np.linalg.norm(E, axis=1, keepdims=True)
            C = mpmath.matrix((E @ E.T).tolist())
            i, j = 0, 1
            # the feasible c_ij given the rest: det C as a function of c_ij is a concave quadratic
            # (a 2 x 2 minor argument); its roots are the ends, found on a grid and refined
            def det_at(c):
                D = C.copy()
                D[i, j] = D[j, i] = c
                return mpmath.det(D)
            grid = [mpmath.mpf(-1) + 2 * mpmath.mpf(k) / 400 for k in range(401)]
            inside = [c for c in grid if det_at(c) > 0]
            lo = mpmath.findroot(det_at, (inside[0] - mpmath.mpf(1) / 200, inside[0]), solver="anderson")
            hi = mpmath.findroot(det_at, (inside[-1], inside[-1] + mpmath.mpf(1) / 200), solver="anderson")
            assert lo < inside[0] and hi > inside[-1] and abs(det_at(lo)) < 1e-25 and abs(det_at(hi)) < 1e-25
            ends = []
            for c in (lo, hi):
                D = C.copy()
                D[i, j] = D[j, i] = c
                ends.append(_phi_C_mp(t, D, rho)[0])
            for c in inside[:: max(1, len(inside) // 8)]:
                D = C.copy()
                D[i, j] = D[j, i] = c
                assert _phi_C_mp(t, D, rho)[0] <= max(ends) * (1 + mpmath.mpf(10) ** -20)
            # the second derivative in the kernel entry, at the starting C
            phi0, beta, K = _phi_C_mp(t, C, rho)
            h = mpmath.matrix([relu_K_mp(rho * x) for x in t])
            step = mpmath.mpf(10) ** -8

            def phi_shift(x):
                K2 = K.copy()
                K2[i, j] = K2[j, i] = K[i, j] + x
                return (h.T * mpmath.lu_solve(K2, h))[0]
            d2 = (phi_shift(step) - 2 * phi0 + phi_shift(-step)) / step**2
            v = mpmath.matrix(M, 1)
            v[i], v[j] = beta[j], beta[i]
            formula = 2 * (v.T * mpmath.lu_solve(K, v))[0]
            assert formula >= 0 and abs(d2 - formula) <= mpmath.mpf(10) ** -12 * (1 + formula)


def test_psi_is_the_reduced_loss_of_the_planar_pair():
    """Psi(phi_1, delta) against the 2 x 2 solve, and T - c^2 Psi against L~ of the planar network
    with its best output weights (SimplifiedProblem, float64)."""
    rng = np.random.default_rng(5)
    m, s, abar = 1.3, 0.7, -0.8
    r = math.hypot(m, s)
    rho = m / r
    prob = SimplifiedProblem(np.array([m, 0.0, 0.0]), s, abar, "relu")
    for _ in range(50):
        p1, dl = rng.uniform(0, math.pi), rng.uniform(-math.pi, math.pi)
        p2 = p1 - dl
        with mpmath.workdps(30):
            ref = _phi_mp(mpmath.cos(p1), mpmath.cos(p2), mpmath.cos(dl), mpmath.mpf(rho))
        assert abs(psi64(p1, dl, rho) - float(ref)) <= 1e-12 * float(ref) + 1e-14 / max(abs(dl), 1e-3) ** 2
        V = np.array([[math.cos(p1), math.sin(p1), 0.0], [math.cos(p2), math.sin(p2), 0.0]])
        Kg = np.array([[0.5, float(relu_K_mp(math.cos(dl)))], [float(relu_K_mp(math.cos(dl))), 0.5]])
        h = np.array([float(relu_K_mp(rho * math.cos(p1))), float(relu_K_mp(rho * math.cos(p2)))])
        b = abar * r * np.linalg.solve(Kg, h)
        T = abar**2 * r**2 * float(relu_K_mp(rho * rho))
        assert prob.loss(b, V) == pytest.approx(T - (abar * r) ** 2 * float(ref), rel=1e-9, abs=1e-12)


def test_psi_is_continuous_at_coincident_neurons():
    """At delta = 0, psi64 returns the limit 2 h^2 + 2 h'^2 (the dipole); nearby values agree."""
    rho = 0.8
    for p1 in (0.1, 0.7, 2.0):
        assert psi64(p1, 1e-5, rho) == pytest.approx(float(psi64(p1, 0.0, rho)), rel=1e-4)


@pytest.mark.parametrize("ratio", [0.25, 1.0])
def test_certificate_proves_the_tilted_etf_optimal_without_sign_assumption(ratio):
    b = certify_m2(ratio, 1.0, 1.0)
    etf = best_etf(2, ratio, 1.0, 1.0)
    assert b.certified and b.optimal and b.as_certified_bound().assumptions == ()
    assert b.relative_gap is not None and b.relative_gap <= float(GAP_TARGET)
    with mpmath.workdps(40):
        lo, hi = mpmath.mpf(b.ball[0]), mpmath.mpf(b.ball[1])
        assert lo <= etf.loss <= hi + mpmath.mpf(10) ** -35  # the bound meets the ETF's loss
    assert b.boxes > 100 and b.pruned["bound"] > 0 and b.min_margin > 0
    assert b.lam > 0 and b.eps < 1e-50


def test_the_bound_holds_for_random_networks_of_any_signs():
    """Independent check of validity: L~ (float64, SimplifiedProblem) of random (b, V) in d = 3 and 4,
    with mixed signs, and of their best b, never goes below the certified bound."""
    m, s, abar = 1.0, 1.0, 1.0
    b = certify_m2(m, s, abar)
    lo = float(b.value)
    rng = np.random.default_rng(11)
    for d in (3, 4):
        prob = SimplifiedProblem(np.eye(1, d)[0] * m, s, abar, "relu")
        for _ in range(300):
            V = rng.standard_normal((2, d))
            bb = rng.standard_normal(2)
            assert prob.loss(bb, V) >= lo - 1e-12
            th = V / np.linalg.norm(V, axis=1, keepdims=True)
            # best output weights for these directions (any signs): solve K(G) beta = abar r h
            r = math.hypot(m, s)
            G = float(th[0] @ th[1])
            Kg = np.array([[0.5, float(relu_K_mp(G))], [float(relu_K_mp(G)), 0.5]])
            h = np.array([float(relu_K_mp(m / r * th[j, 0])) for j in range(2)])
            beta = abar * r * np.linalg.solve(Kg, h)
            assert prob.loss(beta, th) >= lo - 1e-12


def test_planted_a_tilt_moved_by_1e3_is_not_certified_optimal():
    etf = best_etf(2, 1.0, 1.0, 1.0)
    moved = mpmath.nstr(etf.alpha + mpmath.mpf("1e-3"), 40)
    b = certify_m2(1.0, 1.0, 1.0, tilt=moved)
    assert not b.optimal
    # still a valid bound when certified, and its gap shows the gradient left at the moved tilt
    if b.certified:
        assert b.relative_gap > 1e-10
        with mpmath.workdps(40):
            assert mpmath.mpf(b.ball[0]) <= etf.loss


def test_planted_a_candidate_far_from_the_optimum_is_not_certified():
    """Tilt 0.5 at ||mu|| = s = 1 (the best is ~0.876): the boxes around the true optimum cannot be
    bounded below the candidate's value, so the search stops uncertified."""
    b = certify_m2(1.0, 1.0, 1.0, tilt="0.5")
    assert not b.certified and not b.optimal and b.notes
    assert b.as_certified_bound().value is None


def test_mu0_is_the_antipodal_pair_exactly():
    for abar, s in ((1.0, 1.0), (-2.0, 0.5)):
        b = certify_m2(0.0, s, abar)
        expect = Fraction(0)  # (abar^2 s^2)(1/(2 pi) - 1/pi^2), compared in mpmath
        with mpmath.workdps(40):
            val = abar**2 * s**2 * (1 / (2 * mpmath.pi) - 1 / mpmath.pi**2)
            assert mpmath.mpf(b.ball[0]) <= val <= mpmath.mpf(b.ball[1])
        assert b.certified and b.optimal and b.boxes == 0 and expect == 0


def test_the_bound_does_not_depend_on_abar_sign():
    b1, b2 = certify_m2(0.5, 1.0, 1.5), certify_m2(0.5, 1.0, -1.5)
    assert b1.ball == b2.ball and b1.optimal and b2.optimal


@pytest.mark.parametrize("args, msg", [((-1.0, 1.0), "mu"), ((1.0, 0.0), "s"), ((1.0, float("nan")), "s")])
def test_bad_input_is_refused(args, msg):
    with pytest.raises(InputError):
        certify_m2(*args)


def test_bad_tilt_is_refused():
    with pytest.raises(InputError):
        certify_m2(1.0, 1.0, tilt="1.5")


def test_compress_certify_refuses_other_M_in_one_line(capsys):
    from verify.cli import main

    rc = main(["compress", "--M", "3", "--d", "3", "--mu-norm", "1", "--s", "1", "--restarts", "5", "--certify"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "M = 2" in err[0]


def test_compress_certify_reports_the_sign_free_bound(capsys):
    import json

    from verify.cli import main

    rc = main(["compress", "--M", "2", "--d", "2", "--mu-norm", "0.5", "--s", "1", "--restarts", "20", "--certify", "--json"])
    out = json.loads(capsys.readouterr().out)
    lb = out["lower_bound"]
    assert rc == 0 and out["verdict"] == "etf-optimal-certified"
    assert lb["certified"] and lb["assumptions"] == [] and lb["method"] == "planar-bnb-m2"
    assert lb["relative_gap"] <= 1e-20 and lb["boxes"] > 0 and lb["pruned"]["bound"] > 0
    assert mpmath.mpf(lb["value"]) <= mpmath.mpf(out["etf"]["loss"]) * (1 + mpmath.mpf(10) ** -25)
    assert any("one sign" in a for a in lb["alternatives"][0]["assumptions"])  # the default bound, kept


def test_claim_with_an_uncertifiable_M_is_refused_at_load(tmp_path):
    from pathlib import Path

    from verify.claims.schema import load_all

    src = Path(__file__).resolve().parent.parent / "conjectures" / "etf-certified.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text(src.read_text().replace("Ms = [2]", "Ms = [2, 3]"))
    with pytest.raises(InputError, match="Ms"):
        load_all([str(bad)])
