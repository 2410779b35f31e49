"""Claim kinds about the exact finite-N loss (MATH.md section 3).

- loss-vs-monte-carlo: L_N from kernels against a Monte Carlo average over x ~ N(0, I_d). The
  z-score (L_MC - L_N) / SE is asymptotically N(0, 1) if L_N is right; |z| > z_max on a fresh,
  four times larger sample refutes, a single excursion is inconclusive.
- loss-vs-mpmath: the float64 blocked L_N against the same loss with every inner product and
  kernel in mpmath.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from verify.claims.kinds import Kind, register
from verify.claims.result import Context, Finding, worst
from verify.claims.schema import Param
from verify.model.networks import TargetLaw, TwoLayerNetwork
from verify.model import loss, loss_monte_carlo, loss_mp

_LAW_PARAMS = {
    "activations": Param("list[str]"),
    "N": Param("int"),
    "d": Param("int"),
    "M": Param("int"),
    "mu_norm": Param("float", 1.0),
    "s": Param("float", 1.0),
    "abar": Param("float", 1.0),
    "var_a": Param("float", 0.0),
    "xi": Param("str", "gaussian", choices=("gaussian", "rademacher", "uniform", "sparse")),
    "seeds": Param("list[int]"),
}


def instance(params, act: str, seed: int) -> tuple[TwoLayerNetwork, TwoLayerNetwork]:
    """A target drawn from the law with `seed`, and a compressed network drawn with seed + 10^6:
    b_j ~ N(0, 1/M), v_j ~ mu + N(0, s^2 / d I)."""
    d = params["d"]
    mu = np.zeros(d)
    mu[0] = params["mu_norm"]
    law = TargetLaw(d=d, mu=mu, s=params["s"], abar=params["abar"], var_a=params["var_a"], xi=params["xi"], activation=act)
    target = law.sample(params["N"], seed)
    rng = np.random.default_rng(seed + 10**6)
    M = params["M"]
    b = rng.standard_normal(M) / math.sqrt(M)
    V = mu[None, :] + params["s"] / math.sqrt(d) * rng.standard_normal((M, d))
    return target, TwoLayerNetwork(b, V, act)


def run_loss_vs_monte_carlo(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    rows, zs, fails = [], [], []
    for act in p["activations"]:
        for seed in p["seeds"]:
            ctx.progress(f"{act} seed {seed}")
            target, comp = instance(p, act, seed)
            exact = loss(target, comp)
            mc = loss_monte_carlo(target, comp, samples=p["samples"], seed=seed + 2 * 10**6)
            z = (mc.mean - exact) / mc.stderr
            zs.append(abs(z))
            if abs(z) > tol["z_max"]:
                fails.append((act, seed, target, comp, exact))
            rows.append([act, seed, f"{exact:.12g}", f"{mc.mean:.6g}", f"{mc.stderr:.2g}", f"{z:+.2f}"])
    notes, status = [], "verified"
    if fails:
        persists = 0
        for act, seed, target, comp, exact in fails:
            mc = loss_monte_carlo(target, comp, samples=4 * p["samples"], seed=seed + 3 * 10**6)
            persists += abs((mc.mean - exact) / mc.stderr) > tol["z_max"]
        status = "refuted" if persists else "inconclusive"
        notes.append(f"{len(fails)} instances beyond {tol['z_max']} SE; {persists} still beyond on a 4x fresh sample")
    figures = {"max_abs_z": worst(zs), "mean_abs_z": float(np.mean(zs)), "instances": float(len(zs))}
    if ctx.make_plots:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(range(len(rows)), [float(r[5]) for r in rows], "o")
        for y in (tol["z_max"], -tol["z_max"]):
            ax.axhline(y, color="red", ls="--", lw=1)
        ax.set(xlabel="instance", ylabel="(L_MC - L_N) / SE", title="Monte Carlo against the exact L_N")
        ctx.save_figure(fig, "zscores")
    return Finding(
        status=status,
        summary=f"{len(zs)} instances: max |z| = {figures['max_abs_z']:.2f} (band {tol['z_max']}), mean |z| = {figures['mean_abs_z']:.2f} (0.80 expected)",
        figures=figures,
        key_figure="max_abs_z",
        columns=["activation", "seed", "L_N (exact)", "L_MC", "SE", "z"],
        rows=rows,
        seeds=list(p["seeds"]),
        precision={"float64": True, "mc_samples": p["samples"]},
        notes=notes,
        plots=list(ctx.plots),
    )


register(Kind(
    name="loss-vs-monte-carlo",
    params={**_LAW_PARAMS, "samples": Param("int", 200_000)},
    tolerances=("z_max",),
    figures=("max_abs_z", "mean_abs_z", "instances"),
    run=run_loss_vs_monte_carlo,
))


def run_loss_vs_mpmath(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    rows, errs = [], []
    for act in p["activations"]:
        for seed in p["seeds"]:
            ctx.progress(f"{act} seed {seed}")
            target, comp = instance(p, act, seed)
            exact = loss(target, comp)
            hp = loss_mp(target, comp, dps=p["dps"])
            err = float(abs(mpmath.mpf(exact) - hp) / abs(hp))
            errs.append(err)
            rows.append([act, seed, f"{exact:.17g}", mpmath.nstr(hp, 25), f"{err:.1e}"])
    figures = {"max_rel_error": worst(errs), "instances": float(len(errs))}
    ok = figures["max_rel_error"] <= tol["rel"]
    return Finding(
        status="verified" if ok else "refuted",
        summary=f"{len(errs)} instances: float64 L_N vs {p['dps']}-digit mpmath max rel err {figures['max_rel_error']:.1e} (band {tol['rel']:.0e})",
        figures=figures,
        key_figure="max_rel_error",
        columns=["activation", "seed", "L_N float64", f"L_N mpmath ({p['dps']} digits)", "rel err"],
        rows=rows,
        seeds=list(p["seeds"]),
        precision={"mpmath_dps": p["dps"]},
    )


register(Kind(
    name="loss-vs-mpmath",
    params={**_LAW_PARAMS, "dps": Param("int", 30)},
    tolerances=("rel",),
    figures=("max_rel_error", "instances"),
    run=run_loss_vs_mpmath,
))
