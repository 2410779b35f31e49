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


# --------------------------------------------------------------------------------------------
# Configurations beyond the simplex (mu = 0, M > d + 1): a description in the manner of a table
# of spherical codes (used by the `beyond-simplex-table` claim kind).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeStructure:
    r"""What a configuration of M directions with weights looks like (mu = 0), see `describe_code`.

    name: the recognized configuration (congruent to a named one, one direction on each line of a
      named line system, an axial arrangement of regular polygons, an irregular polygon) or "other".
    description: one line: name, symmetry, inner products, frame, weights.
    rank: dimension of the span of the directions theta_j = v_j / ||v_j||.
    inner_products: ((value, multiplicity), ...): the distinct <theta_j, theta_k>, j < k, ascending.
    frame_eigenvalues: eigenvalues of the frame operator Theta^T Theta on the span, descending (they
      sum to M; the nonzero eigenvalues of the Gram matrix G = Theta Theta^T are the same numbers).
    tight: all frame eigenvalues equal M / rank (relative spread <= tol): a tight frame.
    antipodal_pairs: pairs with <theta_j, theta_k> = -1.
    symmetry_order: the number of permutations of the neurons that preserve G and the weights
      beta_j = b_j ||v_j||, i.e. the order of the group of orthogonal maps of the span that map the
      weighted configuration onto itself (G determines the configuration up to such maps); a lower
      bound when the enumeration stopped at its cap (symmetry_capped).
    rotations: how many of those maps have determinant +1.
    orbits: the sizes of the orbits of that group on the neurons, descending.
    weight_values: ((beta, multiplicity), ...) ascending; weight_spread = (max - min) / mean |beta|;
      one_signed: all beta_j > 0 or all beta_j < 0.
    """

    name: str
    description: str
    rank: int
    inner_products: tuple
    frame_eigenvalues: tuple
    tight: bool
    antipodal_pairs: int
    symmetry_order: int
    symmetry_capped: bool
    rotations: int
    orbits: tuple
    weight_values: tuple
    weight_spread: float
    one_signed: bool


def _grouped(values, tol: float) -> tuple:
    """Distinct values (clusters of sorted values with gaps <= tol, reported by their mean) and counts."""
    v = np.sort(np.asarray(values, dtype=float))
    if v.size == 0:
        return ()
    cuts = np.flatnonzero(np.diff(v) > tol) + 1
    return tuple((float(c.mean()), int(c.size)) for c in np.split(v, cuts))


def _matchings(A, B, wa, wb, tol: float, limit: int) -> list:
    """Permutations p (as tuples) with |A[i, k] - B[p[i], p[k]]| <= tol and |wa[i] - wb[p[i]]| <= tol for
    all i, k, by backtracking (candidates pruned by the sorted rows); at most `limit` of them."""
    M = A.shape[0]
    if B.shape != A.shape:
        return []
    ra, rb = np.sort(A, axis=1), np.sort(B, axis=1)
    cand = [[j for j in range(M) if abs(wa[i] - wb[j]) <= tol and np.max(np.abs(ra[i] - rb[j])) <= tol] for i in range(M)]
    if any(not c for c in cand):
        return []
    # Order: fewest candidates first, then always the point most constrained by those already placed.
    order = [min(range(M), key=lambda i: len(cand[i]))]
    rest = set(range(M)) - set(order)
    while rest:
        nxt = min(rest, key=lambda i: (len(cand[i]), -np.sum(np.abs(A[i, order]) > tol)))
        order.append(nxt)
        rest.remove(nxt)
    out: list = []
    p = np.full(M, -1)
    used = np.zeros(M, dtype=bool)

    def rec(t: int) -> None:
        if len(out) >= limit:
            return
        if t == M:
            out.append(tuple(int(x) for x in p))
            return
        i = order[t]
        prev = order[:t]
        for j in cand[i]:
            if used[j]:
                continue
            if t and np.max(np.abs(A[i, prev] - B[j, p[prev]])) > tol:
                continue
            p[i], used[j] = j, True
            rec(t + 1)
            p[i], used[j] = -1, False
            if len(out) >= limit:
                return

    rec(0)
    return out


