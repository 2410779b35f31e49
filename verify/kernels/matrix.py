r"""Kernel matrices [K_AB]_ij = k_sigma(||A_i||^2, ||B_j||^2, <A_i, B_j>) between two point sets.

The Gram product A B^T is one BLAS call per block of rows; what follows it decides the speed.
For the two-slope family sigma(z) = a z + b |z| (ReLU, leaky ReLU, abs; b != 0) the kernel is

    k = p [ (a^2 + b^2) rho + (2 b^2 / pi) (sqrt(1 - rho^2) - rho theta) ]
      = (2 b^2 / pi) p [ sqrt(1 - rho^2) + rho (pi (a^2 + b^2) / (2 b^2) - theta) ],
    p = ||A_i|| ||B_j||,  rho = <A_i, B_j> / p,  theta = atan2(sqrt(1 - rho^2), rho),

(MATH.md section 2, rewritten with arcsin rho = pi/2 - theta). The rows are normalized before
the Gram product, which then yields rho itself; the rest is one fused pass in place
(`verify.kernels.fused`, compiled with numba: one read and one write per entry, no libm call, so
it vectorizes). Each thread owns a band of rows and alternates small Gram products (BLAS held to
one thread by threadpoolctl) with the fused pass on the sub-block still warm in cache (the pass
releases the GIL). For ReLU it gives exactly 0 at rho = -1.

Accuracy: about 1e-16 p absolute from the pass (tests/test_fused.py) on top of the Gram product's. That matches the Gram product's own rounding (|fl(<A_i, B_j>)
- <A_i, B_j>| ~ d eps ||A_i|| ||B_j||), so nothing is lost against the relatively accurate
scalar path of `activations.py`, which `kernel()` uses for individual triples. Other activations
go through their broadcasting closed form, or the float64 quadrature, block by block.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from verify.kernels.activations import Activation
from verify.kernels.fused import two_slope_pass

_THREADS = max(1, min(4, os.cpu_count() or 1))
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="verify-kernel")
    return _POOL


def row_norms_sq(X: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", X, X)


def _normalized(X: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Rows divided by their norms (zero rows stay zero, so that rho = 0 and the kernel is 0)."""
    with np.errstate(divide="ignore"):
        inv = np.where(norms > 0, 1.0 / norms, 0.0)
    return X * inv[:, None]


# Tiles of the Gram product: 256-512 x 4096 (8-16 MiB, in L3) is where the Gram product runs near
# the speed of one large call and the fused pass still reads it from cache. Measured here
# (4096 x 4096, d = 256; benchmarks/results/foundation.json): 0.73 of the bare Gram product's
# speed on 2 threads and 0.78 on one core; 64-row bands written in place gave 0.60-0.64, and
# other tiles (32-512 rows, 2048-4096 columns) were within the run-to-run noise (+-0.03).
_TILE_ROWS = 512
_TILE_COLS = 4096
_THREADS_NOW: list[int] = []  # the innermost `kernel_threads` setting (empty: _THREADS)


@contextmanager
def kernel_threads(n: int):
    """Within the block, the kernel matrices use at most n threads (the claims run with 1: a
    process then uses one core, and a cluster of P workers P cores). The values do not depend on
    it: the tiles are the same whatever the number of threads."""
    _THREADS_NOW.append(max(1, int(n)))
    try:
        yield
    finally:
        _THREADS_NOW.pop()


def _tile_rows(i0: int, i1: int, scale_rows, An, Bn, scale_cols, shift, out, tile) -> None:
    """Rows i0:i1 (one tile high): Gram tiles into the private buffer `tile`, each followed by the
    fused pass writing the kernel values into out."""
    m = Bn.shape[0]
    for c0 in range(0, m, _TILE_COLS):
        c1 = min(c0 + _TILE_COLS, m)
        T = tile[:i1 - i0, :c1 - c0]
        if c1 - c0 < tile.shape[1]:
            T = np.ascontiguousarray(T)  # the last, narrower column tile
        np.matmul(An[i0:i1], Bn[c0:c1].T, out=T)
        two_slope_pass(T, out, i0, c0, scale_rows, scale_cols, shift)


def _two_slope_worker(An, Bn, tiles, scale_rows, scale_cols, shift, out):
    """One thread's share: a run of row tiles (single-threaded BLAS)."""
    tile = np.empty((min(_TILE_ROWS, An.shape[0]), min(_TILE_COLS, Bn.shape[0])))
    for i0, i1 in tiles:
        _tile_rows(i0, i1, scale_rows, An, Bn, scale_cols, shift, out, tile)


