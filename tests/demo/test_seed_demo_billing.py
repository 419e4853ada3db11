"""seed_demo with Stripe configured: a local Stripe server started here, the plan limits on as in the
demo. Acme pays Business through Checkout, Villeneuve is on Municipality by invoice with its
purchase order, Le Petit Atelier is on Discovery near its limits; a second run creates nothing on
Stripe; Stripe unreachable or without the catalogue stops the seed with one sentence, nothing written.

Seeding takes seconds, so it runs once for the module inside a transaction rolled back at the end;
each test runs in a savepoint of it.
"""

import datetime as dt
import re
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import PARTICIPANT
from billing.limits import calendar_month
from billing.models import BillingAccount, Invoice, Subscription
from billing.selectors import active_participants_this_period, current_subscription
from billing.services import catalogue_sync
from challenges.models import Challenge, Pledge
from challenges.services import challenge_publish
from core.errors import PlanLimitReached
from demo.seed import DEMO_PASSWORD, seed_demo
from demo.subscriptions import plan_ensure
from tenants.db import tenant_connection
from tenants.models import Organization
from tests.billing.conftest import API_KEY, LocalStripe, closed_port_url, start_local_stripe

pytestmark = pytest.mark.django_db

Status = Challenge.Status
LIMITS = "billing.limits.organization_limits"  # on in the demo's settings, off in the tests'
ATELIER = ("rh@petit-atelier.example", "direction@petit-atelier.example", "jules@petit-atelier.example")


def _stripe_settings(server: LocalStripe) -> dict[str, str]:
    return {
        "STRIPE_SECRET_KEY": API_KEY,
        "STRIPE_API_BASE": server.base_url,
        "STRIPE_WEBHOOK_SECRET": "whsec_demo_tests",
        "ORGANIZATION_LIMITS": LIMITS,
    }


