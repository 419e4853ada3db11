"""Benchmarks, run by hand from the project root: `python -m benchmarks.tenancy`, `python -m
benchmarks.challenges` (see the README's "Benchmarks"). Their `--quick` modes run in the test suite
(tests/benchmarks/test_quick.py); their figures are judged in full runs only.
"""
