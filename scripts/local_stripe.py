"""A local Stripe-compatible server for the tests and the offline demo.

It serves localstripe (https://github.com/adrienverge/localstripe, GPL-3.0-or-later) plus the
resources localstripe lacks and the product uses. Because of that licence this file is a test and
demo tool only: it is never part of the product's image and nothing under the product's packages
imports it. It talks HTTP to the product like Stripe would.

    .venv/bin/python scripts/local_stripe.py --port 12111 [--host 127.0.0.1]
        [--webhook-url http://127.0.0.1:8000/billing/webhook --webhook-secret whsec_...]
        [--public-url http://localhost:12111] [--verbose]

It prints one line, "local Stripe listening on http://HOST:PORT ...", once it accepts requests
(`--port 0` picks a free port, shown in that line) and stops cleanly on SIGINT or SIGTERM. State
lives in memory only and starts empty every time: localstripe's pickling to a fixed file under
/tmp is switched off, so two servers never share anything and a restart forgets everything.

Configure stripe-python with `stripe.StripeClient("sk_test_...", base_addresses={"api": URL})`.
Only test keys (sk_test_/rk_test_) are accepted.

From localstripe: customers (extended: tax_exempt, balance, search, newest-first lists), products
(extended: default_price_data, tax_code, updated), payment methods (test ids such as
pm_card_visa, pm_card_chargeCustomerFail), payment intents, charges, refunds, setup intents, tax
rates, tax ids, coupons. Replaced or added here, shaped on API version 2026-10-28.endive (the
version stripe-python 16.1 pins): prices, subscriptions and subscription items on prices
(licensed and metered, charge_automatically or send_invoice, trials, cancel at period end),
invoices (lines, number, pay, pay out of band, void, mark uncollectible; a hosted page at
/invoice/{id} that also takes a card, and a PDF), Checkout Sessions (subscription and payment
mode, hosted page at /checkout/{id}), billing portal sessions (page at /billing_portal/{id}),
billing meters, meter events and event summaries, events (GET /v1/events) and webhooks; search
(`metadata['key']:'value'`, `field:'value'`, AND/OR) on customers, subscriptions, invoices,
prices and products. Deleting a customer cancels its subscriptions, as on Stripe.
Idempotency-Key makes a retried POST answer the first answer again. Errors have Stripe's shape,
so stripe-python raises its usual exceptions. A meter event whose identifier was already seen is
refused like Stripe's v1 API does: 400, message "An event already exists with identifier X.",
no error code (only API v2 has `duplicate_meter_event`), Stripe-Should-Retry: false.

Test cards on the hosted pages: 4242 4242 4242 4242 succeeds; 4000 0000 0000 0002 (declined),
4000 0000 0000 9995 (insufficient funds), 4000 0000 0000 0069 (expired), 4000 0000 0000 0127
(incorrect CVC) and 4000 0000 0000 0341 are declined, and nothing is created; any other valid
16-digit number succeeds (no 3-D Secure step).

Webhooks: every event is POSTed to --webhook-url, signed like Stripe (header Stripe-Signature:
t=TS,v1=HMAC-SHA256(secret, "TS.BODY")), one at a time in the order the events happened, after the
API call has answered; a connection failure, a timeout, a 429 or a 5xx is retried five times
(0.2 s to 4 s apart). Events sent: customer.*, product.created/updated, price.created/updated,
customer.subscription.created/updated/deleted, invoice.created/finalized/sent/paid/
payment_succeeded/payment_failed/payment_action_required/voided/marked_uncollectible,
payment_intent.succeeded, checkout.session.completed/expired, billing_portal.session.created.

Test helpers, not Stripe's, all under /_local/ and without API key:
  GET  /_local/health                         readiness: {"status": "ok", ...}
  GET  /_local/webhook                        webhook URL and delivery counters (delivered, failed, pending)
  POST /_local/webhook                        url=...&secret=whsec_... sets the endpoint (no url: none)
  POST /_local/reset                          forgets every object, event and meter event
  GET  /_local/meter_events?customer=cus_...  the customer's recorded meter events and the aggregated
                                              value per meter (optional event_name, start_time, end_time)
  POST /_local/subscriptions/{id}/fail_next_payment
                                              the subscription's next charge fails, even with a good card
  POST /_local/invoices/{id}/fail             an open invoice records a failed payment:
                                              invoice.payment_failed, an active subscription becomes past_due
  POST /_local/subscriptions/{id}/advance     moves the subscription to its next period now: a cycle invoice
                                              (licensed items for the new period, metered usage of the ended
                                              one), charged unless payment=fail; a failure makes it past_due
                                              (unpaid when already past_due), a success restores it; with
                                              cancel_at_period_end it is canceled instead

Known gaps: no tiered prices, coupons or taxes on invoices, no prorations, no one-off invoices or
invoice items, no Stripe.js/Elements (use the hosted pages), no setup mode Checkout, no test
clocks, one webhook endpoint receiving every event type, hosted pages in English only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import contextvars
import copy
import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import signal
import socket
import string
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import aiohttp
from aiohttp import web
from dateutil.relativedelta import relativedelta
from localstripe import __version__ as localstripe_version
from localstripe import resources as ls
from localstripe import server as ls_server
from localstripe.errors import UserError

# localstripe pickles its whole store to /tmp/localstripe.pickle on every write, and its own
# command line loads that file back: servers would share state through it. Memory only here.
ls.Store.dump_to_disk = lambda self: None
ls.Store.try_load_from_disk = lambda self: None

API_VERSION = "2026-10-28.endive"  # what stripe-python 16.1 pins, so events parse like real ones
log = logging.getLogger("local_stripe")

_ALNUM = string.ascii_letters + string.digits
_DAY = 86400


def _rand(n: int = 24) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def _now() -> int:
    return int(time.time())


# ---------------------------------------------------------------------------------------------
# Errors and parameters


class StripeError(Exception):
    """An error answered in Stripe's shape: {"error": {"type", "message", "param", "code"}}."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type
        self.headers = headers or {}

    def response(self) -> web.Response:
        error: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.param:
            error["param"] = self.param
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        return _json({"error": error}, status=self.status, headers=self.headers)


def _missing(param: str) -> StripeError:
    return StripeError(400, f"Missing required param: {param}.", param=param, code="parameter_missing")


def _invalid(param: str, message: str) -> StripeError:
    return StripeError(400, message, param=param, code="parameter_invalid")


def _no_such(kind: str, id_: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{id_}'", param=param, code="resource_missing")


def _only_one(*params: str) -> StripeError:
    return StripeError(400, f"You may only specify one of these parameters: {', '.join(params)}.")


def _name(where: str | None, key: str) -> str:
    return f"{where}[{key}]" if where else key


def _pop_str(
    p: dict[str, Any],
    key: str,
    *,
    where: str | None = None,
    required: bool = False,
    choices: tuple[str, ...] | None = None,
    max_length: int = 5000,
) -> str | None:
    name = _name(where, key)
    value = p.pop(key, None)
    if value is None or value == "":  # Stripe reads "" as "unset"
        if required:
            raise _missing(name)
        return None
    if not isinstance(value, str):
        raise _invalid(name, f"Invalid string: {value!r}")
    if len(value) > max_length:
        raise _invalid(name, f"Invalid {name}: must be at most {max_length} characters")
    if choices and value not in choices:
        raise _invalid(name, f"Invalid {name}: must be one of {', '.join(choices)}")
    return value


def _pop_int(
    p: dict[str, Any],
    key: str,
    *,
    where: str | None = None,
    required: bool = False,
    minimum: int | None = None,
) -> int | None:
    name = _name(where, key)
    value = p.pop(key, None)
    if value is None or value == "":
        if required:
            raise _missing(name)
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeError(
            400, f"Invalid integer: {value}", param=name, code="parameter_invalid_integer"
        ) from None
    if minimum is not None and number < minimum:
        raise _invalid(name, f"This value must be greater than or equal to {minimum}.")
    return number


def _pop_bool(p: dict[str, Any], key: str, *, where: str | None = None) -> bool | None:
    value = p.pop(key, None)
    if value is None or value == "":
        return None
    if value in (True, "true"):
        return True
    if value in (False, "false"):
        return False
    raise _invalid(_name(where, key), f"Invalid boolean: {value}")


def _pop_dict(p: dict[str, Any], key: str, *, where: str | None = None) -> dict[str, Any]:
    value = p.pop(key, None)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise _invalid(_name(where, key), f"Invalid object: {_name(where, key)}")
    return dict(value)


def _pop_list(p: dict[str, Any], key: str, *, where: str | None = None) -> list[Any]:
    value = p.pop(key, None)
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):  # a lone `lookup_keys=a`
        return [value]
    raise _invalid(_name(where, key), f"Invalid array: {_name(where, key)}")


def _reject_rest(p: dict[str, Any], where: str | None = None) -> None:
    if p:
        name = _name(where, next(iter(p)))
        raise StripeError(400, f"Received unknown parameter: {name}", param=name, code="parameter_unknown")


def _only(p: dict[str, Any], allowed: tuple[str, ...] | set[str]) -> None:
    """Refuses unknown parameters before an update changes anything."""
    _reject_rest({key: value for key, value in p.items() if key not in allowed})


def _ignore(p: dict[str, Any], *keys: str) -> None:
    """Parameters Stripe has that change nothing here (no taxes, no prorations)."""
    for key in keys:
        p.pop(key, None)


def _metadata(value: Any, current: dict[str, str] | None = None, param: str = "metadata") -> dict[str, str]:
    """Stripe's metadata update: "" clears all, a key set to "" is removed, others are set."""
    result = dict(current or {})
    if value is None:
        return result
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise _invalid(param, "Invalid metadata: must be an object")
    for key, item in value.items():
        if len(key) > 40:
            raise _invalid(f"{param}[{key}]", "Metadata keys can have up to 40 characters.")
        if item in ("", None):
            result.pop(key, None)
        elif not isinstance(item, str | int | float) or len(str(item)) > 500:
            raise _invalid(f"{param}[{key}]", "Metadata values can have up to 500 characters.")
        else:
            result[key] = str(item)
    if len(result) > 50:
        raise _invalid(param, "You can have up to 50 metadata keys.")
    return result


def _custom_fields(value: Any, param: str) -> list[dict[str, str]] | None:
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list) or len(value) > 4:
        raise _invalid(param, f"Invalid {param}: a list of up to 4 custom fields")
    fields = []
    for i, field in enumerate(value):
        field = dict(field) if isinstance(field, dict) else {}
        where = f"{param}[{i}]"
        name = _pop_str(field, "name", where=where, required=True, max_length=40)
        text = _pop_str(field, "value", where=where, required=True, max_length=140)
        _reject_rest(field, where)
        fields.append({"name": name or "", "value": text or ""})
    return fields


async def _params(request: web.Request) -> dict[str, Any]:
    """The request's parameters, decoded like localstripe does (form, JSON and query)."""
    data: dict[str, Any] = {}
    if request.method in ("POST", "DELETE") and request.body_exists:  # (can_read_body is False once read)
        data.update(await ls_server.get_post_data(request) or {})
    data.update(ls_server.unflatten_data(request.query) or {})
    return data


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        raise TypeError(repr(value))

    body = json.dumps(data, indent=2, default=default) + "\n"
    return web.Response(text=body, status=status, content_type="application/json", headers=headers)


# ---------------------------------------------------------------------------------------------
# State: localstripe's store holds the objects; this holds what is not an object


@dataclass
class _Replay:
    fingerprint: str
    future: asyncio.Future[tuple[int, bytes, str] | None]


class _State:
    def __init__(self) -> None:
        self.public_url = ""
        self.seq = 0
        self.idempotency: dict[tuple[str, str], _Replay] = {}
        self.meter_events: list[dict[str, Any]] = []
        self.identifiers: set[str] = set()

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def reset(self) -> None:
        ls.store.clear()
        self.idempotency.clear()
        self.meter_events.clear()
        self.identifiers.clear()


STATE = _State()


def _objects(object_name: str) -> list[Any]:
    prefix = object_name + ":"
    return [obj for key, obj in ls.store.items() if key.startswith(prefix)]


def _find(id_: str) -> Any:
    for key, obj in ls.store.items():
        if key.partition(":")[2] == id_:
            return obj
    return None


_KINDS = {
    "customer": "customer",
    "product": "product",
    "price": "price",
    "subscription": "subscription",
    "subscription_item": "subscription item",
    "invoice": "invoice",
    "checkout.session": "checkout.session",
    "billing_portal.session": "billing portal session",
    "billing.meter": "billing meter",
    "event": "event",
    "payment_method": "PaymentMethod",
}


def _get(object_name: str, id_: str | None, param: str = "id") -> Any:
    obj = ls.store.get(f"{object_name}:{id_}")
    if obj is None:
        raise _no_such(_KINDS.get(object_name, object_name), str(id_), param)
    return obj


def _expand(data: dict[str, Any], paths: list[str] | None) -> dict[str, Any]:
    """Stripe's `expand[]`: an id at a dotted path is replaced by the object it names."""

    def walk(node: Any, parts: list[str], path: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, parts, path)
            return
        if not isinstance(node, dict):
            return
        key, rest = parts[0], parts[1:]
        if key not in node:
            raise StripeError(400, f"This property cannot be expanded ({path}).", param="expand")
        if isinstance(node[key], str):
            target = _find(node[key])
            if target is not None:
                node[key] = target._export()
        if rest and node[key] is not None:
            walk(node[key], rest, path)

    for path in paths or []:
        if not isinstance(path, str) or path.count(".") > 3:
            raise StripeError(400, "You cannot expand more than 4 levels of a property", param="expand")
        walk(data, path.split("."), path)
    return data


class _Obj(ls.StripeObject):
    """Base of the resources added here: stored in localstripe's store, exported explicitly."""

    def __init__(self, id_: str | None = None) -> None:
        super().__init__(id_ or self._id_prefix + _rand())
        self._seq = STATE.next_seq()

    def _dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def _export(self, expand: list[str] | None = None) -> dict[str, Any]:
        # A deep copy: events keep the snapshot of the moment they happened.
        return _expand(copy.deepcopy(self._dict()), expand)


def _sort_key(obj: Any) -> tuple[int, int]:
    return (int(getattr(obj, "created", 0)), int(getattr(obj, "_seq", 0)))


def _created_filter(p: dict[str, Any]) -> Callable[[Any], bool]:
    created = p.pop("created", None)
    if created is None:
        return lambda obj: True
    if not isinstance(created, dict):
        exact = _pop_int({"created": created}, "created")
        return lambda obj: obj.created == exact
    bounds = {op: _pop_int(created, op, where="created") for op in ("gt", "gte", "lt", "lte")}
    _reject_rest(created, "created")
    tests = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    return lambda obj: all(tests[op](obj.created, v) for op, v in bounds.items() if v is not None)


def _list(url: str, objects: list[Any], p: dict[str, Any], *, reject_rest: bool = True) -> dict[str, Any]:
    """A Stripe list object, newest first, with limit/starting_after/ending_before/expand."""
    limit = _pop_int(p, "limit", minimum=1) or 10
    limit = min(limit, 100)
    starting_after = _pop_str(p, "starting_after")
    ending_before = _pop_str(p, "ending_before")
    expand = _pop_list(p, "expand")
    keep = _created_filter(p)
    if reject_rest:
        _reject_rest(p)
    objects = sorted((o for o in objects if keep(o)), key=_sort_key, reverse=True)
    ids = [o.id for o in objects]
    if starting_after:
        if starting_after not in ids:
            raise _no_such("object", starting_after, "starting_after")
        objects = objects[ids.index(starting_after) + 1 :]
    if ending_before:
        if ending_before not in ids:
            raise _no_such("object", ending_before, "ending_before")
        before = objects[: ids.index(ending_before)]
        page, has_more = before[-limit:], len(before) > limit
    else:
        page, has_more = objects[:limit], len(objects) > limit
    data = {"object": "list", "data": [o._export() for o in page], "has_more": has_more, "url": url}
    return _expand(data, expand)


# Stripe's search syntax, the parts the product uses: `field:'value'`, `metadata['key']:'value'`,
# `~` (contains), `-` (not), `>`/`<` on numbers, terms joined by AND or by OR.
_TERM = re.compile(
    r"""\s*(?P<neg>-)?(?:metadata\[(?P<q>['"])(?P<key>.+?)(?P=q)\]|(?P<field>[a-z_]+))\s*"""
    r"""(?P<op>>=|<=|:|~|>|<)\s*(?:(?P<vq>['"])(?P<value>.*?)(?P=vq)|(?P<number>-?\d+))\s*"""
)
_JOIN = re.compile(r"(AND|OR)\s+")


