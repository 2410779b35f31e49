"""Foundation benchmarks, each next to the naive alternative run in the same process.

1. The float64 ReLU kernel matrix, 4096 x 4096 at d = 256, in pair-kernels per second: the fused,
   threaded two-slope path of `verify.kernels.matrix` against a plain numpy evaluation of the same
   formula (Gram product, arccos, full-size temporaries), and the bare BLAS Gram product, with all
   threads and on one core (the configuration of claims and cluster workers).
2. L_N at N = 20000, d = 256, M = 16 in seconds (exact, blocked, symmetric), against a Monte Carlo
   estimate of the same loss given the same wall time (its relative standard error).
3. A 25-digit value of the tanh kernel (quadrature only), in seconds.

Run: python benchmarks/bench_foundation.py [--json OUT.json]
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np


def best_of(fn, repeat=3):
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def naive_relu_matrix(A, B):
    C = A @ B.T
    na, nb = np.linalg.norm(A, axis=1), np.linalg.norm(B, axis=1)
    p = na[:, None] * nb[None, :]
    rho = np.clip(C / p, -1.0, 1.0)
    return p * (np.sqrt(1 - rho**2) + (np.pi - np.arccos(rho)) * rho) / (2 * np.pi)


def main(argv=None) -> int:
    from verify.kernels import get_activation, kernel_matrix, kernel_mp
    from verify.model.networks import TargetLaw, TwoLayerNetwork
    from verify.model import loss, loss_monte_carlo

    ap = argparse.ArgumentParser()
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    results = {}
    relu = get_activation("relu")
    rng = np.random.default_rng(0)
    n, d = 4096, 256
    A, B = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    kernel_matrix(relu, A[:256], B[:256])  # warm the thread pool
    t_fast, K = best_of(lambda: kernel_matrix(relu, A, B))
    buf = np.empty((n, n))
    t_fast_buf, _ = best_of(lambda: kernel_matrix(relu, A, B, out=buf))
    t_naive, K0 = best_of(lambda: naive_relu_matrix(A, B))
    t_gemm, _ = best_of(lambda: A @ B.T)
    t_gemm_buf, _ = best_of(lambda: np.matmul(A, B.T, out=buf))  # like for like with the fused path into buf
    # One core, as every claim and every unit of a cluster runs (kernel_threads(1), BLAS on one thread):
    from threadpoolctl import threadpool_limits

    from verify.kernels.matrix import kernel_threads

    with threadpool_limits(1), kernel_threads(1):
        t_fast_1, _ = best_of(lambda: kernel_matrix(relu, A, B, out=buf))
        t_gemm_1, _ = best_of(lambda: np.matmul(A, B.T, out=buf))
    pairs = n * n
    results["relu_matrix"] = {
        "one_core": {"fused_into_buffer_pairs_per_s": pairs / t_fast_1, "gram_into_buffer_pairs_per_s": pairs / t_gemm_1,
                     "fused_over_gram": t_gemm_1 / t_fast_1},
        "pairs": pairs, "fused_pairs_per_s": pairs / t_fast, "fused_into_buffer_pairs_per_s": pairs / t_fast_buf,
        "naive_numpy_pairs_per_s": pairs / t_naive,
        "gram_only_pairs_per_s": pairs / t_gemm, "speedup_vs_naive": t_naive / t_fast,
        "gram_into_buffer_pairs_per_s": pairs / t_gemm_buf,
        "fused_over_gram": t_gemm_buf / t_fast_buf, "issue_12_target_fused_over_gram": 0.8,
        "max_abs_diff_vs_naive_over_max": float(np.max(np.abs(K - K0)) / np.max(np.abs(K0))),
    }
    print(f"ReLU kernel matrix {n}x{n}, d={d}: fused {pairs / t_fast:.3g} pairs/s ({t_fast:.3f} s), "
          f"into a reused buffer {pairs / t_fast_buf:.3g} pairs/s ({t_fast_buf:.3f} s); "
          f"plain numpy {pairs / t_naive:.3g} pairs/s ({t_naive:.3f} s); Gram product alone {pairs / t_gemm:.3g} pairs/s; "
          f"speed-up {t_naive / t_fast:.1f}x; fused at {t_gemm_buf / t_fast_buf:.2f} of the Gram product (both into a reused buffer), "
          f"{t_gemm_1 / t_fast_1:.2f} on one core")

    N, d, M = 20000, 256, 16
    mu = np.zeros(d)
    mu[0] = 1.0
    target = TargetLaw(d=d, mu=mu, s=1.0).sample(N, seed=1)
    comp = TwoLayerNetwork(rng.standard_normal(M) / math.sqrt(M), mu + rng.standard_normal((M, d)) / math.sqrt(d), relu)
    t0 = time.perf_counter()
    L = loss(target, comp)
    t_exact = time.perf_counter() - t0
    mc = loss_monte_carlo(target, comp, seconds=t_exact, seed=2, batch=512)
    results["loss"] = {
        "N": N, "d": d, "M": M, "exact_seconds": t_exact, "exact_value": L,
        "mc_samples_same_time": mc.samples, "mc_relative_standard_error": mc.stderr / mc.mean,
        "mc_error_in_standard_errors": (mc.mean - L) / mc.stderr,
    }
    print(f"L_N at N={N}, d={d}, M={M}: exact {L:.12g} in {t_exact:.2f} s; Monte Carlo in the same time: "
          f"{mc.samples} samples, relative standard error {mc.stderr / mc.mean:.2e}")

    t0 = time.perf_counter()
    v = kernel_mp("tanh", 1, 2, "0.3", 25)
    t_tanh = time.perf_counter() - t0
    import mpmath

    results["tanh_25_digits"] = {"seconds": t_tanh, "value": mpmath.nstr(v.value, 25, strip_zeros=False)}
    print(f"tanh kernel at 25 digits (trapezoidal rule in mpmath): {t_tanh:.2f} s")

    if args.json:
        from verify.io import atomic_write_json

        atomic_write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
