"""The billing page, /manage/billing/, per role and per state, against the local Stripe server; the
banner of a late organisation on every page; the audit trail and the admins' e-mails of billing."""

from __future__ import annotations

import datetime as dt
import html
import re
import urllib.parse
import zoneinfo
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test import Client, RequestFactory, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext
from django_tenants.utils import tenant_context

from accounts.models import AuditEntry, User
from accounts.roles import EXECUTIVE, ORG_ADMIN
from billing import selectors
from billing.context_processors import billing_banner
from billing.models import BillingAccount, Invoice, Purchase, Subscription
from billing.services import billing_dunning_notify, billing_grace_expire, billing_grace_reminders_queue
from challenges.models import Challenge, Pledge
from tenants.models import Organization
from tests.billing.conftest import Billing, closed_port_url
from tests.factories import ChallengeFactory, UserFactory

State = Organization.BillingState
Kind = AuditEntry.Kind
PAGE = "/manage/billing/"


def text(response: Any) -> str:
    """The page's text as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(body).split())


def main_html(response: Any) -> str:
    """The page's <main>, without the header (whose sign-out form every page has)."""
    content = response.content.decode()
    return content[content.index('<main id="main">') : content.index("</main>")]


def beta_client(role: str = ORG_ADMIN, email: str = "mayor@beta.test", language: str = "en") -> Client:
    """Beta's host signed in as a person of that role. English unless told: the page's own words are
    checked in English; the French page is checked against the catalogue (test_the_page_speaks_french)."""
    beta = Organization.objects.get(schema_name="beta")
    client = Client(HTTP_HOST=f"beta.{django_settings.BASE_DOMAIN}")
    with tenant_context(beta):
        person = UserFactory.create(email=email, role=role, language=language)
        client.force_login(person)
    return client


def active_participants(count: int) -> Challenge:
    """One open challenge with `count` people who pledged this month (in the current schema)."""
    challenge = ChallengeFactory.create(title="Bike to work")
    people = User.objects.bulk_create(User(email=f"p{i}@alpha.test", password="!") for i in range(count))
    Pledge.objects.bulk_create(Pledge(challenge=challenge, user=person) for person in people)
    return challenge


def checkout_sessions(billing: Billing) -> list[dict[str, Any]]:
    return [s.to_dict() for s in billing.client.v1.checkout.sessions.list().data]


def post_checkout(client: Client, kind: str, key: str) -> Any:
    return client.post(reverse("billing:checkout"), {"kind": kind, "key": key})


def csp_form_action(response: Any) -> list[str]:
    policy = response.headers["Content-Security-Policy"]
    directive = next(part for part in policy.split(";") if part.strip().startswith("form-action"))
    return directive.split()[1:]


def shown_date(value: dt.datetime, organization: Organization, language: str = "en") -> str:
    """A date as the page writes it: in the organisation's time zone and the reader's language."""
    with translation.override(language):
        return formats.date_format(value.astimezone(zoneinfo.ZoneInfo(organization.timezone)), "DATE_FORMAT")


def late(organization: Organization, state: str, grace_until: dt.datetime) -> None:
    """The organisation late paying (what organization_billing_refresh stores)."""
    Organization.objects.filter(pk=organization.pk).update(billing_state=state)
    BillingAccount.objects.filter(organization=organization).update(grace_until=grace_until)


def audit_entries(organization: Organization) -> list[tuple[str, str, str]]:
    with tenant_context(organization):
        return [
            (entry.kind, entry.actor.email if entry.actor else "", entry.target)
            for entry in AuditEntry.objects.select_related("actor").order_by("pk")
        ]


# Per role ----------------------------------------------------------------------------------------------


