"""WCAG 2.1 AA, checked by axe-core in Chromium: the pages that exist today, in an English company (alpha)
and a French municipality (beta). The home page, the sign-in page and the manager pages: challenge list,
new challenge (blank, from a template, sent back with errors), the dashboard of each kind of goal and
state, editing and cancelling a draft, teams (list, form, form sent back with errors), join links (list,
form), a page not found. Each page is also checked at 320 CSS pixels wide (reflow, which axe cannot see).
"""

import datetime as dt
import re
import secrets
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.roles import ORG_ADMIN, PARTICIPANT
from challenges import services
from challenges.models import Challenge, Metric, SkillSlot
from participants.models import JoinLink
from tests.browser.support import (
    ORGANIZATIONS,
    assert_accessible,
    axe_violations,
    organization,
    sign_in,
    violations_text,
)
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.browser

GoalKind, Status = Challenge.GoalKind, Challenge.Status

TEXTS = {
    "en": {
        "participants": "One organic product a week",
        "quantity": "10,000 km by bike",
        "skills": "Build a shared garden",
        "draft": "Car-free day",
        "counterpart": "15 % organic food in the canteen",
        "teams": ("Finance", "Logistics"),
        "skills_needed": ("Carpentry", "Accounting"),
    },
    "fr": {
        "participants": "Un produit bio par semaine",
        "quantity": "10 000 km à vélo",
        "skills": "Construire un jardin partagé",
        "draft": "Journée sans voiture",
        "counterpart": "15 % de bio à la cantine",
        "teams": ("Centre-ville", "Les Prés"),
        "skills_needed": ("Menuiserie", "Comptabilité"),
    },
}


def _organization_data(slug: str) -> dict[str, Any]:
    """Committed: an admin, two teams with members, and a challenge of each kind of goal and state."""
    org = organization(slug)
    text = TEXTS[str(org.locale)]
    now = timezone.now()
    with tenant_context(org):
        admin = UserFactory.create(email=f"a11y-admin@{slug}.test", display_name="Ada Admin", role=ORG_ADMIN)
        people = [
            UserFactory.create(email=f"a11y-{i}@{slug}.test", role=PARTICIPANT, show_name=bool(i % 2))
            for i in range(4)
        ]
        teams = [TeamFactory.create(name=name, captain=admin) for name in text["teams"]]
        for index, person in enumerate(people):
            services.team_join(actor=person, team=teams[index % 2])

        # Succeeded: its counterpart is due, so the dashboard shows the delivery form.
        succeeded = ChallengeFactory.create(
            title=text["participants"], goal_target=Decimal(2), action=text["participants"]
        )
        CounterpartFactory.create(
            challenge=succeeded, description=text["counterpart"], amount=Decimal(500), currency="EUR"
        )
        for person in people[:2]:
            services.pledge_create(actor=person, challenge_id=succeeded.pk)

        quantity = ChallengeFactory.create(
            title=text["quantity"],
            goal_kind=GoalKind.QUANTITY,
            goal_target=Decimal(10_000),
            metric=Metric.objects.get(key="km-cycled"),
            starts_at=now - dt.timedelta(days=3),
        )
        for person, km in zip(people, (12, 30, 7), strict=False):
            services.contribution_create(
                actor=person, challenge_id=quantity.pk, day=timezone.localdate(now), amount=Decimal(km)
            )

        skills = ChallengeFactory.create(title=text["skills"], goal_kind=GoalKind.SKILLS, goal_target=None)
        slots = [
            SkillSlot.objects.create(challenge=skills, skill=skill, count=2, hours=hours)
            for skill, hours in zip(text["skills_needed"], (Decimal(20), None), strict=True)
        ]
        services.pledge_create(actor=people[2], challenge_id=skills.pk, skill_slot_id=slots[0].pk)

        draft = ChallengeFactory.create(title=text["draft"], status=Status.DRAFT, created_by=admin)
        CounterpartFactory.create(challenge=draft, description=text["counterpart"])

        for label, challenge, revoked_at in [
            ("Intranet", None, None),
            ("Newsletter", succeeded, None),
            ("", quantity, now - dt.timedelta(days=1)),
        ]:
            JoinLink.objects.create(
                token=secrets.token_urlsafe(32),
                label=label,
                challenge=challenge,
                created_by=admin,
                revoked_at=revoked_at,
            )

    return {
        "session": sign_in(slug, admin),
        "succeeded": succeeded.pk,
        "quantity": quantity.pk,
        "skills": skills.pk,
        "draft": draft.pk,
        "team": teams[0].pk,
        "person": people[1].pk,
    }


