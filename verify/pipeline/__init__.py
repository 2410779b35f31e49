"""Pipelines that combine the search and the certificates into one answer: `compress` (search L~,
recognize the ETF, certify it locally, bound it from below, decide)."""
