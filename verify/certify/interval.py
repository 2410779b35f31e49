r"""A rigorous check that a polynomial p lies below the ReLU kernel K on [-1, 1] (arb balls).

K(t) = (sqrt(1 - t^2) + (pi - arccos t) t) / (2 pi),  K'(t) = (pi - arccos t) / (2 pi),
K''(t) = 1 / (2 pi sqrt(1 - t^2))   (MATH.md section 2; the thin arb functions `relu_K_arb`,
`relu_dK_arb`, `relu_d2K_arb` of `verify.kernels.relu`, because the check calls them thousands of times).

On [a, b] with midpoint m and half-width h, write f = K - p and u = t - m, |u| <= h. Taylor's
theorem with the Lagrange remainder (K is C^1 on [-1, 1] and C^2 inside, which is all the
remainder form needs, also on intervals that end at +-1) gives, for every t in [a, b],

    K(t) >= K(m) + K'(m) u + (1/2) c u^2,     c = min over [a, b] of K'' = K''(t*),
    p(t) <= p(m) + p'(m) u + (1/2) p''(m) u^2 + (1/6) |p'''([a, b])| h^3,

t* the point of [a, b] closest to 0 (K'' is even and increasing in |t|). Hence
f(t) >= alpha + beta u + gamma u^2 with alpha = K(m) - p(m) - |p'''| h^3 / 6, beta = K'(m) - p'(m),
gamma = (c - p''(m)) / 2, and the minimum of that quadratic over |u| <= h is a rigorous lower
bound of f on [a, b] (every quantity is an arb ball; the bound is the ball's lower end). The
quadratic term makes the bound tight to O(h^3), so touching points (where f has a double zero)
only need a few levels of bisection once p sits a small margin below K.

Branch and bound (`verify.certify.subdivide`). [-1, 1] is cut into `initial` equal pieces; a piece is done when its lower
bound is >= 0 (certified) or, once some point value shows a genuine violation (an upper bound
U < 0 of min f), when its lower bound is within `rel_tol` |U| of U; otherwise it is bisected, up to
`max_depth` levels. The result brackets min over [-1, 1] of K - p: [min_lower, upper], and
p - max(0, -min_lower) <= K holds on all of [-1, 1] whatever the outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

from verify.certify._common import exact as _fr
from verify.certify.subdivide import DONE, bisect, subdivide
from verify.errors import InputError
from verify.kernels.relu import relu_d2K_arb, relu_dK_arb, relu_K_arb
from verify.numbers.precision import flint_prec

__all__ = ["BelowKernelCheck", "check_below_relu_kernel"]


@dataclass(frozen=True)
class BelowKernelCheck:
    """Outcome of `check_below_relu_kernel`.

    certified: K - p >= 0 was proven on all of [-1, 1] (min_lower >= 0).
    min_lower, upper: exact rationals with min_lower <= min_{[-1,1]} (K - p) <= upper (upper from
      ball evaluations at interval midpoints; None if no midpoint gave a finite ball).
    violation: max(0, -min_lower), a rigorous upper bound of max_{[-1,1]} (p - K).
    subintervals: pieces examined; final_pieces: pieces at which the search stopped;
    max_depth: deepest bisection level used; seconds: wall time.
    """

    certified: bool
    min_lower: Fraction
    upper: Fraction | None
    violation: Fraction
    subintervals: int
    final_pieces: int
    max_depth: int
    prec: int
    seconds: float


def check_below_relu_kernel(
    monomials,
    *,
    prec: int = 128,
    initial: int = 64,
    max_depth: int = 44,
    rel_tol: float = 1e-3,
) -> BelowKernelCheck:
    """Bracket min over [-1, 1] of K(t) - p(t) rigorously; p given by exact monomial coefficients.

    monomials: Fractions (or ints) c_0..c_D with p(t) = sum c_n t^n. prec: arb working precision in
    bits (the coefficients are rounded into balls, never silently). See the module docstring for
    the bound on each piece and the branch-and-bound rule.
    """
    from flint import arb, fmpq

    coeffs = [Fraction(c) for c in monomials]
    if not coeffs:
        raise InputError("the polynomial needs at least one coefficient")
    if not (isinstance(initial, int) and initial >= 1 and isinstance(max_depth, int) and max_depth >= 0):
        raise InputError("initial must be an integer >= 1 and max_depth an integer >= 0")
    t0 = time.perf_counter()
    with flint_prec(prec):
        A = lambda q: arb(fmpq(q.numerator, q.denominator))
        c0 = [A(c) for c in coeffs]
        c1 = [A(c * n) for n, c in enumerate(coeffs)][1:] or [arb(0)]
        c2 = [A(c * n * (n - 1)) for n, c in enumerate(coeffs)][2:] or [arb(0)]
        c3 = [A(c * n * (n - 1) * (n - 2)) for n, c in enumerate(coeffs)][3:] or [arb(0)]

        def horner(cs, x):
            s = cs[-1]
            for c in reversed(cs[:-1]):
                s = s * x + c
            return s

        def quad_lower(alpha, beta, gamma, lo, hi):
            """A rigorous lower bound of alpha + beta v + gamma v^2 over v in [lo, hi] (lo <= 0 <= hi)."""
            at_lo = (alpha + beta * lo + gamma * lo * lo).lower()
            at_hi = (alpha + beta * hi + gamma * hi * hi).lower()
            ends = min(_fr(at_lo), _fr(at_hi))
            g_lo, g_hi = _fr(gamma.lower()), _fr(gamma.upper())
            big = max(_fr(abs(lo).upper()), _fr(abs(hi).upper()))
            # always valid: alpha + min(beta lo, beta hi) + min(gamma, 0) max(lo^2, hi^2)
            crude = _fr(alpha.lower()) - _fr(abs(beta).upper()) * big + min(g_lo, Fraction(0)) * big * big
            best = crude
            if g_lo > 0:
                vstar = -beta / (2 * gamma)
                if _fr(vstar.upper()) < _fr(lo.lower()) or _fr(vstar.lower()) > _fr(hi.upper()):
                    best = max(best, ends)  # vertex outside: the minimum is at an end point
                else:
                    best = max(best, _fr((alpha - beta * beta / (4 * gamma)).lower()))
            elif g_hi <= 0:
                best = max(best, ends)  # concave: the minimum is at an end point
            return best

        def expansion(x, lo, hi, curv, r3):
            """Lower bound of K - p on [x + lo, x + hi] from the Taylor expansion at x."""
            px, p1, p2 = horner(c0, x), horner(c1, x), horner(c2, x)
            Kx, K1x = relu_K_arb(x), relu_dK_arb(x)
            alpha = Kx - px - r3
            return quad_lower(alpha, K1x - p1, (curv - p2) / 2, lo, hi), Kx - px

        def bound(a: Fraction, b: Fraction):
            m = (a + b) / 2
            h = (b - a) / 2
            ha = A(h)
            ball = arb(A(m), A(h))  # the interval [a, b]
            p3 = abs(horner(c3, ball))
            tstar = Fraction(0) if a <= 0 <= b else (a if a > 0 else b)
            curv = relu_d2K_arb(A(tstar))  # min of K'' over [a, b]
            lb, fm = expansion(A(m), -ha, ha, curv, p3 * ha * ha * ha / 6)
            if lb < 0:
                # expansions at the end points: exact where p nearly touches K at t = +-1
                w = 2 * ha
                r3w = p3 * w * w * w / 6
                lb = max(lb, expansion(A(a), arb(0), w, curv, r3w)[0], expansion(A(b), -w, arb(0), curv, r3w)[0])
            up = _fr(fm.upper()) if fm.is_finite() else None
            return lb, up

        lo = Fraction(-1)
        step = Fraction(2, initial)
        pieces = [(lo + i * step, lo + (i + 1) * step) for i in range(initial)][::-1]
        U = None
        min_lower = None

        def examine(piece, depth, last):
            nonlocal U, min_lower
            lb, up = bound(*piece)
            if up is not None and (U is None or up < U):
                U = up
            done = lb >= 0
            if not done and U is not None and U < 0:
                done = lb >= U - Fraction(rel_tol) * abs(U)
            if not done and last:
                done = True
            if not done:
                return None
            if min_lower is None or lb < min_lower:
                min_lower = lb
            return DONE

        stats = subdivide(pieces, examine, bisect, max_depth=max_depth)
    violation = max(Fraction(0), -min_lower)
    return BelowKernelCheck(
        certified=min_lower >= 0,
        min_lower=min_lower,
        upper=U,
        violation=violation,
        subintervals=stats.examined,
        final_pieces=stats.finished,
        max_depth=stats.max_depth,
        prec=int(prec),
        seconds=time.perf_counter() - t0,
    )
