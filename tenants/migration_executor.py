"""Migrate only the schemas that have something to migrate, and make new schemas fast.

django-tenants runs Django's `migrate` once per schema even when nothing is pending, and each run
scans a system catalogue that grows with every schema: O(tenants²) in all (django-tenants #719,
#1082). Here one query reads every schema's `django_migrations` at once and compares it with the
migration graph; only schemas missing a migration go through `migrate`.

A new organisation's schema goes through every migration from the first. Django spends nearly all
of that time in Python, rendering the models of each intermediate state (2–3 s for ~60 migrations);
the SQL it sends is ~200 statements, the same for every new schema. So the first new schema of a
process goes through `migrate` while the statements it sends are recorded, and the next ones get
those statements replayed (tens of milliseconds), in their own schema, with the same migrations
recorded as applied. The recording is kept for this process and this migration graph only: a new
migration means a new recording. Reads are not replayed (their answers were only read); a write
naming the schema makes the recording unusable, and every new schema then goes through `migrate`.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django_tenants.migration_executors import MigrationExecutor
from django_tenants.migration_executors import get_executor as get_base_executor
from django_tenants.migration_executors.base import run_migrations as base_run_migrations
from django_tenants.signals import schema_migrated, schema_pre_migration
from django_tenants.utils import get_public_schema_name, quote_schema_name

# Options under which every named schema must go through `migrate` as asked.
_PASS_THROUGH_OPTIONS = ("app_label", "migration_name", "fake", "fake_initial", "plan", "prune", "run_syncdb")


def expected_migrations() -> set[tuple[str, str]]:
    """Every migration of the project's graph, as (app, name)."""
    # No connection: the graph alone, without reading (and scanning the catalogue for) what is applied.
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    return set(loader.graph.nodes)


def schemas_needing_migrations(schema_names: Iterable[str], database: str) -> list[str]:
    """The schemas, in the given order, whose django_migrations lacks any migration of the graph."""
    names = list(schema_names)
    if not names:
        return []
    expected = expected_migrations()
    connection = connections[database]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [names],
        )
        with_table = {row[0] for row in cursor.fetchall()}
        applied_counts: dict[str, int] = {}
        expected_keys = sorted(f"{app}.{name}" for app, name in expected)
        present = [name for name in names if name in with_table]
        # One statement for all schemas, in chunks so the statement stays a sensible size.
        for start in range(0, len(present), 500):
            chunk = present[start : start + 500]
            parts = [
                f"SELECT %s, count(*) FROM {quote_schema_name(name)}.django_migrations "  # noqa: S608
                "WHERE app || '.' || name = ANY(%s)"
                for name in chunk
            ]
            params: list[Any] = []
            for name in chunk:
                params += [name, expected_keys]
            cursor.execute(" UNION ALL ".join(parts), params)
            applied_counts.update({row[0]: row[1] for row in cursor.fetchall()})
    return [name for name in names if applied_counts.get(name, -1) < len(expected)]


# New schemas: one recording, replayed -------------------------------------------------------------

_READS = ("SELECT", "SHOW")
_MIGRATIONS_INSERT = 'INSERT INTO "django_migrations"'


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Any
    many: bool
    names_schema: bool  # a SET search_path naming the recorded schema: its name is put back in


@dataclass(frozen=True)
class Recording:
    graph: frozenset[tuple[str, str]]
    schema: str
    statements: tuple[Statement, ...]


_recordings: dict[str, Recording] = {}  # database alias -> the recording of its first new schema


def _schema_pattern(schema: str) -> re.Pattern[str]:
    return re.compile(r'(?<![\w"])"?' + re.escape(schema) + r'"?(?![\w"])')


def _recorded(
    captured: Sequence[tuple[str, Any, bool]], schema: str, graph: frozenset[tuple[str, str]]
) -> Recording | None:
    """What to replay of the statements `migrate` sent for a new schema; None when they cannot be
    replayed in another one."""
    pattern = _schema_pattern(schema)
    statements = []
    for sql, params, many in captured:
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if verb in _READS and "setval(" not in sql:
            continue
        names_schema = bool(pattern.search(sql)) or schema in repr(params)
        if names_schema and not (verb == "SET" and "search_path" in sql and not params):
            return None
        statements.append(Statement(sql, params, many, names_schema))
    return Recording(graph, schema, tuple(statements))


