"""Hostile command-line inputs: every one is ONE line on stderr and exit code 2, within seconds,
before any long work starts; good input keeps its numbers and its JSON valid."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest

from verify.cli import main
from verify.errors import InputError
from verify.numbers.decimal import decimal_string, parse_decimal, parse_int
from verify.numbers.precision import ball_bounds

ROOT = Path(__file__).resolve().parent.parent
KQ = ["--q1", "1", "--q2", "1", "--c", "0.5"]


def run_sub(*argv, timeout=60):
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "verify.cli", *argv], capture_output=True, text=True, cwd=ROOT,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.perf_counter() - t0


def assert_refused(rc, out, err, elapsed):
    assert rc == 2, (rc, err)
    assert err.count("\n") == 1 and err.startswith("verify: error:"), err
    assert "Traceback" not in err and "Warning" not in err
    assert out == ""
    assert elapsed < 10, elapsed


# ---- numbers on the command line -------------------------------------------------------------

KERNEL_CASES = [
    ["kernel", "relu", "--q1", "1e100000000", "--q2", "1", "--c", "0"],
    ["kernel", "relu", "--q1", "1", "--q2", "1", "--c", "1e-100000000"],
    ["kernel", "relu", "--q1", "1" * 5000, "--q2", "1", "--c", "0"],
    ["kernel", "relu", "--q1", "1" + "0" * 100000 + "e-100000", "--q2", "1", "--c", "0", "--dps", "1001"],
    ["kernel", "relu", "--q1", "1e99999999999999999999", "--q2", "1", "--c", "0"],
    ["kernel", "relu", "--q1", "1_0", "--q2", "1", "--c", "0"],
    ["kernel", "relu", "--q1", "\u0661", "--q2", "1", "--c", "0"],
    ["kernel", "relu", "--q1", "0x10", "--q2", "1", "--c", "0"],
    ["kernel", "relu", *KQ, "--dps", "4299"],
    ["kernel", "relu", *KQ, "--dps", "1001"],
    ["kernel", "relu", *KQ, "--dps", "0"],
    ["kernel", "relu", *KQ, "--dps", "-5"],
    ["kernel", "relu", *KQ, "--dps", "1_0"],
    ["kernel", "relu", *KQ, "--dps", "\u0663\u0660"],
    ["kernel", "relu", *KQ, "--dps", "9" * 5000],
    ["kernel", "tanh", *KQ, "--dps", "300"],
    ["kernel", "tanh", *KQ, "--dps", "100"],
    ["kernel", "sigmoid", "--q1", "1e300", "--q2", "1", "--c", "0", "--dps", "20"],
    ["kernel", "silu", "--q1", "1e400", "--q2", "1e400", "--c", "0", "--dps", "20"],
    ["kernel", "tanh", "--q1", "1000", "--q2", "1", "--c", "0", "--dps", "20"],
    ["kernel", "leaky_relu", "--param", "alpha=1e100000000", *KQ],
    ["kernel", "leaky_relu", "--param", "alpha=0_1", *KQ],
    ["kernel", "leaky_relu", "--param", "alpha=nan", *KQ],
    ["kernel", "hermite", "--param", "n=1e400", *KQ],
    ["kernel", "hermite", "--param", "n=\u0662", *KQ],
    ["kernel", "leaky_relu(alpha=1e-100000000)", *KQ],
]


@pytest.mark.parametrize("argv", KERNEL_CASES, ids=lambda a: " ".join(a)[:60])
def test_kernel_hostile_numbers(argv):
    assert_refused(*run_sub(*argv))


COMPRESS = ["compress", "--mu-norm", "1", "--s", "1"]
COMPRESS_CASES = [
    COMPRESS + ["--M", "30", "--d", "31"],
    COMPRESS + ["--M", "100000", "--d", "100000"],
    COMPRESS + ["--M", "4", "--d", "100000"],
    COMPRESS + ["--M", "3", "--d", "3", "--seed", "-1"],
    COMPRESS + ["--M", "3", "--d", "3", "--seed", str(2**64)],
    COMPRESS + ["--M", "3", "--d", "3", "--restarts", "1_000"],
    ["compress", "--M", "3", "--d", "3", "--mu-norm", "1", "--s", "1e-300"],
    ["compress", "--M", "3", "--d", "3", "--mu-norm", "1", "--s", "1", "--abar", "1e308"],
    ["compress", "--M", "3", "--d", "3", "--mu-norm", "1e308", "--s", "1"],
    ["compress", "--M", "3", "--d", "3", "--mu-norm", "inf", "--s", "1"],
    ["compress", "--M", "3", "--d", "3", "--mu-norm", "1", "--s", "1e100000000"],
]


@pytest.mark.parametrize("argv", COMPRESS_CASES, ids=lambda a: " ".join(a[1:])[:60])
def test_compress_hostile_sizes_and_values(argv):
    rc, out, err, el = run_sub(*argv)
    assert_refused(rc, out, err, el)


def test_compress_size_guard_message():
    rc, out, err, el = run_sub(*COMPRESS, "--M", "30", "--d", "31")
    assert_refused(rc, out, err, el)
    assert "M = 30, d = 31, 1000 restarts would need about" in err and "GiB" in err and "limit" in err


def test_compress_range_message_names_range():
    rc, out, err, el = run_sub("compress", "--M", "3", "--d", "3", "--mu-norm", "1", "--s", "1e-300")
    assert_refused(rc, out, err, el)
    assert "[0.0001, 10000]" in err


@pytest.fixture(scope="module")
def comp_npz(tmp_path_factory):
    p = tmp_path_factory.mktemp("mf") / "c.npz"
    rng = np.random.default_rng(1)
    np.savez(p, b=rng.standard_normal(2), V=rng.standard_normal((2, 3)))
    return str(p)


@pytest.mark.parametrize("opts", [
    ["--mu-norm", "1e308"], ["--mu-norm", "1e400"], ["--s", "1e308"], ["--abar", "1e308"], ["--var-a", "1e308"],
    ["--mu-norm", "-1"], ["--s", "0"], ["--mu-norm", "1_0"], ["--d", "\u0663"], ["--mu-norm", "1e-100000000"],
])
def test_meanfield_overflowing_values(comp_npz, opts):
    base = {"--d": "3", "--mu-norm": "1", "--s": "1"}
    base.update(dict(zip(opts[::2], opts[1::2])))
    argv = ["meanfield", "--compressed", comp_npz] + [x for kv in base.items() for x in kv]
    assert_refused(*run_sub(*argv))


# ---- npz files given to verify loss ------------------------------------------------------------


def _save_npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def _fake_header_npz(path, key, header: bytes):
    """An npz whose `key`.npy has the given raw header and no data."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{key}.npy", header)
    return str(path)


