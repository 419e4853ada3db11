from typing import Any

from django.core.management.base import BaseCommand

from demo.seed import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create the demo organisations (acme, villeneuve) with people and teams. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        result = seed_demo()
        if result.created:
            self.stdout.write(f"Created: {', '.join(result.created)}")
        else:
            self.stdout.write("Demo organisations already present: only what was missing was added.")
        self.stdout.write(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        for url, email, role in result.sign_ins:
            self.stdout.write(f"  {url:<40} {email:<30} {role}")
        self.stdout.write(
            "Join links (open one to join as a new participant;"
            " the sign-in e-mail shows in the worker's output):"
        )
        for name, url in result.join_links:
            self.stdout.write(f"  {name:<25} {url}")
