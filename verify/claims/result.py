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
