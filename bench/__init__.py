"""bridgekeeper's benchmark suite: `python -m bench` from a checkout (see BENCHMARKS.md)."""
