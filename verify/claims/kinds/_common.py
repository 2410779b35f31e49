"""Helpers shared by several claim kinds: parameter ranges, activation names, exact decimals, the
target law of the loss kinds and the fixed networks ("configs") of the rate kinds.

Ranges (`Param.lo` / `hi`) say what a value must be to mean anything, and cap what a run may cost:
a claim file outside them is refused when it is loaded (InputError), never run.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from verify.claims.schema import Param
from verify.errors import InputError
from verify.kernels import get_activation, kernel
from verify.model.networks import TargetLaw, TwoLayerNetwork, mu_along_e1
from verify.numbers.decimal import exact_decimal

# ---- ranges shared by the kinds --------------------------------------------------------------

SEED_MAX = 2**32 - 1  # seeds are numpy SeedSequence entropy; kinds add offsets up to ~10^7
RESTARTS_MAX = 100_000  # random starts of one search (the claim files use <= 2000)
DPS_MIN, DPS_MAX = 10, 1000  # mpmath digits: below 10 a comparison with float64 means nothing
DIM_MAX = 100_000  # input dimension d
WIDTH_MAX = 10_000  # neurons M of a compressed network
N_MAX = 10_000_000  # neurons N of a target network
TARGETS_MAX = 100_000  # independent targets per point
SCALE_MAX = 1e6  # ||mu||, s, abar, ratios: positive and finite, and not absurd


def seed(default=0, doc: str = "") -> Param:
    return Param("int", default, doc=doc, lo=0, hi=SEED_MAX)


def dps(default, lo: int = DPS_MIN, doc: str = "") -> Param:
    return Param("int", default, doc=doc, lo=lo, hi=DPS_MAX)


def restarts(default, lo: int = 1) -> Param:
    return Param("int", default, lo=lo, hi=RESTARTS_MAX)


def positive(default=1.0, hi: float = SCALE_MAX, doc: str = "", typ: str = "float") -> Param:
    return Param(typ, default, doc=doc, lo=0, lo_open=True, hi=hi)


def nonnegative(default=0.0, hi: float = SCALE_MAX, doc: str = "", typ: str = "float") -> Param:
    return Param(typ, default, doc=doc, lo=0, hi=hi)


def abar(default=1.0) -> Param:
    """The target's output scale: nonzero and finite (a sign is allowed)."""
    return Param("float", default, lo=-SCALE_MAX, hi=SCALE_MAX, check=_nonzero)


def _nonzero(v) -> None:
    if v == 0:
        raise InputError("must be nonzero")


def check_activation(name) -> None:
    """InputError unless `name` is an activation `verify.kernels.get_activation` knows."""
    get_activation(name)


def activation(default=None) -> Param:
    return Param("str", default, check=check_activation)


def activations(default=None) -> Param:
    return Param("list[str]", default, check=check_activation)


def num(v) -> Fraction:
    """The exact value of a "num" parameter (a TOML number or a decimal string; bounded parsing)."""
    return exact_decimal(v.strip() if isinstance(v, str) else v)


def need(cond: bool, message: str) -> None:
    """For a kind's `check`: InputError(message) unless cond."""
    if not cond:
        raise InputError(message)


# ---- the loss kinds: a target drawn from the law, a compressed network -------------------------

XI = ("gaussian", "rademacher", "uniform", "sparse")

LAW_PARAMS = {
    "activations": activations(),
    "N": Param("int", lo=1, hi=100_000),
    "d": Param("int", lo=1, hi=DIM_MAX),
    "M": Param("int", lo=1, hi=WIDTH_MAX),
    "mu_norm": nonnegative(1.0),
    "s": positive(1.0),
    "abar": abar(1.0),
    "var_a": nonnegative(0.0),
    "xi": Param("str", "gaussian", choices=XI),
    "seeds": Param("list[int]", lo=0, hi=SEED_MAX),
}


