"""The demo's history, planned in memory before anything is written: who joined when, who pledged and
logged what and when, when each challenge was created, published, reached its goal, closed.

Pure: it reads no database. Every draw comes from a random.Random seeded with the organisation's slug
(and a story's key), and every time is relative to `now`, so a run today plans what a run an hour ago
planned, shifted by that hour.

The shape of activity is the one real challenges show: a launch peak in the first days, a slow
middle, a rush in the last week (for those that ran to their deadline); people join over the months,
most of them when a challenge they care about is launched.
"""

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from challenges.library import DEFAULT_METRICS, TEMPLATES_BY_KEY
from challenges.models import Challenge
from challenges.services import SKILL_HOURS_DAILY_CAP
from demo import names
from demo.stories import ENTRY_SIZES, NOTES, SKILL_HOURS, DemoOrganization, NamedPerson, Outcome, Story

GoalKind = Challenge.GoalKind
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
DAILY_CAPS = {spec.key: spec.daily_cap for spec in DEFAULT_METRICS}

# The organisation's first months, in days before today.
PROVISIONED_DAYS_AGO = 126  # the operator opened the space; the admin set it up
TEAMS_DAYS_AGO = 124
JOIN_LINK_DAYS_AGO = 121  # posted on the intranet: people start to come in
# When people act (hours of the day, UTC): the commute, lunch, the evening.
HOURS = list(range(5, 23))
HOUR_WEIGHTS = [1, 3, 6, 8, 6, 4, 4, 7, 6, 4, 3, 3, 4, 6, 7, 6, 4, 2]
WORKING_HOURS = list(range(8, 17))


@dataclass(frozen=True)
class Spec:
    """A story's challenge as the organisation wrote it, in its language."""

    title: str
    description: str
    action: str
    counterpart: str
    category: str
    goal_kind: str
    target: Decimal | None
    metric: str | None
    skill_slots: tuple[tuple[str, int, Decimal | None], ...]
    template_key: str


def story_spec(story: Story, locale: str) -> Spec:
    if story.texts is not None:
        t = story.texts
        return Spec(
            t.title, t.description, t.action, t.counterpart, t.category, t.goal_kind,
            None if t.goal_kind == GoalKind.SKILLS else story.target, t.metric, t.skill_slots, "",
        )  # fmt: skip
    template = TEMPLATES_BY_KEY[story.template]
    return Spec(
        template.text("title", locale),
        template.text("description", locale),
        template.text("action", locale),
        template.text("counterpart", locale),
        template.category,
        template.goal_kind,
        story.target or template.goal_target,
        template.metric,
        tuple(
            (skill.get(locale) or skill["en"], count, hours) for skill, count, hours in template.skill_slots
        ),
        template.key,
    )


@dataclass
class Person:
    email: str
    name: str
    team: int | None
    language: str  # "": the organisation's
    role: str  # participant or executive
    password: bool
    show_name: bool
    engagement: float
    arrival: dt.datetime  # date_joined
    brought_by: str = ""  # the story whose launch brought them
    last_active: dt.datetime | None = None
    left_at: dt.datetime | None = None  # deactivated then
    role_set_at: dt.datetime | None = None  # made an executive then

    @property
    def last_seen(self) -> dt.datetime:
        return self.last_active + 4 * MINUTE if self.last_active else self.arrival + 7 * MINUTE


@dataclass
class PledgeRow:
    person: int
    at: dt.datetime
    slot: int | None = None
    withdrawn_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None


@dataclass
class EntryRow:
    person: int
    at: dt.datetime  # when it was logged
    day: dt.date  # the day it is for
    amount: Decimal
    slot: int | None = None
    note: str = ""


@dataclass
class ChallengePlan:
    story: Story
    spec: Spec
    created_at: dt.datetime
    published_at: dt.datetime | None
    starts_at: dt.datetime
    deadline: dt.datetime
    due_date: dt.date | None
    pledges: list[PledgeRow] = field(default_factory=list)
    entries: list[EntryRow] = field(default_factory=list)
    # The pledge (participants goal) or the entry (quantity goal) that reached the goal.
    crossing: int | None = None
    succeeded_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None

    @property
    def activity_end(self) -> dt.datetime:
        return self.cancelled_at or self.deadline


