r"""Two-layer networks and the target law of MATH.md section 1.

Target (N neurons, mean-field normalization): f_N(x) = (1/N) sum_i a_i sigma(<w_i, x>), with
(a_i, w_i) i.i.d.: a_i independent of w_i with mean abar and variance var_a (a_i = abar + sqrt(var_a) g,
g ~ N(0, 1); a_i = abar exactly when var_a = 0), and w_i = mu + (s / sqrt(d)) xi_i where xi_i has
i.i.d. entries of mean 0 and variance 1 from one of

    gaussian    N(0, 1)
    rademacher  +-1 with probability 1/2
    uniform     sqrt(3) U[-1, 1]
    sparse(p)   Bernoulli(p) times Rademacher, divided by sqrt(p)

Compressed: g(x) = sum_j b_j sigma(<v_j, x>). Both are `TwoLayerNetwork`s; the target's 1/N is its
`scale`. Sampling is by `numpy.random.default_rng(seed)` with an explicit integer seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from verify.errors import InputError
from verify.kernels import Activation, get_activation

XI_LAWS = ("gaussian", "rademacher", "uniform", "sparse")


@dataclass(frozen=True)
class TwoLayerNetwork:
    """x -> scale * sum_j weights[j] * sigma(<inner[j], x>)."""

    weights: np.ndarray
    inner: np.ndarray
    activation: Activation
    scale: float = 1.0

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=float)
        V = np.asarray(self.inner, dtype=float)
        if w.ndim != 1 or V.ndim != 2 or V.shape[0] != w.shape[0]:
            raise InputError(f"output weights ({w.shape}) and input weights ({V.shape}) disagree: need (M,) and (M, d)")
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(V))):
            raise InputError("network weights must be finite (found NaN or inf)")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "inner", V)
        object.__setattr__(self, "activation", get_activation(self.activation))

    @property
    def width(self) -> int:
        return self.weights.shape[0]

    @property
    def dim(self) -> int:
        return self.inner.shape[1]

    @property
    def effective_weights(self) -> np.ndarray:
        """The output weights with the scale folded in (a / N for a target)."""
        return self.scale * self.weights

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.activation.f(np.asarray(x, dtype=float) @ self.inner.T) @ self.effective_weights


@dataclass(frozen=True)
class TargetLaw:
    """The law of (a_i, w_i) for the target network (MATH.md section 1)."""

    d: int
    mu: np.ndarray = field(default=None)
    s: float = 1.0
    abar: float = 1.0
    var_a: float = 0.0
    xi: str = "gaussian"
    sparsity: float = 0.1
    activation: Activation | str = "relu"

    def __post_init__(self):
        if not isinstance(self.d, (int, np.integer)) or self.d < 1:
            raise InputError(f"d must be a positive integer, got {self.d!r}")
        mu = np.zeros(self.d) if self.mu is None else np.asarray(self.mu, dtype=float)
        if mu.shape != (self.d,):
            raise InputError(f"mu must have shape ({self.d},), got {mu.shape}")
        if not np.all(np.isfinite(mu)):
            raise InputError("mu must be finite")
        if not (math.isfinite(self.s) and self.s > 0):
            raise InputError(f"s must be > 0, got {self.s!r}")
        if not (math.isfinite(self.var_a) and self.var_a >= 0) or not math.isfinite(self.abar):
            raise InputError("abar must be finite and var_a >= 0")
        if self.xi not in XI_LAWS:
            raise InputError(f"unknown xi law {self.xi!r}; known: {', '.join(XI_LAWS)}")
        if self.xi == "sparse" and not 0 < self.sparsity <= 1:
            raise InputError(f"sparse(p) needs 0 < p <= 1, got {self.sparsity!r}")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "activation", get_activation(self.activation))

    def sample_xi(self, rng: np.random.Generator, shape) -> np.ndarray:
        if self.xi == "gaussian":
            return rng.standard_normal(shape)
        if self.xi == "rademacher":
            return rng.choice(np.array([-1.0, 1.0]), size=shape)
        if self.xi == "uniform":
            return math.sqrt(3.0) * rng.uniform(-1.0, 1.0, size=shape)
        signs = rng.choice(np.array([-1.0, 1.0]), size=shape)
        return signs * (rng.random(shape) < self.sparsity) / math.sqrt(self.sparsity)

    def sample(self, N: int, seed: int) -> TwoLayerNetwork:
        """A target network of width N, drawn with numpy's default_rng(seed)."""
        if not isinstance(N, (int, np.integer)) or N < 1:
            raise InputError(f"N must be a positive integer, got {N!r}")
        rng = np.random.default_rng(seed)
        W = self.mu[None, :] + (self.s / math.sqrt(self.d)) * self.sample_xi(rng, (N, self.d))
        if self.var_a > 0:
            a = self.abar + math.sqrt(self.var_a) * rng.standard_normal(N)
        else:
            a = np.full(N, float(self.abar))
        return TwoLayerNetwork(a, W, self.activation, scale=1.0 / N)


def mu_along_e1(d: int, mu_norm: float) -> np.ndarray:
    """The mean mu = mu_norm e_1 in R^d used by the claims and the command line."""
    mu = np.zeros(d)
    mu[0] = mu_norm
    return mu
