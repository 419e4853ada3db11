"""One organisation in one archive: export it from a database, import it into the same or another.

An archive is a gzipped tar holding

- `schema.dump`: the organisation's schema, `pg_dump -Fc -n <schema> --no-owner --no-privileges`;
- `public.json`: its rows in the public schema, serialised by Django: the organisation, its
  domains, and what the functions named in ORGANIZATION_PUBLIC_ROWS give (billing's records), each
  row's foreign keys pointing to rows before it;
- `files/…`: its stored files (MEDIA_ROOT/<schema>/), byte for byte;
- `manifest.json`, last: the format version, slug, schema name, the migration state (every row of the
  schema's django_migrations, and public's rows for the apps whose rows are carried), the product
  version, when it was made, and the size and SHA-256 of every other member.

The schema dump, the migration rows and the public rows are read in one snapshot (pg_dump
`--snapshot`), so they agree with each other even while the organisation is in use.

Importing checks everything before changing anything: the archive reads to its end, every member
matches the manifest, the manifest names no migration this code base does not know, and the slug is
free (the provisioning's check, and no schema or stored files by that name). Then, in one
transaction of the public schema, the public rows are inserted with new primary keys and foreign
keys remapped to them; the schema is restored (`pg_restore --single-transaction`, so it is whole or
absent), migrated forward if the archive is older than the code; the files are copied; and the
transaction commits. A failure at any step rolls the public rows back, drops the new schema and
removes the copied files.

Renaming the schema (an import under another slug) never edits the dump's text, where the old name
could also be data: the dump is restored into a scratch database made for the purpose, the schema is
renamed there with `ALTER SCHEMA … RENAME TO …` (PostgreSQL keeps every reference by object id, so
foreign keys, sequences and column defaults follow), dumped again under its new name, and the scratch
database is dropped.
"""

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import quote_schema_name, schema_context, schema_exists

from core.postgres import postgres_tool
from tenants.migration_executor import expected_migrations, schemas_needing_migrations
from tenants.models import Domain, Organization
from tenants.services import organization_create_check

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SCHEMA_DUMP = "schema.dump"
PUBLIC_ROWS = "public.json"
FILES = "files"
_CHUNK = 1024 * 1024


