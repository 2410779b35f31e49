"""The branch-and-bound loop shared by the rigorous interval checks.

`check_below_relu_kernel` (`verify.certify.interval`), `check_above_tilted_kernel`
(`verify.certify.tilted`), `check_pair_below_kernel` and `check_neuron_condition`
(`verify.certify.pole_check`) all walk a work list of pieces (intervals or boxes) depth first: take
the last piece, bound it in arb, and either finish it or replace it by its parts one level deeper.
They differ only in how a piece is bounded, when it is finished and how it is cut; those are the
callbacks here, and the loop keeps the statistics they report.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DONE", "STOP", "Subdivision", "bisect", "subdivide"]


class _Verdict:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


DONE = _Verdict("DONE")  # `examine`: the piece is finished (certified, given up, or at the depth/budget limit)
STOP = _Verdict("STOP")  # `examine`: end the whole search now (e.g. a violation was proven)


@dataclass(frozen=True)
class Subdivision:
    """Statistics of one `subdivide` run.

    examined: pieces examined (bounded), including the one that stopped the search.
    finished: pieces that ended DONE. max_depth: deepest level examined (the initial pieces are
    level 0). exhausted: the budget of pieces was reached. stopped: `examine` returned STOP.
    """

    examined: int
    finished: int
    max_depth: int
    exhausted: bool
    stopped: bool


def subdivide(pieces, examine, split, *, max_depth: int, budget: int | None = None) -> Subdivision:
    """Depth-first branch and bound over a work list.

    pieces: the initial work list, used as a stack (the LAST piece is examined first), all at level 0.
    examine(piece, depth, last) bounds one piece and returns DONE, STOP, or any other value, the
      hint passed to split; `last` is True when the piece may not be cut any more (depth >= max_depth,
      or `budget` pieces examined counting this one), and examine must then return DONE or STOP.
    split(piece, hint) -> the parts, in push order (the last part is examined next), at depth + 1.
    """
    stack = [(piece, 0) for piece in pieces]
    examined = finished = deepest = 0
    while stack:
        piece, depth = stack.pop()
        examined += 1
        deepest = max(deepest, depth)
        last = depth >= max_depth or (budget is not None and examined >= budget)
        verdict = examine(piece, depth, last)
        if verdict is STOP:
            return Subdivision(examined, finished, deepest, budget is not None and examined >= budget, True)
        if verdict is DONE:
            finished += 1
            continue
        if last:  # pragma: no cover - a defect of the caller's examine
            raise AssertionError("examine must finish a piece that may not be cut")
        stack.extend((part, depth + 1) for part in split(piece, verdict))
    return Subdivision(examined, finished, deepest, budget is not None and examined >= budget, False)


def bisect(piece, hint=None) -> list:
    """`split` for an interval (a, b) of exact rationals: [(mid, b), (a, mid)], so [a, mid] is next."""
    a, b = piece
    mid = (a + b) / 2
    return [(mid, b), (a, mid)]
