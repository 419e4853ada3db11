"""seed_demo: two organisations at real scale with four months of history, and a second run that
changes nothing.

Seeding takes seconds, so it runs once for this module, inside a transaction rolled back at the end;
each test runs in a savepoint of it (pytest-django's own), so what one test does is gone for the next.
"""

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import AuditEntry, Notification, User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from billing.models import Invoice, Subscription
from challenges.library import TEMPLATES_BY_KEY
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    Pledge,
    SkillSlot,
    Team,
    TeamMembership,
)
from challenges.selectors import challenge_forecast
from challenges.services import SKILL_HOURS_DAILY_CAP
from demo.seed import DEMO_PASSWORD, seed_demo
from participants.models import JoinLink
from tenants.db import tenant_connection
from tenants.models import Organization

pytestmark = pytest.mark.django_db

Status = Challenge.Status
SLUGS = ("acme", "villeneuve")
PRINTED = {
    "acme": {"csr@acme.example", "ceo@acme.example", "bob@acme.example"},
    "villeneuve": {"mairie@villeneuve.example", "maire@villeneuve.example", "lucie@exemple.fr"},
}
PARTICIPANT_OF = {"acme": "bob@acme.example", "villeneuve": "lucie@exemple.fr"}
CHALLENGE_FIELDS = (
    "title", "goal_kind", "status", "counterpart__status", "counterpart__delivered_at", "pledge_count",
    "quantity_total", "starts_at", "deadline", "succeeded_at", "updated_at",
)  # fmt: skip
# Each challenge's events, in the order of their times: the lifecycle's paths, every one of them.
LIFECYCLES = {
    ("draft",),
    ("draft", "open"),
    ("draft", "open", "succeeded", "due"),
    ("draft", "open", "succeeded", "due", "delivered"),
    ("draft", "open", "failed", "void"),
    ("draft", "open", "cancelled", "void"),
}


