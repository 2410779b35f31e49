r"""Claim kind etf-beyond-relu: does the tilted-ETF structure of MATH.md section 6 persist for other
activations? (Issue 4, item 6: exploratory.)

For each activation and each point (M, d = M + d_offset, ||mu|| / s) it compares

- the best configuration found by the global search of min_b L~(b, V) over V
  (`verify.search.general.search_general`: `restarts` random starts, batched L-BFGS, minima
  deduplicated modulo symmetry), with its structure (`verify.search.structure.classify`; for
  non-homogeneous activations also the spread of the norms ||v_j||, which an ETF has equal), and
- the best member of the tilted-ETF family v_j = rho (alpha hat(mu) + sqrt(1 - alpha^2) e_j)
  (`verify.model.general.best_etf_family`: common norm rho and tilt alpha, equal weights),

both with norms in [rho_min r, rho_max r] (r^2 = ||mu||^2 + s^2; the Mehler path lowers rho_max
where its float64 series is not accurate: `MehlerPair.max_norm`).

Verdict per point (`point_verdict`), with diff = (best found) - (best ETF) in float64, err its error
estimate (kernel error estimates weighted by |b|, `GeneralProblem.value_error`) and atol the
claim's `value_atol`:
  etf-best-found  the best found is a tilted ETF around hat(mu) (equal norms for non-homogeneous
                  activations) and |diff| <= atol + err;
  etf-beaten      diff < -(atol + err) in float64 AND the same at `dps` digits (both values
                  re-evaluated with the mpmath kernels: closed forms, or the suite's mpmath
                  quadrature for activations without one; MATH.md section 7);
  etf-best-known  diff > atol + err: no start reached a value as low as the ETF's;
  inconclusive    anything else (float64 and mpmath disagree, or a tie with another structure).
ReLU rows are the control: the search must come out tilted-etf and the family and the best found
must match `verify.model.etf.best_etf` (40 digits) within `control_atol`; otherwise the checker
is broken and the status is "error".

Status: "refuted" when some activation has an etf-beaten point (a configuration, re-evaluated at
high precision, below every ETF family member in the same norm box: the structure does not
persist there); otherwise "inconclusive" (a search cannot prove a global minimum). The claim file
expects "open".
"""

from __future__ import annotations

import math
import time

import numpy as np

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import DIM_MAX, SCALE_MAX, abar as _abar, activation, dps, need, positive, restarts, seed as _seed
from verify.claims.result import Context, Finding, pyplot
from verify.claims.schema import Param
from verify.model.networks import mu_along_e1

VERDICTS = ("etf-best-found", "etf-beaten", "etf-best-known", "inconclusive")


def point_verdict(diff: float, err: float, atol: float, is_etf: bool, diff_mp=None, err_mp: float = 0.0) -> str:
    """The verdict at one point (module docstring). diff_mp: the difference at high precision
    (None when it was not computed; then no etf-beaten verdict can be given)."""
    band = atol + err
    if is_etf and abs(diff) <= band:
        return "etf-best-found"
    if diff < -band:
        if diff_mp is not None and diff_mp < -(atol + err_mp) and abs(diff_mp - diff) <= band + err_mp + 1e-3 * abs(diff):
            return "etf-beaten"
        return "inconclusive"
    if diff > band:
        return "etf-best-known"
    return "inconclusive"


def _structure(best, mu, homogeneous: bool, tol: float):
    from verify.search.structure import classify

    st = classify(best.b, best.V, mu, tol=tol)
    cls, desc = st.cls, st.description
    if not homogeneous and cls == "tilted-etf" and best.norm_spread > tol:
        cls, desc = "other", f"directions a tilted ETF but unequal norms (spread {best.norm_spread:.3g}); " + desc
    return cls, desc


