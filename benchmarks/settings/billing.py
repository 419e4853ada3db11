"""Settings of the billing benchmark (`python -m benchmarks.billing`): the product's settings and URL
confs on a dedicated database, Stripe pointed at the local server the benchmark starts.

Celery sends to a real Redis broker (database 13) on a queue of the run's own: while the webhook
endpoint is measured no worker reads it (a request pays for queueing, as in production, and nothing
runs inline); then one worker (`celery -A config worker` with these settings) empties it.

Environment (the benchmark sets them for itself and its children):
    BENCH_BILLING_DATABASE_URL     default postgres://postgres@127.0.0.1:5432/crowdact_bench_billing
                                   (DATABASE_URL is ignored: these settings never reach the product's data)
    BENCH_BILLING_BROKER_URL       default redis://127.0.0.1:6379/13 (the tests use database 15)
    BENCH_BILLING_QUEUE            default bench-billing: two runs at once need two queues
    BENCH_BILLING_STRIPE_API_BASE  the local Stripe server (scripts/local_stripe.py); by default a
                                   closed local port, so that nothing ever reaches api.stripe.com
    BENCH_BILLING_WEBHOOK_SECRET   the webhook signing secret (the benchmark makes a random one)
"""

from benchmarks.harness.databases import database_name
from config.settings.base import *  # noqa: F403
from config.settings.base import BASE_DOMAIN, env

DEBUG = False  # DEBUG keeps every SQL statement in memory: it would skew every figure.
SECRET_KEY = "benchmark-secret-key-not-for-production-use-billing-0123456789abc"  # noqa: S105

BENCH_DATABASE_URL = env(
    "BENCH_BILLING_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/crowdact_bench_billing"
)
database_name(BENCH_DATABASE_URL)  # refuses the product's databases (the benchmark drops its own)
DATABASES = {"default": env.db_url_config(BENCH_DATABASE_URL)}
# As in production (config.settings.base): persistent connections with health checks.
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}"]
SITE_SCHEME = "http"
SITE_PORT = 0

# Stripe: the local server only (a test key; port 9 of this machine, where nothing listens, until
# the benchmark has started its server).
STRIPE_SECRET_KEY = "sk_test_crowdact_bench_billing"  # noqa: S105
STRIPE_PUBLISHABLE_KEY = "pk_test_crowdact_bench_billing"
STRIPE_API_BASE = env("BENCH_BILLING_STRIPE_API_BASE", default="http://127.0.0.1:9")
STRIPE_WEBHOOK_SECRET = env("BENCH_BILLING_WEBHOOK_SECRET", default="whsec_crowdact_bench_billing")

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = env("BENCH_BILLING_BROKER_URL", default="redis://127.0.0.1:6379/13")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = env("BENCH_BILLING_QUEUE", default="bench-billing")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