def _replay(recording: Recording, schema: str, database: str) -> None:
    connection = connections[database]
    pattern = _schema_pattern(recording.schema)
    quoted = '"' + schema.replace('"', '""') + '"'
    now = timezone.now()
    with transaction.atomic(using=database), connection.cursor() as cursor:
        for statement in recording.statements:
            sql, params = statement.sql, statement.params
            if statement.names_schema:
                sql = pattern.sub(lambda _: quoted, sql)
            elif sql.startswith(_MIGRATIONS_INSERT) and isinstance(params, tuple | list) and len(params) == 3:
                params = (params[0], params[1], now)  # applied now, not when recorded
            if statement.many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
        cursor.execute("SELECT count(*) FROM django_migrations")
        applied = cursor.fetchone()[0]
    if applied != len(recording.graph):
        raise RuntimeError(
            f"Replaying the migrations in {schema} recorded {applied} of {len(recording.graph)}."
        )


def _is_new(schema: str, database: str) -> bool:
    """Whether the schema has no migrations table yet: a name lookup, not a scan of a catalogue
    that grows with every schema."""
    with connections[database].cursor() as cursor:
        cursor.execute("SELECT to_regclass(quote_ident(%s) || '.django_migrations') IS NULL", [schema])
        return bool(cursor.fetchone()[0])


def _migrate_new_schema(schema: str, database: str, migrate: Callable[[], None]) -> None:
    """Migrate the empty schema `schema`: replay the recording when there is one for this graph,
    otherwise run `migrate` and record it."""
    graph = frozenset(expected_migrations())
    recording = _recordings.get(database)
    connection: Any = connections[database]  # django-tenants' backend: set_schema, set_schema_to_public
    if recording is not None and recording.graph == graph:
        schema_pre_migration.send(base_run_migrations, schema_name=schema)
        connection.set_schema(schema, include_public=False)
        try:
            _replay(recording, schema, database)
        finally:
            connection.set_schema_to_public()
        schema_migrated.send(base_run_migrations, schema_name=schema)
        return
    captured: list[tuple[str, Any, bool]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        captured.append((sql, params, many))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        migrate()
    made = _recorded(captured, schema, graph)
    if made is not None:
        _recordings[database] = made
    else:
        _recordings.pop(database, None)


class PendingOnlyExecutor:
    """Wraps a django-tenants executor and hands it only the schemas with pending migrations; a
    single new schema is migrated by replay (above)."""

    def __init__(self, executor_class: type[MigrationExecutor], args: Any, options: dict[str, Any]) -> None:
        # migrate_schemas ran the system checks once already; `migrate` would run them again per schema.
        options = {**options, "skip_checks": True}
        self.inner = executor_class(args, options)
        self.options = options

    def _pending(self, tenants: Iterable[str]) -> list[str]:
        tenants = list(tenants)
        if any(self.options.get(option) for option in _PASS_THROUGH_OPTIONS) or self.options.get(
            "check_unapplied"
        ):
            return tenants
        database = self.options.get("database") or "default"
        pending = schemas_needing_migrations(tenants, database)
        if int(self.options.get("verbosity", 1)) >= 1 and len(tenants) > 1:
            print(f"{len(pending)} of {len(tenants)} schemas have migrations to apply.")  # noqa: T201
        return pending

    def run_migrations(self, tenants: Iterable[str] | None = None) -> None:
        pending = self._pending(tenants or [])
        database = self.options.get("database") or "default"
        if (
            len(pending) == 1
            # an organisation's schema: the public one migrates other apps (its own recording would
            # lack every organisation table)
            and pending[0] != get_public_schema_name()
            and not self.options.get("shared")
            and not any(self.options.get(option) for option in _PASS_THROUGH_OPTIONS)
            and _is_new(pending[0], database)
        ):
            _migrate_new_schema(pending[0], database, lambda: self.inner.run_migrations(tenants=pending))
        elif pending:
            self.inner.run_migrations(tenants=pending)

    def run_multi_type_migrations(self, tenants: Iterable[tuple[str, str]]) -> None:
        raise NotImplementedError("Crowdact has one type of organisation.")


def get_executor(codename: str | None = None) -> Any:
    executor_class = get_base_executor(codename)
    public = get_public_schema_name()

    def build(args: Any, options: dict[str, Any]) -> PendingOnlyExecutor:
        executor = PendingOnlyExecutor(executor_class, args, options)
        executor.inner.PUBLIC_SCHEMA_NAME = public
        return executor

    return build
