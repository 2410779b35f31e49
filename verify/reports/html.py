"""`verify report --html DIR`: a static HTML rendering of a report folder (default `reports/`).

Made from the same JSON reports as the Markdown (`verify.reports.claim_markdown`), so the two say
the same: DIR/index.html (every claim with a status badge, expected status, key figure; links to the
claim pages) and DIR/<id>.html per claim (status, summary, the claim, its prediction, figures with
tracked bands, notes, plots, the evidence table, how to reproduce), with the claim's PNG figures
copied beside them. Plain HTML and one inline stylesheet: no scripts, nothing fetched. Every
string is escaped; every file is written atomically; only files named after report ids and their
listed plots are written into DIR.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from verify.errors import InputError
from verify.io import atomic_write_bytes, atomic_write_text, read_regular, warn
from verify.reports import STATUS_LEGEND, fmt_figure, prediction_items, status_counts, reports_on_disk

STYLE = """body{font-family:system-ui,sans-serif;max-width:72em;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.badge{display:inline-block;padding:.1em .6em;border-radius:.8em;color:#fff;font-weight:600}
.verified{background:#2a7d2a}.refuted{background:#b3261e}.inconclusive{background:#a66f00}.error{background:#555}
.open{background:#3461a8}code,pre{background:#f6f6f6}img{max-width:100%}"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def badge(status: str) -> str:
    cls = status if status in ("verified", "refuted", "inconclusive", "error", "open") else "error"
    return f'<span class="badge {cls}">{_e(status)}</span>'


def _table(columns, rows) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def claim_page(rep: dict) -> str:
    parts = [
        '<p><a href="index.html">all claims</a></p>',
        f"<h1 id=\"{_e(rep['id'])}\">{_e(rep['id'])}: {_e(rep['title'])}</h1>",
        f"<p>Status {badge(rep['status'])} expected {badge(rep['expected_status'])}</p>",
        f"<p>{_e(rep['summary'])}</p>",
        "<h2 id=\"claim\">Claim</h2>",
        f"<p>{_e(rep['statement'].strip())}</p>",
        "<ul>",
        f"<li>Formalization: {_e(rep['formalization'])}</li>",
        f"<li>Kind: <code>{_e(rep['kind'])}</code>; profile: {_e(rep['profile'])}</li>",
        f"<li>Method: {_e(rep['method'].strip())}</li>",
    ]
    if rep.get("prediction"):
        parts.append("<li>Prediction: " + ", ".join(f"{_e(k)} = <code>{_e(v)}</code>" for k, v in prediction_items(rep)) + "</li>")
    parts.append(f"<li>Where the tolerances come from: {_e(rep['tolerance'].get('source', '').strip())}</li></ul>")
    parts += ["<h2 id=\"figures\">Figures</h2>",
              _table(["figure", "value", "tracked band"], [[k, fmt_figure(v), rep["bands"].get(k, "")] for k, v in rep["figures"].items()])]
    if rep.get("notes"):
        parts += ["<h2 id=\"notes\">Notes</h2>", "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in rep["notes"]) + "</ul>"]
    for png in rep.get("plots", []):
        parts.append(f'<p><img src="{_e(png)}" alt="{_e(png)}"></p>')
    parts += ["<h2 id=\"evidence\">Evidence</h2>", _table(rep["columns"], rep["rows"])]
    env = rep["environment"]
    parts += ["<h2 id=\"reproduce\">Reproduce</h2>",
              f"<p><code>verify run {_e(rep['claim_file'])}</code> (claim file SHA-256 <code>{_e(rep['claim_sha256'][:16])}...</code>, "
              f"code {_e(rep['code_version'])}).</p>",
              "<ul>",
              f"<li>Seeds: {_e(rep['seeds'] or 'none (deterministic)')}</li>",
              f"<li>Precision: <code>{_e(json.dumps(rep['precision'], sort_keys=True))}</code></li>",
              f"<li>Python {_e(env['python'])} on {_e(env['platform'])}; "
              + _e(", ".join(f"{k} {v}" for k, v in env["packages"].items())) + "</li>",
              f"<li>Ran {_e(rep['finished'])} in {_e(format(rep['duration_s'], '.1f'))} s</li></ul>",
              f"<details><summary>Claim file</summary><pre>{_e(rep.get('claim_text', ''))}</pre></details>"]
    return _page(f"{rep['id']}: {rep['title']}", "\n".join(parts))


def index_page(reports: list[dict]) -> str:
    rows = []
    for r in reports:
        key = r["key_figure"]
        rows.append(f"<tr><td><a href=\"{_e(r['id'])}.html\">{_e(r['id'])}</a></td><td>{badge(r['status'])}</td>"
                    f"<td>{badge(r['expected_status'])}</td><td>{_e(key)} = {_e(fmt_figure(r['figures'].get(key)))}</td>"
                    f"<td>{_e(r['formalization'])}</td><td>{_e(r['title'])}</td></tr>")
    body = ("<h1>Claim reports</h1>"
            f"<p>{len(reports)} reports: " + ", ".join(f"{n} {badge(s)}" for s, n in status_counts(reports)) + "</p>"
            "<table><thead><tr><th>claim</th><th>status</th><th>expected</th><th>key figure</th><th>formalization</th>"
            "<th>title</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
            f"<p>{_e(STATUS_LEGEND)}</p>")
    return _page("Claim reports", body)


def write_html(reports_dir: str | Path, out_dir: str | Path) -> list[str]:
    """Render every report in `reports_dir` into `out_dir`; returns the files written."""
    from verify.io import prepare_out_dir

    src = Path(reports_dir)
    if not src.is_dir():
        raise InputError(f"{src}: no such report folder (run `verify run` first)")
    reports = reports_on_disk(src, warn)
    if not reports:
        raise InputError(f"{src}: no claim reports (*.json) to render")
    try:
        out = prepare_out_dir(out_dir)
    except InputError as e:
        raise InputError(str(e).replace("--out", "--html", 1)) from None
    written = []
    for rep in reports:
        for png in rep.get("plots") or []:
            if "/" in png or "\\" in png or not png.endswith(".png"):
                continue
            try:
                atomic_write_bytes(out / png, read_regular(src / png))
                written.append(png)
            except OSError:
                warn(f"{src / png}: figure missing; the page shows a broken image")
        atomic_write_text(out / f"{rep['id']}.html", claim_page(rep))
        written.append(f"{rep['id']}.html")
    atomic_write_text(out / "index.html", index_page(reports))
    return written + ["index.html"]