def test_a_discovery_admin_sees_the_plan_its_usage_near_the_limits_and_what_to_buy(billing, admin_client):
    active_participants(42)

    response = admin_client.get(PAGE)

    assert response.status_code == 200
    page = text(response)
    assert "Discovery Active" in page
    assert "Free: one open challenge at a time, up to 50 active participants a month." in page
    assert "1 of 1 open challenges (100 %)" in page
    assert "The plan's limit is reached: to publish another challenge" in page
    assert "42 of 50 active participants (84 %)" in page
    assert "Close to the plan's limit" in page
    alpha = Organization.objects.get(schema_name="alpha")
    start, end = selectors.billing_period(alpha)
    last = end - dt.timedelta(microseconds=1)
    assert f"This period: from {shown_date(start, alpha)} to {shown_date(last, alpha)}." in page
    # The offer: Business by Checkout, with its prices; the paid services, each with its button.
    assert "Business €49 a month + €1.50 per active participant a month" in page
    assert 'name="key" value="business"' in response.content.decode()
    assert "Upgrade to Business" in page
    for service in (
        "Challenge design workshop €900",
        "On-site facilitation day €1,200",
        "Reviewed impact report €450",
    ):
        assert service in page
    assert page.count("Buy ") == 3
    assert "Municipality" not in page, "a company is not offered the Municipality plan"
    assert "No invoice yet." in page
    assert "Manage card and invoices" not in page, "nothing to manage before a first payment"
    # The page's forms may lead to the local server's Checkout page, and only there.
    assert billing.server.base_url in csp_form_action(response)
    assert "'self'" in csp_form_action(response)


def test_executives_read_the_page_without_any_button_and_participants_are_refused(
    billing, executive_client, participant, client_a
):
    response = executive_client.get(PAGE)
    assert response.status_code == 200
    page = text(response)
    assert "Discovery" in page
    assert "Only an organisation admin can change the plan or buy a service." in page
    main = main_html(response)
    assert 'method="post"' not in main, "no button to press"
    assert "Upgrade to Business" not in page
    assert "Buy" not in page
    assert reverse("billing:checkout") not in main
    before = checkout_sessions(billing)
    assert post_checkout(executive_client, "plan", "business").status_code == 403
    assert executive_client.post(reverse("billing:portal")).status_code == 403
    assert (
        executive_client.post(reverse("billing:municipality"), {"purchase_order_number": "PO"}).status_code
        == 403
    )
    assert checkout_sessions(billing) == before

    client_a.force_login(participant)
    assert client_a.get(PAGE).status_code == 403
    assert post_checkout(client_a, "plan", "business").status_code == 403

    anonymous = Client(HTTP_HOST=f"alpha.{django_settings.BASE_DOMAIN}")
    response = anonymous.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert BillingAccount.objects.get(organization__schema_name="alpha").stripe_customer_id == ""


def test_the_management_navigation_leads_to_billing(admin_client):
    response = admin_client.get(reverse("challenges:manage_list"))
    assert f'href="{PAGE}"' in response.content.decode()
    page = admin_client.get(PAGE).content.decode()
    assert f'<a href="{PAGE}" aria-current="page">Billing</a>' in page


# Checkout ----------------------------------------------------------------------------------------------


def test_upgrade_makes_a_checkout_session_with_vat_collection_and_sends_the_admin_to_it(
    billing, admin_client, org_a
):
    response = post_checkout(admin_client, "plan", "business")

    assert response.status_code == 303
    [session] = checkout_sessions(billing)
    assert response["Location"] == session["url"]
    assert response["Location"].startswith(f"{billing.server.base_url}/checkout/")
    assert session["mode"] == "subscription"
    assert session["tax_id_collection"]["enabled"] is True
    assert session["metadata"]["organization"] == "alpha"
    assert session["locale"] == "en"
    success = urllib.parse.urlsplit(session["success_url"])
    assert (success.netloc, success.path) == (f"alpha.{django_settings.BASE_DOMAIN}", PAGE)
    assert urllib.parse.parse_qs(success.query)["checkout"] == ["success"]
    assert "checkout=cancel" in session["cancel_url"]
    assert audit_entries(org_a) == [(Kind.CHECKOUT_STARTED, "hr@alpha.test", "Business")]
    org_a.refresh_from_db()
    assert org_a.plan == "discovery", "the plan changes when Stripe says it is paid"


