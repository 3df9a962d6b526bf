"""Benchmarks at production scale: `python -m bench --scale small|full`. See README, Performance."""