def _search(url: str, objects: list[Any], p: dict[str, Any], fields: dict[str, Callable[[Any], Any]]) -> dict:
    query = _pop_str(p, "query", required=True) or ""
    limit = min(_pop_int(p, "limit", minimum=1) or 10, 100)
    page = _pop_str(p, "page")
    expand = _pop_list(p, "expand")
    _reject_rest(p)
    terms, joins, pos = [], set(), 0
    while True:
        match = _TERM.match(query, pos)
        if not match:
            raise _invalid("query", f"Invalid query: we could not parse `{query[pos:]}`.")
        terms.append(match)
        pos = match.end()
        if pos >= len(query):
            break
        join = _JOIN.match(query, pos)
        if not join:
            raise _invalid("query", f"Invalid query: we could not parse `{query[pos:]}`.")
        joins.add(join.group(1))
        pos = join.end()
    if len(joins) > 1:
        raise _invalid("query", "Invalid query: AND and OR cannot be mixed in one query.")
    for term in terms:
        if term["key"] is None and term["field"] not in fields:
            raise _invalid(
                "query", f"Field `{term['field']}` is an unsupported search field for this resource."
            )

    def test(obj: Any, term: re.Match[str]) -> bool:
        if term["key"] is not None:
            actual: Any = (getattr(obj, "metadata", None) or {}).get(term["key"])
        else:
            actual = fields[term["field"]](obj)
        wanted = term["value"] if term["value"] is not None else term["number"]
        op = term["op"]
        if isinstance(actual, bool):
            actual = "true" if actual else "false"
        if op in ("<", ">", "<=", ">="):
            ok = actual is not None and {
                "<": lambda a, b: a < b,
                ">": lambda a, b: a > b,
                "<=": lambda a, b: a <= b,
                ">=": lambda a, b: a >= b,
            }[op](float(actual), float(wanted))
        elif op == "~":
            ok = actual is not None and wanted.lower() in str(actual).lower()
        else:
            ok = actual is not None and str(actual) == wanted
        return ok != bool(term["neg"])

    combine = any if joins == {"OR"} else all
    found = sorted((o for o in objects if combine(test(o, t) for t in terms)), key=_sort_key, reverse=True)
    start = int(page) if page and page.isdigit() else 0
    chunk = found[start : start + limit]
    more = len(found) > start + limit
    data = {
        "object": "search_result",
        "data": [o._export() for o in chunk],
        "has_more": more,
        "next_page": str(start + limit) if more else None,
        "url": url,
    }
    return _expand(data, expand)


# ---------------------------------------------------------------------------------------------
# Events and webhooks

_OUTBOX: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("outbox", default=None)
# The request an event comes from (Event.request); None outside the API, as for Stripe's own events.
_REQUEST: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "request", default=(None, None)
)


class _Webhooks:
    """One endpoint; events are delivered one at a time, in order, retried when it is down."""

    RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)

    def __init__(self) -> None:
        self.url: str | None = None
        self.secret: str | None = None
        self.queue: asyncio.Queue[Any] | None = None
        self.task: asyncio.Task[None] | None = None
        self.delivered = self.failed = self.in_flight = 0

    def start(self) -> None:
        self.queue = asyncio.Queue()
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.queue is not None and self.url:
            # A second to hand over what the last requests produced, then stop regardless.
            deadline = time.monotonic() + 1.0
            while (self.queue.qsize() or self.in_flight) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def push(self, event: Any) -> None:
        if self.url and self.queue is not None:
            self.queue.put_nowait(event)

    @property
    def pending(self) -> int:
        return (self.queue.qsize() if self.queue else 0) + self.in_flight

    async def _run(self) -> None:
        if self.queue is None:
            return
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while True:
                event = await self.queue.get()
                self.in_flight = 1
                try:
                    await self._deliver(session, event)
                finally:
                    self.in_flight = 0

    async def _deliver(self, session: aiohttp.ClientSession, event: Any) -> None:
        url, secret = self.url, self.secret
        if not url or not secret:
            return
        body = json.dumps(event._export(), indent=2).encode()
        for delay in (0.0, *self.RETRY_DELAYS):
            await asyncio.sleep(delay)
            timestamp = _now()
            signature = hmac.new(secret.encode(), b"%d.%s" % (timestamp, body), hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": f"t={timestamp},v1={signature}",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            }
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("webhook %s %s: %s; retrying", event.type, event.id, exc or type(exc).__name__)
                continue
            if 200 <= status < 300:
                event.pending_webhooks = 0
                self.delivered += 1
                return
            if status < 500 and status != 429:  # the endpoint refused it: a resend would not help
                log.warning("webhook %s %s refused with HTTP %d", event.type, event.id, status)
                break
            log.warning("webhook %s %s: HTTP %d; retrying", event.type, event.id, status)
        log.warning("webhook %s %s not delivered to %s", event.type, event.id, url)
        self.failed += 1


WEBHOOKS = _Webhooks()


def _make_event(type_: str, obj: Any, previous: dict[str, Any] | None = None) -> Any:
    """A Stripe Event holding a snapshot of `obj` now (localstripe's Event, completed)."""
    event = ls.Event(type_, obj)
    _complete_event(event, previous)
    return event


def _complete_event(event: Any, previous: dict[str, Any] | None = None) -> None:
    event.api_version = API_VERSION
    event.pending_webhooks = 1 if WEBHOOKS.url else 0
    request_id, idempotency_key = _REQUEST.get()
    event.request = {"id": request_id, "idempotency_key": idempotency_key}
    event._seq = None
    if previous is not None:
        event.data["previous_attributes"] = previous


def _publish(event: Any) -> None:
    outbox = _OUTBOX.get()
    if outbox is None:
        _send(event)
    else:  # sent when the request has done all its work, in the order they happened
        outbox.append(event)


def _send(event: Any) -> None:
    event._seq = STATE.next_seq()
    WEBHOOKS.push(event)


def _event(type_: str, obj: Any, previous: dict[str, Any] | None = None) -> Any:
    event = _make_event(type_, obj, previous)
    _publish(event)
    return event


def _from_localstripe(event: Any) -> None:
    """localstripe's own events (customer.created, payment_intent.succeeded...) go the same way."""
    _complete_event(event)
    _publish(event)


ls.schedule_webhook = _from_localstripe


@contextmanager
def _updating(obj: Any, type_: str) -> Iterator[None]:
    """Sends `type_` with previous_attributes if the block changed what `obj` exports."""
    before = obj._export()
    yield
    after = obj._export()
    previous = {key: before.get(key) for key in after if before.get(key) != after[key]}
    if previous:
        _event(type_, obj, previous)


# ---------------------------------------------------------------------------------------------
# Customers and products (localstripe's, completed)


_ADDRESS_KEYS = ("city", "country", "line1", "line2", "postal_code", "state")


class _Customer(ls.Customer):
    def __init__(self, tax_exempt: str = "none", invoice_prefix: str | None = None, **kwargs: Any) -> None:
        # Set before localstripe's constructor: it exports the object for customer.created.
        self._seq = STATE.next_seq()
        self._currency: str | None = None
        self.tax_exempt = tax_exempt
        self.invoice_prefix = invoice_prefix or "".join(
            secrets.choice(string.ascii_uppercase) for _ in range(8)
        )
        self.next_invoice_sequence = 1
        kwargs["metadata"] = _metadata(kwargs.get("metadata"))
        super().__init__(**kwargs)

    @property
    def subscriptions(self) -> None:  # only on `expand`, and localstripe's would list plans
        return None

    @property
    def currency(self) -> str | None:
        return self._currency

    def _export(self, expand: list[str] | None = None) -> dict[str, Any]:
        data = super()._export()
        for legacy in ("account_balance", "business_vat_id", "subscriptions"):
            data.pop(legacy, None)
        data["balance"] = -int(self.account_balance or 0)
        if isinstance(data.get("address"), dict):  # Stripe answers every address field, null when unset
            data["address"] = {key: data["address"].get(key) for key in _ADDRESS_KEYS}
        return _expand(data, expand)


class _Product(ls.Product):
    def __init__(
        self,
        default_price_data: dict[str, Any] | None = None,
        tax_code: str | None = None,
        unit_label: str | None = None,
        images: list[str] | None = None,
        marketing_features: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._seq = STATE.next_seq()
        self.default_price: str | None = None
        self.tax_code, self.unit_label = tax_code, unit_label
        self.images, self.marketing_features = images or [], marketing_features or []
        self.updated = _now()
        kwargs["metadata"] = _metadata(kwargs.get("metadata"))
        kwargs["shippable"] = ls.try_convert_to_bool(kwargs.get("shippable", False))
        super().__init__(**kwargs)
        if default_price_data:
            price_data = dict(default_price_data)
            price_data["product"] = self.id
            self.default_price = _price_create(price_data, where="default_price_data").id

    def _export(self, expand: list[str] | None = None) -> dict[str, Any]:
        data = super()._export()
        for legacy in ("caption", "attributes"):
            data.pop(legacy, None)
        return _expand(data, expand)


def _customer(id_: str | None, param: str = "customer") -> Any:
    if not id_:
        raise _missing(param)
    return _get("customer", id_, param)


def _update_fields(
    obj: Any, p: dict[str, Any], simple: tuple[str, ...], merged: tuple[str, ...] = ()
) -> None:
    if "metadata" in p:
        obj.metadata = _metadata(p.pop("metadata"), obj.metadata)
    for key in simple:
        if key in p:
            value = p.pop(key)
            if key == "active":
                value = _pop_bool({key: value}, key)
            setattr(obj, key, None if value == "" else value)
    for key in merged:  # Stripe merges hashes such as invoice_settings and address
        if key in p:
            value = p.pop(key)
            if value == "":
                setattr(obj, key, None)
            elif isinstance(value, dict):
                setattr(obj, key, {**(getattr(obj, key) or {}), **value})
            else:
                raise _invalid(key, f"Invalid object: {key}")


# ---------------------------------------------------------------------------------------------
# Prices


class Price(_Obj):
    object = "price"
    _id_prefix = "price_"

    def __init__(self, **fields: Any) -> None:
        super().__init__()
        self.product: str = fields["product"]
        self.currency: str = fields["currency"]
        self.unit_amount_decimal: Decimal = fields["unit_amount_decimal"]
        self.recurring: dict[str, Any] | None = fields["recurring"]
        self.lookup_key: str | None = fields["lookup_key"]
        self.nickname: str | None = fields["nickname"]
        self.active: bool = fields["active"]
        self.metadata: dict[str, str] = fields["metadata"]
        self.tax_behavior: str = fields["tax_behavior"]

    @property
    def _metered(self) -> bool:
        return bool(self.recurring and self.recurring["usage_type"] == "metered")

    @property
    def _unit_amount(self) -> int | None:
        ua = self.unit_amount_decimal
        return int(ua) if ua == ua.to_integral_value() else None

    def _amount(self, quantity: Decimal | int) -> int:
        return int((self.unit_amount_decimal * Decimal(quantity)).quantize(Decimal(1), ROUND_HALF_UP))

    def _dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "price",
            "active": self.active,
            "billing_scheme": "per_unit",
            "created": self.created,
            "currency": self.currency,
            "custom_unit_amount": None,
            "livemode": False,
            "lookup_key": self.lookup_key,
            "metadata": self.metadata,
            "nickname": self.nickname,
            "product": self.product,
            "recurring": self.recurring,
            "tax_behavior": self.tax_behavior,
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring" if self.recurring else "one_time",
            "unit_amount": self._unit_amount,
            "unit_amount_decimal": format(self.unit_amount_decimal.normalize(), "f"),
        }

    def _plan(self) -> dict[str, Any]:
        """The legacy `plan` that subscription items still carry next to their price."""
        recurring = self.recurring or {}
        return {
            "id": self.id,
            "object": "plan",
            "active": self.active,
            "amount": self._unit_amount,
            "amount_decimal": format(self.unit_amount_decimal.normalize(), "f"),
            "billing_scheme": "per_unit",
            "created": self.created,
            "currency": self.currency,
            "interval": recurring.get("interval"),
            "interval_count": recurring.get("interval_count"),
            "livemode": False,
            "metadata": self.metadata,
            "meter": recurring.get("meter"),
            "nickname": self.nickname,
            "product": self.product,
            "tiers_mode": None,
            "transform_usage": None,
            "trial_period_days": recurring.get("trial_period_days"),
            "usage_type": recurring.get("usage_type"),
        }


def _price_with_lookup_key(key: str) -> Price | None:
    return next((p for p in _objects("price") if p.lookup_key == key), None)


def _parse_recurring(raw: dict[str, Any], where: str) -> dict[str, Any]:
    interval = _pop_str(raw, "interval", where=where, required=True, choices=("day", "week", "month", "year"))
    count = _pop_int(raw, "interval_count", where=where, minimum=1) or 1
    usage_type = _pop_str(raw, "usage_type", where=where, choices=("licensed", "metered")) or "licensed"
    meter = _pop_str(raw, "meter", where=where)
    trial_days = _pop_int(raw, "trial_period_days", where=where, minimum=0)
    _reject_rest(raw, where)
    if usage_type == "metered" and not meter:
        raise _invalid(f"{where}[meter]", "A metered price must be backed by a meter: pass recurring[meter].")
    if meter and usage_type != "metered":
        raise _invalid(
            f"{where}[meter]", "recurring[meter] can only be set when recurring[usage_type] is metered."
        )
    if meter:
        _get("billing.meter", meter, f"{where}[meter]")
    return {
        "interval": interval,
        "interval_count": count,
        "meter": meter,
        "trial_period_days": trial_days,
        "usage_type": usage_type,
    }


def _price_create(p: dict[str, Any], where: str | None = None) -> Price:
    product = _pop_str(p, "product", where=where)
    product_data = _pop_dict(p, "product_data", where=where)
    if product and product_data:
        raise _only_one("product", "product_data")
    if product:
        _get("product", product, _name(where, "product"))
    elif product_data:
        product = _Product(**product_data).id
    else:
        raise _missing(_name(where, "product"))
    currency = (_pop_str(p, "currency", where=where, required=True) or "").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise _invalid(_name(where, "currency"), f"Invalid currency: {currency}")
    unit_amount = _pop_int(p, "unit_amount", where=where, minimum=0)
    unit_amount_decimal = _pop_str(p, "unit_amount_decimal", where=where)
    if unit_amount is not None and unit_amount_decimal is not None:
        raise _only_one("unit_amount", "unit_amount_decimal")
    if unit_amount is None and unit_amount_decimal is None:
        raise _missing(_name(where, "unit_amount"))
    try:
        amount = Decimal(unit_amount if unit_amount is not None else str(unit_amount_decimal))
    except InvalidOperation:
        raise _invalid(_name(where, "unit_amount_decimal"), "Invalid decimal") from None
    scheme = _pop_str(p, "billing_scheme", where=where, choices=("per_unit", "tiered")) or "per_unit"
    if scheme == "tiered":
        raise _invalid(
            _name(where, "billing_scheme"), "Tiered prices are not supported by the local Stripe server."
        )
    recurring_raw = _pop_dict(p, "recurring", where=where)
    recurring = _parse_recurring(recurring_raw, _name(where, "recurring")) if recurring_raw else None
    lookup_key = _pop_str(p, "lookup_key", where=where, max_length=200)
    transfer = _pop_bool(p, "transfer_lookup_key", where=where) or False
    nickname = _pop_str(p, "nickname", where=where)
    active = _pop_bool(p, "active", where=where)
    metadata = _metadata(p.pop("metadata", None), param=_name(where, "metadata"))
    tax_behavior = _pop_str(p, "tax_behavior", where=where, choices=("inclusive", "exclusive", "unspecified"))
    _ignore(p, "expand")
    _reject_rest(p, where)
    holder = _price_with_lookup_key(lookup_key) if lookup_key else None
    if holder and not transfer:
        raise _invalid(_name(where, "lookup_key"), f"A price (`{holder.id}`) already uses that lookup key.")
    if holder:
        with _updating(holder, "price.updated"):
            holder.lookup_key = None
    price = Price(
        product=product,
        currency=currency,
        unit_amount_decimal=amount,
        recurring=recurring,
        lookup_key=lookup_key,
        nickname=nickname,
        active=True if active is None else active,
        metadata=metadata,
        tax_behavior=tax_behavior or "unspecified",
    )
    _event("price.created", price)
    return price


def _price(id_: str | None, param: str) -> Price:
    if not id_:
        raise _missing(param)
    return _get("price", id_, param)


# ---------------------------------------------------------------------------------------------
# Billing meters and meter events


class Meter(_Obj):
    object = "billing.meter"
    _id_prefix = "mtr_"

    def __init__(self, **fields: Any) -> None:
        super().__init__()
        self.display_name: str = fields["display_name"]
        self.event_name: str = fields["event_name"]
        self.formula: str = fields["formula"]
        self.customer_key: str = fields["customer_key"]
        self.value_key: str = fields["value_key"]
        self.event_time_window: str | None = fields["event_time_window"]
        self.status = "active"
        self.deactivated_at: int | None = None
        self.updated = self.created

    def _dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "billing.meter",
            "created": self.created,
            "customer_mapping": {"event_payload_key": self.customer_key, "type": "by_id"},
            "default_aggregation": {"formula": self.formula},
            "display_name": self.display_name,
            "event_name": self.event_name,
            "event_time_window": self.event_time_window,
            "livemode": False,
            "status": self.status,
            "status_transitions": {"deactivated_at": self.deactivated_at},
            "updated": self.updated,
            "value_settings": {"event_payload_key": self.value_key},
        }

    def _events(
        self, customer: str, start: int | None = None, end: int | None = None
    ) -> list[dict[str, Any]]:
        return [
            e
            for e in STATE.meter_events
            if e["event_name"] == self.event_name
            and e["payload"].get(self.customer_key) == customer
            and (start is None or e["timestamp"] >= start)
            and (end is None or e["timestamp"] < end)
        ]

    def _aggregate(self, customer: str, start: int | None = None, end: int | None = None) -> Decimal:
        events = self._events(customer, start, end)
        if self.formula == "count":
            return Decimal(len(events))
        values = [_decimal(e["payload"].get(self.value_key)) for e in events]
        if self.formula == "last":
            # Latest by event time; among equal times, the one received last.
            latest = max(enumerate(events), key=lambda ie: (ie[1]["timestamp"], ie[0]), default=None)
            return values[latest[0]] if latest else Decimal(0)
        return sum(values, Decimal(0))


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def _meter_create(p: dict[str, Any]) -> Meter:
    display_name = _pop_str(p, "display_name", required=True, max_length=250)
    event_name = _pop_str(p, "event_name", required=True, max_length=100)
    aggregation = _pop_dict(p, "default_aggregation")
    formula = _pop_str(
        aggregation, "formula", where="default_aggregation", required=True, choices=("count", "sum", "last")
    )
    _reject_rest(aggregation, "default_aggregation")
    mapping = _pop_dict(p, "customer_mapping")
    customer_key = _pop_str(mapping, "event_payload_key", where="customer_mapping") or "stripe_customer_id"
    _pop_str(mapping, "type", where="customer_mapping", choices=("by_id",))
    _reject_rest(mapping, "customer_mapping")
    value_settings = _pop_dict(p, "value_settings")
    value_key = _pop_str(value_settings, "event_payload_key", where="value_settings") or "value"
    _reject_rest(value_settings, "value_settings")
    window = _pop_str(p, "event_time_window", choices=("day", "hour"))
    _ignore(p, "expand")
    _reject_rest(p)
    if any(m.event_name == event_name and m.status == "active" for m in _objects("billing.meter")):
        raise _invalid("event_name", f"An active meter with the event name `{event_name}` already exists.")
    return Meter(
        display_name=display_name,
        event_name=event_name,
        formula=formula,
        customer_key=customer_key,
        value_key=value_key,
        event_time_window=window,
    )


