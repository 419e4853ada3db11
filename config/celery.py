"""The Celery app. Built for tenants: a task sent from inside an organisation runs in its schema."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("crowdact")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
