"""The `verify` command: parses arguments, calls the library, prints JSON (sorted keys) or tables.

No science lives here. Bad input is one line on stderr and exit code 2; `verify check` exits 1
when a claim moved; anything else unexpected is one line and exit code 1 (set VERIFY_DEBUG=1 for
the traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from fractions import Fraction
from pathlib import Path

from verify.errors import InputError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage dump becomes our one-line error
        raise InputError(f"{self.prog}: {message}")


def _print_json(obj) -> None:
    # Always valid JSON: a NaN or inf float (e.g. the relative gap of a bound that did not
    # certify) is written as null, never as the invalid tokens NaN / Infinity.
    print(json.dumps(_finite_or_none(obj), sort_keys=True, indent=2, allow_nan=False))


def _finite_or_none(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    return obj


# Typed command-line values: plain ASCII decimals only ('1_0', non-ASCII digits, inf and nan are
# refused), read exactly by `verify.numbers.decimal` (bounded digits and exponent: never a
# Fraction or int built from a 100-million-digit string), each checked against a documented range.


def _int_arg(name: str, lo: int, hi: int):
    def parse(text: str) -> int:
        from verify.numbers.decimal import parse_int

        try:
            return parse_int(text, name, lo, hi)
        except InputError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = "int"
    return parse


def _float_arg(name: str, lo=None, hi=None, *, lo_open: bool = False):
    """A float option read exactly and checked in exact arithmetic against [lo, hi] (or (lo, hi])."""

    def parse(text: str) -> float:
        from verify.numbers.decimal import bounded_decimal

        try:
            return float(bounded_decimal(text, name, lo, hi, lo_open=lo_open))
        except InputError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = "float"
    return parse


def _decimal_arg(name: str):
    """A decimal string kept as given (it is echoed in the output), validated by parse_decimal."""

    def parse(text: str) -> str:
        from verify.numbers.decimal import parse_decimal

        try:
            parse_decimal(text, name)
        except InputError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return text

    parse.__name__ = "decimal"
    return parse


# Documented ranges of the model options (help texts and errors quote them). Beyond them the
# float64 losses overflow (mu_norm = 1e308 squares to inf) long before the science changes.
MU_NORM_MAX = 1e4
S_RANGE = (Fraction(1, 10**4), 10**4)  # exact: "1e-4" itself is accepted
ABAR_MAX = 1e6
VAR_A_MAX = 1e6


# --------------------------------------------------------------------------------------------


def _select(claims, profile: str, named: bool) -> list:
    """The claims a run checks: the quick ones, and the full ones too with --profile full. A file
    named on the command line whose claims are all full-profile is run as named."""

    def wanted(c) -> bool:
        return profile == "full" or c.profile == "quick"

    if not named:
        return [c for c in claims if wanted(c)]
    files_with_a_match = {c.path for c in claims if wanted(c)}
    return [c for c in claims if wanted(c) or c.path not in files_with_a_match]


def cmd_run(args) -> int:
    from verify.io import WriteError
    from verify.reports.runner import run_claims
    from verify.claims.schema import load_all

    claims = _select(load_all(args.paths), args.profile, bool(args.paths))
    if not claims:
        raise InputError("no claims to run: the selection is empty"
                         + ("" if args.paths else f" for profile {args.profile!r}"))
    try:
        reports = run_claims(claims, args.out, reuse=not args.no_cache, profile=args.profile, workers=_workers(args),
                             scheduler=args.scheduler)
    except WriteError as e:  # a full disk or a permission: not the claims' fault, and nothing good is lost
        print(f"verify: error: {e}", file=sys.stderr)
        return 1
    summary = [{"id": r["id"], "status": r["status"], "expected_status": r["expected_status"],
                "key_figure": {r["key_figure"]: r["figures"][r["key_figure"]]}} for r in reports]
    if args.json:
        _print_json({"out": str(args.out), "claims": summary})
    else:
        print(f"wrote {len(reports)} reports to {args.out}/ (index: {Path(args.out) / 'index.md'})")
    errors = [r["id"] for r in reports if r["status"] == "error"]
    if errors:  # the checker of these claims failed (its report says why): not a verdict, and not a success
        print(f"verify: {len(errors)} claim(s) ended in error: {', '.join(errors)}", file=sys.stderr)
        return 1
    return 0


def cmd_check(args) -> int:
    from verify.reports.runner import compare, run_claims
    from verify.claims.schema import load_all

    given = load_all(args.paths)
    claims = [c for c in given if c.profile == "quick"]
    if not claims:
        raise InputError(f"nothing to check: {'no claim files found' if not given else 'only full-profile claims given'}"
                         " (verify check runs quick claims; use verify run --profile full for the others)")
    junit = _junit_path(args.junit) if args.junit is not None else None
    reports = run_claims(claims, Path(args.out or "."), reuse=False, make_plots=False, write=False, workers=_workers(args),
                         scheduler=args.scheduler)
    moved = compare(claims, reports)
    if junit is not None:
        from verify.reports.junit import write_junit

        write_junit(junit, claims, reports, moved)
    width = max(len(c.id) for c in claims)
    print(f"{'claim':<{width}}  {'expected':<12}  {'status':<12}  key figure")
    for c, r in zip(claims, reports):
        k = r["key_figure"]
        print(f"{c.id:<{width}}  {c.expected_status:<12}  {r['status']:<12}  {k} = {r['figures'][k]:.4g}")
    if moved:
        print(f"\n{len(moved)} moved:")
        for m in moved:
            print(f"  {m['claim']}: {m['what']} expected {m['expected']}, got {m['got']} {m['detail']}".rstrip())
        return 1
    print(f"\nall {len(claims)} quick claims hold their expected status and tracked bands")
    return 0


WORKERS_MAX = 1024


def _scheduler_arg(text: str) -> str:
    """--scheduler ADDRESS: a dask scheduler address such as tcp://HOST:PORT."""
    if not re.fullmatch(r"(tcp|tls|inproc|ucx)://[^\s/]+(:\d{1,5})?", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a dask scheduler address (tcp://HOST:PORT)")
    return text.strip()


def default_workers() -> int:
    """The local cluster's size when --workers is not given: $VERIFY_WORKERS if set, else the cores
    this process may use (1 means no dask: one task after another in this process)."""
    env = os.environ.get("VERIFY_WORKERS")
    if env is not None and env.strip():
        if not re.fullmatch(r"\s*\d{1,4}\s*", env) or not 1 <= int(env) <= WORKERS_MAX:
            raise InputError(f"VERIFY_WORKERS must be an integer in [1, {WORKERS_MAX}], got {env!r}")
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _workers(args) -> int:
    return args.workers if args.workers is not None else default_workers()


def _parallel_args(sub) -> None:
    sub.add_argument("--workers", type=_int_arg("--workers", 1, WORKERS_MAX), default=None,
                     help="the work runs as tasks on a local dask cluster of this many processes, one thread each "
                          "(default: $VERIFY_WORKERS, else the cores; 1: one task after another in this process, "
                          "no dask); results do not depend on it")
    sub.add_argument("--scheduler", type=_scheduler_arg, metavar="ADDRESS",
                     help="run the claims on an existing dask cluster (tcp://HOST:PORT) instead")


def _junit_path(value: str) -> Path:
    """--junit FILE, checked before the claims run: a file path whose folder exists and is writable."""
    path = Path(value)
    if not value.strip():
        raise InputError("--junit must name a file (got an empty path)")
    if path.is_dir():
        raise InputError(f"--junit {value}: is a folder; name the XML file to write")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"--junit {value}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"--junit {value}: folder {parent} is not writable")
    return path


def cmd_report(args) -> int:
    from verify.reports.html import write_html

    written = write_html(args.reports, args.html)
    print(f"wrote {len(written)} files to {args.html}/ (open {Path(args.html) / 'index.html'})")
    return 0


def _parse_params(items) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"--param expects NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 1e6 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 3600:.1e} hours"


# Precision caps of `verify kernel`. Closed forms cost milliseconds up to 1000 digits (relu, erf,
# hermite(n=10) at dps 1000..4000: 2-40 ms); above ~4280 digits the decimal output exceeds
# Python's int-to-str limit. Quadrature (tanh, sigmoid, softplus, silu: the mpmath trapezoidal
# rule on n x n nodes, n growing with dps and with sqrt(q)) costs about 33 us per node pair at
# dps <= 40 and 60 us at dps 80 on the reference machine (tanh q = 1: dps 20, 187^2 nodes, 1.2 s;
# dps 40, 391^2, 5 s; dps 80, 923^2, 51 s; q = 10, dps 20, 579^2, 9 s); the estimate below
# refuses what would exceed QUAD_SECONDS_MAX.
DPS_MAX = 1000
QUAD_SECONDS_MAX = 30.0


def cmd_kernel(args) -> int:
    import mpmath

    from verify.kernels import get_activation, kernel_arb, kernel_mp
    from verify.kernels.quadrature import quadrature_cost
    from verify.numbers.decimal import decimal_string, directed_decimal, parse_decimal
    from verify.numbers.precision import ball_bounds, mpf_to_fraction

    act = get_activation(args.activation, **_parse_params(args.param))
    # Exact values, passed on as short exact literals ("1e-3"): the library's own string reading
    # then costs nothing whatever digits the user typed.
    q1, q2, c = (parse_decimal(v, f"--{n}") for v, n in ((args.q1, "q1"), (args.q2, "q2"), (args.c, "c")))
    if act.k_mp is None and q1 >= 0 and q2 >= 0:
        n, seconds = quadrature_cost(act, q1, q2, args.dps)
        if seconds > QUAD_SECONDS_MAX:
            raise InputError(
                f"{act.label} has no closed form: its quadrature at dps = {args.dps}, q1 = {args.q1.strip()[:20]}, "
                f"q2 = {args.q2.strip()[:20]} needs {n if n < 10**6 else format(float(n), '.1e')}^2 = {float(n) * n:.2g} node pairs, about {_duration(seconds)} "
                f"(limit {QUAD_SECONDS_MAX:g} s: about dps <= 40 at q <= 1, dps <= 20 at q <= 10); lower --dps or q1, q2")
    q1s, q2s, cs = (decimal_string(v) for v in (q1, q2, c))
    kv = kernel_mp(act, q1s, q2s, cs, args.dps)
    enclosure = None
    if act.k_arb is not None:
        # Raise the ball precision (up to 8x) until the enclosure resolves the requested digits:
        # cancellation in a closed form (e.g. gelu near rho = -1 at large q) widens the ball.
        bits = int(args.dps * 3.33) + 32
        while True:
            ball = kernel_arb(act, q1s, q2s, cs, prec=bits)
            if bits >= 8 * (int(args.dps * 3.33) + 32) or ball.rad() <= abs(ball.mid()) * 10.0 ** -(args.dps + 1):
                break
            bits *= 2
        lo, hi = ball_bounds(ball, bits)
        v = mpf_to_fraction(kv.value)  # rounded to dps digits: within 10^(1 - dps) of the true value
        slack = abs(v) / 10 ** (args.dps - 1)
        if not lo - slack <= v <= hi + slack:
            raise RuntimeError(f"{act.label}: the closed-form value lies outside its own arb enclosure")
        enclosure = [directed_decimal(lo, args.dps + 2, up=False), directed_decimal(hi, args.dps + 2, up=True)]
    with mpmath.workdps(args.dps):
        value = mpmath.nstr(kv.value, args.dps, strip_zeros=False)
    out = {"activation": act.label, "q1": args.q1, "q2": args.q2, "c": args.c, "dps": args.dps,
           "value": value, "method": kv.method, "enclosure": enclosure}
    _print_json(out)
    return 0


# `verify loss` evaluates N^2/2 + N M + M^2/2 kernel values (the O(N^2) target term blocked):
# about 120 ns per pair for relu at d = 16 on the reference machine (N = 4000: 0.95 s).
LOSS_PAIRS_MAX = 5e9  # about 10 minutes
LOSS_SECONDS_MAX = 600.0
# The target file holds the raw output weights a_i; the command divides by N itself.
TARGET_CONVENTION = "f_N(x) = (1/N) sum_i a_i sigma(<w_i, x>), a and W as stored in the target file (a not divided by N)"
LOSS_PROGRESS_AFTER = 10.0  # seconds of estimated work above which progress lines are shown


def _progress_printer(what: str):
    """A progress(fraction) callback printing a line on stderr at each further tenth done."""
    shown = [0]

    def progress(fraction: float) -> None:
        tenth = int(fraction * 10)
        if tenth > shown[0]:
            shown[0] = tenth
            print(f"{what} {10 * tenth}% done", file=sys.stderr, flush=True)

    return progress


def cmd_loss_law(args) -> int:
    """verify loss --target-law: the exact L_N of a target drawn chunk by chunk from its law and seed."""
    import time

    from verify.io import load_npz_arrays
    from verify.model.blocked import block_calls, block_term, check_network, evaluate, law_target, reduce

    for flag in ("N", "d", "seed"):
        if getattr(args, flag) is None:
            raise InputError(f"--target-law needs --{flag}")
    target = law_target(args.target_law, args.N, args.d, args.seed, mu_norm=args.mu_norm, s=args.s, abar=args.abar,
                        var_a=args.var_a, sparsity=args.sparsity, activation=args.activation, chunk=args.chunk)
    b, V = load_npz_arrays(args.compressed, ("b", "V"), "compressed")
    b, V = check_network(target, b, V)
    t0 = time.perf_counter()
    workers = _workers(args)
    if (workers == 1 or target.chunks == 1) and args.scheduler is None:
        res = evaluate(target, b, V, progress=_progress_printer("verify loss: blocks"))
    else:
        from verify.reports.parallel import run_calls

        calls = block_calls(target, b, V)
        parts = run_calls(block_term, calls, workers=workers, scheduler=args.scheduler,
                          progress=lambda line: print(f"verify loss: {line}", file=sys.stderr, flush=True))
        res = reduce(list(parts.values()), target, b, V)
    law = target.law
    _print_json({"loss": res.loss, "N": args.N, "M": int(b.shape[0]), "d": args.d, "activation": law.activation.label,
                 "method": "exact-kernel-float64-blocked (upper-triangular chunk blocks, math.fsum reduction)",
                 "target": {"law": args.target_law, "seed": args.seed, "mu_norm": args.mu_norm, "s": args.s,
                            "abar": args.abar, "var_a": args.var_a,
                            **({"sparsity": args.sparsity} if args.target_law == "sparse" else {}),
                            "chunk": target.chunk,
                            "rows": "chunk c (rows c*chunk ..) drawn with numpy default_rng([seed, c]): w = mu + (s / sqrt d) xi, "
                                    "a = abar + sqrt(var_a) z"},
                 "terms": {"target": res.target_term, "cross": res.cross_term, "compressed": res.compressed_term},
                 "blocks": res.blocks, "seconds": time.perf_counter() - t0,
                 "workers": args.scheduler or (1 if target.chunks == 1 else workers), "target_convention": TARGET_CONVENTION})
    return 0


def cmd_loss(args) -> int:
    import numpy as np

    if (args.target is None) == (args.target_law is None):
        raise InputError("give exactly one of --target FILE and --target-law LAW")
    if args.target_law is not None:
        return cmd_loss_law(args)
    for flag, default in (("N", None), ("d", None), ("seed", None), ("workers", None), ("scheduler", None)):
        if getattr(args, flag) != default:
            raise InputError(f"--{flag} applies to --target-law only")

    from verify.io import load_npz_arrays
    from verify.kernels import row_norms_sq
    from verify.kernels.quadrature import QUAD64_NODES_MAX, QUAD64_SECONDS_PER_NODE_PAIR, float64_nodes
    from verify.model.finite import loss_finite
    from verify.model.networks import TwoLayerNetwork

    a, W = load_npz_arrays(args.target, ("a", "W"), "target")
    b, V = load_npz_arrays(args.compressed, ("b", "V"), "compressed")
    if W.shape[1] != V.shape[1]:
        raise InputError(f"input dimensions differ: target W has d = {W.shape[1]}, compressed V has d = {V.shape[1]}")
    N, M, d = a.shape[0], b.shape[0], W.shape[1]
    pairs = N * N / 2 + N * M + M * M / 2
    if pairs > LOSS_PAIRS_MAX:
        raise InputError(f"N = {N}, M = {M}: the exact loss needs {pairs:.2g} kernel evaluations, about "
                         f"{_duration(pairs * (100 + 2 * d) * 1e-9)}; limit {LOSS_PAIRS_MAX:.0e} (N up to about 1e5)")
    target = TwoLayerNetwork(a, W, args.activation, scale=1.0 / a.shape[0])
    comp = TwoLayerNetwork(b, V, args.activation)
    act = target.activation
    seconds = pairs * (100 + 2 * d) * 1e-9
    if act.k64 is None:  # quadrature: n^2 node pairs per kernel value, n growing like sqrt(||w||^2)
        with np.errstate(over="ignore"):
            q_max = float(max(np.max(row_norms_sq(W), initial=0.0), np.max(row_norms_sq(V), initial=0.0)))
        if not math.isfinite(q_max):
            raise InputError(f"the squared norms of the input weights overflow float64 and {act.label} has no closed form")
        n = float64_nodes(act, q_max)
        seconds = pairs * (n * n * QUAD64_SECONDS_PER_NODE_PAIR + 2 * d * 1e-9)
        if n > QUAD64_NODES_MAX or seconds > LOSS_SECONDS_MAX:
            raise InputError(f"{act.label} has no closed form: its float64 quadrature at ||w||^2 up to {q_max:.3g} needs "
                             f"{n:.3g} nodes per axis, about {_duration(seconds)} for {pairs:.3g} kernel values "
                             f"(limit {_duration(LOSS_SECONDS_MAX)}); smaller input weights or fewer neurons")
    value = loss_finite(target, comp, progress=_progress_printer("verify loss: target term") if seconds > LOSS_PROGRESS_AFTER else None)
    as_float = value.as_float()
    _print_json({"loss": as_float if as_float is not None else value.decimal(17),
                 "N": int(a.shape[0]), "M": int(b.shape[0]), "d": int(W.shape[1]),
                 "activation": act.label, "method": "exact-kernel-float64",
                 "target_convention": TARGET_CONVENTION})
    return 0


def cmd_meanfield(args) -> int:

    from verify.io import load_npz_arrays
    from verify.model.fluctuations import tau2
    from verify.model.meanfield import mean_field_problem
    from verify.model.networks import mu_along_e1
    from verify.model.sharp import sharp_constants, supports
    from verify.model.simplified import simplified_problem

    for name in ("mu_norm", "s", "abar", "var_a"):
        v = getattr(args, name)
        if not math.isfinite(v):
            raise InputError(f"--{name.replace('_', '-')} must be finite")
    xi, sparsity = args.xi
    b, V = load_npz_arrays(args.compressed, ("b", "V"), "compressed")
    if V.shape[1] != args.d:
        raise InputError(f"{args.compressed}: V has width {V.shape[1]} but --d is {args.d}")
    out = {"xi": xi if xi != "sparse" else f"sparse({sparsity:g})", "d": args.d}
    if xi == "gaussian":
        problem = mean_field_problem(args.d, args.mu_norm, args.s, abar=args.abar, var_a=args.var_a, activation=args.activation)
        L_inf = problem.L_inf(b, V)
        t2 = tau2(problem, b, V)
        out.update({"L_inf": f"{L_inf:.15g}", "bias_coefficient": problem.bias_coefficient(), "tau2": t2.tau2})
        method = (f"gaussian xi; L_inf by float64 quadrature ({problem.route} route); L_tilde closed form; "
                  f"tau2 by Gauss-Hermite x chi-square rules ({t2.nodes} nodes, C_inf interpolation error {t2.interpolation_error:.1e})")
    else:
        out.update({"L_inf": None, "bias_coefficient": None, "tau2": None})
        method = (f"xi = {out['xi']}: L_inf, the bias and tau2 at finite d have no low-dimensional form for this law "
                  "(MATH.md section 4; estimate them with the finite-n-rate claims); L_tilde closed form")
    simple = simplified_problem(args.d, args.mu_norm, args.s, abar=args.abar, activation=args.activation)
    out["L_tilde"] = f"{float(simple.loss(b, V)):.15g}"
    if supports(args.activation):
        sc = sharp_constants(args.activation, mu_along_e1(args.d, args.mu_norm), args.s, b, V, abar=args.abar,
                             var_a=args.var_a, xi=xi, sparsity=sparsity, dps=args.dps)
        out.update({
            "c1": _mp_str(sc.c1, sc.c1_err, args.dps), "c1_error": f"{float(sc.c1_err):.2g}",
            "c1_kappa4": _mp_str(sc.c1_kappa4, sc.c1_kappa4_err, args.dps),
            "kappa4": str(sc.kappa4),
            "tau2_leading": _mp_str(sc.tau2_leading, sc.tau2_err, args.dps) if sc.tau2_leading is not None else None,
            "tau2_leading_is": "lim tau^2 (var_a > 0)" if args.var_a > 0 else "lim d tau^2 (deterministic a)",
        })
        method += ("; c1 (L_inf - L~ = c1/d + O(d^-2), kappa4 term included), c1_kappa4 and tau2_leading derived in "
                   "docs/sharp-constants.md, 1-D mpmath integrals (tanh-sinh vs Gauss-Legendre)")
    else:
        out.update({"c1": None, "c1_kappa4": None, "tau2_leading": None})
        method += f"; sharp constants: {args.activation} has no closed-form gaussian smoothing (not derived)"
    out["method"] = method
    _print_json(out)
    return 0


def _mp_str(x, err, dps: int) -> str:
    """A decimal string of x with the digits its error estimate leaves (at most dps)."""
    import mpmath

    if x == 0:
        return "0"
    digits = int(max(1, min(dps, mpmath.floor(mpmath.log10(abs(x) / err)) if err > 0 else dps)))
    return mpmath.nstr(x, digits, min_fixed=-5, max_fixed=5)


def _xi_arg(text: str):
    """--xi LAW: gaussian, rademacher, uniform, sparse or sparse(p), 0 < p <= 1."""
    t = text.strip().lower()
    if t in ("gaussian", "rademacher", "uniform", "sparse"):  # sparse alone: p = 0.1, as in the claims
        return t, 0.1
    if t.startswith("sparse(") and t.endswith(")"):
        try:
            p = float(t[7:-1])
        except ValueError:
            p = math.nan
        if 0 < p <= 1:
            return "sparse", p
        raise argparse.ArgumentTypeError(f"sparse(p) needs 0 < p <= 1, got {t[7:-1]!r}")
    raise argparse.ArgumentTypeError(f"unknown xi law {text!r}; known: gaussian, rademacher, uniform, sparse(p)")


# Limits of one `verify compress` request (its cost: `verify.pipeline.compress.compress_cost`).
COMPRESS_M_MAX = 1000
COMPRESS_D_MAX = 100000
COMPRESS_SECONDS_MAX = 1800.0
COMPRESS_GIB_MAX = 8.0


def cmd_compress(args) -> int:
    from verify.pipeline.compress import compress, compress_cost

    def progress(msg):
        print(f"verify compress: {msg}", file=sys.stderr, flush=True)

    if args.activation != "relu":
        raise InputError(f"verify compress implements relu (the ETF conjecture's activation), got {args.activation!r}")
    if args.restarts < 1 or args.restarts > 10**6:
        raise InputError("--restarts must be in 1..1000000")
    seconds, gib = compress_cost(args.M, args.d, args.mu_norm, args.restarts)
    if seconds > COMPRESS_SECONDS_MAX or gib > COMPRESS_GIB_MAX:
        raise InputError(f"M = {args.M}, d = {args.d}, {args.restarts} restarts would need about {_duration(seconds)} "
                         f"and {gib:.3g} GiB; limit {COMPRESS_SECONDS_MAX / 60:g} minutes and {COMPRESS_GIB_MAX:g} GiB "
                         f"(fewer --restarts, or smaller M, d)")
    if seconds > 60:
        progress(f"M = {args.M}, d = {args.d}, {args.restarts} restarts: estimated {_duration(seconds)}, {gib:.2g} GiB")
    _print_json(compress(args.M, args.d, args.mu_norm, args.s, args.abar, objective=args.objective,
                         restarts=args.restarts, seed=args.seed, progress=progress, certify=args.certify).to_dict())
    return 0


# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="verify", description="Verification suite for the compression of two-layer networks (arXiv:2205.08199).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run claims and write reports")
    r.add_argument("paths", nargs="*", help="claim files or folders (default: conjectures/)")
    r.add_argument("--out", default="reports",
                   help="report folder (default: reports); locked while a run writes it")
    r.add_argument("--json", action="store_true", help="print a JSON summary")
    r.add_argument("--profile", choices=("quick", "full"), default="quick", help="quick (default) or full claims")
    r.add_argument("--no-cache", action="store_true",
                   help="re-run claims even if unchanged, ignoring saved partial results (a fresh computation)")
    _parallel_args(r)
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("check", help="re-run the quick claims; exit 1 if any moved")
    c.add_argument("paths", nargs="*")
    c.add_argument("--out", default="reports", help="(accepted for symmetry with run; check writes no report)")
    c.add_argument("--junit", metavar="FILE", help="also write the result as JUnit XML (one test case per claim)")
    _parallel_args(c)
    c.set_defaults(func=cmd_check)

    h = sub.add_parser("report", help="render a report folder as static HTML")
    h.add_argument("--html", required=True, metavar="DIR", help="folder to write index.html and one page per claim into")
    h.add_argument("--reports", default="reports", metavar="DIR", help="the report folder to render (default: reports)")
    h.set_defaults(func=cmd_report)

    k = sub.add_parser("kernel", help="one dual-kernel value at any precision")
    k.add_argument("activation")
    k.add_argument("--q1", required=True, type=_decimal_arg("--q1"), help="||u||^2 (plain decimal, read exactly)")
    k.add_argument("--q2", required=True, type=_decimal_arg("--q2"), help="||v||^2 (plain decimal, read exactly)")
    k.add_argument("--c", required=True, type=_decimal_arg("--c"), help="<u, v> (plain decimal, read exactly)")
    k.add_argument("--dps", type=_int_arg("--dps", 5, DPS_MAX), default=30,
                   help=f"significant digits, 5..{DPS_MAX}; quadrature-only activations (tanh, sigmoid, softplus, "
                        f"silu) are further limited by an estimated {QUAD_SECONDS_MAX:g} s of work")
    k.add_argument("--param", action="append", metavar="NAME=VALUE")
    k.add_argument("--json", action="store_true", help="(output is always JSON)")
    k.set_defaults(func=cmd_kernel)

    lo = sub.add_parser("loss", help="the exact population loss L_N between two networks",
                        description="L_N = E_x (f_N(x) - g(x))^2, x ~ N(0, I_d), with f_N(x) = (1/N) sum_i a_i "
                                    "sigma(<w_i, x>) (the 1/N applied here: store the raw a_i) and g(x) = sum_j b_j "
                                    "sigma(<v_j, x>). Prints a JSON number, or a decimal string when L_N lies outside "
                                    "the float64 range.")
    lo.add_argument("--target",
                    help=".npz with a (N,) and W (N, d): the raw output weights a_i, NOT divided by N; the "
                         "command forms f_N(x) = (1/N) sum_i a_i sigma(<w_i, x>) itself")
    lo.add_argument("--target-law", choices=("gaussian", "rademacher", "uniform", "sparse"),
                    help="instead of --target: a target drawn from the law of MATH.md section 1 (mu = mu_norm e_1) "
                         "with --N, --d, --seed; chunk c of rows is drawn with numpy default_rng([seed, c]), and "
                         "L_N is summed over upper-triangular blocks (math.fsum: the same bits for any --workers)")
    lo.add_argument("--N", type=_int_arg("--N", 1, 10**7), help="target width (with --target-law)")
    lo.add_argument("--d", type=_int_arg("--d", 1, 10**5), help="input dimension (with --target-law)")
    lo.add_argument("--seed", type=_int_arg("--seed", 0, 2**63 - 1), help="target seed (with --target-law)")
    lo.add_argument("--mu-norm", type=_float_arg("--mu-norm", lo=0), default=1.0)
    lo.add_argument("--s", type=_float_arg("--s", lo=0, lo_open=True), default=1.0)
    lo.add_argument("--abar", type=_float_arg("--abar"), default=1.0)
    lo.add_argument("--var-a", type=_float_arg("--var-a", lo=0), default=0.0)
    lo.add_argument("--sparsity", type=_float_arg("--sparsity", lo=0, lo_open=True, hi=1), default=0.1)
    lo.add_argument("--chunk", type=_int_arg("--chunk", 16, 65536), default=4096, help="rows per block edge (--target-law)")
    _parallel_args(lo)
    lo.add_argument("--compressed", required=True, help=".npz with b (M,) and V (M, d)")
    lo.add_argument("--activation", default="relu")
    lo.add_argument("--json", action="store_true", help="(output is always JSON)")
    lo.set_defaults(func=cmd_loss)

    mf = sub.add_parser("meanfield", help="L_inf, L~, the bias coefficient and tau^2 for gaussian xi, and the sharp constants c1, c1_kappa4, tau2_leading (mu = m e_1)")
    mf.add_argument("--activation", default="relu")
    mf.add_argument("--d", type=_int_arg("--d", 2, 10**6), required=True, help="input dimension, 2..1000000")
    mf.add_argument("--mu-norm", dest="mu_norm", type=_float_arg("--mu-norm", 0, MU_NORM_MAX), required=True,
                    help=f"||mu|| in [0, {MU_NORM_MAX:g}]")
    mf.add_argument("--s", type=_float_arg("--s", *S_RANGE), required=True, help=f"s in [{float(S_RANGE[0]):g}, {S_RANGE[1]:g}]")
    mf.add_argument("--abar", type=_float_arg("--abar", -ABAR_MAX, ABAR_MAX), default=1.0,
                    help=f"mean output weight, |abar| <= {ABAR_MAX:g}")
    mf.add_argument("--var-a", dest="var_a", type=_float_arg("--var-a", 0, VAR_A_MAX), default=0.0,
                    help=f"variance of the output weights in [0, {VAR_A_MAX:g}]")
    mf.add_argument("--compressed", required=True, help=".npz with b (M,) and V (M, d)")
    mf.add_argument("--xi", type=_xi_arg, default=("gaussian", 0.1),
                    help="law of xi: gaussian (default), rademacher, uniform, sparse(p); another law gives its "
                         "sharp constants (c1 with its kappa4 term) and no finite-d L_inf")
    mf.add_argument("--dps", type=_int_arg("--dps", 10, 100), default=30, help="digits of the sharp constants, 10..100")
    mf.add_argument("--json", action="store_true", help="(output is always JSON)")
    mf.set_defaults(func=cmd_meanfield)

    cp = sub.add_parser("compress", help="search the compressed network (ReLU), the ETF, certificates and a verdict (mu = m e_1)")
    cp.add_argument("--activation", default="relu")
    cp.add_argument("--M", type=_int_arg("--M", 1, COMPRESS_M_MAX), required=True, help=f"neurons, 1..{COMPRESS_M_MAX}")
    cp.add_argument("--d", type=_int_arg("--d", 1, COMPRESS_D_MAX), required=True, help=f"input dimension, 1..{COMPRESS_D_MAX}")
    cp.add_argument("--mu-norm", dest="mu_norm", type=_float_arg("--mu-norm", 0, MU_NORM_MAX), required=True,
                    help=f"||mu|| in [0, {MU_NORM_MAX:g}]")
    cp.add_argument("--s", type=_float_arg("--s", *S_RANGE), required=True, help=f"s in [{float(S_RANGE[0]):g}, {S_RANGE[1]:g}]")
    cp.add_argument("--abar", type=_float_arg("--abar", -ABAR_MAX, ABAR_MAX), default=1.0,
                    help=f"target output weight, |abar| <= {ABAR_MAX:g}")
    cp.add_argument("--objective", choices=("simplified", "meanfield"), default="simplified")
    cp.add_argument("--restarts", type=_int_arg("--restarts", 1, 10**6), default=1000, help="1..1000000 (default 1000)")
    cp.add_argument("--seed", type=_int_arg("--seed", 0, 2**64 - 1), default=0, help="0..2^64-1 (numpy default_rng)")
    cp.add_argument("--json", action="store_true", help="(output is always JSON)")
    cp.add_argument("--certify", action="store_true",
                    help="lower bound by the certified branch and bound (M = 2, no sign assumption; up to minutes)")
    cp.set_defaults(func=cmd_compress)
    return p


def _one_line(e) -> str:
    return " ".join(str(e).split("\n")).strip()


# argparse takes "-1e4" for an option (its negative-number pattern has no exponent); a value option
# followed by a token that reads as a negative decimal gets it attached ("--c=-1e4").
_NEGATIVE_DECIMAL = re.compile(r"-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _attach_negative_values(argv: list[str]) -> list[str]:
    out: list[str] = []
    for tok in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and _NEGATIVE_DECIMAL.fullmatch(tok):
            out[-1] = f"{out[-1]}={tok}"
        else:
            out.append(tok)
    return out


def main(argv=None) -> int:
    try:
        argv = _attach_negative_values(list(sys.argv[1:] if argv is None else argv))
        args = build_parser().parse_args(argv)
        return args.func(args)
    except InputError as e:
        print(f"verify: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except RecursionError:  # a deeply nested input (TOML, JSON) that a parser walked recursively
        print("verify: error: input too deeply nested", file=sys.stderr)
        return 2
    except MemoryError:
        print("verify: error: input too large (out of memory)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("verify: interrupted (completed reports are kept; rerun to resume)", file=sys.stderr)
        return 130
    except SystemExit as e:  # --help
        return int(e.code or 0)
    except Exception as e:  # noqa: BLE001
        if os.environ.get("VERIFY_DEBUG"):
            raise
        print(f"verify: internal error: {type(e).__name__}: {e} (set VERIFY_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
