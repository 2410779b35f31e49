"""Kernels at the edges (issue 14), each figure next to the naive alternative in the same process.

1. `verify kernel gelu` at 30 digits (closed form in mpmath plus the arb enclosure, as the command
   runs it, precision raised until the ball resolves 30 digits) for q = 1 ... 1e16 at rho = 1 and
   rho = -1, in seconds, against the 30-digit quadrature the command used before the closed form
   (at q = 1 and 30 only: it grows like q).
2. The float64 accuracy of every closed form on random points (q1, q2 log-uniform in [1e-12, 1e16],
   rho uniform, near +-1 and at +-1): the worst error in ulp of Sigma (the contract's scale,
   `verify.kernels.activations`), against the contract FLOAT64_ULPS. For erf and gelu also the
   worst relative error of the textbook arcsin form in float64 (the naive alternative).

Run: python benchmarks/bench_kernel_edges.py [--points N] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import mpmath
import numpy as np

EPS = 2.0**-52


def time_kernel_command(label: str, q: str, c: str, dps: int = 30) -> float:
    from verify.cli import main

    import contextlib
    import io

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["kernel", label, "--q1", q, "--q2", q, "--c", c, "--dps", str(dps)])
    assert rc == 0
    return time.perf_counter() - t0


def fit_c(q1: float, q2: float, rho: float) -> float:
    from fractions import Fraction

    c = float(rho) * math.sqrt(q1) * math.sqrt(q2)
    while Fraction(c) ** 2 > Fraction(q1) * Fraction(q2):
        c = float(np.nextafter(c, 0.0))
    return c


def arcsin_erf64(q1, q2, c):
    return 2 / math.pi * math.asin(max(-1.0, min(1.0, 2 * c / (math.sqrt(1 + 2 * q1) * math.sqrt(1 + 2 * q2)))))


def arcsin_gelu64(q1, q2, c):
    S1, S2 = 1 + q1, 1 + q2
    det = max(q1 * q2 - c * c, 0.0)
    D = 1 + q1 + q2 + det
    N = det + c * c * (1 / S1 + 1 / S2)
    return c / 4 + c * math.asin(max(-1.0, min(1.0, c / math.sqrt(S1 * S2)))) / (2 * math.pi) + N / (2 * math.pi * math.sqrt(D))


def accuracy_sweep(points: int, seed: int) -> dict:
    from verify.kernels import get_activation, kernel, kernel_mp
    from verify.kernels.activations import FLOAT64_ULPS

    labels = ["relu", "abs", "leaky_relu(alpha=0.1)", "leaky_relu(alpha=-0.5)", "step", "sign", "erf", "gelu",
              "hermite(n=3)", "hermite(n=6)"]
    naive = {"erf": arcsin_erf64, "gelu": arcsin_gelu64}
    out = {"contract_ulps": FLOAT64_ULPS, "points": points, "seed": seed, "worst_ulps_of_sigma": {},
           "naive_arcsin_worst_relative": {}}
    for label in labels:
        act = get_activation(label)
        rng = np.random.default_rng(seed)
        worst, worst_naive = 0.0, 0.0
        for _ in range(points):
            q1, q2 = 10 ** rng.uniform(-12, 16), 10 ** rng.uniform(-12, 16)
            kind = rng.integers(0, 4)
            rho = [rng.uniform(-1, 1), -(1 - 10 ** -rng.uniform(0, 14)), 1 - 10 ** -rng.uniform(0, 14),
                   rng.choice([-1.0, 1.0])][kind]
            c = fit_c(q1, q2, rho)
            got = kernel(act, q1, q2, c)
            with mpmath.workdps(50):
                ref = kernel_mp(act, q1, q2, c, 50).value
                args = [mpmath.mpf(v) for v in (q1, q2, c)]
                sigma = abs(ref) if act.k_scale_mp is None else act.k_scale_mp(*args)
                if sigma:
                    worst = max(worst, float(abs(mpmath.mpf(got) - ref) / (EPS * sigma)))
                if label in naive and ref != 0:
                    worst_naive = max(worst_naive, float(abs(mpmath.mpf(naive[label](q1, q2, c)) - ref) / abs(ref)))
        out["worst_ulps_of_sigma"][label] = round(worst, 2)
        if label in naive:
            out["naive_arcsin_worst_relative"][label] = float(f"{worst_naive:.3g}")
        print(f"  {label:24s} worst {worst:6.2f} ulp of Sigma" +
              (f"   (arcsin form: worst relative error {worst_naive:.2g})" if label in naive else ""), flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    from verify.kernels import kernel_mp

    results = {"gelu_kernel_command_seconds": {}, "gelu_quadrature_seconds": {}}
    time_kernel_command("gelu", "1", "1")  # imports
    print("verify kernel gelu, 30 digits (closed form + arb enclosure):")
    for q in ["1", "100", "1e4", "1e8", "1e12", "1e16"]:
        for sign in ("", "-"):
            t = min(time_kernel_command("gelu", q, sign + q) for _ in range(3))
            results["gelu_kernel_command_seconds"][f"q={q}, rho={sign}1"] = round(t, 4)
            print(f"  q = {q:5s} rho = {sign or '+'}1: {t * 1e3:7.1f} ms", flush=True)
    print("the same value by 30-digit quadrature (the command's path before the closed form):")
    for q in [1, 30]:
        t0 = time.perf_counter()
        kernel_mp("gelu", q, q, 0.5 * q, 30, method="quadrature")
        t = time.perf_counter() - t0
        results["gelu_quadrature_seconds"][f"q={q}, rho=0.5"] = round(t, 3)
        print(f"  q = {q:3d}: {t:7.2f} s", flush=True)
    print(f"float64 accuracy, {args.points} random points per activation:")
    results["float64_accuracy"] = accuracy_sweep(args.points, args.seed)
    if args.json:
        from verify.io import atomic_write_json

        atomic_write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
