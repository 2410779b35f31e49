"""Small pieces shared by the bound modules: input checks, the flint precision context, exact
conversions and the `Verification` record."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from verify.errors import InputError, finite_number, int_at_least  # noqa: F401 (re-exported)
from verify.numbers.precision import arb_q, exact, flint_prec  # noqa: F401 (re-exported)

PREC = 128  # arb working precision (bits) of every certificate
K1 = Fraction(1, 2)  # K(1) for ReLU, exact


def float_up(q: Fraction) -> float:
    """The smallest float >= q (a rigorous upper end, e.g. of a gap)."""
    f = float(q)
    return f if Fraction(f) >= q else math.nextafter(f, math.inf)


def finite(name: str, v, *, positive: bool = False) -> float:
    return finite_number(name, v, lo=0.0 if positive else None, strict=positive)


@dataclass(frozen=True)
class Verification:
    """How a certificate was checked.

    method: "convexity + interval re-check" (tangent line), "interval subdivision" (LP),
      "exact PSD and coefficient checks" (sign-free), "direct (M <= 2)".
    subintervals, max_depth: of the arb interval check of p <= K (0 where none was needed).
    pre_shift: amount p_0 was lowered before the check (float estimate of max(p - K) + margin).
    violation_shift: certified maximal violation found by the check, subtracted from p_0 (0 when
      the check succeeded at once). min_margin: certified lower bound of min(K - p) afterwards.
    prec: arb bits. seconds: time of the rigorous part alone. notes: what else was done.
    """

    method: str
    subintervals: int = 0
    max_depth: int = 0
    pre_shift: Fraction = Fraction(0)
    violation_shift: Fraction = Fraction(0)
    min_margin: Fraction = Fraction(0)
    prec: int = PREC
    seconds: float = 0.0
    notes: tuple[str, ...] = ()


def solve_suggestion(prob, solver: str, who: str) -> None:
    """Solve a cvxpy problem whose answer is only a suggestion that is re-checked rigorously
    afterwards: the solver's "Solution may be inaccurate" warning is then harmless and silenced."""
    import warnings

    import cvxpy as cp

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Solution may be inaccurate", category=UserWarning)
            prob.solve(solver=solver)
    except cp.error.SolverError as exc:  # pragma: no cover - solver installation problems
        raise RuntimeError(f"{who}: solver {solver} failed: {exc}") from exc
