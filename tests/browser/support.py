"""Helpers of the browser tests: the live server's addresses, signing in, and axe-core's verdict."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context
from playwright.sync_api import Page

from accounts.models import User
from tenants.db import tenant_connection
from tenants.models import Organization

CHROMIUM = Path("/usr/bin/chromium")
AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# Without the network flags, Chromium keeps calling Google's services, which this machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    # The live server listens on 127.0.0.1 only, not on ::1.
    "--host-resolver-rules=MAP localhost 127.0.0.1, MAP *.localhost 127.0.0.1",
]
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
ORGANIZATIONS = ("alpha", "beta")  # tests/conftest.py: an English company, a French municipality


@dataclass(frozen=True)
class LiveServer:
    port: int

    def url(self, organization: str, path: str = "/") -> str:
        return f"http://{organization}.{settings.BASE_DOMAIN}:{self.port}{path}"


def organization(slug: str) -> Organization:
    tenant_connection().set_schema_to_public()
    return Organization.objects.get(schema_name=slug)


def sign_in(slug: str, person: User) -> str:
    """A signed-in session for `person` on their organisation's site: its key, for the browser's cookie.

    People sign in with one-time links, which their own tests go through; here the session is made
    on the server directly.
    """
    client = Client(HTTP_HOST=f"{slug}.{settings.BASE_DOMAIN}")
    with tenant_context(organization(slug)):
        client.force_login(person)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def axe_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.1 A and AA violations on the page as it is now.

    axe is evaluated through the DevTools protocol, to which the pages' Content-Security-Policy (no
    inline script) does not apply: the pages are checked with their real policy.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    results = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_AA_TAGS,
    )
    return [v for v in results["violations"] if v.get("impact") in BLOCKING_IMPACTS]


def violations_text(violations: list[dict[str, Any]], *, nodes_per_rule: int = 3) -> str:
    """One paragraph per rule: what is wrong, where (up to three elements), how to fix it."""
    lines = []
    for violation in violations:
        rule = f"{violation['id']} ({violation['impact']})"
        lines.append(f"- {rule}: {violation['help']} — {violation['helpUrl']}")
        for node in violation["nodes"][:nodes_per_rule]:
            target = " ".join(str(part) for part in node.get("target", []))
            lines.append(f"    at {target}: {node.get('html', '')[:200]}")
            summary = " ".join(node.get("failureSummary", "").split())
            if summary:
                lines.append(f"      {summary[:400]}")
        if len(violation["nodes"]) > nodes_per_rule:
            lines.append(f"    … and {len(violation['nodes']) - nodes_per_rule} more")
    return "\n".join(lines)


def assert_accessible(page: Page, axe_source: str) -> None:
    violations = axe_violations(page, axe_source)
    assert not violations, f"WCAG 2.1 AA violations on {page.url}:\n{violations_text(violations)}"
