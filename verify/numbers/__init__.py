"""Numbers: exact decimals from text, exact conversions, error-free float transformations,
precision contexts and the statistics the claims use. The lowest layer of the suite: it imports
nothing else of `verify` except `verify.errors`.

- `verify.numbers.decimal`: `parse_decimal` (plain ASCII decimals with bounded digits and exponent,
  exactly, so no input can make a conversion run for minutes) and the typed readers built on it.
- `verify.numbers.precision`: `flint_prec` (python-flint working precision for a block), exact
  conversions of mpf and arb values to `Fraction`, rational arb balls.
- `verify.numbers.exact`: Dekker's error-free product and the cancellation-free pieces of the
  dual kernels near rho = +-1.
- `verify.numbers.stats`: confidence intervals, weighted power-law fits and KS tests.
"""
