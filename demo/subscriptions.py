"""The demo's paying customers get their plan through Stripe when Stripe is configured.

With STRIPE_SECRET_KEY set, Acme and Villeneuve subscribe the way the product's customers do, then
what Stripe made is applied at once through billing's sync services (the webhooks the server sends
come later, or never while the web server is down, and change nothing then):

- Acme (Business): against another server (STRIPE_API_BASE: the local one that ./scripts/demo.sh
  starts), its admin goes through Checkout and pays on the hosted page with a test card, so the
  billing page shows a card subscription and a paid invoice. Against Stripe itself, whose hosted
  pages only a person can fill in, it gets a subscription by invoice on the Business prices, as
  sales would make one in Stripe's dashboard (metadata[organization] = the slug).
- Villeneuve (Municipality): municipality_subscribe with a purchase-order number, as its admin does
  on the billing page; its first invoice is open, due in 30 days.

An organisation that has its subscription (stored, or found on Stripe by its metadata) gets nothing
new, so running the seed again creates nothing on Stripe. The local server forgets everything when
it stops: against another server (STRIPE_API_BASE), billing rows naming a customer it no longer has
are from an earlier run of it; they are dropped (demo only) and the organisation is billed afresh.

With no Stripe configured, the plan is set directly on the organisation, with no subscription and no
invoice behind it.
"""

import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

from accounts.models import User
from billing import stripe_client
from billing.catalogue import catalogue
from billing.errors import BillingNotConfigured, BillingUnavailable, StripeRefused
from billing.models import BillingAccount, Invoice, Purchase, Subscription, UsageReport
from billing.selectors import current_subscription, invoice_list
from billing.services import (
    billing_account,
    billing_customer_ensure,
    checkout_session_create,
    municipality_subscribe,
    organization_subscriptions_reconcile,
)
from tenants.models import Organization
from tenants.selectors import organization_url

Plan = Organization.Plan
TEST_CARD = "4242 4242 4242 4242"
PURCHASE_ORDER = "BC-{year}-0042"  # the municipality's purchase order for the year's subscription
DAYS_TO_PAY = 30


class DemoStripeError(Exception):
    """Stripe is configured but the demo cannot bill through it; the message says why, in one
    sentence, and what to do."""


def stripe_configured() -> bool:
    return stripe_client.configured()


def stripe_where() -> str:
    return settings.STRIPE_API_BASE or "https://api.stripe.com"


def stripe_check() -> None:
    """Before anything is written: Stripe answers and has the plans' prices. Raises DemoStripeError."""
    keys = [
        price.lookup_key
        for key in (Plan.BUSINESS, Plan.MUNICIPALITY)
        for price in catalogue().plan(key).prices
    ]
    try:
        found = {price["lookup_key"] for price in stripe_client.price_list(keys) if price.get("active", True)}
    except BillingUnavailable as exc:
        raise DemoStripeError(unreachable()) from exc
    except StripeRefused as exc:
        raise DemoStripeError(f"Stripe at {stripe_where()} refused the demo's first request: {exc}") from exc
    missing = [key for key in keys if key not in found]
    if missing:
        raise DemoStripeError(
            f"Stripe at {stripe_where()} has no price {', '.join(missing)}: "
            "run `python manage.py stripe_sync_catalog` first."
        )


def unreachable() -> str:
    return (
        f"Stripe is configured (STRIPE_SECRET_KEY) but cannot be reached at {stripe_where()} or refused "
        "the key: start it (./scripts/demo.sh starts a local one when no key is set), or unset "
        "STRIPE_SECRET_KEY to seed without billing."
    )


def plan_ensure(
    organization: Organization,
    plan: str,
    admin: User,
    *,
    purchase_order: str,
    by_checkout: bool | None = None,
) -> str:
    """Give the organisation its paid plan (through Stripe when configured); a line saying what it
    has. Business goes through Checkout when `by_checkout` (by default: when STRIPE_API_BASE names
    another server, whose hosted page the demo can fill in), else by invoice. Called in the
    organisation's schema. Raises DemoStripeError."""
    if not stripe_configured():
        if organization.plan == Plan.DISCOVERY:
            Organization.objects.filter(pk=organization.pk).update(plan=plan)
            organization.plan = plan
        return f"{organization.name}: {catalogue().plan(organization.plan).name.en} (set directly)"
    try:
        checkout = bool(settings.STRIPE_API_BASE) if by_checkout is None else by_checkout
        made = _subscription_ensure(
            organization, plan, admin, purchase_order=purchase_order, checkout=checkout
        )
    except BillingUnavailable as exc:
        raise DemoStripeError(unreachable()) from exc
    except (BillingNotConfigured, StripeRefused) as exc:
        raise DemoStripeError(f"Stripe at {stripe_where()} refused the demo's subscription: {exc}") from exc
    return billing_line(organization, made)


