"""WCAG 2.1 AA, checked by axe-core in Chromium: every page a participant sees, in an English company
(alpha) and a French municipality (beta).

Coming in: the join page (blank, sent back with errors), a join link unknown, revoked or expired, the
"check your inbox" pages, the sign-in page of a one-time link and its refusals (used, expired), signing
in by e-mail (blank, sent back with errors), too many requests. Taking part: the home page signed out
and signed in, the challenge page of each kind of goal (participants, quantity, skills), open and
succeeded, and with its forms sent back with errors; my activity, my team, my name and language, my
data (and its erasure sent back unconfirmed), the teams, one team, and the widget intranets frame.
Each page is also checked at 320 CSS pixels wide (reflow, which axe cannot see).
"""

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from accounts.roles import ORG_ADMIN, PARTICIPANT
from challenges import services
from challenges.models import Challenge, Metric, SkillSlot
from core import ratelimit
from participants.models import JoinLink, SignInLink
from participants.services import SIGN_IN_LINK_LIFETIME, sign_in_secret_hash
from tests.browser.support import (
    ORGANIZATIONS,
    assert_accessible,
    organization,
    sign_in,
)
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.browser

GoalKind = Challenge.GoalKind

TEXTS = {
    "en": {
        "participants": "Lights off at 6 pm",
        "quantity": "1,000 km by bike",
        "skills": "Repair café",
        "counterpart": "A bike shelter at the back door",
        "teams": ("Marketing", "Research"),
        "skills_needed": ("Electronics", "Sewing"),
        "name": "Pat Participant",
    },
    "fr": {
        "participants": "Lumières éteintes à 18 h",
        "quantity": "1 000 km à vélo",
        "skills": "Café réparation",
        "counterpart": "Un abri à vélos derrière la mairie",
        "teams": ("Les Vignes", "Le Port"),
        "skills_needed": ("Électronique", "Couture"),
        "name": "Pascale Participante",
    },
}


def _secret_link(**fields: Any) -> str:
    """A one-time sign-in link as the e-mail carries it: its secret (only the hash is stored)."""
    secret = secrets.token_urlsafe(32)
    SignInLink.objects.create(key_hash=sign_in_secret_hash(secret), **fields)
    return secret


