"""Population losses: exact finite-N (section 3); mean-field and simplified objectives follow."""

from verify.objectives.finite import (
    LossTerms,
    MonteCarloEstimate,
    loss,
    loss_and_grad_relu,
    loss_monte_carlo,
    loss_mp,
    loss_terms,
    self_term,
)

__all__ = [
    "LossTerms",
    "MonteCarloEstimate",
    "loss",
    "loss_and_grad_relu",
    "loss_monte_carlo",
    "loss_mp",
    "loss_terms",
    "self_term",
]
