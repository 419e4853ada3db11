import pytest
from django.core.management import call_command
from django.db import connection

from tenants.migration_executor import expected_migrations, schemas_needing_migrations

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