def _organization_data(slug: str) -> dict[str, Any]:
    """Committed: a participant in a team, and a challenge of each kind of goal, open and succeeded."""
    org = organization(slug)
    text = TEXTS[str(org.locale)]
    now = timezone.now()
    today = timezone.localdate(now)
    with tenant_context(org):
        admin = UserFactory.create(email=f"part-admin@{slug}.test", display_name="Ada Admin", role=ORG_ADMIN)
        me = UserFactory.create(
            email=f"part-me@{slug}.test", display_name=text["name"], role=PARTICIPANT, show_name=True
        )
        others = [
            UserFactory.create(email=f"part-{i}@{slug}.test", role=PARTICIPANT, show_name=bool(i % 2))
            for i in range(3)
        ]
        teams = [TeamFactory.create(name=name, captain=admin) for name in text["teams"]]
        for index, person in enumerate([me, *others]):
            services.team_join(actor=person, team=teams[index % 2])

        def challenge(kind: str, number: str, **fields: Any) -> Challenge:
            title = f"{text[kind]} ({number})"
            return ChallengeFactory.create(title=title, goal_kind=kind, action=text[kind], **fields)

        # Participants goal: open, nobody but others pledged (the pledge button shows); and succeeded
        # with my pledge, so that I am asked to confirm, and its counterpart due.
        participants_open = challenge(GoalKind.PARTICIPANTS, "1", goal_target=Decimal(10))
        services.pledge_create(actor=others[0], challenge_id=participants_open.pk)
        participants_won = challenge(GoalKind.PARTICIPANTS, "2", goal_target=Decimal(2))
        CounterpartFactory.create(challenge=participants_won, description=text["counterpart"])
        for person in (me, others[1]):
            services.pledge_create(actor=person, challenge_id=participants_won.pk)

        # Quantity goal: open, with my entries (the log form, my latest entries); and succeeded.
        km = {"metric": Metric.objects.get(key="km-cycled"), "starts_at": now - dt.timedelta(days=3)}
        quantity_open = challenge(GoalKind.QUANTITY, "1", goal_target=Decimal(1000), **km)
        quantity_won = challenge(GoalKind.QUANTITY, "2", goal_target=Decimal(50), **km)
        for target, person, amount in [
            (quantity_open, me, 12),
            (quantity_open, others[0], 30),
            (quantity_won, me, 30),
            (quantity_won, others[2], 25),
        ]:
            services.contribution_create(
                actor=person, challenge_id=target.pk, day=today, amount=Decimal(amount)
            )

        # Skills goal: open, not offered yet (the offer form); and succeeded, every slot filled, with my
        # hours logged on mine.
        skills_open = challenge(GoalKind.SKILLS, "1", goal_target=None)
        skills_won = challenge(GoalKind.SKILLS, "2", goal_target=None)
        for target, count, hours_needed in [(skills_open, 2, Decimal(20)), (skills_won, 1, Decimal(3))]:
            slots = [
                SkillSlot.objects.create(challenge=target, skill=skill, count=count, hours=hours)
                for skill, hours in zip(text["skills_needed"], (hours_needed, None), strict=True)
            ]
            if target == skills_open:
                services.pledge_create(actor=others[0], challenge_id=target.pk, skill_slot_id=slots[0].pk)
            else:
                services.pledge_create(actor=me, challenge_id=target.pk, skill_slot_id=slots[0].pk)
                services.contribution_create(
                    actor=me, challenge_id=target.pk, day=today, amount=Decimal(3), skill_slot_id=slots[0].pk
                )
                services.pledge_create(actor=others[1], challenge_id=target.pk, skill_slot_id=slots[1].pk)

        join_link = JoinLink.objects.create(
            token=secrets.token_urlsafe(32), label="Intranet", challenge=quantity_open, created_by=admin
        )
        revoked = JoinLink.objects.create(token=secrets.token_urlsafe(32), revoked_at=now, created_by=admin)
        expired = JoinLink.objects.create(
            token=secrets.token_urlsafe(32), expires_at=now - dt.timedelta(days=1), created_by=admin
        )
        link_fields = {"email": f"part-new@{slug}.test", "join_link": join_link, "challenge": quantity_open}
        secret = _secret_link(expires_at=now + SIGN_IN_LINK_LIFETIME, **link_fields)
        used_secret = _secret_link(expires_at=now + SIGN_IN_LINK_LIFETIME, used_at=now, **link_fields)
        expired_secret = _secret_link(expires_at=now - dt.timedelta(minutes=1), **link_fields)

        for won in (participants_won, quantity_won, skills_won):
            won.refresh_from_db()
            assert won.status == Challenge.Status.SUCCEEDED, won.title

    return {
        "session": sign_in(slug, me),
        "participants_open": participants_open.pk,
        "participants_won": participants_won.pk,
        "quantity_open": quantity_open.pk,
        "quantity_won": quantity_won.pk,
        "skills_open": skills_open.pk,
        "skills_won": skills_won.pk,
        "team": teams[0].pk,
        "join_token": join_link.token,
        "revoked_token": revoked.token,
        "expired_token": expired.token,
        "secret": secret,
        "used_secret": used_secret,
        "expired_secret": expired_secret,
    }


@pytest.fixture(scope="module")
def site(company_email_domains: list[str]) -> dict[str, dict[str, Any]]:
    """Committed, then deleted by `browser_cleanup` (tests/browser/conftest.py)."""
    return {slug: _organization_data(slug) for slug in ORGANIZATIONS}


