"""Production: every secret comes from the environment, HTTPS everywhere."""

from django.core.exceptions import ImproperlyConfigured

from core.observability import sentry_setup

from .base import *  # noqa: F403
from .base import BASE_DOMAIN, LOG_FORMATS, LOGGING, REST_FRAMEWORK, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
if SECRET_KEY.startswith("insecure-") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be a random value of at least 50 characters.")
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
# A cache shared by every process (Redis): rate limits, sign-in throttling and at-most-once markers
# depend on it. A cache kept in one process would silently make each of them per process.
CACHE = env.cache("CACHE_URL")
SHARED_CACHE_BACKENDS = frozenset(
    {
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.memcached.PyMemcacheCache",
        "django.core.cache.backends.memcached.PyLibMCCache",
        "django.core.cache.backends.db.DatabaseCache",
    }
)
if CACHE["BACKEND"] not in SHARED_CACHE_BACKENDS:
    raise ImproperlyConfigured(
        f"CACHE_URL must name a cache that every process shares, such as Redis "
        f"(rediscache://redis:6379/1); {CACHE['BACKEND'].rsplit('.', 1)[-1]} keeps its entries in one "
        "process or machine, so rate limits, sign-in throttling and send-once markers would not hold."
    )
CACHES = {
    "default": {
        **CACHE,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    "shared": {**CACHE, "KEY_PREFIX": "shared"},
}
EMAIL_CONFIG = env.email("EMAIL_URL")
vars().update(EMAIL_CONFIG)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}"])

# JSON only: the browsable API is a development aid (forms, and pages nobody reviewed for XSS or CSP).
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}

SITE_SCHEME = "https"
SITE_PORT = 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The probes: liveness and readiness answer over plain HTTP too.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES = {
    "default": {"BACKEND": "tenants.storage.OrganizationFileStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# One JSON object per line, for the log collector (LOG_FORMAT=plain for a person reading them).
LOG_FORMAT = env("LOG_FORMAT", default="json")
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not “{LOG_FORMAT}”.")
LOGGING = {**LOGGING, "handlers": {"console": {**LOGGING["handlers"]["console"], "formatter": LOG_FORMAT}}}

# Error reports, when SENTRY_DSN is set: Django and Celery, no personal data, each event scrubbed of
# e-mail addresses, cookies, credentials and form bodies (core/observability.py).
SENTRY_DSN = env("SENTRY_DSN", default="")
sentry_setup(
    SENTRY_DSN,
    environment=env("SENTRY_ENVIRONMENT", default=""),
    release=env("SENTRY_RELEASE", default=""),
    traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
)
