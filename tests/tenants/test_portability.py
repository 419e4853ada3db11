"""export_organization and import_organization: a round trip loses nothing; a bad archive changes nothing.

The organisation exported here has rows in most of its schema's tables (the March history of the
impact tests, API tokens, invitations, notifications, the audit trail, join and sign-in links, a
widget, a report with its PDF, a share and a download), a logo and a counterpart's proof file, and
billing records of every kind. pg_dump and pg_restore work on their own connections, so these tests
commit for real (like tests/test_celery_worker.py) and remove what they made.

What the export read is kept as a snapshot taken straight from the database (every table's rows and
every sequence of the schema, every stored file, the public rows), then the original is removed, as
after a move: its billing records carry Stripe's unique identifiers, which one database holds once.
Each import is compared with that snapshot.
"""

import datetime as dt
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.utils import timezone
from django_tenants.utils import quote_schema_name, tenant_context

from accounts.models import ApiToken, AuditEntry, Invitation, Notification, User
from billing.models import Invoice, Purchase, StripeEvent, Subscription, UsageReport
from billing.portability import organization_billing_rows
from challenges.models import Counterpart
from participants.models import JoinLink, SignInLink, Widget
from reports.models import Report, ReportDownload, ReportShare
from tenants.db import tenant_connection
from tenants.models import Domain, Organization
from tenants.portability import organization_files_root
from tenants.services import organization_create
from tests.reports.support import march_make

ROOT = Path(__file__).resolve().parents[2]
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d5a0e30000000049454e44ae426082"
)


# What an organisation is, read straight from the database ---------------------------------------


def _schema_tables(cursor: Any, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the schema: its rows, ordered by all their columns."""
    cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "AND table_type = 'BASE TABLE' ORDER BY table_name",
        [schema],
    )
    tables = {}
    for (table,) in cursor.fetchall():
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            [schema, table],
        )
        columns = cursor.fetchone()[0]
        order = ", ".join(str(number) for number in range(1, columns + 1))
        cursor.execute(
            f"SELECT * FROM {quote_schema_name(schema)}.{quote_schema_name(table)} ORDER BY {order}"  # noqa: S608
        )
        tables[table] = cursor.fetchall()
    return tables


def _schema_sequences(cursor: Any, schema: str) -> dict[str, tuple[Any, ...]]:
    """Every sequence of the schema and where it stands (the next ids continue after the import)."""
    cursor.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = %s ORDER BY 1", [schema])
    positions = {}
    for (name,) in cursor.fetchall():
        cursor.execute(
            f"SELECT last_value, is_called FROM {quote_schema_name(schema)}.{quote_schema_name(name)}"  # noqa: S608
        )
        positions[name] = cursor.fetchone()
    return positions


def _files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _database_url(name: str) -> str:
    """The address of database `name` on the test database's server."""
    params = connection.settings_dict
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host, port = params["HOST"] or "localhost", params["PORT"] or 5432
    return f"postgres://{params['USER']}{password}@{host}:{port}/{name}"


def _comparable(instance: Model, positions: dict[str, list[Any]]) -> dict[str, Any]:
    """A public row's values, its primary key left out and each foreign key given as the position of
    the row it points to among its model's rows (the organisation's: 0)."""
    values: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.primary_key:
            continue
        value = getattr(instance, field.attname)
        if field.is_relation and value is not None:
            value = ("row", positions[field.related_model._meta.label].index(value))  # type: ignore[union-attr]
        values[field.name] = value
    return values


def _public_rows(organization: Organization) -> dict[str, list[dict[str, Any]]]:
    sets = [
        Organization.objects.filter(pk=organization.pk),
        Domain.objects.filter(tenant=organization),
        *organization_billing_rows(organization),
    ]
    positions = {
        row_set.model._meta.label: list(row_set.order_by("pk").values_list("pk", flat=True))
        for row_set in sets
    }
    rows = {}
    for row_set in sets:
        rows[row_set.model._meta.label] = [_comparable(row, positions) for row in row_set.order_by("pk")]
    for organization_row in rows["tenants.Organization"]:
        organization_row.pop("schema_name")
    for domain in rows["tenants.Domain"]:
        domain["domain"] = domain["domain"].replace(f"{organization.schema_name}.", "<slug>.", 1)
    return rows


@dataclass(frozen=True)
class Snapshot:
    tables: dict[str, list[tuple[Any, ...]]]
    sequences: dict[str, tuple[Any, ...]]
    files: dict[str, bytes]
    public: dict[str, list[dict[str, Any]]]


def _snapshot(slug: str, files_root: Path | None = None) -> Snapshot:
    tenant_connection().set_schema_to_public()
    organization = Organization.objects.get(schema_name=slug)
    # Read as another database's rows are (tests below), on a connection of its own: what is committed.
    with psycopg.connect(_database_url(connection.settings_dict["NAME"])) as own, own.cursor() as cursor:
        tables, sequences = _schema_tables(cursor, slug), _schema_sequences(cursor, slug)
    return Snapshot(
        tables, sequences, _files(files_root or organization_files_root(slug)), _public_rows(organization)
    )


def _state() -> dict[str, Any]:
    """What an import could change: schemas, databases, the public rows, the stored files."""
    tenant_connection().set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace ORDER BY 1")
        schemas = [row[0] for row in cursor.fetchall()]
        # The import's scratch databases (others on this server come and go with other test runs).
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'crowdact\\_import\\_%' ORDER BY 1"
        )
        databases = [row[0] for row in cursor.fetchall()]
    media = Path(settings.MEDIA_ROOT)
    return {
        "schemas": schemas,
        "databases": databases,
        "organizations": list(Organization.objects.order_by("pk").values_list("pk", "schema_name")),
        "domains": list(Domain.objects.order_by("pk").values_list("pk", "domain")),
        "billing": [
            list(model.objects.order_by("pk").values_list("pk", flat=True))
            for model in (Subscription, Invoice, Purchase, StripeEvent, UsageReport)
        ],
        "files": sorted(str(path) for path in media.rglob("*")) if media.exists() else [],
    }


