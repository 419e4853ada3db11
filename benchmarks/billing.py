"""Billing benchmark: Stripe's webhook endpoint under 16 concurrent connections, and one Celery worker
applying 1,000 queued events.

Run from the project root (PostgreSQL on 127.0.0.1:5432 user postgres, Redis on 127.0.0.1:6379):

    .venv/bin/python -m benchmarks.billing                  # the acceptance run, ~3 minutes on 2 cores
    .venv/bin/python -m benchmarks.billing --quick          # every phase, small sizes
    .venv/bin/python -m benchmarks.billing --requests 10000 --profile --keep

It works in its own database, crowdact_bench_billing (BENCH_BILLING_DATABASE_URL), dropped and
created at the start and dropped at the end unless --keep, with the settings
benchmarks.settings.billing (the product's settings and URL confs). Stripe is the local server
(scripts/local_stripe.py, started here on a free loopback port, state in memory, stopped at the
end), its catalogue synced with `manage.py stripe_sync_catalog`. Celery sends to the real Redis
broker, database 13 (BENCH_BILLING_BROKER_URL), on a queue of this run's own, "bench-billing-<pid>"
(BENCH_BILLING_QUEUE), whose keys are deleted at the end. A second run on the same database or queue
stops at once.

Phases:
 0. database, public schema, N organisations (tenants.services.organization_create), one in six a
    municipality; the local Stripe server and the catalogue;
 1. each organisation's life on Stripe, as in tests/billing/test_replay.py (Checkout upgrades,
    renewals, failed renewals, a subscription made in the dashboard then cancelled, a municipality's
    invoice paid by transfer, a paid service), through the product's services where the product
    acts; the events Stripe made of the types the product handles (GET /v1/events) are the webhooks
    of the phases below; then the product's billing rows are wiped: only events can bring them back;
 2. the endpoint: gunicorn (deploy/gunicorn.conf.py) with Celery not eager and no worker; 16
    closed-loop connections POST /billing/stripe/webhook/ on the public host, each body signed as
    Stripe signs (Stripe-Signature: t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<body>")) when sent: new
    event ids (the events above under new ids), ~10 % redeliveries of events already answered, 2 %
    bad signatures (400: expected, not errors); p50/p95/p99 per kind; the rows stored and the tasks
    queued against the answers; the requests the local Stripe server served meanwhile (its access
    log): must be 0; the cost of one request in process; then these rows and tasks are deleted;
 3. the worker: exactly M fresh events (every Stripe event above at least once, shuffled) posted to
    the endpoint, M tasks queued; then ONE worker (celery -A config worker, prefork, concurrency 1)
    and the time until every event has processed_at (polled in the database): events/s, the Stripe
    requests per event; the end state against each organisation's expected plan and billing state,
    and against a straight replay of the Stripe events, once each, in order, in process.

--quick judges no speed target: it fails only when a phase breaks.
"""

# ruff: noqa: E402

import argparse
import cProfile
import hashlib
import hmac
import http.client
import io
import json
import logging
import os
import pstats
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
import redis

from benchmarks.harness import ROOT
from benchmarks.harness.databases import (
    child_env,
    database_drop,
    database_name,
    database_recreate,
    databases_claimed,
)
from benchmarks.harness.databases import database_url as env_database_url
from benchmarks.harness.load import Request, Run, closed_loop
from benchmarks.harness.report import Phases, Summary, code_state, line, load_average, median, percentile
from benchmarks.harness.servers import CpuMeter, Server, gunicorn

SETTINGS = "benchmarks.settings.billing"
DATABASE_VARIABLE = "BENCH_BILLING_DATABASE_URL"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/crowdact_bench_billing"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/13"  # the tests use database 15
STRIPE_BASE_VARIABLE = "BENCH_BILLING_STRIPE_API_BASE"
LOCAL_STRIPE = ROOT / "scripts" / "local_stripe.py"
WEBHOOK_PATH = "/billing/stripe/webhook/"
CONCURRENCY = 16
DUPLICATE_SHARE = 0.10  # of all requests: redeliveries of events already answered
BAD_EVERY = 50  # one request in 50 has a bad signature
SEED = 20261028

# Targets from the brief (issue 10).
ENDPOINT_P99_TARGET_MS = 50.0
WORKER_TARGET_S = 60.0

# The product, in one place: Django set up with the benchmark settings, then what this benchmark uses.
DATABASE_URL = os.environ[DATABASE_VARIABLE] = env_database_url(DATABASE_VARIABLE, DEFAULT_DATABASE_URL)
BROKER_URL = os.environ["BENCH_BILLING_BROKER_URL"] = os.environ.get(
    "BENCH_BILLING_BROKER_URL", DEFAULT_BROKER_URL
)
BENCH_QUEUE = os.environ["BENCH_BILLING_QUEUE"] = os.environ.get(
    "BENCH_BILLING_QUEUE", f"bench-billing-{os.getpid()}"
)
# A secret of this run: gunicorn and the worker get it from the environment, the load signs with it.
WEBHOOK_SECRET = os.environ["BENCH_BILLING_WEBHOOK_SECRET"] = "whsec_" + secrets.token_hex(24)
OTHER_SECRET = "whsec_" + secrets.token_hex(24)  # what a delivery meant for another endpoint is signed with
os.environ.pop(STRIPE_BASE_VARIABLE, None)  # set once the local server listens
os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
django.setup()

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import Max, Min
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import ORG_ADMIN
from billing import stripe_client
from billing.models import BillingAccount, Invoice, Purchase, StripeEvent, Subscription, UsageReport
from billing.services import (
    HANDLERS,
    billing_customer_ensure,
    checkout_session_create,
    municipality_subscribe,
)
from billing.services.events import PROCESS_TASK
from tenants.background import task_signature
from tenants.models import Organization
from tenants.selectors import organization_host
from tenants.services import organization_create

if settings.SETTINGS_MODULE != SETTINGS:  # Django was set up before this import
    raise ImportError(f"benchmarks.billing runs with {SETTINGS}, not {settings.SETTINGS_MODULE}")

Data = dict[str, Any]


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


