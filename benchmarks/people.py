"""People benchmark: the organisation console's people page and people API with 10,000 people, and the
CSV import of 10,000 people.

Run from the project root (PostgreSQL on 127.0.0.1:5432 user postgres):

    .venv/bin/python -m benchmarks.people                  # the acceptance run, ~5 minutes on 2 cores
    .venv/bin/python -m benchmarks.people --quick          # every phase, small data, short series
    .venv/bin/python -m benchmarks.people --requests 400 --explain --keep

It works in its own database, crowdact_bench_people (BENCH_PEOPLE_DATABASE_URL), dropped and created
at the start and dropped at the end unless --keep, with the settings benchmarks.settings.people (the
product's settings and URL confs; Celery eager, e-mails in memory, API throttles that never refuse).
The import pages store the uploaded file under a folder of this run (passed to the settings as
BENCH_PEOPLE_MEDIA_ROOT), removed at the end. BENCH_PEOPLE_JIT_OFF=1 runs every connection (this
process's and gunicorn's) with PostgreSQL's JIT compiler off, for comparison. A second run on the same
database stops at once.

Phases:
 0. database, public schema, three organisations (tenants.services.organization_create), companies
    on the Business plan (unlimited challenges and participants) accepting @bench.test addresses: one
    for the people page, two for the imports;
 1. people: 20 teams, 4 open challenges, then people added in steps up to N (100, 1,000, 10,000),
    each with a role (a few admins, 1 % executives), a team (most), pledges, contributions, some
    deactivated, some invited; at each step, in process (test Client, same settings), the queries
    of each measured request: first page, a search, a role filter, a team filter, the last page, of
    GET /manage/people/ (admin session) and GET /api/v1/people/ (the admin's API token);
 2. the same ten requests over HTTP to gunicorn (deploy/gunicorn.conf.py), one at a time: p50/p95/p99
    and the CPU per request (gunicorn workers + PostgreSQL backends, which hardly moves when other work
    shares the machine); the SQL of each at N people; EXPLAIN ANALYZE of the slowest query of a
    request over its target;
 3. CSV import of M people (participants/people_csv.py) into an empty organisation: the check
    (people_csv_read, what the preview shows) and the import (people_import), then the same file again
    (must change nothing), then a file with 5 % of its lines changed; and the two pages an admin
    uses (upload, then confirm), in process, into the third organisation, twice.

--quick judges no speed target: it fails only when a phase breaks.
"""

# ruff: noqa: E402

import argparse
import hashlib
import math
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import unicodedata
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import django

from benchmarks.harness.databases import (
    child_env,
    database_drop,
    database_name,
    database_recreate,
    databases_claimed,
)
from benchmarks.harness.databases import database_url as env_database_url
from benchmarks.harness.load import Request, Run, closed_loop
from benchmarks.harness.report import Phases, Summary, code_state, line, load_average, median
from benchmarks.harness.servers import CpuMeter, Server, gunicorn

SETTINGS = "benchmarks.settings.people"
DATABASE_VARIABLE = "BENCH_PEOPLE_DATABASE_URL"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/crowdact_bench_people"
MEDIA_VARIABLE = "BENCH_PEOPLE_MEDIA_ROOT"
PEOPLE_ORG, IMPORT_ORG, IMPORT_PAGES_ORG = "bench-people", "bench-import", "bench-import-pages"
EMAIL_DOMAIN = "bench.test"
TEAMS = 20
SEARCH = "dubois"  # a family name: 1 person in 25

# Targets from the brief.
REQUEST_P95_TARGET_MS = 150.0
IMPORT_TARGET_S = 30.0
GUNICORN_TIMEOUT_S = 30.0  # deploy/gunicorn.conf.py: a request that takes longer is killed

# The product, in one place: Django set up with the benchmark settings, then what this benchmark uses.
DATABASE_URL = os.environ[DATABASE_VARIABLE] = env_database_url(DATABASE_VARIABLE, DEFAULT_DATABASE_URL)
# This run's own folder, removed at the end (so never one given from outside).
MEDIA_ROOT = Path(tempfile.gettempdir()) / f"people-benchmark-uploads-{os.getpid()}"
os.environ[MEDIA_VARIABLE] = str(MEDIA_ROOT)
os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
django.setup()

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import AuditEntry, Invitation, User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from accounts.tokens import api_token_create
from challenges.models import Challenge, Contribution, Metric, Pledge, Team, TeamMembership
from challenges.services import CounterpartInput, challenge_create, challenge_publish
from participants.people_csv import Outcome, Reading, people_csv_read, people_import
from participants.selectors import PeopleFilters, people_list
from participants.views_people import PAGE_SIZE
from tenants.models import Organization
from tenants.selectors import organization_host
from tenants.services import organization_create

