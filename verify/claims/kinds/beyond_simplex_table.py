r"""Claim kind beyond the ETF conjecture (MATH.md sections 5 and 6): mu = 0 with M > d + 1 neurons.

- beyond-simplex-table: for ReLU, mu = 0 and each (d, M) with M > d + 1 (no regular simplex of M
  points in R^d, so the conjecture says nothing), a table in the manner of a table of spherical
  codes: the best configuration a global search finds, what it is, and how far it is from the best
  certified lower bound.

Per (d, M):
  search     `verify.search.global_search.search_simplified` with `restarts` random starts (seeded),
             mu = 0 in R^d; the best minimum's L~ re-evaluated here with `SimplifiedProblem.loss_mp`
             at `dps` digits (the value of an actual float configuration, hence an upper bound on
             the global minimum of L~), the number of distinct minima (modulo symmetry) and the
             fraction of the converged restarts that reach the best (its basin).
  cross-check  the same value by an independent formula: at mu = 0 the best weights for fixed
             directions give L~ = (abar^2 s^2 / (2 pi)) (1 - Phi / (2 pi)), Phi = 1^T K(G)^{-1} 1
             (MATH.md section 6), evaluated in mpmath from the directions alone, with K written out
             here (not the kernel module's); it differs from L~(b, V) by (b - b*)^T K(G) (b - b*) >= 0.
  structure  `verify.search.structure.describe_code`: recognized configuration (regular polygon,
             one direction per line of a line system, pyramids and antiprisms, ...), symmetry group
             order and orbits, distinct inner products, frame eigenvalues (tightness), weights.
  local evidence  `verify.certify.local.certify_configuration` (arb): a rigorous bound on the
             gradient over the float point's ball and a rigorous lower bound of the Hessian on the
             float complement of the symmetry tangents. NOT a certificate: no interval Newton step
             proves an exact critical point nearby, so the configuration is not proven a local minimum.
  bounds     `verify.certify.certify_mu0` in dimension min(d, M): the Delsarte LP of degree
             `lp_degree` (exact rational, valid for networks whose output weights have one sign:
             assumption beta >= 0 up to a global sign) and the sign-free bound of degree
             `signfree_degree` (exact rational, no assumption). Each applies to the best found only
             if its assumption holds there (the LP only when the best has one-signed weights).

Verdict: "verified" when for every pair a restart converged, the best minimum has gradient norm
<= grad_max and positive curvature (smallest Hessian eigenvalue apart from the symmetry zero modes),
the closed-form cross-check agrees within crosscheck_atol, and every applicable certified bound is
<= the 30-digit value + value_atol; "refuted" when an applicable certified bound exceeds the value
of an actual configuration by more than value_atol (a contradiction: a bug in a bound or in the
evaluation); "inconclusive" otherwise (no convergence, a saddle, a failed cross-check).
"""

from __future__ import annotations

import math
import time
from fractions import Fraction

import mpmath
import numpy as np

from verify.kernels.relu import relu_K_mp_acos
from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import abar as _abar, dps, positive, restarts, seed as _seed
from verify.claims.result import Context, Finding, pyplot
from verify.claims.schema import Param
from verify.errors import InputError

ASSUMPTION_LP = "beta >= 0 (one-signed output weights)"


def pairs_of(p: dict) -> list[tuple[int, int]]:
    """The (d, M) pairs of the parameters: `pairs` when given, else d in `d`, M = M_min..M_max
    (M_min = 0 means d + 2). InputError for M <= d + 1 (the simplex range: mu0-simplex-certified),
    d < 2 (the LP needs d >= 2) or an empty grid."""
    if p["pairs"]:
        out = []
        for i, pair in enumerate(p["pairs"]):
            if len(pair) != 2:
                raise InputError(f"pairs[{i}] must be [d, M], got {pair!r}")
            out.append((int(pair[0]), int(pair[1])))
    else:
        out = [(d, M) for d in p["d"] for M in range((p["M_min"] or d + 2), p["M_max"] + 1)]
    if not out:
        raise InputError("no (d, M) pair: M_max is below d + 2 for every d")
    for d, M in out:
        if d < 2:
            raise InputError(f"d must be >= 2 (the LP bound needs it), got d = {d}")
        if M <= d + 1:
            raise InputError(f"M must be > d + 1 (beyond the simplex), got d = {d}, M = {M}")
    if len(set(out)) != len(out):
        raise InputError("a (d, M) pair is listed twice")
    return out


