"""python manage.py stripe_sync_catalog: make Stripe's products, meter and prices match
billing/catalogue.toml. Run it again: it creates nothing that exists."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.catalogue import CatalogueError
from billing.errors import BillingNotConfigured, BillingUnavailable, StripeRefused
from billing.services import catalogue_sync


class Command(BaseCommand):
    help = "Create or update the Stripe products, meter and prices of billing/catalogue.toml, by lookup key."

    def handle(self, *args: Any, **options: Any) -> None:
        where = settings.STRIPE_API_BASE or "https://api.stripe.com"
        try:
            lines = catalogue_sync()
        except BillingNotConfigured as exc:
            raise CommandError(
                "Stripe is not configured: set STRIPE_SECRET_KEY (and STRIPE_API_BASE for another server, "
                "such as scripts/local_stripe.py)."
            ) from exc
        except BillingUnavailable as exc:
            raise CommandError(
                f"Stripe cannot be reached at {where} (or refused the key); what was done so far stays, "
                "run this again when it answers."
            ) from exc
        except (CatalogueError, StripeRefused) as exc:
            raise CommandError(str(exc)) from exc
        for line in lines:
            self.stdout.write(str(line))
        counts = {
            action: sum(line.action == action for line in lines) for action in ("created", "updated", "kept")
        }
        archived = sum(line.action == "archived" for line in lines)
        summary = (
            f"Stripe catalogue at {where}: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['kept']} kept" + (f", {archived} old price(s) archived." if archived else ".")
        )
        self.stdout.write(self.style.SUCCESS(summary))
