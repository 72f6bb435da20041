"""Kernels: pure numba functions on arrays (numpy and numba only, no I/O).

``rng`` holds the keyed SplitMix64 streams, ``simulate`` the path simulation and the
constants and output columns every other layer reads from it.
"""