@pytest.fixture(scope="module")
def server() -> Iterator[LocalStripe]:
    local = start_local_stripe()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def seeded(server: LocalStripe, django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """seed_demo once for the module, against the local server whose catalogue is synced; its output."""
    with django_db_blocker.unblock(), override_settings(**_stripe_settings(server)):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            catalogue_sync()
            out = StringIO()
            call_command("seed_demo", stdout=out)
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            tenant_connection().set_schema_to_public()


@pytest.fixture
def stripe_on(server: LocalStripe, settings: Any) -> LocalStripe:
    for name, value in _stripe_settings(server).items():
        setattr(settings, name, value)
    return server


def _organization(slug: str) -> Organization:
    return Organization.objects.get(schema_name=slug)


def _stripe_objects(server: LocalStripe) -> dict[str, list[str]]:
    client = server.client()
    return {
        "customers": sorted(c.id for c in client.v1.customers.list({"limit": 100}).auto_paging_iter()),
        "subscriptions": sorted(
            s.id for s in client.v1.subscriptions.list({"limit": 100, "status": "all"}).auto_paging_iter()
        ),
        "invoices": sorted(i.id for i in client.v1.invoices.list({"limit": 100}).auto_paging_iter()),
        "checkout_sessions": sorted(
            s.id for s in client.v1.checkout.sessions.list({"limit": 100}).auto_paging_iter()
        ),
    }


def test_acme_pays_business_through_checkout_and_has_a_paid_invoice(
    seeded: str, stripe_on: LocalStripe
) -> None:
    acme = _organization("acme")
    subscription = current_subscription(acme)
    account = BillingAccount.objects.get(organization=acme)

    assert (acme.plan, acme.billing_state) == ("business", "active")
    assert subscription is not None
    assert subscription.stripe_id.startswith("sub_")
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.collection_method == "charge_automatically"
    assert set(subscription.price_lookup_keys) == {"business_base_monthly", "business_active_participant"}
    paid = Invoice.objects.filter(organization=acme, status=Invoice.Status.PAID)
    assert [(i.subscription_stripe_id, i.amount_paid) for i in paid] == [(subscription.stripe_id, 4900)]
    # On Stripe: the customer and subscription carry the organisation, and Checkout made it.
    stripe_subscription = stripe_on.client().v1.subscriptions.retrieve(subscription.stripe_id)
    assert stripe_subscription.metadata["organization"] == "acme"
    assert stripe_subscription.customer == account.stripe_customer_id
    sessions = stripe_on.client().v1.checkout.sessions.list({"customer": account.stripe_customer_id})
    assert [(s.status, s.subscription) for s in sessions.data] == [("complete", subscription.stripe_id)]


def test_villeneuve_is_on_municipality_with_an_invoice_carrying_its_purchase_order(
    seeded: str, stripe_on: LocalStripe
) -> None:
    villeneuve = _organization("villeneuve")
    subscription = current_subscription(villeneuve)
    invoices = list(Invoice.objects.filter(organization=villeneuve))
    number = f"BC-{timezone.now().year}-0042"

    assert (villeneuve.plan, villeneuve.billing_state) == ("municipality", "active")
    assert subscription is not None
    assert subscription.collection_method == "send_invoice"
    assert subscription.price_lookup_keys == ["municipality_yearly"]
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice.status in (Invoice.Status.OPEN, Invoice.Status.PAID)
    assert invoice.amount_due == 240000
    assert {"name": "Bon de commande", "value": number} in invoice.custom_fields
    assert invoice.due_date is not None
    assert dt.timedelta(days=29) < invoice.due_date - invoice.created <= dt.timedelta(days=30, hours=1)
    assert BillingAccount.objects.get(organization=villeneuve).purchase_order_number == number


def test_the_atelier_is_on_discovery_close_to_its_limits(seeded: str, stripe_on: LocalStripe) -> None:
    atelier = _organization("atelier")
    active = active_participants_this_period(atelier)
    with tenant_context(atelier):
        open_challenges = list(Challenge.objects.filter(status=Status.OPEN))
        drafts = list(Challenge.objects.filter(status=Status.DRAFT))
        pledges = list(Pledge.objects.filter(withdrawn_at__isnull=True))
        people = User.objects.filter(groups__name=PARTICIPANT).count()

    assert (atelier.plan, atelier.kind, atelier.locale) == ("discovery", "company", "fr")
    assert current_subscription(atelier) is None
    assert not Invoice.objects.filter(organization=atelier).exists()
    assert len(open_challenges) == 1  # Discovery's one open challenge, taken
    assert len(drafts) == 1
    assert 40 <= active < 50, "near the limit of 50 active participants, not at it"
    assert active == len(pledges) == open_challenges[0].pledge_count == 45
    assert people > active  # some joined without pledging yet
    # Every pledge is this month (what the limit counts), in the challenge's window, none ahead of now.
    now = timezone.now()
    month_start, _ = calendar_month(atelier, now)
    assert all(month_start <= p.created_at <= now for p in pledges)
    assert all(p.created_at >= open_challenges[0].starts_at for p in pledges)
    assert "Le Petit Atelier: Discovery, 45 of 50 active participants this month, 1 of 1 open" in seeded


def test_the_atelier_s_billing_page_shows_the_limits_near_and_reached(
    seeded: str, stripe_on: LocalStripe
) -> None:
    client = Client(HTTP_HOST="atelier.localhost")
    assert (
        client.post("/account/sign-in/", {"username": ATELIER[0], "password": DEMO_PASSWORD}).status_code
        == 302
    )

    page = client.get("/manage/billing/")

    assert page.status_code == 200
    text = page.content.decode()
    assert 'class="usage usage-reached"' in text  # the one open challenge
    assert 'class="usage usage-near"' in text  # 45 active participants of 50
    assert "45" in text


def test_the_atelier_respects_its_plan_the_draft_cannot_be_published(
    seeded: str, stripe_on: LocalStripe
) -> None:
    atelier = _organization("atelier")
    with tenant_context(atelier):
        admin = User.objects.get(email=ATELIER[0])
        draft = Challenge.objects.get(status=Status.DRAFT)

        with pytest.raises(PlanLimitReached) as refusal:
            challenge_publish(actor=admin, challenge_id=draft.pk)

        draft.refresh_from_db()
        assert draft.status == Status.DRAFT
        assert Challenge.objects.filter(status=Status.OPEN).count() == 1
    assert refusal.value.upgrade_url.endswith("/manage/billing/")


def test_a_second_run_creates_nothing_on_stripe_nor_here(seeded: str, stripe_on: LocalStripe) -> None:
    before = _stripe_objects(stripe_on)
    rows = (Subscription.objects.count(), Invoice.objects.count(), BillingAccount.objects.count())
    with tenant_context(_organization("atelier")):
        atelier_before = sorted(Pledge.objects.values_list("user__email", "created_at"))
    assert len(before["subscriptions"]) == 2
    assert len(before["checkout_sessions"]) == 1

    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert _stripe_objects(stripe_on) == before
    assert (Subscription.objects.count(), Invoice.objects.count(), BillingAccount.objects.count()) == rows
    with tenant_context(_organization("atelier")):
        assert sorted(Pledge.objects.values_list("user__email", "created_at")) == atelier_before
    assert "already present" in out.getvalue()
    assert "(new)" not in out.getvalue()


def test_a_database_seeded_afresh_finds_its_subscriptions_on_stripe(
    seeded: str, stripe_on: LocalStripe
) -> None:
    # The same Stripe, but the product lost its billing rows (a new database): found by metadata.
    before = _stripe_objects(stripe_on)
    Invoice.objects.all().delete()
    Subscription.objects.all().delete()

    seed_demo()

    assert _stripe_objects(stripe_on) == before
    assert current_subscription(_organization("acme")) is not None
    assert current_subscription(_organization("villeneuve")) is not None


def test_the_output_says_billing_goes_through_stripe_and_prints_every_sign_in(
    seeded: str, stripe_on: LocalStripe
) -> None:
    assert f"Billing through Stripe at {stripe_on.base_url}:" in seeded
    assert re.search(
        r"Acme Industries: Business \(active\), subscription sub_\w+ active \(new\); invoices: \S+ paid",
        seeded,
    )
    assert re.search(
        r"Ville de Villeneuve: Municipality \(active\), subscription sub_\w+ active \(new\); "
        r"invoices: \S+ open",
        seeded,
    )
    assert "Created: acme, villeneuve, atelier" in seeded
    assert "no Stripe configured" not in seeded
    for email in ATELIER:
        assert email in seeded
    assert re.search(r"Le Petit Atelier +http://atelier\.localhost/join/[\w-]+/", seeded)
    for email in ATELIER:
        response = Client(HTTP_HOST="atelier.localhost").post(
            "/account/sign-in/", {"username": email, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 302, email


def test_stripe_unreachable_stops_the_seed_with_one_sentence_and_writes_nothing(settings: Any) -> None:
    for name, value in {"STRIPE_SECRET_KEY": API_KEY, "STRIPE_API_BASE": closed_port_url()}.items():
        setattr(settings, name, value)
    before = (Organization.objects.count(), User.objects.count(), BillingAccount.objects.count())

    with pytest.raises(CommandError) as error:
        call_command("seed_demo", stdout=StringIO())

    message = str(error.value)
    assert message.startswith(
        "Stripe is configured (STRIPE_SECRET_KEY) but cannot be reached at http://127.0.0.1:"
    )
    assert message.count(". ") == 0  # one sentence
    assert message.endswith(".")
    assert (Organization.objects.count(), User.objects.count(), BillingAccount.objects.count()) == before


def test_stripe_without_the_catalogue_stops_the_seed_and_says_what_to_run(settings: Any) -> None:
    empty = start_local_stripe()
    try:
        for name, value in {"STRIPE_SECRET_KEY": API_KEY, "STRIPE_API_BASE": empty.base_url}.items():
            setattr(settings, name, value)
        organizations = Organization.objects.count()

        with pytest.raises(
            CommandError, match=r"has no price .*run `python manage.py stripe_sync_catalog` first"
        ):
            call_command("seed_demo", stdout=StringIO())

        assert Organization.objects.count() == organizations
        assert _stripe_objects(empty)["customers"] == []
    finally:
        empty.stop()


def test_against_stripe_itself_business_is_a_subscription_by_invoice_as_sales_make_one(
    seeded: str, settings: Any
) -> None:
    # Stripe's own hosted pages only a person fills in: the demo then subscribes as sales would. A
    # server of its own, so the module's server keeps its counts.
    other = start_local_stripe()
    try:
        for name, value in _stripe_settings(other).items():
            setattr(settings, name, value)
        catalogue_sync()
        atelier = _organization("atelier")
        with tenant_context(atelier):
            admin = User.objects.get(email=ATELIER[0])
            line = plan_ensure(atelier, "business", admin, purchase_order="", by_checkout=False)

        subscription = current_subscription(atelier)
        assert subscription is not None
        assert (atelier.plan, subscription.collection_method) == ("business", "send_invoice")
        stripe_subscription = other.client().v1.subscriptions.retrieve(subscription.stripe_id)
        assert stripe_subscription.metadata["organization"] == "atelier"
        assert [i.status for i in Invoice.objects.filter(organization=atelier)] == ["open"]
        assert _stripe_objects(other)["checkout_sessions"] == []
        assert line.startswith("Le Petit Atelier: Business (active), subscription sub_")

        again = plan_ensure(atelier, "business", admin, purchase_order="", by_checkout=False)

        assert len(_stripe_objects(other)["subscriptions"]) == 1
        assert "(new)" not in again
    finally:
        other.stop()


def test_a_restarted_local_server_gets_the_organisations_billed_afresh(seeded: str, settings: Any) -> None:
    # ./scripts/demo.sh again: the database kept its rows, the local server starts empty.
    old = {slug: current_subscription(_organization(slug)) for slug in ("acme", "villeneuve")}
    fresh = start_local_stripe()
    try:
        for name, value in _stripe_settings(fresh).items():
            setattr(settings, name, value)
        catalogue_sync()

        seed_demo()

        objects = _stripe_objects(fresh)
        assert len(objects["subscriptions"]) == 2
        assert len(objects["customers"]) == 3  # the atelier's too: its admin can upgrade at once
        for slug, plan in (("acme", "business"), ("villeneuve", "municipality")):
            organization = _organization(slug)
            subscription = current_subscription(organization)
            assert organization.plan == plan
            assert subscription is not None
            assert subscription.stripe_id in objects["subscriptions"]
            assert subscription.stripe_id != getattr(old[slug], "stripe_id", None)
            assert (
                not Subscription.objects.filter(organization=organization)
                .exclude(pk=subscription.pk)
                .exists()
            )
            assert Invoice.objects.filter(organization=organization).count() == 1
        atelier = BillingAccount.objects.get(organization=_organization("atelier"))
        assert atelier.stripe_customer_id in objects["customers"]
    finally:
        fresh.stop()
