"""Both benchmarks' quick modes, end to end, so that they cannot rot unnoticed.

Each runs as the README says (`python -m benchmarks.<name> --quick` from the project root) and must
exit 0 and print every phase's figures. Speed is not judged here (a quick run judges none): only that
every phase still works. The runs use databases and a broker queue named after this process, so two
test runs at once, a benchmark run by hand and the rest of the test suite (Redis database 15) never
meet; whatever happens, those databases and keys are gone at the end.
"""

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from benchmarks.harness.databases import database_drop, database_sibling

ROOT = Path(__file__).resolve().parents[2]
SERVER = "postgres://postgres@127.0.0.1:5432"
BROKER_URL = "redis://127.0.0.1:6379/13"  # the benchmarks' Redis database; the tests use 15
TIMEOUT_S = 300  # a quick run takes well under a minute on an idle 2-core machine

PID = os.getpid()
TENANCY_DATABASE = f"{SERVER}/crowdact_bench_quick_{PID}"
CHALLENGES_DATABASE = f"{SERVER}/crowdact_bench_challenges_quick_{PID}"
CHALLENGES_QUEUE = f"bench-challenges-quick-{PID}"

# A line (or the stable start of one) per phase's figures.
TENANCY_FIGURES = [
    f"crowdact_bench_quick_{PID}: migrate_schemas --shared",
    f"crowdact_bench_quick_{PID}_one: manage.py create_organization bench-0001",
    "Process start-up baseline (`manage.py check`): median",
    "Growth (median of the last 6 / median of the first 6):",
    "Invitation e-mails sent (eager Celery task, locmem backend): 6 of 6",
    "Django table-list introspection in one schema:",
    "Our executor (tenants.migration_executor): runs",
    "0 of 6 schemas have migrations to apply.",
    "Stock django-tenants executor (one run):",
    "6 of 6 schemas have migrations to apply.",
    "check: 6 of 6 organisation schemas gained exactly benchapp.0001_initial; "
    "6 have the table benchapp_benchnote",
    "Nothing to do again (benchmark settings): runs",
    "Throughput ratio 6 rotating / 1 ",
    "Throughput ratio A/A control / 1 (noise)",
    "CPU per request (gunicorn workers + PostgreSQL backends",
    "=== Phase times",
    "=== Summary",
    f"Dropped the database crowdact_bench_quick_{PID}.",
    f"Dropped the database crowdact_bench_quick_{PID}_one.",
]
CHALLENGES_FIGURES = [
    "migrate_schemas --shared:",
    "organisation bench-pledges: provisioned in",
    "organisation bench-dashboard: provisioned in",
    "1000 participants in 20 teams:",
    "(consistent)",
    "people in 20 teams, each with a session",
    "Server: gunicorn --config deploy/gunicorn.conf.py:",
    ", 1 at a time ",
    ", 4 at a time ",
    "Queries of one request (in process, same settings):",
    "Ratio pledge / bare per round:",
    "-> equal;",
    "cost ratio bare / pledge, one request at a time:",
    "after: status succeeded; 1 'succeeded' event(s); counterpart due (1 'due' event(s))",
    "challenges.tasks.notify_challenge_event(",
    "error lines in its log: 0",
    "=== Phase times",
    "=== Summary",
    "goal_reached notification queued 1 time(s)",
    f"Dropped the database crowdact_bench_challenges_quick_{PID}.",
]


@pytest.fixture(scope="module", autouse=True)
def _dropped_at_the_end() -> Iterator[None]:
    """The benchmarks drop their databases and keys themselves; this covers a run that was killed."""
    yield
    for url in (TENANCY_DATABASE, database_sibling(TENANCY_DATABASE, "_one"), CHALLENGES_DATABASE):
        database_drop(url)
    broker = redis.Redis.from_url(BROKER_URL)
    keys = broker.keys(f"*{CHALLENGES_QUEUE}")
    if keys:
        broker.delete(*keys)


