r"""Claim kind tau2-rate-d (MATH.md sections 4 and 5): the fluctuation constant tau^2(b, V) against d,
with deterministic a (prediction Theta(1/d)) and with var_a > 0 (prediction Theta(1)): fitted log-log
slopes, a refinement check of the quadrature, and the leading coefficient from fits in 1/d.

experiment `measure`: per config tau^2 on the grid, the slope fit, the refinement change and the
leading coefficient; verdict `decide`: verified when every config's slope is within `slope` of the
prediction, the refinement change within `refine_rel` and the leading coefficient clearly positive
(> 10 times its spread); refuted otherwise; render `render`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import CONFIG_FIELDS, DIM_MAX, c1_estimates, check_config, check_rate_grid, config_problems, need
from verify.claims.result import Context, Finding, pyplot
from verify.claims.schema import Param
from verify.numbers.stats import power_fit


@dataclass
class ConfigResult:
    cfg: dict
    dd: np.ndarray
    vals: np.ndarray
    errs: list
    fit: object
    predicted: float
    refine: float
    lead: dict


def predicted_slope(cfg: dict) -> float:
    return -1.0 if cfg["var_a"] == 0 else 0.0


def measure(p: dict, ctx: Context) -> list[ConfigResult]:
    from verify.model.fluctuations import tau2

    ds = sorted(p["ds"])
    out = []
    for cfg in p["configs"]:
        vals, errs = [], []
        for d in ds:
            ctx.progress(f"{cfg['name']}: d = {d}")
            b, V, mf, _ = config_problems(cfg, d)
            t = tau2(mf, b, V)
            vals.append(t.tau2)
            errs.append(t.interpolation_error)
        vals = np.array(vals)
        dd = np.array(ds, dtype=float)
        m = dd >= p["fit_dmin"]
        fit = power_fit(dd[m], vals[m])
        predicted = predicted_slope(cfg)
        # Refinement check at the smallest and largest d: tau^2 must not move when the rules are refined.
        ref = 0.0
        for d, v in ((ds[0], vals[0]), (ds[-1], vals[-1])):
            b, V, mf, _ = config_problems(cfg, d, refine=2)
            ref = max(ref, abs(tau2(mf, b, V, refine=2).tau2 - v) / abs(v))
        # The leading coefficient: d tau^2 -> e_1 (deterministic a) or tau^2 -> t_0 (var_a > 0), by
        # polynomial fits in 1/d; it must be positive for the predicted order to be the true one.
        lead = c1_estimates(dd, vals * dd ** (-1.0 - predicted), p["fit_dmin"])
        out.append(ConfigResult(cfg, dd, vals, errs, fit, predicted, ref, lead))
    return out


def config_ok(slope: float, predicted: float, refine: float, lead: float, lead_spread: float, tol: dict) -> bool:
    return abs(slope - predicted) <= tol["slope"] and refine <= tol["refine_rel"] and lead > 10 * lead_spread


def decide(results: list[tuple], tol: dict) -> str:
    """results: (slope, predicted, refine change, leading coefficient, its spread) per config."""
    return "verified" if all(config_ok(*r, tol) for r in results) else "refuted"


def render(p: dict, tol: dict, res: list[ConfigResult], status: str, ctx: Context) -> Finding:
    ds = sorted(p["ds"])
    rows, notes, series = [], [], {}
    figures: dict[str, float] = {}
    for r in res:
        cfg, dd, vals, fit, predicted, lead = r.cfg, r.dd, r.vals, r.fit, r.predicted, r.lead
        good = config_ok(fit.slope.value, predicted, r.refine, lead["c1"], lead["spread"], tol)
        figures[f"slope[{cfg['name']}]"] = fit.slope.value
        figures[f"tau2_dmax[{cfg['name']}]"] = float(vals[-1])
        figures[f"leading[{cfg['name']}]"] = lead["c1"]
        series[cfg["name"]] = (dd, vals, fit, predicted)
        sl = fit.slope
        rows.append([cfg["name"], cfg["var_a"], f"{predicted:+.0f}", f"{sl.value:+.4f} [{sl.lo:+.4f}, {sl.hi:+.4f}]",
                     f"{lead['c1']:.6g} +- {lead['spread']:.1e}",
                     f"{vals[0]:.6g}", f"{vals[-1]:.6g}", f"{r.refine:.1e}", f"{max(r.errs):.1e}", "yes" if good else "NO"])
        notes.append(f"{cfg['name']}: tau^2 = " + ", ".join(f"{v:.6g} (d={int(x)})" for x, v in zip(dd, vals)))
    figures["max_slope_dev"] = max(abs(figures[f"slope[{c['name']}]"] - predicted_slope(c)) for c in p["configs"])
    if ctx.make_plots:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, (dd, vals, fit, pred) in series.items():
            line, = ax.loglog(dd, vals, "o", label=f"{name} (slope {fit.slope.value:+.3f})")
            ax.loglog(dd, vals[-1] * (dd / dd[-1]) ** pred, "--", color=line.get_color(), lw=1)
        ax.set(xlabel="d", ylabel="tau^2", title="tau^2 against d (dashed: predicted slope)")
        ax.legend(fontsize=7)
        ctx.save_figure(fig, "tau2")
    return Finding(
        status=status,
        summary=f"{len(p['configs'])} configs, d = {ds[0]}..{ds[-1]}: fitted slopes within {figures['max_slope_dev']:.3f} of the prediction",
        figures=figures,
        key_figure="max_slope_dev",
        columns=["config", "var_a", "predicted slope", "fitted slope [95%]", "leading coefficient (d tau^2 or tau^2, d -> inf)",
                 "tau^2 (d_min)", "tau^2 (d_max)",
                 "refine rel change", "C_inf interp err", "as predicted"],
        rows=rows,
        seeds=sorted({cfg["seed"] for cfg in p["configs"]}),
        precision={"float64": True, "quadrature": "Gauss-Hermite x chi-square trapezoid, refine=2 checked"},
        notes=notes,
        plots=list(ctx.plots),
    )


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    res = measure(p, ctx)
    verdict = decide([(r.fit.slope.value, r.predicted, r.refine, r.lead["c1"], r.lead["spread"]) for r in res], tol)
    return render(p, tol, res, verdict, ctx)


def check(p: dict) -> None:
    check_rate_grid(p, "tau2-rate-d")
    need(len({c["name"] for c in p["configs"]}) == len(p["configs"]), "two configs share a name")
    for cfg in p["configs"]:
        check_config(cfg, min(p["ds"]))


register(Kind(
    name="tau2-rate-d",
    params={"configs": Param("list[table]", fields=CONFIG_FIELDS), "ds": Param("list[int]", lo=1, hi=DIM_MAX),
            "fit_dmin": Param("int", 64, lo=1, hi=DIM_MAX)},
    tolerances=("slope", "refine_rel"),
    figures=("max_slope_dev",),
    run=run,
    check=check,
))
