r"""Rigorous (arb) checks behind the certified two-point bound with a pole (`verify.certify.pole`).

Two checks, both by branch and bound (`verify.certify.subdivide`) with mean-value forms in ball
arithmetic (python-flint arb):

1. `check_pair_below_kernel`: the two-point function of the certificate stays below the kernel,

       F(t_x, t_y, u) - delta <= K(t_x t_y + s_x s_y u)   on [-1, 1]^3 (u in {-1, 1} for d' = 2),

   F = sum_k (s_x s_y)^k P_k(u) Q(t_x)^T F_k Q(t_y), s = sqrt(1 - t^2), Q(t) = (1, t, ..., t^n),
   P_k the Gegenbauer polynomials of S^{d'-2} (P_k(1) = 1; u^k when d' = 2). The check runs in the
   smooth coordinates t = cos(pi a), s = sin(pi a), a in [0, 1] (so sqrt(1 - t^2) is never
   differentiated at t = +-1), and by the symmetry F(x, y) = F(y, x), K symmetric, only over
   a_x <= a_y (boxes that meet the diagonal are checked whole). On a box B with midpoint z and
   half-widths h (mean-value theorem; D = K(rho) - F + delta is C^1 because K is C^1 on [-1, 1]):

       D >= D(z) - sum_i |d_i D(B)| h_i,    d_i D = K'(rho) d_i rho - d_i F,

   where d_i D(B) is a ball enclosure over the whole box, and K'(rho) = (pi - arccos rho) / (2 pi)
   is evaluated on the box's rho-ball clipped to [-1, 1] (rho is a cosine). Pieces are bisected
   along the coordinate with the largest term |d_i D(B)| h_i. The form is tight to O(h^2) at a
   local minimum of D, so a minimum of size eps needs boxes of width ~ sqrt(eps).

2. `check_neuron_condition`: for every t in [-1, 1] and beta >= 0,
   e(t) beta^2 - 2 beta w(t) >= -gamma, with e the exact polynomial
   K(1) - F(t, t, 1) - (M - 1) delta and w(t) = c K(rho t) - lambda^T Q(t). For gamma > 0 this
   holds at t iff [e(t) >= 0 and w(t) <= 0] or gamma e(t) - w(t)^2 >= 0 (then e(t) >= 0 too, and the
   minimum over beta >= 0 is -max(w, 0)^2 / e >= -gamma). Each piece of [-1, 1] must satisfy one of
   the two alternatives, proven by mean-value forms of e, w and gamma e - w^2.

Both return rigorous statistics whatever the outcome; neither repairs anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

from verify.certify._common import K1, PREC, arb_q, flint_prec
from verify.certify._common import exact as _fr
from verify.certify.gegenbauer import monomial_coefficients
from verify.certify.subdivide import DONE, STOP, bisect, subdivide
from verify.errors import InputError
from verify.kernels.relu import relu_dK_arb, relu_K_arb

__all__ = ["NeuronCheck", "PairCheck", "check_neuron_condition", "check_pair_below_kernel", "diagonal_polynomial",
           "u_polynomials"]

PAIR_PREC = 64  # arb bits of the 3-D check (rigorous at any precision; 64 is enough for margins >= 1e-12)


def u_polynomials(kmax: int, d_eff: int) -> list[list[Fraction]]:
    """Monomial coefficients of P_0..P_kmax in u: Gegenbauer of S^{d_eff - 2} (d_eff >= 3), u^k (d_eff = 2)."""
    if d_eff == 2:
        return [[Fraction(0)] * k + [Fraction(1)] for k in range(kmax + 1)]
    return monomial_coefficients(kmax, d_eff - 1)


def _matmul_poly(A, B):
    out = [Fraction(0)] * (len(A) + len(B) - 1)
    for i, a in enumerate(A):
        if a:
            for j, b in enumerate(B):
                out[i + j] += a * b
    return out


def diagonal_polynomial(F, M: int, delta: Fraction) -> list[Fraction]:
    """Exact monomial coefficients of e(t) = K(1) - sum_k (1 - t^2)^k Q(t)^T F_k Q(t) - (M - 1) delta."""
    n = len(F[0]) - 1
    out = [Fraction(0)] * (2 * n + 2 * (len(F) - 1) + 1)
    out[0] = K1 - (M - 1) * Fraction(delta)
    for k, Fk in enumerate(F):
        qfq = [Fraction(0)] * (2 * n + 1)
        for i in range(n + 1):
            for j in range(n + 1):
                qfq[i + j] += Fk[i][j]
        base = [Fraction(1)]
        for _ in range(k):
            base = _matmul_poly(base, [Fraction(1), Fraction(0), Fraction(-1)])
        for i, c in enumerate(_matmul_poly(base, qfq)):
            out[i] -= c
    return out


def _horner(cf, x):
    out = cf[-1]
    for a in reversed(cf[:-1]):
        out = out * x + a
    return out


def _monotone_on_cosine(f, x):
    """A ball enclosing f over the ball x clipped to [-1, 1], for f nondecreasing on [-1, 1]
    (K and K'; x encloses a cosine, so only its part in [-1, 1] matters). f is evaluated at the
    exact clipped end points, where arccos is defined (a ball that pokes past +-1 would give nan)."""
    from flint import arb

    lo = max(x.lower(), arb(-1))
    hi = min(x.upper(), arb(1))
    if lo > hi:  # pragma: no cover - x misses [-1, 1]: impossible for an enclosure of a cosine
        lo = hi
    return f(lo).lower().union(f(hi).upper())


@dataclass(frozen=True)
class PairCheck:
    """Outcome of `check_pair_below_kernel`: min_lower <= min over the domain of K - F + delta <= upper
    (rigorous lower bound; upper from midpoint values). certified: min_lower >= 0. boxes: examined;
    max_depth: deepest bisection; exhausted: the box budget ran out (min_lower then includes the crude
    bounds of the unfinished boxes); failed_at: (a_x, a_y, u) midpoints of up to 10 boxes left with a
    negative lower bound (t = cos(pi a))."""

    certified: bool
    min_lower: Fraction
    upper: Fraction
    boxes: int
    max_depth: int
    exhausted: bool
    seconds: float
    failed_at: tuple = ()
    violated_at: tuple = ()


def check_pair_below_kernel(F, d_eff: int, delta=Fraction(0), *, prec: int = PAIR_PREC, initial: int = 12,
                            initial_u: int = 4, max_depth: int = 40, max_boxes: int = 400_000,
                            rel_tol: float = 1e-3, stop_at_violation: bool = False) -> PairCheck:
    """Prove F(t_x, t_y, u) - delta <= K(t_x t_y + s_x s_y u) on the whole domain (module docstring, 1).

    F: list over k = 0..kmax of (n + 1) x (n + 1) symmetric matrices of exact rationals; d_eff >= 2.
    Branch and bound from initial x initial x initial_u boxes (a_x <= a_y only).
    stop_at_violation: return at the first midpoint where K - F + delta < 0 is proven (violated_at
    then holds that (a_x, a_y, u), and the result is not certified); for repair loops.
    """
    from flint import arb

    if d_eff < 2:
        raise InputError(f"d_eff must be >= 2, got {d_eff!r}")
    kmax, n = len(F) - 1, len(F[0]) - 1
    t0 = time.perf_counter()
    upol = u_polynomials(kmax, d_eff)
    with flint_prec(prec):
        Fa = [[[arb_q(x) for x in row] for row in Fk] for Fk in F]
        Pu = [[arb_q(x) for x in row] for row in upol]
        dPu = [[arb_q(x * i) for i, x in enumerate(row)][1:] or [arb(0)] for row in upol]
        da = arb_q(Fraction(delta))
        pi = arb.pi()
        half = Fraction(1, 2)

        def trig(a):
            s, t = a.sin_cos_pi()
            return t, s

        def powers(t):
            q = [arb(1)]
            for _ in range(n):
                q.append(q[-1] * t)
            return q

        def F_and_grad(a1, a2, u, grad):
            t1, s1 = trig(a1)
            t2, s2 = trig(a2)
            q1, q2 = powers(t1), powers(t2)
            S = s1 * s2
            rho = t1 * t2 + S * u
            if not grad:
                Fv = arb(0)
                Sk = arb(1)
                for k in range(kmax + 1):
                    G = [sum((Fa[k][i][j] * q2[j] for j in range(n + 1)), arb(0)) for i in range(n + 1)]
                    A = sum((q1[i] * G[i] for i in range(n + 1)), arb(0))
                    Fv += Sk * _horner(Pu[k], u) * A
                    Sk = Sk * S
                return Fv, rho
            # derivatives in phi = pi a: dt/dphi = -s, ds/dphi = t
            dq1 = [arb(0)] + [-s1 * i * q1[i - 1] for i in range(1, n + 1)]
            dq2 = [arb(0)] + [-s2 * i * q2[i - 1] for i in range(1, n + 1)]
            F1 = arb(0)
            F2 = arb(0)
            Fu = arb(0)
            Skm1 = arb(0)  # S^(k-1)
            Sk = arb(1)
            for k in range(kmax + 1):
                G2 = [sum((Fa[k][i][j] * q2[j] for j in range(n + 1)), arb(0)) for i in range(n + 1)]
                G1 = [sum((Fa[k][i][j] * q1[j] for j in range(n + 1)), arb(0)) for i in range(n + 1)]
                A = sum((q1[i] * G2[i] for i in range(n + 1)), arb(0))
                A1 = sum((dq1[i] * G2[i] for i in range(n + 1)), arb(0))
                A2 = sum((dq2[i] * G1[i] for i in range(n + 1)), arb(0))
                P, dP = _horner(Pu[k], u), _horner(dPu[k], u)
                F1 += Sk * P * A1 + (k * Skm1 * t1 * s2 * P * A if k else 0)
                F2 += Sk * P * A2 + (k * Skm1 * s1 * t2 * P * A if k else 0)
                Fu += Sk * dP * A
                Skm1, Sk = Sk, Sk * S
            r1 = -s1 * t2 + t1 * s2 * u
            r2 = -t1 * s2 + s1 * t2 * u
            Kp = _monotone_on_cosine(relu_dK_arb, rho)
            return (Kp * r1 - F1) * pi, (Kp * r2 - F2) * pi, Kp * S - Fu

        def bound(box):
            (a1, b1), (a2, b2), (ua, ub) = box
            m1, m2, mu = (a1 + b1) * half, (a2 + b2) * half, (ua + ub) * half
            h = [(b1 - a1) * half, (b2 - a2) * half, (ub - ua) * half]
            Fv, rho = F_and_grad(arb_q(m1), arb_q(m2), arb_q(mu), False)
            Dm = _monotone_on_cosine(relu_K_arb, rho) - Fv + da
            g = F_and_grad(arb(arb_q(m1), arb_q(h[0])), arb(arb_q(m2), arb_q(h[1])), arb(arb_q(mu), arb_q(h[2])),
                           True)
            terms = [_fr(abs(gi).upper()) * hi if hi else Fraction(0) for gi, hi in zip(g, h)]
            return _fr(Dm.lower()) - sum(terms), _fr(Dm.upper()), terms

        us = [(Fraction(-1), Fraction(-1)), (Fraction(1), Fraction(1))] if d_eff == 2 else [
            (Fraction(-1) + Fraction(2 * i, initial_u), Fraction(-1) + Fraction(2 * (i + 1), initial_u))
            for i in range(initial_u)]
        cuts = [(Fraction(i, initial), Fraction(i + 1, initial)) for i in range(initial)]
        boxes = [(cuts[i], cuts[j], uu) for i in range(initial) for j in range(i, initial) for uu in us]
        min_lower, U, failed, violation = None, None, [], None

        def examine(box, depth, last):
            nonlocal min_lower, U, violation
            lb, up, terms = bound(box)
            U = up if U is None else min(U, up)
            if stop_at_violation and up < 0:
                violation = (min(lb, min_lower or lb), tuple(float((x + y) / 2) for x, y in box))
                return STOP
            stop = U < 0 and lb >= U - Fraction(rel_tol) * abs(U)
            if lb >= 0 or stop or last:
                min_lower = lb if min_lower is None else min(min_lower, lb)
                if lb < 0 and len(failed) < 10:
                    failed.append(tuple(round(float((x + y) / 2), 6) for x, y in box))
                return DONE
            return terms

        def split(box, terms):
            """Bisect along the coordinate with the largest term |d_i D(B)| h_i."""
            i = max(range(3), key=lambda j: terms[j])
            lo, hi = box[i]
            mid = (lo + hi) * half
            parts = []
            for part in ((mid, hi), (lo, mid)):
                nb = list(box)
                nb[i] = part
                if i < 2 and nb[0][0] >= nb[1][1]:
                    continue  # entirely in a_x > a_y: covered by symmetry
                parts.append(tuple(nb))
            return parts

        stats = subdivide(boxes, examine, split, max_depth=max_depth, budget=max_boxes)
        if stats.stopped:
            return PairCheck(certified=False, min_lower=violation[0], upper=U, boxes=stats.examined,
                             max_depth=stats.max_depth, exhausted=False, seconds=time.perf_counter() - t0,
                             violated_at=(violation[1],))
    return PairCheck(certified=min_lower >= 0, min_lower=min_lower, upper=U, boxes=stats.examined,
                     max_depth=stats.max_depth, exhausted=stats.exhausted, seconds=time.perf_counter() - t0,
                     failed_at=tuple(failed))


@dataclass(frozen=True)
class NeuronCheck:
    """Outcome of `check_neuron_condition`. certified: every piece of [-1, 1] satisfied one of the two
    alternatives; failed_at: midpoints of pieces that did not (at most 10); pieces, max_depth: statistics;
    e_min_lower: a rigorous lower bound of min e on [-1, 1] (from the pieces' bounds)."""

    certified: bool
    failed_at: tuple[float, ...]
    pieces: int
    max_depth: int
    e_min_lower: Fraction
    seconds: float


def check_neuron_condition(F, lam, gamma, delta, M: int, m, s, abar, *, prec: int = PREC, initial: int = 64,
                           max_depth: int = 50, max_pieces: int = 100_000) -> NeuronCheck:
    """Prove e(t) beta^2 - 2 beta w(t) >= -gamma for all t in [-1, 1], beta >= 0 (module docstring, 2).

    w(t) = c K(rho t) - sum_i lam_i t^i with c = |abar| r, rho = m / r, r^2 = m^2 + s^2 (exact from
    the float inputs, as in `verify.certify.tilted`). Pieces whose midpoint violates the condition
    (proven) stop at once; at most max_pieces pieces are examined.
    """
    from flint import arb

    from verify.certify.tilted import _target

    t0 = time.perf_counter()
    gamma = Fraction(gamma)
    ecoef = diagonal_polynomial(F, M, Fraction(delta))
    lamf = [Fraction(x) for x in lam]
    with flint_prec(prec):
        _, c, rho = _target(m, s, abar)
        ga = arb_q(gamma)
        e0 = [arb_q(x) for x in ecoef]
        e1 = [arb_q(x * i) for i, x in enumerate(ecoef)][1:] or [arb(0)]
        l0 = [arb_q(x) for x in lamf]
        l1 = [arb_q(x * i) for i, x in enumerate(lamf)][1:] or [arb(0)]
        half = Fraction(1, 2)

        def bound(a, b):
            x, h = (a + b) * half, (b - a) * half
            xa, ha = arb_q(x), arb_q(h)
            box = arb(xa, ha)
            em = _horner(e0, xa)
            wm = c * relu_K_arb(rho * xa) - _horner(l0, xa)
            de = _horner(e1, box)
            dw = c * rho * relu_dK_arb(rho * box) - _horner(l1, box)
            wbox = wm + arb(0, 1) * abs(dw) * ha
            e_lo = _fr((em - abs(de) * ha).lower())
            w_hi = _fr((wm + abs(dw) * ha).upper())
            f_lo = _fr((ga * em - wm * wm - abs(ga * de - 2 * wbox * dw) * ha).lower())
            ok = (e_lo >= 0 and w_hi <= 0) or (gamma > 0 and f_lo >= 0)
            # a proven failure at the midpoint: e < 0 there, or w > 0 with gamma e - w^2 < 0
            bad = em.upper() < 0 or (wm.lower() > 0 and (ga * em - wm * wm).upper() < 0)
            return ok, bool(bad) and not ok, e_lo

        step = Fraction(2, initial)
        pieces = [(Fraction(-1) + i * step, Fraction(-1) + (i + 1) * step) for i in range(initial)][::-1]
        failed, emin = [], None

        def examine(piece, depth, last):
            nonlocal emin
            a, b = piece
            ok, bad, e_lo = bound(a, b)
            if ok or bad or last:
                emin = e_lo if emin is None else min(emin, e_lo)
                if not ok:
                    failed.append(float((a + b) / 2))
                return DONE
            return None

        stats = subdivide(pieces, examine, bisect, max_depth=max_depth, budget=max_pieces)
    return NeuronCheck(certified=not failed, failed_at=tuple(failed[:10]), pieces=stats.examined,
                       max_depth=stats.max_depth, e_min_lower=emin, seconds=time.perf_counter() - t0)
