"""Every list of the API costs the same number of queries with 10 rows as with 1,000."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.tokens import api_token_hash
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    ImpactFactor,
    Metric,
    Pledge,
    SkillSlot,
    Team,
    TeamMembership,
)
from tests.api import V1, api_client
from tests.challenges.api.support import Status, _quantity_challenge
from tests.factories import ChallengeFactory, TeamFactory

pytestmark = pytest.mark.django_db


# Query counts: every list costs the same number of queries with 10 rows as with 1,000 --------


def _seed_teams(n: int, admin: User, participant: User) -> None:
    teams = Team.objects.bulk_create(Team(name=f"Team {i:04}", captain=admin) for i in range(n))
    TeamMembership.objects.create(user=participant, team=teams[0])


def _seed_metrics(n: int, admin: User, participant: User) -> None:
    car = ImpactFactor.objects.get(key="transport_car_thermal")
    bike = ImpactFactor.objects.get(key="transport_bike")
    Metric.objects.bulk_create(
        Metric(
            key=f"metric-{i}",
            name_en=f"Metric {i:04}",
            name_fr=f"Mesure {i:04}",
            unit_en="km",
            unit_fr="km",
            daily_cap=Decimal(10),
            baseline_factor=car,
            action_factor=bike,
        )
        for i in range(n)
    )


def _seed_factors(n: int, admin: User, participant: User) -> None:
    ImpactFactor.objects.bulk_create(
        ImpactFactor(key=f"factor-{i}", label_en="F", label_fr="F", unit="km", source="Test", year=2025)
        for i in range(n)
    )


def _seed_challenges(n: int, admin: User, participant: User) -> list[Challenge]:
    now = timezone.now()
    kinds = [Challenge.GoalKind.PARTICIPANTS, Challenge.GoalKind.SKILLS]
    challenges = Challenge.objects.bulk_create(
        Challenge(
            title=f"Challenge {i}",
            category=Challenge.Category.ENVIRONMENT,
            starts_at=now - dt.timedelta(days=1, minutes=i),
            deadline=now + dt.timedelta(days=30),
            status=Status.OPEN,
            goal_kind=kinds[i % 2],
            goal_target=None if i % 2 else Decimal(10),
        )
        for i in range(n)
    )
    SkillSlot.objects.bulk_create(
        SkillSlot(challenge=c, skill="Designer", count=2) for c in challenges if c.goal_kind == "skills"
    )
    Counterpart.objects.bulk_create(Counterpart(challenge=c, description="Promise") for c in challenges[::3])
    return challenges


def _seed_events(n: int, admin: User, participant: User) -> None:
    challenge = ChallengeFactory.create(title="Eventful")
    ChallengeEvent.objects.bulk_create(
        ChallengeEvent(challenge=challenge, from_status="draft", to_status="open", actor=admin, cause=f"#{i}")
        for i in range(n)
    )


def _seed_pledges(n: int, admin: User, participant: User) -> None:
    team = TeamFactory.create(name="Pledgers")
    challenges = _seed_challenges(n, admin, participant)
    Pledge.objects.bulk_create(Pledge(challenge=c, user=participant, team=team) for c in challenges)
    others = User.objects.bulk_create(User(email=f"other{i}@alpha.test") for i in range(n))
    Pledge.objects.bulk_create(Pledge(challenge=challenges[0], user=u) for u in others)


def _seed_contributions(n: int, admin: User, participant: User) -> None:
    challenge = _quantity_challenge(title="Contributed")
    today = timezone.localdate()
    Contribution.objects.bulk_create(
        Contribution(challenge=challenge, user=user, day=today, amount=Decimal(1))
        for i in range(n)
        for user in (participant, admin)
    )


def _seed_tokens(n: int, admin: User, participant: User) -> None:
    ApiToken.objects.bulk_create(
        ApiToken(
            name=f"t{i}",
            prefix="cra_x",
            key_hash=api_token_hash(f"s{i}"),
            user=admin,
            created_by=admin,
            expires_at=timezone.now() + dt.timedelta(days=30),
        )
        for i in range(n)
    )


def _events_path() -> str:
    return f"{V1}/challenges/{Challenge.objects.get(title='Eventful').pk}/events/"


# (name, seed, path, who asks, exact number of queries). Every request pays 5 for the edges (search_path
# to public, the host's domain, search_path to the organisation, the session, the person), 2 more
# when a role is checked (the person's and their groups' permissions), then 2 for the page (count,
# rows) and 1 per prefetched relation: never one per row.
LISTS: list[tuple[str, Callable[[int, User, User], Any], str | Callable[[], str], str, int]] = [
    ("teams", _seed_teams, f"{V1}/teams/", "participant", 9),
    ("metrics", _seed_metrics, f"{V1}/metrics/", "participant", 7),
    ("impact factors", _seed_factors, f"{V1}/impact-factors/", "participant", 7),
    ("challenges", _seed_challenges, f"{V1}/challenges/", "participant", 10),
    ("challenges (admin)", _seed_challenges, f"{V1}/challenges/?status=open", "admin", 10),
    ("events", _seed_events, _events_path, "executive", 11),
    ("pledges (own)", _seed_pledges, f"{V1}/pledges/", "participant", 9),
    ("pledges (all)", _seed_pledges, f"{V1}/pledges/", "admin", 9),
    ("contributions (own)", _seed_contributions, f"{V1}/contributions/", "participant", 9),
    ("contributions (all)", _seed_contributions, f"{V1}/contributions/", "executive", 9),
    ("tokens", _seed_tokens, f"{V1}/tokens/", "admin", 9),
]


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize(("name", "seed", "path", "who", "queries"), LISTS, ids=[row[0] for row in LISTS])
def test_every_list_costs_the_same_queries_with_10_or_1000_rows(
    admin, executive, participant, django_assert_num_queries, rows, name, seed, path, who, queries
):
    # given `rows` rows, and someone signed in (session and permissions are part of the count)
    seed(rows, admin, participant)
    client = api_client({"admin": admin, "executive": executive, "participant": participant}[who])
    url = path() if callable(path) else path

    # when they read the first page
    with django_assert_num_queries(queries):
        response = client.get(url)

    # then the page is full (or holds every row) in the same number of queries
    assert response.status_code == 200, response.content
    assert response.json()["count"] >= rows
    assert len(response.json()["results"]) == min(50, response.json()["count"])
