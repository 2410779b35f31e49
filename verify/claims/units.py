"""The units of one claim (`Context.map`): run here, or as tasks of the dask cluster the claim runs on.

A claim splits its work into independent units (instances of a grid, chunks of targets, constants
per dimension), each a pure function of its arguments. `run_unit` runs one with BLAS on one thread;
`map_units` submits them from inside a claim's task to the same cluster; `Progress` is the bar.

Reference: dask.distributed, launching tasks from tasks (`worker_client`,
https://distributed.dask.org/en/stable/task-launch.html).
"""

from __future__ import annotations

import time

RETRIES = 2  # a task whose worker dies is re-run on another worker up to this many times


def run_unit(fn, args: tuple):
    """One unit of a claim, BLAS and the kernel matrices on one thread (as `runner.compute` runs
    whole claims): a unit's value is then the same bits wherever it ran, on one core."""
    from threadpoolctl import threadpool_limits

    from verify.kernels.matrix import kernel_threads

    with threadpool_limits(1), kernel_threads(1):
        return fn(*args)


def map_units(fn, calls: dict):
    """Yield (key, fn(*args)) for calls = {key: args} as they finish, run as tasks on the cluster
    of the claim task calling it. The claim's task leaves its worker's thread (`worker_client`
    secedes) while it waits, so with one thread per worker the units use every worker, the
    caller's included. A unit whose worker dies is re-run (`RETRIES`); one that raises stops the
    claim with its exception, as in a sequential run."""
    from distributed import as_completed, worker_client

    with worker_client() as client:
        n = len(calls)
        futures = {client.submit(run_unit, fn, args, pure=False, retries=RETRIES, priority=n - rank): key
                   for rank, (key, args) in enumerate(calls.items())}
        for fut in as_completed(list(futures)):
            yield futures[fut], fut.result()


class Progress:
    """A text bar with the elapsed time and an ETA (the mean time per finished unit), reported
    through `emit` at most every 5 % of the units or 30 s, and at the end."""

    def __init__(self, total: int, what: str, emit):
        self.total, self.what, self.emit = total, what, emit
        self.done, self.t0, self.last_t, self.last_k = 0, time.perf_counter(), time.perf_counter(), 0

    def step(self) -> None:
        self.done += 1
        now = time.perf_counter()
        if self.done < self.total and self.done - self.last_k < max(1, self.total // 20) and now - self.last_t < 30:
            return
        self.last_t, self.last_k = now, self.done
        self.emit(self.line(now))

    def line(self, now: float | None = None) -> str:
        now = time.perf_counter() if now is None else now
        el = now - self.t0
        frac = self.done / self.total if self.total else 1.0
        eta = el / self.done * (self.total - self.done) if self.done else float("nan")
        bar = "#" * int(20 * frac) + "-" * (20 - int(20 * frac))
        return f"[{bar}] {self.done}/{self.total} {self.what}, {_clock(el)} elapsed, ETA {_clock(eta)}"


def _clock(seconds: float) -> str:
    if seconds != seconds:
        return "?"
    m, sec = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
