"""The billing page of an organisation's console, /manage/billing/: its plan and state, usage against
the plan's limits, the plans and paid services on offer, what it bought, its invoices.

Admins act (upgrade and buy through Stripe Checkout, the Municipality plan by purchase order, the
billing portal for the card and invoices); executives read the same page without the buttons;
participants get 403. The page reads the product's own rows (billing.selectors.billing_overview)
and never calls Stripe; only the buttons do, and when Stripe cannot be reached the page says so and
nothing is saved. The plan changes when Stripe's webhook says it is paid, which may come a moment
after the person is back from Checkout: the page says so.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from billing import formatting
from billing.catalogue import Plan, PriceSpec
from billing.errors import BillingNotConfigured, BillingUnavailable
from billing.forms import CheckoutForm, PurchaseOrderForm
from billing.models import Invoice
from billing.selectors import BillingOverview, billing_overview
from billing.services import billing_portal_url, checkout_session_create, municipality_subscribe
from challenges.models import Challenge
from challenges.selectors import challenge_list
from core.pages import error_summary, manager_required, reader_required, service_errors_add
from core.permissions import can_manage
from tenants.http import request_organization
from tenants.models import Organization

BillingState = Organization.BillingState
# Stripe's hosted pages, where the page's forms are sent on (the Content-Security-Policy's
# form-action covers the redirects a form's answer makes, in Chromium).
STRIPE_PAGE_ORIGINS = ("https://checkout.stripe.com", "https://billing.stripe.com")
# A limit is "near" from this share of it on.
NEAR_LIMIT = 0.8


# Reading ---------------------------------------------------------------------------------------------


@reader_required
@require_safe
def manage_billing(request: HttpRequest) -> HttpResponse:
    return _page(request)


# Acting ----------------------------------------------------------------------------------------------


@manager_required
@require_POST
def manage_billing_checkout(request: HttpRequest) -> HttpResponse:
    """Upgrade or buy: a Checkout Session, then off to Stripe's page (303)."""
    organization = request_organization(request)
    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, problems=_form_messages(form))
    kind, key = form.cleaned_data["kind"], form.cleaned_data["key"]
    try:
        url = checkout_session_create(
            request.user,
            organization,
            kind=kind,
            key=key,
            success_url=_return_url(request, checkout="success", kind=kind)
            + "&session={CHECKOUT_SESSION_ID}",
            cancel_url=_return_url(request, checkout="cancel", kind=kind),
            locale=translation.get_language() or "auto",
        )
    except ValidationError as error:
        return _page(request, status=400, problems=error.messages)
    except (BillingNotConfigured, BillingUnavailable) as error:
        return _page(request, status=503, problems=[str(error)])
    return _see_other(url)


@manager_required
@require_POST
def manage_billing_portal(request: HttpRequest) -> HttpResponse:
    """Stripe's billing portal: the card, the invoices, cancelling."""
    organization = request_organization(request)
    try:
        url = billing_portal_url(request.user, organization, request.build_absolute_uri(_billing_path()))
    except (BillingNotConfigured, BillingUnavailable) as error:
        return _page(request, status=503, problems=[str(error)])
    return _see_other(url)


@manager_required
@require_POST
def manage_billing_municipality(request: HttpRequest) -> HttpResponse:
    """The Municipality plan by invoice, against a purchase order: no Checkout."""
    organization = request_organization(request)
    form = PurchaseOrderForm(request.POST)
    if form.is_valid():
        try:
            municipality_subscribe(request.user, organization, form.cleaned_data["purchase_order_number"])
        except ValidationError as error:
            elsewhere = service_errors_add(form, error, fields={"key": ""})
            return _page(request, status=400, purchase_order_form=form, problems=elsewhere)
        except (BillingNotConfigured, BillingUnavailable) as error:
            return _page(request, status=503, purchase_order_form=form, problems=[str(error)])
        messages.success(
            request,
            _(
                "The Municipality plan is set up. Its invoice is listed below and sent by e-mail; "
                "it is paid by bank transfer within 30 days."
            ),
        )
        return _see_other(_billing_path())
    return _page(request, status=400, purchase_order_form=form)


# The page --------------------------------------------------------------------------------------------


def _billing_path() -> str:
    return reverse("billing:manage")


def _return_url(request: HttpRequest, **query: str) -> str:
    return request.build_absolute_uri(f"{_billing_path()}?{urllib.parse.urlencode(query)}")


def _see_other(url: str) -> HttpResponse:
    response = HttpResponseRedirect(url)
    response.status_code = 303  # after a POST, the next page is fetched with GET
    return response


def _form_messages(form: CheckoutForm) -> list[str]:
    return [str(message) for errors in form.errors.values() for message in errors]


