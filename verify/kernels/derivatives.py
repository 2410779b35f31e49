r"""First and second derivatives of the ReLU kernel k(x, y) = ||x|| ||y|| K(rho) in its vector arguments.

With rho = <x_hat, y_hat>, a(rho) = sqrt(1 - rho^2) / (2 pi) = K(rho) - rho K'(rho),
K'(rho) = (pi - arccos rho) / (2 pi) (the atan2 factors of `verify.kernels.relu`), and the unit vectors
e = (x_hat - rho y_hat) / sqrt(1 - rho^2) (orthogonal to y_hat), f = (y_hat - rho x_hat) / sqrt(1 - rho^2):

    grad_y k  = ||x|| a y_hat + K' x                       (E[relu(<x,z>) 1{<y,z> > 0} z])
    H_yy      = (||x|| / ||y||) a (I - y_hat y_hat^T + e e^T)
    H_yx      = d(grad_y k)/dx = K' I + a (e f^T + y_hat x_hat^T)

(differentiate grad_y k using grad_y rho = (x_hat - rho y_hat)/||y|| and
K''(rho) (1 - rho^2) = a(rho)). H_yy is positive semidefinite with y_hat in its kernel
(k is convex and positively homogeneous in y). At rho = +-1 the terms with e and f carry the
factor a = 0 and are dropped; there k is not twice differentiable, and the formulas give one
limit among several. Zero vectors are outside the domain (k is not differentiable at 0).

Vectorized over leading batch axes: x (..., n), y (..., n).
"""

from __future__ import annotations

import numpy as np

from verify.kernels.relu import relu_a64, relu_dK64_atan2, relu_K64_atan2, relu_sin64


def _unit(x):
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(n > 0, n, 1.0), n[..., 0]


def relu_pair(x: np.ndarray, y: np.ndarray):
    """(k, grad_y k, a, K', x_hat, y_hat, rho, ||x||, ||y||) for batches of pairs."""
    xh, nx = _unit(x)
    yh, ny = _unit(y)
    rho = np.clip(np.sum(xh * yh, axis=-1), -1.0, 1.0)
    sin = relu_sin64(rho)
    a = relu_a64(sin)
    Kp = relu_dK64_atan2(rho, sin)
    k = nx * ny * relu_K64_atan2(rho, a, Kp)
    grad_y = (nx * a)[..., None] * yh + Kp[..., None] * x
    return k, grad_y, a, Kp, xh, yh, rho, nx, ny


def relu_pair_hessians(x: np.ndarray, y: np.ndarray, parts=None):
    """(H_yy, H_yx) for one pair or a batch: arrays of shape (..., n, n). parts: the result of
    relu_pair(x, y) when the caller has it already (it is not computed again)."""
    _, _, a, Kp, xh, yh, rho, nx, ny = relu_pair(x, y) if parts is None else parts
    s = relu_sin64(rho)
    safe = np.where(s > 0, s, 1.0)[..., None]
    e = np.where(s[..., None] > 0, (xh - rho[..., None] * yh) / safe, 0.0)
    f = np.where(s[..., None] > 0, (yh - rho[..., None] * xh) / safe, 0.0)
    n = x.shape[-1]
    eye = np.eye(n)
    outer = lambda u, v: u[..., :, None] * v[..., None, :]  # noqa: E731
    H_yy = ((nx / np.where(ny > 0, ny, 1.0)) * a)[..., None, None] * (eye - outer(yh, yh) + outer(e, e))
    H_yx = Kp[..., None, None] * eye + a[..., None, None] * (outer(e, f) + outer(yh, xh))
    return H_yy, H_yx
