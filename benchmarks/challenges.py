"""Challenges benchmark: pledge throughput against a bare INSERT endpoint, and the manager dashboard
with 10,000 participants and 100,000 contributions.

Run from the project root (PostgreSQL on 127.0.0.1:5432 user postgres, Redis on 127.0.0.1:6379):

    .venv/bin/python -m benchmarks.challenges                  # the acceptance run, ~6 minutes on 2 cores
    .venv/bin/python -m benchmarks.challenges --quick          # every phase, small data, short loads
    .venv/bin/python -m benchmarks.challenges --seconds 20 --auth token --keep

It works in its own database, crowdact_bench_challenges (BENCH_CHALLENGES_DATABASE_URL), dropped and
created at the start and dropped at the end unless --keep, with the settings
benchmarks.settings.challenges (the product's settings + the benchmark-only tenant app
benchmarks.pledgebench + the URL conf benchmarks.urls.challenges). Celery sends to the real Redis
broker, database 13 (BENCH_CHALLENGES_BROKER_URL), queue "bench-challenges" (BENCH_CHALLENGES_QUEUE),
with no worker: requests pay for queueing a task as in production, nothing runs inline; the queue is
read (to check what was sent) and its keys deleted at the end. A second run on the same database or
queue stops at once.

Phases:
 0. database, public schema, two organisations (tenants.services.organization_create): one for the
    pledges, one for the dashboard;
 1. dashboard data: N participants in 20 teams, one open quantity challenge (km-cycled) with N
    pledges, M contributions spread over its window (COPY), consistent running totals, a few hundred
    events; then GET /manage/challenges/<pk>/ and GET /api/v1/challenges/<pk>/ as an organisation
    admin (session cookie), one at a time and 4 at a time: p50/p95/p99; the queries of one request;
 2. pledge throughput: one gunicorn (deploy/gunicorn.conf.py: sync workers, max_requests 2000) on a
    free loopback port; closed-loop load (threads, http.client) of POST /api/bench/insert/ (one
    INSERT) and POST /api/v1/challenges/<id>/pledge/, each request from a different person, taken in
    turn round after round; then the pledges in the database against the 2xx answers; then a
    challenge whose goal is crossed mid-run (success exactly once, under load).

--quick judges no speed target: it fails only when a phase breaks.
"""

# ruff: noqa: E402

import argparse
import json
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import django
import psycopg
import redis

from benchmarks.harness.databases import (
    child_env,
    database_drop,
    database_name,
    database_recreate,
    databases_claimed,
)
from benchmarks.harness.databases import database_url as env_database_url
from benchmarks.harness.load import Request, Run, Series, alternating_rounds, closed_loop, round_ratios
from benchmarks.harness.report import Phases, Summary, code_state, heading, line, load_average, median
from benchmarks.harness.servers import Server, gunicorn

SETTINGS = "benchmarks.settings.challenges"
DATABASE_VARIABLE = "BENCH_CHALLENGES_DATABASE_URL"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/crowdact_bench_challenges"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/13"  # the tests use database 15
DEFAULT_QUEUE = "bench-challenges"
BARE_PATH = "/api/bench/insert/"
PLEDGE_ORG, DASHBOARD_ORG = "bench-pledges", "bench-dashboard"
TEAMS = 20

# Targets from the brief.
PLEDGE_RATIO_TARGET = 0.5
DASHBOARD_P95_TARGET_MS = 150.0

# The product, in one place: Django set up with the benchmark settings, then what this benchmark uses.
DATABASE_URL = os.environ[DATABASE_VARIABLE] = env_database_url(DATABASE_VARIABLE, DEFAULT_DATABASE_URL)
BROKER_URL = os.environ["BENCH_CHALLENGES_BROKER_URL"] = os.environ.get(
    "BENCH_CHALLENGES_BROKER_URL", DEFAULT_BROKER_URL
)
BENCH_QUEUE = os.environ["BENCH_CHALLENGES_QUEUE"] = os.environ.get("BENCH_CHALLENGES_QUEUE", DEFAULT_QUEUE)
os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
django.setup()

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import Count, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tenants.utils import tenant_context

from accounts.models import ApiToken, User
from accounts.roles import ORG_ADMIN, PARTICIPANT
from accounts.tokens import PREFIX_LENGTH, SECRET_PREFIX, api_token_hash
from benchmarks.pledgebench.models import BareInsert
from challenges.models import Challenge, ChallengeEvent, Contribution, Metric, Pledge, Team, TeamMembership
from challenges.services import CounterpartInput, challenge_create, challenge_publish
from tenants.models import Organization
from tenants.selectors import organization_host
from tenants.services import organization_create

if settings.SETTINGS_MODULE != SETTINGS:  # Django was set up before this import
    raise ImportError(f"benchmarks.challenges runs with {SETTINGS}, not {settings.SETTINGS_MODULE}")


# --------------------------------------------------------------------------------------------------
# The broker


def broker() -> redis.Redis:
    return redis.Redis.from_url(BROKER_URL)


def broker_keys() -> set[bytes]:
    """This run's keys in the broker: the queue and kombu's bindings of it (other runs may share the
    Redis database, with queues of their own)."""
    mine = re.compile(rb"(.*\.)?" + re.escape(BENCH_QUEUE.encode()) + rb"(\x06\x16\d+)?")
    keys = broker().keys(f"*{BENCH_QUEUE}*")
    return {key for key in keys if isinstance(key, bytes) and mine.fullmatch(key)}


