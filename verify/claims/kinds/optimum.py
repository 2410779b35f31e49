r"""Claim kind optimum (generic; MATH.md sections 5-6): "the minimum of L~ over (b, V) with M neurons
has this structure" and/or "has this value", for any activation with a pair-kernel path.

Search: relu by `verify.search.global_search.search_simplified` (values of the distinct minima
re-evaluated at 30 digits); other activations by `verify.search.general.search_general` (values
with their float64 error estimate). `restarts` random starts, numpy default_rng(seed).

Structures (a configuration may carry several labels; "other" means none of the named ones):
  tilted-etf       `verify.search.structure.classify` says "tilted-etf" (the simplex ETF tilted
                   toward hat(mu); for mu = 0 the centered simplex);
  simplex          equiangular with inner product -1/(M - 1) and equal weights beta_j (a regular
                   simplex, any orientation; M <= d + 1);
  regular-polygon  the directions form a regular M-gon in a plane, equal weights
                   (`verify.search.structure.describe_code`);
  other            none of the above.

Verdicts. structure S: verified when the best minimum found carries S (or when S's own family,
computed directly, lies below every minimum found: relu, tilted-etf always, simplex and
regular-polygon at mu = 0); refuted when a converged minimum without S lies below the best value
of S (found among the minima, or S's family value), separated by more than both error bars (the
witness is reported); inconclusive otherwise, e.g. when S never appears and has no family value.
"other" is never refuted by a search (that needs a certificate that a named structure is optimal).
value v +- rel_tol: refuted when a minimum found lies below the band (a witness: the found value is
an upper bound on the optimum) or when a certified lower bound without assumptions lies above it;
verified when the best found lies in the band and, where the suite has a certified lower bound
(relu: `verify.pipeline.compress.lower_bound`), that bound meets the band (the value is then
proven, under the bound's listed assumptions); without any certified bound (other activations) the
best found in the band verifies it on search evidence, and the summary says so; inconclusive when
the bound leaves a gap (reported) or the best found lies above the band (more restarts or a
certified bound above the band would settle it). Both predictions given: both must be verified; either refuted refutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mpmath
import numpy as np

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import (
    DIM_MAX,
    RESTARTS_MAX,
    WIDTH_MAX,
    abar,
    activation,
    need,
    nonnegative,
    num,
    positive,
    seed,
)
from verify.claims.kinds._prediction import as_mpf, band_verdict, relative_band
from verify.claims.result import Context, Finding
from verify.claims.schema import Param
from verify.errors import InputError
from verify.kernels import get_activation

STRUCTURES = ("tilted-etf", "simplex", "regular-polygon", "other")
LABEL_TOL = 1e-6
SEARCH_M_MAX = 12


@dataclass
class Minimum:
    value: mpmath.mpf  # 30 digits (relu) or float64
    error: float  # |value - the local minimum's value| bound (relu: g^2 / (2 lambda); else the float error)
    b: np.ndarray
    V: np.ndarray
    grad_norm: float
    count: int
    labels: tuple = ()
    description: str = ""


@dataclass
class Measured:
    minima: list
    restarts: int
    converged: int
    seconds: float
    gtol: float
    family: dict = field(default_factory=dict)  # structure -> (value, error, how)
    bound: dict | None = None


def labels(b, V, mu) -> tuple[tuple, str]:
    """(labels, description) of a configuration (module docstring)."""
    from verify.search.structure import classify, describe_code

    out = []
    st = classify(b, V, mu, tol=LABEL_TOL)
    if st.cls == "tilted-etf":
        out.append("tilted-etf")
    M = V.shape[0]
    theta = V / np.linalg.norm(V, axis=1, keepdims=True)
    beta = b * np.linalg.norm(V, axis=1)
    G = theta @ theta.T
    off = G[np.triu_indices(M, 1)]
    if M >= 2 and np.max(np.abs(off + 1.0 / (M - 1))) <= LABEL_TOL and np.ptp(beta) <= LABEL_TOL * np.mean(np.abs(beta)):
        out.append("simplex")
    code = describe_code(b, V, tol=LABEL_TOL)
    if code.name.startswith("regular ") and code.name.endswith("-gon") and code.weight_spread <= LABEL_TOL:
        out.append("regular-polygon")
    return tuple(out), code.description if np.linalg.norm(mu) == 0 else st.description


def _search(p: dict, ctx: Context) -> Measured:
    from verify.model.networks import mu_along_e1

    act = get_activation(p["activation"])
    mu = mu_along_e1(p["d"], p["mu_norm"])
    if act.name == "relu":
        from verify.model.simplified import simplified_problem
        from verify.search.global_search import search_simplified

        prob = simplified_problem(p["d"], p["mu_norm"], p["s"], abar=p["abar"], activation="relu")
        res = search_simplified(prob, p["M"], restarts=p["restarts"], seed=p["seed"], progress=ctx.progress)
        with mpmath.workdps(30):
            mins = [Minimum(mpmath.mpf(m.loss_mp), m.value_error, m.b, m.V, m.grad_norm, m.count) for m in res.minima]
        gtol = 1e-12
        conv, secs = sum(m.count for m in res.minima), res.seconds
    else:
        from verify.model.general import GeneralProblem
        from verify.search.general import search_general

        prob = GeneralProblem(mu, p["s"], p["abar"], act)
        res = search_general(prob, p["M"], restarts=p["restarts"], seed=p["seed"], progress=ctx.progress)
        mins = [Minimum(mpmath.mpf(m.value), m.value_error, m.b, m.V, m.grad_norm, m.count) for m in res.minima]
        gtol, conv, secs = res.gtol, res.converged, res.seconds
    for m in mins:
        m.labels, m.description = labels(m.b, m.V, mu)
    return Measured(mins, p["restarts"], conv, secs, gtol)


def _family_values(p: dict) -> dict:
    """The value of each structure's own family where the suite computes it directly (relu)."""
    if get_activation(p["activation"]).name != "relu":
        return {}
    from verify.model.etf import best_etf
    from verify.model.simplified import simplified_problem

    out = {}
    M, d, mun = p["M"], p["d"], p["mu_norm"]
    if M >= 2:
        e = best_etf(M, mun, p["s"], p["abar"], dps=30)
        out["tilted-etf"] = (e.loss, 1e-25, "the best tilted simplex ETF (verify.model.etf.best_etf)")
        if mun == 0 and M <= d + 1:
            out["simplex"] = (e.loss, 1e-25, "the regular simplex (mu = 0: the untilted ETF)")
    if mun == 0 and d >= 2 and M >= 3:
        prob = simplified_problem(d, 0.0, p["s"], abar=p["abar"], activation="relu")
        ang = 2 * math.pi * np.arange(M) / M
        V = np.zeros((M, d))
        V[:, 0], V[:, 1] = np.cos(ang), np.sin(ang)
        b = _optimal_b(prob, V)
        out["regular-polygon"] = (prob.loss_mp(b, V, dps=30), 1e-12, f"the regular {M}-gon with its optimal b")
    return out