def instance(params, act: str, seed: int) -> tuple[TwoLayerNetwork, TwoLayerNetwork]:
    """A target drawn from the law with `seed`, and a compressed network drawn with seed + 10^6:
    b_j ~ N(0, 1/M), v_j ~ mu + N(0, s^2 / d I)."""
    d = params["d"]
    mu = np.zeros(d)
    mu[0] = params["mu_norm"]
    law = TargetLaw(d=d, mu=mu, s=params["s"], abar=params["abar"], var_a=params["var_a"], xi=params["xi"], activation=act)
    target = law.sample(params["N"], seed)
    rng = np.random.default_rng(seed + 10**6)
    M = params["M"]
    b = rng.standard_normal(M) / math.sqrt(M)
    V = mu[None, :] + params["s"] / math.sqrt(d) * rng.standard_normal((M, d))
    return target, TwoLayerNetwork(b, V, act)


# ---- the rate kinds: fixed networks ("configs") across d ---------------------------------------

CONFIG_FIELDS = {
    "name": Param("str"),
    "kind": Param("str", choices=("tilted-etf", "random")),
    "activation": activation("relu"),
    "M": Param("int", lo=1, hi=WIDTH_MAX),
    "mu_norm": nonnegative(1.0),
    "s": positive(1.0),
    "abar": abar(1.0),
    "var_a": nonnegative(0.0),
    "seed": seed(0),
    "k": Param("int", 0, lo=0, hi=DIM_MAX, doc="random configs: directions in the first k coordinates (0: M + 1)"),
}


def check_config(cfg: dict, d_min: int) -> None:
    """A config's own rules, at load: the tilted ETF is a ReLU family (M >= 2 directions); a random
    config's k coordinates fit in the smallest d."""
    where = f"config {cfg['name']}"
    if cfg["kind"] == "tilted-etf":
        need(get_activation(cfg["activation"]).name == "relu", f"{where}: the tilted ETF family is defined for relu")
        need(cfg["M"] >= 2, f"{where}: a tilted ETF needs M >= 2")
    else:
        k = cfg["k"] or cfg["M"] + 1
        need(k <= d_min, f"{where}: k = {k} exceeds the smallest d = {d_min}")


def law_for(cfg: dict, d: int, xi: str = "gaussian", sparsity: float = 0.1) -> TargetLaw:
    """The target law of a config in R^d: mu = mu_norm e_1 and its s, abar, var_a, activation;
    xi (and p of sparse(p)) as given."""
    return TargetLaw(d=d, mu=mu_along_e1(d, cfg["mu_norm"]), s=cfg["s"], abar=cfg["abar"], var_a=cfg["var_a"],
                     xi=xi, sparsity=sparsity, activation=cfg["activation"])