# --------------------------------------------------------------------------------------------------
# People and their credentials


class People:
    """Participants of one organisation, each with a credential used for exactly one request.

    Created in bulk (one precomputed password hash), in teams, with the participant role; each has a
    session (cookie + CSRF token, as a browser sends) or an API token, made directly in the database.
    """

    def __init__(self, organization: Any, auth: str, prefix: str) -> None:
        self.organization, self.auth, self.prefix = organization, auth, prefix
        self.headers: list[dict[str, str]] = []
        self.user_ids: list[int] = []
        self.used = 0
        self.lock = threading.Lock()

    def take(self) -> dict[str, str] | None:
        with self.lock:
            if self.used >= len(self.headers):
                return None
            self.used += 1
            return self.headers[self.used - 1]

    @property
    def remaining(self) -> int:
        return len(self.headers) - self.used

    def grow(self, count: int) -> float:
        """Create `count` more people; return the seconds it took."""
        start = time.perf_counter()
        with tenant_context(self.organization):
            users = people_create(self.prefix, len(self.user_ids), count)
            self.user_ids += [user.pk for user in users]
            if self.auth == "session":
                self.headers += [session_headers(key) for key in sessions_create(users)]
            else:
                self.headers += [{"Authorization": f"Bearer {secret}"} for secret in tokens_create(users)]
        return time.perf_counter() - start

    def ensure(self, needed: int) -> str:
        if self.remaining >= needed:
            return ""
        missing = needed - self.remaining
        seconds = self.grow(missing)
        return f"(created {missing} more people in {seconds:.1f} s)"


_PASSWORD_HASH: list[str] = []


def password_hash() -> str:
    """One real hash (the production hasher) shared by every generated person: hashing is not measured."""
    if not _PASSWORD_HASH:
        _PASSWORD_HASH.append(make_password(secrets.token_urlsafe(16)))
    return _PASSWORD_HASH[0]


def teams_ensure() -> list[Any]:
    if not Team.objects.exists():
        kinds = [Team.Kind.DEPARTMENT, Team.Kind.SITE, Team.Kind.NEIGHBOURHOOD]
        Team.objects.bulk_create(
            Team(name=f"Team {index:02d}", kind=kinds[index % 3]) for index in range(1, TEAMS + 1)
        )
    return list(Team.objects.order_by("pk"))


def people_create(prefix: str, first: int, count: int, batch: int = 2000) -> list[Any]:
    """`count` participants in the current schema, spread over the teams, with the participant role."""
    teams = teams_ensure()
    role = Group.objects.get(name=PARTICIPANT)
    hashed = password_hash()
    users = User.objects.bulk_create(
        [
            User(email=f"{prefix}{number:07d}@bench.test", display_name=f"Person {number}", password=hashed)
            for number in range(first, first + count)
        ],
        batch_size=batch,
    )
    TeamMembership.objects.bulk_create(
        [TeamMembership(user=user, team=teams[user.pk % len(teams)]) for user in users], batch_size=batch
    )
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=user.pk, group_id=role.pk) for user in users], batch_size=batch
    )
    return users


def sessions_create(users: Sequence[Any]) -> list[str]:
    """A signed-in session per person (what django.contrib.auth.login stores); return the keys."""
    store = SessionStore()
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    # The backend django.contrib.auth.login records: the one that signs people in and loads them
    # (the first, django-axes' throttle, only refuses).
    backend = next(
        path for path in settings.AUTHENTICATION_BACKENDS if hasattr(load_backend(path), "get_user")
    )
    rows, keys = [], []
    for user in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: backend,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        keys.append(key)
    Session.objects.bulk_create(rows, batch_size=2000)
    return keys


def session_headers(session_key: str) -> dict[str, str]:
    """The cookies and header a browser sends: DRF's session authentication checks CSRF on a POST."""
    csrf = get_random_string(32)
    return {
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}; {settings.CSRF_COOKIE_NAME}={csrf}",
        "X-CSRFToken": csrf,
    }


def tokens_create(users: Sequence[Any]) -> list[str]:
    """An API token per person, as accounts.tokens makes them (only the SHA-256 is stored)."""
    secrets_list = [SECRET_PREFIX + secrets.token_urlsafe(32) for _ in users]
    ApiToken.objects.bulk_create(
        [
            ApiToken(
                name="benchmark",
                prefix=secret[:PREFIX_LENGTH],
                key_hash=api_token_hash(secret),
                user=user,
                created_by=user,
            )
            for user, secret in zip(users, secrets_list, strict=True)
        ],
        batch_size=2000,
    )
    return secrets_list


def admin_of() -> Any:
    """The current organisation's first admin."""
    return User.objects.filter(groups__name=ORG_ADMIN).order_by("pk").first()


# --------------------------------------------------------------------------------------------------
# Phase 0: organisations