if settings.SETTINGS_MODULE != SETTINGS:  # Django was set up before this import
    raise ImportError(f"benchmarks.people runs with {SETTINGS}, not {settings.SETTINGS_MODULE}")

FIRST_NAMES = [
    "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Jade", "Louise", "Alice", "Zoé",
    "Lucas", "Hugo", "Louis", "Nathan", "Gabriel", "Jules", "Arthur", "Adam", "Raphaël", "Paul",
]  # fmt: skip
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Blanc",
]  # fmt: skip


def ascii_of(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def person_name(number: int) -> tuple[str, str]:
    """(display name, e-mail local part) of the generated person `number`: 500 distinct names."""
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first} {last}", f"{ascii_of(first)}.{ascii_of(last)}"


# --------------------------------------------------------------------------------------------------
# Phase 0: organisations


def organizations_create() -> dict[str, Organization]:
    created = {}
    for slug in (PEOPLE_ORG, IMPORT_ORG, IMPORT_PAGES_ORG):
        start = time.perf_counter()
        provisioned = organization_create(
            slug=slug,
            name=slug.replace("-", " ").title(),
            kind="company",
            admin_email=f"admin@{EMAIL_DOMAIN}",
        )
        organization = provisioned.organization
        # A company of 10,000 people, on the plan it would need (Discovery opens one challenge and
        # admits 50 active participants); it accepts its own domain only (services.email_check).
        Organization.objects.filter(pk=organization.pk).update(
            plan=Organization.Plan.BUSINESS, allowed_email_domains=[EMAIL_DOMAIN]
        )
        organization.refresh_from_db()
        created[slug] = organization
        line(f"organisation {slug}: provisioned in {time.perf_counter() - start:.2f} s ({provisioned.url})")
    return created


def server_settings() -> str:
    """The server's version and JIT settings, as this run's connections see them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version'), current_setting('jit'), "
            "current_setting('jit_above_cost'), current_setting('jit_optimize_above_cost'), "
            "current_setting('jit_inline_above_cost')"
        )
        row = cursor.fetchone()
    if row is None:
        return "unknown"
    version, jit, above, optimize, inline = row
    options = str(settings.DATABASES["default"].get("OPTIONS", {}).get("options", ""))
    forced = " (BENCH_PEOPLE_JIT_OFF)" if "jit=off" in options else ""
    return (
        f"{version}; jit {jit}{forced} (above cost {above}, optimised above {optimize}, "
        f"inlined above {inline})"
    )


def host_of(organization: Organization) -> str:
    return str(organization_host(organization))


def admin_of() -> User:
    """The current organisation's provisioned admin."""
    admin = User.objects.filter(groups__name=ORG_ADMIN).order_by("pk").first()
    if admin is None:
        raise SystemExit("The organisation has no admin: provisioning changed?")
    return admin


def admin_client(organization: Organization) -> Client:
    """A test Client on the organisation's host, signed in as its admin (a session in its schema)."""
    client = Client(HTTP_HOST=host_of(organization))
    with tenant_context(organization):
        client.force_login(admin_of())
    return client


# --------------------------------------------------------------------------------------------------
# Phase 1: the people


@dataclass
class Population:
    """The people of the measured organisation, grown in steps."""

    organization: Organization
    teams: list[Team] = field(default_factory=list)
    challenges: list[Challenge] = field(default_factory=list)  # the first one counts quantities
    generated: int = 0  # people made by the benchmark (the provisioned admin is not one)
    password: str = ""

    def total(self) -> int:
        with tenant_context(self.organization):
            return people_list().count()


def challenge_open(actor: User, title: str, *, metric: Metric | None = None) -> Challenge:
    """An open challenge with a counterpart, started 30 days ago, made and published by the services."""
    now = timezone.now()
    challenge = challenge_create(
        actor=actor,
        fields={
            "title": title,
            "description": "Benchmark challenge.",
            "action": "Take part",
            "category": "environment",
            "starts_at": now - timedelta(days=30),
            "deadline": now + timedelta(days=30),
            "goal_kind": Challenge.GoalKind.QUANTITY if metric else Challenge.GoalKind.PARTICIPANTS,
            "goal_target": Decimal(10**9 if metric else 10**6),
            "metric": metric,
        },
        counterpart=CounterpartInput(
            description="The organisation plants a tree per participant.",
            amount=Decimal(5000),
            currency="EUR",
        ),
    )
    return challenge_publish(actor=actor, challenge_id=challenge.pk)