def evaluate_point(act: str, M: int, d: int, ratio: float, p: dict, tol: dict, progress=lambda m: None,
                   etf_override=None) -> dict:
    """Everything the report says about one (activation, M, d, ||mu||/s) point.

    etf_override: an `ETFFamilyOptimum` to use instead of the computed one (tests plant a worse
    "best ETF" here to check that the verdict reacts)."""
    from verify.model.general import (
        GeneralProblem,
        best_etf_family,
        etf_family_network,
        etf_family_value,
        etf_family_value_mp,
    )
    from verify.search.general import search_general

    s = p["s"]
    mu = mu_along_e1(d, ratio * s)
    prob = GeneralProblem(mu, s, p["abar"], act)
    hom = prob.pk.homogeneous
    bounds = (p["rho_min"] * prob.r, p["rho_max"] * prob.r)
    t0 = time.perf_counter()
    etf = etf_override or best_etf_family(prob, M, bounds, grid=(41, 101))
    res = search_general(prob, M, restarts=p["restarts"], seed=p["seed"], gtol=tol["gtol"], rho_bounds=bounds,
                         progress=progress)
    if not res.minima:
        raise RuntimeError(f"{act}, M = {M}: no restart converged to gtol = {tol['gtol']}")
    best = res.best
    cls, desc = _structure(best, mu, hom, tol["structure"])
    b_e, V_e = etf_family_network(etf, mu)
    err = best.value_error + prob.value_error(b_e, V_e)
    diff = best.value - etf.value
    band = tol["value_atol"] + err
    out = {"activation": prob.activation.label, "path": prob.pk.path, "M": M, "d": d, "ratio": ratio, "r": prob.r,
           "etf": etf, "best": best, "search": res, "cls": cls, "desc": desc, "diff": diff, "err": err,
           "homogeneous": hom, "rho_bounds": res.rho_bounds,
           "mu_norm": ratio * s, "s": s, "abar": p["abar"]}
    # Second-best distinct minimum (how far the next structure is).
    out["next_gap"] = res.minima[1].value - best.value if len(res.minima) > 1 else math.inf
    # High precision: the ETF family value always (4 kernel values), the best found where the
    # verdict rests on the difference (a candidate better configuration, or a mismatch).
    dps = p["dps"]
    etf_mp = etf_family_value_mp(prob, M, etf.rho, etf.alpha, dps=dps)
    out["etf_mp"] = etf_mp
    out["etf_float_vs_mp"] = abs(float(etf_mp) - etf.value)
    diff_mp = None
    err_mp = 10.0 ** (5 - dps) * (1 + abs(prob.T))
    if not (cls == "tilted-etf" and abs(diff) <= band):
        progress(f"{act}, M = {M}, ||mu||/s = {ratio}: mpmath re-evaluation of the best found ({dps} digits)")
        best_mp = prob.reduced_value_mp(best.V, dps=dps)
        out["best_mp"] = best_mp
        diff_mp = float(best_mp - etf_mp)
    out["diff_mp"] = diff_mp
    out["err_mp"] = err_mp
    out["verdict"] = point_verdict(diff, err, tol["value_atol"], cls == "tilted-etf", diff_mp, err_mp)
    # For an ETF optimum at the upper norm bound: the family far beyond it (is the infimum lower?).
    if etf.at_norm_bound and etf.rho >= bounds[1] * (1 - 1e-6) and prob.pk.max_norm == math.inf:
        al = np.linspace(-1, 1, 2001)
        far = etf_family_value(prob, M, 1e3 * prob.r, al)[0]
        out["etf_far"] = float(np.min(far))
    out["seconds"] = time.perf_counter() - t0
    return out


def _control(pt: dict) -> float:
    """ReLU control: max deviation of the family optimum and of the best found from best_etf."""
    from verify.model.etf import best_etf

    ref_loss = float(best_etf(pt["M"], pt["mu_norm"], pt["s"], pt["abar"]).loss)
    return max(abs(pt["etf"].value - ref_loss), abs(pt["best"].value - ref_loss))


def _fmt(x: float, digits: int = 6) -> str:
    return "inf" if x == math.inf else f"{x:.{digits}g}"


def measure(p: dict, tol: dict, ctx: Context) -> list[dict]:
    """evaluate_point at every (activation, M, ||mu||/s) of the grid."""
    points = []
    for entry in p["activations"]:
        act = entry["activation"]
        pa = dict(p, restarts=entry["restarts"] or p["restarts"])
        for M in p["Ms"]:
            for ratio in p["ratios"]:
                d = M + p["d_offset"]
                ctx.progress(f"{act}: M = {M}, d = {d}, ||mu||/s = {ratio} ({pa['restarts']} restarts)")
                points.append(evaluate_point(act, M, d, ratio, pa, tol, progress=ctx.progress))
    return points


def decide(verdicts: list[tuple[str, str]], control_ok: bool) -> str:
    """verdicts: (activation label, point verdict). error when the ReLU control failed (the search is
    not trusted); refuted when a non-ReLU activation has an etf-beaten point; inconclusive otherwise
    (a search cannot prove a global minimum)."""
    if not control_ok:
        return "error"
    return "refuted" if any(v == "etf-beaten" for act, v in verdicts if act != "relu") else "inconclusive"


def control_deviation(points: list[dict], tol: dict) -> tuple[float, bool]:
    """(max deviation of the ReLU control points from best_etf, whether the control holds)."""
    control_dev, control_ok = 0.0, True
    for pt in points:
        if pt["activation"] == "relu":
            dev = _control(pt)
            control_dev = max(control_dev, dev)
            control_ok &= pt["cls"] == "tilted-etf" and dev <= tol["control_atol"]
    return control_dev, control_ok


