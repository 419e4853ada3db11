"""A small organisation's past, written straight into the tables, for the impact figures' tests.

The services stamp what they do with the present and refuse the past, so the history a report reads
(pledges made in February, a counterpart delivered in March) is written here as rows, the way
demo/history.py does, with the times each story needs. The period is March 2025, compared with
February 2025: fixed dates in the past, read with `today` = TODAY.

`March` below is the organisation alpha (a company in Europe/Paris, headcount 40) with:

| person | team | what | counts in |
|---|---|---|---|
| p1 | Finance | pledge A 12 Feb, 10 km 12 Feb, 20 km 3 Mar | Feb (new), Mar |
| p2 | Finance | pledge A 2 Mar, 15 km 2 Mar, 100 kWh on F 10 Mar | Mar (new) |
| p3 | Logistics | pledge B 6 Mar | Mar (new) |
| p4 | Logistics | pledge B 7 Mar, withdrawn | nowhere |
| p5 | Logistics, deactivated | offer on C's carpentry 2 Mar, 6 hours 3 Mar | Mar (new) |
| p6 | none | pledge B 31 Mar 23:30 Paris (21:30 UTC) | Mar (new) |
| p7 | none | pledge B 1 Apr 00:30 Paris (31 Mar 22:30 UTC) | April: nowhere here |
| p8 | Research | pledge D 15 Jan, 5 kg of litter 3 Feb | Feb |

Challenges: A km cycled 10 Feb–20 Mar, succeeded 15 Mar, counterpart 500 EUR delivered 25 Mar; B
participants 5 Mar–30 Apr, open, counterpart promised; C skills 1–31 Mar, failed, counterpart void;
D litter (no factor) 1 Jan–28 Feb, succeeded 20 Feb, counterpart due (owed, not delivered); F kWh
saved (an estimate) 1 Mar–30 Apr, open; H cancelled after publishing, 1–20 Mar; E cancelled while a
draft and G a draft, both over March: never counted.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from accounts.models import User
from accounts.roles import PARTICIPANT
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    Metric,
    Pledge,
    SkillSlot,
    Team,
    TeamMembership,
)
from tests.factories import TeamFactory, UserFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 31)
PREVIOUS_START, PREVIOUS_END = dt.date(2025, 2, 1), dt.date(2025, 2, 28)
TODAY = dt.date(2025, 4, 10)
HEADCOUNT = 40
Status, GoalKind = Challenge.Status, Challenge.GoalKind


def at(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    """A moment of `day` in Paris (the organisations' time zone)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def d(month: int, day: int) -> dt.date:
    return dt.date(2025, month, day)


def challenge_make(
    title: str,
    *,
    kind: str = GoalKind.QUANTITY,
    starts: dt.date,
    deadline: dt.date,
    status: str = Status.OPEN,
    metric: str | None = None,
    target: Decimal | None = Decimal(1000),
    succeeded_on: dt.date | None = None,
    counterpart: dict[str, Any] | None = None,
    events: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> Challenge:
    challenge = Challenge.objects.create(
        title=title,
        category=Challenge.Category.ENVIRONMENT,
        goal_kind=kind,
        goal_target=None if kind == GoalKind.SKILLS else target,
        metric=Metric.objects.get(key=metric) if metric else None,
        status=status,
        starts_at=at(starts, 9),
        deadline=at(deadline, 18),
        succeeded_at=at(succeeded_on, 15) if succeeded_on else None,
    )
    for source, target_status in events:
        ChallengeEvent.objects.create(
            challenge=challenge, from_status=source, to_status=target_status, cause="test history"
        )
    if counterpart is not None:
        Counterpart.objects.create(challenge=challenge, **counterpart)
    return challenge


def pledge_make(
    challenge: Challenge,
    user: User,
    when: dt.datetime,
    *,
    slot: SkillSlot | None = None,
    withdrawn: bool = False,
) -> Pledge:
    team = TeamMembership.objects.filter(user=user).values_list("team_id", flat=True).first()
    pledge = Pledge.objects.create(challenge=challenge, user=user, team_id=team, skill_slot=slot)
    Pledge.objects.filter(pk=pledge.pk).update(created_at=when, withdrawn_at=when if withdrawn else None)
    return pledge


def contribution_make(
    challenge: Challenge, user: User, day: dt.date, amount: str, *, slot: SkillSlot | None = None
) -> Contribution:
    team = TeamMembership.objects.filter(user=user).values_list("team_id", flat=True).first()
    return Contribution.objects.create(
        challenge=challenge,
        user=user,
        team_id=team,
        skill_slot=slot,
        day=day,
        amount=Decimal(amount),
        note="Logged by hand",
    )


@dataclass
class March:
    people: dict[str, User]
    teams: dict[str, Team]
    challenges: dict[str, Challenge]
    slots: dict[str, SkillSlot]


def march_make(organization: Any, *, team_names: dict[str, str] | None = None) -> March:
    """The history described above, in the current schema (organisation alpha); `team_names` names
    the teams otherwise (the keys stay Finance, Logistics and Research)."""
    organization.headcount = HEADCOUNT
    organization.save(update_fields=["headcount"])
    names = team_names or {}
    teams = {
        "Finance": TeamFactory.create(name=names.get("Finance", "Finance"), headcount=10),
        "Logistics": TeamFactory.create(name=names.get("Logistics", "Logistics"), headcount=20),
        "Research": TeamFactory.create(name=names.get("Research", "Research")),
    }
    placement = {"p1": "Finance", "p2": "Finance", "p3": "Logistics", "p4": "Logistics", "p5": "Logistics"}
    placement["p8"] = "Research"
    people = {}
    for number in range(1, 9):
        key = f"p{number}"
        people[key] = UserFactory.create(
            email=f"{key}@alpha.test", display_name=f"Person {number}", role=PARTICIPANT
        )
        if key in placement:
            TeamMembership.objects.create(user=people[key], team=teams[placement[key]])

    delivered = {
        "status": "delivered",
        "delivered_at": at(d(3, 25), 11),
        "proof_url": "https://alpha.test/shelters",
    }
    challenges = {
        "A": challenge_make(
            "Cycle to work", starts=d(2, 10), deadline=d(3, 20), status=Status.SUCCEEDED, metric="km-cycled",
            target=Decimal(30), succeeded_on=d(3, 15),
            counterpart={"description": "Bike shelters", "amount": Decimal(500), "currency": "EUR",
                         "proof_text": "Two shelters built", **delivered},
        ),
        "B": challenge_make(
            "Organic canteen", kind=GoalKind.PARTICIPANTS, starts=d(3, 5), deadline=d(4, 30),
            target=Decimal(300), counterpart={"description": "15 % organic food", "status": "promised"},
        ),
        "C": challenge_make(
            "Shared garden", kind=GoalKind.SKILLS, starts=d(3, 1), deadline=d(3, 31), status=Status.FAILED,
            counterpart={"description": "Tools and water", "status": "void"},
        ),
        "D": challenge_make(
            "Clean-up", starts=d(1, 1), deadline=d(2, 28), status=Status.SUCCEEDED, metric="kg-litter",
            target=Decimal(5), succeeded_on=d(2, 20),
            counterpart={"description": "New public bins", "amount": Decimal(1200), "currency": "EUR",
                         "status": "due", "due_date": d(3, 31)},
        ),
        "E": challenge_make(
            "Never published", kind=GoalKind.PARTICIPANTS, starts=d(3, 1), deadline=d(3, 31),
            status=Status.CANCELLED, events=[("", "draft"), ("draft", "cancelled")],
        ),
        "F": challenge_make("Save energy", starts=d(3, 1), deadline=d(4, 30), metric="kwh-saved"),
        "G": challenge_make(
            "Still a draft", kind=GoalKind.PARTICIPANTS, starts=d(3, 1), deadline=d(3, 31),
            status=Status.DRAFT,
        ),
        "H": challenge_make(
            "Called off", starts=d(3, 1), deadline=d(3, 20), status=Status.CANCELLED, metric="km-walked",
            events=[("draft", "open"), ("open", "cancelled")],
        ),
    }  # fmt: skip
    slots = {
        "carpentry": SkillSlot.objects.create(
            challenge=challenges["C"], skill="Carpentry", count=2, hours=20
        ),
        "design": SkillSlot.objects.create(challenge=challenges["C"], skill="Design", count=1),
    }
    p, c = people, challenges
    pledge_make(c["A"], p["p1"], at(d(2, 12)))
    contribution_make(c["A"], p["p1"], d(2, 12), "10")
    contribution_make(c["A"], p["p1"], d(3, 3), "20")
    pledge_make(c["A"], p["p2"], at(d(3, 2)))
    contribution_make(c["A"], p["p2"], d(3, 2), "15")
    pledge_make(c["F"], p["p2"], at(d(3, 10)))
    contribution_make(c["F"], p["p2"], d(3, 10), "100")
    pledge_make(c["B"], p["p3"], at(d(3, 6)))
    pledge_make(c["B"], p["p4"], at(d(3, 7)), withdrawn=True)
    pledge_make(c["C"], p["p5"], at(d(3, 2)), slot=slots["carpentry"])
    contribution_make(c["C"], p["p5"], d(3, 3), "6", slot=slots["carpentry"])
    pledge_make(c["B"], p["p6"], at(d(3, 31), 23, 30))
    pledge_make(c["B"], p["p7"], at(d(4, 1), 0, 30))
    pledge_make(c["D"], p["p8"], at(d(1, 15)))
    contribution_make(c["D"], p["p8"], d(2, 3), "5")
    p["p5"].is_active = False
    p["p5"].save(update_fields=["is_active"])
    return March(people, teams, challenges, slots)


def more_of_the_same(march: March, copies: int) -> None:
    """`copies` more people in each team doing what p1 and p3 did: more rows, the same shape."""
    for number in range(copies):
        for team_name, challenge in (("Finance", "A"), ("Logistics", "B")):
            person = UserFactory.create(email=f"more-{team_name}-{number}@alpha.test", role=PARTICIPANT)
            TeamMembership.objects.create(user=person, team=march.teams[team_name])
            pledge_make(march.challenges[challenge], person, at(d(3, 4)))
            if challenge == "A":
                contribution_make(march.challenges["A"], person, d(3, 4), "3")