def organizations_create() -> dict[str, Any]:
    created = {}
    for slug in (PLEDGE_ORG, DASHBOARD_ORG):
        start = time.perf_counter()
        provisioned = organization_create(
            slug=slug, name=slug.replace("-", " ").title(), kind="company", admin_email=f"admin@{slug}.test"
        )
        # On the plan such a company would need: Discovery opens one challenge and admits 50 active
        # participants (billing.limits); Business's limits are checked on every pledge, as in the product.
        Organization.objects.filter(pk=provisioned.organization.pk).update(plan=Organization.Plan.BUSINESS)
        provisioned.organization.refresh_from_db()
        created[slug] = provisioned.organization
        line(f"organisation {slug}: provisioned in {time.perf_counter() - start:.2f} s ({provisioned.url})")
    return created


def host_of(organization: Any) -> str:
    return str(organization_host(organization))


def challenge_open(
    *, title: str, goal_kind: str, goal_target: Decimal, days_before: int, days_after: int, metric: Any = None
) -> Any:
    """An open challenge with a counterpart, made and published through the services."""
    actor = admin_of()
    now = timezone.now()
    challenge = challenge_create(
        actor=actor,
        fields={
            "title": title,
            "description": "Benchmark challenge.",
            "action": "Take part",
            "category": "environment",
            "starts_at": now - timedelta(days=days_before),
            "deadline": now + timedelta(days=days_after),
            "goal_kind": goal_kind,
            "goal_target": goal_target,
            "metric": metric,
        },
        counterpart=CounterpartInput(
            description="The organisation plants a tree per participant.",
            amount=Decimal(5000),
            currency="EUR",
        ),
    )
    return challenge_publish(actor=actor, challenge_id=challenge.pk)


# --------------------------------------------------------------------------------------------------
# Phase 1: the dashboard


@dataclass
class DashboardData:
    challenge_id: int
    participants: int
    contributions: int
    quantity_total: Decimal
    events: int
    admin_session: str


def dashboard_generate(
    organization: Any, participants: int, contributions: int, events: int
) -> DashboardData:
    """Participants in teams, one open km-cycled challenge with their pledges and contributions spread
    over its 30 past days, consistent running totals, and a few hundred events."""
    rng = random.Random(20261129)  # noqa: S311 - benchmark data, not secrets
    with tenant_context(organization):
        schema = organization.schema_name
        start = time.perf_counter()
        users = people_create("d", 0, participants)
        team_of = dict(TeamMembership.objects.values_list("user_id", "team_id"))
        line(f"  {participants} participants in {TEAMS} teams: {time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        metric = Metric.objects.get(key="km-cycled")
        challenge = challenge_open(
            title="Cycle to work",
            goal_kind=Challenge.GoalKind.QUANTITY,
            goal_target=Decimal(10**9),
            days_before=30,
            days_after=30,
            metric=metric,
        )
        now = timezone.now()
        first_day = timezone.localdate(challenge.starts_at)
        window = (timezone.localdate(now) - first_day).days + 1  # days from the start to today
        per_person = max(1, contributions // participants)
        total = Decimal(0)
        count = 0
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(
                f'COPY "{schema}".{Pledge._meta.db_table} '
                "(challenge_id, user_id, team_id, created_at) FROM STDIN"
            ) as copy:
                for user in users:
                    copy.write_row((challenge.pk, user.pk, team_of[user.pk], now))
            with raw.copy(
                f'COPY "{schema}".{Contribution._meta.db_table} '
                "(challenge_id, user_id, team_id, day, amount, note, created_at) FROM STDIN"
            ) as copy:
                for index, user in enumerate(users):
                    # At most one entry a day per person, far under the metric's daily cap (150 km).
                    wanted = per_person + (1 if index < contributions - per_person * participants else 0)
                    for offset in rng.sample(range(window), min(wanted, window)):
                        amount = Decimal(rng.randint(50, 4000)) / 100
                        total += amount
                        count += 1
                        copy.write_row(
                            (challenge.pk, user.pk, team_of[user.pk], first_day + timedelta(days=offset),
                             amount, "", now)
                        )  # fmt: skip
        ChallengeEvent.objects.bulk_create(
            ChallengeEvent(
                challenge=challenge,
                subject=ChallengeEvent.Subject.CHALLENGE,
                from_status=Challenge.Status.OPEN,
                to_status=Challenge.Status.OPEN,
                actor=None,
                cause=f"Weekly reminder #{number}",
            )
            for number in range(events)
        )
        # The running totals, as the services would have left them; a goal above the pace, so the page
        # shows a forecast "at risk".
        Challenge.objects.filter(pk=challenge.pk).update(
            pledge_count=participants, quantity_total=total, goal_target=(total * 3).quantize(Decimal(1))
        )
        line(
            f"  challenge #{challenge.pk}: {participants} pledges, {count} contributions over {window} days "
            f"(COPY), {events + 2} events: {time.perf_counter() - start:.1f} s"
        )
        start = time.perf_counter()
        with connection.cursor() as cursor:
            for model in (Contribution, Pledge, TeamMembership, ChallengeEvent, Challenge):
                cursor.execute(f'VACUUM ANALYZE "{schema}".{model._meta.db_table}')
            cursor.execute(f'ANALYZE "{schema}".accounts_user')
        line(
            f"  VACUUM ANALYZE of the loaded tables (what autovacuum would do): "
            f"{time.perf_counter() - start:.1f} s"
        )

        session_key = sessions_create([admin_of()])[0]
        return DashboardData(challenge.pk, participants, count, total, events + 2, session_key)


def dashboard_consistency(organization: Any, data: DashboardData) -> list[str]:
    with tenant_context(organization):
        challenge = Challenge.objects.get(pk=data.challenge_id)
        summed = Contribution.objects.filter(challenge=challenge).aggregate(
            total=Sum("amount"), n=Count("pk")
        )
        pledges = Pledge.objects.filter(challenge=challenge, withdrawn_at__isnull=True).count()
    problems = []
    if summed["total"] != challenge.quantity_total or challenge.quantity_total != data.quantity_total:
        problems.append(
            f"quantity_total {challenge.quantity_total} != sum of contributions {summed['total']}"
        )
    if pledges != challenge.pledge_count:
        problems.append(f"pledge_count {challenge.pledge_count} != active pledges {pledges}")
    line(
        f"  totals: quantity_total {challenge.quantity_total} = sum of {summed['n']} contributions "
        f"{summed['total']}; pledge_count {challenge.pledge_count} = {pledges} active pledges; "
        f"goal {challenge.goal_target} ({'consistent' if not problems else 'INCONSISTENT'})"
    )
    return problems


def query_profile(organization: Any, host: str, path: str, session_key: str, explain: bool) -> None:
    """The SQL of one request, in process (same middleware and view): count, time, the slowest ones."""
    client = Client(HTTP_HOST=host)
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    client.get(path)  # warm
    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - start) * 1000
    queries = [(float(query["time"]) * 1000, query["sql"]) for query in captured.captured_queries]
    sql_ms = sum(ms for ms, _ in queries)
    line(
        f"  {path}: status {response.status_code}, {len(response.content)} bytes, "
        f"{elapsed:.1f} ms in process, "
        f"{len(queries)} queries taking {sql_ms:.1f} ms (the rest, {elapsed - sql_ms:.1f} ms, is Python)"
    )
    for ms, sql in sorted(queries, reverse=True)[:3]:
        line(f"    {ms:6.1f} ms  {' '.join(sql.split())[:150]}")
    if explain and queries:
        slowest = max(queries)[1]
        with tenant_context(organization), connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slowest}")
            line("    EXPLAIN ANALYZE of the slowest:")
            for (row,) in cursor.fetchall():
                line(f"      {row}")


