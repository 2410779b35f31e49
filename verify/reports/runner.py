"""Run claims, reuse unchanged results, and compare runs against what the claim files expect.

`run_claims` checks each claim and writes its report as soon as it finishes, so an interrupted
run keeps every report it completed (and every earlier one intact); a rerun reuses a report
whose claim-file hash and code version match, so it resumes where it stopped.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import time
import traceback
from pathlib import Path

from verify.claims.kinds import KINDS
from verify.claims.result import Context, Finding
from verify.claims.schema import Claim
from verify.errors import InputError
from verify.io import code_version
from verify.reports import environment, write_claim_report, write_index


def bands(claim: Claim) -> dict[str, str]:
    out = {}
    for t in claim.tracked:
        lo, hi = t.get("min"), t.get("max")
        out[t["figure"]] = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
    return out


def check_one(claim: Claim, ctx: Context) -> tuple[Finding, float]:
    """Run a claim's checker; a failure of the checker becomes status "error" with its message."""
    t0 = time.perf_counter()
    try:
        finding = KINDS[claim.kind].run(claim, ctx)
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


def _cached(out_dir: Path, claim: Claim, version: str) -> dict | None:
    path = out_dir / f"{claim.id}.json"
    try:
        rep = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if rep.get("claim_sha256") == claim.sha256 and rep.get("code_version") == version and rep.get("status") != "error":
        return rep
    return None


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_claims(claims: list[Claim], out_dir: Path, *, reuse: bool = True, make_plots: bool = True,
               write: bool = True, profile: str = "quick", quiet: bool = False) -> list[dict]:
    """Check every claim (reusing unchanged results), write reports, return the report dicts."""
    out_dir = Path(out_dir)
    if write:
        out_dir.mkdir(parents=True, exist_ok=True)
    version = code_version()
    env = environment()
    reports = []
    log = (lambda m: None) if quiet else _log
    for i, claim in enumerate(claims, 1):
        head = f"[{i}/{len(claims)}] {claim.id}"
        rep = _cached(out_dir, claim, version) if reuse else None
        if rep is not None:
            log(f"{head}: {rep['status']} (unchanged, reused)")
            reports.append(rep)
            continue
        log(f"{head}: running ({claim.kind})")
        ctx = Context(claim.id, out_dir if write else None, make_plots and write,
                      progress=lambda m, h=head: log(f"{h}:   {m}"), resume_key=f"{claim.sha256}:{version}")
        finding, duration = check_one(claim, ctx)
        if finding.status != "error":
            ctx.clear_partial()
        rep = _report(claim, finding, duration, env, version)
        if write:
            write_claim_report(out_dir, rep)
        log(f"{head}: {finding.status} in {duration:.1f} s. {finding.summary}")
        reports.append(rep)
    if write:
        write_index(out_dir, reports, profile)
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
