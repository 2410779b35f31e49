"""The report folder is safe: claims are published whole, failures to write keep the previous reports,
the index covers every report on disk, one run at a time, bad folders and ids refused up front,
damaged caches set aside, symlinks never followed, files get the user's umask.

Every test runs a stand-in for the `loss-vs-mpmath` kind (a claim file copied from conjectures/, its
checker replaced): it saves a figure whose pixels change from run to run, and partial results.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import verify.io as vio
import verify.reports as reports
import verify.reports.runner as runner
from verify.claims.kinds import KINDS
from verify.claims.result import Context, Finding, pyplot
from verify.claims.schema import load_claim
from verify.cli import main
from verify.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
FAST_CLAIM = ROOT / "conjectures" / "loss-vs-mpmath.toml"
CID = "loss-vs-mpmath"
VERSION = "test+0000"


@pytest.fixture
def fake(monkeypatch):
    """Replace the kind's checker by a quick one; `state` counts runs and records what it resumed."""
    state = {"n": 0, "resumed": [], "fail": None}

    def run(claim, ctx):
        state["n"] += 1
        n = state["n"]
        state["resumed"].append(ctx.load_partial())
        ctx.save_partial({"item": n})
        if state["fail"]:
            raise state["fail"]
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(1.5, 1.5))
        ax.plot([0, 1], [0, n])
        ax.set_title(f"run {n}")
        ctx.save_figure(fig, "fig")
        return Finding("verified", f"stand-in run {n}", {"max_rel_error": 0.0}, "max_rel_error",
                       columns=["run"], rows=[[n]], plots=list(ctx.plots))

    monkeypatch.setitem(KINDS, CID, dataclasses.replace(KINDS[CID], run=run))
    monkeypatch.setattr(runner, "code_version", lambda: VERSION)  # other edits of verify/ must not matter
    return state


@pytest.fixture
def claim(tmp_path):
    p = tmp_path / "claim.toml"
    shutil.copy(FAST_CLAIM, p)
    return p


def cli(capsys, *argv):
    t0 = time.monotonic()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert time.monotonic() - t0 < 10
    return rc, out, err


def one_line_error(rc, err, *words):
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("verify: error:"), err
    assert "Traceback" not in err
    for w in words:
        assert w in err, err


