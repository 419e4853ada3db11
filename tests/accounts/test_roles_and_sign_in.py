import re

import pytest
from django.core import mail
from django.core.management import call_command
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT, roles_sync
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _set_password_path(organization_slug: str, capsys) -> str:
    call_command(
        "create_organization", organization_slug, name="Kappa", kind="company", admin_email="hr@kappa.test"
    )
    out = capsys.readouterr().out
    match = re.search(r"http://[^/]+(/account/set-password/\S+)", out)
    assert match, out
    return match.group(1)


def test_the_set_password_link_works_once_and_signs_the_admin_in(capsys, django_capture_on_commit_callbacks):
    from django.test import Client

    with django_capture_on_commit_callbacks(execute=True):
        path = _set_password_path("kappa", capsys)
    client = Client(HTTP_HOST="kappa.localhost")

    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-and-unusual-passphrase", "new_password2": "a-long-and-unusual-passphrase"},
        follow=True,
    )

    assert response.status_code == 200
    assert response.wsgi_request.user.is_authenticated
    assert response.wsgi_request.user.email == "hr@kappa.test"
    again = Client(HTTP_HOST="kappa.localhost").get(path, follow=True)
    assert again.context["validlink"] is False
    assert mail.outbox[0].subject == "Votre espace Crowdact pour Kappa", "in the organisation's language"


def test_a_set_password_link_of_one_organisation_is_refused_by_another(capsys, client_b):
    path = _set_password_path("lambda", capsys)

    response = client_b.get(path, follow=True)

    assert response.context["validlink"] is False


def test_roles_carry_their_permissions(in_org_a):
    admin = UserFactory.create(role=ORG_ADMIN)
    executive = UserFactory.create(role=EXECUTIVE)
    participant = UserFactory.create(role=PARTICIPANT)

    assert admin.has_perm("accounts.manage_organization")
    assert executive.has_perm("accounts.view_dashboard")
    assert not executive.has_perm("accounts.manage_organization")
    assert not participant.has_perm("accounts.view_dashboard")


def test_roles_sync_is_idempotent(in_org_a):
    first = {
        name: set(group.permissions.values_list("codename", flat=True))
        for name, group in roles_sync().items()
    }
    second = {
        name: set(group.permissions.values_list("codename", flat=True))
        for name, group in roles_sync().items()
    }

    assert first == second
    assert "manage_organization" in first[ORG_ADMIN]


def test_signing_in_on_one_organisation_does_not_sign_in_on_another(org_a, client_a, client_b):
    with tenant_context(org_a):
        UserFactory.create(email="walker@alpha.test")

    response = client_a.post(
        "/account/sign-in/", {"username": "walker@alpha.test", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    session_cookie = client_a.cookies["sessionid"].value
    client_b.cookies["sessionid"] = session_cookie

    page = client_b.get("/")
    assert not page.wsgi_request.user.is_authenticated
    # And the person cannot sign in on the other organisation's site at all.
    refused = client_b.post(
        "/account/sign-in/", {"username": "walker@alpha.test", "password": "correct-horse-battery"}
    )
    assert refused.status_code == 200
    with tenant_context(org_a):
        assert User.objects.filter(email="walker@alpha.test").count() == 1
