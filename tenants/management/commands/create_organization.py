from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Organization
from tenants.services import organization_create


class Command(BaseCommand):
    help = "Provision an organisation: its schema, subdomain, roles and first admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Subdomain and schema name, e.g. acme")
        parser.add_argument("--name", required=True, help="The organisation's name")
        parser.add_argument("--kind", required=True, choices=Organization.Kind.values)
        parser.add_argument("--admin-email", required=True, dest="admin_email")
        parser.add_argument(
            "--locale", choices=Organization.Locale.values, default=Organization.Locale.FRENCH
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            provisioned = organization_create(
                slug=options["slug"],
                name=options["name"],
                kind=options["kind"],
                admin_email=options["admin_email"],
                locale=options["locale"],
            )
        except ValidationError as exc:
            sentences = [message for messages in exc.message_dict.values() for message in messages]
            raise CommandError(" ".join(sentences)) from exc
        organization = provisioned.organization
        self.stdout.write(f"Created {organization.name} ({organization.kind}, {organization.locale}).")
        self.stdout.write(f"URL: {provisioned.url}")
        self.stdout.write(f"Admin set-password link (works once): {provisioned.set_password_url}")
