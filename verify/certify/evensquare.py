r"""An exact sign-free route for mu = 0: the even square. Everything of the bound is proven here
except one step, the positive definiteness of an explicit function L on S^{M-2}, which is only
checked numerically (its Gegenbauer coefficients); so this module gives evidence and the plan of
a proof, never a certificate (`verify.certify.signfree` gives the certified sign-free bound).

Setting (MATH.md section 6). At mu = 0 the simplex is optimal for all signs of beta iff, for every
M unit vectors theta_j and every beta in R^M,

    beta^T K(G) beta >= A_s (1^T beta)^2,     A_s = (K(1) + (M - 1) K(rho_0)) / M,  rho_0 = -1/(M-1),

and by the rank lemma (docs/bounds-mu.md section 8) it suffices to take theta_j in R^{M-1}, d = M - 1.

The decomposition. The ReLU kernel is K(t) = t/4 + E(t) with E(t) = (sqrt(1 - t^2) + t arcsin t)/(2 pi)
even. Let P_2(t) = (d t^2 - 1)/(d - 1) (Gegenbauer, S^{d-1}, P_2(1) = 1) and choose the even
quadratic c_0 + r_2 P_2 tangent to E at rho_0 (hence at -rho_0):

    r_2 = E'(rho_0) / P_2'(rho_0) = arcsin(rho_0) (d - 1) / (4 pi d rho_0) > 0,
    c_0 = E(rho_0) - r_2 P_2(rho_0) = E(rho_0) + r_2 / (M - 1),
    R(t) = E(t) - c_0 - r_2 P_2(t),     L(t) = sign(|t| - |rho_0|) sqrt(R(t)).

R >= 0 on [-1, 1] (proof): R is even; for t > 0, R'(t) = t (arcsin(t)/(2 pi t) - kappa) with
kappa = 2 r_2 d/(d - 1); arcsin(t)/t increases on (0, 1], so R' < 0 on (0, |rho_0|) and R' > 0
on (|rho_0|, 1] (R'(|rho_0|) = 0 by the choice of r_2); the minimum of R on [0, 1] is R(|rho_0|) = 0.
So L is real, even, L(+-rho_0) = 0, L^2 = R, and L is analytic in theta (t = cos theta) away
from nothing: E(cos theta) = (sin theta + (pi/2 - theta) cos theta)/(2 pi) on [0, pi], and the sign
flip at the double roots of R makes L analytic there too.

The bound, if L is positive definite on S^{d-1} (all Gegenbauer coefficients >= 0; the one step
not proven): for every beta (any signs) and unit theta_j in R^d,

    beta^T K(G) beta = ||sum_j beta_j theta_j||^2 / 4 + c_0 (1^T beta)^2 + r_2 beta^T P_2(G) beta
                       + beta^T [L(G)^2] beta
                     >= c_0 (1^T beta)^2 + L(1)^2 (1^T beta)^2 / M,

by P_2(G) >= 0 (positive semidefinite) and the rank lemma of `verify.certify.signfree` applied to
the positive definite L (S = sum_j beta_j psi_j psi_j^T has rank <= M, ||S||_F^2 =
beta^T [L^2] beta, tr S = L(1) 1^T beta). And c_0 + L(1)^2 / M = c_0 + (E(1) - c_0 - r_2)/M = A_s
exactly (with K(rho_0) = rho_0/4 + c_0 - r_2/(M - 1)): the bound is the simplex value, no gap. The
simplex meets every inequality with equality: sum theta_j = 0, it is a 2-design of S^{M-2}, and
L(G) = L(1) I has M equal eigenvalues.

Why it escapes the obstruction of docs/bounds-mu.md: on the Hilbert sphere (every d) positive
definite functions have nonnegative Taylor coefficients, and a square vanishing at rho_0 < 0 then
brings odd powers >= 3 that K lacks; in d = M - 1 an even L may have negative Taylor coefficients
(L(0) < 0) and still be positive definite, and P_2^{(d)} vanishes on the simplex. So the route
works only in d = M - 1, which the rank lemma allows at mu = 0.

The evidence computed here (`even_square`): the Gegenbauer coefficients a_n of L (even n; odd n
vanish by symmetry) by Gauss-Legendre quadrature in theta on [0, theta_0] and [theta_0, pi/2]
(L is analytic on each piece; the integrand is symmetric about pi/2 for even n), with the
quadrature error estimated from two node counts. Their tail is governed by the (1 - t)^{3/2}
singularity that L inherits from E at t = +-1: a_n / E_n -> 1 / (2 L(1)) as n grows (E_n the
coefficients of E, positive), which the record reports at the largest n. A proof needs a_n >= 0
for every n: exact (ball) quadrature for n <= n_0 and an explicit remainder for the tail.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from verify.certify._common import int_at_least

__all__ = ["EvenSquare", "even_square", "even_square_parts64"]

UNPROVEN = ("L is positive definite on S^{M-2} (its Gegenbauer coefficients are only computed, by quadrature, up to "
            "a finite degree; the tail is not bounded)")


@dataclass(frozen=True)
class EvenSquare:
    """The even-square decomposition for M neurons at mu = 0 (module docstring), with evidence.

    d = M - 1. c0, r2, L1 (= L(1)), min_R (min of R on a grid of 200001 points; >= -1e-15 as R >= 0), A (= c0 + L(1)^2/M), A_simplex: float64. relative_A_error:
    |A - A_simplex| / A_simplex (the identity, in float64). coefficients: a_0, a_2, ... a_{n_max}
    of L (even degrees). min_coefficient, argmin: the smallest and its degree. quad_error: the
    largest change of a coefficient between n and 2n nodes (an error estimate). tail_ratio:
    a_n / E_n at n = n_max, predicted: 1 / (2 L(1)). proven: what the module docstring proves;
    unproven: the one missing step.
    """

    M: int
    d: int
    c0: float
    r2: float
    min_R: float
    L1: float
    A: float
    A_simplex: float
    relative_A_error: float
    coefficients: tuple[float, ...]
    min_coefficient: float
    argmin: int
    quad_error: float
    tail_ratio: float
    tail_ratio_predicted: float
    seconds: float
    proven: tuple[str, ...]
    unproven: str = UNPROVEN

    @property
    def positive(self) -> bool:
        """R >= 0 on the grid and every computed coefficient is above 10 times its quadrature error
        estimate (evidence, not proof)."""
        return self.min_R >= -1e-15 and self.min_coefficient > 10 * self.quad_error


def _E(t):
    t = np.clip(t, -1.0, 1.0)
    return (np.sqrt(1.0 - t * t) + t * np.arcsin(t)) / (2 * math.pi)


def even_square_parts64(M: int, r2_scale: float = 1.0):
    """(d, rho_0, c_0, r_2) of the decomposition in float64 (r2_scale != 1: a planted error)."""
    M = int_at_least("M", M, 3)
    d = M - 1
    rho0 = -1.0 / (M - 1)
    r2 = math.asin(rho0) * (d - 1) / (4 * math.pi * d * rho0) * r2_scale
    c0 = float(_E(np.array(rho0))) + r2 / (M - 1)
    return d, rho0, c0, r2


def _coefficients_mp(M: int, n_max: int, degree: int, dps: int, r2_scale=1):
    """Gegenbauer coefficients a_0..a_{n_max} of L and E_0..E_{n_max} of E on S^{M-2}, in mpmath
    (dps digits): Gauss-Legendre (3 2^(degree-1) nodes) on [0, theta_0] and [theta_0, pi/2] in
    theta, t = cos theta, weight sin(theta)^(d-2); doubled, since the even-degree integrands are
    symmetric about pi/2 (odd degrees vanish and are not returned correctly). Working precision
    matters: for large d and n, P_n (P_n(1) = 1) is tiny on most of the interval and the integrals
    cancel to ~ 1/sqrt(N_n) of their terms (float64 loses every digit at d = 15, n = 100)."""
    import mpmath
    from mpmath.calculus.quadrature import GaussLegendre

    with mpmath.workdps(dps):
        mp = mpmath.mp
        d = M - 1
        rho0 = mpmath.mpf(-1) / (M - 1)
        r2 = mpmath.asin(rho0) * (d - 1) / (4 * mpmath.pi * d * rho0) * mpmath.mpf(r2_scale)
        c0 = (mpmath.sqrt(1 - rho0**2) + rho0 * mpmath.asin(rho0)) / (2 * mpmath.pi) + r2 / (M - 1)
        theta0 = mpmath.acos(-rho0)
        nodes = GaussLegendre(mp).calc_nodes(degree, mp.prec)
        num = [mpmath.mpf(0)] * (n_max + 1)
        numE = [mpmath.mpf(0)] * (n_max + 1)
        den = [mpmath.mpf(0)] * (n_max + 1)
        half_pi = mpmath.pi / 2
        for lo, hi in ((mpmath.mpf(0), theta0), (theta0, half_pi)):
            sgn = 1 if lo == 0 else -1  # L > 0 for |t| > |rho_0|, i.e. theta < theta_0
            hw, mid = (hi - lo) / 2, (hi + lo) / 2
            for x, w in nodes:
                th = hw * x + mid
                c, s = mpmath.cos(th), mpmath.sin(th)
                E = (s + (half_pi - th) * c) / (2 * mpmath.pi)
                R = E - c0 - r2 * (d * c * c - 1) / (d - 1)
                f = sgn * mpmath.sqrt(R) if R > 0 else mpmath.mpf(0)
                wt = hw * w * s ** (d - 2)
                p_prev, p = mpmath.mpf(1), c
                for k in range(n_max + 1):
                    pk = p_prev if k == 0 else p
                    num[k] += wt * f * pk
                    numE[k] += wt * E * pk
                    den[k] += wt * pk * pk
                    if k >= 1:
                        p_prev, p = p, ((2 * k + d - 2) * c * p - k * p_prev) / (k + d - 2)
        return [num[k] / den[k] for k in range(n_max + 1)], [numE[k] / den[k] for k in range(n_max + 1)]


def even_square(M: int, n_max: int = 60, degree: int = 7, dps: int = 40, *, r2_scale: float = 1.0) -> EvenSquare:
    """The decomposition and the coefficients of L up to degree n_max (even), in mpmath with dps
    digits and 3 2^(degree-1) Gauss-Legendre nodes per piece (half as many for the error
    estimate). r2_scale multiplies r_2 (c_0 keeps R(rho_0) = 0): a planted error, which breaks the
    tangency, makes R negative near rho_0, and must not look positive."""
    from verify.certify.delsarte import simplex_A

    M = int_at_least("M", M, 3)
    n_max = int_at_least("n_max", n_max, 2)
    degree = int_at_least("degree", degree, 3)
    dps = int_at_least("dps", dps, 20)
    t0 = time.perf_counter()
    d, rho0, c0, r2 = even_square_parts64(M, r2_scale)
    t = np.linspace(-1.0, 1.0, 200001)
    min_R = float(np.min(_E(t) - c0 - r2 * (d * t * t - 1) / (d - 1)))
    L1 = float(np.sqrt(_E(np.array(1.0)) - c0 - r2))
    A = c0 + L1 * L1 / M
    A_s = float(simplex_A(M).mid())

    a, _ = _coefficients_mp(M, n_max, degree - 1, dps, r2_scale)
    a2, e = _coefficients_mp(M, n_max, degree, dps, r2_scale)
    even = list(range(0, n_max + 1, 2))
    coeffs = np.array([float(a2[k]) for k in even])
    err = max(float(abs(a2[k] - a[k])) for k in even)
    i = int(np.argmin(coeffs))
    top = even[-1]
    proven = (
        "R = E - c0 - r2 P_2 >= 0 on [-1, 1] with double roots at +-rho_0 (monotonicity of arcsin(t)/t)",
        "beta^T K(G) beta = |sum beta_j theta_j|^2/4 + c0 (1^T beta)^2 + r2 beta^T P_2(G) beta + beta^T [L(G)^2] beta",
        "c0 + L(1)^2 / M = A_simplex exactly (the bound has no gap)",
        "every d >= M - 1 reduces to d = M - 1 (rank lemma, docs/bounds-mu.md section 8)",
    )
    return EvenSquare(
        M=M, d=d, c0=c0, r2=r2, min_R=min_R, L1=L1, A=A, A_simplex=A_s, relative_A_error=abs(A - A_s) / A_s,
        coefficients=tuple(float(v) for v in coeffs), min_coefficient=float(coeffs[i]), argmin=int(even[i]),
        quad_error=err, tail_ratio=float(a2[top] / e[top]), tail_ratio_predicted=1.0 / (2 * L1),
        seconds=time.perf_counter() - t0, proven=proven,
    )


# --------------------------------------------------------------------------------------------
# M = 3 (d = 2): the missing step proven (L positive definite on the circle)
# --------------------------------------------------------------------------------------------

M3_METHOD = "signfree-evensquare-m3"


@dataclass(frozen=True)
class CircleCertificate:
    r"""L of the module docstring is positive definite on S^1 (M = 3, d = 2), proven in ball
    arithmetic (python-flint arb/acb); hence beta^T K(G) beta >= A_simplex (1^T beta)^2 for every
    beta in R^3 and any three unit vectors in any R^d, d >= 2: the simplex is optimal at mu = 0
    for every sign of the output weights, with no gap.

    With t = cos(theta) and g(theta) = L(cos theta) on [0, pi] (g(pi - theta) = g(theta)), L = sum
    a_n T_n (Chebyshev, the Gegenbauer family of S^1), a_n = (2/pi) int_0^pi g cos(n theta) d theta
    (n >= 1; a_0 with 1/pi); odd a_n vanish (L even). The proof:

    1. psi(theta) = R(cos theta) = (sin theta + (pi/2 - theta) cos theta)/(2 pi) - c_0 - r_2 cos(2 theta)
       is entire, and psi(theta_0) = psi'(theta_0) = 0 at theta_0 = pi/3 (t_0 = 1/2, by the
       choice of c_0 and r_2), so q = psi / (theta - theta_0)^2 is entire and, on [0, pi/2],
       g = (theta_0 - theta) sqrt(q) with q > 0 (R > 0 away from +-t_0). q is represented by its
       Taylor polynomial at theta_0 of degree K - 1 (coefficients psi^(j)(theta_0)/j!, j = 2..K+1,
       as balls) plus a remainder |T_K(z)| <= eps |z - theta_0|^K, eps = sup |psi^(K+2)| / (K+2)!
       over the box theta_0 + [-RH, RH] + i[-RH, RH] (Taylor's theorem with integral remainder).
    2. Tail (n even, n >= N*): integrating by parts twice per step, with sin(n theta) = 0 at 0, pi,
       g'(0) = 0 and g^(j)(pi) = (-1)^j g^(j)(0),
           J_m = int_0^pi g^(m) cos(n theta) = -2 g^(m+1)(0)/n^2 - J_{m+2}/n^2   (m even),
           |J_{2k}| = |int_0^pi g^(2k+1) sin(n theta)| / n <= B / n,  B >= int_0^pi |g^(2k+1)|,
       so J_0 n^4 >= 2 g'''(0) - sum_{j=2}^{k-1} 2 |g^(2j+1)(0)| / n^(2j-2) - B / n^(2k-3), and
       every term after the first decreases in n: J_0 > 0 for every even n >= N* once it holds
       at N*. g^(j)(0) come from the Taylor series of (theta_0 - theta) sqrt(q) at 0 (arb power
       series). B: [0, pi/2] is cut into pieces; on each, |g^(m)| <= sum_{i<3} |g^(m+i)(mid)| w^i/i!
       + sup |g^(m+3)| w^3/3! (w the half-width; the last over the piece as a ball), the series of
       q at a point x carrying the remainder's Taylor coefficients as balls of radius
       eps (|x - theta_0| + rho)^K / rho^j (Cauchy's estimate on the disc of radius rho).
    3. Finite part (n even, n < N*): a_n = (4/pi) int_0^{pi/2} g cos(n theta) by acb.integral
       (rigorous Gauss-Legendre with error bounds on ellipses; the integrand is the holomorphic
       (theta_0 - z) sqrt(q(z)) cos(n z), sqrt checked off its branch cut; q by the polynomial and
       its remainder inside |z - theta_0| < RH, by psi(z) / (z - theta_0)^2 outside, where the
       remainder bound does not hold), each enclosure > 0.

    Fields: proven (every step held), N_star, k (2k+1 = the derivative order of B), B (upper
    bound, float), g3 (g'''(0) = 1/(2 pi L(1)), a ball string), finite ((n, lo, hi) decimal strings
    of the enclosures of a_n, n < N*), min_finite (smallest lower end, a float), tail_margin (the
    lower bound of J_0 N*^4, a float), K, eps (float), pieces, prec, seconds, notes.
    """

    proven: bool
    N_star: int
    k: int
    B: float
    g3: str
    odd_derivatives: tuple[str, ...]
    finite: tuple[tuple[int, str, str], ...]
    min_finite: float
    tail_margin: float
    K: int
    eps: float
    pieces: int
    prec: int
    seconds: float
    notes: tuple[str, ...] = ()
    method: str = M3_METHOD


def _decimal(x, down: bool) -> str:
    from verify.certify.planar import _round_str

    return _round_str(x, down, 20)


def certify_m3(*, prec: int = 128, K: int = 40, k: int = 3, pieces: int = 400, RH: float = 1.6,
               rho: float = 0.5, max_N: int = 400, r2_scale=1) -> CircleCertificate:
    """Prove that L (module docstring, M = 3) is positive definite on the circle (see
    `CircleCertificate`). Raises nothing on failure: proven is False and notes say which step
    failed. r2_scale != 1 (a planted error) moves r_2 off the tangency (c_0 keeps R(1/2) = 0)."""
    from flint import acb, arb, arb_series

    from verify.certify._common import flint_prec

    K = int_at_least("K", K, 8)
    k = int_at_least("k", k, 2)
    pieces = int_at_least("pieces", pieces, 4)
    t0 = time.perf_counter()
    notes: list[str] = []
    J = 3  # Taylor terms of the centred form on each piece
    m = 2 * k + 1
    with flint_prec(prec):
        pi = arb.pi()
        d = 2
        rho0 = arb(-1) / 2
        r2 = rho0.asin() * (d - 1) / (4 * pi * d * rho0) * arb(r2_scale)
        c0 = ((1 - rho0 * rho0).sqrt() + rho0 * rho0.asin()) / (2 * pi) - r2 * (d * rho0 * rho0 - 1) / (d - 1)
        th0 = (-rho0).acos()

        def dpsi(z, j: int):
            """psi^(j)(z) for an arb or acb ball z."""
            if j == 0:
                return (z.sin() + (pi / 2 - z) * z.cos()) / (2 * pi) - c0 - r2 * (2 * z).cos()
            s, c, cm = (z + j * pi / 2).sin(), (z + j * pi / 2).cos(), (z + (j - 1) * pi / 2).cos()
            return (s + (pi / 2 - z) * c - j * cm) / (2 * pi) - r2 * (2**j) * (2 * z + j * pi / 2).cos()

        p = [dpsi(th0, j) / math.factorial(j) for j in range(K + 2)]
        if not (p[0].contains(0) and p[1].contains(0)):  # a wrong c_0 or r_2 (a planted error)
            return CircleCertificate(
                proven=False, N_star=0, k=k, B=math.inf, g3="", odd_derivatives=(), finite=(), min_finite=0.0, tail_margin=0.0, K=K,
                eps=math.inf, pieces=pieces, prec=prec, seconds=time.perf_counter() - t0,
                notes=(f"theta_0 is not a double root of psi: psi = {p[0]}, psi' = {p[1]}",))
        qc = p[2:K + 2]
        box = acb(arb(th0.mid(), RH), arb(0, RH))
        eps = arb(abs(dpsi(box, K + 2)).upper()) / math.factorial(K + 2)

        def q_series(x, L: int):
            h = arb_series([x - th0, 1], prec=prec)
            acc = arb_series([qc[-1]], prec=prec)
            for c in reversed(qc[:-1]):
                acc = acc * h + c
            dist = arb(abs(x - th0).upper())
            if not (dist + rho <= RH):  # pragma: no cover - the pieces stay in [0, pi/2]
                raise RuntimeError("Cauchy disc outside the remainder's box")
            co = list(acc.coeffs())[:L]
            co += [arb(0)] * (L - len(co))
            tail = eps * (dist + rho) ** K
            return arb_series([co[j] + arb(0, (tail / arb(rho) ** j).upper()) for j in range(L)], prec=prec)

        def g_coeffs(x, L: int):
            """Taylor coefficients g^(j)(x)/j!, j < L, over the ball x."""
            from flint import ctx

            old = ctx.cap
            ctx.cap = L
            try:
                q = q_series(x, L)
                return list((arb_series([th0 - x, -1], prec=prec) * q.sqrt()).coeffs())[:L]
            finally:
                ctx.cap = old

        c_at0 = g_coeffs(arb(0), m + 1)
        G0 = [c_at0[j] * math.factorial(j) for j in range(m + 1)]
        if not G0[1].contains(0):  # pragma: no cover
            raise RuntimeError("g'(0) is not 0")
        # B >= int_0^pi |g^(m)| = 2 int_0^{pi/2} |g^(m)|
        hf = float((pi / 2).upper())
        edges = [hf * i / pieces for i in range(pieces + 1)]
        if edges[-1] < pi / 2:  # pragma: no cover
            edges[-1] = math.nextafter(edges[-1], math.inf)
        tot = arb(0)
        for u, v in zip(edges[:-1], edges[1:]):
            w = arb((v - u) / 2)
            cm = g_coeffs(arb((u + v) / 2), m + J)
            cb = g_coeffs(arb((u + v) / 2, (v - u) / 2), m + J + 1)
            bound = sum((abs(cm[m + i]) * math.factorial(m + i) / math.factorial(i) * w**i for i in range(J)), arb(0))
            bound += abs(cb[m + J]) * math.factorial(m + J) / math.factorial(J) * w**J
            tot += arb(bound.upper()) * arb(v - u)
        B = arb((2 * tot).upper())
        lead = 2 * G0[3]
        N_star, margin = None, arb(0)
        for N in range(2, max_N + 1, 2):
            lo = lead - sum((2 * abs(G0[2 * j + 1]) / arb(N) ** (2 * j - 2) for j in range(2, k)), arb(0)) - B / arb(N) ** (2 * k - 3)
            if lo > 0:
                N_star, margin = N, lo
                break
        proven = N_star is not None
        if not proven:
            notes.append(f"the tail bound does not turn positive for n <= {max_N}")
        finite: list[tuple[int, str, str]] = []
        min_finite = math.inf
        if proven:
            ath0 = acb(th0)
            aqc = [acb(c) for c in qc]

            def q_c(z):
                h = z - ath0
                if not abs(h) < RH:  # the remainder bound holds only in the box: plain division there
                    return dpsi(z, 0) / (h * h)  # (not finite when h may be 0)
                acc = aqc[-1]
                for c in reversed(aqc[:-1]):
                    acc = acc * h + c
                r = (eps * arb(abs(h).upper()) ** K).upper()
                return acc + acb(arb(0, r), arb(0, r))

            for n in range(0, N_star, 2):
                integral = acb.integral(lambda z, an, n=n: (ath0 - z) * q_c(z).sqrt(analytic=an) * (n * z).cos(), 0, pi / 2)
                a = ((4 if n else 2) * integral / pi).real
                finite.append((n, _decimal(arb(a.lower()), True), _decimal(arb(a.upper()), False)))
                min_finite = min(min_finite, float(a.lower()))
                if not a > 0:
                    proven = False
                    notes.append(f"a_{n} is not certified positive: {a}")
        notes.append(f"tail: even n >= {N_star} by integration by parts ({m}th derivative, B <= {float(B):.4g}); "
                     f"finite: {len(finite)} acb integrals" if N_star else "no tail bound")
        return CircleCertificate(
            proven=proven, N_star=N_star or 0, k=k, B=float(B.upper()), g3=str(G0[3]),
            odd_derivatives=tuple(G0[j].str(30, radius=True) for j in range(1, 2 * k, 2)), finite=tuple(finite),
            min_finite=min_finite if math.isfinite(min_finite) else 0.0, tail_margin=float(margin.lower()),
            K=K, eps=float(eps.upper()), pieces=pieces, prec=prec, seconds=time.perf_counter() - t0, notes=tuple(notes),
        )
