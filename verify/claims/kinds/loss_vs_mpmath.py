"""Claim kind loss-vs-mpmath (MATH.md section 3): the float64 blocked L_N against the same loss with
every inner product and kernel in mpmath at `dps` digits.

experiment `measure`: per (activation, seed) the float64 and mpmath losses and their relative error;
verdict `decide`: verified when the largest relative error is <= tolerance `rel`, else refuted;
render `render`: the table of values and the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import LAW_PARAMS, dps, instance
from verify.claims.result import Context, Finding, worst
from verify.model import loss, loss_mp


@dataclass
class Measured:
    """Per instance: (activation, seed, float64 L_N, mpmath L_N, relative error)."""

    instances: list = field(default_factory=list)

    @property
    def errors(self) -> list[float]:
        return [r[4] for r in self.instances]


def measure(p: dict, ctx: Context) -> Measured:
    m = Measured()
    for act in p["activations"]:
        for seed in p["seeds"]:
            ctx.progress(f"{act} seed {seed}")
            target, comp = instance(p, act, seed)
            exact = loss(target, comp)
            hp = loss_mp(target, comp, dps=p["dps"])
            err = float(abs(mpmath.mpf(exact) - hp) / abs(hp))
            m.instances.append((act, seed, exact, hp, err))
    return m


def decide(errors: list[float], tol: dict) -> str:
    """verified when every relative error is <= tol["rel"] (NaN fails), else refuted."""
    return "verified" if worst(errors) <= tol["rel"] else "refuted"


def render(p: dict, tol: dict, m: Measured, status: str) -> Finding:
    errs = m.errors
    rows = [[act, seed, f"{exact:.17g}", mpmath.nstr(hp, 25), f"{err:.1e}"] for act, seed, exact, hp, err in m.instances]
    figures = {"max_rel_error": worst(errs), "instances": float(len(errs))}
    return Finding(
        status=status,
        summary=f"{len(errs)} instances: float64 L_N vs {p['dps']}-digit mpmath max rel err {figures['max_rel_error']:.1e} (band {tol['rel']:.0e})",
        figures=figures,
        key_figure="max_rel_error",
        columns=["activation", "seed", "L_N float64", f"L_N mpmath ({p['dps']} digits)", "rel err"],
        rows=rows,
        seeds=list(p["seeds"]),
        precision={"mpmath_dps": p["dps"]},
    )


def run(claim, ctx: Context) -> Finding:
    p, tol = claim.parameters, claim.tolerance
    m = measure(p, ctx)
    return render(p, tol, m, decide(m.errors, tol))


register(Kind(
    name="loss-vs-mpmath",
    params={**LAW_PARAMS, "dps": dps(30, lo=20, doc="mpmath digits (>= 20: the check compares with float64's ~16)")},
    tolerances=("rel",),
    figures=("max_rel_error", "instances"),
    run=run,
))