class _Lossless(DjangoJSONEncoder):
    """Django's encoder keeps milliseconds of a time; an archive keeps every microsecond."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


class PortabilityError(Exception):
    """An export or import refused or failed; the message is one sentence for the operator."""


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    manifest: dict[str, Any]


@dataclass(frozen=True)
class ImportSummary:
    organization: Organization
    host: str
    tables: int
    files: int
    public_rows: int


# PostgreSQL's tools -------------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = postgres_tool(name)
    if found is None:
        raise PortabilityError(f"The PostgreSQL tool {name} is not installed.")
    return found


def _pg_environment(database: str) -> dict[str, str]:
    params = connection.settings_dict
    environment = {**os.environ, "PGDATABASE": database}
    for key in ("HOST", "PORT", "USER", "PASSWORD"):
        if params.get(key):
            environment[f"PG{key}"] = str(params[key])
    return environment


def _pg_run(tool: str, *arguments: str, database: str | None = None, failure: str) -> None:
    """Run a PostgreSQL tool on `database` (this one by default); PortabilityError(`failure`, with
    the tool's last line of error) when it fails."""
    result = subprocess.run(  # noqa: S603 (a fixed tool; the arguments are quoted names and paths)
        [_pg_tool(tool), *arguments],
        env=_pg_environment(database or connection.settings_dict["NAME"]),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"{tool} exited with {result.returncode}"
        raise PortabilityError(f"{failure} ({detail.strip()}).")


def _schema_pattern(schema_name: str) -> str:
    # Double quotes make pg_dump's -n pattern match this one name exactly.
    return quote_schema_name(schema_name)


# Where things are ---------------------------------------------------------------------------------


def organization_files_root(schema_name: str) -> Path:
    """The folder of the organisation's stored files (OrganizationFileStorage's, for that schema)."""
    with schema_context(schema_name):
        return Path(storages["default"].location)  # type: ignore[attr-defined]


def _host(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def _public_row_sets(organization: Organization) -> list[QuerySet[Any]]:
    sets: list[QuerySet[Any]] = [
        Organization.objects.filter(pk=organization.pk),
        Domain.objects.filter(tenant=organization),
    ]
    for name in settings.ORGANIZATION_PUBLIC_ROWS:
        provider: Callable[[Organization], Iterable[QuerySet[Any]]] = import_string(name)
        sets.extend(provider(organization))
    return sets


def _product_version() -> str:
    try:
        return importlib.metadata.version("crowdact")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _migration_rows(schema_name: str, apps: Iterable[str] | None = None) -> list[list[str]]:
    sql = f"SELECT app, name FROM {quote_schema_name(schema_name)}.django_migrations"  # noqa: S608
    params: list[Any] = []
    if apps is not None:
        sql += " WHERE app = ANY(%s)"
        params.append(sorted(apps))
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY app, name", params)
        return [[app, name] for app, name in cursor.fetchall()]


# Export -------------------------------------------------------------------------------------------


class _Hashing:
    """A file read through, counting and hashing what passes (what tarfile adds is what is hashed)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _member_add(
    archive: tarfile.TarFile, name: str, source: Path, members: dict[str, dict[str, Any]]
) -> None:
    info = tarfile.TarInfo(name)
    stat = source.stat()
    info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o644
    with source.open("rb") as raw:
        hashing = _Hashing(raw)
        archive.addfile(info, hashing)
    members[name] = {"size": hashing.size, "sha256": hashing.sha256.hexdigest()}


def organization_export(organization: Organization, path: Path) -> ExportSummary:
    """Write the organisation's archive to `path` (replaced whole, or left as it was on failure)."""
    schema = organization.schema_name
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="crowdact-export-") as work_name:
        work = Path(work_name)
        dump = work / SCHEMA_DUMP
        rows: list[dict[str, Any]] = []
        # One snapshot for the dump, the migration rows and the public rows; inside a caller's
        # transaction (which may hold uncommitted rows pg_dump could not see) the data is read as is.
        exported_snapshot = not connection.in_atomic_block
        with transaction.atomic():
            snapshot_option: list[str] = []
            if exported_snapshot:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    cursor.execute("SELECT pg_export_snapshot()")
                    snapshot_option = [f"--snapshot={cursor.fetchone()[0]}"]
            _pg_run(
                "pg_dump",
                "--format=custom",
                f"--schema={_schema_pattern(schema)}",
                "--no-owner",
                "--no-privileges",
                *snapshot_option,
                f"--file={dump}",
                failure=f"Dumping the schema “{schema}” failed",
            )
            row_sets = _public_row_sets(organization)
            for row_set in row_sets:
                rows.extend(serializers.serialize("python", row_set.order_by("pk")))
            public_apps = {row_set.model._meta.app_label for row_set in row_sets}
            migrations = {
                "schema": _migration_rows(schema),
                "public": _migration_rows("public", public_apps),
            }
        (work / PUBLIC_ROWS).write_text(json.dumps(rows, cls=_Lossless, indent=1), encoding="utf-8")

        members: dict[str, dict[str, Any]] = {}
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            with tarfile.open(partial, "w:gz") as archive:
                _member_add(archive, SCHEMA_DUMP, dump, members)
                _member_add(archive, PUBLIC_ROWS, work / PUBLIC_ROWS, members)
                files_root = organization_files_root(schema)
                for source in sorted(files_root.rglob("*")) if files_root.is_dir() else []:
                    if source.is_file() and not source.is_symlink():
                        relative = source.relative_to(files_root).as_posix()
                        _member_add(archive, f"{FILES}/{relative}", source, members)
                manifest = {
                    "format": FORMAT_VERSION,
                    "product": "crowdact",
                    "product_version": _product_version(),
                    "created_at": timezone.now().isoformat(),
                    "slug": organization.slug,
                    "schema_name": schema,
                    "name": organization.name,
                    "base_domain": settings.BASE_DOMAIN,
                    "migrations": migrations,
                    "members": members,
                }
                encoded = json.dumps(manifest, indent=1, sort_keys=True).encode()
                (work / MANIFEST).write_bytes(encoded)
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(encoded), int(timezone.now().timestamp()), 0o644
                with (work / MANIFEST).open("rb") as raw:
                    archive.addfile(info, raw)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
    return ExportSummary(path=path, manifest=manifest)


# Reading an archive -------------------------------------------------------------------------------


@dataclass
class _Archive:
    """A verified archive, unpacked under `root`."""

    root: Path
    manifest: dict[str, Any]
    files: list[str] = field(default_factory=list)

    @property
    def schema_dump(self) -> Path:
        return self.root / SCHEMA_DUMP

    @property
    def public_rows(self) -> Path:
        return self.root / PUBLIC_ROWS


def _member_name_check(name: str) -> None:
    parts = PurePosixPath(name).parts
    allowed = name in (MANIFEST, SCHEMA_DUMP, PUBLIC_ROWS) or (len(parts) > 1 and parts[0] == FILES)
    if not allowed or name.startswith("/") or ".." in parts or "\\" in name:
        raise PortabilityError(f"The archive holds “{name}”, which no organisation archive holds.")


def _archive_read(path: Path, root: Path) -> _Archive:
    """Unpack and verify the archive at `path` under `root`; PortabilityError when it is not a whole,
    unaltered organisation archive."""
    if not path.is_file():
        raise PortabilityError(f"There is no file {path}.")
    found: dict[str, dict[str, Any]] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                _member_name_check(member.name)
                if not member.isfile():
                    raise PortabilityError(f"The archive's member “{member.name}” is not a plain file.")
                if member.name in found or (member.name == MANIFEST and manifest_bytes is not None):
                    raise PortabilityError(f"The archive holds “{member.name}” twice.")
                source = archive.extractfile(member)
                assert source is not None  # noqa: S101 (a regular file always has content)
                if member.name == MANIFEST:
                    manifest_bytes = source.read()
                    continue
                target = root / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest, size = hashlib.sha256(), 0
                with target.open("wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                found[member.name] = {"size": size, "sha256": digest.hexdigest()}
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise PortabilityError(
            f"The file {path} is not a readable organisation archive (it is damaged, truncated or of "
            f"another kind: {exc})."
        ) from exc
    if manifest_bytes is None:
        raise PortabilityError(f"The archive {path} has no manifest, so it is no organisation archive.")
    try:
        manifest = json.loads(manifest_bytes)
        members = manifest["members"]
        schema_rows, public_rows = manifest["migrations"]["schema"], manifest["migrations"]["public"]
        format_version = int(manifest["format"])
        valid = (
            isinstance(members, dict)
            and isinstance(manifest["slug"], str)
            and isinstance(manifest["schema_name"], str)
            and all(len(row) == 2 for row in [*schema_rows, *public_rows])
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise PortabilityError(f"The archive's manifest is not one this product writes ({exc}).") from exc
    if not valid:
        raise PortabilityError("The archive's manifest is not one this product writes.")
    if format_version > FORMAT_VERSION:
        raise PortabilityError(
            f"The archive is in format {format_version}, newer than this product reads ({FORMAT_VERSION})."
        )
    for name in sorted(set(members) | set(found)):
        if name not in found:
            raise PortabilityError(f"The archive lacks “{name}”, which its manifest lists.")
        if name not in members:
            raise PortabilityError(f"The archive holds “{name}”, which its manifest does not list.")
        if members[name] != found[name]:
            raise PortabilityError(
                f"The archive's member “{name}” does not match its checksum: "
                "the archive was altered or damaged."
            )
    for required in (SCHEMA_DUMP, PUBLIC_ROWS):
        if required not in found:
            raise PortabilityError(f"The archive lacks “{required}”.")
    files = sorted(name.split("/", 1)[1] for name in found if name.startswith(f"{FILES}/"))
    return _Archive(root=root, manifest=manifest, files=files)


# Checks before anything changes -------------------------------------------------------------------


def _migrations_check(manifest: dict[str, Any]) -> None:
    known = expected_migrations()
    rows = [*manifest["migrations"]["schema"], *manifest["migrations"]["public"]]
    unknown = sorted({(str(app), str(name)) for app, name in rows} - known)
    if unknown:
        app, name = unknown[0]
        more = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
        raise PortabilityError(
            f"The archive comes from a newer version of the product: this one does not know the "
            f"migration {app}.{name}{more}; upgrade it before importing."
        )


def _slug_check(slug: str) -> None:
    """The provisioning's slug rules and taken checks, plus: no schema and no stored files by that name."""
    try:
        # Only the slug is in question: the other fields are given valid values.
        organization_create_check(
            slug=slug, name="Import", kind=Organization.Kind.COMPANY, admin_email="import@example.com",
            locale=Organization.Locale.ENGLISH,
        )  # fmt: skip
    except ValidationError as exc:
        messages = exc.message_dict.get("slug")
        if messages:
            raise PortabilityError(messages[0]) from exc
        raise
    if schema_exists(slug, case_sensitive=False):
        raise PortabilityError(f"The slug “{slug}” is already taken (a schema has that name).")
    files_root = organization_files_root(slug)
    if files_root.exists() and any(files_root.iterdir()):
        raise PortabilityError(f"The slug “{slug}” is already taken (stored files are under {files_root}).")


# Import -------------------------------------------------------------------------------------------


def _scratch_database_name() -> str:
    return f"crowdact_import_{secrets.token_hex(6)}"


def _schema_dump_renamed(dump: Path, old: str, new: str, out: Path) -> Path:
    """`dump` with its schema `old` renamed `new`, through a scratch database (see the module's
    docstring); the scratch database is dropped whatever happens."""
    scratch = _scratch_database_name()
    here = connection.settings_dict["NAME"]
    _pg_run(
        "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", f'CREATE DATABASE "{scratch}" TEMPLATE template0',
        database=here, failure="Creating a scratch database to rename the schema failed",
    )  # fmt: skip
    try:
        _pg_run(
            "pg_restore", "--single-transaction", "--no-owner", "--no-privileges", f"--dbname={scratch}",
            str(dump), database=scratch,
            failure="Restoring the archive's schema into a scratch database failed",
        )  # fmt: skip
        _pg_run(
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
            f"ALTER SCHEMA {quote_schema_name(old)} RENAME TO {quote_schema_name(new)}",
            database=scratch, failure=f"Renaming the schema “{old}” to “{new}” failed",
        )  # fmt: skip
        _pg_run(
            "pg_dump", "--format=custom", f"--schema={_schema_pattern(new)}", "--no-owner", "--no-privileges",
            f"--file={out}", database=scratch, failure=f"Dumping the renamed schema “{new}” failed",
        )  # fmt: skip
    finally:
        _pg_run(
            "psql", "-X", "-q", "-c", f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)',
            database=here, failure=f"Dropping the scratch database {scratch} failed",
        )  # fmt: skip
    return out


def _deserialized(path: Path) -> Iterator[Any]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    # A field the archive has and this code no longer has was removed by a migration: dropped here too.
    return serializers.deserialize("python", rows, ignorenonexistent=True)


def _public_rows_restore(archive: _Archive, slug: str) -> tuple[Organization, int]:
    """Insert the archive's public rows with new primary keys, their foreign keys remapped; the
    organisation's host becomes the new slug's. In the caller's transaction."""
    manifest = archive.manifest
    old_host = f"{manifest['slug']}.{manifest.get('base_domain', settings.BASE_DOMAIN)}"
    new_pks: dict[str, dict[Any, Any]] = defaultdict(dict)
    organization: Organization | None = None
    count = 0
    host_carried = False
    try:
        rows = list(_deserialized(archive.public_rows))
    except DeserializationError as exc:
        raise PortabilityError(
            f"The archive's public rows do not fit this version of the product ({exc})."
        ) from exc
    for row in rows:
        instance: Model = row.object
        label = instance._meta.label
        old_pk = instance.pk
        if isinstance(instance, Organization):
            if organization is not None:
                raise PortabilityError("The archive holds two organisations.")
            instance.schema_name = slug
        elif isinstance(instance, Domain) and instance.domain == old_host:
            instance.domain = _host(slug)
            host_carried = True
        for model_field in instance._meta.concrete_fields:
            if model_field.is_relation and (model_field.many_to_one or model_field.one_to_one):
                value = getattr(instance, model_field.attname)
                if value is None:
                    continue
                target = model_field.related_model._meta.label  # type: ignore[union-attr]
                if value not in new_pks[target]:
                    raise PortabilityError(
                        f"The archive's {label} row {old_pk} refers to a {target} row "
                        "the archive does not hold."
                    )
                setattr(instance, model_field.attname, new_pks[target][value])
        for name, values in list(row.m2m_data.items()):
            target = instance._meta.get_field(name).related_model._meta.label  # type: ignore[union-attr]
            missing = [value for value in values if value not in new_pks[target]]
            if missing:  # never a link to a row of this database that the archive did not bring
                raise PortabilityError(
                    f"The archive's {label} row {old_pk} refers to {target} rows the archive does not hold."
                )
            row.m2m_data[name] = [new_pks[target][value] for value in values]
        instance.pk = None
        try:
            with transaction.atomic():
                row.save()  # raw: every value as archived (created_at and auto_now fields included)
        except IntegrityError as exc:
            detail = getattr(getattr(exc.__cause__, "diag", None), "message_detail", None) or str(exc)
            if isinstance(instance, Organization):
                raise PortabilityError(f"The slug “{slug}” is already taken.") from exc
            raise PortabilityError(
                f"The archive's {label} rows clash with rows already on this database ({detail.strip()}); "
                "import into another database, or remove the original organisation first."
            ) from exc
        new_pks[label][old_pk] = instance.pk
        if isinstance(instance, Organization):
            organization = instance
        count += 1
    if organization is None:
        raise PortabilityError("The archive holds no organisation row.")
    if not host_carried:
        Domain.objects.create(domain=_host(slug), tenant=organization, is_primary=True)
        count += 1
    return organization, count


def _files_restore(archive: _Archive, root: Path) -> None:
    for relative in archive.files:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(archive.root / FILES / relative, target)


def _schema_tables(schema_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE'",
            [schema_name],
        )
        return int(cursor.fetchone()[0])


def organization_import(path: Path, *, slug: str | None = None) -> ImportSummary:
    """Restore the archive at `path` as an organisation served at <slug>.<BASE_DOMAIN> (its own slug
    unless `slug` is given). All or nothing; PortabilityError says why not."""
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    if connection.in_atomic_block:
        # The schema is restored by pg_restore on a connection of its own, which must see the rows.
        raise PortabilityError("An organisation cannot be imported inside a transaction.")
    with tempfile.TemporaryDirectory(prefix="crowdact-import-") as work_name:
        work = Path(work_name)
        archive = _archive_read(Path(path), work / "archive")
        _migrations_check(archive.manifest)
        slug = slug or archive.manifest["slug"]
        _slug_check(slug)
        old_schema = archive.manifest["schema_name"]
        dump = archive.schema_dump
        if old_schema != slug:
            dump = _schema_dump_renamed(dump, old_schema, slug, work / "renamed.dump")

        files_root = organization_files_root(slug)
        files_root_made = not files_root.exists()
        schema_restore_started = False
        try:
            with transaction.atomic():
                # The organisation's row first: a concurrent import of the same slug waits on it.
                organization, public_rows = _public_rows_restore(archive, slug)
                schema_restore_started = True
                _pg_run(
                    "pg_restore", "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
                    f"--dbname={connection.settings_dict['NAME']}", str(dump),
                    failure=f"Restoring the schema “{slug}” failed",
                )  # fmt: skip
                if schemas_needing_migrations([slug], DEFAULT_DB_ALIAS):
                    call_command("migrate_schemas", schema_name=slug, interactive=False, verbosity=0)
                    connection.set_schema_to_public()  # type: ignore[attr-defined]
                _files_restore(archive, files_root)
        except BaseException:
            connection.set_schema_to_public()  # type: ignore[attr-defined]
            if schema_restore_started:
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP SCHEMA IF EXISTS {quote_schema_name(slug)} CASCADE")
            if files_root_made:
                shutil.rmtree(files_root, ignore_errors=True)
            else:
                for relative in archive.files:
                    (files_root / relative).unlink(missing_ok=True)
            raise
    return ImportSummary(
        organization=organization,
        host=_host(slug),
        tables=_schema_tables(slug),
        files=len(archive.files),
        public_rows=public_rows,
    )
