"""WCAG 2.1 AA of the billing page, checked by axe-core in Chromium, in every state it has, in English
(alpha, a company) and French (beta, a municipality); each also at 320 CSS pixels wide (reflow,
which axe cannot see). The states: the free plan near its limits, a paid plan with invoices and a
service bought, a town invoiced against its purchase order, the purchase-order form sent back with
its error, a failed payment in its grace period (with the banner), read-only, Stripe unreachable,
billing not configured, and what an executive reads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Page

from accounts.models import User
from accounts.roles import EXECUTIVE, ORG_ADMIN
from challenges.models import Challenge, Pledge
from tests.billing.conftest import closed_port_url
from tests.browser.billing_support import billing_state, bought, paid_plan
from tests.browser.support import ORGANIZATIONS, assert_accessible, organization, sign_in
from tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.browser

PAGE = "/manage/billing/"
CONFIGURED = "sk_test_browser_pages"  # the page never calls Stripe to be read


@pytest.fixture(scope="module")
def sessions() -> Iterator[dict[str, dict[str, str]]]:
    """An admin and an executive of each organisation; alpha near its free plan's limits (an open
    challenge, 44 active participants of 50). Removed when the module is over: other tests publish
    and pledge in alpha under the same limits."""
    made: dict[str, dict[str, str]] = {}
    for slug in ORGANIZATIONS:
        with tenant_context(organization(slug)):
            admin = UserFactory.create(email=f"billing-admin@{slug}.test", role=ORG_ADMIN)
            executive = UserFactory.create(email=f"billing-exec@{slug}.test", role=EXECUTIVE)
        made[slug] = {"admin": sign_in(slug, admin), "executive": sign_in(slug, executive)}
    with tenant_context(organization("alpha")):
        challenge = ChallengeFactory.create(title="Bike to work week")
        people = User.objects.bulk_create(
            User(email=f"billing-p{i}@alpha.test", password="!") for i in range(44)
        )
        Pledge.objects.bulk_create(Pledge(challenge=challenge, user=person) for person in people)
    yield made
    with tenant_context(organization("alpha")):
        Pledge.objects.filter(challenge=challenge).delete()
        Challenge.objects.filter(pk=challenge.pk).delete()
        User.objects.filter(email__startswith="billing-").delete()
    with tenant_context(organization("beta")):
        User.objects.filter(email__startswith="billing-").delete()


def _unreachable(page: Page, slug: str) -> None:
    if slug == "alpha":
        page.locator("form[action$='/checkout/'] button").first.click()
    else:
        page.locator("#id_purchase_order_number").fill("BC-2026-042")
        page.locator("form[action$='/municipality/'] button").click()
    page.locator(".error-summary").wait_for()


def _refused_purchase_order(page: Page, slug: str) -> None:
    page.locator("#id_purchase_order_number").fill("")
    page.locator("form[action$='/municipality/'] button").click()
    page.locator(".error-summary").wait_for()


@contextlib.contextmanager
def state(slug: str, name: str, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The organisation in the named state for the block. Yields who looks and what they do."""
    now = timezone.now()
    settings.STRIPE_SECRET_KEY = CONFIGURED
    shown: dict[str, Any] = {"role": "admin", "path": PAGE, "act": None}
    invoiced = slug == "beta"
    plan = "municipality" if invoiced else "business"
    method = "send_invoice" if invoiced else "charge_automatically"
    total = 240000 if invoiced else 4900
    if name in ("free plan", "executive"):
        shown["role"] = "executive" if name == "executive" else "admin"
        with billing_state(slug):
            yield shown
    elif name == "purchase order refused":
        with billing_state(slug):
            shown["act"] = _refused_purchase_order
            yield shown
    elif name == "paid with invoices":
        with billing_state(slug, plan=plan, billing_state="active", purchase_order_number="BC-2026-042"):
            specs: list[dict[str, object]] = [
                {"number": "CA-0004", "status": "open" if invoiced else "paid", "total": total, "due_in": 24}
            ]
            specs += [
                {"number": f"CA-000{i}", "status": "paid", "total": total, "days_ago": 30 * (3 - i)}
                for i in (2, 1)
            ]
            paid_plan(slug, plan, invoices=specs, collection_method=method)
            bought(slug, "workshop", 90000, "CA-0003")  # a week ago
            yield shown
    elif name in ("past due", "read-only"):
        late = name == "past due"
        grace = now + dt.timedelta(days=9) if late else now - dt.timedelta(days=2)
        with billing_state(
            slug, plan=plan, billing_state="past_due" if late else "read_only", grace_until=grace
        ):
            specs = [
                {"number": "CA-0002", "status": "open", "total": total, "due_in": -5 if invoiced else None}
            ]
            specs += [{"number": "CA-0001", "status": "paid", "total": total, "days_ago": 31}]
            paid_plan(slug, plan, invoices=specs, collection_method=method, status="past_due")
            yield shown
    elif name == "stripe unreachable":
        monkeypatch.setattr("billing.stripe_client.MAX_NETWORK_RETRIES", 0)
        settings.STRIPE_API_BASE = closed_port_url()
        with billing_state(slug):
            shown["act"] = _unreachable
            yield shown
    elif name == "not configured":
        settings.STRIPE_SECRET_KEY = ""
        with billing_state(slug):
            yield shown
    else:  # pragma: no cover - a name missing above
        raise AssertionError(name)


STATES = [
    "free plan",
    "paid with invoices",
    "past due",
    "read-only",
    "stripe unreachable",
    "not configured",
    "executive",
    "purchase order refused",
]
CASES = [
    (slug, name) for slug in ORGANIZATIONS for name in STATES if not (slug == "alpha" and "order" in name)
]


def open_state(
    page_for: Callable[..., Page], sessions: dict[str, dict[str, str]], slug: str, shown: dict[str, Any]
) -> Page:
    page = page_for(slug, session_key=sessions[slug][shown["role"]])
    response = page.goto(shown["path"])
    assert response is not None
    assert response.status == 200
    if shown["act"] is not None:
        shown["act"](page, slug)
    return page


@pytest.mark.parametrize(("slug", "name"), CASES)
def test_the_billing_page_meets_wcag_aa_in_every_state(
    page_for, axe_source, sessions, settings, monkeypatch, slug, name
):
    with state(slug, name, settings, monkeypatch) as shown:
        page = open_state(page_for, sessions, slug, shown)

        assert page.locator("html").get_attribute("lang") == ("fr" if slug == "beta" else "en")
        assert_accessible(page, axe_source)
        page.set_viewport_size({"width": 320, "height": 640})
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 320, f"the billing page ({name}) scrolls sideways at 320 px: {width} px wide"


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_the_grace_banner_on_another_page_meets_wcag_aa(
    page_for, axe_source, sessions, settings, monkeypatch, slug
):
    with state(slug, "past due", settings, monkeypatch):
        page = page_for(slug, session_key=sessions[slug]["admin"])
        page.goto("/manage/challenges/")
        banner = page.locator(".billing-banner")
        assert banner.is_visible()
        assert banner.get_by_role("link").get_attribute("href") == PAGE
        assert_accessible(page, axe_source)


def test_the_error_summary_leads_the_keyboard_to_the_purchase_order_field(
    page_for, sessions, settings, monkeypatch
):
    with state("beta", "purchase order refused", settings, monkeypatch) as shown:
        page = open_state(page_for, sessions, "beta", shown)
        page.locator(".error-summary a").first.click()
        assert page.evaluate("() => document.activeElement.id") == "id_purchase_order_number"
        assert page.evaluate("() => document.activeElement.getAttribute('aria-invalid')") == "true"