@pytest.fixture(scope="module")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """Run seed_demo once for the module; its output."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            out = StringIO()
            call_command("seed_demo", stdout=out)
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            tenant_connection().set_schema_to_public()


def _organizations() -> list[Organization]:
    return list(Organization.objects.filter(schema_name__in=SLUGS).order_by("schema_name"))


def _snapshot() -> dict[str, dict[str, Any]]:
    state: dict[str, dict[str, Any]] = {}
    for organization in _organizations():
        with tenant_context(organization):
            state[organization.schema_name] = {
                "organization": (
                    organization.kind,
                    organization.locale,
                    organization.headcount,
                    organization.allowed_email_domains,
                    organization.plan,
                    organization.brand_color,
                    organization.created_at,
                ),
                "users": sorted(
                    User.objects.values_list(
                        "email", "password", "display_name", "is_active", "date_joined", "last_seen_at"
                    )
                ),
                "roles": sorted(User.objects.values_list("email", "groups__name")),
                "teams": sorted(Team.objects.values_list("name", "kind", "headcount", "created_at")),
                "members": sorted(
                    TeamMembership.objects.values_list("user__email", "team__name", "joined_at")
                ),
                "join_links": sorted(
                    JoinLink.objects.values_list(
                        "token", "challenge", "created_at", "expires_at", "revoked_at"
                    )
                ),
                "challenges": sorted(Challenge.objects.values_list(*CHALLENGE_FIELDS)),
                "pledges": sorted(
                    Pledge.objects.values_list(
                        "challenge__title", "user__email", "created_at", "withdrawn_at", "confirmed_at"
                    )
                ),
                "contributions": sorted(
                    Contribution.objects.values_list("challenge__title", "user__email", "day", "amount")
                ),
                "events": sorted(
                    ChallengeEvent.objects.values_list("challenge__title", "subject", "to_status", "at")
                ),
                "audit": sorted(AuditEntry.objects.values_list("kind", "target", "at")),
                "notifications": Notification.objects.count(),
                "at_risk": sorted(
                    c.title
                    for c in Challenge.objects.all()
                    if (f := challenge_forecast(c)) and not f.on_track
                ),
            }
    return state


def test_seed_demo_changes_nothing_the_second_time(seeded: str) -> None:
    first = _snapshot()
    assert set(first) == set(SLUGS)
    assert first["acme"]["organization"][:5] == ("company", "en", 1200, ["acme.example"], "business")
    assert first["villeneuve"]["organization"][:5] == ("municipality", "fr", 24000, [], "municipality")
    assert "Created: acme, villeneuve" in seeded

    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert _snapshot() == first
    assert "already present" in out.getvalue()

    # Tomorrow, at another hour, the plan is the same people and stories: still nothing to add.
    result = seed_demo(now=timezone.now() + dt.timedelta(days=1, hours=7, minutes=13))

    assert _snapshot() == first
    assert result.created == []


def test_the_output_summarises_each_organisation_and_the_time_it_took(seeded: str) -> None:
    assert re.search(r"Acme Industries: \d{3} participants \(\d deactivated\) in 8 teams", seeded)
    assert re.search(r"Ville de Villeneuve: \d{3} participants \(\d deactivated\) in 6 teams", seeded)
    assert re.search(
        r"challenges: 1 draft, \d open \(1 not started yet\), \d succeeded, 1 failed, 1 cancelled", seeded
    )
    assert re.search(r"^Seeded in \d+\.\d s$", seeded, re.MULTILINE)
    for line in (
        "http://localhost/admin/",
        "operator@crowdact.example",
        *PRINTED["acme"],
        *PRINTED["villeneuve"],
    ):
        assert line in seeded


def test_without_stripe_the_plans_are_set_directly_and_the_output_says_so(seeded: str) -> None:
    plans = dict(Organization.objects.values_list("schema_name", "plan"))

    assert "Billing: no Stripe configured: plans set directly, no invoices." in seeded
    assert "Acme Industries: Business (set directly)" in seeded
    assert "Ville de Villeneuve: Municipality (set directly)" in seeded
    assert (plans["acme"], plans["villeneuve"], plans["atelier"]) == ("business", "municipality", "discovery")
    assert not Subscription.objects.exists()
    assert not Invoice.objects.exists()
    assert "Le Petit Atelier: Discovery, 45 of 50 active participants this month, 1 of 1 open" in seeded


def test_both_organisations_are_at_real_scale(seeded: str) -> None:
    # teams, the organisation's headcount, participants from … to …
    scale = {"acme": (8, 1200, 350, 450), "villeneuve": (6, 24000, 800, 1000)}
    for organization in _organizations():
        slug = organization.schema_name
        teams_expected, headcount, fewest, most = scale[slug]
        with tenant_context(organization):
            teams = list(Team.objects.annotate(members=Count("memberships")))
            participants = User.objects.filter(groups__name=PARTICIPANT)
            participant_count = participants.count()
            roles = Counter(User.objects.values_list("groups__name", flat=True))
            with_password = set(
                User.objects.exclude(password__startswith="!").values_list("email", flat=True)
            )
            emails = list(participants.values_list("email", flat=True))
            names = list(User.objects.values_list("display_name", flat=True))
            deactivated = User.objects.filter(is_active=False).count()

        assert len(teams) == teams_expected, slug
        assert all(team.headcount for team in teams), slug
        assert sum(team.headcount or 0 for team in teams) <= headcount, slug
        assert all(team.members <= (team.headcount or 0) for team in teams), slug
        members = sorted(team.members for team in teams)
        assert members[-1] >= 2 * members[0], f"{slug}: people are spread unevenly across teams"
        assert fewest <= participant_count <= most, slug
        assert roles[ORG_ADMIN] == 1, slug
        assert 2 <= roles[EXECUTIVE] <= 5, slug
        assert 1 <= deactivated <= 5, slug
        # Only the printed sign-ins have a password; everybody else signs in by e-mail link.
        assert with_password == PRINTED[slug], slug
        assert len(set(names)) >= 0.95 * len(names), f"{slug}: names are varied"
        if slug == "acme":
            assert {team.kind for team in teams} == {Team.Kind.DEPARTMENT, Team.Kind.SITE}
            assert all(email.endswith("@acme.example") for email in emails)
        else:
            assert {team.kind for team in teams} == {Team.Kind.NEIGHBOURHOOD}
            providers = Counter(email.rsplit("@", 1)[1] for email in emails)
            assert len(providers) >= 5
            assert max(providers.values()) < 0.5 * len(emails)


def _states(now: dt.datetime) -> dict[str, list[Challenge]]:
    """The organisation's challenges by the state the demo must show."""
    states: dict[str, list[Challenge]] = defaultdict(list)
    for challenge in Challenge.objects.select_related("counterpart").prefetch_related(
        "skill_slots", "events"
    ):
        counterpart = challenge.counterpart
        events = {event.to_status: event for event in challenge.events.all()}
        if challenge.status == Status.SUCCEEDED:
            assert challenge.succeeded_at == events[Status.SUCCEEDED].at
            if counterpart.status == Counterpart.Status.DELIVERED:
                assert counterpart.delivered_at is not None
                assert counterpart.delivered_at > challenge.succeeded_at
                assert counterpart.proof_text
                states["delivered"].append(challenge)
            elif counterpart.status == Counterpart.Status.DUE and counterpart.due_date:
                assert counterpart.due_date > now.date()
                states["due"].append(challenge)
        elif challenge.status == Status.FAILED:
            assert challenge.deadline < events[Status.FAILED].at < now
            assert counterpart.status == Counterpart.Status.VOID
            states["failed"].append(challenge)
        elif challenge.status == Status.CANCELLED and events[Status.CANCELLED].cause.strip():
            assert counterpart.status == Counterpart.Status.VOID
            states["cancelled"].append(challenge)
        elif challenge.status == Status.OPEN and challenge.starts_at > now:
            states["upcoming"].append(challenge)
        elif challenge.status == Status.OPEN and challenge.goal_kind == Challenge.GoalKind.SKILLS:
            slots = list(challenge.skill_slots.all())
            places = sum(slot.count for slot in slots)
            filled = sum(min(slot.filled_count, slot.count) for slot in slots)
            if 0.3 <= filled / places <= 0.7:
                states["skills_half"].append(challenge)
        elif challenge.status == Status.OPEN:
            forecast = challenge_forecast(challenge, now)
            assert forecast is not None
            states["on_track" if forecast.on_track else "at_risk"].append(challenge)
        elif challenge.status == Status.DRAFT:
            states["draft"].append(challenge)
    return states


