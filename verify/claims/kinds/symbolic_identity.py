"""Claim kind symbolic-identity (MATH.md section 2): named sympy derivations (Price's theorem, boundary
values, ...), each `verify.kernels.symbolic.run_check`.

experiment `measure`: the check records; verdict `decide`: verified when every check holds, else
refuted; render `render`.
"""

from __future__ import annotations

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import check_activation, need
from verify.claims.result import Context, Finding, worst
from verify.claims.schema import Param
from verify.errors import InputError

PER_ACTIVATION = ("price_theorem", "boundary_values")  # checks run once per activation


def _check_name(name) -> None:
    from verify.kernels.symbolic import CHECKS

    if name not in CHECKS:
        raise InputError(f"unknown symbolic check {name!r}; known: {', '.join(CHECKS)}")


def _targets(p: dict, name: str) -> list:
    return p["activations"] if name in PER_ACTIVATION else [None]


def measure(p: dict, ctx: Context) -> list:
    from verify.kernels.symbolic import run_check

    results = []
    for name in p["checks"]:
        for act in _targets(p, name):
            ctx.progress(f"{name} {act or ''}".strip())
            results.append((name, run_check(name, **({"activation": act} if act else {}))))
    return results


def decide(passed: list[bool]) -> str:
    """verified when every check holds (an empty list is refused at load), else refuted."""
    return "verified" if all(passed) else "refuted"


def render(results: list, status: str) -> Finding:
    rows = [[name, r.activation, "yes" if r.passed else "NO", r.method, f"{r.residual:.1e}", r.details[:160]] for name, r in results]
    passed = sum(r.passed for _, r in results)
    figures = {
        "passed": float(passed),
        "total": float(len(results)),
        "max_residual": worst([r.residual for _, r in results]),
    }
    return Finding(
        status=status,
        summary=f"{passed}/{len(results)} symbolic checks hold (sympy; numeric fallback residual <= {figures['max_residual']:.1e})",
        figures=figures,
        key_figure="passed",
        columns=["check", "activation", "holds", "method", "residual", "details"],
        rows=rows,
        precision={"sympy_evalf_digits": 50},
    )


def run(claim, ctx: Context) -> Finding:
    results = measure(claim.parameters, ctx)
    return render(results, decide([r.passed for _, r in results]))


def check(p: dict) -> None:
    for name in p["checks"]:
        need(bool(_targets(p, name)), f"check {name!r} runs once per activation: activations must not be empty")


register(Kind(
    name="symbolic-identity",
    params={"checks": Param("list[str]", check=_check_name), "activations": Param("list[str]", [], check=check_activation)},
    tolerances=(),
    figures=("passed", "total", "max_residual"),
    run=run,
    check=check,
))
