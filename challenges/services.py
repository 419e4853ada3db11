"""Writes on challenges and teams, in the current organisation's schema."""

from accounts.models import User
from challenges.models import Team, TeamMembership


def team_create(*, name: str, kind: str = Team.Kind.DEPARTMENT, captain: User | None = None) -> Team:
    team = Team(name=name.strip(), kind=kind, captain=captain)
    team.full_clean()
    team.save()
    return team


def team_join(*, user: User, team: Team) -> TeamMembership:
    """Put a person in a team, moving them out of their previous one."""
    membership, _ = TeamMembership.objects.update_or_create(user=user, defaults={"team": team})
    return membership