def _stripe_page_origins() -> list[str]:
    """Where the page's forms may lead: Stripe's hosted pages, or those of the server at
    STRIPE_API_BASE (the local one), under both of its local names."""
    base = settings.STRIPE_API_BASE
    if not base:
        return list(STRIPE_PAGE_ORIGINS)
    parts = urllib.parse.urlsplit(base)
    origins = [f"{parts.scheme}://{parts.netloc}"]
    for one, other in (("127.0.0.1", "localhost"), ("localhost", "127.0.0.1")):
        if parts.hostname == one:
            origins.append(f"{parts.scheme}://{parts.netloc.replace(one, other, 1)}")
    return origins


def _date(value: dt.datetime | None) -> str:
    return formats.date_format(timezone.localtime(value), "DATE_FORMAT") if value else ""


@dataclass(frozen=True)
class Usage:
    label: str
    unit: str  # after "3 of 50": the plural
    count: str  # the number alone, in words: "1 open challenge"
    current: int
    limit: int | None
    sentence: str

    @property
    def level(self) -> str:
        if self.limit is None:
            return "unlimited"
        if self.current >= self.limit:
            return "reached"
        return "near" if self.current >= NEAR_LIMIT * self.limit else "ok"

    @property
    def progress(self) -> dict[str, int]:
        limit = self.limit or 0
        percent = min(100, round(100 * self.current / limit)) if limit else 0
        return {"current": self.current, "target": limit, "percent": percent}


def _price_line(price: PriceSpec) -> str:
    amount = formatting.money(price.amount, price.currency, whole=True)
    if price.metered:
        return _("%(amount)s per active participant a month") % {"amount": amount}
    if price.interval == "month":
        return _("%(amount)s a month") % {"amount": amount}
    if price.interval == "year":
        return _("%(amount)s a year, by invoice") % {"amount": amount}
    return amount


def _plan_prices(plan: Plan) -> list[str]:
    """The plan's prices in words; none for the free plan, whose description says it is free."""
    return [_price_line(price) for price in plan.prices]


def _state(overview: BillingOverview) -> dict[str, str]:
    """The billing state in words: a short label and a sentence."""
    subscription = overview.subscription
    state = overview.state
    if state == BillingState.PAST_DUE and subscription and subscription.collection_method == "send_invoice":
        return {
            "label": _("Invoice overdue"),
            "sentence": _(
                "The invoice is overdue. Pay it by bank transfer by %(date)s: after that date your "
                "organisation becomes read-only until it is paid. Nothing is deleted."
            )
            % {"date": _date(overview.grace_until)},
        }
    if state == BillingState.PAST_DUE:
        return {
            "label": _("Payment failed"),
            "sentence": _(
                "Stripe could not take the last payment. Pay the open invoice, or update the card, by "
                "%(date)s: after that date your organisation becomes read-only until it is paid. "
                "Nothing is deleted."
            )
            % {"date": _date(overview.grace_until)},
        }
    if state == BillingState.READ_ONLY:
        return {
            "label": _("Read-only"),
            "sentence": _(
                "Your organisation has been read-only since %(date)s because its subscription is unpaid. "
                "Nothing is deleted: everyone can still read everything, and paying restores it at once."
            )
            % {"date": _date(overview.grace_until)},
        }
    if state == BillingState.CANCELED:
        return {
            "label": _("Subscription ended"),
            "sentence": _(
                "Your subscription has ended: your organisation is on the free Discovery plan again."
            ),
        }
    if subscription is None or not overview.plan.paid:
        return {"label": _("Active"), "sentence": _("No card needed and no time limit.")}
    end = _date(subscription.current_period_end)
    if subscription.cancel_at_period_end:
        sentence = _(
            "Paid up. The subscription ends on %(date)s; your organisation then goes back to the free "
            "Discovery plan, and nothing is deleted."
        ) % {"date": end}
    elif subscription.collection_method == "send_invoice":
        sentence = _("Paid by bank transfer against an invoice. Renews on %(date)s.") % {"date": end}
    else:
        sentence = _("Paid up. Renews on %(date)s.") % {"date": end}
    return {"label": _("Active"), "sentence": sentence}


def _usage(overview: BillingOverview, open_challenges: int) -> list[Usage]:
    limits = overview.limits
    period_end = _date(overview.period[1] - dt.timedelta(microseconds=1))
    challenges_sentence = participants_sentence = ""
    if limits.open_challenges is None:
        challenges_sentence = _("No limit on this plan.")
    elif open_challenges >= limits.open_challenges:
        challenges_sentence = _(
            "The plan's limit is reached: to publish another challenge, wait for one to end or upgrade."
        )
    if limits.active_participants is None:
        participants_sentence = _("No limit on this plan.")
    elif overview.active_participants >= limits.active_participants:
        participants_sentence = _(
            "The plan's limit is reached: new people cannot take part until %(date)s, unless you upgrade."
        ) % {"date": period_end}
    elif overview.active_participants >= NEAR_LIMIT * limits.active_participants:
        participants_sentence = _(
            "Close to the plan's limit: past it, new people cannot take part until %(date)s."
        ) % {"date": period_end}
    return [
        Usage(
            label=_("Open challenges"),
            unit=_("open challenges"),
            count=ngettext("%(count)s open challenge", "%(count)s open challenges", open_challenges)
            % {"count": open_challenges},
            current=open_challenges,
            limit=limits.open_challenges,
            sentence=challenges_sentence,
        ),
        Usage(
            label=_("Active participants this period"),
            unit=_("active participants"),
            count=ngettext(
                "%(count)s active participant", "%(count)s active participants", overview.active_participants
            )
            % {"count": overview.active_participants},
            current=overview.active_participants,
            limit=limits.active_participants,
            sentence=participants_sentence,
        ),
    ]