def _optimal_b(prob, V):
    """b minimizing L~ for fixed V: K_VV b = abar c (relu closed form)."""
    from verify.kernels import kernel

    q = np.einsum("jd,jd->j", V, V)
    G = V @ V.T
    pq = np.sqrt(np.outer(q, q))
    K = kernel("relu", q[:, None], q[None, :], np.clip(G, -pq, pq))
    c = kernel("relu", prob.r2, q, V @ prob.mu)
    return np.linalg.solve(K, prob.abar * c)


def measure(p: dict, pred: dict, ctx: Context) -> Measured:
    m = _search(p, ctx)
    if pred["structure"]:
        m.family = _family_values(p)
    if pred["value"] != "" and get_activation(p["activation"]).name == "relu" and p["M"] >= 2:
        from verify.pipeline.compress import lower_bound

        ctx.progress("certified lower bound")
        try:
            m.bound = lower_bound(p["M"], p["d"], p["mu_norm"], p["s"], p["abar"])
        except InputError as e:
            m.bound = {"certified": False, "method": f"none ({e})", "assumptions": []}
    return m


def decide_structure(S: str, m: Measured) -> tuple[str, str]:
    """(verdict, explanation) for structure S (module docstring)."""
    best = m.minima[0]
    if S == "other":
        if not best.labels:
            return "verified", "the best minimum found carries none of the named structures"
        return "inconclusive", (f"the best minimum found is {', '.join(best.labels)}; refuting 'other' needs a "
                                "certificate that it is the global optimum")
    if S in best.labels:
        return "verified", f"the best minimum found ({mpmath.nstr(best.value, 17)}) is {S}"
    with_s = [x for x in m.minima if S in x.labels]
    cand = [(x.value, x.error, f"the best {S} minimum found") for x in with_s[:1]]
    if S in m.family:
        cand.append(m.family[S])
    if not cand:
        return "inconclusive", (f"no minimum found is {S} and the suite has no {S} family value for this case; "
                                f"a {S} configuration below {mpmath.nstr(best.value, 12)} or more restarts would settle it")
    with mpmath.workdps(40):  # the values carry 30 digits: compare them at more
        return _decide_against(S, m, best, cand)