def phi_value_mp(V, abar: float, s: float, dps: int = 30):
    """(abar^2 s^2 / (2 pi)) (1 - Phi / (2 pi)), Phi = 1^T K(G)^{-1} 1: min over b of L~ at mu = 0 for
    the directions of V (MATH.md section 6), in mpmath at `dps` digits; None if K(G) is singular."""
    V = np.asarray(V, dtype=float)
    with mpmath.workdps(dps + 20):
        rows = [[mpmath.mpf(float(x)) for x in row] for row in V]
        th = [[x / mpmath.sqrt(mpmath.fsum(y * y for y in row)) for x in row] for row in rows]
        M = len(th)
        pi = mpmath.pi
        K = relu_K_mp_acos
        A = mpmath.matrix(M, M)
        for j in range(M):
            A[j, j] = mpmath.mpf(1) / 2
            for k in range(j + 1, M):
                A[j, k] = A[k, j] = K(mpmath.fsum(x * y for x, y in zip(th[j], th[k])))
        try:
            x = mpmath.lu_solve(A, mpmath.matrix([1] * M))
        except ZeroDivisionError:
            return None
        phi = mpmath.fsum(x)
        out = (mpmath.mpf(abar) ** 2 * mpmath.mpf(s) ** 2 / (2 * pi)) * (1 - phi / (2 * pi))
    with mpmath.workdps(dps):
        return +out


def row_verdict(value: Fraction, bounds: list[tuple[str, Fraction, bool]], *, grad_norm: float, curvature: float,
                crosscheck: float | None, tol: dict) -> tuple[str, Fraction | None, list[str]]:
    """The verdict of one (d, M) row: ("ok" | "violated" | "unsettled", margin, reasons).

    value: the 30-digit L~ of the best configuration found (a Fraction of its decimal); bounds:
    (name, certified lower bound, applies to the configuration found); margin: value minus the largest
    applicable bound (None if none applies). "violated" when an applicable bound exceeds the value by
    more than tol["value_atol"]: a lower bound of the global minimum above the value of an actual
    configuration (a bug somewhere); "unsettled" when the search evidence is incomplete."""
    reasons = []
    applicable = [(n, b) for n, b, ok in bounds if ok]
    margin = value - max(b for _, b in applicable) if applicable else None
    atol = Fraction(tol["value_atol"])
    bad = [n for n, b in applicable if b > value + atol]
    if bad:
        return "violated", margin, [f"certified bound ({', '.join(bad)}) above the value found by more than {tol['value_atol']:g}"]
    if not (grad_norm <= tol["grad_max"]):
        reasons.append(f"gradient norm {grad_norm:.2e} > {tol['grad_max']:g}")
    if not (curvature > 0):
        reasons.append(f"smallest Hessian eigenvalue {curvature:.3g} is not positive")
    if crosscheck is None or not (crosscheck <= tol["crosscheck_atol"]):
        reasons.append("closed-form cross-check failed" if crosscheck is not None else "closed-form cross-check unavailable (K(G) singular)")
    return ("unsettled" if reasons else "ok"), margin, reasons


def _fmt_rel(gap: Fraction, value: Fraction) -> str:
    return f"{float(gap):.3e} ({float(gap / value):.2e})"


def _order_for_plot(theta: np.ndarray) -> np.ndarray:
    """Neurons in angular order (rank 2) or by the leading eigenvectors of the Gram matrix."""
    U, sv, _ = np.linalg.svd(theta, full_matrices=False)
    X = U[:, :2] * sv[:2]
    return np.argsort(np.arctan2(X[:, 1], X[:, 0]))


def decide(row_verdicts: list[str]) -> str:
    """The claim's status from the rows' verdicts (`row_verdict`): refuted when a certified bound is
    violated anywhere, verified when every row is "ok", inconclusive otherwise."""
    if "violated" in row_verdicts:
        return "refuted"
    if all(v == "ok" for v in row_verdicts):
        return "verified"
    return "inconclusive"


