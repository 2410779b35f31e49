"""compression-verify: exact, high-precision and certified checks of arXiv:2205.08199.

The data flows one way through the sub-packages:

    kernels  ->  networks  ->  objectives  ->  claims  ->  reports  (-> cli)

`verify.kernels` computes dual-activation kernels k_sigma(q1, q2, c) (MATH.md section 2) in
float64, in mpmath and in ball arithmetic; `verify.networks` holds two-layer networks and the
target law (section 1); `verify.objectives` the exact population losses (section 3); `verify.claims`
reads claim files and checks them; `verify.reports` writes what was found.
"""

__version__ = "0.1.0"