def population_start(organization: Organization) -> Population:
    with tenant_context(organization):
        kinds = [Team.Kind.DEPARTMENT, Team.Kind.SITE, Team.Kind.NEIGHBOURHOOD]
        Team.objects.bulk_create(
            Team(name=f"Team {index:02d}", kind=kinds[index % 3]) for index in range(1, TEAMS + 1)
        )
        admin = admin_of()
        challenges = [challenge_open(admin, "Cycle to work", metric=Metric.objects.get(key="km-cycled"))]
        challenges += [
            challenge_open(admin, title) for title in ("Zero waste week", "Meatless Monday", "Plant trees")
        ]
        return Population(
            organization,
            teams=list(Team.objects.order_by("name")),
            challenges=challenges,
            password=make_password(secrets.token_urlsafe(16)),  # one real hash: hashing is not measured
        )


def population_grow(population: Population, count: int) -> str:
    """`count` more people, with their roles, teams, invitations, pledges and contributions (bulk
    inserts); the challenges' running totals kept consistent; the tables analysed. Returns a line."""
    start = time.perf_counter()
    first = population.generated + 1
    numbers = range(first, first + count)
    rng = random.Random(first)  # noqa: S311 - benchmark data, not secrets
    now = timezone.now()
    with tenant_context(population.organization):
        groups = {
            group.name: group for group in Group.objects.filter(name__in=[ORG_ADMIN, EXECUTIVE, PARTICIPANT])
        }
        admin = admin_of()
        people = []
        for number in numbers:
            name, local = person_name(number)
            admin_role = number % 1000 == 500
            active = admin_role or number % 31 != 0
            invited = active and not admin_role and number % 47 == 0
            seen = None if invited else now - timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
            people.append(
                User(
                    email=f"{local}.{number:05d}@{EMAIL_DOMAIN}",
                    display_name=name,
                    show_name=number % 3 != 0,
                    password=population.password,
                    is_active=active,
                    date_joined=now - timedelta(days=rng.randint(30, 700)),
                    last_login=seen,
                    last_seen_at=seen if seen and number % 2 else None,
                )
            )
        users = User.objects.bulk_create(people, batch_size=2000)
        by_number = dict(zip(numbers, users, strict=True))

        def role_of(number: int) -> str:
            if number % 1000 == 500:
                return ORG_ADMIN
            return EXECUTIVE if number % 100 == 50 else PARTICIPANT

        User.groups.through.objects.bulk_create(
            [
                User.groups.through(user_id=user.pk, group_id=groups[role_of(n)].pk)
                for n, user in by_number.items()
            ],
            batch_size=5000,
        )
        team_of = {
            user.pk: population.teams[n % TEAMS] for n, user in by_number.items() if n % 23 != 0
        }  # 1 in 23 has no team
        TeamMembership.objects.bulk_create(
            [TeamMembership(user_id=pk, team=team) for pk, team in team_of.items()], batch_size=5000
        )
        Invitation.objects.bulk_create(
            [
                Invitation(
                    user=user,
                    key_hash=secrets.token_hex(32),
                    invited_by=admin,
                    sent_at=now,
                    sends=1,
                    expires_at=now + timedelta(days=7),
                )
                for user in users
                if user.is_active and user.last_login is None
            ],
            batch_size=5000,
        )
        pledges, contributions = [], []
        quantity = population.challenges[0]
        first_day = timezone.localdate(quantity.starts_at)
        for n, user in by_number.items():
            team = team_of.get(user.pk)
            for challenge in population.challenges[: n % 4]:  # 0 to 3 challenges each
                withdrawn = now if challenge is quantity and n % 9 == 0 else None
                pledges.append(Pledge(challenge=challenge, user=user, team=team, withdrawn_at=withdrawn))
                if challenge is quantity and withdrawn is None:
                    for offset in rng.sample(range(30), n % 7):  # 0 to 6 days each
                        contributions.append(
                            Contribution(
                                challenge=quantity,
                                user=user,
                                team=team,
                                day=first_day + timedelta(days=offset),
                                amount=Decimal(rng.randint(50, 4000)) / 100,
                            )
                        )
        Pledge.objects.bulk_create(pledges, batch_size=5000)
        Contribution.objects.bulk_create(contributions, batch_size=5000)
        # The running totals, as the services would have left them.
        for challenge in population.challenges:
            Challenge.objects.filter(pk=challenge.pk).update(
                pledge_count=Pledge.objects.filter(challenge=challenge, withdrawn_at__isnull=True).count(),
                quantity_total=Contribution.objects.filter(challenge=challenge).aggregate(
                    total=Sum("amount")
                )["total"]
                or Decimal(0),
            )
        population.generated += count
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        schema = population.organization.schema_name
        with connection.cursor() as cursor:
            for model in (User, User.groups.through, TeamMembership, Invitation, Pledge, Contribution):
                cursor.execute(f'VACUUM ANALYZE "{schema}".{model._meta.db_table}')
        analysed = time.perf_counter() - start
        deactivated = User.objects.filter(is_active=False).count()
        roles = Counter(User.groups.through.objects.values_list("group__name", flat=True))
        pending = Invitation.objects.filter(accepted_at__isnull=True).count()
        total_pledges, total_contributions = Pledge.objects.count(), Contribution.objects.count()
    return (
        f"+{count} people in {loaded:.1f} s (bulk inserts), VACUUM ANALYZE {analysed:.1f} s; now "
        f"{roles.get(ORG_ADMIN, 0)} admins, {roles.get(EXECUTIVE, 0)} executives, "
        f"{roles.get(PARTICIPANT, 0)} participants, {deactivated} deactivated, {pending} invited, "
        f"{total_pledges} pledges, {total_contributions} contributions"
    )


