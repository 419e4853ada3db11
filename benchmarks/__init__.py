"""Benchmarks: run them by hand (see tenancy.py); they are not part of the test suite."""