@pytest.fixture(scope="module")
def site() -> dict[str, dict[str, Any]]:
    """Committed, then deleted by `browser_cleanup` (tests/browser/conftest.py)."""
    return {slug: _organization_data(slug) for slug in ORGANIZATIONS}


MANAGER_PAGES = {
    "challenge list": "/manage/challenges/",
    "new challenge": "/manage/challenges/new/",
    "new challenge from a template": "/manage/challenges/new/?template=community-garden",
    "dashboard, participants goal reached, counterpart due": "/manage/challenges/{succeeded}/",
    "dashboard, quantity goal": "/manage/challenges/{quantity}/",
    "dashboard, skills goal": "/manage/challenges/{skills}/",
    "dashboard, draft": "/manage/challenges/{draft}/",
    "history of a challenge": "/manage/challenges/{succeeded}/history/",
    "edit a draft": "/manage/challenges/{draft}/edit/",
    "cancel a draft": "/manage/challenges/{draft}/cancel/",
    "team list": "/manage/teams/",
    "new team": "/manage/teams/new/",
    "edit a team": "/manage/teams/{team}/edit/",
    "join links": "/manage/join-links/",
    "new join link": "/manage/join-links/new/",
    "organisation settings": "/manage/organization/",
    "people": "/manage/people/",
    "people, filtered": "/manage/people/?role=participant&status=active&q=a11y",
    "a person": "/manage/people/{person}/",
    "invite people": "/manage/people/invite/",
    "import people": "/manage/people/import/",
    "audit trail": "/manage/audit/",
    "page not found": "/manage/challenges/999999/",
}


def test_the_checker_finds_violations_where_there_are_some(shared_page_for, axe_source):
    page = shared_page_for("alpha")
    page.set_content("<title>Broken</title><main><img src='/static/none.png'><a href='/'></a></main>")

    violations = axe_violations(page, axe_source)

    assert {"html-has-lang", "image-alt", "link-name"} <= {violation["id"] for violation in violations}
    assert "image-alt (critical): Images must have alternative text" in violations_text(violations)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
@pytest.mark.parametrize("path", ["/", "/account/sign-in/"], ids=["home", "sign-in"])
def test_pages_for_everyone_meet_wcag_aa(shared_page_for, axe_source, site, slug, path):
    page = shared_page_for(slug)

    response = page.goto(path)

    assert response.status == 200
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
@pytest.mark.parametrize("name", MANAGER_PAGES)
def test_manager_pages_meet_wcag_aa(shared_page_for, axe_source, site, slug, name):
    page = shared_page_for(slug, session_key=site[slug]["session"])

    response = page.goto(MANAGER_PAGES[name].format(**site[slug]))

    assert response.status == (404 if name == "page not found" else 200)
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_the_new_challenge_form_sent_back_with_errors_meets_wcag_aa(shared_page_for, axe_source, site, slug):
    page = shared_page_for(slug, session_key=site[slug]["session"])
    page.goto("/manage/challenges/new/")

    # Nothing filled in: every required field comes back with its error, and the summary on top.
    page.locator("form.stacked button[type=submit]").click()

    summary = page.locator(".error-summary")
    summary.wait_for()
    assert page.locator("[aria-invalid=true]").count() >= 3
    assert_accessible(page, axe_source)
    # The summary's first link takes the keyboard to the field it names.
    summary.locator("a").first.click()
    assert page.evaluate("() => document.activeElement.getAttribute('aria-invalid')") == "true"


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_the_team_form_sent_back_with_errors_meets_wcag_aa(shared_page_for, axe_source, site, slug):
    page = shared_page_for(slug, session_key=site[slug]["session"])
    page.goto("/manage/teams/new/")

    # No name, and a captain nobody in the organisation is.
    page.locator("#id_captain_email").fill("nobody@example.test")
    page.locator("form.stacked button[type=submit]").click()

    page.locator(".error-summary").wait_for()
    assert_accessible(page, axe_source)


