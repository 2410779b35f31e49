r"""Claim kinds for the ETF conjecture (MATH.md section 6).

- mu0-simplex-certified: for mu = 0 and every M <= d + 1 in the grid, the certified Delsarte-Yudin
  lower bound (`verify.bounds.certify_mu0`, tangent line of K at -1/(M-1), proven p <= K by
  convexity and re-proven by arb subdivision; exact rational arithmetic for the bound) meets the
  simplex loss; the bound's assumption (beta >= 0) is stated in the report. Optionally the
  sign-free bound (`method = "signfree"`) gives, for every M, how far below the simplex any
  configuration could go without the assumption (certified in exact rationals).
"""

from __future__ import annotations

from fractions import Fraction

from verify.claims.kinds import Kind, register
from verify.claims.result import Context, Finding
from verify.claims.schema import Param


def run_mu0_simplex_certified(claim, ctx: Context) -> Finding:
    from verify.bounds import certify_mu0, certify_mu0_grid

    p, tol = claim.parameters, claim.tolerance
    Ms = list(range(p["M_min"], p["M_max"] + 1))
    ds = list(range(1, p["d_max"] + 1))
    ctx.progress(f"tangent-line certificates for M = {Ms[0]}..{Ms[-1]}, d <= {ds[-1]}")
    grid = certify_mu0_grid(Ms, ds, abar=p["abar"], s=p["s"], method="tangent-line")
    rows, worst_gap = [], Fraction(0)
    assumptions = sorted({a for c in grid.certificates for a in c.assumptions})
    for c in grid.certificates:
        worst_gap = max(worst_gap, c.gap_upper)
        if c.d in (c.M - 1, c.M, p["d_max"]):
            rows.append([c.M, c.d, c.method, c.lower_bound_ball[0], c.simplex_loss_ball[1], f"{float(c.gap_upper):.1e}",
                         "yes" if c.certified else "NO", ", ".join(c.assumptions) or "none"])
    notes = [f"{grid.pairs} pairs (M, d) with M <= d + 1 certified in {grid.seconds:.1f} s; rows shown: d = M - 1, M, {p['d_max']}",
             "every certificate assumes " + (", ".join(assumptions) or "nothing")]
    figures = {"pairs": float(grid.pairs), "certified": float(grid.certified), "max_gap": float(worst_gap),
               "seconds": grid.seconds}
    sf_gap = 0.0
    if p["signfree_degree"] > 0:
        for M in Ms:
            d = max(M - 1, 2)
            ctx.progress(f"sign-free bound M = {M}, d = {d}")
            c = certify_mu0(M, d, abar=p["abar"], s=p["s"], method="signfree", degree=p["signfree_degree"])
            rel = float(c.gap_upper) / float(c.simplex_loss)
            sf_gap = max(sf_gap, rel)
            notes.append(f"sign-free (no assumption on beta), M = {M}, d = {d}: no configuration is below the simplex loss by more "
                         f"than {rel:.2e} of it (certified in exact rationals)")
        figures["signfree_max_rel_gap"] = sf_gap
    ok = grid.all_certified and float(worst_gap) <= tol["gap"]
    return Finding(
        status="verified" if ok else "refuted",
        summary=(f"mu = 0: the simplex is a certified global minimizer of L~ for all {grid.certified}/{grid.pairs} pairs "
                 f"M = {Ms[0]}..{Ms[-1]}, M <= d + 1 <= {ds[-1] + 1} (gap <= {float(worst_gap):.1e}), assuming "
                 f"{', '.join(assumptions) or 'nothing'}" + (f"; without it, within {sf_gap:.1e} (relative)" if sf_gap else "")),
        figures=figures,
        key_figure="certified",
        columns=["M", "d", "method", "certified lower bound (lo)", "simplex loss (hi)", "gap (rigorous)", "certified", "assumptions"],
        rows=rows,
        precision={"exact_rationals": True, "arb_prec_bits": 128},
        notes=notes,
        plots=list(ctx.plots),
    )


register(Kind(
    name="mu0-simplex-certified",
    params={"M_min": Param("int", 2), "M_max": Param("int", 16), "d_max": Param("int", 17), "abar": Param("float", 1.0),
            "s": Param("float", 1.0), "signfree_degree": Param("int", 0)},
    tolerances=("gap",),
    figures=("pairs", "certified", "max_gap", "seconds", "signfree_max_rel_gap"),
    run=run_mu0_simplex_certified,
))
