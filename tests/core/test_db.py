"""core.db.atomic_with_retry: a transaction PostgreSQL aborts for a deadlock runs again."""

import threading
from collections import Counter

import pytest
from django.db import IntegrityError, connections
from django_tenants.utils import tenant_context

from challenges.models import Team
from core.db import atomic_with_retry
from tenants.db import tenant_connection
from tenants.models import Organization


def test_two_transactions_that_deadlock_both_end_done(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        tenant_connection().set_schema_to_public()
        alpha = Organization.objects.get(schema_name="alpha")
        with tenant_context(alpha):
            first, second = Team.objects.create(name="Deadlock A"), Team.objects.create(name="Deadlock B")
        attempts: Counter[str] = Counter()
        both_hold_one = threading.Barrier(2)
        results: dict[str, str] = {}
        failures: list[BaseException] = []

        @atomic_with_retry
        def lock_in_order(name: str, one: int, other: int) -> str:
            attempts[name] += 1
            Team.objects.select_for_update().get(pk=one)
            if attempts[name] == 1:
                both_hold_one.wait(timeout=30)  # each holds one row and wants the other's: a cycle
            Team.objects.select_for_update().get(pk=other)
            return name

        def run(name: str, one: int, other: int) -> None:
            try:
                with tenant_context(alpha):
                    results[name] = lock_in_order(name, one, other)
            except BaseException as exc:  # collected for the assertion
                failures.append(exc)
            finally:
                connections.close_all()

        try:
            threads = [
                threading.Thread(target=run, args=("forward", first.pk, second.pk)),
                threading.Thread(target=run, args=("backward", second.pk, first.pk)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)

            assert failures == []
            assert results == {"forward": "forward", "backward": "backward"}
            # PostgreSQL aborted one of them for the deadlock: that one ran a second time.
            assert sorted(attempts.values()) == [1, 2]
        finally:
            with tenant_context(alpha):
                Team.objects.filter(pk__in=[first.pk, second.pk]).delete()


@pytest.mark.django_db
def test_other_errors_are_not_retried(in_org_a):
    calls = []

    @atomic_with_retry
    def duplicate() -> None:
        calls.append(1)
        Team.objects.create(name="Twice")
        Team.objects.create(name="Twice")

    with pytest.raises(IntegrityError):
        duplicate()
    assert calls == [1]
