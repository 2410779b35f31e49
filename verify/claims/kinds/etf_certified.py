r"""Claim kind etf-certified (MATH.md section 6; issue 10): on a grid of (M, d, ||mu||/s), the tilted
simplex ETF is a certified global minimizer of L~ over ALL networks of M neurons, output weights
of any sign, by a certified lower bound that meets its loss up to a relative gap <= `gap`.

Method per (M, ||mu||/s), one unit of `ctx.map` (the bound does not depend on d >= 2 for M = 2:
the plane lemma of `verify.certify.planar`): `certify_m2` (the plane lemma, a branch and bound in
arb over the two angles, an exclusion box around the ETF certified by its Hessian); the ETF's loss
is `best_etf` at 40 digits. Only M = 2 has a certificate so far: a claim file with another M is
refused at load (no method, no verdict).

experiment `measure`; verdict `decide`: verified when every instance is certified with relative
gap <= gap, inconclusive otherwise (an uncertified instance is not a counterexample); `render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import SCALE_MAX, need
from verify.claims.result import Context, Finding
from verify.claims.schema import Param

def _unit(M: int, ratio: float, s: float, abar: float) -> dict:
    """The certificate of one (M, ||mu||/s) as plain values (a unit of ctx.map)."""
    import mpmath

    from verify.certify.planar import certify_m2
    from verify.model.etf import best_etf

    b = certify_m2(ratio * s, s, abar)
    etf = best_etf(M, ratio * s, s, abar, dps=40)
    return {"certified": b.certified, "optimal": b.optimal, "lo": b.ball[0], "hi": b.ball[1],
            "etf_loss": mpmath.nstr(etf.loss, 30), "relative_gap": b.relative_gap, "boxes": b.boxes,
            "pruned_bound": b.pruned["bound"], "pruned_exclusion": b.pruned["exclusion"], "min_margin": b.min_margin,
            "radius": b.radius[0], "lam": b.lam, "seconds": b.seconds, "method": b.method,
            "assumptions": list(b.as_certified_bound().assumptions), "notes": list(b.notes)}


@dataclass
class Measured:
    instances: list = field(default_factory=list)  # (M, d, ratio, unit dict)


def measure(p: dict, ctx: Context) -> Measured:
    from verify.certify.tilted import D_RULES

    calls = {f"{M},{ratio!r}": (M, ratio, p["s"], p["abar"]) for M in p["Ms"] for ratio in p["ratios"]}
    ctx.progress(f"{len(calls)} certificates (M, ||mu||/s), each for d in {list(p['d_rules'])}")
    res = ctx.map(_unit, calls, what="certificates", cost=lambda key: float(key.split(",")[1]) ** 1.5)
    m = Measured()
    for (M, ratio, _s, _a), r in zip(calls.values(), res.values()):
        for rule in p["d_rules"]:
            m.instances.append((M, D_RULES[rule](M), ratio, r))
    return m


def decide(m: Measured, tol: dict) -> str:
    ok = all(r["certified"] and r["optimal"] and r["relative_gap"] is not None and r["relative_gap"] <= tol["gap"]
             for *_, r in m.instances)
    return "verified" if ok else "inconclusive"


def render(p: dict, m: Measured, status: str, ctx: Context) -> Finding:
    rows, worst, secs, n_ok = [], 0.0, 0.0, 0
    for M, d, ratio, r in m.instances:
        ok = r["certified"] and r["optimal"]
        n_ok += ok
        worst = max(worst, r["relative_gap"] if r["relative_gap"] is not None else float("inf"))
        secs = max(secs, r["seconds"])
        rows.append([M, d, ratio, r["lo"], r["etf_loss"], f"{r['relative_gap']:.1e}" if r["relative_gap"] is not None else "-",
                     "yes" if ok else "NO", r["boxes"], f"{r['pruned_bound']} / {r['pruned_exclusion']}",
                     f"{r['min_margin']:.1e}", f"{r['radius']:.2e}", f"{r['seconds']:.1f}",
                     ", ".join(r["assumptions"]) or "none", r["method"]])
    n = len(m.instances)
    assumptions = sorted({a for *_, r in m.instances for a in r["assumptions"]})
    notes = [
        "What is proven: for every network of M = 2 neurons (b of any sign, any d >= 2), L~(b, V) >= the certified "
        "bound; the tilted ETF attains the bound up to the relative gap shown (balls of 128-bit arb arithmetic).",
        "Assumptions: " + (", ".join(assumptions) if assumptions else "none (the output weights may have any signs)") + ".",
        "Method (verify.certify.planar): beta eliminated exactly; the plane lemma (the best inner product of two "
        "directions at fixed tilts is an end of its range, so the pair and hat(mu) are coplanar); a branch and bound "
        "over the two angles in arb (bounds from monotone K, K', a mean-value form, and a coincident-pair bound); "
        "an exclusion box around the ETF where the Hessian enclosure proves strict concavity.",
        "Columns 'pruned': boxes bounded below the ETF's value / boxes inside the exclusion box; 'margin': the "
        "smallest certified amount by which a pruned box's bound is below the ETF's value; 'E radius': the "
        "exclusion box's half-width (radians).",
        "d enters only through d >= 2 for M = 2: the rows of one (M, ||mu||/s) share one certificate.",
    ]
    figures = {"instances": float(n), "certified": float(n_ok), "max_relative_gap": worst, "max_seconds": secs}
    return Finding(
        status=status,
        summary=(f"{n_ok}/{n} instances (M = {sorted({M for M, *_ in m.instances})}, d in {list(p['d_rules'])}, "
                 f"||mu||/s in {list(p['ratios'])}): the tilted ETF is a certified global minimizer of L~ over all networks, "
                 f"no sign assumption, relative gap <= {worst:.1e}; slowest certificate {secs:.1f} s"),
        figures=figures,
        key_figure="certified",
        columns=["M", "d", "||mu||/s", "certified bound (lo)", "ETF loss", "relative gap", "optimal", "boxes",
                 "pruned (bound / excl.)", "margin", "E radius", "seconds", "assumptions", "method"],
        rows=rows,
        precision={"arb_prec_bits": 128, "box_prec_bits": 64, "etf_dps": 40},
        notes=notes,
        plots=list(ctx.plots),
    )


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    m = measure(p, ctx)
    return render(p, m, decide(m, tol), ctx)


def check(p: dict) -> None:
    need(len(p["Ms"]) > 0 and len(p["ratios"]) > 0 and len(p["d_rules"]) > 0, "the grid is empty")
    need(all(M == 2 for M in p["Ms"]), f"Ms = {list(p['Ms'])}: a certificate exists for M = 2 only so far")
    need(len(set(p["ratios"])) == len(p["ratios"]), "ratios lists a value twice")
    need(len(set(p["d_rules"])) == len(p["d_rules"]), "d_rules lists a rule twice")


register(Kind(
    name="etf-certified",
    params={"Ms": Param("list[int]", [2], lo=2, hi=2, doc="neurons (M = 2 only so far)"),
            "d_rules": Param("list[str]", ["M", "M+1", "2M"], choices=("M", "M+1", "2M")),
            "ratios": Param("list[float]", [0.25, 0.5, 1.0, 2.0], lo=0, lo_open=True, hi=64.0,
                            doc="||mu|| / s (> 0; the cost grows with it: 130 s at 8)"),
            "s": Param("float", 1.0, lo=1e-3, hi=SCALE_MAX),
            "abar": Param("float", 1.0, lo=-SCALE_MAX, hi=SCALE_MAX)},
    tolerances=("gap",),
    figures=("instances", "certified", "max_relative_gap", "max_seconds"),
    run=run,
    check=check,
))
