"""Benchmark settings with the product's apps only, on the dedicated benchmark database.

Used to provision organisations and to serve requests. Celery tasks run eagerly and e-mails stay in
memory, so provisioning needs no broker. `benchmarks.settings.tenancy` adds the benchmark-only tenant
app.

Environment:
    BENCH_DATABASE_URL    the benchmark database (default postgres://postgres@127.0.0.1:5432/crowdact_bench);
                          DATABASE_URL is ignored, so these settings never reach the product's databases.
    BENCH_STOCK_EXECUTOR  "1": plain django-tenants `migrate_schemas` (its stock executor) for comparison.
"""

from benchmarks.harness.databases import database_name
from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DOMAIN, env

DEBUG = False  # DEBUG keeps every SQL statement in memory: it would skew every figure.
SECRET_KEY = "benchmark-secret-key-not-for-production-use-0123456789abcdef"  # noqa: S105

BENCH_DATABASE_URL = env("BENCH_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/crowdact_bench")
database_name(BENCH_DATABASE_URL)  # refuses the product's databases (the benchmark drops its own)
DATABASES = {"default": env.db_url_config(BENCH_DATABASE_URL)}
# As in production (config.settings.base): persistent connections with health checks.
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

if env.bool("BENCH_STOCK_EXECUTOR", default=False):
    GET_EXECUTOR_FUNCTION = "django_tenants.migration_executors.get_executor"

# A trivial tenant page for the request benchmark, on top of the product's tenant URLs.
ROOT_URLCONF = "benchmarks.urls.tenancy"
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]
SITE_SCHEME = "http"
SITE_PORT = 0

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