def test_every_state_of_a_challenge_is_there_in_each_organisation(seeded: str) -> None:
    now = timezone.now()
    for organization in _organizations():
        with tenant_context(organization):
            states = _states(now)
            challenges = list(Challenge.objects.all())

        assert set(states) >= {
            "delivered", "due", "failed", "cancelled", "on_track", "at_risk", "skills_half", "upcoming"
        }, organization.schema_name  # fmt: skip
        # Over the past four months and the next two.
        assert min(c.starts_at for c in challenges) > now - dt.timedelta(days=125)
        assert max(c.starts_at for c in challenges) < now + dt.timedelta(days=62)
        assert any(c.deadline > now + dt.timedelta(days=30) for c in challenges)
        # The library's templates, in the organisation's language.
        from_library = [c for c in challenges if c.template_key]
        assert len(from_library) >= 4
        for challenge in from_library:
            assert challenge.title == TEMPLATES_BY_KEY[challenge.template_key].text(
                "title", organization.locale
            )


def test_every_stored_total_equals_the_recount_from_the_rows(seeded: str) -> None:
    for organization in _organizations():
        with tenant_context(organization):
            challenges = Challenge.objects.annotate(
                active=Count("pledges", filter=Q(pledges__withdrawn_at__isnull=True), distinct=True),
            )
            logged = dict(
                Contribution.objects.filter(skill_slot__isnull=True)
                .values("challenge")
                .annotate(total=Sum("amount"))
                .values_list("challenge", "total")
            )
            for challenge in challenges:
                assert challenge.pledge_count == challenge.active, challenge.title
                assert challenge.quantity_total == logged.get(challenge.pk, Decimal(0)), challenge.title
            hours = dict(
                Contribution.objects.filter(skill_slot__isnull=False)
                .values("skill_slot")
                .annotate(total=Sum("amount"))
                .values_list("skill_slot", "total")
            )
            for slot in SkillSlot.objects.annotate(
                people=Count("pledges", filter=Q(pledges__withdrawn_at__isnull=True))
            ):
                assert slot.filled_count == slot.people, slot.skill
                assert slot.filled_hours == hours.get(slot.pk, 0), slot.skill


