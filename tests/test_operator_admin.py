"""The operators' admin on the public host: every list, add and change page answers, signed in."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tenants.models import Organization

pytestmark = pytest.mark.django_db

PUBLIC_URLCONF = "config.urls_public"


@pytest.fixture
def operator_client(public_client: Client) -> Client:
    operator = User.objects.create_superuser(email="operator@crowdact.test", password="operator-pass-123")
    public_client.force_login(operator)
    return public_client


def _admin_urls() -> list[str]:
    urls = [reverse("admin:index", urlconf=PUBLIC_URLCONF)]
    for model in admin.site._registry:
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"admin:{info}_changelist", urlconf=PUBLIC_URLCONF))
        urls.append(reverse(f"admin:{info}_add", urlconf=PUBLIC_URLCONF))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            for page in ("change", "history", "delete"):
                urls.append(reverse(f"admin:{info}_{page}", args=[first.pk], urlconf=PUBLIC_URLCONF))
    return urls


def test_an_operator_opens_every_admin_page(operator_client, org_a):
    urls = _admin_urls()
    assert any("/tenants/organization/" in url and "/change/" in url for url in urls)

    for url in urls:
        for method in ("get", "post"):
            response = getattr(operator_client, method)(url)
            assert response.status_code < 500, f"{method.upper()} {url} answered {response.status_code}"
    assert Organization.objects.filter(schema_name="alpha").exists()


def test_the_admin_index_lists_the_organisations(operator_client, org_a):
    response = operator_client.get("/admin/")

    assert response.status_code == 200
    assert b"Organisations" in response.content
    assert b"Alpha Corp" in operator_client.get("/admin/tenants/organization/").content