def compressed_for(cfg: dict, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(b, V) of a config in R^d, the same network for every d (it lives in the first k coordinates).

    tilted-etf: the best tilted simplex ETF of L~ (ReLU; `verify.model.etf.best_etf`).
    random: directions mu + s g / sqrt(k), g ~ N(0, I_k) (numpy default_rng(seed)), and the
    output weights that minimize L~ for them (K_VV b = abar c, c_j = k(r^2, ||v_j||^2, <mu, v_j>)).
    """
    M, mun, s, abar = cfg["M"], cfg["mu_norm"], cfg["s"], cfg["abar"]
    mu = mu_along_e1(d, mun)
    if cfg["kind"] == "tilted-etf":
        from verify.model.etf import best_etf, etf_network

        if get_activation(cfg["activation"]).name != "relu":
            raise InputError(f"config {cfg['name']}: the tilted ETF family is defined for relu")
        return etf_network(best_etf(M, mun, s, abar), d, mu)
    k = cfg["k"] or M + 1
    if k > d:
        raise InputError(f"config {cfg['name']}: k = {k} exceeds d = {d}")
    rng = np.random.default_rng(cfg["seed"])
    V = np.zeros((M, d))
    V[:, :k] = mu[:k] + s / math.sqrt(k) * rng.standard_normal((M, k))
    act = get_activation(cfg["activation"])
    q = np.einsum("jd,jd->j", V, V)
    r2 = mun * mun + s * s
    c = kernel(act, r2, q, V @ mu)
    G = V @ V.T
    p = np.sqrt(np.outer(q, q))
    K = kernel(act, q[:, None], q[None, :], np.clip(G, -p, p))
    return np.linalg.solve(K, abar * c), V


def _poly_fit_c1(ds: np.ndarray, y: np.ndarray, order: int) -> float:
    """c_1 of d y = c_1 + c_2 / d + ... + c_order / d^(order - 1), least squares."""
    A = np.column_stack([ds ** (-float(j)) for j in range(order)])
    coef, *_ = np.linalg.lstsq(A, ds * y, rcond=None)
    return float(coef[0])


C1_MIN_POINTS = 3  # c1_estimates needs at least order + 1 = 3 dimensions >= fit_dmin


def c1_estimates(ds, delta, dmin: int) -> dict:
    """The 1/d constant by several fits; their spread is the model uncertainty."""
    ds = np.asarray(ds, dtype=float)
    delta = np.asarray(delta, dtype=float)
    ests = {}
    for order in (2, 3, 4):
        for lo in (dmin, 2 * dmin):
            m = ds >= lo
            if m.sum() >= order + 1:
                ests[f"order {order}, d >= {lo}"] = _poly_fit_c1(ds[m], delta[m], order)
    if not ests:
        raise InputError("meanfield-rate-d needs at least 3 dimensions above fit_dmin")
    main = ests.get(f"order 3, d >= {dmin}", next(iter(ests.values())))
    return {"c1": main, "spread": max(abs(v - main) for v in ests.values()), "fits": ests}


def check_rate_grid(params: dict, kind: str) -> None:
    """The d grid of a rate kind: distinct dimensions, at least C1_MIN_POINTS of them >= fit_dmin."""
    ds = params["ds"]
    need(min(ds) >= 1, "every d must be >= 1")
    need(len(set(ds)) == len(ds), "ds lists a dimension twice")
    above = sum(d >= params["fit_dmin"] for d in ds)
    need(above >= C1_MIN_POINTS, f"{kind} needs at least {C1_MIN_POINTS} dimensions d >= fit_dmin = "
         f"{params['fit_dmin']}, got {above} (an empty or too small grid is no evidence)")


def config_problems(cfg: dict, d: int, refine: int = 1):
    """(b, V, MeanFieldProblem, SimplifiedProblem) of a config in R^d (`refine`: the mean-field rules')."""
    from verify.model.meanfield import mean_field_problem
    from verify.model.simplified import simplified_problem

    b, V = compressed_for(cfg, d)
    mf = mean_field_problem(d, cfg["mu_norm"], cfg["s"], abar=cfg["abar"], var_a=cfg["var_a"], activation=cfg["activation"],
                            refine=refine)
    st = simplified_problem(d, cfg["mu_norm"], cfg["s"], abar=cfg["abar"], activation=cfg["activation"])
    return b, V, mf, st


def meanfield_gap(problems) -> float:
    """L_inf - L~ in float64 for config_problems(...)."""
    b, V, mf, st = problems
    return mf.L_inf(b, V) - float(st.loss(b, V))


def meanfield_gap_mp(problems, dps: int) -> float:
    """L_inf - L~ from the mpmath paths at `dps` digits (L_inf_mp and L~ in mpmath), as a float."""
    b, V, mf, st = problems
    return float(mf.L_inf_mp(b, V, dps=dps) - st.loss_mp(b, V, dps=dps))


def derived_constants(cfg: dict, xi: str = "gaussian", sparsity: float = 0.1, dps: int = 30):
    """The sharp constants (c1, c1_kappa4, tau2_leading; `verify.model.sharp`) of a config's network,
    which lives in the first k coordinates and so has the same constants in every d."""
    from verify.model.sharp import sharp_constants

    d = max(cfg["k"] or cfg["M"] + 1, cfg["M"] + 1)
    b, V = compressed_for(cfg, d)
    return sharp_constants(cfg["activation"], mu_along_e1(d, cfg["mu_norm"]), cfg["s"], b, V, abar=cfg["abar"],
                           var_a=cfg["var_a"], xi=xi, sparsity=sparsity, dps=dps)


def check_sharp_config(cfg: dict, where: str) -> None:
    """A config whose sharp constants exist: closed-form smoothing of sigma (and kernel, for tau2)."""
    from verify.model.sharp import supports

    need(supports(cfg["activation"]), f"{where}: config {cfg['name']}: the sharp constants need a closed-form "
         f"gaussian smoothing of sigma ({cfg['activation']} has none)")