def test_the_history_keeps_the_product_rules(seeded: str) -> None:
    now = timezone.now()
    for organization in _organizations():
        with tenant_context(organization):
            challenges = {c.pk: c for c in Challenge.objects.select_related("metric")}
            ends = {
                event.challenge_id: event.at
                for event in ChallengeEvent.objects.filter(to_status=Status.CANCELLED)
            }
            joined: dict[int | None, dt.datetime] = dict(User.objects.values_list("pk", "date_joined"))
            team_of: dict[int | None, int] = dict(TeamMembership.objects.values_list("user_id", "team_id"))
            pledges = list(Pledge.objects.all())
            contributions = list(Contribution.objects.all())

        assert len(contributions) > 1000, organization.schema_name
        for pledge in pledges:
            challenge = challenges[pledge.challenge_id]
            end = min(ends.get(challenge.pk, challenge.deadline), now)
            assert challenge.starts_at <= pledge.created_at <= end
            assert joined[pledge.user_id] <= pledge.created_at
            assert pledge.team_id == team_of.get(pledge.user_id)
            if pledge.confirmed_at is not None:
                assert challenge.succeeded_at is not None
                assert pledge.confirmed_at > challenge.succeeded_at
            if pledge.withdrawn_at is not None:
                assert pledge.created_at < pledge.withdrawn_at < (challenge.succeeded_at or end)
        per_day: dict[tuple[int, int | None, dt.date], Decimal] = defaultdict(Decimal)
        for entry in contributions:
            challenge = challenges[entry.challenge_id]
            end = min(ends.get(challenge.pk, challenge.deadline), now)
            assert challenge.goal_kind != Challenge.GoalKind.PARTICIPANTS
            assert challenge.starts_at <= entry.created_at <= end
            assert challenge.starts_at.date() <= entry.day <= entry.created_at.date()
            assert entry.team_id == team_of.get(entry.user_id)
            per_day[entry.challenge_id, entry.user_id, entry.day] += entry.amount
        for (challenge_id, _, _), amount in per_day.items():
            metric = challenges[challenge_id].metric
            assert amount <= (metric.daily_cap if metric else SKILL_HOURS_DAILY_CAP)