def test_back_from_checkout_the_page_says_the_plan_comes_in_a_moment_then_shows_business(
    billing, admin_client, org_a
):
    checkout = post_checkout(admin_client, "plan", "business")
    paid = billing.pay_checkout(checkout["Location"])
    assert paid.status == 303
    back = urllib.parse.urlsplit(paid.headers["Location"])

    early = admin_client.get(f"{back.path}?{back.query}")  # the webhook is not handed on yet
    page = text(early)
    assert "Thank you: your payment went through. Your new plan starts as soon as Stripe confirms it" in page
    assert "Reload this page to see it" in page
    assert "Discovery" in page

    billing.forward()

    later = text(admin_client.get(f"{back.path}?{back.query}"))
    assert "Thank you: your organisation is now on the Business plan." in later
    page = text(admin_client.get(PAGE))
    assert "Business Active" in page
    assert "Paid up. Renews on" in page
    assert "No limit on this plan." in page
    assert "Upgrade to Business" not in page
    invoice = Invoice.objects.get(organization=org_a)
    assert f"{invoice.number} " in page
    assert "€49.00 Paid" in page
    content = admin_client.get(PAGE).content.decode()
    assert f'href="{html.escape(invoice.hosted_invoice_url)}"' in content
    assert f'href="{html.escape(invoice.invoice_pdf)}"' in content
    assert "Manage card and invoices" in page
    kinds = [(kind, actor) for kind, actor, _ in audit_entries(org_a)]
    assert kinds == [(Kind.CHECKOUT_STARTED, "hr@alpha.test"), (Kind.PLAN_CHANGED, "")]


def test_cancelling_checkout_says_nothing_changed(billing, admin_client, org_a):
    page = text(admin_client.get(f"{PAGE}?checkout=cancel&kind=plan"))
    assert "Payment cancelled: nothing was changed and nothing was charged." in page
    assert "Thank you" not in text(admin_client.get(f"{PAGE}?checkout=bogus"))


def test_a_paid_service_is_bought_from_the_page_and_listed_once_paid(billing, admin_client, org_a):
    response = post_checkout(admin_client, "service", "reviewed_report")
    assert response.status_code == 303
    [session] = checkout_sessions(billing)
    assert (session["mode"], session["tax_id_collection"]["enabled"]) == ("payment", True)
    assert session["metadata"]["organization"] == "alpha"
    assert "No paid service bought yet." in text(admin_client.get(PAGE)), "not before it is paid"

    assert billing.pay_checkout(response["Location"]).status == 303
    billing.forward()

    page = text(admin_client.get(PAGE))
    purchase = Purchase.objects.get(organization=org_a)
    assert purchase.status == "paid"
    assert purchase.paid_at is not None
    assert f"Reviewed impact report {shown_date(purchase.paid_at, org_a)} €450.00" in page
    assert "Discovery" in page, "a service is no plan"
    assert audit_entries(org_a) == [
        (Kind.CHECKOUT_STARTED, "hr@alpha.test", "Reviewed impact report"),
        (Kind.SERVICE_BOUGHT, "hr@alpha.test", "Reviewed impact report"),
    ]
    billing.forward(billing.receiver.deliveries[-3:])  # delivered again: recorded once
    assert len(audit_entries(org_a)) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "plan", "key": "platinum"}, "This plan cannot be chosen here."),
        ({"kind": "service", "key": "massage"}, "This service is not offered."),
        ({"kind": "plan", "key": "municipality"}, "This plan cannot be chosen here."),
        ({"kind": "donation", "key": "business"}, "Choose a plan or a service."),
        ({"key": "business"}, "Choose a plan or a service."),
        ({"kind": "plan", "key": "../business"}, "This plan or service is not offered."),
        ({"kind": "plan", "key": "b" * 51}, "This plan or service is not offered."),
    ],
)
def test_a_bad_checkout_request_gets_a_sentence_and_changes_nothing(
    billing, admin_client, org_a, data, message
):
    response = admin_client.post(reverse("billing:checkout"), data)

    assert response.status_code == 400
    page = text(response)
    assert "Nothing was changed" in page
    assert message in page
    assert checkout_sessions(billing) == []
    assert not Purchase.objects.exists()
    assert audit_entries(org_a) == []


def test_a_company_cannot_take_the_municipality_plan_nor_a_town_business(billing, admin_client, org_b):
    response = admin_client.post(reverse("billing:municipality"), {"purchase_order_number": "PO-1"})
    assert response.status_code == 400
    assert "The Municipality plan is not offered to this kind of organisation." in text(response)
    town = beta_client()
    response = post_checkout(town, "plan", "business")
    assert response.status_code == 400
    assert "The Business plan is not offered to this kind of organisation." in text(response)
    assert not Subscription.objects.exists()
    assert checkout_sessions(billing) == []


