"""Claims as dask tasks (`verify run --workers N`, `--scheduler ADDRESS`; verify.reports.parallel):
the reports are the same whatever runs them, a cluster started with the `dask` command line is
usable, and bad requests are refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from verify.cli import main

ROOT = Path(__file__).resolve().parent.parent
FAST = [str(ROOT / "conjectures" / f) for f in ("loss-vs-mpmath.toml", "predict-pentagon.toml", "symbolic-relu.toml")]


def _reports(folder: Path) -> dict:
    out = {}
    for p in sorted(folder.glob("*.json")):
        r = json.loads(p.read_text())
        out[r["id"]] = (r["status"], r["figures"], r["rows"])
    return out


def _blas_claim(tmp_path) -> str:
    """A small U-statistic claim: its figures come from BLAS products whose summation order depended
    on the BLAS thread count (last bits moved between a sequential and a worker run before every
    claim ran BLAS on one thread: 2 of its 8 figures with 2 threads against 1)."""
    text = (ROOT / "conjectures" / "universality-rademacher.toml").read_text()
    text = text.replace("targets = 200", "targets = 10")  # N = 1000 keeps the products where threads split them
    path = tmp_path / "blas.toml"
    path.write_text(text)
    return str(path)


def test_two_workers_give_the_reports_of_one(tmp_path, capsys):
    """Bit-identical figures and tables: each claim's seeds are in its parameters and BLAS runs on
    one thread wherever the claim runs."""
    claims = [*FAST[1:], _blas_claim(tmp_path)]
    assert main(["run", *claims, "--out", str(tmp_path / "one"), "--no-cache"]) == 0
    assert main(["run", *claims, "--out", str(tmp_path / "two"), "--no-cache", "--workers", "2"]) == 0
    capsys.readouterr()
    one, two = _reports(tmp_path / "one"), _reports(tmp_path / "two")
    assert set(one) == {"predict-pentagon", "symbolic-relu", "universality-rademacher"}
    assert one == two
    assert (tmp_path / "two" / "index.md").is_file()
    # check with workers: the same verdicts, in the claims' order
    assert main(["check", *FAST[1:], "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert out.index("predict-pentagon") < out.index("symbolic-relu")


def _dask_cli():
    exe = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    if exe is None:
        pytest.fail("the dask command line (a dependency of the project) is not installed")
    return exe


def test_an_existing_cluster_started_with_the_dask_command_line(tmp_path, capsys):
    dask = _dask_cli()
    sf = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--scheduler-file", str(sf), "--dashboard-address", ":0", "--host", "127.0.0.1",
                               "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(200):
            if sf.exists() and sf.stat().st_size > 0:
                break
            time.sleep(0.1)
        address = json.loads(sf.read_text())["address"]
        procs.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(sf), "--nworkers", "2", "--nthreads", "1",
                                       "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # the blas claim splits into units (Context.map): they run as tasks of the same external cluster
        claims = [*FAST[1:], _blas_claim(tmp_path)]
        assert main(["run", *claims, "--out", str(tmp_path / "remote"), "--no-cache", "--scheduler", address]) == 0
        assert main(["run", *claims, "--out", str(tmp_path / "local"), "--no-cache"]) == 0
        capsys.readouterr()
        assert _reports(tmp_path / "remote") == _reports(tmp_path / "local")
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--workers", "x"], ["--scheduler", "not an address"],
                                  ["--scheduler", "http://host:1"]])
def test_bad_parallel_requests_are_one_line_errors(tmp_path, capsys, argv):
    rc = main(["run", FAST[1], "--out", str(tmp_path / "r"), *argv])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err, err


# --------------------------------------------------------------------------------------------
# Units of one claim (Context.map): resumable, the same values fresh or resumed, a progress bar
# --------------------------------------------------------------------------------------------

def _square_unit(x: float, tag: str) -> dict:
    return {"x": x, "y": x * x / 3.0, "tag": (tag, 1)}


def test_map_saves_each_unit_and_a_rerun_resumes_from_them(tmp_path):
    from verify.claims.result import Context

    calls = {f"u{i}": (0.1 * i, "t") for i in range(6)}
    lines = []
    ctx = Context("c", tmp_path, resume_key="k", progress=lines.append)
    first = ctx.map(_square_unit, calls)
    assert list(first) == list(calls) and first["u3"]["y"] == (0.1 * 3) ** 2 / 3.0
    assert first["u1"]["tag"] == ["t", 1]  # fresh values are the JSON round trip a resumed run reads
    assert any("6/6" in ln and "ETA" in ln for ln in lines)
    saved = json.loads((tmp_path / ".partial" / "c.json").read_text())["items"]
    assert sorted(saved) == [f"unit:u{i}" for i in range(6)]

    def boom(*a):
        raise AssertionError("a finished unit was recomputed")

    again = Context("c", tmp_path, resume_key="k", progress=lines.append).map(boom, calls)
    assert again == first
    # another code version or claim file (another key): nothing is reused
    with pytest.raises(AssertionError, match="recomputed"):
        Context("c", tmp_path, resume_key="other").map(boom, calls)
    # --no-cache: nothing is read
    with pytest.raises(AssertionError, match="recomputed"):
        Context("c", tmp_path, resume_key="k", resume=False).map(boom, calls)


def test_an_interrupted_map_keeps_the_units_it_finished(tmp_path):
    from verify.claims.result import Context

    calls = {f"u{i}": (float(i), "t") for i in range(5)}

    def fails_at_3(x, tag):
        if x == 3.0:
            raise KeyboardInterrupt
        return _square_unit(x, tag)

    with pytest.raises(KeyboardInterrupt):
        Context("c", tmp_path, resume_key="k").map(fails_at_3, calls)
    saved = json.loads((tmp_path / ".partial" / "c.json").read_text())["items"]
    assert sorted(saved) == ["unit:u0", "unit:u1", "unit:u2"]
    ran = []

    def counting(x, tag):
        ran.append(x)
        return _square_unit(x, tag)

    out = Context("c", tmp_path, resume_key="k").map(counting, calls)
    assert ran == [3.0, 4.0] and out == Context("c", None).map(_square_unit, calls)


def test_progress_bar_reports_elapsed_and_eta():
    from verify.claims.units import Progress

    lines = []
    bar = Progress(40, "units", lines.append)
    for _ in range(40):
        bar.step()
    assert 1 <= len(lines) <= 21 and lines[-1].startswith("[####################] 40/40 units")
    assert "ETA 0:00" in lines[-1]


def _dies_once(x: float, marker: str) -> float:
    """Kills its worker process the first time it runs (a lost worker), then computes."""
    if not os.path.exists(marker):
        Path(marker).write_text("died")
        os._exit(1)
    return 2.0 * x


def test_a_task_whose_worker_dies_is_rerun(tmp_path):
    from verify.reports.parallel import run_calls

    marker = str(tmp_path / "marker")
    lines = []
    out = run_calls(_dies_once, {f"k{i}": (float(i), marker) for i in range(4)}, workers=2, scheduler=None,
                    progress=lines.append)
    assert out == {f"k{i}": 2.0 * i for i in range(4)} and Path(marker).read_text() == "died"
    assert lines and "4/4 blocks" in lines[-1]


def test_the_default_size_is_the_cores_or_verify_workers(monkeypatch, tmp_path, capsys):
    from verify.cli import default_workers

    monkeypatch.delenv("VERIFY_WORKERS", raising=False)
    assert default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("VERIFY_WORKERS", "3")
    assert default_workers() == 3
    for bad in ("0", "x", "-1", "2.5"):
        monkeypatch.setenv("VERIFY_WORKERS", bad)
        rc = main(["run", FAST[1], "--out", str(tmp_path / "r")])
        err = capsys.readouterr().err
        assert rc == 2 and "VERIFY_WORKERS" in err and err.count("\n") == 1, err


def _worker_settings():
    import os

    import dask

    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), dask.config.get("distributed.worker.profile.enabled")


def test_local_workers_keep_glibc_adaptive_mmap_and_no_profiler(monkeypatch):
    """dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 (and leak it into this process's environment),
    which turns off glibc's adaptive mmap threshold: the units ran 11 % slower; the profiler cost ~8 %."""
    from verify.reports.parallel import _client

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as left by an earlier plain dask cluster
    client, cluster = _client(1, None)
    try:
        assert list(client.run(_worker_settings).values()) == [(None, False)]
    finally:
        client.close()
        cluster.close()
