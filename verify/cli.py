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


def cmd_run(args) -> int:
    from verify.io import WriteError
    from verify.reports.runner import run_claims
    from verify.claims.schema import load_all

    if not args.out.strip():
        raise InputError("--out must name a folder (got an empty path)")
    claims = load_all(args.paths)
    if not args.paths:
        claims = [c for c in claims if args.profile == "full" or c.profile == "quick"]
    if not claims:
        raise InputError("no claims to run: the selection is empty"
                         + ("" if args.paths else f" for profile {args.profile!r}"))
    try:
        reports = run_claims(claims, args.out, reuse=not args.no_cache, profile=args.profile)
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
    reports = run_claims(claims, Path(args.out or "."), reuse=False, make_plots=False, write=False)
    moved = compare(claims, reports)
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


def _directed(value, digits: int, up: bool) -> str:
    """A rational rounded outward (down for a lower end, up for an upper end) to about `digits`
    significant decimal digits, as an exact decimal string."""
    from fractions import Fraction

    if value == 0:
        return "0"
    e10 = math.floor(math.log10(abs(value.numerator)) - math.log10(value.denominator))
    k = digits - 1 - e10  # value * 10^k has `digits` digits before the point
    scaled = value * Fraction(10) ** k
    n = math.ceil(scaled) if up else math.floor(scaled)
    if n == 0:
        return "0"
    sign, s = ("-" if n < 0 else ""), str(abs(n))
    return f"{sign}{s[0]}.{s[1:] or '0'}e{len(s) - 1 - k}"


# Precision caps of `verify kernel`. Closed forms cost milliseconds up to 1000 digits (relu, erf,
# hermite(n=10) at dps 1000..4000: 2-40 ms); above ~4280 digits the decimal output exceeds
# Python's int-to-str limit. Quadrature (tanh, sigmoid, softplus, silu: the mpmath trapezoidal
# rule on n x n nodes, n growing with dps and with sqrt(q)) costs about 33 us per node pair at
# dps <= 40 and 60 us at dps 80 on the reference machine (tanh q = 1: dps 20, 187^2 nodes, 1.2 s;
# dps 40, 391^2, 5 s; dps 80, 923^2, 51 s; q = 10, dps 20, 579^2, 9 s); the estimate below
# refuses what would exceed QUAD_SECONDS_MAX.
DPS_MAX = 1000
QUAD_SECONDS_MAX = 30.0
QUAD_SECONDS_PER_PAIR = 35e-6  # at dps <= 40; scaled by (dps + 10) / 50 above


def _quadrature_cost(act, q1, q2, dps: int) -> tuple[int, float]:
    """(nodes per axis, estimated seconds) of kernel_mp's trapezoidal rule for a smooth activation."""
    from fractions import Fraction

    from verify.kernels.quadrature import trapezoid_step

    big = Fraction(10) ** 300
    q1, q2 = (float(min(q, big)) for q in (q1, q2))
    T = (dps + 10) * math.log(10)
    h = trapezoid_step(act, math.sqrt(max(q1, q2)), q1 + q2, T)
    n = 2 * math.ceil(min((math.sqrt(2 * T) + 1.0) / h, 1e150)) + 1
    return n, n * n * QUAD_SECONDS_PER_PAIR * max(1.0, (dps + 10) / 50)


