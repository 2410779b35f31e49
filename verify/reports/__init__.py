"""Reports: one Markdown and one JSON file per claim, PNG figures, and `index.md`.

The files of a claim are written in a staging folder and published together, the JSON last
(`write_claim_report`), so an interrupted or failed run leaves the previous report of each claim
intact; each JSON report records the SHA-256 of its Markdown and figures, the run that wrote it,
the environment (versions, platform), the seeds, the precision and the exact claim file text with
its SHA-256. `index.md` lists every report in the folder, not only those of the last run.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from verify.io import (WriteError, atomic_write_bytes, atomic_write_text, fsync_dir, is_real_dir, json_bytes,
                       read_regular, real_dir, set_aside, sha256_bytes, warn)

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


def fmt_figure(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


# Shared by the Markdown here and the HTML of `verify.reports.html`, so the two say the same.
STATUS_LEGEND = ("Statuses: verified (every check within tolerance), refuted (a failure that survived "
                 "high-precision or fresh-sample re-evaluation), inconclusive, error (the checker failed).")


def status_counts(reports: list[dict]) -> list[tuple[str, int]]:
    """(status, number of reports), sorted by status."""
    counts: dict[str, int] = {}
    for r in reports:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return sorted(counts.items())


def prediction_items(rep: dict) -> list[tuple[str, object]]:
    """The fields of a report's [prediction] that were stated (optional ones left empty are dropped;
    an exponent of 0 is a prediction)."""
    return [(k, v) for k, v in (rep.get("prediction") or {}).items() if v not in ("", 0.0) or k == "exponent"]


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
        *(["- Prediction: " + ", ".join(f"{k} = `{v}`" for k, v in prediction_items(rep))] if rep.get("prediction") else []),
        "- Tolerances: " + ", ".join(f"{k} = {fmt_figure(v)}" for k, v in rep["tolerance"].items() if k != "source"),
        f"- Where the tolerances come from: {rep['tolerance'].get('source', '').strip()}",
        "",
        "## Figures",
        "",
        _md_table(["figure", "value", "tracked band"], [
            [k, fmt_figure(v), rep["bands"].get(k, "")] for k, v in rep["figures"].items()
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


# --- publishing one claim's files together --------------------------------------------------------

STAGING = ".staging"
REPORT_KEYS = ("id", "status", "expected_status", "key_figure", "figures", "formalization", "duration_s")



def _rename(src: Path, dst: Path) -> None:
    """One publishing step (a separate function so that tests can interrupt a publish between steps)."""
    os.replace(src, dst)


def new_staging(out_dir: Path, claim_id: str, warn=warn) -> Path:
    """A fresh, private folder `<out>/.staging/<id>.<random>/` for the files of one claim."""
    base = real_dir(Path(out_dir) / STAGING, warn)
    return Path(tempfile.mkdtemp(dir=base, prefix=f"{claim_id}."))


def clean_staging(out_dir: Path, warn=warn, remove: bool = False) -> None:
    """Remove what a killed run left in `<out>/.staging` (call it holding the folder's lock), and
    with `remove` the folder itself."""
    base = Path(out_dir) / STAGING
    if not os.path.lexists(base):
        return
    if not is_real_dir(base):
        set_aside(base, warn, "not a folder (or a symlink)")
        return
    for entry in os.scandir(base):
        remove_tree(entry.path)
    if remove:
        try:
            os.rmdir(base)
        except OSError:
            pass


def remove_tree(path) -> None:
    """Remove a file or a folder; symlinks are unlinked, never followed."""
    try:
        if is_real_dir(path):
            shutil.rmtree(path, ignore_errors=True)  # rmtree unlinks the symlinks inside, never follows them
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        pass


def _stage(folder: Path, name: str, data: bytes) -> str:
    atomic_write_bytes(folder / name, data)
    return sha256_bytes(data)


def write_claim_report(out_dir: Path, rep: dict, staging: Path | None = None, warn=warn) -> None:
    """Publish a claim's PNG figures, Markdown and JSON together.

    Everything is first written in `staging` (the checker saved its figures there already), with the
    SHA-256 of the Markdown and of every figure recorded in the JSON's `files`. Then the figures and the
    Markdown are renamed into `out_dir`, and the JSON LAST: until that rename the previous JSON stays,
    and a rerun compares it with the hashes of the files on disk (`report_files_problem`), so a kill at
    any point leaves either the new set or an old JSON that is recognised as stale and recomputed.
    Any failure is a `WriteError` and the previous JSON is kept."""
    out_dir = Path(out_dir)
    own = staging is None
    try:
        if own:
            staging = new_staging(out_dir, rep["id"], warn)
        cid = rep["id"]
        files = {f"{cid}.md": _stage(staging, f"{cid}.md", claim_markdown(rep).encode("utf-8"))}
        move = []
        for png in rep.get("plots", []):
            if os.path.lexists(staging / png) or not os.path.lexists(out_dir / png):
                files[png] = sha256_bytes(read_regular(staging / png))
                move.append(png)
            else:  # saved straight into out_dir by a Context without a staging folder
                files[png] = sha256_bytes(read_regular(out_dir / png))
        old = _read_report(out_dir / f"{cid}.json")
        rep["files"] = files
        _stage(staging, f"{cid}.json", json_bytes(rep))
        for name in [*move, f"{cid}.md", f"{cid}.json"]:  # the JSON last
            _rename(staging / name, out_dir / name)
        fsync_dir(out_dir)
        if isinstance(old, dict) and isinstance(old.get("files"), dict):
            for name in old["files"]:  # figures the new report no longer has
                if (isinstance(name, str) and name not in files and name.endswith(".png")
                        and name.startswith(f"{cid}-") and "/" not in name):
                    try:
                        os.unlink(out_dir / name)
                    except OSError:
                        pass
    except OSError as e:
        raise WriteError(f"cannot write its report files ({e.strerror or e})") from e
    finally:
        if own and staging is not None:
            remove_tree(staging)


def _read_report(path: Path):
    """The parsed JSON at `path` (no symlink followed), or None if missing or unreadable."""
    try:
        return json.loads(read_regular(path).decode("utf-8"))
    except (OSError, ValueError):
        return None


def report_files_problem(out_dir: Path, rep: dict) -> str | None:
    """Why the files of a report on disk do not form the set its JSON describes (None if they do):
    the Markdown or a figure missing, a symlink, or with another SHA-256 than the JSON records."""
    files = rep.get("files")
    if not isinstance(files, dict):
        return "the JSON records no file hashes"
    needed = [f"{rep.get('id')}.md", *(rep.get("plots") or [])]
    for name in needed:
        if name not in files:
            return f"{name} has no recorded hash"
    for name, digest in files.items():
        if not isinstance(name, str) or "/" in name or name.startswith("."):
            return f"bad file name {name!r}"
        try:
            data = read_regular(Path(out_dir) / name)
        except OSError as e:
            return f"{name}: {e.strerror or e}"
        if sha256_bytes(data) != digest:
            return f"{name} does not match the JSON (written by another run)"
    return None


# --- the index -----------------------------------------------------------------------------------


def reports_on_disk(out_dir: Path, warn=warn) -> list[dict]:
    """Every claim report JSON in `out_dir` (symlinks and files that are no report are skipped)."""
    out = []
    for entry in sorted(os.scandir(out_dir), key=lambda e: e.name):
        if not entry.name.endswith(".json") or entry.name.startswith("."):
            continue
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            warn(f"{entry.path}: not a regular file; left out of the index")
            continue
        rep = _read_report(Path(entry.path))
        if not (isinstance(rep, dict) and all(k in rep for k in REPORT_KEYS)
                and f"{rep['id']}.json" == entry.name and isinstance(rep["figures"], dict)):
            warn(f"{entry.path}: not a claim report; left out of the index")
            continue
        out.append(rep)
    return out


def write_index(out_dir: Path, reports: list[dict], profile: str, run_id: str = "", warn=warn) -> None:
    """`index.md` over EVERY report JSON in `out_dir` (not only this run's `reports`), with the run
    and code version that wrote each."""
    out_dir = Path(out_dir)
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    by_id = {r["id"]: r for r in reports_on_disk(out_dir, warn)}
    for r in reports:  # normally on disk already
        by_id.setdefault(r["id"], r)
    reports = [by_id[k] for k in sorted(by_id)]
    rows = []
    for r in reports:
        key = r["key_figure"]
        value = r["figures"].get(key)
        duration = r["duration_s"]
        rows.append([f"[{r['id']}]({r['id']}.md)", f"**{r['status']}**", r["expected_status"],
                     f"{key} = {fmt_figure(value)}", r["formalization"],
                     f"{duration:.1f}" if isinstance(duration, (int, float)) else str(duration),
                     r.get("run_id") or "unknown", r.get("code_version") or "unknown"])
    this = sum(1 for r in reports if run_id and r.get("run_id") == run_id)
    text = "\n".join([
        "# Claim reports",
        "",
        f"Profile `{profile}`, written {now}" + (f" by run `{run_id}` ({this} reports written by it)" if run_id else "")
        + f". Every report in this folder ({len(reports)}): "
        + ", ".join(f"{n} {s}" for s, n in status_counts(reports)) + ".",
        "",
        _md_table(["claim", "status", "expected", "key figure", "formalization", "seconds", "run", "code version"], rows),
        "",
        STATUS_LEGEND,
        "",
    ])
    try:
        atomic_write_text(out_dir / "index.md", text)
    except OSError as e:
        raise WriteError(f"cannot write {out_dir / 'index.md'} ({e.strerror or e})") from e