def snapshot(folder: Path) -> dict:
    """Every visible file of a folder (not the dot entries) with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def consistent(out: Path) -> dict:
    rep = json.loads((out / f"{CID}.json").read_text())
    assert reports.report_files_problem(out, rep) is None
    return rep


def no_leftovers(out: Path):
    assert not list(out.glob(".*.tmp"))
    assert not (out / ".staging").exists()
    assert not (out / ".lock").exists()


# --- 1. a claim's files appear together -------------------------------------------------------------


def test_report_records_hashes_of_its_markdown_and_figures(capsys, tmp_path, claim, fake):
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    assert rc == 0, err
    rep = consistent(out)
    assert set(rep["files"]) == {f"{CID}.md", f"{CID}-fig.png"} and rep["plots"] == [f"{CID}-fig.png"]
    assert rep["run_id"] and rep["status"] == "verified"
    no_leftovers(out)


@pytest.mark.parametrize("kill_at", [0, 1, 2])
def test_kill_between_publishing_renames_keeps_old_json_and_rerun_repairs(capsys, tmp_path, claim, fake,
                                                                         monkeypatch, kill_at):
    """Renames: the figure, the Markdown, the JSON last. A kill before any of them leaves the old JSON;
    a rerun sees that the files on disk no longer match it and recomputes instead of reusing it."""
    out = tmp_path / "out"
    assert cli(capsys, "run", claim, "--out", out)[0] == 0
    old_json = (out / f"{CID}.json").read_bytes()
    done = []
    real = reports._rename

    def rename(src, dst):
        if len(done) == kill_at:
            raise KeyboardInterrupt
        done.append(dst)
        real(src, dst)

    monkeypatch.setattr(reports, "_rename", rename)
    rc, _, err = cli(capsys, "run", claim, "--out", out, "--no-cache")
    assert rc == 130, err
    assert (out / f"{CID}.json").read_bytes() == old_json
    no_leftovers(out)
    monkeypatch.setattr(reports, "_rename", real)
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    assert rc == 0
    if kill_at == 0:  # nothing was replaced: the old set is whole and is reused
        assert "reused" in err
    else:
        assert "inconsistent" in err and "reused" not in err
    consistent(out)


@pytest.mark.parametrize("damage", ["delete-png", "edit-md", "delete-md", "md-symlink"])
def test_rerun_rewrites_an_inconsistent_set(capsys, tmp_path, claim, fake, damage):
    out = tmp_path / "out"
    assert cli(capsys, "run", claim, "--out", out)[0] == 0
    outside = tmp_path / "outside.md"
    outside.write_text("not a report")
    if damage == "delete-png":
        (out / f"{CID}-fig.png").unlink()
    elif damage == "edit-md":
        (out / f"{CID}.md").write_text("edited")
    elif damage == "delete-md":
        (out / f"{CID}.md").unlink()
    else:
        (out / f"{CID}.md").unlink()
        (out / f"{CID}.md").symlink_to(outside)
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    assert rc == 0 and "inconsistent" in err and "reused" not in err
    consistent(out)
    assert outside.read_text() == "not a report" and not (out / f"{CID}.md").is_symlink()


# --- 2. a failure to write keeps the previous report ---------------------------------------------------


@pytest.mark.parametrize("which", [".png", ".json", ".md"])
def test_full_disk_keeps_previous_report_and_exits_nonzero(capsys, tmp_path, claim, fake, monkeypatch, which):
    out = tmp_path / "out"
    assert cli(capsys, "run", claim, "--out", out)[0] == 0
    before = snapshot(out)
    real = vio.atomic_write_bytes

    def full(path, data):
        if str(path).endswith(which) and ".partial" not in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(vio, "atomic_write_bytes", full)
    monkeypatch.setattr(reports, "atomic_write_bytes", full)
    rc, stdout, err = cli(capsys, "run", claim, "--out", out, "--no-cache")
    assert rc == 1 and stdout == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("verify: error:") and "No space left on device" in last and "kept" in last, err
    assert "Traceback" not in err and "ended in error" not in err
    after = snapshot(out)
    assert after == before  # the verified report, its Markdown and figure, and the index: all as they were
    assert json.loads(after[f"{CID}.json"])["status"] == "verified"
    no_leftovers(out)


def test_full_disk_while_saving_partial_results_is_a_write_error(capsys, tmp_path, claim, fake, monkeypatch):
    out = tmp_path / "out"
    assert cli(capsys, "run", claim, "--out", out)[0] == 0
    before = snapshot(out)

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(vio, "atomic_write_bytes", full)
    rc, _, err = cli(capsys, "run", claim, "--out", out, "--no-cache")
    assert rc == 1 and "No space left on device" in err.strip().splitlines()[-1]
    assert snapshot(out) == before


# --- 3. the index covers every report on disk -----------------------------------------------------------


def test_index_lists_every_report_on_disk_with_its_run(capsys, tmp_path, claim, fake):
    out = tmp_path / "out"
    other = tmp_path / "other.toml"
    other.write_text(FAST_CLAIM.read_text().replace(f'id = "{CID}"', 'id = "second-claim"'))
    assert cli(capsys, "run", claim, "--out", out)[0] == 0
    assert cli(capsys, "run", other, "--out", out)[0] == 0
    (out / "notes.json").write_text('{"not": "a report"}')  # not a report: left out, not fatal
    index = (out / "index.md").read_text()
    assert f"[{CID}]({CID}.md)" in index and "[second-claim](second-claim.md)" in index
    run1 = json.loads((out / f"{CID}.json").read_text())["run_id"]
    run2 = json.loads((out / "second-claim.json").read_text())["run_id"]
    assert run1 != run2 and run1 in index and run2 in index and VERSION in index
    # A partial run (interrupted in its second claim) and a run of one claim drop nothing.
    fake["fail"] = KeyboardInterrupt()
    assert cli(capsys, "run", other, "--out", out, "--no-cache")[0] == 130
    fake["fail"] = None
    rc, _, err = cli(capsys, "run", claim, "--out", out, "--no-cache")
    assert rc == 0 and "notes.json" in err
    index = (out / "index.md").read_text()
    assert "[second-claim](second-claim.md)" in index and run2 in index and run1 not in index


# --- 4. one run per folder -------------------------------------------------------------------------


def test_second_run_on_a_locked_folder_is_refused(capsys, tmp_path, claim, fake):
    out = tmp_path / "out"
    assert cli(capsys, "run", claim, "--out", out)[0] == 0
    before = snapshot(out)
    with vio.DirLock(out, lambda m: None):
        rc, stdout, err = cli(capsys, "run", claim, "--out", out, "--no-cache")
        one_line_error(rc, err, "another verify run is using", str(out))
    assert snapshot(out) == before and fake["n"] == 1
    assert not (out / ".lock").exists()


def test_stale_lock_of_a_dead_process_is_taken_over(capsys, tmp_path, claim, fake):
    out = tmp_path / "out"
    out.mkdir()
    p = subprocess.Popen(["true"])
    p.wait()
    (out / ".lock").write_text(f"{p.pid}\n")
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    assert rc == 0
    warnings = [line for line in err.splitlines() if "stale lock" in line]
    assert len(warnings) == 1 and str(p.pid) in warnings[0]
    no_leftovers(out)


def test_lock_of_a_live_process_without_flock_is_respected(capsys, tmp_path, claim, fake):
    out = tmp_path / "out"
    out.mkdir()
    p = subprocess.Popen(["sleep", "30"])
    try:
        (out / ".lock").write_text(f"{p.pid}\n")
        rc, _, err = cli(capsys, "run", claim, "--out", out)
        one_line_error(rc, err, "another verify run is using")
    finally:
        p.kill()
        p.wait()
    assert fake["n"] == 0


# --- 5. bad --out ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["empty", "file", "under-file"])
def test_bad_out_is_one_line_exit_2(capsys, tmp_path, claim, fake, case):
    f = tmp_path / "afile"
    f.write_text("keep")
    out = {"empty": "", "file": f, "under-file": f / "sub"}[case]
    rc, stdout, err = cli(capsys, "run", claim, "--out", out)
    one_line_error(rc, err, "--out")
    assert stdout == "" and fake["n"] == 0 and f.read_text() == "keep"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_out_is_one_line_exit_2(capsys, tmp_path, claim, fake):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        rc, _, err = cli(capsys, "run", claim, "--out", out)
    finally:
        out.chmod(0o755)
    one_line_error(rc, err, "not writable")
    assert fake["n"] == 0


def test_unwritable_out_is_refused_before_any_work(capsys, tmp_path, claim, fake, monkeypatch):
    """The same as a read-only folder, for a user (root) whom permissions do not stop."""
    def denied(folder):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))

    monkeypatch.setattr(vio, "_probe_create", denied)
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    one_line_error(rc, err, "not writable", "Permission denied")
    assert fake["n"] == 0 and list(out.iterdir()) == []


# --- 6. reserved and malformed ids -----------------------------------------------------------------


@pytest.mark.parametrize("bad", ["index", "lock", "partial", "staging", "cache", ".lock", "a", "loss-vs-mpmath\n", "x/y"])
def test_reserved_or_malformed_ids_are_refused_before_any_work(tmp_path, claim, fake, bad):
    c = dataclasses.replace(load_claim(claim), id=bad)
    with pytest.raises(InputError, match="claim id"):
        runner.run_claims([c], tmp_path / "out")
    assert not (tmp_path / "out").exists() and fake["n"] == 0


def test_claim_id_index_is_one_line_exit_2(capsys, tmp_path, claim, fake):
    claim.write_text(FAST_CLAIM.read_text().replace(f'id = "{CID}"', 'id = "index"'))
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    one_line_error(rc, err, "index")
    assert not out.exists() and fake["n"] == 0


def test_claim_id_with_a_trailing_newline_is_refused(capsys, tmp_path, claim, fake):
    claim.write_text(FAST_CLAIM.read_text().replace(f'id = "{CID}"', f'id = "{CID}\\n"'))
    out = tmp_path / "out"
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    assert rc == 2 and err.count("\n") == 1 and err.startswith("verify: error:"), err
    assert not out.exists() and fake["n"] == 0


# --- 7. damaged caches and partial results are set aside ----------------------------------------------


def _damage(path: Path, how: str, outside: Path):
    if path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "folder":
        path.mkdir()
    elif how == "symlink":
        path.symlink_to(outside)
    else:
        path.write_text({"null": "null", "list": "[1, 2]", "garbage": "{not json", "string": '"x"'}[how])


HOWS = ["null", "list", "garbage", "string", "folder", "symlink"]


@pytest.mark.parametrize("how", HOWS)
def test_damaged_cached_report_is_set_aside_and_recomputed(capsys, tmp_path, claim, fake, how):
    out = tmp_path / "out"
    outside = tmp_path / "outside.json"
    assert cli(capsys, "run", claim, "--out", out)[0] == 0
    outside.write_bytes((out / f"{CID}.json").read_bytes())  # a valid report, outside: must not be trusted
    original = outside.read_bytes()
    _damage(out / f"{CID}.json", how, outside)
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    assert rc == 0 and "reused" not in err and fake["n"] == 2
    warnings = [line for line in err.splitlines() if line.startswith("verify: warning:")]
    assert len(warnings) == 1 and "set aside" in warnings[0], err
    assert len(list(out.glob(f"{CID}.json.corrupt-*"))) == 1
    assert consistent(out)["status"] == "verified"
    assert outside.read_bytes() == original


@pytest.mark.parametrize("how", HOWS)
def test_damaged_partial_is_set_aside_with_a_warning(capsys, tmp_path, claim, fake, how):
    out = tmp_path / "out"
    outside = tmp_path / "outside.json"
    outside.write_text("precious")
    _damage(out / ".partial" / f"{CID}.json", how, outside)
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    assert rc == 0 and fake["resumed"] == [{}]
    warnings = [line for line in err.splitlines() if line.startswith("verify: warning:")]
    assert len(warnings) == 1 and "set aside" in warnings[0], err
    assert len(list((out / ".partial").glob(f"{CID}.json.corrupt-*"))) == 1
    assert outside.read_text() == "precious"
    consistent(out)


def test_partial_results_resume_and_no_cache_ignores_them(capsys, tmp_path, claim, fake):
    out = tmp_path / "out"
    key = f"{load_claim(claim).sha256}:{VERSION}"
    partial = out / ".partial" / f"{CID}.json"
    partial.parent.mkdir(parents=True)
    partial.write_text(json.dumps({"key": key, "items": {"saved": 7}}))
    rc, _, _ = cli(capsys, "run", claim, "--out", out, "--no-cache")
    assert rc == 0 and fake["resumed"] == [{}]  # --no-cache: a fresh computation
    assert not partial.exists()  # cleared once the report is published
    partial.write_text(json.dumps({"key": key, "items": {"saved": 7}}))
    (out / f"{CID}.json").unlink()
    rc, _, _ = cli(capsys, "run", claim, "--out", out)
    assert rc == 0 and fake["resumed"][-1] == {"saved": 7}  # without it, the run resumes


# --- 9. symlinks inside --out are never followed ---------------------------------------------------------


def test_symlinked_folders_inside_out_are_not_followed(capsys, tmp_path, claim, fake):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "p").mkdir(parents=True)
    (elsewhere / "s").mkdir()
    key = f"{load_claim(claim).sha256}:{VERSION}"
    (elsewhere / "p" / f"{CID}.json").write_text(json.dumps({"key": key, "items": {"outside": 1}}))
    (elsewhere / "s" / "keep.txt").write_text("keep")
    (elsewhere / "md.txt").write_text("keep md")
    (elsewhere / "index.txt").write_text("keep index")
    (out / ".partial").symlink_to(elsewhere / "p")
    (out / ".staging").symlink_to(elsewhere / "s")
    (out / f"{CID}.md").symlink_to(elsewhere / "md.txt")
    (out / "index.md").symlink_to(elsewhere / "index.txt")
    (out / ".lock").symlink_to(elsewhere / "md.txt")
    before = {str(p): p.read_bytes() for p in elsewhere.rglob("*") if p.is_file()}
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    assert rc == 0, err
    after = {str(p): p.read_bytes() for p in elsewhere.rglob("*") if p.is_file()}
    assert after == before and fake["resumed"] == [{}]
    for name in (".partial", ".staging", f"{CID}.md", "index.md"):
        assert not (out / name).is_symlink(), name
    consistent(out)


# --- 10. the user's umask --------------------------------------------------------------------------------


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)])
def test_report_files_get_the_umask(capsys, tmp_path, claim, fake, umask, mode):
    out = tmp_path / "out"
    old = os.umask(umask)
    try:
        assert cli(capsys, "run", claim, "--out", out)[0] == 0
    finally:
        os.umask(old)
    for name in (f"{CID}.json", f"{CID}.md", f"{CID}-fig.png", "index.md"):
        assert (out / name).stat().st_mode & 0o777 == mode, name


# --- 11. nothing to do ---------------------------------------------------------------------------------


def test_check_with_only_full_claims_is_one_line_exit_2(capsys, tmp_path, claim, fake):
    claim.write_text(FAST_CLAIM.read_text().replace('profile = "quick"', 'profile = "full"'))
    rc, stdout, err = cli(capsys, "check", claim)
    one_line_error(rc, err, "full")
    assert stdout == "" and fake["n"] == 0


def test_run_on_an_empty_selection_is_one_line_exit_2(capsys, tmp_path, fake):
    empty = tmp_path / "none"
    empty.mkdir()
    rc, _, err = cli(capsys, "run", empty, "--out", tmp_path / "out")
    one_line_error(rc, err)
    with pytest.raises(InputError, match="empty"):
        runner.run_claims([], tmp_path / "out")


# --- 12. progress, and what a killed run leaves ------------------------------------------------------------


def test_progress_lines_and_leftover_staging_is_cleaned(capsys, tmp_path, claim, fake):
    out = tmp_path / "out"
    left = out / ".staging" / f"{CID}.killed"
    left.mkdir(parents=True)
    (left / f"{CID}.json").write_text("{}")
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    assert rc == 0
    assert f"[1/1] {CID}: running" in err and f"[1/1] {CID}: verified in" in err
    assert not left.exists()
    rc, _, err = cli(capsys, "run", claim, "--out", out)
    assert f"[1/1] {CID}: verified (unchanged, reused)" in err


def test_context_without_staging_still_writes_into_out(tmp_path):
    """A checker run outside the runner (tests, notebooks) keeps the old behaviour."""
    ctx = Context("c-id", tmp_path, True, resume_key="k")
    plt = pyplot()
    fig, _ = plt.subplots(figsize=(1, 1))
    ctx.save_figure(fig, "x")
    assert (tmp_path / "c-id-x.png").exists() and ctx.plots == ["c-id-x.png"]
    ctx.save_partial({"a": 1})
    assert ctx.load_partial() == {"a": 1}
    assert Context("c-id", tmp_path, True, resume_key="k", resume=False).load_partial() == {}
    ctx.clear_partial()
    assert ctx.load_partial() == {}