def cmd_kernel(args) -> int:
    import mpmath

    from verify.kernels import get_activation, kernel_arb, kernel_mp
    from verify.numbers.decimal import decimal_string, parse_decimal
    from verify.numbers.precision import ball_bounds

    act = get_activation(args.activation, **_parse_params(args.param))
    # Exact values, passed on as short exact literals ("1e-3"): the library's own string reading
    # then costs nothing whatever digits the user typed.
    q1, q2, c = (parse_decimal(v, f"--{n}") for v, n in ((args.q1, "q1"), (args.q2, "q2"), (args.c, "c")))
    if act.k_mp is None and q1 >= 0 and q2 >= 0:
        n, seconds = _quadrature_cost(act, q1, q2, args.dps)
        if seconds > QUAD_SECONDS_MAX:
            raise InputError(
                f"{act.label} has no closed form: its quadrature at dps = {args.dps}, q1 = {args.q1.strip()[:20]}, "
                f"q2 = {args.q2.strip()[:20]} needs {n if n < 10**6 else format(float(n), '.1e')}^2 = {float(n) * n:.2g} node pairs, about {_duration(seconds)} "
                f"(limit {QUAD_SECONDS_MAX:g} s: about dps <= 40 at q <= 1, dps <= 20 at q <= 10); lower --dps or q1, q2")
    q1s, q2s, cs = (decimal_string(v) for v in (q1, q2, c))
    kv = kernel_mp(act, q1s, q2s, cs, args.dps)
    enclosure = None
    if act.k_arb is not None:
        bits = int(args.dps * 3.33) + 32
        ball = kernel_arb(act, q1s, q2s, cs, prec=bits)
        lo, hi = ball_bounds(ball, bits)
        enclosure = [_directed(lo, args.dps + 2, up=False), _directed(hi, args.dps + 2, up=True)]
    with mpmath.workdps(args.dps):
        value = mpmath.nstr(kv.value, args.dps, strip_zeros=False)
    out = {"activation": act.label, "q1": args.q1, "q2": args.q2, "c": args.c, "dps": args.dps,
           "value": value, "method": kv.method, "enclosure": enclosure}
    _print_json(out)
    return 0


# Size budget of one array read from an .npz (checked from the .npy header before any data is read).
NPZ_MAX_ENTRIES = 50_000_000  # 400 MB as float64
_NPZ_KINDS = "fiu"  # float, signed and unsigned int; bool, complex, strings, dates, objects, structs refused


def _npz_header(fp, path: str, key: str):
    import numpy as np

    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise InputError(f"{path}: array {key!r} uses .npy format version {version}; expected 1.0 or 2.0")
    if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None or dtype.kind not in _NPZ_KINDS:
        raise InputError(f"{path}: array {key!r} has dtype {str(dtype)[:40]}; expected real numbers (float or int)")
    if math.prod(shape) > NPZ_MAX_ENTRIES:
        raise InputError(f"{path}: array {key!r} has shape {shape} ({math.prod(shape):.3g} entries); "
                         f"the limit is {NPZ_MAX_ENTRIES:.0e} entries per array")
    return shape


def _load_npz(path: str, keys: tuple[str, str], what: str):
    """The two float64 arrays `keys` of an .npz, each .npy header checked (dtype, size budget)
    before its data is read; pickles are never loaded. Every defect of the file is an InputError."""
    import stat
    import struct
    import zipfile
    import zlib

    import numpy as np

    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or type(e).__name__})") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: not a regular file")
    arrays = []
    try:
        with open(path, "rb") as raw:
            if raw.read(6) == b"\x93NUMPY":
                raise InputError(f"{path}: this is a single-array .npy file; the {what} file must be an .npz "
                                 f"with arrays {', '.join(keys)} (numpy.savez)")
            raw.seek(0)
            with zipfile.ZipFile(raw) as zf:
                names = set(zf.namelist())
                missing = [k for k in keys if f"{k}.npy" not in names]
                if missing:
                    raise InputError(f"{path}: {what} file needs arrays {', '.join(keys)} (missing {missing[0]!r})")
                for k in keys:
                    with zf.open(f"{k}.npy") as fp:
                        shape = _npz_header(fp, path, k)
                    with zf.open(f"{k}.npy") as fp:
                        a = np.lib.format.read_array(fp, allow_pickle=False)
                    if a.shape != shape:  # pragma: no cover - read_array honours the header
                        raise InputError(f"{path}: array {k!r} does not match its header")
                    with np.errstate(all="ignore"):  # float128 beyond float64 becomes inf, refused below
                        arrays.append(np.asarray(a, dtype=float))
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{path}: the arrays do not fit in memory") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError,
            struct.error, KeyError, OverflowError, UnicodeDecodeError) as e:
        msg = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise InputError(f"{path}: not a readable .npz file ({msg})") from None
    w, V = arrays
    if w.ndim != 1 or V.ndim != 2 or V.shape[0] != w.shape[0]:
        raise InputError(f"{path}: {keys[0]} must have shape (n,) and {keys[1]} shape (n, d); got {w.shape} and {V.shape}")
    if w.shape[0] == 0:
        raise InputError(f"{path}: the {what} network has no neurons")
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(V))):
        raise InputError(f"{path}: {what} weights contain NaN or inf (or values beyond float64)")
    return w, V


