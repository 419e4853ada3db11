import json

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import OperationalError
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
def test_healthz_says_the_process_is_alive_without_asking_the_database(
    request, client_fixture, django_assert_num_queries
):
    client = request.getfixturevalue(client_fixture)
    # An organisation's host is looked up by the routing (the public schema, then its domain row);
    # the answer itself asks nothing.
    with django_assert_num_queries(0 if client_fixture == "public_client" else 2):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_healthz_stays_alive_when_the_broker_is_down(client_a, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    assert client_a.get("/healthz").status_code == 200


def test_healthz_still_answers_for_a_suspended_organisation(org_a, client_a):
    organization_suspend(org_a)

    assert client_a.get("/healthz").status_code == 200


@pytest.mark.parametrize("client_fixture", ["public_client", "client_a"])
def test_readyz_reports_database_cache_and_broker(request, client_fixture):
    response = request.getfixturevalue(client_fixture).get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True},
        "cache": {"ok": True},
        "broker": {"ok": True},
    }
    assert "no-store" in response["Cache-Control"]
    assert not response.cookies


def test_readyz_answers_503_naming_the_broker_when_it_is_down(client_a, settings, caplog):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client_a.get("/readyz")

    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["status"] == "unavailable"
    assert body["database"] == {"ok": True}
    assert body["cache"] == {"ok": True}
    assert body["broker"]["ok"] is False
    # Said once, as a warning: Django's error for a 503 would become an error report at every probe.
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "Not ready: broker unavailable")
    ]


def test_readyz_answers_503_naming_the_cache_when_it_is_down(public_client, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }

    response = public_client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["cache"]["ok"] is False
    assert body["cache"]["error"]
    assert body["database"] == {"ok": True}
    assert body["broker"] == {"ok": True}


def test_readyz_answers_503_when_the_cache_keeps_nothing(public_client, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
    }

    response = public_client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["cache"] == {"ok": False, "error": "LookupError"}


def test_readyz_answers_503_naming_the_database_when_it_is_down(public_client, monkeypatch):
    from tenants import views

    def refused(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(views.connection, "cursor", refused)

    response = public_client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["database"] == {"ok": False, "error": "OperationalError"}


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
