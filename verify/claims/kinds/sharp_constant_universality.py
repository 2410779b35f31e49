r"""Claim kind sharp-constant-universality (MATH.md sections 4 and 5; docs/sharp-constants.md,
edgeworth step): for a symmetric xi law with fourth cumulant kappa4,
  L_inf^law(b, V) - L_inf^gauss(b, V) = kappa4 c_kappa / d + O(d^-2),
  c_kappa = (1/4) abar s^4 E[R_mmmm (f~ - g)]   (the DERIVED c1_kappa4),
so the universality constant of the law is c1 + kappa4 c_kappa.

Measurement per law and d: L_inf^law by the U-statistic of `targets` independent draws of `width`
neurons (verify.model.sharp.estimates; control variates of known mean zero), L_inf^gauss by the
quadrature; y(d) = d (L^_inf^law - L_inf^gauss) with its standard error. The 1/d term of y is removed
by Richardson over the two largest d of the grid (d, 2d): R = 2 y(2d) - y(d). The prediction
kappa4 c_kappa must lie in R +- z SE (z for `level` jointly over the laws, Bonferroni); the test must
resolve (z SE <= `resolve` |kappa4 c_kappa|), else inconclusive. A miss is re-tested on fresh draws
(seeds + 10^6); only a miss that recurs refutes.

experiment `measure`; verdict `decide` (pure); render `render`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import mpmath

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import (
    CONFIG_FIELDS,
    DIM_MAX,
    SEED_MAX,
    TARGETS_MAX,
    XI,
    check_config,
    check_sharp_config,
    config_problems,
    derived_constants,
    law_for,
    need,
)
from verify.claims.result import Context, Finding
from verify.claims.schema import Param
from verify.numbers.stats import control_variate_mean, simultaneous_z

RETEST_OFFSET = 1_000_000


@dataclass
class LawResult:
    law: str  # the xi law's name (rademacher, uniform, sparse)
    xi: str  # its label (sparse(0.1))
    kappa4: float
    pred: float  # kappa4 c_kappa
    c1_law: float  # c1 + kappa4 c_kappa
    ds: list
    ys: list = field(default_factory=list)
    ses: list = field(default_factory=list)
    R: float = math.nan
    se: float = math.nan
    retested: bool = False
    first: tuple | None = None  # (R, se) of the first draws when retested


def _label(xi: str, p: float) -> str:
    return f"sparse({p:g})" if xi == "sparse" else xi


def _y(p: dict, cfg: dict, xi: str, d: int, offset: int, ctx: Context) -> tuple[float, float]:
    from verify.model.sharp.estimates import law_estimates

    b, V, mf, _ = config_problems(cfg, d)
    law = law_for(cfg, d, xi, p["sparsity"])
    seeds = [p["seed"] + offset + 10_000 * d + i for i in range(p["targets"])]
    L, C = law_estimates(law, b, V, p["width"], seeds, ctx.progress)
    est = control_variate_mean(L, C)
    return d * (est.value - mf.L_inf(b, V)), d * est.se


def _richardson(res: LawResult, p: dict, cfg: dict, offset: int, ctx: Context) -> tuple[list, list, float, float]:
    ys, ses = [], []
    for d in res.ds:
        ctx.progress(f"xi = {res.xi}: d = {d}")
        y, se = _y(p, cfg, res.law, d, offset, ctx)
        ys.append(y)
        ses.append(se)
    return ys, ses, 2.0 * ys[-1] - ys[-2], math.hypot(2.0 * ses[-1], ses[-2])


def law_verdict(R: float, se: float, pred: float, z: float, resolve: float) -> str:
    if abs(R - pred) > z * se:
        return "miss"
    return "agree" if z * se <= resolve * abs(pred) else "unresolved"


def decide(verdicts: list[str], retest_verdicts: list[str | None]) -> str:
    """verdicts of the first draws; for each miss, the verdict on fresh draws (None if not retested)."""
    if any(v == "miss" and r == "miss" for v, r in zip(verdicts, retest_verdicts)):
        return "refuted"
    final = [r if v == "miss" else v for v, r in zip(verdicts, retest_verdicts)]
    return "verified" if all(v == "agree" for v in final) else "inconclusive"


def measure(p: dict, tol: dict, ctx: Context) -> tuple[list[LawResult], float, float]:
    cfg = p["config"]
    ds = sorted(p["ds"])
    z = simultaneous_z(tol["level"], len(p["laws"]))
    from verify.model.sharp import kappa4

    # c_kappa does not depend on the law: one evaluation serves every law (c1 of a law = c1 + kappa4 c_kappa)
    gauss = derived_constants(cfg, dps=p["dps"])
    out = []
    for xi in p["laws"]:
        k4 = float(kappa4(xi, Fraction(str(p["sparsity"]))))
        with mpmath.workdps(p["dps"]):
            c1_law = float(gauss.c1_gauss + mpmath.mpf(k4) * gauss.c1_kappa4)
        r = LawResult(xi, _label(xi, p["sparsity"]), k4, k4 * float(gauss.c1_kappa4), c1_law, ds)
        r.ys, r.ses, r.R, r.se = _richardson(r, p, cfg, 0, ctx)
        if law_verdict(r.R, r.se, r.pred, z, tol["resolve"]) == "miss" and p["retest"]:
            ctx.progress(f"xi = {xi}: the prediction is outside the interval; re-test on fresh draws")
            r.first = (r.R, r.se)
            r.ys, r.ses, r.R, r.se = _richardson(r, p, cfg, RETEST_OFFSET, ctx)
            r.retested = True
        out.append(r)
    return out, z, float(gauss.c1)


def render(p: dict, tol: dict, res: list[LawResult], z: float, c1_gauss: float, status: str) -> Finding:
    rows, notes, figures = [], [], {}
    worst = 0.0
    for r in res:
        v = law_verdict(r.R, r.se, r.pred, z, tol["resolve"])
        dev = abs(r.R - r.pred) / r.se if r.se > 0 else math.inf
        worst = max(worst, dev)
        figures[f"c1[{r.xi}]"] = r.c1_law
        rows.append([r.xi, f"{r.kappa4:g}", f"{r.pred:.6g}", f"{r.R:.6g} +- {r.se:.1e}", f"{dev:.2f}",
                     f"{z * r.se / abs(r.pred):.2f}", f"{r.c1_law:.9g}", "yes" if r.retested else "no", v])
        notes.append(f"xi = {r.xi}: d (L^_inf - L_inf^gauss) = " + ", ".join(
            f"{y:.6g} +- {s:.1e} (d={d})" for d, y, s in zip(r.ds, r.ys, r.ses))
            + f"; d (L^_inf - L~) -> c1 + kappa4 c_kappa = {c1_gauss:.9g} + {r.kappa4:g} x {r.pred / r.kappa4:.9g} = {r.c1_law:.9g}")
        if r.first is not None:
            notes.append(f"xi = {r.xi}: first draws gave {r.first[0]:.6g} +- {r.first[1]:.1e}, outside the interval; "
                         "re-tested on fresh draws (seeds + 10^6)")
    figures.update({"max_deviation_in_se": worst, "laws": float(len(res)), "z": z})
    ds = sorted(p["ds"])
    return Finding(
        status=status,
        summary=(f"{len(res)} laws: derived kappa4 c_kappa against Richardson over d = {ds[-2]}, {ds[-1]} of the "
                 f"U-statistic estimates ({p['targets']} draws of width {p['width']}): worst deviation "
                 f"{worst:.2f} SE (joint z = {z:.2f} at level {tol['level']})"),
        figures=figures,
        key_figure="max_deviation_in_se",
        columns=["xi", "kappa4", "derived kappa4 c_kappa", "measured (Richardson)", "|diff| / SE", "z SE / |pred|",
                 "c1 of the law (derived)", "re-tested", "verdict"],
        rows=rows,
        seeds=[p["seed"], p["seed"] + RETEST_OFFSET],
        precision={"derived_dps": p["dps"], "float64": True, "statistical_level": tol["level"]},
        notes=notes,
    )


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    res, z, c1g = measure(p, tol, ctx)
    verdicts, retests = [], []
    for r in res:
        v = law_verdict(r.R, r.se, r.pred, z, tol["resolve"])
        if r.retested:
            verdicts.append("miss")
            retests.append(v)
        else:
            verdicts.append(v)
            retests.append(None)
    return render(p, tol, res, z, c1g, decide(verdicts, retests))


def check(p: dict) -> None:
    ds = sorted(p["ds"])
    need(len(ds) >= 2 and len(set(ds)) == len(ds) and ds[-1] == 2 * ds[-2],
         f"ds needs distinct dimensions whose two largest are d and 2d (Richardson); got {p['ds']}")
    need(all(xi in XI and xi != "gaussian" for xi in p["laws"]) and len(set(p["laws"])) == len(p["laws"]),
         f"laws must be distinct non-gaussian xi laws among {', '.join(x for x in XI if x != 'gaussian')}")
    need(p["config"]["var_a"] == 0, "the law's kappa4 term is derived for deterministic a (var_a = 0)")
    check_config(p["config"], ds[0])
    check_sharp_config(p["config"], "sharp-constant-universality")


register(Kind(
    name="sharp-constant-universality",
    params={"config": Param("table", fields=CONFIG_FIELDS), "laws": Param("list[str]"),
            "ds": Param("list[int]", lo=2, hi=DIM_MAX), "width": Param("int", lo=2, hi=100_000),
            "targets": Param("int", lo=10, hi=TARGETS_MAX), "seed": Param("int", 0, lo=0, hi=SEED_MAX - 2 * RETEST_OFFSET - 10**9),
            "sparsity": Param("float", 0.1, lo=0, lo_open=True, hi=1), "dps": Param("int", 30, lo=15, hi=200),
            "retest": Param("bool", True)},
    tolerances=("level", "resolve"),
    figures=("max_deviation_in_se", "laws", "z"),
    run=run,
    check=check,
))
