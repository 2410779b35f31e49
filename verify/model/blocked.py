r"""The exact L_N of a target given by its law and seed, as independent blocks (for large N, on Dask).

A target of width N is never stored: it is defined by (law, N, seed, chunk). Rows c chunk ..
(c + 1) chunk - 1 (a_i and w_i) are drawn with numpy `default_rng([seed, c])`, so any process can
draw any chunk by itself. A million-neuron target is then a few numbers, not a 2 GB file.

    L_N = u^T K_WW u - 2 u^T K_WV b + b^T K_VV b,   u = a / N

(MATH.md section 3). The O(N^2) term is a sum over the upper triangle of chunk pairs (ci <= cj),
each block computed once and counted twice off the diagonal. The cross term rides on the
diagonal blocks. Each block returns its float64 contribution, and the contributions are added with
`math.fsum`, which is correctly rounded (Shewchuk's algorithm). The result is therefore the same
bits whatever the order in which the blocks finish, and whatever runs them: this process
(`evaluate`), or the tasks of a dask cluster (`block_calls` / `reduce` driven by the command line).

Against the one-process `verify.model.finite.loss` of the same rows (other blocks, a plain sum),
the two agree to ~1e-15 relative (tests/test_blocked.py asks 1e-13 at N = 2e4, d = 256).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from verify.errors import InputError
from verify.kernels import get_activation, kernel_block, row_norms_sq
from verify.model.networks import TargetLaw, TwoLayerNetwork, mu_along_e1

CHUNK = 4096  # rows per chunk: a block is 4096 x 4096 (128 MiB), ~0.2 s at d = 256 on one core
N_MAX = 10**7


@dataclass(frozen=True)
class LawTarget:
    """A target network of width N drawn from `law` chunk by chunk (module doc)."""

    law: TargetLaw
    N: int
    seed: int
    chunk: int = CHUNK

    def __post_init__(self):
        if not isinstance(self.N, (int, np.integer)) or not 1 <= self.N <= N_MAX:
            raise InputError(f"N must be an integer in [1, {N_MAX:.0e}], got {self.N!r}")
        if not isinstance(self.chunk, (int, np.integer)) or not 16 <= self.chunk <= 65536:
            raise InputError(f"chunk must be an integer in [16, 65536], got {self.chunk!r}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise InputError(f"seed must be a non-negative integer, got {self.seed!r}")
        act = self.law.activation
        if act.two_slope is None and act.k64 is None:
            raise InputError(f"{act.label} has no closed-form kernel; the blocked L_N needs one")

    @property
    def chunks(self) -> int:
        return -(-self.N // self.chunk)

    def rows(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """(u, W) of chunk c: u = a / N as `TwoLayerNetwork.effective_weights` forms it."""
        if not 0 <= c < self.chunks:
            raise InputError(f"chunk {c} out of range [0, {self.chunks})")
        law = self.law
        n = min(self.chunk, self.N - c * self.chunk)
        rng = np.random.default_rng([int(self.seed), int(c)])
        W = law.mu[None, :] + (law.s / math.sqrt(law.d)) * law.sample_xi(rng, (n, law.d))
        a = law.abar + math.sqrt(law.var_a) * rng.standard_normal(n) if law.var_a > 0 else np.full(n, float(law.abar))
        return (1.0 / self.N) * a, W

    def network(self) -> TwoLayerNetwork:
        """The whole target in memory (the one-process reference; small N only)."""
        parts = [self.rows(c) for c in range(self.chunks)]
        W = np.concatenate([p[1] for p in parts])
        a = np.concatenate([p[0] for p in parts]) * self.N  # back to the raw a_i; scale 1/N as sample() has it
        return TwoLayerNetwork(a, W, self.law.activation, scale=1.0 / self.N)


def block_term(target: LawTarget, ci: int, cj: int, b: np.ndarray, V: np.ndarray) -> tuple[float, float]:
    """(self part, cross part) of one block: 2 u_i^T K(W_i, W_j) u_j off the diagonal, u_i^T K u_i on
    it, and, on the diagonal only, u_i^T K(W_i, V) b."""
    act = target.law.activation
    ui, Wi = target.rows(ci)
    uj, Wj = (ui, Wi) if cj == ci else target.rows(cj)
    K = kernel_block(act, Wi, Wj, diag_offset=0 if ci == cj else None)
    s = float(ui @ (K @ uj))
    if ci != cj:
        return 2.0 * s, 0.0
    return s, float(ui @ (kernel_block(act, Wi, V, None, row_norms_sq(V)) @ b))


def block_calls(target: LawTarget, b: np.ndarray, V: np.ndarray) -> dict[str, tuple]:
    """{"ci,cj": args of block_term} over the upper triangle, row by row."""
    n = target.chunks
    return {f"{i},{j}": (target, i, j, b, V) for i in range(n) for j in range(i, n)}


@dataclass(frozen=True)
class BlockedLoss:
    loss: float
    target_term: float
    cross_term: float
    compressed_term: float
    blocks: int


def reduce(parts: list[tuple[float, float]], target: LawTarget, b: np.ndarray, V: np.ndarray) -> BlockedLoss:
    """L_N from the blocks' contributions (any order: math.fsum is correctly rounded)."""
    T = math.fsum(p[0] for p in parts)
    X = math.fsum(p[1] for p in parts)
    act = target.law.activation
    Y = float(b @ kernel_block(act, V, V, diag_offset=0) @ b)
    return BlockedLoss(math.fsum([T, -2.0 * X, Y]), T, X, Y, len(parts))


def check_network(target: LawTarget, b, V) -> tuple[np.ndarray, np.ndarray]:
    b, V = np.asarray(b, dtype=float), np.asarray(V, dtype=float)
    if V.ndim != 2 or V.shape[1] != target.law.d or b.shape != (V.shape[0],):
        raise InputError(f"the compressed network must have b (M,) and V (M, {target.law.d}); got b {b.shape}, V {V.shape}")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(V))):
        raise InputError("the compressed network has non-finite entries")
    return b, V


def evaluate(target: LawTarget, b, V, progress=None) -> BlockedLoss:
    """Every block in this process, one after another (`progress(fraction)` after each)."""
    b, V = check_network(target, b, V)
    calls = block_calls(target, b, V)
    parts = []
    for k, args in enumerate(calls.values(), 1):
        parts.append(block_term(*args))
        if progress is not None:
            progress(k / len(calls))
    return reduce(parts, target, b, V)


def law_target(xi: str, N: int, d: int, seed: int, *, mu_norm: float = 1.0, s: float = 1.0, abar: float = 1.0,
               var_a: float = 0.0, sparsity: float = 0.1, activation: str = "relu", chunk: int = CHUNK) -> LawTarget:
    """The target law of MATH.md section 1 with mu = mu_norm e_1, as the command line gives it."""
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise InputError(f"d must be a positive integer, got {d!r}")
    law = TargetLaw(d=d, mu=mu_along_e1(d, mu_norm), s=s, abar=abar, var_a=var_a, xi=xi, sparsity=sparsity,
                    activation=get_activation(activation))
    return LawTarget(law, N, seed, chunk)
