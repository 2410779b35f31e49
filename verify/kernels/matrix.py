r"""Kernel matrices [K_AB]_ij = k_sigma(||A_i||^2, ||B_j||^2, <A_i, B_j>) between two point sets.

The Gram product A B^T is one BLAS call per block of rows; what follows it decides the speed.
For the two-slope family sigma(z) = a z + b |z| (ReLU, leaky ReLU, abs; b != 0) the kernel is

    k = p [ (a^2 + b^2) rho + (2 b^2 / pi) (sqrt(1 - rho^2) - rho theta) ]
      = (2 b^2 / pi) p [ sqrt(1 - rho^2) + rho (pi (a^2 + b^2) / (2 b^2) - theta) ],
    p = ||A_i|| ||B_j||,  rho = <A_i, B_j> / p,  theta = atan2(sqrt(1 - rho^2), rho),

(MATH.md section 2, rewritten with arcsin rho = pi/2 - theta). The rows are normalized before
the Gram product, which then yields rho itself; the rest runs fused and in place on cache-sized
chunks, ten numpy passes. Each thread owns a band of rows and alternates small Gram products
(BLAS held to one thread by threadpoolctl) with the fused passes (numpy releases the GIL).
It uses arctan2, which numpy vectorizes with SIMD, not arccos, which it does not. At rho = -1 and 1 it gives exactly 0 and p/2 for ReLU.

Accuracy: about 1e-15 p absolute. That matches the Gram product's own rounding (|fl(<A_i, B_j>)
- <A_i, B_j>| ~ d eps ||A_i|| ||B_j||), so nothing is lost against the relatively accurate
scalar path of `activations.py`, which `kernel()` uses for individual triples. Other activations
go through their broadcasting closed form, or the float64 quadrature, block by block.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from verify.kernels.activations import Activation

_CHUNK = 65536  # elements per fused chunk (512 KiB per temporary; measured best here among 4K..64K)
_THREADS = max(1, min(4, os.cpu_count() or 1))
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="verify-kernel")
    return _POOL


def row_norms_sq(X: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", X, X)


def _two_slope_rows(R, scale_rows, scale_cols, shift):
    """In place: R (rows x m cosines rho) becomes scale_i scale_j (sqrt(1 - rho^2) + rho (shift - theta)).

    With theta = atan2(sqrt(1 - rho^2), rho), shift = pi (a^2 + b^2) / (2 b^2) and the scales
    carrying 2 b^2 / pi and the norms, this is the two-slope kernel; ten passes per chunk.
    """
    m = R.shape[1]
    step = max(1, _CHUNK // max(m, 1))
    s = np.empty((step, m))
    th = np.empty((step, m))
    for r0 in range(0, R.shape[0], step):
        r1 = min(r0 + step, R.shape[0])
        k = r1 - r0
        r, t, a = R[r0:r1], s[:k], th[:k]
        np.clip(r, -1.0, 1.0, out=r)
        np.multiply(r, r, out=t)
        np.subtract(1.0, t, out=t)
        np.sqrt(t, out=t)
        np.arctan2(t, r, out=a)
        np.subtract(shift, a, out=a)
        a *= r
        a += t
        a *= scale_rows[r0:r1, None]
        np.multiply(a, scale_cols, out=r)


def _normalized(X: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """Rows divided by their norms (zero rows stay zero, so that rho = 0 and the kernel is 0)."""
    with np.errstate(divide="ignore"):
        inv = np.where(norms > 0, 1.0 / norms, 0.0)
    return X * inv[:, None]


_SUB_ROWS = 64  # rows per Gram sub-block: its output (64 x m) is still warm in cache for the fused pass


def _two_slope_worker(An, Bn, scale_rows, scale_cols, shift, out):
    """One thread's share: Gram sub-blocks (single-threaded BLAS) each followed by the fused pass."""
    for r0 in range(0, An.shape[0], _SUB_ROWS):
        r1 = min(r0 + _SUB_ROWS, An.shape[0])
        R = np.matmul(An[r0:r1], Bn.T, out=out[r0:r1])
        _two_slope_rows(R, scale_rows[r0:r1], scale_cols, shift)


def _fill_two_slope(A, B, na, nb, act: Activation, out):
    """out <- the two-slope kernel matrix. Each thread owns a band of rows and does its own Gram
    products with BLAS limited to one thread: a threaded BLAS would leave its workers spinning
    while numpy's passes run, which costs a third of the time on two cores (measured)."""
    from threadpoolctl import threadpool_limits

    a, b = act.two_slope
    curv = 2.0 * b * b / math.pi
    shift = math.pi * (a * a + b * b) / (2.0 * b * b)
    An, Bn = _normalized(A, na), _normalized(B, nb)
    rows = An.shape[0]
    parts = max(1, min(_THREADS, -(-rows // _SUB_ROWS)))
    bounds = np.linspace(0, rows, parts + 1).astype(int)
    with threadpool_limits(limits=1, user_api="blas"):
        jobs = [
            _pool().submit(_two_slope_worker, An[i0:i1], Bn, curv * na[i0:i1], nb, shift, out[i0:i1])
            for i0, i1 in zip(bounds[:-1], bounds[1:])
            if i1 > i0
        ]
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
    for i0 in range(0, A.shape[0], block_rows):
        i1 = min(i0 + block_rows, A.shape[0])
        kernel_block(act, A[i0:i1], B, qa[i0:i1], qb, out=out[i0:i1], diag_offset=i0 if B is A else None)
    return out
