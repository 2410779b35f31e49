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
from pathlib import Path

from verify.errors import InputError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage dump becomes our one-line error
        raise InputError(f"{self.prog}: {message}")


def _print_json(obj) -> None:
    print(json.dumps(obj, sort_keys=True, indent=2))


# --------------------------------------------------------------------------------------------


def cmd_run(args) -> int:
    from verify.reports.runner import run_claims
    from verify.claims.schema import load_all

    claims = load_all(args.paths)
    if not args.paths:
        claims = [c for c in claims if args.profile == "full" or c.profile == "quick"]
    reports = run_claims(claims, Path(args.out), reuse=not args.no_cache, profile=args.profile)
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

    claims = [c for c in load_all(args.paths) if c.profile == "quick"]
    reports = run_claims(claims, Path(args.out), reuse=False, make_plots=False, write=False)
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


def cmd_kernel(args) -> int:
    import mpmath

    from verify.kernels import get_activation, kernel_arb, kernel_mp
    from verify.numbers.precision import ball_bounds

    act = get_activation(args.activation, **_parse_params(args.param))
    kv = kernel_mp(act, args.q1, args.q2, args.c, args.dps)
    enclosure = None
    if act.k_arb is not None:
        bits = int(args.dps * 3.33) + 32
        ball = kernel_arb(act, args.q1, args.q2, args.c, prec=bits)
        lo, hi = ball_bounds(ball, bits)
        enclosure = [_directed(lo, args.dps + 2, up=False), _directed(hi, args.dps + 2, up=True)]
    with mpmath.workdps(args.dps):
        value = mpmath.nstr(kv.value, args.dps, strip_zeros=False)
    out = {"activation": act.label, "q1": args.q1, "q2": args.q2, "c": args.c, "dps": args.dps,
           "value": value, "method": kv.method, "enclosure": enclosure}
    _print_json(out)
    return 0


def _load_npz(path: str, keys: tuple[str, str], what: str):
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in keys if k not in data.files]
            if missing:
                raise InputError(f"{path}: {what} file needs arrays {', '.join(keys)} (missing {missing[0]!r})")
            arrays = [np.asarray(data[k], dtype=float) for k in keys]
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError) as e:
        raise InputError(f"{path}: not a readable .npz file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    w, V = arrays
    if w.ndim != 1 or V.ndim != 2 or V.shape[0] != w.shape[0]:
        raise InputError(f"{path}: {keys[0]} must have shape (n,) and {keys[1]} shape (n, d); got {w.shape} and {V.shape}")
    if w.shape[0] == 0:
        raise InputError(f"{path}: the {what} network has no neurons")
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(V))):
        raise InputError(f"{path}: {what} weights contain NaN or inf")
    return w, V


def cmd_loss(args) -> int:
    from verify.model.networks import TwoLayerNetwork
    from verify.model import loss

    a, W = _load_npz(args.target, ("a", "W"), "target")
    b, V = _load_npz(args.compressed, ("b", "V"), "compressed")
    if W.shape[1] != V.shape[1]:
        raise InputError(f"input dimensions differ: target W has d = {W.shape[1]}, compressed V has d = {V.shape[1]}")
    target = TwoLayerNetwork(a, W, args.activation, scale=1.0 / a.shape[0])
    comp = TwoLayerNetwork(b, V, args.activation)
    value = loss(target, comp)
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


def cmd_compress(args) -> int:
    from verify.pipeline.compress import compress

    def progress(msg):
        print(f"verify compress: {msg}", file=sys.stderr, flush=True)

    if args.activation != "relu":
        raise InputError(f"verify compress implements relu (the ETF conjecture's activation), got {args.activation!r}")
    if args.restarts < 1 or args.restarts > 10**6:
        raise InputError("--restarts must be in 1..1000000")
    _print_json(compress(args.M, args.d, args.mu_norm, args.s, args.abar, objective=args.objective,
                         restarts=args.restarts, seed=args.seed, progress=progress))
    return 0


# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="verify", description="Verification suite for the compression of two-layer networks (arXiv:2205.08199).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run claims and write reports")
    r.add_argument("paths", nargs="*", help="claim files or folders (default: conjectures/)")
    r.add_argument("--out", default="reports", help="report folder (default: reports)")
    r.add_argument("--json", action="store_true", help="print a JSON summary")
    r.add_argument("--profile", choices=("quick", "full"), default="quick", help="quick (default) or full claims")
    r.add_argument("--no-cache", action="store_true", help="re-run claims even if unchanged")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("check", help="re-run the quick claims; exit 1 if any moved")
    c.add_argument("paths", nargs="*")
    c.add_argument("--out", default="reports")
    c.set_defaults(func=cmd_check)

    k = sub.add_parser("kernel", help="one dual-kernel value at any precision")
    k.add_argument("activation")
    k.add_argument("--q1", required=True)
    k.add_argument("--q2", required=True)
    k.add_argument("--c", required=True)
    k.add_argument("--dps", type=int, default=30)
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
    mf.add_argument("--d", type=int, required=True)
    mf.add_argument("--mu-norm", dest="mu_norm", type=float, required=True)
    mf.add_argument("--s", type=float, required=True)
    mf.add_argument("--abar", type=float, default=1.0)
    mf.add_argument("--var-a", dest="var_a", type=float, default=0.0)
    mf.add_argument("--compressed", required=True, help=".npz with b (M,) and V (M, d)")
    mf.add_argument("--json", action="store_true", help="(output is always JSON)")
    mf.set_defaults(func=cmd_meanfield)

    cp = sub.add_parser("compress", help="search the compressed network (ReLU), the ETF, certificates and a verdict (mu = m e_1)")
    cp.add_argument("--activation", default="relu")
    cp.add_argument("--M", type=int, required=True)
    cp.add_argument("--d", type=int, required=True)
    cp.add_argument("--mu-norm", dest="mu_norm", type=float, required=True)
    cp.add_argument("--s", type=float, required=True)
    cp.add_argument("--abar", type=float, default=1.0)
    cp.add_argument("--objective", choices=("simplified", "meanfield"), default="simplified")
    cp.add_argument("--restarts", type=int, default=1000)
    cp.add_argument("--seed", type=int, default=0)
    cp.add_argument("--json", action="store_true", help="(output is always JSON)")
    cp.set_defaults(func=cmd_compress)
    return p


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except InputError as e:
        print(f"verify: error: {e}", file=sys.stderr)
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