@dataclass(frozen=True)
class Probe:
    """One measured request, on the page and in the API, and how many people it must report."""

    label: str
    page: str
    api: str
    expected: int

    def paths(self) -> list[tuple[str, str, bytes]]:
        """(label, path, marker in the answer): the count is shown on the page and in the API."""
        return [
            (f"page {self.label}", self.page, f'<p class="muted">{self.expected} '.encode()),
            (f"API  {self.label}", self.api, f'"count":{self.expected},'.encode()),
        ]


def probes(population: Population) -> list[Probe]:
    """The five requests at the current size; the last page depends on it."""
    team = population.teams[0]
    with tenant_context(population.organization):
        total = people_list().count()

        def count(**filters: Any) -> int:
            return people_list(PeopleFilters(**filters)).count()

        last = max(1, math.ceil(total / PAGE_SIZE))
        return [
            Probe("first page", "/manage/people/", "/api/v1/people/", total),
            Probe(f"search '{SEARCH}'", f"/manage/people/?q={SEARCH}", f"/api/v1/people/?search={SEARCH}",
                  count(search=SEARCH)),
            Probe("role executive", "/manage/people/?role=executive", "/api/v1/people/?role=executive",
                  count(role="executive")),
            Probe(f"team '{team.name}'", f"/manage/people/?team={team.pk}", f"/api/v1/people/?team={team.pk}",
                  count(team_id=team.pk)),
            Probe("last page", f"/manage/people/?page={last}", f"/api/v1/people/?page={last}", total),
        ]  # fmt: skip


@dataclass
class Profile:
    """One request in process: its status, whether it showed the expected count, its queries."""

    status: int
    matched: bool
    ms: float
    queries: list[tuple[float, str]]

    @property
    def sql_ms(self) -> float:
        return sum(ms for ms, _ in self.queries)


def request_profile(client: Client, path: str, marker: bytes, headers: dict[str, str]) -> Profile:
    client.get(path, headers=headers)  # warm: the session's and the token's hourly/minutely writes
    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        elapsed = (time.perf_counter() - start) * 1000
    queries = [
        (float(query["time"]) * 1000, " ".join(query["sql"].split())) for query in captured.captured_queries
    ]
    return Profile(response.status_code, marker in response.content, elapsed, queries)


@dataclass
class Credentials:
    session_key: str
    token: str

    def page_headers(self) -> dict[str, str]:
        return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session_key}"}

    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def credentials_create(organization: Organization) -> tuple[Client, Credentials]:
    """The admin signed in (session) and an API token of theirs (accounts.tokens.api_token_create)."""
    client = admin_client(organization)
    with tenant_context(organization):
        _, secret = api_token_create(actor=admin_of(), name="people benchmark")
    return client, Credentials(client.cookies[settings.SESSION_COOKIE_NAME].value, secret)


def query_counts(
    population: Population, client: Client, credentials: Credentials, sizes: Sequence[int], summary: Summary
) -> dict[str, Profile]:
    """Grow the people to each size and count the queries of every probe; return the profiles at
    the last size."""
    counts: dict[str, list[int]] = {}
    profiles: dict[str, Profile] = {}
    for size in sizes:
        missing = size - population.total()
        if missing > 0:
            line(f"  {size} people: {population_grow(population, missing)}")
        for probe in probes(population):
            for label, path, marker in probe.paths():
                headers = credentials.api_headers() if label.startswith("API") else {}
                profile = request_profile(client, path, marker, headers)
                counts.setdefault(label, []).append(len(profile.queries))
                profiles[label] = profile
                if profile.status != 200 or not profile.matched:
                    summary.check(
                        False,
                        f"{path} at {size} people: status {profile.status}, "
                        f"{'the expected' if profile.matched else 'NOT the expected'} count {probe.expected}",
                    )
    width = max(len(key) for key in counts)
    line()
    line(
        "Queries per request (in process, test Client, same settings; admin session for the page, "
        "the admin's API token for the API; after one warm-up request):"
    )
    line(f"  {'people':<{width}} " + " ".join(f"{size:>7}" for size in sizes))
    for key, values in counts.items():
        flat = "constant" if len(set(values)) == 1 else "GROWS"
        line(f"  {key:<{width}} " + " ".join(f"{value:>7}" for value in values) + f"   {flat}")
    growing = [" ".join(key.split()) for key, values in counts.items() if len(set(values)) != 1]
    at = ", ".join(f"{size:,}" for size in sizes)
    each = "; ".join(
        f"{' '.join(key.split())}: {'/'.join(map(str, values))}" for key, values in counts.items()
    )
    summary.check(
        not growing,
        f"queries per request at {at} people "
        f"{'constant' if not growing else 'GROWING for ' + ', '.join(growing)} ({each})",
    )
    return profiles


