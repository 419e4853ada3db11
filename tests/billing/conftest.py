"""The local Stripe server (scripts/local_stripe.py) for the billing tests, over real HTTP.

A session-wide server posts its webhooks to a small receiver running in a thread here; tests that
need a server of their own (isolation, restart) start one with `start_local_stripe`.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import stripe

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local_stripe.py"
API_KEY = "sk_test_crowdact_local"
API_VERSION = "2026-10-28.endive"  # the version the product pins with stripe-python 16.1


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


class WebhookReceiver:
    """An HTTP endpoint that keeps what it is sent; it can answer 500 to the next N posts."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.attempts: list[str] = []  # the event id of every post, refused ones included
        self.fail_next = 0
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._changed:
                    receiver.attempts.append(json.loads(body)["id"])
                    refuse = receiver.fail_next > 0
                    if refuse:
                        receiver.fail_next -= 1
                    else:
                        receiver.deliveries.append(Delivery(body, dict(self.headers.items())))
                    receiver._changed.notify_all()
                self.send_response(500 if refuse else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/stripe/webhook"

    def received(
        self, type_: str, match: Callable[[dict[str, Any]], bool] = lambda obj: True
    ) -> list[Delivery]:
        with self._changed:
            return [
                d for d in self.deliveries if d.event["type"] == type_ and match(d.event["data"]["object"])
            ]

    def wait_for(
        self, type_: str, match: Callable[[dict[str, Any]], bool] = lambda obj: True, timeout: float = 10
    ) -> Delivery:
        """The first delivery of an event of that type whose data.object matches."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    d
                    for d in self.deliveries
                    if d.event["type"] == type_ and match(d.event["data"]["object"])
                ]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [d.event["type"] for d in self.deliveries[-10:]]
                    raise AssertionError(f"no {type_} webhook within {timeout}s; last ones: {seen}")
                self._changed.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def http_request(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Response:
    """One HTTP request, redirects not followed (a test looks at them)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return Response(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


@dataclass
class LocalStripe:
    process: subprocess.Popen[bytes]
    base_url: str
    webhooks: WebhookReceiver | None = None
    secret: str | None = None

    def client(self) -> stripe.StripeClient:
        """stripe-python configured the way the product does: a client, its base address, a pinned version."""
        return stripe.StripeClient(
            API_KEY, base_addresses={"api": self.base_url}, stripe_version=API_VERSION, max_network_retries=2
        )

    def call(self, method: str, path: str, data: dict[str, str] | None = None) -> Any:
        """A plain HTTP call (the /_local/ helpers have no stripe-python method)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/x-www-form-urlencoded"}
        response = http_request(method, self.base_url + path, body, headers)
        assert response.status == 200, response.body
        return json.loads(response.body)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


def start_local_stripe(webhooks: WebhookReceiver | None = None, secret: str | None = None) -> LocalStripe:
    command = [sys.executable, str(SCRIPT), "--port", "0"]
    if webhooks is not None and secret is not None:
        command += ["--webhook-url", webhooks.url, "--webhook-secret", secret]
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    # --port 0 lets the server take a free port and print it: no race for a port between two processes.
    ready, _, _ = select.select([process.stdout], [], [], 15)
    line = process.stdout.readline().decode() if ready else ""
    match = re.search(r"listening on (http://\S+)", line)
    if not match:
        process.kill()
        raise RuntimeError(f"local Stripe did not start: {line!r}")
    server = LocalStripe(process, match.group(1), webhooks, secret)
    deadline = time.monotonic() + 10
    while True:
        try:
            if server.call("GET", "/_local/health")["status"] == "ok":
                return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def webhooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def local_stripe(webhooks: WebhookReceiver) -> Iterator[LocalStripe]:
    server = start_local_stripe(webhooks, "whsec_" + secrets.token_hex(16))
    yield server
    server.stop()
    assert server.process.returncode == 0, "local Stripe did not stop cleanly on SIGTERM"


@pytest.fixture
def client(local_stripe: LocalStripe) -> stripe.StripeClient:
    return local_stripe.client()


# The product against the local server ---------------------------------------------------------------
#
# The product's tests get a server of their own (not the one test_local_stripe.py shares), emptied
# before each test, with the catalogue synced and the settings pointing at it. Its webhooks land in
# a receiver here; `Billing.forward()` posts them, byte for byte and with their signatures, to the
# product's endpoint, and runs what the endpoint queued (Celery runs inline in tests).

WEBHOOK_PATH = "/billing/stripe/webhook/"


def wait_idle(server: LocalStripe, timeout: float = 10) -> None:
    """Until the server has delivered every webhook of what it did."""
    deadline = time.monotonic() + timeout
    while server.call("GET", "/_local/webhook")["pending"]:
        if time.monotonic() > deadline:
            raise AssertionError("local Stripe still has webhooks to deliver")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def product_webhooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def product_stripe(product_webhooks: WebhookReceiver) -> Iterator[LocalStripe]:
    server = start_local_stripe(product_webhooks, "whsec_" + secrets.token_hex(16))
    yield server
    server.stop()


class Billing:
    """The product configured against the local server, and its webhooks to hand on."""

    def __init__(self, server: LocalStripe) -> None:
        assert server.webhooks is not None
        assert server.secret is not None
        self.server, self.receiver, self.secret = server, server.webhooks, server.secret
        self.client = server.client()
        self.mark = len(self.receiver.deliveries)

    def pending(self) -> list[Delivery]:
        """The webhooks delivered since the last call, once the server has sent them all."""
        wait_idle(self.server)
        with self.receiver._changed:
            deliveries = self.receiver.deliveries[self.mark :]
            self.mark = len(self.receiver.deliveries)
        return deliveries

    def post(self, body: bytes, signature: str | None) -> Any:
        from django.conf import settings
        from django.test import Client

        headers = {"Stripe-Signature": signature} if signature is not None else {}
        client = Client(HTTP_HOST=settings.BASE_DOMAIN)
        return client.post(WEBHOOK_PATH, body, content_type="application/json", headers=headers)

    def forward(self, deliveries: list[Delivery] | None = None) -> list[Any]:
        """Post the webhooks (by default: all new ones) to the product, running the queued work."""
        from django.test import TestCase

        responses = []
        for delivery in self.pending() if deliveries is None else deliveries:
            with TestCase.captureOnCommitCallbacks(execute=True):
                responses.append(self.post(delivery.body, delivery.headers["Stripe-Signature"]))
            assert responses[-1].status_code == 200, responses[-1].content
        return responses

    def sign(self, body: bytes) -> str:
        """A Stripe-Signature for `body`, made now (for events replayed later than delivered)."""
        return stripe.WebhookSignature.generate_signature_header(body.decode(), self.secret)

    def pay_checkout(self, url: str, card: str = "4242 4242 4242 4242", **fields: str) -> Response:
        """A person completes the hosted Checkout page (a form POST, the redirect not followed)."""
        body = urllib.parse.urlencode({"card_number": card, **fields}).encode()
        return http_request("POST", url, body, {"Content-Type": "application/x-www-form-urlencoded"})


@pytest.fixture
def billing(product_stripe: LocalStripe, settings: Any, db: None) -> Billing:
    """Billing configured against an empty local server whose catalogue is synced."""
    from billing.services import catalogue_sync

    wait_idle(product_stripe)
    product_stripe.call("POST", "/_local/reset")
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_API_BASE = product_stripe.base_url
    settings.STRIPE_WEBHOOK_SECRET = product_stripe.secret
    catalogue_sync()
    helper = Billing(product_stripe)
    helper.pending()  # the catalogue's own events (product.created...) are not the test's
    return helper


def closed_port_url() -> str:
    """An address where nothing listens: Stripe "unreachable"."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
