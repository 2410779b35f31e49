"""Claim kind kernel-vs-quadrature (MATH.md section 2): closed forms against quadrature at high
precision, the float64 path against the high-precision value, and ball enclosures against it, on a
(q1, q2, rho) grid.

experiment `measure`: per (activation, grid point) the errors, the ball's width and whether it
contains the value; the points that fail are re-evaluated at twice the digits;
verdict `decide`: verified when every point passes, refuted when a failure persists at twice the
digits, inconclusive when none does; render `render`: table, summary and the error plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import numpy as np

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import activations, dps, num
from verify.claims.result import Context, Finding, worst
from verify.claims.schema import Param
from verify.kernels import get_activation, kernel, kernel_arb, kernel_mp
from verify.numbers.precision import ball_bounds, mpf_to_fraction


def _grid(params):
    """(q1, q2, rho) as exact rationals, and c = rho sqrt(q1 q2) as a float (clipped)."""
    out = []
    for q1 in params["q1"]:
        for q2 in params["q2"]:
            for rho in params["rho"]:
                q1f, q2f, rf = num(q1), num(q2), num(rho)
                fq1, fq2 = float(q1f), float(q2f)
                c = float(rf) * math.sqrt(fq1) * math.sqrt(fq2)
                # Step the rounded c toward 0 until c^2 <= q1 q2 holds exactly (|rho| = 1 stays ~1 ulp away at most).
                while Fraction(c) ** 2 > Fraction(fq1) * Fraction(fq2):
                    c = math.nextafter(c, 0.0)
                out.append((fq1, fq2, float(rf), c))
    return out


def _rel(a, b, atol, rtol):
    """|a - b| measured so that it is <= rtol exactly when |a - b| <= atol + rtol |b|."""
    return abs(a - b) / (abs(b) + atol / rtol)


def _arb_contains_mpf(ball, value: mpmath.mpf, prec: int) -> bool:
    """Exact test lo <= value <= hi, with the ball's ends and the mpf as rationals."""
    exact = mpf_to_fraction(value)
    lo, hi = ball_bounds(ball, prec)
    return lo <= exact <= hi


def point_ok(e_q: float, e_64: float, inside, width: float, tol: dict) -> bool:
    """One grid point passes: both errors within tolerance, the ball (if any) contains the value and
    is no wider than enclosure_width (NaN width: no ball)."""
    return e_q <= tol["rel"] and e_64 <= tol["float64_rel"] and (inside is not False) and not (width > tol["enclosure_width"])


@dataclass
class Measured:
    acts: list
    grid: list
    points: list = field(default_factory=list)  # (act, q1, q2, rho, c, reference, e_q, e_64, inside, width)
    retest: list = field(default_factory=list)  # (closed vs quad, float64) errors at 2 dps, per failing point

    def column(self, i: int) -> list:
        return [pt[i] for pt in self.points]


def measure(p: dict, tol: dict, ctx: Context) -> Measured:
    dps_ = p["dps"]
    acts = [get_activation(a) for a in p["activations"]]
    m = Measured(acts, _grid(p))
    fails = []
    for ai, act in enumerate(acts):
        ctx.progress(f"{act.label} ({ai + 1}/{len(acts)})")
        for q1, q2, rho, c in m.grid:
            ref = kernel_mp(act, q1, q2, c, dps_ + 10, method="quadrature").value  # same float inputs
            cf = kernel_mp(act, q1, q2, c, dps_, method="closed-form").value
            scale = math.sqrt(q1 * q2) if act.degree == 1 else 1.0
            with mpmath.workdps(2 * dps_):
                e_q = float(_rel(cf, ref, tol["abs"] * scale, tol["rel"]))
                f64 = kernel(act, q1, q2, c, method="closed-form")
                e_64 = float(_rel(mpmath.mpf(float(f64)), ref, tol["float64_abs"] * scale, tol["float64_rel"]))
            w, inside = float("nan"), None
            if act.k_arb is not None:
                ball = kernel_arb(act, q1, q2, c, prec=p["arb_bits"])
                lo, hi = ball_bounds(ball, p["arb_bits"])
                w = float(hi - lo)
                # The ball is ~1e-38 wide: test it against a 60-digit value (the closed form, itself
                # checked against quadrature above), not the dps-digit reference.
                inside = _arb_contains_mpf(ball, kernel_mp(act, q1, q2, c, 60, method="closed-form").value, p["arb_bits"])
            if not point_ok(e_q, e_64, inside, w, tol):
                fails.append((act, q1, q2, c))
            m.points.append((act, q1, q2, rho, c, ref, e_q, e_64, inside, w))
    # Re-evaluate the failing points at twice the digits: a discrepancy that persists refutes.
    for act, q1, q2, c in fails:
        hi = kernel_mp(act, q1, q2, c, 2 * dps_, method="quadrature").value
        cf = kernel_mp(act, q1, q2, c, 2 * dps_, method="closed-form").value
        f64 = float(kernel(act, q1, q2, c, method="closed-form"))
        scale = math.sqrt(q1 * q2) if act.degree == 1 else 1.0
        with mpmath.workdps(4 * dps_):
            m.retest.append((_rel(cf, hi, tol["abs"] * scale, tol["rel"]),
                             _rel(mpmath.mpf(f64), hi, tol["float64_abs"] * scale, tol["float64_rel"])))
    return m


