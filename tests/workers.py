"""A real `celery worker` for the tests whose point is asynchrony: its own process, on the real
Redis broker, on a queue of its own, reading the test database."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from config.celery import app


@contextmanager
def celery_worker(
    log_path: Path, *, level: str = "warning", env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start a solo worker on a new queue, make this process send to it (not eagerly), yield the
    queue's name; stop the worker and delete the queue at the end. Its output goes to `log_path`."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        **(env or {}),
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-Q", queue]
    command += ["-l", level, "--without-gossip", "--without-mingle", "--without-heartbeat"]
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
        app.conf.task_always_eager, app.conf.task_default_queue = False, queue
        try:
            yield queue
        finally:
            app.conf.task_always_eager, app.conf.task_default_queue = previous
            process.terminate()
            process.wait(timeout=30)
            redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)
