import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from challenges.models import Challenge, Metric
from challenges.selectors import challenge_forecast, challenge_progress, challenge_team_standings
from challenges.services import contribution_create, team_join
from challenges.tasks import challenges_close_expired_everywhere
from tenants.db import tenant_connection
from tenants.services import organization_suspend
from tests.factories import ChallengeFactory, TeamFactory, UserFactory


def _ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@pytest.mark.usefixtures("in_org_a")
class TestForecast:
    def test_on_track_when_the_pace_reaches_the_goal_by_the_deadline(self):
        now = timezone.now()
        challenge = ChallengeFactory.create(
            goal_target=Decimal(100),
            pledge_count=40,
            starts_at=now - dt.timedelta(days=4),
            deadline=now + dt.timedelta(days=6),
        )

        forecast = challenge_forecast(challenge, now)

        assert forecast is not None
        assert forecast.on_track
        assert forecast.projected == Decimal(100)

    def test_at_risk_says_how_much_more_per_day_is_needed(self):
        now = timezone.now()
        challenge = ChallengeFactory.create(
            goal_kind="quantity",
            metric=Metric.objects.get(key="km-cycled"),
            goal_target=Decimal(1000),
            quantity_total=Decimal(100),
            starts_at=now - dt.timedelta(days=10),
            deadline=now + dt.timedelta(days=10),
        )

        forecast = challenge_forecast(challenge, now)

        assert forecast is not None
        assert not forecast.on_track
        assert forecast.projected == Decimal(200)
        assert forecast.needed_per_day == Decimal(90)

    def test_no_forecast_for_skills_or_closed_challenges(self):
        assert challenge_forecast(ChallengeFactory.create(goal_kind="skills", goal_target=None)) is None
        assert challenge_forecast(ChallengeFactory.create(status="succeeded")) is None


@pytest.mark.usefixtures("in_org_a")
def test_progress_of_a_participants_goal():
    challenge = ChallengeFactory.create(goal_target=Decimal(8), pledge_count=2)

    progress = challenge_progress(challenge)

    assert (progress.current, progress.target, progress.percent, progress.reached) == (2, 8, 25, False)


@pytest.mark.usefixtures("in_org_a")
def test_team_standings_are_per_head_so_a_small_team_can_win(django_assert_num_queries):
    challenge = ChallengeFactory.create(
        goal_kind="quantity", metric=Metric.objects.get(key="km-cycled"), goal_target=Decimal(10000)
    )
    small, big = TeamFactory.create(name="Small"), TeamFactory.create(name="Big")
    small_people = [UserFactory.create() for _ in range(2)]
    big_people = [UserFactory.create() for _ in range(8)]
    for person in small_people:
        team_join(actor=person, team=small)
    for person in big_people:
        team_join(actor=person, team=big)
    today = timezone.localdate()
    contribution_create(actor=small_people[0], challenge_id=challenge.pk, day=today, amount=Decimal(100))
    for person in big_people[:4]:
        contribution_create(actor=person, challenge_id=challenge.pk, day=today, amount=Decimal(40))

    with django_assert_num_queries(3):
        standings = challenge_team_standings(challenge)

    assert [(s.name, s.members, s.participants, s.quantity, s.per_head) for s in standings] == [
        ("Small", 2, 1, Decimal(100), Decimal(50)),
        ("Big", 8, 4, Decimal(160), Decimal(20)),
    ]


def test_the_deadline_job_fans_out_to_every_active_organisation(django_db_setup, db, org_a, org_b):
    with tenant_context(org_a):
        expired_a = ChallengeFactory.create(starts_at=_ago(10), deadline=_ago(1))
    with tenant_context(org_b):
        expired_b = ChallengeFactory.create(starts_at=_ago(10), deadline=_ago(1))
        current_b = ChallengeFactory.create()
    organization_suspend(org_b)

    sent = challenges_close_expired_everywhere()
    again = challenges_close_expired_everywhere()

    assert sent == again == 1, "only active organisations"
    assert tenant_connection().schema_name == "public"
    with tenant_context(org_a):
        assert Challenge.objects.get(pk=expired_a.pk).status == "failed"
    with tenant_context(org_b):
        assert Challenge.objects.get(pk=expired_b.pk).status == "open", "suspended: left alone"
        assert Challenge.objects.get(pk=current_b.pk).status == "open"


def test_the_deadline_job_runs_in_each_organisations_schema(db, org_a, org_b):
    with tenant_context(org_a):
        expired_a = ChallengeFactory.create(starts_at=_ago(10), deadline=_ago(1))
    with tenant_context(org_b):
        expired_b = ChallengeFactory.create(starts_at=_ago(10), deadline=_ago(1))

    assert challenges_close_expired_everywhere() == 2

    with tenant_context(org_a):
        assert Challenge.objects.get(pk=expired_a.pk).status == "failed"
    with tenant_context(org_b):
        assert Challenge.objects.get(pk=expired_b.pk).status == "failed"
