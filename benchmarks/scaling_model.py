"""A scaling model of `verify run --profile full` on P Dask workers, fed by measurements from this machine.

Inputs (all measured here, none assumed except where said):
- benchmarks/results/parallel.json (bench_parallel.py): for the three longest full claims, the time
  of every unit of `Context.map` in a sequential run, the claim's serial part (its wall time minus
  its units), the pickled bytes of every unit's arguments and value, the measured wall times on 1
  and 2 workers, and the scheduler's overhead per task (empty tasks on a local cluster);
- the `duration_s` of every report of the full profile (reports/*.json and reports/full/*.json);
- benchmarks/results/blocked_loss.json (bench_blocked_loss.py): the blocked L_N at N = 1e5;
- benchmarks/results/certify_m2.json (bench_certify.py): the units of the etf-certified claims.

Model. Every claim is a job; a claim split into units is its serial part followed by its units
(released when the serial part ends; in the code the serial part is set-up before and analysis
after, so this is the optimistic order). Claims of a split kind whose units were not timed
(finite-n-rate-var-a-full and the universality claims: the finite-n-rate kind, chunks of 5 targets
and one unit of constants per d) are split evenly into their number of units, from their report's
duration: those durations predate the fused kernel pass, so these claims are overestimated. Every
other claim is one unit. Jobs go to free workers longest first (greedy list scheduling, the
scheduler's priorities), each task costing the measured scheduler overhead on top; the central
scheduler handles tasks one at a time, so n_tasks x overhead is a floor as well. Data moved: the
measured bytes of the timed units at 1 GB/s.

The model is checked against the measured 2-worker times of the three timed claims (reported as
the model's relative error). Output: benchmarks/results/scaling_model.json and .md.

Run: python benchmarks/scaling_model.py
"""

from __future__ import annotations

import heapq
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
WORKERS = (1, 2, 16, 64, 256)
BANDWIDTH = 1e9  # bytes per second between workers (an assumption: a 10 Gb/s network)


def simulate(jobs: list[tuple[float, list[float]]], P: int, overhead: float) -> float:
    """Makespan of greedy longest-first list scheduling on P workers (event by event). jobs:
    (serial part, units); a job's units become available when its serial part ends."""
    free = [0.0] * P  # when each worker is next free (a heap)
    ready: list[tuple[float, int]] = []  # (-duration, job index or -1 for a unit), available now
    later: list[tuple[float, float]] = []  # (release time, duration) of units not yet released (a heap)
    for i, (serial, _units) in enumerate(jobs):
        heapq.heappush(ready, (-(serial + overhead), i))
    end = 0.0
    while ready or later:
        t = heapq.heappop(free)
        while later and later[0][0] <= t:
            _, dur = heapq.heappop(later)
            heapq.heappush(ready, (-dur, -1))
        if not ready:  # this worker idles until the next release
            heapq.heappush(free, later[0][0])
            continue
        neg, job = heapq.heappop(ready)
        finish = t - neg
        heapq.heappush(free, finish)
        end = max(end, finish)
        if job >= 0:
            for u in jobs[job][1]:
                heapq.heappush(later, (finish, u + overhead))
    return end


def _load(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"scaling_model: {path} is missing; run the benchmark that writes it first")
    return json.loads(path.read_text())


def _claims():
    sys.path.insert(0, str(ROOT))
    from verify.claims.schema import load_all

    return load_all([str(ROOT / "conjectures")])


def _duration(claim) -> float:
    folder = ROOT / "reports" / ("full" if claim.profile == "full" else "")
    rep = folder / f"{claim.id}.json"
    if not rep.is_file():
        rep = ROOT / "reports" / "full" / f"{claim.id}.json"
    return float(json.loads(rep.read_text())["duration_s"])


