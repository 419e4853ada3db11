"""A real Celery worker on the real Redis runs each task in the schema it was sent from."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.result import allow_join_result
from django.db import transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.tasks import invitation_send
from tenants.background import enqueue_on_commit
from tenants.db import tenant_connection
from tenants.models import Organization
from tests.workers import celery_worker

pytestmark = pytest.mark.worker


@pytest.fixture
def worker(django_db_setup: None, tmp_path: Path) -> Iterator[Path]:
    """Start `celery worker` on a queue of its own; yield the folder its e-mails are written to."""
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    env = {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox),
    }
    # The log is kept by pytest's tmp_path for post-mortems.
    with celery_worker(tmp_path / "worker.log", env=env):
        yield outbox


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