@dataclass
class OrganizationPlan:
    now: dt.datetime
    provisioned_at: dt.datetime
    teams_at: dt.datetime
    join_link_at: dt.datetime
    people: list[Person]
    challenges: list[ChallengePlan]


def _midnight(now: dt.datetime, days: int) -> dt.datetime:
    return dt.datetime.combine(now.date() + dt.timedelta(days=days), dt.time(), tzinfo=dt.UTC)


def _at_hour(rng: random.Random, moment: dt.datetime, hours: list[int] | None = None) -> dt.datetime:
    """The same day, at an hour people act."""
    hour = rng.choice(hours) if hours else rng.choices(HOURS, HOUR_WEIGHTS)[0]
    return moment.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    """A moment in (start, end), at a waking hour when one fits."""
    for _ in range(8):
        moment = _at_hour(rng, start + (end - start) * rng.random())
        if start < moment < end:
            return moment
    return start + (end - start) * rng.uniform(0.01, 0.99)


@dataclass(frozen=True)
class Shape:
    launch: float  # share of activity in the first days (exponential, mean 0.9 day, within 3)
    rush: float  # share in the last week, growing towards the deadline


CLOSED = Shape(launch=0.34, rush=0.30)
STOPPED = Shape(launch=0.5, rush=0.0)  # cancelled, or still open: no last week yet


def _moment(rng: random.Random, shape: Shape, plan: ChallengePlan, end: dt.datetime) -> dt.datetime:
    """When one action of this challenge happened, before `end`."""
    start = plan.starts_at
    for _ in range(12):
        draw = rng.random()
        if draw < shape.launch:
            offset = rng.expovariate(1 / 0.9)
            if offset > 3:
                continue
            base = start + offset * DAY
        elif draw < shape.launch + shape.rush:
            base = plan.deadline - 7 * DAY * (1 - math.sqrt(rng.random()))
        else:
            base = start + (end - start) * rng.random()
        moment = _at_hour(rng, base)
        if start < moment < end:
            return moment
    return _between(rng, start, end)


def organization_plan(demo: DemoOrganization, now: dt.datetime) -> OrganizationPlan:
    rng = random.Random(f"crowdact-demo:{demo.slug}")  # noqa: S311 - a demo's draws, not secrets
    now = now.replace(microsecond=0)
    plan = OrganizationPlan(
        now=now,
        provisioned_at=_at_hour(rng, now - PROVISIONED_DAYS_AGO * DAY, WORKING_HOURS),
        teams_at=_at_hour(rng, now - TEAMS_DAYS_AGO * DAY, WORKING_HOURS),
        join_link_at=_midnight(now, -JOIN_LINK_DAYS_AGO) + 9 * HOUR,
        people=[],
        challenges=[],
    )
    plan.challenges = [_challenge_times(demo, story, plan) for story in demo.stories]
    plan.people = _people(demo, plan)
    for challenge in sorted(plan.challenges, key=lambda c: c.starts_at):
        if challenge.story.outcome.takes_part:
            _activity(demo, challenge, plan)
    _last_seen_and_departures(rng, demo, plan)
    return plan


# Challenges' times ---------------------------------------------------------------------------------


def _challenge_times(demo: DemoOrganization, story: Story, plan: OrganizationPlan) -> ChallengePlan:
    rng = random.Random(f"crowdact-demo:{demo.slug}:{story.key}:times")  # noqa: S311
    now = plan.now
    starts_at = _midnight(now, story.start) + 7 * HOUR
    deadline = _midnight(now, story.start + story.days) + 20 * HOUR
    if story.outcome == Outcome.DRAFT:
        created_at, published_at = _at_hour(rng, now - 2 * DAY, WORKING_HOURS), None
    elif story.outcome == Outcome.UPCOMING:
        created_at = _at_hour(rng, now - 6 * DAY, WORKING_HOURS)
        published_at = _at_hour(rng, now - 3 * DAY, WORKING_HOURS)
    else:
        created_at = max(
            _at_hour(rng, starts_at - rng.randint(5, 9) * DAY, WORKING_HOURS), plan.teams_at + DAY
        )
        published_at = _at_hour(rng, starts_at - rng.randint(1, 3) * DAY, WORKING_HOURS)
    due_date = now.date() + dt.timedelta(days=story.due_in) if story.due_in is not None else None
    challenge = ChallengePlan(
        story=story,
        spec=story_spec(story, demo.locale),
        created_at=created_at,
        published_at=published_at,
        starts_at=starts_at,
        deadline=deadline,
        due_date=due_date,
    )
    if story.outcome == Outcome.CANCELLED:
        challenge.cancelled_at = _at_hour(rng, starts_at + story.cancel_after * DAY, WORKING_HOURS)
    return challenge


