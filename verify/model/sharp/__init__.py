r"""The sharp constants of the simplification error (issue "Sharp constants, derived"; MATH.md
sections 4 and 5; the derivation in docs/sharp-constants.md).

  `derivation`  each step of the derivation done by sympy; `derive()` returns the coefficients;
  `constants`   `sharp_constants(...)`: c1, c1_kappa4 and tau2_leading of a network (b, V) and a
                target law, to `dps` digits by one-dimensional mpmath integrals.
"""

from verify.model.sharp.constants import SharpConstants, sharp_constants, supports
from verify.model.sharp.derivation import Derivation, derive, kappa4

__all__ = ["Derivation", "SharpConstants", "derive", "kappa4", "sharp_constants", "supports"]