def customer_ensure(organization: Organization) -> None:
    """The organisation's Stripe customer, now rather than by the worker, so that its admin can
    upgrade at once; stale rows of an earlier local server dropped first. Raises DemoStripeError."""
    try:
        _stale_forget(organization)
        billing_customer_ensure(organization)
    except BillingUnavailable as exc:
        raise DemoStripeError(unreachable()) from exc


def _stale_forget(organization: Organization) -> bool:
    """Against another server (the local one), drop the organisation's billing rows when the server
    does not know its customer (it was restarted, empty). True when it did."""
    account = billing_account(organization)
    if not settings.STRIPE_API_BASE or not account.stripe_customer_id:
        return False
    found = stripe_client.customer_search(f"metadata['organization']:'{organization.schema_name}'")
    if any(customer["id"] == account.stripe_customer_id for customer in found):
        return False
    for model in (UsageReport, Purchase, Invoice, Subscription):
        model._default_manager.filter(organization=organization).delete()
    BillingAccount.objects.filter(pk=account.pk).update(stripe_customer_id="", grace_until=None)
    return True


def billing_line(organization: Organization, made: bool = False) -> str:
    organization.refresh_from_db(fields=["plan", "billing_state"])
    name = catalogue().plan(organization.plan).name.en
    subscription = current_subscription(organization)
    if subscription is None:
        return f"{organization.name}: {name}, no subscription"
    invoices = list(invoice_list(organization))
    bills = ", ".join(f"{invoice.number or invoice.stripe_id} {invoice.status}" for invoice in invoices)
    return (
        f"{organization.name}: {name} ({organization.billing_state}), subscription {subscription.stripe_id} "
        f"{subscription.status}{' (new)' if made else ''}; invoices: {bills or 'none yet'}"
    )


def _subscription_ensure(
    organization: Organization, plan: str, admin: User, *, purchase_order: str, checkout: bool
) -> bool:
    """True when a subscription was made now; False when the organisation had one already."""
    _stale_forget(organization)
    if current_subscription(organization) is not None:
        return False
    billing_customer_ensure(organization)
    # Stored nowhere here, but Stripe may have it (a database seeded afresh against the same Stripe).
    query = f"metadata['organization']:'{organization.schema_name}'"
    if stripe_client.subscription_search(query):
        organization_subscriptions_reconcile(organization.pk)
        organization.refresh_from_db(fields=["plan", "billing_state"])
        if current_subscription(organization) is not None:
            return False
    if plan == Plan.MUNICIPALITY:
        municipality_subscribe(admin, organization, purchase_order)
    elif checkout:
        _business_by_checkout(organization, admin)
    else:
        _business_by_invoice(organization)
    organization_subscriptions_reconcile(organization.pk)
    if current_subscription(organization) is None:
        raise StripeRefused(f"{organization.name} has no live subscription on Stripe after subscribing.")
    return True


def _business_by_checkout(organization: Organization, admin: User) -> None:
    """The admin's upgrade as on the billing page, the hosted Checkout page paid with a test card."""
    billing = organization_url(organization, "/manage/billing/")
    url = checkout_session_create(
        admin,
        organization,
        kind="plan",
        key=Plan.BUSINESS,
        success_url=f"{billing}?checkout=success&kind=plan",
        cancel_url=f"{billing}?checkout=cancel&kind=plan",
        locale=organization.locale,
    )
    _checkout_pay(url)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _checkout_pay(url: str) -> None:
    """Fill in the local server's hosted Checkout page: a successful payment answers 303 to the
    success URL."""
    body = urllib.parse.urlencode({"card_number": TEST_CARD, "card_name": "Demo"}).encode()
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - Stripe's own page
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(request, timeout=stripe_client.TIMEOUT_SECONDS)
    except urllib.error.HTTPError as answer:
        if answer.code == 303:
            return
        raise StripeRefused(f"the Checkout page {url} answered {answer.code} to a test card") from answer
    except OSError as exc:
        raise BillingUnavailable() from exc
    raise StripeRefused(f"the Checkout page {url} took the test card but did not complete")


def _business_by_invoice(organization: Organization) -> None:
    """A Business subscription as sales make one in Stripe's dashboard: on the catalogue's prices,
    invoiced (30 days to pay), recognised by metadata[organization]."""
    plan = catalogue().plan(Plan.BUSINESS)
    keys = [price.lookup_key for price in plan.prices]
    ids = {
        price["lookup_key"]: price["id"]
        for price in stripe_client.price_list(keys)
        if price.get("active", True)
    }
    slug, customer = organization.schema_name, billing_customer_ensure(organization)
    stripe_client.subscription_create(
        {
            "customer": customer,
            "items": [
                {"price": ids[price.lookup_key]}
                if price.metered
                else {"price": ids[price.lookup_key], "quantity": 1}
                for price in plan.prices
            ],
            "collection_method": "send_invoice",
            "days_until_due": DAYS_TO_PAY,
            "metadata": {"organization": slug, "plan": plan.key},
        },
        idempotency_key=f"crowdact-demo-business-{slug}-{customer}",
    )
