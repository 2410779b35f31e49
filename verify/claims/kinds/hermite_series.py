"""Claim kind hermite-series (MATH.md section 2): Hermite coefficients (formula against quadrature) and
the truncated series against the closed form, inside its rigorous tail bound.

experiment `measure`: the coefficients both ways, and per (degree, rho) the series, the closed form and
the tail bound; verdict `decide`: verified when every error is within its bound (plus `rounding`) and
the coefficients agree within `coefficient`, else refuted; render `render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import numpy as np

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import activation, dps, num
from verify.claims.result import Context, Finding, worst
from verify.claims.schema import Param
from verify.kernels import get_activation, kernel_mp


@dataclass
class Measured:
    act: object
    dps: int
    coef_err: list = field(default_factory=list)
    points: list = field(default_factory=list)  # (degree, rho as given, K(rho), |series - K|, tail bound)


def measure(p: dict, ctx: Context) -> Measured:
    from verify.kernels.hermite import hermite_coefficients, kernel_series

    act = get_activation(p["activation"])
    m = Measured(act, p["dps"])
    with mpmath.workdps(m.dps):
        closed = hermite_coefficients(act, p["coefficient_degree"], method="auto")
        quad = hermite_coefficients(act, p["coefficient_degree"], method="quadrature")
        m.coef_err = [float(abs(a - b)) for a, b in zip(closed, quad)]
        for n in p["degrees"]:
            ctx.progress(f"degree {n}")
            for rho in p["rho"]:
                r = mpmath.mpf(num(rho).numerator) / num(rho).denominator
                s = kernel_series(act, 1, 1, r, n)
                exact = kernel_mp(act, 1, 1, r, m.dps).value
                m.points.append((n, rho, exact, abs(s.value - exact), s.truncation_bound))
    return m


def margins(m: Measured, tol: dict) -> list[tuple[float, float, bool]]:
    """(error - allowed, error / allowed, within) per point, allowed = tail bound + rounding (at dps digits)."""
    out = []
    with mpmath.workdps(m.dps):
        for _n, _rho, _exact, err, bound in m.points:
            allowed = bound + tol["rounding"]
            out.append((float(err - allowed), float(err / allowed), err <= allowed))
    return out


def decide(excess: list[float], coef_err: list[float], tol: dict) -> str:
    """verified when no error exceeds its allowance and the coefficients agree within tol["coefficient"]."""
    return "verified" if worst(excess) <= 0 and worst(coef_err) <= tol["coefficient"] else "refuted"


def render(p: dict, m: Measured, marg: list, status: str, ctx: Context) -> Finding:
    act = m.act
    excess, ratios = [x[0] for x in marg], [x[1] for x in marg]
    rows = [[n, str(rho), mpmath.nstr(exact, 15), mpmath.nstr(err, 3), mpmath.nstr(bound, 3), "yes" if within else "NO"]
            for (n, rho, exact, err, bound), (_, _, within) in zip(m.points, marg)]
    figures = {
        "max_excess_over_bound": worst(excess),
        "max_error_to_bound_ratio": worst(ratios),
        "coefficient_max_error": worst(m.coef_err),
    }
    ok = status == "verified"
    if ctx.make_plots:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        degs = p["degrees"]
        nr = len(p["rho"])
        for j, rho in enumerate(p["rho"]):
            errs = [float(mpmath.mpf(rows[i * nr + j][3])) for i in range(len(degs))]
            bounds = [float(mpmath.mpf(rows[i * nr + j][4])) for i in range(len(degs))]
            line, = ax.semilogy(degs, np.maximum(errs, 1e-40), "o-", label=f"error, rho={rho}")
            ax.semilogy(degs, np.maximum(bounds, 1e-40), "--", color=line.get_color(), label=f"bound, rho={rho}")
        ax.set(xlabel="degree n", ylabel="|series - closed form|", title=f"{act.label}: Hermite series")
        ax.legend(fontsize=6)
        ctx.save_figure(fig, "series")
    return Finding(
        status=status,
        summary=(f"{len(rows)} (degree, rho) pairs: error within the tail bound everywhere "
                 f"(max error/bound {figures['max_error_to_bound_ratio']:.2g}); "
                 f"coefficients formula vs quadrature max diff {figures['coefficient_max_error']:.1e}"
                 if ok else "the series left its bound or the coefficients disagree (see table)"),
        figures=figures,
        key_figure="max_error_to_bound_ratio",
        columns=["degree", "rho", "K(rho)", "|series - K|", "tail bound", "within"],
        rows=rows,
        precision={"mpmath_dps": m.dps},
        plots=list(ctx.plots),
    )


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    m = measure(p, ctx)
    marg = margins(m, tol)
    return render(p, m, marg, decide([x[0] for x in marg], m.coef_err, tol), ctx)


register(Kind(
    name="hermite-series",
    params={
        "activation": activation("relu"),
        "degrees": Param("list[int]", lo=0, hi=2000),
        "rho": Param("list[num]", lo=-1, hi=1),
        "dps": dps(40, lo=15),
        "coefficient_degree": Param("int", 24, lo=0, hi=2000),
    },
    tolerances=("rounding", "coefficient"),
    figures=("max_excess_over_bound", "max_error_to_bound_ratio", "coefficient_max_error"),
    run=run,
))
