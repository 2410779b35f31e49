"""compression-verify: exact, high-precision and certified checks of arXiv:2205.08199.

The data flows one way through the sub-packages, and each imports only from its own layer or
lower ones (enforced by tests/test_layers.py):

    numbers -> kernels -> model -> search | certify -> pipeline -> claims -> reports -> cli

- `verify.numbers`: exact decimals from text, conversions between float, mpmath, arb and Fraction,
  error-free float products, precision contexts, statistics.
- `verify.kernels`: dual-activation kernels k_sigma(q1, q2, c) (MATH.md section 2) in float64,
  mpmath, ball arithmetic and sympy; kernel matrices, Hermite series, pair kernels with derivatives.
- `verify.model`: networks and the target law (section 1), the exact L_N (section 3), L_inf and the
  fluctuation constants (section 4), L~ (section 5), the tilted simplex ETF family (section 6).
- `verify.search`: global searches of L~, structure recognition, the finite-N local minimizer.
- `verify.certify`: certified lower bounds and the local certificate, checked in ball or exact
  arithmetic. `search` and `certify` never import each other.
- `verify.pipeline`: `compress`, which combines both into one verdict.
- `verify.claims`: claim files (schema) and the kinds that check them.
- `verify.reports`: running claims and writing reports; `verify.cli`: the command line.
`verify.errors` (the one user-facing exception) and `verify.io` (atomic writes, hashes) sit below all.
"""

__version__ = "0.1.0"