def run(claim, ctx: Context) -> Finding:
    """Experiment and rendering per (d, M) row (the search, bounds, evidence and the row's table entry
    and notes are produced together); the verdict is `row_verdict` per row and `decide` overall."""
    from verify.certify import certify_mu0
    from verify.model.simplified import SimplifiedProblem
    from verify.certify.local import certify_configuration
    from verify.search.global_search import search_simplified
    from verify.search.structure import describe_code

    p, tol = claim.parameters, claim.tolerance
    pairs = pairs_of(p)
    abar, s = p["abar"], p["s"]
    cache: dict = {}
    rows, notes, results = [], [], []
    figures: dict[str, float] = {}
    worst_grad, worst_curv, worst_cross = 0.0, math.inf, 0.0
    min_margin: Fraction | None = None
    max_rel_lp = max_rel_sf = 0.0
    statuses = []
    t_search = t_bounds = t_local = 0.0
    for d, M in pairs:
        ctx.progress(f"d = {d}, M = {M}: search ({p['restarts']} restarts)")
        problem = SimplifiedProblem(np.zeros(d), s, abar)
        t0 = time.perf_counter()
        res = search_simplified(problem, M, restarts=p["restarts"], seed=p["seed"], gtol=tol["grad_max"], hp_dps=p["dps"])
        t_search += time.perf_counter() - t0
        ctx.progress(f"d = {d}, M = {M}: certified bounds")
        t0 = time.perf_counter()
        lp = certify_mu0(M, d, abar, s, method="lp", degree=p["lp_degree"], cache=cache)
        sf = certify_mu0(M, d, abar, s, method="signfree", degree=p["signfree_degree"], cache=cache) if p["signfree_degree"] else None
        t_bounds += time.perf_counter() - t0
        if not res.minima:
            statuses.append("unsettled")
            rows.append([d, M, "no converged restart", "", "", "", "", f"0/{res.restarts}", f"{float(lp.lower_bound):.12g}", "",
                         "" if sf is None else f"{float(sf.lower_bound):.12g}", "", "", "", "", ""])
            notes.append(f"d = {d}, M = {M}: no restart reached gradient norm {tol['grad_max']:g} "
                         f"(lowest unconverged loss {res.unconverged_best:.12g})")
            continue
        best = res.best
        value_mp = problem.loss_mp(best.b, best.V, dps=p["dps"])
        value_str = mpmath.nstr(value_mp, p["dps"])
        value = Fraction(value_str)
        phi_val = phi_value_mp(best.V, abar, s, p["dps"])
        cross = None if phi_val is None else float(abs(value_mp - phi_val))
        st = describe_code(best.b, best.V)
        t0 = time.perf_counter()
        loc = certify_configuration(best.b, best.V, np.zeros(d), s, abar)
        t_local += time.perf_counter() - t0
        bounds = [(lp.method, lp.lower_bound, st.one_signed)]
        if sf is not None:
            bounds.append((sf.method, sf.lower_bound, True))
        verdict, margin, reasons = row_verdict(value, bounds, grad_norm=best.grad_norm, curvature=best.min_curvature,
                                               crosscheck=cross, tol=tol)
        statuses.append(verdict)
        gap_lp = value - lp.lower_bound
        gap_sf = None if sf is None else value - sf.lower_bound
        if st.one_signed:
            max_rel_lp = max(max_rel_lp, float(gap_lp / value))
        if gap_sf is not None:
            max_rel_sf = max(max_rel_sf, float(gap_sf / value))
        if margin is not None:
            min_margin = margin if min_margin is None else min(min_margin, margin)
        worst_grad = max(worst_grad, best.grad_norm)
        worst_curv = min(worst_curv, best.min_curvature)
        worst_cross = max(worst_cross, math.inf if cross is None else cross)
        basin = best.count / max(res.converged, 1)
        figures[f"L[d={d},M={M}]"] = float(value)
        evidence = (f"grad ball <= {loc.gradient_radius:.1e}; Hessian >= {loc.min_eigenvalue:.3g} on the complement of "
                    f"{loc.symmetry_dimension} symmetry directions (not a certificate)")
        rows.append([
            d, M, value_str, st.name, f"{st.symmetry_order}{'+' if st.symmetry_capped else ''}", "yes" if st.one_signed else "NO",
            len(res.minima), f"{best.count}/{res.converged} ({basin:.2f})", lp.lower_bound_ball[0],
            _fmt_rel(gap_lp, value) + ("" if st.one_signed else " (n/a: mixed signs)"),
            "" if sf is None else sf.lower_bound_ball[0], "" if gap_sf is None else _fmt_rel(gap_sf, value),
            f"{best.grad_norm:.1e}", f"{best.min_curvature:.3g}", evidence,
            f"LP: {ASSUMPTION_LP}; sign-free: none",
        ])
        others = ", ".join(f"{m.loss:.12g} ({m.count})" for m in res.minima[1:6])
        notes.append(f"d = {d}, M = {M}: {st.description}")
        notes.append(f"d = {d}, M = {M}: {res.converged}/{res.restarts} restarts converged in {res.seconds:.1f} s; "
                     f"next minima (loss, restarts): {others or 'none'}; closed-form cross-check |L~ - L~(Phi)| = "
                     f"{'n/a' if cross is None else f'{cross:.1e}'}; LP A64 {lp.extra.get('A64', float('nan')):.12g}"
                     + ("" if not reasons else "; UNSETTLED: " + "; ".join(reasons)))
        if not st.one_signed and lp.lower_bound > value:
            notes.append(f"d = {d}, M = {M}: a network with MIXED-SIGN weights is below the one-signed LP bound: negative "
                         "weights help here (the LP bound's assumption excludes it; not a contradiction)")
        results.append((d, M, value, lp.lower_bound, None if sf is None else sf.lower_bound, best, st))
    status = decide(statuses)
    figures.update({
        "pairs": float(len(pairs)), "max_grad_norm": worst_grad, "min_curvature": worst_curv,
        "min_margin": float(min_margin) if min_margin is not None else -math.inf,
        "max_rel_gap_lp": max_rel_lp, "max_rel_gap_signfree": max_rel_sf, "max_crosscheck": worst_cross,
        "seconds_search": t_search, "seconds_bounds": t_bounds, "seconds_local": t_local,
    })
    notes[:0] = [
        ("Bounds: LP = Delsarte-Yudin LP (verify.certify.certify_mu0, method lp), valid for every network whose output "
         f"weights have one sign ({ASSUMPTION_LP}); sign-free = verify.certify.signfree, valid for every network. Both are "
         "exact rationals, computed in dimension min(d, M); the LP bound is compared with a found configuration only when "
         "its weights are one-signed."),
        ("Local evidence (verify.certify.local.certify_configuration, arb 128 bits) bounds the gradient and the "
         "Hessian over a ball around the float point; it proves no exact critical point, so it is not a local certificate."),
        ("Ties: relu(z) = z/2 + |z|/2 splits L~ at mu = 0 into E(f~ - h)^2 + |w|^2 with h(x) = sum_j beta_j |<theta_j, x>| / 2 "
         "(it depends on the lines only) and w = sum_j beta_j theta_j / 2; flipping directions theta_j -> -theta_j in a way "
         "that keeps w = 0 leaves L~ unchanged, so a best configuration is one of several equally good sign choices on the "
         "same lines (e.g. d = 2, M = 9: the regular 9-gon and other balanced choices on 9 equally spaced lines), which "
         "'distinct minima' counts separately."),
        f"Timings: search {t_search:.1f} s, bounds {t_bounds:.1f} s, local evidence {t_local:.1f} s.",
    ]
    if ctx.make_plots and results:
        _plots(ctx, results, p)
    n_ok = statuses.count("ok")
    return Finding(
        status=status,
        summary=(f"mu = 0, {len(pairs)} pairs (d, M) with M > d + 1: {n_ok} with a converged non-degenerate best minimum "
                 f"above every applicable certified bound; best found within {max_rel_lp:.1e} (relative) of the LP bound "
                 f"(beta >= 0)" + (f", within {max_rel_sf:.1e} of the sign-free bound" if p["signfree_degree"] else "")),
        figures=figures,
        key_figure="max_rel_gap_lp",
        columns=["d", "M", f"best L~ ({p['dps']} digits)", "structure", "symmetries", "one-signed", "distinct minima",
                 "basin of best", f"LP bound deg {p['lp_degree']} (lo)", "gap to LP (rel)",
                 f"sign-free bound deg {p['signfree_degree']} (lo)", "gap to sign-free (rel)", "grad norm",
                 "min curvature", "local evidence", "assumptions"],
        rows=rows,
        seeds=[p["seed"]],
        precision={"search": f"float64 to gradient norm {tol['grad_max']:g}", "value_dps": p["dps"],
                   "bounds": "exact rationals (arb 128 bits for p <= K)", "local_evidence_arb_bits": 128},
        notes=notes,
        plots=list(ctx.plots),
    )


