"""A real Celery worker on the real Redis runs each task in the schema it was sent from."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery.result import allow_join_result
from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.tasks import invitation_send
from config.celery import app
from tenants.background import enqueue_on_commit
from tenants.db import tenant_connection
from tenants.models import Organization

pytestmark = pytest.mark.worker


@pytest.fixture
def worker(django_db_setup: None, tmp_path: Path) -> Iterator[Path]:
    """Start `celery worker` on a queue of its own; yield the folder its e-mails are written to."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox),
    }
    log = (tmp_path / "worker.log").open("w")  # kept by pytest's tmp_path for post-mortems
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    previous = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        yield outbox
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = previous
        process.terminate()
        process.wait(timeout=30)
        log.close()
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)


def test_a_task_sent_from_an_organisation_runs_in_its_schema_once(worker, django_db_blocker):
    with django_db_blocker.unblock():
        tenant_connection().set_schema_to_public()
        alpha = Organization.objects.get(schema_name="alpha")
        beta = Organization.objects.get(schema_name="beta")
        with tenant_context(alpha), transaction.atomic():
            person = User.objects.create_user(email="worker-test@alpha.test")
            enqueue_on_commit("accounts.tasks.invitation_send", person.pk)
        with tenant_context(beta):
            # Same id in the other schema: if the task ran there, this row would be marked.
            namesake = User.objects.create_user(pk=person.pk, email="worker-test@beta.test")
        try:
            deadline = time.monotonic() + 60
            with tenant_context(alpha):
                while time.monotonic() < deadline:
                    person.refresh_from_db()
                    if person.invitation_sent_at is not None:
                        break
                    time.sleep(0.1)
                assert person.invitation_sent_at is not None, "the worker never ran the task"
                first_sent_at = person.invitation_sent_at

                # Delivered twice (a redelivery, a retry): the second run sends nothing.
                second = invitation_send.apply_async(args=(person.pk,))
                # This process is no worker: an eager task that ran in a live server's thread in an
                # earlier test may have left Celery's "inside a task" flag set (it is process-wide).
                with allow_join_result():
                    assert second.get(timeout=60) is False
                person.refresh_from_db()
                assert person.invitation_sent_at == first_sent_at

            with tenant_context(beta):
                namesake.refresh_from_db()
                assert namesake.invitation_sent_at is None
            mails = list(worker.iterdir())
            assert len(mails) == 1
            body = mails[0].read_text()
            assert "To: worker-test@alpha.test" in body
            assert "http://alpha.localhost/account/set-password/" in body
        finally:
            with tenant_context(alpha):
                User.objects.filter(email="worker-test@alpha.test").delete()
            with tenant_context(beta):
                User.objects.filter(email="worker-test@beta.test").delete()
