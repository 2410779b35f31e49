"""Population losses: exact finite-N L_N (MATH.md section 3), mean-field L_inf and the fluctuation
constants (section 4), the simplified objective L~ (section 5)."""

from verify.model.finite import (
    LossTerms,
    MonteCarloEstimate,
    loss,
    loss_and_grad_relu,
    loss_monte_carlo,
    loss_mp,
    loss_terms,
    self_term,
)
from verify.model.fluctuations import Tau2, tau2
from verify.model.meanfield import MeanFieldProblem, mean_field_problem
from verify.model.simplified import SimplifiedProblem, simplified_problem

__all__ = [
    "LossTerms",
    "MeanFieldProblem",
    "MonteCarloEstimate",
    "SimplifiedProblem",
    "Tau2",
    "loss",
    "loss_and_grad_relu",
    "loss_monte_carlo",
    "loss_mp",
    "loss_terms",
    "mean_field_problem",
    "self_term",
    "simplified_problem",
    "tau2",
]