def infinite_width_loss(d: int, abar: float, s: float) -> float:
    """inf over M of min L~ at mu = 0 in R^d (float): (abar^2 s^2 / (2 pi)) (1 - 1 / (2 pi K_0)), K_0 the
    mean of K(<x, y>) over independent uniform x, y on S^{d-1} (the degree-0 Gegenbauer coefficient): the
    limit of uniformly spread neurons. Every finite network lies above it: K - K_0 is positive definite on
    S^{d-1} (Gegenbauer coefficients K_k >= 0), so beta^T K(G) beta >= K_0 (1^T beta)^2 for every beta."""
    from verify.certify.gegenbauer import relu_gegenbauer

    k0 = float(relu_gegenbauer(d, 0)[0].mid())
    return abar * abar * s * s / (2 * math.pi) * (1 - 1 / (2 * math.pi * k0))


def _plots(ctx: Context, results, p) -> None:
    plt = pyplot()
    ds = sorted({r[0] for r in results})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for d in ds:
        rs = [r for r in results if r[0] == d]
        Ms = [r[1] for r in rs]
        base = infinite_width_loss(d, p["abar"], p["s"])
        pos = lambda x: x if x > 0 else math.nan  # a weak LP bound may sit below the limit
        line, = axes[0].semilogy(Ms, [pos(float(r[2]) - base) for r in rs], "o-", label=f"d = {d}: best found")
        axes[0].semilogy(Ms, [pos(float(r[3]) - base) for r in rs], "x--", color=line.get_color(), label=f"d = {d}: LP bound")
        axes[1].semilogy(Ms, [max(float((r[2] - r[3]) / r[2]), 1e-16) for r in rs], "o-", color=line.get_color(),
                         label=f"d = {d}: LP (beta >= 0)")
        if all(r[4] is not None for r in rs):
            axes[1].semilogy(Ms, [max(float((r[2] - r[4]) / r[2]), 1e-16) for r in rs], "s:", color=line.get_color(),
                             label=f"d = {d}: sign-free")
    axes[0].set(xlabel="M", ylabel="L~ - L~(M = infinity)",
                title="excess over the infinite-width value: best found (o), LP bound (x)")
    axes[1].set(xlabel="M", ylabel="(best - bound) / best", title="relative gap to the certified bounds")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    ctx.save_figure(fig, "gaps")
    Ms_all = sorted({r[1] for r in results})
    fig, axes = plt.subplots(len(ds), len(Ms_all), figsize=(1.9 * len(Ms_all), 2.0 * len(ds)), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for d, M, _v, _lp, _sf, best, st in results:
        ax = axes[ds.index(d), Ms_all.index(M)]
        theta = best.V / np.linalg.norm(best.V, axis=1, keepdims=True)
        o = _order_for_plot(theta)
        ax.imshow((theta @ theta.T)[np.ix_(o, o)], vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_title(f"d={d}, M={M}\n|Aut|={st.symmetry_order}", fontsize=7)
    fig.suptitle("Gram matrices of the best configurations found (neurons in angular order)", fontsize=9)
    ctx.save_figure(fig, "gram")


register(Kind(
    name="beyond-simplex-table",
    params={
        "d": Param("list[int]", [2, 3], lo=2, hi=16, doc="dimensions (ignored when pairs is given)"),
        "M_min": Param("int", 0, lo=0, hi=64, doc="smallest M; 0 means d + 2"),
        "M_max": Param("int", 8, lo=4, hi=64),
        "pairs": Param("list[list[int]]", (), lo=2, hi=64, doc="explicit [d, M] pairs (replace the d / M grid)"),
        "restarts": restarts(1000),
        "seed": _seed(0),
        "abar": _abar(1.0),
        "s": positive(1.0),
        "lp_degree": Param("int", 16, lo=1, hi=256),
        "signfree_degree": Param("int", 32, lo=0, hi=256, doc="0 skips the sign-free bound"),
        "dps": dps(30, lo=20),
    },
    tolerances=("grad_max", "value_atol", "crosscheck_atol"),
    figures=("pairs", "max_grad_norm", "min_curvature", "min_margin", "max_rel_gap_lp", "max_rel_gap_signfree",
             "max_crosscheck", "seconds_search", "seconds_bounds", "seconds_local"),
    run=run,
    check=lambda p: (pairs_of(p), None)[1],
))
