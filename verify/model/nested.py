r"""Exact L_n for every prefix of one target draw, and unbiased estimates of the mean-field terms.

A target of width N_max drawn i.i.d. contains targets of every width n <= N_max: its first n
neurons are a draw of width n. One pass over the blocks of K_WW therefore gives the exact
L_n(b, V) at a whole grid of n for the price of the largest (MATH.md section 3):

    T(n) = sum_{i, j < n} a_i a_j k(w_i, w_j),   X(n) = sum_{i < n} a_i sum_j b_j k(w_i, v_j),
    L_n = T(n) / n^2 - 2 X(n) / n + b^T K_VV b.

The same pass gives the U-statistics of section 4 (any xi law: only independence is used):

    D^(n) = (1/n) sum_{i < n} a_i^2 k(w_i, w_i)                          unbiased for D,
    S^(n) = (T(n) - n D^(n)) / (n (n - 1))                              unbiased for S_inf,
    L^_inf = S^(N_max) - 2 X(N_max) / N_max + b^T K_VV b               unbiased for L_inf,

and an unbiased estimate of tau^2 = 4 Var[a (F(w) - G(w))] = 4 (E[a^2 (F - G)^2] - m^2),
m = E[a (F - G)], from the row sums r_i = sum_{j != i} a_j k_ij and q_i = sum_{j != i} a_j^2 k_ij^2
(every product of kernels below runs over distinct indices, so its expectation factorizes):

    E[a^2 F^2]  <- mean_i a_i^2 (r_i^2 - q_i) / ((N - 1)(N - 2))
    E[a^2 F G]  <- mean_i a_i^2 g_i r_i / (N - 1),      E[a^2 G^2] <- mean_i a_i^2 g_i^2
    m^2 = S^2 - 2 S E[a G] + E[a G]^2 with S = E[a F] = E[a_i a_j k_ij]:
      S^2      <- (P^2 - 2 sum_i a_i^2 q_i - 4 sum_i a_i^2 (r_i^2 - q_i)) / (N)_4,   P = sum_i a_i r_i,
      S E[aG]  <- (P sum_k a_k g_k - 2 sum_i a_i^2 g_i r_i) / (N)_3,
      E[aG]^2  <- ((sum_k a_k g_k)^2 - sum_k a_k^2 g_k^2) / (N)_2,

with (N)_k the falling factorial (g_i = G(w_i)). A plug-in variance of leave-one-out row means
would be biased by O(1/N) relative to Var F, which exceeds tau^2 by an order of magnitude when F
and G nearly cancel (a 0.5% bias at N = 3000 was measured before this estimator replaced it).
These are estimates, with error bars from independent draws; for gaussian xi the
low-dimensional quadratures of `meanfield` and `fluctuations` give the same quantities exactly,
and the tests compare them.

The segments between consecutive n of the grid are cut into blocks that fit `MEMORY_BUDGET`;
each block of the upper triangle is computed once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.errors import InputError
from verify.kernels import Activation, get_activation, kernel_block, row_norms_sq
from verify.model.finite import block_size, cross_matrix


@dataclass(frozen=True)
class PrefixTerms:
    """The b, V-independent sums of one target draw at the widths `ns` (ascending)."""

    ns: np.ndarray  # widths n (ascending; the last is the draw's width)
    T: np.ndarray  # sum_{i, j < n} a_i a_j k_ij
    diag: np.ndarray  # sum_{i < n} a_i^2 k_ii
    row: np.ndarray | None  # sum_{j != i} a_j k_ij over the full draw (N_max,)
    row_sq: np.ndarray | None  # sum_{j != i} a_j^2 k_ij^2 over the full draw (N_max,)

    @property
    def N(self) -> int:
        return int(self.ns[-1])

    def S_hat(self) -> np.ndarray:
        """The U-statistic for S_inf at each n (n >= 2)."""
        n = self.ns.astype(float)
        return (self.T - self.diag) / (n * (n - 1))

    def D_hat(self) -> np.ndarray:
        return self.diag / self.ns


def _segments(ns: np.ndarray, B: int) -> list[tuple[int, int, int]]:
    """Blocks (start, stop, segment index) of at most B rows, never straddling a grid point."""
    out, lo = [], 0
    for k, hi in enumerate(ns):
        for s in range(lo, hi, B):
            out.append((s, min(s + B, hi), k))
        lo = hi
    return out


def prefix_terms(act: Activation | str, a: np.ndarray, W: np.ndarray, ns, *, rows: bool = False,
                 progress=None) -> PrefixTerms:
    """T(n) and the diagonal sums at every n in `ns` (and the row sums when `rows`), one pass."""
    act = get_activation(act)
    W = np.ascontiguousarray(W, dtype=float)
    a = np.asarray(a, dtype=float)
    N = W.shape[0]
    ns = np.array(sorted(set(int(n) for n in ns)), dtype=np.int64)
    if a.shape != (N,) or ns.size == 0 or ns[0] < 2 or ns[-1] != N:
        raise InputError(f"need widths 2 <= n <= N with the largest equal to N = {N}, and a of shape ({N},)")
    q = row_norms_sq(W)
    B = min(N, block_size(min(N, 4096)))
    blocks = _segments(ns, B)
    m = ns.size
    seg = np.zeros((m, m))
    diag_vals = np.empty(N)
    row = np.zeros(N) if rows else None
    row_sq = np.zeros(N) if rows else None
    a2 = a * a
    buf = np.empty(B * B)
    for bi, (i0, i1, si) in enumerate(blocks):
        for j0, j1, sj in blocks[bi:]:
            out = buf[: (i1 - i0) * (j1 - j0)].reshape(i1 - i0, j1 - j0)
            K = kernel_block(act, W[i0:i1], W[j0:j1], q[i0:i1], q[j0:j1], out=out)
            Ka = K @ a[j0:j1]
            contrib = float(a[i0:i1] @ Ka)
            same = j0 == i0
            if same:
                seg[si, si] += contrib
                diag_vals[i0:i1] = np.diagonal(K)
            else:
                seg[si, sj] += contrib
                seg[sj, si] += contrib
            if rows:
                row[i0:i1] += Ka
                if not same:
                    row[j0:j1] += a[i0:i1] @ K
                K2 = np.multiply(K, K, out=K)
                row_sq[i0:i1] += K2 @ a2[j0:j1]
                if not same:
                    row_sq[j0:j1] += a2[i0:i1] @ K2
        if progress is not None:
            progress((bi + 1) / len(blocks))
    T = np.array([seg[: k + 1, : k + 1].sum() for k in range(m)])
    dsum = np.cumsum(a2 * diag_vals)[ns - 1]
    if rows:
        row -= a * diag_vals
        row_sq -= a2 * diag_vals**2
    return PrefixTerms(ns, T, dsum, row, row_sq)


@dataclass(frozen=True)
class PrefixLosses:
    """L_n at the widths `ns` for one draw and one compressed network, with the draw's estimates."""

    ns: np.ndarray
    L: np.ndarray  # exact L_n(b, V) of the prefix of width n
    L_inf_hat: float  # unbiased estimate of L_inf(b, V) from the whole draw
    S_hat: float  # U-statistic for S_inf
    D_hat: float  # unbiased estimate of D
    tau2_hat: float | None  # estimate of tau^2(b, V) (None without row sums)