# People --------------------------------------------------------------------------------------------


def _team_quotas(rng: random.Random, demo: DemoOrganization, count: int) -> list[int]:
    """Team indices for `count` people, in the teams' shares (largest remainder), shuffled."""
    exact = [share * count for _, _, _, share in demo.teams]
    quotas = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: exact[i] - quotas[i], reverse=True)
    for i in by_remainder[: count - sum(quotas)]:
        quotas[i] += 1
    teams = [i for i, quota in enumerate(quotas) for _ in range(quota)]
    rng.shuffle(teams)
    return teams


def _people(demo: DemoOrganization, plan: OrganizationPlan) -> list[Person]:
    """Who they are (names, addresses, teams: drawn alone, so the same whatever the time) and when
    they joined (relative to now)."""
    rng = random.Random(f"crowdact-demo:{demo.slug}:people")  # noqa: S311
    when = random.Random(f"crowdact-demo:{demo.slug}:arrivals")  # noqa: S311
    taken = {demo.admin[0], demo.executive[0], *(person.email for person in demo.named)}
    named_participants = [p for p in demo.named if p.role == "participant"]
    teams = _team_quotas(rng, demo, demo.participants - len(named_participants))
    seen_names = {person.name for person in demo.named}
    people = [_named(when, person, plan) for person in demo.named]
    # Launches that bring people in, weighted by how many they draw.
    launches = [c for c in plan.challenges if c.story.outcome.takes_part]
    for team in teams:
        team_name = demo.teams[team][0]
        french = rng.random() < demo.french_teams.get(team_name, 1.0 if demo.locale == "fr" else 0.0)
        language = "fr" if french else "en"
        name = names.person_name(rng, language)
        while name in seen_names:
            name = names.person_name(rng, language)
        seen_names.add(name)
        if demo.kind == "company":
            email = names.work_email(name, demo.email_domain, taken)
        else:
            email = names.resident_email(rng, name, taken)
        arrival, brought_by = _arrival(when, plan, launches)
        people.append(
            Person(
                email=email,
                name=name,
                team=team,
                # At Acme's French site, some set the pages to French; the others keep the default.
                language="fr" if french and demo.locale != "fr" and rng.random() < 0.6 else "",
                role="participant",
                password=False,
                show_name=rng.random() < 0.35,
                engagement=rng.lognormvariate(0, 0.7),
                arrival=arrival,
                brought_by=brought_by,
            )
        )
    return people


def _named(rng: random.Random, person: NamedPerson, plan: OrganizationPlan) -> Person:
    arrival = _at_hour(rng, plan.join_link_at + rng.uniform(0.2, 2.5) * DAY, WORKING_HOURS)
    return Person(
        email=person.email,
        name=person.name,
        team=person.team,
        language="",
        role=person.role,
        password=person.password,
        show_name=True,
        # The printed participant takes part in nearly everything (forced in), the others a lot.
        engagement=2.5,
        arrival=arrival,
        role_set_at=(
            _at_hour(rng, arrival + rng.randint(1, 3) * DAY, WORKING_HOURS)
            if person.role == "executive"
            else None
        ),
    )


def _arrival(
    rng: random.Random, plan: OrganizationPlan, launches: list[ChallengePlan]
) -> tuple[dt.datetime, str]:
    """When a person joined, and the launch that brought them (if one did)."""
    draw = rng.random()
    if draw < 0.22:  # the join link's first days on the intranet
        return _between(rng, plan.join_link_at, plan.join_link_at + min(rng.expovariate(1 / 2), 10) * DAY), ""
    if draw < 0.70:
        launch = rng.choices(launches, [max(c.story.people, 20) for c in launches])[0]
        end = min(launch.activity_end, plan.now - HOUR)
        offset = min(rng.expovariate(1 / 1.5) * DAY, end - launch.starts_at)
        arrival = _between(rng, launch.starts_at - 2 * HOUR, launch.starts_at + max(offset, HOUR))
        return arrival, launch.story.key
    return _between(rng, plan.join_link_at, plan.now - HOUR), ""


