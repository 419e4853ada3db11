"""Settings shared by every environment; each value comes from the environment."""

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from csp.constants import NONCE as CSP_NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="insecure-development-key-change-me-" + "x" * 20)
DEBUG = env.bool("DEBUG", default=False)

# Each organisation is served at <slug>.<BASE_DOMAIN>; the bare BASE_DOMAIN is the public site.
BASE_DOMAIN = env("BASE_DOMAIN", default="localhost")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}"])
# Used to build absolute links (e-mails, the one-time links printed by commands).
SITE_SCHEME = env("SITE_SCHEME", default="https")
SITE_PORT = env.int("SITE_PORT", default=0)

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "billing",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "accounts",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "demo",  # seed_demo: the demo organisations (nothing in the product imports it)
]
TENANT_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "accounts",
    "challenges",
    "participants",
    "reports",
    "rest_framework",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

# What a new organisation gets, in order, once its row, domain and schema exist: plain functions
# taking a tenants.services.Provisioning, run in its schema, in the provisioning transaction.
ORGANIZATION_SETUP = [
    "accounts.services.organization_admin_setup",
    "challenges.library.library_setup",
    "billing.services.billing_setup",
]
# What an organisation's plan allows (open challenges, active participants a period): a function
# (organization, now) -> tenants.limits.OrganizationLimits; empty: nothing is limited.
ORGANIZATION_LIMITS = "billing.limits.organization_limits"
# How self-service sign-up hands its new admin over, signed in, to the organisation's host: a function
# (email, display_name) -> a one-time path there, run in the organisation's schema (tenants/signup.py).
SIGNUP_HANDOFF = "participants.handoff.handoff_link_path"
# What an organisation's export carries from the public schema besides its row and its domains
# (tenants/portability.py): functions (organization) -> querysets, each row's foreign keys pointing to
# the organisation or to rows listed before it. Sign-up requests stay behind: they are this site's
# record of a request (client address, confirmation hash), not the organisation's data.
ORGANIZATION_PUBLIC_ROWS = ["billing.portability.organization_billing_rows"]

