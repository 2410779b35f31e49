"""The certified M = 2 bound without sign assumption (verify.certify.planar), per instance of
issue 10's grid for M = 2 (||mu||/s in {0.25, ..., 8}, abar = s = 1; the bound is the same for
every d >= 2): seconds on one core, boxes, pruning counts, exclusion radius, relative gap.

Against, in the same process: (1) the route it replaces, the Delsarte bound with a pole
(`lower_bound_tilted`, one-signed output weights assumed), its time and its relative gap; (2) the
naive branch and bound (the first bounds only, no mean-value form) with a budget of 300000 boxes.

Run: python benchmarks/bench_certify.py [--json benchmarks/results/certify_m2.json]
(about 4 minutes on an idle machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RATIOS = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
NAIVE_BUDGET = 300_000


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    from verify.certify.planar import certify_m2
    from verify.certify.tilted import lower_bound_tilted

    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "certify_m2.json"))
    ap.add_argument("--ratios", nargs="+", type=float, default=RATIOS)
    args = ap.parse_args(argv)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = {"commit": commit, "M": 2, "s": 1.0, "abar": 1.0, "instances": []}
    with threadpool_limits(1):
        for ratio in args.ratios:
            t0 = time.perf_counter()
            b = certify_m2(ratio, 1.0, 1.0)
            t_new = time.perf_counter() - t0
            t0 = time.perf_counter()
            old = lower_bound_tilted(2, 3, ratio, s=1.0, abar=1.0).as_certified_bound()
            t_old = time.perf_counter() - t0
            rec = {"ratio": ratio, "seconds": t_new, "certified": b.certified, "optimal": b.optimal,
                   "relative_gap": b.relative_gap, "boxes": b.boxes, "pruned": b.pruned, "min_margin": b.min_margin,
                   "exclusion_radius": b.radius[0], "notes": list(b.notes),
                   "delsarte_pole": {"seconds": t_old, "relative_gap": old.relative_gap, "assumptions": list(old.assumptions)}}
            if ratio <= 1.0:
                t0 = time.perf_counter()
                nv = certify_m2(ratio, 1.0, 1.0, mean_value=False, max_boxes=NAIVE_BUDGET)
                rec["naive"] = {"seconds": time.perf_counter() - t0, "boxes": nv.boxes, "certified": nv.certified,
                                "budget": NAIVE_BUDGET}
            out["instances"].append(rec)
            naive = rec.get("naive")
            print(f"||mu||/s = {ratio:g}: certified {b.certified}, optimal {b.optimal}, {t_new:.1f} s, {b.boxes} boxes, "
                  f"gap {b.relative_gap:.1e}; Delsarte-pole {t_old:.1f} s, gap {old.relative_gap:.3f} (one sign assumed)"
                  + (f"; naive B&B {naive['seconds']:.1f} s, {naive['boxes']} boxes, certified {naive['certified']}" if naive else ""),
                  flush=True)
            Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
