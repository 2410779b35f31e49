r"""The mean-field objective L_inf (MATH.md section 4) for gaussian xi, to 13+ digits in float64
and to `dps` digits in mpmath.

Target law (MATH.md section 1): w = mu + (s / sqrt(d)) xi, xi ~ N(0, I_d), a independent of w
with mean abar and variance var_a. With tau = s / sqrt(d) and

    g(m, t) = E_zeta sigma(m + t zeta),   zeta ~ N(0, 1),

the mean-field target is f_inf(x) = E[a sigma(<w, x>)] = abar g(<mu, x>, tau ||x||), and

    L_inf(b, V) = S_inf - 2 sum_j b_j C_inf(v_j) + b^T K_VV b,
    C_inf(v)    = E_x f_inf(x) sigma(<v, x>)  = abar E_w k_sigma(||w||^2, ||v||^2, <w, v>),
    S_inf       = E_x f_inf(x)^2              = abar^2 E_{w, w'} k_sigma(w, w'),
    D           = E[a^2] E_w k_sigma(||w||^2, ||w||^2, ||w||^2),
    E L_N - L_inf = (D - S_inf) / N           (`bias_coefficient` = D - S_inf).

C_inf(w) is also the function F(w) of MATH.md section 4 (tau^2 = 4 Var[a (F - G)]).

The package, one concept per module:
  `smoothing`  g(m, t) = E sigma(m + t zeta): closed forms and quadrature (float64 and mpmath);
  `rules`      float64 quadrature rules: trapezoid steps, sech (sphere) and chi-square variables,
               Gauss-Legendre panels, Gauss-Gegenbauer (public: TAIL64, chi2_trap, ...);
  `rules_mp`   the mpmath rules, exactly normalized;
  `sphere`, `polar`, `cartesian`   the three float64 routes (their derivations are there);
  `mp`         the mpmath twin of the routes;
  `problem`    `MeanFieldProblem` (checks, route choice, dispatch; L_inf, K_VV, D) and
               `mean_field_problem`.

Three exact reductions ("routes"); `route="auto"` takes the sphere route for positively
homogeneous sigma with a closed-form g and the polar route for every other (smooth) sigma.
"""

from verify.model.meanfield.problem import MeanFieldProblem, mean_field_problem
from verify.model.meanfield.rules import T64, TAIL64, chi2_trap

__all__ = ["TAIL64", "T64", "MeanFieldProblem", "chi2_trap", "mean_field_problem"]
