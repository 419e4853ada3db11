import re
from typing import Any

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from challenges.models import Challenge, Team, TeamMembership
from challenges.selectors import challenge_forecast
from participants.models import JoinLink
from tenants.models import Organization

pytestmark = pytest.mark.django_db


def _snapshot() -> dict[str, dict[str, Any]]:
    state: dict[str, dict[str, Any]] = {}
    for organization in Organization.objects.filter(schema_name__in=["acme", "villeneuve"]):
        with tenant_context(organization):
            state[organization.schema_name] = {
                "organization": (
                    organization.kind,
                    organization.locale,
                    organization.headcount,
                    organization.allowed_email_domains,
                ),
                "users": sorted(User.objects.values_list("email", "password", "display_name")),
                "roles": sorted(User.objects.values_list("email", "groups__name")),
                "teams": sorted(Team.objects.values_list("name", "kind")),
                "members": sorted(TeamMembership.objects.values_list("user__email", "team__name")),
                "join_links": sorted(
                    JoinLink.objects.values_list("token", "challenge", "expires_at", "revoked_at")
                ),
                "challenges": sorted(
                    Challenge.objects.values_list(
                        "goal_kind", "status", "counterpart__status", "pledge_count"
                    )
                ),
                "at_risk": [
                    c.goal_kind
                    for c in Challenge.objects.all()
                    if (f := challenge_forecast(c)) and not f.on_track
                ],
            }
    return state


def test_seed_demo_creates_two_organisations_and_changes_nothing_the_second_time(capsys):
    call_command("seed_demo")
    first = _snapshot()
    out = capsys.readouterr().out

    assert set(first) == {"acme", "villeneuve"}
    assert first["acme"]["organization"] == ("company", "en", 1200, ["acme.example"])
    assert first["villeneuve"]["organization"] == ("municipality", "fr", 24000, [])
    for slug in ("acme", "villeneuve"):
        roles = [role for _, role in first[slug]["roles"]]
        assert roles.count(ORG_ADMIN) == 1
        assert roles.count(EXECUTIVE) == 1
        assert roles.count(PARTICIPANT) >= 3
        assert len(first[slug]["teams"]) >= 2
        kinds = {(kind, status, counterpart) for kind, status, counterpart, _ in first[slug]["challenges"]}
        assert kinds == {
            ("participants", "succeeded", "delivered"),
            ("quantity", "open", "promised"),
            ("skills", "open", "promised"),
        }
        assert first[slug]["at_risk"] == ["quantity"]
    assert "http://acme.localhost/" in out
    assert "csr@acme.example" in out
    assert "http://localhost/admin/" in out
    assert User.objects.get(email="operator@crowdact.example").is_superuser
    for slug in ("acme", "villeneuve"):
        [(token, challenge, expires_at, revoked_at)] = first[slug]["join_links"]
        assert (challenge, expires_at, revoked_at) == (None, None, None)
        assert f"http://{slug}.localhost/join/{token}/" in out

    call_command("seed_demo")

    assert _snapshot() == first
    assert "already present" in capsys.readouterr().out


def test_demo_sign_ins_work(capsys):
    from django.test import Client

    from demo.seed import DEMO_PASSWORD

    call_command("seed_demo")
    client = Client(HTTP_HOST="villeneuve.localhost")

    response = client.post(
        "/account/sign-in/", {"username": "mairie@villeneuve.example", "password": DEMO_PASSWORD}
    )

    assert response.status_code == 302
    assert b"Claire Petit" in client.get("/").content


def test_the_printed_join_links_open_the_join_form(capsys):
    from django.test import Client

    call_command("seed_demo")
    out = capsys.readouterr().out
    links = dict(re.findall(r"http://(acme|villeneuve)\.localhost(/join/[\w-]+/)", out))

    assert set(links) == {"acme", "villeneuve"}
    for slug, path in links.items():
        response = Client(HTTP_HOST=f"{slug}.localhost").get(path)
        assert response.status_code == 200, slug
        assert b'name="email"' in response.content
        assert b'name="display_name"' in response.content
