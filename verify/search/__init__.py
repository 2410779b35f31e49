"""Searches over configurations of the compressed network (MATH.md section 6): the tilted simplex
ETF family for ReLU and its best member."""

from verify.search.etf import (
    ETFOptimum,
    best_etf,
    etf_beta,
    etf_beta_mp,
    etf_loss,
    etf_loss_mp,
    etf_network,
    etf_stationarity,
    etf_stationarity_mp,
    etf_t,
    tilted_etf,
)

__all__ = [
    "ETFOptimum",
    "best_etf",
    "etf_beta",
    "etf_beta_mp",
    "etf_loss",
    "etf_loss_mp",
    "etf_network",
    "etf_stationarity",
    "etf_stationarity_mp",
    "etf_t",
    "tilted_etf",
]