def _meter_event_create(p: dict[str, Any]) -> dict[str, Any]:
    event_name = _pop_str(p, "event_name", required=True, max_length=100) or ""
    payload = p.pop("payload", None)
    if not isinstance(payload, dict) or not payload:
        raise _missing("payload")
    identifier = _pop_str(p, "identifier", max_length=100) or _rand(32)
    now = _now()
    timestamp = _pop_int(p, "timestamp")
    timestamp = now if timestamp is None else timestamp
    _ignore(p, "expand")
    _reject_rest(p)
    if timestamp < now - 35 * _DAY:
        raise _invalid("timestamp", "Timestamp must be within the past 35 calendar days.")
    if timestamp > now + 300:
        raise _invalid("timestamp", "Timestamp must not be more than 5 minutes in the future.")
    meter = next(
        (m for m in _objects("billing.meter") if m.event_name == event_name and m.status == "active"), None
    )
    if meter is not None:
        if not payload.get(meter.customer_key):
            raise _missing(f"payload[{meter.customer_key}]")
        if meter.formula != "count":
            try:
                Decimal(str(payload.get(meter.value_key)))
            except InvalidOperation:
                raise _invalid(
                    f"payload[{meter.value_key}]", "The meter event value must be a number."
                ) from None
    if identifier in STATE.identifiers:
        # What Stripe answers on v1 (no `code`; v2 has duplicate_meter_event), and it says not to retry.
        raise StripeError(
            400,
            f"An event already exists with identifier {identifier}.",
            param="identifier",
            headers={"Stripe-Should-Retry": "false"},
        )
    STATE.identifiers.add(identifier)
    event = {
        "object": "billing.meter_event",
        "created": now,
        "event_name": event_name,
        "identifier": identifier,
        "livemode": False,
        "payload": {str(k): str(v) for k, v in payload.items()},
        "timestamp": timestamp,
    }
    STATE.meter_events.append(event)
    return event


# ---------------------------------------------------------------------------------------------
# Subscriptions, their items and invoices


def _add_interval(timestamp: int, interval: str, count: int) -> int:
    start = datetime.fromtimestamp(timestamp, UTC)
    delta = {
        "day": relativedelta(days=count),
        "week": relativedelta(weeks=count),
        "month": relativedelta(months=count),
        "year": relativedelta(years=count),
    }[interval]
    return int((start + delta).timestamp())


class SubscriptionItem(_Obj):
    object = "subscription_item"
    _id_prefix = "si_"

    def __init__(
        self, subscription: str, price: Price, quantity: int | None, metadata: dict[str, str]
    ) -> None:
        super().__init__()
        self.subscription = subscription
        self.price = price.id
        self.quantity = quantity
        self.metadata = metadata
        self.current_period_start = self.created
        self.current_period_end = self.created

    @property
    def _price(self) -> Price:
        return _get("price", self.price)

    def _dict(self) -> dict[str, Any]:
        price = self._price
        return {
            "id": self.id,
            "object": "subscription_item",
            "billing_thresholds": None,
            "created": self.created,
            "current_period_end": self.current_period_end,
            "current_period_start": self.current_period_start,
            "discounts": [],
            "metadata": self.metadata,
            "plan": price._plan(),
            "price": price._dict(),
            "quantity": self.quantity,
            "subscription": self.subscription,
            "tax_rates": [],
        }


class Subscription(_Obj):
    object = "subscription"
    _id_prefix = "sub_"

    def __init__(self, **fields: Any) -> None:
        super().__init__()
        self.customer: str = fields["customer"]
        self.currency: str = fields["currency"]
        self.collection_method: str = fields["collection_method"]
        self.days_until_due: int | None = fields["days_until_due"]
        self.default_payment_method: str | None = fields["default_payment_method"]
        self.description: str | None = fields["description"]
        self.metadata: dict[str, str] = fields["metadata"]
        self.invoice_settings: dict[str, Any] = fields["invoice_settings"]
        self.items: list[SubscriptionItem] = []
        self.status = "incomplete"
        self.latest_invoice: str | None = None
        self.cancel_at_period_end = False
        self.cancel_at: int | None = None
        self.canceled_at: int | None = None
        self.ended_at: int | None = None
        self.cancellation_details: dict[str, Any] = {"comment": None, "feedback": None, "reason": None}
        self.start_date = self.billing_cycle_anchor = self.created
        self.trial_start: int | None = None
        self.trial_end: int | None = None
        self._fail_next = False

    def _dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "subscription",
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": self.billing_cycle_anchor,
            "billing_cycle_anchor_config": None,
            "billing_thresholds": None,
            "cancel_at": self.cancel_at,
            "cancel_at_period_end": self.cancel_at_period_end,
            "canceled_at": self.canceled_at,
            "cancellation_details": self.cancellation_details,
            "collection_method": self.collection_method,
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "days_until_due": self.days_until_due,
            "default_payment_method": self.default_payment_method,
            "default_source": None,
            "default_tax_rates": [],
            "description": self.description,
            "discounts": [],
            "ended_at": self.ended_at,
            "invoice_settings": {
                "account_tax_ids": None,
                "custom_fields": self.invoice_settings.get("custom_fields"),
                "description": self.invoice_settings.get("description"),
                "footer": self.invoice_settings.get("footer"),
                "issuer": {"type": "self"},
            },
            "items": {
                "object": "list",
                "data": [item._dict() for item in self.items],
                "has_more": False,
                "total_count": len(self.items),
                "url": f"/v1/subscription_items?subscription={self.id}",
            },
            "latest_invoice": self.latest_invoice,
            "livemode": False,
            "metadata": self.metadata,
            "next_pending_invoice_item_invoice": None,
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "schedule": None,
            "start_date": self.start_date,
            "status": self.status,
            "test_clock": None,
            "transfer_data": None,
            "trial_end": self.trial_end,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": self.trial_start,
        }


@dataclass
class _Line:
    """An invoice line; Stripe has no endpoint for a single one, so it is not stored apart."""

    id: str
    price: Price
    quantity: Decimal
    amount: int
    description: str
    period_start: int
    period_end: int
    subscription: str | None
    subscription_item: str | None

    def _dict(self, invoice: str) -> dict[str, Any]:
        price = self.price
        if self.subscription_item:
            parent: dict[str, Any] = {
                "type": "subscription_item_details",
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": self.subscription,
                    "subscription_item": self.subscription_item,
                },
            }
        else:
            parent = {
                "type": "invoice_item_details",
                "invoice_item_details": {
                    "invoice_item": "ii_" + self.id[3:],
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": None,
                },
                "subscription_item_details": None,
            }
        return {
            "id": self.id,
            "object": "line_item",
            "amount": self.amount,
            "currency": price.currency,
            "description": self.description,
            "discount_amounts": [],
            "discountable": True,
            "discounts": [],
            "invoice": invoice,
            "livemode": False,
            "metadata": {},
            "parent": parent,
            "period": {"end": self.period_end, "start": self.period_start},
            "pretax_credit_amounts": [],
            "pricing": {
                "price_details": {"price": price.id, "product": price.product},
                "type": "price_details",
                "unit_amount_decimal": format(price.unit_amount_decimal.normalize(), "f"),
            },
            "quantity": int(self.quantity),
            "quantity_decimal": format(self.quantity.normalize(), "f"),
            "subtotal": self.amount,
            "taxes": [],
        }


def _money(amount: int, currency: str) -> str:
    zero_decimal = currency in {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
    }
    value = f"{amount:,}" if zero_decimal else f"{Decimal(amount) / 100:,.2f}"
    symbol = {"eur": "€", "usd": "$", "gbp": "£"}.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


def _product_name(product_id: str) -> str:
    product = ls.store.get(f"product:{product_id}")
    return product.name if product is not None else product_id


def _line(
    price: Price, quantity: Decimal | int, start: int, end: int, item: SubscriptionItem | None = None
) -> _Line:
    quantity = Decimal(quantity)
    name = _product_name(price.product)
    if price.recurring:
        unit = _money(price._unit_amount or 0, price.currency)
        every = price.recurring["interval"]
        description = f"{quantity.normalize():f} × {name} (at {unit} / {every})"
    else:
        description = name if quantity == 1 else f"{quantity.normalize():f} × {name}"
    return _Line(
        id="il_" + _rand(),
        price=price,
        quantity=quantity,
        amount=price._amount(quantity),
        description=description,
        period_start=start,
        period_end=end,
        subscription=item.subscription if item else None,
        subscription_item=item.id if item else None,
    )


class Invoice(_Obj):
    object = "invoice"
    _id_prefix = "in_"

    def __init__(self, customer: Any, **fields: Any) -> None:
        super().__init__()
        self.customer: str = customer.id
        self.currency: str = fields["currency"]
        self.billing_reason: str = fields["billing_reason"]
        self.collection_method: str = fields.get("collection_method", "charge_automatically")
        self.days_until_due: int | None = fields.get("days_until_due")
        self.custom_fields: list[dict[str, str]] | None = fields.get("custom_fields")
        self.description: str | None = fields.get("description")
        self.footer: str | None = fields.get("footer")
        self.metadata: dict[str, str] = fields.get("metadata") or {}
        self.subscription: str | None = fields.get("subscription")
        self.subscription_metadata: dict[str, str] | None = fields.get("subscription_metadata")
        self.period_start = int(fields.get("period_start") or self.created)
        self.period_end = int(fields.get("period_end") or self.created)
        self.lines: list[_Line] = []
        self.status = "draft"
        self.number: str | None = None
        self.due_date: int | None = None
        self.amount_paid = 0
        self.paid_off_stripe = 0
        self.attempt_count = 0
        self.attempted = False
        self.next_payment_attempt: int | None = None
        self.transitions: dict[str, int | None] = dict.fromkeys(
            ("finalized_at", "marked_uncollectible_at", "paid_at", "voided_at")
        )
        self.payment_intent: str | None = None  # kept for the page, not exported (gone since 2025-03-31)
        self._customer_snapshot = {
            "customer_address": customer.address,
            "customer_email": customer.email,
            "customer_name": customer.name,
            "customer_phone": customer.phone,
            "customer_tax_exempt": getattr(customer, "tax_exempt", "none"),
            "customer_tax_ids": [{"type": t.type, "value": t.value} for t in customer.tax_ids._list],
        }

    @property
    def _total(self) -> int:
        return sum(line.amount for line in self.lines)

    def _dict(self) -> dict[str, Any]:
        total, base = self._total, STATE.public_url
        remaining = 0 if self.status in ("paid", "void") else max(total - self.amount_paid, 0)
        parent = None
        if self.subscription:
            parent = {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": self.subscription_metadata,
                    "subscription": self.subscription,
                    "subscription_proration_date": None,
                },
            }
        return {
            "id": self.id,
            "object": "invoice",
            "account_country": "DE",
            "account_name": "Local Stripe",
            "account_tax_ids": None,
            "amount_due": total,
            "amount_overpaid": 0,
            "amount_paid": self.amount_paid,
            "amount_paid_off_stripe": self.paid_off_stripe,
            "amount_remaining": remaining,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": self.attempt_count,
            "attempted": self.attempted,
            "auto_advance": self.status in ("draft", "open"),
            "automatic_tax": {
                "disabled_reason": None,
                "enabled": False,
                "liability": None,
                "provider": None,
                "status": None,
            },
            "automatically_finalizes_at": None,
            "billing_reason": self.billing_reason,
            "collection_method": self.collection_method,
            "confirmation_secret": None,
            "created": self.created,
            "currency": self.currency,
            "custom_fields": self.custom_fields,
            "customer": self.customer,
            **self._customer_snapshot,
            "customer_shipping": None,
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": self.description,
            "discounts": [],
            "due_date": self.due_date,
            "effective_at": self.transitions["finalized_at"],
            "ending_balance": None if self.status == "draft" else 0,
            "footer": self.footer,
            "from_invoice": None,
            "hosted_invoice_url": None if self.status == "draft" else f"{base}/invoice/{self.id}",
            "invoice_pdf": None if self.status == "draft" else f"{base}/invoice/{self.id}/pdf",
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {
                "object": "list",
                "data": [line._dict(self.id) for line in self.lines],
                "has_more": False,
                "total_count": len(self.lines),
                "url": f"/v1/invoices/{self.id}/lines",
            },
            "livemode": False,
            "metadata": self.metadata,
            "next_payment_attempt": self.next_payment_attempt,
            "number": self.number,
            "on_behalf_of": None,
            "parent": parent,
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": self.period_end,
            "period_start": self.period_start,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": self.status,
            "status_transitions": self.transitions,
            "subtotal": total,
            "subtotal_excluding_tax": total,
            "test_clock": None,
            "threshold_reason": None,
            "total": total,
            "total_discount_amounts": [],
            "total_excluding_tax": total,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "webhooks_delivered_at": self.created,
        }


def _finalize(invoice: Invoice) -> None:
    """draft → open (numbered, due date for send_invoice); a 0 invoice is paid at once, like Stripe."""
    now = _now()
    customer = _get("customer", invoice.customer)
    invoice.number = f"{customer.invoice_prefix}-{customer.next_invoice_sequence:04d}"
    customer.next_invoice_sequence += 1
    invoice.status = "open"
    invoice.transitions["finalized_at"] = now
    if invoice.collection_method == "send_invoice":
        invoice.due_date = now + (invoice.days_until_due or 0) * _DAY
    else:
        invoice.next_payment_attempt = now
    _event("invoice.finalized", invoice)
    if invoice._total == 0:
        _mark_paid(invoice)
    elif invoice.collection_method == "send_invoice":
        _event("invoice.sent", invoice)


