"""Claims as tasks on dask.distributed (`verify run --workers N`, `--scheduler ADDRESS`).

A local cluster of N worker processes (one thread each; the runner's `compute` runs BLAS on one thread)
or an existing cluster given by its scheduler address. Each claim to compute is one task, the
runner's `compute(claim, ...)`; results come back as they finish and the caller publishes them, so
an interrupted run keeps every report already published and a rerun resumes from them. Dask retries
a task whose worker died (`retries`), so a lost worker costs that claim's time, never its result.
Worker processes print the claims' progress lines on their own stderr, which a local cluster shares
with this process.

Inside a claim, `Context.map` splits the work into units (instances of a grid, chunks of targets,
the constants per dimension): a claim running as a task submits its units to the same cluster
(`verify.claims.units.map_units`, tasks launching tasks through `worker_client`), so one long claim uses every worker.

References: dask.distributed `LocalCluster`, `Client.submit`, `as_completed`
(https://distributed.dask.org/en/stable/api.html).
"""

from __future__ import annotations

import logging
import os

from verify.claims.units import RETRIES
from verify.errors import InputError


def _client(workers: int, scheduler: str | None):
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as e:  # pragma: no cover - a dependency of the project
        raise InputError(f"--workers / --scheduler need dask.distributed ({e}); install the project with pip install -e .") from e
    if scheduler is not None:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as e:
            raise InputError(f"cannot reach the dask scheduler at {scheduler!r}: {e}") from e
    # ":0": the scheduler's HTTP server on a free port (the default 8787 collides with any other cluster).
    # No MALLOC_TRIM_THRESHOLD_ in the workers (dask's nannies set 65536 by default, to hand freed
    # memory back to the system): it also turns off glibc's adaptive mmap threshold, so every large
    # temporary of a unit is a fresh mmap whose pages fault in again. Measured here on finite-n-rate
    # units, two processes at once: 11 % slower with it (126-128 s against 114 s for the same units).
    # https://distributed.dask.org/en/stable/worker-memory.html#automatically-trim-memory
    # Nor the workers' statistical profiler (a thread sampling every task's stack every 10 ms): the
    # suite never reads it.
    # A nanny also leaks its pre-spawn environment into this process, so after any other local
    # cluster in the process the workers would inherit dask's 65536 from os.environ: that value is
    # removed before they start (a value set otherwise is left alone).
    if os.environ.get("MALLOC_TRIM_THRESHOLD_") == "65536":
        del os.environ["MALLOC_TRIM_THRESHOLD_"]
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                          "distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               scheduler_port=0, memory_limit=0, silence_logs=logging.ERROR)
    return Client(cluster), cluster


def run_tasks(fn, calls: dict, *, workers: int, scheduler: str | None, log=lambda m: None):
    """Yield (key, future of fn(*args, **kwargs)) for calls = {key: (args, kwargs)} as they finish
    (`future.result()` gives the value or raises the task's exception); the tasks start in the order
    of `calls` (dask priorities: the first has the highest)."""
    from distributed import as_completed

    client, cluster = _client(workers, scheduler)
    try:
        where = scheduler or f"a local cluster of {workers} processes"
        log(f"dask: {len(calls)} claims on {where}")
        n = len(calls)
        futures = {client.submit(fn, *args, **kwargs, pure=False, retries=RETRIES, priority=n - rank): key
                   for rank, (key, (args, kwargs)) in enumerate(calls.items())}
        for fut in as_completed(list(futures)):
            yield futures[fut], fut
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_calls(fn, calls: dict, *, workers: int, scheduler: str | None, progress=None) -> dict:
    """{key: fn(*args)} for calls = {key: args}, every call a task of `run_tasks` (BLAS and the
    kernel matrices on one thread, `run_unit`); `progress(line)` gets a bar with an ETA. Used by
    `verify loss --target-law` for the blocks of L_N."""
    from verify.claims.units import Progress, run_unit

    bar = Progress(len(calls), "blocks", progress or (lambda m: None))
    out = {}
    for key, fut in run_tasks(run_unit, {k: ((fn, args), {}) for k, args in calls.items()}, workers=workers,
                              scheduler=scheduler):
        out[key] = fut.result()
        bar.step()
    return out