# --------------------------------------------------------------------------------------------------
# Phase 2: over HTTP


@dataclass(frozen=True)
class Target:
    """A GET to measure over HTTP: its headers, and what its answer must hold."""

    port: int
    host: str
    path: str
    headers: dict[str, str]
    marker: bytes

    def series(self, *, requests: int, concurrency: int, seconds: float | None = None) -> Run:
        """`requests` requests, `concurrency` at a time; stopped after `seconds` if given."""
        request = Request("GET", self.path, {"Host": self.host, **self.headers})
        return closed_loop(
            self.port,
            concurrency=concurrency,
            requests=requests,
            seconds=seconds,
            next_request=lambda: request,
            good=lambda request, status, body: status == 200 and self.marker in body,
        )


def latency_row(label: str, run: Run) -> str:
    cpu = "" if math.isnan(run.cpu_ms_per_request) else f"  CPU {run.cpu_ms_per_request:5.1f} ms/req"
    return (
        f"  {label:<36} p50 {run.ms(0.5):6.1f} ms  p95 {run.ms(0.95):6.1f} ms  p99 {run.ms(0.99):6.1f} ms  "
        f"max {max(run.latencies) * 1000:6.1f} ms{cpu}  {run.errors} errors ({run.ok + run.errors} requests)"
    )


def http_phase(
    args: argparse.Namespace,
    server: Server,
    population: Population,
    credentials: Credentials,
    summary: Summary,
) -> list[str]:
    """Every probe one request at a time; return the labels that missed their target."""
    host = host_of(population.organization)
    total = population.total()
    line(
        f"As the organisation admin (session cookie for the page, API token for the API), host {host}, "
        f"{total} people; {args.requests} requests per series (at most {args.series_seconds:g} s), one at "
        f"a time, after {args.warmup} warm-up requests ({args.workers} at a time); CPU per request: "
        "gunicorn workers + PostgreSQL backends (it hardly moves with other work on the machine)"
    )
    busy_warning()
    meter = CpuMeter(server, DATABASE_URL)
    try:
        return http_series(args, server, population, credentials, meter, summary)
    finally:
        meter.close()


def http_series(
    args: argparse.Namespace,
    server: Server,
    population: Population,
    credentials: Credentials,
    meter: CpuMeter,
    summary: Summary,
) -> list[str]:
    """Each probe's series, its CPU measured; the labels that missed their target."""
    host, total = host_of(population.organization), population.total()
    missed = []
    for probe in probes(population):
        for label, path, marker in probe.paths():
            headers = credentials.api_headers() if label.startswith("API") else credentials.page_headers()
            target = Target(server.port, host, path, headers, marker)
            warm = target.series(requests=args.warmup, concurrency=args.workers)
            if warm.errors:
                line(f"  warm-up of {path}: {warm.errors} errors {dict(warm.statuses)}")
            before = meter.snapshot()
            run = target.series(requests=args.requests, concurrency=1, seconds=args.series_seconds)
            run.cpu_seconds = meter.spent(before, meter.snapshot())
            line(latency_row(label, run))
            p95 = run.ms(0.95)
            met = p95 < REQUEST_P95_TARGET_MS
            if not met or run.errors:
                missed.append(label)
            summary.target(
                met,
                f"{label:<34} p95 {p95:6.1f} ms (p50 {run.ms(0.5):.1f}, p99 {run.ms(0.99):.1f}; target p95 < "
                f"{REQUEST_P95_TARGET_MS:.0f} ms; {run.errors} errors; "
                f"CPU {run.cpu_ms_per_request:.0f} ms/req) at {total} people, {path}",
                broken=run.errors != 0,
            )
    return missed


def busy_warning() -> None:
    """Say so when other work is running: this benchmark measures a shared machine."""
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        line(
            f"WARNING: the machine is busy (1-minute load average {load:.1f} on {os.cpu_count()} CPUs "
            "before this phase): latencies are worse than on an idle machine."
        )


