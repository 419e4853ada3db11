from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.portability import PortabilityError, organization_import


class Command(BaseCommand):
    help = (
        "Restore an archive written by export_organization, on this database, under its slug or "
        "--slug. Checks the archive, its migrations and the slug first; all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The archive, e.g. acme.tar.gz")
        parser.add_argument("--slug", help="The slug (subdomain and schema) to serve it under instead")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = organization_import(options["file"], slug=options["slug"])
        except PortabilityError as exc:
            raise CommandError(str(exc)) from exc
        organization = summary.organization
        self.stdout.write(
            f"Imported {organization.name} as {organization.slug}: {summary.tables} tables, "
            f"{summary.files} stored files, {summary.public_rows} public rows."
        )
        self.stdout.write(f"Served at {summary.host}")
