"""Journey 7 in Chromium: the admin of an organisation on the free plan upgrades through Stripe's
Checkout and sees the new plan.

Against the local Stripe server (scripts/local_stripe.py): the admin opens the billing page, clicks
"Upgrade to Business", lands on the server's hosted Checkout page, pays with the test card (and a VAT
number), is sent back to the billing page; the server posts its signed webhooks to the live server's
public host, which applies them (Celery runs inline), and the billing page shows the Business plan,
its invoice, and the way to the billing portal. A declined card changes nothing, and cancelling
comes back saying so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.models import AuditEntry
from accounts.roles import ORG_ADMIN
from billing.models import Invoice, StripeEvent, Subscription
from tests.billing.conftest import LocalStripe, wait_idle
from tests.browser.billing_support import billing_state, stripe_for
from tests.browser.support import LiveServer, organization, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

PAGE = "/manage/billing/"


@pytest.fixture(scope="module")
def stripe_server(web_server: LiveServer) -> Iterator[LocalStripe]:
    with stripe_for(web_server) as server:
        yield server


@pytest.fixture
def discovery_admin(stripe_server: LocalStripe) -> Iterator[str]:
    """alpha on the free plan, and a session of one of its admins; alpha's billing as it was after."""
    with billing_state("alpha", plan="discovery", billing_state="active"):
        with tenant_context(organization("alpha")):
            admin = UserFactory.create(email=f"checkout-{time.monotonic_ns()}@alpha.test", role=ORG_ADMIN)
        yield sign_in("alpha", admin)
        # Stripe's last webhooks land a moment after the test is over: applied before alpha is put back.
        wait_idle(stripe_server)


def reload_until(page: Page, condition: Any, seconds: float = 20) -> None:
    """Reload the page until `condition()` holds: the webhook lands a moment after the person is back."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still not there after {seconds} s: {page.url}"
        time.sleep(0.25)
        page.reload()


def test_the_admin_upgrades_through_checkout_and_sees_the_business_plan(
    page_for, stripe_server, discovery_admin
):
    page = page_for("alpha", session_key=discovery_admin)
    page.goto(PAGE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Billing")
    expect(page.locator(".plan-name")).to_have_text("Discovery")

    page.get_by_role("button", name="Upgrade to Business").click()

    # Stripe's (the local server's) hosted Checkout page, with what is bought and a VAT number field.
    page.wait_for_url(f"{stripe_server.base_url}/checkout/**")
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribe")
    expect(page.get_by_label("VAT number (optional)")).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Name on card").fill("Harriet HR")
    page.get_by_label("VAT number (optional)").fill("FR12345678901")
    page.get_by_role("button", name="Subscribe").click()

    # Back on the billing page: the plan follows once the webhook is applied.
    page.wait_for_url("**/manage/billing/?checkout=success**")
    expect(page.locator(".billing-notice")).to_contain_text("Thank you")
    reload_until(page, lambda: page.locator(".plan-name").inner_text() == "Business")
    expect(page.locator(".billing-notice")).to_have_text(
        "Thank you: your organisation is now on the Business plan."
    )
    expect(page.locator(".plan-current")).to_contain_text("Paid up. Renews on")
    invoices = page.get_by_role("region", name="Invoices, newest first")
    expect(invoices).to_contain_text("€49.00")
    expect(invoices).to_contain_text("Paid")
    expect(page.get_by_role("button", name="Upgrade to Business")).to_have_count(0)
    expect(page.get_by_role("button", name="Manage card and invoices")).to_be_visible()
    for usage in page.locator(".usage").all():
        expect(usage).to_contain_text("No limit on this plan.")

    wait_idle(stripe_server)  # every webhook answered, so every event applied (Celery runs inline)
    alpha = organization("alpha")
    assert (alpha.plan, alpha.billing_state) == ("business", "active")
    subscription = Subscription.objects.get(organization=alpha)
    assert subscription.status == "active"
    assert Invoice.objects.get(organization=alpha).status == "paid"
    completed = StripeEvent.objects.get(type="checkout.session.completed", organization=alpha)
    assert completed.processed_at is not None
    session = stripe_server.client().v1.checkout.sessions.retrieve(completed.object_id).to_dict()
    assert session["tax_id_collection"]["enabled"] is True
    assert session["metadata"]["organization"] == "alpha"
    customer = stripe_server.client().v1.customers.retrieve(session["customer"]).to_dict()
    assert customer["metadata"] == {"organization": "alpha"}
    with tenant_context(alpha):
        kinds = list(AuditEntry.objects.order_by("-pk").values_list("kind", flat=True)[:2])
    assert kinds == [AuditEntry.Kind.PLAN_CHANGED, AuditEntry.Kind.CHECKOUT_STARTED]

    # The billing portal: the card and invoices, then back.
    page.get_by_role("button", name="Manage card and invoices").click()
    page.wait_for_url(f"{stripe_server.base_url}/billing_portal/**")
    expect(page.get_by_role("heading", level=1)).to_have_text("Billing")


def test_a_declined_card_changes_nothing_and_cancelling_says_so(page_for, stripe_server, discovery_admin):
    page = page_for("alpha", session_key=discovery_admin)
    page.goto(PAGE)
    page.get_by_role("button", name="Upgrade to Business").click()
    page.wait_for_url(f"{stripe_server.base_url}/checkout/**")

    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("alert")).to_contain_text("declined")

    page.get_by_role("link", name="Cancel and go back").click()
    page.wait_for_url("**/manage/billing/?checkout=cancel**")
    expect(page.locator(".billing-notice")).to_have_text(
        "Payment cancelled: nothing was changed and nothing was charged."
    )
    expect(page.locator(".plan-name")).to_have_text("Discovery")
    alpha = organization("alpha")
    assert (alpha.plan, alpha.billing_state) == ("discovery", "active")
    assert not Subscription.objects.filter(organization=alpha).exists()
