"""Reads behind the participant pages: what a challenge page offers, one's activity, one's data.

Challenges, pledges, contributions and team standings are read through challenges.selectors; this
module adds what is the participant's own business. Each page reads in a fixed number of queries.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, overload

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import ApiToken, Invitation, Notification, User
from accounts.roles import ROLE_KEYS, ROLE_OF_GROUP
from challenges.models import Challenge, Contribution, Pledge, SkillSlot, Team, TeamMembership
from challenges.selectors import TAKING_PART
from participants.models import SignInLink
from tenants.models import Organization

GoalKind = Challenge.GoalKind
Status = Challenge.Status


@dataclass(frozen=True)
class ChallengeActions:
    """What the page offers; the services decide again under the challenge's lock."""

    pledge: bool
    offer: bool
    withdraw: bool
    confirm: bool
    contribute: bool
    not_started: bool
    ended: bool


def challenge_actions(
    challenge: Challenge, pledge: Pledge | None, slots: list[SkillSlot], now: dt.datetime | None = None
) -> ChallengeActions:
    now = now or timezone.now()
    running = challenge.status in TAKING_PART and challenge.starts_at <= now < challenge.deadline
    skills = challenge.goal_kind == GoalKind.SKILLS
    return ChallengeActions(
        pledge=running and pledge is None and not skills,
        offer=running and pledge is None and skills and any(s.filled_count < s.count for s in slots),
        withdraw=pledge is not None and challenge.status == Status.OPEN,
        confirm=pledge is not None and challenge.status == Status.SUCCEEDED and pledge.confirmed_at is None,
        contribute=running
        and challenge.goal_kind != GoalKind.PARTICIPANTS
        and (not skills or (pledge is not None and pledge.skill_slot_id is not None)),
        not_started=challenge.status in TAKING_PART and now < challenge.starts_at,
        ended=challenge.status not in TAKING_PART or now >= challenge.deadline,
    )


# My activity ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChallengeTotal:
    challenge_id: int
    title: str
    goal_kind: str
    unit_en: str
    unit_fr: str
    amount: Decimal
    count: int


@dataclass(frozen=True)
class Activity:
    pledges: list[Pledge]
    contributions: QuerySet[Contribution]
    totals: list[ChallengeTotal]
    active_pledges: int
    confirmed_pledges: int
    contribution_count: int


def my_activity(user: User) -> Activity:
    """The person's pledges (newest first), their contributions (to paginate) and totals per challenge."""
    pledges = list(
        Pledge.objects.filter(user=user)
        .select_related("challenge", "skill_slot", "team")
        .order_by("-created_at", "-pk")
    )
    totals = [
        ChallengeTotal(
            challenge_id=row["challenge"],
            title=row["challenge__title"],
            goal_kind=row["challenge__goal_kind"],
            unit_en=row["challenge__metric__unit_en"] or "",
            unit_fr=row["challenge__metric__unit_fr"] or "",
            amount=row["amount"],
            count=row["count"],
        )
        for row in Contribution.objects.filter(user=user)
        .values(
            "challenge",
            "challenge__title",
            "challenge__goal_kind",
            "challenge__metric__unit_en",
            "challenge__metric__unit_fr",
        )
        .annotate(amount=Sum("amount"), count=Count("pk"))
        .order_by("challenge__title", "challenge")
    ]
    active = [pledge for pledge in pledges if pledge.withdrawn_at is None]
    return Activity(
        pledges=pledges,
        contributions=Contribution.objects.filter(user=user)
        .select_related("challenge", "challenge__metric", "skill_slot")
        .order_by("-day", "-pk"),
        totals=totals,
        active_pledges=len(active),
        confirmed_pledges=sum(1 for pledge in active if pledge.confirmed_at is not None),
        contribution_count=sum(total.count for total in totals),
    )


