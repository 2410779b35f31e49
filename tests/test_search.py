"""Global search of L~, structure detection and the compress pipeline (issue 4)."""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest

from verify.errors import InputError
from verify.model import simplified_problem
from verify.model.etf import best_etf, etf_network
from verify.search.global_search import ReducedSimplified, batched_lbfgs, invariants, random_directions, search_simplified
from verify.search.structure import classify


@pytest.mark.parametrize("M, d, m", [(3, 3, 1.0), (8, 9, 2.0), (4, 3, 0.0), (5, 2, 0.5)])
def test_reduced_objective_matches_simplified_problem(M, d, m):
    """f(V) = L~(b*(V), V) and its gradient equal SimplifiedProblem's at the optimal b, and b* is
    optimal (dL~/db = 0), for random V with random row norms."""
    p = simplified_problem(d, m, 1.0)
    red = ReducedSimplified(p)
    V = random_directions(40, M, d, 3) * np.random.default_rng(0).uniform(0.5, 2.0, (40, M, 1))
    f, g, b = red.value_grad(V)
    gb, gV = p.grad(b, V)
    # Rounding scales with the terms that cancel: beta^T K(G) beta ~ (sum |beta|)^2 (large when
    # K(G) is ill-conditioned, e.g. M > d + 1).
    scale = 1.0 + np.max(np.sum(np.abs(b) * np.linalg.norm(V, axis=2), axis=1)) ** 2
    assert np.max(np.abs(f - p.loss(b, V))) <= 1e-13 * scale
    assert np.max(np.abs(g - gV)) <= 1e-11 * scale
    assert np.max(np.abs(gb)) <= 1e-11 * scale
    # The gradient is tangent to each sphere (f is invariant under v_j -> c v_j).
    assert np.max(np.abs(np.einsum("rjd,rjd->rj", g, V))) <= 1e-12 * scale


@pytest.mark.parametrize("M, d, m", [(3, 4, 1.3), (5, 5, 8.0), (4, 4, 0.0)])
def test_reduced_hessian_matches_differences_and_the_schur_complement(M, d, m):
    """The analytic Hessian of f(V) against central differences of the analytic gradient (error
    ~h^2 |f'''| + eps |g| / h ~ 1e-9 at h = 1e-6), and against the Schur complement of
    SimplifiedProblem.hessian (an independent per-pair assembly) to rounding."""
    p = simplified_problem(d, m, 0.8, abar=1.1)
    red = ReducedSimplified(p)
    V = random_directions(3, M, d, 4) * np.random.default_rng(2).uniform(0.5, 2.0, (3, M, 1))
    H = red.hessian(V)
    n, h = M * d, 1e-6
    for r in range(3):
        X = V[r].ravel()
        cols = []
        for i in range(n):
            e = np.zeros(n)
            e[i] = h
            cols.append((red.value_grad((X + e).reshape(M, d))[1] - red.value_grad((X - e).reshape(M, d))[1]).ravel() / (2 * h))
        scale = np.abs(H[r]).max()
        assert np.abs(H[r] - np.array(cols).T).max() <= 1e-8 * scale
        full = p.hessian(red.optimal_b(V[r]), V[r])
        A, B, C = full[:M, :M], full[:M, M:], full[M:, M:]
        assert np.abs(H[r] - (C - B.T @ np.linalg.solve(A, B))).max() <= 1e-12 * scale


