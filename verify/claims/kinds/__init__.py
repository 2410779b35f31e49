"""Claim kinds: each maps validated parameters to a `Finding`.

A kind declares its parameters (`Param` table with types and ranges, validated by the schema before
anything runs), an optional `check(params)` for rules across parameters (M_min <= M_max, a non-empty
grid; InputError at load), the tolerance keys its verdict needs, and the figures it reports (the names
`[[tracked]]` may use).

One module per kind, named after it (`mu0-simplex-certified` -> `mu0_simplex_certified.py`); helpers
that several kinds use live in `_common.py`. Each module splits its check in three: an experiment
(`measure`: computes, returns a record of measured values), a verdict (`decide`: pure, from the
record's values and the tolerances) and a rendering (`render`: summary, table, notes and plots).
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
    check: Callable | None = None  # check(params): InputError for rules across parameters, run at load
    # Generic kinds: the [prediction] table's fields, and check_prediction(params, prediction):
    # InputError, at load, for a prediction the kind cannot decide.
    prediction: dict[str, Param] | None = None
    check_prediction: Callable | None = None


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


# Importing the modules registers their kinds (ordered as the data flows).
from verify.claims.kinds import kernel_vs_quadrature as _kernel_vs_quadrature  # noqa: E402,F401
from verify.claims.kinds import hermite_series as _hermite_series  # noqa: E402,F401
from verify.claims.kinds import symbolic_identity as _symbolic_identity  # noqa: E402,F401
from verify.claims.kinds import loss_vs_monte_carlo as _loss_vs_monte_carlo  # noqa: E402,F401
from verify.claims.kinds import loss_vs_mpmath as _loss_vs_mpmath  # noqa: E402,F401
from verify.claims.kinds import meanfield_rate_d as _meanfield_rate_d  # noqa: E402,F401
from verify.claims.kinds import tau2_rate_d as _tau2_rate_d  # noqa: E402,F401
from verify.claims.kinds import sharp_constant_meanfield as _sharp_constant_meanfield  # noqa: E402,F401
from verify.claims.kinds import sharp_constant_tau2 as _sharp_constant_tau2  # noqa: E402,F401
from verify.claims.kinds import sharp_constant_universality as _sharp_constant_universality  # noqa: E402,F401
from verify.claims.kinds import finite_n_rate as _finite_n_rate  # noqa: E402,F401
from verify.claims.kinds import optimization_gap as _optimization_gap  # noqa: E402,F401
from verify.claims.kinds import mu0_simplex_certified as _mu0_simplex_certified  # noqa: E402,F401
from verify.claims.kinds import etf_grid as _etf_grid  # noqa: E402,F401
from verify.claims.kinds import etf_certified as _etf_certified  # noqa: E402,F401
from verify.claims.kinds import beyond_simplex_table as _beyond_simplex_table  # noqa: E402,F401
from verify.claims.kinds import etf_beyond_relu as _etf_beyond_relu  # noqa: E402,F401
from verify.claims.kinds import value as _value  # noqa: E402,F401
from verify.claims.kinds import rate as _rate  # noqa: E402,F401
from verify.claims.kinds import optimum as _optimum  # noqa: E402,F401
