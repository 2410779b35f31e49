"""Rate-measurement benchmarks, each next to the naive alternative run in the same process.

1. The exact L_N of one target draw at the N grid of the full finite-N claim (100 ... 20000,
   eight widths, d = 64, M = 4): one nested pass over K_WW (`verify.model.nested`) against
   a separate exact evaluation at each width (`verify.model.loss` on each prefix).
2. L_inf(b, V) for the tilted ETF (M = 3, ||mu|| = s = 1) at d = 4096: the float64 quadrature
   against the 25-digit mpmath path (which the claims use only to re-check verdicts).
3. tau^2(b, V) at d = 256 (the quadrature of `verify.model.fluctuations`) against the
   unbiased U-statistic estimate from one draw of width 5000 (its cost and its relative error).

Run: python benchmarks/bench_rates.py [--json OUT.json]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv=None) -> int:
    from verify.claims.kinds._common import compressed_for
    from verify.model.networks import TargetLaw, TwoLayerNetwork
    from verify.model import loss, mean_field_problem, tau2
    from verify.model.nested import prefix_losses, prefix_terms

    ap = argparse.ArgumentParser()
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    res = {}

    cfg = dict(name="r", kind="random", activation="relu", M=4, mu_norm=1.0, s=1.0, abar=1.0, var_a=0.0, seed=7, k=5)
    d = 64
    b, V = compressed_for(cfg, d)
    mu = np.zeros(d)
    mu[0] = 1.0
    Ns = [100, 200, 500, 1000, 2000, 5000, 10000, 20000]
    t = TargetLaw(d=d, mu=mu, s=1.0).sample(Ns[-1], 1)
    t_nested, P = timed(lambda: prefix_losses(prefix_terms("relu", t.weights, t.inner, Ns, rows=True), "relu",
                                              t.weights, t.inner, b, V))
    comp = TwoLayerNetwork(b, V, "relu")
    t_naive, direct = timed(lambda: [loss(TwoLayerNetwork(t.weights[:n], t.inner[:n], "relu", 1.0 / n), comp) for n in Ns])
    res["nested_grid_s"] = t_nested
    res["separate_losses_s"] = t_naive
    res["nested_max_rel_diff"] = float(np.max(np.abs(P.L - np.array(direct)) / np.abs(direct)))
    print(f"L_N at {len(Ns)} widths up to {Ns[-1]} (d = {d}): nested pass {t_nested:.2f} s (with row sums for the estimators), "
          f"separate exact losses {t_naive:.2f} s; max relative difference {res['nested_max_rel_diff']:.1e}")

    from verify.model.etf import best_etf, etf_network

    d = 4096
    mu = np.zeros(d)
    mu[0] = 1.0
    b, V = etf_network(best_etf(3, 1.0, 1.0), d, mu)
    mf = mean_field_problem(d, 1.0, 1.0)
    t64, L64 = timed(lambda: mf.L_inf(b, V))
    tmp, Lmp = timed(lambda: mf.L_inf_mp(b, V, dps=25))
    res["L_inf_float64_s"], res["L_inf_mp25_s"] = t64, tmp
    res["L_inf_float_vs_mp_rel"] = float(abs(L64 - float(Lmp)) / float(Lmp))
    print(f"L_inf at d = {d}: float64 {t64 * 1e3:.1f} ms, 25-digit mpmath {tmp:.2f} s; agreement {res['L_inf_float_vs_mp_rel']:.1e}")

    d = 256
    b, V = compressed_for(cfg, d)
    mu = np.zeros(d)
    mu[0] = 1.0
    mf = mean_field_problem(d, 1.0, 1.0)
    tq, T = timed(lambda: tau2(mf, b, V).tau2)
    t = TargetLaw(d=d, mu=mu, s=1.0).sample(5000, 2)
    te, P = timed(lambda: prefix_losses(prefix_terms("relu", t.weights, t.inner, [5000], rows=True), "relu",
                                        t.weights, t.inner, b, V))
    res["tau2_quadrature_s"], res["tau2_estimate_s"] = tq, te
    res["tau2_estimate_rel_err"] = float(abs(P.tau2_hat - T) / T)
    print(f"tau^2 at d = {d}: quadrature {tq:.2f} s (~1e-12), one-draw estimate (N = 5000) {te:.2f} s with relative error "
          f"{res['tau2_estimate_rel_err']:.1e}")
    if args.json:
        from verify.io import atomic_write_json

        atomic_write_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
