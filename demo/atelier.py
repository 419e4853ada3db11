"""Le Petit Atelier: the small demo organisation on Discovery, close to its limits.

It signed up a month ago, set itself up, and launched its first challenge at the beginning of this
month; most of its people pledged to it since. So its billing page shows the plan's open challenge
taken and its active participants of the month near the limit.

Unlike the two big ones (demo/history.py writes their participants' pledges in bulk), everything
here goes through the product's services, pledges included, so the plan's limits apply exactly as
the product enforces them: a pledge past the limit would be refused and stop the seed. The pledges'
times are then set back to when the plan says they happened, all inside this month, so the month's
count is the one the services checked.

The plan is pure like demo/plan.py: drawn from a random.Random seeded with the slug, relative to `now`.
"""

import datetime as dt
import random

from accounts.models import User
from challenges.models import Challenge, Metric, Pledge
from challenges.services import CounterpartInput, challenge_create, challenge_publish, pledge_create
from demo import history, names
from demo.history import happened_at, stamps_set
from demo.plan import (
    DAY,
    HOUR,
    MINUTE,
    WORKING_HOURS,
    ChallengePlan,
    OrganizationPlan,
    Person,
    PledgeRow,
    story_spec,
)
from demo.stories import DemoOrganization, Outcome

PROVISIONED_DAYS_AGO = 30  # it signed up on the public site, on Discovery
LAUNCH_HOUR = 8  # the first challenge starts at 8:00 on the first day of the month


def organization_plan(demo: DemoOrganization, now: dt.datetime, month_start: dt.datetime) -> OrganizationPlan:
    """The atelier's people and challenges. `month_start`: when the organisation's current month
    began (billing counts its active participants from then on)."""
    rng = random.Random(f"crowdact-demo:{demo.slug}")  # noqa: S311 - a demo's draws, not secrets
    now = now.replace(microsecond=0)
    provisioned_at = _working_hour(rng, now - PROVISIONED_DAYS_AGO * DAY)
    plan = OrganizationPlan(
        now=now,
        provisioned_at=provisioned_at,
        teams_at=provisioned_at + 40 * MINUTE,
        join_link_at=provisioned_at + DAY,
        people=_people(rng, demo, provisioned_at + DAY, now),
        challenges=[],
    )
    for story in demo.stories:
        spec = story_spec(story, demo.locale)
        if story.outcome == Outcome.DRAFT:
            starts_at = _midnight(now, story.start) + 7 * HOUR
            created_at = _working_hour(rng, now - 2 * DAY)
            challenge = ChallengePlan(
                story, spec, created_at, None, starts_at, starts_at + story.days * DAY, None
            )
        else:
            # 8:00 on the month's first day, or earlier still when it is not 8:00 yet: it has started.
            starts_at = min(month_start + LAUNCH_HOUR * HOUR, max(month_start, now - 2 * HOUR))
            created_at = _working_hour(rng, starts_at - 4 * DAY)
            published_at = _working_hour(rng, starts_at - DAY)
            challenge = ChallengePlan(
                story, spec, created_at, published_at, starts_at, starts_at + story.days * DAY, None
            )
            _pledges(rng, demo, challenge, plan, month_start)
        plan.challenges.append(challenge)
    return plan


def _midnight(now: dt.datetime, days: int) -> dt.datetime:
    return dt.datetime.combine(now.date() + dt.timedelta(days=days), dt.time(), tzinfo=dt.UTC)


def _working_hour(rng: random.Random, moment: dt.datetime) -> dt.datetime:
    return moment.replace(hour=rng.choice(WORKING_HOURS), minute=rng.randrange(60), second=0, microsecond=0)


