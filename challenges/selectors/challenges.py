"""Reads on challenges: lists in a fixed number of queries, history, the ones at risk or past due."""

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from challenges.models import Challenge, ChallengeEvent, SkillSlot
from challenges.selectors.progress import challenge_forecast

GoalKind = Challenge.GoalKind
Status = Challenge.Status
# Challenges people can still join and log against: open, or succeeded before their deadline.
TAKING_PART = (Status.OPEN, Status.SUCCEEDED)


def challenge_list(*, status: str | None = None) -> QuerySet[Challenge]:
    """Challenges with what their progress needs, in a fixed number of queries."""
    queryset = Challenge.objects.select_related("metric", "counterpart").prefetch_related(
        Prefetch("skill_slots", queryset=SkillSlot.objects.order_by("pk"))
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def challenge_list_for(*, include_drafts: bool, status: str | None = None) -> QuerySet[Challenge]:
    """challenge_list, without drafts for those who may not see them (participants)."""
    queryset = challenge_list(status=status)
    if not include_drafts:
        queryset = queryset.exclude(status=Status.DRAFT)
    return queryset


def challenge_for_participants(pk: int) -> Challenge | None:
    """A published challenge (any status but draft), with its metric, counterpart and skill slots."""
    return challenge_list().exclude(status=Status.DRAFT).filter(pk=pk).first()


def challenges_taking_part(now: dt.datetime | None = None) -> QuerySet[Challenge]:
    """Challenges people can still pledge to or log against, the nearest deadline first."""
    return (
        challenge_list()
        .filter(status__in=TAKING_PART, deadline__gt=now or timezone.now())
        .order_by("deadline", "pk")
    )


def challenges_taking_part_ids(now: dt.datetime | None = None) -> QuerySet[Challenge, int]:
    return Challenge.objects.filter(status__in=TAKING_PART, deadline__gt=now or timezone.now()).values_list(
        "pk", flat=True
    )


def challenge_events(challenge: Challenge) -> QuerySet[ChallengeEvent]:
    return challenge.events.select_related("actor").order_by("at", "pk")


def challenges_open_past_deadline(now: dt.datetime | None = None) -> QuerySet[Challenge]:
    return Challenge.objects.filter(status=Status.OPEN, deadline__lte=now or timezone.now())


def challenges_at_risk_near_deadline(now: dt.datetime, within: dt.timedelta) -> list[Challenge]:
    candidates = Challenge.objects.filter(
        Q(goal_kind=GoalKind.PARTICIPANTS) | Q(goal_kind=GoalKind.QUANTITY),
        status=Status.OPEN,
        deadline__gt=now,
        deadline__lte=now + within,
    )
    return [c for c in candidates if (f := challenge_forecast(c, now)) is not None and not f.on_track]
