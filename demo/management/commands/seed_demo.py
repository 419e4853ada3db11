import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from demo.seed import DEMO_PASSWORD, seed_demo
from demo.subscriptions import DemoStripeError, stripe_where


class Command(BaseCommand):
    help = (
        "Create the demo organisations (acme, villeneuve with teams, hundreds of people and four months "
        "of challenges; atelier, small and on Discovery near its limits), billed through Stripe when "
        "STRIPE_SECRET_KEY is set. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            result = seed_demo()
        except DemoStripeError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started
        if result.created:
            self.stdout.write(f"Created: {', '.join(result.created)}")
        else:
            self.stdout.write("Demo organisations already present: only what was missing was added.")
        for summary in result.summaries:
            self.stdout.write(f"  {summary.line()}")
        if result.stripe:
            self.stdout.write(f"Billing through Stripe at {stripe_where()}:")
        else:
            self.stdout.write("Billing: no Stripe configured: plans set directly, no invoices.")
        for line in result.billing:
            self.stdout.write(f"  {line}")
        if result.reports:
            self.stdout.write("Impact reports (PDF, on each organisation's /manage/impact/reports/):")
            for line in result.reports:
                self.stdout.write(f"  {line}")
        self.stdout.write(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        for url, email, role in result.sign_ins:
            self.stdout.write(f"  {url:<40} {email:<30} {role}")
        self.stdout.write(
            "Join links (open one to join as a new participant;"
            " the sign-in e-mail shows in the worker's output):"
        )
        for name, url in result.join_links:
            self.stdout.write(f"  {name:<25} {url}")
        self.stdout.write(f"Seeded in {elapsed:.1f} s")
