"""Reads and writes behind the participant pages: home, challenge page, my activity, teams, my data.

Pledges and contributions go through challenges/services.py; this module reads what the pages show,
each in a fixed number of queries, and owns what is the participant's own business: preferences,
the export of everything about them, and the erasure of their account.
"""

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import ApiToken, User
from accounts.roles import ORG_ADMIN
from challenges import selectors
from challenges.models import (
    Challenge,
    Contribution,
    Notification,
    Pledge,
    SkillSlot,
    Team,
    TeamMembership,
)
from challenges.services import team_join
from participants.models import JoinLink, SignInLink, Widget
from participants.services import join_link_is_active, join_link_path

Status = Challenge.Status
GoalKind = Challenge.GoalKind
# Challenges people can still join and log against: open, or succeeded before their deadline.
TAKING_PART = (Status.OPEN, Status.SUCCEEDED)


# Challenges -------------------------------------------------------------------------------------


def challenges_taking_part(now: dt.datetime | None = None) -> QuerySet[Challenge]:
    """Challenges people can still pledge to or log against, the nearest deadline first."""
    return (
        selectors.challenge_list()
        .filter(status__in=TAKING_PART, deadline__gt=now or timezone.now())
        .order_by("deadline", "pk")
    )


def _taking_part_ids(now: dt.datetime | None = None) -> QuerySet[Challenge, int]:
    return Challenge.objects.filter(status__in=TAKING_PART, deadline__gt=now or timezone.now()).values_list(
        "pk", flat=True
    )


def challenge_for_participants(pk: int) -> Challenge | None:
    """A published challenge (any status but draft), with its metric, counterpart and skill slots."""
    return selectors.challenge_list().exclude(status=Status.DRAFT).filter(pk=pk).first()


def active_pledges_by_challenge(user: User, challenge_ids: Iterable[int]) -> dict[int, Pledge]:
    pledges = Pledge.objects.filter(
        user=user, withdrawn_at__isnull=True, challenge_id__in=list(challenge_ids)
    ).select_related("skill_slot")
    return {pledge.challenge_id: pledge for pledge in pledges}


def active_pledge(user: User, challenge: Challenge) -> Pledge | None:
    return active_pledges_by_challenge(user, [challenge.pk]).get(challenge.pk)


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


@dataclass(frozen=True)
class MyContributions:
    recent: list[Contribution]
    total: Decimal
    count: int


def my_contributions(user: User, challenge: Challenge, *, recent: int = 10) -> MyContributions:
    rows = Contribution.objects.filter(user=user, challenge=challenge)
    totals = rows.aggregate(total=Sum("amount"), count=Count("pk"))
    return MyContributions(
        recent=list(rows.select_related("skill_slot").order_by("-day", "-pk")[:recent]),
        total=totals["total"] or Decimal(0),
        count=totals["count"],
    )


def my_team(user: User) -> Team | None:
    membership = TeamMembership.objects.filter(user=user).select_related("team").first()
    return membership.team if membership else None


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


# Teams ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRank:
    team_id: int
    name: str
    members: int
    participants: int
    pledges: int
    per_head: Decimal


def team_leaderboard(now: dt.datetime | None = None) -> list[TeamRank]:
    """Teams ranked by pledges per member across the challenges running now. Two queries in all.

    Per head, so that a team of 8 can beat a team of 80; a pledge counts for the team the person was
    in when they pledged.
    """
    teams = Team.objects.annotate(members=Count("memberships")).values("pk", "name", "members")
    counts: dict[int, tuple[int, int]] = {
        row["team"]: (row["pledges"], row["participants"])
        for row in Pledge.objects.filter(
            challenge__in=_taking_part_ids(now), withdrawn_at__isnull=True, team__isnull=False
        )
        .values("team")
        .annotate(pledges=Count("pk"), participants=Count("user", distinct=True))
    }
    ranks = []
    for team in teams:
        pledges, participants = counts.get(team["pk"], (0, 0))
        members = team["members"]
        per_head = (Decimal(pledges) / members).quantize(Decimal("0.01")) if members else Decimal(0)
        ranks.append(TeamRank(team["pk"], team["name"], members, participants, pledges, per_head))
    return sorted(ranks, key=lambda rank: (-rank.per_head, rank.name, rank.team_id))


def team_summary(team: Team, *, members: int, now: dt.datetime | None = None) -> TeamRank:
    """The team's line of the leaderboard (`members` is known by the caller): one query."""
    totals = Pledge.objects.filter(
        team=team, withdrawn_at__isnull=True, challenge__in=_taking_part_ids(now)
    ).aggregate(pledges=Count("pk"), participants=Count("user", distinct=True))
    per_head = (Decimal(totals["pledges"]) / members).quantize(Decimal("0.01")) if members else Decimal(0)
    return TeamRank(team.pk, team.name, members, totals["participants"], totals["pledges"], per_head)


def team_members(team: Team) -> QuerySet[TeamMembership]:
    return TeamMembership.objects.filter(team=team).select_related("user").order_by("joined_at", "pk")


def team_list_for_choice() -> QuerySet[Team]:
    return Team.objects.order_by("name", "pk")