# The Municipality plan by purchase order --------------------------------------------------------------


def test_a_municipality_sets_its_plan_up_with_a_purchase_order_and_gets_the_invoice(billing, org_b):
    town = beta_client()
    page = text(town.get(PAGE))
    assert "Municipality €2,400 a year, by invoice" in page
    assert "Purchase-order number" in page
    assert "Business" not in page, "a town is not offered the Business plan"

    response = town.post(reverse("billing:municipality"), {"purchase_order_number": " BC-2026-042 "})

    assert response.status_code == 303
    assert response["Location"] == PAGE
    page = text(town.get(PAGE))
    assert "The Municipality plan is set up." in page
    assert "Municipality Active" in page
    assert "Paid by bank transfer against an invoice. Renews on" in page
    assert "Purchase order BC-2026-042" in page
    invoice = Invoice.objects.get(organization=org_b)
    assert invoice.status == "open"
    assert invoice.due_date is not None
    due = shown_date(invoice.due_date, org_b)
    assert f"Invoice {invoice.number}: €2,400.00 to pay · due {due}" in page
    assert f"€2,400.00 To pay due {due}" in page
    assert f"Pay invoice {invoice.number}" in page
    assert "Purchase-order number" not in page, "no offer once subscribed"
    assert [(kind, actor, target) for kind, actor, target in audit_entries(org_b)] == [
        (Kind.MUNICIPALITY_SUBSCRIBED, "mayor@beta.test", "Collectivité"),
        (Kind.PLAN_CHANGED, "", "Collectivité"),
    ], "named in the town's language"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("", "Give the purchase-order number to print on the invoice."),
        ("   ", "Give the purchase-order number to print on the invoice."),
        ("x" * 101, "A purchase-order number has at most 100 characters."),
    ],
)
def test_a_bad_purchase_order_is_refused_next_to_its_field_and_nothing_is_made(
    billing, org_b, number, message
):
    town = beta_client()

    response = town.post(reverse("billing:municipality"), {"purchase_order_number": number})

    assert response.status_code == 400
    content = response.content.decode()
    assert 'aria-invalid="true"' in content
    assert 'href="#id_purchase_order_number"' in content, "the error summary leads to the field"
    assert message in text(response)
    assert not Subscription.objects.exists()
    assert BillingAccount.objects.get(organization=org_b).purchase_order_number == ""
    assert billing.client.v1.customers.list().data == []


def test_the_page_speaks_french_to_a_french_town(billing, org_b):
    town = beta_client(language="")
    response = town.get(PAGE)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "fr"
    page = text(response)
    with translation.override("fr"):
        for words in ("Billing", "Your plan", "Paid services", "Invoices", "Purchase-order number"):
            assert gettext(words) in page
    assert "Découverte" in page
    assert "2\u00a0400\u00a0€" in response.content.decode(), "amounts written the French way"


# Stripe unreachable, billing not configured -----------------------------------------------------------


def test_when_stripe_is_unreachable_the_page_says_so_and_nothing_is_half_saved(
    billing, admin_client, org_a, org_b, settings, monkeypatch
):
    monkeypatch.setattr("billing.stripe_client.MAX_NETWORK_RETRIES", 0)
    settings.STRIPE_API_BASE = closed_port_url()
    unreachable = "Stripe, our payment provider, cannot be reached right now, so nothing was changed."

    for data in ({"kind": "plan", "key": "business"}, {"kind": "service", "key": "workshop"}):
        response = admin_client.post(reverse("billing:checkout"), data)
        assert response.status_code == 503
        assert unreachable in text(response)
        assert "Discovery" in text(response), "the page is still there, with the plan"
    response = admin_client.post(reverse("billing:portal"))
    assert response.status_code == 503
    assert unreachable in text(response)
    town = beta_client()
    response = town.post(reverse("billing:municipality"), {"purchase_order_number": "BC-9"})
    assert response.status_code == 503
    assert unreachable in text(response)
    assert 'value="BC-9"' in response.content.decode(), "what was typed is kept"

    assert not Purchase.objects.exists()
    assert not Subscription.objects.exists()
    for organization in (org_a, org_b):
        account = BillingAccount.objects.get(organization=organization)
        assert (account.stripe_customer_id, account.purchase_order_number) == ("", "")
        assert audit_entries(organization) == []
    assert admin_client.get(PAGE).status_code == 200, "reading the page never calls Stripe"


