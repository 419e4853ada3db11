"""Writes on teams and on who is in which."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext

from accounts.models import AuditEntry, User
from challenges.models import Team, TeamMembership
from core.audit import audit_record, changes_between
from core.db import atomic_with_retry
from core.permissions import MANAGE, can_manage, require


@atomic_with_retry
def team_create(
    *,
    actor: User,
    name: str,
    kind: str = Team.Kind.DEPARTMENT,
    captain: User | None = None,
    headcount: int | None = None,
) -> Team:
    require(actor, MANAGE)
    team = Team(name=name.strip(), kind=kind, captain=captain, headcount=headcount)
    team.full_clean()
    team.save()
    audit_record(AuditEntry.Kind.TEAM_CREATED, actor=actor, target=team.name)
    return team


TEAM_FIELDS = ("name", "kind", "captain", "headcount")


@atomic_with_retry
def team_update(
    *, actor: User, team: Team, name: str, kind: str, captain: User | None, headcount: int | None = None
) -> Team:
    require(actor, MANAGE)
    before = {"name": team.name, "kind": team.kind, "captain": team.captain_id, "headcount": team.headcount}
    # Checked on a copy, so a refused edit leaves the caller's instance as it was.
    candidate = Team(
        pk=team.pk,
        name=name.strip(),
        kind=kind,
        captain=captain,
        headcount=headcount,
        created_at=team.created_at,
    )
    candidate._state.adding = False
    candidate.full_clean()
    team.name, team.kind, team.captain, team.headcount = (
        candidate.name,
        candidate.kind,
        candidate.captain,
        candidate.headcount,
    )
    team.save(update_fields=list(TEAM_FIELDS))
    after = {"name": team.name, "kind": team.kind, "captain": team.captain_id, "headcount": team.headcount}
    changes = changes_between(before, after)
    if changes:
        audit_record(AuditEntry.Kind.TEAM_CHANGED_SETTINGS, actor=actor, target=team.name, changes=changes)
    return team


@atomic_with_retry
def team_delete(*, actor: User, team: Team) -> None:
    require(actor, MANAGE)
    if team.memberships.exists():
        raise ValidationError(
            {"team": [gettext("This team still has members: move them to another team first.")]}
        )
    name = team.name
    team.delete()
    audit_record(AuditEntry.Kind.TEAM_DELETED, actor=actor, target=name)


@atomic_with_retry
def team_join(*, actor: User, team: Team, user: User | None = None) -> TeamMembership:
    """Put a person in a team, moving them out of their previous one: oneself, or anyone for an admin.

    Pledges and contributions already made stay with the team they were made in.
    """
    person = user or actor
    require(actor, None)
    if person.pk != actor.pk and not can_manage(actor):
        raise PermissionDenied(gettext("Only an organisation admin can move someone else."))
    membership, _created = TeamMembership.objects.update_or_create(user=person, defaults={"team": team})
    return membership
