"""Billing's errors. Each carries a sentence a page can show as it is (`str(error)`)."""

from django.utils.translation import gettext


class BillingError(Exception):
    """Base of billing's errors."""


class BillingNotConfigured(BillingError):  # noqa: N818 (named for what it says)
    """No STRIPE_SECRET_KEY: billing calls are skipped; pages say billing is not configured."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or gettext("Billing is not configured on this server."))


class BillingUnavailable(BillingError):  # noqa: N818 (named for what it says)
    """Stripe could not be reached (network, timeout, Stripe's own error, rate limit, a refused key).
    Nothing was saved; background work retries with backoff."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or gettext(
                "Stripe, our payment provider, cannot be reached right now, so nothing was changed. "
                "Please try again in a few minutes."
            )
        )


class StripeRefused(BillingError):  # noqa: N818 (named for what it says)
    """Stripe answered and refused the request (4xx): retrying the same request would not help."""

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None, status: int = 400):
        super().__init__(message)
        self.code, self.param, self.status = code, param, status

    @property
    def missing(self) -> bool:
        return self.status == 404 or self.code == "resource_missing"


class WebhookSignatureInvalid(BillingError):  # noqa: N818 (named for what it says)
    """A webhook whose Stripe-Signature does not match its body (or has none)."""