# Activity ------------------------------------------------------------------------------------------


class _Picker:
    """Who acts at a given moment: people who have joined, not yet in this challenge, weighted by how
    engaged they are, how keen their team is on this challenge, and whether its launch brought them.
    When nobody is left, the next person to join joins a little earlier."""

    def __init__(self, rng: random.Random, people: list[Person], story: Story, teams: int) -> None:
        self.rng, self.people = rng, people
        keen = [rng.lognormvariate(0, 0.45) for _ in range(teams)]
        self.order = sorted(range(len(people)), key=lambda i: people[i].arrival)
        self.weights = [self._weight(people[i], keen, story) for i in self.order]
        self.ready = 0  # order[:ready] have joined by the current moment

    @staticmethod
    def _weight(person: Person, keen: list[float], story: Story) -> float:
        team_keen = keen[person.team] if person.team is not None else 1.0
        return person.engagement * team_keen * (4.0 if person.brought_by == story.key else 1.0)

    def exclude(self, person: int) -> None:
        self.weights[self.order.index(person)] = 0.0

    def pick(self, moment: dt.datetime) -> int:
        """Someone to act at `moment`; each call's moment is no earlier than the previous one's."""
        while self.ready < len(self.order) and self.people[self.order[self.ready]].arrival <= moment:
            self.ready += 1
        if sum(self.weights[: self.ready]) <= 0:
            later = next((j for j in range(self.ready, len(self.order)) if self.weights[j] > 0), None)
            if later is None:
                raise ValueError("A demo story asks for more participants than the organisation has")
            self.people[self.order[later]].arrival = moment - self.rng.uniform(3, 90) * MINUTE
            self.order[later], self.order[self.ready] = self.order[self.ready], self.order[later]
            self.weights[later], self.weights[self.ready] = self.weights[self.ready], self.weights[later]
            self.ready += 1
        j = self.rng.choices(range(self.ready), self.weights[: self.ready])[0]
        self.weights[j] = 0.0
        return self.order[j]


def _forced_in(people: list[Person], person: int, moment: dt.datetime) -> None:
    """The printed participant takes part: they must have joined by then."""
    if people[person].arrival > moment:
        people[person].arrival = moment - 20 * MINUTE


def _touch(people: list[Person], person: int, moment: dt.datetime) -> None:
    current = people[person].last_active
    people[person].last_active = moment if current is None or moment > current else current


def _activity(demo: DemoOrganization, plan: ChallengePlan, org: OrganizationPlan) -> None:
    rng = random.Random(f"crowdact-demo:{demo.slug}:{plan.story.key}")  # noqa: S311
    story, spec, people = plan.story, plan.spec, org.people
    end = min(plan.activity_end, org.now - MINUTE)
    shape = CLOSED if story.outcome.closed else STOPPED
    printed = next(i for i, p in enumerate(people) if p.email == demo.participant)
    picker = _Picker(rng, people, story, len(demo.teams))
    picker.exclude(printed)
    if spec.goal_kind == GoalKind.SKILLS:
        _skills(rng, plan, people, picker, printed, end)
    else:
        count = story.people
        withdrawn = round(count * 0.04) if spec.goal_kind == GoalKind.PARTICIPANTS else 0
        moments = sorted(_moment(rng, shape, plan, end) for _ in range(count + withdrawn))
        forced_at = rng.randrange(len(moments))
        for i, moment in enumerate(moments):
            if i == forced_at:
                person = printed
                _forced_in(people, printed, moment)
            else:
                person = picker.pick(moment)
            plan.pledges.append(PledgeRow(person, moment))
        if withdrawn:
            _withdrawals(rng, plan, printed, withdrawn, end)
        if spec.goal_kind == GoalKind.QUANTITY:
            _entries(rng, demo, plan, shape, printed, end)
    _outcome(rng, plan, org)
    for pledge in plan.pledges:
        _touch(people, pledge.person, pledge.confirmed_at or pledge.withdrawn_at or pledge.at)
    for entry in plan.entries:
        _touch(people, entry.person, entry.at)