def test_extended_precision_gradient_matches_mpmath():
    """value_grad(extended=True) against the same formulas in 40-digit mpmath (an independent
    evaluation: beta by mpmath's LU solve) at an ill-conditioned point (||mu|| / s = 8, M = 10,
    near the tilted ETF): the extended gradient is within 1e-16 of the 40-digit one, and closer
    than the float64 gradient (whose rounding is what the extended polish removes)."""
    M, d, m = 10, 11, 8.0
    p = simplified_problem(d, m, 1.0)
    red = ReducedSimplified(p)
    _, V = etf_network(best_etf(M, m, 1.0), d, p.mu)
    V = V + 1e-7 * np.random.default_rng(0).standard_normal(V.shape)
    _, g64, _ = red.value_grad(V)
    _, gx, _ = red.value_grad(V, extended=True)
    with mpmath.workdps(40):
        nv = [mpmath.sqrt(mpmath.fsum(mpmath.mpf(x) ** 2 for x in row)) for row in V]
        th = [[mpmath.mpf(x) / nv[j] for x in V[j]] for j in range(M)]
        r = mpmath.sqrt(mpmath.mpf(m) ** 2 + 1)
        K = lambda x: (mpmath.sqrt(1 - x * x) + (mpmath.pi - mpmath.acos(x)) * x) / (2 * mpmath.pi)  # noqa: E731
        Kp = lambda x: (mpmath.pi - mpmath.acos(x)) / (2 * mpmath.pi)  # noqa: E731
        G = [[mpmath.fsum(th[j][i] * th[k][i] for i in range(d)) for k in range(M)] for j in range(M)]
        KG = mpmath.matrix([[mpmath.mpf(1) / 2 if j == k else K(G[j][k]) for k in range(M)] for j in range(M)])
        beta = mpmath.lu_solve(KG, mpmath.matrix([r * K(m * th[j][0] / r) for j in range(M)]))
        g = np.zeros((M, d))
        for j in range(M):
            gj = [2 * beta[j] * mpmath.fsum(beta[k] * Kp(G[j][k]) * th[k][i] for k in range(M) if k != j) for i in range(d)]
            gj[0] -= 2 * beta[j] * m * Kp(m * th[j][0] / r)
            proj = mpmath.fsum(gj[i] * th[j][i] for i in range(d))
            g[j] = [float((gj[i] - proj * th[j][i]) / nv[j]) for i in range(d)]
    err_x, err_64 = np.abs(gx.astype(float) - g).max(), np.abs(g64 - g).max()
    assert err_x <= 1e-16
    assert err_x < err_64


def test_batched_lbfgs_on_a_quadratic():
    rng = np.random.default_rng(1)
    A = np.diag(np.linspace(1, 50, 6))
    X0 = rng.standard_normal((7, 6))
    out = batched_lbfgs(lambda X: (0.5 * np.einsum("ri,ij,rj->r", X, A, X), X @ A), X0,
                        lambda X, g: np.linalg.norm(g, axis=1), gtol=1e-12)
    assert np.all(out["converged"])
    assert np.max(np.abs(out["x"])) < 1e-11


def test_search_finds_the_etf_and_reaches_gtol():
    p = simplified_problem(4, 1.0, 1.0)
    r = search_simplified(p, 3, restarts=300, seed=2)
    etf = best_etf(3, 1.0, 1.0)
    assert r.converged >= 250
    assert r.max_grad_norm <= 1e-12
    best = r.best
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(best.loss_mp) - etf.loss) <= 1e-20
    assert best.count >= 250  # basin statistics: nearly all restarts reach it
    assert classify(best.b, best.V, p.mu).cls == "tilted-etf"
    assert sum(m.count for m in r.minima) == r.converged


def test_search_mu0_simplex_and_m_greater_than_d_plus_1():
    r = search_simplified(simplified_problem(3, 0.0, 1.0), 4, restarts=200, seed=3)
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(r.best.loss_mp) - best_etf(4, 0.0, 1.0).loss) <= 1e-20
    st = classify(r.best.b, r.best.V, np.zeros(3))
    assert st.cls == "tilted-etf" and abs(st.mean_inner_product + 1 / 3) < 1e-9
    r = search_simplified(simplified_problem(2, 0.0, 1.0), 4, restarts=200, seed=3)  # MATH.md: irregular quadrilateral
    assert classify(r.best.b, r.best.V, np.zeros(2)).cls == "other"


def test_invariants_are_invariant_under_the_symmetries():
    rng = np.random.default_rng(5)
    d, M = 5, 4
    mu = np.zeros(d)
    mu[0] = 1.3
    b, V = rng.standard_normal(M), rng.standard_normal((M, d))
    Q, _ = np.linalg.qr(rng.standard_normal((d - 1, d - 1)))
    R = np.eye(d)
    R[1:, 1:] = Q  # a rotation (or reflection) fixing mu
    perm = rng.permutation(M)
    c = rng.uniform(0.5, 2.0, M)
    a = invariants(b, V, mu)
    a2 = invariants((b / c)[perm], (c[:, None] * V @ R.T)[perm], mu)
    assert np.max(np.abs(a - a2)) < 1e-12
    V3 = V.copy()
    V3[0, 0] += 0.1
    assert np.max(np.abs(invariants(b, V3, mu) - a)) > 1e-3


