"""The one module that imports `stripe`: the client, its pinned API version, the calls billing makes.

The client is built from settings (STRIPE_SECRET_KEY, STRIPE_API_BASE: another server, such as
scripts/local_stripe.py) when a call is made, never at import time. Every call answers plain dicts
and lists (stripe-python's objects are not dicts since v15) and raises billing's own errors:

- BillingNotConfigured: no STRIPE_SECRET_KEY;
- BillingUnavailable: Stripe unreachable, timed out, rate-limited, its own 5xx, or a refused key:
  nothing the caller did wrong; background work retries it (RETRYABLE_ERRORS);
- StripeRefused: Stripe answered 4xx (a bad parameter, a missing object, a declined card).

stripe-python sends every POST with an Idempotency-Key and retries it MAX_NETWORK_RETRIES times.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Iterator
from typing import Any, cast

import stripe
from django.conf import settings

from billing.errors import (
    BillingNotConfigured,
    BillingUnavailable,
    StripeRefused,
    WebhookSignatureInvalid,
)

API_VERSION = "2026-10-28.endive"  # what stripe-python 16.1 pins; events and objects are read in it
MAX_NETWORK_RETRIES = 2
TIMEOUT_SECONDS = 20  # stripe-python's default is 80 s: far too long for a page that waits
WEBHOOK_TOLERANCE_SECONDS = 300  # stripe-python's default clock skew

# What a Celery task retries with backoff: Stripe could not be reached or failed on its side.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    BillingUnavailable,
    stripe.APIConnectionError,
    stripe.APIError,
    stripe.RateLimitError,
)

log = logging.getLogger(__name__)
# stripe-python logs every request at INFO; billing logs what matters (unavailable, refused) itself.
logging.getLogger("stripe").setLevel(logging.WARNING)

Data = dict[str, Any]


def configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


@functools.lru_cache(maxsize=8)
def _client(api_key: str, api_base: str, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        stripe_version=API_VERSION,
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )


def client() -> stripe.StripeClient:
    """The client for the current settings (one per key and address, reused)."""
    if not configured():
        raise BillingNotConfigured()
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, MAX_NETWORK_RETRIES)


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        log.warning("Stripe unavailable: %s", exc)
        raise BillingUnavailable() from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        log.error("Stripe refused the API key (STRIPE_SECRET_KEY): %s", exc)
        raise BillingUnavailable() from exc
    except stripe.StripeError as exc:
        message = exc.user_message or str(exc)
        raise StripeRefused(
            message,
            code=exc.code,
            param=getattr(exc, "param", None),
            status=exc.http_status or 400,
        ) from exc


def _plain(obj: Any) -> Data:
    return cast(Data, obj.to_dict())


def _options(idempotency_key: str | None) -> Any:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


# Customers ---------------------------------------------------------------------------------------


def customer_create(params: Data, *, idempotency_key: str | None = None) -> Data:
    with _translated():
        return _plain(
            client().v1.customers.create(params=cast(Any, params), options=_options(idempotency_key))
        )


def customer_search(query: str) -> list[Data]:
    with _translated():
        found = client().v1.customers.search(params={"query": query, "limit": 100})
        return [_plain(c) for c in found.auto_paging_iter()]


# Catalogue: products, meters, prices ------------------------------------------------------------


def product_retrieve(product_id: str) -> Data | None:
    """The product, or None when Stripe has none with that id."""
    try:
        with _translated():
            return _plain(client().v1.products.retrieve(product_id))
    except StripeRefused as exc:
        if exc.missing:
            return None
        raise


def product_create(params: Data) -> Data:
    with _translated():
        return _plain(client().v1.products.create(params=cast(Any, params)))


def product_update(product_id: str, params: Data) -> Data:
    with _translated():
        return _plain(client().v1.products.update(product_id, params=cast(Any, params)))


def meter_list() -> list[Data]:
    with _translated():
        meters = client().v1.billing.meters.list(params={"status": "active", "limit": 100})
        return [_plain(m) for m in meters.auto_paging_iter()]


def meter_create(params: Data) -> Data:
    with _translated():
        return _plain(client().v1.billing.meters.create(params=cast(Any, params)))


def meter_update(meter_id: str, params: Data) -> Data:
    with _translated():
        return _plain(client().v1.billing.meters.update(meter_id, params=cast(Any, params)))


def price_list(lookup_keys: list[str]) -> list[Data]:
    """The prices holding these lookup keys (any number of keys: Stripe takes 10 per call)."""
    prices: list[Data] = []
    with _translated():
        for start in range(0, len(lookup_keys), 10):
            chunk = lookup_keys[start : start + 10]
            found = client().v1.prices.list(params={"lookup_keys": chunk, "limit": 100})
            prices += [_plain(p) for p in found.auto_paging_iter()]
    return prices


def price_create(params: Data) -> Data:
    with _translated():
        return _plain(client().v1.prices.create(params=cast(Any, params)))


def price_update(price_id: str, params: Data) -> Data:
    with _translated():
        return _plain(client().v1.prices.update(price_id, params=cast(Any, params)))


# Checkout, portal, subscriptions, invoices -------------------------------------------------------


def checkout_session_create(params: Data) -> Data:
    with _translated():
        return _plain(client().v1.checkout.sessions.create(params=cast(Any, params)))


def checkout_session_retrieve(session_id: str) -> Data:
    with _translated():
        return _plain(client().v1.checkout.sessions.retrieve(session_id))


def portal_session_create(params: Data) -> Data:
    with _translated():
        return _plain(client().v1.billing_portal.sessions.create(params=cast(Any, params)))


def subscription_create(params: Data, *, idempotency_key: str | None = None) -> Data:
    with _translated():
        return _plain(
            client().v1.subscriptions.create(params=cast(Any, params), options=_options(idempotency_key))
        )


def subscription_retrieve(subscription_id: str, *, expand: list[str] | None = None) -> Data:
    with _translated():
        params: Any = {"expand": expand} if expand else {}
        return _plain(client().v1.subscriptions.retrieve(subscription_id, params=params))


def subscription_search(query: str, *, expand: list[str] | None = None) -> list[Data]:
    params: Any = {"query": query, "limit": 100, **({"expand": expand} if expand else {})}
    with _translated():
        return [_plain(s) for s in client().v1.subscriptions.search(params=params).auto_paging_iter()]


def subscription_list(customer: str, *, expand: list[str] | None = None) -> list[Data]:
    """Every subscription of the customer, ended ones included."""
    params: Any = {
        "customer": customer,
        "status": "all",
        "limit": 100,
        **({"expand": expand} if expand else {}),
    }
    with _translated():
        return [_plain(s) for s in client().v1.subscriptions.list(params=params).auto_paging_iter()]


def invoice_retrieve(invoice_id: str) -> Data:
    with _translated():
        return _plain(client().v1.invoices.retrieve(invoice_id))


# Meter events --------------------------------------------------------------------------------------


def meter_event_create(event_name: str, payload: dict[str, str], *, identifier: str, timestamp: int) -> bool:
    """Send one meter event. False when Stripe already has an event with this identifier: a resend,
    refused without effect (v1 answers 400 "An event already exists with identifier …")."""
    params: Any = {
        "event_name": event_name,
        "payload": payload,
        "identifier": identifier,
        "timestamp": timestamp,
    }
    try:
        with _translated():
            client().v1.billing.meter_events.create(params=params)
    except StripeRefused as exc:
        if exc.param == "identifier" and "already exists" in str(exc):
            return False
        raise
    return True


# Webhooks --------------------------------------------------------------------------------------------


def webhook_event(payload: bytes, signature: str) -> Data:
    """The event in a webhook body whose Stripe-Signature header matches STRIPE_WEBHOOK_SECRET.

    Checked on the raw body, within Stripe's 5 minutes of clock skew; no call to Stripe is made.
    Raises WebhookSignatureInvalid (or BillingNotConfigured when there is no secret).
    """
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise BillingNotConfigured()
    if not signature:
        raise WebhookSignatureInvalid("no Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise WebhookSignatureInvalid(str(exc)) from exc
    if not isinstance(event, dict):
        raise WebhookSignatureInvalid("the body is not an event")
    return event
