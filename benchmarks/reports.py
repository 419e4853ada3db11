"""Reports benchmark: the impact figures, dashboard and PDF of an organisation with 10,000
participants, 50 challenges and 200,000 contributions.

Run from the project root (PostgreSQL on 127.0.0.1:5432 user postgres):

    .venv/bin/python -m benchmarks.reports            # the acceptance run
    .venv/bin/python -m benchmarks.reports --quick    # every phase, small data, no speed verdict

It works in its own database, crowdact_bench_reports (BENCH_REPORTS_DATABASE_URL), dropped and
created at the start and dropped at the end unless --keep, with the settings benchmarks.settings.reports.

Phases:
 0. database, public schema, one company (tenants.services.organization_create);
 1. data: 20 teams, N participants (each in a team, one pledge), 50 quantity challenges (km cycled,
    over the last 120 days), M contributions spread over them and the days; then VACUUM (ANALYZE),
    as autovacuum would have done on a live database;
 2. `impact_report` of the last full quarter (compared with the one before): median time and queries;
 3. GET /manage/impact/ for that quarter, in process (test Client, the admin's session): p50/p95;
 4. the PDF of that quarter (reports.documents.report_pdf), rendered in a fresh Python process, as a
    report worker would: its wall time and peak memory (the process's maximum resident set).

Targets (issue 11): selectors < 150 ms, dashboard p95 < 200 ms, PDF < 4 s and < 200 MB.
"""

# ruff: noqa: E402

import argparse
import datetime as dt
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import django

from benchmarks.harness.databases import (
    child_env,
    database_drop,
    database_name,
    database_recreate,
    databases_claimed,
)
from benchmarks.harness.databases import database_url as env_database_url
from benchmarks.harness.report import Phases, Summary, code_state, line, load_average, median, percentile

SETTINGS = "benchmarks.settings.reports"
DATABASE_VARIABLE = "BENCH_REPORTS_DATABASE_URL"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/crowdact_bench_reports"
ORG = "bench-reports"
DATABASE_URL = env_database_url(DATABASE_VARIABLE, DEFAULT_DATABASE_URL)

os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
django.setup()

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import PARTICIPANT
from challenges.models import Challenge, Contribution, Metric, Pledge, Team, TeamMembership
from reports.periods import quarter_period
from reports.selectors import impact_report
from tenants.models import Organization
from tenants.services import organization_create

SELECTORS_MS, DASHBOARD_P95_MS, PDF_SECONDS, PDF_MB = 150, 200, 4.0, 200
TEAMS, BATCH = 20, 5000


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, short series, no speed verdict")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    args.participants, args.challenges, args.contributions = (
        (300, 10, 3000) if args.quick else (10_000, 50, 200_000)
    )
    args.rounds = 3 if args.quick else 10
    args.requests = 8 if args.quick else 40
    return args


def last_quarter(today: dt.date) -> tuple[dt.date, dt.date]:
    quarter = (today.month - 1) // 3  # the quarter before this one (0: the last of last year)
    return quarter_period(today.year - 1, 4) if quarter == 0 else quarter_period(today.year, quarter)


