r"""The fused pass of the two-slope kernel matrix, compiled with numba: one read and one write per entry.

After the Gram product of the normalized rows, each entry rho becomes

    scale_i scale_j g(rho),   g(rho) = sqrt(1 - rho^2) + rho (shift - arccos rho)

(`verify.kernels.matrix`; shift = pi for ReLU). numpy needs ten passes and a libm arctan2 for
that. Here it is one loop that LLVM vectorizes, because it calls no libm function: g is one
polynomial on [0, 1/4] plus one hardware square root, by the half-angle reduction
(arccos r = 2 arcsin sqrt((1 - r)/2), as in the Cephes `asin`, https://www.netlib.org/cephes/;
Abramowitz and Stegun 4.4.32):

    |rho| <= 1/2:  g = c_mid rho + G(rho^2),          G(z) = sqrt(1 - z) + sqrt(z) asin sqrt(z)
    |rho| >  1/2:  g = c rho + x h H(h),  h = (1 - |rho|)/2,  x = sqrt(h),
                   H(h) = 2 (sqrt(1 - h) - (1 - 2 h) asin(sqrt h) / sqrt h) / h

with c_mid = shift - pi/2, c = shift for rho > 1/2 and shift - pi for rho < -1/2 (both sides give
the same H: write rho = +-(1 - 2h) and arccos rho = 2 asin x or pi - 2 asin x). h is exact
((1 - |rho|)/2 by Sterbenz's lemma), and for ReLU c = 0 exactly below -1/2, so near rho = -1 the
value is x h H(h) = (2 sqrt 2 / 3)(1 + rho)^{3/2} (1 + O(1 + rho)) with full relative accuracy,
and g(-1) = 0 exactly; no cancellation anywhere.

G and H are degree-11 interpolants at the Chebyshev nodes of [0, 1/4], computed in 50-digit mpmath
by `fit_coefficients` (float64 Horner values within 1.4e-16 of G, absolutely, and of H, relatively).
One Horner chain serves both branches, each step choosing its coefficient per lane. Error of the
pass: a few 1e-16 absolute on g, whose values lie in [0, shift + pi/2] (tests/test_fused.py, against
arccos at 60 digits); the accuracy contract of the kernel matrix is 1e-14 p.

AVX-512: LLVM keeps to 256-bit vectors on CPUs where it prefers them (`prefer-256-bit`); this
pass is 1.5x faster with 512-bit vectors on this machine (1.03 ns against 1.53 ns per entry), so the
first compilation in the process asks for the host's own features without that preference (no
instruction the host lacks; `_host_features`).
"""

from __future__ import annotations

import math

import numpy as np

DEGREE = 11
# Monomial coefficients (constant term first) of fit_coefficients(DEGREE); tests/test_fused.py regenerates them.
G_COEFFS = (1.0, 0.5000000000000095, 0.041666666664851706, 0.012500000134601534, 0.005580352004755694,
            0.0030383096409810147, 0.001862719083762993, 0.0012544925132657696, 0.0007816435696105663,
            0.0009995711979321447, -0.0003650433875102905, 0.0014270730562764029)
H_COEFFS = (2.6666666666666665, 0.26666666666672806, 0.08571428570262438, 0.03968254054727986, 0.022095926591805978,
            0.013768222303426255, 0.009244359247478703, 0.006668007159892375, 0.004279310461599025,
            0.006011138119383866, -0.0025388925418723626, 0.00900713069799123)

_PI = math.pi


def fit_coefficients(degree: int = DEGREE, dps: int = 50) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(G, H) monomial coefficients of the degree-`degree` interpolants at the Chebyshev nodes of
    [0, 1/4], solved in `dps`-digit mpmath and rounded to float64."""
    import mpmath as mp

    with mp.workdps(dps):
        a, b = mp.mpf(0), mp.mpf(1) / 4
        nodes = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (k + mp.mpf(1) / 2) / (degree + 1)) for k in range(degree + 1)]
        vander = mp.matrix([[t**j for j in range(degree + 1)] for t in nodes])

        def g(z):
            x = mp.sqrt(z)
            return mp.sqrt(1 - z) + x * mp.asin(x)

        def h(z):
            x = mp.sqrt(z)
            return 2 * (mp.sqrt(1 - z) - (1 - 2 * z) * mp.asin(x) / x) / z

        return tuple(tuple(float(c) for c in mp.lu_solve(vander, mp.matrix([f(t) for t in nodes]))) for f in (g, h))


def _host_features() -> None:
    """Before numba's first compilation in this process: the host's CPU name and features, less the
    `prefer-256-bit` tuning (only a preference; no instruction is added). No effect once numba
    has compiled something (its target machine is then fixed)."""
    import llvmlite.binding as llvm
    from numba.core import config

    if config.CPU_FEATURES is None and config.CPU_NAME is None:
        config.CPU_NAME = llvm.get_host_cpu_name()
        config.CPU_FEATURES = llvm.get_host_cpu_features().flatten() + ",-prefer-256-bit"


def _compile():
    _host_features()
    from numba import njit

    G, H, n = G_COEFFS, H_COEFFS, len(G_COEFFS)

    @njit(inline="always")
    def poly(z, big):
        """Horner over both coefficient sets; each step picks H's (big) or G's coefficient. The
        tuples are compile-time constants and the loop is unrolled."""
        v = H[n - 1] if big else G[n - 1]
        for k in range(n - 2, -1, -1):
            v = v * z + (H[k] if big else G[k])
        return v

    @njit(nogil=True, fastmath={"contract"})
    def fused(T, out, r0, c0, scale_rows, scale_cols, shift):
        n, m = T.shape
        c_hi, c_lo, c_mid = shift, shift - _PI, shift - 0.5 * _PI
        for i in range(n):
            si = scale_rows[r0 + i]
            src = T[i]
            dst = out[r0 + i]
            for j in range(m):
                r = src[j]
                r = -1.0 if r < -1.0 else (1.0 if r > 1.0 else r)
                ar = abs(r)
                h = (1.0 - ar) * 0.5
                big = ar > 0.5
                v = poly(h if big else r * r, big)
                w = math.sqrt(h) * h * v if big else v
                c = c_hi if r > 0.5 else (c_lo if r < -0.5 else c_mid)
                dst[c0 + j] = ((w + r * c) * si) * scale_cols[c0 + j]

    return fused


_PASS = None


def two_slope_pass(T: np.ndarray, out: np.ndarray, r0: int, c0: int, scale_rows: np.ndarray, scale_cols: np.ndarray,
                   shift: float) -> None:
    """out[r0 + i, c0 + j] = scale_rows[r0 + i] scale_cols[c0 + j] g(rho), rho = T[i, j] clipped to [-1, 1].

    T: a tile of cosines (C-contiguous rows; T may be that region of out itself), out: C-contiguous
    float64. The call releases the GIL. Compiled on first use in the process (~0.6 s)."""
    global _PASS
    if _PASS is None:
        _PASS = _compile()
    _PASS(T, out, int(r0), int(c0), scale_rows, scale_cols, float(shift))