# Signed out: (path, status).
PAGES_SIGNED_OUT = {
    "home, signed out": ("/", 200),
    "join": ("/join/{join_token}/", 200),
    "join link unknown": ("/join/no-such-token/", 404),
    "join link revoked": ("/join/{revoked_token}/", 410),
    "join link expired": ("/join/{expired_token}/", 410),
    "check your inbox after joining": ("/join/{join_token}/sent/", 200),
    "sign-in link": ("/account/sign-in/{secret}/", 200),
    "sign-in link already used": ("/account/sign-in/{used_secret}/", 410),
    "sign-in link expired": ("/account/sign-in/{expired_secret}/", 410),
    "sign in by e-mail": ("/account/email-link/", 200),
    "check your inbox after asking for a link": ("/account/email-link/sent/", 200),
    "widget, open challenge": ("/embed/challenges/{quantity_open}/", 200),
    "widget, succeeded challenge": ("/embed/challenges/{participants_won}/", 200),
}
# Signed in as a participant.
PAGES_SIGNED_IN = {
    "home, signed in": "/",
    "participants goal, open": "/challenges/{participants_open}/",
    "participants goal, succeeded, pledged": "/challenges/{participants_won}/",
    "quantity goal, open, entries logged": "/challenges/{quantity_open}/",
    "quantity goal, succeeded": "/challenges/{quantity_won}/",
    "skills goal, open": "/challenges/{skills_open}/",
    "skills goal, succeeded, hours logged": "/challenges/{skills_won}/",
    "my activity": "/me/",
    "my team": "/me/team/",
    "my name and language": "/me/privacy/",
    "my data": "/me/data/",
    "teams": "/teams/",
    "teams in one challenge": "/teams/?challenge={quantity_open}",
    "a team": "/teams/{team}/",
}


@pytest.mark.parametrize("slug", ORGANIZATIONS)
@pytest.mark.parametrize("name", PAGES_SIGNED_OUT)
def test_pages_for_people_coming_in_meet_wcag_aa(shared_page_for, axe_source, site, slug, name):
    page = shared_page_for(slug)
    path, status = PAGES_SIGNED_OUT[name]

    response = page.goto(path.format(**site[slug]))

    assert response.status == status
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
@pytest.mark.parametrize("name", PAGES_SIGNED_IN)
def test_participant_pages_meet_wcag_aa(shared_page_for, axe_source, site, slug, name):
    page = shared_page_for(slug, session_key=site[slug]["session"])

    response = page.goto(PAGES_SIGNED_IN[name].format(**site[slug]))

    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == ("fr" if slug == "beta" else "en")
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_each_language_is_named_in_its_own_language(shared_page_for, site, slug):
    """WCAG 3.1.2, which axe does not check: words in another language than the page's say which."""
    page = shared_page_for(slug, session_key=site[slug]["session"])

    page.goto("/me/privacy/")

    expect(page.get_by_text("English", exact=True)).to_have_attribute("lang", "en")
    expect(page.get_by_text("Français", exact=True)).to_have_attribute("lang", "fr")


# Forms sent back with errors: (signed in, path, the submit button's label, how many inputs are marked
# invalid: each radio button of a choice counts).
FORMS_SENT_BACK = {
    "join, blank": (False, "/join/{join_token}/", "E-mail me a sign-in link", 2),
    "sign in by e-mail, blank": (False, "/account/email-link/", "Send me a sign-in link", 1),
    "quantity goal, log without an amount": (True, "/challenges/{quantity_open}/", "Log it", 1),
    "skills goal, offer without a skill": (True, "/challenges/{skills_open}/", "Offer myself", 2),
    "skills goal, log hours without an amount": (True, "/challenges/{skills_won}/", "Log it", 1),
    "erase my account, unconfirmed": (True, "/me/data/", "Erase my account", 1),
}


@pytest.mark.parametrize("slug", ORGANIZATIONS)
@pytest.mark.parametrize("name", FORMS_SENT_BACK)
def test_forms_sent_back_with_errors_meet_wcag_aa(shared_page_for, axe_source, site, slug, name, translated):
    signed_in, path, button, invalid = FORMS_SENT_BACK[name]
    page = shared_page_for(slug, session_key=site[slug]["session"] if signed_in else None)
    page.goto(path.format(**site[slug]))

    page.get_by_role("button", name=translated(slug, button)).click()

    summary = page.locator(".error-summary")
    summary.wait_for()
    assert page.locator("[aria-invalid=true]").count() == invalid
    assert_accessible(page, axe_source)
    # The summary's first link takes the keyboard to the field it names.
    summary.get_by_role("link").first.click()
    assert page.evaluate("() => document.activeElement.getAttribute('aria-invalid')") == "true"


