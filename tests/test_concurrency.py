"""Many people pledging at once: all counted exactly once, success fires exactly once."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import Notification, User
from accounts.roles import ORG_ADMIN
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    Metric,
    Pledge,
)
from challenges.services import contribution_create, pledge_create, pledge_withdraw
from core.transitions import TransitionRefused
from tenants.db import tenant_connection
from tenants.models import Organization
from tests.factories import ChallengeFactory, CounterpartFactory, UserFactory

PLEDGES = 120
GOAL = 100
CONNECTIONS = 40  # PostgreSQL here allows 100 connections in all


def test_concurrent_pledges_across_the_threshold_are_all_counted_and_succeed_once(
    django_db_setup, django_db_blocker
):
    with django_db_blocker.unblock():
        tenant_connection().set_schema_to_public()
        alpha = Organization.objects.get(schema_name="alpha")
        with tenant_context(alpha):
            people = [UserFactory.create(email=f"crowd{i}@alpha.test") for i in range(PLEDGES)]
            challenge = ChallengeFactory.create(goal_target=GOAL)
            CounterpartFactory.create(challenge=challenge)
            admins = User.objects.filter(groups__name=ORG_ADMIN).count()
        mail.outbox = []
        start = threading.Barrier(CONNECTIONS)
        refused: list[Exception] = []

        def pledge(batch: list[User]) -> set[int]:
            """One thread, one database connection of its own."""
            try:
                with tenant_context(alpha):
                    backend_pids = set()
                    start.wait(timeout=60)
                    for person in batch:
                        try:
                            pledge_create(actor=person, challenge_id=challenge.pk)
                        except Exception as exc:  # collected: the assertion below names them
                            refused.append(exc)
                        with connection.cursor() as cursor:
                            cursor.execute("SELECT pg_backend_pid()")
                            backend_pids.add(cursor.fetchone()[0])
                    return backend_pids
            finally:
                connections.close_all()

        batches = [people[i::CONNECTIONS] for i in range(CONNECTIONS)]
        try:
            with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
                pids = [pid for result in pool.map(pledge, batches) for pid in result]

            assert refused == []
            assert len(set(pids)) == CONNECTIONS, "each thread used a database connection of its own"
            with tenant_context(alpha):
                challenge.refresh_from_db()
                assert challenge.status == Challenge.Status.SUCCEEDED
                assert challenge.pledge_count == PLEDGES
                assert Pledge.objects.filter(challenge=challenge).count() == PLEDGES
                assert Pledge.objects.filter(challenge=challenge).values("user").distinct().count() == PLEDGES
                successes = ChallengeEvent.objects.filter(
                    challenge=challenge, to_status=Challenge.Status.SUCCEEDED
                )
                assert successes.count() == 1
                assert Counterpart.objects.get(challenge=challenge).status == Counterpart.Status.DUE
                # Success fired under the lock at exactly the goal, and its one round of
                # notifications reached every admin and everyone who had pledged by then, once.
                cause = successes.get().cause
                assert cause.endswith(f"participant number {GOAL}"), cause
                notified = Notification.objects.filter(event=f"challenge:{challenge.pk}:goal_reached")
                assert GOAL + admins <= notified.count() <= PLEDGES + admins
                assert notified.filter(sent_at__isnull=True).count() == 0
                pledgers = set(Pledge.objects.filter(challenge=challenge).values_list("user", flat=True))
                assert (
                    set(notified.exclude(user__groups__name=ORG_ADMIN).values_list("user", flat=True))
                    <= pledgers
                )
                recipients = [message.to[0] for message in mail.outbox]
                assert len(recipients) == notified.count()
                assert len(set(recipients)) == len(recipients)
        finally:
            with tenant_context(alpha):
                Challenge.objects.filter(pk=challenge.pk).delete()
                User.objects.filter(email__startswith="crowd", email__endswith="@alpha.test").delete()


PEOPLE = 10
ROUNDS = 4


def _deadlocks() -> int:
    """PostgreSQL's own count of deadlocks detected in this database (flushed by ended sessions)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def test_the_same_people_pledging_withdrawing_and_logging_at_once_never_deadlock(
    django_db_setup, django_db_blocker
):
    """Each person sends a pledge, a contribution and a withdrawal at the same moment, round after
    round: every write that moves a total takes its locks in one order, so none waits for another in a
    cycle, and the running totals equal the rows."""
    with django_db_blocker.unblock():
        tenant_connection().set_schema_to_public()
        alpha = Organization.objects.get(schema_name="alpha")
        with tenant_context(alpha):
            metric = Metric.objects.get(key="km-cycled")
            people = [UserFactory.create(email=f"mixed{i}@alpha.test") for i in range(PEOPLE)]
            challenge = ChallengeFactory.create(
                goal_kind=Challenge.GoalKind.QUANTITY, metric=metric, goal_target=Decimal(100_000)
            )
        before = _deadlocks()
        failures: list[BaseException] = []
        today = timezone.localdate()

        def act(person: User, action: str, start: threading.Barrier) -> None:
            try:
                with tenant_context(alpha):
                    start.wait(timeout=60)
                    try:
                        if action == "pledge":
                            pledge_create(actor=person, challenge_id=challenge.pk)
                        elif action == "withdraw":
                            pledge_withdraw(actor=person, challenge_id=challenge.pk)
                        else:
                            contribution_create(
                                actor=person, challenge_id=challenge.pk, day=today, amount=Decimal("1.5")
                            )
                    except (TransitionRefused, ValidationError):
                        pass  # "already pledged", "not pledged": business answers, not failures
            except BaseException as exc:  # collected: the assertion below names them
                failures.append(exc)
            finally:
                connections.close_all()

        try:
            for _ in range(ROUNDS):
                start = threading.Barrier(PEOPLE * 3)
                threads = [
                    threading.Thread(target=act, args=(person, action, start))
                    for person in people
                    for action in ("pledge", "contribute", "withdraw")
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=120)

            assert failures == []
            with tenant_context(alpha):
                challenge.refresh_from_db()
                active = Pledge.objects.filter(challenge=challenge, withdrawn_at__isnull=True)
                assert challenge.pledge_count == active.count()
                assert active.values("user").distinct().count() == active.count()
                rows = Contribution.objects.filter(challenge=challenge)
                total = rows.aggregate(total=Sum("amount"))["total"]
                assert challenge.quantity_total == total == Decimal("1.5") * PEOPLE * ROUNDS
            for _ in range(20):  # the counter is flushed when the sessions end
                if _deadlocks() > before:
                    break
                time.sleep(0.1)
            assert _deadlocks() == before, "PostgreSQL detected a deadlock"
        finally:
            with tenant_context(alpha):
                Challenge.objects.filter(pk=challenge.pk).delete()
                User.objects.filter(email__startswith="mixed", email__endswith="@alpha.test").delete()
