"""The exact L_N of a target given by law and seed, in blocks on Dask (verify.model.blocked).

1. N = 2e4, d = 256, M = 16: the blocked value on 2 workers against the one-process
   `verify.model.finite.loss` of the same rows (relative difference; the issue asks <= 1e-13),
   and both times, next to the blocked path run in this process.
2. N = 1e5, d = 256, M = 16 on a local cluster of 2 workers: the value and the wall time
   (blocks of 4096 x 4096: 25 chunks, 325 blocks).
The figures feed the N = 1e6 projection of benchmarks/scaling_model.py.

Run: python benchmarks/bench_blocked_loss.py [--json benchmarks/results/blocked_loss.json] [--skip-1e5]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def network(d: int, M: int = 16, seed: int = 2):
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((M, d)) / math.sqrt(d)
    V[:, 0] += 1.0
    return rng.standard_normal(M) / math.sqrt(M), V


def blocked(target, b, V, workers: int):
    from verify.model.blocked import block_calls, block_term, evaluate, reduce
    from verify.reports.parallel import run_calls

    t0 = time.perf_counter()
    if workers == 1:
        res = evaluate(target, b, V)
    else:
        parts = run_calls(block_term, block_calls(target, b, V), workers=workers, scheduler=None,
                          progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
        res = reduce(list(parts.values()), target, b, V)
    return res, time.perf_counter() - t0


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    from verify.model.blocked import law_target
    from verify.model.finite import loss
    from verify.model.networks import TwoLayerNetwork

    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "blocked_loss.json"))
    ap.add_argument("--skip-1e5", action="store_true")
    args = ap.parse_args(argv)
    d = 256
    b, V = network(d)
    out = {}
    t = law_target("gaussian", 20000, d, 1)
    net = t.network()
    t0 = time.perf_counter()
    ref = loss(net, TwoLayerNetwork(b, V, "relu"))  # one process, its own threads
    t_ref = time.perf_counter() - t0
    with threadpool_limits(1):
        r1, t1 = blocked(t, b, V, 1)
    r2, t2 = blocked(t, b, V, 2)
    out["N_2e4"] = {"N": 20000, "d": d, "M": 16, "seed": 1, "one_process_loss": ref, "one_process_seconds": t_ref,
                    "blocked_loss": r2.loss, "blocked_2_workers_seconds": t2, "blocked_in_process_seconds": t1,
                    "blocked_same_bits_1_and_2_workers": r1.loss == r2.loss,
                    "relative_difference": abs(r2.loss - ref) / abs(ref), "blocks": r2.blocks}
    print(f"N = 2e4, d = {d}: one process {ref!r} in {t_ref:.1f} s; blocked {r2.loss!r} in {t2:.1f} s on 2 workers, "
          f"{t1:.1f} s in process (same bits: {r1.loss == r2.loss}); relative difference {abs(r2.loss - ref) / abs(ref):.2e}",
          flush=True)
    if not args.skip_1e5:
        t = law_target("gaussian", 100000, d, 1)
        r, secs = blocked(t, b, V, 2)
        out["N_1e5"] = {"N": 100000, "d": d, "M": 16, "seed": 1, "loss": r.loss, "terms": [r.target_term, r.cross_term,
                        r.compressed_term], "blocks": r.blocks, "workers": 2, "seconds": secs,
                        "kernel_pairs_per_s": (100000**2 / 2) / secs}
        print(f"N = 1e5, d = {d}: L_N = {r.loss!r} in {secs:.1f} s on 2 workers ({r.blocks} blocks)", flush=True)
    Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