def _fill_two_slope(A, B, na, nb, act: Activation, out):
    """out <- the two-slope kernel matrix. The rows are cut in tiles of _TILE_ROWS from row 0
    whatever the number of threads (so the Gram products, and the values, are the same bits);
    each thread takes a run of tiles and does its own Gram products with BLAS limited to one
    thread: a threaded BLAS would leave its workers spinning while the passes run."""
    from threadpoolctl import threadpool_limits

    a, b = act.two_slope
    curv = 2.0 * b * b / math.pi
    shift = math.pi * (a * a + b * b) / (2.0 * b * b)
    An, Bn = _normalized(A, na), _normalized(B, nb)
    rows = An.shape[0]
    tiles = [(i0, min(i0 + _TILE_ROWS, rows)) for i0 in range(0, rows, _TILE_ROWS)]
    threads = min(_THREADS_NOW[-1] if _THREADS_NOW else _THREADS, len(tiles))
    scale_rows = curv * na
    with threadpool_limits(limits=1, user_api="blas"):
        if threads <= 1:
            _two_slope_worker(An, Bn, tiles, scale_rows, nb, shift, out)
            return
        runs = [list(r) for r in np.array_split(np.arange(len(tiles)), threads)]
        jobs = [_pool().submit(_two_slope_worker, An, Bn, [tiles[k] for k in run], scale_rows, nb, shift, out)
                for run in runs if len(run)]
        for job in jobs:
            job.result()


def kernel_block(act: Activation, A: np.ndarray, B: np.ndarray, qa=None, qb=None, out=None,
                 diag_offset: int | None = None) -> np.ndarray:
    """The kernel matrix between the rows of A (n x d) and of B (m x d), computed in one block.

    qa, qb: the squared row norms if known (saves a pass); out: an n x m float64 array to fill.
    diag_offset: when row i of A is row i + diag_offset of B (a block of K_AA), the inner product
    of those pairs is set to qa exactly: the Gram product may differ from the row norm by an ulp,
    which step and sign (dk/dc unbounded at rho = 1) turn into an error of order sqrt(ulp).
    """
    qa = row_norms_sq(A) if qa is None else qa
    qb = row_norms_sq(B) if qb is None else qb
    if act.two_slope is not None and act.two_slope[1] != 0:
        # The Gram product of the normalized rows gives the cosines directly.
        out = np.empty((A.shape[0], B.shape[0])) if out is None else out
        _fill_two_slope(A, B, np.sqrt(qa), np.sqrt(qb), act, out)
        return out
    C = np.matmul(A, B.T, out=out)
    if diag_offset is not None:
        n = min(A.shape[0], B.shape[0] - diag_offset)
        if n > 0:
            idx = np.arange(n)
            C[idx, idx + diag_offset] = qa[:n]
    if act.two_slope is not None:  # linear: k = (a^2) c
        C *= act.two_slope[0] ** 2
        return C
    if act.k64 is not None:
        C[...] = act.k64(qa[:, None], qb[None, :], C)
        return C
    from verify.kernels.quadrature import kernel_quad64

    C[...] = kernel_quad64(act, qa[:, None], qb[None, :], C)
    return C


def kernel_matrix(act: Activation, A: np.ndarray, B: np.ndarray | None = None, *, block_rows: int = 1024,
                  out: np.ndarray | None = None) -> np.ndarray:
    """K_AB (or K_AA when B is None), computed in blocks of rows to bound the temporaries.

    out: an n x m float64 C-contiguous array to fill (saves the allocation and its page faults).
    """
    A = np.ascontiguousarray(A, dtype=float)
    B = A if B is None else np.ascontiguousarray(B, dtype=float)
    qa, qb = row_norms_sq(A), row_norms_sq(B)
    if out is None:
        out = np.empty((A.shape[0], B.shape[0]))
        # Fault the pages in here, in one thread: first touches from the worker threads contend
        # for the kernel's page tables and made the call's time erratic.
        out.fill(0.0)
    elif out.shape != (A.shape[0], B.shape[0]) or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous float64 array of shape (len(A), len(B))")
    if act.two_slope is not None and act.two_slope[1] != 0:
        # One call: it tiles the product itself, and its temporaries are the normalized rows and
        # one tile per thread (normalizing B once, not once per block of rows).
        _fill_two_slope(A, B, np.sqrt(qa), np.sqrt(qb), act, out)
        return out
    for i0 in range(0, A.shape[0], block_rows):
        i1 = min(i0 + block_rows, A.shape[0])
        kernel_block(act, A[i0:i1], B, qa[i0:i1], qb, out=out[i0:i1], diag_offset=i0 if B is A else None)
    return out
