r"""Global optimality of the tilted ETF for M = 2 (ReLU), for every sign of the output weights and
every d >= 2: a plane lemma, two angles, and a branch and bound in ball arithmetic (python-flint arb).

Setting (MATH.md sections 5 and 6; notation of `verify.certify.tilted`). m = ||mu||, r^2 = m^2 + s^2,
rho = m / r, c = |abar| r, K the ReLU arc-cosine function (K(1) = a = 1/2), beta_j = b_j ||v_j||,
theta_j = hat(v_j), t_j = <theta_j, hat(mu)>, G = <theta_1, theta_2>, h_j = K(rho t_j), k = K(G):

    L~ = T - 2 abar r sum_j beta_j h_j + beta^T K(G) beta,     T = abar^2 r^2 K(rho^2).

Step 0 (beta, any signs). For fixed directions L~ is a convex quadratic in beta in R^2, so
min over beta = T - c^2 Phi with Phi = max_beta (2 beta^T h - beta^T K(G) beta) = h^T K(G)^{-1} h
when G < 1 (then k < a and K(G) is positive definite), and Phi = h_1^2 / a when theta_1 = theta_2
(then h_1 = h_2). Nothing is assumed about the signs of b.

Step 1 (the plane lemma). Fix t_1, t_2. G ranges over [t_1 t_2 - s_1 s_2, t_1 t_2 + s_1 s_2]
(s_j = sqrt(1 - t_j^2); any value when d >= 3, the two ends when d = 2), and k = K(G) increases
with G. As a function of k in [0, a),

    Phi(k) = (a (h_1^2 + h_2^2) - 2 k h_1 h_2) / (a^2 - k^2),
    Phi'(k) = -2 h_1 h_2 (k - k_1)(k - k_2) / (a^2 - k^2)^2,   k_1 = a min(h_1/h_2, h_2/h_1) <= a <= k_2,

(h_j > 0 as rho < 1), so Phi decreases on [0, k_1] and increases on [k_1, a): its largest value on
any interval of k is at an end. Hence the best G is t_1 t_2 +- s_1 s_2: theta_1, theta_2 and
hat(mu) in one plane. Every d >= 2 has that plane, so the optimum does not depend on d.

Step 2 (two angles). In the plane, theta_j = (cos phi_j, sin phi_j) with hat(mu) = (1, 0); with
delta = phi_1 - phi_2, h_1 = K(rho cos phi_1), h_2 = K(rho cos(phi_1 - delta)), k = K(cos delta)
and Delta_h = h_2 - h_1, Delta_k = a - k = (a - k), Phi becomes

    Psi(phi_1, delta) = 2 h_1 h_2 / (a + k) + a Delta_h^2 / (Delta_k (a + k))

(expand (a h_1^2 - 2 k h_1 h_2 + a h_2^2) with k = a - Delta_k): two nonnegative terms, the second
bounded as delta -> 0 (Delta_h = O(delta), Delta_k ~ delta^2 / 4). The reflection phi -> -phi
keeps Psi, so the domain is phi_1 in [0, pi], delta in [-pi, pi]. The tilted ETF (tilt alpha) is
the point x0 = (alpha', 2 alpha'), alpha' = arccos(alpha), and L~(ETF) = T - c^2 Psi(x0).

Step 3 (branch and bound). Upper bounds of Psi on a box, from the ranges of cos (exact ends, and
+-1 where the box holds a multiple of pi) and the monotonicity of K and K':
  term 1 <= 2 max h_1 max h_2 / (a + min k);
  term 2 <= a max Delta_h^2 / (min Delta_k (a + min k)) when min Delta_k > 0, and, for every box
  with |delta| <= delta_max < pi (the near-coincident pairs), by the mean value theorem
  |Delta_h| <= S |delta| (S >= |dh/dphi| = rho |sin phi| K'(rho cos phi) on the hull of the
  angles) and convexity of K, Delta_k >= K'(cos delta)(1 - cos delta) >= K'(cos delta_max) * 2 sin^2(delta/2):
      term 2 <= a S^2 2 (x / sin x)^2 / (K'(cos delta_max) (a + min k)),  x = delta_max / 2
  (x / sin x increases on (0, pi/2)); the smaller of the two is used.
A box is pruned when its bound is below Psi(x0) (certainly, in arb), or when it lies in the
exclusion box E; otherwise it is halved along its longer side, down to a width floor. The boxes
cover [0, 3.25] x [-3.25, 3.25], which contains the domain (float pi is below pi); when no bound
prunes a box near delta = 0, the mean-value form is used on the others: Psi(x) <= Psi(center) +
sum_i max|dPsi/dx_i| w_i, the derivatives enclosed over the box by forward differentiation in arb.

Step 4 (the exclusion box). On E = x0 + [-r_1, r_1] x [-r_2, r_2] the Hessian of Psi is enclosed
by second-order forward differentiation in arb (hyper-dual numbers over balls; K, K', K'' of
`verify.kernels.relu`). If [[A, B], [B, C]] with A >= every H_11, C >= every H_22, B >= every
|H_12| has largest eigenvalue -lambda < 0, then Psi(x) <= Psi(x0) + g.(x - x0) - lambda |x - x0|^2 / 2
<= Psi(x0) + |g|^2 / (2 lambda) on E (Taylor with integral remainder; E is convex), g the
gradient at x0 (an arb ball around 0: x0 is a critical point by the reflection symmetry and by
the choice of the tilt). A failed test halves r.

Result. For every (b, V) in R^2 x R^{2 x d}, any signs, any d >= 2:
    L~(b, V) >= T - c^2 U,   U = Psi(x0) + |g|^2 / (2 lambda),
with every box outside E bounded below Psi(x0). The ETF attains T - c^2 Psi(x0), so the relative
gap is of the order of the balls' width (about 1e-40 at the default precision). A candidate
tilt that is off (a planted failure) leaves a gradient g of its size, and the gap shows it.

mu = 0 (rho = 0): Delta_h = 0 and Psi = 2 K(0)^2 / (a + k) <= 2 K(0)^2 / a (k >= K(-1) = 0),
attained by the antipodal pair (the simplex): proven exactly, no branch and bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

from verify.certify._common import Verification, exact, flint_prec, float_up
from verify.certify.result import CertifiedBound
from verify.errors import InputError

__all__ = ["PlanarBound", "certify_m2", "psi64"]

PREC = 128  # arb bits of the point evaluations at x0 (value, gradient) and of the final bound
BOX_PREC = 64  # arb bits of the box bounds (only compared with Psi(x0), with a margin)
MIN_WIDTH = 1e-7  # boxes narrower than this that are not pruned stop the search (not certified)
MAX_BOXES = 2_000_000
SIDE = 3.25  # the search covers phi_1 in [0, SIDE], delta in [-SIDE, SIDE], a cover of [0, pi] x [-pi, pi]
GAP_TARGET = Fraction(1, 10**20)  # relative gap of a certificate of optimality (issue 10)
METHOD = "planar-bnb-m2"  # the method name of its bounds


# --------------------------------------------------------------------------------------------
# Float64 reference (tests, plots, the starting grid): Psi on arrays
# --------------------------------------------------------------------------------------------


def psi64(phi1, delta, rho: float):
    """Psi(phi_1, delta) in float64 (numpy broadcasting); the limit 2 h^2 + 2 h'^2 at delta = 0."""
    import numpy as np

    from verify.kernels.relu import relu_dK64, relu_K64

    phi1, delta = np.broadcast_arrays(np.asarray(phi1, float), np.asarray(delta, float))
    a = 0.5
    h1 = relu_K64(rho * np.cos(phi1))
    h2 = relu_K64(rho * np.cos(phi1 - delta))
    k = relu_K64(np.cos(delta))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 2 * h1 * h2 / (a + k) + a * (h2 - h1) ** 2 / ((a - k) * (a + k))
    hp = -rho * np.sin(phi1) * relu_dK64(rho * np.cos(phi1))
    return np.where(delta == 0, 2 * h1 * h1 + 2 * hp * hp, out)


