"""Every figure of an impact report, for one organisation and one period, and the period before it.

`impact_report(organization, start, end, language=...)` is the one entry point: the dashboard, the
CSV, the API (and the PDF) all print the `ImpactReport` it returns, so that they cannot disagree.
It is a tree of frozen dataclasses holding the figures (Decimals and ints, for computing and for
machines), their words and formatted numbers in the report's language (for printing as they are),
and the charts (`reports.charts.Chart`, drawn by `{% chart %}`).

The figures come from challenges' impact selectors (challenges/selectors/impact.py): six queries,
whatever the data. What each figure means is written once, in `METHODOLOGY`, which the pages and the
PDF print: read it before changing a computation here.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext, pgettext_lazy

from challenges.selectors.impact import (
    ChallengeFacts,
    ContributionTotals,
    Days,
    FactorFacts,
    MetricFacts,
    Newcomers,
    Pair,
    PeopleCounts,
    TeamFacts,
    bucket_starts,
    impact_activity,
    impact_challenges,
    impact_teams,
)
from reports.charts import Chart, Series, format_number
from reports.periods import Period, period_from_dates
from tenants.models import Organization
from tenants.selectors import current_organization

# Published participation in employee programmes (REPORT-OUTLINE.md: Alaya 2019, CECP 2019).
EMPLOYEE_RANGE = (Decimal(15), Decimal(29))
EMPLOYEE_RANGE_SOURCE = "Alaya 2019; CECP 2019"
CO2E_UNIT = "kg CO2e"
TONNES_FROM_KG = Decimal(10_000)  # from this many kg, a headline shows tonnes
TEAM_CHART_MOST = 20
CENT = Decimal("0.01")
TENTH = Decimal("0.1")

Direction = Literal["up", "down", "same", "none"]
OUTCOMES: tuple[str, ...] = ("succeeded", "open", "failed", "cancelled")

GOAL_KIND_LABELS: dict[str, Promise] = {
    "participants": pgettext_lazy("goal kind", "Participants"),
    "quantity": pgettext_lazy("goal kind", "Quantity"),
    "skills": pgettext_lazy("goal kind", "Skills"),
}
OUTCOME_LABELS: dict[str, Promise] = {
    "succeeded": pgettext_lazy("challenges", "Succeeded"),
    "open": pgettext_lazy("challenges", "Open"),
    "failed": pgettext_lazy("challenges", "Failed"),
    "cancelled": pgettext_lazy("challenges", "Cancelled"),
}

# How each figure is computed: printed by the dashboard's and the PDF's methodology, as it is.
METHODOLOGY: tuple[tuple[Promise, Promise], ...] = (
    (
        gettext_lazy("Participants"),
        gettext_lazy(
            "People who made a pledge (not withdrawn) or logged a contribution during the period, each "
            "counted once. People deactivated since still count. Erasing an account changes no figure: "
            "its pledges and contributions stay, anonymous."
        ),
    ),
    (
        gettext_lazy("Participation rate"),
        gettext_lazy(
            "Participants divided by the headcount set in the organisation's settings; per team, by the "
            "team's headcount. A person counts for the team they were in when they acted."
        ),
    ),
    (
        gettext_lazy("New participants"),
        gettext_lazy("People whose first pledge or contribution ever was made during the period."),
    ),
    (
        gettext_lazy("Challenges"),
        gettext_lazy(
            "The challenges whose run, from start to deadline, overlaps the period, with their outcome as "
            "of the day the report is made. A challenge cancelled before it was published is left out."
        ),
    ),
    (
        gettext_lazy("Quantities"),
        gettext_lazy(
            "Logged by participants themselves, for the days of the period, within each metric's daily "
            "cap: self-reported, not verified."
        ),
    ),
    (
        gettext_lazy("CO2e avoided"),
        gettext_lazy(
            "An estimate: each quantity times the emissions of the usual way (the baseline) minus those of "
            "the action taken instead, both factors from the same published source. Metrics with no "
            "sourced factor are counted, never converted. Avoided emissions are not a reduction of the "
            "organisation's own Scope 1–3 inventory (ESRS E1) and cannot count towards its reduction "
            "targets."
        ),
    ),
    (
        gettext_lazy("Volunteer hours"),
        gettext_lazy(
            "Hours logged on the skill slots of skills challenges, plus the quantities of the “hours "
            "volunteered” metric."
        ),
    ),
    (
        gettext_lazy("Counterparts"),
        gettext_lazy(
            "What the organisation promised in the challenges of the period, with their state as of the "
            "day the report is made; a counterpart still due is listed whatever period it comes from. "
            "Commitments kept: the counterparts delivered during the period, with their proof."
        ),
    ),
    (
        gettext_lazy("Comparison"),
        gettext_lazy(
            "With the previous period of the same length: the month, quarter or year before; for other "
            "dates, as many days just before. A period not over yet is compared with the same stretch "
            "of the one before."
        ),
    ),
)


# The tree ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodInfo:
    start: dt.date
    end: dt.date
    kind: str  # month, quarter, year, custom
    days: int
    label: str
    is_partial: bool  # not over yet: stops at the day the report was made
    bucket: str  # week or month: how "over time" is cut


@dataclass(frozen=True)
class Change:
    """How a figure moved since the previous period."""

    delta: Decimal | None  # None: nothing to compare (no headcount)
    percent: Decimal | None  # None: the previous figure was 0 (or missing)
    direction: Direction
    text: str  # "+12 % since February 2026", in the language


@dataclass(frozen=True)
class Figure:
    """A headline figure: its value, its words, and how it moved."""

    key: str
    label: str
    value: Decimal | None  # None: cannot be computed (a rate without a headcount)
    display: str  # the value written in the language, with its unit
    unit: str
    previous: Decimal | None
    previous_display: str
    change: Change
    sentence: str  # what it says, for the executive summary
    is_estimate: bool = False


@dataclass(frozen=True)
class Outcomes:
    succeeded: int
    open: int
    failed: int
    cancelled: int

    @property
    def total(self) -> int:
        return self.succeeded + self.open + self.failed + self.cancelled


@dataclass(frozen=True)
class Totals:
    """The figures of one period, the same for the period and the one before it."""

    participants: int
    new_participants: int
    pledges: int
    contributions: int
    headcount: int | None
    participation_rate: Decimal | None  # percent, to 0.1
    challenges: Outcomes
    skills_projects_launched: int  # skills challenges succeeded: every slot filled
    co2e_avoided_kg: Decimal  # to 0.01 kg
    co2e_avoided_estimates_kg: Decimal  # the part from metrics whose sources disagree
    volunteer_hours: Decimal
    counterparts_delivered: int  # delivered during the period
    counterparts_due: int  # still due today, of the period's ledger


@dataclass(frozen=True)
class Benchmark:
    low: Decimal
    high: Decimal
    source: str
    position: Literal["below", "within", "above"]
    sentence: str


@dataclass(frozen=True)
class Participation:
    participants: int
    previous_participants: int
    new_participants: int
    previous_new_participants: int
    headcount: int | None
    rate: Decimal | None
    previous_rate: Decimal | None
    population: str  # "employees", "residents", "members", in the language
    benchmark: Benchmark | None  # companies: the published range for employee programmes
    sentence: str


@dataclass(frozen=True)
class TimelineBucket:
    start: dt.date
    end: dt.date
    label: str
    new_participants: int
    active_participants: int


@dataclass(frozen=True)
class TeamRow:
    team_id: int | None  # None: people in no team
    name: str
    headcount: int | None
    members: int
    participants: int
    previous_participants: int
    rate: Decimal | None
    previous_rate: Decimal | None
    pledges: int
    co2e_avoided_kg: Decimal
    volunteer_hours: Decimal


@dataclass(frozen=True)
class ChallengeRow:
    challenge_id: int
    title: str
    category_label: str
    goal_kind: str
    goal_kind_label: str
    status: str
    status_label: str
    starts_on: dt.date
    deadline_on: dt.date
    succeeded_on: dt.date | None  # when a conditional goal was crossed
    goal_target: Decimal | None
    goal_unit: str
    progress_current: Decimal  # since its start, not only in the period
    progress_target: Decimal
    progress_percent: int
    participants: int  # in the period
    pledges: int
    quantity: Decimal
    quantity_unit: str
    co2e_avoided_kg: Decimal | None  # None: no sourced factor
    volunteer_hours: Decimal
    counterpart_status: str
    counterpart_status_label: str


@dataclass(frozen=True)
class MetricRow:
    metric_id: int
    key: str
    name: str
    unit: str
    quantity: Decimal
    previous_quantity: Decimal
    change: Change
    kg_co2e_per_unit: Decimal | None  # avoided per unit; None: counted, never converted
    co2e_avoided_kg: Decimal | None
    previous_co2e_avoided_kg: Decimal | None
    is_estimate: bool
    money_value: Decimal | None  # quantity × the metric's money value (volunteering at minimum wage)
    money_currency: str
    money_source: str


@dataclass(frozen=True)
class SkillRow:
    skill: str
    hours: Decimal
    previous_hours: Decimal


@dataclass(frozen=True)
class Amount:
    currency: str
    amount: Decimal
    display: str


@dataclass(frozen=True)
class LedgerRow:
    challenge_id: int
    challenge_title: str
    description: str
    amount: Decimal | None
    currency: str
    status: str
    status_label: str
    due_date: dt.date | None
    became_due_on: dt.date | None
    delivered_on: dt.date | None
    proof_text: str
    proof_url: str
    has_proof_file: bool
    is_overdue: bool  # due, and its due date passed


@dataclass(frozen=True)
class Ledger:
    rows: tuple[LedgerRow, ...]
    promised: int
    due: int
    delivered: int
    void: int
    promised_amounts: tuple[Amount, ...]
    due_amounts: tuple[Amount, ...]
    delivered_amounts: tuple[Amount, ...]


@dataclass(frozen=True)
class FactorRow:
    key: str
    label: str
    unit: str
    kg_co2e_per_unit: Decimal | None
    source: str
    source_url: str
    year: int
    notes: str


@dataclass(frozen=True)
class MethodRow:
    """How one metric of the period turns into CO2e (or why it does not)."""

    metric: str
    unit: str
    baseline: FactorRow | None
    action: FactorRow | None
    kg_co2e_per_unit: Decimal | None
    is_estimate: bool
    text: str


@dataclass(frozen=True)
class Note:
    title: str
    text: str


@dataclass(frozen=True)
class ImpactCharts:
    participation: Chart
    outcomes: Chart
    co2e: Chart | None  # None: no quantity with a sourced factor
    teams: Chart | None  # None: no team with a headcount
    skills: Chart | None  # None: no volunteer hours


@dataclass(frozen=True)
class ImpactReport:
    organization_name: str
    organization_kind: str  # company, municipality, association
    brand_color: str
    language: str
    time_zone: str
    generated_at: dt.datetime
    period: PeriodInfo
    previous_period: PeriodInfo
    current: Totals
    previous: Totals
    headline: tuple[Figure, ...]
    participation: Participation
    timeline: tuple[TimelineBucket, ...]
    teams: tuple[TeamRow, ...]
    challenges: tuple[ChallengeRow, ...]
    metrics: tuple[MetricRow, ...]
    skills: tuple[SkillRow, ...]
    ledger: Ledger
    methods: tuple[MethodRow, ...]
    factors: tuple[FactorRow, ...]
    notes: tuple[Note, ...]
    charts: ImpactCharts

    def figure(self, key: str) -> Figure:
        return next(figure for figure in self.headline if figure.key == key)


# Numbers -----------------------------------------------------------------------------------------


def _quantize(value: Decimal, step: Decimal = CENT) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def number(value: Decimal | int | None, decimals: int | None = None) -> str:
    """A figure written in the active language ("1,234.5" / "1 234,5"); "—" for none."""
    if value is None:
        return "—"
    return format_number(value, decimals) if value >= 0 else "−" + format_number(-value, decimals)


def _places(value: Decimal) -> int:
    """The decimals a factor was published with (0.2176 has 4), at most 6."""
    exponent = value.normalize().as_tuple().exponent
    return min(6, max(0, -exponent)) if isinstance(exponent, int) else 0


def _rate(people: int, headcount: int | None) -> Decimal | None:
    if not headcount:
        return None
    return _quantize(Decimal(people) * 100 / headcount, TENTH)


def _change(now: Decimal | None, before: Decimal | None, *, since: str, points: bool = False) -> Change:
    if now is None or before is None:
        return Change(None, None, "none", "")
    delta = now - before
    direction: Direction = "up" if delta > 0 else "down" if delta < 0 else "same"
    percent = None if before == 0 or points else _quantize(delta * 100 / before, Decimal(1))
    if direction == "same":
        text = gettext("no change since %(period)s") % {"period": since}
    elif points:
        sign = "+" if delta > 0 else "−"
        text = gettext("%(sign)s%(points)s points since %(period)s") % {
            "sign": sign,
            "points": number(abs(delta), 1),
            "period": since,
        }
    elif percent is None:
        text = gettext("up from 0 in %(period)s") % {"period": since}
    else:
        sign = "+" if delta > 0 else "−"
        text = gettext("%(sign)s%(percent)s %% since %(period)s") % {
            "sign": sign,
            "percent": number(abs(percent), 0),
            "period": since,
        }
    return Change(delta, percent, direction, text)


def _kg(value: Decimal) -> str:
    """CO2e for a headline: kg, or tonnes from 10 t."""
    if value >= TONNES_FROM_KG:
        return gettext("%(tonnes)s t CO2e") % {"tonnes": number(_quantize(value / 1000, TENTH), 1)}
    return f"{number(_quantize(value, TENTH))} {CO2E_UNIT}"


def _amounts(rows: Iterable[tuple[str, Decimal | None]]) -> tuple[Amount, ...]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in rows:
        if amount is not None:
            sums[currency or ""] += amount
    return tuple(
        Amount(currency, amount, f"{number(amount)} {currency}".strip())
        for currency, amount in sorted(sums.items())
    )


# Building ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """What the selectors read, once, for both periods."""

    zone: zoneinfo.ZoneInfo
    today: dt.date
    period: Period
    previous: Period
    teams: list[TeamFacts]
    people: PeopleCounts
    contributions: list[ContributionTotals]
    newcomers: Newcomers
    challenges: dict[int, ChallengeFacts]

    def days(self, which: str) -> Days:
        period = self.period if which == "now" else self.previous
        return Days(period.start, period.end)

    def overlaps(self, challenge: ChallengeFacts, which: str) -> bool:
        lower, upper = self.days(which).bounds(self.zone)
        return challenge.starts_at < upper and challenge.deadline >= lower

    def within(self, moment: dt.datetime | None, which: str) -> bool:
        lower, upper = self.days(which).bounds(self.zone)
        return moment is not None and lower <= moment < upper

    def local(self, moment: dt.datetime | None) -> dt.date | None:
        return moment.astimezone(self.zone).date() if moment is not None else None


def _pick(pair: Pair, which: str) -> Decimal:
    return pair.now if which == "now" else pair.before


def impact_report(
    organization: Organization | None,
    start: dt.date,
    end: dt.date,
    *,
    language: str,
    today: dt.date | None = None,
) -> ImpactReport:
    """Every figure of the report of [start, end] (days in the organisation's time zone), and of the
    period before it, with their words in `language`. `organization` None: the current schema's.
    `today` defaults to the organisation's today; a period ending later stops there (`is_partial`).
    A bad period raises ValidationError with a message per field (reports.periods)."""
    organization = organization or current_organization()
    zone = zoneinfo.ZoneInfo(organization.timezone)
    with translation.override(language), timezone.override(zone):
        today = today or timezone.localdate(timezone.now(), zone)
        period = period_from_dates(start, end, today=today)
        previous = period.previous()
        now_days, before_days = Days(period.start, period.end), Days(previous.start, previous.end)
        teams = impact_teams()
        activity = impact_activity(now_days, before_days, zone, bucket=period.bucket)
        people, contributions, newcomers = activity.people, activity.contributions, activity.newcomers
        named = set(people.by_challenge) | {row.challenge_id for row in contributions}
        challenges = impact_challenges(now_days, before_days, zone, also=named)
        facts = _Facts(
            zone,
            today,
            period,
            previous,
            teams,
            people,
            contributions,
            newcomers,
            {challenge.id: challenge for challenge in challenges},
        )
        return _report(organization, language, facts)


def _report(organization: Organization, language: str, facts: _Facts) -> ImpactReport:
    metrics_now = _metric_rows(facts)
    current = _totals(organization, facts, "now")
    previous = _totals(organization, facts, "before")
    period = _period_info(facts.period)
    previous_period = _period_info(facts.previous)
    teams = _team_rows(facts)
    skills = _skill_rows(facts)
    timeline = _timeline(facts)
    ledger = _ledger(facts)
    participation = _participation(organization, current, previous, period)
    return ImpactReport(
        organization_name=organization.name,
        organization_kind=organization.kind,
        brand_color=organization.brand_color,
        language=language,
        time_zone=organization.timezone,
        generated_at=timezone.now(),
        period=period,
        previous_period=previous_period,
        current=current,
        previous=previous,
        headline=_headline(organization, current, previous, period, previous_period),
        participation=participation,
        timeline=timeline,
        teams=teams,
        challenges=_challenge_rows(facts),
        metrics=metrics_now,
        skills=skills,
        ledger=ledger,
        methods=_methods(metrics_now, facts),
        factors=_factors(facts),
        notes=tuple(Note(str(title), str(text)) for title, text in METHODOLOGY),
        charts=ImpactCharts(
            participation=_participation_chart(timeline, period),
            outcomes=_outcomes_chart(current, previous, period, previous_period),
            co2e=_co2e_chart(metrics_now, period),
            teams=_teams_chart(teams, period),
            skills=_skills_chart(skills, period),
        ),
    )


def _period_info(period: Period) -> PeriodInfo:
    return PeriodInfo(
        start=period.start,
        end=period.end,
        kind=period.kind,
        days=period.days,
        label=period.label(),
        is_partial=period.is_partial,
        bucket=period.bucket,
    )


def _metric_of(facts: _Facts, row: ContributionTotals) -> MetricFacts | None:
    challenge = facts.challenges.get(row.challenge_id)
    if challenge is None or row.skill_slot_id is not None:
        return None
    return challenge.metric


def _co2e(quantity: Decimal, metric: MetricFacts) -> Decimal | None:
    if metric.kg_co2e_avoided_per_unit is None:
        return None
    return _quantize(quantity * metric.kg_co2e_avoided_per_unit)


def _quantities(facts: _Facts) -> dict[int, tuple[MetricFacts, Pair]]:
    """Quantities logged per metric, in both periods."""
    sums: dict[int, tuple[MetricFacts, Decimal, Decimal]] = {}
    for row in facts.contributions:
        metric = _metric_of(facts, row)
        if metric is None:
            continue
        _, now, before = sums.get(metric.id, (metric, Decimal(0), Decimal(0)))
        sums[metric.id] = (metric, now + row.amount.now, before + row.amount.before)
    return {key: (metric, Pair(now, before)) for key, (metric, now, before) in sums.items()}


def _metric_rows(facts: _Facts) -> tuple[MetricRow, ...]:
    rows = []
    since = facts.previous.label()
    for metric, quantity in _quantities(facts).values():
        if quantity.now == 0 and quantity.before == 0:
            continue
        money = (
            _quantize(quantity.now * metric.money_value_per_unit)
            if metric.money_value_per_unit is not None
            else None
        )
        rows.append(
            MetricRow(
                metric_id=metric.id,
                key=metric.key,
                name=metric.name,
                unit=metric.unit,
                quantity=_quantize(quantity.now),
                previous_quantity=_quantize(quantity.before),
                change=_change(quantity.now, quantity.before, since=since),
                kg_co2e_per_unit=metric.kg_co2e_avoided_per_unit,
                co2e_avoided_kg=_co2e(quantity.now, metric),
                previous_co2e_avoided_kg=_co2e(quantity.before, metric),
                is_estimate=metric.is_estimate,
                money_value=money,
                money_currency=metric.money_currency if money is not None else "",
                money_source=metric.money_source if money is not None else "",
            )
        )
    return tuple(sorted(rows, key=lambda r: (-(r.co2e_avoided_kg or Decimal(-1)), -r.quantity, r.name)))


def _hours(facts: _Facts, row: ContributionTotals, which: str) -> Decimal:
    """Volunteer hours in one row of contributions: hours on a skill slot, or of the volunteering metric."""
    if row.skill_slot_id is not None:
        return _pick(row.amount, which)
    metric = _metric_of(facts, row)
    return _pick(row.amount, which) if metric is not None and metric.is_volunteering else Decimal(0)


def _totals(organization: Organization, facts: _Facts, which: str) -> Totals:
    co2e = estimates = hours = Decimal(0)
    for metric, quantity in _quantities(facts).values():
        kg = _co2e(_pick(quantity, which), metric)
        if kg is not None:
            co2e += kg
            estimates += kg if metric.is_estimate else Decimal(0)
    entries = Decimal(0)
    for row in facts.contributions:
        hours += _hours(facts, row, which)
        entries += _pick(row.entries, which)
    counts = dict.fromkeys(OUTCOMES, 0)
    launched = due = delivered = 0
    for challenge in facts.challenges.values():
        if facts.overlaps(challenge, which):
            counts[challenge.status] = counts.get(challenge.status, 0) + 1
            launched += challenge.goal_kind == "skills" and challenge.status == "succeeded"
        counterpart = challenge.counterpart
        if counterpart is not None:
            delivered += facts.within(counterpart.delivered_at, which)
            due += counterpart.status == "due" and _in_ledger(facts, challenge, which)
    participants = int(_pick(facts.people.people, which))
    return Totals(
        participants=participants,
        new_participants=_newcomers_between(facts, facts.period if which == "now" else facts.previous),
        pledges=int(_pick(facts.people.pledges, which)),
        contributions=int(entries),
        headcount=organization.headcount,
        participation_rate=_rate(participants, organization.headcount),
        challenges=Outcomes(counts["succeeded"], counts["open"], counts["failed"], counts["cancelled"]),
        skills_projects_launched=launched,
        co2e_avoided_kg=_quantize(co2e),
        co2e_avoided_estimates_kg=_quantize(estimates),
        volunteer_hours=_quantize(hours),
        counterparts_delivered=delivered,
        counterparts_due=due,
    )


def _newcomers_between(facts: _Facts, period: Period) -> int:
    return sum(
        count for day, count in facts.newcomers.first_days.items() if period.start <= day <= period.end
    )


def _in_ledger(facts: _Facts, challenge: ChallengeFacts, which: str) -> bool:
    """A counterpart belongs to a period's ledger when its challenge ran in it, when it was delivered
    in it, or when it is still due and fell due before the period ended."""
    counterpart = challenge.counterpart
    if counterpart is None:
        return False
    if facts.overlaps(challenge, which) or facts.within(counterpart.delivered_at, which):
        return True
    _, upper = facts.days(which).bounds(facts.zone)
    return (
        counterpart.status == "due" and challenge.succeeded_at is not None and challenge.succeeded_at < upper
    )


def _population(organization: Organization) -> str:
    if organization.kind == "municipality":
        return gettext("residents")
    if organization.kind == "association":
        return gettext("members")
    return gettext("employees")


def _headline(
    organization: Organization, now: Totals, before: Totals, period: PeriodInfo, previous: PeriodInfo
) -> tuple[Figure, ...]:
    since = previous.label
    people = Decimal(now.participants)
    rate_sentence = (
        gettext("Set the headcount in the organisation's settings to see the participation rate.")
        if now.headcount is None
        else gettext("%(rate)s %% of the %(headcount)s %(population)s took part.")
        % {
            "rate": number(now.participation_rate, 1),
            "headcount": number(now.headcount),
            "population": _population(organization),
        }
    )
    ran = now.challenges.total
    return (
        Figure(
            key="participants",
            label=gettext("Participants"),
            value=people,
            display=number(now.participants),
            unit=gettext("people"),
            previous=Decimal(before.participants),
            previous_display=number(before.participants),
            change=_change(people, Decimal(before.participants), since=since),
            sentence=ngettext(
                "%(count)s person took part in %(period)s, %(new)s of them for the first time.",
                "%(count)s people took part in %(period)s, %(new)s of them for the first time.",
                now.participants,
            )
            % {
                "count": number(now.participants),
                "period": period.label,
                "new": number(now.new_participants),
            },
        ),
        Figure(
            key="participation_rate",
            label=gettext("Participation rate"),
            value=now.participation_rate,
            display=f"{number(now.participation_rate, 1)} %" if now.participation_rate is not None else "—",
            unit="%",
            previous=before.participation_rate,
            previous_display=(
                f"{number(before.participation_rate, 1)} %" if before.participation_rate is not None else "—"
            ),
            change=_change(now.participation_rate, before.participation_rate, since=since, points=True),
            sentence=rate_sentence,
        ),
        Figure(
            key="challenges_succeeded",
            label=gettext("Challenges succeeded"),
            value=Decimal(now.challenges.succeeded),
            display=number(now.challenges.succeeded),
            unit=gettext("challenges"),
            previous=Decimal(before.challenges.succeeded),
            previous_display=number(before.challenges.succeeded),
            change=_change(
                Decimal(now.challenges.succeeded), Decimal(before.challenges.succeeded), since=since
            ),
            sentence=ngettext(
                "%(succeeded)s of the %(count)s challenge that ran in the period succeeded.",
                "%(succeeded)s of the %(count)s challenges that ran in the period succeeded.",
                ran,
            )
            % {"succeeded": number(now.challenges.succeeded), "count": number(ran)},
        ),
        Figure(
            key="co2e_avoided_kg",
            label=gettext("CO2e avoided (estimate)"),
            value=now.co2e_avoided_kg,
            display=_kg(now.co2e_avoided_kg),
            unit=CO2E_UNIT,
            previous=before.co2e_avoided_kg,
            previous_display=_kg(before.co2e_avoided_kg),
            change=_change(now.co2e_avoided_kg, before.co2e_avoided_kg, since=since),
            sentence=gettext(
                "An estimate from the quantities participants logged and published emission factors; "
                "not a reduction of the organisation's own emissions."
            ),
            is_estimate=True,
        ),
        Figure(
            key="volunteer_hours",
            label=gettext("Volunteer hours"),
            value=now.volunteer_hours,
            display=number(now.volunteer_hours),
            unit=gettext("hours"),
            previous=before.volunteer_hours,
            previous_display=number(before.volunteer_hours),
            change=_change(now.volunteer_hours, before.volunteer_hours, since=since),
            sentence=_hours_sentence(now),
        ),
        Figure(
            key="counterparts_delivered",
            label=gettext("Commitments kept"),
            value=Decimal(now.counterparts_delivered),
            display=number(now.counterparts_delivered),
            unit=gettext("counterparts"),
            previous=Decimal(before.counterparts_delivered),
            previous_display=number(before.counterparts_delivered),
            change=_change(
                Decimal(now.counterparts_delivered), Decimal(before.counterparts_delivered), since=since
            ),
            sentence=ngettext(
                "Counterparts the organisation delivered in the period; %(due)s is still due.",
                "Counterparts the organisation delivered in the period; %(due)s are still due.",
                now.counterparts_due,
            )
            % {"due": number(now.counterparts_due)},
        ),
    )


def _hours_sentence(now: Totals) -> str:
    if not now.skills_projects_launched:
        return gettext("Time participants gave to projects that needed their skills.")
    return ngettext(
        "Time participants gave to projects; %(count)s project launched with every skill it needed.",
        "Time participants gave to projects; %(count)s projects launched with every skill they needed.",
        now.skills_projects_launched,
    ) % {"count": number(now.skills_projects_launched)}


def _participation(
    organization: Organization, now: Totals, before: Totals, period: PeriodInfo
) -> Participation:
    population = _population(organization)
    benchmark = None
    if organization.kind == "company" and now.participation_rate is not None:
        low, high = EMPLOYEE_RANGE
        rate = now.participation_rate
        position: Literal["below", "within", "above"] = (
            "below" if rate < low else "above" if rate > high else "within"
        )
        words = {
            "below": gettext(
                "%(rate)s %% is below the 15–29 %% published for employee programmes (%(source)s)."
            ),
            "within": gettext(
                "%(rate)s %% is within the 15–29 %% published for employee programmes (%(source)s)."
            ),
            "above": gettext(
                "%(rate)s %% is above the 15–29 %% published for employee programmes (%(source)s)."
            ),
        }
        benchmark = Benchmark(
            low, high, EMPLOYEE_RANGE_SOURCE, position,
            words[position] % {"rate": number(rate, 1), "source": EMPLOYEE_RANGE_SOURCE},
        )  # fmt: skip
    if now.headcount is None:
        sentence = gettext("No headcount is set: the participation rate cannot be computed.")
    elif organization.kind == "municipality":
        sentence = gettext(
            "Measured against the %(headcount)s residents of the municipality. The published range for "
            "employee programmes does not apply to residents."
        ) % {"headcount": number(now.headcount)}
    else:
        sentence = gettext("Measured against %(headcount)s %(population)s.") % {
            "headcount": number(now.headcount),
            "population": population,
        }
    return Participation(
        participants=now.participants,
        previous_participants=before.participants,
        new_participants=now.new_participants,
        previous_new_participants=before.new_participants,
        headcount=now.headcount,
        rate=now.participation_rate,
        previous_rate=before.participation_rate,
        population=population,
        benchmark=benchmark,
        sentence=sentence,
    )


def _buckets(period: Period) -> list[tuple[dt.date, dt.date, dt.date]]:
    """(key, first day, last day) of each week (from Monday) or month of the period, clipped to it."""
    keys = bucket_starts(Days(period.start, period.end), period.bucket)
    ends = [key - dt.timedelta(days=1) for key in keys[1:]] + [period.end]
    return [(key, max(key, period.start), min(end, period.end)) for key, end in zip(keys, ends, strict=True)]


def _timeline(facts: _Facts) -> tuple[TimelineBucket, ...]:
    period = facts.period
    several_years = period.start.year != period.end.year
    rows = []
    for key, first, last in _buckets(period):
        if period.bucket == "week":
            label = date_format(first, pgettext("day and short month", "j M"))
        else:
            label = date_format(first, "M Y" if several_years else "F")
        new = sum(count for day, count in facts.newcomers.first_days.items() if first <= day <= last)
        rows.append(TimelineBucket(first, last, label, new, facts.newcomers.active_by_bucket.get(key, 0)))
    return tuple(rows)


def _contributions_by(facts: _Facts, attribute: str) -> dict[object, dict[str, Decimal]]:
    """CO2e and volunteer hours of the period per team_id or challenge_id."""
    sums: dict[object, dict[str, Decimal]] = defaultdict(lambda: {"co2e": Decimal(0), "hours": Decimal(0)})
    for row in facts.contributions:
        key = getattr(row, attribute)
        metric = _metric_of(facts, row)
        kg = _co2e(row.amount.now, metric) if metric is not None else None
        sums[key]["co2e"] += kg or Decimal(0)
        sums[key]["hours"] += _hours(facts, row, "now")
    for values in sums.values():
        values["co2e"], values["hours"] = _quantize(values["co2e"]), _quantize(values["hours"])
    return sums


def _team_rows(facts: _Facts) -> tuple[TeamRow, ...]:
    by_team = _contributions_by(facts, "team_id")
    rows = []
    for team in facts.teams:
        people, pledges = facts.people.by_team.get(team.id, (Pair(Decimal(0), Decimal(0)),) * 2)
        rows.append(
            TeamRow(
                team_id=team.id,
                name=team.name,
                headcount=team.headcount,
                members=team.members,
                participants=int(people.now),
                previous_participants=int(people.before),
                rate=_rate(int(people.now), team.headcount),
                previous_rate=_rate(int(people.before), team.headcount),
                pledges=int(pledges.now),
                co2e_avoided_kg=by_team[team.id]["co2e"] if team.id in by_team else _quantize(Decimal(0)),
                volunteer_hours=by_team[team.id]["hours"] if team.id in by_team else _quantize(Decimal(0)),
            )
        )
    rows.sort(key=lambda r: (r.rate is None, -(r.rate or 0), -r.participants, r.name))
    people, pledges = facts.people.by_team.get(None, (Pair(Decimal(0), Decimal(0)),) * 2)
    if people.now or people.before:
        rows.append(
            TeamRow(
                team_id=None,
                name=gettext("In no team"),
                headcount=None,
                members=0,
                participants=int(people.now),
                previous_participants=int(people.before),
                rate=None,
                previous_rate=None,
                pledges=int(pledges.now),
                co2e_avoided_kg=by_team[None]["co2e"] if None in by_team else _quantize(Decimal(0)),
                volunteer_hours=by_team[None]["hours"] if None in by_team else _quantize(Decimal(0)),
            )
        )
    return tuple(rows)


def _challenge_rows(facts: _Facts) -> tuple[ChallengeRow, ...]:
    by_challenge = _contributions_by(facts, "challenge_id")
    quantities: dict[int, Decimal] = defaultdict(Decimal)
    for row in facts.contributions:
        if row.skill_slot_id is None:
            quantities[row.challenge_id] += row.amount.now
    rows = []
    for challenge in facts.challenges.values():
        if not facts.overlaps(challenge, "now"):
            continue
        people, pledges = facts.people.by_challenge.get(challenge.id, (Pair(Decimal(0), Decimal(0)),) * 2)
        metric = challenge.metric
        hours = by_challenge[challenge.id]["hours"] if challenge.id in by_challenge else _quantize(Decimal(0))
        if challenge.goal_kind == "skills":
            quantity, quantity_unit = hours, gettext("hours")
        else:
            quantity = _quantize(quantities.get(challenge.id, Decimal(0)))
            quantity_unit = metric.unit if metric is not None else ""
        counterpart = challenge.counterpart
        rows.append(
            ChallengeRow(
                challenge_id=challenge.id,
                title=challenge.title,
                category_label=challenge.category_label,
                goal_kind=challenge.goal_kind,
                goal_kind_label=str(GOAL_KIND_LABELS.get(challenge.goal_kind, challenge.goal_kind)),
                status=challenge.status,
                status_label=str(OUTCOME_LABELS.get(challenge.status, challenge.status_label)),
                starts_on=challenge.starts_at.astimezone(facts.zone).date(),
                deadline_on=challenge.deadline.astimezone(facts.zone).date(),
                succeeded_on=facts.local(challenge.succeeded_at),
                goal_target=challenge.goal_target,
                goal_unit=challenge.goal_unit,
                progress_current=challenge.progress_current,
                progress_target=challenge.progress_target,
                progress_percent=challenge.progress_percent,
                participants=int(people.now),
                pledges=int(pledges.now),
                quantity=quantity,
                quantity_unit=quantity_unit,
                co2e_avoided_kg=_co2e(quantity, metric) if metric is not None else None,
                volunteer_hours=hours,
                counterpart_status=counterpart.status if counterpart is not None else "",
                counterpart_status_label=counterpart.status_label if counterpart is not None else "",
            )
        )
    order = {status: index for index, status in enumerate(OUTCOMES)}
    return tuple(sorted(rows, key=lambda r: (order.get(r.status, 9), r.starts_on, r.challenge_id)))


def _skill_rows(facts: _Facts) -> tuple[SkillRow, ...]:
    skills = {slot.id: slot.skill for challenge in facts.challenges.values() for slot in challenge.slots}
    hours: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in facts.contributions:
        if row.skill_slot_id is not None:
            name = skills.get(row.skill_slot_id, gettext("Other skills"))
        else:
            metric = _metric_of(facts, row)
            if metric is None or not metric.is_volunteering:
                continue
            name = metric.name
        hours[name][0] += row.amount.now
        hours[name][1] += row.amount.before
    rows = [
        SkillRow(name, _quantize(now), _quantize(before))
        for name, (now, before) in hours.items()
        if now or before
    ]
    return tuple(sorted(rows, key=lambda r: (-r.hours, r.skill)))


def _ledger(facts: _Facts) -> Ledger:
    rows = []
    for challenge in facts.challenges.values():
        counterpart = challenge.counterpart
        if counterpart is None or not _in_ledger(facts, challenge, "now"):
            continue
        status = counterpart.status
        rows.append(
            LedgerRow(
                challenge_id=challenge.id,
                challenge_title=challenge.title,
                description=counterpart.description,
                amount=counterpart.amount,
                currency=counterpart.currency,
                status=status,
                status_label=counterpart.status_label,
                due_date=counterpart.due_date,
                became_due_on=facts.local(challenge.succeeded_at) if status in ("due", "delivered") else None,
                delivered_on=facts.local(counterpart.delivered_at),
                proof_text=counterpart.proof_text,
                proof_url=counterpart.proof_url,
                has_proof_file=counterpart.has_proof_file,
                is_overdue=status == "due"
                and counterpart.due_date is not None
                and counterpart.due_date < facts.today,
            )
        )
    order = {"due": 0, "delivered": 1, "promised": 2, "void": 3}
    rows.sort(key=lambda r: (order.get(r.status, 9), r.due_date or dt.date.max, r.challenge_id))

    def of(*statuses: str) -> list[LedgerRow]:
        return [row for row in rows if row.status in statuses]

    return Ledger(
        rows=tuple(rows),
        promised=len(of("promised")),
        due=len(of("due")),
        delivered=len(of("delivered")),
        void=len(of("void")),
        promised_amounts=_amounts((r.currency, r.amount) for r in of("promised")),
        due_amounts=_amounts((r.currency, r.amount) for r in of("due")),
        delivered_amounts=_amounts((r.currency, r.amount) for r in of("delivered")),
    )


def _factor_row(factor: FactorFacts | None) -> FactorRow | None:
    if factor is None:
        return None
    return FactorRow(
        key=factor.key,
        label=factor.label,
        unit=factor.unit,
        kg_co2e_per_unit=factor.kg_co2e_per_unit,
        source=factor.source,
        source_url=factor.source_url,
        year=factor.year,
        notes=factor.notes,
    )


def _period_metrics(facts: _Facts) -> list[MetricFacts]:
    """The metrics of the period's challenges and quantities, each once."""
    metrics: dict[int, MetricFacts] = {}
    for challenge in facts.challenges.values():
        if challenge.metric is not None and facts.overlaps(challenge, "now"):
            metrics[challenge.metric.id] = challenge.metric
    for metric, quantity in _quantities(facts).values():
        if quantity.now:
            metrics[metric.id] = metric
    return sorted(metrics.values(), key=lambda m: m.name)


def _methods(rows: Sequence[MetricRow], facts: _Facts) -> tuple[MethodRow, ...]:
    methods = []
    for metric in _period_metrics(facts):
        per_unit = metric.kg_co2e_avoided_per_unit
        if per_unit is None:
            text = gettext("No sourced factor: counted, not converted into CO2e.")
        else:
            text = gettext("1 %(unit)s avoids %(value)s kg CO2e: %(baseline)s minus %(action)s.") % {
                "unit": metric.unit,
                "value": number(per_unit, _places(per_unit)),
                "baseline": metric.baseline.label if metric.baseline else "",
                "action": metric.action.label if metric.action else gettext("nothing"),
            }
            if metric.is_estimate:
                text += " " + gettext("Sources disagree on this factor: the figure is an estimate.")
        methods.append(
            MethodRow(
                metric=metric.name,
                unit=metric.unit,
                baseline=_factor_row(metric.baseline),
                action=_factor_row(metric.action),
                kg_co2e_per_unit=per_unit,
                is_estimate=metric.is_estimate,
                text=text,
            )
        )
    return tuple(methods)


def _factors(facts: _Facts) -> tuple[FactorRow, ...]:
    found: dict[str, FactorRow] = {}
    for metric in _period_metrics(facts):
        for factor in (metric.baseline, metric.action):
            row = _factor_row(factor)
            if row is not None:
                found[row.key] = row
    return tuple(sorted(found.values(), key=lambda f: f.key))


# Charts ------------------------------------------------------------------------------------------


def _participation_chart(timeline: Sequence[TimelineBucket], period: PeriodInfo) -> Chart:
    new = sum(b.new_participants for b in timeline)
    busiest = max(timeline, key=lambda b: (b.active_participants, -b.start.toordinal()), default=None)
    if busiest is None or busiest.active_participants == 0:
        description = gettext("Nobody took part in %(period)s.") % {"period": period.label}
    else:
        words = (
            gettext(
                "%(new)s people took part for the first time in %(period)s. The busiest week was the one "
                "from %(label)s, with %(active)s people active."
            )
            if period.bucket == "week"
            else gettext(
                "%(new)s people took part for the first time in %(period)s. The busiest month was "
                "%(label)s, with %(active)s people active."
            )
        )
        description = words % {
            "new": number(new),
            "period": period.label,
            "label": busiest.label,
            "active": number(busiest.active_participants),
        }
    return Chart(
        kind="bar",
        title=gettext("Participation over time"),
        description=description,
        unit=gettext("people"),
        series=[
            Series(gettext("Active participants"), [b.active_participants for b in timeline]),
            Series(gettext("New participants"), [b.new_participants for b in timeline]),
        ],
        categories=[b.label for b in timeline],
        category_label=gettext("Week from") if period.bucket == "week" else gettext("Month"),
        id="impact-participation",
    )


def _outcomes_chart(now: Totals, before: Totals, period: PeriodInfo, previous: PeriodInfo) -> Chart:
    labels = [str(OUTCOME_LABELS[status]) for status in OUTCOMES]
    values_now = [getattr(now.challenges, status) for status in OUTCOMES]
    values_before = [getattr(before.challenges, status) for status in OUTCOMES]
    description = gettext(
        "%(total)s challenges ran in %(period)s: %(succeeded)s succeeded, %(open)s still open, "
        "%(failed)s failed and %(cancelled)s cancelled."
    ) % {
        "total": number(now.challenges.total),
        "period": period.label,
        "succeeded": number(now.challenges.succeeded),
        "open": number(now.challenges.open),
        "failed": number(now.challenges.failed),
        "cancelled": number(now.challenges.cancelled),
    }
    return Chart(
        kind="bar",
        title=gettext("Challenges by outcome"),
        description=description,
        unit=gettext("challenges"),
        series=[Series(period.label, values_now), Series(previous.label, values_before)],
        categories=labels,
        category_label=gettext("Outcome"),
        id="impact-outcomes",
    )


def _co2e_chart(metrics: Sequence[MetricRow], period: PeriodInfo) -> Chart | None:
    rows = [m for m in metrics if m.co2e_avoided_kg is not None and m.co2e_avoided_kg > 0]
    if not rows:
        return None
    total = sum((m.co2e_avoided_kg or Decimal(0) for m in rows), Decimal(0))
    top = rows[0]
    return Chart(
        kind="hbar",
        title=gettext("CO2e avoided by action (estimate)"),
        description=gettext(
            "An estimated %(total)s kg CO2e avoided in %(period)s, %(top)s kg of it by “%(metric)s”."
        )
        % {
            "total": number(_quantize(total, TENTH)),
            "period": period.label,
            "top": number(_quantize(top.co2e_avoided_kg or Decimal(0), TENTH)),
            "metric": top.name,
        },
        unit=CO2E_UNIT,
        series=[
            Series(gettext("CO2e avoided"), [_quantize(m.co2e_avoided_kg or Decimal(0), TENTH) for m in rows])
        ],
        categories=[m.name for m in rows],
        category_label=gettext("Action"),
        id="impact-co2e",
    )


def _teams_chart(teams: Sequence[TeamRow], period: PeriodInfo) -> Chart | None:
    rated = [t for t in teams if t.rate is not None]
    if not rated:
        return None
    shown = rated[:TEAM_CHART_MOST]
    description = gettext(
        "Participation against each team's headcount in %(period)s: from %(high)s %% (%(best)s) to "
        "%(low)s %% (%(last)s)."
    ) % {
        "period": period.label,
        "high": number(shown[0].rate, 1),
        "best": shown[0].name,
        "low": number(rated[-1].rate, 1),
        "last": rated[-1].name,
    }
    if len(rated) > len(shown):
        description += " " + gettext("The %(count)s highest are drawn; the table lists every team.") % {
            "count": len(shown)
        }
    return Chart(
        kind="hbar",
        title=gettext("Participation rate by team"),
        description=description,
        unit="%",
        series=[Series(gettext("Participation rate"), [t.rate or Decimal(0) for t in shown])],
        categories=[t.name for t in shown],
        category_label=gettext("Team"),
        id="impact-teams",
    )


def _skills_chart(skills: Sequence[SkillRow], period: PeriodInfo) -> Chart | None:
    rows = [s for s in skills if s.hours > 0]
    if not rows:
        return None
    total = sum((s.hours for s in rows), Decimal(0))
    return Chart(
        kind="hbar",
        title=gettext("Volunteer hours by skill"),
        description=gettext("%(total)s hours volunteered in %(period)s, %(top)s of them in “%(skill)s”.")
        % {
            "total": number(total),
            "period": period.label,
            "top": number(rows[0].hours),
            "skill": rows[0].skill,
        },
        unit=gettext("hours"),
        series=[Series(gettext("Hours"), [s.hours for s in rows])],
        categories=[s.skill for s in rows],
        category_label=gettext("Skill"),
        id="impact-skills",
    )