def _mark_paid(invoice: Invoice, *, out_of_band: bool = False) -> None:
    amount = invoice._total - invoice.amount_paid
    invoice.amount_paid += amount
    if out_of_band:
        invoice.paid_off_stripe += amount
    invoice.status = "paid"
    invoice.attempted = True
    invoice.next_payment_attempt = None
    invoice.transitions["paid_at"] = _now()
    _event("invoice.paid", invoice)
    if not out_of_band:
        _event("invoice.payment_succeeded", invoice)


def _mark_failed(invoice: Invoice) -> None:
    invoice.attempt_count += 1
    invoice.attempted = True
    if invoice.collection_method == "charge_automatically":
        invoice.next_payment_attempt = _now() + 3 * _DAY  # Stripe's smart retries would try again
    _event("invoice.payment_failed", invoice)


def _payment_method_of(subscription: Subscription | None, customer: Any) -> str | None:
    if subscription is not None and subscription.default_payment_method:
        return subscription.default_payment_method
    return customer.invoice_settings.get("default_payment_method") or customer.default_source


def _outcome(payment_method: str | None, force_fail: bool = False) -> str:
    """What charging would do, without doing it: succeeded, failed or requires_action."""
    if force_fail or not payment_method:
        return "failed"
    try:
        method = ls.PaymentMethod._api_retrieve(payment_method)
    except UserError:
        return "failed"
    if method._charging_is_declined() or method._attaching_is_declined():
        return "failed"
    return "requires_action" if method._requires_authentication() else "succeeded"


def _collect(invoice: Invoice, payment_method: str | None, *, force_fail: bool = False) -> str:
    """Charges an open invoice with a payment method; sends the invoice events; returns the outcome."""
    outcome = _outcome(payment_method, force_fail)
    if outcome == "succeeded" and payment_method:
        intent = ls.PaymentIntent(
            amount=invoice._total - invoice.amount_paid,
            currency=invoice.currency,
            customer=invoice.customer,
            payment_method=ls.PaymentMethod._api_retrieve(payment_method).id,
            metadata={},
        )
        intent._confirm(on_failure_now=lambda: None)  # succeeds: declines were ruled out above
        invoice.payment_intent = intent.id
        invoice.attempt_count += 1
        _mark_paid(invoice)
    elif outcome == "requires_action":
        invoice.attempt_count += 1
        invoice.attempted = True
        _event("invoice.payment_action_required", invoice)
    else:
        _mark_failed(invoice)
    return outcome


def _parse_items(raw: Any, *, allow_ids: bool = False) -> list[dict[str, Any]]:
    if isinstance(raw, dict):
        raw = list(raw.values())
    if not isinstance(raw, list):
        raise _invalid("items", "Invalid array: items")
    items = []
    for i, item in enumerate(raw):
        where = f"items[{i}]"
        item = dict(item) if isinstance(item, dict) else {}
        spec: dict[str, Any] = {"where": where}
        if allow_ids:
            spec["id"] = _pop_str(item, "id", where=where)
            spec["deleted"] = _pop_bool(item, "deleted", where=where) or False
            _ignore(item, "clear_usage")
        if "price_data" in item:
            raise _invalid(f"{where}[price_data]", "price_data is not supported by the local Stripe server.")
        price_id = _pop_str(item, "price", where=where)
        spec["price"] = _price(price_id, f"{where}[price]") if price_id else None
        if spec["price"] is None and not spec.get("id"):
            raise _missing(f"{where}[price]")
        spec["quantity"] = _pop_int(item, "quantity", where=where, minimum=0)
        spec["metadata"] = item.pop("metadata", None)
        _ignore(item, "tax_rates", "discounts")
        _reject_rest(item, where)
        price = spec["price"]
        if price is not None:
            if not price.recurring:
                raise _invalid(
                    f"{where}[price]",
                    "The price specified is set to `type=one_time` but this field only accepts prices "
                    "with `type=recurring`.",
                )
            if not price.active:
                raise _invalid(
                    f"{where}[price]",
                    "The price specified is inactive. This field only accepts active prices.",
                )
            if price._metered and spec["quantity"] is not None:
                raise _invalid(
                    f"{where}[quantity]",
                    "Quantity should not be specified where usage_type is `metered`. "
                    f"Remove quantity from `{where}`.",
                )
        items.append(spec)
    return items


def _check_same_cycle(prices: list[Price]) -> None:
    if len({p.id for p in prices}) != len(prices):
        raise _invalid("items", "Cannot add multiple subscription items with the same price.")
    for field, values in (
        ("currency", {p.currency for p in prices}),
        ("interval", {(p.recurring or {}).get("interval") for p in prices}),
        ("interval_count", {(p.recurring or {}).get("interval_count") for p in prices}),
    ):
        if len(values) > 1:
            raise _invalid(
                "items",
                f"Currency and interval fields must match across all plans on this subscription. "
                f"Found mismatch in {field} field.",
            )


def _invoice_settings(raw: dict[str, Any], where: str = "invoice_settings") -> dict[str, Any]:
    settings = {
        "custom_fields": _custom_fields(raw.pop("custom_fields", None), f"{where}[custom_fields]"),
        "description": _pop_str(raw, "description", where=where),
        "footer": _pop_str(raw, "footer", where=where),
    }
    _ignore(raw, "account_tax_ids", "issuer")
    _reject_rest(raw, where)
    return settings


def _subscription_invoice(
    sub: Subscription, reason: str, lines: list[_Line], period: tuple[int, int]
) -> Invoice:
    customer = _get("customer", sub.customer)
    invoice = Invoice(
        customer,
        currency=sub.currency,
        billing_reason=reason,
        collection_method=sub.collection_method,
        days_until_due=sub.days_until_due,
        custom_fields=sub.invoice_settings.get("custom_fields")
        or customer.invoice_settings.get("custom_fields"),
        description=sub.invoice_settings.get("description"),
        footer=sub.invoice_settings.get("footer") or customer.invoice_settings.get("footer"),
        subscription=sub.id,
        subscription_metadata=dict(sub.metadata),
        period_start=period[0],
        period_end=period[1],
    )
    invoice.lines = lines
    sub.latest_invoice = invoice.id
    _event("invoice.created", invoice)
    return invoice


def _create_subscription(
    customer: Any,
    specs: list[dict[str, Any]],
    *,
    collection_method: str = "charge_automatically",
    days_until_due: int | None = None,
    default_payment_method: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    invoice_settings: dict[str, Any] | None = None,
    payment_behavior: str = "allow_incomplete",
    trial_end: int | None = None,
    cancel_at_period_end: bool = False,
) -> Subscription:
    prices = [spec["price"] for spec in specs]
    _check_same_cycle(prices)
    now = _now()
    quantities = [
        None if p._metered else (1 if s["quantity"] is None else s["quantity"])
        for p, s in zip(prices, specs, strict=True)
    ]
    first_total = 0 if trial_end else sum(p._amount(q or 0) for p, q in zip(prices, quantities, strict=True))
    payment_method = default_payment_method or _payment_method_of(None, customer)
    if (
        payment_behavior == "error_if_incomplete"
        and collection_method == "charge_automatically"
        and first_total > 0
        and _outcome(payment_method) != "succeeded"
    ):
        # Checked before anything exists: Stripe creates nothing in that case.
        raise StripeError(402, "Your card was declined.", code="card_declined", type="card_error")
    sub = Subscription(
        customer=customer.id,
        currency=prices[0].currency,
        collection_method=collection_method,
        days_until_due=days_until_due,
        default_payment_method=default_payment_method,
        description=description,
        metadata=metadata or {},
        invoice_settings=invoice_settings or {},
    )
    recurring = prices[0].recurring or {}
    period_end = trial_end or _add_interval(now, recurring["interval"], recurring["interval_count"])
    for price, spec, quantity in zip(prices, specs, quantities, strict=True):
        item = SubscriptionItem(
            sub.id, price, quantity, _metadata(spec["metadata"], param=f"{spec['where']}[metadata]")
        )
        item.current_period_start, item.current_period_end = now, period_end
        sub.items.append(item)
    sub.start_date = sub.billing_cycle_anchor = now
    sub.cancel_at_period_end = cancel_at_period_end
    sub.cancel_at = period_end if cancel_at_period_end else None
    customer._currency = customer._currency or sub.currency
    outbox = _OUTBOX.get()
    mark = len(outbox) if outbox is not None else 0

    lines = []
    for item in sub.items:
        price = item._price
        quantity = 0 if (trial_end or price._metered) else (item.quantity or 0)
        line = _line(price, quantity, now, period_end, item)
        if trial_end:
            line.description = f"Trial period for {_product_name(price.product)}"
        lines.append(line)
    invoice = _subscription_invoice(sub, "subscription_create", lines, (now, now))
    _finalize(invoice)
    if trial_end:
        sub.status, sub.trial_start, sub.trial_end = "trialing", now, trial_end
    elif invoice.status == "paid" or collection_method == "send_invoice":
        sub.status = "active"  # Stripe: send_invoice subscriptions are active while the invoice is open
    elif payment_behavior != "default_incomplete" and _collect(invoice, payment_method) == "succeeded":
        sub.status = "active"
    created = _make_event("customer.subscription.created", sub)
    if outbox is not None:  # created first, then its invoice's events: the order a handler expects
        outbox.insert(mark, created)
    else:
        _send(created)
    return sub


def _set_status(sub: Subscription, status: str) -> None:
    with _updating(sub, "customer.subscription.updated"):
        sub.status = status


def _after_payment(invoice: Invoice) -> None:
    """A paid invoice restores its subscription (incomplete or past_due or unpaid → active)."""
    if invoice.subscription:
        sub = _get("subscription", invoice.subscription)
        if sub.status in ("incomplete", "past_due", "unpaid"):
            _set_status(sub, "active")


def _after_failure(invoice: Invoice) -> None:
    if invoice.subscription:
        sub = _get("subscription", invoice.subscription)
        if sub.status in ("active", "trialing"):
            _set_status(sub, "past_due")
        elif (
            sub.status == "past_due"
            and invoice.billing_reason == "subscription_cycle"
            and _open_cycle_invoices(sub) > 1
        ):
            _set_status(sub, "unpaid")  # a second period unpaid: Stripe's "mark unpaid" setting


def _open_cycle_invoices(sub: Subscription) -> int:
    return sum(1 for i in _objects("invoice") if i.subscription == sub.id and i.status == "open")


def _cancel(
    sub: Subscription, *, at: int | None = None, comment: str | None = None, feedback: str | None = None
) -> None:
    if sub.status == "canceled":
        return
    now = _now()
    sub.status = "canceled"
    sub.canceled_at = sub.canceled_at or now
    sub.ended_at = at or now
    sub.cancel_at = None
    sub.cancellation_details = {
        "comment": comment or sub.cancellation_details.get("comment"),
        "feedback": feedback or sub.cancellation_details.get("feedback"),
        "reason": "cancellation_requested",
    }
    _event("customer.subscription.deleted", sub)


def _schedule_cancel(sub: Subscription, cancel: bool) -> None:
    """cancel_at_period_end: Stripe sets cancel_at and canceled_at now, the end comes later."""
    sub.cancel_at_period_end = cancel
    if cancel:
        sub.cancel_at = sub.items[0].current_period_end if sub.items else _now()
        sub.canceled_at = _now()
        sub.cancellation_details = {**sub.cancellation_details, "reason": "cancellation_requested"}
    else:
        sub.cancel_at = sub.canceled_at = None
        sub.cancellation_details = {"comment": None, "feedback": None, "reason": None}


def _advance(sub: Subscription, *, fail: bool) -> None:
    """The end of the current period, now: renew with a cycle invoice, or end if so scheduled."""
    if sub.status in ("canceled", "incomplete", "incomplete_expired"):
        raise _invalid("id", f"A subscription in status {sub.status} has no next period.")
    start, end = sub.items[0].current_period_start, sub.items[0].current_period_end
    if sub.cancel_at_period_end:
        _cancel(sub, at=end)
        return
    price = sub.items[0]._price
    recurring = price.recurring or {}
    new_end = _add_interval(end, recurring["interval"], recurring["interval_count"])
    customer = _get("customer", sub.customer)
    with _updating(sub, "customer.subscription.updated"):
        lines = []
        for item in sub.items:
            item_price = item._price
            if item_price._metered:  # usage is billed in arrears, for the period that ended
                meter = _get("billing.meter", (item_price.recurring or {}).get("meter"))
                usage = meter._aggregate(customer.id, start, end) if meter.status == "active" else Decimal(0)
                lines.append(_line(item_price, max(usage, Decimal(0)), start, end, item))
            else:
                lines.append(_line(item_price, item.quantity or 0, end, new_end, item))
            item.current_period_start, item.current_period_end = end, new_end
        if sub.status == "trialing":
            sub.status = "active"
        invoice = _subscription_invoice(sub, "subscription_cycle", lines, (start, end))
    _finalize(invoice)
    if invoice.status == "open" and sub.collection_method == "charge_automatically":
        force_fail = fail or sub._fail_next
        sub._fail_next = False
        if _collect(invoice, _payment_method_of(sub, customer), force_fail=force_fail) != "succeeded":
            _after_failure(invoice)
    if invoice.status == "paid":
        _after_payment(invoice)


_SUBSCRIPTION_IGNORED = (
    "proration_behavior",
    "proration_date",
    "payment_behavior",
    "off_session",
    "automatic_tax",
)
_SUBSCRIPTION_UPDATABLE = (
    "metadata",
    "cancellation_details",
    "cancel_at_period_end",
    "collection_method",
    "days_until_due",
    "default_payment_method",
    "description",
    "invoice_settings",
    "items",
    "expand",
    *_SUBSCRIPTION_IGNORED,
)


def _subscription_update(sub: Subscription, p: dict[str, Any]) -> None:
    _only(p, _SUBSCRIPTION_UPDATABLE)
    if sub.status == "canceled" and set(p) - {"metadata", "cancellation_details", "expand"}:
        raise _invalid("id", "A canceled subscription can only update its cancellation_details and metadata.")
    method = _pop_str(p, "collection_method", choices=("charge_automatically", "send_invoice"))
    method = method or sub.collection_method
    days = _pop_int(p, "days_until_due", minimum=0)
    days = None if method == "charge_automatically" else (sub.days_until_due if days is None else days)
    if method == "send_invoice" and days is None:  # checked before anything changes
        raise _missing("days_until_due")
    with _updating(sub, "customer.subscription.updated"):
        if "metadata" in p:
            sub.metadata = _metadata(p.pop("metadata"), sub.metadata)
        details = _pop_dict(p, "cancellation_details")
        comment = _pop_str(details, "comment", where="cancellation_details")
        feedback = _pop_str(details, "feedback", where="cancellation_details")
        _reject_rest(details, "cancellation_details")
        if comment or feedback:
            sub.cancellation_details = {**sub.cancellation_details, "comment": comment, "feedback": feedback}
        cancel = _pop_bool(p, "cancel_at_period_end")
        if cancel is not None and cancel != sub.cancel_at_period_end:
            _schedule_cancel(sub, cancel)
        sub.collection_method, sub.days_until_due = method, days
        if "default_payment_method" in p:
            pm = _pop_str(p, "default_payment_method")
            if pm:
                _attached(pm, sub.customer, "default_payment_method")
            sub.default_payment_method = pm
        if "description" in p:
            sub.description = _pop_str(p, "description")
        if "invoice_settings" in p:
            sub.invoice_settings = {
                **sub.invoice_settings,
                **_invoice_settings(_pop_dict(p, "invoice_settings")),
            }
        if "items" in p:
            _update_items(sub, _parse_items(p.pop("items"), allow_ids=True))
        _ignore(p, *_SUBSCRIPTION_IGNORED, "expand")


def _update_items(sub: Subscription, specs: list[dict[str, Any]]) -> None:
    """items[i][id] updates or (deleted=true) removes an item; without an id, adds one. No proration."""
    by_id = {item.id: item for item in sub.items}
    for spec in specs:
        if spec.get("id"):
            item = by_id.get(spec["id"])
            if item is None:
                raise _no_such("subscription item", spec["id"], f"{spec['where']}[id]")
            if spec["deleted"]:
                sub.items.remove(item)
                del ls.store[f"subscription_item:{item.id}"]
                continue
            if spec["price"] is not None:
                item.price = spec["price"].id
            if spec["quantity"] is not None:
                item.quantity = spec["quantity"]
            item.metadata = _metadata(spec["metadata"], item.metadata)
            if item._price._metered:
                item.quantity = None
            elif item.quantity is None:
                item.quantity = 1
        else:
            price = spec["price"]
            quantity = None if price._metered else (1 if spec["quantity"] is None else spec["quantity"])
            item = SubscriptionItem(sub.id, price, quantity, _metadata(spec["metadata"]))
            if sub.items:
                item.current_period_start = sub.items[0].current_period_start
                item.current_period_end = sub.items[0].current_period_end
            sub.items.append(item)
    if not sub.items:
        raise _invalid("items", "A subscription needs at least one item.")
    _check_same_cycle([item._price for item in sub.items])


