"""Benchmarks of the connectors: each module has ``run(*, quick=False) -> BenchReport``."""
