"""Benchmarks: pytest-benchmark suites, the NumPy baseline and the throughput script."""
