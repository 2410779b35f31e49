"""The exact sign-free bound at mu = 0 (verify.certify.evensquare.certify_even_square) per M: seconds
on one core, the tail threshold N*, the number of finite-part integrals, the derivative order and
the bound B of the tail, the smallest finite coefficient.

Against, in the same process, the route it replaces: the polynomial sign-free bound
(`verify.certify.signfree`, squares of degree 16 and 64, exact rationals), its time and its
relative gap on A (the even square has none). --beyond M... also tries the proof for M > 16,
which the suite does not run.

Run: python benchmarks/bench_even_square.py [--json benchmarks/results/even_square.json]
(about 1.5 minutes on an idle machine without --beyond).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    from verify.certify.delsarte import simplex_A
    from verify.certify.evensquare import EXACT_M, certify_even_square
    from verify.certify.signfree import signfree_bound
    from verify.numbers.precision import ball_bounds

    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "even_square.json"))
    ap.add_argument("--beyond", nargs="*", type=int, default=[])
    args = ap.parse_args(argv)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = {"commit": commit, "rows": []}
    with threadpool_limits(1):
        for M in list(EXACT_M) + list(args.beyond):
            t0 = time.perf_counter()
            c = certify_even_square(M)
            t_new = time.perf_counter() - t0
            _, A_hi = ball_bounds(simplex_A(M), 128)
            old = {}
            for D in (16, 64):
                t0 = time.perf_counter()
                sf = signfree_bound(M, M - 1, D)
                old[f"degree_{D}"] = {"seconds": time.perf_counter() - t0, "relative_gap_A": float((A_hi - sf.A) / A_hi)}
            rec = {"M": M, "D": c.D, "proven": c.proven, "seconds": t_new, "prec": c.prec, "N_star": c.N_star,
                   "finite_integrals": len(c.finite), "derivative_order": 2 * c.k + 1, "B": c.B,
                   "min_finite": c.min_finite, "polynomial_signfree": old}
            out["rows"].append(rec)
            print(f"M = {M}: proven {c.proven} in {t_new:.1f} s ({c.prec} bits; N* = {c.N_star}, {len(c.finite)} integrals, "
                  f"order {2 * c.k + 1}, B = {c.B:.2e}); polynomial sign-free: degree 16 {old['degree_16']['seconds']:.1f} s "
                  f"gap {old['degree_16']['relative_gap_A']:.1e}, degree 64 {old['degree_64']['seconds']:.1f} s gap "
                  f"{old['degree_64']['relative_gap_A']:.1e}", flush=True)
    Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
