"""What an organisation's admin does on the billing page: upgrade or buy through Checkout, open the
billing portal, set up the Municipality plan by invoice.

Each takes the actor and checks MANAGE first, then validates, then calls Stripe, and saves only
once Stripe has answered: Stripe unreachable raises BillingUnavailable with nothing saved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from billing import stripe_client
from billing.catalogue import Plan, catalogue
from billing.errors import BillingNotConfigured, StripeRefused
from billing.models import BillingAccount, Purchase, Subscription
from billing.selectors import current_subscription
from billing.services.accounts import billing_account, billing_customer_ensure
from billing.services.dunning import checkout_started_record, municipality_subscribed_record
from billing.services.sync import invoice_apply, organization_billing_refresh, subscription_apply
from core.permissions import MANAGE, require
from tenants.models import Organization

CHECKOUT_LOCALES = ("fr", "en")
PURCHASE_ORDER_MAX_LENGTH = 100


def _configured() -> None:
    if not stripe_client.configured():
        raise BillingNotConfigured()


def _price_ids(lookup_keys: list[str]) -> dict[str, str]:
    found = {p["lookup_key"]: p["id"] for p in stripe_client.price_list(lookup_keys) if p.get("active", True)}
    missing = [key for key in lookup_keys if key not in found]
    if missing:
        raise BillingNotConfigured(
            gettext("Billing is not set up yet: the prices %(keys)s are missing on Stripe.")
            % {"keys": ", ".join(missing)}
        )
    return found


def _refuse_if_subscribed(organization: Organization) -> None:
    if current_subscription(organization) is not None:
        raise ValidationError(
            {
                "key": [
                    gettext(
                        "This organisation already has a subscription: change or cancel it from the "
                        "billing portal."
                    )
                ]
            }
        )


def _plan_for(organization: Organization, key: str, subscribe: str) -> Plan:
    plan = catalogue().plans.get(key)
    if plan is None or plan.subscribe != subscribe:
        raise ValidationError({"key": [gettext("This plan cannot be chosen here.")]})
    if organization.kind not in plan.kinds:
        name = plan.name.get(translation.get_language() or "en")
        message = gettext("The %(plan)s plan is not offered to this kind of organisation.") % {"plan": name}
        raise ValidationError({"key": [message]})
    return plan


def checkout_session_create(
    actor: Any,
    organization: Organization,
    *,
    kind: str,
    key: str,
    success_url: str,
    cancel_url: str,
    locale: str = "auto",
) -> str:
    """The URL of a Stripe Checkout page for a plan (kind="plan": Business, a subscription with its
    base and per-active-participant prices) or a paid service (kind="service": a one-off payment,
    with an invoice). VAT numbers are collected. The organisation's plan changes when Stripe says the
    payment went through (the webhook), not here. Raises PermissionDenied, ValidationError,
    BillingNotConfigured, BillingUnavailable."""
    require(actor, MANAGE)
    _configured()
    slug = organization.schema_name
    metadata = {"organization": slug, "kind": kind, "key": key}
    params: dict[str, Any]
    if kind == "plan":
        plan = _plan_for(organization, key, "checkout")
        _refuse_if_subscribed(organization)
        prices = _price_ids([price.lookup_key for price in plan.prices])
        params = {
            "mode": "subscription",
            # The per-participant price is metered: no quantity, Stripe bills what the meter says.
            "line_items": [
                {"price": prices[p.lookup_key]}
                if p.metered
                else {"price": prices[p.lookup_key], "quantity": 1}
                for p in plan.prices
            ],
            "subscription_data": {"metadata": {"organization": slug, "plan": key}},
        }
    elif kind == "service":
        service = catalogue().services.get(key)
        if service is None:
            raise ValidationError({"key": [gettext("This service is not offered.")]})
        prices = _price_ids([service.price.lookup_key])
        service_metadata = {"organization": slug, "service": key}
        invoice_data: dict[str, Any] = {"metadata": service_metadata}
        account = billing_account(organization)
        if account.purchase_order_number:
            with translation.override(organization.locale):
                invoice_data["custom_fields"] = [
                    {"name": gettext("Purchase order"), "value": account.purchase_order_number}
                ]
        metadata["service"] = key
        params = {
            "mode": "payment",
            "line_items": [{"price": prices[service.price.lookup_key], "quantity": 1}],
            "payment_intent_data": {"metadata": service_metadata},
            "invoice_creation": {"enabled": True, "invoice_data": invoice_data},
        }
    else:
        raise ValidationError({"kind": [gettext("Choose a plan or a service.")]})
    params.update(
        {
            "customer": billing_customer_ensure(organization),
            "customer_update": {"name": "auto"},  # Stripe asks for it to save a collected VAT number
            "client_reference_id": slug,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "locale": locale if locale in CHECKOUT_LOCALES else "auto",
            "tax_id_collection": {"enabled": True},
            "metadata": metadata,
        }
    )
    session = stripe_client.checkout_session_create(params)
    with transaction.atomic():
        if kind == "service":
            Purchase.objects.create(
                organization=organization,
                service=key,
                checkout_session_id=session["id"],
                amount_total=session.get("amount_total") or 0,
                currency=session.get("currency") or "",
                bought_by=getattr(actor, "email", "") or "",
            )
        checkout_started_record(actor, organization, kind, key)
    return str(session["url"])


def billing_portal_url(actor: Any, organization: Organization, return_url: str) -> str:
    """The URL of Stripe's billing portal for the organisation (card, invoices, cancelling), in its
    language. Raises PermissionDenied, BillingNotConfigured, BillingUnavailable."""
    require(actor, MANAGE)
    _configured()
    customer = billing_customer_ensure(organization)
    session = stripe_client.portal_session_create(
        {"customer": customer, "return_url": return_url, "locale": organization.locale}
    )
    return str(session["url"])


def municipality_subscribe(
    actor: Any, organization: Organization, purchase_order_number: str, *, now: dt.datetime | None = None
) -> Subscription:
    """Put a municipality on the yearly Municipality plan, paid by bank transfer: a subscription
    with `collection_method=send_invoice`, 30 days to pay, the purchase-order number on every
    invoice; no Checkout. Stripe counts it active while its invoice is open, so the plan applies at
    once. Raises PermissionDenied, ValidationError, BillingNotConfigured, BillingUnavailable."""
    require(actor, MANAGE)
    number = (purchase_order_number or "").strip()
    if not number:
        raise ValidationError(
            {"purchase_order_number": [gettext("Give the purchase-order number to print on the invoice.")]}
        )
    if len(number) > PURCHASE_ORDER_MAX_LENGTH:
        raise ValidationError(
            {
                "purchase_order_number": [
                    gettext("A purchase-order number has at most %(count)d characters.")
                    % {"count": PURCHASE_ORDER_MAX_LENGTH}
                ]
            }
        )
    plan = _plan_for(organization, Organization.Plan.MUNICIPALITY, "invoice")
    _refuse_if_subscribed(organization)
    _configured()
    prices = _price_ids([price.lookup_key for price in plan.prices])
    customer = billing_customer_ensure(organization)
    slug = organization.schema_name
    with translation.override(organization.locale):
        field_name = gettext("Purchase order")
    # The same request twice the same day (a double click) makes one subscription.
    digest = hashlib.sha256(number.encode()).hexdigest()[:16]
    key = f"crowdact-municipality-{slug}-{digest}-{timezone.now():%Y%m%d}"
    try:
        data = stripe_client.subscription_create(
            {
                "customer": customer,
                "items": [{"price": prices[price.lookup_key]} for price in plan.prices],
                "collection_method": "send_invoice",
                "days_until_due": 30,
                "invoice_settings": {"custom_fields": [{"name": field_name, "value": number}]},
                "metadata": {"organization": slug, "plan": plan.key, "purchase_order_number": number},
                "expand": ["latest_invoice"],
            },
            idempotency_key=key,
        )
    except StripeRefused as exc:
        raise ValidationError({"purchase_order_number": [str(exc)]}) from exc
    read_at = timezone.now()
    with transaction.atomic():
        BillingAccount.objects.filter(organization=organization).update(purchase_order_number=number)
        municipality_subscribed_record(actor, organization, number)
        latest = data.get("latest_invoice")
        if isinstance(latest, dict):
            invoice_apply(latest, read_at=read_at)
            data = {**data, "latest_invoice": latest.get("id")}
        subscription = subscription_apply(data, read_at=read_at)
        organization_billing_refresh(organization, now=now)
    if subscription is None:  # cannot happen: it carries metadata[organization]
        raise StripeRefused(gettext("Stripe's answer names no organisation."))
    return subscription