def build_jobs(par: dict) -> tuple[list, dict]:
    jobs, notes = [], {}
    for c in _claims():
        timed = par["claims"].get(c.id)
        if timed is not None:
            jobs.append((timed["serial_seconds"], timed["unit_seconds"]))
            notes[c.id] = f"timed: {len(timed['unit_seconds'])} units"
        elif c.kind == "etf-certified":
            # one unit per ||mu||/s, timed by bench_certify.py (certify_m2.json)
            per = {r["ratio"]: r["seconds"] for r in _load(RESULTS / "certify_m2.json")["instances"]}
            units = [per[r] for r in c.parameters["ratios"]]
            jobs.append((0.0, units))
            notes[c.id] = f"units timed by bench_certify.py: {len(units)} certificates"
        elif c.kind == "finite-n-rate" and c.profile == "full":
            p = c.parameters
            n_units = len(p["ds"]) * (-(-p["targets"] // 5)) + len(p["ds"])
            dur = _duration(c)
            jobs.append((0.0, [dur / n_units] * n_units))
            notes[c.id] = f"split evenly: {n_units} units of its report's {dur:.0f} s"
        else:
            jobs.append((_duration(c), []))
    return jobs, notes


def main() -> int:
    par = _load(RESULTS / "parallel.json")
    overhead = par["scheduler_overhead"]["seconds_per_task"]
    out: dict = {"inputs": {"parallel.json commit": par.get("commit"), "scheduler_overhead_s_per_task": overhead,
                            "bandwidth_bytes_per_s (assumed)": BANDWIDTH}}
    # check: each timed claim alone on 2 workers, model against measurement
    check = {}
    for cid, rec in par["claims"].items():
        pred = simulate([(rec["serial_seconds"], rec["unit_seconds"])], 2, overhead)
        check[cid] = {"measured_1": rec["workers_1_seconds"], "measured_2": rec["workers_2_seconds"], "model_2": pred,
                      "model_relative_error": (pred - rec["workers_2_seconds"]) / rec["workers_2_seconds"]}
    out["check_against_measured"] = check
    # What the model leaves out (cluster start, each worker's imports and numba compilation, two
    # processes sharing the memory bandwidth and the L3 cache) shows as measured / model on 2
    # workers; its mean over the timed claims calibrates the predictions for P >= 2 (an assumption:
    # the same factor on a larger machine).
    calib = sum(c["measured_2"] / c["model_2"] for c in check.values()) / len(check)
    out["calibration_measured_over_model_2_workers"] = calib
    jobs, notes = build_jobs(par)
    work = sum(s + sum(u) for s, u in jobs)
    critical = max(s + max(u, default=0.0) for s, u in jobs)
    n_tasks = sum(1 + len(u) for _, u in jobs)
    data = sum(rec["arg_bytes_total"] + rec["value_bytes_total"] for rec in par["claims"].values())
    longest = max(((s + max(u, default=0.0), i) for i, (s, u) in enumerate(jobs)))
    claims = _claims()
    pred = {}
    for P in WORKERS:
        wall = max(simulate(jobs, P, overhead), n_tasks * overhead) + data / BANDWIDTH / P
        pred[P] = {"wall_s": wall, "wall_min": wall / 60, "calibrated_wall_s": wall * (calib if P > 1 else 1.0),
                   "speedup": None, "efficiency": None,
                   "bounds_s": {"work_over_P": work / P, "critical_path": critical}}
    for P in WORKERS:
        pred[P]["speedup"] = pred[1]["wall_s"] / pred[P]["calibrated_wall_s"]
        pred[P]["efficiency"] = pred[P]["speedup"] / P
    stop = next((P for P in WORKERS if pred[P]["wall_s"] <= 1.05 * max(critical, n_tasks * overhead)), None)
    out.update({"full_profile": {"claims": len(jobs), "tasks": n_tasks, "work_s": work, "critical_path_s": critical,
                                 "critical_claim": claims[longest[1]].id, "timed_bytes_moved": data,
                                 "predicted": pred, "split_claims": notes,
                                 "stops_scaling_at_workers": stop}})
    bl = RESULTS / "blocked_loss.json"
    if bl.is_file():
        b = json.loads(bl.read_text()).get("N_1e5")
        if b:
            t_block = b["seconds"] * b["workers"] / b["blocks"]  # one worker's seconds per 4096 x 4096 block
            chunks = -(-10**6 // 4096)
            blocks = chunks * (chunks + 1) // 2
            out["blocked_loss_N_1e6"] = {
                "blocks": blocks, "seconds_per_block_one_worker": t_block,
                "predicted_s": {P: blocks * t_block / P + blocks * overhead for P in WORKERS},
                "note": "time of N = 1e5 (measured) scaled by the number of blocks; the scheduler's per-task cost is "
                        "the floor (30135 tasks); each task draws its two chunks itself, so no rows move"}
    (RESULTS / "scaling_model.json").write_text(json.dumps(out, indent=1) + "\n")
    lines = ["# Scaling model of `verify run --profile full` (generated by benchmarks/scaling_model.py)", "",
             f"Scheduler overhead {overhead * 1e3:.2f} ms per task (measured); {n_tasks} tasks; work {work / 60:.1f} min; "
             f"critical path {critical / 60:.1f} min ({claims[longest[1]].id}).", "",
             f"Calibration (measured / model on 2 workers, mean over the timed claims): {calib:.2f}.", "",
             "| workers | model wall (min) | calibrated wall (min) | speed-up (calibrated) | efficiency |", "|---|---|---|---|---|"]
    for P in WORKERS:
        lines.append(f"| {P} | {pred[P]['wall_min']:.1f} | {pred[P]['calibrated_wall_s'] / 60:.1f} | {pred[P]['speedup']:.1f} | "
                     f"{pred[P]['efficiency']:.2f} |")
    lines += ["", f"It stops scaling at about {stop} workers: the wall time is then within 5 % of the critical path, "
              f"the longest unsplit claim ({claims[longest[1]].id}, {critical / 60:.1f} min).", "",
              "Model against measurement (each timed claim alone on 2 workers):", ""]
    for cid, c in check.items():
        lines.append(f"- {cid}: measured {c['measured_1']:.0f} s on 1 worker, {c['measured_2']:.0f} s on 2; "
                     f"model {c['model_2']:.0f} s ({100 * c['model_relative_error']:+.0f} %)")
    if "blocked_loss_N_1e6" in out:
        bp = out["blocked_loss_N_1e6"]
        lines += ["", f"L_N at N = 1e6, d = 256 ({bp['blocks']} blocks of 4096 x 4096, "
                  f"{bp['seconds_per_block_one_worker']:.2f} s each on one worker): " +
                  ", ".join(f"{P} workers {bp['predicted_s'][P] / 60:.1f} min" for P in WORKERS)]
    (RESULTS / "scaling_model.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
