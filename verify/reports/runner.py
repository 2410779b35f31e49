"""Run claims, reuse unchanged results, and compare runs against what the claim files expect.

`run_claims` checks each claim and publishes its report files together as soon as it finishes, so
an interrupted run keeps every report it completed (and every earlier one intact); a rerun reuses a
report whose claim-file hash and code version match and whose Markdown and figures are the ones its
JSON records, so it resumes where it stopped. One run at a time writes a folder (`<out>/.lock`); a
failure to write stops the run and never replaces a report; damaged caches are set aside.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
import sys
import time
import traceback
from pathlib import Path

from verify.claims.kinds import KINDS
from verify.claims.result import Context, Finding
from verify.claims.schema import Claim, check_id
from verify.errors import InputError
from verify.io import DirLock, WriteError, code_version, prepare_out_dir, read_regular, set_aside, warn
from verify.reports import (clean_staging, environment, new_staging, remove_tree, report_files_problem,
                            write_claim_report, write_index)


def bands(claim: Claim) -> dict[str, str]:
    out = {}
    for t in claim.tracked:
        lo, hi = t.get("min"), t.get("max")
        out[t["figure"]] = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
    return out


def check_one(claim: Claim, ctx: Context) -> tuple[Finding, float]:
    """Run a claim's checker; a failure of the checker becomes status "error" with its message.

    A failure to write the claim's files (`WriteError`) is not the checker's: it propagates, so it
    can never turn into an `error` report replacing a good one."""
    t0 = time.perf_counter()
    try:
        finding = KINDS[claim.kind].run(claim, ctx)
    except WriteError:
        raise
    except InputError as e:
        finding = Finding("error", f"invalid parameters: {e}", {"error": 1.0}, "error")
    except Exception as e:  # noqa: BLE001 - recorded in the report, never a verdict
        last = traceback.extract_tb(e.__traceback__)[-1]
        finding = Finding("error", f"{type(e).__name__}: {e} (at {Path(last.filename).name}:{last.lineno})",
                          {"error": 1.0}, "error")
    return finding, time.perf_counter() - t0


def _report(claim: Claim, finding: Finding, duration: float, env: dict, version: str) -> dict:
    return {
        "id": claim.id,
        "title": claim.title,
        "statement": claim.statement,
        "formalization": claim.formalization,
        "kind": claim.kind,
        "profile": claim.profile,
        "method": claim.method["description"],
        "tolerance": claim.tolerance,
        "prediction": claim.prediction,
        "expected_status": claim.expected_status,
        "status": finding.status,
        "summary": finding.summary,
        "figures": finding.figures,
        "key_figure": finding.key_figure,
        "bands": bands(claim),
        "columns": finding.columns,
        "rows": finding.rows,
        "notes": finding.notes,
        "plots": finding.plots,
        "seeds": finding.seeds,
        "precision": finding.precision,
        "claim_file": claim.path,
        "claim_sha256": claim.sha256,
        "claim_text": claim.text,
        "code_version": version,
        "environment": env,
        "duration_s": duration,
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def check_ids(claims: list[Claim]) -> None:
    """InputError for a reserved, malformed or repeated claim id (before any work): the schema's
    check again, for claims built in code rather than loaded from a file."""
    seen = set()
    for c in claims:
        check_id(c.id, str(c.path))
        if c.id in seen:
            raise InputError(f"{c.path}: duplicate claim id {c.id!r}")
        seen.add(c.id)



def _cached(out_dir: Path, claim: Claim, version: str, log=lambda m: None) -> dict | None:
    """The report on disk if it can be reused: same claim file and code version, not an error, and
    its Markdown and figures the ones its JSON records. A damaged JSON (not an object, garbage,
    unreadable, a symlink) is set aside with a warning; the claim is then recomputed."""
    path = out_dir / f"{claim.id}.json"
    if not os.path.lexists(path):
        return None
    try:
        rep = json.loads(read_regular(path).decode("utf-8"))
    except (OSError, ValueError) as e:
        set_aside(path, warn, f"unreadable cached report ({getattr(e, 'strerror', None) or e})")
        return None
    if not isinstance(rep, dict):
        set_aside(path, warn, f"cached report is not a JSON object (a {type(rep).__name__})")
        return None
    if rep.get("claim_sha256") == claim.sha256 and rep.get("code_version") == version and rep.get("status") != "error":
        problem = report_files_problem(out_dir, rep)
        if problem is None and rep.get("id") == claim.id:
            return rep
        log(f"report files of {claim.id} are inconsistent ({problem or 'another id'}); recomputing")
    return None


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _logger(quiet: bool):
    return (lambda m: None) if quiet else _log


def new_run_id() -> str:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{os.getpid()}-{secrets.token_hex(2)}"


def run_claims(claims: list[Claim], out_dir: Path, *, reuse: bool = True, make_plots: bool = True,
               write: bool = True, profile: str = "quick", quiet: bool = False, workers: int = 1,
               scheduler: str | None = None) -> list[dict]:
    """Check every claim (reusing unchanged results), write reports, return the report dicts.

    With `write`, the folder is checked writable and locked (`.lock`) before any work; each claim's
    files are published together as it finishes (`write_claim_report`), and `index.md` is rebuilt
    from every report in the folder. A failure to write is a `WriteError`: the run stops and the
    previous files are kept. `reuse=False` recomputes everything, ignoring saved partial results.

    workers = 1 and no scheduler: one claim after another in this process. Otherwise every claim
    to compute is one task on dask.distributed (`verify.reports.parallel`): a local cluster of
    `workers` processes, or the cluster at `scheduler`; reports are published here as tasks finish,
    and the returned list keeps the claims' order. A claim's result does not depend on where it ran
    (its seeds are in its parameters; BLAS runs one thread per worker)."""
    if not claims:
        raise InputError("no claims to run (the selection is empty)")
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    check_ids(claims)
    opts = dict(reuse=reuse, profile=profile, quiet=quiet, workers=workers, scheduler=scheduler)
    if not write:
        return _run(claims, out_dir, None, make_plots=False, write=False, **opts)
    out_dir = prepare_out_dir(out_dir)  # refuses an empty path, a file, an unwritable folder
    with DirLock(out_dir, warn):
        clean_staging(out_dir, warn)
        try:
            return _run(claims, out_dir, new_run_id(), make_plots=make_plots, write=True, **opts)
        finally:
            clean_staging(out_dir, warn, remove=True)


def compute(claim: Claim, out_dir, staging, *, make_plots: bool, write: bool, resume_key: str, reuse: bool,
            head: str, quiet: bool, on_dask: bool = False) -> tuple[Finding, float]:
    """Run one claim's checker with its Context (in this process or in a worker process).

    BLAS runs one thread, here and in every worker: a threaded BLAS sums in an order that depends
    on its thread count, which moved the last bits of some figures (seen: 1e-15 relative in the
    U-statistic claims) between a sequential run and a run on workers. With one thread a claim's
    figures are the same bits however many claims run at once, and workers do not oversubscribe
    the cores. The kernel matrices' own threads are held to one as well (`kernel_threads`): a
    process running claims uses one core, so --workers 1 is one core and --workers P is P."""
    from threadpoolctl import threadpool_limits

    from verify.kernels.matrix import kernel_threads

    log = _logger(quiet)
    ctx = Context(claim.id, out_dir if write else None, make_plots and write, progress=lambda m: log(f"{head}:   {m}"),
                  resume_key=resume_key, resume=reuse, fig_dir=staging, warn=warn, on_dask=on_dask)
    with threadpool_limits(1), kernel_threads(1):
        return check_one(claim, ctx)


def _duration_hint(out_dir: Path | None, claim: Claim) -> float:
    """The duration of the claim's last report in `out_dir` (any code version), 0 if none: used
    only to start the longest claims first on workers, never as a result."""
    if out_dir is None:
        return 0.0
    try:
        rep = json.loads(read_regular(out_dir / f"{claim.id}.json").decode("utf-8"))
        return float(rep.get("duration_s", 0.0)) if isinstance(rep, dict) else 0.0
    except (OSError, ValueError, TypeError):
        return 0.0


def _run(claims, out_dir, run_id, *, reuse, make_plots, write, profile, quiet, workers=1, scheduler=None) -> list[dict]:
    out_dir = Path(out_dir) if out_dir is not None else None
    version = code_version()
    env = environment()
    log = _logger(quiet)
    reports: list[dict | None] = [None] * len(claims)
    published = 0
    heads = [f"[{i}/{len(claims)}] {c.id}" for i, c in enumerate(claims, 1)]
    todo = []
    for i, claim in enumerate(claims):
        rep = _cached(out_dir, claim, version, lambda m, h=heads[i]: log(f"{h}: {m}")) if (reuse and write) else None
        if rep is not None:
            log(f"{heads[i]}: {rep['status']} (unchanged, reused)")
            reports[i] = rep
        else:
            todo.append(i)

    def publish(i: int, result, staging) -> None:
        """Publish claim i's report; `result` gives (finding, duration) and may raise the checker's
        WriteError, which, like one of publishing, stops the run with the claim named."""
        nonlocal published
        claim = claims[i]
        try:
            finding, duration = result()
            rep = _report(claim, finding, duration, env, version)
            if write:
                rep["run_id"] = run_id
                write_claim_report(out_dir, rep, staging, warn)
                published += 1
            if finding.status != "error":  # partial results are dropped only once the report is published
                Context(claim.id, out_dir if write else None, resume_key=f"{claim.sha256}:{version}", warn=warn).clear_partial()
        except WriteError as e:
            raise WriteError(f"{claim.id}: {e}; the run stopped, and the previous report files in "
                             f"{out_dir} are kept") from e
        log(f"{heads[i]}: {finding.status} in {duration:.1f} s. {finding.summary}")
        reports[i] = rep

    def task_args(i: int, staging, on_dask: bool = False) -> tuple:
        claim = claims[i]
        return (claim, out_dir, staging), dict(make_plots=make_plots, write=write, resume_key=f"{claim.sha256}:{version}",
                                               reuse=reuse, head=heads[i], quiet=quiet, on_dask=on_dask)

    try:
        if workers == 1 and scheduler is None:
            for i in todo:
                log(f"{heads[i]}: running ({claims[i].kind})")
                staging = new_staging(out_dir, claims[i].id, warn) if write else None
                try:
                    args, kw = task_args(i, staging)
                    publish(i, lambda: compute(*args, **kw), staging)
                finally:
                    if staging is not None:
                        remove_tree(staging)
        elif todo:
            from verify.reports.parallel import run_tasks

            stagings = {i: new_staging(out_dir, claims[i].id, warn) if write else None for i in todo}
            try:
                # longest first (the last report's duration): the makespan of greedy scheduling
                todo.sort(key=lambda i: -_duration_hint(out_dir, claims[i]))
                calls = {i: task_args(i, stagings[i], on_dask=True) for i in todo}
                for i in todo:
                    log(f"{heads[i]}: submitted ({claims[i].kind})")
                for i, future in run_tasks(compute, calls, workers=workers, scheduler=scheduler, log=log):
                    publish(i, future.result, stagings[i])
            finally:
                for st in stagings.values():
                    if st is not None:
                        remove_tree(st)
    except WriteError:
        done = [r for r in reports if r is not None]
        if write and published:  # keep the index in step with the reports this run did publish (best effort)
            try:
                write_index(out_dir, done, profile, run_id, warn)
            except (WriteError, OSError):
                pass
        raise
    if write:
        write_index(out_dir, reports, profile, run_id, warn)
    return reports


def compare(claims: list[Claim], reports: list[dict]) -> list[dict]:
    """What moved: a status other than the expected one, or a tracked figure outside its band."""
    moved = []
    for claim, rep in zip(claims, reports):
        if rep["status"] == "error" or (claim.expected_status != "open" and rep["status"] != claim.expected_status):
            moved.append({"claim": claim.id, "what": "status", "expected": claim.expected_status, "got": rep["status"],
                          "detail": rep["summary"]})
        for t in claim.tracked:
            fig = t["figure"]
            val = rep["figures"].get(fig)
            lo, hi = t.get("min"), t.get("max")
            if val is None or (lo is not None and val < lo) or (hi is not None and val > hi):
                moved.append({"claim": claim.id, "what": fig, "expected": bands(claim)[fig], "got": val, "detail": ""})
    return moved
