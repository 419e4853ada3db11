"""Settings of the challenges benchmark (`python -m benchmarks.challenges`): the product's settings,
plus the benchmark-only tenant app `benchmarks.pledgebench` and URL conf `benchmarks.urls.challenges`,
on a dedicated database.

Celery sends to a real Redis broker (database 13, queue "bench-challenges") that no worker reads:
a request that queues a task pays what it pays in production, nothing runs inline, and the benchmark
reads then deletes the queue's keys at the end.

Environment:
    BENCH_CHALLENGES_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/crowdact_bench_challenges
                                   (DATABASE_URL is ignored: these settings never reach the product's data)
    BENCH_CHALLENGES_BROKER_URL    default redis://127.0.0.1:6379/13 (the tests use database 15)
    BENCH_CHALLENGES_QUEUE         default bench-challenges: two runs at once need two queues
"""

from typing import cast

from benchmarks.harness.databases import database_name
from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DOMAIN, INSTALLED_APPS, REST_FRAMEWORK, TENANT_APPS, env

BENCH_QUEUE = env("BENCH_CHALLENGES_QUEUE", default="bench-challenges")

DEBUG = False  # DEBUG keeps every SQL statement in memory: it would skew every figure.
SECRET_KEY = "benchmark-secret-key-not-for-production-use-challenges-0123456789"  # noqa: S105

BENCH_DATABASE_URL = env(
    "BENCH_CHALLENGES_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/crowdact_bench_challenges"
)
database_name(BENCH_DATABASE_URL)  # refuses the product's databases (the benchmark drops its own)
DATABASES = {"default": env.db_url_config(BENCH_DATABASE_URL)}
# As in production (config.settings.base): persistent connections with health checks.
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

TENANT_APPS = [*TENANT_APPS, "benchmarks.pledgebench"]
INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.pledgebench"]
ROOT_URLCONF = "benchmarks.urls.challenges"
# Every request of the load comes from 127.0.0.1 and stands for a different person, on an address of
# their own: the API throttles still run on every request (their cost is measured) but never refuse.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(
        cast("dict[str, str]", REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]), "1000000/s"
    ),
}
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]
SITE_SCHEME = "http"
SITE_PORT = 0

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = env("BENCH_CHALLENGES_BROKER_URL", default="redis://127.0.0.1:6379/13")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = BENCH_QUEUE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
