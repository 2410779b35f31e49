"""The beyond-simplex table (mu = 0, M > d + 1): structure recognition, the verdict, the claim kind."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from conftest import assert_close

import verify.certify
from verify.claims.kinds.beyond_simplex_table import pairs_of, phi_value_mp, row_verdict
from verify.claims.result import Context
from verify.claims.schema import load_claim
from verify.errors import InputError
from verify.model import simplified_problem
from verify.search.global_search import ReducedSimplified, random_directions
from verify.search.structure import _cell24, _one_per_line, describe_code


def _rotation(d: int, seed: int) -> np.ndarray:
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return Q


def _polygon(angles_deg, d: int = 2, seed: int = 0) -> np.ndarray:
    a = np.radians(np.asarray(angles_deg, dtype=float))
    X = np.zeros((a.size, d))
    X[:, 0], X[:, 1] = np.cos(a), np.sin(a)
    return X @ _rotation(d, seed).T


# ---- structure recognition -------------------------------------------------------------------


@pytest.mark.parametrize("M", [5, 7, 8])
def test_regular_polygon_is_recognized_in_any_embedding(M):
    V = _polygon(360 * np.arange(M) / M, d=3, seed=M) * np.random.default_rng(M).uniform(0.5, 2, (M, 1))
    b = 0.3 / np.linalg.norm(V, axis=1)  # equal beta_j = b_j ||v_j||
    st = describe_code(b, V)
    assert st.name == f"regular {M}-gon"
    assert st.rank == 2 and st.tight and st.one_signed
    assert st.symmetry_order == 2 * M and st.rotations == M and st.orbits == (M,)
    assert st.antipodal_pairs == (M // 2 if M % 2 == 0 else 0)


def test_cross_polytope_and_simplex_and_icosahedron():
    Q = _rotation(3, 1)
    st = describe_code(np.ones(6), np.vstack([np.eye(3), -np.eye(3)]) @ Q.T)
    assert st.name == "cross-polytope of R^3"
    assert (st.symmetry_order, st.rotations, st.antipodal_pairs) == (48, 24, 3)
    assert st.inner_products[0][1] == 3 and st.inner_products[1][1] == 12  # -1 (x3), 0 (x12)
    simplex = (np.eye(4) - 0.25) @ np.linalg.svd(np.eye(4) - 0.25)[2][:3].T  # 4 points in R^3
    st = describe_code(np.ones(4), simplex @ Q.T)
    assert st.name == "regular simplex of 4 points" and st.symmetry_order == 24 and st.tight
    phi = (1 + 5 ** 0.5) / 2
    ico = np.array([np.roll((0, a, b * phi), k) for a in (-1, 1) for b in (-1, 1) for k in range(3)])
    st = describe_code(np.ones(12), ico @ Q.T)
    assert st.name == "icosahedron" and st.symmetry_order == 120 and st.rotations == 60


def test_line_systems_and_pyramid():
    st = describe_code(np.ones(6), _polygon([0, 120, 240, 30, 150, 270]))  # two triangles 30 degrees apart
    assert st.name == "one direction on each of the 6 equally spaced lines of the plane (regular 12-gon)"
    lines = _one_per_line(_cell24())
    st = describe_code(np.ones(12), lines @ _rotation(4, 2).T)
    assert st.name == "one direction on each of the 12 lines of the 24-cell (D4 roots)"
    h = 0.3
    a = 2 * np.pi * np.arange(5) / 5
    P = np.vstack([[0, 0, -1]] + [[np.sqrt(1 - h * h) * np.cos(x), np.sqrt(1 - h * h) * np.sin(x), h] for x in a])
    st = describe_code(np.r_[2.0, np.ones(5)], P @ _rotation(3, 3).T)
    assert st.name.startswith("5-gonal pyramid") and st.symmetry_order == 10 and st.orbits == (5, 1)


def test_orthogonal_union_of_two_triangles():
    """d = 4, M = 6: two regular triangles in orthogonal planes (the best configuration found there)."""
    T = _polygon([0, 120, 240])
    V = np.zeros((6, 4))
    V[:3, :2], V[3:, 2:] = T, T
    st = describe_code(np.ones(6), V @ _rotation(4, 4).T)
    assert st.name == "orthogonal union: regular 3-gon + regular 3-gon"
    assert st.symmetry_order == 72 and st.tight


def test_perturbed_configurations_are_not_named():
    V = _polygon(360 * np.arange(5) / 5 + np.array([0.006, 0, 0, 0, 0]))  # 1e-4 rad: far above tol = 1e-6
    st = describe_code(np.ones(5), V)
    assert st.name.startswith("irregular 5-gon") and st.symmetry_order == 1
    st = describe_code(np.array([1.0, -1.0, 1.0, 1.0, 1.0]), _polygon(360 * np.arange(5) / 5))
    assert st.name == "regular 5-gon (unequal weights)" and not st.one_signed
    V = random_directions(1, 7, 4, 5)[0]
    st = describe_code(np.ones(7), V)
    assert st.name == "other" and st.symmetry_order == 1 and len(st.inner_products) == 21


def test_describe_code_rejects_bad_input():
    with pytest.raises(InputError):
        describe_code(np.ones(3), np.zeros((3, 2)))
    with pytest.raises(InputError):
        describe_code(np.ones(2), np.ones((3, 2)))


# ---- the value and its cross-check -----------------------------------------------------------


def test_phi_formula_matches_loss_mp_at_the_optimal_weights():
    """Independent methods: L~(b*, V) by SimplifiedProblem.loss_mp (kernel module) and the mu = 0
    closed form (abar^2 s^2 / (2 pi))(1 - Phi / (2 pi)) from the directions alone."""
    p = simplified_problem(3, 0.0, 1.3, 0.7)
    V = random_directions(1, 6, 3, 11)[0]
    b = ReducedSimplified(p).optimal_b(V)
    with mpmath.workdps(40):
        diff = abs(p.loss_mp(b, V, dps=30) - phi_value_mp(V, 0.7, 1.3, 30))
    assert diff <= 1e-25  # (b - b*)^T K (b - b*) with b rounded to float: ~1e-32


def _polygon_loss_mp(M: int, dps: int = 40):
    """Regular M-gon at mu = 0, abar = s = 1: K(G) is circulant with the all-ones vector as an eigenvector
    of eigenvalue lambda_0 = sum_k K(cos(2 pi k / M)), so Phi = M / lambda_0 and
    L~ = (1 / (2 pi)) (1 - M / (2 pi lambda_0)) (MATH.md section 6)."""
    with mpmath.workdps(dps):
        pi = mpmath.pi
        K = lambda r: (mpmath.sqrt(max(1 - r * r, 0)) + (pi - mpmath.acos(r)) * r) / (2 * pi)
        lam0 = mpmath.mpf(1) / 2 + mpmath.fsum(K(mpmath.cos(2 * pi * k / M)) for k in range(1, M))
        return (1 - M / (2 * pi * lam0)) / (2 * pi)


# ---- the verdict ------------------------------------------------------------------------------


TOL = {"grad_max": 1e-12, "value_atol": 1e-25, "crosscheck_atol": 1e-20}


def test_row_verdict_can_fail():
    v = Fraction("0.0343")
    ok = {"grad_norm": 1e-15, "curvature": 1e-3, "crosscheck": 1e-31, "tol": TOL}
    assert row_verdict(v, [("lp", v - Fraction(1, 10**4), True)], **ok)[0] == "ok"
    st, margin, _ = row_verdict(v, [("lp", v + Fraction(1, 10**20), True)], **ok)
    assert st == "violated" and margin < 0
    assert row_verdict(v, [("lp", v + Fraction(1, 10**30), True)], **ok)[0] == "ok"  # within value_atol
    # a bound whose assumption does not hold at the configuration found (mixed signs) is not compared
    assert row_verdict(v, [("lp", v + 1, False), ("signfree", v - 1, True)], **ok)[0] == "ok"
    assert row_verdict(v, [("lp", v - 1, True)], **{**ok, "grad_norm": 1e-9})[0] == "unsettled"
    assert row_verdict(v, [("lp", v - 1, True)], **{**ok, "curvature": -1e-6})[0] == "unsettled"
    assert row_verdict(v, [("lp", v - 1, True)], **{**ok, "crosscheck": None})[0] == "unsettled"


def test_pairs_of_rejects_the_simplex_range():
    base = {"pairs": (), "d": [2], "M_min": 0, "M_max": 6}
    assert pairs_of(base) == [(2, 4), (2, 5), (2, 6)]
    assert pairs_of({**base, "pairs": [[3, 7], [2, 4]]}) == [(3, 7), (2, 4)]
    for bad in ({**base, "pairs": [[2, 3]]}, {**base, "pairs": [[2, 4, 1]]}, {**base, "M_max": 3},
                {**base, "pairs": [[1, 4]]}, {**base, "pairs": [[2, 4], [2, 4]]}):
        with pytest.raises(InputError):
            pairs_of(bad)


# ---- the claim kind on a tiny instance ----------------------------------------------------------


CLAIM = """
schema = "verify-claim/1"
id = "beyond-simplex-tiny"
title = "tiny"
statement = "tiny"
formalization = "MATH.md section 6"
kind = "beyond-simplex-table"
expected_status = "verified"
[method]
description = "test"
[parameters]
pairs = [[2, 4], [2, 5]]
restarts = 60
seed = 1
lp_degree = 12
signfree_degree = 8
[tolerance]
grad_max = 1e-12
value_atol = 1e-25
crosscheck_atol = 1e-20
source = "test"
"""


def _claim(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(CLAIM)
    return load_claim(path)


def test_kind_on_a_tiny_instance(tmp_path):
    from verify.claims.kinds import KINDS

    claim = _claim(tmp_path)
    f = KINDS["beyond-simplex-table"].run(claim, Context(claim.id, tmp_path, True))
    assert f.status == "verified", f.summary
    assert set(KINDS["beyond-simplex-table"].figures) <= set(f.figures)
    assert [r[:2] for r in f.rows] == [[2, 4], [2, 5]]
    assert f.figures["min_margin"] > 0 and f.figures["max_grad_norm"] <= 1e-12
    assert sorted(f.plots) == ["beyond-simplex-tiny-gaps.png", "beyond-simplex-tiny-gram.png"]
    assert all((tmp_path / name).stat().st_size > 0 for name in f.plots)
    # d = 2, M = 5: the regular pentagon, with the value of its closed form
    row = f.rows[1]
    assert row[3] == "regular 5-gon"
    with mpmath.workdps(40):
        assert_close(mpmath.mpf(row[2]), _polygon_loss_mp(5), rtol=1e-27)
    # d = 2, M = 4: an irregular quadrilateral strictly above the LP bound (the simplex bound is not attained)
    assert f.rows[0][3].startswith("irregular 4-gon")
    assert Fraction(f.rows[0][2]) > Fraction(f.rows[0][8])


def test_kind_refutes_when_a_bound_exceeds_the_value_found(tmp_path, monkeypatch):
    """The verdict can fail: an LP bound raised above the true minimum (a simulated bug) must give refuted."""
    from verify.claims.kinds import KINDS

    real = verify.certify.certify_mu0

    def wrong(M, d, abar=1.0, s=1.0, **kw):
        c = real(M, d, abar, s, **kw)
        return dataclasses.replace(c, lower_bound=c.lower_bound + Fraction(1, 1000)) if kw.get("method") == "lp" else c

    monkeypatch.setattr(verify.certify, "certify_mu0", wrong)
    claim = _claim(tmp_path)
    f = KINDS["beyond-simplex-table"].run(claim, Context(claim.id, None, False))
    assert f.status == "refuted" and f.figures["min_margin"] < -1e-4
