r"""Claim kind sharp-constant-meanfield (MATH.md sections 4 and 5; docs/sharp-constants.md): the
DERIVED constant c1 of L_inf - L~ = c1/d + O(d^-2) (gaussian xi) against two independent
measurements of the same network's L_inf - L~:

  Richardson: y(d) = d (L_inf - L~)(d) by the quadratures of verify.model.meanfield at d, 2d, 4d
    (the `richardson_ds`, e.g. 25000, 50000, 100000); R = 2 y(4d) - y(2d) removes the 1/d term; its
    truncation error is estimated by the second-order extrapolation (8 y(4d) - 6 y(2d) + y(d)) / 3,
    its rounding error by the float64 / mpmath difference at the largest d (configs in `mp_configs`)
    or, elsewhere, by 3 d eps L_inf;
  fits: the least-squares fits of d (L_inf - L~) in powers of 1/d over `fit_ds` (the claim
    meanfield-rate-d's method), with the spread of the fits as their uncertainty.

experiment `measure`; verdict `decide` (pure): verified when every config has |c1 - R| <= rel |c1| with
the Richardson uncertainty below rel |c1| / 10 (the reference carries the precision) and the fit within
fit_k spreads; refuted when a resolved reference or a fit excludes c1 beyond its uncertainty;
inconclusive otherwise; render `render`.
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
    check_sharp_config,
    config_problems,
    derived_constants,
    dps,
    meanfield_gap,
    meanfield_gap_mp,
    need,
)
from verify.claims.result import Context, Finding, pyplot
from verify.claims.schema import Param

EPS = 2.0**-52


@dataclass
class ConfigResult:
    cfg: dict
    c1: float
    c1_err: float
    rich_ds: list
    ys: list
    R: float
    u_trunc: float
    u_round: float
    mp_rel: float | None
    fit: dict
    fit_ys: np.ndarray

    @property
    def u_R(self) -> float:
        return self.u_trunc + self.u_round


def measure(p: dict, ctx: Context) -> list[ConfigResult]:
    out = []
    rd = sorted(p["richardson_ds"])
    for cfg in p["configs"]:
        ctx.progress(f"{cfg['name']}: derived c1 ({p['dps']} digits)")
        sc = derived_constants(cfg, dps=p["dps"])
        ys = []
        for d in rd:
            ctx.progress(f"{cfg['name']}: L_inf - L~ at d = {d}")
            largest = config_problems(cfg, d)  # the last one is at the largest d
            delta = meanfield_gap(largest)
            ys.append(d * delta)
        R = 2.0 * ys[2] - ys[1]
        R2 = (8.0 * ys[2] - 6.0 * ys[1] + ys[0]) / 3.0
        mp_rel = None
        if cfg["name"] in p["mp_configs"]:
            ctx.progress(f"{cfg['name']}: mpmath re-evaluation at d = {rd[-1]} ({p['mp_dps']} digits)")
            hp = meanfield_gap_mp(largest, p["mp_dps"])
            mp_rel = abs(hp - delta) / abs(hp)
            u_round = 3.0 * mp_rel * max(abs(y) for y in ys[1:])
        else:
            b, V, mf, _ = largest
            u_round = 3.0 * rd[-1] * 8 * EPS * abs(mf.L_inf(b, V))
        fit_ds = sorted(p["fit_ds"])
        fit_ys = np.array([meanfield_gap(config_problems(cfg, d)) for d in fit_ds])
        fit = c1_estimates(np.array(fit_ds, dtype=float), fit_ys, p["fit_dmin"])
        out.append(ConfigResult(cfg, float(sc.c1), float(sc.c1_err), rd, ys, R, abs(R - R2), u_round, mp_rel, fit,
                                np.array(fit_ds, dtype=float) * fit_ys))
    return out


def config_verdict(c1: float, R: float, u_R: float, fit_c1: float, fit_spread: float, tol: dict) -> str:
    """One config: "agree", "disagree" (a resolved reference or the fits exclude c1) or "unresolved"."""
    rel = tol["rel"]
    fit_off = abs(c1 - fit_c1) > tol["fit_k"] * fit_spread + 1e-15
    if abs(c1 - R) > rel * abs(c1) + u_R or fit_off:
        return "disagree"
    if u_R > 0.1 * rel * abs(c1):
        return "unresolved"
    return "agree" if abs(c1 - R) <= rel * abs(c1) else "unresolved"


def decide(verdicts: list[str]) -> str:
    if "disagree" in verdicts:
        return "refuted"
    return "verified" if all(v == "agree" for v in verdicts) else "inconclusive"


def render(p: dict, tol: dict, res: list[ConfigResult], status: str, ctx: Context) -> Finding:
    rows, notes = [], []
    worst_rel = worst_fit = worst_u = 0.0
    figures: dict[str, float] = {}
    for r in res:
        v = config_verdict(r.c1, r.R, r.u_R, r.fit["c1"], r.fit["spread"], tol)
        rel = abs(r.c1 - r.R) / abs(r.c1)
        fz = abs(r.c1 - r.fit["c1"]) / r.fit["spread"] if r.fit["spread"] > 0 else math.inf
        worst_rel, worst_fit, worst_u = max(worst_rel, rel), max(worst_fit, fz), max(worst_u, r.u_R / abs(r.c1))
        figures[f"c1[{r.cfg['name']}]"] = r.c1
        rows.append([r.cfg["name"], r.cfg["activation"], r.cfg["M"], r.cfg["mu_norm"], r.cfg["s"], f"{r.c1:.12g}",
                     f"{r.R:.12g}", f"{rel:.1e}", f"{r.u_R / abs(r.c1):.1e}",
                     "-" if r.mp_rel is None else f"{r.mp_rel:.1e}",
                     f"{r.fit['c1']:.9g} +- {r.fit['spread']:.1e}", f"{fz:.2f}", v])
        notes.append(f"{r.cfg['name']}: derived c1 = {r.c1:.15g} (+- {r.c1_err:.0e}); d (L_inf - L~) = "
                     + ", ".join(f"{y:.12g} (d={d})" for d, y in zip(r.rich_ds, r.ys))
                     + f"; Richardson 2 y(4d) - y(2d) = {r.R:.12g} (truncation {r.u_trunc:.1e}, rounding {r.u_round:.1e})")
    figures.update({"max_rel_err_richardson": worst_rel, "max_fit_deviation_in_spreads": worst_fit,
                    "max_richardson_uncertainty": worst_u, "configs": float(len(res))})
    if ctx.make_plots:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(7, 4))
        for r in res:
            dd = np.array(sorted(p["fit_ds"]) + r.rich_ds, dtype=float)
            yy = np.concatenate([r.fit_ys, r.ys]) / r.c1
            line, = ax.semilogx(dd, yy, "o-", ms=3, label=r.cfg["name"])
        ax.axhline(1.0, color="k", lw=1, ls="--")
        ax.set(xlabel="d", ylabel="d (L_inf - L~) / derived c1", title="measured approach to the derived constant")
        ax.legend(fontsize=7)
        ctx.save_figure(fig, "approach")
    return Finding(
        status=status,
        summary=(f"{len(res)} configs: derived c1 against Richardson at d = {p['richardson_ds'][1]}, {p['richardson_ds'][2]}: "
                 f"worst relative difference {worst_rel:.1e} (tolerance {tol['rel']:g}, reference uncertainty <= {worst_u:.1e}); "
                 f"fits over d <= {max(p['fit_ds'])} within {worst_fit:.2f} spreads"),
        figures=figures,
        key_figure="max_rel_err_richardson",
        columns=["config", "activation", "M", "||mu||", "s", "c1 derived", "c1 Richardson", "rel diff", "ref uncertainty",
                 "float/mpmath", "c1 fit (d <= max fit_ds)", "|diff| / spread", "verdict"],
        rows=rows,
        seeds=sorted({cfg["seed"] for cfg in p["configs"]}),
        precision={"derived_dps": p["dps"], "float64": True, "mpmath_dps_check": p["mp_dps"]},
        notes=notes,
        plots=list(ctx.plots),
    )


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    res = measure(p, ctx)
    verdicts = [config_verdict(r.c1, r.R, r.u_R, r.fit["c1"], r.fit["spread"], tol) for r in res]
    return render(p, tol, res, decide(verdicts), ctx)


def check(p: dict) -> None:
    rd = sorted(p["richardson_ds"])
    need(len(rd) == 3 and rd[1] == 2 * rd[0] and rd[2] == 2 * rd[1],
         f"richardson_ds must be three dimensions d, 2d, 4d; got {p['richardson_ds']}")
    need(len(set(p["fit_ds"])) == len(p["fit_ds"]) and sum(d >= p["fit_dmin"] for d in p["fit_ds"]) >= 4,
         "fit_ds needs at least 4 distinct dimensions >= fit_dmin (an empty or too small grid is no evidence)")
    names = [c["name"] for c in p["configs"]]
    need(len(set(names)) == len(names), "two configs share a name")
    for n in p["mp_configs"]:
        need(n in names, f"mp_configs names {n!r}, which is not a config")
    for cfg in p["configs"]:
        check_config(cfg, min(p["fit_ds"]))
        check_sharp_config(cfg, "sharp-constant-meanfield")


register(Kind(
    name="sharp-constant-meanfield",
    params={"configs": Param("list[table]", fields=CONFIG_FIELDS),
            "richardson_ds": Param("list[int]", lo=2, hi=DIM_MAX),
            "fit_ds": Param("list[int]", lo=2, hi=DIM_MAX),
            "fit_dmin": Param("int", 32, lo=1, hi=DIM_MAX),
            "dps": dps(30, lo=15),
            "mp_dps": dps(25, lo=15),
            "mp_configs": Param("list[str]", [])},
    tolerances=("rel", "fit_k"),
    figures=("max_rel_err_richardson", "max_fit_deviation_in_spreads", "max_richardson_uncertainty", "configs"),
    run=run,
    check=check,
))
