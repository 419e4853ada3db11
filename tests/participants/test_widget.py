"""The widget intranets frame, which join link its button uses, and the framing and content-security
rules of every other page."""

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts.roles import ORG_ADMIN
from challenges.models import Challenge
from participants import widget
from participants.models import JoinLink
from tenants.models import Organization
from tests.factories import ChallengeFactory, TeamFactory, UserFactory
from tests.participants.pages.support import PARTICIPANT_GETS, Status, _csp, _search

pytestmark = pytest.mark.django_db


# The widget and the framing rules -----------------------------------------------------------------


@pytest.fixture
def anonymous(client_a: Client, in_org_a: Organization) -> Client:
    return client_a


def _embed_origins(organization: Organization, origins: list[str]) -> None:
    organization.embed_origins = origins
    organization.save(update_fields=["embed_origins"])


def test_the_widget_is_public_and_only_the_listed_intranets_may_frame_it(anonymous, org_a):
    # Given an organisation that lists its intranets, and an open challenge
    _embed_origins(org_a, ["https://intranet.alpha.example", "https://portal.alpha.example:8443/home/"])
    challenge = ChallengeFactory.create(title="Organic Tuesday", goal_target=Decimal(4))

    # When an intranet frames the widget (nobody is signed in there)
    response = anonymous.get(f"/embed/challenges/{challenge.pk}/")

    # Then it shows the title, the progress and a button that opens the challenge in the whole window
    assert response.status_code == 200
    page = response.content.decode()
    assert "Organic Tuesday" in page
    assert "0 of 4 participants (0 %)" in page
    assert f'href="/challenges/{challenge.pk}/" target="_top"' in page
    # And only those origins may frame it: no X-Frame-Options, frame-ancestors lists them
    assert "X-Frame-Options" not in response
    assert (
        _csp(response)["frame-ancestors"]
        == "https://intranet.alpha.example https://portal.alpha.example:8443"
    )
    assert _csp(response)["default-src"] == "'self'"


def test_the_widget_of_an_organisation_without_intranets_may_be_framed_by_nobody(anonymous, org_a):
    _embed_origins(org_a, [])
    challenge = ChallengeFactory.create()

    response = anonymous.get(f"/embed/challenges/{challenge.pk}/")

    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert _csp(response)["frame-ancestors"] == "'none'"


def test_nothing_stored_in_embed_origins_can_add_to_the_policy():
    assert widget.embed_frame_ancestors(
        [
            "https://ok.example/path;script-src *",
            "javascript:alert(1)",
            "https://u:p@x.example",
            " HTTPS://Ok.Example ",
        ]
    ) == ["https://ok.example"]


def _widget_button(client: Client, challenge: Challenge) -> str:
    page = client.get(f"/embed/challenges/{challenge.pk}/").content.decode()
    return _search(r'<a class="button primary big" href="([^"]+)" target="_top">', page).group(1)


def test_the_widget_shows_no_join_token_unless_an_admin_chose_one_for_it(anonymous):
    # Given join links for the whole organisation and for this very challenge
    challenge = ChallengeFactory.create()
    organization_link = JoinLink.objects.create(token="organisation-wide-secret")
    JoinLink.objects.create(token="challenge-link-secret", challenge=challenge)

    # When anyone reads the widget
    page = anonymous.get(f"/embed/challenges/{challenge.pk}/").content.decode()

    # Then its button opens the challenge page, and no token is in the page
    assert _widget_button(anonymous, challenge) == f"/challenges/{challenge.pk}/"
    assert "/join/" not in page
    assert organization_link.token not in page
    assert "challenge-link-secret" not in page


def test_the_widget_button_joins_through_the_link_an_admin_chose_until_it_is_revoked(anonymous):
    from participants.services import join_link_path, widget_update

    admin = UserFactory.create(role=ORG_ADMIN)
    challenge = ChallengeFactory.create()
    link = JoinLink.objects.create(token="widget-link", challenge=challenge)

    widget_update(actor=admin, challenge_id=challenge.pk, join_link_id=link.pk)

    assert _widget_button(anonymous, challenge) == join_link_path(link)
    JoinLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    assert _widget_button(anonymous, challenge) == f"/challenges/{challenge.pk}/"


