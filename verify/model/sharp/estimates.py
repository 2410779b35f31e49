r"""Unbiased estimates of L_inf(b, V) for a non-gaussian xi law, with control variates, so that the
law's kappa4 term of the sharp constant (kappa4 c_kappa / d) can be measured at moderate d.

Each draw of `width` target neurons (numpy default_rng(seed), `TargetLaw.sample`) gives the
U-statistic L^_inf of `verify.model.nested` (unbiased for L_inf under any xi law). Most of its
variance is the Hajek projection (2/n) sum_i (H(w_i) - E H), whose first-order part is linear in
delta_i = w_i - mu projected on span(mu, v_1..v_M) and in ||delta_i||^2 - s^2 (docs/sharp-constants.md,
tau2 step). Their draw means C = (mean_i Q^T delta_i, mean_i (||delta_i||^2 - s^2)) have mean ZERO
exactly under every law of MATH.md section 1 (E xi = 0, E ||xi||^2 = d), so they are valid control
variates whatever the derivation says: they reduce the variance without assuming the result.
"""

from __future__ import annotations

import numpy as np

from verify.errors import InputError


def span_basis(mu: np.ndarray, V: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Orthonormal basis (d x k) of span(mu, v_1, .., v_M) (rank-revealing SVD)."""
    A = np.vstack([mu[None, :], V]) if np.any(mu) else np.asarray(V, dtype=float)
    U, sv, _ = np.linalg.svd(A.T, full_matrices=False)
    r = int(np.sum(sv > tol * sv[0])) if sv.size and sv[0] > 0 else 0
    return U[:, :r]


def law_estimates(law, b, V, width: int, seeds, progress=lambda msg: None) -> tuple[np.ndarray, np.ndarray]:
    """(L^_inf per draw (T,), control variates per draw (T, k + 1)) for the draws of `seeds`."""
    from verify.model.nested import prefix_losses, prefix_terms

    if width < 2:
        raise InputError(f"width = {width}: the U-statistic needs at least 2 neurons per draw")
    b = np.asarray(b, dtype=float)
    V = np.asarray(V, dtype=float)
    Q = span_basis(law.mu, V)
    L = np.empty(len(seeds))
    C = np.empty((len(seeds), Q.shape[1] + 1))
    for i, seed in enumerate(seeds):
        if i % max(1, len(seeds) // 5) == 0:
            progress(f"draw {i + 1}/{len(seeds)} (width {width}, d = {law.d}, xi = {law.xi})")
        t = law.sample(width, seed)
        terms = prefix_terms(law.activation, t.weights, t.inner, [width])
        L[i] = prefix_losses(terms, law.activation, t.weights, t.inner, b, V).L_inf_hat
        delta = t.inner - law.mu[None, :]
        C[i, :-1] = (delta @ Q).mean(axis=0)
        C[i, -1] = float(np.mean(np.einsum("ij,ij->i", delta, delta))) - law.s**2
    return L, C
