r"""Small statistics for the rate claims: intervals, power-law fits, a normality test.

Everything here is textbook; the formulas are written out so a reader can check them.

- `mean_interval`: Student-t interval for a mean from independent draws.
- `variance_interval`: the sample variance with an interval that does not assume normal data:
  the large-sample standard error of s^2 is sqrt((m4 - s^4 (n - 3)/(n - 1)) / n) (m4 the fourth
  central moment; e.g. Casella and Berger, Statistical Inference, ex. 5.8), used on the log scale
  (delta method: SE(log s^2) = SE(s^2) / s^2), which keeps the interval positive.
- `power_fit`: y = C x^p fitted by least squares on (log x, log y). With standard errors of y the
  fit is weighted (Var log y ~ (se / y)^2) and the parameter covariance is scaled by the Birge
  ratio chi^2 / dof when that exceeds 1 (scatter beyond the stated errors widens the interval,
  never narrows it); without errors it is the ordinary fit with the residual variance. Slope
  intervals use Student-t with n - 2 degrees of freedom.
- `ks_normal`: Kolmogorov-Smirnov test of standardized values against N(0, 1) (scipy).
- `simultaneous_z`: the normal quantile for m two-sided intervals at family-wise level
  (Bonferroni), so that a claim with many points does not fail by multiplicity alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st

from verify.errors import InputError


@dataclass(frozen=True)
class Interval:
    """An estimate with its standard error and a two-sided interval [lo, hi]."""

    value: float
    se: float
    lo: float
    hi: float

    def contains(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    def scaled(self, c: float) -> Interval:
        """The interval of c times the estimate (c > 0)."""
        if not c > 0:
            raise InputError("scale must be positive")
        return Interval(self.value * c, self.se * c, self.lo * c, self.hi * c)

    def fmt(self, digits: int = 3) -> str:
        return f"{self.value:.{digits}g} [{self.lo:.{digits}g}, {self.hi:.{digits}g}]"


def simultaneous_z(level: float, m: int) -> float:
    """Two-sided normal quantile so that m intervals hold jointly with probability >= level."""
    if not (0 < level < 1) or m < 1:
        raise InputError("level must be in (0, 1) and m >= 1")
    return float(_st.norm.ppf(1 - (1 - level) / (2 * m)))


def _data(x) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    if x.size < 3 or not np.all(np.isfinite(x)):
        raise InputError("need at least 3 finite values")
    return x


def mean_interval(x, z: float | None = None, level: float = 0.95) -> Interval:
    """Mean of independent draws with a t interval (or +- z SE when z is given)."""
    x = _data(x)
    n = x.size
    m = float(np.mean(x))
    se = float(np.std(x, ddof=1) / math.sqrt(n))
    q = z if z is not None else float(_st.t.ppf(0.5 + level / 2, n - 1))
    return Interval(m, se, m - q * se, m + q * se)


def control_variate_mean(x, C, z: float | None = None, level: float = 0.95) -> Interval:
    """Mean of independent draws x_t with control variates C_t (T x p) of KNOWN mean zero: the OLS
    intercept of x on [1, C], i.e. mean(x) - beta^T mean(C) with beta fitted across the draws, and
    its standard error from the residuals (t interval with T - p - 1 degrees of freedom, or +- z SE).

    The variance drops by the fraction of Var x that C explains linearly (Glasserman, Monte Carlo
    Methods in Financial Engineering, 2003, section 4.1); fitting beta on the same draws biases the
    estimate by O(1/T) only, which is far below the standard error here."""
    x = _data(x)
    C = np.asarray(C, dtype=float).reshape(x.size, -1)
    # a control that does not vary (rademacher xi: ||xi||^2 = d exactly) carries no information
    scale = np.max(np.abs(C), axis=0) if C.size else np.zeros(0)
    C = C[:, np.std(C, axis=0) > 1e-9 * np.where(scale > 0, scale, 1.0)] if C.size else C
    T, p = C.shape
    if T < p + 3:
        raise InputError(f"control variates: {T} draws for {p} controls; at least {p + 3} are needed")
    X = np.column_stack([np.ones(T), C])
    coef, *_ = np.linalg.lstsq(X, x, rcond=None)
    resid = x - X @ coef
    s2 = float(resid @ resid) / (T - p - 1)
    cov = s2 * np.linalg.inv(X.T @ X)
    m, se = float(coef[0]), math.sqrt(max(float(cov[0, 0]), 0.0))
    q = z if z is not None else float(_st.t.ppf(0.5 + level / 2, T - p - 1))
    return Interval(m, se, m - q * se, m + q * se)


def variance_interval(x, z: float | None = None, level: float = 0.95) -> Interval:
    """Sample variance (ddof = 1) with a kurtosis-aware interval on the log scale."""
    x = _data(x)
    n = x.size
    c = x - x.mean()
    s2 = float(c @ c / (n - 1))
    m4 = float(np.mean(c**4))
    var_s2 = max(m4 - s2 * s2 * (n - 3) / (n - 1), 0.0) / n
    se = math.sqrt(var_s2)
    q = z if z is not None else float(_st.norm.ppf(0.5 + level / 2))
    if s2 <= 0:
        return Interval(s2, se, 0.0, 0.0)
    half = q * se / s2
    return Interval(s2, se, s2 * math.exp(-half), s2 * math.exp(half))


@dataclass(frozen=True)
class PowerFit:
    """y ~ C x^slope: the slope and log C with intervals, and the fit's chi^2 / dof."""

    slope: Interval
    log_c: Interval
    chi2_dof: float
    n: int

    @property
    def constant(self) -> float:
        return math.exp(self.log_c.value)

    def predict(self, x) -> np.ndarray:
        return self.constant * np.asarray(x, dtype=float) ** self.slope.value


