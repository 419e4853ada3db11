"""Settings of the benchmarks, each on a dedicated database that it drops and creates itself.

- `product`: the product's apps only (the tenancy benchmark provisions and serves with them);
- `tenancy`: `product` plus the benchmark-only tenant app `benchmarks.benchapp` (one new migration);
- `challenges`: the product's apps plus `benchmarks.pledgebench`, with a real Redis broker.
"""
