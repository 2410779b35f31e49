"""The problem facade: `MeanFieldProblem` checks its fields, picks a route and dispatches S_inf and
C_inf (float64 and mpmath) to the route modules; L_inf, K_VV, D and the bias coefficient are formed here.

Three exact reductions ("routes"); `route="auto"` takes the sphere route for positively
homogeneous sigma with a closed-form g and the polar route for every other (smooth) sigma.

Measured float64 accuracy (tests/test_meanfield.py and sweeps over d = 2 .. 10^5,
||mu|| in {0, 0.3, 1, 4}, s in {0.5, 2}): ReLU and abs against the mpmath path, worst 5e-16
relative for S_inf and C_inf, L_inf to ~1e-15; erf, hermite against mpmath ~1e-15; refine=2
against refine=1 for erf, sigmoid, softplus, tanh, gelu: <= 3e-15 (1e-14 of the scale of S_inf).
Times (one core, float64): S_inf ~1 ms; C_inf ~2-10 ms per vector (sphere route), 10 ms - 2 s
(polar route; quadrature g and small d, large s/||mu|| cost most).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import mpmath
import numpy as np

from verify.errors import InputError
from verify.kernels import Activation, get_activation, kernel
from verify.model.meanfield.cartesian import C_cart64, S_cart64
from verify.model.meanfield import mp
from verify.model.meanfield.polar import C_polar64, S_polar64
from verify.model.meanfield.rules import T64, TAIL64, chi2_step, chi2_trap, gauss_trap
from verify.model.meanfield.smoothing import closed_kind
from verify.model.meanfield.sphere import C_sphere64, S_sphere64

__all__ = ["MeanFieldProblem", "mean_field_problem"]

_ROUTES = ("auto", "sphere", "polar", "cartesian")


def _check_fields(p: MeanFieldProblem) -> None:
    """Check and normalize the fields of p in place (frozen: object.__setattr__); resolve route "auto"."""
    if isinstance(p.d, bool) or not isinstance(p.d, (int, np.integer)) or p.d < 2:
        raise InputError(f"d must be an integer >= 2, got {p.d!r}")
    object.__setattr__(p, "d", int(p.d))
    mu = np.array(p.mu, dtype=float, copy=True) if p.mu is not None else None
    if mu is None or mu.shape != (p.d,):
        raise InputError(f"mu must have shape ({p.d},), got {None if mu is None else mu.shape}")
    if not np.all(np.isfinite(mu)):
        raise InputError("mu must be finite (found NaN or inf)")
    mu.setflags(write=False)
    for name in ("s", "abar", "var_a"):
        v = getattr(p, name)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            raise InputError(f"{name} must be a finite number, got {v!r}")
        object.__setattr__(p, name, float(v))
    if p.s <= 0:
        raise InputError(f"s must be > 0, got {p.s!r}")
    if p.var_a < 0:
        raise InputError(f"var_a must be >= 0, got {p.var_a!r}")
    act = get_activation(p.activation)
    if p.route not in _ROUTES:
        raise InputError(f"unknown route {p.route!r}; use one of {', '.join(_ROUTES)}")
    sphere_ok = act.degree is not None and closed_kind(act) in ("two_slope", "step", "sign")
    if p.route == "sphere" and not sphere_ok:
        raise InputError(f"the sphere route needs a positively homogeneous activation with closed-form g; {act.label} is not")
    if p.route == "polar" and act.strip <= 0:
        raise InputError(f"the polar route needs a smooth activation; {act.label} is kinked (use the sphere route)")
    if act.degree is None and act.strip <= 0:
        raise InputError(f"{act.label} is kinked and not positively homogeneous: no mean-field rule")
    if isinstance(p.refine, bool) or not isinstance(p.refine, (int, np.integer)) or not 1 <= p.refine <= 64:
        raise InputError(f"refine must be an integer in 1..64, got {p.refine!r}")
    object.__setattr__(p, "mu", mu)
    object.__setattr__(p, "activation", act)
    if p.route == "auto":
        object.__setattr__(p, "route", "sphere" if sphere_ok else "polar")


@dataclass(frozen=True, eq=False)
class MeanFieldProblem:
    """S_inf, C_inf, L_inf, D and the bias coefficient for gaussian xi (MATH.md section 4).

    Fields: d >= 2 (input dimension), mu (length d), s > 0, abar (mean of a), var_a >= 0 (variance
    of a; enters D only), activation (name or Activation), route ("auto": "sphere" for positively
    homogeneous sigma with a closed-form g, "polar" for smooth sigma; "cartesian" for cross-checks;
    see `verify.model.meanfield`), refine (integer >= 1 dividing every step and panel width and
    multiplying Gauss node counts: refine=2 against refine=1 checks convergence).
    S_inf is computed once per instance and cached (float64 and, per dps, mpmath; C_inf_mp per v).

    Example: mean_field_problem(100, 1.0, 1.0).L_inf(b, V) for b (M,), V (M, 100).
    """

    d: int
    mu: np.ndarray
    s: float
    abar: float = 1.0
    var_a: float = 0.0
    activation: Activation | str = "relu"
    route: str = "auto"
    refine: int = 1
    _mp_cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        _check_fields(self)

    @classmethod
    def from_target_law(cls, law, **kwargs) -> MeanFieldProblem:
        """The problem of a `verify.model.networks.TargetLaw` (its xi must be gaussian)."""
        if law.xi != "gaussian":
            raise InputError(f"L_inf is low-dimensional only for gaussian xi (got {law.xi!r}); estimate it by sampling")
        return cls(law.d, law.mu, law.s, law.abar, law.var_a, law.activation, **kwargs)

    # ---- derived constants --------------------------------------------------------------------

    @cached_property
    def mu_norm(self) -> float:
        return math.sqrt(math.fsum(self.mu * self.mu))

    @cached_property
    def tau(self) -> float:
        """tau = s / sqrt(d): the standard deviation of each entry of w."""
        return self.s / math.sqrt(self.d)

    @property
    def moment(self) -> int:
        """m_k = E ||x||^(2k) = d (d + 2) ... (d + 2k - 2) for sigma of degree k (sphere route)."""
        return math.prod(self.d + 2 * j for j in range(self.activation.degree))

    def _refined(self, h: float) -> float:
        return h / self.refine

    # ---- input checks -------------------------------------------------------------------------

    def _vectors(self, V) -> tuple[np.ndarray, bool]:
        V = np.asarray(V, dtype=float)
        single = V.ndim == 1
        V2 = V[None, :] if single else V
        if V2.ndim != 2 or V2.shape[1] != self.d:
            raise InputError(f"V must have shape (M, {self.d}) or ({self.d},), got {V.shape}")
        if not np.all(np.isfinite(V2)):
            raise InputError("V must be finite (found NaN or inf)")
        return V2, single

    def _bV(self, b, V) -> tuple[np.ndarray, np.ndarray]:
        V, _ = self._vectors(V)
        b = np.asarray(b, dtype=float)
        if b.shape != (V.shape[0],):
            raise InputError(f"b must have shape ({V.shape[0]},) to match V {V.shape}, got {b.shape}")
        if not np.all(np.isfinite(b)):
            raise InputError("b must be finite (found NaN or inf)")
        return b, V

    def _geometry(self, v: np.ndarray) -> tuple[float, float, float]:
        """(||v||, m1 = <mu, v_hat>, m2 = ||mu - m1 v_hat||); v = 0 gives (0, 0, ||mu||)."""
        vn = math.sqrt(math.fsum(v * v))
        if vn == 0.0:
            return 0.0, 0.0, self.mu_norm
        vhat = v / vn
        m1 = math.fsum(self.mu * v) / vn
        r = self.mu - m1 * vhat
        return vn, m1, math.sqrt(math.fsum(r * r))

    # ---- float64: S_inf ------------------------------------------------------------------------

    def S_inf(self) -> float:
        """S_inf = E_x f_inf(x)^2 = abar^2 E_{w, w'} k_sigma(w, w') (float64, cached)."""
        return self._S64

    @cached_property
    def _S64(self) -> float:
        return {"sphere": S_sphere64, "polar": S_polar64, "cartesian": S_cart64}[self.route](self)

    # ---- float64: C_inf ------------------------------------------------------------------------

    def C_inf(self, V) -> np.ndarray | float:
        """C_inf(v) = E_x f_inf(x) sigma(<v, x>) = abar E_w k_sigma(||w||^2, ||v||^2, <w, v>).

        V: one vector (d,) -> float, or rows (M, d) -> (M,) array. C_inf(w) is F(w) of MATH.md 4.
        """
        V, single = self._vectors(V)
        f = {"sphere": C_sphere64, "polar": C_polar64, "cartesian": C_cart64}[self.route]
        out = np.array([f(self, v) for v in V])
        return float(out[0]) if single else out

    # ---- float64: L_inf, D, bias ----------------------------------------------------------------

    def K_VV(self, V) -> np.ndarray:
        """[K_VV]_jk = k_sigma(||v_j||^2, ||v_k||^2, <v_j, v_k>) (inner products by math.fsum)."""
        V, _ = self._vectors(V)
        M = V.shape[0]
        if M * M * self.d <= 4_000_000:
            G = np.array([[math.fsum(V[j] * V[k]) for k in range(M)] for j in range(M)])
        else:
            G = V @ V.T
        q = np.diag(G).copy()
        p = np.sqrt(q[:, None] * q[None, :])
        return np.asarray(kernel(self.activation, q[:, None], q[None, :], np.clip(G, -p, p)), dtype=float)

    def L_inf(self, b, V) -> float:
        """L_inf(b, V) = S_inf - 2 sum_j b_j C_inf(v_j) + b^T K_VV b (float64)."""
        b, V = self._bV(b, V)
        C = self.C_inf(V)
        return float(self.S_inf() - 2.0 * math.fsum(b * C) + b @ self.K_VV(V) @ b)

    def D(self) -> float:
        """D = E[a^2] E_w k_sigma(||w||^2, ||w||^2, ||w||^2), E[a^2] = abar^2 + var_a.

        Degree-k homogeneous sigma: E[a^2] k_sigma(1, 1, 1) E ||w||^(2k), with E ||w||^2 = ||mu||^2 + s^2
        (k = 1) and 1 (k = 0), exactly. Otherwise ||w||^2 = (||mu|| + tau z)^2 + tau^2 R, z ~ N(0, 1),
        R ~ chi^2_(d-1): a 2-D integral by the rules of `rules` (kernel by `verify.kernels.kernel`).
        """
        act = self.activation
        ea2 = self.abar**2 + self.var_a
        if act.degree in (0, 1):
            k111 = float(kernel(act, 1.0, 1.0, 1.0))
            return ea2 * k111 * (1.0 if act.degree == 0 else self.mu_norm**2 + self.s**2)
        n, tau = self.d - 1, self.tau
        R, wR = chi2_trap(n, self._refined(chi2_step(n, T64)), TAIL64)
        z, wz = gauss_trap(self._refined(0.25), TAIL64)
        q = (self.mu_norm + tau * z[:, None]) ** 2 + tau * tau * R[None, :]
        k = np.asarray(kernel(act, q, q, q), dtype=float)
        return ea2 * math.fsum(wz * (k @ wR))

    def bias_coefficient(self) -> float:
        """D - S_inf: E L_N(b, V) - L_inf(b, V) = (D - S_inf) / N for every (b, V)."""
        return self.D() - self.S_inf()

    # ---- mpmath twins (`verify.model.meanfield.mp`) ----------------------------------------------

    def S_inf_mp(self, dps: int = 30) -> mpmath.mpf:
        """S_inf to about `dps` significant digits (cached per dps)."""
        return mp.S_inf_mp(self, dps)

    def C_inf_mp(self, v, dps: int = 30) -> mpmath.mpf:
        """C_inf(v) to about `dps` significant digits, for one vector v (d,) (cached per v and dps)."""
        return mp.C_inf_mp(self, v, dps)

    def L_inf_mp(self, b, V, dps: int = 30) -> mpmath.mpf:
        """L_inf(b, V) to about `dps` digits: S_inf_mp - 2 sum_j b_j C_inf_mp(v_j) + b^T K_VV b,
        K_VV by `kernel_mp` from exact inner products."""
        return mp.L_inf_mp(self, b, V, dps)


def mean_field_problem(d: int, mu_norm: float, s: float, abar: float = 1.0, var_a: float = 0.0, activation="relu", **kwargs) -> MeanFieldProblem:
    """The problem with mu = mu_norm e_1 in R^d (other fields as in MeanFieldProblem)."""
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 2:
        raise InputError(f"d must be an integer >= 2, got {d!r}")
    try:
        mn = float(mu_norm)
    except (TypeError, ValueError):
        raise InputError(f"mu_norm must be a number, got {mu_norm!r}") from None
    if not math.isfinite(mn):
        raise InputError(f"mu_norm must be finite, got {mu_norm!r}")
    mu = np.zeros(int(d))
    mu[0] = mn
    return MeanFieldProblem(int(d), mu, s, abar, var_a, activation, **kwargs)
