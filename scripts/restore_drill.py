"""The restore drill: restore the latest backup into a scratch database and check the product serves it.

    DATABASE_URL=postgres://crowdact@db/crowdact .venv/bin/python scripts/restore_drill.py \
        --backup-dir /backups [--expect acme --expect villeneuve]

Takes the newest complete backup written by scripts/backup.sh (the one with the latest .sha256),
checks both files against their checksums, creates a scratch database on DATABASE_URL's server,
restores the dump into it (`pg_restore --no-owner --no-privileges`, in one transaction, or with
`--jobs N` in parallel), unpacks the stored files into a scratch folder, then runs the product on
them (DJANGO_SETTINGS_MODULE as deployed, DATABASE_URL and MEDIA_ROOT pointed at the scratch
copies) and asks Django's test client
for each active organisation's home page on its own host: each must answer 200 with the
organisation's name, and its logo, when it has one, must come back byte for byte. `--expect` names
organisations that must be among them. The scratch database and folder are removed whatever happens.

Exit status 0 when the backup restores and serves; 1, with one line saying why, otherwise.
"""

import argparse
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))  # the product's packages: core here, Django's settings below

from core.postgres import postgres_tool  # noqa: E402


class DrillError(Exception):
    pass


def pg_tool(name: str) -> str:
    found = postgres_tool(name)
    if found is None:
        raise DrillError(f"the PostgreSQL tool {name} is not installed")
    return found


def latest_backup(folder: Path) -> tuple[Path, Path]:
    """The newest complete backup's dump and media archive, checked against their checksums."""
    sums = sorted(folder.glob("crowdact-*.sha256"))
    if not sums:
        raise DrillError(f"no complete backup (crowdact-*.sha256) in {folder}")
    listed = {}
    for line in sums[-1].read_text().splitlines():
        checksum, name = line.split(maxsplit=1)
        listed[name.lstrip("*")] = checksum
    base = sums[-1].name.removesuffix(".sha256")
    dump, media = folder / f"{base}.dump", folder / f"{base}.media.tar.gz"
    for path in (dump, media):
        if path.name not in listed or not path.is_file():
            raise DrillError(f"{path.name} is missing from the backup {base}")
        digest = hashlib.sha256()
        with path.open("rb") as content:
            while chunk := content.read(1024 * 1024):
                digest.update(chunk)
        if digest.hexdigest() != listed[path.name]:
            raise DrillError(f"{path.name} does not match its checksum: the backup is damaged")
    return dump, media


def database_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def serve_check(expected: list[str]) -> list[str]:
    """In this process, now pointed at the scratch copies: each organisation served. The report lines."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections
    from django.test import Client

    from tenants.models import Organization

    try:
        organizations = list(Organization.objects.filter(is_active=True).order_by("schema_name"))
        missing = sorted(set(expected) - {organization.schema_name for organization in organizations})
        if missing:
            raise DrillError(f"the restored database has no active organisation {', '.join(missing)}")
        if not organizations:
            raise DrillError("the restored database has no active organisation")
        lines = []
        for organization in organizations:
            client = Client(HTTP_HOST=f"{organization.schema_name}.{settings.BASE_DOMAIN}")
            page = client.get("/", secure=True)
            if page.status_code != 200 or organization.name not in page.content.decode():
                raise DrillError(
                    f"{organization.schema_name}: its home page answered {page.status_code} "
                    f"{'with' if organization.name in page.content.decode() else 'without'} its name"
                )
            line = f"{organization.schema_name:<24} {organization.name:<32} home 200"
            if organization.logo:
                logo = client.get(organization.logo_url, secure=True)
                stored = Path(settings.MEDIA_ROOT) / organization.schema_name / organization.logo.name
                body = b"".join(logo.streaming_content) if logo.streaming else logo.content  # type: ignore[attr-defined]
                if logo.status_code != 200 or not stored.is_file() or body != stored.read_bytes():
                    raise DrillError(f"{organization.schema_name}: its logo did not come back whole")
                line += ", logo 200"
            lines.append(line)
        return lines
    finally:
        connections.close_all()


def drill(backup_dir: Path, expected: list[str], jobs: int) -> None:
    started = time.monotonic()
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        raise DrillError("set DATABASE_URL to a database on the server to restore onto")
    dump, media = latest_backup(backup_dir)
    scratch = f"crowdact_drill_{secrets.token_hex(6)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(scratch)))
    folder = Path(tempfile.mkdtemp(prefix="crowdact-drill-"))
    try:
        scratch_url = database_url(server_url, scratch)
        # One transaction commits once (far faster than a commit per object on a small database);
        # parallel jobs suit a large one. Either stops at the first error.
        mode = ["--single-transaction"] if jobs == 1 else ["--exit-on-error", f"--jobs={jobs}"]
        restored = subprocess.run(
            [pg_tool("pg_restore"), "--no-owner", "--no-privileges", *mode, f"--dbname={scratch_url}",
             str(dump)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if restored.returncode != 0:
            last = [line for line in restored.stderr.splitlines() if line.strip()][-1:]
            raise DrillError(f"pg_restore failed: {' '.join(last) or restored.returncode}")
        with tarfile.open(media) as files:
            files.extractall(folder / "media", filter="data")
        os.environ["DATABASE_URL"] = scratch_url
        os.environ["MEDIA_ROOT"] = str(folder / "media")
        lines = serve_check(expected)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
    for line in lines:
        print(f"  {line}")
    print(
        f"restore drill: {dump.name} restored into a scratch database and served "
        f"{len(lines)} organisations in {time.monotonic() - started:.1f} s; the scratch database is dropped."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backup-dir", type=Path, default=Path(os.environ.get("BACKUP_DIR", "backups")))
    parser.add_argument("--expect", action="append", default=[], help="an organisation that must be served")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="pg_restore's parallel jobs (1: one transaction; 4 or more for a large backup)",
    )
    options = parser.parse_args()
    try:
        drill(options.backup_dir, options.expect, options.jobs)
    except DrillError as failure:
        print(f"restore drill failed: {failure}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