def _withdrawals(rng: random.Random, plan: ChallengePlan, printed: int, count: int, end: dt.datetime) -> None:
    candidates = [pledge for pledge in plan.pledges if pledge.person != printed]
    for pledge in rng.sample(candidates, count):
        moment = pledge.at + rng.expovariate(1 / 4) * DAY
        pledge.withdrawn_at = _at_hour(rng, moment) if moment < end else None
        if pledge.withdrawn_at is not None and not pledge.at < pledge.withdrawn_at < end:
            pledge.withdrawn_at = None


def _amount(rng: random.Random, metric: str) -> Decimal:
    mean, step = ENTRY_SIZES[metric]
    if step == 1 and mean < 2:
        return Decimal(rng.choices((1, 2, 3), (75, 20, 5))[0])
    value = Decimal(mean * Decimal(rng.lognormvariate(-0.15, 0.55))).quantize(step)
    return min(max(value, step), DAILY_CAPS[metric])


def _entries(
    rng: random.Random,
    demo: DemoOrganization,
    plan: ChallengePlan,
    shape: Shape,
    printed: int,
    end: dt.datetime,
) -> None:
    """Quantities logged: a person's first entry is what counted them in (their pledge), then more
    on later days, under the metric's daily cap (one entry a day each)."""
    metric = plan.spec.metric or ""
    assert plan.spec.target is not None  # noqa: S101 - a quantity goal has one
    wanted = plan.spec.target * Decimal(str(plan.story.progress))
    low, high = wanted * Decimal("0.99"), wanted * Decimal("1.01")
    start_day = plan.starts_at.date()
    notes = NOTES.get(demo.locale, {}).get(metric, ())
    # Some pledge and never log anything (the printed participant always logs).
    loggers = [p for p in plan.pledges if p.person == printed or rng.random() > 0.1]
    days: dict[int, set[dt.date]] = {p.person: set() for p in loggers}
    first_at = {p.person: p.at for p in loggers}
    weights = [_logging_weight(rng) for _ in loggers]
    total = Decimal(0)

    def add(person: int, moment: dt.datetime) -> bool:
        nonlocal total
        lag = rng.choices((0, 1, 2), (75, 18, 7))[0]
        day = max((moment - lag * DAY).date(), start_day)
        if day in days[person]:
            return False
        days[person].add(day)
        amount = _amount(rng, metric)
        note = rng.choice(notes) if notes and rng.random() < 0.08 else ""
        plan.entries.append(EntryRow(person, moment, day, amount, note=note))
        total += amount
        return True

    def later_moment(person: int) -> dt.datetime:
        after = first_at[person]
        for _ in range(10):
            moment = _moment(rng, shape, plan, end)
            if moment > after:
                return moment
        return _between(rng, after, end)

    for pledge in loggers:
        add(pledge.person, pledge.at)
    mean = ENTRY_SIZES[metric][0]
    extra = max(int(wanted / mean) - len(loggers), 0)
    spread = sum(weights)
    for pledge, weight in zip(loggers, weights, strict=True):
        for _ in range(round(extra * weight / spread)):
            add(pledge.person, later_moment(pledge.person))
    attempts = 0
    while total < low and attempts < 10_000:
        attempts += 1
        person = rng.choices(loggers, weights)[0].person
        add(person, later_moment(person))
    firsts = {id(entry) for entry in plan.entries[: len(loggers)]}
    while total > high:
        removable = [i for i, entry in enumerate(plan.entries) if id(entry) not in firsts]
        if not removable:
            break
        entry = plan.entries.pop(rng.choice(removable))
        days[entry.person].discard(entry.day)
        total -= entry.amount
    plan.entries.sort(key=lambda entry: entry.at)


def _logging_weight(rng: random.Random) -> float:
    """How many entries a logger makes, relative to the others: a few log daily, most now and then."""
    return rng.paretovariate(1.6)


