r"""Claim kind rate (generic; MATH.md sections 3-5): "this quantity decays like variable^exponent",
with a tolerance on the exponent and optionally the constant, decided from a fitted interval.

Quantities and their variable:
  meanfield-gap  L_inf - L~ of the config against d (gaussian xi; L_inf by quadrature, L~ closed);
  tau2           tau^2 of the config against d (`verify.model.fluctuations.tau2`);
  bias           E L_N - L_inf against N (targets drawn from the law; `targets` per N, nested widths);
  var-LN         Var(L_N) against N (same draws).
Any other pairing is refused at load.

Exponent interval. d-quantities are deterministic: with local slopes s_i = dlog|y| / dlog x between
neighbours of the grid and y = C x^p (1 + a/x + ...), s(x) = p + kappa / x + O(x^-2); the last three
slopes are fitted by p + kappa / x (two slopes: solved exactly) and the interval is p_hat +- h,
h = |s_last - p_hat| + 2 (fit residual) + 2 delta / log(x_n / x_(n-1)), delta the relative error of
y (mpmath re-evaluation of L_inf - L~ at the largest d; tau^2's interpolation error). N-quantities
are statistical: the weighted log-log fit of `verify.numbers.stats.power_fit` with the standard
errors of the means / variances over the targets gives a 95 % interval; a refutation must hold
again on fresh targets (seed + 10^6), else the verdict is inconclusive.
Constant (optional): z = y x^(-exponent) is extrapolated by z = C + a/x over the last three points,
with the same kind of error. The verdict is `_prediction.band_verdict` of each interval against
its band; both must be verified for verified; either refuted gives refuted.
"""

from __future__ import annotations

import math

import numpy as np

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import (
    CONFIG_FIELDS,
    DIM_MAX,
    SEED_MAX,
    TARGETS_MAX,
    XI,
    check_config,
    compressed_for,
    config_problems,
    law_for,
    meanfield_gap,
    meanfield_gap_mp,
    need,
)
from verify.claims.kinds._prediction import band_verdict
from verify.claims.result import Context, Finding
from verify.claims.schema import Param

VARIABLE = {"meanfield-gap": "d", "tau2": "d", "bias": "N", "var-LN": "N"}
GRID_MAX = 40


