"""Sending background work from inside an organisation, and fanning it out to all of them.

Tasks are named, not imported: a service queues "app.tasks.name", so that no service imports a
task module (tasks import services, never the reverse).
"""

from typing import Any

from celery import Signature, current_app
from django.db import transaction
from django_tenants.utils import get_public_schema_name

from tenants.db import tenant_connection
from tenants.models import Organization


def task_signature(task_name: str, args: tuple[Any, ...] = ()) -> Signature:
    """The named task, to send. A web process imports task modules only here, the first time: with
    the task unknown, Celery would hand the message to the broker even where tasks run inline."""
    if task_name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.signature(task_name, args=args)


def enqueue_on_commit(task_name: str, *args: Any) -> None:
    """Send the task `task_name(*args)` once the current transaction commits, to run in the current
    schema.

    The schema is read now, not at commit time: provisioning commits from the public schema
    work that belongs to the organisation it has just created.
    """
    schema_name = tenant_connection().schema_name

    def send() -> None:
        task_signature(task_name, args).apply_async(headers={"_schema_name": schema_name})

    transaction.on_commit(send)


def fan_out(task_name: str) -> int:
    """Send `task_name` once per active organisation, to run in that organisation's schema."""
    schemas = list(
        Organization.objects.filter(is_active=True)
        .exclude(schema_name=get_public_schema_name())
        .values_list("schema_name", flat=True)
    )
    for schema_name in schemas:
        task_signature(task_name).apply_async(headers={"_schema_name": schema_name})
    return len(schemas)