# --------------------------------------------------------------------------------------------
# Ranges on boxes (arb)
# --------------------------------------------------------------------------------------------


def _cos_range(lo: float, hi: float):
    """(min, max) of cos on [lo, hi] as arb balls (containing the true ends)."""
    from flint import arb

    if hi - lo >= 2 * math.pi:
        return arb(-1), arb(1)
    cl, ch = arb(lo).cos(), arb(hi).cos()
    mn = _arb_min(cl, ch)
    mx = _arb_max(cl, ch)
    pi = arb.pi()
    for n in range(math.floor(lo / math.pi) - 1, math.ceil(hi / math.pi) + 2):
        p = n * pi
        if not (p < arb(lo)) and not (p > arb(hi)):  # n pi may lie in [lo, hi]: include its extremum
            if n % 2 == 0:
                mx = arb(1)
            else:
                mn = arb(-1)
    return mn, mx


def _arb_min(x, y):
    return x if x.upper() < y.lower() else (y if y.upper() < x.lower() else x.union(y))


def _arb_max(x, y):
    return x if x.lower() > y.upper() else (y if y.lower() > x.upper() else x.union(y))


def _pt(v):
    """The exact arb point v (an end of a ball) clipped to [-1, 1]."""
    from flint import arb

    return arb(-1) if v < -1 else (arb(1) if v > 1 else v)


