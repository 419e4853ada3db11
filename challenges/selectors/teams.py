"""Teams and their standings: per head, so that a team of 8 can beat a team of 80."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from challenges.models import Challenge, Contribution, Pledge, Team, TeamMembership


@dataclass(frozen=True)
class TeamStanding:
    team_id: int
    name: str
    members: int
    participants: int  # people with an active pledge
    pledges: int  # active pledges
    quantity: Decimal  # logged, for a quantity goal
    per_head: Decimal


def team_standings(
    challenge_ids: Iterable[int] | QuerySet, *, by_quantity: bool = False, team: Team | None = None
) -> list[TeamStanding]:
    """The one ranking of teams: pledges (or, `by_quantity`, quantities logged) in the given challenges,
    divided by the team's members, best first. A pledge or contribution counts for the team its person
    was in when they made it. Three queries at most, whatever the number of teams or rows."""
    teams = Team.objects.annotate(members=Count("memberships", distinct=True)).values("pk", "name", "members")
    pledges = Pledge.objects.filter(
        challenge__in=challenge_ids, withdrawn_at__isnull=True, team__isnull=False
    )
    if team is not None:
        teams, pledges = teams.filter(pk=team.pk), pledges.filter(team=team)
    counts = {
        row["team"]: (row["pledges"], row["participants"])
        for row in pledges.values("team").annotate(
            pledges=Count("pk"), participants=Count("user", distinct=True)
        )
    }
    quantities: dict[int, Decimal] = {}
    if by_quantity:
        contributions = Contribution.objects.filter(challenge__in=challenge_ids, team__isnull=False)
        if team is not None:
            contributions = contributions.filter(team=team)
        quantities = {
            row["team"]: row["total"] for row in contributions.values("team").annotate(total=Sum("amount"))
        }
    standings = [
        _standing(
            row["pk"],
            row["name"],
            row["members"],
            *counts.get(row["pk"], (0, 0)),
            quantity=quantities.get(row["pk"]) or Decimal(0),
            by_quantity=by_quantity,
        )
        for row in teams
    ]
    return sorted(standings, key=lambda s: (-s.per_head, s.name, s.team_id))


def _standing(
    team_id: int,
    name: str,
    members: int,
    pledges: int,
    participants: int,
    *,
    quantity: Decimal,
    by_quantity: bool,
) -> TeamStanding:
    value = quantity if by_quantity else Decimal(pledges)
    per_head = (value / members).quantize(Decimal("0.01")) if members else Decimal(0)
    return TeamStanding(team_id, name, members, participants, pledges, quantity, per_head)


def team_summary(team: Team, *, members: int, challenge_ids: Iterable[int] | QuerySet) -> TeamStanding:
    """One team's line of the ranking by pledges, its member count known by the caller: one query."""
    totals = Pledge.objects.filter(
        team=team, withdrawn_at__isnull=True, challenge__in=challenge_ids
    ).aggregate(pledges=Count("pk"), participants=Count("user", distinct=True))
    return _standing(
        team.pk,
        team.name,
        members,
        totals["pledges"],
        totals["participants"],
        quantity=Decimal(0),
        by_quantity=False,
    )


def challenge_team_standings(challenge: Challenge) -> list[TeamStanding]:
    """The teams of one challenge: by quantity for a quantity goal, else by pledges."""
    return team_standings([challenge.pk], by_quantity=challenge.goal_kind == Challenge.GoalKind.QUANTITY)


def team_list() -> QuerySet[Team]:
    return (
        Team.objects.select_related("captain")
        .annotate(member_count=Count("memberships"))
        .order_by("name", "pk")
    )


def team_members(team: Team) -> QuerySet[TeamMembership]:
    return TeamMembership.objects.filter(team=team).select_related("user").order_by("joined_at", "pk")


def team_list_for_choice() -> QuerySet[Team]:
    return Team.objects.order_by("name", "pk")


def team_of(user_id: int) -> Team | None:
    membership = TeamMembership.objects.filter(user_id=user_id).select_related("team").first()
    return membership.team if membership else None