def sql_report(population: Population, profiles: dict[str, Profile], explain: set[str]) -> None:
    """The SQL of each request at the last size: count, time, the slowest; EXPLAIN of the asked ones."""
    line("SQL of one request at the last size (in process; Django's clock):")
    for label, profile in profiles.items():
        line(
            f"  {label:<30} {profile.ms:6.1f} ms in process, {len(profile.queries)} queries taking "
            f"{profile.sql_ms:6.1f} ms (the rest, {profile.ms - profile.sql_ms:.1f} ms, is Python)"
        )
        if label in ("page first page", "API  first page"):
            for ms, sql in profile.queries:
                line(f"    {ms:5.1f} ms  {sql[:150]}")
        else:
            ms, sql = max(profile.queries)
            line(f"    slowest {ms:5.1f} ms  {sql[:150]}")
    for label in sorted(explain):
        asked = profiles.get(label)
        selects = [query for query in asked.queries if query[1].startswith("SELECT")] if asked else []
        if not selects:
            continue
        slowest = max(selects)[1]
        with tenant_context(population.organization), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slowest}")
            line(f"  EXPLAIN ANALYZE of the slowest query of {label.strip()}:")
            for (row,) in cursor.fetchall():
                line(f"    {row}")


# --------------------------------------------------------------------------------------------------
# Phase 3: CSV import