def _slope_fit(x: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """(value at x = inf, residual) of z = A + B / x over the last three points (two: exact)."""
    x, z = x[-3:], z[-3:]
    X = np.column_stack([np.ones_like(x), 1.0 / x])
    coef, *_ = np.linalg.lstsq(X, z, rcond=None)
    return float(coef[0]), float(np.max(np.abs(z - X @ coef)))


def deterministic_exponent(x, y, rel_err: float) -> tuple[float, float, float]:
    """(estimate, lo, hi) of the exponent of a deterministic y(x) (module docstring)."""
    x, ly = np.asarray(x, float), np.log(np.abs(np.asarray(y, float)))
    s = np.diff(ly) / np.diff(np.log(x))
    mids = np.sqrt(x[1:] * x[:-1])
    p_hat, resid = _slope_fit(mids, s)
    h = abs(s[-1] - p_hat) + 2 * resid + 2 * rel_err / math.log(x[-1] / x[-2])
    return p_hat, p_hat - h, p_hat + h


def extrapolated_constant(x, y, exponent: float, rel_err: float) -> tuple[float, float, float]:
    """(estimate, lo, hi) of C in y ~ C x^exponent (module docstring)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    z = y * x ** (-exponent)
    C, resid = _slope_fit(x, z)
    h = abs(z[-1] - C) + 2 * resid + rel_err * abs(C)
    return C, C - h, C + h


def measure_d(p: dict, ctx: Context) -> dict:
    """y(d) for meanfield-gap or tau2, and its relative error."""
    from verify.model.fluctuations import tau2

    cfg, ds = p["config"], sorted(p["grid"])
    ys, rel, problems = [], 0.0, {}
    for d in ds:
        ctx.progress(f"{p['quantity']} at d = {d}")
        b, V, mf, st = problems[d] = config_problems(cfg, d)
        if p["quantity"] == "meanfield-gap":
            ys.append(meanfield_gap(problems[d]))
        else:
            t = tau2(mf, b, V)
            ys.append(t.tau2)
            rel = max(rel, t.interpolation_error / abs(t.tau2))
    if p["quantity"] == "meanfield-gap":
        for d, y in list(zip(ds, ys))[-2:]:  # the largest d, re-evaluated in mpmath
            ctx.progress(f"mpmath re-evaluation at d = {d}")
            hp = meanfield_gap_mp(problems[d], p["dps"])
            rel = max(rel, abs(hp - y) / abs(hp))
    return {"x": np.array(ds, float), "y": np.array(ys), "rel_err": rel, "se": None}


def measure_N(p: dict, ctx: Context, seed_offset: int = 0) -> dict:
    """Mean of L_N - L_inf or Var(L_N) against N over `targets` draws, with standard errors."""
    from verify.claims.kinds.finite_n_rate import ensemble

    cfg, d, Ns = p["config"], p["d"], sorted(p["grid"])
    law = law_for(cfg, d, p["xi"])
    b, V = compressed_for(cfg, d)
    seeds = [p["seed"] + seed_offset + i for i in range(p["targets"])]
    E = ensemble(law, b, V, Ns, seeds, progress=ctx.progress)
    L, T = E["L"], len(seeds)
    if p["quantity"] == "bias":
        if p["xi"] == "gaussian":
            from verify.model.meanfield import MeanFieldProblem

            dev = L - MeanFieldProblem.from_target_law(law).L_inf(b, V)
        else:
            dev = L - E["L_inf_hat"][:, None]  # the draw's own unbiased L_inf estimate
        y, se = dev.mean(axis=0), dev.std(axis=0, ddof=1) / math.sqrt(T)
    else:
        y = L.var(axis=0, ddof=1)
        c = L - L.mean(axis=0)
        se = np.sqrt(np.maximum((c**4).mean(axis=0) - y**2 * (T - 3) / (T - 1), 1e-300) / T)
    return {"x": np.array(Ns, float), "y": y, "se": se, "rel_err": 0.0, "seeds": seeds}


def exponent_interval(m: dict) -> tuple[float, float, float] | None:
    """(estimate, lo, hi), or None when y is not resolved with one sign at every grid point."""
    y, se = m["y"], m["se"]
    if se is not None:
        if not (np.all(y > 3 * se) or np.all(-y > 3 * se)):
            return None
        from verify.numbers.stats import power_fit

        f = power_fit(m["x"], np.abs(y), se)
        return f.slope.value, f.slope.lo, f.slope.hi
    if not (np.all(y > 0) or np.all(y < 0)):
        return None
    return deterministic_exponent(m["x"], y, m["rel_err"])


def decide(exp_iv, const_iv, pred: dict) -> str:
    if exp_iv is None:
        return "inconclusive"
    verdicts = [band_verdict(exp_iv[1], exp_iv[2], pred["exponent"] - pred["tolerance"], pred["exponent"] + pred["tolerance"])]
    if const_iv is not None:
        c, w = pred["constant"], pred["constant_rel_tol"] * abs(pred["constant"])
        verdicts.append(band_verdict(const_iv[1], const_iv[2], c - w, c + w))
    if "refuted" in verdicts:
        return "refuted"
    return "verified" if all(v == "verified" for v in verdicts) else "inconclusive"


def _plot(p: dict, pred: dict, m: dict, exp_iv, ctx: Context) -> None:
    """|quantity| against the variable on log-log axes, with the predicted and the fitted slopes
    drawn through the largest point."""
    from verify.claims.result import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    x, y = m["x"], np.abs(m["y"])
    if m["se"] is not None:
        ax.errorbar(x, y, yerr=1.96 * m["se"], fmt="o", label=p["quantity"])
    else:
        ax.loglog(x, y, "o", label=p["quantity"])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.loglog(x, y[-1] * (x / x[-1]) ** pred["exponent"], "--", label=f"predicted exponent {pred['exponent']:g}")
    if exp_iv is not None:
        ax.loglog(x, y[-1] * (x / x[-1]) ** exp_iv[0], "-", lw=1, label=f"fitted {exp_iv[0]:.4g} [{exp_iv[1]:.4g}, {exp_iv[2]:.4g}]")
    ax.set(xlabel=VARIABLE[p["quantity"]], ylabel=f"|{p['quantity']}|")
    ax.legend(fontsize=7)
    ctx.save_figure(fig, "rate")


def render(p: dict, pred: dict, m: dict, exp_iv, const_iv, status: str, retest: str | None, ctx: Context) -> Finding:
    var = VARIABLE[p["quantity"]]
    if ctx.make_plots:
        _plot(p, pred, m, exp_iv, ctx)
    rows = [[f"{x:g}", f"{y:.10g}", "" if m["se"] is None else f"{s:.2g}"]
            for x, y, s in zip(m["x"], m["y"], m["se"] if m["se"] is not None else m["y"])]
    band = f"[{pred['exponent'] - pred['tolerance']:g}, {pred['exponent'] + pred['tolerance']:g}]"
    notes = [f"Exponent interval: {'95 % weighted log-log fit over the targets' if m['se'] is not None else 'extrapolated local slopes, half-width from the extrapolation, the fit residual and the relative error ' + format(m['rel_err'], '.1e')} (module docstring of verify.claims.kinds.rate)."]
    if exp_iv is None:
        summary = f"{p['quantity']} is not resolved with one sign at every {var} of the grid: no exponent; a larger sample or grid would settle it"
        figures = {"exponent": float("nan"), "exponent_lo": float("nan"), "exponent_hi": float("nan")}
    else:
        est, lo, hi = exp_iv
        figures = {"exponent": est, "exponent_lo": lo, "exponent_hi": hi}
        head = f"{p['quantity']} ~ {var}^p with p in [{lo:.4g}, {hi:.4g}] (estimate {est:.4g})"
        if status == "verified":
            summary = f"{head}: inside the predicted band {band}"
        elif status == "refuted":
            summary = f"{head}: the interval excludes the predicted band {band}" if band_verdict(lo, hi, pred["exponent"] - pred["tolerance"], pred["exponent"] + pred["tolerance"]) == "refuted" \
                else f"{head}; the constant's interval excludes the prediction"
        else:
            summary = f"{head}: overlaps the edge of the band {band}; a grid reaching larger {var} (or more targets) would settle it"
    if const_iv is not None:
        figures.update({"constant": const_iv[0], "constant_lo": const_iv[1], "constant_hi": const_iv[2]})
        notes.append(f"Constant C of {var}^{pred['exponent']:g}: [{const_iv[1]:.6g}, {const_iv[2]:.6g}] (predicted {pred['constant']:g} +- {pred['constant_rel_tol']:g} relative)")
    if retest:
        notes.append(retest)
    return Finding(
        status=status, summary=summary, figures=figures, key_figure="exponent",
        columns=[var, p["quantity"], "standard error"], rows=rows, seeds=m.get("seeds", []),
        precision={"mpmath_dps": p["dps"]} if p["quantity"] == "meanfield-gap" else {}, notes=notes,
        plots=list(ctx.plots),
    )


def _intervals(p: dict, pred: dict, m: dict):
    exp_iv = exponent_interval(m)
    const_iv = None
    if pred["constant"] != 0 and exp_iv is not None:
        if m["se"] is None:
            const_iv = extrapolated_constant(m["x"], m["y"], pred["exponent"], m["rel_err"])
        else:  # statistical: C from the fit at the predicted exponent, interval from the SE of the largest N
            z = m["y"] * m["x"] ** (-pred["exponent"])
            w = 1.96 * m["se"][-1] * m["x"][-1] ** (-pred["exponent"])
            const_iv = (float(z[-1]), float(z[-1] - w), float(z[-1] + w))
    return exp_iv, const_iv


def run(claim, ctx: Context) -> Finding:
    p, pred = claim.parameters, claim.prediction
    statistical = VARIABLE[p["quantity"]] == "N"
    m = measure_N(p, ctx) if statistical else measure_d(p, ctx)
    exp_iv, const_iv = _intervals(p, pred, m)
    status = decide(exp_iv, const_iv, pred)
    retest = None
    if statistical and status == "refuted":
        ctx.progress("refuted on the first sample: fresh targets (seed + 10^6)")
        m2 = measure_N(p, ctx, seed_offset=10**6)
        e2, c2 = _intervals(p, pred, m2)
        again = decide(e2, c2, pred)
        retest = f"Retest on fresh targets (seeds + 10^6): {again}" + (f", exponent in [{e2[1]:.4g}, {e2[2]:.4g}]" if e2 else "")
        if again != "refuted":
            status = "inconclusive"
    return render(p, pred, m, exp_iv, const_iv, status, retest, ctx)


def check(p: dict) -> None:
    need(p["variable"] == VARIABLE[p["quantity"]],
         f"quantity {p['quantity']} is measured against {VARIABLE[p['quantity']]}, not {p['variable']}")
    grid = sorted(p["grid"])
    need(len(set(grid)) == len(grid) and len(grid) >= 3, "the grid needs at least 3 distinct values")
    need(len(grid) <= GRID_MAX, f"at most {GRID_MAX} grid points")
    if p["variable"] == "d":
        need(grid[0] >= 2, "d must be >= 2")
        check_config(p["config"], grid[0])
        need(p["xi"] == "gaussian", f"{p['quantity']} is computed for gaussian xi")
    else:
        need(p["d"] >= 1 and p["targets"] >= 10, "N-quantities need d >= 1 and at least 10 targets")
        check_config(p["config"], p["d"])
        need(grid[0] >= 1, "N must be >= 1")


def check_prediction(p: dict, pred: dict) -> None:
    need(pred["tolerance"] > 0, "tolerance must be > 0 (an exponent is measured, never exact)")
    if pred["constant"] != 0:
        need(pred["constant_rel_tol"] > 0, "a predicted constant needs constant_rel_tol > 0")


register(Kind(
    name="rate",
    params={
        "quantity": Param("str", choices=tuple(VARIABLE)),
        "variable": Param("str", choices=("d", "N")),
        "grid": Param("list[int]", lo=1, hi=max(DIM_MAX, 100_000), doc="values of the variable"),
        "config": Param("table", fields=CONFIG_FIELDS, doc="the compressed network, fixed across the grid"),
        "d": Param("int", 0, lo=0, hi=DIM_MAX, doc="N-quantities: the input dimension"),
        "targets": Param("int", 0, lo=0, hi=TARGETS_MAX, doc="N-quantities: independent targets per N"),
        "xi": Param("str", "gaussian", choices=XI),
        "seed": Param("int", 0, lo=0, hi=SEED_MAX),
        "dps": Param("int", 20, lo=15, hi=60, doc="meanfield-gap: digits of the mpmath re-evaluation"),
    },
    tolerances=(),
    figures=("exponent", "exponent_lo", "exponent_hi", "constant", "constant_lo", "constant_hi"),
    run=run,
    check=check,
    prediction={
        "exponent": Param("float", lo=-10, hi=10, doc="the predicted exponent p in quantity ~ C variable^p"),
        "tolerance": Param("float", lo=0, hi=10, doc="absolute tolerance on p"),
        "constant": Param("float", 0.0, lo=-1e6, hi=1e6, doc="optional: the predicted C (0: not predicted)"),
        "constant_rel_tol": Param("float", 0.0, lo=0, hi=1, doc="relative tolerance on C"),
    },
    check_prediction=check_prediction,
))
