"""Benchmarks: a synthetic recorded site of any size, and the scripts that measure the crawler."""
