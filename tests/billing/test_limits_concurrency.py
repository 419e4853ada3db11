"""Plan limits under concurrency, with real threads and database connections (committed data, as in
tests/test_concurrency.py): two publishes at once on Discovery open exactly one challenge; newcomers
at once never take more places than the plan has."""

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from typing import Any

from django.core import mail
from django.db import connections
from django_tenants.utils import tenant_context

from accounts.models import Notification, User
from accounts.roles import ORG_ADMIN
from challenges.models import Challenge, Pledge
from challenges.selectors.activity import active_participants_since
from challenges.services import challenge_publish, pledge_create
from core.errors import PlanLimitReached
from tenants.db import tenant_connection
from tenants.limits import organization_limits
from tenants.models import Organization
from tests.factories import ChallengeFactory, UserFactory

PROVIDER = "billing.limits.organization_limits"
ROUNDS = 5
NEWCOMERS = 20
ALREADY_ACTIVE = 45  # of 50: five places left for twenty newcomers


def _at_once(organization: Organization, calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Each call in a thread of its own, on a connection of its own, released together."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            with tenant_context(organization):
                start.wait(timeout=60)
                try:
                    return call()
                except Exception as exc:  # returned: the test says which were expected
                    return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _alpha() -> Organization:
    tenant_connection().set_schema_to_public()
    alpha = Organization.objects.get(schema_name="alpha")
    assert alpha.plan == Organization.Plan.DISCOVERY
    return alpha


def test_two_publishes_at_once_on_discovery_open_exactly_one(django_db_setup, django_db_blocker, settings):
    settings.ORGANIZATION_LIMITS = PROVIDER
    with django_db_blocker.unblock():
        alpha = _alpha()
        with tenant_context(alpha):
            admin = User.objects.filter(groups__name=ORG_ADMIN).order_by("pk").first()
            assert admin is not None
            assert not Challenge.objects.filter(status=Challenge.Status.OPEN).exists()
        created: list[int] = []
        try:
            for _ in range(ROUNDS):
                with tenant_context(alpha):
                    Challenge.objects.filter(status=Challenge.Status.OPEN).update(
                        status=Challenge.Status.CANCELLED
                    )
                    drafts = ChallengeFactory.create_batch(2, status=Challenge.Status.DRAFT)
                    created += [draft.pk for draft in drafts]

                results = _at_once(
                    alpha,
                    [partial(challenge_publish, actor=admin, challenge_id=draft.pk) for draft in drafts],
                )

                refused = [r for r in results if isinstance(r, Exception)]
                assert len(refused) == 1, results
                assert isinstance(refused[0], PlanLimitReached), refused
                with tenant_context(alpha):
                    statuses = sorted(
                        Challenge.objects.filter(pk__in=[d.pk for d in drafts]).values_list(
                            "status", flat=True
                        )
                    )
                    assert statuses == [Challenge.Status.DRAFT, Challenge.Status.OPEN]
                    assert Challenge.objects.filter(status=Challenge.Status.OPEN).count() == 1
        finally:
            with tenant_context(alpha):
                Challenge.objects.filter(pk__in=created).delete()


def test_newcomers_at_once_take_exactly_the_places_left(django_db_setup, django_db_blocker, settings):
    settings.ORGANIZATION_LIMITS = PROVIDER
    with django_db_blocker.unblock():
        alpha = _alpha()
        with tenant_context(alpha):
            start = organization_limits(alpha).period_start
            assert start is not None
            assert active_participants_since(start) == (0, False), "alpha has no activity between tests"
            challenge = ChallengeFactory.create(goal_target=Decimal(1000))
            active = [UserFactory.create(email=f"active{i}@limits.test") for i in range(ALREADY_ACTIVE)]
            Pledge.objects.bulk_create(Pledge(challenge=challenge, user=person) for person in active)
            Challenge.objects.filter(pk=challenge.pk).update(pledge_count=ALREADY_ACTIVE)
            newcomers = [UserFactory.create(email=f"newcomer{i}@limits.test") for i in range(NEWCOMERS)]
            second = ChallengeFactory.create(goal_target=Decimal(1000))
        mail.outbox = []
        try:
            # The newcomers, and five already active people pledging to the second challenge at once.
            calls = [partial(pledge_create, actor=person, challenge_id=challenge.pk) for person in newcomers]
            calls += [partial(pledge_create, actor=person, challenge_id=second.pk) for person in active[:5]]
            results = _at_once(alpha, calls)

            welcomed = [r for r in results[:NEWCOMERS] if isinstance(r, Pledge)]
            refused = [r for r in results[:NEWCOMERS] if isinstance(r, Exception)]
            assert len(welcomed) == 50 - ALREADY_ACTIVE
            assert len(refused) == NEWCOMERS - len(welcomed)
            assert all(isinstance(r, PlanLimitReached) for r in refused), refused
            assert all(isinstance(r, Pledge) for r in results[NEWCOMERS:]), results[NEWCOMERS:]
            with tenant_context(alpha):
                assert active_participants_since(start) == (50, False)
                challenge.refresh_from_db()
                assert challenge.pledge_count == Pledge.objects.filter(challenge=challenge).count() == 50
                # The 50th newcomer told the admins once; the refusals told nobody twice.
                reached = Notification.objects.filter(
                    event=f"plan:active_participants:{start.isoformat()}:reached"
                )
                admins = User.objects.filter(groups__name=ORG_ADMIN, is_active=True).count()
                assert reached.count() == reached.filter(sent_at__isnull=False).count() == admins
            subjects = [message.subject for message in mail.outbox]
            assert (
                subjects.count("Alpha Corp has reached its plan's limit of 50 active participants") == admins
            )
        finally:
            with tenant_context(alpha):
                Challenge.objects.filter(pk__in=[challenge.pk, second.pk]).delete()
                User.objects.filter(email__endswith="@limits.test").delete()
                Notification.objects.filter(event__startswith="plan:").delete()