def render(p: dict, tol: dict, points: list[dict], status: str, ctx: Context) -> Finding:
    rows, notes = [], []
    control_dev, control_ok = control_deviation(points, tol)
    per_act: dict[str, list] = {}
    for pt in points:
        e, b, res = pt["etf"], pt["best"], pt["search"]
        is_control = pt["activation"] == "relu"
        per_act.setdefault(pt["activation"], []).append(pt)
        r = pt["r"]
        norms = "-" if pt["homogeneous"] else ", ".join(f"{x / r:.3g}" for x in np.sort(b.norms))
        rows.append([
            pt["activation"] + (" (control)" if is_control else ""), pt["M"], pt["d"], pt["ratio"],
            _fmt(b.value, 10), _fmt(e.value, 10),
            f"{pt['diff']:+.3e} +- {pt['err']:.1e}",
            "-" if pt["diff_mp"] is None else f"{pt['diff_mp']:+.3e}",
            f"{pt['etf_float_vs_mp']:.1e}",
            pt["cls"],
            "-" if pt["homogeneous"] else f"{b.norm_spread:.3g}",
            norms,
            "-" if pt["homogeneous"] else f"{e.rho / r:.4g}" + (" (bound)" if e.at_norm_bound else ""),
            f"{e.alpha:.6f}" + (" (collapsed)" if e.collapsed else ""),
            f"{b.count}/{res.converged} of {res.restarts}",
            len(res.minima),
            f"{b.grad_norm:.1e}",
            pt["verdict"],
        ])
        notes.append(f"{pt['activation']}, M = {pt['M']}, ||mu||/s = {pt['ratio']}: best found: {pt['desc']}"
                     + ("; norms at the box bound" if b.at_norm_bound else "")
                     + (f"; next distinct minimum {_fmt(pt['next_gap'], 3)} higher" if pt["next_gap"] < math.inf else "")
                     + (f"; ETF family at rho = 1000 r: {pt['etf_far']:.8g} (the infimum beyond the box)" if "etf_far" in pt else "")
                     + f"; {pt['seconds']:.1f} s")
    summary_parts = []
    beaten_any = False
    figures: dict[str, float] = {}
    for act, pts in per_act.items():
        verdicts = [q["verdict"] for q in pts]
        n_found = verdicts.count("etf-best-found")
        n_beaten = verdicts.count("etf-beaten")
        figures[f"persisted[{act}]"] = float(n_found)
        figures[f"beaten[{act}]"] = float(n_beaten)
        if act != "relu":
            beaten_any |= n_beaten > 0
        if n_found == len(pts):
            word = f"persisted at all {len(pts)} points (best found = best ETF)"
        elif n_beaten == len(pts):
            word = f"did not persist at any of {len(pts)} points (beaten, confirmed at {p['dps']} digits)"
        else:
            word = ", ".join(f"{verdicts.count(v)} {v}" for v in VERDICTS if verdicts.count(v))
        summary_parts.append(f"{act}{' (control)' if act == 'relu' else ''}: {word}")
    beaten = [q for q in points if q["verdict"] == "etf-beaten"]
    figures.update({
        "points": float(len(points)),
        "control_max_dev": control_dev,
        "etf_best_found_points": float(sum(q["verdict"] == "etf-best-found" for q in points)),
        "etf_beaten_points": float(len(beaten)),
        "max_rel_gain_over_etf": max((-q["diff_mp"] / q["etf"].value for q in beaten), default=0.0),
        "max_etf_float_vs_mp": max(q["etf_float_vs_mp"] for q in points),
        "seconds": float(sum(q["seconds"] for q in points)),
    })
    if ctx.make_plots:
        _plots(ctx, points)
    if not control_ok:
        summary = (f"ReLU control failed (max deviation from best_etf {control_dev:.1e}, or the best found is not a "
                   f"tilted ETF): the search is not trusted. " + "; ".join(summary_parts))
    else:
        has_relu = any(q["activation"] == "relu" for q in points)
        summary = "; ".join(summary_parts) + (f". ReLU control within {control_dev:.1e} of best_etf." if has_relu
                                               else ". No ReLU control in this claim.")
    notes.insert(0, "Values are min_b L~(b, V) (b solved exactly). diff = best found - best ETF in float64 with its "
                 "error estimate; diff (mpmath) re-evaluates both at the claim's dps (only where the verdict rests "
                 "on it); |ETF float - mp| validates the float64 path at the ETF. Norms are in units of r = sqrt(||mu||^2 + s^2); "
                 "the norm box is [rho_min r, rho_max r] (lowered to the Mehler path's accurate range where needed: "
                 + ", ".join(sorted({f"{q['activation']}: rho_max = {q['rho_bounds'][1] / q['r']:.3g} r" for q in points
                                     if not q['homogeneous']})) + ").")
    return Finding(
        status=status,
        summary=summary,
        figures=figures,
        key_figure="etf_beaten_points",
        columns=["activation", "M", "d", "||mu||/s", "best found", "best ETF", "diff (float64)", "diff (mpmath)",
                 "|ETF float - mp|", "structure of best", "norm spread", "norms / r", "ETF rho / r", "ETF tilt alpha",
                 "basin (best/converged of restarts)", "distinct minima", "grad norm", "verdict"],
        rows=rows,
        seeds=[p["seed"]],
        precision={"float64": True, "mpmath_dps": p["dps"],
                   "kernel_paths": {q["activation"]: q["path"] for q in points}},
        notes=notes,
        plots=list(ctx.plots),
    )


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    points = measure(p, tol, ctx)
    _, control_ok = control_deviation(points, tol)
    return render(p, tol, points, decide([(q["activation"], q["verdict"]) for q in points], control_ok), ctx)