def _decide_against(S, m, best, cand) -> tuple[str, str]:
    fS, eS, how = min(cand, key=lambda c: c[0])
    witness = next((x for x in m.minima if S not in x.labels and x.grad_norm <= m.gtol * 10), None)
    if witness is not None and witness.value + witness.error < fS - eS:
        return "refuted", (f"witness: a converged minimum ({witness.description}) at {mpmath.nstr(witness.value, 17)} "
                           f"lies below {how} at {mpmath.nstr(fS, 17)} (difference {mpmath.nstr(fS - witness.value, 3)}, "
                           f"error bars {witness.error:.1e}, {eS:.1e})")
    if fS + eS < best.value - best.error:
        return "verified", f"{how} ({mpmath.nstr(fS, 17)}) lies below every minimum found: the best known is {S}"
    return "inconclusive", f"{how} ({mpmath.nstr(fS, 17)}) and the best found ({mpmath.nstr(best.value, 17)}) are not separated"


def decide_value(band, m: Measured) -> tuple[str, str]:
    best = m.minima[0]
    with mpmath.workdps(40):
        lo, hi = best.value - best.error, best.value
        blo, bhi = as_mpf(band[0]), as_mpf(band[1])
        bound = m.bound or {}
        lb = mpmath.mpf(bound["value"]) if bound.get("certified") and bound.get("value") is not None else None
        if hi < blo:
            return "refuted", f"witness below the band: a configuration found at {mpmath.nstr(hi, 17)} < {mpmath.nstr(blo, 17)}"
        if lb is not None and not bound.get("assumptions") and lb > bhi:
            return "refuted", f"the certified lower bound {mpmath.nstr(lb, 17)} lies above the band"
        verdict = band_verdict(lo, hi, blo, bhi)
        if verdict == "verified":
            if lb is not None and lb >= blo:
                how = f"certified: the lower bound {mpmath.nstr(lb, 17)} ({bound.get('method')}) meets the band"
                if bound.get("assumptions"):
                    how += f", under the assumptions: {'; '.join(bound['assumptions'])}"
                return "verified", f"the best found {mpmath.nstr(best.value, 17)} lies in the band ({how})"
            if lb is not None:
                return "inconclusive", (f"the best found {mpmath.nstr(best.value, 17)} lies in the band, but the suite's "
                                        f"certified lower bound {mpmath.nstr(lb, 12)} ({bound.get('method')}) leaves a relative "
                                        f"gap of {float((blo - lb) / blo):.2g}; a bound that meets the band would settle it")
            return "verified", (f"the best found {mpmath.nstr(best.value, 17)} lies in the band (search evidence only: best "
                                f"of {m.restarts} restarts; the suite has no certified lower bound for this case)")
        return "inconclusive", (f"the best found {mpmath.nstr(best.value, 17)} lies above the band; a configuration in it, "
                                "more restarts, or a certified bound above it would settle it")


def combine(verdicts: list[str]) -> str:
    if "refuted" in verdicts:
        return "refuted"
    return "verified" if all(v == "verified" for v in verdicts) else "inconclusive"


