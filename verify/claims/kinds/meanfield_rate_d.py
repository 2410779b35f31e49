r"""Claim kind meanfield-rate-d (MATH.md sections 4 and 5): L_inf - L~ against d at fixed (b, V)
(prediction Theta(1/d)): the constant c_1 of the 1/d term from fits of d (L_inf - L~) in powers of 1/d,
the local log-log slope at the largest d, and a re-evaluation of the largest-d points with the mpmath
paths. Every (b, V) is fixed across d (a "config": `_common.compressed_for`).

experiment `measure`: per config the differences, the fits, the slope and the mpmath re-evaluation;
verdict `decide`: verified when every config has its slope within `slope` of -1, its c1 stable within
`c1_rel_spread` and the mpmath difference within `mp_rel`; inconclusive when a config fails and the
float64 and mpmath differences disagree (the float evidence is not trusted); refuted otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import (
    CONFIG_FIELDS,
    DIM_MAX,
    c1_estimates,
    check_config,
    check_rate_grid,
    config_problems,
    dps,
    meanfield_gap,
    meanfield_gap_mp,
    need,
)
from verify.claims.result import Context, Finding, pyplot
from verify.claims.schema import Param


@dataclass
class ConfigResult:
    cfg: dict
    dd: np.ndarray
    deltas: np.ndarray
    est: dict
    slope: float
    conv: float
    mp_err: float


def measure(p: dict, ctx: Context) -> list[ConfigResult]:
    ds = sorted(p["ds"])
    out = []
    for cfg in p["configs"]:
        deltas, problems = [], {}
        for d in ds:
            ctx.progress(f"{cfg['name']}: d = {d}")
            problems[d] = config_problems(cfg, d)
            deltas.append(meanfield_gap(problems[d]))
        deltas = np.array(deltas)
        dd = np.array(ds, dtype=float)
        est = c1_estimates(dd, deltas, p["fit_dmin"])
        slope = math.log(abs(deltas[-1] / deltas[-2])) / math.log(dd[-1] / dd[-2])
        conv = abs(dd[-1] * deltas[-1] - est["c1"]) / abs(est["c1"])
        # Re-evaluate the largest-d points with the mpmath paths (L_inf_mp and L~ in mpmath).
        mp_err = 0.0
        k_mp = p["mp_points"]
        for d, delta in zip(ds[-k_mp:], deltas[-k_mp:]):
            ctx.progress(f"{cfg['name']}: mpmath re-evaluation at d = {d}")
            hp = meanfield_gap_mp(problems[d], p["dps"])
            mp_err = max(mp_err, abs(hp - delta) / abs(hp))
        out.append(ConfigResult(cfg, dd, deltas, est, slope, conv, mp_err))
    return out


def config_ok(slope: float, c1: float, spread: float, mp_err: float, tol: dict) -> bool:
    """One config as predicted: local slope within tol of -1, c1 stable, mpmath agrees."""
    return abs(slope + 1.0) <= tol["slope"] and spread <= tol["c1_rel_spread"] * abs(c1) and mp_err <= tol["mp_rel"]


def decide(results: list[tuple[float, float, float, float]], tol: dict) -> str:
    """results: (slope, c1, spread, mp_err) per config."""
    ok = all(config_ok(*r, tol) for r in results)
    if ok:
        return "verified"
    worst_mp = max([0.0] + [r[3] for r in results])
    return "inconclusive" if worst_mp > tol["mp_rel"] else "refuted"


def render(p: dict, tol: dict, res: list[ConfigResult], status: str, ctx: Context) -> Finding:
    ds = sorted(p["ds"])
    rows, notes, fig_rows = [], [], {}
    figures: dict[str, float] = {}
    worst_slope, worst_conv, worst_mp = 0.0, 0.0, 0.0
    for r in res:
        cfg, dd, deltas, est = r.cfg, r.dd, r.deltas, r.est
        good = config_ok(r.slope, est["c1"], est["spread"], r.mp_err, tol)
        worst_slope = max(worst_slope, abs(r.slope + 1.0))
        worst_conv = max(worst_conv, est["spread"] / abs(est["c1"]))
        worst_mp = max(worst_mp, r.mp_err)
        figures[f"c1[{cfg['name']}]"] = est["c1"]
        fig_rows[cfg["name"]] = (dd, deltas, est)
        rows.append([cfg["name"], cfg["kind"], cfg["activation"], cfg["M"], cfg["mu_norm"], cfg["s"],
                     f"{est['c1']:.6g}", f"{est['spread']:.1e}", f"{r.slope:+.4f}", f"{dd[-1] * deltas[-1]:.6g}",
                     f"{r.conv:.1e}", f"{r.mp_err:.1e}", "yes" if good else "NO"])
        notes.append(f"{cfg['name']}: d (L_inf - L~) = " + ", ".join(f"{x * y:.6g} (d={int(x)})" for x, y in zip(dd, deltas)))
    figures.update({"max_slope_dev": worst_slope, "max_c1_rel_spread": worst_conv, "max_mp_rel_err": worst_mp,
                    "configs": float(len(p["configs"]))})
    if ctx.make_plots:
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for name, (dd, deltas, est) in fig_rows.items():
            line, = axes[0].loglog(dd, np.abs(deltas), "o", label=name)
            axes[0].loglog(dd, abs(est["c1"]) / dd, "-", color=line.get_color(), lw=1)
            axes[1].semilogx(dd, dd * deltas, "o-", color=line.get_color(), label=name)
            axes[1].axhline(est["c1"], color=line.get_color(), ls="--", lw=1)
        axes[0].set(xlabel="d", ylabel="|L_inf - L~|", title="measured (dots), |c1| / d (lines)")
        axes[1].set(xlabel="d", ylabel="d (L_inf - L~)", title="approach to the constant c1 (dashed)")
        axes[0].legend(fontsize=7)
        ctx.save_figure(fig, "loglog")
    if status == "inconclusive":
        notes.append("the float64 and mpmath differences disagree beyond tolerance: the float evidence is not trusted")
    return Finding(
        status=status,
        summary=(f"{len(p['configs'])} configs, d = {ds[0]}..{ds[-1]}: local slope within {worst_slope:.1e} of -1, "
                 f"c1 stable to {worst_conv:.1e} (relative) across fits, mpmath agrees to {worst_mp:.1e}"),
        figures=figures,
        key_figure="max_slope_dev",
        columns=["config", "kind", "activation", "M", "||mu||", "s", "c1 (1/d constant)", "fit spread",
                 "local slope (largest d)", "d_max (L_inf - L~)", "|d dL - c1|/|c1|", "mpmath rel err", "Theta(1/d)"],
        rows=rows,
        seeds=sorted({cfg["seed"] for cfg in p["configs"]}),
        precision={"float64": True, "mpmath_dps_check": p["dps"]},
        notes=notes,
        plots=list(ctx.plots),
    )


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    res = measure(p, ctx)
    return render(p, tol, res, decide([(r.slope, r.est["c1"], r.est["spread"], r.mp_err) for r in res], tol), ctx)


def check(p: dict) -> None:
    check_rate_grid(p, "meanfield-rate-d")
    need(p["mp_points"] <= len(p["ds"]), f"mp_points = {p['mp_points']} exceeds the {len(p['ds'])} dimensions of ds")
    need(len({c["name"] for c in p["configs"]}) == len(p["configs"]), "two configs share a name")
    for cfg in p["configs"]:
        check_config(cfg, min(p["ds"]))


register(Kind(
    name="meanfield-rate-d",
    params={"configs": Param("list[table]", fields=CONFIG_FIELDS), "ds": Param("list[int]", lo=1, hi=DIM_MAX),
            "fit_dmin": Param("int", 32, lo=1, hi=DIM_MAX), "dps": dps(25, lo=15), "mp_points": Param("int", 1, lo=1, hi=100)},
    tolerances=("slope", "c1_rel_spread", "mp_rel"),
    figures=("max_slope_dev", "max_c1_rel_spread", "max_mp_rel_err", "configs"),
    run=run,
    check=check,
))