def _skills(
    rng: random.Random,
    plan: ChallengePlan,
    people: list[Person],
    picker: _Picker,
    printed: int,
    end: dt.datetime,
) -> None:
    """People offer themselves for slots (the printed participant for the last one that has anybody),
    and log hours against those that count hours."""
    story = plan.story
    slots_with_people = [i for i, fill in enumerate(story.fill) if fill]
    forced_slot = slots_with_people[-1] if slots_with_people else None
    places = [(slot, n) for slot, fill in enumerate(story.fill) for n in range(fill)]
    # The picker goes forward in time: the places are taken in the order of their moments.
    moments = sorted(_moment(rng, STOPPED, plan, end) for _ in places)
    for (slot, n), moment in zip(rng.sample(places, len(places)), moments, strict=True):
        if slot == forced_slot and n == 0:
            person = printed
            _forced_in(people, printed, moment)
        else:
            person = picker.pick(moment)
        plan.pledges.append(PledgeRow(person, moment, slot=slot))
    step = SKILL_HOURS[1]
    for slot, hours in enumerate(story.hours):
        helpers = [pledge for pledge in plan.pledges if pledge.slot == slot]
        days: set[tuple[int, dt.date]] = set()
        remaining = hours
        while remaining > 0 and helpers:
            pledge = rng.choice(helpers)
            moment = _between(rng, pledge.at, end)
            if (pledge.person, moment.date()) in days:
                continue
            days.add((pledge.person, moment.date()))
            amount = min(remaining, SKILL_HOURS[0] + step * rng.randrange(5), SKILL_HOURS_DAILY_CAP)
            plan.entries.append(EntryRow(pledge.person, moment, moment.date(), amount, slot=slot))
            remaining -= amount
    plan.entries.sort(key=lambda entry: entry.at)


def _outcome(rng: random.Random, plan: ChallengePlan, org: OrganizationPlan) -> None:
    """When the goal was reached (the action that reached it), and what followed."""
    story, spec = plan.story, plan.spec
    target = spec.target or Decimal(0)
    if spec.goal_kind == GoalKind.PARTICIPANTS:
        steps = [(p.at, 1, i) for i, p in enumerate(plan.pledges)]
        steps += [(p.withdrawn_at, -1, i) for i, p in enumerate(plan.pledges) if p.withdrawn_at]
        count = 0
        for moment, change, i in sorted(steps):
            count += change
            if count >= target:
                plan.crossing, plan.succeeded_at = i, moment
                break
    elif spec.goal_kind == GoalKind.QUANTITY:
        total = Decimal(0)
        for i, entry in enumerate(plan.entries):
            total += entry.amount
            if total >= target:
                plan.crossing, plan.succeeded_at = i, entry.at
                break
    reached = plan.succeeded_at is not None
    if reached != story.outcome.succeeded:
        raise AssertionError(f"Demo story {story.key}: reached={reached}, planned {story.outcome}")
    if plan.succeeded_at is not None:
        succeeded_at = plan.succeeded_at
        for pledge in plan.pledges:
            # Withdrawing stops at success; after it, some confirm they did what they pledged.
            if pledge.withdrawn_at is not None and pledge.withdrawn_at >= succeeded_at:
                pledge.withdrawn_at = None
            if pledge.withdrawn_at is None and rng.random() < 0.35:
                moment = _at_hour(rng, max(pledge.at, succeeded_at) + rng.expovariate(1 / 3) * DAY)
                if max(pledge.at, succeeded_at) < moment < org.now:
                    pledge.confirmed_at = moment
    if story.outcome == Outcome.DELIVERED:
        plan.delivered_at = _at_hour(rng, plan.deadline + rng.randint(12, 20) * DAY, WORKING_HOURS)
    if story.outcome == Outcome.FAILED:
        plan.failed_at = plan.deadline + rng.randint(1, 5) * MINUTE


def _last_seen_and_departures(rng: random.Random, demo: DemoOrganization, plan: OrganizationPlan) -> None:
    """A few people left (deactivated a few days after they last did anything)."""
    now = plan.now
    candidates = [
        i
        for i, person in enumerate(plan.people)
        if not person.password
        and person.role == "participant"
        and person.last_active is not None
        and person.last_active < now - 25 * DAY
        and person.email not in {p.email for p in demo.named}
    ]
    for i in rng.sample(candidates, min(demo.deactivated, len(candidates))):
        person = plan.people[i]
        assert person.last_active is not None  # noqa: S101 - chosen for it
        person.left_at = _at_hour(rng, person.last_active + rng.randint(2, 12) * DAY, WORKING_HOURS)
        person.left_at = min(person.left_at, now - 3 * DAY)
    for person in plan.people:
        if person.role_set_at is not None:
            person.role_set_at = min(person.role_set_at, now - DAY)