def render(p: dict, pred: dict, m: Measured, parts: list[tuple[str, str, str]], status: str) -> Finding:
    best = m.minima[0]
    rows = [[i + 1, mpmath.nstr(x.value, 17), f"{x.error:.1e}", x.count, ", ".join(x.labels) or "other", x.description[:120]]
            for i, x in enumerate(m.minima[:12])]
    rel = float("nan")
    if pred["value"] != "":
        P = as_mpf(num(pred["value"]))
        rel = float(abs(best.value - P) / abs(P))
    summary = "; ".join(f"{what}: {verdict} ({why})" for what, verdict, why in parts)
    notes = [f"{m.restarts} restarts (seed {p['seed']}), {m.converged} converged, {len(m.minima)} distinct minima, {m.seconds:.1f} s."]
    notes += [f"family value of {k}: {mpmath.nstr(v[0], 17)} ({v[2]})" for k, v in m.family.items()]
    if m.bound is not None:
        notes.append(f"certified lower bound: {m.bound.get('value')} ({m.bound.get('method')}); "
                     f"assumptions: {m.bound.get('assumptions') or 'none'}")
    return Finding(
        status=status, summary=summary,
        figures={"best_value": float(best.value), "distinct_minima": float(len(m.minima)), "value_relative_difference": rel},
        key_figure="best_value",
        columns=["rank", "value", "error", "restarts", "structure", "description"], rows=rows,
        seeds=[p["seed"]], precision={"mpmath_dps": 30} if get_activation(p["activation"]).name == "relu" else {},
        notes=notes,
    )


def run(claim, ctx: Context) -> Finding:
    p, pred = claim.parameters, claim.prediction
    m = measure(p, pred, ctx)
    if not m.minima:
        return Finding(status="inconclusive", summary=f"none of {m.restarts} restarts converged; more restarts would settle it",
                       figures={"best_value": float("nan"), "distinct_minima": 0.0, "value_relative_difference": float("nan")},
                       key_figure="distinct_minima", seeds=[p["seed"]])
    parts = []
    if pred["structure"]:
        v, why = decide_structure(pred["structure"], m)
        parts.append((f"structure {pred['structure']}", v, why))
    if pred["value"] != "":
        v, why = decide_value(relative_band(num(pred["value"]), pred["rel_tol"]), m)
        parts.append((f"value {pred['value']}", v, why))
    return render(p, pred, m, parts, combine([v for _, v, _ in parts]))


def check(p: dict) -> None:
    act = get_activation(p["activation"])
    need(p["M"] <= SEARCH_M_MAX, f"M <= {SEARCH_M_MAX} (the search's cost grows fast with M)")
    if act.name != "relu":
        from verify.kernels.pairs import pair_kernel

        pair_kernel(act)  # InputError when the activation has no pair-kernel path


def check_prediction(p: dict, pred: dict) -> None:
    need(bool(pred["structure"]) or pred["value"] != "", "predict a structure, a value, or both")
    if pred["value"] != "":
        need(num(pred["value"]) > 0, "L~ is positive unless the network is exact: predict a positive value")
        need(pred["rel_tol"] > 0, "a value needs rel_tol > 0")
        if get_activation(p["activation"]).name != "relu":
            need(pred["rel_tol"] >= 1e-12, "values beyond relu are float64 (error ~1e-14): rel_tol >= 1e-12")
        else:
            need(pred["rel_tol"] >= 1e-25, "values are evaluated at 30 digits: rel_tol >= 1e-25")
    S = pred["structure"]
    if S == "simplex":
        need(p["M"] <= p["d"] + 1, f"a simplex of M = {p['M']} does not fit in d = {p['d']} (needs M <= d + 1)")
    if S == "tilted-etf":
        room = p["d"] + (1 if p["mu_norm"] == 0 else 0)
        need(p["M"] <= room, f"a tilted simplex ETF of M = {p['M']} needs M <= {'d + 1' if p['mu_norm'] == 0 else 'd'} (d = {p['d']})")
    if S == "regular-polygon":
        need(p["M"] >= 3 and p["d"] >= 2, "a regular polygon needs M >= 3 and d >= 2")


register(Kind(
    name="optimum",
    params={
        "activation": activation("relu"),
        "M": Param("int", lo=1, hi=WIDTH_MAX),
        "d": Param("int", lo=1, hi=DIM_MAX),
        "mu_norm": nonnegative(1.0),
        "s": positive(1.0),
        "abar": abar(1.0),
        "restarts": Param("int", 200, lo=1, hi=RESTARTS_MAX),
        "seed": seed(0),
    },
    tolerances=(),
    figures=("best_value", "distinct_minima", "value_relative_difference"),
    run=run,
    check=check,
    prediction={
        "structure": Param("str", "", choices=("",) + STRUCTURES, doc="the predicted structure of the optimum"),
        "value": Param("num", "", lo=0, hi=1e300, doc="the predicted min L~ (a decimal string is read exactly)"),
        "rel_tol": Param("float", 0.0, lo=0, hi=1, doc="relative tolerance of the value"),
    },
    check_prediction=check_prediction,
))
