"""verify.reports.compare: the before/after check of the restructuring. It must see a one-ulp move
of any figure or table cell, and ignore only wall-clock times."""

from __future__ import annotations

import json
import math

import pytest

from verify.errors import InputError
from verify.reports.compare import compare_folders, compare_reports, main

REPORT = {
    "id": "demo",
    "status": "verified",
    "key_figure": "max_rel_err",
    "figures": {"max_rel_err": 2.5e-16, "instances": 12.0, "seconds": 3.2, "nan_ok": float("nan")},
    "columns": ["M", "value", "seconds"],
    "rows": [[2, "0.0455228722256", 1.5], [3, "0.1", 2.0]],
    "summary": "12/12 instances in 37.2 s",
    "notes": ["36 searches this run, 37 s"],
}


def _write(folder, rep):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{rep['id']}.json").write_text(json.dumps(rep))


def test_identical_reports_compare_equal_and_times_are_ignored(tmp_path):
    other = json.loads(json.dumps(REPORT))
    other["figures"]["seconds"] = 99.0
    other["rows"][0][2] = 7.0
    other["summary"] = "12/12 instances in 5 s"
    other["notes"] = ["36 searches this run, 1.5 min"]
    assert compare_reports(REPORT, json.loads(json.dumps(REPORT))) == []
    assert compare_reports(REPORT, other) == []


@pytest.mark.parametrize("change", [
    lambda r: r["figures"].__setitem__("max_rel_err", math.nextafter(2.5e-16, 1.0)),
    lambda r: r["figures"].pop("instances"),
    lambda r: r.__setitem__("status", "refuted"),
    lambda r: r["rows"][1].__setitem__(1, "0.10"),
    lambda r: r["rows"].pop(),
    lambda r: r.__setitem__("summary", "11/12 instances in 37.2 s"),
])
def test_any_move_is_seen(tmp_path, change):
    new = json.loads(json.dumps(REPORT))
    change(new)
    assert compare_reports(REPORT, new)
    _write(tmp_path / "old", REPORT)
    _write(tmp_path / "new", new)
    assert main([str(tmp_path / "old"), str(tmp_path / "new")]) == 1


def test_missing_report_and_bad_input(tmp_path):
    _write(tmp_path / "old", REPORT)
    (tmp_path / "new").mkdir()
    diffs, n = compare_folders(tmp_path / "old", tmp_path / "new")
    assert n == 1 and diffs == [f"demo: missing from {tmp_path / 'new'}"]
    with pytest.raises(InputError):
        compare_folders(tmp_path / "nowhere", tmp_path / "new")
    with pytest.raises(InputError):
        compare_folders(tmp_path / "new", tmp_path / "old")  # nothing to compare
    assert main([str(tmp_path / "old"), str(tmp_path / "new"), "--ids", "absent"]) == 2
