"""rookdb benchmarks: ratios to the raw floor and to peers, in one run (SPEC §10)."""