def _K_lo(x):
    """A ball below which K is not, on the ball x (K increases): K at x's lower end."""
    from verify.kernels.relu import relu_K_arb

    return relu_K_arb(_pt(x.lower()))


def _K_hi(x):
    from verify.kernels.relu import relu_K_arb

    return relu_K_arb(_pt(x.upper()))


def _dK_hi(x):
    """K' (increasing) at the upper end of x."""
    from verify.kernels.relu import relu_dK_arb

    return relu_dK_arb(_pt(x.upper()))


def _dK_lo(x):
    from verify.kernels.relu import relu_dK_arb

    return relu_dK_arb(_pt(x.lower()))


@dataclass
class _Ctx:
    rho: object  # arb
    a: object
    target: object  # arb ball of Psi(x0): a box is pruned when its bound is certainly below it
    mean_value: bool = True  # False: the first bounds only (benchmarks/bench_certify.py compares)


def box_upper(ctx: _Ctx, l1: float, u1: float, ld: float, ud: float):
    """An arb ball whose upper end bounds Psi on [l1, u1] x [ld, ud] (Step 3), or None."""
    from flint import arb

    rho, a = ctx.rho, ctx.a
    c1lo, c1hi = _cos_range(l1, u1)
    l2, u2 = l1 - ud, u1 - ld  # phi_2 = phi_1 - delta
    c2lo, c2hi = _cos_range(l2, u2)
    cdlo, cdhi = _cos_range(ld, ud)
    h1lo, h1hi = _K_lo(rho * c1lo), _K_hi(rho * c1hi)
    h2lo, h2hi = _K_lo(rho * c2lo), _K_hi(rho * c2hi)
    klo, khi = _K_lo(cdlo), _K_hi(cdhi)
    apk = a + klo
    term1 = 2 * h1hi * h2hi / apk
    dh = _absmax(h2hi - h1lo, h1hi - h2lo)
    best = None
    dk = a - khi
    if dk > 0:
        best = a * dh * dh / (dk * apk)
    dmax = max(abs(ld), abs(ud))
    if dmax < 3.0:
        # S >= |h'| = rho |sin phi| K'(rho cos phi) on the hull of the angles phi_1 and phi_2
        hlo, hhi = min(l1, l2), max(u1, u2)
        slo, shi = _cos_range(hlo - math.pi / 2, hhi - math.pi / 2)  # sin phi = cos(phi - pi/2)
        S = rho * _absmax(slo, shi) * _dK_hi(rho * _cos_range(hlo, hhi)[1])
        x = arb(dmax) / 2
        ratio = x / x.sin() if dmax > 0 else arb(1)
        kp = _dK_lo(arb(dmax).cos())
        if kp > 0:
            alt = a * S * S * 2 * ratio * ratio / (kp * apk)
            best = alt if best is None or alt.upper() < best.upper() else best
    simple = None if best is None else term1 + best
    if simple is not None and simple.upper() < ctx.target.lower():
        return simple
    # The mean-value form: Psi(x) <= Psi(center) + sum_i max |dPsi/dx_i over the box| w_i / 2.
    if ld <= 0 <= ud or not ctx.mean_value:
        return simple  # the gradient is not bounded through delta = 0 by this form
    m1, md = (l1 + u1) / 2, (ld + ud) / 2
    w1, wd = (u1 - l1) / 2, (ud - ld) / 2
    B1 = _HD(arb(m1, w1), 1, 0)
    Bd = _HD(arb(md, wd), 0, 1)
    g = _psi_grad(B1, Bd, rho, a)
    if g is None:
        return simple
    c = _psi_hd(_HD(arb(m1)), _HD(arb(md)), rho, a).v
    mv = c + arb(g[0].abs_upper()) * w1 + arb(g[1].abs_upper()) * wd
    if not mv.is_finite():
        return simple
    return mv if simple is None or mv.upper() < simple.upper() else simple