def test_the_join_form_sent_back_with_an_address_outside_the_companys_domains_meets_wcag_aa(
    shared_page_for, axe_source, site, translated
):
    slug = "alpha"  # a company: its own domain only (beta, a town, takes any address)
    page = shared_page_for(slug)
    page.goto(f"/join/{site[slug]['join_token']}/")

    page.get_by_label(translated(slug, "Your e-mail address")).fill("someone@elsewhere.test")
    page.get_by_label(translated(slug, "Your name")).fill("Someone")
    page.get_by_role("button", name=translated(slug, "E-mail me a sign-in link")).click()

    page.locator(".error-summary").wait_for()
    assert page.locator("[aria-invalid=true]").count() == 1
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_the_too_many_requests_page_meets_wcag_aa(
    shared_page_for, axe_source, site, slug, translated, monkeypatch
):
    # The server runs in this process: with no request allowed per address, the next one is refused.
    monkeypatch.setattr(
        ratelimit,
        "PER_ADDRESS",
        ratelimit.Limit("address", requests=0, seconds=15 * 60, requests_everywhere=0),
    )
    page = shared_page_for(slug)
    page.goto(f"/join/{site[slug]['join_token']}/")

    page.get_by_label(translated(slug, "Your e-mail address")).fill(f"flooded@{slug}.test")
    page.get_by_label(translated(slug, "Your name")).fill("Flo")
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.get_by_role("button", name=translated(slug, "E-mail me a sign-in link")).click()

    assert answer.value.status == 429
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == translated(slug, "Too many requests")
    assert_accessible(page, axe_source)


# Pages known not to reflow yet, and why; the test fails once they do, so that they leave this list.
REFLOW_PENDING: dict[str, str] = {}
# Elements that scroll sideways: each must take the keyboard's focus and have a name (WCAG 2.1.1).
SCROLLING_REGIONS = """() => [...document.querySelectorAll('body *')]
    .filter((e) => e.scrollWidth > e.clientWidth)
    .filter((e) => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
    .filter((e) => e.tabIndex < 0 || !(e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')))
    .map((e) => e.outerHTML.slice(0, 120))"""


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_participant_pages_reflow_on_a_320_pixel_wide_screen(page_for, site, slug):
    """WCAG 1.4.10, which axe does not check: at 320 CSS pixels, the page itself never scrolls sideways.

    Wide tables scroll inside their own region, which the keyboard can reach.
    """
    signed_out = page_for(slug)
    signed_in = page_for(slug, session_key=site[slug]["session"])
    pages = [(signed_out, name, path) for name, (path, _status) in PAGES_SIGNED_OUT.items()]
    pages += [(signed_in, name, path) for name, path in PAGES_SIGNED_IN.items()]
    widths, unreachable = {}, {}

    for page, name, path in pages:
        page.set_viewport_size({"width": 320, "height": 640})
        page.goto(path.format(**site[slug]))
        widths[name] = page.evaluate("() => document.documentElement.scrollWidth")
        if regions := page.evaluate(SCROLLING_REGIONS):
            unreachable[name] = regions

    too_wide = {name: width for name, width in widths.items() if width > 320 and name not in REFLOW_PENDING}
    fixed = [name for name in REFLOW_PENDING if widths[name] <= 320]
    assert not too_wide, f"These pages scroll sideways at 320 px (their width in px): {too_wide}"
    assert not fixed, f"These pages reflow now: remove them from REFLOW_PENDING: {fixed}"
    assert not unreachable, f"These regions scroll but the keyboard cannot reach them: {unreachable}"
