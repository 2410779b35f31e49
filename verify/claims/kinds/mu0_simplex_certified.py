r"""Claim kind mu0-simplex-certified (MATH.md section 6): for mu = 0 and every M <= d + 1 in the grid,
a certified lower bound on L~ (`verify.certify.certify_mu0` with `method`) meets the simplex loss.

method "signfree" (the default): no assumption on the signs of the output weights. M <= 2 by a
closed argument; M in `verify.certify.evensquare.EXACT_M` (3..16) by the even square K = t/4 + c0 +
r2 P_2 + L^2 with L proven positive definite in ball arithmetic (docs/bounds-mu.md section 9) and
the rank lemma (section 8: d = M - 1 covers every d >= M - 1); any other M by the polynomial
sign-free bound of `signfree_degree`, which leaves a gap (such a pair is not certified optimal). The
one-signed tangent-line bound (beta >= 0; tangent line of K at -1/(M-1), p <= K by convexity,
re-proven by arb subdivision) is run beside it as a cross-check: both are exact, so they agree.
method "tangent-line": the one-signed bound alone (the assumption is stated in the report).

With `even_square_degree` > 0 the report adds an independent cross-check of the even-square proofs
(`verify.certify.evensquare.even_square`): L's Gegenbauer coefficients up to that degree by 40-digit
mpmath quadrature, all positive, and their tail against the singularity's prediction.

experiment `measure`; verdict `decide`: verified when every pair is certified with gap <= tolerance
`gap`, inconclusive otherwise (a bound that does not close is not a counterexample); `render`.
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
    grid: object  # certify_mu0_grid's result with the claim's method
    one_signed: object = None  # the tangent-line grid (cross-check), when the method is not the tangent line
    even: list = field(default_factory=list)  # evensquare.EvenSquare records, M >= 3

    @property
    def worst_gap(self) -> Fraction:
        return max((c.gap_upper for c in self.grid.certificates), default=Fraction(0))


def measure(p: dict, ctx: Context) -> Measured:
    from verify.certify import certify_mu0_grid

    Ms = list(range(p["M_min"], p["M_max"] + 1))
    ds = list(range(1, p["d_max"] + 1))
    ctx.progress(f"{p['method']} certificates for M = {Ms[0]}..{Ms[-1]}, d <= {ds[-1]}")
    grid = certify_mu0_grid(Ms, ds, abar=p["abar"], s=p["s"], method=p["method"], degree=p["signfree_degree"])
    m = Measured(Ms, ds, grid)
    if p["method"] != "tangent-line":
        ctx.progress("tangent-line certificates (one-signed cross-check)")
        m.one_signed = certify_mu0_grid(Ms, ds, abar=p["abar"], s=p["s"], method="tangent-line")
    if p["even_square_degree"] > 0:
        from verify.certify.evensquare import even_square

        for M in Ms:
            if M >= 3:
                ctx.progress(f"even square M = {M}: Gegenbauer coefficients of L up to degree {p['even_square_degree']}")
                m.even.append(even_square(M, n_max=p["even_square_degree"]))
    return m


def decide(all_certified: bool, worst_gap: float, tol: dict) -> str:
    """verified when every pair is certified and the largest rigorous gap is <= tol["gap"];
    inconclusive otherwise (an uncertified pair has a bound with a gap, not a counterexample)."""
    return "verified" if all_certified and worst_gap <= tol["gap"] else "inconclusive"


def _per_M_notes(grid) -> tuple[list[str], list[int]]:
    """One line per M: how its pairs are certified; and the M whose pairs are all exact."""
    notes, exact_Ms = [], []
    by_M: dict = {}
    for c in grid.certificates:
        by_M.setdefault(c.M, []).append(c)
    for M, cs in by_M.items():
        rel = max(float(c.gap_upper) / float(c.simplex_loss) for c in cs)
        methods = sorted({c.method for c in cs})
        assumptions = sorted({a for c in cs for a in c.assumptions})
        if all(c.certified for c in cs):
            exact_Ms.append(M)
            notes.append(f"M = {M} (d = {cs[0].d}..{cs[-1].d}): optimal, relative gap <= {rel:.1e} (the balls); method "
                         f"{', '.join(methods)}; assumptions: {', '.join(assumptions) or 'none'}")
        else:
            notes.append(f"M = {M}: not certified optimal; no configuration is below the simplex loss by more than "
                         f"{rel:.2e} of it (method {', '.join(methods)}; assumptions: {', '.join(assumptions) or 'none'})")
    return notes, exact_Ms


def render(p: dict, m: Measured, status: str, ctx: Context) -> Finding:
    grid, Ms, ds = m.grid, m.Ms, m.ds
    rows = []
    worst_gap = m.worst_gap
    assumptions = sorted({a for c in grid.certificates for a in c.assumptions})
    for c in grid.certificates:
        if c.d in (c.M - 1, c.M, p["d_max"]):
            rows.append([c.M, c.d, c.method, c.lower_bound_ball[0], c.simplex_loss_ball[1], f"{float(c.gap_upper):.1e}",
                         "yes" if c.certified else "NO", ", ".join(c.assumptions) or "none"])
    per_M, exact_Ms = _per_M_notes(grid)
    notes = [f"{grid.pairs} pairs (M, d) with M <= d + 1, {grid.certified} certified optimal in {grid.seconds:.1f} s "
             f"(method {p['method']}); rows shown: d = M - 1, M, {p['d_max']}",
             "the certificates assume " + (", ".join(assumptions) or "nothing: every sign of the output weights is covered")]
    notes += per_M
    figures = {"pairs": float(grid.pairs), "certified": float(grid.certified), "max_gap": float(worst_gap),
               "seconds": grid.seconds, "exact_M": float(len(exact_Ms))}
    if m.one_signed is not None:
        diff = max(abs(a.lower_bound - b.lower_bound) for a, b in zip(grid.certificates, m.one_signed.certificates))
        figures["one_signed_max_diff"] = float(diff)
        notes.append(f"cross-check: the one-signed tangent-line bound (beta >= 0) certifies {m.one_signed.certified}/"
                     f"{m.one_signed.pairs} pairs and agrees with these bounds within {float(diff):.1e} "
                     f"({m.one_signed.seconds:.1f} s)")
    if m.even:
        worst = min(m.even, key=lambda e: e.min_coefficient)
        npos = sum(e.positive for e in m.even)
        tail = max(abs(e.tail_ratio / e.tail_ratio_predicted - 1) for e in m.even)
        notes.append(
            f"cross-check of the even-square proofs (docs/bounds-mu.md section 9): L's Gegenbauer coefficients "
            f"a_0..a_{p['even_square_degree']} on S^(M-2) by 40-digit Gauss-Legendre quadrature are positive for "
            f"{npos}/{len(m.even)} values of M = {m.even[0].M}..{m.even[-1].M} (smallest {worst.min_coefficient:.2e}, "
            f"M = {worst.M}, n = {worst.argmin}; quadrature error <= {max(e.quad_error for e in m.even):.1e}); at the top "
            f"degree a_n / E_n is within {100 * tail:.1f} % of its predicted limit 1/(2 L(1)), the positive tail of the "
            f"(1 - t)^(3/2) singularity")
        figures["even_square_positive"] = float(npos)
        figures["even_square_min_coefficient"] = worst.min_coefficient
    return Finding(
        status=status,
        summary=(f"mu = 0: the simplex is a certified global minimizer of L~ for {grid.certified}/{grid.pairs} pairs "
                 f"M = {Ms[0]}..{Ms[-1]}, M <= d + 1 <= {ds[-1] + 1} (gap <= {float(worst_gap):.1e}), assuming "
                 f"{', '.join(assumptions) or 'nothing about the signs of the output weights'}"),
        figures=figures,
        key_figure="certified",
        columns=["M", "d", "method", "certified lower bound (lo)", "simplex loss (hi)", "gap (rigorous)", "certified", "assumptions"],
        rows=rows,
        precision={"exact_rationals": True, "arb_prec_bits": 256},
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
            "method": Param("str", "signfree", choices=("signfree", "tangent-line"),
                            doc="signfree: no sign assumption; tangent-line: beta >= 0"),
            "signfree_degree": Param("int", 16, lo=1, hi=256, doc="degree of the polynomial sign-free bound, used "
                                     "where no exact route exists"),
            "even_square_degree": Param("int", 0, lo=0, hi=400, doc="0 skips the even-square cross-check")},
    tolerances=("gap",),
    figures=("pairs", "certified", "max_gap", "seconds", "exact_M", "one_signed_max_diff", "even_square_positive",
             "even_square_min_coefficient"),
    run=run,
    check=check,
))
