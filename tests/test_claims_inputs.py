"""Bad claim files are refused when they are LOADED: one-line InputError (exit 2 from `verify run`),
fast, before any work and without touching existing reports. And the verdict functions of the kinds
are pure: fed values outside tolerance, they say so."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verify.claims.kinds import KINDS
from verify.claims.schema import Param, check_value, load_all, load_claim
from verify.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
CONJ = ROOT / "conjectures"
FAST = 2.0  # seconds: every refusal here is a parse and a few comparisons


def _claim(tmp_path: Path, name: str, edit=None, text: str | None = None) -> Path:
    src = (CONJ / f"{name}.toml").read_text() if text is None else text
    if edit is not None:
        src = edit(src)
    p = tmp_path / f"{name}.toml"
    p.write_text(src)
    return p


def _set(key: str, value: str, table: str = "[parameters]"):
    """Edit: set `key = value` in `table` (replacing the line if the key is there)."""
    def edit(s: str) -> str:
        lines = s.splitlines()
        start = lines.index(table)
        for i in range(start + 1, len(lines)):
            if lines[i].startswith("["):
                break
            if re.match(rf"{re.escape(key)}\s*=", lines[i]):
                lines[i] = f"{key} = {value}"
                return "\n".join(lines) + "\n"
        lines.insert(start + 1, f"{key} = {value}")
        return "\n".join(lines) + "\n"
    return edit


def _refused(path, match: str | None = None) -> str:
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=match) as ei:
        load_claim(path)
    assert time.perf_counter() - t0 < FAST
    msg = str(ei.value)
    assert "\n" not in msg
    return msg


def _cli_refused(capsys, path: Path, out: Path) -> str:
    from verify.cli import main

    t0 = time.perf_counter()
    rc = main(["run", str(path), "--out", str(out), "--no-cache"])
    err = capsys.readouterr().err
    assert time.perf_counter() - t0 < 10
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_every_shipped_claim_loads():
    claims = load_all(None, default_dir=str(CONJ))
    files = list(CONJ.glob("*.toml"))
    with_full = [f for f in files if "[profile.full" in f.read_text()]
    assert len(claims) == len(files) + len(with_full)  # a [profile.full] table adds the full claim


# ---- 1. declared ranges for every parameter ----------------------------------------------------

RANGE_CASES = [
    ("loss-vs-mpmath", "N", "0"),
    ("loss-vs-mpmath", "d", "0"),
    ("loss-vs-mpmath", "M", "-1"),
    ("loss-vs-mpmath", "s", "0.0"),
    ("loss-vs-mpmath", "s", "inf"),
    ("loss-vs-mpmath", "s", "nan"),
    ("loss-vs-mpmath", "abar", "0.0"),
    ("loss-vs-mpmath", "var_a", "-0.5"),
    ("loss-vs-mpmath", "seeds", "[1, -2]"),
    ("loss-vs-mpmath", "activations", '["relu", "bogus"]'),
    ("loss-vs-monte-carlo", "samples", "1"),
    ("loss-vs-monte-carlo", "samples", "1000000000000"),
    ("kernel-closed-forms-kinked", "rho", "[0.5, 1.5]"),
    ("kernel-closed-forms-kinked", "q1", "[-1.0]"),
    ("kernel-closed-forms-kinked", "arb_bits", "8"),
    ("kernel-closed-forms-kinked", "activations", '["relu(", "abs"]'),
    ("relu-hermite-series", "degrees", "[2, -4]"),
    ("relu-hermite-series", "activation", '"nope"'),
    ("relu-hermite-series", "dps", "5"),
    ("symbolic-relu", "checks", '["no_such_check"]'),
    ("etf-grid", "restarts", "1000000000"),
    ("etf-grid", "restarts", "0"),
    ("etf-grid", "ratios", "[0.5, -1.0]"),
    ("etf-grid", "ratios", "[0.5, 0.0]"),
    ("etf-grid", "seed", "-1"),
    ("etf-grid", "M_min", "1"),
    ("etf-grid", "certify_M_max", "3"),
    ("mu0-simplex-certified", "s", "-1.0"),
    ("mu0-simplex-certified", "signfree_degree", "-1"),
    ("beyond-simplex-table", "restarts", "1000000000"),
    ("beyond-simplex-table", "dps", "10"),
    ("beyond-simplex-table", "lp_degree", "0"),
    ("beyond-simplex-table", "d", "[1, 2]"),
    ("etf-beyond-relu", "rho_min", "0.0"),
    ("etf-beyond-relu", "Ms", "[1, 3]"),
    ("etf-beyond-relu", "dps", "3"),
    ("optimization-gap", "targets", "1"),
    ("optimization-gap", "mu_norm", "0.0"),
    ("optimization-gap", "M", "1"),
    ("optimization-gap", "random_starts", "-1"),
    ("finite-n-rate", "Ns", "[2, 100]"),
    ("finite-n-rate", "targets", "1"),
    ("finite-n-rate", "sparsity", "0.0"),
    ("meanfield-rate-d", "dps", "0"),
    ("meanfield-rate-d", "mp_points", "0"),
    ("tau2-rate-d", "ds", "[16, 0, 64]"),
]


@pytest.mark.parametrize("claim, key, value", RANGE_CASES)
def test_out_of_range_parameter_is_refused_at_load(tmp_path, claim, key, value):
    p = _claim(tmp_path, claim, _set(key, value))
    msg = _refused(p)
    assert key in msg


@pytest.mark.parametrize("claim, table, key, value", [
    ("finite-n-rate", "[parameters.config]", "M", "0"),
    ("finite-n-rate", "[parameters.config]", "s", "0.0"),
    ("finite-n-rate", "[parameters.config]", "seed", "-7"),
    ("finite-n-rate", "[parameters.config]", "activation", '"bogus"'),
    ("finite-n-rate", "[parameters.config]", "k", "100000"),  # k > smallest d (cross-check)
])
def test_out_of_range_nested_parameter_is_refused_at_load(tmp_path, claim, table, key, value):
    _refused(_claim(tmp_path, claim, _set(key, value, table)))


def test_every_kind_declares_ranges_for_its_numbers():
    """Every int / float / num parameter (and list of them, and nested table field) has a range or
    a check: nothing numeric is accepted unbounded."""
    def walk(name, p: Param):
        base = p.type[5:-1] if p.type.startswith("list[") else p.type
        if base == "table" or base == "list[int]":
            if p.fields:
                for k, q in p.fields.items():
                    yield from walk(f"{name}.{k}", q)
            if base == "list[int]":
                yield name, p
            return
        if base in ("int", "float", "num"):
            yield name, p
    missing = []
    for kname, kind in KINDS.items():
        for pname, p in {**kind.params, **{f"prediction.{k}": v for k, v in (kind.prediction or {}).items()}}.items():
            for name, q in walk(pname, p):
                if q.lo is None and q.hi is None and q.check is None:
                    missing.append(f"{kname}.{name}")
    assert not missing, missing


def test_range_check_is_one_routine():
    p = Param("float", 1.0, lo=0, lo_open=True, hi=10)
    assert check_value("x", 10, p) == 10.0
    for bad in (0, 0.0, 10.5, -1):
        with pytest.raises(InputError, match="outside its range"):
            check_value("x", bad, p)
    assert check_value("x", [1, 2], Param("list[int]", lo=1)) == [1, 2]
    with pytest.raises(InputError, match=r"x\[1\]"):
        check_value("x", [1, 0], Param("list[int]", lo=1))


def test_cross_parameter_rule_and_cli_exit_2_keep_reports(capsys, tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "mu0-simplex-certified.json").write_text("{}")
    before = sorted((p.name, p.read_bytes()) for p in out.iterdir())
    p = _claim(tmp_path, "mu0-simplex-certified", lambda s: _set("M_max", "3")(_set("M_min", "5")(s)))
    err = _cli_refused(capsys, p, out)
    assert "M_min" in err
    assert sorted((q.name, q.read_bytes()) for q in out.iterdir()) == before


def test_out_of_range_fails_at_load_not_as_error_report(capsys, tmp_path):
    """Class 8: a right-typed but out-of-range value used to load and end in status error,
    overwriting the previous report; now the run stops before any claim runs."""
    out = tmp_path / "reports"
    p = _claim(tmp_path, "beyond-simplex-table", _set("restarts", "0"))
    err = _cli_refused(capsys, p, out)
    assert "restarts" in err and not out.exists()


# ---- 2. an empty grid is bad input, never a verdict ------------------------------------------

@pytest.mark.parametrize("claim, edits, match", [
    ("mu0-simplex-certified", [("M_min", "4"), ("d_max", "2")], "M_max"),
    ("mu0-simplex-certified", [("M_min", "9"), ("M_max", "4")], "empty"),
    ("etf-grid", [("M_min", "5"), ("M_max", "4")], "empty"),
    ("beyond-simplex-table", [("d", "[3]"), ("M_max", "4")], "no \\(d, M\\) pair"),
    ("meanfield-rate-d", [("fit_dmin", "100000")], "fit_dmin"),
    ("tau2-rate-d", [("ds", "[16, 64]")], "fit_dmin"),
    ("symbolic-price-theorem", [("activations", "[]")], "activations"),
])
def test_empty_grid_is_refused_at_load(tmp_path, claim, edits, match):
    def edit(s):
        for k, v in edits:
            s = _set(k, v)(s)
        return s
    _refused(_claim(tmp_path, claim, edit), match)


def test_empty_mu0_grid_cli(capsys, tmp_path):
    p = _claim(tmp_path, "mu0-simplex-certified", lambda s: _set("d_max", "2")(_set("M_min", "4")(s)))
    err = _cli_refused(capsys, p, tmp_path / "reports")
    assert "refuted" not in err


# ---- 3. a precision too low to mean anything -------------------------------------------------

@pytest.mark.parametrize("dps", ["0", "5", "-3"])
def test_loss_vs_mpmath_low_dps_is_refused(capsys, tmp_path, dps):
    p = _claim(tmp_path, "loss-vs-mpmath", _set("dps", dps))
    assert "dps" in _refused(p)
    if dps == "0":
        _cli_refused(capsys, p, tmp_path / "reports")


# ---- 4. decimal strings go through parse_decimal ---------------------------------------------

@pytest.mark.parametrize("value", ['"1e-100000000"', '"1e999999999"', '"0.' + "1" * 500 + '"', '"1_0"', '"0x10"',
                                   '"inf"', '"nan"', '"١"', '""'])
def test_decimal_strings_are_bounded_and_fast(tmp_path, value):
    p = _claim(tmp_path, "kernel-closed-forms-kinked", _set("rho", f"[0.5, {value}]"))
    t0 = time.perf_counter()
    _refused(p, "rho")
    assert time.perf_counter() - t0 < 1.0


def test_decimal_string_hang_via_cli(capsys, tmp_path):
    p = _claim(tmp_path, "kernel-closed-forms-kinked", _set("q1", '["1e-100000000"]'))
    _cli_refused(capsys, p, tmp_path / "reports")


def test_good_decimal_strings_keep_their_exact_value(tmp_path):
    c = load_claim(CONJ / "kernel-closed-forms-kinked.toml")
    assert "0.999999999999" in c.parameters["rho"]  # strings stay strings (read exactly by the kind)


# ---- 5. only regular files ---------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_opening(capsys, tmp_path):
    fifo = tmp_path / "claim.toml"
    os.mkfifo(fifo)
    assert "regular file" in _refused(fifo)
    # in a claims folder, and through a symlink
    folder = tmp_path / "claims"
    folder.mkdir()
    shutil.copy(CONJ / "loss-vs-mpmath.toml", folder / "a.toml")
    os.mkfifo(folder / "b.toml")
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="regular file"):
        load_all([str(folder)])
    assert time.perf_counter() - t0 < FAST
    link = tmp_path / "link.toml"
    link.symlink_to(fifo)
    _refused(link, "regular file")
    _cli_refused(capsys, fifo, tmp_path / "reports")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_device_is_refused(capsys, tmp_path):
    _refused("/dev/zero", "regular file")
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    _refused(link, "regular file")
    _cli_refused(capsys, Path("/dev/zero"), tmp_path / "reports")


def test_large_file_is_refused(tmp_path):
    p = tmp_path / "big.toml"
    p.write_text((CONJ / "loss-vs-mpmath.toml").read_text() + "\n" + "# padding\n" * 120_000)
    _refused(p, "larger than")


def test_folder_as_claim_file_and_dangling_link(tmp_path):
    link = tmp_path / "gone.toml"
    link.symlink_to(tmp_path / "absent.toml")
    _refused(link, "cannot read")


# ---- 6. deeply nested TOML ---------------------------------------------------------------------

def test_deeply_nested_toml(capsys, tmp_path):
    p = tmp_path / "deep.toml"
    p.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    _refused(p, "nested too deeply")
    # also in a subprocess with the default recursion limit (no test harness frames)
    code = f"from verify.cli import main; raise SystemExit(main(['run', {str(p)!r}, '--out', {str(tmp_path / 'r')!r}]))"
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert time.perf_counter() - t0 < 10
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "nested too deeply" in r.stderr


# ---- 7. claim ids ------------------------------------------------------------------------------

@pytest.mark.parametrize("cid", ['"loss-vs-mpmath\\n"', '"index"', '".hidden"', '"-x"', '"Up"', '"a"', '"x/../y"',
                                 '"' + "a" * 81 + '"'])
def test_bad_or_reserved_ids(tmp_path, cid):
    p = _claim(tmp_path, "loss-vs-mpmath", lambda s: s.replace('id = "loss-vs-mpmath"', f"id = {cid}"))
    _refused(p, "id")


# ---- the verdicts are pure and can fail -------------------------------------------------------

def test_verdict_functions_can_fail():
    from verify.claims.kinds import (
        beyond_simplex_table,
        etf_beyond_relu,
        etf_grid,
        finite_n_rate,
        hermite_series,
        kernel_vs_quadrature,
        loss_vs_monte_carlo,
        loss_vs_mpmath,
        meanfield_rate_d,
        mu0_simplex_certified,
        symbolic_identity,
        tau2_rate_d,
    )

    assert loss_vs_mpmath.decide([1e-16, 2e-16], {"rel": 1e-12}) == "verified"
    assert loss_vs_mpmath.decide([1e-16, 1e-9], {"rel": 1e-12}) == "refuted"
    # A NaN error is a failed measurement, not a verdict either way: the runner records status error.
    with pytest.raises(ValueError, match="NaN"):
        loss_vs_mpmath.decide([1e-16, math.nan], {"rel": 1e-12})
    assert loss_vs_monte_carlo.decide([0.5, 1.2], [], {"z_max": 4.0})[0] == "verified"
    assert loss_vs_monte_carlo.decide([0.5, 5.0], [4.5], {"z_max": 4.0})[0] == "refuted"
    assert loss_vs_monte_carlo.decide([0.5, 5.0], [1.0], {"z_max": 4.0})[0] == "inconclusive"
    tol = {"rel": 1e-30, "float64_rel": 1e-14, "enclosure_width": 1e-30}
    assert kernel_vs_quadrature.decide([(1e-40, 1e-16, True, 1e-38)], [], tol)[0] == "verified"
    assert kernel_vs_quadrature.decide([(1e-40, 1e-16, False, 1e-38)], [(1e-40, 1e-16)], tol)[0] == "inconclusive"
    assert kernel_vs_quadrature.decide([(1e-20, 1e-16, True, 1e-38)], [(1e-20, 1e-16)], tol)[0] == "refuted"
    assert hermite_series.decide([-1e-10], [1e-40], {"coefficient": 1e-30}) == "verified"
    assert hermite_series.decide([1e-10], [1e-40], {"coefficient": 1e-30}) == "refuted"
    assert hermite_series.decide([-1e-10], [1e-20], {"coefficient": 1e-30}) == "refuted"
    assert symbolic_identity.decide([True, False]) == "refuted"
    assert mu0_simplex_certified.decide(True, 1e-38, {"gap": 1e-30}) == "verified"
    # a bound that does not close (or a pair not certified) is no counterexample: inconclusive
    assert mu0_simplex_certified.decide(True, 1e-20, {"gap": 1e-30}) == "inconclusive"
    assert mu0_simplex_certified.decide(False, 0.0, {"gap": 1e-30}) == "inconclusive"
    mtol = {"slope": 0.05, "c1_rel_spread": 0.01, "mp_rel": 1e-8}
    assert meanfield_rate_d.decide([(-1.01, 0.3, 1e-4, 1e-12)], mtol) == "verified"
    assert meanfield_rate_d.decide([(-0.5, 0.3, 1e-4, 1e-12)], mtol) == "refuted"
    assert meanfield_rate_d.decide([(-1.01, 0.3, 1e-4, 1e-3)], mtol) == "inconclusive"
    ttol = {"slope": 0.05, "refine_rel": 1e-6}
    assert tau2_rate_d.decide([(-1.01, -1.0, 1e-9, 1.0, 0.01)], ttol) == "verified"
    assert tau2_rate_d.decide([(-0.7, -1.0, 1e-9, 1.0, 0.01)], ttol) == "refuted"
    assert tau2_rate_d.decide([(-1.01, -1.0, 1e-9, 0.05, 0.01)], ttol) == "refuted"
    assert finite_n_rate.decide(True, True, True) == "verified"
    assert finite_n_rate.decide(False, True, True) == "inconclusive"
    assert finite_n_rate.decide(False, True, True, [(16, 100, "bias", (1.5, 0.1, 1.2, 1.8), True)]) == "refuted"
    assert etf_grid.decide([{"verdict": "etf-not-optimal"}]) == "refuted"
    assert beyond_simplex_table.decide(["ok", "violated"]) == "refuted"
    assert beyond_simplex_table.decide(["ok", "unsettled"]) == "inconclusive"
    assert beyond_simplex_table.decide(["ok", "ok"]) == "verified"
    assert etf_beyond_relu.decide([("relu", "etf-best-found"), ("gelu", "etf-beaten")], True) == "refuted"
    assert etf_beyond_relu.decide([("relu", "etf-best-found"), ("gelu", "etf-beaten")], False) == "error"
    assert etf_beyond_relu.decide([("relu", "etf-best-found"), ("gelu", "etf-best-known")], True) == "inconclusive"


def test_one_module_per_kind():
    import verify.claims.kinds as pkg

    folder = Path(pkg.__file__).parent
    for name in KINDS:
        mod = folder / (name.replace("-", "_") + ".py")
        assert mod.exists(), mod
        assert f'name="{name}"' in mod.read_text()
