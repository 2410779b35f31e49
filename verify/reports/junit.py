"""`verify check --junit FILE`: the check as JUnit XML, one test case per claim.

The format is the one CI systems read (Jenkins, GitLab, GitHub test reporters): a <testsuites>
root holding one <testsuite name="verify check"> with a <testcase classname="claims.<kind>"
name="<claim id>" time="<seconds>"> per claim; a claim whose status left its expected one, or whose
tracked figure left its band, carries a <failure> (message: what moved; text: every moved figure
with its band and value, and the report's summary); a checker that failed carries an <error>.
The XML is built with xml.etree (every string escaped) and written atomically.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from verify.io import atomic_write_bytes


def junit_xml(claims, reports: list[dict], moved: list[dict]) -> bytes:
    by_claim: dict[str, list[dict]] = {}
    for m in moved:
        by_claim.setdefault(m["claim"], []).append(m)
    total = sum(float(r.get("duration_s") or 0.0) for r in reports)
    errors = sum(1 for r in reports if r["status"] == "error")
    failures = sum(1 for c, r in zip(claims, reports) if c.id in by_claim and r["status"] != "error")
    root = ET.Element("testsuites", name="verify check", tests=str(len(reports)), failures=str(failures),
                      errors=str(errors), time=f"{total:.3f}")
    suite = ET.SubElement(root, "testsuite", name="verify check", tests=str(len(reports)), failures=str(failures),
                          errors=str(errors), skipped="0", time=f"{total:.3f}")
    for claim, rep in zip(claims, reports):
        case = ET.SubElement(suite, "testcase", classname=f"claims.{claim.kind}", name=claim.id,
                             time=f"{float(rep.get('duration_s') or 0.0):.3f}", file=claim.path)
        key = rep["key_figure"]
        out = ET.SubElement(case, "system-out")
        out.text = (f"status {rep['status']} (expected {claim.expected_status}); {key} = {rep['figures'].get(key)}\n"
                    f"{rep['summary']}")
        if rep["status"] == "error":
            err = ET.SubElement(case, "error", message=f"the checker failed: {rep['summary'][:200]}", type="checker-error")
            err.text = rep["summary"]
        elif claim.id in by_claim:
            items = by_claim[claim.id]
            head = "; ".join(f"{m['what']} expected {m['expected']}, got {m['got']}" for m in items)
            fail = ET.SubElement(case, "failure", message=head[:500], type="moved")
            fail.text = "\n".join(f"{m['what']}: expected {m['expected']}, got {m['got']} {m['detail']}".rstrip()
                                  for m in items) + f"\n\nsummary: {rep['summary']}"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(path: str | Path, claims, reports: list[dict], moved: list[dict]) -> None:
    atomic_write_bytes(path, junit_xml(claims, reports, moved))
