r"""Claim kind etf-grid (MATH.md section 6): mu != 0, the tilted ETF conjecture on a grid of
(M, d, ||mu|| / s): per instance `verify.pipeline.compress` (global search, the tilted ETF, a local
certificate, a certified lower bound and a verdict); d = M + 1 and d = 2M share one search.

experiment `measure`: the instances (units of (M, ||mu||/s), resumable: each is saved as it finishes); verdict `decide`:
refuted when an instance has a configuration that beats the tilted ETF (etf-not-optimal), verified
when every instance carries the evidence `_instance_ok` asks for, inconclusive otherwise; render
`render`: table, notes, figures and plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import SCALE_MAX, abar, need, positive, restarts, seed
from verify.claims.result import Context, Finding
from verify.claims.schema import Param

_OK_VERDICTS = ("etf-best-found", "etf-optimal-certified")


def _instance_ok(out: dict) -> bool:
    """The evidence an instance must carry for the claim (module doc of verify.pipeline.compress)."""
    return (out["verdict"] in _OK_VERDICTS and out["structure"]["class"] == "tilted-etf"
            and out["local_certificate"]["certified"] and out["lower_bound"]["certified"]
            and out["lower_bound"]["gap"] is not None and out["lower_bound"]["gap"] >= 0)


def _bounds(out: dict) -> tuple[dict, dict | None]:
    """(the one-signed bound: Delsarte with a pole, or the two-point bound; the sign-free certificate
    of `verify.certify.planar`, certified or not, or None). With the certificate, compress puts both
    in "alternatives" ([default, sign-free]) and keeps the certified one as the bound."""
    from verify.certify.planar import METHOD

    lb = out["lower_bound"]
    alts = lb.get("alternatives") or []
    free = next((a for a in alts if a["method"] == METHOD), None)
    return (alts[0] if free is not None else lb), free


def _gap_str(b: dict | None) -> str:
    return "-" if b is None or b.get("relative_gap") is None else f"{b['relative_gap']:.4f}" if b["relative_gap"] >= 1e-4 \
        else f"{b['relative_gap']:.1e}"


def _flat(alts: list) -> list:
    """The bounds of an "alternatives" list, nested ones (the default's own alternatives) expanded."""
    return [b for a in alts for b in (_flat(a["alternatives"]) if a.get("alternatives") else [a])]


def _methods(bounds: list[dict]) -> str:
    """Each method with its number of instances and its assumptions ('none' for a sign-free one)."""
    by = {}  # in the order the methods first appear
    for b in bounds:
        by.setdefault(b["method"], []).append(b)

    def assumed(bs):
        return ", ".join(dict.fromkeys(a for b in bs for a in b["assumptions"])) or "none"

    return "; ".join(f"{m} ({len(bs)} instances; assumptions: {assumed(bs)})" for m, bs in by.items())


def _etf_basin(out: dict) -> float:
    basins = out["search"]["basins"]
    hit = sum(b["restarts"] for b in basins[:1] if b["class"] == "tilted-etf")
    return hit / max(out["search"]["converged"], 1)


@dataclass
class Measured:
    Ms: list
    rules: list
    ratios: list
    outs: list = field(default_factory=list)  # one compress() record per instance, in grid order
    searches: dict = field(default_factory=dict)  # seconds of each search, by (M, d_eff, ratio)


def _unit(M: int, ratio: float, p: dict) -> dict:
    """The instances of one (M, ||mu||/s), every d rule: d = M + 1 and d = 2M share one search and
    one lower bound (L~ depends on d only through a span of dimension <= M + 1)."""
    from verify.certify.tilted import check_d_rules
    from verify.model.simplified import simplified_problem
    from verify.pipeline.compress import compress
    from verify.search.global_search import search_simplified

    rules = list(p["d_rules"])
    d_of = check_d_rules(rules)
    s, abar, R, seed = p["s"], p["abar"], p["restarts"], p["seed"]
    mu = ratio * s
    searches, bound_cache, outs = {}, {}, []
    for rule in rules:
        d = d_of[rule](M)
        d_eff = min(d, M + 1)
        if d_eff not in searches:
            searches[d_eff] = search_simplified(simplified_problem(d_eff, mu, s, abar), M, restarts=R, seed=seed)
        out = compress(M, d, mu, s, abar, restarts=R, seed=seed, search=searches[d_eff], bound_cache=bound_cache,
                       pole_bound=M <= p["pole_M_max"] and ratio <= p["pole_ratio_max"],
                       certify=M <= p["certify_M_max"]).to_dict()
        out["ratio"], out["rule"], out["shared_search_dim"] = ratio, rule, d_eff
        out["search"]["restarts"] = R
        outs.append(out)
    return {"outs": outs, "search_seconds": {str(k): v.seconds for k, v in searches.items()}}


def measure(p: dict, ctx: Context) -> Measured:
    """Every instance, one unit of `ctx.map` per (M, ||mu||/s) (resumable; on the cluster when the
    claim runs on one), in grid order."""
    Ms = list(range(p["M_min"], p["M_max"] + 1))
    m = Measured(Ms, list(p["d_rules"]), list(p["ratios"]))
    calls = {f"{M},{ratio!r}": (M, ratio, p) for M in Ms for ratio in m.ratios}
    ctx.progress(f"{len(calls)} units (M, ||mu||/s) of {len(m.rules)} instances each")
    # cost: the search and the bounds grow fast with M (the largest M start first on a cluster); the
    # sign-free certificate with ||mu||/s (0.3 s at 0.25, 120 s at 8: certify_m2.json), M^4 ~ 80 / s
    def cost(key):
        M, ratio = int(key.split(",")[0]), float(key.split(",")[1])
        return float(M) ** 4 + (400.0 * ratio ** 1.5 if M <= p["certify_M_max"] else 0.0)

    res = ctx.map(_unit, calls, what="(M, ||mu||/s) units", cost=cost)
    for (M, ratio, _p), r in zip(calls.values(), res.values()):
        m.outs += r["outs"]
        for d_eff, sec in r["search_seconds"].items():
            m.searches[(M, int(d_eff), ratio)] = sec
    return m


def decide(outs: list[dict]) -> str:
    """refuted when some instance's verdict is etf-not-optimal; verified when every instance is
    `_instance_ok`; inconclusive otherwise."""
    if any(o["verdict"] == "etf-not-optimal" for o in outs):
        return "refuted"
    return "verified" if all(_instance_ok(o) for o in outs) else "inconclusive"


def render(p: dict, m: Measured, status: str, ctx: Context) -> Finding:
    import numpy as np

    Ms, rules, ratios, outs, searches = m.Ms, m.rules, m.ratios, m.outs, m.searches
    s, abar = p["s"], p["abar"]
    R, seed = p["restarts"], p["seed"]
    rows, notes = [], []
    ok = [_instance_ok(o) for o in outs]
    refuted = [o for o in outs if o["verdict"] == "etf-not-optimal"]
    pairs = [_bounds(o) for o in outs]
    # the gap figures and plot: the one-signed bound's (the sign-free certificate has its own figures)
    gaps = [old["relative_gap"] for old, _f in pairs if old.get("relative_gap") is not None]
    basins = [_etf_basin(o) for o in outs]
    sign_free = p["certify_M_max"] > 0  # the table shows the sign-free certificate beside the old bound
    for o, good, basin, (old, free) in zip(outs, ok, basins, pairs):
        rows.append([o["M"], o["d"], o["ratio"], o["etf"]["alpha"][:14], o["etf"]["beta"][:14], o["etf"]["loss"][:22],
                     o["structure"]["class"], f"{basin:.3f}", o["search"]["distinct_minima"],
                     f"{o['search']['converged']}/{o['search']['restarts']}",
                     f"{o['local_certificate']['min_eigenvalue']:.3e}" if o["local_certificate"]["certified"] else
                     o["local_certificate"]["status"],
                     old["value"][:14] if old["value"] is not None else "-", _gap_str(old),
                     *([_gap_str(free) if free is not None and free["certified"] else "-"] if sign_free else []),
                     o["verdict"] + ("" if good else " (!)")])
    for o, good in zip(outs, ok):
        if not good:
            notes.append(f"M = {o['M']}, d = {o['d']}, ||mu||/s = {o['ratio']}: verdict {o['verdict']}, best class "
                         f"{o['structure']['class']} ({o['structure']['description']}), local certificate "
                         f"{o['local_certificate']['status']}: {o['local_certificate'].get('reason') or ''}")
    seconds = sum(searches.values())
    notes.append(f"{len(searches)} distinct searches of {R} restarts (seed {seed}) this run, {seconds:.0f} s; d = M + 1 and "
                 "d = 2M share one search and one bound (L~ depends on d only through the span of mu and the M "
                 "directions, of dimension <= M + 1)")
    notes.append("lower bounds (the best certified per instance): " + _methods([o["lower_bound"] for o in outs]))
    free = [(o, f) for o, (_old, f) in zip(outs, pairs) if f is not None]
    free_gaps = [f["relative_gap"] for _o, f in free if f["certified"] and f["relative_gap"] is not None]
    if free:
        worst = max(free, key=lambda of: of[1]["boxes"])
        notes.append(f"sign-free certificates ({free[0][1]['method']}, assumptions: none) for {len(free)} instances "
                     f"(M <= {p['certify_M_max']}): {sum(f['certified'] for _o, f in free)} certified bounds, "
                     f"{sum(f['optimal'] for _o, f in free)} meeting the ETF loss to <= 1e-20 relative"
                     + (f" (largest relative gap {max(free_gaps):.1e})" if free_gaps else "")
                     + f"; at most {worst[1]['boxes']} boxes ({worst[1]['seconds']:.0f} s, ||mu||/s = {worst[0]['ratio']}); "
                     "the column 'sign-free gap' is that bound's, the columns before it the one-signed bound's")
    for o in outs:
        alts = o["lower_bound"].get("alternatives")
        if alts:
            notes.append(f"M = {o['M']}, d = {o['d']}, ||mu||/s = {o['ratio']}: " + "; ".join(
                f"{a['method']}: " + (f"certified, relative gap {a['relative_gap']:.2e}" if a["certified"] else "not certified")
                for a in _flat(alts)))
    worst_grad = max(o["search"]["max_grad_norm"] for o in outs)
    figures = {"instances": float(len(outs)), "etf_best": float(sum(o["verdict"] in _OK_VERDICTS for o in outs)),
               "all_ok": float(sum(ok)), "local_certified": float(sum(o["local_certificate"]["certified"] for o in outs)),
               "bound_certified": float(sum(o["lower_bound"]["certified"] for o in outs)),
               "max_relative_gap": max(gaps) if gaps else float("nan"),
               "median_relative_gap": float(np.median(gaps)) if gaps else float("nan"),
               "min_etf_basin": min(basins), "max_grad_norm": worst_grad,
               "min_relative_gap": min(gaps) if gaps else float("nan"),
               "min_converged_fraction": min(o["search"]["converged"] / R for o in outs),
               "sign_free_optimal": float(sum(f["optimal"] for _o, f in free)),
               "max_sign_free_relative_gap": max(free_gaps, default=float("nan"))}
    if ctx.make_plots:
        _etf_grid_plots(ctx, outs, Ms, ratios, s, abar)
    summary = (f"{sum(ok)}/{len(outs)} instances (M = {Ms[0]}..{Ms[-1]}, d in {{{', '.join(rules)}}}, ||mu||/s in "
               f"{ratios}): the tilted ETF is the best of {R} restarts, a certified strict local minimum, above a "
               f"certified lower bound (one-signed output weights; relative gap {figures['min_relative_gap']:.2g}.."
               f"{figures['max_relative_gap']:.3f}, median {figures['median_relative_gap']:.3f}); ETF basins >= "
               f"{min(basins):.2f} of converged restarts")
    if free:
        summary += (f"; {int(figures['sign_free_optimal'])} of {len(free)} instances with the sign-free certificate "
                    f"(M <= {p['certify_M_max']}) certified globally optimal with no sign assumption"
                    + (f" (relative gap <= {max(free_gaps):.1e})" if free_gaps else ""))
    if refuted:
        summary = f"{len(refuted)} instances where a configuration beats the tilted ETF (30-digit values): " + summary
    return Finding(status=status, summary=summary, figures=figures, key_figure="all_ok",
                   columns=["M", "d", "||mu||/s", "alpha*", "beta*", "ETF loss", "best found", "ETF basin",
                            "distinct minima", "converged", "local cert. (min eig.)", "certified lower bound",
                            "relative gap", *(["sign-free gap"] if sign_free else []), "verdict"],
                   rows=rows, seeds=[seed], precision={"etf_digits": 40, "search": "float64 + extended-precision polish",
                                                        "values": "mpmath 30 digits", "certificates": "arb 128 bits"},
                   notes=notes, plots=list(ctx.plots))


def _etf_grid_plots(ctx: Context, outs, Ms, ratios, s, abar) -> None:
    import numpy as np

    from verify.claims.result import pyplot
    from verify.model.etf import best_etf

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    fine = np.geomspace(min(ratios) / 2, max(ratios) * 1.5, 25)
    for M in Ms:
        al, be = [], []
        for r in fine:
            e = best_etf(M, float(r) * s, s, abar, dps=20)
            al.append(float(e.alpha))
            be.append(float(e.beta))
        (ln,) = axes[0].semilogx(fine, al, label=f"M = {M}")
        axes[1].loglog(fine, be, color=ln.get_color())
        pts = [o for o in outs if o["M"] == M and o["rule"] == "M"]
        axes[0].plot([o["ratio"] for o in pts], [float(o["etf"]["alpha"]) for o in pts], "o", color=ln.get_color(), ms=3)
        axes[1].plot([o["ratio"] for o in pts], [float(o["etf"]["beta"]) for o in pts], "o", color=ln.get_color(), ms=3)
    axes[0].set(xlabel="||mu|| / s", ylabel="alpha* (tilt: <theta_j, mu_hat>)", title="orientation of the optimal ETF")
    axes[1].set(xlabel="||mu|| / s", ylabel="beta* (output weight b_j ||v_j||)", title="scale of the optimal ETF")
    axes[0].legend(fontsize=7, ncol=2)
    ctx.save_figure(fig, "alpha-beta")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for rule, mk, size in (("M", "o", 18), ("M+1", "s", 30), ("2M", "x", 18)):
        pts = [(o, _bounds(o)[0]) for o in outs if o["rule"] == rule]
        pts = [(o, b) for o, b in pts if b.get("relative_gap") is not None]
        if pts:
            sc = ax.scatter([o["ratio"] * (1 + 0.03 * (o["M"] - 6)) for o, _b in pts], [b["relative_gap"] for _o, b in pts],
                            c=[o["M"] for o, _b in pts], marker=mk, cmap="viridis", s=size, label=f"d = {rule}")
    ax.set(xscale="log", yscale="log", xlabel="||mu|| / s (points offset by M)",
           ylabel="(ETF loss - certified bound) / ETF loss",
           title="certified one-signed gap per instance (d = 2M equals d = M + 1)")
    ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    fig.colorbar(sc, ax=ax, label="M")
    ctx.save_figure(fig, "gaps")
    picks = [o for o in outs if o["rule"] == "M+1" and o["M"] == max(Ms)]
    picks = [picks[0], picks[len(picks) // 2], picks[-1]] if len(picks) >= 3 else picks
    if picks:
        # The directions theta_j = t_j mu_hat + sqrt(1 - t_j^2) e_j: the tilts t_j and the Gram
        # matrix of the unit components e_j orthogonal to mu_hat (a regular simplex, off-diagonal
        # -1/(M - 1), for a tilted ETF around mu_hat).
        fig, axes = plt.subplots(1, len(picks), figsize=(4 * len(picks), 3.6))
        for ax, o in zip(np.atleast_1d(axes), picks):
            V = np.array(o["best"]["V"])
            th = V / np.linalg.norm(V, axis=1, keepdims=True)
            e = th.copy()
            e[:, 0] = 0.0
            e /= np.linalg.norm(e, axis=1, keepdims=True)
            im = ax.imshow(e @ e.T, vmin=-1, vmax=1, cmap="RdBu_r")
            ax.set_title(f"M = {o['M']}, d = {o['d']}, ||mu||/s = {o['ratio']}\ntilts t_j in [{th[:, 0].min():.6f}, "
                         f"{th[:, 0].max():.6f}]", fontsize=9)
        fig.suptitle("best found: Gram matrix of the directions' components orthogonal to mu_hat", fontsize=10)
        fig.colorbar(im, ax=list(np.atleast_1d(axes)))
        ctx.save_figure(fig, "gram")


def run(claim, ctx: Context) -> Finding:
    p = claim.parameters
    m = measure(p, ctx)
    return render(p, m, decide(m.outs), ctx)


def check(p: dict) -> None:
    need(p["M_min"] <= p["M_max"], f"M_min = {p['M_min']} > M_max = {p['M_max']}: the grid is empty")
    need(len(set(p["d_rules"])) == len(p["d_rules"]), "d_rules lists a rule twice")
    need(len(set(p["ratios"])) == len(p["ratios"]), "ratios lists a value twice")


register(Kind(
    name="etf-grid",
    params={"M_min": Param("int", 2, lo=2, hi=64), "M_max": Param("int", 10, lo=2, hi=64),
            "d_rules": Param("list[str]", ["M", "M+1", "2M"], choices=("M", "M+1", "2M")),
            "ratios": Param("list[float]", [0.25, 0.5, 1.0, 2.0, 4.0, 8.0], lo=0, lo_open=True, hi=SCALE_MAX),
            "s": positive(1.0), "abar": abar(1.0), "restarts": restarts(1000), "seed": seed(0),
            "pole_M_max": Param("int", 0, lo=0, hi=64), "pole_ratio_max": Param("float", 0.0, lo=0, hi=SCALE_MAX),
            "certify_M_max": Param("int", 0, lo=0, hi=2)},  # the sign-free certificate covers M = 2 so far
    tolerances=(),
    figures=("instances", "etf_best", "all_ok", "local_certified", "bound_certified", "max_relative_gap", "min_relative_gap",
             "median_relative_gap", "min_etf_basin", "max_grad_norm", "min_converged_fraction", "sign_free_optimal",
             "max_sign_free_relative_gap"),
    run=run,
    check=check,
))