def test_without_stripe_configured_the_page_shows_plan_and_usage_and_says_payment_is_not_set_up(
    admin_client, settings, org_a
):
    settings.STRIPE_SECRET_KEY = ""
    active_participants(3)

    response = admin_client.get(PAGE)

    assert response.status_code == 200
    page = text(response)
    assert "Online payment is not set up on this server" in page
    assert "Discovery Active" in page
    assert "3 of 50 active participants (6 %)" in page
    assert "Business €49 a month" in page, "what exists is shown"
    assert "Upgrade to Business" not in page
    assert "Buy" not in page
    assert "form-action 'self';" in response.headers["Content-Security-Policy"] + ";"
    response = post_checkout(admin_client, "plan", "business")
    assert response.status_code == 503
    assert "Billing is not configured on this server." in text(response)
    assert audit_entries(org_a) == []


# Query count ------------------------------------------------------------------------------------------


def _invoices_and_purchases(organization: Organization, count: int) -> None:
    now = timezone.now()
    for i in range(count):
        invoice = Invoice.objects.create(
            stripe_id=f"in_{organization.schema_name}_{i}",
            organization=organization,
            number=f"INV-{i:04}",
            status="paid",
            currency="eur",
            total=4900,
            hosted_invoice_url=f"https://invoice.example/{i}",
            invoice_pdf=f"https://invoice.example/{i}/pdf",
            created=now - dt.timedelta(days=i),
            stripe_updated=now,
        )
        Purchase.objects.create(
            organization=organization,
            service="workshop",
            checkout_session_id=f"cs_{organization.schema_name}_{i}",
            status="paid",
            amount_total=90000,
            currency="eur",
            invoice=invoice,
            paid_at=now,
        )


@pytest.mark.parametrize("rows", [1, 20])
def test_the_page_issues_the_same_queries_whatever_its_invoices_and_purchases(admin_client, org_a, rows):
    # The seven queries of every console page (tests/challenges/manage/test_queries.py), then the
    # overview (billing.selectors.billing_overview): the metered subscription, the billing account,
    # the current subscription, the active participants (one query, between switching to the
    # organisation's schema and back: billing is a shared app), the invoices, the purchases with
    # their invoice; then the count of open challenges.
    _invoices_and_purchases(org_a, rows)
    admin_client.get(PAGE)  # the first request of a session loads what the next ones keep
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(PAGE)
    assert response.status_code == 200
    assert text(response).count("€49.00") == rows
    assert len(queries) == 7 + 9, "\n".join(q["sql"][:120] for q in queries.captured_queries)


# The banner ----------------------------------------------------------------------------------------------


def test_a_past_due_organisation_shows_its_admins_the_grace_banner_on_every_page(
    admin_client, executive, participant, client_a, org_a
):
    grace = timezone.now() + dt.timedelta(days=9)
    late(org_a, State.PAST_DUE, grace)
    banner = "Your last payment failed. Pay before"

    for path in ("/", reverse("challenges:manage_list"), reverse("participants:my_activity")):
        page = text(admin_client.get(path))
        assert banner in page, path
        assert "to keep your organisation working." in page
    assert f"Pay before {shown_date(grace, org_a)} to keep" in text(admin_client.get("/"))
    assert f'href="{PAGE}"' in admin_client.get("/").content.decode()
    page = text(admin_client.get(PAGE))
    assert banner in page
    assert "Payment failed" in page

    for person in (executive, participant):
        client_a.force_login(person)
        assert banner not in text(client_a.get("/")), "only the admins are told while there is time"


def test_a_read_only_organisation_tells_everyone_signed_in_and_its_admins_where_to_pay(
    admin_client, participant, client_a, org_a
):
    late(org_a, State.READ_ONLY, timezone.now() - dt.timedelta(days=1))

    admin_page = admin_client.get("/")
    assert "Your organisation is read-only: its subscription is unpaid." in text(admin_page)
    assert "Pay now to restore it" in text(admin_page)
    assert "Read-only" in text(admin_client.get(PAGE))

    client_a.force_login(participant)
    page = text(client_a.get("/"))
    assert "Your organisation is read-only for now." in page
    assert "Your organisation's administrators have been told." in page
    assert "Pay now" not in page

    anonymous = Client(HTTP_HOST=f"alpha.{django_settings.BASE_DOMAIN}")
    assert "read-only" not in text(anonymous.get("/"))


