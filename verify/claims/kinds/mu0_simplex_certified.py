r"""Claim kind mu0-simplex-certified (MATH.md section 6): for mu = 0 and every M <= d + 1 in the grid,
the certified Delsarte-Yudin lower bound (`verify.certify.certify_mu0`, tangent line of K at -1/(M-1),
proven p <= K by convexity and re-proven by arb subdivision; exact rational arithmetic for the bound)
meets the simplex loss; the bound's assumption (beta >= 0) is stated in the report. Optionally the
sign-free bound (`signfree_degree` > 0) gives, for every M, how far below the simplex any configuration
could go without the assumption (certified in exact rationals). With `even_square_degree` > 0 the report
adds the evidence of `verify.certify.evensquare` (an exact sign-free route whose one unproven step, the
positive definiteness of an explicit L, is checked through its Gegenbauer coefficients up to that
degree): evidence, never part of the verdict.

experiment `measure`: the certificates of the grid (and the sign-free bounds); verdict `decide`:
verified when every pair is certified with gap <= tolerance `gap`, else refuted; render `render`.
The grid M_min..M_max x 1..d_max (pairs with M <= d + 1) must not be empty: checked at load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import abar, need, positive
from verify.claims.result import Context, Finding
from verify.claims.schema import Param


@dataclass
class Measured:
    Ms: list
    ds: list
    grid: object  # verify.certify certify_mu0_grid's result
    signfree: list = field(default_factory=list)  # (M, d, relative gap, method, exact) of the sign-free bounds
    even: list = field(default_factory=list)  # evensquare.EvenSquare records, M >= 3

    @property
    def worst_gap(self) -> Fraction:
        worst_gap = Fraction(0)
        for c in self.grid.certificates:
            worst_gap = max(worst_gap, c.gap_upper)
        return worst_gap


def measure(p: dict, ctx: Context) -> Measured:
    from verify.certify import certify_mu0, certify_mu0_grid

    Ms = list(range(p["M_min"], p["M_max"] + 1))
    ds = list(range(1, p["d_max"] + 1))
    ctx.progress(f"tangent-line certificates for M = {Ms[0]}..{Ms[-1]}, d <= {ds[-1]}")
    m = Measured(Ms, ds, certify_mu0_grid(Ms, ds, abar=p["abar"], s=p["s"], method="tangent-line"))
    if p["signfree_degree"] > 0:
        for M in Ms:
            d = max(M - 1, 2)
            ctx.progress(f"sign-free bound M = {M}, d = {d}")
            c = certify_mu0(M, d, abar=p["abar"], s=p["s"], method="signfree", degree=p["signfree_degree"])
            m.signfree.append((M, d, float(c.gap_upper) / float(c.simplex_loss), c.method, c.status == "optimal"))
    if p["even_square_degree"] > 0:
        from verify.certify.evensquare import even_square

        for M in Ms:
            if M >= 3:
                ctx.progress(f"even square M = {M}: Gegenbauer coefficients of L up to degree {p['even_square_degree']}")
                m.even.append(even_square(M, n_max=p["even_square_degree"]))
    return m


def decide(all_certified: bool, worst_gap: float, tol: dict) -> str:
    """verified when every pair is certified and the largest rigorous gap is <= tol["gap"]."""
    return "verified" if all_certified and worst_gap <= tol["gap"] else "refuted"


def render(p: dict, m: Measured, status: str, ctx: Context) -> Finding:
    grid, Ms, ds = m.grid, m.Ms, m.ds
    rows = []
    worst_gap = m.worst_gap
    assumptions = sorted({a for c in grid.certificates for a in c.assumptions})
    for c in grid.certificates:
        if c.d in (c.M - 1, c.M, p["d_max"]):
            rows.append([c.M, c.d, c.method, c.lower_bound_ball[0], c.simplex_loss_ball[1], f"{float(c.gap_upper):.1e}",
                         "yes" if c.certified else "NO", ", ".join(c.assumptions) or "none"])
    notes = [f"{grid.pairs} pairs (M, d) with M <= d + 1 certified in {grid.seconds:.1f} s; rows shown: d = M - 1, M, {p['d_max']}",
             "every certificate assumes " + (", ".join(assumptions) or "nothing")]
    figures = {"pairs": float(grid.pairs), "certified": float(grid.certified), "max_gap": float(worst_gap),
               "seconds": grid.seconds}
    sf_gap, exact_Ms = 0.0, []
    if p["signfree_degree"] > 0:
        for M, d, rel, method, exact in m.signfree:
            sf_gap = max(sf_gap, rel)
            if exact:
                exact_Ms.append(M)
                how = ("the closed argument for two neurons" if M <= 2 else
                       "the even square, L proven positive definite in ball arithmetic (docs/bounds-mu.md section 9)")
                notes.append(f"sign-free (no assumption on beta), M = {M}, every d >= {M - 1}: the simplex is a global minimizer, "
                             f"no gap beyond the balls ({rel:.1e}); method {method}: {how}")
            else:
                notes.append(f"sign-free (no assumption on beta), M = {M}, d = {d} (so every d >= {M - 1}, rank lemma): no "
                             f"configuration is below the simplex loss by more than {rel:.2e} of it (method {method}, "
                             f"certified in exact rationals)")
        figures["signfree_max_rel_gap"] = sf_gap
        figures["signfree_exact_M"] = float(len(exact_Ms))
    if m.even:
        from verify.certify.evensquare import UNPROVEN

        worst = min(m.even, key=lambda e: e.min_coefficient)
        npos = sum(e.positive for e in m.even)
        tail = max(abs(e.tail_ratio / e.tail_ratio_predicted - 1) for e in m.even)
        from verify.certify.evensquare import EXACT_M

        unproven = [e.M for e in m.even if e.M not in EXACT_M]
        notes.append(
            f"even-square route (verify/certify/evensquare.py, docs/bounds-mu.md section 9): K = t/4 + c0 + r2 P_2 + L^2 "
            f"in d = M - 1 gives beta^T K(G) beta >= A_simplex (1^T beta)^2 for EVERY beta, with no gap, if L is positive "
            f"definite on S^(M-2); proven in ball arithmetic for M in {list(EXACT_M)} (the sign-free lines above), "
            f"evidence only for M = {unproven[0] if unproven else '-'}..{unproven[-1] if unproven else '-'}: "
            f"the Gegenbauer coefficients a_0..a_{p['even_square_degree']} "
            f"are positive for {npos}/{len(m.even)} values of M = {m.even[0].M}..{m.even[-1].M} (smallest "
            f"{worst.min_coefficient:.2e}, M = {worst.M}, n = {worst.argmin}; quadrature error <= "
            f"{max(e.quad_error for e in m.even):.1e}, 40-digit mpmath); at the top degree a_n / E_n is within "
            f"{100 * tail:.1f} % of its predicted limit 1/(2 L(1)), the positive tail of the (1 - t)^(3/2) singularity. "
            f"Unproven: {UNPROVEN}")
        figures["even_square_positive"] = float(npos)
        figures["even_square_min_coefficient"] = worst.min_coefficient
    return Finding(
        status=status,
        summary=(f"mu = 0: the simplex is a certified global minimizer of L~ for all {grid.certified}/{grid.pairs} pairs "
                 f"M = {Ms[0]}..{Ms[-1]}, M <= d + 1 <= {ds[-1] + 1} (gap <= {float(worst_gap):.1e}), assuming "
                 f"{', '.join(assumptions) or 'nothing'}"
                 + (f"; without it: exactly for M <= {max(exact_Ms)}" if exact_Ms else "")
                 + (f", within {sf_gap:.1e} (relative) for every M" if sf_gap else "")),
        figures=figures,
        key_figure="certified",
        columns=["M", "d", "method", "certified lower bound (lo)", "simplex loss (hi)", "gap (rigorous)", "certified", "assumptions"],
        rows=rows,
        precision={"exact_rationals": True, "arb_prec_bits": 128},
        notes=notes,
        plots=list(ctx.plots),
    )


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    m = measure(p, ctx)
    return render(p, m, decide(m.grid.all_certified, float(m.worst_gap), tol), ctx)


def check(p: dict) -> None:
    need(p["M_min"] <= p["M_max"], f"M_min = {p['M_min']} > M_max = {p['M_max']}: the grid is empty")
    need(p["M_max"] <= p["d_max"] + 1, f"M_max = {p['M_max']} > d_max + 1 = {p['d_max'] + 1}: some M in the grid has no "
         "d with M <= d + 1 (the simplex range); lower M_max or raise d_max")


register(Kind(
    name="mu0-simplex-certified",
    params={"M_min": Param("int", 2, lo=2, hi=200), "M_max": Param("int", 16, lo=2, hi=200),
            "d_max": Param("int", 17, lo=1, hi=1000), "abar": abar(1.0), "s": positive(1.0),
            "signfree_degree": Param("int", 0, lo=0, hi=256, doc="0 skips the sign-free bound"),
            "even_square_degree": Param("int", 0, lo=0, hi=400, doc="0 skips the even-square evidence")},
    tolerances=("gap",),
    figures=("pairs", "certified", "max_gap", "seconds", "signfree_max_rel_gap", "signfree_exact_M", "even_square_positive",
             "even_square_min_coefficient"),
    run=run,
    check=check,
))