def _attached(payment_method: str, customer: str, param: str) -> None:
    try:
        method = ls.PaymentMethod._api_retrieve(payment_method)
    except UserError:
        raise _no_such("PaymentMethod", payment_method, param) from None
    if getattr(method, "customer", None) != customer:
        raise _invalid(
            param,
            f"The customer does not have a payment method with the ID {payment_method}. "
            "The payment method must be attached to the customer.",
        )


# ---------------------------------------------------------------------------------------------
# Checkout Sessions and billing portal sessions


class CheckoutSession(_Obj):
    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(self, **fields: Any) -> None:
        super().__init__("cs_test_" + _rand(58))
        self.mode: str = fields["mode"]
        self.items: list[tuple[Price, int | None]] = fields["items"]
        self.customer: str | None = fields["customer"]
        self.customer_email: str | None = fields["customer_email"]
        self.success_url: str = fields["success_url"]
        self.cancel_url: str | None = fields["cancel_url"]
        self.client_reference_id: str | None = fields["client_reference_id"]
        self.metadata: dict[str, str] = fields["metadata"]
        self.subscription_data: dict[str, Any] = fields["subscription_data"]
        self.payment_intent_data: dict[str, Any] = fields["payment_intent_data"]
        self.invoice_creation: dict[str, Any] | None = fields["invoice_creation"]
        self.tax_id_collection: bool = fields["tax_id_collection"]
        self.locale: str | None = fields["locale"]
        self.customer_creation: str | None = fields["customer_creation"]
        self.billing_address_collection: str | None = fields["billing_address_collection"]
        self.allow_promotion_codes: bool | None = fields["allow_promotion_codes"]
        self.expires_at: int = fields["expires_at"] or self.created + _DAY
        self.status = "open"
        self.payment_status = "unpaid"
        self.subscription: str | None = None
        self.invoice: str | None = None
        self.payment_intent: str | None = None
        self.customer_details: dict[str, Any] | None = None
        self._line_ids = ["li_" + _rand() for _ in self.items]

    @property
    def _currency(self) -> str:
        return self.items[0][0].currency

    @property
    def _amount_total(self) -> int:
        return sum(price._amount(qty or 0) for price, qty in self.items if not price._metered)

    def _expire_if_due(self) -> None:
        if self.status == "open" and _now() >= self.expires_at:
            self.status = "expired"
            _event("checkout.session.expired", self)

    def _line_items(self) -> dict[str, Any]:
        data: list[dict[str, Any]] = []
        for line_id, (price, qty) in zip(self._line_ids, self.items, strict=True):
            amount = 0 if price._metered else price._amount(qty or 0)
            data.append(
                {
                    "id": line_id,
                    "object": "item",
                    "adjustable_quantity": None,
                    "amount_discount": 0,
                    "amount_subtotal": amount,
                    "amount_tax": 0,
                    "amount_total": amount,
                    "currency": price.currency,
                    "description": _product_name(price.product),
                    "discounts": [],
                    "metadata": {},
                    "price": price._dict(),
                    "quantity": qty,
                    "taxes": [],
                }
            )
        return {
            "object": "list",
            "data": data,
            "has_more": False,
            "url": f"/v1/checkout/sessions/{self.id}/line_items",
        }

    def _export(self, expand: list[str] | None = None) -> dict[str, Any]:
        data = copy.deepcopy(self._dict())
        if any(path.split(".")[0] == "line_items" for path in expand or []):
            data["line_items"] = self._line_items()  # only when expanded, like Stripe
        return _expand(data, expand)

    def _dict(self) -> dict[str, Any]:
        total = self._amount_total
        return {
            "id": self.id,
            "object": "checkout.session",
            "adaptive_pricing": None,
            "after_expiration": None,
            "allow_promotion_codes": self.allow_promotion_codes,
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
            "billing_address_collection": self.billing_address_collection,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "client_secret": None,
            "collected_information": None,
            "consent": None,
            "consent_collection": None,
            "created": self.created,
            "currency": self._currency,
            "currency_conversion": None,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": self.customer,
            "customer_creation": self.customer_creation,
            "customer_details": self.customer_details,
            "customer_email": self.customer_email,
            "discounts": [],
            "expires_at": self.expires_at,
            "invoice": self.invoice,
            "invoice_creation": self.invoice_creation,
            "livemode": False,
            "locale": self.locale,
            "metadata": self.metadata,
            "mode": self.mode,
            "payment_intent": self.payment_intent,
            "payment_link": None,
            "payment_method_collection": "always",
            "payment_method_configuration_details": None,
            "payment_method_options": {},
            "payment_method_types": ["card"],
            "payment_status": self.payment_status,
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "saved_payment_method_options": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": self.status,
            "submit_type": None,
            "subscription": self.subscription,
            "success_url": self.success_url,
            "tax_id_collection": {"enabled": self.tax_id_collection, "required": "never"},
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": f"{STATE.public_url}/checkout/{self.id}",
        }


def _checkout_create(p: dict[str, Any]) -> CheckoutSession:
    mode = _pop_str(p, "mode", required=True, choices=("payment", "setup", "subscription"))
    if mode == "setup":
        raise _invalid("mode", "Checkout in setup mode is not supported by the local Stripe server.")
    ui_mode = _pop_str(p, "ui_mode", choices=("hosted", "embedded", "custom")) or "hosted"
    if ui_mode != "hosted":
        raise _invalid("ui_mode", "Only ui_mode=hosted is supported by the local Stripe server.")
    raw_items = p.pop("line_items", None)
    if isinstance(raw_items, dict):
        raw_items = list(raw_items.values())
    if not raw_items or not isinstance(raw_items, list):
        raise _missing("line_items")
    items: list[tuple[Price, int | None]] = []
    for i, raw in enumerate(raw_items):
        where = f"line_items[{i}]"
        raw = dict(raw) if isinstance(raw, dict) else {}
        if "price_data" in raw:
            raise _invalid(f"{where}[price_data]", "price_data is not supported by the local Stripe server.")
        price = _price(_pop_str(raw, "price", where=where), f"{where}[price]")
        quantity = _pop_int(raw, "quantity", where=where, minimum=1)
        _ignore(raw, "adjustable_quantity", "tax_rates", "dynamic_tax_rates")
        _reject_rest(raw, where)
        if not price.active:
            raise _invalid(
                f"{where}[price]", "The price specified is inactive. This field only accepts active prices."
            )
        if price._metered:
            if quantity is not None:
                raise _invalid(f"{where}[quantity]", "Quantity should not be specified for a metered price.")
        elif quantity is None:
            raise _missing(f"{where}[quantity]")
        if mode == "payment" and price.recurring:
            raise _invalid(
                f"{where}[price]",
                "You specified `payment` mode but passed a recurring price. Either switch to `subscription` "
                "mode or use only one-time prices.",
            )
        items.append((price, quantity))
    if mode == "subscription":
        if not all(price.recurring for price, _ in items):
            raise _invalid(
                "line_items",
                "One-time prices in `subscription` mode are not supported by the local Stripe server.",
            )
        _check_same_cycle([price for price, _ in items])
    if len({price.currency for price, _ in items}) > 1:
        raise _invalid("line_items", "All line items must use the same currency.")
    customer = _pop_str(p, "customer")
    customer_email = _pop_str(p, "customer_email")
    if customer and customer_email:
        raise _only_one("customer", "customer_email")
    if customer:
        _customer(customer)
    success_url = _pop_str(p, "success_url", required=True)
    cancel_url = _pop_str(p, "cancel_url")
    subscription_data = _pop_dict(p, "subscription_data")
    payment_intent_data = _pop_dict(p, "payment_intent_data")
    invoice_creation = _pop_dict(p, "invoice_creation")
    tax_id_collection = _pop_dict(p, "tax_id_collection")
    tax_ids = _pop_bool(tax_id_collection, "enabled", where="tax_id_collection") or False
    _ignore(tax_id_collection, "required")
    _reject_rest(tax_id_collection, "tax_id_collection")
    if mode == "subscription" and (payment_intent_data or invoice_creation):
        param = "payment_intent_data" if payment_intent_data else "invoice_creation"
        raise _invalid(param, f"`{param}` can only be used in `payment` mode.")
    if mode == "payment" and subscription_data:
        raise _invalid("subscription_data", "`subscription_data` can only be used in `subscription` mode.")
    sub_data = {
        "metadata": _metadata(subscription_data.pop("metadata", None), param="subscription_data[metadata]"),
        "description": _pop_str(subscription_data, "description", where="subscription_data"),
        "trial_period_days": _pop_int(
            subscription_data, "trial_period_days", where="subscription_data", minimum=1
        ),
        "invoice_settings": _invoice_settings(
            _pop_dict(subscription_data, "invoice_settings", where="subscription_data"),
            "subscription_data[invoice_settings]",
        ),
    }
    _ignore(subscription_data, "proration_behavior", "billing_cycle_anchor", "default_tax_rates")
    _reject_rest(subscription_data, "subscription_data")
    pi_data = {
        "metadata": _metadata(
            payment_intent_data.pop("metadata", None), param="payment_intent_data[metadata]"
        ),
        "description": _pop_str(payment_intent_data, "description", where="payment_intent_data"),
    }
    _ignore(
        payment_intent_data, "receipt_email", "statement_descriptor", "setup_future_usage", "capture_method"
    )
    _reject_rest(payment_intent_data, "payment_intent_data")
    invoice: dict[str, Any] | None = None
    if mode == "payment":
        enabled = _pop_bool(invoice_creation, "enabled", where="invoice_creation") or False
        data = _pop_dict(invoice_creation, "invoice_data", where="invoice_creation")
        _reject_rest(invoice_creation, "invoice_creation")
        where = "invoice_creation[invoice_data]"
        invoice = {
            "enabled": enabled,
            "invoice_data": {
                "account_tax_ids": None,
                "custom_fields": _custom_fields(data.pop("custom_fields", None), f"{where}[custom_fields]"),
                "description": _pop_str(data, "description", where=where),
                "footer": _pop_str(data, "footer", where=where),
                "issuer": None,
                "metadata": _metadata(data.pop("metadata", None), param=f"{where}[metadata]"),
                "rendering_options": None,
            },
        }
        _ignore(data, "account_tax_ids", "issuer", "rendering_options")
        _reject_rest(data, where)
    locale = _pop_str(p, "locale")
    creation = _pop_str(p, "customer_creation", choices=("always", "if_required"))
    if creation and mode != "payment":
        raise _invalid("customer_creation", "customer_creation can only be used in `payment` mode.")
    fields = {
        "client_reference_id": _pop_str(p, "client_reference_id", max_length=200),
        "metadata": _metadata(p.pop("metadata", None)),
        "billing_address_collection": _pop_str(p, "billing_address_collection", choices=("auto", "required")),
        "allow_promotion_codes": _pop_bool(p, "allow_promotion_codes"),
        "expires_at": _pop_int(p, "expires_at"),
    }
    _ignore(
        p,
        "automatic_tax",
        "customer_update",
        "payment_method_types",
        "consent_collection",
        "phone_number_collection",
        "submit_type",
        "custom_text",
        "expand",
    )
    _reject_rest(p)
    return CheckoutSession(
        mode=mode,
        items=items,
        customer=customer,
        customer_email=customer_email,
        success_url=success_url,
        cancel_url=cancel_url,
        subscription_data=sub_data,
        payment_intent_data=pi_data,
        invoice_creation=invoice,
        tax_id_collection=tax_ids,
        locale=locale,
        customer_creation=(creation or "if_required") if mode == "payment" else None,
        **fields,
    )


_DECLINES = {
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card has insufficient funds.",
    "4000000000009987": "Your card was declined.",
    "4000000000009979": "Your card was declined.",
    "4000000000000069": "Your card has expired.",
    "4000000000000127": "Your card's security code is incorrect.",
    "4000000000000119": "An error occurred while processing your card. Try again in a little bit.",
    "4000000000000341": "Your card was declined.",
    "4242424242424241": "Your card number is incorrect.",
}


def _card_problem(number: str) -> str | None:
    """Why a card number typed on a hosted page cannot pay, or None when it can."""
    if not re.fullmatch(r"\d{16}", number):
        return "Your card number is incomplete. Use a 16-digit test card such as 4242 4242 4242 4242."
    digits = [int(d) for d in reversed(number)]
    luhn = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    if number in _DECLINES:
        return _DECLINES[number]
    if luhn % 10:
        return "Your card number is invalid."
    return None


def _card_payment_method(number: str, email: str | None, name: str | None, customer: str | None) -> Any:
    method = ls.PaymentMethod(
        type="card",
        card={"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
        billing_details={"email": email, "name": name},
    )
    if customer:
        ls.PaymentMethod._api_attach(method.id, customer=customer)
    return method


def _complete_checkout(
    session: CheckoutSession, number: str, email: str | None, name: str | None, vat: str | None
) -> None:
    """The hosted page's successful submit: customer, payment, subscription or invoice, events."""
    customer = ls.store.get(f"customer:{session.customer}") if session.customer else None
    needs_customer = session.mode == "subscription" or session.customer_creation == "always"
    if session.invoice_creation and session.invoice_creation["enabled"]:
        needs_customer = True
    if customer is None and needs_customer:
        customer = _Customer(email=email, name=name)
        session.customer = customer.id
    if customer is not None and vat:
        ls.Customer._api_add_tax_id(customer.id, type="eu_vat", value=vat)
    method = _card_payment_method(number, email, name, customer.id if customer is not None else None)
    if session.mode == "subscription" and customer is not None:
        specs = [
            {"price": price, "quantity": qty, "metadata": None, "where": "line_items"}
            for price, qty in session.items
        ]
        trial_days = session.subscription_data["trial_period_days"]
        sub = _create_subscription(
            customer,
            specs,
            default_payment_method=method.id,
            description=session.subscription_data["description"],
            metadata=session.subscription_data["metadata"],
            invoice_settings=session.subscription_data["invoice_settings"],
            trial_end=_now() + trial_days * _DAY if trial_days else None,
        )
        session.subscription, session.invoice = sub.id, sub.latest_invoice
    else:
        intent = ls.PaymentIntent(
            amount=session._amount_total,
            currency=session._currency,
            customer=customer.id if customer is not None else None,
            payment_method=method.id,
            metadata=session.payment_intent_data["metadata"],
        )
        intent.description = session.payment_intent_data["description"]
        intent._confirm(on_failure_now=lambda: None)
        session.payment_intent = intent.id
        if customer is not None and session.invoice_creation and session.invoice_creation["enabled"]:
            data = session.invoice_creation["invoice_data"]
            invoice = Invoice(
                customer,
                currency=session._currency,
                billing_reason="manual",
                custom_fields=data["custom_fields"],
                description=data["description"],
                footer=data["footer"],
                metadata=data["metadata"],
            )
            invoice.lines = [
                _line(price, qty or 1, invoice.created, invoice.created) for price, qty in session.items
            ]
            invoice.payment_intent = intent.id
            _event("invoice.created", invoice)
            _finalize(invoice)
            if invoice.status == "open":
                invoice.attempt_count += 1
                _mark_paid(invoice)
            session.invoice = invoice.id
    session.status = "complete"
    session.payment_status = "paid" if session._amount_total > 0 else "no_payment_required"
    session.customer_details = {
        "address": None,
        "business_name": None,
        "email": email,
        "individual_name": None,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [{"type": "eu_vat", "value": vat}] if vat else [],
    }
    _event("checkout.session.completed", session)


class PortalSession(_Obj):
    object = "billing_portal.session"
    _id_prefix = "bps_"

    def __init__(self, customer: str, return_url: str | None, locale: str | None) -> None:
        super().__init__()
        self.customer, self.return_url, self.locale = customer, return_url, locale

    def _dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "billing_portal.session",
            "configuration": "bpc_local",
            "created": self.created,
            "customer": self.customer,
            "flow": None,
            "livemode": False,
            "locale": self.locale,
            "on_behalf_of": None,
            "return_url": self.return_url,
            "url": f"{STATE.public_url}/billing_portal/{self.id}",
        }


