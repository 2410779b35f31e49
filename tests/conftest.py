"""Shared test helpers: the one closeness check of the suite and the hypothesis profiles.

`assert_close(actual, expected, rtol, atol)` passes when |actual - expected| <= atol + rtol |expected|
(STYLE.md, "Tests in tiers"). The difference and the bound are evaluated exactly enough that the
check itself never rounds in the test's favour: floats, ints, numpy scalars and arrays and mpmath
mpf values are all turned into mpf at a working precision that holds them exactly.

Hypothesis profiles: "ci" (default, 60 examples), "dev" (10 examples, for quick local runs) and
"thorough" (1000 examples); choose with HYPOTHESIS_PROFILE=<name>. Deadlines are off everywhere:
the mpmath references take a variable, machine-dependent time, and timings are never asserted.
"""

from __future__ import annotations

import os
from fractions import Fraction

import mpmath
import numpy as np
from hypothesis import settings



def pytest_configure(config):
    # Reason: when hypothesis reports a falsifying example it touches mypy_extensions.TypedDict, whose
    # deprecation warning (third-party, not ours) would otherwise turn every genuine test failure
    # into a pytest INTERNALERROR that hides the failure message.
    config.addinivalue_line("filterwarnings", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")


# The suite runs every command sequentially unless a test asks for workers: without --workers the
# commands size a local dask cluster to the cores, which under pytest-xdist would oversubscribe them.
os.environ.setdefault("VERIFY_WORKERS", "1")

settings.register_profile("ci", max_examples=60, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=10, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _to_mpf(x) -> mpmath.mpf:
    """x as an mpf without rounding (floats and ints are exact binary numbers; mpf is kept as is)."""
    if isinstance(x, mpmath.mpf):
        return x
    if isinstance(x, (int, np.integer)):
        with mpmath.workprec(max(53, int(x).bit_length() + 2)):
            return mpmath.mpf(int(x))
    if isinstance(x, Fraction):
        raise TypeError("assert_close takes floats, ints and mpf; convert Fractions explicitly")
    f = float(x)
    return mpmath.mpf(f)  # a float is exact at any precision >= 53 bits


def _bits(x: mpmath.mpf) -> int:
    """Bits needed to hold x exactly (mantissa length), 53 for zero and the non-finite values."""
    try:
        return max(53, int(x._mpf_[3]))
    except (AttributeError, IndexError, TypeError):  # pragma: no cover - defensive
        return 53


def _check_one(a, b, rtol, atol):
    """(ok, |a - b|, allowed) for one pair of scalars, computed without rounding against the test."""
    a, b = _to_mpf(a), _to_mpf(b)
    if not (mpmath.isfinite(a) and mpmath.isfinite(b)):
        ok = bool(a == b)  # identical infinities are equal; NaN never is
        return ok, mpmath.inf if not ok else mpmath.mpf(0), mpmath.mpf(0)
    rtol_m, atol_m = _to_mpf(rtol), _to_mpf(atol)
    # Exact difference (fsub with exact=True), bound rounded upwards: the check never passes by rounding.
    diff = abs(mpmath.fsub(a, b, exact=True))
    prec = max(_bits(a), _bits(b), _bits(rtol_m), _bits(atol_m)) * 2 + 20
    with mpmath.workprec(prec):
        allowed = mpmath.fadd(atol_m, mpmath.fmul(rtol_m, abs(b), rounding="u"), rounding="u")
    return bool(diff <= allowed), diff, allowed


def _fmt(x, digits: int = 20) -> str:
    return mpmath.nstr(_to_mpf(x), digits)


def assert_close(actual, expected, rtol: float = 0.0, atol: float = 0.0, *, what: str = "") -> None:
    """Assert |actual - expected| <= atol + rtol |expected| (elementwise for arrays).

    actual, expected: floats, ints, mpf, or numpy arrays (broadcast against each other).
    The failure message gives both values, the difference, the allowed bound and their ratio; for
    arrays it reports the worst element and how many failed.
    """
    if rtol < 0 or atol < 0:
        raise ValueError("rtol and atol must be >= 0")
    a_arr = np.asarray(actual, dtype=object)
    b_arr = np.asarray(expected, dtype=object)
    a_arr, b_arr = np.broadcast_arrays(a_arr, b_arr)
    worst = None
    failures = 0
    for idx in np.ndindex(a_arr.shape):
        ok, diff, allowed = _check_one(a_arr[idx], b_arr[idx], rtol, atol)
        if not ok:
            failures += 1
            ratio = diff / allowed if allowed > 0 else mpmath.inf
            if worst is None or ratio > worst[0]:
                worst = (ratio, idx, a_arr[idx], b_arr[idx], diff, allowed)
    if worst is None:
        return
    ratio, idx, a, b, diff, allowed = worst
    # Enough digits that the two printed values visibly differ (at most 80).
    rel = diff / abs(_to_mpf(b)) if _to_mpf(b) != 0 and mpmath.isfinite(diff) else mpmath.mpf(1)
    digits = int(min(80, max(20, 5 - mpmath.log10(rel)))) if rel > 0 else 20
    where = f" at index {idx} ({failures} of {a_arr.size} elements fail)" if a_arr.shape else ""
    prefix = f"{what}: " if what else ""
    raise AssertionError(
        f"{prefix}not close{where}:\n"
        f"  actual   = {_fmt(a, digits)}\n"
        f"  expected = {_fmt(b, digits)}\n"
        f"  |diff|   = {mpmath.nstr(diff, 6)}\n"
        f"  allowed  = {mpmath.nstr(allowed, 6)} (atol={atol!r} + rtol={rtol!r} * |expected|)\n"
        f"  ratio    = {mpmath.nstr(ratio, 4)}"
    )
