"""Stripe's webhook endpoint, on the public host: /billing/stripe/webhook/.

It answers in milliseconds and never calls Stripe: the signature is checked on the raw body, the
event stored under its unique id, its work queued (billing.services.events). 400 for a bad or
missing signature (nothing stored), 200 for a new event and for a duplicate (nothing changes). With
no STRIPE_WEBHOOK_SECRET configured nothing can be checked: 400 as well, saying so (Stripe's
dashboard lists the failed deliveries; their events can be fetched again for 30 days).
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.errors import BillingNotConfigured, WebhookSignatureInvalid
from billing.services import stripe_event_receive


@csrf_exempt  # Stripe signs its requests instead
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        stripe_id, new = stripe_event_receive(request.body, request.headers.get("Stripe-Signature", ""))
    except WebhookSignatureInvalid:
        return JsonResponse({"detail": "The Stripe-Signature does not match this body."}, status=400)
    except BillingNotConfigured:
        return JsonResponse({"detail": "Webhooks are not configured (STRIPE_WEBHOOK_SECRET)."}, status=400)
    return JsonResponse({"received": stripe_id, "duplicate": not new})
