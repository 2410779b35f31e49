r"""An exact sign-free bound for mu = 0: the even square. The decomposition below reduces "the simplex
is optimal for every sign of the output weights" to the positive definiteness of one explicit
function L; `certify_even_square` proves that in ball arithmetic (python-flint arb/acb) for
M = 3..16 (`EXACT_M`), and `even_square` computes L's Gegenbauer coefficients by high-precision
quadrature as an independent cross-check (evidence, no proof).

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
So L is real, even, L(+-rho_0) = 0 and L^2 = R. On [0, pi], g(theta) = L(cos theta) is the
restriction of an analytic function: E(cos theta) = (sin theta + (pi/2 - theta) cos theta)/(2 pi)
there, entire in theta, and the sign flip at the double roots of R keeps g analytic across them
(as a function on the sphere, L(cos theta) has a |theta|^3 singularity at theta = 0, the one E has).

The bound, once L is positive definite on S^{d-1} (all Gegenbauer coefficients >= 0; proven by
`certify_even_square`): for every beta (any signs) and unit theta_j in R^d,

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

The cross-check computed here (`even_square`): the Gegenbauer coefficients a_n of L (even n; odd n
vanish by symmetry) by Gauss-Legendre quadrature in theta on [0, theta_0] and [theta_0, pi/2]
(g is analytic on each piece; the integrand is symmetric about pi/2 for even n), with the
quadrature error estimated from two node counts. Their tail is governed by the (1 - t)^{3/2}
singularity that L inherits from E at t = +-1: a_n / E_n -> 1 / (2 L(1)) as n grows (E_n the
coefficients of E, positive), which the record reports at the largest n. The proof
(`certify_even_square`, `EvenSquareCertificate`) bounds every a_n: ball quadrature below N* and
an explicit remainder above.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from verify.certify._common import int_at_least
from verify.certify.gegenbauer import gegenbauer_values

__all__ = ["EXACT_M", "EvenSquare", "EvenSquareCertificate", "certify_even_square", "even_square", "even_square_parts64",
           "exact_route"]

UNPROVEN = ("by itself, `even_square` does not prove that L is positive definite on S^{M-2} (its Gegenbauer "
            "coefficients are only computed, by quadrature, up to a finite degree); `certify_even_square` does")


@dataclass(frozen=True)
class EvenSquare:
    """The even-square decomposition for M neurons at mu = 0 (module docstring), with evidence.

    d = M - 1. c0, r2, L1 (= L(1)), min_R (min of R on a grid of 200001 points; >= -1e-15 as
    R >= 0), A (= c0 + L(1)^2/M), A_simplex: float64. relative_A_error:
    |A - A_simplex| / A_simplex (the identity, in float64). coefficients: a_0, a_2, ... a_{n_max}
    of L (even degrees). min_coefficient, argmin: the smallest and its degree. quad_error: the
    largest change of a coefficient between n and 2n nodes (an error estimate). tail_ratio:
    a_n / E_n at n = n_max, predicted: 1 / (2 L(1)). proven: what the module docstring proves;
    unproven: what this record alone does not prove.
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
        estimate (a cross-check, not a proof)."""
        return self.min_R >= -1e-15 and self.min_coefficient > 10 * self.quad_error


def _E(t):
    t = np.clip(t, -1.0, 1.0)
    return (np.sqrt(1.0 - t * t) + t * np.arcsin(t)) / (2 * math.pi)


def _tangent(M: int, one, asin, sqrt, pi, r2_scale=1):
    """(rho_0, r_2, c_0) of the module docstring in the number type of `one` (float, mpmath mpf or
    arb ball; asin, sqrt, pi of that type). c_0 = E(rho_0) - r_2 P_2(rho_0) with P_2(rho_0) =
    -1/(M - 1) exactly in d = M - 1. r2_scale != 1: a planted error (c_0 keeps R(rho_0) = 0)."""
    d = M - 1
    rho0 = -one / (M - 1)
    r2 = asin(rho0) * (d - 1) / (4 * pi * d * rho0) * r2_scale
    c0 = (sqrt(1 - rho0 * rho0) + rho0 * asin(rho0)) / (2 * pi) + r2 / (M - 1)
    return rho0, r2, c0


def even_square_parts64(M: int, r2_scale: float = 1.0):
    """(d, rho_0, c_0, r_2) of the decomposition in float64 (r2_scale != 1: a planted error)."""
    M = int_at_least("M", M, 3)
    rho0, r2, c0 = _tangent(M, 1.0, math.asin, math.sqrt, math.pi, r2_scale)
    return M - 1, rho0, c0, r2


def _coefficients_mp(M: int, n_max: int, degree: int, dps: int, r2_scale=1, dim: int | None = None):
    """Gegenbauer coefficients a_0..a_{n_max} of L and E_0..E_{n_max} of E on S^{M-2}, in mpmath
    (dps digits): Gauss-Legendre (3 2^(degree-1) nodes) on [0, theta_0] and [theta_0, pi/2] in
    theta, t = cos theta, weight sin(theta)^(d-2); doubled, since the even-degree integrands are
    symmetric about pi/2 (odd degrees vanish and are not returned correctly). Working precision
    matters: for large d and n, P_n (P_n(1) = 1) is tiny on most of the interval and the integrals
    cancel to ~ 1/sqrt(N_n) of their terms (float64 loses every digit at d = 15, n = 100). dim: the
    sphere S^(dim-1) of the Gegenbauer family (default d = M - 1; L itself is always built in d)."""
    import mpmath
    from mpmath.calculus.quadrature import GaussLegendre

    with mpmath.workdps(dps):
        mp = mpmath.mp
        d = M - 1
        e = d if dim is None else dim
        rho0, r2, c0 = _tangent(M, mpmath.mpf(1), mpmath.asin, mpmath.sqrt, +mpmath.pi, mpmath.mpf(r2_scale))
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
                wt = hw * w * s ** (e - 2)
                for k, pk in enumerate(gegenbauer_values(n_max, e, c, mpmath.mpf(1))):
                    num[k] += wt * f * pk
                    numE[k] += wt * E * pk
                    den[k] += wt * pk * pk
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
# The missing step proven for small M: L positive definite, in ball arithmetic
# --------------------------------------------------------------------------------------------

EXACT_M = tuple(range(3, 17))  # the M whose proof certify_mu0 runs (M = 3..16: issue 10's range); others: evidence


def exact_route(M: int, d: int) -> bool:
    """Whether the even square proves the simplex optimal for (M, d): M in EXACT_M and d >= M - 1
    (the rank lemma; for d < M - 1 there is no simplex)."""
    return M in EXACT_M and d >= M - 1


def method_name(M: int) -> str:
    return f"signfree-evensquare-m{M}"


@dataclass(frozen=True)
class EvenSquareCertificate:
    r"""L of the module docstring is positive definite on S^{D-1} (D = M - 1 when it is even, M
    when M - 1 is odd; S^{M-2} is a great subsphere of S^{D-1}, so L is then positive definite on
    S^{M-2}), proven in ball arithmetic (python-flint arb/acb). Hence, with the rank lemma,
    beta^T K(G) beta >= A_simplex (1^T beta)^2 for every beta in R^M and any M unit vectors in any
    R^d, d >= M - 1: at mu = 0 the simplex is optimal for every sign of the output weights, with no
    gap.

    The proof. g(theta) = L(cos theta). Write j = (D - 2)/2 and G_i(theta) = L_[i](cos theta) with
    L_[0] = L and L_[i](t) = int_0^t L_[i-1] (so L_[i] has the parity (-1)^i and G_i(pi - theta) =
    (-1)^i G_i(theta)); G_i' = -sin(theta) G_{i-1}.

    0. Dimension walk. d/dt P_n^{(e)} = n (n + e - 2)/(e - 1) P_{n-1}^{(e+2)} (Gegenbauer, P(1) = 1),
       so the coefficient of P_m^{(e+2)} in h equals (m + 1)(m + e - 1)/(e - 1) times the coefficient
       of P_{m+1}^{(e)} in any antiderivative of h. Applied j times: a_m^{(D)}(L) = (a positive
       factor) chi_{m+j}(L_[j]), chi_n the Chebyshev coefficient (2/pi) int_0^pi G_j cos(n theta).
    1. psi(theta) = R(cos theta) = (sin theta + (pi/2 - theta) cos theta)/(2 pi) - c_0
       - r_2 (d cos^2 theta - 1)/(d - 1) is entire with a double root at theta_0 = arccos(1/(M - 1)),
       so q = psi / (theta - theta_0)^2 is entire and g = (theta_0 - theta) sqrt(q) on [0, pi/2]
       (q > 0 there). q is its Taylor polynomial at theta_0 (degree K - 1, ball coefficients) plus
       a remainder |T_K(z)| <= eps |z - theta_0|^K, eps = sup |psi^(K+2)| / (K+2)! over the box
       theta_0 + [-RH, RH] + i[-RH, RH] (Taylor's theorem with integral remainder).
    2. A march from theta = pi/2 (where every G_i, i >= 1, is 0) down to 0 over `pieces` pieces,
       carrying ball values of G_1..G_j: on each piece the Taylor series of g (arb power series of
       (theta_0 - theta) sqrt(q), the remainder's coefficients as balls of radius
       eps (|x - theta_0| + rho)^K / rho^i by Cauchy's estimate), integrated i times against -sin,
       and the next values with a Lagrange remainder from the series over the piece.
    3. Tail (n = m + j >= N*, n - j even): integrating by parts twice per step (sin(n theta) = 0
       at 0 and pi, G_j^(r)(pi) = (-1)^(j+r) G_j^(r)(0)),
           J_r = int_0^pi G_j^(r) cos(n theta) = -2 G_j^(r+1)(0)/n^2 - J_{r+2}/n^2   (r even),
           |J_{2k}| <= B / n,   B >= int_0^pi |G_j^(2k+1)| = 2 int_0^{pi/2} |G_j^(2k+1)|,
       and the odd derivatives of G_j at 0 below the order 3 + 2j vanish (L_[j] = A + (1 - t)^(3/2+j) B
       with A, B analytic at 1, and (1 - cos theta)^(3/2+j) is odd in theta to the order 3 + 2j):
           n^(4+2j) J_0 >= lead - sum_{r > 3+2j} 2 |G_j^(r)(0)| / n^(r-3-2j) - B / n^(2k-3-2j),
       every term after lead decreasing in n, so J_0 > 0 for every n >= N* once it holds at N*.
       B on each piece: |G_j^(2k+1)(x - s)| <= sum_{i<J} |G_j^(2k+1+i)(x)| w^i / i!
       + sup |G_j^(2k+1+J)| w^J / J! (s in [0, w], the last over the piece; J = taylor_terms);
       a piece whose last term outweighs the others (interval arithmetic wraps over the whole
       piece where q is small, near pi/2) is halved, up to max_depth times.
    4. Finite part (m + j < N*, m even): a_m^(D)(L) = int_0^{pi/2} g P_m^(D)(cos theta)
       sin^(D-2) theta / int_0^{pi/2} P_m^(D)(cos theta)^2 sin^(D-2) theta by acb.integral
       (rigorous Gauss-Legendre with error bounds on ellipses; q by the polynomial and its
       remainder inside |z - theta_0| < RH, by psi / (z - theta_0)^2 outside; sqrt checked off its
       branch cut), each enclosure > 0. (Odd m vanish: L is even.)

    Fields: M, d, D, j; proven (every step held); N_star; k (2k + 1: the derivative order of B);
    B (an upper bound, float); lead (the leading tail coefficient, a ball string); odd_derivatives
    (G_j^(1)(0), G_j^(3)(0), ..., G_j^(2k-1)(0), ball strings: the tail expansion, for tests);
    finite ((m, lo, hi) decimal strings of the enclosures of a_m^(D)(L)); min_finite (smallest lower
    end, float); tail_margin (the lower bound of n^(4+2j) J_0 at N*); K, eps, pieces, prec, seconds,
    notes, method.
    """

    M: int
    d: int
    D: int
    j: int
    proven: bool
    N_star: int
    k: int
    B: float
    lead: str
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

    @property
    def method(self) -> str:
        return method_name(self.M)


def _decimal(x, down: bool) -> str:
    from verify.certify.planar import _round_str

    return _round_str(x, down, 20)


def certify_even_square(M: int, *, prec: int | None = None, K: int = 40, pieces: int = 200, rho: float = 0.5,
                        extra_k=(1, 2, 3), max_N: int = 4000, r2_scale=1, progress=None,
                        taylor_terms: int = 8, max_depth: int = 6) -> EvenSquareCertificate:
    """Prove that L (module docstring) is positive definite for M neurons (see
    `EvenSquareCertificate`). prec: arb bits (None: 256, and once more at 512 when every try
    fails; the finite part integrates Gegenbauer polynomials on complex ellipses, where they grow
    exponentially with the degree). extra_k: the derivative orders tried in turn for the tail
    (2k + 1 with k = j + 2 + e); the first that proves wins. pieces: the initial pieces of the
    march, each halved up to max_depth times where the enclosure over the piece wraps (its top
    term outweighs the point terms); taylor_terms: terms of the one-sided centred form. r2_scale
    != 1 (a planted error) moves r_2 off the tangency (c_0 keeps R(rho_0) = 0) and is never
    proven. Never raises on a failed step: proven is False and notes say which step failed."""
    M = int_at_least("M", M, 3)
    K = int_at_least("K", K, 8)
    pieces = int_at_least("pieces", pieces, 4)
    J = int_at_least("taylor_terms", taylor_terms, 1)
    t0 = time.perf_counter()
    precs = (256, 512) if prec is None else (int_at_least("prec", prec, 64),)
    cert = None
    for pr in precs:
        cert = _certify_even_square(M, pr, K, pieces, rho, tuple(extra_k), max_N, r2_scale, progress, J, max_depth, t0)
        if cert.proven or r2_scale != 1:
            break
    return cert


def _certify_even_square(M, prec, K, pieces, rho, extra_k, max_N, r2_scale, progress, J, max_depth, t0):
    from flint import acb, arb, arb_series, ctx

    from verify.certify._common import flint_prec

    d = M - 1
    D = d if d % 2 == 0 else d + 1
    j = (D - 2) // 2
    notes: list[str] = [f"{prec} bits"]
    with flint_prec(prec):
        pi = arb.pi()
        rho0, r2, c0 = _tangent(M, arb(1), arb.asin, arb.sqrt, pi, arb(r2_scale))
        th0 = (-rho0).acos()
        RH = max(1.6, float(th0.upper()) + rho + 0.05)
        half = r2 * d / (2 * (d - 1))  # r_2 d cos^2 z / (d - 1) = half (1 + cos 2z)

        def dpsi(z, i: int):
            """psi^(i)(z) for an arb or acb ball z."""
            if i == 0:
                return (z.sin() + (pi / 2 - z) * z.cos()) / (2 * pi) - c0 - half * (1 + (2 * z).cos()) + r2 / (d - 1)
            sn, cs, cm = (z + i * pi / 2).sin(), (z + i * pi / 2).cos(), (z + (i - 1) * pi / 2).cos()
            return (sn + (pi / 2 - z) * cs - i * cm) / (2 * pi) - half * (2**i) * (2 * z + i * pi / 2).cos()

        def failed(note: str) -> EvenSquareCertificate:
            return EvenSquareCertificate(
                M=M, d=d, D=D, j=j, proven=False, N_star=0, k=0, B=math.inf, lead="", odd_derivatives=(), finite=(),
                min_finite=0.0, tail_margin=0.0, K=K, eps=math.inf, pieces=pieces, prec=prec,
                seconds=time.perf_counter() - t0, notes=tuple(notes) + (note,))

        p = [dpsi(th0, i) / math.factorial(i) for i in range(K + 2)]
        if r2_scale != 1:  # psi(theta_0) = 0 but psi'(theta_0) != 0: the ball test below may miss it
            return failed(f"r_2 scaled by {r2_scale} (planted): theta_0 is not a double root of psi "
                          f"(psi' = {p[1]})")
        if not (p[0].contains(0) and p[1].contains(0)):  # pragma: no cover - exact zeros by the choice of c_0, r_2
            return failed(f"theta_0 is not a double root of psi: psi = {p[0]}, psi' = {p[1]}")
        qc = p[2:K + 2]  # p[0] = p[1] = 0 exactly (R(t_0) = R'(t_0) = 0)
        # the remainder's box: centred at the midpoint of theta_0, its radius covering theta_0's ball
        RB = arb(RH) + th0.rad()
        box = acb(arb(th0.mid(), RB.upper()), arb(0, RB.upper()))
        eps = arb(abs(dpsi(box, K + 2)).upper()) / math.factorial(K + 2)
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

        def gegenbauer(n: int, t):
            return gegenbauer_values(n, D, t, acb(1))[n]

        tol = arb(2) ** (-(prec - 60))
        for e in extra_k:
            tail = _tail(M, j, int(e), qc, th0, eps, K, RH, rho, pieces, pi, J, prec, max_N, arb, arb_series, ctx,
                         max_depth)
            if tail is None:
                notes.append(f"k = {j + 2 + int(e)}: the tail bound does not turn positive for n <= {max_N}")
                continue
            N_star = tail["N_star"]
            # 4. the finite part
            finite: list[tuple[int, str, str]] = []
            min_finite = math.inf
            ok = True
            for m in range(0, N_star - j, 2):
                if progress is not None:
                    progress(m)
                num = acb.integral(lambda z, an, m=m: (ath0 - z) * q_c(z).sqrt(analytic=an) * gegenbauer(m, z.cos())
                                   * z.sin() ** (D - 2), 0, pi / 2, abs_tol=tol).real
                den = acb.integral(lambda z, an, m=m: gegenbauer(m, z.cos()) ** 2 * z.sin() ** (D - 2), 0, pi / 2,
                                   abs_tol=tol).real
                a = num / den
                finite.append((m, _decimal(arb(a.lower()), True), _decimal(arb(a.upper()), False)))
                min_finite = min(min_finite, float(a.lower()))
                if not a > 0:
                    ok = False
                    notes.append(f"k = {tail['k']}: a_{m} is not certified positive: {a}")
                    break
            if not ok:
                continue
            notes.append(f"tail: n >= {N_star} by integration by parts (derivative order {2 * tail['k'] + 1}, "
                         f"B <= {float(tail['B']):.4g}, {tail['pieces']} pieces after adaptive halving of {pieces})")
            notes.append(f"finite: a_m^({D}) > 0 for even m < {N_star - j} by {len(finite)} acb integrals")
            G0 = tail["G0"]
            return EvenSquareCertificate(
                M=M, d=d, D=D, j=j, proven=True, N_star=N_star, k=tail["k"], B=float(tail["B"].upper()),
                lead=tail["lead"].str(25, radius=True),
                odd_derivatives=tuple(G0[i].str(30, radius=True) for i in range(1, 2 * tail["k"], 2)),
                finite=tuple(finite), min_finite=min_finite, tail_margin=float(tail["margin"].lower()), K=K,
                eps=float(eps.upper()), pieces=tail["pieces"], prec=prec, seconds=time.perf_counter() - t0,
                notes=tuple(notes),
            )
        return failed(f"no derivative order in {list(extra_k)} proved it at {prec} bits")


def _tail(M, j, e, qc, th0, eps, K, RH, rho, pieces, pi, J, prec, max_N, arb, arb_series, ctx, max_depth=6):
    """Steps 2 and 3 of `EvenSquareCertificate` for k = j + 2 + e: dict(N_star, k, B, G0, lead,
    margin, pieces), or None when the bound does not turn positive for n <= max_N."""
    k = j + 2 + e
    m = 2 * k + 1
    N = m + J + 1  # series length
    old_cap = ctx.cap
    ctx.cap = N
    try:
        def gser(x):
            h = arb_series([x - th0, 1])
            acc = arb_series([qc[-1]])
            for c in reversed(qc[:-1]):
                acc = acc * h + c
            dist = arb(abs(x - th0).upper())
            if not (dist + rho <= RH):  # pragma: no cover - RH is chosen to contain every disc
                raise RuntimeError("Cauchy disc outside the remainder's box")
            co = list(acc.coeffs())[:N]
            co += [arb(0)] * (N - len(co))
            tail = eps * (dist + rho) ** K
            q = arb_series([co[i] + arb(0, (tail / arb(rho) ** i).upper()) for i in range(N)])
            return arb_series([th0 - x, -1]) * q.sqrt()

        def chain(x, vals):
            """Taylor series of G_0..G_j at x (a ball), with constant terms vals[i] (i >= 1)."""
            S = [gser(x)]
            ms = -arb_series([x, 1]).sin()
            for i in range(1, j + 1):
                co = list((ms * S[-1]).integral().coeffs())
                co += [arb(0)] * (N - len(co))
                co[0] = vals[i]
                S.append(arb_series(co[:N]))
            return S

        def coef(c, i):
            return c[i] if i < len(c) else arb(0)

        counter = [0]

        def piece(x, xn, vals, depth):
            """Steps from x down to xn (x > xn): the values of G_1..G_j at xn and the piece's
            contribution to int |G_j^(m)|. A piece whose ball term (the top coefficient enclosed
            over the whole piece, where interval arithmetic wraps) outweighs its point terms is
            halved, down to max_depth halvings."""
            counter[0] += 1
            w = x - xn
            wu = arb(w.upper())
            ball = x.union(xn)  # the piece, both ends' balls included
            bvals = [None]
            prev = gser(ball).coeffs()[0]
            for i in range(1, j + 1):  # crude enclosures of G_i over the piece, upward in i
                bv = vals[i] + arb(0, (wu * abs(-ball.sin() * prev)).upper())
                bvals.append(bv)
                prev = bv
            Sx = chain(x, vals)
            Sb = chain(ball, bvals)
            cx, cb = Sx[j].coeffs(), Sb[j].coeffs()
            point = sum((abs(coef(cx, m + i)) * math.factorial(m + i) / math.factorial(i) * wu**i for i in range(J)), arb(0))
            top = abs(coef(cb, m + J)) * math.factorial(m + J) / math.factorial(J) * wu**J
            if depth < max_depth and not (top.upper() <= point.upper()):
                mid = (x + xn) / 2
                v_mid, b1 = piece(x, mid, vals, depth + 1)
                v_low, b2 = piece(mid, xn, v_mid, depth + 1)
                return v_low, b1 + b2
            new = [None]
            for i in range(1, j + 1):
                cxi, cbi = Sx[i].coeffs(), Sb[i].coeffs()
                v = sum((cxi[t] * (-w) ** t for t in range(min(N - 1, len(cxi)))), arb(0))
                new.append(v + arb(0, (abs(coef(cbi, N - 1)) * wu ** (N - 1)).upper()))
            return new, arb((point + top).upper()) * wu

        edges = [pi / 2 * arb(i) / pieces for i in range(pieces + 1)]
        vals = [None] + [arb(0)] * j  # G_i(pi/2) = L_[i](0) = 0
        Bsum = arb(0)
        for idx in range(pieces, 0, -1):
            vals, contrib = piece(edges[idx], edges[idx - 1], vals, 0)
            Bsum += contrib
        n_pieces = counter[0]
        B = arb((2 * Bsum).upper())
        c0 = chain(arb(0), vals)[j].coeffs()
        G0 = [(c0[i] if i < len(c0) else arb(0)) * math.factorial(i) for i in range(m + 1)]
    finally:
        ctx.cap = old_cap
    lead_order = 3 + 2 * j
    for r in range(1, lead_order, 2):
        if not G0[r].contains(0):  # pragma: no cover - contradicts the structure of L_[j] at t = 1
            return None
        G0[r] = arb(0)  # exactly 0 (step 3)
    il = (lead_order - 1) // 2
    lead = -2 * (-1) ** il * G0[lead_order]
    if not lead > 0:
        return None
    for n in range(max(2, j), max_N + 1):
        if (n - j) % 2:
            continue
        nn = arb(n)
        lo = lead - sum((2 * abs(G0[2 * i + 1]) / nn ** (2 * i + 1 - lead_order) for i in range(il + 1, k)), arb(0)) \
            - B / nn ** (2 * k - lead_order)
        if lo > 0:
            return {"N_star": n, "k": k, "B": B, "G0": G0, "lead": lead, "margin": lo, "pieces": n_pieces}
    return None
