r"""Structure of a compressed configuration (MATH.md section 6): is it a tilted simplex ETF, and around which axis?

For a configuration (b, V) with unit directions theta_j = v_j / ||v_j||, weights
beta_j = b_j ||v_j||, Gram matrix G = Theta Theta^T and mu_hat = mu / ||mu||:

- equiangular_error: max_{j != k} |G_jk - tbar|, tbar the mean off-diagonal inner product;
- axis: the unit vector along sum_j theta_j (for an equiangular configuration with
  tbar > -1/(M-1) the unique axis around which it is a tilted simplex; none when the sum vanishes,
  as for the centered simplex); tilts alpha_j = <theta_j, axis> and their spread;
- tightness_error: the components e_j = theta_j - alpha_j axis, normalized, form a tight frame on
  their span when the nonzero eigenvalues of their Gram matrix are equal (a regular simplex:
  M/(M-1), M-1 times); the relative spread of those eigenvalues;
- axis_alignment: |<axis, mu_hat>| (1 for the conjectured orientation);
- weight_spread: (max beta - min beta) / mean |beta|.

Classification (tolerance `tol`, default 1e-6: positions from a search stopped at gradient norm
1e-12 are accurate to ~1e-12 / lambda_min):
  "tilted-etf"       equiangular, tight, equal weights, axis = hat(mu) (or the centered simplex
                     when mu = 0; for mu = 0 every axis is equivalent);
  "etf-other-axis"   equiangular, tight, equal weights, but the axis is not hat(mu);
  "other"            anything else, described: neurons on +-hat(mu), the structure of the rest,
                     the number of distinct inner products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.errors import InputError


@dataclass(frozen=True)
class Structure:
    cls: str
    description: str
    equiangular_error: float
    tightness_error: float
    tilt_spread: float
    axis_alignment: float  # nan when mu = 0 or no axis
    weight_spread: float
    mean_inner_product: float
    tilts: tuple  # <theta_j, mu_hat> (mu != 0), sorted


def _distinct(values: np.ndarray, tol: float) -> int:
    v = np.sort(values)
    return int(1 + np.sum(np.diff(v) > tol)) if v.size else 0


def _equiangular_parts(theta: np.ndarray, tol: float):
    M = theta.shape[0]
    G = theta @ theta.T
    iu = np.triu_indices(M, 1)
    off = G[iu]
    tbar = float(off.mean()) if off.size else 1.0
    eq = float(np.max(np.abs(off - tbar))) if off.size else 0.0
    ssum = theta.sum(axis=0)
    ns = float(np.linalg.norm(ssum))
    axis = ssum / ns if ns > tol * M else None
    if axis is not None:
        alpha = theta @ axis
        E = theta - alpha[:, None] * axis[None, :]
    else:
        alpha = np.zeros(M)
        E = theta.copy()
    ne = np.linalg.norm(E, axis=1)
    if M >= 2 and np.all(ne > tol):
        E = E / ne[:, None]
        lam = np.linalg.eigvalsh(E @ E.T)[::-1][: M - 1]
        tight = float((lam.max() - lam.min()) / lam.mean()) if M > 2 else 0.0
    else:
        tight = 0.0 if M == 1 else np.inf
    spread = float(alpha.max() - alpha.min()) if M else 0.0
    return tbar, eq, axis, tight, spread


def classify(b, V, mu, *, tol: float = 1e-6) -> Structure:
    """The structure of the configuration (b, V) relative to mu (see the module docstring)."""
    b = np.asarray(b, dtype=float)
    V = np.asarray(V, dtype=float)
    mu = np.asarray(mu, dtype=float)
    if V.ndim != 2 or b.shape != (V.shape[0],) or mu.shape != (V.shape[1],):
        raise InputError(f"need b (M,), V (M, d) and mu (d,); got {b.shape}, {V.shape}, {mu.shape}")
    nv = np.linalg.norm(V, axis=1)
    if np.any(nv == 0) or not np.all(np.isfinite(V)):
        raise InputError("every v_j must be finite and non-zero")
    M = V.shape[0]
    theta = V / nv[:, None]
    beta = b * nv
    mbeta = float(np.mean(np.abs(beta)))
    wspread = float((beta.max() - beta.min()) / mbeta) if mbeta > 0 else 0.0
    mn = float(np.linalg.norm(mu))
    mu_hat = mu / mn if mn > 0 else None
    tbar, eq, axis, tight, spread = _equiangular_parts(theta, tol)
    align = float(abs(axis @ mu_hat)) if (axis is not None and mu_hat is not None) else float("nan")
    tilts = tuple(sorted(float(x) for x in theta @ mu_hat)) if mu_hat is not None else ()
    etf_like = eq <= tol and tight <= tol and wspread <= tol
    equal_tilts = mu_hat is not None and max(tilts) - min(tilts) <= tol
    # A centered simplex (no axis) is the tilt-0 member of the family around hat(mu) when its
    # tilts toward hat(mu) are all equal (all 0).
    if etf_like and (mu_hat is None or (axis is not None and align >= 1 - tol) or (axis is None and equal_tilts)):
        if mu_hat is None:
            desc = f"simplex ETF of {M}, common inner product {tbar:.6g}" + ("" if axis is None else f", tilted (tilt {float(theta[0] @ axis):.6g})")
        else:
            desc = f"tilted simplex ETF of {M} around hat(mu): tilt {float(theta[0] @ mu_hat):.6g}, inner product {tbar:.6g}"
        return Structure("tilted-etf", desc, eq, tight, spread, align, wspread, tbar, tilts)
    if etf_like:
        desc = f"simplex ETF of {M} (inner product {tbar:.6g}) around an axis at |cos| = {align:.4g} from hat(mu)" if axis is not None \
            else f"centered simplex ETF of {M} (inner product {tbar:.6g}), not tilted toward hat(mu)"
        return Structure("etf-other-axis", desc, eq, tight, spread, align, wspread, tbar, tilts)
    # Describe: neurons on +-hat(mu), and the structure of the rest.
    parts = []
    rest = np.arange(M)
    if mu_hat is not None:
        t = theta @ mu_hat
        on = np.flatnonzero(t >= 1 - tol)
        anti = np.flatnonzero(t <= -1 + tol)
        if on.size:
            parts.append(f"{on.size} neuron{'s' if on.size > 1 else ''} on hat(mu)")
        if anti.size:
            parts.append(f"{anti.size} on -hat(mu)")
        rest = np.setdiff1d(rest, np.concatenate([on, anti]))
    if 0 < rest.size < M and rest.size >= 2:
        tb2, eq2, ax2, tight2, _ = _equiangular_parts(theta[rest], tol)
        if eq2 <= tol and tight2 <= tol:
            al2 = abs(ax2 @ mu_hat) if (ax2 is not None and mu_hat is not None) else float("nan")
            where = "around hat(mu)" if al2 >= 1 - tol else "around another axis"
            parts.append(f"plus a simplex of {rest.size} {where} (inner product {tb2:.6g})")
        else:
            parts.append(f"plus {rest.size} neurons, not equiangular")
    G = theta @ theta.T
    k = _distinct(G[np.triu_indices(M, 1)], 1e3 * tol)
    parts.append(f"{k} distinct inner products; weights spread {wspread:.3g}")
    return Structure("other", "; ".join(parts), eq, tight, spread, align, wspread, tbar, tilts)