def _organization_remove(slug: str) -> None:
    tenant_connection().set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote_schema_name(slug)} CASCADE")
    shutil.rmtree(organization_files_root(slug), ignore_errors=True)
    organization = Organization.objects.filter(schema_name=slug).first()
    if organization is not None:
        StripeEvent.objects.filter(organization=organization).delete()  # kept by SET_NULL otherwise
        organization.delete()


# The organisation exported ---------------------------------------------------------------------


def _organization_fill(organization: Organization, token: str) -> None:
    """Rows in most tables of the schema, stored files, and billing records of every kind."""
    now = timezone.now()
    with tenant_context(organization):
        march = march_make(organization)
        admin = User.objects.get(email=f"admin@{organization.schema_name}.test")
        person = march.people["p1"]
        ApiToken.objects.create(
            name="Intranet", prefix="abc123", key_hash="a" * 64, user=admin, created_by=admin,
            expires_at=now + dt.timedelta(days=90),
        )  # fmt: skip
        Invitation.objects.create(user=person, key_hash="b" * 64, invited_by=admin, expires_at=now, sends=2)
        Notification.objects.create(event="challenge:1:goal_reached", recipient=person.email, sent_at=now)
        AuditEntry.objects.create(
            kind=AuditEntry.Kind.SETTINGS_CHANGED, actor=admin, subject=person, target="Settings",
            changes=[{"field": "name", "old": "Old", "new": "New"}], client="203.0.113.9",
        )  # fmt: skip
        challenge = march.challenges["B"]
        join_link = JoinLink.objects.create(token="c" * 40, label="Intranet home", challenge=challenge)
        SignInLink.objects.create(
            key_hash="d" * 64, email="new@example.test", join_link=join_link, challenge=challenge,
            expires_at=now,
        )  # fmt: skip
        Widget.objects.create(challenge=challenge, join_link=join_link, updated_by=admin)
        report = Report.objects.create(
            start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31), language="en", status=Report.Status.DONE,
            progress=100, requested_by=admin, finished_at=now,
        )  # fmt: skip
        report.file.save("impact-2025-03.pdf", ContentFile(b"%PDF-1.7 impact of March " + token.encode()))
        share = ReportShare.objects.create(report=report, token_hash="e" * 64, expires_at=now, uses=1)
        ReportDownload.objects.create(report=report, user=admin, via="page")
        ReportDownload.objects.create(report=report, share=share, via="share")
        counterpart = Counterpart.objects.get(challenge=march.challenges["A"])
        counterpart.proof_file.save("receipt.pdf", ContentFile(b"%PDF-1.4 shelters"))
        organization.logo.save("logo.png", ContentFile(PNG))  # named by its path, under branding/
    organization.brand_color = "#123456"
    organization.allowed_email_domains = ["port.example"]
    organization.save()
    subscription = Subscription.objects.create(
        stripe_id=f"sub_{token}", organization=organization, stripe_customer_id=f"cus_{token}",
        status=Subscription.Status.ACTIVE, plan=Organization.Plan.BUSINESS,
        price_lookup_keys=["business_base_monthly"], stripe_created=now, stripe_updated=now,
    )  # fmt: skip
    invoice = Invoice.objects.create(
        stripe_id=f"in_{token}", organization=organization, subscription_stripe_id=subscription.stripe_id,
        number="CA-0001", status=Invoice.Status.PAID, currency="eur", amount_due=4900, amount_paid=4900,
        total=4900, custom_fields=[{"name": "PO", "value": "PO-7"}], created=now, stripe_updated=now,
    )  # fmt: skip
    Purchase.objects.create(
        organization=organization, service="workshop", checkout_session_id=f"cs_{token}",
        status=Purchase.Status.PAID, amount_total=120000, currency="eur", invoice=invoice, paid_at=now,
    )  # fmt: skip
    StripeEvent.objects.create(
        stripe_id=f"evt_{token}", type="invoice.paid", object_id=invoice.stripe_id, created=now,
        payload={"id": f"evt_{token}", "data": {"object": {"id": invoice.stripe_id}}},
        organization=organization, processed_at=now,
    )  # fmt: skip
    UsageReport.objects.create(
        organization=organization, subscription_stripe_id=subscription.stripe_id, period_start=now,
        period_end=now + dt.timedelta(days=30), value=7, identifier=f"usage_{token}", timestamp=now,
    )  # fmt: skip
    account = organization.billing_account
    account.stripe_customer_id = f"cus_{token}"
    account.purchase_order_number = "PO-7"
    account.save()


