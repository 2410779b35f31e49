"""Claims: TOML claim files (`schema`), the kinds that check them (`kinds`) and what a check returns
(`result`)."""
