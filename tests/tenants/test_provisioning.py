import subprocess
import sys
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from accounts.models import User
from accounts.roles import ORG_ADMIN, ROLES
from tenants.db import tenant_connection
from tenants.models import Domain, Organization
from tenants.services import organization_create

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int]:
    tenant_connection().set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace")
        schemas = cursor.fetchone()[0]
    return Organization.objects.count(), Domain.objects.count(), schemas


def test_provisioning_creates_schema_domain_roles_and_admin(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        provisioned = organization_create(
            slug="gamma", name="Gamma", kind="association", admin_email="Boss@Gamma.test", locale="en"
        )

    organization = provisioned.organization
    assert schema_exists("gamma")
    assert Domain.objects.get(tenant=organization).domain == "gamma.localhost"
    assert provisioned.url == "http://gamma.localhost/"
    assert provisioned.set_password_url.startswith("http://gamma.localhost/account/set-password/")
    with tenant_context(organization):
        admin = User.objects.get()
        assert admin.email == "boss@gamma.test"
        assert not admin.has_usable_password()
        assert list(admin.groups.values_list("name", flat=True)) == [ORG_ADMIN]
        assert set(Group.objects.values_list("name", flat=True)) == set(ROLES)
        assert admin.has_perm("accounts.manage_organization")
        assert admin.invitation_sent_at is not None
    # The admin is e-mailed the same one-time link, once.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["boss@gamma.test"]
    assert "http://gamma.localhost/account/set-password/" in mail.outbox[0].body


def test_a_user_of_one_organisation_does_not_exist_in_another(org_a, org_b):
    with tenant_context(org_a):
        assert User.objects.filter(email="admin@alpha.test").exists()
    with tenant_context(org_b):
        assert not User.objects.filter(email="admin@alpha.test").exists()
        assert User.objects.filter(email="admin@beta.test").exists()


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Upper", "not a valid organisation slug"),
        ("under_score", "not a valid organisation slug"),
        ("-dash", "not a valid organisation slug"),
        ("dash-", "not a valid organisation slug"),
        ("x", "not a valid organisation slug"),
        ("a" * 64, "not a valid organisation slug"),
        ("public", "reserved"),
        ("www", "reserved"),
        ("admin", "reserved"),
        ("api", "reserved"),
        ("static", "reserved"),
        ("media", "reserved"),
        ("alpha", "already taken"),
    ],
)
def test_a_bad_slug_is_refused_and_leaves_nothing(org_a, slug, message):
    before = _counts()

    with pytest.raises(ValidationError) as caught:
        organization_create(slug=slug, name="X", kind="company", admin_email="a@x.test")

    assert message in " ".join(caught.value.message_dict["slug"])
    assert _counts() == before


def test_a_domain_already_taken_is_refused(org_a):
    Domain.objects.create(domain="delta.localhost", tenant=org_a, is_primary=False)
    before = _counts()

    with pytest.raises(ValidationError) as caught:
        organization_create(slug="delta", name="Delta", kind="company", admin_email="a@delta.test")

    assert "delta.localhost is already taken" in caught.value.message_dict["slug"][0]
    assert _counts() == before


def test_every_bad_field_is_named_at_once():
    with pytest.raises(ValidationError) as caught:
        organization_create(slug="ok-slug", name=" ", kind="shop", admin_email="not-an-email", locale="de")

    assert set(caught.value.message_dict) == {"name", "kind", "admin_email", "locale"}
    assert not schema_exists("ok-slug")


def test_a_failure_after_the_schema_exists_rolls_everything_back(settings):
    """A step of ORGANIZATION_SETUP fails after the schema, the admin and the library exist."""
    before = _counts()
    settings.ORGANIZATION_SETUP = [
        *settings.ORGANIZATION_SETUP,
        "tests.tenants.test_provisioning.failing_step",
    ]

    with pytest.raises(RuntimeError):
        organization_create(slug="epsilon", name="Epsilon", kind="company", admin_email="a@epsilon.test")

    assert not schema_exists("epsilon")
    assert _counts() == before


def failing_step(provisioning: object) -> None:
    raise RuntimeError("mail server exploded")


def test_the_steps_run_in_the_order_of_organization_setup_in_the_new_schema(settings):
    settings.ORGANIZATION_SETUP = [
        "tests.tenants.test_provisioning.recording_step",
        *settings.ORGANIZATION_SETUP,
    ]
    RECORDED.clear()

    provisioned = organization_create(slug="eta", name="Eta", kind="company", admin_email="a@eta.test")

    assert RECORDED == [("eta", "eta", "a@eta.test")]
    assert "/account/set-password/" in provisioned.set_password_url


RECORDED: list[tuple[str, str, str]] = []


def recording_step(provisioning: Any) -> None:
    from tenants.db import tenant_connection

    RECORDED.append(
        (provisioning.organization.schema_name, tenant_connection().schema_name, provisioning.admin_email)
    )


def test_create_organization_command_prints_url_and_one_time_link(capsys):
    call_command(
        "create_organization",
        "zeta",
        name="Zeta",
        kind="municipality",
        admin_email="mayor@zeta.test",
        locale="fr",
    )

    out = capsys.readouterr().out
    assert "URL: http://zeta.localhost/" in out
    assert "http://zeta.localhost/account/set-password/" in out
    assert Organization.objects.get(schema_name="zeta").locale == "fr"


def test_create_organization_command_refuses_bad_input_with_a_sentence():
    before = _counts()

    with pytest.raises(CommandError, match=r"“public” is reserved; choose another slug\."):
        call_command("create_organization", "public", name="P", kind="company", admin_email="a@p.test")
    with pytest.raises(CommandError, match="is not a valid e-mail address"):
        call_command("create_organization", "theta", name="T", kind="company", admin_email="nope")

    assert _counts() == before


def test_create_organization_exits_non_zero_from_the_shell():
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "create_organization",
            "Bad_Slug",
            "--name",
            "B",
            "--kind",
            "company",
            "--admin-email",
            "a@b.test",
        ],
        capture_output=True,
        text=True,
        env={
            **__import__("os").environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        },
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert "is not a valid organisation slug" in result.stderr
