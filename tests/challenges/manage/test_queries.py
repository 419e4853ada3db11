"""The challenge list, the team list and the dashboard issue the same queries with 10 rows as with 1,000."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import User
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    Pledge,
    SkillSlot,
    Team,
    TeamMembership,
)
from challenges.views import DASHBOARD_HISTORY
from tests.challenges.manage.support import GoalKind, Status, _km
from tests.factories import ChallengeFactory, CounterpartFactory

pytestmark = pytest.mark.django_db


# Queries of each page, whatever the number of rows. Seven are the same on every page: the host's
# organisation (SET search_path, its domain, SET search_path), the session, the user and their
# permissions (their own, their groups'). Then the page's own reads:
# - the challenge list: a count, the page of challenges (with metric and counterpart), their skill slots;
# - the team list: a count, the page of teams (with captain and member count);
# - the dashboard: the challenge (with metric and counterpart), its skill slots, its events (with
#   actors), then for the standings the teams with member counts and the pledges per team, and for a
#   quantity goal the contributions per team.
CHALLENGE_LIST_QUERIES = 7 + 3
TEAM_LIST_QUERIES = 7 + 2
DASHBOARD_QUERIES = 7 + 5
DASHBOARD_QUANTITY_QUERIES = 7 + 6


# Queries: the same with 10 rows as with 1,000 -------------------------------------------------------


def _users(count: int, prefix: str = "person") -> list[User]:
    return User.objects.bulk_create(User(email=f"{prefix}{i}@bulk.test", password="!") for i in range(count))


def _teams_with_members(count: int) -> list[Team]:
    captains = _users(count, prefix="member")
    teams = Team.objects.bulk_create(
        Team(name=f"Team {i:04}", captain=captains[i] if i % 2 else None) for i in range(count)
    )
    TeamMembership.objects.bulk_create(
        TeamMembership(user=user, team=teams[i % len(teams)]) for i, user in enumerate(captains)
    )
    return teams


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize("query", ["", "?status=open", "?page=2"])
def test_the_challenge_list_issues_the_same_queries_for_10_or_1000_challenges(
    admin_client, rows, query, django_assert_num_queries
):
    # Given challenges of every kind, with skill slots and counterparts
    now, metric = timezone.now(), _km()
    kinds = [GoalKind.PARTICIPANTS, GoalKind.QUANTITY, GoalKind.SKILLS]
    challenges = Challenge.objects.bulk_create(
        Challenge(
            title=f"Challenge {i}",
            category=Challenge.Category.ENVIRONMENT,
            status=Status.OPEN if i % 2 else Status.DRAFT,
            goal_kind=kinds[i % 3],
            goal_target=None if kinds[i % 3] == GoalKind.SKILLS else Decimal(100),
            metric=metric if kinds[i % 3] == GoalKind.QUANTITY else None,
            starts_at=now - dt.timedelta(days=1),
            deadline=now + dt.timedelta(days=30),
        )
        for i in range(rows)
    )
    SkillSlot.objects.bulk_create(
        SkillSlot(challenge=challenge, skill=skill, count=2)
        for challenge in challenges
        if challenge.goal_kind == GoalKind.SKILLS
        for skill in ("Design", "Accounting")
    )
    Counterpart.objects.bulk_create(
        Counterpart(challenge=challenge, description="A promise") for challenge in challenges[::2]
    )

    # When the admin opens the list (page 2 of 10 rows falls back to the last page)
    with django_assert_num_queries(CHALLENGE_LIST_QUERIES):
        response = admin_client.get(f"/manage/challenges/{query}")

    # Then the page is there, in the same number of queries
    assert response.status_code == 200
    assert 0 < len(response.context["rows"]) <= 50


@pytest.mark.parametrize("rows", [10, 1000])
def test_the_team_list_issues_the_same_queries_for_10_or_1000_teams(
    admin_client, rows, django_assert_num_queries
):
    _teams_with_members(rows)

    with django_assert_num_queries(TEAM_LIST_QUERIES):
        response = admin_client.get("/manage/teams/")

    assert response.status_code == 200
    assert len(response.context["rows"]) == min(rows, 50)


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize(
    ("goal_kind", "status", "counterpart_status", "queries"),
    [
        (GoalKind.QUANTITY, Status.OPEN, Counterpart.Status.PROMISED, DASHBOARD_QUANTITY_QUERIES),
        (GoalKind.QUANTITY, Status.SUCCEEDED, Counterpart.Status.DUE, DASHBOARD_QUANTITY_QUERIES),
        (GoalKind.PARTICIPANTS, Status.OPEN, Counterpart.Status.PROMISED, DASHBOARD_QUERIES),
        (GoalKind.SKILLS, Status.OPEN, Counterpart.Status.PROMISED, DASHBOARD_QUERIES),
    ],
)
def test_the_dashboard_issues_the_same_queries_for_10_or_1000_pledges_contributions_teams_and_events(
    admin_client, admin, rows, goal_kind, status, counterpart_status, queries, django_assert_num_queries
):
    # Given a challenge with `rows` teams, pledges, contributions, events (and skill slots)
    now = timezone.now()
    challenge = ChallengeFactory.create(
        goal_kind=goal_kind,
        status=status,
        metric=_km() if goal_kind == GoalKind.QUANTITY else None,
        goal_target=None if goal_kind == GoalKind.SKILLS else Decimal(100_000),
        starts_at=now - dt.timedelta(days=5),
    )
    CounterpartFactory.create(challenge=challenge, status=counterpart_status)
    teams = _teams_with_members(rows)
    users = _users(rows)
    slots = (
        SkillSlot.objects.bulk_create(
            SkillSlot(challenge=challenge, skill=f"Skill {i}", count=3) for i in range(rows)
        )
        if goal_kind == GoalKind.SKILLS
        else []
    )
    Pledge.objects.bulk_create(
        Pledge(challenge=challenge, user=user, team=teams[i], skill_slot=slots[i] if slots else None)
        for i, user in enumerate(users)
    )
    if goal_kind == GoalKind.QUANTITY:
        Contribution.objects.bulk_create(
            Contribution(challenge=challenge, user=user, team=teams[i], day=now.date(), amount=Decimal(5))
            for i, user in enumerate(users)
        )
    ChallengeEvent.objects.bulk_create(
        ChallengeEvent(challenge=challenge, from_status="draft", to_status="open", actor=admin, cause=f"#{i}")
        for i in range(rows)
    )

    # When the admin opens the dashboard
    with django_assert_num_queries(queries):
        response = admin_client.get(f"/manage/challenges/{challenge.pk}/")

    # Then every team is shown, and the latest events (the whole history has its own page), in the
    # same number of queries
    assert response.status_code == 200
    assert len(response.context["standings"]) == rows
    assert len(response.context["events"]) == min(rows, DASHBOARD_HISTORY)