@pytest.mark.parametrize("M, d, m", [(3, 3, 1.0), (5, 7, 2.0), (4, 3, 0.0)])
def test_classify_etf_and_rotated_etf(M, d, m):
    opt = best_etf(M, m, 1.0)
    mu = np.zeros(d)
    mu[0] = m
    b, V = etf_network(opt, d, mu)
    st = classify(b, V, mu)
    assert st.cls == "tilted-etf" and st.equiangular_error < 1e-12
    if m > 0:
        # The same frame rotated so that its axis leaves hat(mu): an ETF around another axis.
        th = 0.3
        Rm = np.eye(d)
        Rm[0, 0] = Rm[1, 1] = math.cos(th)
        Rm[0, 1], Rm[1, 0] = -math.sin(th), math.sin(th)
        st2 = classify(b, V @ Rm.T, mu)
        assert st2.cls == "etf-other-axis"
        assert abs(st2.axis_alignment - math.cos(th)) < 1e-12


def test_classify_describes_other_structures():
    d = 4
    mu = np.zeros(d)
    mu[0] = 1.0
    opt = best_etf(3, 1.0, 1.0)
    b, V = etf_network(opt, d, mu)
    b2 = np.append(b, 0.2)
    V2 = np.vstack([V, mu])  # one neuron on hat(mu) plus the tilted simplex
    st = classify(b2, V2, mu)
    assert st.cls == "other"
    assert "1 neuron on hat(mu)" in st.description and "simplex of 3 around hat(mu)" in st.description
    with pytest.raises(InputError):
        classify(b, np.zeros_like(V), mu)


