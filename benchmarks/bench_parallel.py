"""Claims on dask.distributed: the full profile's longest claims with --workers 1 and --workers 2,
and the measurements the scaling model (benchmarks/scaling_model.py) is fed with.

For each claim (default: the three longest of the full profile), in one process and one after the
other on an otherwise idle machine:
  1. `--workers 1`: the sequential path, with every unit of `Context.map` timed and the pickled
     size of its arguments and of its value recorded (what a cluster would move);
  2. `--workers 2`: a local cluster of 2 processes, the claim's units spread over both;
then the ratio of the wall times and whether the figures and tables are the same bits.
Also: the scheduler's overhead per task (empty tasks on a local cluster of 2 processes).

Run: python benchmarks/bench_parallel.py [--claims ID ...] [--json benchmarks/results/parallel.json]
Long: about 95 minutes for the default three claims on 2 cores (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LONGEST = ["finite-n-rate-full", "etf-grid-full", "optimization-gap-full"]


def _find(ids):
    from verify.claims.schema import load_all

    claims = {c.id: c for c in load_all([str(ROOT / "conjectures")])}
    missing = [i for i in ids if i not in claims]
    if missing:
        raise SystemExit(f"bench_parallel: no such claim: {', '.join(missing)}")
    return [claims[i] for i in ids]


def _timed_units():
    """Patch verify.claims.units.run_unit (the sequential path calls it per unit) to record
    unit seconds and pickled bytes of arguments and value."""
    import cloudpickle  # what dask.distributed serializes tasks with

    import verify.claims.units as units

    real = units.run_unit
    log: list[dict] = []

    def timed(fn, args):
        t0 = time.perf_counter()
        v = real(fn, args)
        log.append({"seconds": time.perf_counter() - t0, "arg_bytes": len(cloudpickle.dumps((fn, args))),
                    "value_bytes": len(cloudpickle.dumps(v))})
        return v

    units.run_unit = timed
    return log, lambda: setattr(units, "run_unit", real)


def scheduler_overhead(n_tasks: int = 2000) -> dict:
    """Seconds per empty task on a local cluster of 2 one-thread processes (submit to result)."""
    from distributed import wait

    from verify.reports.parallel import _client

    client, cluster = _client(2, None)  # the suite's own local cluster (its worker settings included)
    try:
        client.submit(abs, -1).result()
        t0 = time.perf_counter()
        futs = [client.submit(abs, -i, pure=False) for i in range(n_tasks)]
        wait(futs)
        dt = time.perf_counter() - t0
    finally:
        client.close()
        cluster.close()
    return {"tasks": n_tasks, "seconds": dt, "seconds_per_task": dt / n_tasks}


def run_claim(claim, workers: int, out: Path) -> float:
    from verify.reports.runner import run_claims

    t0 = time.perf_counter()
    run_claims([claim], out, reuse=False, make_plots=False, profile="full", workers=workers)
    return time.perf_counter() - t0


def _figures(out: Path, cid: str) -> tuple:
    """Status, figures and table of a report, less what measures time (a figure or column named
    "seconds"): the values that must be the same bits on 1 and 2 workers."""
    r = json.loads((out / f"{cid}.json").read_text())
    figures = {k: v for k, v in r["figures"].items() if "seconds" not in k}
    keep = [i for i, c in enumerate(r.get("columns") or []) if "seconds" not in str(c)]
    rows = [[row[i] for i in keep] if keep and len(row) == len(r["columns"]) else row for row in r["rows"]]
    return r["status"], figures, rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", nargs="+", default=LONGEST)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "parallel.json"))
    ap.add_argument("--merge", action="store_true", help="update the named claims in an existing --json file")
    args = ap.parse_args(argv)
    claims = _find(args.claims)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    results = {"commit": commit, "machine_cores": __import__("os").cpu_count(), "claims": {}}
    if args.merge and Path(args.json).exists():  # keep the other claims' records (each says its commit)
        old = json.loads(Path(args.json).read_text())
        results["claims"] = {k: {"commit": old.get("commit"), **v} if "commit" not in v else v
                             for k, v in old.get("claims", {}).items() if isinstance(v, dict)}
    print("scheduler overhead ...", file=sys.stderr, flush=True)
    results["scheduler_overhead"] = scheduler_overhead()
    print(f"  {results['scheduler_overhead']['seconds_per_task'] * 1e3:.2f} ms per empty task", file=sys.stderr, flush=True)
    for claim in claims:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            log, restore = _timed_units()
            try:
                t1 = run_claim(claim, 1, tmp / "one")
            finally:
                restore()
            t2 = run_claim(claim, 2, tmp / "two")
            same = _figures(tmp / "one", claim.id) == _figures(tmp / "two", claim.id)
            status = _figures(tmp / "one", claim.id)[0]
            if status == "error":
                raise SystemExit(f"bench_parallel: {claim.id} ended in status error: {json.loads((tmp / 'one' / f'{claim.id}.json').read_text())['summary']}")
        unit_s = [u["seconds"] for u in log]
        rec = {"commit": commit, "workers_1_seconds": t1, "workers_2_seconds": t2, "speedup": t1 / t2, "identical_figures": same,
               "status": status, "units": len(log), "unit_seconds_total": sum(unit_s),
               "unit_seconds_max": max(unit_s, default=0.0), "serial_seconds": t1 - sum(unit_s),
               "unit_seconds": unit_s,
               "arg_bytes_total": sum(u["arg_bytes"] for u in log), "value_bytes_total": sum(u["value_bytes"] for u in log)}
        results["claims"][claim.id] = rec
        print(f"{claim.id}: workers 1 {t1:.1f} s, workers 2 {t2:.1f} s, speed-up {t1 / t2:.2f}x, identical figures: {same}; "
              f"{len(log)} units ({sum(unit_s):.1f} s, longest {rec['unit_seconds_max']:.1f} s), serial part "
              f"{rec['serial_seconds']:.1f} s", flush=True)
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")  # after each claim: a long run keeps what it measured
    return 0


if __name__ == "__main__":
    sys.exit(main())
