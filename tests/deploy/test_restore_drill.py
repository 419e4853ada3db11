"""scripts/backup.sh and scripts/restore_drill.py on this run's test database.

The test database holds the organisations alpha and beta (tests/conftest.py) and, for these tests,
one more with a logo, committed for real (pg_dump reads what is committed) and removed afterwards.
seed_demo is not used: its hundreds of people and four months of history take far longer than the
drill itself, and the drill checks whichever organisations the backup holds.
"""

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection
from django_tenants.utils import quote_schema_name, tenant_context

from tenants.db import tenant_connection
from tenants.models import Organization
from tenants.portability import organization_files_root
from tenants.services import organization_create

ROOT = Path(__file__).resolve().parents[2]
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d5a0e30000000049454e44ae426082"
)


def _database_url(name: str) -> str:
    params = connection.settings_dict
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host, port = params["HOST"] or "localhost", params["PORT"] or 5432
    return f"postgres://{params['USER']}{password}@{host}:{port}/{name}"


def _environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(connection.settings_dict["NAME"]),
        **extra,
    }


def _drill_databases() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'crowdact\\_drill\\_%' ORDER BY 1")
        return [row[0] for row in cursor.fetchall()]


def _drill(backup_dir: Path, *expected: str) -> subprocess.CompletedProcess[str]:
    arguments = [arg for slug in expected for arg in ("--expect", slug)]
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "restore_drill.py"),
            "--backup-dir",
            str(backup_dir),
            *arguments,
        ],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def backed_up(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Organization]]:
    """A backup of the test database, with alpha, beta and an organisation that has a logo."""
    slug = f"drill-{secrets.token_hex(4)}"
    backup_dir = tmp_path_factory.mktemp("backups")
    with django_db_blocker.unblock():
        try:
            organization = organization_create(
                slug=slug, name="Drill Works", kind="company", admin_email=f"admin@{slug}.test", locale="en"
            ).organization
            with tenant_context(organization):
                organization.logo.save("drill-logo.png", ContentFile(PNG))
            result = subprocess.run(
                ["bash", str(ROOT / "scripts" / "backup.sh")],
                env=_environment(MEDIA_ROOT=str(settings.MEDIA_ROOT), BACKUP_DIR=str(backup_dir)),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, result.stderr
            yield backup_dir, organization
        finally:
            tenant_connection().set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {quote_schema_name(slug)} CASCADE")
            Organization.objects.filter(schema_name=slug).delete()
            shutil.rmtree(organization_files_root(slug), ignore_errors=True)


def test_the_backup_is_a_dump_the_stored_files_and_their_checksums(backed_up):
    backup_dir, organization = backed_up
    names = sorted(path.name for path in backup_dir.iterdir())
    assert len(names) == 3
    base = names[0].removesuffix(".dump")
    assert names == [f"{base}.dump", f"{base}.media.tar.gz", f"{base}.sha256"]
    assert (backup_dir / f"{base}.dump").read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    listing = subprocess.run(
        ["tar", "-tzf", str(backup_dir / f"{base}.media.tar.gz")], capture_output=True, text=True, check=True
    ).stdout
    assert f"./{organization.schema_name}/{organization.logo.name}" in listing.splitlines()


def test_the_drill_restores_the_latest_backup_and_the_copy_serves_every_organisation(
    backed_up, django_db_blocker
):
    backup_dir, organization = backed_up
    result = _drill(backup_dir, "alpha", "beta", organization.schema_name)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split()[:3] == ["alpha", "Alpha", "Corp"] and "home 200" in line for line in lines)
    assert any(line.split()[:3] == ["beta", "Beta", "Town"] and "home 200" in line for line in lines)
    assert any(
        line.split()[:3] == [organization.schema_name, "Drill", "Works"]
        and line.endswith("home 200, logo 200")
        for line in lines
    )
    assert "restored into a scratch database and served" in lines[-1]
    with django_db_blocker.unblock():
        assert _drill_databases() == []


def test_the_drill_fails_on_a_damaged_backup_and_leaves_no_scratch_database(
    backed_up, tmp_path, django_db_blocker
):
    backup_dir, _ = backed_up
    damaged = tmp_path / "damaged"
    shutil.copytree(backup_dir, damaged)
    dump = next(damaged.glob("*.dump"))
    content = bytearray(dump.read_bytes())
    content[len(content) // 2] ^= 0xFF  # one byte changed
    dump.write_bytes(bytes(content))
    result = _drill(damaged)

    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"restore drill failed: {dump.name} does not match its checksum: the backup is damaged."
    )
    with django_db_blocker.unblock():
        assert _drill_databases() == []


def test_the_drill_fails_when_an_expected_organisation_is_not_served(backed_up, django_db_blocker):
    backup_dir, _ = backed_up
    result = _drill(backup_dir, "alpha", "nowhere")

    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "restore drill failed: the restored database has no active organisation nowhere."
    )
    with django_db_blocker.unblock():
        assert _drill_databases() == []