# `verify loss` evaluates N^2/2 + N M + M^2/2 kernel values (the O(N^2) target term blocked):
# about 120 ns per pair for relu at d = 16 on the reference machine (N = 4000: 0.95 s).
LOSS_PAIRS_MAX = 5e9  # about 10 minutes


def _loss_value(loss, target, comp, a, b, W, V):
    """L_N in float64, always finite: a loss whose float64 evaluation overflows is recomputed with
    the output weights scaled by a power of two (exact) and refused if it still does not fit."""
    import numpy as np

    from verify.model.networks import TwoLayerNetwork

    with np.errstate(all="ignore"):
        value = loss(target, comp)
        if math.isfinite(value):
            return value
        t = max(float(np.max(np.abs(a))) / a.shape[0], float(np.max(np.abs(b))), 1e-300)
        e = math.frexp(t)[1]
        act = target.activation
        scaled = loss(TwoLayerNetwork(np.ldexp(a, -e), W, act, scale=1.0 / a.shape[0]),
                      TwoLayerNetwork(np.ldexp(b, -e), V, act))
        try:
            value = math.ldexp(scaled, 2 * e) if math.isfinite(scaled) else math.inf
        except OverflowError:
            value = math.inf
    if not math.isfinite(value):
        raise InputError("weights too large: the loss overflows float64 (scale the weights down; "
                         "L_N is quadratic in the output weights a, b)")
    return value


def cmd_loss(args) -> int:
    from verify.model.networks import TwoLayerNetwork
    from verify.model import loss

    a, W = _load_npz(args.target, ("a", "W"), "target")
    b, V = _load_npz(args.compressed, ("b", "V"), "compressed")
    if W.shape[1] != V.shape[1]:
        raise InputError(f"input dimensions differ: target W has d = {W.shape[1]}, compressed V has d = {V.shape[1]}")
    N, M, d = a.shape[0], b.shape[0], W.shape[1]
    pairs = N * N / 2 + N * M + M * M / 2
    if pairs > LOSS_PAIRS_MAX:
        raise InputError(f"N = {N}, M = {M}: the exact loss needs {pairs:.2g} kernel evaluations, about "
                         f"{_duration(pairs * (100 + 2 * d) * 1e-9)}; limit {LOSS_PAIRS_MAX:.0e} (N up to about 1e5)")
    target = TwoLayerNetwork(a, W, args.activation, scale=1.0 / a.shape[0])
    comp = TwoLayerNetwork(b, V, args.activation)
    value = _loss_value(loss, target, comp, a, b, W, V)
    _print_json({"loss": value, "N": int(a.shape[0]), "M": int(b.shape[0]), "d": int(W.shape[1]),
                 "activation": target.activation.label, "method": "exact-kernel-float64"})
    return 0


def cmd_meanfield(args) -> int:

    from verify.model.fluctuations import tau2
    from verify.model.meanfield import mean_field_problem
    from verify.model.simplified import simplified_problem

    for name in ("mu_norm", "s", "abar", "var_a"):
        v = getattr(args, name)
        if not math.isfinite(v):
            raise InputError(f"--{name.replace('_', '-')} must be finite")
    b, V = _load_npz(args.compressed, ("b", "V"), "compressed")
    if V.shape[1] != args.d:
        raise InputError(f"{args.compressed}: V has width {V.shape[1]} but --d is {args.d}")
    problem = mean_field_problem(args.d, args.mu_norm, args.s, abar=args.abar, var_a=args.var_a, activation=args.activation)
    simple = simplified_problem(args.d, args.mu_norm, args.s, abar=args.abar, activation=args.activation)
    L_inf = problem.L_inf(b, V)
    L_tilde = simple.loss(b, V)
    t2 = tau2(problem, b, V)
    _print_json({
        "L_inf": f"{L_inf:.15g}",
        "L_tilde": f"{float(L_tilde):.15g}",
        "bias_coefficient": problem.bias_coefficient(),
        "tau2": t2.tau2,
        "method": f"gaussian xi; L_inf by float64 quadrature ({problem.route} route); L_tilde closed form; "
                  f"tau2 by Gauss-Hermite x chi-square rules ({t2.nodes} nodes, C_inf interpolation error {t2.interpolation_error:.1e})",
    })
    return 0