# ---------------------------------------------------------------------------------------------
# API routes

routes = web.RouteTableDef()


def _respond(obj: Any, p: dict[str, Any]) -> web.Response:
    return _json(obj._export(_pop_list(p, "expand")))


def _id(request: web.Request) -> str:
    return request.match_info["id"]


@routes.post("/v1/customers")
async def customer_create(request: web.Request) -> web.Response:
    p = await _params(request)
    expand = _pop_list(p, "expand")
    settings = p.get("invoice_settings")
    if isinstance(settings, dict) and "custom_fields" in settings:
        settings["custom_fields"] = _custom_fields(
            settings["custom_fields"], "invoice_settings[custom_fields]"
        )
    if p.get("tax_exempt") not in (None, "none", "exempt", "reverse"):
        raise _invalid("tax_exempt", "Invalid tax_exempt: must be one of none, exempt, reverse")
    return _json(_Customer._api_create(**p)._export(expand))


@routes.get("/v1/customers")
async def customer_list(request: web.Request) -> web.Response:
    p = await _params(request)
    email = _pop_str(p, "email")
    objects = [c for c in _objects("customer") if email is None or c.email == email]
    return _json(_list("/v1/customers", objects, p))


_CUSTOMER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "email": lambda c: c.email,
    "name": lambda c: c.name,
    "phone": lambda c: c.phone,
    "created": lambda c: c.created,
}


@routes.get("/v1/customers/search")
async def customer_search(request: web.Request) -> web.Response:
    return _json(
        _search("/v1/customers/search", _objects("customer"), await _params(request), _CUSTOMER_FIELDS)
    )


_CUSTOMER_UPDATABLE = (
    "name",
    "email",
    "phone",
    "description",
    "preferred_locales",
    "tax_exempt",
    "invoice_prefix",
    "invoice_settings",
    "address",
    "shipping",
    "metadata",
    "expand",
)


@routes.post("/v1/customers/{id}")
async def customer_update(request: web.Request) -> web.Response:
    customer = _customer(_id(request), "id")
    p = await _params(request)
    settings = p.get("invoice_settings")
    if isinstance(settings, dict) and "custom_fields" in settings:
        settings["custom_fields"] = _custom_fields(
            settings["custom_fields"], "invoice_settings[custom_fields]"
        )
    if isinstance(settings, dict) and settings.get("default_payment_method"):
        _attached(settings["default_payment_method"], customer.id, "invoice_settings[default_payment_method]")
    elif isinstance(settings, dict) and settings.get("default_payment_method") == "":
        settings["default_payment_method"] = None
    _only(p, _CUSTOMER_UPDATABLE)
    if p.get("tax_exempt") not in (None, "none", "exempt", "reverse"):
        raise _invalid("tax_exempt", "Invalid tax_exempt: must be one of none, exempt, reverse")
    with _updating(customer, "customer.updated"):
        expand = _pop_list(p, "expand")
        _update_fields(customer, p, _CUSTOMER_UPDATABLE[:7], _CUSTOMER_UPDATABLE[7:10])
    return _json(customer._export(expand))


@routes.delete("/v1/customers/{id}")
async def customer_delete(request: web.Request) -> web.Response:
    customer = _customer(_id(request), "id")
    for sub in _objects("subscription"):  # Stripe ends a deleted customer's subscriptions at once
        if sub.customer == customer.id:
            _cancel(sub)
    _event("customer.deleted", customer)
    del ls.store[f"customer:{customer.id}"]
    return _json({"id": customer.id, "object": "customer", "deleted": True})


@routes.post("/v1/products")
async def product_create(request: web.Request) -> web.Response:
    p = await _params(request)
    expand = _pop_list(p, "expand")
    return _json(_Product._api_create(**p)._export(expand))


@routes.get("/v1/products")
async def product_list(request: web.Request) -> web.Response:
    p = await _params(request)
    active = _pop_bool(p, "active")
    ids = _pop_list(p, "ids")
    objects = [
        o for o in _objects("product") if (active is None or o.active == active) and (not ids or o.id in ids)
    ]
    _ignore(p, "shippable", "url")
    return _json(_list("/v1/products", objects, p))


_PRODUCT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "name": lambda o: o.name,
    "active": lambda o: o.active,
    "description": lambda o: o.description,
    "created": lambda o: o.created,
}


@routes.get("/v1/products/search")
async def product_search(request: web.Request) -> web.Response:
    return _json(_search("/v1/products/search", _objects("product"), await _params(request), _PRODUCT_FIELDS))


@routes.post("/v1/products/{id}")
async def product_update(request: web.Request) -> web.Response:
    product = _get("product", _id(request))
    p = await _params(request)
    if p.get("default_price"):
        price = _price(p["default_price"], "default_price")
        if price.product != product.id:
            raise _invalid("default_price", "The default price must belong to this product.")
    fields = ("name", "description", "active", "default_price", "tax_code", "unit_label", "url", "images")
    _only(p, {*fields, "metadata", "expand", "statement_descriptor", "marketing_features"})
    expand = _pop_list(p, "expand")
    with _updating(product, "product.updated"):
        _update_fields(product, p, (*fields, "statement_descriptor", "marketing_features"))
        product.updated = _now()
    return _json(product._export(expand))


@routes.delete("/v1/products/{id}")
async def product_delete(request: web.Request) -> web.Response:
    product = _get("product", _id(request))
    if any(price.product == product.id for price in _objects("price")):
        raise _invalid("id", "This product cannot be deleted because it has one or more user-created prices.")
    del ls.store[f"product:{product.id}"]
    return _json({"id": product.id, "object": "product", "deleted": True})


@routes.post("/v1/prices")
async def price_create(request: web.Request) -> web.Response:
    p = await _params(request)
    expand = _pop_list(p, "expand")
    return _json(_price_create(p)._export(expand))


@routes.get("/v1/prices")
async def price_list(request: web.Request) -> web.Response:
    p = await _params(request)
    active = _pop_bool(p, "active")
    product = _pop_str(p, "product")
    currency = _pop_str(p, "currency")
    kind = _pop_str(p, "type", choices=("one_time", "recurring"))
    lookup_keys = _pop_list(p, "lookup_keys")
    if len(lookup_keys) > 10:
        raise _invalid("lookup_keys", "You can pass up to 10 lookup keys.")
    recurring = _pop_dict(p, "recurring")
    interval = _pop_str(recurring, "interval", where="recurring")
    usage_type = _pop_str(recurring, "usage_type", where="recurring")
    meter = _pop_str(recurring, "meter", where="recurring")
    _reject_rest(recurring, "recurring")

    def keep(price: Price) -> bool:
        rec = price.recurring or {}
        return (
            (active is None or price.active == active)
            and (product is None or price.product == product)
            and (currency is None or price.currency == currency.lower())
            and (kind is None or (kind == "recurring") == bool(price.recurring))
            and (not lookup_keys or price.lookup_key in lookup_keys)
            and (interval is None or rec.get("interval") == interval)
            and (usage_type is None or rec.get("usage_type") == usage_type)
            and (meter is None or rec.get("meter") == meter)
        )

    return _json(_list("/v1/prices", [o for o in _objects("price") if keep(o)], p))


_PRICE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "active": lambda o: o.active,
    "currency": lambda o: o.currency,
    "lookup_key": lambda o: o.lookup_key,
    "product": lambda o: o.product,
    "type": lambda o: "recurring" if o.recurring else "one_time",
    "created": lambda o: o.created,
}


@routes.get("/v1/prices/search")
async def price_search(request: web.Request) -> web.Response:
    return _json(_search("/v1/prices/search", _objects("price"), await _params(request), _PRICE_FIELDS))


@routes.get("/v1/prices/{id}")
async def price_retrieve(request: web.Request) -> web.Response:
    return _respond(_get("price", _id(request)), await _params(request))


@routes.post("/v1/prices/{id}")
async def price_update(request: web.Request) -> web.Response:
    price = _get("price", _id(request))
    p = await _params(request)
    _only(
        p, ("metadata", "active", "nickname", "lookup_key", "transfer_lookup_key", "tax_behavior", "expand")
    )
    expand = _pop_list(p, "expand")
    with _updating(price, "price.updated"):
        if "metadata" in p:
            price.metadata = _metadata(p.pop("metadata"), price.metadata)
        active = _pop_bool(p, "active")
        if active is not None:
            price.active = active
        if "nickname" in p:
            price.nickname = _pop_str(p, "nickname")
        if "lookup_key" in p:
            key = _pop_str(p, "lookup_key", max_length=200)
            holder = _price_with_lookup_key(key) if key else None
            if holder and holder is not price:
                if not _pop_bool(p, "transfer_lookup_key"):
                    raise _invalid("lookup_key", f"A price (`{holder.id}`) already uses that lookup key.")
                with _updating(holder, "price.updated"):
                    holder.lookup_key = None
            price.lookup_key = key
        _ignore(p, "transfer_lookup_key")
        tax_behavior = _pop_str(p, "tax_behavior", choices=("inclusive", "exclusive", "unspecified"))
        if tax_behavior and tax_behavior != price.tax_behavior:
            if price.tax_behavior != "unspecified":
                raise _invalid("tax_behavior", "tax_behavior cannot be changed once it is specified.")
            price.tax_behavior = tax_behavior
        _reject_rest(p)
    return _json(price._export(expand))


@routes.post("/v1/billing/meters")
async def meter_create(request: web.Request) -> web.Response:
    p = await _params(request)
    expand = _pop_list(p, "expand")
    return _json(_meter_create(p)._export(expand))


@routes.get("/v1/billing/meters")
async def meter_list(request: web.Request) -> web.Response:
    p = await _params(request)
    status = _pop_str(p, "status", choices=("active", "inactive"))
    meters = [m for m in _objects("billing.meter") if status is None or m.status == status]
    return _json(_list("/v1/billing/meters", meters, p))


@routes.get("/v1/billing/meters/{id}")
async def meter_retrieve(request: web.Request) -> web.Response:
    return _respond(_get("billing.meter", _id(request)), await _params(request))


@routes.post("/v1/billing/meters/{id}")
async def meter_update(request: web.Request) -> web.Response:
    meter = _get("billing.meter", _id(request))
    p = await _params(request)
    name = _pop_str(p, "display_name", max_length=250)
    if name:
        meter.display_name, meter.updated = name, _now()
    return _respond(meter, p)


@routes.post("/v1/billing/meters/{id}/deactivate")
@routes.post("/v1/billing/meters/{id}/reactivate")
async def meter_status(request: web.Request) -> web.Response:
    meter = _get("billing.meter", _id(request))
    activate = request.path.endswith("/reactivate")
    if activate and any(
        m.event_name == meter.event_name and m.status == "active" for m in _objects("billing.meter")
    ):
        raise _invalid("id", f"An active meter with the event name `{meter.event_name}` already exists.")
    meter.status = "active" if activate else "inactive"
    meter.deactivated_at = None if activate else _now()
    meter.updated = _now()
    return _respond(meter, await _params(request))


@routes.get("/v1/billing/meters/{id}/event_summaries")
async def meter_summaries(request: web.Request) -> web.Response:
    meter = _get("billing.meter", _id(request))
    p = await _params(request)
    customer = _pop_str(p, "customer", required=True) or ""
    start = _pop_int(p, "start_time", required=True) or 0
    end = _pop_int(p, "end_time", required=True) or 0
    _ignore(p, "value_grouping_window", "limit", "starting_after", "ending_before", "expand")
    _reject_rest(p)
    summary = {
        "id": "mtrusg_" + _rand(),
        "object": "billing.meter_event_summary",
        "aggregated_value": float(meter._aggregate(customer, start, end)),
        "end_time": end,
        "livemode": False,
        "meter": meter.id,
        "start_time": start,
    }
    url = f"/v1/billing/meters/{meter.id}/event_summaries"
    return _json({"object": "list", "data": [summary], "has_more": False, "url": url})


@routes.post("/v1/billing/meter_events")
async def meter_event_create(request: web.Request) -> web.Response:
    return _json(_meter_event_create(await _params(request)))


@routes.post("/v1/subscriptions")
async def subscription_create(request: web.Request) -> web.Response:
    p = await _params(request)
    customer = _customer(_pop_str(p, "customer"))
    specs = _parse_items(p.pop("items", None))
    if not specs:
        raise _missing("items")
    method = _pop_str(p, "collection_method", choices=("charge_automatically", "send_invoice"))
    method = method or "charge_automatically"
    days = _pop_int(p, "days_until_due", minimum=0)
    if method == "send_invoice" and days is None:
        raise _missing("days_until_due")
    if method == "charge_automatically" and days is not None:
        raise _invalid(
            "days_until_due", "days_until_due can only be set when collection_method is send_invoice."
        )
    default_pm = _pop_str(p, "default_payment_method")
    if default_pm:
        _attached(default_pm, customer.id, "default_payment_method")
    trial_days = _pop_int(p, "trial_period_days", minimum=1)
    trial_end = _pop_str(p, "trial_end")
    if trial_days and trial_end:
        raise _only_one("trial_end", "trial_period_days")
    trial_at = _now() + trial_days * _DAY if trial_days else None
    if trial_end and trial_end != "now":
        trial_at = _pop_int({"trial_end": trial_end}, "trial_end")
        if trial_at is None or trial_at <= _now():
            raise _invalid("trial_end", "Invalid timestamp: must be in the future.")
    behavior = _pop_str(
        p,
        "payment_behavior",
        choices=("allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"),
    )
    fields: dict[str, Any] = {
        "description": _pop_str(p, "description"),
        "metadata": _metadata(p.pop("metadata", None)),
        "invoice_settings": _invoice_settings(_pop_dict(p, "invoice_settings")),
        "cancel_at_period_end": _pop_bool(p, "cancel_at_period_end") or False,
    }
    currency = _pop_str(p, "currency")
    if currency and currency.lower() != specs[0]["price"].currency:
        raise _invalid("currency", "The currency must match the currency of the prices.")
    _ignore(p, "proration_behavior", "off_session", "automatic_tax", "payment_settings", "billing_mode")
    expand = _pop_list(p, "expand")
    _reject_rest(p)
    sub = _create_subscription(
        customer,
        specs,
        collection_method=method,
        days_until_due=days,
        default_payment_method=default_pm,
        payment_behavior=behavior or "allow_incomplete",
        trial_end=trial_at,
        **fields,
    )
    return _json(sub._export(expand))


@routes.get("/v1/subscriptions")
async def subscription_list(request: web.Request) -> web.Response:
    p = await _params(request)
    customer = _pop_str(p, "customer")
    status = _pop_str(
        p,
        "status",
        choices=(
            "active",
            "all",
            "canceled",
            "ended",
            "incomplete",
            "incomplete_expired",
            "past_due",
            "paused",
            "trialing",
            "unpaid",
        ),
    )
    price = _pop_str(p, "price")
    method = _pop_str(p, "collection_method")
    _ignore(p, "current_period_start", "current_period_end", "test_clock", "automatic_tax")

    def keep(sub: Subscription) -> bool:
        if status is None and sub.status in ("canceled", "incomplete_expired"):
            return False
        if status not in (None, "all") and sub.status != ("canceled" if status == "ended" else status):
            return False
        return (
            (customer is None or sub.customer == customer)
            and (price is None or any(item.price == price for item in sub.items))
            and (method is None or sub.collection_method == method)
        )

    return _json(_list("/v1/subscriptions", [s for s in _objects("subscription") if keep(s)], p))


_SUBSCRIPTION_FIELDS: dict[str, Callable[[Any], Any]] = {
    "status": lambda o: o.status,
    "customer": lambda o: o.customer,
    "created": lambda o: o.created,
}


@routes.get("/v1/subscriptions/search")
async def subscription_search(request: web.Request) -> web.Response:
    p = await _params(request)
    return _json(_search("/v1/subscriptions/search", _objects("subscription"), p, _SUBSCRIPTION_FIELDS))


@routes.get("/v1/subscriptions/{id}")
async def subscription_retrieve(request: web.Request) -> web.Response:
    return _respond(_get("subscription", _id(request)), await _params(request))


@routes.post("/v1/subscriptions/{id}")
async def subscription_update(request: web.Request) -> web.Response:
    sub = _get("subscription", _id(request))
    p = await _params(request)
    expand = _pop_list(p, "expand")
    _subscription_update(sub, p)
    return _json(sub._export(expand))


