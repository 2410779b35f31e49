"""The command line and the claim pipeline: bad input, reports, cache, check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mpmath
import numpy as np
import pytest

from verify.claims.schema import load_claim
from verify.cli import main
from verify.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
FAST_CLAIM = ROOT / "conjectures" / "loss-vs-mpmath.toml"


def run_cli(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err):
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("verify: error:"), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["kernel", "relu", "--q1", "1", "--q2", "1", "--c", "1.5"],
        ["kernel", "relu", "--q1", "-1", "--q2", "1", "--c", "0"],
        ["kernel", "relu", "--q1", "nan", "--q2", "1", "--c", "0"],
        ["kernel", "relu", "--q1", "inf", "--q2", "1", "--c", "0"],
        ["kernel", "nosuch", "--q1", "1", "--q2", "1", "--c", "0"],
        ["kernel", "relu", "--param", "alpha=1", "--q1", "1", "--q2", "1", "--c", "0"],
        ["kernel", "leaky_relu", "--param", "alpha", "--q1", "1", "--q2", "1", "--c", "0"],
        ["kernel", "relu", "--q1", "1", "--q2", "1", "--c", "0", "--dps", "2"],
        ["kernel", "relu", "--q1", "1", "--q2", "1"],
        ["nosuchcommand"],
        [],
    ],
)
def test_bad_kernel_input_is_one_line_exit_2(capsys, argv):
    rc, out, err = run_cli(capsys, *argv)
    assert_one_line_error(rc, err)
    assert out == ""


def test_kernel_json_fields_and_digits(capsys):
    rc, out, err = run_cli(capsys, "kernel", "relu", "--q1", "1", "--q2", "1", "--c", "0.3", "--dps", "30", "--json")
    assert rc == 0
    d = json.loads(out)
    assert set(d) == {"activation", "q1", "q2", "c", "dps", "value", "method", "enclosure"}
    assert d["method"] == "closed-form"
    mpmath.mp.dps = 50
    try:
        rho = mpmath.mpf(3) / 10
        exact = (mpmath.sqrt(1 - rho**2) + (mpmath.pi - mpmath.acos(rho)) * rho) / (2 * mpmath.pi)
        assert abs(mpmath.mpf(d["value"]) - exact) <= mpmath.mpf(10) ** -30
        lo, hi = (mpmath.mpf(x) for x in d["enclosure"])
        assert lo <= exact <= hi and hi - lo < mpmath.mpf(10) ** -30
    finally:
        mpmath.mp.dps = 15
    digits = d["value"].replace("0.", "", 1)
    assert len(digits) == 30


def test_kernel_quadrature_only_has_no_enclosure(capsys):
    rc, out, _ = run_cli(capsys, "kernel", "tanh", "--q1", "1", "--q2", "2", "--c", "0.3", "--dps", "20", "--json")
    d = json.loads(out)
    assert rc == 0 and d["method"] == "quadrature" and d["enclosure"] is None


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_loss_command_and_bad_files(capsys, tmp_path):
    rng = np.random.default_rng(0)
    t = _npz(tmp_path / "t.npz", a=np.ones(10), W=rng.standard_normal((10, 4)))
    c = _npz(tmp_path / "c.npz", b=rng.standard_normal(2), V=rng.standard_normal((2, 4)))
    rc, out, _ = run_cli(capsys, "loss", "--target", t, "--compressed", c, "--json")
    d = json.loads(out)
    assert rc == 0 and d["N"] == 10 and d["M"] == 2 and d["d"] == 4 and d["activation"] == "relu"
    assert d["loss"] > 0
    bad_shape = _npz(tmp_path / "bs.npz", b=np.ones(2), V=np.ones((2, 5)))
    nan = _npz(tmp_path / "nan.npz", b=np.array([1.0, np.nan]), V=np.ones((2, 4)))
    missing = _npz(tmp_path / "m.npz", b=np.ones(2))
    garbage = tmp_path / "g.npz"
    garbage.write_bytes(b"not a zip")
    for comp in (bad_shape, nan, missing, str(garbage), str(tmp_path / "absent.npz")):
        rc, out, err = run_cli(capsys, "loss", "--target", t, "--compressed", comp, "--json")
        assert_one_line_error(rc, err)
    rc, out, err = run_cli(capsys, "loss", "--target", t, "--compressed", c, "--activation", "bogus")
    assert_one_line_error(rc, err)


# ---- claim files ------------------------------------------------------------------------------

GOOD = FAST_CLAIM.read_text()


@pytest.mark.parametrize(
    "mutation, message",
    [
        (lambda s: s.replace('schema = "verify-claim/1"', 'schema = "verify-claim/9"'), "schema"),
        (lambda s: s.replace('kind = "loss-vs-mpmath"', 'kind = "nope"'), "unknown kind"),
        (lambda s: s.replace("N = 40", 'N = "forty"'), "type int"),
        (lambda s: s.replace("N = 40\n", ""), "missing parameter"),
        (lambda s: s + "\n[parameters.extra]\nx = 1\n", "unknown parameter"),
        (lambda s: s.replace("rel = 1e-12\n", "", 1), "needs 'rel'"),
        (lambda s: s.replace('figure = "max_rel_error"', 'figure = "nonexistent"'), "no figure"),
        (lambda s: s.replace('expected_status = "verified"', 'expected_status = "true"'), "expected_status"),
        (lambda s: s.replace("[method]", "[method]\nsurprise = 1\n[bogus]"), "unknown top-level"),
        (lambda s: s + "\n= broken", "TOML"),
        (lambda s: s.replace('id = "loss-vs-mpmath"', 'id = "Bad Id"'), "id"),
    ],
)
def test_invalid_claim_files_are_rejected(tmp_path, mutation, message):
    p = tmp_path / "c.toml"
    p.write_text(mutation(GOOD))
    with pytest.raises(InputError, match=message):
        load_claim(p)


def test_invalid_claim_file_cli_exit_2_and_no_report(capsys, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(GOOD.replace("N = 40", "N = -"))
    out = tmp_path / "reports"
    rc, _, err = run_cli(capsys, "run", str(p), "--out", str(out))
    assert_one_line_error(rc, err)
    assert not out.exists()


def test_run_writes_reports_reuses_and_check_detects_moves(capsys, tmp_path):
    claim = tmp_path / "claim.toml"
    shutil.copy(FAST_CLAIM, claim)
    out = tmp_path / "reports"
    rc, stdout, err = run_cli(capsys, "run", str(claim), "--out", str(out), "--json")
    assert rc == 0
    summary = json.loads(stdout)
    assert summary["claims"][0]["status"] == "verified"
    rep = json.loads((out / "loss-vs-mpmath.json").read_text())
    assert rep["claim_text"] == FAST_CLAIM.read_text()
    assert rep["environment"]["packages"]["numpy"] and rep["seeds"] == [21, 22, 23]
    assert (out / "index.md").exists() and (out / "loss-vs-mpmath.md").exists()
    assert not list(out.glob(".*.tmp"))
    # A rerun with nothing changed reuses the report.
    rc, _, err = run_cli(capsys, "run", str(claim), "--out", str(out))
    assert rc == 0 and "reused" in err
    # verify check passes on the claim as shipped ...
    rc, stdout, _ = run_cli(capsys, "check", str(claim), "--out", str(out))
    assert rc == 0
    # ... and fails with a table when a tracked band cannot hold any more.
    claim.write_text(FAST_CLAIM.read_text().replace("max = 1e-12", "max = 1e-30"))
    rc, stdout, _ = run_cli(capsys, "check", str(claim), "--out", str(out))
    assert rc == 1 and "moved" in stdout and "max_rel_error" in stdout
    # ... or when the expected status differs.
    claim.write_text(FAST_CLAIM.read_text().replace('expected_status = "verified"', 'expected_status = "refuted"'))
    rc, stdout, _ = run_cli(capsys, "check", str(claim), "--out", str(out))
    assert rc == 1 and "status" in stdout


def test_interrupted_run_keeps_previous_report(monkeypatch, capsys, tmp_path):
    claim = tmp_path / "claim.toml"
    shutil.copy(FAST_CLAIM, claim)
    out = tmp_path / "reports"
    assert run_cli(capsys, "run", str(claim), "--out", str(out))[0] == 0
    before = (out / "loss-vs-mpmath.json").read_bytes()
    claim.write_text(FAST_CLAIM.read_text().replace("seeds = [21, 22, 23]", "seeds = [21, 22]"))

    import verify.reports.runner as runner

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "write_claim_report", boom)
    rc, _, err = run_cli(capsys, "run", str(claim), "--out", str(out))
    assert rc == 130 and "interrupted" in err
    assert (out / "loss-vs-mpmath.json").read_bytes() == before
    assert not list(out.glob(".*.tmp"))


def test_refuted_claim_is_reported_not_hidden(capsys, tmp_path):
    """A wrong expectation (an impossible tolerance) yields a refuted status, not a pass."""
    claim = tmp_path / "claim.toml"
    claim.write_text(FAST_CLAIM.read_text().replace("rel = 1e-12", "rel = 1e-40"))
    out = tmp_path / "reports"
    rc, stdout, _ = run_cli(capsys, "run", str(claim), "--out", str(out), "--json")
    assert rc == 0 and json.loads(stdout)["claims"][0]["status"] == "refuted"


def test_self_term_memory_stays_within_budget(monkeypatch):
    """Blocked L_N: the temporaries stay under the budget whatever N is (tracemalloc sees numpy)."""
    import tracemalloc

    import verify.model.finite as finite
    from verify.kernels import get_activation, kernel_matrix

    rng = np.random.default_rng(5)
    N, d = 3000, 16
    W = rng.standard_normal((N, d))
    u = rng.standard_normal(N) / N
    budget = 4 * 2**20
    monkeypatch.setattr(finite, "MEMORY_BUDGET", budget)
    relu = get_activation("relu")
    tracemalloc.start()
    try:
        value = finite.self_term(relu, u, W)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A dense N x N matrix would be 72 MB; the blocked evaluation must stay near the budget
    # (the budget bounds the block and its chunk buffers; a few small vectors come on top).
    assert peak < budget + 2 * 2**20, peak
    dense = u @ kernel_matrix(relu, W) @ u
    assert abs(value - dense) <= 1e-13 * abs(dense) + 1e-16


def test_long_loss_shows_progress_and_the_same_value(capsys, tmp_path, monkeypatch):
    """Above LOSS_PROGRESS_AFTER seconds of estimated work `verify loss` prints progress lines on
    stderr (here forced with a zero threshold and a target of several blocks); the value printed is
    the same with and without them."""
    import verify.cli as cli
    import verify.model.finite as finite

    rng = np.random.default_rng(5)
    t = _npz(tmp_path / "t.npz", a=rng.standard_normal(300), W=rng.standard_normal((300, 4)))
    c = _npz(tmp_path / "c.npz", b=rng.standard_normal(3), V=rng.standard_normal((3, 4)))
    args = ["loss", "--target", str(t), "--compressed", str(c)]
    assert main(args) == 0
    quiet = json.loads(capsys.readouterr().out)
    monkeypatch.setattr(cli, "LOSS_PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(finite, "block_size", lambda n_cols, budget=None: 64)  # 5 block rows
    assert main(args) == 0
    cap = capsys.readouterr()
    lines = cap.err.splitlines()
    assert lines and all(line.startswith("verify loss: target term") for line in lines)
    assert lines[-1].endswith("100% done")
    # Smaller blocks only reorder the sums of the target term: a few ulp of it at most (0 here).
    assert json.loads(cap.out)["loss"] == pytest.approx(quiet["loss"], rel=1e-14, abs=0)