def broker_purge() -> int:
    keys = broker_keys()
    if keys:
        broker().delete(*keys)
    return len(keys)


def queued_tasks() -> Counter[str]:
    """The messages waiting in this run's queue, by task name (Redis transport)."""
    found: Counter[str] = Counter()
    for raw in broker().lrange(BENCH_QUEUE, 0, -1):
        found[str(json.loads(raw).get("headers", {}).get("task"))] += 1
    return found


# --------------------------------------------------------------------------------------------------
# The local Stripe server


def form(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: nested objects and lists as `a[b][0][c]=value`."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs += form(value, name)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    pairs += form(item, f"{name}[{index}]")
                else:
                    pairs.append((f"{name}[{index}]", str(item)))
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        else:
            pairs.append((name, str(value)))
    return pairs


class LocalStripe:
    """scripts/local_stripe.py in a process of its own on a free loopback port, memory only, without
    webhooks (the benchmark sends them), logging every request it serves (--verbose: aiohttp's
    access log) to a file: that log is how the requests made to it are counted."""

    REQUEST = re.compile(r'"(GET|POST|DELETE) (/v1/[^" ?]*)[^"]* HTTP/[\d.]+" (\d{3})')

    def __init__(self, log_dir: Path) -> None:
        self.log_path = log_dir / "local-stripe.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        command = [sys.executable, str(LOCAL_STRIPE), "--port", "0", "--verbose"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while not self.url:
            found = re.search(r"listening on (http://\S+)", self.log())
            if found:
                self.url = found.group(1)
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"local Stripe did not start:\n{self.log()[-3000:]}")
            else:
                time.sleep(0.05)
        if self.call("GET", "/_local/health").get("status") != "ok":
            raise SystemExit(f"local Stripe is not healthy:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def mark(self) -> int:
        """Where the access log ends now: api_requests(mark) counts what comes after."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def api_requests(self, since: int) -> Counter[str]:
        """The API requests (/v1/...) served since `mark`, as "GET /v1/subscriptions/{id}"."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        found: Counter[str] = Counter()
        for method, path, _ in self.REQUEST.findall(text):
            found[f"{method} {re.sub(r'/[a-z]+_[A-Za-z0-9_]+', '/{id}', path)}"] += 1
        return found

    def call(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """One API call with the benchmark's test key (what Stripe's dashboard or a customer does)."""
        body = urllib.parse.urlencode(form(params or {}))
        if method == "GET" and body:
            path, body = f"{path}?{body}", ""
        headers = {
            "Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        status, payload = http_call(self.url, method, path, body.encode() or None, headers)
        if status >= 400:
            raise SystemExit(f"local Stripe answered {status} to {method} {path}: {payload[:500]!r}")
        return json.loads(payload)

    def events(self) -> list[Data]:
        """Every event the server made, in the order they happened (its list is newest first)."""
        events: list[Data] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            page = self.call("GET", "/v1/events", params)
            events += page["data"]
            if not page["has_more"]:
                return list(reversed(events))
            params["starting_after"] = page["data"][-1]["id"]


def http_call(
    base: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        conn.request(method, path, body, headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------------
# Phases 0 and 1: organisations and their life on Stripe


CASES = {
    0: ("upgrades through Checkout, renews", ("business", "active")),
    1: ("upgrades through Checkout, its renewal fails", ("business", "past_due")),
    2: ("Business made in Stripe's dashboard, cancelled at the period's end", ("discovery", "canceled")),
    3: ("a municipality on its yearly invoice, paid by transfer", ("municipality", "active")),
    4: ("buys a workshop, on Business, a renewal fails then is paid", ("business", "active")),
    5: ("Business made in the dashboard, two renewals fail", ("business", "past_due")),
}
# The organisations take the cases in this order: the first four (a quick run) see every event type
# and every plan and billing state.
CASE_ORDER = (4, 3, 2, 1, 0, 5)


@dataclass
class Member:
    """A benchmark organisation, its admin, and the life it has on Stripe (a case of CASES)."""

    organization: Any
    admin: Any
    case: int

    @property
    def slug(self) -> str:
        return str(self.organization.schema_name)

    @property
    def expected(self) -> tuple[str, str]:
        return CASES[self.case][1]


def organizations_create(count: int) -> list[Member]:
    members = []
    start = time.perf_counter()
    for index in range(count):
        case = CASE_ORDER[index % len(CASE_ORDER)]
        slug = f"bench-billing-{index:02d}"
        provisioned = organization_create(
            slug=slug,
            name=f"Billing {index:02d}",
            kind=Organization.Kind.MUNICIPALITY if case == 3 else Organization.Kind.COMPANY,
            admin_email=f"admin@{slug}.test",
            locale=Organization.Locale.ENGLISH,
        )
        organization = provisioned.organization
        with tenant_context(organization):
            admin = User.objects.filter(groups__name=ORG_ADMIN).order_by("pk").first()
        members.append(Member(organization, admin, case))
    elapsed = time.perf_counter() - start
    line(
        f"{count} organisations provisioned (organization_create) in {elapsed:.1f} s "
        f"({elapsed / max(count, 1):.2f} s each)"
    )
    return members


class Journeys:
    """What happens on Stripe for each case: the product's services where the product acts
    (customers, Checkout, the Municipality set-up), direct API calls where a customer, an operator
    in Stripe's dashboard or time does (paying, cancelling, renewing)."""

    def __init__(self, stripe: LocalStripe) -> None:
        self.stripe = stripe
        prices = stripe.call(
            "GET", "/v1/prices", {"lookup_keys": ["business_base_monthly", "business_active_participant"]}
        )["data"]
        self.business_prices = [price["id"] for price in prices]

    def customer_with_card(self, organization: Any) -> str:
        customer = billing_customer_ensure(organization)
        method = self.stripe.call("POST", "/v1/payment_methods/pm_card_visa/attach", {"customer": customer})
        self.stripe.call(
            "POST",
            f"/v1/customers/{customer}",
            {"invoice_settings": {"default_payment_method": method["id"]}},
        )
        return customer

    def checkout(self, member: Member, kind: str, key: str) -> None:
        host = organization_host(member.organization)
        url = checkout_session_create(
            member.admin,
            member.organization,
            kind=kind,
            key=key,
            success_url=f"http://{host}/manage/billing/?done={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"http://{host}/manage/billing/",
            locale="en",
        )
        parts = urllib.parse.urlsplit(url)
        body = urllib.parse.urlencode({"card_number": "4242 4242 4242 4242"}).encode()
        status, payload = http_call(
            url, "POST", parts.path, body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 303:
            raise SystemExit(f"Checkout page {url} answered {status}: {payload[:300]!r}")

    def subscription_of(self, member: Member) -> str:
        query = f"metadata['organization']:'{member.slug}'"
        found = self.stripe.call("GET", "/v1/subscriptions/search", {"query": query})["data"]
        return str(found[0]["id"])

    def business_by_api(self, member: Member) -> str:
        customer = self.customer_with_card(member.organization)
        subscription = self.stripe.call(
            "POST",
            "/v1/subscriptions",
            {
                "customer": customer,
                "items": [{"price": price} for price in self.business_prices],
                "metadata": {"organization": member.slug},
            },
        )
        return str(subscription["id"])

    def advance(self, subscription_id: str, *, fail: bool = False) -> Data:
        params = {"payment": "fail"} if fail else None
        result: Data = self.stripe.call("POST", f"/_local/subscriptions/{subscription_id}/advance", params)
        return result

    def play(self, member: Member) -> None:
        with tenant_context(member.organization):
            case = member.case
            if case in (0, 1):
                self.customer_with_card(member.organization)
                self.checkout(member, "plan", "business")
                self.advance(self.subscription_of(member), fail=case == 1)
            elif case == 2:
                subscription_id = self.business_by_api(member)
                self.stripe.call(
                    "POST", f"/v1/subscriptions/{subscription_id}", {"cancel_at_period_end": True}
                )
                self.advance(subscription_id)
            elif case == 3:
                self.customer_with_card(member.organization)
                municipality_subscribe(member.admin, member.organization, f"BC-{member.slug}")
                invoice = Invoice.objects.get(organization=member.organization)
                self.stripe.call("POST", f"/v1/invoices/{invoice.stripe_id}/pay", {"paid_out_of_band": True})
            elif case == 4:
                self.customer_with_card(member.organization)
                self.checkout(member, "service", "workshop")
                subscription_id = self.business_by_api(member)
                failed = self.advance(subscription_id, fail=True)["latest_invoice"]["id"]
                self.stripe.call("POST", f"/v1/invoices/{failed}/pay")
                self.advance(subscription_id)
            else:
                subscription_id = self.business_by_api(member)
                self.advance(subscription_id, fail=True)
                self.advance(subscription_id, fail=True)


def billing_rows_wipe() -> None:
    """What the product has applied from Stripe, gone: the events must bring it back."""
    for model in (StripeEvent, Purchase, Invoice, Subscription, UsageReport):
        model.objects.all().delete()
    BillingAccount.objects.update(grace_until=None)
    Organization.objects.update(
        plan=Organization.Plan.DISCOVERY, billing_state=Organization.BillingState.ACTIVE
    )


def billing_state() -> dict[str, Any]:
    """The product's billing rows (without their read times and keys), to compare two runs."""

    def rows(model: Any, key: str, exclude: set[str]) -> list[dict[str, Any]]:
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in exclude]
        return list(model.objects.order_by(key).values(*names))

    account = "billing_account__"
    return {
        "organizations": list(
            Organization.objects.order_by("schema_name").values(
                "schema_name",
                "plan",
                "billing_state",
                f"{account}grace_until",
                f"{account}stripe_customer_id",
            )
        ),
        "subscriptions": rows(Subscription, "stripe_id", {"id", "stripe_updated"}),
        "invoices": rows(Invoice, "stripe_id", {"id", "stripe_updated"}),
        # A purchase's invoice by its Stripe id: the invoice rows' keys differ from run to run.
        "purchases": rows(
            Purchase, "checkout_session_id", {"id", "created_at", "stripe_updated", "bought_by", "invoice_id"}
        ),
        "purchase_invoices": list(
            Purchase.objects.order_by("checkout_session_id").values_list("invoice__stripe_id", flat=True)
        ),
    }


def state_differences(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    differences = []
    for table in first:
        if first[table] != second[table]:
            a, b = first[table], second[table]
            differing = sum(1 for x, y in zip(a, b, strict=False) if x != y) + abs(len(a) - len(b))
            differences.append(f"{table}: {len(a)} vs {len(b)} rows, {differing} differ")
    return differences


def stripe_life(stripe: LocalStripe, members: Sequence[Member]) -> list[Data]:
    """Play every organisation's case; return the events of the types the product handles, in order."""
    start = time.perf_counter()
    journeys = Journeys(stripe)
    for member in members:
        journeys.play(member)
    every = stripe.events()
    handled = [event for event in every if event["type"] in HANDLERS]
    types = Counter(event["type"] for event in handled)
    line(
        f"Stripe activity of {len(members)} organisations ({len(CASES)} cases, "
        f"{', '.join(f'{n}: {CASES[n][0]}' for n in sorted(CASES))}): {time.perf_counter() - start:.1f} s; "
        f"{len(every)} events on Stripe, {len(handled)} of the types the product handles:"
    )
    line("  " + ", ".join(f"{count} {type_}" for type_, count in sorted(types.items())))
    objects = {event["data"]["object"]["id"] for event in handled}
    sizes = [len(json.dumps(event, indent=2)) for event in handled]
    line(
        f"  about {len(objects)} Stripe objects; bodies of {min(sizes)} to {max(sizes)} bytes "
        f"(median {median(sizes):.0f})"
    )
    return handled


# --------------------------------------------------------------------------------------------------
# Webhook deliveries


def signature_header(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<body>") in hexadecimal."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(template: Data, stripe_id: str) -> bytes:
    """An event under a new id, as Stripe writes a webhook body (indented JSON)."""
    return json.dumps({**template, "id": stripe_id}, indent=2).encode()


BAD_SIGNATURES: list[tuple[str, Callable[[bytes], tuple[bytes, dict[str, str]]]]] = [
    (
        "another secret",
        lambda body: (body, {"Stripe-Signature": signature_header(body, secret=OTHER_SECRET)}),
    ),
    (
        "body changed after signing",
        lambda body: (
            body.replace(b'"livemode": false', b'"livemode": true', 1) + b" ",
            {"Stripe-Signature": signature_header(body)},
        ),
    ),
    (
        "signed 10 minutes ago",
        lambda body: (body, {"Stripe-Signature": signature_header(body, timestamp=int(time.time()) - 600)}),
    ),
    ("no Stripe-Signature", lambda body: (body, {})),
    ("malformed header", lambda body: (body, {"Stripe-Signature": "t=soon,v1=nothing"})),
]


class Deliveries:
    """The webhook deliveries of one load, made as they are sent (signed at that moment, as Stripe
    signs each attempt): new events, in turn; redeliveries of events whose first delivery has been
    answered (DUPLICATE_SHARE of the requests); one in BAD_EVERY with a bad signature. Each answer
    is checked (new: 200 and duplicate false; redelivery: 200 and duplicate true; bad: 400) and its
    latency recorded by kind."""

    KINDS = ("new", "redelivery", "bad signature")

    def __init__(self, bodies: Sequence[bytes], *, duplicates: float, bad_every: int, seed: int) -> None:
        self.bodies = bodies
        self.duplicates = duplicates / (1 - 1 / bad_every) if bad_every else duplicates
        self.bad_every = bad_every
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
        self.lock = threading.Lock()
        self.sent = self.new = 0
        self.answered: list[bytes] = []
        self.latencies: dict[str, list[float]] = {kind: [] for kind in self.KINDS}
        self.answers: Counter[str] = Counter()
        self.bad_kinds: Counter[str] = Counter()
        self.local = threading.local()

    def next_request(self) -> Request | None:
        with self.lock:
            index = self.sent
            self.sent += 1
            if self.bad_every and index % self.bad_every == self.bad_every // 2:
                kind = "bad signature"
            elif self.answered and self.rng.random() < self.duplicates:
                kind = "redelivery"
            else:
                kind = "new"
            spoil: Callable[[bytes], tuple[bytes, dict[str, str]]] | None = None
            if kind == "redelivery":
                body = self.rng.choice(self.answered)
            elif kind == "bad signature":
                body = self.bodies[index % len(self.bodies)]
                label, spoil = BAD_SIGNATURES[(index // self.bad_every) % len(BAD_SIGNATURES)]
                self.bad_kinds[label] += 1
            else:
                if self.new >= len(self.bodies):
                    return None
                body = self.bodies[self.new]
                self.new += 1
        headers = {
            "Host": settings.BASE_DOMAIN,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "X-Bench-Kind": kind,
        }
        if spoil is not None:
            body, signed = spoil(body)
            headers.update(signed)
        else:
            headers["Stripe-Signature"] = signature_header(body)
        self.local.began = time.perf_counter()
        return Request("POST", WEBHOOK_PATH, headers, body)

    def good(self, request: Request, status: int, payload: bytes) -> bool:
        elapsed = time.perf_counter() - self.local.began
        kind = request.headers["X-Bench-Kind"]
        if kind == "bad signature":
            ok = status == 400
        else:
            try:
                duplicate = json.loads(payload).get("duplicate")
            except ValueError:
                duplicate = None
            ok = status == 200 and duplicate is (kind == "redelivery")
        with self.lock:
            self.latencies[kind].append(elapsed)
            self.answers[f"{kind} {status}{'' if ok else ' UNEXPECTED'}"] += 1
            if ok and kind == "new":
                self.answered.append(request.body or b"")
        return ok

    def count(self, kind: str) -> int:
        return len(self.latencies[kind])

    def accepted_new(self) -> int:
        return sum(n for key, n in self.answers.items() if key == "new 200")


def latency_row(label: str, latencies: Sequence[float]) -> str:
    if not latencies:
        return f"  {label:<16} none"
    ms = [value * 1000 for value in latencies]
    return (
        f"  {label:<16} {len(ms):6d} requests  p50 {percentile(ms, 0.5):6.2f} ms  "
        f"p95 {percentile(ms, 0.95):6.2f} ms  p99 {percentile(ms, 0.99):6.2f} ms  max {max(ms):7.2f} ms"
    )


def parent_pid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def deliver(port: int, deliveries: Deliveries, *, requests: int, concurrency: int) -> Run:
    return closed_loop(
        port,
        concurrency=concurrency,
        requests=requests,
        next_request=deliveries.next_request,
        good=deliveries.good,
    )


# --------------------------------------------------------------------------------------------------
# Phase 2: the endpoint


@dataclass
class EndpointResult:
    run: Run
    deliveries: Deliveries
    stripe_requests: Counter[str]
    stored: int
    unprocessed: int
    queued: Counter[str]
    accepted: int


def endpoint_phase(
    args: argparse.Namespace, server: Server, stripe: LocalStripe, templates: Sequence[Data], summary: Summary
) -> EndpointResult:
    warmup = 8 * args.workers
    bodies = [
        event_body(templates[n % len(templates)], f"evt_bench_{n:07d}") for n in range(warmup + args.requests)
    ]
    deliveries = Deliveries(bodies, duplicates=DUPLICATE_SHARE, bad_every=BAD_EVERY, seed=SEED)
    line(
        f"POST {WEBHOOK_PATH} on the public host {settings.BASE_DOMAIN}; {args.concurrency} closed-loop "
        f"connections; {warmup} warm-up requests, then {args.requests} measured; each body signed when "
        f"sent; new events, ~{DUPLICATE_SHARE:.0%} redeliveries of answered events, 1 in {BAD_EVERY} "
        "with a bad signature; Celery not eager, no worker"
    )
    line(f"Load average before: {load_average()}")
    busy_warning()
    mark = stripe.mark()
    warm = deliver(server.port, deliveries, requests=warmup, concurrency=args.concurrency)
    line(f"  warm-up   {warm.brief()}")
    deliveries.latencies = {kind: [] for kind in Deliveries.KINDS}  # the warm-up's stay out of the figures
    meter = CpuMeter(server, DATABASE_URL)
    try:
        cpu_before, client_before = meter.snapshot(), time.process_time()
        run = deliver(server.port, deliveries, requests=args.requests, concurrency=args.concurrency)
        cpu_after, client_after = meter.snapshot(), time.process_time()
    finally:
        meter.close()
    time.sleep(0.5)  # the local server's last access-log lines
    stripe_requests = stripe.api_requests(mark)
    answered = run.ok + run.errors
    line(f"  measured  {run.brief()}")
    line(latency_row("all requests", run.latencies))
    for kind in Deliveries.KINDS:
        line(latency_row(kind, deliveries.latencies[kind]))
    line(f"  bad signatures sent: {dict(deliveries.bad_kinds)} (warm-up included)")
    line(f"  answers (warm-up included): {dict(sorted(deliveries.answers.items()))}")
    server_cpu = CpuMeter.spent(cpu_before, cpu_after)
    workers = {pid for pid in cpu_after if parent_pid(pid) == server.pid}
    web_cpu = sum(cpu_after[pid] - cpu_before.get(pid, 0.0) for pid in workers)
    client_cpu = client_after - client_before
    line(
        f"  CPU per request: {server_cpu / answered * 1000:.2f} ms gunicorn workers + PostgreSQL backends "
        f"({web_cpu / answered * 1000:.2f} + {(server_cpu - web_cpu) / answered * 1000:.2f}), "
        f"{client_cpu / answered * 1000:.2f} ms this load generator ({os.cpu_count()} CPUs: at most "
        f"~{(os.cpu_count() or 1) * answered / max(server_cpu + client_cpu, 1e-9):.0f} req/s for both on an "
        f"idle machine); Little's law: {args.concurrency} connections / {run.rps:.0f} req/s = "
        f"{args.concurrency / max(run.rps, 1e-9) * 1000:.1f} ms mean latency"
    )
    line(f"Load average after: {load_average()}")

    accepted = deliveries.accepted_new()
    stored = StripeEvent.objects.count()
    unprocessed = StripeEvent.objects.filter(processed_at__isnull=True).count()
    queued = queued_tasks()
    line(
        f"Database: {stored} events stored for {accepted} new events answered 200 (warm-up included); "
        f"{unprocessed} unprocessed (no worker ran) -> {'equal' if stored == accepted else 'DIFFERENT'}"
    )
    line(
        f"Broker: {sum(queued.values())} tasks in '{BENCH_QUEUE}' {dict(queued)} for {accepted} new events "
        f"-> {'equal' if queued.get(PROCESS_TASK, 0) == sum(queued.values()) == accepted else 'DIFFERENT'} "
        "(redeliveries and refused deliveries queue nothing)"
    )
    total_stripe = sum(stripe_requests.values())
    line(
        f"Local Stripe: {total_stripe} API requests served during the phase (its access log)"
        + (f": {dict(stripe_requests)}" if total_stripe else "")
    )

    p99 = run.ms(0.99)
    redeliveries = sum(n for key, n in deliveries.answers.items() if key.startswith("redelivery"))
    redeliveries_ok = deliveries.answers.get("redelivery 200", 0) == redeliveries
    summary.target(
        p99 < ENDPOINT_P99_TARGET_MS,
        f"webhook endpoint, {args.concurrency} connections: p99 {p99:.1f} ms (target < "
        f"{ENDPOINT_P99_TARGET_MS:.0f} ms), p50 {run.ms(0.5):.1f} ms, p95 {run.ms(0.95):.1f} ms; "
        f"{run.rps:.0f} req/s; {run.errors} errors (target 0) in {answered} requests "
        f"({deliveries.count('new')} new, {deliveries.count('redelivery')} redeliveries, "
        f"{deliveries.count('bad signature')} bad signatures answered 400)",
        broken=run.errors != 0 or warm.errors != 0 or run.exhausted,
    )
    summary.check(
        stored == accepted
        and queued.get(PROCESS_TASK, 0) == sum(queued.values()) == accepted
        and unprocessed == stored
        and redeliveries_ok,
        f"every new event stored once and queued once ({stored} rows, {sum(queued.values())} tasks, "
        f"{accepted} new events accepted); {deliveries.answers.get('redelivery 200', 0)} of {redeliveries} "
        "redeliveries answered as duplicates; nothing run inline",
    )
    summary.check(
        total_stripe == 0,
        f"no request to Stripe while the webhook answers: {total_stripe} API requests served by the "
        "local Stripe server during the phase",
    )
    return EndpointResult(run, deliveries, stripe_requests, stored, unprocessed, queued, accepted)


def request_costs(templates: Sequence[Data], repeat: int, profile: bool) -> None:
    """One request at a time, in process (same middleware and view, no HTTP server, no concurrency):
    where a request's time goes."""
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    counter = iter(range(10**9))
    # Django logs every 400 as a warning: the refused deliveries below are meant.
    logging.getLogger("django.request").setLevel(logging.ERROR)

    def post(body: bytes, header: str | None) -> int:
        headers = {"Stripe-Signature": header} if header is not None else {}
        return client.post(WEBHOOK_PATH, body, content_type="application/json", headers=headers).status_code

    def fresh() -> bytes:
        number = next(counter)
        return event_body(templates[number % len(templates)], f"evt_bench_profile_{number:07d}")

    def timed(make: Callable[[], tuple[bytes, str | None]], expected: int) -> float:
        times = []
        for _ in range(repeat):
            body, header = make()
            start = time.perf_counter()
            status = post(body, header)
            times.append((time.perf_counter() - start) * 1000)
            if status != expected:
                raise SystemExit(f"In-process POST {WEBHOOK_PATH} answered {status}, not {expected}.")
        return median(times)

    stored = fresh()
    post(stored, signature_header(stored))
    for _ in range(5):  # warm
        body = fresh()
        post(body, signature_header(body))

    def new_event() -> tuple[bytes, str | None]:
        body = fresh()
        return body, signature_header(body)

    costs = {
        "new event": timed(new_event, 200),
        "redelivery": timed(lambda: (stored, signature_header(stored)), 200),
        "bad signature": timed(lambda: (stored, signature_header(stored, secret=OTHER_SECRET)), 400),
    }
    body = fresh()
    with CaptureQueriesContext(connection) as captured:
        post(body, signature_header(body))
    queries = [(float(query["time"]) * 1000, " ".join(query["sql"].split())) for query in captured]
    verify = []
    for _ in range(repeat):
        header = signature_header(stored)
        start = time.perf_counter()
        stripe_client.webhook_event(stored, header)
        verify.append((time.perf_counter() - start) * 1000)
    publish = []
    for _ in range(repeat):  # what the commit hook sends (to an id that does not exist; purged below)
        start = time.perf_counter()
        task_signature(PROCESS_TASK, (0,)).apply_async(headers={"_schema_name": "public"})
        publish.append((time.perf_counter() - start) * 1000)
    line(f"In process, one request at a time (no HTTP server, no concurrency; median of {repeat}):")
    for label, ms in costs.items():
        line(f"  {label:<14} {ms:5.2f} ms")
    line(
        f"  of a new event: signature check + JSON parse {median(verify):.2f} ms "
        f"(body {len(stored)} bytes); queueing the task (Redis publish, on commit) {median(publish):.2f} ms; "
        f"{len(queries)} queries ({sum(ms for ms, _ in queries):.0f} ms of SQL, Django's clock, "
        "1 ms resolution):"
    )
    for ms, sql in queries:
        line(f"    {ms:4.1f} ms  {sql[:110]}")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(200):
            body = fresh()
            post(body, signature_header(body))
        profiler.disable()
        profile_print(profiler, "cProfile of 200 new events in process")


# --------------------------------------------------------------------------------------------------
# Phase 3: the worker


@contextmanager
def celery_worker(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """ONE worker on this run's queue: prefork, one process, as deployed (acks late, prefetch 1)."""
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--pool", "prefork", "--concurrency", "1", "--queues", BENCH_QUEUE,
        "--hostname", f"{BENCH_QUEUE}@%h", "--loglevel", "WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # warm shutdown: the task in hand finishes
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its own process group: it and its child
                process.wait()


def fresh_events(templates: Sequence[Data], count: int) -> list[bytes]:
    """`count` events under new ids: every Stripe event at least once, the rest repeated at random,
    shuffled (at least once, in no order, as Stripe delivers)."""
    if count < len(templates):
        raise SystemExit(
            f"--events {count} is fewer than the {len(templates)} Stripe events: every one must be sent "
            "at least once (give more events or fewer organisations)."
        )
    rng = random.Random(SEED + 1)  # noqa: S311 - a reproducible shuffle, not a secret
    chosen = list(templates) + [rng.choice(templates) for _ in range(count - len(templates))]
    rng.shuffle(chosen)
    return [event_body(event, f"evt_bench_worker_{n:07d}") for n, event in enumerate(chosen)]


def events_queue(server: Server, templates: Sequence[Data], count: int, summary: Summary) -> bool:
    bodies = fresh_events(templates, count)
    deliveries = Deliveries(bodies, duplicates=0, bad_every=0, seed=SEED)
    run = deliver(server.port, deliveries, requests=count, concurrency=4)
    stored = StripeEvent.objects.filter(processed_at__isnull=True).count()
    queued = queued_tasks()
    ok = (
        run.errors == 0
        and deliveries.accepted_new() == count
        and stored == count
        and queued.get(PROCESS_TASK, 0) == sum(queued.values()) == count
    )
    line(
        f"{count} fresh events posted to the endpoint (4 connections): {run.brief()}; "
        f"{stored} events stored unprocessed, {sum(queued.values())} tasks queued "
        f"-> {'equal' if ok else 'DIFFERENT'}"
    )
    if not ok:
        summary.check(False, f"queueing {count} events for the worker: {dict(deliveries.answers)}")
    return ok


def worker_phase(
    args: argparse.Namespace,
    stripe: LocalStripe,
    members: Sequence[Member],
    templates: Sequence[Data],
    log_dir: Path,
    summary: Summary,
) -> None:
    count = args.events
    log_path = log_dir / "celery-worker.log"
    env = child_env(SETTINGS, **{STRIPE_BASE_VARIABLE: stripe.url})
    line(
        f"ONE Celery worker (celery -A config worker --pool prefork --concurrency 1, acks late, prefetch 1) "
        f"on '{BENCH_QUEUE}' with {count} queued events; time from its start until every event has "
        f"processed_at (polled every 0.1 s); log {log_path}"
    )
    busy_warning()
    mark = stripe.mark()
    connections.close_all()
    progress: list[str] = []
    first_at: float | None = None
    done = 0
    started = time.perf_counter()
    with celery_worker(env, log_path) as worker:
        next_report = started + 10
        while True:
            done = StripeEvent.objects.filter(processed_at__isnull=False).count()
            now = time.perf_counter()
            if done and first_at is None:
                first_at = now
            if done >= count or worker.poll() is not None or now - started > args.worker_timeout:
                break
            if now >= next_report:
                progress.append(f"{now - started:.0f} s: {done}")
                next_report += 10
            time.sleep(0.1)
        finished = time.perf_counter()
        # What processing queued in turn (the admins' e-mails of a failed payment...) runs too.
        follow_on = queued_tasks()
        drained = time.monotonic() + 30
        while broker().llen(BENCH_QUEUE) and worker.poll() is None and time.monotonic() < drained:
            time.sleep(0.1)
        exited = worker.poll()
    elapsed = finished - started
    time.sleep(0.5)
    stripe_requests = stripe.api_requests(mark)
    events = StripeEvent.objects.all()
    span = events.aggregate(first=Min("processed_at"), last=Max("processed_at"))
    steady = (
        (span["last"] - span["first"]).total_seconds() if span["first"] and span["last"] else float("nan")
    )
    attempts = Counter(events.values_list("attempts", flat=True))
    with_error = list(events.exclude(last_error="").values_list("stripe_id", "last_error")[:5])
    errors = events.exclude(last_error="").count()
    unprocessed = events.filter(processed_at__isnull=True).count()
    worker_log = log_path.read_text(errors="replace") if log_path.exists() else ""
    worker_errors = [entry for entry in worker_log.splitlines() if "Traceback" in entry or "ERROR" in entry]
    boot = (first_at - started) if first_at is not None else float("nan")
    line(f"  progress (processed so far): {', '.join(progress) or 'done within 10 s'}")
    line(
        f"  {done} of {count} processed in {elapsed:.1f} s from the worker's start "
        f"({count / elapsed:.1f} events/s); its start-up until the first event processed {boot:.1f} s; "
        f"first to last processed_at {steady:.1f} s ({(count - 1) / steady if steady else 0:.1f} events/s, "
        f"{steady / max(count - 1, 1) * 1000:.1f} ms per event)"
    )
    total_stripe = sum(stripe_requests.values())
    line(
        f"  Stripe API requests meanwhile: {total_stripe} ({total_stripe / max(done, 1):.2f} per event): "
        + ", ".join(f"{n} {path}" for path, n in stripe_requests.most_common())
    )
    line(
        f"  events: {unprocessed} unprocessed, {errors} with an error recorded, attempts {dict(attempts)}; "
        f"tasks queued by the processing and still waiting at the end: {dict(follow_on) or 'none'}, "
        f"left after up to 30 s more: {dict(queued_tasks()) or 'none'}; worker "
        f"{'still running when stopped' if exited is None else f'exited {exited} BEFORE THE END'}; "
        f"error lines in its log: {len(worker_errors)}"
    )
    for stripe_id, error in with_error:
        line(f"    {stripe_id}: {error[:200]}")
    for entry in worker_errors[:5]:
        line(f"    {entry[:200]}")
    objects = events.values("object_id").distinct().count()
    line(
        f"  the {count} events are about {objects} Stripe objects and were all received before the worker "
        f"started: {count - objects} re-reads answered what an earlier re-read of the same object had "
        "just read (skipping an event whose object was read after the event was received would spare them)"
    )
    all_done = done >= count and unprocessed == 0 and errors == 0
    summary.target(
        elapsed < WORKER_TARGET_S,
        f"one worker applies {count} queued events in {elapsed:.1f} s (target < {WORKER_TARGET_S:.0f} s for "
        f"1,000), {count / elapsed:.1f} events/s, start-up {boot:.1f} s included; {unprocessed} unprocessed, "
        f"{errors} errors recorded, {total_stripe / max(done, 1):.2f} Stripe requests per event",
        broken=not all_done or bool(worker_errors),
    )
    end_state_check(members, templates, summary, profile=args.profile)


def end_state_check(
    members: Sequence[Member], templates: Sequence[Data], summary: Summary, *, profile: bool
) -> None:
    """The worker's end state against the cases' expectations and against a straight replay."""
    after = billing_state()
    ending = {row["schema_name"]: (row["plan"], row["billing_state"]) for row in after["organizations"]}
    wrong = [
        f"{member.slug} {ending.get(member.slug)} (expected {member.expected})"
        for member in members
        if ending.get(member.slug) != member.expected
    ]
    plans = Counter(ending[member.slug] for member in members)
    line(
        f"End state: {', '.join(f'{n} {plan}/{state}' for (plan, state), n in sorted(plans.items()))}; "
        f"{len(after['subscriptions'])} subscriptions, {len(after['invoices'])} invoices, "
        f"{len(after['purchases'])} purchases; "
        f"{len(members) - len(wrong)} of {len(members)} organisations as their case expects"
    )
    for entry in wrong[:5]:
        line(f"  {entry}")

    billing_rows_wipe()
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for event in templates:
        HANDLERS[event["type"]](event["data"]["object"]["id"])
    if profiler is not None:
        profiler.disable()
    replayed = time.perf_counter() - start
    straight = billing_state()
    differences = state_differences(straight, after)
    line(
        f"Straight replay (rows wiped, then the {len(templates)} Stripe events once each, in order, in "
        f"process): {replayed:.1f} s ({replayed / len(templates) * 1000:.1f} ms per event); its rows "
        f"{'equal' if not differences else 'DIFFER FROM'} the worker's"
        + (f": {'; '.join(differences)}" if differences else "")
    )
    summary.check(
        not wrong and not differences,
        f"end state: {len(members) - len(wrong)} of {len(members)} organisations on the plan and billing "
        f"state their case expects; the worker's rows "
        f"{'equal' if not differences else 'differ from'} a straight in-order replay's",
    )
    queries_per_event(templates)
    stripe_latency(templates)
    if profiler is not None:
        profile_print(profiler, f"cProfile of the straight replay ({len(templates)} events, in process)")


def queries_per_event(templates: Sequence[Data]) -> None:
    """The SQL of one event of each handler, in process (the rows are there: a re-read that
    changes something, as most of the worker's are)."""
    firsts: dict[str, Data] = {}
    for event in templates:
        firsts.setdefault(HANDLERS[event["type"]].__name__, event)
    parts = []
    for name, event in sorted(firsts.items()):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            HANDLERS[event["type"]](event["data"]["object"]["id"])
            elapsed = (time.perf_counter() - start) * 1000
        sql_ms = sum(float(query["time"]) * 1000 for query in captured)
        parts.append(f"{name} {len(captured)} queries ({sql_ms:.0f} ms of SQL) in {elapsed:.1f} ms")
    line(f"One event of each kind, in process: {'; '.join(parts)}")


def stripe_latency(templates: Sequence[Data]) -> None:
    """What one re-read costs here, from this process: the local server's answer time."""
    subscriptions = sorted(
        {e["data"]["object"]["id"] for e in templates if e["type"].startswith("customer.")}
    )
    invoices = sorted({e["data"]["object"]["id"] for e in templates if e["type"].startswith("invoice.")})
    reads: dict[str, list[float]] = {"subscription + latest invoice": [], "invoice": []}
    for _ in range(max(1, 40 // max(len(subscriptions), 1))):
        for subscription_id in subscriptions:
            start = time.perf_counter()
            stripe_client.subscription_retrieve(subscription_id, expand=["latest_invoice"])
            reads["subscription + latest invoice"].append((time.perf_counter() - start) * 1000)
    for _ in range(max(1, 40 // max(len(invoices), 1))):
        for invoice_id in invoices:
            start = time.perf_counter()
            stripe_client.invoice_retrieve(invoice_id)
            reads["invoice"].append((time.perf_counter() - start) * 1000)
    line(
        "One re-read from the local Stripe server, from this process (stripe-python, one at a time): "
        + "; ".join(
            f"{label} median {median(ms):.1f} ms (p95 {percentile(ms, 0.95):.1f})"
            for label, ms in reads.items()
        )
    )


def profile_print(profiler: cProfile.Profile, title: str, lines: int = 30) -> None:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(lines)
    line(f"  {title}, by cumulative time:")
    text = out.getvalue().splitlines()
    start = next((n for n, entry in enumerate(text) if entry.strip().startswith("ncalls")), 0)
    for entry in text[start : start + lines + 1]:
        line(f"    {entry[:150]}")


# --------------------------------------------------------------------------------------------------
# The benchmark


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.billing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="every phase with small sizes; no speed verdict")
    parser.add_argument("--organizations", type=int, default=None, help="organisations (12; quick 4)")
    parser.add_argument(
        "--requests", type=int, default=None, help="measured webhook requests (4,000; quick 200)"
    )
    parser.add_argument(
        "--events", type=int, default=None, help="events queued for the worker (1,000; quick 100)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=CONCURRENCY, help="load-generator connections (16)"
    )
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1, help="gunicorn workers")
    parser.add_argument(
        "--worker-timeout", type=float, default=None, help="seconds the worker may take (300)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile 200 webhook requests in process")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "organizations": 4 if quick else 12,
        "requests": 200 if quick else 4_000,
        "events": 100 if quick else 1_000,
        "worker_timeout": 120.0 if quick else 300.0,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def busy_warning() -> None:
    """Say so when other work is running: this benchmark measures a shared machine."""
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        line(
            f"WARNING: the machine is busy (1-minute load average {load:.1f} on {os.cpu_count()} CPUs "
            "before this phase): latencies and rates are worse than on an idle machine."
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
    log_dir = Path(tempfile.mkdtemp(prefix="billing-benchmark-"))
    name = database_name(DATABASE_URL)
    quick = " (QUICK run: every phase, small sizes, no speed verdict)" if args.quick else ""
    line(
        f"Billing benchmark{quick}: database {name}; {os.cpu_count()} CPUs; "
        f"load average {load_average()}; logs in {log_dir}"
    )
    line(f"Python {sys.version.split()[0]}; settings {SETTINGS}; code: {code_state()}")
    line(
        f"Celery: real Redis broker {BROKER_URL}, queue '{BENCH_QUEUE}', not eager; its keys are deleted "
        "at the end."
    )
    if broker_keys():
        raise SystemExit(
            f"The broker {BROKER_URL} already holds the queue '{BENCH_QUEUE}': another run uses it. "
            "Set BENCH_BILLING_QUEUE (or BENCH_BILLING_BROKER_URL) to a free one."
        )

    stripe = LocalStripe(log_dir)
    # This process's settings point at the local server once it listens (its children get the
    # variable read by benchmarks.settings.billing).
    stripe_settings: override_settings | None = None
    try:
        with phases.phase("Phase 0: database, public schema, organisations, local Stripe, catalogue"):
            database_recreate(DATABASE_URL)
            start = time.perf_counter()
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
            line(f"migrate_schemas --shared: {time.perf_counter() - start:.1f} s")
            stripe.start()
            os.environ[STRIPE_BASE_VARIABLE] = stripe.url
            stripe_settings = override_settings(STRIPE_API_BASE=stripe.url)
            stripe_settings.enable()
            line(f"local Stripe: {stripe.url} (scripts/local_stripe.py, access log {stripe.log_path})")
            out = io.StringIO()
            start = time.perf_counter()
            call_command("stripe_sync_catalog", stdout=out)
            line(f"{out.getvalue().strip().splitlines()[-1]} ({time.perf_counter() - start:.1f} s)")
            members = organizations_create(args.organizations)

        with phases.phase("Phase 1: each organisation's life on Stripe"):
            templates = stripe_life(stripe, members)
            billing_rows_wipe()
            purged = broker_purge()
            line(
                "The product's billing rows wiped (subscriptions, invoices, purchases, events; plans, "
                f"states and grace periods reset); the {purged} queue key(s) of provisioning's tasks deleted"
            )
        connections.close_all()

        with gunicorn(
            child_env(SETTINGS), workers=args.workers, log_dir=log_dir, probe_host=settings.BASE_DOMAIN
        ) as server:
            line(f"\nServer: {server.description}")
            with phases.phase("Phase 2: the webhook endpoint under load"):
                endpoint_phase(args, server, stripe, templates, summary)
                request_costs(templates, 50 if args.quick else 200, args.profile)
                StripeEvent.objects.all().delete()
                purged = broker_purge()
                line(f"The phase's events deleted, and the {purged} key(s) of its queue.")
            with phases.phase(f"Phase 3a: {args.events} fresh events queued"):
                queued = events_queue(server, templates, args.events, summary)
            connections.close_all()
            boots, server_errors = server.boots(), server.server_errors()
        line(
            f"gunicorn: {boots} workers booted ({args.workers} at the start); error lines in its log: "
            f"{len(server_errors)}"
        )
        for entry in server_errors[:5]:
            line(f"  {entry}")
        summary.check(not server_errors, f"{len(server_errors)} error lines in the gunicorn log")

        if queued:
            with phases.phase(f"Phase 3b: one worker applies {args.events} events"):
                worker_phase(args, stripe, members, templates, log_dir, summary)
    finally:
        connections.close_all()
        if stripe_settings is not None:
            stripe_settings.disable()
        stripe.stop()
        purged = broker_purge()
        line(
            f"\nStopped the local Stripe server; purged the broker: deleted the {purged} key(s) of "
            f"'{BENCH_QUEUE}' in {BROKER_URL}."
        )
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
