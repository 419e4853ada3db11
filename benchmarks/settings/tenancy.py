"""Tenancy benchmark settings: `benchmarks.settings.product` plus the benchmark-only tenant app.

Switching from `product` to these settings gives `migrate_schemas` exactly one new migration
(benchapp 0001_initial) to apply to every organisation's schema.
"""

from benchmarks.settings.product import *  # noqa: F403
from benchmarks.settings.product import INSTALLED_APPS, TENANT_APPS

TENANT_APPS = [*TENANT_APPS, "benchmarks.benchapp"]
INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.benchapp"]