def _people(
    rng: random.Random, demo: DemoOrganization, join_link_at: dt.datetime, now: dt.datetime
) -> list[Person]:
    """The named people, then the others, in the teams' shares; when they joined is set by
    `_pledges` for those who pledge, any time since the join link was posted for the others."""
    taken = {demo.admin[0], demo.executive[0], *(person.email for person in demo.named)}
    seen = {person.name for person in demo.named}
    people = [
        Person(
            email=person.email, name=person.name, team=person.team, language="", role=person.role,
            password=person.password, show_name=True, engagement=1.0, arrival=join_link_at + 2 * HOUR,
        )
        for person in demo.named
    ]  # fmt: skip
    others = demo.participants - len(demo.named)
    shares = [share for _, _, _, share in demo.teams]
    for _ in range(others):
        name = names.person_name(rng, demo.locale)
        while name in seen:
            name = names.person_name(rng, demo.locale)
        seen.add(name)
        arrival = join_link_at + (now - HOUR - join_link_at) * rng.random()
        people.append(
            Person(
                email=names.work_email(name, demo.email_domain, taken),
                name=name,
                team=rng.choices(range(len(demo.teams)), shares)[0],
                language="",
                role="participant",
                password=False,
                show_name=rng.random() < 0.4,
                engagement=1.0,
                arrival=arrival.replace(microsecond=0),
            )
        )
    return people


def _pledges(
    rng: random.Random,
    demo: DemoOrganization,
    challenge: ChallengePlan,
    plan: OrganizationPlan,
    month_start: dt.datetime,
) -> None:
    """`story.people` pledges between the challenge's start (in this month) and now, most of them in
    its first days; the printed participant is one of them. Each person joined a little before."""
    people = plan.people
    start = max(challenge.starts_at, month_start) + MINUTE
    end = plan.now - MINUTE
    span = max((end - start).total_seconds(), 0.0)
    printed = next(i for i, person in enumerate(people) if person.email == demo.participant)
    others = [i for i in range(len(people)) if i != printed and people[i].role == "participant"]
    pledgers = [printed, *rng.sample(others, challenge.story.people - 1)]
    rng.shuffle(pledgers)
    moments = []
    for _ in pledgers:
        offset = rng.expovariate(4 / span) if span else 0.0  # a launch peak, then a slower trickle
        if offset > span:
            offset = span * rng.random()
        moments.append(min(start + dt.timedelta(seconds=int(offset)), plan.now))
    for person, moment in zip(pledgers, sorted(moments), strict=True):
        joined = moment - rng.uniform(3, 50) * MINUTE
        if rng.random() < 0.3:  # some had joined earlier, from the intranet
            joined = plan.join_link_at + (moment - plan.join_link_at) * rng.random()
        people[person].arrival = max(joined, plan.join_link_at).replace(microsecond=0)
        people[person].last_active = moment
        challenge.pledges.append(PledgeRow(person, moment))


def challenges_write(plan: OrganizationPlan, *, admin: User, people: list[User], locale: str) -> None:
    """Each of the plan's challenges that is missing (by title), through the services: created,
    published, then pledged to by its people one by one, as each of them would."""
    existing = set(Challenge.objects.values_list("title", flat=True))
    team_of: dict[int, int] = {}
    for challenge in sorted(plan.challenges, key=lambda c: c.created_at):
        if challenge.spec.title in existing:
            continue
        if challenge.published_at is None:
            history.challenge_write(
                challenge, admin=admin, people=people, team_of=team_of, locale=locale, now=plan.now
            )
            continue
        _open_challenge_write(challenge, admin=admin, people=people)


def _open_challenge_write(plan: ChallengePlan, *, admin: User, people: list[User]) -> Challenge:
    spec = plan.spec
    with happened_at(plan.created_at):
        challenge = challenge_create(
            actor=admin,
            fields={
                "title": spec.title,
                "description": spec.description,
                "action": spec.action,
                "category": spec.category,
                "starts_at": plan.starts_at,
                "deadline": plan.deadline,
                "goal_kind": spec.goal_kind,
                "goal_target": spec.target,
                "metric": Metric.objects.get(key=spec.metric) if spec.metric else None,
            },
            skill_slots=[],
            counterpart=CounterpartInput(spec.counterpart, amount=None, currency="", due_date=None),
            template_key=spec.template_key,
        )
    assert plan.published_at is not None  # noqa: S101 - an open challenge was published
    with happened_at(plan.published_at):
        challenge_publish(actor=admin, challenge_id=challenge.pk)
    pledges = [pledge_create(actor=people[row.person], challenge_id=challenge.pk) for row in plan.pledges]
    stamps_set(Pledge, "created_at", [(p.pk, row.at) for p, row in zip(pledges, plan.pledges, strict=True)])
    last = plan.pledges[-1].at if plan.pledges else plan.published_at
    Challenge.objects.filter(pk=challenge.pk).update(updated_at=last)
    challenge.refresh_from_db()
    return challenge