def team_choose(*, user: User, team_id: int) -> TeamMembership:
    """Join a team, leaving the previous one. Pledges already made stay with the team they were made in."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ValidationError({"team": [gettext("This team does not exist.")]})
    return team_join(user=user, team=team)


# Preferences ------------------------------------------------------------------------------------


def user_preferences_update(*, user: User, display_name: str, show_name: bool, language: str) -> User:
    """Whether others see the person's name, which name, and the language of the pages."""
    user.display_name = display_name.strip()
    user.show_name = show_name
    user.language = language
    checked = ("display_name", "language")
    user.clean_fields(exclude=[field.name for field in User._meta.fields if field.name not in checked])
    user.save(update_fields=["display_name", "show_name", "language"])
    return user


# My data: export and erasure --------------------------------------------------------------------


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _number(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def user_data_export(user: User) -> dict[str, Any]:
    """Everything the organisation holds about the person, as plain JSON values."""
    organization = getattr(connection, "tenant", None)
    membership = TeamMembership.objects.filter(user=user).select_related("team").first()
    pledges = (
        Pledge.objects.filter(user=user).select_related("challenge", "skill_slot", "team").order_by("pk")
    )
    contributions = (
        Contribution.objects.filter(user=user)
        .select_related("challenge__metric", "skill_slot", "team")
        .order_by("pk")
    )
    notifications = Notification.objects.filter(user=user).select_related("challenge").order_by("pk")
    return {
        "exported_at": timezone.now().isoformat(),
        "organization": (
            {"name": organization.name, "slug": organization.schema_name}
            if organization is not None and hasattr(organization, "name")
            else None
        ),
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
                "challenge_id": notification.challenge_id,
                "challenge": notification.challenge.title,
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


def _sessions_delete(user_id: int) -> int:
    """Delete the person's stored sessions. Only database-backed sessions can be listed; the others die
    anyway, since an unusable password changes the hash every session is checked against."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        return 0
    model = store.get_model_class()
    keys = [
        session.session_key
        for session in model.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=2000)
        if session.get_decoded().get(SESSION_KEY) == str(user_id)
    ]
    deleted, _ = model.objects.filter(session_key__in=keys).delete()
    return deleted


@transaction.atomic
def user_erase(*, user: User) -> User:
    """Anonymise the person in place; the rows that count (pledges, contributions, team membership) stay.

    Totals, team standings and reports do not change: they count rows, not names. What identifies the
    person goes: e-mail, name, notes they wrote, roles, API tokens, notifications, sign-in links and
    sessions. They can no longer sign in. Erasing twice changes nothing more.
    """
    person = User.objects.select_for_update().get(pk=user.pk)
    if person.erased_at is not None:
        return person
    admins = User.objects.select_for_update().filter(
        groups__name=ORG_ADMIN, is_active=True, erased_at__isnull=True
    )
    if person in admins and not admins.exclude(pk=person.pk).exists():
        raise ValidationError(
            {
                "confirm": [
                    gettext(
                        "You are this organisation's only admin: make someone else an admin before "
                        "erasing your account, or it would have nobody to run it."
                    )
                ]
            }
        )
    old_email = person.email
    person.email = f"erased-{uuid4().hex}@invalid"
    person.display_name = ""
    person.show_name = False
    person.language = ""
    person.set_unusable_password()
    person.is_active = False
    person.is_staff = False
    person.is_superuser = False
    person.last_login = None
    person.invitation_sent_at = None
    person.erased_at = timezone.now()
    person.save()
    person.groups.clear()
    person.user_permissions.clear()
    ApiToken.objects.filter(user=person).delete()
    Notification.objects.filter(user=person).delete()
    SignInLink.objects.filter(email__iexact=old_email).delete()
    Team.objects.filter(captain=person).update(captain=None)
    Contribution.objects.filter(user=person).exclude(note="").update(note="")
    _sessions_delete(person.pk)
    return person


# The embeddable widget --------------------------------------------------------------------------

_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")


def embed_frame_ancestors(embed_origins: Iterable[str]) -> list[str]:
    """The organisation's intranet origins as CSP sources ('none' when there are none).

    Reduced to scheme://host[:port], and anything else dropped, so that no stored value can add a
    directive to the header.
    """
    origins: list[str] = []
    for url in embed_origins:
        parts = urlsplit(url.strip())
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        if _ORIGIN.match(origin) and origin not in origins:
            origins.append(origin)
    return origins or ["'none'"]


def widget_join_link(challenge: Challenge, now: dt.datetime | None = None) -> JoinLink | None:
    """The join link an admin chose for this challenge's widget, if it still opens the door."""
    widget = Widget.objects.select_related("join_link").filter(challenge=challenge).first()
    link = widget.join_link if widget is not None else None
    if link is None or link.challenge_id != challenge.pk or not join_link_is_active(link, now):
        return None
    return link


def embed_join_path(challenge: Challenge) -> str | None:
    """Where the widget's button leads when an admin chose a join link for it; None: the challenge
    page, where a visitor signs in. The widget never shows the organisation-wide join link."""
    link = widget_join_link(challenge)
    return join_link_path(link) if link is not None else None
