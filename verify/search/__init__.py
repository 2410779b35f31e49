"""Searches over configurations of the compressed network (MATH.md section 6): the batched global
search of L~ for ReLU (`global_search`), the search for other activations (`general`), recognition
of ETF and spherical-code structure (`structure`) and the local minimizer of the finite-N loss
(`finite_local`). The ETF family itself is a model (`verify.model.etf`)."""