def _invoice_status(status: str) -> str:
    labels: dict[str, str] = {
        Invoice.Status.DRAFT: _("Draft"),
        Invoice.Status.OPEN: _("To pay"),
        Invoice.Status.PAID: _("Paid"),
        Invoice.Status.UNCOLLECTIBLE: _("Unpaid"),
        Invoice.Status.VOID: _("Cancelled"),
    }
    return labels.get(status, status)


def _invoices(overview: BillingOverview) -> list[dict[str, Any]]:
    return [
        {
            "invoice": invoice,
            "number": invoice.number or invoice.stripe_id,
            "amount": formatting.money(invoice.total, invoice.currency),
            "status": _invoice_status(invoice.status),
            "due": invoice.due_date if invoice.status == Invoice.Status.OPEN else None,
        }
        for invoice in overview.invoices
    ]


def _checkout_notice(request: HttpRequest, overview: BillingOverview, language: str) -> dict[str, str] | None:
    """Back from Stripe's Checkout page: what happened, in a sentence."""
    returned, kind = request.GET.get("checkout"), request.GET.get("kind")
    if returned == "cancel":
        return {
            "level": "info",
            "text": _("Payment cancelled: nothing was changed and nothing was charged."),
        }
    if returned != "success":
        return None
    if kind == "service":
        return {
            "level": "success",
            "text": _(
                "Thank you: your order is paid. It is listed under “Bought” as soon as Stripe confirms "
                "the payment, and we will contact you to arrange it."
            ),
        }
    if overview.plan.paid:
        return {
            "level": "success",
            "text": _("Thank you: your organisation is now on the %(plan)s plan.")
            % {"plan": overview.plan.name.get(language)},
        }
    return {
        "level": "success",
        "pending": "yes",
        "text": _(
            "Thank you: your payment went through. Your new plan starts as soon as Stripe confirms it, "
            "usually within a minute."
        ),
    }


def _page(
    request: HttpRequest,
    *,
    status: int = 200,
    problems: list[str] | None = None,
    purchase_order_form: PurchaseOrderForm | None = None,
) -> HttpResponse:
    organization = request_organization(request)
    language = translation.get_language() or "en"
    overview = billing_overview(organization)
    open_challenges = challenge_list(status=Challenge.Status.OPEN).count()
    editable = can_manage(request.user)
    actions = editable and overview.configured
    plan = overview.plan
    offers = []
    if not plan.paid:
        offers = [
            {
                "plan": offer,
                "name": offer.name.get(language),
                "description": offer.description.get(language),
                "prices": _plan_prices(offer),
            }
            for offer in overview.plans
            if offer.paid
        ]
    services = [
        {
            "key": service.key,
            "name": service.name.get(language),
            "description": service.description.get(language),
            "price": formatting.money(service.price.amount, service.price.currency, whole=True),
        }
        for service in overview.services
    ]
    names = {service["key"]: service["name"] for service in services}
    purchases = [
        {
            "purchase": purchase,
            "name": names.get(purchase.service, purchase.service),
            "amount": formatting.money(purchase.amount_total, purchase.currency),
        }
        for purchase in overview.purchases
    ]
    invoices = _invoices(overview)
    unpaid = [row for row in invoices if row["invoice"].status == Invoice.Status.OPEN]
    form = purchase_order_form or PurchaseOrderForm(
        initial={"purchase_order_number": overview.purchase_order_number}
    )
    start, end = overview.period
    context = {
        "overview": overview,
        "editable": editable,
        "actions": actions,
        "plan_name": plan.name.get(language),
        "plan_description": plan.description.get(language),
        "plan_prices": _plan_prices(plan),
        "state": overview.state,
        "state_text": _state(overview),
        "late": overview.state in (BillingState.PAST_DUE, BillingState.READ_ONLY),
        "usage": _usage(overview, open_challenges),
        "period_start": start,
        "period_last": end - dt.timedelta(microseconds=1),
        "offers": offers,
        "services": services,
        "purchases": purchases,
        "invoices": invoices,
        "unpaid": unpaid,
        "portal": actions and bool(overview.subscription or overview.invoices or overview.purchases),
        "checkout_notice": _checkout_notice(request, overview, language),
        "problems": problems or [],
        "purchase_order_form": form,
        "error_summary": error_summary(purchase_order_form),
    }
    response = render(request, "billing/manage_billing.html", context, status=status)
    if actions:
        response._csp_update = {"form-action": _stripe_page_origins()}  # type: ignore[attr-defined]
    return response