# My data ----------------------------------------------------------------------------------------


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _number(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def user_data_export(user: User, organization: Organization) -> dict[str, Any]:
    """Everything the organisation holds about the person, as plain JSON values."""
    membership = TeamMembership.objects.filter(user=user).select_related("team").first()
    pledges = (
        Pledge.objects.filter(user=user).select_related("challenge", "skill_slot", "team").order_by("pk")
    )
    contributions = (
        Contribution.objects.filter(user=user)
        .select_related("challenge__metric", "skill_slot", "team")
        .order_by("pk")
    )
    notifications = Notification.objects.filter(user=user).order_by("pk")
    return {
        "exported_at": timezone.now().isoformat(),
        "organization": {"name": organization.name, "slug": organization.schema_name},
        "profile": {
            "email": user.email,
            "display_name": user.display_name,
            "show_name": user.show_name,
            "language": user.language,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
            "roles": sorted(user.groups.values_list("name", flat=True)),
        },
        "team": (
            {
                "id": membership.team_id,
                "name": membership.team.name,
                "joined_at": _when(membership.joined_at),
            }
            if membership is not None
            else None
        ),
        "captain_of": sorted(Team.objects.filter(captain=user).values_list("name", flat=True)),
        "pledges": [
            {
                "id": pledge.pk,
                "challenge_id": pledge.challenge_id,
                "challenge": pledge.challenge.title,
                "skill": pledge.skill_slot.skill if pledge.skill_slot else None,
                "team": pledge.team.name if pledge.team else None,
                "created_at": _when(pledge.created_at),
                "withdrawn_at": _when(pledge.withdrawn_at),
                "confirmed_at": _when(pledge.confirmed_at),
            }
            for pledge in pledges
        ],
        "contributions": [
            {
                "id": contribution.pk,
                "challenge_id": contribution.challenge_id,
                "challenge": contribution.challenge.title,
                "skill": contribution.skill_slot.skill if contribution.skill_slot else None,
                "team": contribution.team.name if contribution.team else None,
                "day": _when(contribution.day),
                "amount": _number(contribution.amount),
                "unit": (
                    "hours"
                    if contribution.skill_slot_id
                    else (contribution.challenge.metric.unit_en if contribution.challenge.metric else "")
                ),
                "note": contribution.note,
                "created_at": _when(contribution.created_at),
            }
            for contribution in contributions
        ],
        "notifications": [
            {
                "event": notification.event,
                "created_at": _when(notification.created_at),
                "sent_at": _when(notification.sent_at),
            }
            for notification in notifications
        ],
        "api_tokens": [
            {
                "name": token.name,
                "prefix": token.prefix,
                "created_at": _when(token.created_at),
                "last_used_at": _when(token.last_used_at),
                "revoked_at": _when(token.revoked_at),
            }
            for token in ApiToken.objects.filter(user=user).order_by("pk")
        ],
        "sign_in_links": [
            {
                "created_at": _when(link.created_at),
                "expires_at": _when(link.expires_at),
                "used_at": _when(link.used_at),
            }
            for link in SignInLink.objects.filter(email__iexact=user.email).order_by("pk")
        ],
    }


# The organisation's people (the console) ---------------------------------------------------------


@dataclass(frozen=True)
class PeopleFilters:
    search: str = ""
    role: str = ""  # participant, executive, admin
    team_id: int | None = None
    status: str = ""  # active, invited, deactivated


PEOPLE_STATUSES = ("active", "invited", "deactivated")


def _people_filtered(filters: PeopleFilters) -> QuerySet[User]:
    """The organisation's people that match, in the people page's order. Erased accounts are no
    longer people. A name is searched only where its person chose to show it."""
    pending = Invitation.objects.filter(user_id=OuterRef("pk"), accepted_at__isnull=True)
    people = (
        User.objects.filter(erased_at__isnull=True, is_superuser=False)
        .annotate(invited=Exists(pending))
        .order_by("email", "pk")
    )
    if filters.search:
        text = filters.search.strip()
        people = people.filter(Q(email__icontains=text) | Q(show_name=True, display_name__icontains=text))
    if filters.role in ROLE_KEYS:
        people = people.filter(groups__name=ROLE_KEYS[filters.role])
    if filters.team_id is not None:
        people = people.filter(team_membership__team_id=filters.team_id)
    if filters.status == "active":
        people = people.filter(is_active=True).exclude(last_login__isnull=True, invited=True)
    elif filters.status == "invited":
        people = people.filter(is_active=True, last_login__isnull=True, invited=True)
    elif filters.status == "deactivated":
        people = people.filter(is_active=False)
    return people


def _people_shown(people: QuerySet[User]) -> QuerySet[User]:
    """With what the people page shows of each: role, team, pledges and contributions, counted in
    subqueries (one query whatever their number)."""
    role_groups = User.groups.through.objects.filter(
        user_id=OuterRef("pk"), group__name__in=ROLE_KEYS.values()
    )
    membership = TeamMembership.objects.filter(user_id=OuterRef("pk"))
    pledges = (
        Pledge.objects.filter(user_id=OuterRef("pk"), withdrawn_at__isnull=True)
        .order_by()
        .values("user_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    contributions = (
        Contribution.objects.filter(user_id=OuterRef("pk"))
        .order_by()
        .values("user_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return people.annotate(
        role_group=Subquery(role_groups.values("group__name")[:1]),
        team_id=Subquery(membership.values("team_id")[:1]),
        team_name=Subquery(membership.values("team__name")[:1]),
        pledge_total=Coalesce(Subquery(pledges), 0),
        contribution_total=Coalesce(Subquery(contributions), 0),
    )


def people_list(filters: PeopleFilters | None = None) -> QuerySet[User]:
    """The organisation's people that match, with what the people page shows (see _people_shown),
    in one query: for exports and single people. Pages use `people_pages`."""
    return _people_shown(_people_filtered(filters or PeopleFilters()))


class PeoplePages:
    """The people that match, for a paginator (Django's, DRF's): the page's ids first, filtered,
    ordered and sliced, then those rows with their counts. PostgreSQL would otherwise count pledges
    and contributions for every row before the page too: 10,000 of them for the last page of 10,000
    people. Three queries a page (the total, the ids, the rows), whatever the page."""

    def __init__(self, filters: PeopleFilters | None = None) -> None:
        self._ids = _people_filtered(filters or PeopleFilters()).values_list("pk", flat=True)

    def count(self) -> int:
        return self._ids.count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[User]:
        return iter(self[0 : len(self)])

    @overload
    def __getitem__(self, index: int, /) -> User: ...

    @overload
    def __getitem__(self, index: slice, /) -> list[User]: ...

    def __getitem__(self, index: int | slice, /) -> User | list[User]:
        if isinstance(index, int):
            return self[index : index + 1][0]
        ids = list(self._ids[index])
        rows = {
            person.pk: person
            for person in _people_shown(_people_filtered(PeopleFilters()).filter(pk__in=ids))
        }
        return [rows[pk] for pk in ids]


def person_status(person: User) -> str:
    if not person.is_active:
        return "deactivated"
    if person.last_login is None and getattr(person, "invited", False):
        return "invited"
    return "active"


def person_role_key(person: User) -> str:
    return ROLE_OF_GROUP.get(getattr(person, "role_group", "") or "", "participant")