def _unit_rows(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _one_per_line(X) -> np.ndarray:
    """One point of each antipodal pair of an antipodal set (the first nonzero coordinate positive)."""
    X = _unit_rows(X)
    keep = []
    for x in X:
        nz = np.flatnonzero(np.abs(x) > 1e-12)
        if x[nz[0]] > 0:
            keep.append(x)
    return np.array(keep)


def _named_points(M: int) -> list:
    """(name, unit points) of the well-known configurations with M points (any dimension)."""
    out = []
    ang = 2 * np.pi * np.arange(M) / M
    out.append((f"regular {M}-gon", np.column_stack([np.cos(ang), np.sin(ang)])))
    E = np.eye(M) - 1.0 / M  # regular simplex: e_i - centroid in R^M (rank M - 1)
    out.append((f"regular simplex of {M} points", E))
    if M % 2 == 0 and M >= 6:
        r = M // 2
        out.append((f"cross-polytope of R^{r}", np.vstack([np.eye(r), -np.eye(r)])))
    for r in (3, 4, 5):
        if M == 2 ** r:
            grid = np.array(np.meshgrid(*[[-1.0, 1.0]] * r)).reshape(r, -1).T
            out.append(("cube" if r == 3 else f"hypercube of R^{r}", grid))
    phi = (1 + 5 ** 0.5) / 2
    if M == 12:
        ico = [(0, a, b * phi) for a in (-1, 1) for b in (-1, 1)]
        ico = [tuple(np.roll(v, k)) for v in ico for k in range(3)]
        out.append(("icosahedron", np.array(ico)))
        cub = {tuple(np.roll((a, b, 0.0), k)) for a in (-1, 1) for b in (-1, 1) for k in range(3)}
        out.append(("cuboctahedron", np.array(sorted(cub))))
    if M == 20:
        dod = [(a, b, c) for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]
        dod += [tuple(np.roll((0, a / phi, b * phi), k)) for a in (-1, 1) for b in (-1, 1) for k in range(3)]
        out.append(("dodecahedron", np.array(dod, dtype=float)))
    if M == 24:
        out.append(("24-cell", _cell24()))
    return out


def _cell24() -> np.ndarray:
    pts = set()
    for i in range(4):
        for j in range(i + 1, 4):
            for a in (-1, 1):
                for b in (-1, 1):
                    x = [0.0] * 4
                    x[i], x[j] = a, b
                    pts.add(tuple(x))
    return np.array(sorted(pts))


def _named_lines(M: int) -> list:
    """(name, one unit vector per line) of the well-known line systems with M lines."""
    out = []
    ang = np.pi * np.arange(M) / M
    out.append((f"{M} equally spaced lines of the plane (regular {2 * M}-gon)", np.column_stack([np.cos(ang), np.sin(ang)])))
    systems = {
        4: [("4 diagonals of the cube", lambda: np.array(np.meshgrid(*[[-1.0, 1.0]] * 3)).reshape(3, -1).T)],
        6: [("6 lines of the icosahedron (equiangular)", lambda: dict(_named_points(12))["icosahedron"]),
            ("6 lines of the cuboctahedron", lambda: dict(_named_points(12))["cuboctahedron"])],
        8: [("8 diagonals of the 4-cube", lambda: np.array(np.meshgrid(*[[-1.0, 1.0]] * 4)).reshape(4, -1).T)],
        10: [("10 lines of the dodecahedron", lambda: dict(_named_points(20))["dodecahedron"])],
        12: [("12 lines of the 24-cell (D4 roots)", _cell24)],
    }
    for name, make in systems.get(M, []):
        out.append((name, _one_per_line(make())))
    return out


def _polygon_angles(X2) -> np.ndarray:
    a = np.sort(np.mod(np.arctan2(X2[:, 1], X2[:, 0]), 2 * np.pi))
    return np.diff(np.append(a, a[0] + 2 * np.pi))


def _axial(X, auts, tol: float) -> str | None:
    """rank 3: an arrangement of regular polygons (and poles) about the axis of the rotation of
    highest order in the symmetry group, or None."""
    best_axis, best_ord = None, 1
    M = X.shape[0]
    for p in auts:
        Q = np.linalg.lstsq(X, X[list(p)], rcond=None)[0]  # X Q = X[p]
        if np.linalg.det(Q) < 0 or np.allclose(Q, np.eye(3), atol=tol):
            continue
        k, P = 1, np.array(p)
        cur = P.copy()
        while not np.array_equal(cur, np.arange(M)) and k < 2 * M:
            cur, k = P[cur], k + 1
        if k > best_ord:
            lam, vec = np.linalg.eig(Q.T)
            best_axis, best_ord = np.real(vec[:, np.argmin(np.abs(lam - 1))]), k
    if best_axis is None or best_ord < 3:
        return None
    axis = best_axis / np.linalg.norm(best_axis)
    h = X @ axis
    if np.sum(h) < -tol:
        axis, h = -axis, -h
    layers = []
    for value, count in _grouped(h, tol)[::-1]:
        idx = np.flatnonzero(np.abs(h - value) <= tol)
        if abs(abs(value) - 1) <= tol:
            layers.append(("pole", value, 1, 0.0))
            continue
        Y = X[idx] - np.outer(h[idx], axis)
        basis = np.linalg.svd(np.eye(3) - np.outer(axis, axis))[0][:, :2]
        Y2 = Y @ basis
        gaps = _polygon_angles(Y2)
        if count >= 2 and np.max(np.abs(gaps - 2 * np.pi / count)) > tol:
            return None
        first = float(np.min(np.mod(np.arctan2(Y2[:, 1], Y2[:, 0]), 2 * np.pi / count))) if count >= 2 else 0.0
        layers.append(("gon", value, count, first))
    gons = [L for L in layers if L[0] == "gon"]
    poles = [L for L in layers if L[0] == "pole"]
    if len(gons) > 3:
        return None
    ks = {L[2] for L in gons}
    if len(gons) == 1 and gons[0][2] >= 3:
        k = gons[0][2]
        shape = {0: "regular", 1: "pyramid", 2: "bipyramid"}[len(poles)]
        if shape == "regular":
            return None
        return f"{k}-gonal {shape} (regular {k}-gon at height {gons[0][1]:.6g} about a pole axis)"
    if len(gons) == 2 and not poles and len(ks) == 1 and abs(gons[0][1] + gons[1][1]) <= tol:
        k = gons[0][2]
        twist = abs(gons[0][3] - gons[1][3]) % (2 * np.pi / k)
        twist = min(twist, 2 * np.pi / k - twist)
        if abs(twist - np.pi / k) <= tol:
            return f"{k}-gonal antiprism (two regular {k}-gons at heights +-{abs(gons[0][1]):.6g}, twisted by 180/{k} degrees)"
        if twist <= tol:
            return f"{k}-gonal prism (two regular {k}-gons at heights +-{abs(gons[0][1]):.6g})"
    parts = [("pole" if L[0] == "pole" else f"regular {L[2]}-gon") + f" at height {L[1]:.4g}" for L in layers]
    return f"regular polygons about a {best_ord}-fold axis: " + ", ".join(parts)


def _orthogonal_components(G, tol: float) -> list:
    """Index arrays of the connected components of the graph |G_jk| > tol (mutually orthogonal parts)."""
    M = G.shape[0]
    seen = np.zeros(M, dtype=bool)
    comps = []
    for start in range(M):
        if seen[start]:
            continue
        stack, comp = [start], []
        seen[start] = True
        while stack:
            i = stack.pop()
            comp.append(i)
            for j in np.flatnonzero((np.abs(G[i]) > tol) & ~seen):
                seen[j] = True
                stack.append(int(j))
        comps.append(np.array(sorted(comp)))
    return comps


def describe_code(b, V, *, tol: float = 1e-6, symmetry_cap: int = 5000) -> CodeStructure:
    r"""The structure of a configuration (b, V) at mu = 0, as in a table of spherical codes.

    b: (M,) output weights; V: (M, d) input weights, rows nonzero. With theta_j = v_j / ||v_j|| and
    beta_j = b_j ||v_j||, reports the fields of `CodeStructure`, and recognizes, in this order:
    (1) congruence (Gram matrices equal up to a permutation, within tol; "(unequal weights)" is added
    when the beta_j differ) to a regular polygon, the regular simplex, a
    cross-polytope, a cube (hypercube), the icosahedron, cuboctahedron, dodecahedron or 24-cell;
    (2) one direction on each line of a line system (|G| equal up to a permutation): M equally spaced
    lines of the plane, the diagonals of the cube or 4-cube, the 6 lines of the icosahedron or the
    cuboctahedron, the 10 of the dodecahedron, the 12 of the 24-cell; (2b) an orthogonal union (the
    graph |G_jk| > tol is disconnected: each part described in turn); (3) rank 3: regular polygons
    (and poles) about the axis of the highest-order rotation of the symmetry group (pyramid,
    bipyramid, prism, antiprism); (4) rank 2: an irregular polygon (its angle gaps); else "other".
    Congruence and line checks are exact combinatorial searches on the Gram matrix (a configuration
    of unit vectors is determined up to an orthogonal map by its Gram matrix), up to `tol`: the
    positions of a minimum found at gradient norm 1e-12 are accurate to ~1e-12 / lambda_min.
    The symmetry group counts permutations preserving G and beta, enumerated up to `symmetry_cap`.
    """
    b = np.asarray(b, dtype=float)
    V = np.asarray(V, dtype=float)
    if V.ndim != 2 or b.shape != (V.shape[0],) or V.shape[0] < 1:
        raise InputError(f"need b (M,) and V (M, d); got {b.shape}, {V.shape}")
    nv = np.linalg.norm(V, axis=1)
    if np.any(nv == 0) or not (np.all(np.isfinite(V)) and np.all(np.isfinite(b))):
        raise InputError("every v_j must be finite and non-zero, and b finite")
    M = V.shape[0]
    theta = V / nv[:, None]
    beta = b * nv
    G = np.clip(theta @ theta.T, -1.0, 1.0)
    sv = np.linalg.svd(theta, compute_uv=False)
    rank = int(np.sum(sv > tol * max(sv[0], 1e-300)))
    X = np.linalg.svd(theta, full_matrices=False)[0][:, :rank] * sv[:rank]  # coordinates in the span
    frame = tuple(float(x) for x in sv[:rank] ** 2)
    tight = bool(rank >= 1 and (max(frame) - min(frame)) <= tol * (M / rank))
    iu = np.triu_indices(M, 1)
    ips = _grouped(G[iu], tol)
    anti = int(np.sum(G[iu] <= -1 + tol))
    mb = float(np.mean(np.abs(beta)))
    wspread = float((beta.max() - beta.min()) / mb) if mb > 0 else 0.0
    one_signed = bool(np.all(beta > 0) or np.all(beta < 0))
    wvals = _grouped(beta, tol * max(mb, 1e-300))
    # symmetry group of the weighted configuration (beta scaled to O(1) for the common tolerance)
    wn = beta / mb if mb > 0 else beta
    auts = _matchings(G, G, wn, wn, tol, symmetry_cap)
    capped = len(auts) >= symmetry_cap
    rot = 0
    parent = list(range(M))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for p in auts:
        Q = np.linalg.lstsq(X, X[list(p)], rcond=None)[0] if rank else np.eye(0)
        rot += int(rank == 0 or np.linalg.det(Q) > 0)
        for i, j in enumerate(p):
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
    roots = [find(i) for i in range(M)]
    orbits = tuple(sorted((roots.count(r) for r in set(roots)), reverse=True))
    # recognition
    name = None
    equal_w = wspread <= tol
    zeros = np.zeros(M)
    for ref, P in _named_points(M):
        U = _unit_rows(P)
        if _matchings(G, U @ U.T, zeros, zeros, tol, 1):
            name = ref + ("" if equal_w else " (unequal weights)")
            break
    if name is None:
        A = np.abs(G)
        for ref, P in _named_lines(M):
            U = _unit_rows(P)
            if _matchings(A, np.abs(U @ U.T), zeros, zeros, tol, 1):
                name = f"one direction on each of the {ref}" + ("" if equal_w else " (unequal weights)")
                break
    if name is None:
        comps = _orthogonal_components(G, tol)
        if len(comps) > 1:
            subs = [describe_code(b[c], V[c], tol=tol, symmetry_cap=symmetry_cap).name for c in comps]
            name = "orthogonal union: " + " + ".join(subs)
    if name is None and rank == 3:
        name = _axial(X, auts, tol)
    if name is None and rank == 2:
        gaps = np.sort(np.degrees(_polygon_angles(X)))
        name = f"irregular {M}-gon (angle gaps {', '.join(f'{g:.6g}' for g in gaps)} degrees)"
    if name is None:
        name = "other"
    ip_txt = ", ".join(f"{0.0 if abs(v) <= tol else v:.6g} (x{c})" for v, c in ips)
    w_txt = ", ".join(f"{v:.6g} (x{c})" for v, c in wvals)
    desc = (f"{name}; symmetry group of order {'>= ' if capped else ''}{len(auts)} ({rot} rotations), orbits "
            f"{'+'.join(map(str, orbits))}; {len(ips)} distinct inner products: {ip_txt}; "
            f"{'tight frame' if tight else 'frame eigenvalues ' + ', '.join(f'{x:.6g}' for x in frame)}; "
            f"{anti} antipodal pairs; weights {w_txt}" + ("" if one_signed else " (MIXED SIGNS)"))
    return CodeStructure(name, desc, rank, ips, frame, tight, anti, len(auts), capped, rot, orbits, wvals, wspread,
                         one_signed)
