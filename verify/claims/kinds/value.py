r"""Claim kind value (generic; MATH.md sections 2-5): "this quantity, at these inputs, equals this
decimal to within rel_tol", decided at a precision that makes the verdict robust.

Quantities (what the CLI computes):
  kernel     k_sigma(q1, q2, c) (`verify kernel`): an arb enclosure where the activation has a closed
             form (rigorous), else the mpmath quadrature with its error estimate;
  loss       L_N between a target drawn from the law (N, d, mu_norm, s, abar, var_a, xi, seed) and
             the config's compressed network (`verify loss`), every kernel in mpmath;
  L_inf      the mean-field loss (gaussian xi, `verify meanfield`) of the config at d, in mpmath;
  L_tilde    the simplified loss L~ of the config at d, in mpmath;
  S_inf      the mean-field target term S_inf = E_w,w' k(w, w') at d, in mpmath;
  bias-coefficient  D - S_inf (E L_N - L_inf = (D - S_inf)/N; `verify meanfield`), in mpmath, for
             positively homogeneous activations (D is then closed: E[a^2] k(1, 1, 1) E||w||^2k);
  tau2       tau^2 of the config (`verify meanfield`; gaussian xi): a float64 quadrature, so its
             interval is the value at twice the nodes widened by the change from the base rule and
             the rule's interpolation error; rel_tol >= 1e-9 (refused below at load).
The compressed network is a config as in the rate claims (`_common.compressed_for`: the best
tilted ETF, or a seeded random one with its optimal b).

Precision: the mpmath quantities are evaluated at dps and at dps + 20 digits; the interval is the
value at dps + 20 widened by their difference and 10^-dps of the value (a computed error, not a
proof: the method is the verdict's stated assumption). The interval is compared with the band
[p - rel_tol |p|, p + rel_tol |p|] (`_prediction.band_verdict`); an overlap that is not an
inclusion is evaluated again at twice the digits (up to 4 times the starting dps) before it is
called inconclusive, with what would settle it.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath

from verify.claims.kinds import Kind, register
from verify.claims.kinds._common import (
    CONFIG_FIELDS,
    DIM_MAX,
    SEED_MAX,
    XI,
    activation,
    check_config,
    compressed_for,
    dps,
    law_for,
    need,
    num,
)
from verify.claims.kinds._prediction import as_mpf, band_verdict, fmt, relative_band
from verify.claims.result import Context, Finding
from verify.claims.schema import Param
from verify.kernels import get_activation

QUANTITIES = ("kernel", "loss", "L_inf", "L_tilde", "S_inf", "bias-coefficient", "tau2")
FLOAT_QUANTITY_REL_TOL = 1e-9  # the smallest rel_tol a float64 quadrature quantity (tau2) can decide
LOSS_N_MAX = 200  # every kernel of L_N in mpmath: (N + M)^2 / 2 of them
QUADRATURE_SECONDS_MAX = 120.0  # a quadrature-only kernel at the largest digits the verdict may need


def prepare(p: dict) -> dict:
    """What the quantity is evaluated on, built once per claim (the tilted ETF's 40-digit solve, the
    target draw, the problems with their per-precision caches) and reused at every precision."""
    q, cfg = p["quantity"], p.get("config") or None
    if q == "kernel":
        return {}
    d = p["d"]
    out = {}
    if q in ("loss", "L_tilde", "L_inf", "tau2"):
        out["bV"] = compressed_for(cfg, d)
    if q == "loss":
        out["target"] = law_for(cfg, d, p["xi"]).sample(p["N"], p["seed"])
    if q == "L_tilde":
        from verify.model.simplified import simplified_problem

        out["st"] = simplified_problem(d, cfg["mu_norm"], cfg["s"], abar=cfg["abar"], activation=cfg["activation"])
    if q in ("L_inf", "S_inf", "bias-coefficient", "tau2"):
        from verify.model.meanfield import mean_field_problem

        out["mf"] = mean_field_problem(d, cfg["mu_norm"], cfg["s"], abar=cfg["abar"], var_a=cfg["var_a"],
                                       activation=cfg["activation"])
    return out


def _evaluate(p: dict, inputs: dict, digits: int) -> tuple[mpmath.mpf, str]:
    """The quantity at `digits` digits (mpmath) and the method used."""
    q, cfg = p["quantity"], p.get("config") or None
    if q == "kernel":
        from verify.kernels import kernel_mp

        kv = kernel_mp(p["activation"], str(p["q1"]), str(p["q2"]), str(p["c"]), digits)
        return kv.value, kv.method
    if q == "loss":
        from verify.model import loss_mp
        from verify.model.networks import TwoLayerNetwork

        b, V = inputs["bV"]
        return loss_mp(inputs["target"], TwoLayerNetwork(b, V, cfg["activation"]), dps=digits), "mpmath"
    if q == "L_tilde":
        return inputs["st"].loss_mp(*inputs["bV"], dps=digits), "mpmath (closed-form kernels)"
    mf = inputs["mf"]
    if q == "S_inf":
        return mf.S_inf_mp(dps=digits), "mpmath quadrature"
    if q == "bias-coefficient":
        from verify.kernels import kernel_mp

        with mpmath.workdps(digits + 10):
            act = get_activation(cfg["activation"])
            ea2 = as_mpf(num(cfg["abar"])) ** 2 + as_mpf(num(cfg["var_a"]))
            Ew = (as_mpf(num(cfg["mu_norm"])) ** 2 + as_mpf(num(cfg["s"])) ** 2) if act.degree == 1 else 1
            D = ea2 * kernel_mp(act, 1, 1, 1, digits + 10).value * Ew
            return D - mf.S_inf_mp(dps=digits), "closed-form D, mpmath quadrature S_inf"
    return mf.L_inf_mp(*inputs["bV"], dps=digits), "mpmath quadrature"


def measure(p: dict, ctx: Context, digits: int, inputs: dict | None = None) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf, str]:
    """(lo, hi, value, method) of the quantity: rigorous for a closed-form kernel (arb), else the
    value at digits + 20 widened by its difference from the value at `digits` (module docstring).
    `inputs`: from `prepare` (built here when not given)."""
    if inputs is None:
        inputs = prepare(p)
    if p["quantity"] == "kernel":
        from verify.kernels import kernel_arb
        from verify.numbers.precision import ball_bounds

        if get_activation(p["activation"]).k_arb is not None:
            bits = int(digits * 3.33) + 32
            ball = kernel_arb(p["activation"], str(p["q1"]), str(p["q2"]), str(p["c"]), prec=bits)
            lo, hi = ball_bounds(ball, bits)
            with mpmath.workdps(digits + 20):
                return as_mpf(lo), as_mpf(hi), (as_mpf(lo) + as_mpf(hi)) / 2, f"arb enclosure ({bits} bits)"
    if p["quantity"] == "tau2":
        from verify.model.fluctuations import tau2

        mf, (b, V) = inputs["mf"], inputs["bV"]
        t1, t2 = tau2(mf, b, V), tau2(mf, b, V, refine=2)
        err = abs(t2.tau2 - t1.tau2) + t2.interpolation_error + 4 * 2.0**-52 * abs(t2.tau2)
        with mpmath.workdps(digits + 20):
            v = mpmath.mpf(t2.tau2)
            return v - err, v + err, v, f"float64 quadrature ({t2.nodes} nodes), base vs twice the nodes"
    ctx.progress(f"{p['quantity']} at {digits} and {digits + 20} digits")
    v1, method = _evaluate(p, inputs, digits)
    v2, _ = _evaluate(p, inputs, digits + 20)
    with mpmath.workdps(digits + 20):
        err = abs(v2 - v1) + abs(v2) * mpmath.mpf(10) ** -digits
        return v2 - err, v2 + err, v2, f"{method}, {digits} vs {digits + 20} digits"


def decide(lo, hi, band: tuple[Fraction, Fraction]) -> str:
    with mpmath.workdps(60):
        return band_verdict(lo, hi, as_mpf(band[0]), as_mpf(band[1]))


def render(p: dict, pred: dict, band, lo, hi, value, method: str, digits: int, status: str) -> Finding:
    with mpmath.workdps(max(60, digits + 20)):
        return _render(p, pred, band, lo, hi, value, method, digits, status)


def _render(p: dict, pred: dict, band, lo, hi, value, method: str, digits: int, status: str) -> Finding:
    n = min(digits + 5, 60)  # digits shown: enough to see a band of width rel_tol
    P = as_mpf(num(pred["value"]))
    rel = float(abs(value - P) / abs(P)) if P != 0 else float(abs(value))
    what = p["quantity"] + (f" {p['activation']}({p['q1']}, {p['q2']}, {p['c']})" if p["quantity"] == "kernel" else
                            f" of config {p['config']['name']} at d = {p['d']}")
    interval = f"[{fmt(lo, n)}, {fmt(hi, n)}]"
    band_s = f"[{fmt(band[0], n)}, {fmt(band[1], n)}]"
    if status == "verified":
        summary = f"{what} = {fmt(value, n)}: its interval {interval} lies in the predicted band {band_s}"
    elif status == "refuted":
        summary = f"{what} = {fmt(value, n)}: its interval {interval} excludes the predicted band {band_s} (relative difference {rel:.3g})"
    else:
        summary = (f"{what}: the interval {interval} overlaps the edge of the band {band_s} at {digits} digits; "
                   f"a tighter evaluation (more digits, or a rigorous enclosure) would settle it")
    return Finding(
        status=status,
        summary=summary,
        figures={"value": float(value), "relative_difference": rel, "interval_width": float(hi - lo)},
        key_figure="relative_difference",
        columns=["quantity", "predicted", "rel_tol", "computed", "interval", "method"],
        rows=[[what, str(pred["value"]), f"{pred['rel_tol']:g}", fmt(value, n), interval, method]],
        seeds=[p["seed"]] if p["quantity"] == "loss" else [],
        precision={"mpmath_dps": digits},
        notes=[f"Method: {method}. Band: the predicted value +- rel_tol of its magnitude, exactly."],
    )


def run(claim, ctx: Context) -> Finding:
    p, pred = claim.parameters, claim.prediction
    band = relative_band(num(pred["value"]), pred["rel_tol"])
    digits = p["dps"]
    inputs = prepare(p)
    while True:
        lo, hi, value, method = measure(p, ctx, digits, inputs)
        status = decide(lo, hi, band)
        if status != "inconclusive" or digits >= 4 * p["dps"]:
            break
        digits *= 2
    return render(p, pred, band, lo, hi, value, method, digits, status)


def check(p: dict) -> None:
    q = p["quantity"]
    if q == "kernel":
        for key in ("q1", "q2", "c"):
            need(p[key] not in ("", None), f"quantity kernel needs {key}")
        q1, q2, c = (num(p[k]) for k in ("q1", "q2", "c"))
        need(q1 >= 0 and q2 >= 0, "q1 and q2 must be >= 0")
        need(c * c <= q1 * q2, "|c| must not exceed sqrt(q1 q2) (Cauchy-Schwarz)")
        act = get_activation(p["activation"])
        if act.k_mp is None:  # quadrature only: its cost grows with q and the digits
            from verify.kernels.quadrature import quadrature_cost

            n, seconds = quadrature_cost(act, q1, q2, 4 * p["dps"] + 20)
            need(seconds <= QUADRATURE_SECONDS_MAX,
                 f"{act.label} has no closed form: its quadrature at up to {4 * p['dps'] + 20} digits would take about "
                 f"{seconds:.3g} s (limit {QUADRATURE_SECONDS_MAX:g} s); lower dps or q")
        return
    need(bool(p["config"]), f"quantity {q} needs a [parameters.config] table (the compressed network)")
    need(p["d"] >= 1, f"quantity {q} needs d >= 1")
    check_config(p["config"], p["d"])
    if q == "loss":
        need(p["N"] >= 1, "quantity loss needs N >= 1")
        need(p["N"] <= LOSS_N_MAX, f"quantity loss evaluates every kernel in mpmath: N <= {LOSS_N_MAX}")
    if q in ("L_inf", "S_inf", "bias-coefficient", "tau2"):
        need(p["xi"] == "gaussian", f"{q} is computed for gaussian xi")
    if q == "bias-coefficient":
        need(get_activation(p["config"]["activation"]).degree in (0, 1),
             "bias-coefficient is computed in mpmath for positively homogeneous activations (relu, leaky_relu, abs, step, sign)")
    if q == "tau2":
        need(get_activation(p["config"]["activation"]).k64 is not None, "tau2 needs a closed-form kernel")


def check_prediction(p: dict, pred: dict) -> None:
    need(pred.get("value") is not None, "needs value (a decimal string)")
    need(num(pred["value"]) != 0 or pred["rel_tol"] == 0,
         "a relative tolerance around 0 is empty: predict a nonzero value")
    need(pred["rel_tol"] > 0, "rel_tol must be > 0 (an exact equality is not decidable numerically)")
    if p["quantity"] == "tau2":
        need(pred["rel_tol"] >= FLOAT_QUANTITY_REL_TOL,
             f"tau2 is a float64 quadrature: rel_tol >= {FLOAT_QUANTITY_REL_TOL:g} (below that it cannot be decided)")
    need(pred["rel_tol"] >= Fraction(10) ** -(4 * p["dps"] - 5),
         f"rel_tol below 1e-{4 * p['dps'] - 5} cannot be resolved at up to {4 * p['dps']} digits; raise dps")


register(Kind(
    name="value",
    params={
        "quantity": Param("str", choices=QUANTITIES, doc="what is predicted"),
        "activation": activation("relu"),
        "q1": Param("num", "", lo=0, hi=1e300, doc="kernel: ||u||^2 (a decimal string is read exactly)"),
        "q2": Param("num", "", lo=0, hi=1e300, doc="kernel: ||v||^2"),
        "c": Param("num", "", lo=-1e300, hi=1e300, doc="kernel: <u, v>"),
        "d": Param("int", 0, lo=0, hi=DIM_MAX, doc="input dimension (loss, L_inf, L_tilde, S_inf)"),
        "N": Param("int", 0, lo=0, hi=LOSS_N_MAX, doc="loss: target width"),
        "xi": Param("str", "gaussian", choices=XI),
        "seed": Param("int", 0, lo=0, hi=SEED_MAX, doc="loss: the target's seed"),
        "config": Param("table", {}, fields=CONFIG_FIELDS, doc="the compressed network (loss, L_inf, L_tilde)"),
        "dps": dps(30, lo=20, doc="starting digits (doubled, up to 4x, while the verdict is undecided)"),
    },
    tolerances=(),
    figures=("value", "relative_difference", "interval_width"),
    run=run,
    check=check,
    prediction={"value": Param("num", lo=-1e300, hi=1e300, doc="the predicted value (a decimal string is read exactly)"),
                "rel_tol": Param("float", lo=0, hi=1.0, doc="relative tolerance of the prediction")},
    check_prediction=check_prediction,
))
