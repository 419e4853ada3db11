"""The Celery app. Built for tenants: a task sent from inside an organisation runs in its schema, and
its logs carry the id of the request (or task) that sent it."""

import logging.config
import os
from typing import Any

from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun
from tenant_schemas_celery.app import CeleryApp

from core import observability

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = CeleryApp("crowdact")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

before_task_publish.connect(observability.task_publish_request_id, dispatch_uid="crowdact_request_id_publish")
task_prerun.connect(observability.task_prerun_request_id, dispatch_uid="crowdact_request_id_prerun")
task_postrun.connect(observability.task_postrun_request_id, dispatch_uid="crowdact_request_id_postrun")


@setup_logging.connect
def logging_from_settings(loglevel: int | str | None = None, **kwargs: Any) -> None:
    """Workers and beat log as the web processes do (settings.LOGGING: JSON in production), at the
    level of their --loglevel, instead of Celery's own format."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