def decide(points: list[tuple], retest: list[tuple], tol: dict) -> tuple[str, int, int]:
    """(status, failed points, persisting): points are (e_q, e_64, inside, width); retest the
    (closed vs quad, float64) errors at twice the digits of each failed point."""
    fails = sum(not point_ok(e_q, e_64, inside, w, tol) for e_q, e_64, inside, w in points)
    if not fails:
        return "verified", 0, 0
    persists = sum(bool(a > tol["rel"] or b > tol["float64_rel"]) for a, b in retest)
    return ("refuted" if persists else "inconclusive"), fails, persists


def render(p: dict, m: Measured, verdict: tuple[str, int, int], ctx: Context) -> Finding:
    status, n_fail, persists = verdict
    dps_ = p["dps"]
    err_q, err_64 = m.column(6), m.column(7)
    widths = [pt[9] for pt in m.points if pt[8] is not None]
    contained = [pt[8] for pt in m.points if pt[8] is not None]
    rows = [[act.label, q1, q2, rho, mpmath.nstr(ref, 20), f"{e_q:.1e}", f"{e_64:.1e}",
             "-" if inside is None else ("yes" if inside else "NO"), f"{w:.1e}"]
            for act, q1, q2, rho, c, ref, e_q, e_64, inside, w in m.points]
    figures = {
        "max_rel_error": worst(err_q),
        "max_float64_rel_error": worst(err_64),
        "max_enclosure_width": worst(widths),
        "enclosures_contain_fraction": (sum(contained) / len(contained)) if contained else 1.0,
        "points": float(len(err_q)),
    }
    notes = []
    if n_fail:
        notes.append(f"{n_fail} grid points failed; {persists} still failed at {2 * dps_} digits")
    if ctx.make_plots:
        _plot_errors(ctx, m.acts, m.grid, err_64, err_q)
    return Finding(
        status=status,
        summary=(f"{len(err_q)} points, {len(m.acts)} activations: closed form vs quadrature max rel err "
                 f"{figures['max_rel_error']:.1e} at {dps_} digits; float64 max rel err {figures['max_float64_rel_error']:.1e}; "
                 f"balls contain the value at {100 * figures['enclosures_contain_fraction']:.0f}% of points, widest {figures['max_enclosure_width']:.1e}"),
        figures=figures,
        key_figure="max_float64_rel_error",
        columns=["activation", "q1", "q2", "rho", "value (quadrature)", "closed vs quad (rel)", "float64 (rel)", "ball contains", "ball width"],
        rows=rows,
        precision={"mpmath_dps": dps_, "reference_dps": dps_ + 10, "arb_bits": p["arb_bits"]},
        notes=notes,
        plots=list(ctx.plots),
    )


def _plot_errors(ctx, acts, grid, err_64, err_q):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    n = len(grid)
    for i, act in enumerate(acts):
        x = [1 - abs(g[2]) + 1e-17 for g in grid]
        axes[0].loglog(x, np.maximum(err_64[i * n:(i + 1) * n], 1e-19), "o", ms=3, label=act.label)
        axes[1].loglog(x, np.maximum(err_q[i * n:(i + 1) * n], 1e-60), "o", ms=3, label=act.label)
    axes[0].set(xlabel="1 - |rho|", ylabel="relative error", title="float64 closed form vs reference")
    axes[1].set(xlabel="1 - |rho|", ylabel="relative error", title="mpmath closed form vs quadrature")
    axes[0].legend(fontsize=7)
    ctx.save_figure(fig, "errors")


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    m = measure(p, tol, ctx)
    verdict = decide([(pt[6], pt[7], pt[8], pt[9]) for pt in m.points], m.retest, tol)
    return render(p, m, verdict, ctx)


register(Kind(
    name="kernel-vs-quadrature",
    params={
        "activations": activations(),
        "q1": Param("list[num]", lo=0, hi=1e6),
        "q2": Param("list[num]", lo=0, hi=1e6),
        "rho": Param("list[num]", lo=-1, hi=1),
        "dps": dps(40, lo=15),
        "arb_bits": Param("int", 128, lo=64, hi=4096),
    },
    tolerances=("rel", "abs", "float64_rel", "float64_abs", "enclosure_width"),
    figures=("max_rel_error", "max_float64_rel_error", "max_enclosure_width", "enclosures_contain_fraction", "points"),
    run=run,
))
