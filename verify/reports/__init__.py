"""Reports: one Markdown and one JSON file per claim, PNG figures, and `index.md`.

Every file is written atomically (`verify.io`), so an interrupted run leaves the previous report
of each claim intact; each JSON report records the environment (versions, platform), the seeds,
the precision and the exact claim file text with its SHA-256.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
from pathlib import Path

from verify.io import atomic_write_json, atomic_write_text

_PACKAGES = ("numpy", "scipy", "sympy", "mpmath", "python-flint", "cvxpy", "matplotlib")


def environment() -> dict:
    """Versions of Python and the numerical packages, the platform, and the git commit if any."""
    from importlib import metadata

    import verify

    versions = {}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(verify.__file__).parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "verify": verify.__version__,
        "git_commit": commit,
        "packages": versions,
    }


def _md_table(columns, rows, limit=400) -> str:
    if not columns:
        return ""
    out = ["| " + " | ".join(str(c).replace("|", "\\|") for c in columns) + " |", "|" + "---|" * len(columns)]
    for r in rows[:limit]:
        out.append("| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |")
    if len(rows) > limit:
        out.append(f"\n({len(rows) - limit} more rows in the JSON report)")
    return "\n".join(out)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def claim_markdown(rep: dict) -> str:
    lines = [
        f"# {rep['id']}: {rep['title']}",
        "",
        f"**Status: {rep['status']}** (expected: {rep['expected_status']})",
        "",
        rep["summary"],
        "",
        "## Claim",
        "",
        rep["statement"].strip(),
        "",
        f"- Formalization: {rep['formalization']}",
        f"- Kind: `{rep['kind']}`; profile: {rep['profile']}",
        f"- Method: {rep['method'].strip()}",
        "- Tolerances: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in rep["tolerance"].items() if k != "source"),
        f"- Where the tolerances come from: {rep['tolerance'].get('source', '').strip()}",
        "",
        "## Figures",
        "",
        _md_table(["figure", "value", "tracked band"], [
            [k, _fmt(v), rep["bands"].get(k, "")] for k, v in rep["figures"].items()
        ]),
        "",
    ]
    if rep.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in rep["notes"]] + [""]
    for png in rep.get("plots", []):
        lines += [f"![{png}]({png})", ""]
    lines += ["## Evidence", "", _md_table(rep["columns"], rep["rows"]), ""]
    env = rep["environment"]
    lines += [
        "## Reproduce",
        "",
        f"`verify run {rep['claim_file']}` (claim file SHA-256 `{rep['claim_sha256'][:16]}...`, code {rep['code_version']}).",
        "",
        f"- Seeds: {rep['seeds'] or 'none (deterministic)'}",
        f"- Precision: {json.dumps(rep['precision'], sort_keys=True)}",
        f"- Python {env['python']} on {env['platform']}; "
        + ", ".join(f"{k} {v}" for k, v in env["packages"].items()),
        f"- Git commit: {env.get('git_commit') or 'unknown'}; ran {rep['finished']} in {rep['duration_s']:.1f} s",
        "",
    ]
    return "\n".join(lines)


def write_claim_report(out_dir: Path, rep: dict) -> None:
    atomic_write_json(out_dir / f"{rep['id']}.json", rep)
    atomic_write_text(out_dir / f"{rep['id']}.md", claim_markdown(rep))


def write_index(out_dir: Path, reports: list[dict], profile: str) -> None:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for r in reports:
        key = r["key_figure"]
        rows.append([f"[{r['id']}]({r['id']}.md)", f"**{r['status']}**", r["expected_status"],
                     f"{key} = {_fmt(r['figures'][key])}", r["formalization"], f"{r['duration_s']:.1f}"])
    counts = {}
    for r in reports:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    text = "\n".join([
        "# Claim reports",
        "",
        f"Profile `{profile}`, written {now}. "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".",
        "",
        _md_table(["claim", "status", "expected", "key figure", "formalization", "seconds"], rows),
        "",
        "Statuses: verified (every check within tolerance), refuted (a failure that survived "
        "high-precision or fresh-sample re-evaluation), inconclusive, error (the checker failed).",
        "",
    ])
    atomic_write_text(out_dir / "index.md", text)
