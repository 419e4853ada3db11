"""Reads for impact reports: what people did in two periods of days, in a fixed number of queries.

reports/ builds every figure of a report from these, and from nothing else of challenges. Each
function takes the two periods a report compares (the period and the one before it) and answers
both at once, with SQL aggregates: four queries in all, whatever the number of people, pledges or
contributions (the rows that come back grow with teams and challenges, never with people), and the
pledges and contributions are read once, by `impact_activity`: the contributions of whole months
folded per person and place (ContributionMonth, kept by the database's triggers), those of the
months a period cuts one by one.

A *period* is a range of days [start, end] in the organisation's time zone. A pledge falls on the
day it was made, in that time zone; a contribution on the day it was logged for. Withdrawn pledges
do not count (nor do they in a challenge's own total); everything else does, whoever made it:
deactivated people, and people who erased their account (the row stays, anonymous, with its id).

What comes back is plain frozen data, not model instances: the reports layer reads these fields and
never the models.
"""

import calendar
import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import translation

from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    ContributionMonth,
    Counterpart,
    ImpactFactor,
    Metric,
    Pledge,
    Team,
)
from challenges.selectors.metrics import goal_unit, metric_name, metric_unit
from challenges.selectors.progress import challenge_progress
from core.choices import choice_label

GoalKind = Challenge.GoalKind
Status = Challenge.Status
# The library's metric of volunteering time (challenges/library.py): its quantities are volunteer hours,
# as are the hours logged on skill slots.
VOLUNTEER_METRIC_KEY = "volunteer-hours"


@dataclass(frozen=True)
class Days:
    """A range of days, both ends included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"{self.end} is before {self.start}.")

    def bounds(self, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """The first instant of the first day and the first instant after the last, in `zone`."""
        lower = dt.datetime.combine(self.start, dt.time.min, tzinfo=zone)
        upper = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return lower, upper


@dataclass(frozen=True)
class Pair:
    """A count or an amount in the period (`now`) and in the one before (`before`)."""

    now: Decimal
    before: Decimal


ZERO = Pair(Decimal(0), Decimal(0))


def _pair(now: object, before: object) -> Pair:
    return Pair(Decimal(now or 0), Decimal(before or 0))  # type: ignore[arg-type]


# People ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeopleCounts:
    """Distinct people who pledged or contributed, and active pledges made, in each period."""

    people: Pair
    pledges: Pair
    by_team: dict[int | None, tuple[Pair, Pair]]  # team (None: no team) -> (people, pledges)
    by_challenge: dict[int, tuple[Pair, Pair]]  # challenge -> (people, pledges)


@dataclass(frozen=True)
class Newcomers:
    """People's first action ever, by day, for the days of both periods; and the people active in
    each bucket (week or month) of the period."""

    first_days: dict[dt.date, int]
    active_by_bucket: dict[dt.date, int]  # first day of the bucket (a Monday, or the 1st) -> people


# Quantities --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContributionTotals:
    """What was logged on one challenge, for one team (None: no team), on one skill slot (None: a
    quantity), in each period."""

    challenge_id: int
    team_id: int | None
    skill_slot_id: int | None
    amount: Pair
    entries: Pair


@dataclass(frozen=True)
class Activity:
    """What people did in the two periods: who, how much, and when they first came."""

    people: PeopleCounts
    contributions: list[ContributionTotals]
    newcomers: Newcomers


# A bucket's bit in a BIGINT mask: a period has at most 15 weeks or 37 months (reports.periods).
_MAX_BUCKETS = 63

_ACTIVITY = """
    WITH actions AS (
        -- Pledges, each on the day it was made in the organisation's time zone.
        SELECT p.user_id, p.team_id, p.challenge_id, p.skill_slot_id AS slot_id, d.day AS first_day,
               {which_of_day} AS which, 1 AS actions, 0 AS entries, NULL::numeric AS amount,
               {bits_of_day} AS bits
        FROM {pledge} p, LATERAL (SELECT (p.created_at AT TIME ZONE %(zone)s)::date AS day) d
        WHERE p.withdrawn_at IS NULL AND p.created_at < %(upper)s
        {contributions}
    ),
    -- Per person and place: their first day, their actions (pledges and entries), entries and amounts
    -- in each period, the buckets of the period they acted in.
    acted AS MATERIALIZED (
        SELECT user_id, team_id, challenge_id, slot_id, MIN(first_day) AS first_day,
               COALESCE(SUM(actions) FILTER (WHERE which = 1), 0) AS actions_now,
               COALESCE(SUM(actions) FILTER (WHERE which = 2), 0) AS actions_before,
               SUM(amount) FILTER (WHERE which = 1) AS amount_now,
               SUM(amount) FILTER (WHERE which = 2) AS amount_before,
               COALESCE(SUM(entries) FILTER (WHERE which = 1), 0) AS entries_now,
               COALESCE(SUM(entries) FILTER (WHERE which = 2), 0) AS entries_before,
               BIT_OR(bits) FILTER (WHERE which = 1) AS buckets
        FROM actions
        GROUP BY user_id, team_id, challenge_id, slot_id
    ),
    people AS (
        SELECT MIN(first_day) AS first_day, BIT_OR(buckets) AS buckets
        FROM acted WHERE user_id IS NOT NULL GROUP BY user_id
    )
    SELECT 'people', GROUPING(team_id, challenge_id), team_id, challenge_id, NULL::date,
           COUNT(DISTINCT user_id) FILTER (WHERE actions_now > 0),
           COUNT(DISTINCT user_id) FILTER (WHERE actions_before > 0),
           SUM(actions_now - entries_now), SUM(actions_before - entries_before), NULL::bigint[]
    FROM acted WHERE actions_now > 0 OR actions_before > 0
    GROUP BY GROUPING SETS ((), (team_id), (challenge_id))
    UNION ALL
    SELECT 'amounts', slot_id, team_id, challenge_id, NULL,
           SUM(amount_now), SUM(amount_before), SUM(entries_now), SUM(entries_before), NULL
    FROM acted
    GROUP BY challenge_id, team_id, slot_id HAVING SUM(entries_now) + SUM(entries_before) > 0
    UNION ALL
    SELECT 'first', NULL, NULL, NULL, first_day, COUNT(*), NULL, NULL, NULL, NULL
    FROM people WHERE first_day >= %(first)s GROUP BY first_day
    UNION ALL
    SELECT 'active', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[{active_counts}]
    FROM people