@routes.delete("/v1/subscriptions/{id}")
async def subscription_cancel(request: web.Request) -> web.Response:
    sub = _get("subscription", _id(request))
    p = await _params(request)
    expand = _pop_list(p, "expand")
    details = _pop_dict(p, "cancellation_details")
    comment = _pop_str(details, "comment", where="cancellation_details")
    feedback = _pop_str(details, "feedback", where="cancellation_details")
    _reject_rest(details, "cancellation_details")
    _ignore(p, "invoice_now", "prorate")
    _reject_rest(p)
    if sub.status == "canceled":
        raise _invalid("id", f"The subscription {sub.id} has already been canceled.")
    _cancel(sub, comment=comment, feedback=feedback)
    return _json(sub._export(expand))


@routes.get("/v1/subscription_items")
async def subscription_item_list(request: web.Request) -> web.Response:
    p = await _params(request)
    sub = _get("subscription", _pop_str(p, "subscription", required=True), "subscription")
    return _json(_list(f"/v1/subscription_items?subscription={sub.id}", list(sub.items), p))


@routes.get("/v1/subscription_items/{id}")
async def subscription_item_retrieve(request: web.Request) -> web.Response:
    return _respond(_get("subscription_item", _id(request)), await _params(request))


@routes.post("/v1/subscription_items/{id}")
async def subscription_item_update(request: web.Request) -> web.Response:
    item = _get("subscription_item", _id(request))
    p = await _params(request)
    expand = _pop_list(p, "expand")
    spec = {"id": item.id}
    for key in ("price", "quantity", "metadata"):
        if key in p:
            spec[key] = p.pop(key)
    _ignore(p, "proration_behavior", "proration_date", "payment_behavior", "off_session")
    _reject_rest(p)
    _subscription_update(_get("subscription", item.subscription), {"items": [spec]})
    return _json(item._export(expand))


@routes.get("/v1/invoices")
async def invoice_list(request: web.Request) -> web.Response:
    p = await _params(request)
    customer = _pop_str(p, "customer")
    subscription = _pop_str(p, "subscription")
    status = _pop_str(p, "status", choices=("draft", "open", "paid", "uncollectible", "void"))
    method = _pop_str(p, "collection_method")
    _ignore(p, "due_date")

    def keep(inv: Invoice) -> bool:
        return (
            (customer is None or inv.customer == customer)
            and (subscription is None or inv.subscription == subscription)
            and (status is None or inv.status == status)
            and (method is None or inv.collection_method == method)
        )

    return _json(_list("/v1/invoices", [i for i in _objects("invoice") if keep(i)], p))


_INVOICE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "customer": lambda o: o.customer,
    "status": lambda o: o.status,
    "subscription": lambda o: o.subscription,
    "number": lambda o: o.number,
    "currency": lambda o: o.currency,
    "total": lambda o: o._total,
    "created": lambda o: o.created,
}


@routes.get("/v1/invoices/search")
async def invoice_search(request: web.Request) -> web.Response:
    return _json(_search("/v1/invoices/search", _objects("invoice"), await _params(request), _INVOICE_FIELDS))


@routes.get("/v1/invoices/{id}")
async def invoice_retrieve(request: web.Request) -> web.Response:
    return _respond(_get("invoice", _id(request)), await _params(request))


@routes.post("/v1/invoices/{id}")
async def invoice_update(request: web.Request) -> web.Response:
    invoice = _get("invoice", _id(request))
    p = await _params(request)
    expand = _pop_list(p, "expand")
    with _updating(invoice, "invoice.updated"):
        if "metadata" in p:
            invoice.metadata = _metadata(p.pop("metadata"), invoice.metadata)
        if invoice.status == "draft":
            if "custom_fields" in p:
                invoice.custom_fields = _custom_fields(p.pop("custom_fields"), "custom_fields")
            for key in ("description", "footer"):
                if key in p:
                    setattr(invoice, key, _pop_str(p, key))
        _ignore(p, "auto_advance")
        _reject_rest(p)
    return _json(invoice._export(expand))


@routes.get("/v1/invoices/{id}/lines")
async def invoice_lines(request: web.Request) -> web.Response:
    invoice = _get("invoice", _id(request))
    data = [line._dict(invoice.id) for line in invoice.lines]
    return _json(
        {"object": "list", "data": data, "has_more": False, "url": f"/v1/invoices/{invoice.id}/lines"}
    )


@routes.post("/v1/invoices/{id}/finalize")
async def invoice_finalize(request: web.Request) -> web.Response:
    invoice = _get("invoice", _id(request))
    if invoice.status != "draft":
        raise _invalid("id", "This invoice is already finalized, you can't re-finalize a non-draft invoice.")
    _finalize(invoice)
    return _respond(invoice, await _params(request))


@routes.post("/v1/invoices/{id}/pay")
async def invoice_pay(request: web.Request) -> web.Response:
    invoice = _get("invoice", _id(request))
    p = await _params(request)
    expand = _pop_list(p, "expand")
    out_of_band = _pop_bool(p, "paid_out_of_band") or False
    method = _pop_str(p, "payment_method") or _pop_str(p, "source")
    _ignore(p, "forgive", "off_session", "mandate")
    _reject_rest(p)
    if invoice.status == "paid":
        raise _invalid("id", "Invoice is already paid")
    if invoice.status == "draft":
        _finalize(invoice)
    if invoice.status not in ("open", "paid"):
        raise _invalid("id", f"You can only pay an open invoice. This invoice is {invoice.status}.")
    if invoice.status == "open":
        sub = _get("subscription", invoice.subscription) if invoice.subscription else None
        if out_of_band:
            _mark_paid(invoice, out_of_band=True)
        else:
            customer = _get("customer", invoice.customer)
            force_fail = bool(sub and sub._fail_next)
            if sub is not None:
                sub._fail_next = False
            outcome = _collect(invoice, method or _payment_method_of(sub, customer), force_fail=force_fail)
            if outcome == "failed":
                _after_failure(invoice)
                raise StripeError(402, "Your card was declined.", code="card_declined", type="card_error")
            if outcome == "requires_action":
                raise StripeError(
                    402,
                    "This payment requires authentication.",
                    code="authentication_required",
                    type="card_error",
                )
    if invoice.status == "paid":
        _after_payment(invoice)
    return _json(invoice._export(expand))


@routes.post("/v1/invoices/{id}/void")
@routes.post("/v1/invoices/{id}/mark_uncollectible")
async def invoice_close(request: web.Request) -> web.Response:
    invoice = _get("invoice", _id(request))
    void = request.path.endswith("/void")
    if invoice.status not in (("open", "uncollectible") if void else ("open",)):
        raise _invalid("id", f"You can only {'void' if void else 'mark uncollectible'} an open invoice.")
    invoice.status = "void" if void else "uncollectible"
    invoice.next_payment_attempt = None
    invoice.transitions["voided_at" if void else "marked_uncollectible_at"] = _now()
    _event("invoice.voided" if void else "invoice.marked_uncollectible", invoice)
    return _respond(invoice, await _params(request))


@routes.post("/v1/checkout/sessions")
async def checkout_create(request: web.Request) -> web.Response:
    p = await _params(request)
    expand = _pop_list(p, "expand")
    return _json(_checkout_create(p)._export(expand))


@routes.get("/v1/checkout/sessions")
async def checkout_list(request: web.Request) -> web.Response:
    p = await _params(request)
    filters = {key: _pop_str(p, key) for key in ("customer", "subscription", "payment_intent", "status")}
    _ignore(p, "customer_details", "payment_link")
    sessions = [
        s
        for s in _objects("checkout.session")
        if all(v is None or getattr(s, k) == v for k, v in filters.items())
    ]
    return _json(_list("/v1/checkout/sessions", sessions, p))


def _session(id_: str) -> CheckoutSession:
    session = _get("checkout.session", id_)
    session._expire_if_due()
    return session


@routes.get("/v1/checkout/sessions/{id}")
async def checkout_retrieve(request: web.Request) -> web.Response:
    return _respond(_session(_id(request)), await _params(request))


@routes.get("/v1/checkout/sessions/{id}/line_items")
async def checkout_line_items(request: web.Request) -> web.Response:
    session = _session(_id(request))
    p = await _params(request)
    data = session._line_items()
    limit = min(_pop_int(p, "limit", minimum=1) or 10, 100)
    data["has_more"], data["data"] = len(data["data"]) > limit, data["data"][:limit]
    return _json(_expand(data, _pop_list(p, "expand")))


@routes.post("/v1/checkout/sessions/{id}/expire")
async def checkout_expire(request: web.Request) -> web.Response:
    session = _session(_id(request))
    if session.status != "open":
        raise _invalid(
            "id",
            f'Only Checkout Sessions with a status in ["open"] can be expired. This one is {session.status}.',
        )
    session.status = "expired"
    _event("checkout.session.expired", session)
    return _respond(session, await _params(request))


@routes.post("/v1/billing_portal/sessions")
async def portal_create(request: web.Request) -> web.Response:
    p = await _params(request)
    customer = _customer(_pop_str(p, "customer"))
    return_url = _pop_str(p, "return_url")
    locale = _pop_str(p, "locale")
    expand = _pop_list(p, "expand")
    if p.pop("flow_data", None):
        raise _invalid("flow_data", "flow_data is not supported by the local Stripe server.")
    _ignore(p, "configuration", "on_behalf_of")
    _reject_rest(p)
    session = PortalSession(customer.id, return_url, locale)
    _event("billing_portal.session.created", session)
    return _json(session._export(expand))


@routes.get("/v1/events")
async def event_list(request: web.Request) -> web.Response:
    p = await _params(request)
    one = _pop_str(p, "type")
    many = _pop_list(p, "types")
    _ignore(p, "delivery_success")

    def keep(event: Any) -> bool:
        wanted = ([one] if one else []) + many
        return event._seq is not None and (not wanted or any(_type_matches(event.type, w) for w in wanted))

    return _json(_list("/v1/events", [e for e in _objects("event") if keep(e)], p))


def _type_matches(event_type: str, wanted: str) -> bool:
    return event_type == wanted or (wanted.endswith(".*") and event_type.startswith(wanted[:-1]))


@routes.get("/v1/events/{id}")
async def event_retrieve(request: web.Request) -> web.Response:
    return _respond(_get("event", _id(request)), await _params(request))


# ---------------------------------------------------------------------------------------------
# Test helpers under /_local/


@routes.get("/_local/health")
async def local_health(request: web.Request) -> web.Response:
    return _json({"status": "ok", "api_version": API_VERSION, "localstripe": localstripe_version})


def _webhook_status() -> web.Response:
    status = {"url": WEBHOOKS.url, "delivered": WEBHOOKS.delivered, "failed": WEBHOOKS.failed}
    return _json({**status, "pending": WEBHOOKS.pending})


@routes.get("/_local/webhook")
async def local_webhook(request: web.Request) -> web.Response:
    return _webhook_status()


@routes.post("/_local/webhook")
async def local_webhook_set(request: web.Request) -> web.Response:
    p = await _params(request)
    url, secret = _pop_str(p, "url"), _pop_str(p, "secret")
    if url and not (secret and url.startswith(("http://", "https://"))):
        raise _invalid("url", "Pass an http(s) url and its secret (whsec_...).")
    WEBHOOKS.url, WEBHOOKS.secret = url, secret
    return _webhook_status()


@routes.post("/_local/reset")
async def local_reset(request: web.Request) -> web.Response:
    STATE.reset()
    return _json({"status": "ok"})


@routes.get("/_local/meter_events")
async def local_meter_events(request: web.Request) -> web.Response:
    p = await _params(request)
    customer = _pop_str(p, "customer", required=True) or ""
    event_name = _pop_str(p, "event_name")
    start, end = _pop_int(p, "start_time"), _pop_int(p, "end_time")
    _reject_rest(p)
    meters = [m for m in _objects("billing.meter") if event_name is None or m.event_name == event_name]
    events = [e for m in meters for e in m._events(customer, start, end)]
    events.sort(key=lambda e: (e["timestamp"], e["created"]))
    summary = [
        {
            "meter": m.id,
            "event_name": m.event_name,
            "formula": m.formula,
            "event_count": len(m._events(customer, start, end)),
            "aggregated_value": m._aggregate(customer, start, end),
        }
        for m in meters
    ]
    return _json({"customer": customer, "events": events, "meters": summary})


@routes.post("/_local/subscriptions/{id}/fail_next_payment")
async def local_fail_next(request: web.Request) -> web.Response:
    sub = _get("subscription", _id(request))
    sub._fail_next = True
    return _json(sub._export())


@routes.post("/_local/subscriptions/{id}/advance")
async def local_advance(request: web.Request) -> web.Response:
    sub = _get("subscription", _id(request))
    p = await _params(request)
    payment = _pop_str(p, "payment", choices=("succeed", "fail")) or "succeed"
    _reject_rest(p)
    _advance(sub, fail=payment == "fail")
    return _json(sub._export(["latest_invoice"]))


@routes.post("/_local/invoices/{id}/fail")
async def local_invoice_fail(request: web.Request) -> web.Response:
    invoice = _get("invoice", _id(request))
    if invoice.status != "open":
        raise _invalid("id", f"Only an open invoice can fail; this one is {invoice.status}.")
    _mark_failed(invoice)
    _after_failure(invoice)
    return _json(invoice._export())