def power_fit(x, y, se=None, level: float = 0.95) -> PowerFit:
    """Fit y = C x^p on log-log axes (y > 0); `se` are standard errors of y, or None."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.size < 3:
        raise InputError("power_fit needs at least 3 points and matching shapes")
    if np.any(x <= 0) or np.any(y <= 0):
        raise InputError("power_fit needs positive x and y (fit |y| and state the sign)")
    X = np.column_stack([np.ones_like(x), np.log(x)])
    ly = np.log(y)
    n = x.size
    if se is not None:
        se = np.asarray(se, dtype=float)
        if se.shape != y.shape or np.any(se <= 0):
            raise InputError("standard errors must be positive and match y")
        w = (y / se) ** 2  # 1 / Var(log y)
    else:
        w = np.ones_like(y)
    A = X.T @ (w[:, None] * X)
    coef = np.linalg.solve(A, X.T @ (w * ly))
    resid = ly - X @ coef
    chi2 = float(np.sum(w * resid**2))
    dof = n - 2
    chi2_dof = chi2 / dof if dof > 0 else float("nan")
    cov = np.linalg.inv(A)
    if se is None:
        cov = cov * (chi2 / dof if dof > 0 else float("inf"))
    elif dof > 0 and chi2_dof > 1:
        cov = cov * chi2_dof
    q = float(_st.t.ppf(0.5 + level / 2, max(dof, 1)))
    ses = np.sqrt(np.diag(cov))
    slope = Interval(float(coef[1]), float(ses[1]), float(coef[1] - q * ses[1]), float(coef[1] + q * ses[1]))
    logc = Interval(float(coef[0]), float(ses[0]), float(coef[0] - q * ses[0]), float(coef[0] + q * ses[0]))
    return PowerFit(slope, logc, chi2_dof, n)


@dataclass(frozen=True)
class KSResult:
    statistic: float
    pvalue: float
    n: int


def ks_normal(z) -> KSResult:
    """Kolmogorov-Smirnov test of z against the standard normal (exact p-value for small n)."""
    z = _data(z)
    res = _st.kstest(z, "norm")
    return KSResult(float(res.statistic), float(res.pvalue), int(z.size))