# `verify compress` cost model, fitted on the reference machine (2 busy cores). The search runs in
# d_eff = min(d, M + 1) dimensions on n = M d_eff variables: per restart about 6e-9 n^3 s (Newton
# with the analytic n x n Hessian; M = 16, d = 17, 100 restarts: 11.7 s; M = 20, d = 21, 60: 26.6 s;
# M = 24, d = 25, 40: 47 s) and memory about 5 n^2 doubles per restart of a batch of <= 1000
# (peak RSS 418, 543, 694 MB there). The local certificate (when the ETF exists) works on
# n' = M + M d variables in arb: about 9e-8 n'^3 s and 1 kB per matrix entry (M = 24, d = 25: 9 s;
# M = 4, d = 200: 45 s, 0.73 GB); the lower bound takes 1-3 s.
COMPRESS_M_MAX = 1000
COMPRESS_D_MAX = 100000
COMPRESS_SECONDS_MAX = 1800.0
COMPRESS_GIB_MAX = 8.0


def _compress_cost(M: int, d: int, mu_norm: float, restarts: int) -> tuple[float, float]:
    """(estimated seconds, estimated GiB) of one `verify compress` instance."""
    d_eff = min(d, M + 1 if mu_norm > 0 else M)
    n = M * d_eff
    batch = min(restarts, 1000)
    seconds = restarts * (6e-9 * n**3 + 5e-3) + 3.0
    mem = 5 * batch * n * n * 8 + restarts * M * d * 8 * 2 + 2e8
    if (d >= M if mu_norm > 0 else d >= M - 1):  # the ETF exists: local certificate in arb
        n_loc = M + M * d
        seconds += 9e-8 * n_loc**3
        mem = max(mem, 1e3 * n_loc**2 + 2e8)
    return seconds, mem / 2**30


def cmd_compress(args) -> int:
    from verify.pipeline.compress import compress

    def progress(msg):
        print(f"verify compress: {msg}", file=sys.stderr, flush=True)

    if args.activation != "relu":
        raise InputError(f"verify compress implements relu (the ETF conjecture's activation), got {args.activation!r}")
    if args.restarts < 1 or args.restarts > 10**6:
        raise InputError("--restarts must be in 1..1000000")
    seconds, gib = _compress_cost(args.M, args.d, args.mu_norm, args.restarts)
    if seconds > COMPRESS_SECONDS_MAX or gib > COMPRESS_GIB_MAX:
        raise InputError(f"M = {args.M}, d = {args.d}, {args.restarts} restarts would need about {_duration(seconds)} "
                         f"and {gib:.3g} GiB; limit {COMPRESS_SECONDS_MAX / 60:g} minutes and {COMPRESS_GIB_MAX:g} GiB "
                         f"(fewer --restarts, or smaller M, d)")
    if seconds > 60:
        progress(f"M = {args.M}, d = {args.d}, {args.restarts} restarts: estimated {_duration(seconds)}, {gib:.2g} GiB")
    _print_json(compress(args.M, args.d, args.mu_norm, args.s, args.abar, objective=args.objective,
                         restarts=args.restarts, seed=args.seed, progress=progress).to_dict())
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
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("check", help="re-run the quick claims; exit 1 if any moved")
    c.add_argument("paths", nargs="*")
    c.add_argument("--out", default="reports", help="(accepted for symmetry with run; check writes nothing)")
    c.set_defaults(func=cmd_check)

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

    lo = sub.add_parser("loss", help="the exact population loss L_N between two networks")
    lo.add_argument("--target", required=True, help=".npz with a (N,) and W (N, d)")
    lo.add_argument("--compressed", required=True, help=".npz with b (M,) and V (M, d)")
    lo.add_argument("--activation", default="relu")
    lo.add_argument("--json", action="store_true", help="(output is always JSON)")
    lo.set_defaults(func=cmd_loss)

    mf = sub.add_parser("meanfield", help="L_inf, L~, the bias coefficient and tau^2 for gaussian xi (mu = m e_1)")
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
    cp.set_defaults(func=cmd_compress)
    return p


def _one_line(e) -> str:
    return " ".join(str(e).split("\n")).strip()


def main(argv=None) -> int:
    try:
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