def test_the_banner_costs_no_query_while_the_organisation_is_in_good_standing(org_a, admin):
    request = RequestFactory().get("/")
    request.organization = org_a  # type: ignore[attr-defined]
    request.user = admin
    with CaptureQueriesContext(connection) as queries:
        assert billing_banner(request) == {}
    assert len(queries) == 0
    request.organization = None  # type: ignore[attr-defined] # the public site
    assert billing_banner(request) == {}


# The admins' e-mails when a payment fails --------------------------------------------------------------


def test_the_admins_are_told_once_when_a_payment_fails_days_before_read_only_and_when_it_starts(
    billing, admin, executive, org_a, settings
):
    from tests.billing.support import business_by_checkout

    settings.BILLING_GRACE_DAYS = 14
    with tenant_context(org_a):
        french = UserFactory.create(email="rh@alpha.test", role=ORG_ADMIN, language="fr")
        UserFactory.create(email="left@alpha.test", role=ORG_ADMIN, is_active=False)
    sub = business_by_checkout(billing, org_a, admin)
    mail.outbox.clear()
    billing.server.call("POST", f"/_local/subscriptions/{sub.stripe_id}/fail_next_payment")
    billing.server.call("POST", f"/_local/subscriptions/{sub.stripe_id}/advance")

    billing.forward()

    org_a.refresh_from_db()
    assert org_a.billing_state == "past_due"
    grace = selectors.grace_end(org_a)
    assert grace is not None
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == ["admin@alpha.test", "hr@alpha.test", "rh@alpha.test"], "admins only, active ones"
    english = next(m for m in mail.outbox if m.to == ["hr@alpha.test"])
    assert english.subject.startswith("Payment failed: Alpha Corp keeps working until")
    assert "Please pay before" in english.body
    assert f"http://alpha.{django_settings.BASE_DOMAIN}{PAGE}" in english.body
    assert isinstance(english, EmailMultiAlternatives)
    assert english.alternatives, "with an HTML version in the organisation's colours"
    french_mail = next(m for m in mail.outbox if m.to == [french.email])
    assert french_mail.subject.startswith("Échec du paiement\u00a0: Alpha Corp continue de fonctionner")
    assert french_mail.body.startswith("Bonjour,")
    assert (Kind.BILLING_CHANGED, "", "Business") in audit_entries(org_a)

    # Delivered again, or queued again: nobody is told twice.
    billing.forward(billing.receiver.deliveries[-4:])
    assert billing_dunning_notify(org_a.pk, "payment_failed") == 0
    assert len(mail.outbox) == 3

    # Three days before the end, the hourly job reminds them; once.
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert billing_grace_reminders_queue(now=grace - dt.timedelta(days=4)) == 0
        assert billing_grace_reminders_queue(now=grace - dt.timedelta(days=2)) == 1
        assert billing_grace_reminders_queue(now=grace - dt.timedelta(days=1)) == 1
    assert len(mail.outbox) == 3
    assert all("becomes read-only on" in m.subject for m in mail.outbox if m.to != [french.email])

    # The grace period ends: read-only, and they are told.
    mail.outbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert billing_grace_expire(now=grace + dt.timedelta(seconds=1)) == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@alpha.test", "hr@alpha.test", "rh@alpha.test"]
    assert "is read-only until its subscription is paid" in next(
        m.subject for m in mail.outbox if m.to == ["hr@alpha.test"]
    )
    assert billing_dunning_notify(org_a.pk, "payment_failed") == 0, "no longer what is happening"
    with pytest.raises(ValueError, match="Unknown billing event"):
        billing_dunning_notify(org_a.pk, "lottery")


def test_an_executive_gets_no_billing_e_mail(billing, executive, org_a, settings):
    with tenant_context(org_a):
        assert User.objects.filter(groups__name=EXECUTIVE).exists()
    late(org_a, State.PAST_DUE, timezone.now() + dt.timedelta(days=5))
    mail.outbox.clear()
    assert billing_dunning_notify(org_a.pk, "payment_failed") == 1  # the provisioned admin
    assert [m.to for m in mail.outbox] == [["admin@alpha.test"]]