def quick_run(module: str) -> str:
    """`python -m <module> --quick`; its output, once it exited 0."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(
        BENCH_DATABASE_URL=TENANCY_DATABASE,
        BENCH_CHALLENGES_DATABASE_URL=CHALLENGES_DATABASE,
        BENCH_CHALLENGES_BROKER_URL=BROKER_URL,
        BENCH_CHALLENGES_QUEUE=CHALLENGES_QUEUE,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--quick"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the benchmark and the servers it started
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate()
        pytest.fail(f"{module} --quick took more than {TIMEOUT_S} s:\n{output[-4000:]}")
    assert process.returncode == 0, f"{module} --quick exited {process.returncode}:\n{output[-6000:]}"
    return output


@pytest.mark.parametrize(
    ("module", "figures"),
    [("benchmarks.tenancy", TENANCY_FIGURES), ("benchmarks.challenges", CHALLENGES_FIGURES)],
    ids=["tenancy", "challenges"],
)
def test_quick_run_prints_every_phase(module: str, figures: list[str]) -> None:
    # Given the benchmark in quick mode, on databases and a queue of this process
    # When it runs from the project root
    output = quick_run(module)

    # Then it exited 0 (above), printed every phase's figures, and nothing failed
    missing = [figure for figure in figures if figure not in output]
    assert not missing, f"missing from the output of {module} --quick: {missing}\n{output[-6000:]}"
    summary = output.split("=== Summary", 1)[1]
    assert "FAIL" not in summary


PEOPLE_DATABASE = f"{SERVER}/crowdact_bench_people_quick_{PID}"
PEOPLE_FIGURES = [
    "migrate_schemas --shared:",
    "PostgreSQL: ",
    "organisation bench-people: provisioned in",
    "organisation bench-import: provisioned in",
    "organisation bench-import-pages: provisioned in",
    "20 teams, 4 open challenges",
    "60 people: +59 people in",
    "150 people: +90 people in",
    "300 people: +150 people in",
    "Queries per request (in process, test Client, same settings;",
    "queries per request at 60, 150, 300 people constant",
    "Server: gunicorn --config deploy/gunicorn.conf.py:",
    "SQL of one request at the last size",
    "error lines in its log: 0",
    "check (people_csv_read, the preview): median",
    "import (people_import), first time:",
    "created 300, updated 0, unchanged 0, teams created 20, skipped 0",
    "the same file again, 3 times:",
    "created 0, updated 0, unchanged 300, teams created 0, skipped 0; people, their digest, teams and "
    "audit entries unchanged",
    "a file with 15 lines changed (name, role or team):",
    "created 0, updated 15, unchanged 285",
    "first time: upload 200 in",
    "same file again: upload 200 in",
    "=== Phase times",
    "=== Summary",
    f"Dropped the database crowdact_bench_people_quick_{PID}.",
]
# The requests measured over HTTP: each prints a latency line (p50, p95, p99).
PEOPLE_REQUESTS = [
    f"{kind} {probe}"
    for probe in ("first page", "search 'dubois'", "role executive", "team 'Team 01'", "last page")
    for kind in ("page", "API ")
]


@pytest.fixture
def _people_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The people benchmark on a database of this process, dropped whatever happens."""
    monkeypatch.setenv("BENCH_PEOPLE_DATABASE_URL", PEOPLE_DATABASE)
    yield
    database_drop(PEOPLE_DATABASE)


@pytest.mark.usefixtures("_people_database")
def test_people_quick_run_prints_every_phase() -> None:
    # Given the people benchmark in quick mode, on a database of this process
    # When it runs from the project root
    output = quick_run("benchmarks.people")

    # Then it exited 0 (above), printed every phase's figures and every request's latencies, and
    # nothing failed
    missing = [figure for figure in PEOPLE_FIGURES if figure not in output]
    missing += [
        request
        for request in PEOPLE_REQUESTS
        if not re.search(rf"^  {re.escape(request)}\s+p50 .* p95 .* p99 ", output, re.M)
    ]
    assert not missing, f"missing from the output of benchmarks.people --quick: {missing}\n{output[-6000:]}"
    summary = output.split("=== Summary", 1)[1]
    assert "FAIL" not in summary
