import dataclasses

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import tenant_context

from accounts.roles import ORG_ADMIN
from challenges.models import Metric
from tenants import migration_executor
from tenants.db import tenant_connection
from tenants.migration_executor import expected_migrations, schemas_needing_migrations
from tenants.models import Organization
from tenants.services import organization_create

pytestmark = pytest.mark.django_db


def test_fully_migrated_schemas_need_nothing(org_a, org_b):
    assert schemas_needing_migrations(["public", "alpha", "beta"], "default") == []


def test_a_schema_missing_one_migration_is_found(org_a, org_b):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM beta.django_migrations WHERE app = 'challenges'")

    assert schemas_needing_migrations(["alpha", "beta"], "default") == ["beta"]


def test_a_schema_without_a_migrations_table_is_found(org_a):
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA fresh")

    assert schemas_needing_migrations(["alpha", "fresh"], "default") == ["fresh"]


def test_expected_migrations_is_the_whole_graph():
    expected = expected_migrations()

    assert ("tenants", "0001_organization_domain") in expected
    assert ("challenges", "0001_team") in expected
    assert ("auth", "0001_initial") in expected


def test_migrate_schemas_only_migrates_schemas_with_something_to_do(org_a, org_b, capsys):
    call_command(
        "migrate_schemas", "challenges", "0001_team", schema_name="beta", interactive=False, verbosity=0
    )
    assert schemas_needing_migrations(["alpha", "beta"], "default") == ["beta"]
    capsys.readouterr()

    call_command("migrate_schemas", tenant=True, interactive=False, verbosity=1)

    out = capsys.readouterr().out
    assert "1 of 2 schemas have migrations to apply." in out
    assert "standard:beta] Running migrations" in out
    assert "standard:alpha]" not in out
    assert schemas_needing_migrations(["alpha", "beta"], "default") == []


# New schemas: the first goes through `migrate`, the next replay what it sent ---------------------------

CATALOGUE = """
    SELECT 'column', table_name || '.' || column_name,
           concat_ws(' ', data_type, character_maximum_length, numeric_precision, numeric_scale, is_nullable,
                     replace(coalesce(column_default, ''), %(schema)s || '.', ''))
    FROM information_schema.columns WHERE table_schema = %(schema)s
    UNION ALL
    SELECT 'index', indexname, replace(indexdef, %(schema)s || '.', '')
    FROM pg_indexes WHERE schemaname = %(schema)s
    UNION ALL
    SELECT 'constraint', c.conrelid::regclass::text || ' ' || c.conname,
           replace(pg_get_constraintdef(c.oid), %(schema)s || '.', '')
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %(schema)s
    UNION ALL
    SELECT 'sequence', sequencename, concat_ws(' ', data_type, start_value, last_value)
    FROM pg_sequences WHERE schemaname = %(schema)s
"""
ROWS = {
    "django_migrations": "app, name",
    "django_content_type": "id, app_label, model",
    "auth_permission": "id, name, content_type_id, codename",
    "auth_group": "id, name",
    "auth_group_permissions": "group_id, permission_id",
}


def _schema_as_built(schema: str) -> dict[str, list[tuple]]:
    with connection.cursor() as cursor:
        cursor.execute("SET search_path = public")
        cursor.execute(CATALOGUE, {"schema": schema})
        # the constraint's table is named with its schema when that schema is not on the search path
        built = {
            "catalogue": sorted((kind, name.replace(f"{schema}.", ""), what) for kind, name, what in cursor)
        }
        for table, columns in ROWS.items():
            cursor.execute(f'SELECT {columns} FROM "{schema}".{table} ORDER BY {columns}')  # noqa: S608
            built[table] = cursor.fetchall()
    tenant_connection().set_schema_to_public()
    return built


def _create(slug: str) -> Organization:
    return organization_create(
        slug=slug, name=slug.title(), kind="company", admin_email=f"a@{slug}.test"
    ).organization


def test_a_new_schema_replayed_is_the_schema_migrate_makes(monkeypatch):
    monkeypatch.setattr(migration_executor, "_recordings", {})

    _create("recorded")  # through `migrate`, recorded
    assert migration_executor._recordings["default"].schema == "recorded"
    sent: list[str] = []
    monkeypatch.setattr(
        migration_executor,
        "_recorded",
        lambda *args: sent.append("recorded again"),  # a replay records nothing
    )
    replayed = _create("replayed")

    assert sent == []
    first, second = _schema_as_built("recorded"), _schema_as_built("replayed")
    assert len(first["catalogue"]) > 300
    assert len(first["auth_permission"]) > 100
    assert second == first
    with tenant_context(replayed):  # and it serves its organisation like any other
        assert Group.objects.filter(name=ORG_ADMIN).get().user_set.get().email == "a@replayed.test"
        assert Metric.objects.count() > 0


def test_a_new_migration_makes_a_new_recording(monkeypatch):
    monkeypatch.setattr(migration_executor, "_recordings", {})
    _create("before")
    stale = migration_executor._recordings["default"]
    monkeypatch.setattr(
        migration_executor,
        "_recordings",
        {
            "default": dataclasses.replace(
                stale, graph=stale.graph | {("challenges", "9999_not_in_the_graph")}
            )
        },
    )

    _create("after")

    assert migration_executor._recordings["default"].schema == "after"  # went through migrate
    assert _schema_as_built("after") == _schema_as_built("before")


def test_a_recording_whose_writes_name_their_schema_is_not_kept():
    graph = frozenset({("app", "0001")})
    sent = [
        ('SET search_path = "gamma","public"', None, False),
        ("SELECT 1 FROM pg_namespace WHERE nspname = %s", ("gamma",), False),
        ('CREATE TABLE "t" ("id" bigint)', None, False),
    ]
    kept = migration_executor._recorded(sent, "gamma", graph)
    assert kept is not None
    assert [(s.sql, s.names_schema) for s in kept.statements] == [
        ('SET search_path = "gamma","public"', True),
        ('CREATE TABLE "t" ("id" bigint)', False),
    ]
    assert (
        migration_executor._recorded(
            [*sent, ('COMMENT ON SCHEMA "gamma" IS %s', ("x",), False)], "gamma", graph
        )
        is None
    )
    assert (
        migration_executor._recorded(
            [*sent, ("INSERT INTO t VALUES (%s)", ("gamma",), False)], "gamma", graph
        )
        is None
    )


def test_the_public_schema_is_never_recorded_nor_replayed(monkeypatch):
    monkeypatch.setattr(migration_executor, "_recordings", {})
    calls: list[str] = []
    monkeypatch.setattr(migration_executor, "_migrate_new_schema", lambda schema, *args: calls.append(schema))
    monkeypatch.setattr(migration_executor, "_is_new", lambda schema, database: True)
    monkeypatch.setattr(migration_executor, "schemas_needing_migrations", lambda names, database: list(names))
    executor = migration_executor.get_executor("standard")((), {"verbosity": 0, "shared": True})
    monkeypatch.setattr(executor.inner, "run_migrations", lambda tenants: calls.append(f"migrate {tenants}"))

    executor.run_migrations(tenants=["public"])

    assert calls == ["migrate ['public']"]
