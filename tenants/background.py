"""Sending background work from inside an organisation."""

from typing import Any

from celery import Task
from django.db import transaction

from tenants.db import tenant_connection


def enqueue_on_commit(task: Task, *args: Any) -> None:
    """Send `task(*args)` once the current transaction commits, to run in the current schema.

    The schema is read now, not at commit time: provisioning commits from the public schema
    work that belongs to the organisation it has just created.
    """
    schema_name = tenant_connection().schema_name

    def send() -> None:
        task.apply_async(args=args, headers={"_schema_name": schema_name})

    transaction.on_commit(send)