def test_a_widget_takes_only_an_active_join_link_made_for_its_challenge(in_org_a):
    from django.core.exceptions import PermissionDenied, ValidationError

    from participants.models import Widget
    from participants.services import widget_update

    admin = UserFactory.create(role=ORG_ADMIN)
    challenge, other = ChallengeFactory.create(), ChallengeFactory.create()
    organization_link = JoinLink.objects.create(token="organisation-wide")
    other_link = JoinLink.objects.create(token="other-challenge", challenge=other)
    expired = JoinLink.objects.create(
        token="expired", challenge=challenge, expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    for link in (organization_link, other_link, expired):
        with pytest.raises(ValidationError) as refused:
            widget_update(actor=admin, challenge_id=challenge.pk, join_link_id=link.pk)
        assert "join_link" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        widget_update(actor=UserFactory.create(), challenge_id=challenge.pk, join_link_id=None)
    assert not Widget.objects.exists()


def test_an_admin_chooses_the_widget_button_on_its_settings_page(client_a, in_org_a):
    admin = UserFactory.create(role=ORG_ADMIN)
    client_a.force_login(admin)
    challenge = ChallengeFactory.create(title="Bike week")
    link = JoinLink.objects.create(token="bike-week-link", label="Intranet news", challenge=challenge)

    page = client_a.get(f"/manage/challenges/{challenge.pk}/widget/").content.decode()
    assert f"/embed/challenges/{challenge.pk}/" in page
    assert "Intranet news" in page
    response = client_a.post(f"/manage/challenges/{challenge.pk}/widget/", {"join_link": str(link.pk)})

    assert response.status_code == 302
    assert _widget_button(client_a, challenge) == f"/join/{link.token}/"
    refused = client_a.post(f"/manage/challenges/{challenge.pk}/widget/", {"join_link": "999"})
    assert refused.status_code == 200
    assert _widget_button(client_a, challenge) == f"/join/{link.token}/"


def test_the_widget_of_a_finished_challenge_links_to_its_page_without_a_join_button(anonymous):
    challenge = ChallengeFactory.create(status=Status.CANCELLED)

    page = anonymous.get(f"/embed/challenges/{challenge.pk}/").content.decode()

    assert ">Join<" not in page
    assert f'href="/challenges/{challenge.pk}/" target="_top">See the challenge' in page


def test_every_other_page_refuses_to_be_framed_and_allows_only_its_own_files(client, participant):
    challenge = ChallengeFactory.create()
    team = TeamFactory.create()
    paths = [
        "/",
        f"/challenges/{challenge.pk}/",
        f"/teams/{team.pk}/",
        *PARTICIPANT_GETS,
        "/account/sign-in/",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["X-Frame-Options"] == "DENY", path
        policy = _csp(response)
        assert policy["frame-ancestors"] == "'none'", path
        assert policy["default-src"] == "'self'"
        assert policy["script-src"] == "'self'"
        assert policy["img-src"] == "'self' data:"
        assert policy["form-action"] == "'self'"
        assert policy["base-uri"] == "'self'"
        assert "unsafe-inline" not in response["Content-Security-Policy"], path
    # A redirect and a 404 carry the policy too
    assert _csp(client.get("/challenges/999999/"))["frame-ancestors"] == "'none'"


def test_the_brand_colour_comes_in_the_one_inline_style_the_policy_allows_by_its_nonce(client, org_a):
    response = client.get("/")

    page = response.content.decode()
    nonce = _search(r"'nonce-([^']+)'", _csp(response)["style-src"]).group(1)
    styles = re.findall(r"<style([^>]*)>([^<]*)</style>", page)
    assert styles == [(f' nonce="{nonce}"', f":root {{ --brand: {org_a.brand_color}; }}")]
    assert 'style="' not in page
    # A new nonce for every response
    assert _search(r"'nonce-([^']+)'", _csp(client.get("/"))["style-src"]).group(1) != nonce


def test_the_error_pages_inline_style_is_allowed_by_its_hash():
    import base64
    import hashlib
    from pathlib import Path

    template = (Path(settings.BASE_DIR) / "templates" / "plain.html").read_text()
    styles = re.findall(r"<style>(.*?)</style>", template, re.S)
    digests = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in styles
    }
    assert digests == {settings.PLAIN_PAGE_STYLE_HASH}
    policy: Any = settings.CONTENT_SECURITY_POLICY
    assert settings.PLAIN_PAGE_STYLE_HASH in policy["DIRECTIVES"]["style-src"]


def test_the_api_docs_page_alone_allows_its_inline_script_and_is_still_never_framed(client_a, in_org_a):
    response = client_a.get("/api/docs/")

    assert response.status_code == 200
    policy = _csp(response)
    assert policy["script-src"] == "'self' 'unsafe-inline'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["frame-ancestors"] == "'none'"
    assert "<script>" in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"
