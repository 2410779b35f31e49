"""Claim kinds: each maps validated parameters to a `Finding`.

A kind declares its parameters (`Param` table, validated by the schema before anything runs), the
tolerance keys its verdict needs, and the figures it reports (the names `[[tracked]]` may use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from verify.claims.schema import Param


@dataclass(frozen=True)
class Kind:
    name: str
    params: dict[str, Param]
    tolerances: tuple[str, ...]
    figures: tuple[str, ...]
    run: Callable
    doc: str = ""


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


# Importing the modules registers their kinds (ordered as the data flows).
from verify.claims.kinds import kernels as _kernels  # noqa: E402,F401
from verify.claims.kinds import loss as _loss  # noqa: E402,F401
from verify.claims.kinds import rates as _rates  # noqa: E402,F401
from verify.claims.kinds import optimization as _optimization  # noqa: E402,F401
from verify.claims.kinds import etf as _etf  # noqa: E402,F401
from verify.claims.kinds import codes as _codes  # noqa: E402,F401
from verify.claims.kinds import beyond as _beyond  # noqa: E402,F401
