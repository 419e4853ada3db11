"""Home, the challenge page and the leaderboard issue the same queries with 10 rows as with 1,000."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import User
from challenges.models import Challenge, Contribution, Pledge, SkillSlot, Team, TeamMembership
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory
from tests.participants.pages.support import GoalKind, Status, _km, _quantity_challenge

pytestmark = pytest.mark.django_db


# Queries of each page, whatever the number of rows. Seven are the same on every page: the host's
# organisation (SET search_path, its domain, SET search_path), the session, the user and their
# permissions (their own, their groups', for the menu). Then the page's own reads:
# - home: a count, the page of challenges (with metric and counterpart), their skill slots, the
#   person's pledges to them, the person's team;
# - the challenge page: the challenge (with metric and counterpart), its skill slots, the person's
#   pledge, the teams with member counts and the pledges per team (plus the quantities per team for a
#   quantity goal), the person's team, and, unless the goal counts pledges, the person's total and
#   latest entries;
# - the leaderboard: the challenges to choose from, the person's team, the teams with member counts,
#   the pledges per team; for one challenge, the challenge and its skill slots come first, and its
#   standings replace the overall ones (plus the quantities per team for a quantity goal).
BASE_QUERIES = 7
HOME_QUERIES = BASE_QUERIES + 5
CHALLENGE_PAGE_QUERIES = {
    GoalKind.PARTICIPANTS: BASE_QUERIES + 6,
    GoalKind.QUANTITY: BASE_QUERIES + 9,
    GoalKind.SKILLS: BASE_QUERIES + 8,
}
LEADERBOARD_QUERIES = BASE_QUERIES + 4
LEADERBOARD_CHALLENGE_QUERIES = BASE_QUERIES + 6


# Same number of queries with 10 or 1,000 rows -----------------------------------------------------


def _users(count: int, prefix: str) -> list[User]:
    return User.objects.bulk_create(User(email=f"{prefix}{i}@bulk.test", password="!") for i in range(count))


def _teams_with_members(count: int) -> tuple[list[Team], list[User]]:
    members = _users(count, "member")
    teams = Team.objects.bulk_create(Team(name=f"Team {i:04}") for i in range(count))
    TeamMembership.objects.bulk_create(
        TeamMembership(user=user, team=teams[i % count]) for i, user in enumerate(members)
    )
    return teams, members


@pytest.mark.parametrize("rows", [10, 1000])
def test_home_issues_the_same_queries_for_10_or_1000_challenges(
    client, participant, rows, django_assert_num_queries
):
    # Given challenges of every kind, with skill slots and counterparts, some pledged to
    now, metric = timezone.now(), _km()
    kinds = [GoalKind.PARTICIPANTS, GoalKind.QUANTITY, GoalKind.SKILLS]
    challenges = Challenge.objects.bulk_create(
        Challenge(
            title=f"Challenge {i}",
            category=Challenge.Category.ENVIRONMENT,
            status=Status.OPEN,
            goal_kind=kinds[i % 3],
            goal_target=None if kinds[i % 3] == GoalKind.SKILLS else Decimal(100),
            metric=metric if kinds[i % 3] == GoalKind.QUANTITY else None,
            starts_at=now - dt.timedelta(days=1),
            deadline=now + dt.timedelta(days=1 + i),
        )
        for i in range(rows)
    )
    SkillSlot.objects.bulk_create(
        SkillSlot(challenge=c, skill=skill, count=2)
        for c in challenges
        if c.goal_kind == GoalKind.SKILLS
        for skill in ("Design", "Accounting")
    )
    Pledge.objects.bulk_create(Pledge(challenge=c, user=participant) for c in challenges[::2])
    TeamMembership.objects.create(user=participant, team=TeamFactory.create())

    # When I open the home page
    with django_assert_num_queries(HOME_QUERIES):
        response = client.get("/")

    # Then it is there, one page of it, in the same number of queries
    assert response.status_code == 200
    assert len(response.context["cards"]) == min(rows, 50)
    assert sum(1 for card in response.context["cards"] if card["pledge"]) == (min(rows, 50) + 1) // 2


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize("goal_kind", [GoalKind.PARTICIPANTS, GoalKind.QUANTITY, GoalKind.SKILLS])
def test_the_challenge_page_issues_the_same_queries_for_10_or_1000_pledges_entries_and_teams(
    client, participant, rows, goal_kind, django_assert_num_queries
):
    # Given a challenge with `rows` teams, pledges and entries (and skill slots), and mine among them
    now = timezone.now()
    challenge = ChallengeFactory.create(
        goal_kind=goal_kind,
        metric=_km() if goal_kind == GoalKind.QUANTITY else None,
        goal_target=None if goal_kind == GoalKind.SKILLS else Decimal(100_000),
        starts_at=now - dt.timedelta(days=5),
    )
    CounterpartFactory.create(challenge=challenge)
    teams, members = _teams_with_members(rows)
    slots = (
        SkillSlot.objects.bulk_create(
            SkillSlot(challenge=challenge, skill=f"Skill {i}", count=3) for i in range(rows)
        )
        if goal_kind == GoalKind.SKILLS
        else []
    )
    Pledge.objects.bulk_create(
        Pledge(challenge=challenge, user=user, team=teams[i], skill_slot=slots[i] if slots else None)
        for i, user in enumerate([participant, *members[1:]])
    )
    TeamMembership.objects.filter(user=members[0]).update(user=participant)
    if goal_kind != GoalKind.PARTICIPANTS:
        Contribution.objects.bulk_create(
            Contribution(
                challenge=challenge,
                user=participant if i % 2 else members[i],
                team=teams[i],
                skill_slot=slots[0] if slots else None,
                day=timezone.localdate() - dt.timedelta(days=i % 3),
                amount=Decimal(1),
            )
            for i in range(rows)
        )

    # When I open the challenge page
    with django_assert_num_queries(CHALLENGE_PAGE_QUERIES[goal_kind]):
        response = client.get(f"/challenges/{challenge.pk}/")

    # Then it is there, in the same number of queries
    assert response.status_code == 200
    assert len(response.context["standings"]) == 10
    assert response.context["pledge"] is not None
    if goal_kind != GoalKind.PARTICIPANTS:
        assert response.context["mine"].count == rows // 2


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize("goal_kind", [None, GoalKind.PARTICIPANTS, GoalKind.QUANTITY])
def test_the_leaderboard_issues_the_same_queries_for_10_or_1000_teams(
    client, participant, rows, goal_kind, django_assert_num_queries
):
    # Given `rows` teams with members, pledging to current challenges
    teams, members = _teams_with_members(rows)
    challenges = [
        ChallengeFactory.create(goal_kind=GoalKind.PARTICIPANTS),
        _quantity_challenge(starts_at=timezone.now() - dt.timedelta(days=2)),
    ]
    Pledge.objects.bulk_create(
        Pledge(challenge=challenges[i % 2], user=user, team=teams[i]) for i, user in enumerate(members)
    )
    Contribution.objects.bulk_create(
        Contribution(
            challenge=challenges[1], user=user, team=teams[i], day=timezone.localdate(), amount=Decimal(2)
        )
        for i, user in enumerate(members)
    )
    TeamMembership.objects.create(user=participant, team=teams[0])
    chosen = next((c for c in challenges if c.goal_kind == goal_kind), None)
    query = f"?challenge={chosen.pk}" if chosen else ""
    expected = LEADERBOARD_CHALLENGE_QUERIES if chosen else LEADERBOARD_QUERIES
    if goal_kind == GoalKind.QUANTITY:
        expected += 1  # the quantities per team

    # When I open the leaderboard
    with django_assert_num_queries(expected):
        response = client.get(f"/teams/{query}")

    # Then one page of teams is there, in the same number of queries
    assert response.status_code == 200
    assert len(response.context["rows"]) == min(rows, 50)
    assert response.context["page"].paginator.count == rows