def _psi_grad(B1, Bd, rho, a):
    """Enclosures of the two first derivatives of Psi over the balls B1, Bd, or None."""
    if not (Bd.v.cos() < 1) or not (Bd.v.cos() > -1):
        return None
    v = _psi_hd(B1, Bd, rho, a)
    if not (v.g1.is_finite() and v.g2.is_finite()):
        return None
    return v.g1, v.g2


def _absmax(x, y):
    """A ball whose upper end is >= max(|x|, |y|) for every value of the balls x, y."""
    from flint import arb

    m = x.abs_upper() if x.abs_upper() > y.abs_upper() else y.abs_upper()
    return arb(m)


# --------------------------------------------------------------------------------------------
# Second-order forward differentiation over balls (Step 4)
# --------------------------------------------------------------------------------------------


class _HD:
    """v + g . e + e^T H e / 2 in two variables, every component an arb ball."""

    __slots__ = ("v", "g1", "g2", "h11", "h12", "h22")

    def __init__(self, v, g1=0, g2=0, h11=0, h12=0, h22=0):
        self.v, self.g1, self.g2, self.h11, self.h12, self.h22 = v, g1, g2, h11, h12, h22

    def __add__(self, o):
        o = _lift(o)
        return _HD(self.v + o.v, self.g1 + o.g1, self.g2 + o.g2, self.h11 + o.h11, self.h12 + o.h12, self.h22 + o.h22)

    __radd__ = __add__

    def __neg__(self):
        return _HD(-self.v, -self.g1, -self.g2, -self.h11, -self.h12, -self.h22)

    def __sub__(self, o):
        return self + (-_lift(o))

    def __rsub__(self, o):
        return _lift(o) + (-self)

    def __mul__(self, o):
        o = _lift(o)
        return _HD(self.v * o.v, self.g1 * o.v + self.v * o.g1, self.g2 * o.v + self.v * o.g2,
                   self.h11 * o.v + 2 * self.g1 * o.g1 + self.v * o.h11,
                   self.h12 * o.v + self.g1 * o.g2 + self.g2 * o.g1 + self.v * o.h12,
                   self.h22 * o.v + 2 * self.g2 * o.g2 + self.v * o.h22)

    __rmul__ = __mul__

    def __truediv__(self, o):
        return self * _lift(o).recip()

    def recip(self):
        v = 1 / self.v
        return self.chain(v, -v * v, 2 * v * v * v)

    def chain(self, f, f1, f2):
        """f(self) from f, f', f'' at self.v."""
        return _HD(f, f1 * self.g1, f1 * self.g2, f2 * self.g1 * self.g1 + f1 * self.h11,
                   f2 * self.g1 * self.g2 + f1 * self.h12, f2 * self.g2 * self.g2 + f1 * self.h22)


def _lift(x):
    return x if isinstance(x, _HD) else _HD(x)


def _hd_cos(x: _HD) -> _HD:
    c, s = x.v.cos(), x.v.sin()
    return x.chain(c, -s, -c)


def _hd_K(x: _HD) -> _HD:
    from verify.kernels.relu import relu_d2K_arb, relu_dK_arb, relu_K_arb

    return x.chain(relu_K_arb(x.v), relu_dK_arb(x.v), relu_d2K_arb(x.v))


def _psi_hd(phi1: _HD, delta: _HD, rho, a) -> _HD:
    h1 = _hd_K(rho * _hd_cos(phi1))
    h2 = _hd_K(rho * _hd_cos(phi1 - delta))
    k = _hd_K(_hd_cos(delta))
    dh = h2 - h1
    return 2 * h1 * h2 / (a + k) + a * dh * dh / ((a - k) * (a + k))


