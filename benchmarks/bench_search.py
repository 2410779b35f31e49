"""Search and certification benchmarks (issue 4), each next to the plain alternative in the same process.

1. Restarts per minute of the global search of L~ for M = 8, d = 9, ||mu|| = s = 1: the batched
   search (`verify.search.global_search.search_simplified`, L-BFGS over all restarts at once, then
   batched Newton, to gradient norm 1e-12) against a plain loop of scipy L-BFGS-B over single
   restarts on L~(b, V) with the analytic gradient of `SimplifiedProblem.grad` (gtol 1e-12,
   which scipy typically cannot reach: its stopping reasons are reported); and the same batched
   search at the grid's hardest instance (M = 10, d = 11, ||mu|| / s = 8).
2. The time to certify the mu = 0 grid (M = 2..16, M <= d + 1 <= 18: 150 pairs) with the
   tangent-line certificate in exact and ball arithmetic, against the plain float LP solves that
   an uncertified Delsarte bound would need (degree 16).

Run: python benchmarks/bench_search.py [--restarts R] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main(argv=None) -> int:
    from scipy import optimize

    from verify.model import simplified_problem
    from verify.search.global_search import random_directions, search_simplified

    ap = argparse.ArgumentParser()
    ap.add_argument("--restarts", type=int, default=2000)
    ap.add_argument("--plain", type=int, default=100, help="restarts for the plain scipy loop")
    ap.add_argument("--hard", type=int, default=1000, help="restarts for M = 10, d = 11, ||mu|| / s = 8")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    res = {}
    M, d = 8, 9
    prob = simplified_problem(d, 1.0, 1.0)
    search_simplified(prob, M, restarts=50, seed=99)  # warm-up
    t0 = time.perf_counter()
    r = search_simplified(prob, M, restarts=args.restarts, seed=1)
    t = time.perf_counter() - t0
    res["batched_restarts_per_min"] = args.restarts / t * 60
    res["batched_converged_fraction"] = r.converged / args.restarts
    res["batched_best"] = r.best.loss_mp
    print(f"batched search, M = {M}, d = {d}: {args.restarts} restarts in {t:.1f} s = {res['batched_restarts_per_min']:.0f}/min; "
          f"{r.converged} reached |grad| <= 1e-12; best {r.best.loss_mp[:20]} ({r.best.count} restarts)")

    # The hardest corner of the grid: K(G) ill-conditioned, directions within 6.5 degrees of hat(mu).
    hard = simplified_problem(11, 8.0, 1.0)
    t0 = time.perf_counter()
    rh = search_simplified(hard, 10, restarts=args.hard, seed=1)
    th = time.perf_counter() - t0
    res["hard_M10_d11_mu8_restarts_per_min"] = args.hard / th * 60
    res["hard_converged_fraction"] = rh.converged / args.hard
    print(f"batched search, M = 10, d = 11, ||mu|| = 8: {args.hard} restarts in {th:.1f} s = "
          f"{res['hard_M10_d11_mu8_restarts_per_min']:.0f}/min; {rh.converged} reached |grad| <= 1e-12")

    V0 = random_directions(args.plain, M, d, 1)
    rng = np.random.default_rng(2)
    n_ok, reasons, best = 0, {}, np.inf

    def fg(z):
        b, V = z[:M], z[M:].reshape(M, d)
        gb, gV = prob.grad(b, V)
        return float(prob.loss(b, V)), np.concatenate([gb, gV.ravel()])

    t0 = time.perf_counter()
    for i in range(args.plain):
        z0 = np.concatenate([rng.standard_normal(M) / np.sqrt(M), V0[i].ravel()])
        o = optimize.minimize(fg, z0, jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 0.0, "maxiter": 20000})
        n_ok += float(np.linalg.norm(o.jac)) <= 1e-12
        reasons[str(o.message)] = reasons.get(str(o.message), 0) + 1
        best = min(best, o.fun)
    tp = time.perf_counter() - t0
    res["scipy_restarts_per_min"] = args.plain / tp * 60
    res["scipy_converged_fraction"] = n_ok / args.plain
    print(f"plain scipy L-BFGS-B loop: {args.plain} restarts in {tp:.1f} s = {res['scipy_restarts_per_min']:.0f}/min; "
          f"{n_ok} reached |grad| <= 1e-12; best {best:.15g}; stops: {reasons}")

    from verify.certify import certify_mu0_grid, delsarte_lp

    t0 = time.perf_counter()
    g = certify_mu0_grid(range(2, 17), range(1, 18), method="tangent-line")
    res["mu0_grid_certify_s"] = time.perf_counter() - t0
    res["mu0_grid_pairs"] = g.pairs
    t0 = time.perf_counter()
    for M in range(2, 17):
        for dd in sorted({min(x, M) for x in range(max(M - 1, 2), 18)}):  # the LP depends on min(d, M) only
            delsarte_lp(M, dd, 16)
    res["mu0_float_lp_s"] = time.perf_counter() - t0
    print(f"mu = 0 grid ({g.pairs} pairs, all certified: {g.all_certified}): certificates {res['mu0_grid_certify_s']:.1f} s; "
          f"plain float LPs (uncertified) {res['mu0_float_lp_s']:.1f} s")
    if args.json:
        from verify.io import atomic_write_json

        atomic_write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