def get_series(
    port: int, host: str, path: str, session_key: str, marker: bytes, *, requests: int, concurrency: int
) -> Run:
    request = Request("GET", path, {"Host": host, "Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"})
    return closed_loop(
        port,
        concurrency=concurrency,
        requests=requests,
        next_request=lambda: request,
        good=lambda request, status, body: status == 200 and marker in body,
    )


def latency_row(label: str, run: Run) -> str:
    return (
        f"  {label:<46} p50 {run.ms(0.5):6.1f} ms  p95 {run.ms(0.95):6.1f} ms  p99 {run.ms(0.99):6.1f} ms  "
        f"max {max(run.latencies) * 1000:6.1f} ms  {run.rps:5.1f} req/s  {run.errors} errors "
        f"({run.ok + run.errors} requests)"
    )


# --------------------------------------------------------------------------------------------------
# Phase 2: pledges


class ActivitySampler:
    """What the database's client backends are doing, sampled every 20 ms from another connection
    while a load runs: running a statement, waiting for a lock (the challenge's row lock), or idle
    inside a transaction (a worker between two statements of its transaction, lock held)."""

    QUERY = (
        "SELECT count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock'), "
        "count(*) FILTER (WHERE wait_event_type = 'Lock'), "
        "count(*) FILTER (WHERE state = 'idle in transaction') "
        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend'"
    )

    def __init__(self) -> None:
        self.label: str | None = None
        self.samples: dict[str, list[tuple[int, int, int]]] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            while not self.stop.wait(0.02):
                label = self.label
                if label is None:
                    continue
                row = conn.execute(self.QUERY).fetchone()
                if row is not None and self.label == label:
                    self.samples.setdefault(label, []).append((int(row[0]), int(row[1]), int(row[2])))

    def __enter__(self) -> "ActivitySampler":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def describe(self, label: str) -> str:
        rows = self.samples.get(label, [])
        if not rows:
            return "no samples"
        active, waiting, idle = (sum(row[index] for row in rows) / len(rows) for index in range(3))
        return (
            f"on average {active:.2f} backends running a statement, {waiting:.2f} waiting for a lock, "
            f"{idle:.2f} idle in a transaction ({len(rows)} samples)"
        )


def request_cost(
    organization: Any, host: str, path: str, people: People, repeat: int
) -> tuple[float, list[tuple[float, str]]]:
    """In process, one request at a time (same middleware, authentication and view, no HTTP server,
    no concurrency): the median time of `repeat` requests, and the queries of one of them."""

    def post() -> int:
        credentials = people.take()
        if credentials is None:
            raise SystemExit("Out of people for the in-process profile.")
        client = Client(HTTP_HOST=host, enforce_csrf_checks=True)
        for cookie in credentials.get("Cookie", "").split("; "):
            if "=" in cookie:
                key, value = cookie.split("=", 1)
                client.cookies[key] = value
        headers = {key: value for key, value in credentials.items() if key != "Cookie"}
        return client.post(path, data=b"{}", content_type="application/json", headers=headers).status_code

    for _ in range(3):
        post()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        post()
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as captured:
        status = post()
    if status != 201:
        raise SystemExit(f"In-process POST {path} answered {status}.")
    queries = [(float(query["time"]) * 1000, " ".join(query["sql"].split())) for query in captured]
    return median(times), queries


