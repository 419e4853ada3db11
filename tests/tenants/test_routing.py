import json

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from tenants.services import organization_reactivate, organization_suspend

pytestmark = pytest.mark.django_db


def test_the_bare_domain_serves_the_public_site(public_client):
    response = public_client.get("/")

    assert response.status_code == 200
    assert b"Crowdact" in response.content
    assert public_client.get("/admin/login/").status_code == 200


def test_an_organisation_host_serves_its_own_site(client_a, client_b):
    response = client_a.get("/")

    assert response.status_code == 200
    assert b"Alpha Corp" in response.content
    assert b"Beta Town" in client_b.get("/").content
    # The operator admin exists only on the public site.
    assert client_a.get("/admin/").status_code == 404


@pytest.mark.parametrize(
    "host", ["nowhere.localhost", "alpha.localhost.evil.test", "localhost.attacker.test"]
)
def test_an_unknown_host_gets_a_plain_404_page(host):
    response = Client(HTTP_HOST=host).get("/")

    assert response.status_code == 404
    assert b"There is no Crowdact space at this address" in response.content


def test_a_forged_forwarded_host_is_ignored(client_a):
    response = client_a.get("/", HTTP_X_FORWARDED_HOST="beta.localhost")

    assert b"Alpha Corp" in response.content


def test_a_suspended_organisation_gets_a_page_saying_so_and_keeps_its_data(org_a, client_a):
    with tenant_context(org_a):
        people = User.objects.count()

    organization_suspend(org_a)
    response = client_a.get("/")

    assert response.status_code == 403
    assert b"Alpha Corp is suspended" in response.content
    assert client_a.get("/account/sign-in/").status_code == 403
    with tenant_context(org_a):
        assert User.objects.count() == people

    organization_reactivate(org_a)
    assert client_a.get("/").status_code == 200


@pytest.mark.parametrize("client_fixture", ["public_client", "client_a"])
def test_healthz_reports_database_and_broker(request, client_fixture):
    response = request.getfixturevalue(client_fixture).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": {"ok": True}, "broker": {"ok": True}}


def test_healthz_answers_503_when_the_broker_is_down(client_a, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client_a.get("/healthz")

    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": True}
    assert body["broker"]["ok"] is False


def test_healthz_still_answers_for_a_suspended_organisation(org_a, client_a):
    organization_suspend(org_a)

    assert client_a.get("/healthz").status_code == 200


def test_cache_keys_are_separate_per_organisation(org_a, org_b):
    with tenant_context(org_a):
        cache.set("dashboard", "alpha's figures")
    with tenant_context(org_b):
        assert cache.get("dashboard") is None
        cache.set("dashboard", "beta's figures")
    with tenant_context(org_a):
        assert cache.get("dashboard") == "alpha's figures"
        cache.delete("dashboard")
    with tenant_context(org_b):
        cache.delete("dashboard")


def test_stored_files_are_separate_per_organisation(org_a, org_b, settings, tmp_path):
    with tenant_context(org_a):
        default_storage.path("before.txt")  # the storage has worked out its folder once already
    settings.MEDIA_ROOT = str(tmp_path)  # and follows the new root all the same
    with tenant_context(org_a):
        name = default_storage.save("proofs/receipt.txt", ContentFile(b"alpha"))
        path_a = default_storage.path(name)
    with tenant_context(org_b):
        assert not default_storage.exists(name)

    assert path_a.startswith(str(tmp_path / "alpha"))


def test_each_organisation_speaks_its_language_unless_the_person_chose_the_other(org_b, client_a, client_b):
    assert client_a.get("/").headers["Content-Language"] == "en"
    assert client_b.get("/").headers["Content-Language"] == "fr"
    assert b'<html lang="fr">' in client_b.get("/").content

    client_b.cookies["django_language"] = "en"
    assert client_b.get("/").headers["Content-Language"] == "en"

    client_b.cookies.pop("django_language")
    with tenant_context(org_b):
        resident = User.objects.create_user(email="resident@beta.test", language="en")
        client_b.force_login(resident)
    assert client_b.get("/").headers["Content-Language"] == "en"
