"""Certified bounds (MATH.md section 6): global lower bounds on L~ at mu = 0 for ReLU.

- `verify.certify.delsarte`: the Delsarte-Yudin bound (tangent line, exact; LP, certified in arb),
  conditional on nonnegative output weights.
- `verify.certify.signfree`: a bound that needs no sign assumption (sums of squares of positive
  definite functions and a rank inequality), certified in exact rational arithmetic.
- `verify.certify.gegenbauer`, `verify.certify.interval`: the exact Gegenbauer tools and the arb
  interval check of p <= K they rest on.
- `verify.certify.result`: `CertifiedBound`, the one result type of every bound (each bound's own
  record gives it by `.as_certified_bound()`).
"""

from verify.certify._common import Verification
from verify.certify.delsarte import (
    DelsarteLP,
    Mu0Certificate,
    Mu0Grid,
    PolynomialCertificate,
    TangentLine,
    bound_from_A,
    certify_mu0,
    certify_mu0_grid,
    certify_polynomial,
    delsarte_lp,
    simplex_A,
    tangent_line,
)
from verify.certify.interval import BelowKernelCheck, check_below_relu_kernel
from verify.certify.result import CertifiedBound
from verify.certify.signfree import SignFreeBound, signfree_bound

__all__ = [
    "BelowKernelCheck",
    "CertifiedBound",
    "DelsarteLP",
    "Mu0Certificate",
    "Mu0Grid",
    "PolynomialCertificate",
    "SignFreeBound",
    "TangentLine",
    "Verification",
    "bound_from_A",
    "certify_mu0",
    "certify_mu0_grid",
    "certify_polynomial",
    "check_below_relu_kernel",
    "delsarte_lp",
    "signfree_bound",
    "simplex_A",
    "tangent_line",
]

# mu != 0 (docs/bounds-mu.md): the Delsarte bound with a pole at hat(mu), conditional on one-signed weights.
from verify.certify.tilted import (
    TiltedBound,
    TiltedCertificate,
    TiltedGrid,
    lower_bound_tilted,
    lower_bound_tilted_grid,
    verify_tilted_certificate,
)

__all__ += [
    "TiltedBound",
    "TiltedCertificate",
    "TiltedGrid",
    "lower_bound_tilted",
    "lower_bound_tilted_grid",
    "verify_tilted_certificate",
]

# mu != 0 (docs/bounds-mu.md, section 5): the two-point bound with a pole at hat(mu), certified, conditional
# on one-signed weights.
from verify.certify.pole import (
    PoleBound,
    PoleCertificate,
    PoleGrid,
    lower_bound_pole,
    lower_bound_pole_grid,
    verify_pole_certificate,
)

__all__ += [
    "PoleBound",
    "PoleCertificate",
    "PoleGrid",
    "lower_bound_pole",
    "lower_bound_pole_grid",
    "verify_pole_certificate",
]