def test_people_joined_over_the_months_and_the_audit_trail_reads_like_them(seeded: str) -> None:
    now = timezone.now()
    for organization in _organizations():
        with tenant_context(organization):
            joined = list(User.objects.values_list("date_joined", flat=True))
            audit = list(AuditEntry.objects.values_list("kind", "at"))
            events = list(
                ChallengeEvent.objects.values_list("challenge_id", "to_status", "at").order_by("at", "pk")
            )
            printed = User.objects.get(email=PARTICIPANT_OF[organization.schema_name])
            printed_pledges = Pledge.objects.filter(user=printed).count()
            printed_entries = Contribution.objects.filter(user=printed).count()

        months = Counter((now - moment).days // 30 for moment in joined)
        assert all(months[month] >= 0.05 * len(joined) for month in range(4)), months
        assert max(moment for _, moment in audit) < now
        assert min(moment for _, moment in audit) < now - dt.timedelta(days=100)
        assert {kind for kind, _ in audit} >= {
            "settings_changed", "team_created", "join_link_created", "challenge_created",
            "challenge_published", "challenge_cancelled", "counterpart_delivered", "role_changed",
            "person_deactivated",
        }  # fmt: skip
        timelines: dict[int, list[str]] = defaultdict(list)
        for challenge_id, to_status, _ in events:
            timelines[challenge_id].append(to_status)
        assert {tuple(timeline) for timeline in timelines.values()} == LIFECYCLES
        # The printed participant's pages look alive.
        assert printed_pledges >= 4
        assert printed_entries >= 3


def test_a_closed_challenge_had_a_launch_peak_and_a_last_week_rush(seeded: str) -> None:
    for organization in _organizations():
        with tenant_context(organization):
            closed = list(Challenge.objects.filter(status__in=[Status.SUCCEEDED, Status.FAILED]))
            times = {c.pk: list(c.pledges.values_list("created_at", flat=True)) for c in closed}

        assert len(closed) >= 3
        for challenge in closed:
            start, deadline = challenge.starts_at, challenge.deadline
            first = sum(1 for t in times[challenge.pk] if t < start + dt.timedelta(days=3))
            last = sum(1 for t in times[challenge.pk] if t > deadline - dt.timedelta(days=7))
            middle = len(times[challenge.pk]) - first - last
            middle_per_day = middle / ((deadline - start).days - 10)
            assert first / 3 > 2 * middle_per_day, challenge.title
            assert last / 7 > 2 * middle_per_day, challenge.title


def test_the_printed_sign_ins_work_and_the_pages_open_at_this_scale(seeded: str) -> None:
    for organization in _organizations():
        slug = organization.schema_name
        for email in PRINTED[slug]:
            response = Client(HTTP_HOST=f"{slug}.localhost").post(
                "/account/sign-in/", {"username": email, "password": DEMO_PASSWORD}
            )
            assert response.status_code == 302, email
        with tenant_context(organization):
            succeeded = Challenge.objects.filter(status=Status.SUCCEEDED).first()
            admin = User.objects.get(groups__name=ORG_ADMIN).email
        assert succeeded is not None
        manager = Client(HTTP_HOST=f"{slug}.localhost")
        manager.post("/account/sign-in/", {"username": admin, "password": DEMO_PASSWORD})
        for path in (
            "/manage/challenges/", f"/manage/challenges/{succeeded.pk}/", "/manage/teams/",
            "/manage/people/", "/manage/audit/",
        ):  # fmt: skip
            assert manager.get(path).status_code == 200, (slug, path)
        person = Client(HTTP_HOST=f"{slug}.localhost")
        person.post("/account/sign-in/", {"username": PARTICIPANT_OF[slug], "password": DEMO_PASSWORD})
        for path in ("/", "/me/", "/teams/", f"/challenges/{succeeded.pk}/"):
            assert person.get(path).status_code == 200, (slug, path)
    client = Client(HTTP_HOST="villeneuve.localhost")
    client.post("/account/sign-in/", {"username": "mairie@villeneuve.example", "password": DEMO_PASSWORD})
    assert b"Claire Petit" in client.get("/").content
    response = Client(HTTP_HOST="localhost").post(
        "/admin/login/",
        {"username": "operator@crowdact.example", "password": DEMO_PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_the_printed_join_links_open_the_join_form(seeded: str) -> None:
    links = dict(re.findall(r"http://(acme|villeneuve)\.localhost(/join/[\w-]+/)", seeded))

    assert set(links) == set(SLUGS)
    for slug, path in links.items():
        response = Client(HTTP_HOST=f"{slug}.localhost").get(path)
        assert response.status_code == 200, slug
        assert b'name="email"' in response.content
        assert b'name="display_name"' in response.content