def test_compress_pipeline_and_cli(capsys):
    from verify.cli import main

    assert main(["compress", "--M", "3", "--d", "3", "--mu-norm", "1", "--s", "1", "--restarts", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "etf-best-found"
    assert out["structure"]["class"] == "tilted-etf"
    assert out["local_certificate"]["certified"] is True
    assert len(out["etf"]["loss"].replace("0.", "", 1).lstrip("0")) >= 25
    assert abs(float(out["best"]["loss"]) - float(out["etf"]["loss"])) < 1e-15
    # mu = 0: the even square certifies the simplex for M <= 16 with no assumption; beyond, the
    # tangent-line bound certifies it conditionally on beta >= 0 (and says so).
    assert main(["compress", "--M", "4", "--d", "3", "--mu-norm", "0", "--s", "1", "--restarts", "100"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "etf-optimal-certified"
    assert out["lower_bound"]["assumptions"] == [] and out["lower_bound"]["method"] == "signfree-evensquare-m4"
    assert main(["compress", "--M", "17", "--d", "16", "--mu-norm", "0", "--s", "1", "--restarts", "8"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "etf-optimal-certified"
    assert out["lower_bound"]["assumptions"] == ["beta >= 0"] and out["lower_bound"]["method"] == "tangent-line"
    for bad in (["--M", "0"], ["--M", "3", "--restarts", "0"], ["--M", "3", "--activation", "tanh"], ["--M", "3", "--s", "-1"]):
        argv = ["compress", "--d", "3", "--mu-norm", "1", "--s", "1"] + bad
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("verify: error:") and len(err.strip().splitlines()) == 1


def _grid_claim(tmp_path, **params):
    from verify.claims.schema import load_claim

    lines = [f"{k} = {json.dumps(v)}" for k, v in params.items()]
    text = "\n".join([
        'schema = "verify-claim/1"', 'id = "etf-grid-t"', 'title = "t"', 'statement = "t"',
        'formalization = "MATH.md section 6"', 'kind = "etf-grid"', 'profile = "quick"', 'expected_status = "verified"',
        "[method]", 'description = "t"', "[parameters]", *lines, "[tolerance]", 'source = "t"', ""])
    path = tmp_path / "etf-grid-t.toml"
    path.write_text(text)
    return load_claim(path)


def test_compress_with_a_shared_search_equals_its_own_search():
    """d = 2M reuses the search run in d = M + 1 dimensions: same best value and structure as a
    search run in d = 2M itself (the search reduces to the span either way)."""
    from verify.pipeline.compress import compress

    M, m = 3, 2.0
    shared = search_simplified(simplified_problem(M + 1, m, 1.0), M, restarts=150, seed=4)
    a = compress(M, 2 * M, m, 1.0, restarts=150, seed=4, search=shared)
    b = compress(M, 2 * M, m, 1.0, restarts=150, seed=4)
    assert a.best["loss"] == b.best["loss"] and a.verdict == b.verdict == "etf-best-found"
    assert np.array(a.best["V"]).shape == (M, 2 * M)
    assert shared.minima[0].V.shape == (M, M + 1)  # the shared search is not modified
    with pytest.raises(InputError):
        compress(M, 2 * M, m, 1.0, restarts=99, seed=4, search=shared)


def test_etf_grid_kind_verifies_and_resumes(tmp_path):
    from verify.claims.kinds import KINDS
    from verify.claims.result import Context

    claim = _grid_claim(tmp_path, M_min=2, M_max=3, ratios=[0.5, 4.0], restarts=120)
    ctx = Context(claim.id, tmp_path, False, resume_key="k1")
    f = KINDS["etf-grid"].run(claim, ctx)
    assert f.status == "verified", f.summary
    assert f.figures["instances"] == 12 and f.figures["all_ok"] == 12
    assert 0 < f.figures["max_relative_gap"] < 0.5 and f.figures["max_grad_norm"] <= 1e-12
    # An interrupted run leaves its finished instances; a rerun with the same key reuses them.
    # The units are (M, ||mu||/s): 4 of them, 3 instances each.
    saved = ctx.load_partial()
    assert sorted(saved) == ["unit:2,0.5", "unit:2,4.0", "unit:3,0.5", "unit:3,4.0"]
    assert sum(len(u["outs"]) for u in saved.values()) == 12
    seen = []
    f2 = KINDS["etf-grid"].run(claim, Context(claim.id, tmp_path, False, progress=seen.append, resume_key="k1"))
    assert f2.rows == f.rows and any("4 of 4 from an interrupted run" in s for s in seen)
    assert Context(claim.id, tmp_path, False, resume_key="other").load_partial() == {}


def test_etf_grid_shows_the_sign_free_certificate_beside_the_old_bound(tmp_path):
    """certify_M_max = 2 (the full profile): the M = 2 instances carry the planar certificate (no
    assumption, relative gap ~1e-36) in its own column, beside the one-signed bound (~0.2 at
    ||mu||/s = 0.5), and their verdict is etf-optimal-certified; one certificate serves every d."""
    from verify.claims.kinds import KINDS
    from verify.claims.result import Context

    claim = _grid_claim(tmp_path, M_min=2, M_max=2, ratios=[0.5], d_rules=["M", "2M"], restarts=60, certify_M_max=2)
    f = KINDS["etf-grid"].run(claim, Context(claim.id, None, False))
    assert f.status == "verified", f.summary
    assert f.figures["sign_free_optimal"] == 2 and f.figures["max_sign_free_relative_gap"] < 1e-20
    assert f.figures["min_relative_gap"] > 0.01  # the gap figures stay the one-signed bound's
    col = f.columns.index("sign-free gap")
    assert f.columns[col - 1] == "relative gap" and f.columns[-1] == "verdict"
    for row in f.rows:
        assert float(row[col]) < 1e-20 < 0.01 < float(row[col - 1])
        assert row[-1] == "etf-optimal-certified"
    assert any("sign-free certificates (planar-bnb-m2, assumptions: none) for 2 instances (M <= 2): 2 certified "
               "bounds, 2 meeting the ETF loss to <= 1e-20 relative" in n for n in f.notes)
    assert any(n.startswith("lower bounds (the best certified per instance): planar-bnb-m2 (2 instances; assumptions: "
                            "none)") for n in f.notes)
    assert "2 of 2 instances with the sign-free certificate (M <= 2) certified globally optimal" in f.summary


def test_etf_grid_with_a_failed_sign_free_certificate_and_the_pole_bound(tmp_path, monkeypatch):
    """The certificate stopped after 10 boxes (not certified): the instance keeps the one-signed
    bound (here the two-point pole bound, which compress computes under certify too), is not
    called optimal, and the report says 0 of 1 without a gap."""
    import verify.certify.planar as planar
    from verify.claims.kinds import KINDS
    from verify.claims.kinds.etf_grid import _flat
    from verify.claims.result import Context
    from verify.pipeline.compress import compress

    real = planar.certify_m2
    monkeypatch.setattr(planar, "certify_m2", lambda *a, **k: real(*a, **{**k, "max_boxes": 10}))
    out = compress(2, 2, 0.5, 1.0, restarts=60, seed=0, pole_bound=True, certify=True).to_dict()
    lb = out["lower_bound"]
    assert lb["method"].startswith("pole") and out["verdict"] == "etf-best-found"
    assert [b["method"].split("-")[0] for b in _flat(lb["alternatives"])] == ["tilted", "pole", "planar"]
    assert not lb["alternatives"][1]["certified"] and lb["alternatives"][1]["relative_gap"] is None

    claim = _grid_claim(tmp_path, M_min=2, M_max=2, ratios=[0.5], d_rules=["M"], restarts=60, certify_M_max=2,
                        pole_M_max=2, pole_ratio_max=0.5)
    f = KINDS["etf-grid"].run(claim, Context(claim.id, None, False))
    assert f.status == "verified" and f.figures["sign_free_optimal"] == 0
    assert f.figures["max_sign_free_relative_gap"] != f.figures["max_sign_free_relative_gap"]  # NaN: none certified
    assert f.rows[0][f.columns.index("sign-free gap")] == "-" and f.rows[0][-1] == "etf-best-found"
    assert "0 of 1 instances with the sign-free certificate" in f.summary and "relative gap <=" not in f.summary
    assert any("0 certified bounds, 0 meeting" in n for n in f.notes)
    assert any("pole" in n and "planar-bnb-m2: not certified" in n for n in f.notes)


def test_etf_grid_kind_refutes_a_wrong_etf(tmp_path, monkeypatch):
    """The check can fail: if the ETF family handed to the verdict were not the best tilt (here
    alpha* moved by 0.05), the search finds configurations below it and the claim is refuted."""
    import dataclasses as dc

    import verify.pipeline.compress as comp
    from verify.claims.kinds import KINDS
    from verify.claims.result import Context
    from verify.model.etf import etf_loss_mp

    real = comp.best_etf

    def worse(M, m, s, abar=1.0, dps=40):
        opt = real(M, m, s, abar, dps)
        a = opt.alpha - mpmath.mpf("0.05")
        return dc.replace(opt, alpha=a, loss=etf_loss_mp(a, M, m, s, abar, dps=dps))

    monkeypatch.setattr(comp, "best_etf", worse)
    claim = _grid_claim(tmp_path, M_min=3, M_max=3, ratios=[1.0], d_rules=["M+1"], restarts=60)
    f = KINDS["etf-grid"].run(claim, Context(claim.id, None, False))
    assert f.status == "refuted"
    assert f.rows[0][-1].startswith("etf-not-optimal")


def test_compress_keeps_the_tighter_certified_pole_bound():
    """M = 2, ||mu||/s = 0.5: the two-point bound certifies and is tighter than the tilted Delsarte
    bound (gap ~7e-5 against ~0.14 relative); compress keeps it and reports both."""
    from verify.pipeline.compress import compress

    out = compress(2, 2, 0.5, 1.0, restarts=100, seed=0, pole_bound=True).to_dict()
    lb = out["lower_bound"]
    assert lb["certified"] and lb["method"].startswith("pole")
    assert [a["method"].split("-")[0] for a in lb["alternatives"]] == ["tilted", "pole"]
    assert 0 <= lb["relative_gap"] < 1e-3 < lb["alternatives"][0]["relative_gap"]
    with mpmath.workdps(40):
        assert mpmath.mpf(lb["value"]) <= mpmath.mpf(out["etf"]["loss"])
    assert out["verdict"] == "etf-best-found"


def test_etf_grid_rejects_an_unknown_d_rule_at_load(tmp_path, capsys):
    from verify.cli import main

    with pytest.raises(InputError, match="d_rules"):
        _grid_claim(tmp_path, d_rules=["3M"])
    assert main(["run", str(tmp_path / "etf-grid-t.toml"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("verify: error:") and "3M" in err and len(err.strip().splitlines()) == 1


def test_verify_run_exits_nonzero_when_a_checker_fails(tmp_path, capsys, monkeypatch):
    """A checker that fails (here: planted to raise) gives a report that says "error" with the
    reason, and `verify run` exits 1. An empty grid (M_min > M_max) is bad input instead: refused
    when the claim file is loaded, exit 2, nothing written."""
    import dataclasses

    from verify.claims.kinds import KINDS
    from verify.cli import main

    from verify.errors import InputError

    with pytest.raises(InputError, match="grid is empty"):
        _grid_claim(tmp_path, M_min=5, M_max=4)  # writes the file, then refuses it
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "etf-grid-t.toml"), "--out", str(out)]) == 2
    assert not (out / "etf-grid-t.json").exists()
    assert "grid is empty" in capsys.readouterr().err

    def broken(claim, ctx):
        raise RuntimeError("planted checker failure")

    monkeypatch.setitem(KINDS, "etf-grid", dataclasses.replace(KINDS["etf-grid"], run=broken))
    _grid_claim(tmp_path, M_min=2, M_max=2)
    assert main(["run", str(tmp_path / "etf-grid-t.toml"), "--out", str(out)]) == 1
    rep = json.loads((out / "etf-grid-t.json").read_text())
    assert rep["status"] == "error" and "planted checker failure" in rep["summary"]
    assert "ended in error: etf-grid-t" in capsys.readouterr().err
