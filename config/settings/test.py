"""Tests: the real PostgreSQL and Redis, fast hashing, e-mails kept in memory."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import BASE_DOMAIN, env

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-use-0123456789abcdef"  # noqa: S105
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/crowdact")}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
# One test database per run, so that runs side by side (two checkouts, an editor's test runner) never
# drop each other's database.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default=f"test_crowdact_{os.getpid()}")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=None)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="redis://127.0.0.1:6379/15")
CELERY_TASK_IGNORE_RESULT = False
# Tasks run inline unless a test starts a real worker (tests/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
SITE_SCHEME = "http"
SITE_PORT = 0
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", "testserver"]
# Uploaded files of a test run go to a folder of its own, never into the project's media/.
MEDIA_ROOT = env.path(
    "MEDIA_ROOT", default=str(Path(tempfile.gettempdir()) / f"crowdact-test-media-{os.getpid()}")
)
STORAGES = {
    "default": {"BACKEND": "tenants.storage.OrganizationFileStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

WHITENOISE_AUTOREFRESH = True

# axes warns that an in-process cache counts failed sign-ins per process; here one process serves
# (production refuses such a cache: config/settings/production.py).
SILENCED_SYSTEM_CHECKS = ["axes.W001"]

# The product's tests run with no plan limits, as if every organisation's plan were unlimited (the
# fixture organisations are on Discovery, and many tests pledge past its 50 people); the tests of the
# limits turn them on with the `settings` fixture (tests/billing/test_limits.py).
ORGANIZATION_LIMITS = ""
