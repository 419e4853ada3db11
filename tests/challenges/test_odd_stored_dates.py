"""Stored dates no page can show (a deadline in year 9999) are kept out of the database, and the
migration that added the bound brought existing rows into it, so every page still answers."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction

from accounts.roles import ORG_ADMIN
from challenges.models import Challenge
from tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db

YEAR_9999 = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
YEAR_1 = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


def test_the_database_refuses_a_deadline_in_year_9999(in_org_a):
    challenge = ChallengeFactory.create()

    with pytest.raises(IntegrityError), transaction.atomic():
        Challenge.objects.filter(pk=challenge.pk).update(deadline=YEAR_9999)


def test_odd_dates_stored_before_the_bound_are_clamped_and_every_page_answers(in_org_a, client_a):
    # Given challenges stored, before the bound existed, with dates no time zone can show
    far, ancient = ChallengeFactory.create(title="Far"), ChallengeFactory.create(title="Ancient")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks: the table can be altered
        cursor.execute("ALTER TABLE challenges_challenge DROP CONSTRAINT challenge_dates_in_range")
    Challenge.objects.filter(pk=far.pk).update(deadline=YEAR_9999)
    Challenge.objects.filter(pk=ancient.pk).update(starts_at=YEAR_1)

    # When the migration runs
    migration = importlib.import_module("challenges.migrations.0004_challenge_dates_clamped")
    migration.clamp(apps, connection.schema_editor())

    # Then the rows stay, within the bounds, and the pages that show them answer
    far.refresh_from_db()
    ancient.refresh_from_db()
    assert far.deadline <= far.starts_at + dt.timedelta(days=1096)
    assert ancient.starts_at == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert ancient.deadline > ancient.starts_at
    client_a.force_login(UserFactory.create(role=ORG_ADMIN))
    for path in ["/", f"/challenges/{far.pk}/", "/manage/challenges/", f"/manage/challenges/{far.pk}/"]:
        assert client_a.get(path).status_code == 200, path
    with connection.cursor() as cursor:  # the constraint holds for what the migration left
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "ALTER TABLE challenges_challenge ADD CONSTRAINT challenge_dates_in_range CHECK ("
            "starts_at >= '2000-01-01' AND deadline <= '2200-01-01' AND deadline <= starts_at + '1096 days')"
        )


def test_a_join_link_expiring_after_a_year_and_a_far_due_date_are_refused_on_their_field(in_org_a):
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from challenges.services import CounterpartInput, challenge_create
    from participants.models import JoinLink
    from participants.services import join_link_create

    admin = UserFactory.create(role=ORG_ADMIN)
    with pytest.raises(ValidationError) as refused:
        join_link_create(actor=admin, expires_at=YEAR_9999)
    assert list(refused.value.message_dict) == ["expires_at"]
    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        challenge_create(
            actor=admin,
            fields={
                "title": "Far promise",
                "category": "community",
                "starts_at": now,
                "deadline": now + dt.timedelta(days=10),
                "goal_kind": "participants",
                "goal_target": 5,
            },
            counterpart=CounterpartInput("A promise", due_date=dt.date(9999, 12, 31)),
        )
    assert list(refused.value.message_dict) == ["counterpart.due_date"]
    assert not JoinLink.objects.exists()
    assert not Challenge.objects.filter(title="Far promise").exists()