def post_runner(
    port: int, host: str, people: People, concurrency: int, sampler: ActivitySampler | None = None
) -> Callable[[str, float], Run]:
    def run(path: str, seconds: float) -> Run:
        def next_request() -> Request | None:
            credentials = people.take()
            if credentials is None:
                return None
            return Request(
                "POST", path, {"Host": host, "Content-Type": "application/json", **credentials}, b"{}"
            )

        if sampler is not None:
            sampler.label = path
        try:
            return closed_loop(
                port,
                concurrency=concurrency,
                seconds=seconds,
                next_request=next_request,
                good=lambda request, status, body: status == 201,
            )
        finally:
            if sampler is not None:
                sampler.label = None

    return run


def pledge_state(organization: Any, challenge_id: int) -> dict[str, Any]:
    with tenant_context(organization):
        challenge = Challenge.objects.select_related("counterpart").get(pk=challenge_id)
        succeed_events = list(
            ChallengeEvent.objects.filter(challenge=challenge, to_status=Challenge.Status.SUCCEEDED)
        )
        crossing = None
        if succeed_events:
            found = re.search(r"#(\d+)", succeed_events[0].cause)
            if found:
                crossing = Pledge.objects.filter(challenge=challenge, pk__lte=int(found.group(1))).count()
        return {
            "pledges": Pledge.objects.filter(challenge=challenge, withdrawn_at__isnull=True).count(),
            "pledge_count": challenge.pledge_count,
            "status": challenge.status,
            "goal": challenge.goal_target,
            "succeed_events": len(succeed_events),
            "counterpart_due_events": ChallengeEvent.objects.filter(
                challenge=challenge, subject=ChallengeEvent.Subject.COUNTERPART, to_status="due"
            ).count(),
            "counterpart": challenge.counterpart.status,
            "pledges_up_to_crossing": crossing,
            "bare_rows": BareInsert.objects.count(),
        }


def queued_tasks(queue: str) -> Counter[str]:
    """The messages waiting in the broker's queue, as "task(args) in schema" (Redis transport)."""
    found: Counter[str] = Counter()
    for raw in broker().lrange(queue, 0, -1):
        message = json.loads(raw)
        headers = message.get("headers", {})
        found[f"{headers.get('task')}{headers.get('argsrepr')} in {headers.get('_schema_name')}"] += 1
    return found


