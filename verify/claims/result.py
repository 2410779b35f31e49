"""What a claim check returns (one record, fixed fields) and the context a checker runs in.

Statuses say what was shown:
  verified      every check passed within the stated tolerance, and a failure would have shown;
  refuted       a check failed, and the failure survived re-evaluation at higher precision (or a
                fresh, larger sample for statistical checks);
  inconclusive  a check failed once but not on re-evaluation, or the evidence cannot decide;
  error         the checker itself failed (the message says why); never a verdict on the claim.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from verify.io import warn

STATUSES = ("verified", "refuted", "inconclusive", "error")


@dataclass
class Finding:
    """A checker's result: the verdict, the figures it rests on, and the evidence table."""

    status: str
    summary: str
    figures: dict[str, float]
    key_figure: str
    columns: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    precision: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"bad status {self.status!r}")
        if self.key_figure not in self.figures:
            raise ValueError(f"key figure {self.key_figure!r} not among the figures")



@dataclass
class Context:
    """Where a checker may write figures, and how it reports progress.

    Figures go to `fig_dir` when set (the runner's staging folder: they are published together
    with the claim's JSON and Markdown), else to `out_dir`. Partial results live in
    `<out_dir>/.partial/<claim id>.json`; `resume=False` (--no-cache) ignores them."""

    claim_id: str
    out_dir: Path | None = None
    make_plots: bool = True
    progress: Callable[[str], None] = lambda msg: None
    plots: list[str] = field(default_factory=list)
    resume_key: str = ""  # claim SHA-256 and code version: partial results of another key are ignored
    resume: bool = True  # False: a fresh computation, saved partial results are not read
    fig_dir: Path | None = None
    warn: Callable[[str], None] = warn
    on_dask: bool = False  # the claim runs as a task on dask.distributed: `map` submits its units there too

    def map(self, fn: Callable, calls: dict[str, tuple], *, what: str = "units", encode: Callable = lambda v: v,
            decode: Callable = lambda v: v, cost: Callable[[str], float] | None = None) -> dict:
        """{key: fn(*args)} for calls = {key: args}: the independent units of a claim.

        Each unit is a pure function of its arguments (seeds included), so its value does not
        depend on where or in which order it ran: in this process one after another, or, when the
        claim itself runs on dask.distributed (`on_dask`), as tasks of the same cluster
        (`verify.claims.units.map_units`). Finished units are saved with the partial results
        (`encode` makes a value JSON, `decode` undoes it exactly: floats round-trip through JSON),
        so an interrupted run resumes from them; progress reports the units done with an ETA.
        `cost(key)`, a relative estimate, starts the costliest units first on a cluster (the
        makespan of greedy scheduling); it never changes a value, and the result keeps `calls`' order."""
        import json

        from verify.claims.units import Progress, map_units, run_unit

        done = self.load_partial()
        saved = {k[len("unit:"):]: v for k, v in done.items() if k.startswith("unit:")}
        out = {k: decode(saved[k]) for k in calls if k in saved}
        todo = {k: a for k, a in calls.items() if k not in out}
        if out:
            self.progress(f"{what}: {len(out)} of {len(calls)} from an interrupted run")
        bar = Progress(len(todo), what, self.progress)

        def record(key, value):
            # what a resumed run reads back (a JSON round trip: floats exact, tuples become lists), so
            # a fresh and a resumed run compute with the same values
            done["unit:" + key] = enc = json.loads(json.dumps(encode(value)))
            out[key] = decode(json.loads(json.dumps(enc)))
            self.save_partial(done)
            bar.step()

        if self.on_dask and len(todo) > 1:
            if cost is not None:
                todo = dict(sorted(todo.items(), key=lambda kv: -cost(kv[0])))
            for key, value in map_units(fn, todo):
                record(key, value)
        else:
            for key, args in todo.items():
                record(key, run_unit(fn, args))
        return {k: out[k] for k in calls}

    # Partial results of a long claim, so that an interrupted run resumes where it stopped: a JSON
    # dict of finished items in <out_dir>/.partial/<claim id>.json, written atomically after each.
    # Nothing under .partial is ever followed through a symlink; a damaged file is set aside.
    def _partial_path(self) -> Path | None:
        return None if self.out_dir is None or not self.resume_key else Path(self.out_dir) / ".partial" / f"{self.claim_id}.json"

    def load_partial(self) -> dict:
        """The items saved by an interrupted run of the same claim file and code version ({} if none,
        with `resume` off, or if the file is damaged: then it is set aside with a warning)."""
        import json

        from verify.io import is_real_dir, read_regular, set_aside

        path = self._partial_path()
        if path is None or not self.resume:
            return {}
        if not is_real_dir(path.parent):
            if os.path.lexists(path.parent):
                set_aside(path.parent, self.warn, "not a folder (or a symlink)")
            return {}
        if not os.path.lexists(path):
            return {}
        try:
            data = json.loads(read_regular(path).decode("utf-8"))
        except (OSError, ValueError) as e:
            set_aside(path, self.warn, f"unreadable partial results ({getattr(e, 'strerror', None) or e})")
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("items", {}), dict):
            set_aside(path, self.warn, "partial results are not a JSON object of items")
            return {}
        return data.get("items", {}) if data.get("key") == self.resume_key else {}

    def save_partial(self, items: dict) -> None:
        from verify import io as vio

        path = self._partial_path()
        if path is not None:
            try:
                vio.real_dir(path.parent, self.warn)
                vio.atomic_write_json(path, {"key": self.resume_key, "items": items})
            except OSError as e:
                raise vio.WriteError(f"cannot save partial results to {path} ({e.strerror or e})") from e

    def clear_partial(self) -> None:
        from verify.io import is_real_dir

        path = self._partial_path()
        if path is not None and is_real_dir(path.parent):
            try:
                path.unlink(missing_ok=True)  # a symlink there: the link goes, never its target
            except OSError:  # a folder there, or no permission: stale partial results are harmless
                pass

    def save_figure(self, fig, name: str) -> None:
        """Save a matplotlib figure as <claim id>-<name>.png in `fig_dir` (else `out_dir`), atomically.
        A failure to write is a `WriteError` (never a verdict on the claim)."""
        import matplotlib.pyplot as plt

        from verify import io as vio

        try:
            folder = self.fig_dir if self.fig_dir is not None else self.out_dir
            if not (self.make_plots and folder is not None):
                return
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
            fname = f"{self.claim_id}-{name}.png"
            try:
                vio.atomic_write_bytes(Path(folder) / fname, buf.getvalue())
            except OSError as e:
                raise vio.WriteError(f"cannot write figure {fname} ({e.strerror or e})") from e
            self.plots.append(fname)
        finally:
            plt.close(fig)


def worst(values, default=0.0) -> float:
    """The largest of `values` (`default` when there are none). A NaN among them is a failure of the
    measurement, never a pass: plain max() would drop it unless it came first, so it is refused and
    the claim ends in status error with this message."""
    values = [float(v) for v in values]
    if any(v != v for v in values):
        raise ValueError(f"a measured error is NaN ({sum(v != v for v in values)} of {len(values)} values)")
    return max(values) if values else default


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend (reports are written to files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