TENANT_MODEL = "tenants.Organization"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenants"
# "Anything to migrate?" is answered for every schema in one query (see tenants/migration_executor.py).
GET_EXECUTOR_FUNCTION = "tenants.migration_executor.get_executor"
# Set search_path once per schema switch, not before every cursor (django-tenants resets it on
# set_tenant and on rollback).
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "tenants.middleware.OrganizationMiddleware",
    # The request's id and client, for the audit trail and the logs.
    "core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before anything renders a page: it gives each request the nonce of its inline <style>.
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.OrganizationLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.SignedInResponsesMiddleware",
    # A page whose write PostgreSQL kept aborting (deadlock, serialisation) answers 503, not 500.
    "core.errors.TryAgainLaterMiddleware",
    # An unpaid organisation past its grace period reads and writes nothing (tenants/read_only.py);
    # inside the middleware above, so that its refusal is in the person's language, with their headers.
    "tenants.read_only.ReadOnlyMiddleware",
    # Last: it answers a locked-out sign-in with 429 (accounts/throttling.py).
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.organization",
                "billing.context_processors.billing_banner",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/crowdact"),
}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# The rows that make every e-mail go at most once (core/notifications.py).
NOTIFICATION_MODEL = "accounts.Notification"
# The rows of the audit trail (core/audit.py).
AUDIT_MODEL = "accounts.AuditEntry"
AUTHENTICATION_BACKENDS = [
    # Refuses a throttled client before the password is even checked (accounts/throttling.py).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = 10
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # one account from one client
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # paused for 15 minutes, not for ever
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.throttling.sign_in_username"
AXES_CLIENT_IP_CALLABLE = "core.http.client_address"
AXES_CLIENT_STR_CALLABLE = "accounts.throttling.sign_in_client"
AXES_LOCKOUT_CALLABLE = "accounts.throttling.sign_in_locked_out"
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Paths, not URL names: both URL confs (the public site and an organisation's) serve "/".
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
# The one-time "set your password" link sent to a new organisation's admin.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"
# Stored files live under MEDIA_ROOT/<schema name>/, one folder per organisation.
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
STORAGES = {
    "default": {"BACKEND": "tenants.storage.OrganizationFileStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Cache keys carry the schema name, so one organisation never reads another's entries. The "shared"
# alias is the same cache without the schema in its keys, for counters that span organisations (rate
# limits per address and per client: core/ratelimit.py).
CACHE = env.cache("CACHE_URL", default="locmemcache://")
CACHES = {
    "default": {
        **CACHE,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    "shared": {**CACHE, "KEY_PREFIX": "shared"},
}

# The reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks), for the client
# address of rate limits and sign-in throttling (core/http.py); gunicorn's forwarded_allow_ips reads
# the same variable (deploy/gunicorn.conf.py).
TRUSTED_PROXY_IPS = [
    entry.strip() for entry in env.list("TRUSTED_PROXY_IPS", default=["127.0.0.1", "::1"]) if entry.strip()
]
try:
    for _proxy in TRUSTED_PROXY_IPS:
        ipaddress.ip_network(_proxy, strict=False)
except ValueError as _error:
    raise ImproperlyConfigured(
        f"TRUSTED_PROXY_IPS: “{_proxy}” is not an IP address or network (e.g. 10.0.0.0/8)."
    ) from _error

EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default=f"Crowdact <no-reply@{BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: the broker comes from CELERY_BROKER_URL (Redis in production and tests).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = env.bool("CELERY_TASK_IGNORE_RESULT", default=True)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Every task is safe to run twice (ids in, one service, sent-once e-mails, Stripe idempotency keys):
# a task is acknowledged once it has run, so one cut short by a lost worker process, or by a stop
# that outlasts the grace period, runs again rather than never.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TENANT_CACHE_SECONDS = 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat runs in the public schema; each entry fans out one task per organisation.
CELERY_BEAT_SCHEDULE = {
    "close-expired-challenges": {
        "task": "challenges.tasks.challenges_close_expired_everywhere",
        "schedule": 300.0,
    },
    "deadline-reminders": {
        "task": "challenges.tasks.deadline_reminders_everywhere",
        "schedule": crontab(hour=8, minute=0),
    },
    # Billing (public schema): active participants to Stripe's meter (at most once a day per
    # organisation, and once after each period), late payers past their grace period become
    # read-only, events whose retries ran out go again, and each paying organisation is
    # reconciled with Stripe nightly.
    "billing-usage-reports": {"task": "billing.tasks.usage_reports_queue", "schedule": crontab(minute=20)},
    "billing-grace-expire": {"task": "billing.tasks.billing_grace_expire", "schedule": crontab(minute=5)},
    "billing-grace-reminders": {
        "task": "billing.tasks.billing_grace_reminders_queue",
        "schedule": crontab(minute=10),
    },
    "billing-events-requeue": {"task": "billing.tasks.stripe_events_requeue", "schedule": crontab(minute=35)},
    "billing-reconcile": {
        "task": "billing.tasks.subscriptions_reconcile_queue",
        "schedule": crontab(hour=3, minute=30),
    },
    # Reports: every hour, each organisation where a month has just begun (in its own time zone)
    # gets the previous month's report, once per month.
    "reports-monthly": {"task": "reports.tasks.monthly_reports_everywhere", "schedule": crontab(minute=7)},
}
# PDFs render on their own queue, in a worker recycled for memory (deploy/: worker-reports).
CELERY_TASK_ROUTES = {
    "reports.tasks.report_generate": {"queue": "reports"},
    "reports.tasks.monthly_report_make": {"queue": "reports"},
}

REST_FRAMEWORK = {
    # Token first: its 401 challenge header is what an unauthenticated request gets back.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.ClientRateThrottle", "core.throttles.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "client": env("API_RATE_PER_CLIENT", default="1200/min"),
        "token": env("API_RATE_PER_TOKEN", default="600/min"),
    },
    "PAGE_SIZE": 50,
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Crowdact API",
    "DESCRIPTION": "Challenges, pledges and contributions of one organisation, at <org host>/api/v1/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # 3.1: a nullable object is `oneOf: [$ref, null]`, which every validator and generator reads alike
    # (3.0's `nullable` beside an `allOf` $ref is read as "not nullable" by strict validators).
    "OAS_VERSION": "3.1.0",
    # Two lifecycles share the field name "status": give each choice set its own stable name.
    "ENUM_NAME_OVERRIDES": {
        "ChallengeStatusEnum": "challenges.models.Challenge.Status",
        "CounterpartStatusEnum": "challenges.models.Counterpart.Status",
        "OrganizationKindEnum": "tenants.models.Organization.Kind",
        "TeamKindEnum": "challenges.models.Team.Kind",
        "AuditKindEnum": "accounts.models.AuditEntry.Kind",
    },
}

STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
# Days a failed payment leaves before the organisation becomes read-only (municipalities get
# BILLING_GRACE_DAYS_MUNICIPALITY, 30 by default: billing/selectors.py).
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=14)

SESSION_COOKIE_HTTPONLY = True
# A session ends after this long without a request (core/middleware.py renews it while in use).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=8 * 3600)
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp). Pages load only this site's files; the one inline <style> of
# base.html (the organisation's colour) carries the request's nonce, and the inline <style> of
# plain.html (error pages, rendered without a request) is allowed by its hash (a test checks it).
# No page may be framed, except the challenge widget, which lets the organisation's
# `embed_origins` frame it (participants/views_pages.py); the API docs page relaxes its own policy
# (config/urls_api.py).
PLAIN_PAGE_STYLE_HASH = "'sha256-+ZGR0rVBC/o3CXTWNgotQNQYz9Z5128pEmagSHbUV+8='"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", CSP_NONCE, PLAIN_PAGE_STYLE_HASH],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    },
}

# Logs go to stderr, one line per event: `plain` for people at a terminal, or `json`, one object per
# line with the organisation, the request id and the person's id, e-mail addresses and secrets
# scrubbed (core/observability.py). Production writes JSON unless told otherwise.
LOG_FORMATS = ("json", "plain")
LOG_FORMAT = env("LOG_FORMAT", default="plain")
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not “{LOG_FORMAT}”.")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.observability.RequestContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # axes logs every sign-in at INFO; its warnings (failures, lock-outs) are what matters.
    # WeasyPrint logs each step at INFO (reports/rendering.py listens to them while it renders).
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
    },
}