# --------------------------------------------------------------------------------------------------
# The benchmark


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.challenges",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="every phase with small data and short loads; no speed verdict"
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="load per endpoint per round (20; quick 2)"
    )
    parser.add_argument("--warmup", type=float, default=None, help="warm-up per endpoint (5 s; quick 1)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of bare + pledge (3; quick 2)")
    parser.add_argument(
        "--slices",
        type=int,
        default=None,
        help="a round's load per endpoint, cut in slices taken in turn (4)",
    )
    parser.add_argument("--concurrency", type=int, default=16, help="load-generator connections (16)")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1, help="gunicorn workers")
    parser.add_argument(
        "--no-recycle", action="store_true", help="gunicorn without max_requests (workers never recycled)"
    )
    parser.add_argument(
        "--auth", choices=["session", "token"], default="session", help="session cookie + CSRF, or API token"
    )
    parser.add_argument("--participants", type=int, default=None, help="dashboard participants (10,000)")
    parser.add_argument("--contributions", type=int, default=None, help="dashboard contributions (100,000)")
    parser.add_argument("--requests", type=int, default=None, help="dashboard requests per series (200)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest dashboard query")
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument("--skip-pledges", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "seconds": 2.0 if quick else 20.0,
        "warmup": 1.0 if quick else 5.0,
        "rounds": 2 if quick else 3,
        "slices": 1 if quick else 4,
        "participants": 1_000 if quick else 10_000,
        "contributions": 10_000 if quick else 100_000,
        "requests": 40 if quick else 200,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def busy_warning() -> None:
    """Say so when other work is running: this benchmark measures a shared 2-core machine."""
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        line(
            f"WARNING: the machine is busy (1-minute load average {load:.1f} on {os.cpu_count()} CPUs "
            "before this phase): absolute req/s and latencies are worse than on an idle machine; the "
            "pledge/bare ratio, measured in turn, suffers less."
        )


def dashboard_phase(
    args: argparse.Namespace, server: Server, organization: Any, data: DashboardData, summary: Summary
) -> None:
    host = host_of(organization)
    page = f"/manage/challenges/{data.challenge_id}/"
    api = f"/api/v1/challenges/{data.challenge_id}/"
    targets = [("manager page " + page, page, b"Cycle to work"), ("API " + api, api, b'"team_standings"')]
    line(
        f"As the organisation admin (session cookie), host {host}; {args.requests} requests per series "
        f"after 8 warm-up requests per worker"
    )
    busy_warning()
    explain = args.explain
    for label, path, marker in targets:

        def series(requests: int, concurrency: int, path: str = path, marker: bytes = marker) -> Run:
            return get_series(
                server.port,
                host,
                path,
                data.admin_session,
                marker,
                requests=requests,
                concurrency=concurrency,
            )

        warm = series(8 * args.workers, args.workers)
        if warm.errors:
            line(f"  warm-up of {path}: {warm.errors} errors {dict(warm.statuses)}")
        sequential, concurrent = series(args.requests, 1), series(args.requests, 4)
        line(latency_row(f"{label}, 1 at a time", sequential))
        line(latency_row(f"{label}, 4 at a time", concurrent))
        p95 = sequential.ms(0.95)
        errors = sequential.errors + concurrent.errors
        met = p95 < DASHBOARD_P95_TARGET_MS
        explain = explain or not met or errors != 0
        summary.target(
            met,
            f"{label}: p95 {p95:.1f} ms one at a time "
            f"(p50 {sequential.ms(0.5):.1f}, p99 {sequential.ms(0.99):.1f}; "
            f"target p95 < {DASHBOARD_P95_TARGET_MS:.0f} ms; {errors} errors); "
            f"4 at a time p95 {concurrent.ms(0.95):.1f} ms "
            f"({data.participants} participants, {data.contributions} contributions)",
            broken=errors != 0,
        )
    line("Queries of one request (in process, same settings):")
    for _, path, _ in targets:
        query_profile(organization, host, path, data.admin_session, explain)


def pledge_rounds(
    args: argparse.Namespace, run: Callable[[str, float], Run], people: People, pledge_path: str
) -> tuple[Series, Series, Run, Run]:
    """Warm-up of each endpoint, then rounds: in each, both endpoints get args.seconds of load, in
    slices taken in turn, the order alternating from round to round."""
    warm_bare = run(BARE_PATH, args.warmup)
    warm_pledge = run(pledge_path, args.warmup)
    line(f"  warm-up  bare    {warm_bare.brief()}")
    line(f"  warm-up  pledge  {warm_pledge.brief()}")
    # Each request takes a new person: enough for every round with a margin, topped up before each.
    expected_rps = max(warm_bare.rps, 50.0) + max(warm_pledge.rps, 50.0)
    extra = people.ensure(int(expected_rps * args.seconds * args.rounds * 1.3) + 1000)
    if extra:
        line(f"  {extra}")
    paths = {"bare INSERT endpoint": BARE_PATH, "pledge endpoint": pledge_path}
    bare_label, pledge_label = paths

    def before_round(number: int, series: Mapping[str, Series]) -> None:
        fastest = max([warm_bare.rps, *[r.rps for r in series[bare_label].runs]]) + max(
            [warm_pledge.rps, *[r.rps for r in series[pledge_label].runs]]
        )
        extra = people.ensure(int(max(fastest, expected_rps) * args.seconds * 1.5) + 500)
        if extra:
            line(f"  {extra}")

    def after_round(number: int, results: Mapping[str, Run]) -> None:
        bare_run, pledge_run = results[bare_label], results[pledge_label]
        line(f"  round {number}  bare    {bare_run.brief()}")
        ratio = pledge_run.rps / bare_run.rps if bare_run.rps else 0.0
        line(f"  round {number}  pledge  {pledge_run.brief()}  ratio {ratio:.3f}")

    bare, pledge = alternating_rounds(
        lambda label, seconds: run(paths[label], seconds),
        list(paths),
        rounds=args.rounds,
        seconds=args.seconds,
        slices=args.slices,
        alternate_order=True,
        before_round=before_round,
        after_round=after_round,
    )
    return bare, pledge, warm_bare, warm_pledge


def pledge_phase(
    args: argparse.Namespace,
    server: Server,
    organization: Any,
    people: People,
    challenge_id: int,
    summary: Summary,
) -> float:
    """Bare and pledge endpoints in turn; return the pledge endpoint's median req/s."""
    host = host_of(organization)
    pledge_path = f"/api/v1/challenges/{challenge_id}/pledge/"
    sampler = ActivitySampler()
    run = post_runner(server.port, host, people, args.concurrency, sampler)
    auth = "session cookie + CSRF token" if args.auth == "session" else "API token"
    line(
        f"POST {BARE_PATH} (one INSERT) vs POST {pledge_path}; host {host}; auth: {auth}, "
        f"a different person for every request; {args.concurrency} closed-loop connections; "
        f"{args.rounds} rounds of {args.seconds:g} s per endpoint (in {args.slices} slices taken in turn, "
        f"order alternating) after {args.warmup:g} s of warm-up each"
    )
    line(f"Load average before: {load_average()}")
    busy_warning()
    with sampler:
        bare, pledge, warm_bare, warm_pledge = pledge_rounds(args, run, people, pledge_path)
    line()
    line("Medians over the rounds:")
    line(f"  {bare.row(30)}")
    line(f"  {pledge.row(30)}")
    ratios = round_ratios(pledge, bare)
    ratio = median(ratios)
    line(
        f"Ratio pledge / bare per round: {', '.join(f'{value:.3f}' for value in ratios)}; "
        f"median {ratio:.3f} (ratio of the medians {pledge.rps / bare.rps:.3f})"
    )
    line(f"Load average after: {load_average()}")
    line(f"Database backends during the bare runs:   {sampler.describe(BARE_PATH)}")
    line(f"Database backends during the pledge runs: {sampler.describe(pledge_path)}")

    state = pledge_state(organization, challenge_id)
    pledge_2xx = warm_pledge.ok + sum(r.ok for r in pledge.runs)
    bare_2xx = warm_bare.ok + sum(r.ok for r in bare.runs)
    counted = state["pledges"] == pledge_2xx == state["pledge_count"]
    line(
        f"Database: {state['pledges']} active pledges, challenge.pledge_count {state['pledge_count']}; "
        f"2xx answers of the pledge endpoint (warm-up included): {pledge_2xx} -> "
        f"{'equal' if counted else 'DIFFERENT'}; bare rows {state['bare_rows']} for {bare_2xx} 2xx answers"
    )
    every_run = [*bare.runs, *pledge.runs, warm_bare, warm_pledge]
    exhausted = any(r.exhausted for r in every_run)
    errors = sum(r.errors for r in every_run)
    summary.target(
        ratio >= PLEDGE_RATIO_TARGET,
        f"pledge throughput: {pledge.rps:.0f} req/s vs bare INSERT {bare.rps:.0f} req/s, "
        f"ratio {ratio:.3f} (target >= {PLEDGE_RATIO_TARGET}); "
        f"p50 {pledge.p50_ms:.1f} vs {bare.p50_ms:.1f} ms, p99 {pledge.p99_ms:.1f} vs {bare.p99_ms:.1f} ms; "
        f"{errors} errors; {state['pledges']} pledges in the database for {pledge_2xx} 2xx answers"
        f"{'; RAN OUT OF PEOPLE' if exhausted else ''}",
        broken=errors != 0 or not counted or exhausted,
    )
    cost_profile(organization, host, people)
    return pledge.rps


def cost_profile(organization: Any, host: str, people: People) -> None:
    """Where the ratio comes from without concurrency: each endpoint in process, one request at a time
    (the pledges go to a challenge of their own, after the counts above were checked)."""
    with tenant_context(organization):
        profiled = challenge_open(
            title="Profiled one request at a time",
            goal_kind=Challenge.GoalKind.PARTICIPANTS,
            goal_target=Decimal(10**7),
            days_before=1,
            days_after=30,
        )
    people.ensure(200)
    line("In process, one request at a time (no HTTP server, no concurrency; median of 40):")
    costs = {}
    for label, path in (("bare", BARE_PATH), ("pledge", f"/api/v1/challenges/{profiled.pk}/pledge/")):
        costs[label], queries = request_cost(organization, host, path, people, 40)
        sql_ms = sum(ms for ms, _ in queries)
        line(
            f"  {label:<6} {costs[label]:5.1f} ms, {len(queries)} queries "
            f"({sql_ms:.0f} ms of SQL, Django's clock, 1 ms resolution):"
        )
        for ms, sql in queries:
            line(f"    {ms:4.1f} ms  {sql[:120]}")
    line(f"  cost ratio bare / pledge, one request at a time: {costs['bare'] / costs['pledge']:.3f}")


def crossing_phase(
    args: argparse.Namespace,
    server: Server,
    organization: Any,
    people: People,
    pledge_rps: float,
    summary: Summary,
) -> None:
    """A participants goal about half of what one run brings: success must happen once, mid-run."""
    goal = max(20, int(pledge_rps * args.seconds / 2))
    with tenant_context(organization):
        challenge = challenge_open(
            title="Crossed under load",
            goal_kind=Challenge.GoalKind.PARTICIPANTS,
            goal_target=Decimal(goal),
            days_before=1,
            days_after=30,
        )
    extra = people.ensure(int(pledge_rps * args.seconds * 2) + 500)
    if extra:
        line(f"  {extra}")
    run = post_runner(server.port, host_of(organization), people, args.concurrency)
    result = run(f"/api/v1/challenges/{challenge.pk}/pledge/", args.seconds)
    state = pledge_state(organization, challenge.pk)
    line(f"  challenge #{challenge.pk}, goal {goal} participants: {result.brief()}")
    line(
        f"  after: status {state['status']}; {state['succeed_events']} 'succeeded' event(s); "
        f"counterpart {state['counterpart']} ({state['counterpart_due_events']} 'due' event(s)); "
        f"{state['pledges']} pledges, pledge_count {state['pledge_count']}, {result.ok} 2xx answers; "
        f"pledges numbered up to the one that crossed: {state['pledges_up_to_crossing']} (goal {goal}; "
        "equal when pledges are numbered under the row lock, as pledge_create does now)"
    )
    ok = (
        state["status"] == Challenge.Status.SUCCEEDED
        and state["succeed_events"] == 1
        and state["counterpart_due_events"] == 1
        and state["counterpart"] == "due"
        and state["pledges"] == state["pledge_count"] == result.ok
        and result.errors == 0
        and not result.exhausted
    )
    summary.check(
        ok,
        f"goal crossed under load (goal {goal}): succeeded {state['succeed_events']} "
        f"time(s), at pledge #{state['pledges_up_to_crossing']} of {state['pledges']}; counterpart due "
        f"{state['counterpart_due_events']} time(s); {result.errors} errors; "
        f"{result.rps:.0f} req/s, p99 {result.ms(0.99):.1f} ms; pledges kept coming after success",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with databases_claimed([DATABASE_URL], DATABASE_VARIABLE):
        return run(args)


def run(args: argparse.Namespace) -> int:
    # WhiteNoise warns when STATIC_ROOT was never collected; the benchmark serves no static file.
    warnings.filterwarnings("ignore", message="No directory at")
    phases = Phases()
    summary = Summary(judge_speed=not args.quick)
    log_dir = Path(tempfile.mkdtemp(prefix="challenges-benchmark-"))
    name = database_name(DATABASE_URL)
    quick = " (QUICK run: every phase, small sizes, no speed verdict)" if args.quick else ""
    line(
        f"Challenges benchmark{quick}: database {name}; {os.cpu_count()} CPUs; "
        f"load average {load_average()}; server logs in {log_dir}"
    )
    line(f"Python {sys.version.split()[0]}; settings {SETTINGS}; code: {code_state()}")
    line(
        f"Celery: real Redis broker {BROKER_URL}, queue '{BENCH_QUEUE}', no worker: tasks are queued "
        "as in production and none runs; the queue is read and its keys deleted at the end."
    )
    keys_before = broker_keys()
    if keys_before:
        raise SystemExit(
            f"The broker {BROKER_URL} already holds the queue '{BENCH_QUEUE}' ({len(keys_before)} keys): "
            "another run uses it. Set BENCH_CHALLENGES_QUEUE (or BENCH_CHALLENGES_BROKER_URL) to a free one."
        )

    try:
        with phases.phase("Phase 0: database, public schema, organisations"):
            database_recreate(DATABASE_URL)
            start = time.perf_counter()
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
            line(f"migrate_schemas --shared: {time.perf_counter() - start:.1f} s")
            organizations = organizations_create()

        pledge_org, dashboard_org = organizations[PLEDGE_ORG], organizations[DASHBOARD_ORG]
        events = 50 if args.quick else 300
        with phases.phase("Phase 1a: dashboard data"):
            data = dashboard_generate(dashboard_org, args.participants, args.contributions, events)
            problems = dashboard_consistency(dashboard_org, data)
            if problems:
                summary.check(False, f"dashboard data inconsistent: {'; '.join(problems)}")

        with phases.phase("Phase 2a: pledge data"):
            people = People(pledge_org, args.auth, "p")
            with tenant_context(pledge_org):
                challenge = challenge_open(
                    title="Join the movement",
                    goal_kind=Challenge.GoalKind.PARTICIPANTS,
                    goal_target=Decimal(10**7),
                    days_before=1,
                    days_after=30,
                )
            initial = 4_000 if args.quick else 30_000
            seconds = people.grow(initial)
            credential = "a session" if args.auth == "session" else "an API token"
            line(
                f"open participants challenge #{challenge.pk} (goal 10,000,000, with a counterpart); "
                f"{initial} people in {TEAMS} teams, each with {credential}, in {seconds:.1f} s "
                "(more are made between runs when needed)"
            )
        connections.close_all()

        with gunicorn(
            child_env(SETTINGS),
            workers=args.workers,
            log_dir=log_dir,
            probe_host=host_of(pledge_org),
            recycle=not args.no_recycle,
        ) as server:
            line(f"\nServer: {server.description}")
            if not args.skip_dashboard:
                with phases.phase(
                    f"Phase 1b: dashboard with {data.participants} participants and "
                    f"{data.contributions} contributions"
                ):
                    dashboard_phase(args, server, dashboard_org, data, summary)
                    connections.close_all()
            if not args.skip_pledges:
                with phases.phase("Phase 2b: pledge throughput vs a bare INSERT endpoint"):
                    pledge_rps = pledge_phase(args, server, pledge_org, people, challenge.pk, summary)
                with phases.phase("Phase 2c: a participants goal crossed mid-run"):
                    crossing_phase(args, server, pledge_org, people, pledge_rps, summary)
            boots, server_errors = server.boots(), server.server_errors()
        connections.close_all()

        heading("Broker and server")
        tasks = queued_tasks(BENCH_QUEUE)
        line(f"Tasks queued in {BROKER_URL} '{BENCH_QUEUE}' (no worker ran them):")
        for task, count in sorted(tasks.items()):
            line(f"  {count:3d} x {task}")
        if not args.skip_pledges:
            reached = sum(count for task, count in tasks.items() if "goal_reached" in task)
            summary.check(reached == 1, f"goal_reached notification queued {reached} time(s) (target 1)")
        if boots:
            line(
                f"gunicorn: {boots - args.workers} worker recycle(s) (max_requests) during the run, "
                f"{boots} workers booted in all; error lines in its log: {len(server_errors)}"
            )
        else:
            line(f"gunicorn: its log {server.log_path} could not be read (deleted by another program?)")
        for entry in server_errors[:5]:
            line(f"  {entry}")
        if server_errors:
            summary.check(False, f"{len(server_errors)} error lines in the gunicorn log ({log_dir})")
    finally:
        connections.close_all()
        new_keys = broker_keys()
        if new_keys:
            broker().delete(*new_keys)
        line(f"\nPurged the broker: deleted the {len(new_keys)} key(s) of '{BENCH_QUEUE}' in {BROKER_URL}.")
        if args.keep:
            line(f"Kept the database {name} (--keep).")
        else:
            database_drop(DATABASE_URL)
            line(f"Dropped the database {name}.")

    if not args.keep and not summary.failed():
        shutil.rmtree(log_dir, ignore_errors=True)
    phases.report()
    return summary.report("Summary" + quick)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