# ---------------------------------------------------------------------------------------------
# Hosted pages: Checkout, billing portal, invoice (plain HTML, no script)

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#f6f8fa;margin:0}
main{max-width:40rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:left;padding:.4rem;border-bottom:1px solid #ccc}
td.n,th.n{text-align:right}label{display:block;font-weight:600;margin-top:1rem}
input{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;border:1px solid #555;border-radius:4px}
button{font:inherit;margin-top:1.25rem;padding:.6rem 1.2rem;background:#0a2540;color:#fff;border:0;
border-radius:4px}
:focus-visible{outline:3px solid #0055d4;outline-offset:2px}.alert{color:#8a1c1c;font-weight:600}
.badge{display:inline-block;background:#ffde92;color:#1a1a1a;padding:0 .5rem;border-radius:4px}
"""


def _page(title: str, body: str, *, lang: str | None = None, status: int = 200) -> web.Response:
    lang = lang if lang and lang != "auto" else "en"
    document = (
        f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><main>"
        f'<p class="badge">Test mode · local Stripe</p>{body}</main></body></html>'
    )
    return web.Response(text=document, status=status, content_type="text/html")


def _date(timestamp: int | None) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %b %Y") if timestamp else "—"


def _e(value: Any) -> str:
    return html.escape(str(value if value is not None else ""))


def _checkout_form(
    session: CheckoutSession, error: str | None = None, values: dict[str, str] | None = None
) -> str:
    values = values or {}
    rows = []
    for price, qty in session.items:
        unit = _money(price._unit_amount or 0, price.currency)
        every = f" / {price.recurring['interval']}" if price.recurring else ""
        amount = "billed by usage" if price._metered else _money(price._amount(qty or 0), price.currency)
        rows.append(
            f"<tr><td>{_e(_product_name(price.product))}</td>"
            f"<td class='n'>{_e(qty if qty is not None else '—')}</td>"
            f"<td class='n'>{_e(unit + every)}</td><td class='n'>{_e(amount)}</td></tr>"
        )
    total = _money(session._amount_total, session._currency)
    verb = "Subscribe" if session.mode == "subscription" else f"Pay {total}"
    email = session.customer_email or values.get("email", "")
    if session.customer:
        email_field = ""
    else:
        fixed = " readonly" if session.customer_email else ""
        email_field = (
            '<label for="email">Email</label><input id="email" name="email" type="email" '
            f'autocomplete="email" required{fixed} value="{_e(email)}">'
        )
    tax_field = ""
    if session.tax_id_collection:
        tax_field = (
            '<label for="tax_id">VAT number (optional)</label>'
            f'<input id="tax_id" name="tax_id" autocomplete="off" value="{_e(values.get("tax_id", ""))}" '
            'aria-describedby="tax-hint"><p id="tax-hint">For example DE123456789.</p>'
        )
    alert = f'<p role="alert" class="alert">{_e(error)}</p>' if error else ""
    cancel = f'<p><a href="{_e(session.cancel_url)}">Cancel and go back</a></p>' if session.cancel_url else ""
    return (
        f"<h1>{'Subscribe' if session.mode == 'subscription' else 'Checkout'}</h1>"
        "<table><caption>Order summary</caption><thead><tr><th scope='col'>Item</th>"
        "<th scope='col' class='n'>Quantity</th><th scope='col' class='n'>Price</th>"
        f"<th scope='col' class='n'>Amount</th></tr></thead><tbody>{''.join(rows)}</tbody>"
        "<tfoot><tr><th scope='row' colspan='3'>Total due today</th>"
        f"<td class='n'>{_e(total)}</td></tr></tfoot></table>{alert}"
        f'<form method="post" action="/checkout/{_e(session.id)}">{email_field}'
        '<label for="card_number">Card number</label>'
        '<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" required '
        f'aria-describedby="card-hint" value="{_e(values.get("card_number", ""))}">'
        '<p id="card-hint">Test mode: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined.</p>'
        '<label for="card_name">Name on card</label>'
        '<input id="card_name" name="card_name" autocomplete="cc-name" '
        f'value="{_e(values.get("card_name", ""))}">'
        f'{tax_field}<button type="submit">{_e(verb)}</button></form>{cancel}'
    )


@routes.get("/checkout/{id}")
async def checkout_page(request: web.Request) -> web.Response:
    session = ls.store.get(f"checkout.session:{_id(request)}")
    if session is None:
        return _page("Checkout", "<h1>Checkout</h1><p>This checkout page does not exist.</p>", status=404)
    session._expire_if_due()
    if session.status == "complete":
        done = session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id)
        body = f'<h1>Checkout</h1><p>This checkout is complete.</p><p><a href="{_e(done)}">Continue</a></p>'
        return _page("Checkout", body, lang=session.locale)
    if session.status != "open":
        return _page(
            "Checkout", "<h1>Checkout</h1><p>This checkout has expired.</p>", lang=session.locale, status=410
        )
    return _page("Checkout", _checkout_form(session), lang=session.locale)


@routes.post("/checkout/{id}")
async def checkout_submit(request: web.Request) -> web.Response:
    session = ls.store.get(f"checkout.session:{_id(request)}")
    if session is None:
        return _page("Checkout", "<h1>Checkout</h1><p>This checkout page does not exist.</p>", status=404)
    session._expire_if_due()
    if session.status != "open":
        return _page("Checkout", "<h1>Checkout</h1><p>This checkout is no longer open.</p>", status=410)
    form = await request.post()
    values = {key: str(form.get(key, "")).strip() for key in ("email", "card_number", "card_name", "tax_id")}
    number = re.sub(r"[\s-]", "", values["card_number"])
    email = session.customer_email or values["email"] or None
    if session.customer:  # the page asked for no email then
        email = _get("customer", session.customer).email
    vat = values["tax_id"].replace(" ", "").upper() if session.tax_id_collection else ""
    problem = _card_problem(number)
    if problem is None and not email and not session.customer:
        problem = "Enter your email address."
    if problem is None and vat and not re.fullmatch(r"[A-Z]{2}[0-9A-Z]{9,12}", vat):
        problem = "Your VAT number is invalid."
    if problem:  # nothing is created: the page says why, like Stripe's form
        return _page("Checkout", _checkout_form(session, problem, values), lang=session.locale, status=402)
    _complete_checkout(session, number, email, values["card_name"] or None, vat or None)
    raise web.HTTPSeeOther(session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id))


def _portal_body(session: PortalSession) -> str:
    subs = [s for s in _objects("subscription") if s.customer == session.customer]
    subs.sort(key=_sort_key, reverse=True)
    parts = ["<h1>Billing</h1>", "<h2>Subscriptions</h2>"]
    if not subs:
        parts.append("<p>No subscriptions.</p>")
    for sub in subs:
        names = ", ".join(_product_name(item._price.product) for item in sub.items)
        end = sub.items[0].current_period_end if sub.items else None
        state = sub.status.replace("_", " ")
        if sub.cancel_at_period_end and sub.status != "canceled":
            state += f", cancels on {_date(sub.cancel_at)}"
        elif sub.status not in ("canceled", "incomplete"):
            state += f", renews on {_date(end)}"
        parts.append(
            f"<section aria-labelledby='h-{_e(sub.id)}'>"
            f"<h3 id='h-{_e(sub.id)}'>{_e(names)}</h3><p>{_e(state)}</p>"
        )
        if sub.status not in ("canceled", "incomplete"):
            action, label = (
                ("renew", "Don't cancel") if sub.cancel_at_period_end else ("cancel", "Cancel subscription")
            )
            parts.append(
                f'<form method="post" '
                f'action="/billing_portal/{_e(session.id)}/subscriptions/{_e(sub.id)}/{action}">'
                f'<button type="submit" aria-describedby="h-{_e(sub.id)}">{label}</button></form>'
            )
        parts.append("</section>")
    invoices = sorted(
        (i for i in _objects("invoice") if i.customer == session.customer and i.status != "draft"),
        key=_sort_key,
        reverse=True,
    )
    parts.append("<h2>Invoices</h2>")
    if invoices:
        parts.append(
            "<table><caption>Invoice history</caption><thead><tr><th scope='col'>Number</th>"
            "<th scope='col'>Date</th>"
            "<th scope='col' class='n'>Amount</th><th scope='col'>Status</th></tr></thead><tbody>"
        )
        for inv in invoices:
            parts.append(
                f"<tr><td><a href='/invoice/{_e(inv.id)}'>{_e(inv.number)}</a></td>"
                f"<td>{_date(inv.created)}</td>"
                f"<td class='n'>{_e(_money(inv._total, inv.currency))}</td><td>{_e(inv.status)}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append("<p>No invoices.</p>")
    if session.return_url:
        parts.append(f'<p><a href="{_e(session.return_url)}">Return to the site</a></p>')
    return "".join(parts)


@routes.get("/billing_portal/{id}")
async def portal_page(request: web.Request) -> web.Response:
    session = ls.store.get(f"billing_portal.session:{_id(request)}")
    if session is None:
        return _page("Billing", "<h1>Billing</h1><p>This billing page does not exist.</p>", status=404)
    return _page("Billing", _portal_body(session), lang=session.locale)


@routes.post("/billing_portal/{id}/subscriptions/{sub}/{action:cancel|renew}")
async def portal_action(request: web.Request) -> web.Response:
    session = ls.store.get(f"billing_portal.session:{_id(request)}")
    sub = ls.store.get(f"subscription:{request.match_info['sub']}")
    if session is None or sub is None or sub.customer != session.customer:
        return _page("Billing", "<h1>Billing</h1><p>This subscription is not yours.</p>", status=404)
    if sub.status not in ("canceled", "incomplete"):
        with _updating(sub, "customer.subscription.updated"):
            _schedule_cancel(sub, request.match_info["action"] == "cancel")
    raise web.HTTPSeeOther(f"/billing_portal/{session.id}")


def _invoice_body(invoice: Invoice, error: str | None = None) -> str:
    rows = "".join(
        f"<tr><td>{_e(line.description)}</td>"
        f"<td class='n'>{_e(_money(line.amount, invoice.currency))}</td></tr>"
        for line in invoice.lines
    )
    fields = "".join(f"<li>{_e(f['name'])}: {_e(f['value'])}</li>" for f in invoice.custom_fields or [])
    pay = ""
    if invoice.status == "open":
        alert = f'<p role="alert" class="alert">{_e(error)}</p>' if error else ""
        pay = (
            f'<h2>Pay by card</h2>{alert}<form method="post" action="/invoice/{_e(invoice.id)}">'
            '<label for="card_number">Card number</label>'
            '<input id="card_number" name="card_number" inputmode="numeric" '
            'autocomplete="cc-number" required>'
            f'<button type="submit">Pay {_e(_money(invoice._total - invoice.amount_paid, invoice.currency))}'
            "</button></form>"
        )
    return (
        f"<h1>Invoice {_e(invoice.number)}</h1><p>Status: {_e(invoice.status)}. "
        f"Issued {_date(invoice.transitions['finalized_at'])}. Due {_date(invoice.due_date)}.</p>"
        f"{'<ul>' + fields + '</ul>' if fields else ''}"
        "<table><caption>Invoice lines</caption><thead><tr><th scope='col'>Description</th>"
        f"<th scope='col' class='n'>Amount</th></tr></thead><tbody>{rows}</tbody>"
        "<tfoot><tr><th scope='row'>Total</th>"
        f"<td class='n'>{_e(_money(invoice._total, invoice.currency))}</td></tr></tfoot></table>"
        f"<p><a href='/invoice/{_e(invoice.id)}/pdf'>Download the invoice (PDF)</a></p>{pay}"
    )


@routes.get("/invoice/{id}")
async def invoice_page(request: web.Request) -> web.Response:
    invoice = ls.store.get(f"invoice:{_id(request)}")
    if invoice is None or invoice.status == "draft":
        return _page("Invoice", "<h1>Invoice</h1><p>This invoice does not exist.</p>", status=404)
    return _page(f"Invoice {invoice.number}", _invoice_body(invoice))


@routes.post("/invoice/{id}")
async def invoice_page_pay(request: web.Request) -> web.Response:
    invoice = ls.store.get(f"invoice:{_id(request)}")
    if invoice is None or invoice.status != "open":
        return _page("Invoice", "<h1>Invoice</h1><p>This invoice cannot be paid.</p>", status=404)
    number = re.sub(r"[\s-]", "", str((await request.post()).get("card_number", "")))
    problem = _card_problem(number)
    if problem:
        return _page(f"Invoice {invoice.number}", _invoice_body(invoice, problem), status=402)
    customer = _get("customer", invoice.customer)
    method = _card_payment_method(number, customer.email, customer.name, customer.id)
    if _collect(invoice, method.id) == "succeeded":
        _after_payment(invoice)
    raise web.HTTPSeeOther(f"/invoice/{invoice.id}")


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with text lines: enough for an invoice_pdf link to open."""

    def text(value: str) -> str:
        raw = value.encode("cp1252", "replace").decode("latin-1")
        return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 11 Tf 56 790 Td 16 TL " + " ".join(f"({text(line)}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


@routes.get("/invoice/{id}/pdf")
async def invoice_pdf(request: web.Request) -> web.Response:
    invoice = ls.store.get(f"invoice:{_id(request)}")
    if invoice is None or invoice.status == "draft":
        raise web.HTTPNotFound()
    customer = invoice._customer_snapshot
    lines = [
        f"Invoice {invoice.number}",
        f"Status: {invoice.status}",
        f"Date: {_date(invoice.transitions['finalized_at'])}   Due: {_date(invoice.due_date)}",
        f"Bill to: {customer['customer_name'] or ''} {customer['customer_email'] or ''}",
        *[f"{f['name']}: {f['value']}" for f in invoice.custom_fields or []],
        "",
        *[f"{line.description}   {_money(line.amount, invoice.currency)}" for line in invoice.lines],
        "",
        f"Total: {_money(invoice._total, invoice.currency)}",
        f"Amount paid: {_money(invoice.amount_paid, invoice.currency)}",
    ]
    return web.Response(body=_pdf(lines), content_type="application/pdf")


# ---------------------------------------------------------------------------------------------
# Middlewares and the application


def _error_response(exc: Exception, request: web.Request) -> web.Response | None:
    if isinstance(exc, StripeError):
        return exc.response()
    if isinstance(exc, UserError):  # localstripe's: already {"error": {"type", "message"}}
        body = dict(exc.body["error"])
        unexpected = str(body.get("message", "")).removeprefix("Unexpected ")
        if exc.code == 400 and unexpected != body.get("message"):
            return StripeError(
                400, f"Received unknown parameter: {unexpected}", code="parameter_unknown"
            ).response()
        match = re.match(r"^/v1/(\w+?)s/([\w-]+)$", request.path)
        if exc.code == 404 and body.get("message") == "Not Found" and match:
            return _no_such(match.group(1), match.group(2)).response()
        if exc.code == 402:
            body["type"] = "card_error"
        return _json({"error": body}, status=exc.code)
    if isinstance(exc, web.HTTPException) and exc.status >= 400 and request.path.startswith("/v1/"):
        message = f"Unrecognized request URL ({request.method}: {request.path})."
        return StripeError(404 if exc.status in (404, 405) else exc.status, message).response()
    return None


@web.middleware
async def _outer(request: web.Request, handler: Any) -> web.StreamResponse:
    """Errors in Stripe's shape, a Request-Id, and events sent once the request has done its work."""
    request_id = "req_" + _rand(14) if request.path.startswith("/v1/") else None
    key = request.headers.get("Idempotency-Key") if request_id else None
    _REQUEST.set((request_id, key))
    outbox: list[Any] = []
    token = _OUTBOX.set(outbox)
    try:
        try:
            response = await handler(request)
        except Exception as exc:
            error = _error_response(exc, request)
            if error is None:
                raise
            response = error
    finally:
        _OUTBOX.reset(token)
        for event in outbox:
            _send(event)
    if request_id:
        response.headers.setdefault("Request-Id", request_id)
    return response


@web.middleware
async def _auth(request: web.Request, handler: Any) -> web.StreamResponse:
    if not request.path.startswith("/v1/"):
        return await handler(request)
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    key = value
    if scheme == "Basic":
        try:
            key = base64.b64decode(value).decode().partition(":")[0]
        except ValueError:
            key = ""
    if not key:
        raise StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the Authorization header, "
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
    if not key.startswith(("sk_test_", "rk_test_")):  # a live key here is a mistake worth stopping
        raise StripeError(
            401, f"Invalid API Key provided: {key[:8]}****; the local Stripe server takes test keys."
        )
    return await handler(request)


@web.middleware
async def _idempotency(request: web.Request, handler: Any) -> web.StreamResponse:
    """A retried POST with the same Idempotency-Key gets the first answer (as stripe-python expects)."""
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key or not request.path.startswith("/v1/"):
        return await handler(request)
    body = await request.read()
    scope = (request.headers.get("Authorization", ""), key)
    fingerprint = hashlib.sha256(f"{request.method} {request.path_qs}\n".encode() + body).hexdigest()
    replay = STATE.idempotency.get(scope)
    if replay is not None:
        if replay.fingerprint != fingerprint:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were first used "
                f"with. Try using a key other than '{key}' if you meant to execute a different request.",
                type="idempotency_error",
            )
        saved = await asyncio.shield(replay.future)
        if saved is not None:
            status, payload, content_type = saved
            headers = {"Idempotent-Replayed": "true", "Idempotency-Key": key}
            return web.Response(body=payload, status=status, content_type=content_type, headers=headers)
    future: asyncio.Future[tuple[int, bytes, str] | None] = asyncio.get_running_loop().create_future()
    STATE.idempotency[scope] = _Replay(fingerprint, future)
    response: web.StreamResponse | None = None
    try:
        try:
            response = await handler(request)
        except Exception as exc:
            response = _error_response(exc, request)
            if response is None:
                raise
    finally:
        # Stripe keeps the result once the endpoint ran; a refused request (400/404) is not kept.
        kept = isinstance(response, web.Response) and (response.status < 400 or response.status == 402)
        if kept and isinstance(response, web.Response) and isinstance(response.body, bytes):
            future.set_result((response.status, response.body, response.content_type))
        else:
            STATE.idempotency.pop(scope, None)
            future.set_result(None)
    return response


_LOCALSTRIPE_KEPT = re.compile(
    r"^/v1/(?:customers/\{id\}(?:/(?:sources|tax_ids|cards)(?:/\{\w+\})?)?|products/\{id\}"
    r"|(?:payment_methods|payment_intents|setup_intents|charges|refunds|tokens|sources|tax_rates|coupons|balance)"
    r"(?:/.*)?)$"
)


def make_app() -> web.Application:
    app = web.Application(middlewares=[_outer, _auth, _idempotency])
    app.add_routes(routes)  # first: they win over localstripe's for the same path
    for route in ls_server.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method == "HEAD" or not _LOCALSTRIPE_KEPT.match(path):
            continue  # plans, localstripe's invoices and subscriptions, its /_config/ and JS
        app.router.add_route(route.method, path, route.handler)
    return app


async def _serve(args: argparse.Namespace) -> None:
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sys.exit(f"local Stripe: cannot listen on {args.host}:{args.port}: {exc}")
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    url = f"http://{host}:{port}"
    STATE.public_url = (args.public_url or url).rstrip("/")
    WEBHOOKS.url, WEBHOOKS.secret = args.webhook_url, args.webhook_secret
    WEBHOOKS.start()
    runner = web.AppRunner(make_app(), access_log=log if args.verbose else None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    hooks = f", webhooks to {args.webhook_url}" if args.webhook_url else ""
    print(
        f"local Stripe listening on {url} (API {API_VERSION}, localstripe {localstripe_version}{hooks})",
        flush=True,
    )
    await stop.wait()
    await WEBHOOKS.stop()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--port", type=int, default=12111, help="0 picks a free port (printed)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--webhook-url", help="where events are POSTed")
    parser.add_argument("--webhook-secret", help="signing secret, whsec_...")
    parser.add_argument("--public-url", help="base of the hosted pages' URLs (default: http://HOST:PORT)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if bool(args.webhook_url) != bool(args.webhook_secret):
        parser.error("--webhook-url and --webhook-secret go together")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="local Stripe: %(message)s"
    )
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