"""
# Contributions one by one: those of the months a period's start or end cuts, or all of them.
_ONE_BY_ONE = """
        UNION ALL
        SELECT c.user_id, c.team_id, c.challenge_id, c.skill_slot_id, c.day, {which_of_c}, 1, 1, c.amount,
               {bits_of_c}
        FROM {contribution} c
        WHERE {in_cut_months}c.day <= %(last)s"""
# Every other month, folded (ContributionMonth): whole in one period, or outside both.
_FOLDED = """
        UNION ALL
        SELECT m.user_id, m.team_id, m.challenge_id, m.skill_slot_id, m.first_day, {which_of_month},
               m.entries, m.entries, m.amount, {month_bits}
        FROM {months} m
        WHERE m.month <= %(last)s AND m.month <> ALL(%(cut_months)s::date[])"""
# A day's bucket as a bit; outside the period, none.
_BITS = "CASE WHEN {day} BETWEEN %(now_start)s AND %(now_end)s THEN 1::bigint << ({bucket}) ELSE 0 END"
_WHICH = (
    "CASE WHEN {day} BETWEEN %(now_start)s AND %(now_end)s THEN 1"
    " WHEN {day} BETWEEN %(before_start)s AND %(before_end)s THEN 2 ELSE 0 END"
)
# The bucket of a day of the period, counted from the period's first bucket (0). Outside the period
# the number means nothing, and is never read.
_BUCKET_OF_DAY = {
    "week": "({day} - %(bucket_zero)s) / 7",
    "month": "EXTRACT(YEAR FROM {day})::int * 12 + EXTRACT(MONTH FROM {day})::int - %(bucket_zero)s",
}


def _month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _cut_months(now: Days, before: Days) -> list[dt.date]:
    """The months, from the first of either period to the last, that a period's start or end cuts:
    their contributions are read one by one, those of every other month folded."""
    first, last = min(now.start, before.start), max(now.end, before.end)
    cuts = {now.start, now.end + dt.timedelta(days=1), before.start, before.end + dt.timedelta(days=1)}
    return [
        month
        for month in bucket_starts(Days(first, last), "month")
        if any(month < cut <= _month_end(month) for cut in cuts)
    ]


def _month_bits(now: Days, keys: list[dt.date], bucket: str, cut: list[dt.date]) -> str:
    """The buckets of the period a folded month's days fall in, as a bit mask: the month's own bucket,
    or each week whose days of that month include a day logged (ContributionMonth.days)."""
    if bucket == "month":
        return "1::bigint << (" + _BUCKET_OF_DAY["month"].format(day="m.month") + ")"
    cases = []
    for month in bucket_starts(now, "month"):
        end = _month_end(month)
        if month in cut or month < now.start or end > now.end:
            continue
        weeks = []
        for index, monday in enumerate(keys):
            first, last = max(monday, month), min(monday + dt.timedelta(days=6), end)
            if first <= last:
                days = ((1 << last.day) - 1) ^ ((1 << (first.day - 1)) - 1)
                weeks.append(f"CASE WHEN m.days & {days} <> 0 THEN {1 << index}::bigint ELSE 0 END")
        cases.append(f"WHEN DATE '{month.isoformat()}' THEN " + " | ".join(weeks))
    return f"CASE m.month {' '.join(cases)} ELSE 0 END" if cases else "0::bigint"


def _window(
    now: Days, before: Days, zone: dt.tzinfo
) -> dict[str, str | int | dt.date | dt.datetime | list[dt.date]]:
    first, last = min(now.start, before.start), max(now.end, before.end)
    lower, upper = Days(first, last).bounds(zone)
    return {
        "zone": str(zone),
        "lower": lower,
        "upper": upper,
        "first": first,
        "last": last,
        "now_start": now.start,
        "now_end": now.end,
        "before_start": before.start,
        "before_end": before.end,
    }


def bucket_starts(days: Days, bucket: str) -> list[dt.date]:
    """The first day of each bucket that `days` touch: Mondays ("week"), or the 1st of each month
    ("month"). The first bucket may start before `days` do."""
    keys = []
    if bucket == "week":
        key = days.start - dt.timedelta(days=days.start.weekday())
        while key <= days.end:
            keys.append(key)
            key += dt.timedelta(days=7)
    else:
        key = days.start.replace(day=1)
        while key <= days.end:
            keys.append(key)
            key = _month_end(key) + dt.timedelta(days=1)
    return keys


def impact_activity(
    now: Days, before: Days, zone: zoneinfo.ZoneInfo, *, bucket: str, folded: bool = True
) -> Activity:
    """People, pledges and amounts of both periods, and newcomers and active people per `bucket`
    ("week": weeks from Monday, or "month") of the period: one query, one pass over the rows.

    A person counts once in all, and once in each team or challenge they acted for (the team they
    were in when they acted, as in team standings): a person who changed teams counts in both. A
    newcomer is a person whose first pledge or contribution ever falls on a day of the periods.
    The rows are first folded per person, team, challenge and slot, so the figures are then taken
    from one row per person and place, not from every action. Contributions are read folded per
    month (ContributionMonth, which the database keeps) wherever a month lies whole in a period or
    outside both, one by one in the months a period's start or end cuts; `folded` False reads every
    one of them one by one: the same figures, more slowly.
    """
    if bucket not in _BUCKET_OF_DAY:
        raise ValueError(f"Unknown bucket {bucket!r}.")
    keys = bucket_starts(now, bucket)
    if len(keys) > _MAX_BUCKETS:
        raise ValueError(f"A period of {len(keys)} {bucket}s is longer than a report covers.")
    params = _window(now, before, zone)
    params["bucket_zero"] = keys[0] if bucket == "week" else keys[0].year * 12 + keys[0].month
    cut = _cut_months(now, before) if folded else []
    params["cut_months"] = cut
    tables = {
        "pledge": Pledge._meta.db_table,
        "contribution": Contribution._meta.db_table,
        "months": ContributionMonth._meta.db_table,
    }
    sources = (
        _FOLDED.format(
            which_of_month=_WHICH.format(day="m.month"),
            month_bits=_month_bits(now, keys, bucket, cut),
            **tables,
        )
        if folded
        else ""
    )
    if cut or not folded:
        sources += _ONE_BY_ONE.format(
            which_of_c=_WHICH.format(day="c.day"),
            bits_of_c=_BITS.format(day="c.day", bucket=_BUCKET_OF_DAY[bucket].format(day="c.day")),
            in_cut_months="date_trunc('month', c.day)::date = ANY(%(cut_months)s::date[]) AND "
            if folded
            else "",
            **tables,
        )
    sql = _ACTIVITY.format(
        which_of_day=_WHICH.format(day="d.day"),
        bits_of_day=_BITS.format(day="d.day", bucket=_BUCKET_OF_DAY[bucket].format(day="d.day")),
        contributions=sources,
        # One count per bucket, all taken in one pass over the people (not one row per person and bucket).
        active_counts=", ".join(
            f"COUNT(*) FILTER (WHERE buckets & {1 << n}::bigint <> 0)" for n in range(len(keys))
        ),
        **tables,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    people, pledges = ZERO, ZERO
    by_team: dict[int | None, tuple[Pair, Pair]] = {}
    by_challenge: dict[int, tuple[Pair, Pair]] = {}
    contributions: list[ContributionTotals] = []
    first_days: dict[dt.date, int] = {}
    active: dict[dt.date, int] = {}
    for kind, a, team_id, challenge_id, day, n1, n2, n3, n4, per_bucket in rows:
        if kind == "people":
            counts = (_pair(n1, n2), _pair(n3, n4))
            if a == 3:  # neither column grouped: everything
                people, pledges = counts
            elif a == 1:  # grouped by team (challenge_id aggregated away)
                by_team[team_id] = counts
            else:
                by_challenge[challenge_id] = counts
        elif kind == "amounts":
            contributions.append(ContributionTotals(challenge_id, team_id, a, _pair(n1, n2), _pair(n3, n4)))
        elif kind == "first":
            first_days[day] = int(n1)
        else:
            active = {key: int(count) for key, count in zip(keys, per_bucket, strict=True) if count}
    return Activity(
        PeopleCounts(people, pledges, by_team, by_challenge), contributions, Newcomers(first_days, active)
    )


# Challenges, metrics, factors, counterparts ------------------------------------------------------


@dataclass(frozen=True)
class FactorFacts:
    key: str
    label: str  # in the active language
    unit: str
    kg_co2e_per_unit: Decimal | None
    source: str
    source_url: str
    year: int
    notes: str


@dataclass(frozen=True)
class MetricFacts:
    id: int
    key: str
    name: str  # in the active language
    unit: str
    baseline: FactorFacts | None
    action: FactorFacts | None
    kg_co2e_avoided_per_unit: Decimal | None  # baseline − action; None without a sourced baseline
    is_estimate: bool
    is_volunteering: bool
    money_value_per_unit: Decimal | None
    money_currency: str
    money_source: str


@dataclass(frozen=True)
class SlotFacts:
    id: int
    skill: str
    count: int
    hours: Decimal | None
    filled_count: int
    filled_hours: Decimal
    is_filled: bool


@dataclass(frozen=True)
class CounterpartFacts:
    description: str
    amount: Decimal | None
    currency: str
    due_date: dt.date | None
    status: str
    status_label: str
    proof_text: str
    proof_url: str
    has_proof_file: bool
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class ChallengeFacts:
    id: int
    title: str
    category: str
    category_label: str
    goal_kind: str
    status: str
    status_label: str
    starts_at: dt.datetime
    deadline: dt.datetime
    succeeded_at: dt.datetime | None
    goal_target: Decimal | None
    goal_unit: str
    progress_current: Decimal
    progress_target: Decimal
    progress_percent: int
    reached: bool
    metric: MetricFacts | None
    slots: tuple[SlotFacts, ...]
    counterpart: CounterpartFacts | None


def _factor(factor: ImpactFactor | None, french: bool) -> FactorFacts | None:
    if factor is None:
        return None
    return FactorFacts(
        key=factor.key,
        label=factor.label_fr if french else factor.label_en,
        unit=factor.unit,
        kg_co2e_per_unit=factor.kg_co2e_per_unit,
        source=factor.source,
        source_url=factor.source_url,
        year=factor.year,
        notes=factor.notes,
    )


def metric_facts(metric: Metric) -> MetricFacts:
    """A metric and its factors, its name and unit in the active language."""
    french = (translation.get_language() or "").startswith("fr")
    return MetricFacts(
        id=metric.pk,
        key=metric.key,
        name=metric_name(metric),
        unit=metric_unit(metric),
        baseline=_factor(metric.baseline_factor, french),
        action=_factor(metric.action_factor, french),
        kg_co2e_avoided_per_unit=metric.kg_co2e_avoided_per_unit,
        is_estimate=metric.is_estimate,
        is_volunteering=metric.key == VOLUNTEER_METRIC_KEY,
        money_value_per_unit=metric.money_value_per_unit,
        money_currency=metric.money_currency,
        money_source=metric.money_source,
    )


def _counterpart(challenge: Challenge) -> CounterpartFacts | None:
    counterpart = getattr(challenge, "counterpart", None)
    if counterpart is None:
        return None
    return CounterpartFacts(
        description=counterpart.description,
        amount=counterpart.amount,
        currency=counterpart.currency,
        due_date=counterpart.due_date,
        status=counterpart.status,
        status_label=choice_label(Counterpart.Status, counterpart.status),
        proof_text=counterpart.proof_text,
        proof_url=counterpart.proof_url,
        has_proof_file=bool(counterpart.proof_file),
        delivered_at=counterpart.delivered_at,
    )


def _challenge_facts(challenge: Challenge) -> ChallengeFacts:
    slots = list(challenge.skill_slots.all())
    progress = challenge_progress(challenge, slots)
    return ChallengeFacts(
        id=challenge.pk,
        title=challenge.title,
        category=challenge.category,
        category_label=choice_label(Challenge.Category, challenge.category),
        goal_kind=challenge.goal_kind,
        status=challenge.status,
        status_label=choice_label(Challenge.Status, challenge.status),
        starts_at=challenge.starts_at,
        deadline=challenge.deadline,
        succeeded_at=challenge.succeeded_at,
        goal_target=challenge.goal_target,
        goal_unit=goal_unit(challenge),
        progress_current=progress.current,
        progress_target=progress.target,
        progress_percent=progress.percent,
        reached=progress.reached,
        metric=metric_facts(challenge.metric) if challenge.metric is not None else None,
        slots=tuple(
            SlotFacts(
                slot.pk,
                slot.skill,
                slot.count,
                slot.hours,
                slot.filled_count,
                slot.filled_hours,
                slot.is_filled,
            )
            for slot in slots
        ),
        counterpart=_counterpart(challenge),
    )


def impact_challenges(
    now: Days, before: Days, zone: zoneinfo.ZoneInfo, *, also: Iterable[int] = ()
) -> list[ChallengeFacts]:
    """The challenges a report of these periods speaks of, with metric, factors, slots and
    counterpart: two queries.

    Those whose run (start to deadline) overlaps either period; those whose counterpart was
    delivered in one, or is still due (a promise still owed is listed, not hidden); and `also` (the
    ids the contributions and pledges of the periods name). Never drafts, nor challenges cancelled
    while still drafts: they never ran.
    """
    first, last = min(now.start, before.start), max(now.end, before.end)
    lower, upper = Days(first, last).bounds(zone)
    cancelled_as_draft = ChallengeEvent.objects.filter(
        challenge=OuterRef("pk"),
        subject=ChallengeEvent.Subject.CHALLENGE,
        from_status=Status.DRAFT,
        to_status=Status.CANCELLED,
    )
    queryset = (
        Challenge.objects.exclude(status=Status.DRAFT)
        .filter(
            Q(starts_at__lt=upper, deadline__gte=lower)
            | Q(counterpart__delivered_at__gte=lower, counterpart__delivered_at__lt=upper)
            | Q(counterpart__status="due")
            | Q(pk__in=sorted(set(also)))
        )
        .exclude(Exists(cancelled_as_draft))
        .select_related("metric__baseline_factor", "metric__action_factor", "counterpart")
        .prefetch_related("skill_slots")
        .order_by("starts_at", "pk")
    )
    return [_challenge_facts(challenge) for challenge in queryset]


# Teams -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamFacts:
    id: int
    name: str
    headcount: int | None  # the people in the team, joined or not: the rate's denominator
    members: int  # the people who joined it on Crowdact


def impact_teams() -> list[TeamFacts]:
    """Every team, with its headcount and members: one query."""
    rows = Team.objects.annotate(members=Count("memberships")).order_by("name", "pk")
    return [TeamFacts(team.pk, team.name, team.headcount, team.members) for team in rows]