def check(p: dict) -> None:
    need(p["rho_min"] < p["rho_max"], f"need rho_min < rho_max, got {p['rho_min']} and {p['rho_max']}")
    need(len(set(p["Ms"])) == len(p["Ms"]) and len(set(p["ratios"])) == len(p["ratios"]), "Ms and ratios must not list a value twice")


def _plots(ctx: Context, points: list) -> None:
    plt = pyplot()
    acts = list(dict.fromkeys(q["activation"] for q in points))
    labels = list(dict.fromkeys(f"M={q['M']}, {q['ratio']:g}" for q in points))
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, act in enumerate(acts):
        pts = [q for q in points if q["activation"] == act]
        xs = np.array([labels.index(f"M={q['M']}, {q['ratio']:g}") + 0.08 * (k - len(acts) / 2) for q in pts])
        gap = np.array([(q["diff_mp"] if q["diff_mp"] is not None else q["diff"]) / q["etf"].value for q in pts])
        below = np.array([q["verdict"] == "etf-beaten" for q in pts])
        ys = np.maximum(np.abs(gap), 1e-17)
        line, = ax.semilogy(xs[below], ys[below], "o", label=f"{act}: beaten")
        ax.semilogy(xs[~below], ys[~below], "o", mfc="none", color=line.get_color(), label=f"{act}: not beaten")
    ax.set_xticks(range(len(labels)), labels)
    ax.set(xlabel="point (M, ||mu||/s)", ylabel="|best found - best ETF| / best ETF (floor 1e-17)",
           title="filled: a non-ETF configuration beats every ETF family member")
    ax.legend(fontsize=7, ncol=2)
    ctx.save_figure(fig, "gap")
    # Gram matrices of the best found (directions; norms / r in the title), at the last point of each activation.
    fig, axes = plt.subplots(1, len(acts), figsize=(3.2 * len(acts), 3.4), squeeze=False)
    for ax, act in zip(axes[0], acts):
        q = [x for x in points if x["activation"] == act][-1]
        V = q["best"].V
        th = V / np.linalg.norm(V, axis=1, keepdims=True)
        order = np.argsort(th @ np.eye(V.shape[1])[0])
        G = (th @ th.T)[np.ix_(order, order)]
        ax.imshow(G, vmin=-1, vmax=1, cmap="RdBu_r")
        for i in range(G.shape[0]):
            for j in range(G.shape[1]):
                ax.text(j, i, f"{G[i, j]:.2f}", ha="center", va="center", fontsize=7)
        nr = "" if q["homogeneous"] else "\nnorms/r " + ", ".join(f"{x:.2g}" for x in np.sort(q["best"].norms) / q["r"])
        ax.set_title(f"{act}, M={q['M']}, {q['ratio']:g}: {q['cls']}{nr}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    ctx.save_figure(fig, "gram")


register(Kind(
    name="etf-beyond-relu",
    params={
        "activations": Param("list[table]", fields={"activation": activation(),
                                                    "restarts": restarts(0, lo=0)}),  # 0: the claim's restarts
        "Ms": Param("list[int]", lo=2, hi=64),
        "ratios": Param("list[float]", lo=0, lo_open=True, hi=SCALE_MAX),
        "d_offset": Param("int", 1, lo=0, hi=DIM_MAX, doc="d = M + d_offset"),
        "s": positive(1.0),
        "abar": _abar(1.0),
        "restarts": restarts(100),
        "seed": _seed(0),
        "rho_min": positive(0.01),
        "rho_max": positive(10.0),
        "dps": dps(15),
    },
    tolerances=("value_atol", "control_atol", "structure", "gtol"),
    figures=("points", "control_max_dev", "etf_best_found_points", "etf_beaten_points", "max_rel_gain_over_etf",
             "max_etf_float_vs_mp", "seconds"),
    run=run,
    check=check,
))