@dataclass(frozen=True)
class Exported:
    slug: str
    archive: Path
    snapshot: Snapshot


@pytest.fixture(scope="module")
def exported(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Exported:
    """An organisation, filled, exported, snapshotted, then removed (moved away)."""
    token = secrets.token_hex(4)
    slug = f"port-{token}"
    archive = tmp_path_factory.mktemp("archive") / f"{slug}.tar.gz"
    with django_db_blocker.unblock():
        try:
            organization = organization_create(
                slug=slug, name="Portable Co", kind="company", admin_email=f"admin@{slug}.test", locale="en"
            ).organization
            _organization_fill(organization, token)
            call_command("export_organization", slug, str(archive))
            snapshot = _snapshot(slug)
        finally:
            _organization_remove(slug)
    return Exported(slug=slug, archive=archive, snapshot=snapshot)


@pytest.fixture
def imported(django_db_blocker: Any) -> Iterator[list[str]]:
    """The slugs a test imports under, removed after it."""
    slugs: list[str] = []
    yield slugs
    with django_db_blocker.unblock():
        for slug in slugs:
            _organization_remove(slug)


def test_the_exported_organisation_fills_what_the_round_trip_compares(exported):
    snapshot = exported.snapshot
    empty = sorted(table for table, rows in snapshot.tables.items() if not rows)
    filled = {table for table, rows in snapshot.tables.items() if rows}
    assert {
        "accounts_user", "accounts_apitoken", "accounts_invitation", "accounts_notification",
        "accounts_auditentry", "challenges_challenge", "challenges_pledge", "challenges_contribution",
        "challenges_counterpart", "challenges_skillslot", "challenges_team", "challenges_teammembership",
        "challenges_challengeevent", "challenges_metric", "participants_joinlink", "participants_signinlink",
        "participants_widget", "reports_report", "reports_reportshare", "reports_reportdownload",
        "django_migrations",
    } <= filled, empty  # fmt: skip
    assert len(snapshot.files) == 3
    assert all(len(rows) >= 1 for rows in snapshot.public.values()), snapshot.public.keys()
    with tarfile.open(exported.archive) as archive:
        members = archive.getnames()
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert members[-1] == "manifest.json"
    assert manifest["slug"] == manifest["schema_name"] == exported.slug
    assert {"accounts", "challenges", "participants", "reports"} <= {
        app for app, _ in manifest["migrations"]["schema"]
    }
    assert {app for app, _ in manifest["migrations"]["public"]} == {"tenants", "billing"}
    assert set(manifest["members"]) == set(members) - {"manifest.json"}


def test_an_import_under_a_new_slug_on_the_same_database_loses_nothing(exported, imported, django_db_blocker):
    new_slug = f"moved-{secrets.token_hex(4)}"
    imported.append(new_slug)
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command("import_organization", str(exported.archive), slug=new_slug, stdout=out)
        restored = _snapshot(new_slug)
        organization = Organization.objects.get(schema_name=new_slug)
        hosts = list(Domain.objects.filter(tenant=organization).values_list("domain", flat=True))
        page = Client(HTTP_HOST=f"{new_slug}.{settings.BASE_DOMAIN}").get("/")

    assert f"Served at {new_slug}.{settings.BASE_DOMAIN}" in out.getvalue()
    assert restored.tables.keys() == exported.snapshot.tables.keys()
    for table, rows in exported.snapshot.tables.items():
        assert restored.tables[table] == rows, table
    assert restored.sequences == exported.snapshot.sequences
    assert restored.files == exported.snapshot.files
    assert restored.public == exported.snapshot.public
    assert hosts == [f"{new_slug}.{settings.BASE_DOMAIN}"]
    assert page.status_code == 200
    assert "Portable Co" in page.content.decode()


def test_an_import_on_another_database_loses_nothing(exported, tmp_path):
    database = f"test_crowdact_port_{secrets.token_hex(4)}"
    url = _database_url(database)
    media = tmp_path / "media"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(media),
    }
    admin_url = _database_url("postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(
            [*manage, "migrate_schemas", "--shared", "-v", "0"], env=env, check=True, capture_output=True
        )
        result = subprocess.run(
            [*manage, "import_organization", str(exported.archive)], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        with psycopg.connect(url) as other, other.cursor() as cursor:
            tables = _schema_tables(cursor, exported.slug)
            sequences = _schema_sequences(cursor, exported.slug)
            cursor.execute(
                "SELECT o.name, d.domain, d.is_primary FROM tenants_organization o "
                "JOIN tenants_domain d ON d.tenant_id = o.id WHERE o.schema_name = %s",
                [exported.slug],
            )
            domains = cursor.fetchall()
            counts = {}
            for table in (
                "subscription",
                "invoice",
                "purchase",
                "stripeevent",
                "usagereport",
                "billingaccount",
            ):
                cursor.execute(
                    f"SELECT count(*) FROM billing_{table} b JOIN tenants_organization o "  # noqa: S608
                    "ON o.id = b.organization_id WHERE o.schema_name = %s",
                    [exported.slug],
                )
                counts[table] = cursor.fetchone()[0]  # type: ignore[index]
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    assert tables == exported.snapshot.tables
    assert sequences == exported.snapshot.sequences
    assert _files(media / exported.slug) == exported.snapshot.files
    assert domains == [("Portable Co", f"{exported.slug}.{settings.BASE_DOMAIN}", True)]
    assert counts == {
        "subscription": 1, "invoice": 1, "purchase": 1, "stripeevent": 1, "usagereport": 1,
        "billingaccount": 1,
    }  # fmt: skip


# Refusals: a clear sentence, a non-zero exit, nothing changed -------------------------------------


def _repack(source: Path, target: Path, change: Any) -> Path:
    """A copy of the archive, `change(name, data) -> data | None` applied to each member (None: left out)."""
    with tarfile.open(source) as original, tarfile.open(target, "w:gz") as copy:
        for member in original:
            data = change(member.name, original.extractfile(member).read())  # type: ignore[union-attr]
            if data is not None:
                info = tarfile.TarInfo(member.name)
                info.size = len(data)
                copy.addfile(info, io.BytesIO(data))
    return target


def _manifest_with_migration(name: str, data: bytes) -> bytes:
    if name != "manifest.json":
        return data
    manifest = json.loads(data)
    manifest["migrations"]["schema"].append(["challenges", "9999_from_a_newer_version"])
    return json.dumps(manifest).encode()


def _tampered(name: str, data: bytes) -> bytes:
    return data.replace(b"Portable Co", b"Portable Cx") if name == "public.json" else data


@pytest.mark.parametrize(
    ("case", "sentence"),
    [
        ("not an archive", "is not a readable organisation archive"),
        ("truncated", "is not a readable organisation archive"),
        ("no manifest", "has no manifest, so it is no organisation archive."),
        ("tampered member", "The archive's member “public.json” does not match its checksum"),
        ("newer migrations", "this one does not know the migration challenges.9999_from_a_newer_version;"),
        ("slug taken", "The slug “alpha” is already taken."),
        ("slug reserved", "“www” is reserved; choose another slug."),
        ("slug invalid", "“Not_A_Slug” is not a valid organisation slug"),
    ],
)
def test_a_bad_archive_or_slug_is_refused_and_nothing_changes(
    exported, tmp_path, django_db_blocker, case, sentence
):
    archive, slug = exported.archive, f"refused-{secrets.token_hex(4)}"
    if case == "not an archive":
        archive = tmp_path / "notes.tar.gz"
        archive.write_bytes(b"these are notes, not an archive\n")
    elif case == "truncated":
        archive = tmp_path / "truncated.tar.gz"
        archive.write_bytes(exported.archive.read_bytes()[: exported.archive.stat().st_size // 2])
    elif case == "no manifest":
        archive = _repack(
            exported.archive, tmp_path / "bare.tar.gz", lambda n, d: None if n == "manifest.json" else d
        )
    elif case == "tampered member":
        archive = _repack(exported.archive, tmp_path / "tampered.tar.gz", _tampered)
    elif case == "newer migrations":
        archive = _repack(exported.archive, tmp_path / "newer.tar.gz", _manifest_with_migration)
    else:
        slug = {"slug taken": "alpha", "slug reserved": "www", "slug invalid": "Not_A_Slug"}[case]
    with django_db_blocker.unblock():
        before = _state()
        with pytest.raises(CommandError) as refusal:
            call_command("import_organization", str(archive), slug=slug)
        after = _state()

    assert sentence in str(refusal.value)
    assert str(refusal.value).count(". ") == 0  # one sentence
    assert after == before
    assert not (Path(settings.MEDIA_ROOT) / slug).exists() or slug == "alpha"


def test_the_command_exits_non_zero_from_the_shell(exported, tmp_path, django_db_blocker):
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(exported.archive.read_bytes()[:100])
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "import_organization", str(broken)],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": _database_url(connection.settings_dict["NAME"]),
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "CommandError: The file" in result.stderr
    assert "is not a readable organisation archive" in result.stderr


def test_a_second_copy_on_the_same_database_is_refused_and_nothing_changes(
    exported, imported, django_db_blocker
):
    """Stripe's identifiers are unique on a database: one Stripe subscription, one organisation."""
    first, second = f"copy-{secrets.token_hex(4)}", f"copy-{secrets.token_hex(4)}"
    imported.extend([first, second])
    with django_db_blocker.unblock():
        call_command("import_organization", str(exported.archive), slug=first)
        before = _state()
        with pytest.raises(CommandError) as refusal:
            call_command("import_organization", str(exported.archive), slug=second)
        after = _state()

    assert "rows clash with rows already on this database" in str(refusal.value)
    assert "import into another database, or remove the original organisation first." in str(refusal.value)
    assert after == before


def test_a_failure_half_way_rolls_everything_back(exported, imported, django_db_blocker, monkeypatch):
    """The schema restored and the files copied, then a failure: no schema, no rows, no files remain."""
    from tenants import portability

    slug = f"half-{secrets.token_hex(4)}"
    imported.append(slug)
    copied: list[Path] = []

    def files_restore_then_fail(archive: Any, root: Path) -> None:
        original_files_restore(archive, root)
        copied.extend(path for path in root.rglob("*") if path.is_file())
        raise RuntimeError("the disk is full")

    original_files_restore = portability._files_restore
    monkeypatch.setattr(portability, "_files_restore", files_restore_then_fail)
    with django_db_blocker.unblock():
        before = _state()
        with pytest.raises(RuntimeError, match="the disk is full"):
            call_command("import_organization", str(exported.archive), slug=slug)
        after = _state()

    assert len(copied) == 3  # the failure came after the files were there
    assert after == before
    assert not organization_files_root(slug).exists()


def test_an_unknown_organisation_is_refused(tmp_path, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        pytest.raises(CommandError, match=r"No organisation has the slug “nowhere”\."),
    ):
        call_command("export_organization", "nowhere", str(tmp_path / "nowhere.tar.gz"))
    assert not (tmp_path / "nowhere.tar.gz").exists()