@pytest.mark.parametrize(("slug", "heading"), [("alpha", "Challenges"), ("beta", "Défis")])
def test_the_pages_are_in_the_organisations_language(shared_page_for, site, slug, heading):
    page = shared_page_for(slug, session_key=site[slug]["session"])

    page.goto("/manage/challenges/")

    assert page.locator("html").get_attribute("lang") == ("fr" if slug == "beta" else "en")
    assert page.get_by_role("heading", level=1).inner_text() == heading


# Pages known not to reflow yet, and why; the test fails once they do, so that they leave this list.
REFLOW_PENDING: dict[str, str] = {}


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_manager_pages_reflow_on_a_320_pixel_wide_screen(page_for, site, slug):
    """WCAG 1.4.10, which axe does not check: at 320 CSS pixels, the page itself never scrolls sideways.

    Wide tables scroll inside their own region (`.table-scroll`), which the keyboard can reach.
    """
    page = page_for(slug, session_key=site[slug]["session"])
    page.set_viewport_size({"width": 320, "height": 640})
    widths = {}

    for name, path in {"home": "/", **MANAGER_PAGES}.items():
        page.goto(path.format(**site[slug]))
        widths[name] = page.evaluate("() => document.documentElement.scrollWidth")

    too_wide = {name: width for name, width in widths.items() if width > 320 and name not in REFLOW_PENDING}
    fixed = [name for name in REFLOW_PENDING if widths[name] <= 320]
    assert not too_wide, f"These pages scroll sideways at 320 px (their width in px): {too_wide}"
    assert not fixed, f"These pages reflow now: remove them from REFLOW_PENDING: {fixed}"


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_the_settings_form_sent_back_with_errors_meets_wcag_aa(shared_page_for, axe_source, site, slug):
    page = shared_page_for(slug, session_key=site[slug]["session"])
    page.goto("/manage/organization/")

    page.locator("#id_name").fill("")
    page.locator("#id_headcount").fill("-4")
    page.locator("form.stacked button[type=submit]").first.click()

    page.locator(".error-summary").wait_for()
    assert page.locator("[aria-invalid=true]").count() >= 2
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_the_import_preview_with_bad_lines_meets_wcag_aa(shared_page_for, axe_source, site, slug):
    page = shared_page_for(slug, session_key=site[slug]["session"])
    page.goto("/manage/people/import/")
    team = TEXTS["en" if slug == "alpha" else "fr"]["teams"][0]
    csv = f"email;name;team;role\nnew-a11y@{slug}.test;Noor;{team};participant\nnot-an-address;X;;boss\n"

    page.locator("#id_file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    page.locator("form.stacked button[type=submit]").first.click()

    page.locator(".import-preview table").wait_for()
    assert page.locator(".import-preview tr.bad").count() >= 2
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_the_invitation_page_meets_wcag_aa(shared_page_for, axe_source, site, slug):
    from django.core import mail

    from accounts.models import User
    from accounts.people import person_invite

    org = organization(slug)
    mail.outbox = []
    with tenant_context(org):
        admin = User.objects.get(email=f"a11y-admin@{slug}.test")
        person_invite(actor=admin, email=f"a11y-exec-{secrets.token_hex(3)}@{slug}.test", role="executive")
    [message] = mail.outbox  # sent on commit: the browser tests' data is committed
    path = re.search(rf"http://{slug}\.localhost(?::\d+)?(/account/invitation/[^/\s]+/)", str(message.body))
    assert path, message.body
    page = shared_page_for(slug)

    response = page.goto(path.group(1))

    assert response.status == 200
    assert page.locator("input[type=password]").count() >= 1
    assert_accessible(page, axe_source)