# --------------------------------------------------------------------------------------------
# The certificate
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanarBound:
    """The certified bound L~ >= T - c^2 U for M = 2, any signs (Steps 0-4).

    value, value_hi: exact rationals, the ends of the arb ball of T - c^2 U (value is the bound).
    psi_x0: (lo, hi) decimal strings of Psi at the candidate; U: upper end of the bound on Psi.
    tilt: the candidate's alpha (a decimal string). reference: the candidate's loss L~(x0) as a
    ball (lo, hi); gap, relative_gap: rigorous upper bounds of L~(x0) - value (floats, rounded up).
    certified: every box outside E was bounded below Psi(x0) and E's Hessian test held.
    optimal: certified and relative_gap <= 1e-20 (the ETF is a global minimizer up to the balls).
    boxes: boxes processed; pruned: {"bound": n, "exclusion": n}; min_margin: the smallest
    Psi(x0) - bound over the pruned boxes (a float rounded down); radius: (r_1, r_2) of E;
    lam: lambda of Step 4 (a float rounded down); eps: |g|^2 / (2 lambda) (rounded up).
    """

    mu_norm: float
    s: float
    abar: float
    value: Fraction | None
    value_hi: Fraction | None
    ball: tuple[str, str]
    reference: tuple[str, str]
    gap: float | None
    relative_gap: float | None
    tilt: str
    certified: bool
    optimal: bool
    boxes: int
    pruned: dict
    min_margin: float
    radius: tuple[float, float]
    lam: float
    eps: float
    seconds: float
    method: str = METHOD
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_certified_bound(self) -> CertifiedBound:
        ver = Verification(method="plane lemma + arb branch and bound + Hessian exclusion box", subintervals=self.boxes,
                           min_margin=Fraction(self.min_margin) if self.certified else Fraction(0), prec=PREC,
                           seconds=self.seconds, notes=self.notes)
        return CertifiedBound(
            value=self.value if self.certified else None, value_hi=self.value_hi if self.certified else None,
            ball=self.ball, value64=float(self.value) if self.value is not None else float("nan"),
            gap=self.gap if self.certified else None, relative_gap=self.relative_gap if self.certified else None,
            certified=self.certified, assumptions=(), method=self.method, verification=ver,
            details={"boxes": self.boxes, "pruned": dict(self.pruned), "min_margin": self.min_margin,
                     "exclusion_radius": list(self.radius), "lambda": self.lam, "eps": self.eps, "tilt": self.tilt,
                     "reference": list(self.reference), "optimal": self.optimal},
        )


def _round_str(x, down: bool, digits: int = 25) -> str:
    """The exact arb point x as a decimal string of `digits` significant digits, rounded down
    (down=True) or up: an outward end of a ball."""
    from decimal import Decimal

    f = exact(x)
    if f == 0:
        return "0"
    k = digits - 1 - math.floor(math.log10(abs(float(f))))
    scaled = f * Fraction(10) ** k
    n = math.floor(scaled) if down else math.ceil(scaled)
    return str(Decimal(n).scaleb(-k))


def _hessian_bound(rho, a, c1, cd, w1: float, wd: float):
    """-(largest eigenvalue bound) of the Hessian of Psi over the box c +- (w1, wd) (an arb ball
    > 0 when the test holds), or None."""
    from flint import arb

    E1 = _HD(arb(c1.mid(), arb(w1).upper() + c1.rad()), 1, 0)
    E2 = _HD(arb(cd.mid(), arb(wd).upper() + cd.rad()), 0, 1)
    if not (E2.v > 0) or not (E2.v < arb.pi()):
        return None  # cos(delta) must stay inside (-1, 1): K'' is finite there
    H = _psi_hd(E1, E2, rho, a)
    A, C, B = H.h11.upper(), H.h22.upper(), arb(H.h12.abs_upper())
    lam_max = (A + C) / 2 + (((A - C) / 2) ** 2 + B * B).sqrt()
    return -lam_max if lam_max < 0 else None


def _exclusion(x0, rho, a, r1: float, r2: float, budget: int = 100000, max_depth: int = 10):
    """(lambda, eps, evaluations) of Step 4 on E = x0 + [-r1, r1] x [-r2, r2], or None if the test
    fails. E is cut adaptively (quarters) until every piece passes: the ball enclosure of the
    Hessian over a piece of width w overestimates by O(w), and the Hessian of Psi is a difference
    of two terms ~50 times larger than itself near the diagonal, so large pieces fail.
    lambda is the smallest certified curvature over the pieces."""
    from flint import arb

    p1, d0 = x0
    todo = [(p1.mid(), d0.mid(), r1, r2)]
    lam, evals = None, 0
    while todo:
        c1, cd, w1, wd = todo.pop()
        evals += 1
        if evals > budget:
            return None
        lm = _hessian_bound(rho, a, c1, cd, w1, wd)
        if lm is None:
            if not (cd - arb(wd) > 0) or w1 < r1 / 2**max_depth:
                return None  # a piece this small still fails: not concave there, or not resolvable
            h1, hd = w1 / 2, wd / 2
            todo += [(c1 + arb(i * h1), cd + arb(j * hd), h1, hd) for i in (-1, 1) for j in (-1, 1)]
            continue
        lam = lm if lam is None else _arb_min(lam, lm)
    lam = arb(lam.lower())
    g = _psi_hd(_HD(p1, 1, 0), _HD(d0, 0, 1), rho, a)
    eps = (g.g1 * g.g1 + g.g2 * g.g2) / (2 * lam)
    return lam, eps, evals


