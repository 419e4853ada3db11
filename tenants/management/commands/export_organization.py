from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import Organization
from tenants.portability import PortabilityError, organization_export


class Command(BaseCommand):
    help = (
        "Write one organisation to one archive (.tar.gz): its schema, stored files and public rows, "
        "with a manifest of checksums and migrations. Read back with import_organization."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organisation's slug, e.g. acme")
        parser.add_argument("file", type=Path, help="The archive to write, e.g. acme.tar.gz")

    def handle(self, *args: Any, **options: Any) -> None:
        slug, path = options["slug"], options["file"]
        organization = Organization.objects.filter(schema_name=slug).first()
        if organization is None:
            raise CommandError(f"No organisation has the slug “{slug}”.")
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        try:
            summary = organization_export(organization, path)
        except PortabilityError as exc:
            raise CommandError(str(exc)) from exc
        members = summary.manifest["members"]
        files = sum(1 for name in members if name.startswith("files/"))
        self.stdout.write(
            f"Exported {organization.name} ({slug}) to {path}: the schema, {files} stored files and the "
            f"public rows, {path.stat().st_size} bytes."
        )