def csv_file(lines: int, *, changed_every: int = 0) -> tuple[bytes, int]:
    """A CSV file of `lines` people in 20 teams (1 line in 23 without one), 1 % executives, 0.2 %
    admins; with `changed_every`, every such line says something else (name, role or team). Returns
    the file and how many lines differ from the unchanged file."""
    rows = ["email,name,team,role"]
    changed = 0
    for number in range(1, lines + 1):
        name, local = person_name(number)
        team = f"Import team {number % TEAMS + 1:02d}" if number % 23 else ""
        role = "admin" if number % 500 == 250 else "executive" if number % 100 == 50 else "participant"
        if changed_every and number % changed_every == 0:
            changed += 1
            kind = (number // changed_every) % 3
            if kind == 0:
                name = f"{name} Junior"
            elif kind == 1:
                role = "participant" if role == "executive" else "executive"
            else:
                team = f"Import team {(number + 1) % TEAMS + 1:02d}"
        rows.append(f"{local}.{number:05d}@{EMAIL_DOMAIN},{name},{team},{role}")
    return ("\n".join(rows) + "\n").encode(), changed


def people_state() -> tuple[int, str, int, int]:
    """The current schema's people as the import leaves them: their number, a digest of what each
    one is (e-mail, name, role, team, active), the teams and the audit entries."""
    rows = [
        (p.email, p.display_name, getattr(p, "role_group", None), getattr(p, "team_id", None), p.is_active)
        for p in people_list()
    ]
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    return len(rows), digest, Team.objects.count(), AuditEntry.objects.count()


def outcome_text(outcome: Outcome) -> str:
    return (
        f"created {outcome.created}, updated {outcome.updated}, unchanged {outcome.unchanged}, "
        f"teams created {outcome.teams_created}, skipped {outcome.skipped}"
    )


def timed_read(data: bytes, organization: Organization) -> tuple[Reading, float]:
    start = time.perf_counter()
    reading = people_csv_read(data, organization)
    return reading, time.perf_counter() - start


def timed_import(organization: Organization, reading: Reading) -> tuple[Outcome, float]:
    start = time.perf_counter()
    outcome = people_import(actor=admin_of(), organization=organization, reading=reading, all_or_nothing=True)
    return outcome, time.perf_counter() - start


def import_phase(args: argparse.Namespace, organization: Organization, summary: Summary) -> None:
    lines = args.import_lines
    data, _ = csv_file(lines)
    line(
        f"Into {organization.schema_name} (only its admin so far): a CSV file of {lines} people, "
        f"{len(data) / 1024:.0f} KiB, {TEAMS} teams to create; in process, the services the import "
        "pages call (participants.people_csv)"
    )
    with tenant_context(organization):
        times = []
        for _ in range(args.repeat):
            reading, seconds = timed_read(data, organization)
            times.append(seconds)
        good = not reading.errors and len(reading.good) == lines
        line(
            f"  check (people_csv_read, the preview): median {median(times):.2f} s of {args.repeat} "
            f"({', '.join(f'{t:.2f}' for t in times)} s); {len(reading.lines)} lines, "
            f"{len(reading.good)} ready, {len(reading.bad)} with errors"
            f"{'; file errors: ' + '; '.join(reading.errors) if reading.errors else ''}"
        )
        summary.target(
            median(times) < IMPORT_TARGET_S,
            f"CSV check of {lines} lines (preview): median {median(times):.2f} s "
            f"(target < {IMPORT_TARGET_S:.0f} s)",
            broken=not good,
        )
        outcome, first_s = timed_import(organization, reading)
        after_first = people_state()
        right = (outcome.created, outcome.updated, outcome.teams_created) == (lines, 0, TEAMS)
        right = right and after_first[0] == lines + 1
        line(f"  import (people_import), first time: {first_s:.2f} s; {outcome_text(outcome)}; "
             f"{after_first[0]} people now")  # fmt: skip
        summary.target(
            first_s < IMPORT_TARGET_S,
            f"CSV import of {lines} new people: {first_s:.2f} s (target < {IMPORT_TARGET_S:.0f} s); "
            f"{outcome_text(outcome)}",
            broken=not right,
        )

        read_times, import_times, outcomes = [], [], []
        for _ in range(args.repeat):
            reading, read_s = timed_read(data, organization)
            outcome, import_s = timed_import(organization, reading)
            read_times.append(read_s)
            import_times.append(import_s)
            outcomes.append(outcome)
        after_again = people_state()
        nothing = all(
            (o.created, o.updated, o.teams_created, o.unchanged) == (0, 0, 0, lines) for o in outcomes
        )
        nothing = nothing and after_again == after_first
        line(
            f"  the same file again, {args.repeat} times: check median {median(read_times):.2f} s, "
            f"import median {median(import_times):.2f} s ({', '.join(f'{t:.2f}' for t in import_times)} s); "
            f"{outcome_text(outcomes[-1])}; people, their digest, teams and audit entries "
            f"{'unchanged' if after_again == after_first else f'CHANGED: {after_first} -> {after_again}'}"
        )
        summary.target(
            median(import_times) < IMPORT_TARGET_S,
            f"CSV import of the same {lines} lines again: median {median(import_times):.2f} s "
            f"(+ check {median(read_times):.2f} s; target < {IMPORT_TARGET_S:.0f} s); "
            f"{outcome_text(outcomes[-1])}; {'nothing changed' if nothing else 'SOMETHING CHANGED'}",
            broken=not nothing,
        )

        changed_data, changed = csv_file(lines, changed_every=20)
        reading, read_s = timed_read(changed_data, organization)
        outcome, import_s = timed_import(organization, reading)
        right = (outcome.created, outcome.updated, outcome.unchanged) == (0, changed, lines - changed)
        line(
            f"  a file with {changed} lines changed (name, role or team): check {read_s:.2f} s, import "
            f"{import_s:.2f} s; {outcome_text(outcome)}"
        )
        summary.check(
            right,
            f"CSV import with {changed} of {lines} lines changed: updated {outcome.updated} "
            f"(expected {changed}), created {outcome.created}, unchanged {outcome.unchanged}; "
            f"{import_s:.2f} s",
        )


def import_pages_phase(args: argparse.Namespace, organization: Organization, summary: Summary) -> None:
    """What an admin does: upload (the check and the preview page), then confirm (the confirm view
    checks the stored file again, then imports); in process, one request each, twice."""
    lines = args.import_lines
    data, _ = csv_file(lines)
    client = admin_client(organization)
    line(
        f"Into {organization.schema_name}, as its admin (test Client, in process): POST "
        "/manage/people/import/ with the file, then POST /manage/people/import/confirm/"
    )
    before = None
    for attempt in ("first time", "same file again"):
        start = time.perf_counter()
        upload = client.post(
            "/manage/people/import/", {"file": SimpleUploadedFile("people.csv", data, "text/csv")}
        )
        upload_s = time.perf_counter() - start
        previewed = upload.status_code == 200 and f"<strong>{lines}</strong>".encode() in upload.content
        start = time.perf_counter()
        confirm = client.post("/manage/people/import/confirm/", {})
        confirm_s = time.perf_counter() - start
        with tenant_context(organization):
            state = people_state()
        if before is None:
            right = previewed and confirm.status_code == 302 and state[0] == lines + 1
        else:
            right = previewed and confirm.status_code == 302 and state == before
        before = before or state
        line(
            f"  {attempt}: upload {upload.status_code} in {upload_s:.2f} s "
            f"({'preview shows' if previewed else 'preview does NOT show'} {lines} lines), confirm "
            f"{confirm.status_code} in {confirm_s:.2f} s; {state[0]} people, digest {state[1]}"
        )
        summary.target(
            confirm_s < GUNICORN_TIMEOUT_S and upload_s < GUNICORN_TIMEOUT_S,
            f"import pages, {attempt}: upload {upload_s:.2f} s, confirm {confirm_s:.2f} s for {lines} lines "
            f"(target: each < {GUNICORN_TIMEOUT_S:.0f} s, gunicorn's timeout)",
            broken=not right,
        )


# --------------------------------------------------------------------------------------------------
# The benchmark


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.people",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="every phase with small data and short series; no speed verdict"
    )
    parser.add_argument(
        "--sizes", default=None, help="people at which queries are counted; the last one is measured "
        "(100,1000,10000; quick 60,150,300)"
    )  # fmt: skip
    parser.add_argument("--requests", type=int, default=None, help="requests per series (200; quick 10)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="warm-up requests per series (4 per worker; quick 1 per worker)",
    )
    parser.add_argument(
        "--series-seconds", type=float, default=60.0, help="at most this long per series (60)"
    )
    parser.add_argument(
        "--import-lines", type=int, default=None, help="lines of the CSV file (10,000; quick 300)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each repeatable import step (3)")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1, help="gunicorn workers")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE the slowest query of each request"
    )
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    quick = args.quick
    args.sizes = [
        int(size) for size in (args.sizes or ("60,150,300" if quick else "100,1000,10000")).split(",")
    ]
    if args.sizes != sorted(args.sizes) or args.sizes[0] < 2:
        parser.error("--sizes: increasing sizes of at least 2 (the admin is one)")
    if args.requests is None:
        args.requests = 10 if quick else 200
    if args.warmup is None:
        args.warmup = args.workers * (1 if quick else 4)
    if args.import_lines is None:
        args.import_lines = 300 if quick else 10_000
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with databases_claimed([DATABASE_URL], DATABASE_VARIABLE):
        return run(args)


