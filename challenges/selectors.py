"""Reads on challenges: progress, forecast, team standings, lists."""

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    ImpactFactor,
    Metric,
    Pledge,
    SkillSlot,
    Team,
)

GoalKind = Challenge.GoalKind


@dataclass(frozen=True)
class Progress:
    current: Decimal
    target: Decimal
    percent: int
    reached: bool


def challenge_progress(challenge: Challenge, slots: list[SkillSlot] | None = None) -> Progress:
    """Progress from the running totals (skills: filled slot places out of all places)."""
    if challenge.goal_kind == GoalKind.SKILLS:
        slots = slots if slots is not None else list(challenge.skill_slots.all())
        target = Decimal(sum(slot.count for slot in slots))
        current = Decimal(sum(min(slot.filled_count, slot.count) for slot in slots))
        reached = bool(slots) and all(slot.is_filled for slot in slots)
    else:
        target = challenge.goal_target or Decimal(0)
        current = (
            Decimal(challenge.pledge_count)
            if challenge.goal_kind == GoalKind.PARTICIPANTS
            else challenge.quantity_total
        )
        reached = target > 0 and current >= target
    percent = min(100, int(current * 100 / target)) if target else 0
    return Progress(
        current=current, target=target, percent=percent, reached=reached or challenge.status == "succeeded"
    )


@dataclass(frozen=True)
class Forecast:
    projected: Decimal
    on_track: bool
    needed_per_day: Decimal | None  # when at risk: how much more per remaining day


def challenge_forecast(challenge: Challenge, now: dt.datetime | None = None) -> Forecast | None:
    """Projected total at the deadline from the pace so far (open participants or quantity goals)."""
    if challenge.status != Challenge.Status.OPEN or challenge.goal_kind == GoalKind.SKILLS:
        return None
    now = now or timezone.now()
    progress = challenge_progress(challenge)
    if now <= challenge.starts_at:
        return None
    elapsed_days = Decimal((now - challenge.starts_at).total_seconds()) / 86400
    remaining_days = Decimal(max((challenge.deadline - now).total_seconds(), 0)) / 86400
    pace = progress.current / elapsed_days
    projected = (progress.current + pace * remaining_days).quantize(Decimal("0.01"))
    if projected >= progress.target:
        return Forecast(projected=projected, on_track=True, needed_per_day=None)
    missing = progress.target - progress.current
    days = max(remaining_days, Decimal(1))
    needed = Decimal(math.ceil(missing / days * 100)) / 100
    return Forecast(projected=projected, on_track=False, needed_per_day=needed)


@dataclass(frozen=True)
class TeamStanding:
    team_id: int | None
    name: str
    members: int
    participants: int
    quantity: Decimal
    per_head: Decimal


def challenge_team_standings(challenge: Challenge) -> list[TeamStanding]:
    """Teams ranked per head, so that a team of 8 can beat a team of 80. Two queries in all."""
    value_field = "quantity" if challenge.goal_kind == GoalKind.QUANTITY else "participants"
    teams = Team.objects.annotate(
        members=Count("memberships", distinct=True),
    ).values("pk", "name", "members")
    pledges = (
        Pledge.objects.filter(challenge=challenge, withdrawn_at__isnull=True, team__isnull=False)
        .values("team")
        .annotate(count=Count("pk"))
    )
    quantities = {}
    if challenge.goal_kind == GoalKind.QUANTITY:
        totals = (
            challenge.contributions.filter(team__isnull=False).values("team").annotate(total=Sum("amount"))
        )
        quantities = {row["team"]: row["total"] for row in totals}
    participants = {row["team"]: row["count"] for row in pledges}
    standings = []
    for team in teams:
        members = team["members"]
        count = participants.get(team["pk"], 0)
        quantity = quantities.get(team["pk"]) or Decimal(0)
        value = quantity if value_field == "quantity" else Decimal(count)
        per_head = (value / members).quantize(Decimal("0.01")) if members else Decimal(0)
        standings.append(TeamStanding(team["pk"], team["name"], members, count, quantity, per_head))
    return sorted(standings, key=lambda s: (-s.per_head, s.name))


def challenge_list(*, status: str | None = None) -> QuerySet[Challenge]:
    """Challenges with what their progress needs, in a fixed number of queries."""
    queryset = Challenge.objects.select_related("metric", "counterpart").prefetch_related(
        Prefetch("skill_slots", queryset=SkillSlot.objects.order_by("pk"))
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def challenge_events(challenge: Challenge) -> QuerySet[ChallengeEvent]:
    return challenge.events.select_related("actor").order_by("at", "pk")


def challenges_open_past_deadline(now: dt.datetime | None = None) -> QuerySet[Challenge]:
    return Challenge.objects.filter(status=Challenge.Status.OPEN, deadline__lte=now or timezone.now())


def user_active_pledges(user_id: int) -> QuerySet[Pledge]:
    return Pledge.objects.filter(user_id=user_id, withdrawn_at__isnull=True)


def challenges_at_risk_near_deadline(now: dt.datetime, within: dt.timedelta) -> list[Challenge]:
    candidates = Challenge.objects.filter(
        Q(goal_kind=GoalKind.PARTICIPANTS) | Q(goal_kind=GoalKind.QUANTITY),
        status=Challenge.Status.OPEN,
        deadline__gt=now,
        deadline__lte=now + within,
    )
    return [c for c in candidates if (f := challenge_forecast(c, now)) is not None and not f.on_track]


# Lists for the API: each in a fixed number of queries, whatever the number of rows.


def challenge_list_for(*, include_drafts: bool, status: str | None = None) -> QuerySet[Challenge]:
    """challenge_list, without drafts for those who may not see them (participants)."""
    queryset = challenge_list(status=status)
    if not include_drafts:
        queryset = queryset.exclude(status=Challenge.Status.DRAFT)
    return queryset


def team_list() -> QuerySet[Team]:
    return (
        Team.objects.select_related("captain")
        .annotate(member_count=Count("memberships"))
        .order_by("name", "pk")
    )


def metric_list() -> QuerySet[Metric]:
    return Metric.objects.select_related("action_factor", "baseline_factor").order_by("name_en", "pk")


def impact_factor_list() -> QuerySet[ImpactFactor]:
    return ImpactFactor.objects.order_by("key")


def pledge_list(*, user_id: int | None = None, challenge_id: int | None = None) -> QuerySet[Pledge]:
    """Pledges, newest first; of one person and/or one challenge when given."""
    queryset = Pledge.objects.select_related("challenge", "user", "team").order_by("-created_at", "-pk")
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    if challenge_id is not None:
        queryset = queryset.filter(challenge_id=challenge_id)
    return queryset


def contribution_list(
    *, user_id: int | None = None, challenge_id: int | None = None
) -> QuerySet[Contribution]:
    """Contributions, latest day first; of one person and/or one challenge when given."""
    queryset = Contribution.objects.select_related("challenge", "user", "team").order_by("-day", "-pk")
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    if challenge_id is not None:
        queryset = queryset.filter(challenge_id=challenge_id)
    return queryset
