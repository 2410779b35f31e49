"""`CertifiedBound`: the one result type of every certified lower bound on min L~.

Each bound keeps its own detailed record (`delsarte.Mu0Certificate` at mu = 0, for the tangent
line, the LP and the sign-free bound; `tilted.TiltedBound` and `pole.PoleBound` for mu != 0), and
each record gives the common view through `.as_certified_bound()`. Callers that only need "what is
the bound, is it proven, under which assumptions, how far from the reference" read this type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from verify.certify._common import Verification

__all__ = ["CertifiedBound"]


@dataclass(frozen=True)
class CertifiedBound:
    """A lower bound on min L~ over a class of networks, with what it rests on.

    value: the certified lower bound, an exact rational (the bound's exact value where the method has
      one, as at mu = 0; else the lower end of its ball as the outward-rounded decimal of `ball`);
      None when certified is False.
    value_hi: an upper end of the ball of the bound's formula (exact rational; None when not
      certified). value <= value_hi.
    ball: (lo, hi) decimal strings rounded outward, for display and JSON; when not certified, the
      float suggestion of the failed attempt, twice (not a bound).
    value64: a float of value (rounded down where the method rounds it so), or of the suggestion.
    gap: a rigorous upper bound of reference - value (float rounded up), None when unknown;
      relative_gap: gap / reference. The reference is the best tilted ETF's loss (mu != 0) or the
      simplex loss (mu = 0), when that configuration exists in R^d.
    certified: value is a proven lower bound of min L~ under `assumptions`.
    assumptions: the conditions on the networks under which the bound holds (empty tuple: none).
    method: e.g. "tangent-line", "lp-degree-16", "signfree-degree-16", "tilted-delsarte-degree-32",
      "pole-two-point-n4-k2".
    verification: the `Verification` record of the rigorous check (None when none was run, e.g.
      abar = 0 or a failed certification).
    details: method-specific data (the source record's status, exact certificate data, statistics).
    """

    value: Fraction | None
    value_hi: Fraction | None
    ball: tuple[str, str]
    value64: float
    gap: float | None
    relative_gap: float | None
    certified: bool
    assumptions: tuple[str, ...]
    method: str
    verification: Verification | None
    details: dict = field(default_factory=dict, compare=False)