def run(args: argparse.Namespace) -> int:
    # WhiteNoise warns when STATIC_ROOT was never collected; the benchmark serves no static file.
    warnings.filterwarnings("ignore", message="No directory at")
    phases = Phases()
    summary = Summary(judge_speed=not args.quick)
    log_dir = Path(tempfile.mkdtemp(prefix="people-benchmark-logs-"))
    name = database_name(DATABASE_URL)
    quick = " (QUICK run: every phase, small sizes, no speed verdict)" if args.quick else ""
    line(
        f"People benchmark{quick}: database {name}; {os.cpu_count()} CPUs; load average {load_average()}; "
        f"server logs in {log_dir}; uploads in {MEDIA_ROOT}"
    )
    line(f"Python {sys.version.split()[0]}; settings {SETTINGS}; code: {code_state()}")

    try:
        with phases.phase("Phase 0: database, public schema, organisations"):
            database_recreate(DATABASE_URL)
            start = time.perf_counter()
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
            line(f"migrate_schemas --shared: {time.perf_counter() - start:.1f} s")
            line(f"PostgreSQL: {server_settings()}")
            organizations = organizations_create()

        people_org = organizations[PEOPLE_ORG]
        with phases.phase(
            f"Phase 1: people in steps of {', '.join(f'{s:,}' for s in args.sizes)}; queries counted"
        ):
            population = population_start(people_org)
            line(f"  {TEAMS} teams, {len(population.challenges)} open challenges (one counting km cycled)")
            client, credentials = credentials_create(people_org)
            profiles = query_counts(population, client, credentials, args.sizes, summary)
        connections.close_all()

        if not args.skip_http:
            with gunicorn(
                child_env(SETTINGS), workers=args.workers, log_dir=log_dir, probe_host=host_of(people_org)
            ) as server:
                line(f"\nServer: {server.description}")
                with phases.phase(f"Phase 2: the people page and API over HTTP, {args.sizes[-1]:,} people"):
                    missed = http_phase(args, server, population, credentials, summary)
                boots, server_errors = server.boots(), server.server_errors()
            connections.close_all()
            explain = set(profiles) if args.explain else {label for label in missed if label in profiles}
            sql_report(population, profiles, explain)
            line(f"gunicorn: {boots} workers booted in all; error lines in its log: {len(server_errors)}")
            for entry in server_errors[:5]:
                line(f"  {entry}")
            if server_errors:
                summary.check(False, f"{len(server_errors)} error lines in the gunicorn log ({log_dir})")
        else:
            sql_report(population, profiles, set(profiles) if args.explain else set())

        if not args.skip_import:
            with phases.phase(f"Phase 3a: CSV import of {args.import_lines:,} people (services)"):
                import_phase(args, organizations[IMPORT_ORG], summary)
            with phases.phase(
                f"Phase 3b: CSV import of {args.import_lines:,} people (the pages, in process)"
            ):
                import_pages_phase(args, organizations[IMPORT_PAGES_ORG], summary)
    finally:
        connections.close_all()
        shutil.rmtree(MEDIA_ROOT, ignore_errors=True)
        if args.keep:
            line(f"\nKept the database {name} (--keep).")
        else:
            database_drop(DATABASE_URL)
            line(f"\nDropped the database {name}.")

    if not summary.failed():
        shutil.rmtree(log_dir, ignore_errors=True)
    phases.report()
    return summary.report("Summary" + quick)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
