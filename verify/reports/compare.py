"""Compare the figures of two report folders: did a change of code move any result?

    python -m verify.reports.compare OLD_DIR NEW_DIR [--ids a,b,...]

For every claim report (`<id>.json`) in OLD_DIR the report of the same id in NEW_DIR must agree
exactly (==, not within a tolerance) in status, key figure, every figure, the table (columns and
rows), and the summary and notes. Wall-clock times are the only exception: figures named
`seconds*`, table columns named `seconds`, and durations written as "<number> s" in text are
masked, because they measure the machine, not the mathematics. Exit 0 when everything agrees,
1 when something moved (each difference one line), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from verify.errors import InputError

_DURATION = re.compile(r"\b\d+(?:\.\d+)?(?:e[+-]?\d+)? ?(?:s|min)\b")


def _mask_text(s):
    return _DURATION.sub("<time>", s) if isinstance(s, str) else s


def _timed(name: str) -> bool:
    return name.lower().startswith("seconds")


def load_reports(folder: Path) -> dict[str, dict]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder of reports")
    out = {}
    for f in sorted(folder.glob("*.json")):
        try:
            rep = json.loads(f.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"{f}: not a readable JSON report ({e})") from None
        if isinstance(rep, dict) and "id" in rep and "figures" in rep:
            out[rep["id"]] = rep
    return out


def _same(a, b) -> bool:
    """Exact equality that treats NaN as equal to NaN (a figure may legitimately be NaN)."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def compare_reports(old: dict, new: dict) -> list[str]:
    """Every difference between two reports of one claim, one line each (empty: identical)."""
    rid = old.get("id")
    diffs = []
    for key in ("status", "key_figure", "columns"):
        if not _same(old.get(key), new.get(key)):
            diffs.append(f"{rid}: {key} {old.get(key)!r} -> {new.get(key)!r}")
    fo, fn = old.get("figures", {}), new.get("figures", {})
    for name in sorted(set(fo) | set(fn)):
        if _timed(name):
            continue
        if name not in fo or name not in fn:
            diffs.append(f"{rid}: figure {name} only in {'new' if name in fn else 'old'}")
        elif not _same(fo[name], fn[name]):
            diffs.append(f"{rid}: figure {name} {fo[name]!r} -> {fn[name]!r}")
    cols = old.get("columns") or []
    timed_cols = {i for i, c in enumerate(cols) if _timed(str(c))}
    ro, rn = old.get("rows") or [], new.get("rows") or []
    if len(ro) != len(rn):
        diffs.append(f"{rid}: {len(ro)} rows -> {len(rn)} rows")
    for i, (a, b) in enumerate(zip(ro, rn)):
        a = [_mask_text(x) for j, x in enumerate(a) if j not in timed_cols]
        b = [_mask_text(x) for j, x in enumerate(b) if j not in timed_cols]
        if not _same(a, b):
            diffs.append(f"{rid}: row {i} {a!r} -> {b!r}")
    if _mask_text(old.get("summary")) != _mask_text(new.get("summary")):
        diffs.append(f"{rid}: summary {old.get('summary')!r} -> {new.get('summary')!r}")
    no = [_mask_text(x) for x in old.get("notes") or []]
    nn = [_mask_text(x) for x in new.get("notes") or []]
    if no != nn:
        diffs.append(f"{rid}: notes differ: {no!r} -> {nn!r}")
    return diffs


def compare_folders(old_dir: Path, new_dir: Path, ids: list[str] | None = None) -> tuple[list[str], int]:
    """(differences, number of reports compared) for the reports of OLD_DIR (or just `ids`)."""
    old, new = load_reports(old_dir), load_reports(new_dir)
    want = ids if ids else sorted(old)
    if not want:
        raise InputError(f"no reports to compare in {old_dir}")
    diffs = []
    for rid in want:
        if rid not in old:
            raise InputError(f"no report {rid!r} in {old_dir}")
        if rid not in new:
            diffs.append(f"{rid}: missing from {new_dir}")
            continue
        diffs += compare_reports(old[rid], new[rid])
    return diffs, len(want)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m verify.reports.compare", description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--ids", default="", help="comma-separated claim ids (default: every report in OLD)")
    args = ap.parse_args(argv)
    try:
        diffs, n = compare_folders(Path(args.old), Path(args.new), [i for i in args.ids.split(",") if i])
    except InputError as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    for d in diffs:
        print(d)
    print(f"{n} reports compared: {'identical figures' if not diffs else f'{len(diffs)} differences'}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
