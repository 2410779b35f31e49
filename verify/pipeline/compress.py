r"""One compression instance end to end (MATH.md section 6): search, ETF, structure, certificates, verdict.

`compress(M, d, mu_norm, s, abar, objective, restarts, seed)` runs, for ReLU and mu = mu_norm e_1:
  1. the global search of L~ (`verify.search.global_search`), or for objective = "meanfield" the
     search of L~ followed by a local polish of the distinct minima on the mean-field loss L_inf
     (gaussian xi, `verify.model.meanfield`; b solved exactly for given V, the directions by
     L-BFGS with finite-difference gradients: L_inf has no analytic gradient here);
  2. the best tilted simplex ETF (`verify.model.etf.best_etf`, 40 digits), when it exists
     (d >= M for mu != 0, d >= M - 1 for mu = 0);
  3. the structure of the best configuration found (`verify.search.structure`);
  4. the local certificate of the ETF in ball arithmetic (`verify.certify.local`);
  5. a certified global lower bound with its assumptions (`verify.certify`: at mu = 0 the exact
     sign-free even square for M <= 16 (no assumption), else the Delsarte-Yudin tangent line
     (beta >= 0); the tilted Delsarte bound with a pole at hat(mu) for mu != 0, whose
     gap to the ETF is 6-30% on the issue's grid, so it never certifies the ETF there);
and a verdict:
  "etf-not-optimal"        a converged configuration beats the ETF by more than the errors of
                           both values, confirmed by the 30-digit values;
  "etf-optimal-certified"  the certified lower bound meets the ETF value (gap <= 1e-20 relative);
                           conditional on the bound's assumptions, which are reported;
  "etf-best-found"         the best configuration found is the ETF (same value to the errors);
  "inconclusive"           anything else (no ETF for these (M, d), or the search found neither).
For objective = "meanfield" the ETF, certificate and bound refer to L~ (the conjecture's problem);
the verdict then compares the mean-field minimum found with L_inf at the ETF.

The result is a `CompressResult`; its `to_dict()` is the JSON record (`verify compress --json`).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass

import mpmath
import numpy as np
from scipy import optimize

from verify.certify.result import CertifiedBound
from verify.errors import InputError
from verify.model.simplified import SimplifiedProblem
from verify.model.etf import best_etf, etf_network
from verify.search.global_search import search_simplified
from verify.search.structure import classify

TIE_REL = 1e-12  # values closer than this (relative) are the same minimum


@dataclass(frozen=True)
class CompressResult:
    """The result of `compress` for one instance (M neurons, R^d, mu = mu_norm e_1, s, abar).

    objective: "simplified" (L~) or "meanfield" (L_inf); M, d, mu_norm, s, abar, seed, restarts: the
      inputs.
    best: the best configuration found: {"loss": 30-digit string (meanfield: L_inf to 15 digits),
      "b": list, "V": list of rows}.
    search: {"distinct_minima", "converged", "max_grad_norm", "basins": up to 10 of {"loss",
      "restarts", "class"}, "unconverged_best": float or None, "seconds"}.
    structure: `verify.search.structure.classify` of the best: {"class", "equiangular_error",
      "axis_alignment", "tightness_error", "weight_spread", "description"}.
    etf: the best tilted simplex ETF {"loss", "alpha", "beta", "t"} (30-digit strings; meanfield adds
      "L_inf"), None when none exists in R^d.
    local_certificate: {"certified", "min_eigenvalue", "status", "reason"} (`verify.certify.local`).
    lower_bound: the certified lower bound (a `verify.certify.result.CertifiedBound` as JSON):
      {"value" (lower decimal end; None unless certified), "value_hi", "assumptions", "certified",
      "method"} and, at mu = 0, "status" (`Mu0Certificate.status`), else "gap" and "relative_gap" to
      the ETF; with pole_bound also "alternatives" (both bounds' records).
    verdict: "etf-not-optimal", "etf-optimal-certified", "etf-best-found" or "inconclusive" (module
      docstring).

    `to_dict()` is the JSON record (`verify compress --json`, the etf-grid reports): the fields as
    a plain dict, in this order.
    """

    objective: str
    M: int
    d: int
    mu_norm: float
    s: float
    abar: float
    seed: int
    restarts: int
    best: dict
    search: dict
    structure: dict
    etf: dict | None
    local_certificate: dict
    lower_bound: dict
    verdict: str

    def to_dict(self) -> dict:
        """The JSON record: a plain dict of the fields in order (nested dicts copied, so a caller may
        add to it without changing the result)."""
        return copy.deepcopy({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})


def _etf_exists(M: int, d: int, mu_norm: float) -> bool:
    return d >= M if mu_norm > 0 else d >= M - 1


def _bound_dict(cb: CertifiedBound) -> dict:
    """The JSON record of a bound: value (the lower decimal end, None unless certified), value_hi,
    assumptions, certified, method."""
    return {"value": cb.ball[0] if cb.certified else None, "value_hi": cb.ball[1], "assumptions": list(cb.assumptions),
            "certified": bool(cb.certified), "method": cb.method}


def _gap_dict(cb: CertifiedBound) -> dict:
    """`_bound_dict` and the gap to the best tilted ETF (mu != 0)."""
    return {**_bound_dict(cb), "gap": cb.gap, "relative_gap": cb.relative_gap}


def lower_bound(M: int, d: int, mu_norm: float, s: float, abar: float, cache: dict | None = None,
                pole: bool = False, certify: bool = False, progress=None) -> dict:
    """The suite's certified lower bound on min L~ (ReLU) as a JSON record (`_bound_dict`): mu = 0
    the sign-free even square (M in evensquare.EXACT_M, d >= M - 1) or the tangent-line bound, else the Delsarte bound with a pole (and the two-point bound if `pole`).
    certify: the branch and bound of `verify.certify.planar` (M = 2, no sign assumption, minutes
    at large ||mu|| / s); the default bound is kept in "alternatives"."""
    if certify:
        return _certified_bound(M, d, mu_norm, s, abar, cache, pole, progress)
    if mu_norm == 0:
        from verify.certify import certify_mu0
        from verify.certify.evensquare import exact_route

        c = None
        if exact_route(M, d):  # exact and sign-free (docs/bounds-mu.md section 9)
            c = certify_mu0(M, d, abar=abar, s=s, method="signfree")
            c = c if c.status == "optimal" else None
        c = c or certify_mu0(M, d, abar=abar, s=s)
        cb = c.as_certified_bound()  # every status is a proven bound
        return {**_bound_dict(cb), "status": cb.details["status"]}
    from verify.certify.tilted import lower_bound_tilted

    out = _gap_dict(lower_bound_tilted(M, d, mu_norm, s=s, abar=abar, cache=cache).as_certified_bound())
    if pole:  # the two-point bound (docs/bounds-mu.md section 5): tighter where it certifies (M = 2 so far)
        from verify.certify.pole import lower_bound_pole

        pole_cache = None if cache is None else cache.setdefault("pole", {})
        alt = _gap_dict(lower_bound_pole(M, d, mu_norm, s=s, abar=abar, cache=pole_cache).as_certified_bound())
        out["alternatives"] = [dict(out), dict(alt)]
        if alt["certified"] and (not out["certified"] or mpmath.mpf(alt["value"]) > mpmath.mpf(out["value"])):
            out.update(alt)
    return out


def _meanfield_polish(M, d, mu_norm, s, abar, starts, maxiter=200):
    """Polish candidate directions on L_inf (gaussian xi) with exact b for each V."""
    from verify.model.meanfield import mean_field_problem

    mf = mean_field_problem(d, mu_norm, s, abar=abar)
    best = None
    for V0 in starts:
        def f(x):
            V = x.reshape(M, d)
            K = mf.K_VV(V)
            C = np.asarray(mf.C_inf(V), dtype=float)
            b = np.linalg.lstsq(K, C, rcond=1e-13)[0]
            return float(mf.S_inf() - C @ b)

        res = optimize.minimize(f, V0.ravel(), method="L-BFGS-B", options={"maxiter": maxiter, "ftol": 1e-15, "gtol": 1e-10})
        V = res.x.reshape(M, d)
        C = np.asarray(mf.C_inf(V), dtype=float)
        b = np.linalg.lstsq(mf.K_VV(V), C, rcond=1e-13)[0]
        L = mf.L_inf(b, V)
        if best is None or L < best[0]:
            best = (L, b, V, float(np.linalg.norm(res.jac)))
    return mf, best


def compress(M: int, d: int, mu_norm: float, s: float, abar: float = 1.0, *, objective: str = "simplified",
             restarts: int = 1000, seed: int = 0, progress=None, search=None, bound_cache: dict | None = None,
             pole_bound: bool = False, certify: bool = False) -> CompressResult:
    """The result of one instance (see the module docstring and `CompressResult`).

    search: a `SearchResult` of the same (M, mu_norm, s, abar, restarts, seed) computed in
    min(d, M + 1) dimensions (or fewer than d): L~ depends on d only through that span, so the
    instances d = M + 1 and d = 2M share one search; its configurations are padded with zeros.
    bound_cache: passed to the lower bound, which is also the same for every d >= M + 1.
    pole_bound: also try the two-point bound with a pole (`verify.certify.pole`, which certifies
    M = 2 so far, at a much higher cost) and keep the larger certified bound; both are in lower_bound["alternatives"].
    certify: the certified branch and bound (`verify.certify.planar`, M = 2, no sign assumption)."""
    for name, v in (("mu_norm", mu_norm), ("s", s), ("abar", abar)):
        if not math.isfinite(v):
            raise InputError(f"{name} must be finite")
    if mu_norm < 0 or s <= 0:
        raise InputError("need mu_norm >= 0 and s > 0")
    if objective not in ("simplified", "meanfield"):
        raise InputError(f"objective must be simplified or meanfield, got {objective!r}")
    if isinstance(M, bool) or not isinstance(M, int) or M < 1 or isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise InputError("M and d must be positive integers")
    if certify:
        _check_certify(M, d)
    mu = np.zeros(d)
    mu[0] = mu_norm
    prob = SimplifiedProblem(mu, s, abar, "relu")
    if search is None:
        res = search_simplified(prob, M, restarts=restarts, seed=seed, progress=progress)
    else:
        res = search
        if res.restarts != restarts or res.seed != seed or any(m.V.shape[0] != M or m.V.shape[1] > d for m in res.minima):
            raise InputError("the search given does not match (M, d, restarts, seed)")
        if any(m.V.shape[1] < min(d, M + 1) for m in res.minima):
            raise InputError("the search given ran in fewer dimensions than min(d, M + 1)")
        res = dataclasses.replace(res, minima=[dataclasses.replace(m, V=np.pad(m.V, ((0, 0), (0, d - m.V.shape[1]))))
                                               for m in res.minima])
    if not res.minima:
        raise InputError("no restart converged; increase --restarts")
    best = res.best
    out: dict = {"objective": objective, "M": M, "d": d, "mu_norm": mu_norm, "s": s, "abar": abar, "seed": seed,
                 "restarts": restarts}
    best_loss, best_b, best_V, best_loss_str = best.loss, best.b, best.V, best.loss_mp
    if objective == "meanfield":
        starts = [m.V for m in res.minima[:3]]
        mf, (L, b, V, g) = _meanfield_polish(M, d, mu_norm, s, abar, starts)
        best_loss, best_b, best_V, best_loss_str = L, b, V, f"{L:.15g}"
    out["best"] = {"loss": best_loss_str, "b": best_b.tolist(), "V": best_V.tolist()}
    out["search"] = {"distinct_minima": len(res.minima), "converged": res.converged, "max_grad_norm": res.max_grad_norm,
                     "basins": [{"loss": m.loss_mp, "restarts": m.count, "class": classify(m.b, m.V, mu).cls}
                                for m in res.minima[:10]],
                     "unconverged_best": None if math.isinf(res.unconverged_best) else res.unconverged_best,
                     "seconds": res.seconds}
    st = classify(best_b, best_V, mu)
    out["structure"] = {"class": st.cls, "equiangular_error": st.equiangular_error, "axis_alignment": st.axis_alignment,
                        "tightness_error": st.tightness_error, "weight_spread": st.weight_spread,
                        "description": st.description}
    etf = None
    if _etf_exists(M, d, mu_norm):
        etf = best_etf(M, mu_norm, s, abar)
        out["etf"] = {"loss": mpmath.nstr(etf.loss, 30), "alpha": mpmath.nstr(etf.alpha, 30),
                      "beta": mpmath.nstr(etf.beta, 30), "t": mpmath.nstr(etf.t, 30)}
        from verify.certify.local import certify_local

        cert = certify_local(M, d, mu_norm, s, abar)
        out["local_certificate"] = {"certified": cert.certified, "min_eigenvalue": cert.min_eigenvalue,
                                    "status": cert.status, "reason": cert.reason}
    else:
        out["etf"] = None
        out["local_certificate"] = {"certified": False, "min_eigenvalue": None, "status": "no-etf",
                                    "reason": f"no tilted simplex of {M} in d = {d}"}
    out["lower_bound"] = lower_bound(M, d, mu_norm, s, abar, bound_cache, pole_bound, certify=certify, progress=progress)
    out["verdict"] = _verdict(out, best, etf, objective, best_loss, best_b, best_V, mu, s, abar, d, M)
    return CompressResult(**out)


def _check_certify(M: int, d: int) -> None:
    if M != 2:
        raise InputError(f"--certify: the certified branch and bound covers M = 2 so far (got M = {M})")
    if d < 2:
        raise InputError("--certify needs d >= 2 (the plane of the two neurons and hat(mu))")


def _certified_bound(M, d, mu_norm, s, abar, cache, pole, progress) -> dict:
    """The planar certificate's record, or the default bound's when it does not certify; both are
    in "alternatives" ([default, planar], the default with its own alternatives when `pole`)."""
    _check_certify(M, d)
    from verify.certify.planar import certify_m2

    default = lower_bound(M, d, mu_norm, s, abar, cache, pole)
    key = ("planar", mu_norm, s, abar)  # the bound does not depend on d >= 2
    pb = cache.get(key) if cache is not None else None
    if pb is None:
        pb = certify_m2(mu_norm, s, abar, progress=None if progress is None else
                        (lambda n: progress(f"branch and bound: {n} boxes")))
        if cache is not None:
            cache[key] = pb
    cb = pb.as_certified_bound()
    new = {**_gap_dict(cb), "optimal": pb.optimal, "boxes": pb.boxes, "pruned": dict(pb.pruned), "min_margin": pb.min_margin,
           "exclusion_radius": list(pb.radius), "seconds": pb.seconds, "notes": list(pb.notes)}
    out = dict(new) if cb.certified else dict(default)
    out["alternatives"] = [dict(default), new]
    return out


def _verdict(out, best, etf, objective, best_loss, best_b, best_V, mu, s, abar, d, M) -> str:
    if etf is None:
        return "inconclusive"
    if objective == "meanfield":
        from verify.model.meanfield import mean_field_problem

        b, V = etf_network(etf, d, mu)
        L_etf = mean_field_problem(d, float(np.linalg.norm(mu)), s, abar=abar).L_inf(b, V)
        out["etf"]["L_inf"] = f"{L_etf:.15g}"
        if best_loss < L_etf - 1e-10 * abs(L_etf):
            return "etf-not-optimal"
        return "etf-best-found" if abs(best_loss - L_etf) <= 1e-9 * abs(L_etf) else "inconclusive"
    with mpmath.workdps(40):
        etf_val = +etf.loss
        best_val = mpmath.mpf(best.loss_mp)
        err = best.value_error + TIE_REL * abs(float(etf_val))
        if best_val < etf_val - err:
            return "etf-not-optimal"
        unconv = out["search"]["unconverged_best"]
        if unconv is not None and unconv < float(etf_val) * (1 - 1e-9):
            return "inconclusive"  # a restart that did not converge is below the ETF: it may be heading lower
        lb = out["lower_bound"]
        if lb["certified"] and lb["value"] is not None and mpmath.mpf(lb["value"]) >= etf_val * (1 - mpmath.mpf(10) ** -20):
            return "etf-optimal-certified"
        if abs(best_val - etf_val) <= err:
            return "etf-best-found"
        return "inconclusive"


# Cost model of `compress`, fitted on the reference machine (2 busy cores). The search runs in
# d_eff = min(d, M + 1) dimensions on n = M d_eff variables: per restart about 6e-9 n^3 s (Newton
# with the analytic n x n Hessian; M = 16, d = 17, 100 restarts: 11.7 s; M = 20, d = 21, 60: 26.6 s;
# M = 24, d = 25, 40: 47 s) and memory about 5 n^2 doubles per restart of a batch of <= 1000
# (peak RSS 418, 543, 694 MB there). The local certificate (when the ETF exists) works on
# n' = M + M d variables in arb: about 9e-8 n'^3 s and 1 kB per matrix entry (M = 24, d = 25: 9 s;
# M = 4, d = 200: 45 s, 0.73 GB); the lower bound takes 1-3 s.
def compress_cost(M: int, d: int, mu_norm: float, restarts: int) -> tuple[float, float]:
    """(estimated seconds, estimated GiB) of one `compress` instance, from the cost model above:
    the CLI refuses requests beyond its limits before any work starts."""
    d_eff = min(d, M + 1 if mu_norm > 0 else M)
    n = M * d_eff
    batch = min(restarts, 1000)
    seconds = restarts * (6e-9 * n**3 + 5e-3) + 3.0
    mem = 5 * batch * n * n * 8 + restarts * M * d * 8 * 2 + 2e8
    if (d >= M if mu_norm > 0 else d >= M - 1):  # the ETF exists: local certificate in arb
        n_loc = M + M * d
        seconds += 9e-8 * n_loc**3
        mem = max(mem, 1e3 * n_loc**2 + 2e8)
    return seconds, mem / 2**30