def certify_m2(mu_norm: float, s: float = 1.0, abar: float = 1.0, *, tilt=None, prec: int = PREC,
               min_width: float = MIN_WIDTH, max_boxes: int = MAX_BOXES, progress=None,
               mean_value: bool = True) -> PlanarBound:
    """The certified lower bound on min L~ over all (b, V) with M = 2 (any signs, any d >= 2),
    and whether the best tilted ETF (or the candidate `tilt`, an alpha in (0, 1)) attains it.

    tilt: None for the best tilt of `verify.model.etf.best_etf` (40 digits); a number or decimal
    string to certify another candidate (planted failures). progress(boxes) is called every
    20000 boxes. mean_value=False keeps only the first bounds of Step 3 (a benchmark's naive
    variant). The search stops uncertified at a box narrower than min_width that it cannot prune,
    or after max_boxes boxes. Raises InputError for mu_norm < 0, s <= 0, or a tilt outside (0, 1)."""
    import mpmath
    from flint import arb

    from verify.certify._common import finite
    from verify.model.etf import best_etf

    m = finite("||mu||", mu_norm)
    if m < 0:
        raise InputError(f"||mu|| must be >= 0, got {mu_norm}")
    s = finite("s", s, positive=True)
    abar = finite("abar", abar)
    t0 = time.perf_counter()
    with flint_prec(prec):
        am, sm = arb(m), arb(s)
        r2 = am * am + sm * sm
        rho = am / r2.sqrt()
        a = arb(1) / 2
        c2 = arb(abar) ** 2 * r2
        from verify.kernels.relu import relu_K_arb

        T = c2 * relu_K_arb(rho * rho)
        if tilt is None:
            etf = best_etf(2, m, s, abar, dps=40)
            tilt_s = mpmath.nstr(etf.alpha, 45)
        else:
            tilt_s = str(tilt)
        alpha = arb(tilt_s)
        if not (alpha > 0 and alpha < 1) and m > 0:
            raise InputError(f"the tilt must lie in (0, 1), got {tilt_s}")
        if m == 0:
            return _mu0(m, s, abar, T, c2, a, tilt_s, t0)
        ap = arb(alpha.acos().mid())  # alpha' as an exact point: the candidate is cos(alpha') (its ball is below 1e-38)
        x0 = (ap, arb((2 * ap).mid()))
        psi0 = _psi_hd(_HD(x0[0]), _HD(x0[1]), rho, a).v
        # Step 4: the largest exclusion box (halving from 1/4 of the tilt angle) whose Hessian test holds
        r1 = r2_ = min(0.25, float(ap.mid()) / 4)
        excl = None
        for _ in range(30):
            excl = _exclusion(x0, rho, a, r1, r2_)
            if excl is not None:
                break
            r1, r2_ = r1 / 2, r2_ / 2
        notes = []
        if excl is None:
            lam, eps = arb(0), arb(0)
            r1 = r2_ = 0.0
            notes.append("no exclusion box passed the Hessian test")
        else:
            lam, eps, evals = excl
            notes.append(f"exclusion box: {evals} Hessian enclosures")
        with flint_prec(BOX_PREC):  # the box bounds: only compared with Psi(x0), with a margin
            bctx = _Ctx(rho=rho, a=a, target=psi0, mean_value=mean_value)
            # E as floats, shrunk by 1e-12 so that float rounding cannot put a pruned box outside it
            E = (float(x0[0].mid()) - r1 + 1e-12, float(x0[0].mid()) + r1 - 1e-12,
                 float(x0[1].mid()) - r2_ + 1e-12, float(x0[1].mid()) + r2_ - 1e-12)
            # The domain [0, pi] x [-pi, pi] with a margin (float pi is below pi): [0, 3.25] x [-3.25, 3.25]
            # (Psi is defined for every real pair; the extra slivers repeat configurations)
            stack = [(i * SIDE / 16, (i + 1) * SIDE / 16, -SIDE + j * SIDE / 16, -SIDE + (j + 1) * SIDE / 16)
                     for i in range(16) for j in range(32)]
            boxes, pruned, min_margin, failed = 0, {"bound": 0, "exclusion": 0}, math.inf, False
            target_lo = psi0.lower()
            while stack:
                l1, u1, ld, ud = stack.pop()
                boxes += 1
                if progress is not None and boxes % 20000 == 0:
                    progress(boxes)
                if excl is not None and E[0] < l1 and u1 < E[1] and E[2] < ld and ud < E[3]:
                    pruned["exclusion"] += 1
                    continue
                ub = box_upper(bctx, l1, u1, ld, ud)
                if ub is not None and ub.upper() < target_lo:
                    pruned["bound"] += 1
                    min_margin = min(min_margin, float((target_lo - ub.upper()).lower()))
                    continue
                if u1 - l1 < min_width and ud - ld < min_width or boxes >= max_boxes:
                    failed = True
                    notes.append(f"box budget of {max_boxes} exhausted" if boxes >= max_boxes else
                                 f"box [{l1}, {u1}] x [{ld}, {ud}] not pruned (bound {ub})")
                    break
                if u1 - l1 >= ud - ld:
                    mid = (l1 + u1) / 2
                    stack += [(l1, mid, ld, ud), (mid, u1, ld, ud)]
                else:
                    mid = (ld + ud) / 2
                    stack += [(l1, u1, ld, mid), (l1, u1, mid, ud)]
        certified = not failed and excl is not None
        U = psi0 + eps if certified else (psi0 + arb(1))  # not used when not certified
        bound = T - c2 * arb(U.upper())
        ref = T - c2 * psi0
        value, value_hi = exact(arb(bound.lower())), exact(arb(bound.upper()))
        ref_hi = exact(arb(ref.upper()))
        gap = ref_hi - value
        rel = gap / exact(arb(ref.lower())) if ref.lower() > 0 else None
        gapf = float_up(gap)
        relf = float_up(rel) if rel is not None else None
        return PlanarBound(
            mu_norm=m, s=s, abar=abar, value=value, value_hi=value_hi,
            ball=(_round_str(arb(bound.lower()), True), _round_str(arb(bound.upper()), False)),
            reference=(_round_str(arb(ref.lower()), True), _round_str(arb(ref.upper()), False)),
            gap=gapf, relative_gap=relf, tilt=tilt_s, certified=certified,
            optimal=bool(certified and rel is not None and rel <= GAP_TARGET),
            boxes=boxes, pruned=pruned, min_margin=min_margin if math.isfinite(min_margin) else 0.0,
            radius=(r1, r2_), lam=float(arb(lam).lower()) if excl is not None else 0.0,
            eps=float(arb(eps).upper()) if excl is not None else math.inf,
            seconds=time.perf_counter() - t0, notes=tuple(notes),
        )