def data_write(args: argparse.Namespace, rng: random.Random) -> User:
    today = timezone.localdate()
    teams = Team.objects.bulk_create(
        [Team(name=f"Team {n:02}", headcount=args.participants // TEAMS + 20) for n in range(TEAMS)]
    )
    admin = User.objects.get(email="admin@bench.test")
    people = User.objects.bulk_create(
        [User(email=f"p{n}@bench.test", display_name=f"Person {n}") for n in range(args.participants)],
        batch_size=BATCH,
    )
    from django.contrib.auth.models import Group

    Group.objects.get(name=PARTICIPANT).user_set.add(*people)
    team_of = {person.pk: teams[n % TEAMS].pk for n, person in enumerate(people)}
    TeamMembership.objects.bulk_create(
        [TeamMembership(user_id=pk, team_id=team) for pk, team in team_of.items()], batch_size=BATCH
    )
    metric = Metric.objects.get(key="km-cycled")
    now = timezone.now()
    challenges = Challenge.objects.bulk_create([
        Challenge(
            title=f"Challenge {n:02}", category=Challenge.Category.ENVIRONMENT,
            goal_kind=Challenge.GoalKind.QUANTITY, goal_target=Decimal(10**9), metric=metric,
            status=Challenge.Status.OPEN, starts_at=now - dt.timedelta(days=200),
            deadline=now + dt.timedelta(days=30),
        )
        for n in range(args.challenges)
    ])  # fmt: skip
    Pledge.objects.bulk_create(
        [
            Pledge(challenge=challenges[n % len(challenges)], user=p, team_id=team_of[p.pk])
            for n, p in enumerate(people)
        ],
        batch_size=BATCH,
    )
    rows = []
    for _ in range(args.contributions):
        person = people[rng.randrange(len(people))]
        rows.append(Contribution(
            challenge=challenges[person.pk % len(challenges)],
            user=person, team_id=team_of[person.pk], day=today - dt.timedelta(days=rng.randrange(1, 190)),
            amount=Decimal(rng.randrange(1, 30)),
        ))  # fmt: skip
        if len(rows) == BATCH:
            Contribution.objects.bulk_create(rows)
            rows = []
    Contribution.objects.bulk_create(rows)
    # The state a live database is in, which autovacuum would otherwise reach in the middle of the
    # timings: statistics gathered, freshly written rows vacuumed (visibility map and hint bits set).
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return admin


PDF_CHILD = """
import json, resource, sys, time, django
django.setup()
import datetime as dt
from django_tenants.utils import tenant_context
from tenants.models import Organization
from reports.documents import report_pdf
organization = Organization.objects.get(schema_name=sys.argv[1])
with tenant_context(organization):
    started = time.perf_counter()
    start, end = dt.date.fromisoformat(sys.argv[2]), dt.date.fromisoformat(sys.argv[3])
    _, pdf = report_pdf(organization, start, end, language="en")
    seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "bytes": len(pdf), "peak_mb": peak}))
"""


def run(args: argparse.Namespace) -> int:
    warnings.filterwarnings("ignore", message="No directory at")
    phases = Phases()
    summary = Summary(judge_speed=not args.quick)
    quick = " (QUICK run: small sizes, no speed verdict)" if args.quick else ""
    line(
        f"Reports benchmark{quick}: database {database_name(DATABASE_URL)}; {os.cpu_count()} CPUs; "
        f"load average {load_average()}"
    )
    line(f"Python {sys.version.split()[0]}; settings {SETTINGS}; code: {code_state()}")
    try:
        with phases.phase("Phase 0: database, public schema, organisation"):
            database_recreate(DATABASE_URL)
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
            organization = organization_create(
                slug=ORG, name="Bench Reports", kind="company", admin_email="admin@bench.test"
            ).organization
            Organization.objects.filter(pk=organization.pk).update(
                plan=Organization.Plan.BUSINESS, headcount=args.participants * 2, locale="en"
            )
            organization.refresh_from_db()
        start, end = last_quarter(timezone.localdate())
        with tenant_context(organization):
            with phases.phase(
                f"Phase 1: {args.participants:,} participants, {args.challenges} challenges, "
                f"{args.contributions:,} contributions"
            ):
                admin = data_write(args, random.Random(11))  # noqa: S311 - data, not secrets
                line(
                    f"  contributions: {Contribution.objects.count():,}; pledges: {Pledge.objects.count():,}"
                )
            with phases.phase(f"Phase 2: impact_report of {start} – {end}"):
                times, queries = [], 0
                for _ in range(args.rounds):
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        report = impact_report(organization, start, end, language="en")
                        times.append((time.perf_counter() - started) * 1000)
                    queries = len(captured)
                line(
                    f"  median {median(times):.0f} ms, max {max(times):.0f} ms, {queries} queries; "
                    f"participants {report.current.participants:,}"
                )
                summary.target(
                    median(times) < SELECTORS_MS,
                    f"selectors (impact_report) median {median(times):.0f} ms < {SELECTORS_MS} ms",
                )
                summary.check(report.current.participants > 0, "the report counts participants")
            with phases.phase("Phase 3: GET /manage/impact/ in process"):
                client = Client(HTTP_HOST=f"{ORG}.{settings.BASE_DOMAIN}")
                client.force_login(admin)
                query = {"start": start.isoformat(), "end": end.isoformat()}
                summary.check(
                    client.get("/manage/impact/", query).status_code == 200, "dashboard answers 200"
                )
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    status = client.get("/manage/impact/", query).status_code
                    times.append((time.perf_counter() - started) * 1000)
                    summary.check(status == 200, "dashboard answers 200") if status != 200 else None
                p95 = percentile(times, 0.95)
                line(f"  p50 {median(times):.0f} ms, p95 {p95:.0f} ms over {len(times)} requests")
                summary.target(p95 < DASHBOARD_P95_MS, f"dashboard p95 {p95:.0f} ms < {DASHBOARD_P95_MS} ms")
        connections.close_all()
        with phases.phase("Phase 4: the PDF, in a fresh process"):
            env = child_env(SETTINGS)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            done = subprocess.run(  # noqa: S603 - our own interpreter and script
                [sys.executable, "-c", PDF_CHILD, ORG, start.isoformat(), end.isoformat()],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0:
                line(done.stderr[-2000:])
                summary.check(False, "the PDF renders")
            else:
                import json

                figures = json.loads(done.stdout.strip().splitlines()[-1])
                del before
                line(
                    f"  {figures['seconds']:.2f} s, {figures['bytes'] / 1024:.0f} KiB, "
                    f"peak memory {figures['peak_mb']:.0f} MB"
                )
                summary.target(
                    figures["seconds"] < PDF_SECONDS,
                    f"PDF render {figures['seconds']:.2f} s < {PDF_SECONDS} s",
                )
                summary.target(
                    figures["peak_mb"] < PDF_MB, f"PDF peak memory {figures['peak_mb']:.0f} MB < {PDF_MB} MB"
                )
    finally:
        connections.close_all()
        shutil.rmtree(Path(settings.MEDIA_ROOT), ignore_errors=True)
        if args.keep:
            line(f"\nKept the database {database_name(DATABASE_URL)} (--keep).")
        else:
            database_drop(DATABASE_URL)
            line(f"\nDropped the database {database_name(DATABASE_URL)}.")
    phases.report()
    return summary.report("Summary" + quick)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with databases_claimed([DATABASE_URL], DATABASE_VARIABLE):
        return run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
