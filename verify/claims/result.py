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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

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
    """Where a checker may write figures, and how it reports progress."""

    claim_id: str
    out_dir: Path | None = None
    make_plots: bool = True
    progress: Callable[[str], None] = lambda msg: None
    plots: list[str] = field(default_factory=list)
    resume_key: str = ""  # claim SHA-256 and code version: partial results of another key are ignored

    # Partial results of a long claim, so that an interrupted run resumes where it stopped: a JSON
    # dict of finished items in <out_dir>/.partial/<claim id>.json, written atomically after each.
    def _partial_path(self) -> Path | None:
        return None if self.out_dir is None or not self.resume_key else Path(self.out_dir) / ".partial" / f"{self.claim_id}.json"

    def load_partial(self) -> dict:
        """The items saved by an interrupted run of the same claim file and code version ({} if none)."""
        import json

        path = self._partial_path()
        try:
            data = json.loads(path.read_text()) if path is not None else {}
        except (OSError, ValueError):
            return {}
        return data.get("items", {}) if data.get("key") == self.resume_key else {}

    def save_partial(self, items: dict) -> None:
        from verify.io import atomic_write_json

        path = self._partial_path()
        if path is not None:
            atomic_write_json(path, {"key": self.resume_key, "items": items})

    def clear_partial(self) -> None:
        path = self._partial_path()
        if path is not None:
            path.unlink(missing_ok=True)

    def save_figure(self, fig, name: str) -> None:
        """Save a matplotlib figure as <out_dir>/<claim id>-<name>.png, atomically."""
        import matplotlib.pyplot as plt

        from verify.io import atomic_write_bytes

        try:
            if not (self.make_plots and self.out_dir is not None):
                return
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
            fname = f"{self.claim_id}-{name}.png"
            atomic_write_bytes(Path(self.out_dir) / fname, buf.getvalue())
            self.plots.append(fname)
        finally:
            plt.close(fig)


def worst(values, default=0.0) -> float:
    values = [float(v) for v in values]
    return max(values) if values else default


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend (reports are written to files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