def _mu0(m, s, abar, T, c2, a, tilt_s, t0) -> PlanarBound:
    """mu = 0: Psi = 2 K(0)^2 / (a + k) <= 2 K(0)^2 / a (k >= K(-1) = 0), the antipodal pair."""
    from flint import arb

    from verify.kernels.relu import relu_K_arb

    k0 = relu_K_arb(arb(0))
    val = T - c2 * 2 * k0 * k0 / a  # exact bound and the antipodal pair's loss, the same ball
    value, value_hi = exact(arb(val.lower())), exact(arb(val.upper()))
    gap = value_hi - value
    rel = gap / value if value > 0 else None
    return PlanarBound(
        mu_norm=m, s=s, abar=abar, value=value, value_hi=value_hi,
        ball=(_round_str(arb(val.lower()), True), _round_str(arb(val.upper()), False)),
        reference=(_round_str(arb(val.lower()), True), _round_str(arb(val.upper()), False)),
        gap=float_up(gap), relative_gap=float_up(rel) if rel is not None else None, tilt="0", certified=True,
        optimal=bool(rel is not None and rel <= GAP_TARGET) or abar == 0,
        boxes=0, pruned={"bound": 0, "exclusion": 0}, min_margin=0.0, radius=(0.0, 0.0), lam=0.0, eps=0.0,
        seconds=time.perf_counter() - t0, notes=("mu = 0: Psi <= 2 K(0)^2 / a since k >= K(-1) = 0; no branch and bound",),
    )
