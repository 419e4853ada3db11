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
