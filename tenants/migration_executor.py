"""Migrate only the schemas that have something to migrate.

django-tenants runs Django's `migrate` once per schema even when nothing is pending, and each run
scans a system catalogue that grows with every schema: O(tenants²) in all (django-tenants #719,
#1082). Here one query reads every schema's `django_migrations` at once and compares it with the
migration graph; only schemas missing a migration go through `migrate`.
"""

from collections.abc import Iterable
from typing import Any

from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django_tenants.migration_executors import MigrationExecutor
from django_tenants.migration_executors import get_executor as get_base_executor
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


class PendingOnlyExecutor:
    """Wraps a django-tenants executor and hands it only the schemas with pending migrations."""

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
        if pending:
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