def prefix_losses(terms: PrefixTerms, act: Activation | str, a: np.ndarray, W: np.ndarray, b, V) -> PrefixLosses:
    """Combine the b, V-independent sums with the cheap N x M cross terms."""
    act = get_activation(act)
    b = np.asarray(b, dtype=float)
    V = np.asarray(V, dtype=float)
    if V.ndim != 2 or b.shape != (V.shape[0],) or V.shape[1] != W.shape[1]:
        raise InputError(f"b must be (M,) and V (M, {W.shape[1]}); got {b.shape} and {V.shape}")
    Kwv = cross_matrix(act, W, V)  # N x M
    g = Kwv @ b  # G(w_i)
    X = np.cumsum(a * g)[terms.ns - 1]
    Y = float(b @ kernel_block(act, V, V) @ b)
    n = terms.ns.astype(float)
    L = terms.T / n**2 - 2.0 * X / n + Y
    N = terms.N
    S_hat = float(terms.S_hat()[-1])
    D_hat = float(terms.D_hat()[-1])
    L_inf_hat = S_hat - 2.0 * float(X[-1]) / N + Y
    t2 = tau2_unbiased(terms, a, g) if terms.row is not None and N >= 4 else None
    return PrefixLosses(terms.ns, L, L_inf_hat, S_hat, D_hat, t2)


def tau2_unbiased(terms: PrefixTerms, a: np.ndarray, g: np.ndarray) -> float:
    """The unbiased estimate of tau^2 of the module docstring, from one draw of width N >= 4."""
    N = terms.N
    r, q = terms.row, terms.row_sq
    a2 = a * a
    n2, n3, n4 = N * (N - 1.0), N * (N - 1.0) * (N - 2.0), N * (N - 1.0) * (N - 2.0) * (N - 3.0)
    pair = r * r - q  # sum over j != l (both != i) of a_j a_l k_ij k_il
    eF2 = float(np.mean(a2 * pair)) / ((N - 1.0) * (N - 2.0))
    eFG = float(np.mean(a2 * g * r)) / (N - 1.0)
    eG2 = float(np.mean(a2 * g * g))
    P = float(a @ r)
    ag = float(a @ g)
    S2 = (P * P - 2.0 * float(a2 @ q) - 4.0 * float(a2 @ pair)) / n4
    SG = (P * ag - 2.0 * float(a2 @ (g * r))) / n3
    G2 = (ag * ag - float(a2 @ (g * g))) / n2
    return 4.0 * ((eF2 - 2.0 * eFG + eG2) - (S2 - 2.0 * SG + G2))
