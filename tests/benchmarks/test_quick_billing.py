"""The billing benchmark's quick mode, end to end, so that it cannot rot unnoticed.

It runs as its docstring says (`python -m benchmarks.billing --quick` from the project root) and must
exit 0 and print every phase's figures. Speed is not judged here (a quick run judges none): only that
every phase still works, that the webhook stored and queued each new event once without calling
Stripe, and that one worker brought every organisation to the state its case expects. The run uses a
database and a broker queue named after this process, so two test runs at once, a benchmark run by
hand and the rest of the test suite (Redis database 15) never meet; whatever happens, they are gone
at the end.
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

from benchmarks.harness.databases import database_drop

ROOT = Path(__file__).resolve().parents[2]
SERVER = "postgres://postgres@127.0.0.1:5432"
BROKER_URL = "redis://127.0.0.1:6379/13"  # the benchmarks' Redis database; the tests use 15
TIMEOUT_S = 300  # a quick run takes about a minute on an idle 2-core machine

PID = os.getpid()
DATABASE = f"{SERVER}/crowdact_bench_billing_quick_{PID}"
QUEUE = f"bench-billing-quick-{PID}"

# A line (or the stable start of one) per phase's figures.
FIGURES = [
    "migrate_schemas --shared:",
    "local Stripe: http://127.0.0.1:",
    "Stripe catalogue at http://127.0.0.1:",
    "4 organisations provisioned (organization_create) in",
    "Stripe activity of 4 organisations",
    "of the types the product handles:",
    "The product's billing rows wiped",
    "Server: gunicorn --config deploy/gunicorn.conf.py:",
    "  measured ",
    "CPU per request:",
    "unprocessed (no worker ran) -> equal",
    f"tasks in '{QUEUE}' {{'billing.tasks.stripe_event_process':",
    "-> equal (redeliveries and refused deliveries queue nothing)",
    "Local Stripe: 0 API requests served during the phase (its access log)",
    "In process, one request at a time",
    "The phase's events deleted",
    "100 fresh events posted to the endpoint (4 connections):",
    "100 events stored unprocessed, 100 tasks queued -> equal",
    "error lines in its log: 0",
    "100 of 100 processed in",
    "Stripe API requests meanwhile:",
    "events: 0 unprocessed, 0 with an error recorded, attempts {1: 100}",
    "4 of 4 organisations as their case expects",
    "its rows equal the worker's",
    "One re-read from the local Stripe server",
    "=== Phase times",
    "=== Summary",
    "Stopped the local Stripe server; purged the broker",
    f"Dropped the database crowdact_bench_billing_quick_{PID}.",
]
# The webhook requests measured over HTTP: a latency line per kind (p50, p95, p99).
LATENCY_ROWS = ["all requests", "new", "redelivery", "bad signature"]


@pytest.fixture
def _billing_run() -> Iterator[None]:
    """The benchmark drops its database and keys itself; this covers a run that was killed."""
    yield
    database_drop(DATABASE)
    broker = redis.Redis.from_url(BROKER_URL)
    keys = broker.keys(f"*{QUEUE}*")
    if keys:
        broker.delete(*keys)


def quick_run() -> str:
    """`python -m benchmarks.billing --quick`; its output, once it exited 0."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(
        BENCH_BILLING_DATABASE_URL=DATABASE,
        BENCH_BILLING_BROKER_URL=BROKER_URL,
        BENCH_BILLING_QUEUE=QUEUE,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.billing", "--quick"],
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
        pytest.fail(f"benchmarks.billing --quick took more than {TIMEOUT_S} s:\n{output[-4000:]}")
    assert process.returncode == 0, (
        f"benchmarks.billing --quick exited {process.returncode}:\n{output[-6000:]}"
    )
    return output


@pytest.mark.usefixtures("_billing_run")
def test_billing_quick_run_prints_every_phase() -> None:
    # Given the billing benchmark in quick mode, on a database and a queue of this process
    # When it runs from the project root
    output = quick_run()

    # Then it exited 0 (above), printed every phase's figures and each kind's latencies, and nothing
    # failed
    missing = [figure for figure in FIGURES if figure not in output]
    missing += [
        row
        for row in LATENCY_ROWS
        if not re.search(rf"^  {re.escape(row)}\s+\d+ requests  p50 .* p95 .* p99 ", output, re.M)
    ]
    assert not missing, f"missing from the output of benchmarks.billing --quick: {missing}\n{output[-6000:]}"
    summary = output.split("=== Summary", 1)[1]
    assert "FAIL" not in summary