def _npy_header(shape, descr="<f8"):
    d = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    d += b" " * ((64 - (10 + len(d) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(d).to_bytes(2, "little") + d


def _bad_npz_files(tmp: Path, good_b, good_V):
    files = {}
    good = tmp / "good.npz"
    np.savez(good, b=good_b, V=good_V)
    raw = good.read_bytes()
    (tmp / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    files["truncated"] = str(tmp / "trunc.npz")
    corrupt = bytearray(raw)
    for i in range(60, len(corrupt) - 100, 7):
        corrupt[i] ^= 0x55
    (tmp / "corrupt.npz").write_bytes(bytes(corrupt))
    files["corrupt"] = str(tmp / "corrupt.npz")
    np.save(tmp / "plain.npy", good_V)
    files["plain npy"] = str(tmp / "plain.npy")
    files["empty"] = str(tmp / "empty.npz")
    (tmp / "empty.npz").write_bytes(b"")
    files["directory"] = str(tmp)
    st = np.zeros(2, dtype=[("x", "f8"), ("y", "i4")])
    files["structured"] = _save_npz(tmp / "st.npz", b=st, V=good_V)
    files["string"] = _save_npz(tmp / "s.npz", b=np.array(["1", "2"]), V=good_V)
    files["bytes"] = _save_npz(tmp / "by.npz", b=np.array([b"1", b"2"]), V=good_V)
    files["bool"] = _save_npz(tmp / "bo.npz", b=np.array([True, False]), V=good_V)
    files["datetime"] = _save_npz(tmp / "dt.npz", b=np.array(["2020-01-01", "2021-01-01"], dtype="M8[D]"), V=good_V)
    files["timedelta"] = _save_npz(tmp / "td.npz", b=np.array([1, 2], dtype="m8[s]"), V=good_V)
    files["complex"] = _save_npz(tmp / "c.npz", b=np.array([1 + 1j, 2]), V=good_V)
    files["object (pickled)"] = _save_npz(tmp / "o.npz", b=np.array([1.0, None], dtype=object), V=good_V)
    files["subarray dtype"] = _save_npz(tmp / "sa.npz", b=np.zeros(2, dtype="(2,)f8"), V=good_V)
    files["1e12 entries"] = _fake_header_npz(tmp / "huge.npz", "b", _npy_header("(1000000000000,)"))
    files["1e12 entries V"] = _fake_header_npz(tmp / "huge2.npz", "V", _npy_header("(1000000, 1000000)"))
    with zipfile.ZipFile(tmp / "hugeV.npz", "w") as zf:
        zf.writestr("b.npy", _npy_header("(2,)") + np.zeros(2).tobytes())
        zf.writestr("V.npy", _npy_header("(1000000, 1000000)"))
    files["header claims 1e12 entries"] = str(tmp / "hugeV.npz")
    with zipfile.ZipFile(tmp / "short.npz", "w") as zf:
        zf.writestr("b.npy", _npy_header("(2,)") + np.zeros(1).tobytes())
        zf.writestr("V.npy", _npy_header("(2, 3)") + np.zeros(6).tobytes())
    files["data shorter than header"] = str(tmp / "short.npz")
    with zipfile.ZipFile(tmp / "badhdr.npz", "w") as zf:
        zf.writestr("b.npy", b"\x93NUMPY\x01\x00\x10\x00{'descr': __imp")
        zf.writestr("V.npy", _npy_header("(2, 3)") + np.zeros(6).tobytes())
    files["malformed header"] = str(tmp / "badhdr.npz")
    files["float128 beyond float64"] = _save_npz(tmp / "ld.npz", b=np.array([1, 1e400], dtype=np.longdouble)
                                                 if np.finfo(np.longdouble).max > 1e400 else np.array([1, np.inf]), V=good_V)
    files["nan"] = _save_npz(tmp / "nan.npz", b=np.array([1.0, np.nan]), V=good_V)
    return files


@pytest.fixture(scope="module")
def npz_cases(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("npz")
    rng = np.random.default_rng(0)
    target = _save_npz(tmp / "t.npz", a=np.ones(5), W=rng.standard_normal((5, 3)))
    return target, _bad_npz_files(tmp, rng.standard_normal(2), rng.standard_normal((2, 3)))


BAD_NPZ = ["truncated", "corrupt", "plain npy", "empty", "directory", "structured", "string", "bytes", "bool",
           "datetime", "timedelta", "complex", "object (pickled)", "subarray dtype", "1e12 entries",
           "1e12 entries V", "header claims 1e12 entries", "data shorter than header", "malformed header",
           "float128 beyond float64", "nan"]


@pytest.mark.parametrize("case", BAD_NPZ)
def test_loss_refuses_bad_npz(npz_cases, case):
    target, files = npz_cases
    assert_refused(*run_sub("loss", "--target", target, "--compressed", files[case]))


def test_loss_refuses_bad_target_npz(npz_cases):
    target, files = npz_cases
    assert_refused(*run_sub("loss", "--target", files["plain npy"], "--compressed", target))


def _loss_json(capsys, t, c, act="relu"):
    rc = main(["loss", "--target", t, "--compressed", c, "--activation", act])
    out, err = capsys.readouterr()
    assert rc == 0 and err == "", err
    return json.loads(out, parse_constant=lambda v: pytest.fail(f"invalid JSON constant {v}"))


def _mp_reference(t, c, act, dps=30):
    """The loss by the mpmath twin (every inner product and kernel at 45 digits): no float range."""
    from verify.model.finite import loss_mp
    from verify.model.networks import TwoLayerNetwork

    a, W, b, V = np.load(t)["a"], np.load(t)["W"], np.load(c)["b"], np.load(c)["V"]
    return loss_mp(TwoLayerNetwork(a, W, act, scale=1.0 / len(a)), TwoLayerNetwork(b, V, act), dps=dps)


# (output-weight scale, input-weight scale): beyond float64 in both directions, by powers of ten
# (not exact rescalings) and of two. relu is positively homogeneous: every case has a value.
BEYOND_RANGE = [(1e200, 1.0), (1e300, 1.0), (1.0, 1e160), (1.0, 2.0**600), (1e-200, 1.0), (1.0, 1e-160),
                (1.0, 2.0**-700), (1e153, 1e150), (2.0**510, 1.0)]


@pytest.mark.parametrize("out_scale, in_scale", BEYOND_RANGE)
@pytest.mark.parametrize("act", ["relu", "leaky_relu(alpha=0.2)", "sign"])
def test_loss_beyond_the_float64_range_is_right(tmp_path, capsys, act, out_scale, in_scale):
    """A loss outside the float64 range is computed by exact power-of-two rescaling (issue 14: it was
    NaN or a refusal) and printed as a decimal string; it matches the mpmath twin to float64
    accuracy (the rescaled float64 sum of (N + M)^2 kernel values: 1e-12 as in test_loss.py)."""
    rng = np.random.default_rng(3)
    t = _save_npz(tmp_path / "t.npz", a=rng.standard_normal(4) * out_scale, W=rng.standard_normal((4, 3)) * in_scale)
    c = _save_npz(tmp_path / "c.npz", b=rng.standard_normal(2) * out_scale, V=rng.standard_normal((2, 3)) * in_scale)
    d = _loss_json(capsys, t, c, act)
    got = mpmath.mpf(d["loss"])  # a JSON number, or a decimal string beyond float64
    ref = _mp_reference(t, c, act)
    assert isinstance(d["loss"], str) == (not 2.2250738585072014e-308 <= ref <= 1.7976931348623157e308)
    assert abs(got - ref) <= 1e-12 * abs(ref), (d["loss"], mpmath.nstr(ref, 17))


@pytest.mark.parametrize("act, in_scale", [("erf", 1e100), ("erf", 1e140), ("gelu", 1e100), ("erf", 1e-100),
                                           ("hermite(n=3)", 1e50)])
def test_loss_of_non_homogeneous_activation_at_extreme_norms(tmp_path, capsys, act, in_scale):
    """erf and gelu are evaluated in scaled form inside the kernel, so ||w||^2 up to ~1e300 works."""
    rng = np.random.default_rng(4)
    t = _save_npz(tmp_path / "t.npz", a=rng.standard_normal(4), W=rng.standard_normal((4, 3)) * in_scale)
    c = _save_npz(tmp_path / "c.npz", b=rng.standard_normal(2), V=rng.standard_normal((2, 3)) * in_scale)
    d = _loss_json(capsys, t, c, act)
    ref = _mp_reference(t, c, act)
    assert abs(mpmath.mpf(d["loss"]) - ref) <= 1e-12 * abs(ref), (d["loss"], mpmath.nstr(ref, 17))


@pytest.mark.parametrize("act, out_scale, in_scale, reason", [
    ("erf", 1.0, 1e160, "squared norms of the input weights overflow"),
    ("gelu", 1.0, 1e-200, "inner products of the input weights underflow"),
    ("hermite(n=3)", 1.0, 1e100, "loss overflows float64"),
    ("tanh", 1.0, 1e160, "overflow"),
    ("tanh", 1.0, 1e5, "no closed form"),  # the quadrature would take years: refused up front
    ("sigmoid", 1.0, 1e50, "no closed form"),
])
def test_loss_outside_what_float64_can_say_is_refused_in_one_line(tmp_path, act, out_scale, in_scale, reason):
    rng = np.random.default_rng(5)
    t = _save_npz(tmp_path / "t.npz", a=rng.standard_normal(4) * out_scale, W=rng.standard_normal((4, 3)) * in_scale)
    c = _save_npz(tmp_path / "c.npz", b=rng.standard_normal(2) * out_scale, V=rng.standard_normal((2, 3)) * in_scale)
    rc, out, err, elapsed = run_sub("loss", "--target", t, "--compressed", c, "--activation", act)
    assert_refused(rc, out, err, elapsed)
    assert reason in err and "NaN" not in out


def test_target_file_convention_both_ways(tmp_path, capsys):
    """The target file holds the raw a_i; the command applies the 1/N (README, --help, JSON say so).
    A file that already holds a_i / N therefore describes (1/N^2) sum a_i sigma: shown, not guessed."""
    from verify.model.finite import loss_mp
    from verify.model.networks import TwoLayerNetwork

    rng = np.random.default_rng(6)
    N, a, W = 8, 1.0 + rng.standard_normal(8), rng.standard_normal((8, 3))
    b, V = rng.standard_normal(2), rng.standard_normal((2, 3))
    c = _save_npz(tmp_path / "c.npz", b=b, V=V)
    raw = _loss_json(capsys, _save_npz(tmp_path / "raw.npz", a=a, W=W), c)
    assert "not divided by N" in raw["target_convention"]
    comp = TwoLayerNetwork(b, V, "relu")
    mean_field = loss_mp(TwoLayerNetwork(a, W, "relu", scale=1.0 / N), comp)  # f_N = (1/N) sum a_i sigma
    assert abs(mpmath.mpf(raw["loss"]) - mean_field) <= 1e-12 * mean_field
    pre = _loss_json(capsys, _save_npz(tmp_path / "pre.npz", a=a / N, W=W), c)
    double = loss_mp(TwoLayerNetwork(a / N, W, "relu", scale=1.0 / N), comp)  # what a pre-divided file means
    assert abs(mpmath.mpf(pre["loss"]) - double) <= 1e-12 * double
    assert abs(pre["loss"] - raw["loss"]) > 1e-3 * raw["loss"]  # the two conventions differ visibly here
    rc, out, err, _ = run_sub("loss", "--help")
    assert rc == 0 and "NOT divided by N" in " ".join(out.split())


# ---- exact leaky_relu alpha ------------------------------------------------------------------


def _leaky_exact(alpha, q1, q2, c, dps):
    """k = A^2 c + B^2 (2/pi)(sqrt(q1 q2 - c^2) + c asin(c / sqrt(q1 q2))), A = (1+alpha)/2, B = (1-alpha)/2."""
    with mpmath.workdps(dps + 20):
        alpha, q1, q2, c = (mpmath.mpf(Fraction(v).numerator) / Fraction(v).denominator for v in (alpha, q1, q2, c))
        A, B = (1 + alpha) / 2, (1 - alpha) / 2
        k_abs = 2 / mpmath.pi * (mpmath.sqrt(q1 * q2 - c * c) + c * mpmath.asin(c / mpmath.sqrt(q1 * q2)))
        return A * A * c + B * B * k_abs


def test_leaky_relu_alpha_is_the_exact_decimal(capsys):
    rc = main(["kernel", "leaky_relu", "--param", "alpha=0.1", "--q1", "1", "--q2", "2", "--c", "-0.7", "--dps", "40"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    d = json.loads(out)
    assert d["activation"] == "leaky_relu(alpha=0.1)"
    with mpmath.workdps(60):
        exact = _leaky_exact(Fraction(1, 10), 1, 2, Fraction(-7, 10), 40)
        binary = _leaky_exact(Fraction(0.1), 1, 2, Fraction(-7, 10), 40)
        assert abs(exact - binary) > mpmath.mpf(10) ** -25  # the two alphas differ from the 17th digit
        assert abs(mpmath.mpf(d["value"]) - exact) <= mpmath.mpf(10) ** -39 * abs(exact)
        lo, hi = (mpmath.mpf(x) for x in d["enclosure"])
        assert lo <= exact <= hi and hi - lo < mpmath.mpf(10) ** -39 * abs(exact)
        assert not lo <= binary <= hi


def test_leaky_relu_library_alpha_forms_agree():
    from verify.kernels import get_activation, kernel, kernel_arb, kernel_mp

    acts = [get_activation("leaky_relu", alpha="0.1"), get_activation("leaky_relu(alpha=0.1)"),
            get_activation("leaky_relu", alpha=0.1), get_activation("leaky_relu", alpha=Fraction(1, 10))]
    assert all(a == acts[0] and a.label == "leaky_relu(alpha=0.1)" for a in acts)
    assert acts[0].param_dict["alpha"] == Fraction(1, 10)
    assert acts[0].two_slope == (0.55, 0.45)
    vals = {kernel_mp(a, "1", "2", "-0.7", 40).value for a in acts}
    assert len(vals) == 1
    exact = _leaky_exact(Fraction(1, 10), 1, 2, Fraction(-7, 10), 40)
    ball = kernel_arb(acts[0], "1", "2", "-0.7", prec=200)
    lo, hi = ball_bounds(ball, 200)
    with mpmath.workdps(80):
        assert mpmath.mpf(lo.numerator) / lo.denominator <= exact <= mpmath.mpf(hi.numerator) / hi.denominator
    assert kernel(acts[0], 1.0, 2.0, -0.7) == pytest.approx(float(exact), rel=1e-15)
    # more digits than a float holds are kept
    fine = get_activation("leaky_relu", alpha="0.10000000000000000001")
    assert fine != acts[0] and fine.label == "leaky_relu(alpha=10000000000000000001e-20)"


# ---- the decimal reader itself -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["1" + "0" * 100000 + "e-100000", "0" * 100000 + "1", "0." + "0" * 299 + "1e300"])
def test_parse_decimal_long_zero_runs_are_cheap_and_exact(text):
    t0 = time.perf_counter()
    assert parse_decimal(text) == 1
    assert time.perf_counter() - t0 < 1


@pytest.mark.parametrize("text", ["1e1000000000", "1e-99999999999999", "1_0", "\u0661", "inf", "nan", "", "1e", "--1",
                                  "9" * 201, "1e401", "1e-401"])
def test_parse_decimal_refuses(text):
    with pytest.raises(InputError):
        parse_decimal(text)


@pytest.mark.parametrize("v", ["0.1", "-12.5e-3", "1e400", "1e-400", "123456789.987654321"])
def test_decimal_string_round_trips(v):
    assert parse_decimal(decimal_string(parse_decimal(v))) == parse_decimal(v)


def test_parse_int_ranges():
    assert parse_int(" 42 ", "x", 0, 100) == 42
    for bad in ("1_0", "\u0664", "-1", "1e3", "9" * 50, "101"):
        with pytest.raises(InputError, match="x"):
            parse_int(bad, "x", 0, 100)


# ---- nesting and memory ------------------------------------------------------------------------


@pytest.mark.parametrize("exc, text", [(RecursionError, "too deeply nested"), (MemoryError, "too large")])
def test_recursion_and_memory_errors_are_one_line_exit_2(monkeypatch, capsys, exc, text):
    import verify.cli as cli

    def boom(args):
        raise exc()

    monkeypatch.setattr(cli, "cmd_kernel", boom)
    rc = cli.main(["kernel", "relu", *KQ])
    _, err = capsys.readouterr()
    assert rc == 2 and err.count("\n") == 1 and text in err


def test_deeply_nested_toml_claim_is_exit_2(tmp_path):
    p = tmp_path / "deep.toml"
    p.write_text("x = " + "[" * 100000 + "]" * 100000 + "\n")
    rc, out, err, el = run_sub("run", str(p), "--out", str(tmp_path / "r"))
    assert rc == 2 and err.count("\n") == 1, err
    assert el < 10


# ---- good input is unchanged ---------------------------------------------------------------------


def test_good_kernel_input_still_works(capsys):
    rc = main(["kernel", "relu", "--q1", "1", "--q2", "1", "--c", "0.3", "--dps", "1000"])
    out, _ = capsys.readouterr()
    assert rc == 0 and len(json.loads(out)["value"].replace("0.", "", 1)) == 1000
    rc = main(["kernel", "tanh", "--q1", "1", "--q2", "2", "--c", "0.3", "--dps", "20"])
    out, _ = capsys.readouterr()
    assert rc == 0 and json.loads(out)["method"] == "quadrature"


@pytest.mark.parametrize("value", ["-1e4", "-.5", "-3", "-2.5E-3"])
def test_negative_values_with_exponent_are_values_not_options(capsys, value):
    """argparse took "--c -1e4" for an unknown option; both spellings now give the same answer."""
    assert main(["kernel", "gelu", "--q1", "1e4", "--q2", "1e4", "--c", value]) == 0
    spaced = json.loads(capsys.readouterr()[0])
    assert main(["kernel", "gelu", "--q1", "1e4", "--q2", "1e4", f"--c={value}"]) == 0
    assert json.loads(capsys.readouterr()[0]) == spaced and spaced["c"] == value


@pytest.mark.parametrize("q, c", [("1e12", "1e12"), ("1e12", "-1e12"), ("1e16", "-9999999999999999")])
def test_kernel_gelu_at_huge_q_prints_resolved_digits(capsys, q, c):
    """Issue 14: `verify kernel gelu` at q = 1e12 took minutes and then ran out of memory; the
    closed form answers at once, and its 30 printed digits lie inside an enclosure that resolves
    them (at rho = -1 the terms cancel by up to 1e24, so the ball precision is raised as needed)."""
    assert main(["kernel", "gelu", "--q1", q, "--q2", q, "--c", c, "--dps", "30"]) == 0
    d = json.loads(capsys.readouterr().out)
    lo, hi = (Fraction(parse_decimal(x)) for x in d["enclosure"])
    v = Fraction(parse_decimal(d["value"]))
    assert d["method"] == "closed-form"
    assert lo - abs(v) / 10**29 <= v <= hi + abs(v) / 10**29
    assert hi - lo <= abs(v) / 10**30
