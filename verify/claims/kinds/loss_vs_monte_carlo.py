"""Claim kind loss-vs-monte-carlo (MATH.md section 3): L_N from kernels against a Monte Carlo average
over x ~ N(0, I_d). The z-score (L_MC - L_N) / SE is asymptotically N(0, 1) if L_N is right; |z| > z_max
on a fresh, four times larger sample refutes, a single excursion is inconclusive.

experiment `measure`: per (activation, seed) the exact L_N, the Monte Carlo mean, SE and z, and for
every |z| > z_max the z of a fresh sample four times larger; verdict `decide` (pure); render `render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import LAW_PARAMS, instance
from verify.claims.result import Context, Finding, worst
from verify.claims.schema import Param
from verify.model import loss, loss_monte_carlo


@dataclass
class Measured:
    instances: list = field(default_factory=list)  # (activation, seed, L_N, L_MC, SE, z)
    retest_z: list = field(default_factory=list)  # z on the fresh 4x sample, for each |z| > z_max

    @property
    def abs_z(self) -> list[float]:
        return [abs(r[5]) for r in self.instances]


def measure(p: dict, tol: dict, ctx: Context) -> Measured:
    m, fails = Measured(), []
    for act in p["activations"]:
        for seed in p["seeds"]:
            ctx.progress(f"{act} seed {seed}")
            target, comp = instance(p, act, seed)
            exact = loss(target, comp)
            mc = loss_monte_carlo(target, comp, samples=p["samples"], seed=seed + 2 * 10**6)
            z = (mc.mean - exact) / mc.stderr
            if abs(z) > tol["z_max"]:
                fails.append((act, seed, target, comp, exact))
            m.instances.append((act, seed, exact, mc.mean, mc.stderr, z))
    for act, seed, target, comp, exact in fails:
        mc = loss_monte_carlo(target, comp, samples=4 * p["samples"], seed=seed + 3 * 10**6)
        m.retest_z.append((mc.mean - exact) / mc.stderr)
    return m


def decide(abs_z: list[float], retest_z: list[float], tol: dict) -> tuple[str, int, int]:
    """(status, excursions, persisting): verified without an excursion |z| > z_max; refuted when an
    excursion persists on the fresh sample; inconclusive when none does."""
    fails = sum(z > tol["z_max"] for z in abs_z)
    if not fails:
        return "verified", 0, 0
    persists = sum(abs(z) > tol["z_max"] for z in retest_z)
    return ("refuted" if persists else "inconclusive"), fails, persists


def render(p: dict, tol: dict, m: Measured, verdict: tuple[str, int, int], ctx: Context) -> Finding:
    status, fails, persists = verdict
    zs = m.abs_z
    rows = [[act, seed, f"{exact:.12g}", f"{mean:.6g}", f"{se:.2g}", f"{z:+.2f}"] for act, seed, exact, mean, se, z in m.instances]
    notes = []
    if fails:
        notes.append(f"{fails} instances beyond {tol['z_max']} SE; {persists} still beyond on a 4x fresh sample")
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


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    m = measure(p, tol, ctx)
    return render(p, tol, m, decide(m.abs_z, m.retest_z, tol), ctx)


register(Kind(
    name="loss-vs-monte-carlo",
    params={**LAW_PARAMS, "samples": Param("int", 200_000, lo=2, hi=10**8)},
    tolerances=("z_max",),
    figures=("max_abs_z", "mean_abs_z", "instances"),
    run=run,
))
