"""Settings of the reports benchmark (`python -m benchmarks.reports`): the product's settings and URL
confs on a dedicated database.

Celery tasks run eagerly and e-mails stay in memory. Stored files (the PDFs) go under a folder of the
run's own (BENCH_REPORTS_MEDIA_ROOT), removed at the end.

Environment:
    BENCH_REPORTS_DATABASE_URL  default postgres://postgres@127.0.0.1:5432/crowdact_bench_reports
                               (DATABASE_URL is ignored: these settings never reach the product's data)
    BENCH_REPORTS_MEDIA_ROOT    where stored files go during the run
    BENCH_REPORTS_JIT_OFF       "1": the connections run with jit=off (PostgreSQL's JIT compiler off), to
                               compare with the product's connections, which leave the server's setting
"""

import tempfile
from pathlib import Path
from typing import cast

from benchmarks.harness.databases import database_name
from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DOMAIN, REST_FRAMEWORK, env

DEBUG = False  # DEBUG keeps every SQL statement in memory: it would skew every figure.
SECRET_KEY = "benchmark-secret-key-not-for-production-use-reports-0123456789abcdef"  # noqa: S105

BENCH_DATABASE_URL = env(
    "BENCH_REPORTS_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/crowdact_bench_reports"
)
database_name(BENCH_DATABASE_URL)  # refuses the product's databases (the benchmark drops its own)
DATABASES = {"default": env.db_url_config(BENCH_DATABASE_URL)}
# As in production (config.settings.base): persistent connections with health checks.
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env.bool("BENCH_REPORTS_JIT_OFF", default=False):
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}), "options": "-c jit=off"}

# One admin (one session, one API token, one address) sends every request of the load: the API
# throttles still run on every request (their cost is measured) but never refuse.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(
        cast("dict[str, str]", REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]), "1000000/s"
    ),
}
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]
SITE_SCHEME = "http"
SITE_PORT = 0
MEDIA_ROOT = Path(
    env("BENCH_REPORTS_MEDIA_ROOT", default=str(Path(tempfile.gettempdir()) / "crowdact-bench-reports-media"))
)

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
