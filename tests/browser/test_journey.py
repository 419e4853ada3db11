"""The participant's journey in Chromium, in both languages, from the join link to the progress it makes.

alpha, an English company that takes @alpha.test addresses only, runs a quantity challenge: its admin
makes the join link on the manager pages. beta, a French town that takes any address, runs a
participants challenge: its join link comes from the service. A newcomer opens the join link, gives an
address and a name, reads the sign-in e-mail (in the organisation's language) from the test outbox,
follows it, signs in, lands on the challenge, picks a team, comes back, pledges, logs what they did
(quantity goal), and sees the progress move. Then the refusals: an address outside the company's
domains, a sign-in link used already, and one that has expired.
"""

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.roles import ORG_ADMIN, PARTICIPANT
from challenges import services
from challenges.models import Challenge, Metric, Pledge, TeamMembership
from participants import services as access
from participants.models import SignInLink
from tests.browser.support import ORGANIZATIONS, organization, sign_in
from tests.factories import ChallengeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.browser

GoalKind = Challenge.GoalKind
SIGN_IN_LINK = re.compile(r"https?://\S+?(/account/sign-in/[\w-]+/)")

# What each organisation runs, and what its pages and e-mails say in its language.
JOURNEYS: dict[str, dict[str, Any]] = {
    "alpha": {
        "title": "Cycle to work week",
        "teams": ("Accounting", "Warehouse"),
        "name": "Noor Newcomer",
        "subject": "Your sign-in link for Alpha Corp",
        "greeting": "Hello,",
        "progress": ["20 of 100 km (20 %)", "20 of 100 km (20 %)", "35 of 100 km (35 %)"],
        "percent": ["20", "20", "35"],
    },
    "beta": {
        "title": "Zéro déchet au marché",
        "teams": ("Quartier de la gare", "Vieille ville"),
        "name": "Noémie Nouvelle",
        "subject": "Votre lien de connexion à Beta Town",
        "greeting": "Bonjour,",
        "progress": ["1 sur 4 participants (25 %)", "2 sur 4 participants (50 %)"],
        "percent": ["25", "50"],
    },
}
# A few strings of the French pages, as written in the catalogue: beta's pages must show them.
FRENCH = {
    "pledge": "Je m'engage",
    "sign in": "Se connecter",
    "inbox": "Consultez votre boîte de réception",
    "used": "Ce lien de connexion a déjà été utilisé",
    "expired": "Ce lien de connexion a expiré",
}


def _organization_data(slug: str) -> dict[str, Any]:
    """Committed: an admin, two teams, the challenge with a first participant; beta's join link."""
    org = organization(slug)
    journey = JOURNEYS[slug]
    now = timezone.now()
    with tenant_context(org):
        admin = UserFactory.create(email=f"journey-admin@{slug}.test", role=ORG_ADMIN)
        first = UserFactory.create(email=f"journey-first@{slug}.test", role=PARTICIPANT)
        for name in journey["teams"]:
            TeamFactory.create(name=name, captain=admin)
        if slug == "alpha":
            challenge = ChallengeFactory.create(
                title=journey["title"],
                goal_kind=GoalKind.QUANTITY,
                goal_target=Decimal(100),
                metric=Metric.objects.get(key="km-cycled"),
                starts_at=now - dt.timedelta(days=3),
            )
            services.contribution_create(
                actor=first, challenge_id=challenge.pk, day=timezone.localdate(now), amount=Decimal(20)
            )
        else:
            challenge = ChallengeFactory.create(title=journey["title"], goal_target=Decimal(4))
            services.pledge_create(actor=first, challenge_id=challenge.pk)
        # Made by the service: for the refusals, and for beta's journey (alpha's admin makes theirs).
        join_link = access.join_link_create(actor=admin, challenge_id=challenge.pk, label="Newsletter")
    return {
        "admin_session": sign_in(slug, admin),
        "challenge": challenge.pk,
        "join_path": access.join_link_path(join_link),
    }


@pytest.fixture(scope="module")
def site(company_email_domains: list[str]) -> dict[str, dict[str, Any]]:
    """Committed, then deleted by `browser_cleanup` (tests/browser/conftest.py)."""
    return {slug: _organization_data(slug) for slug in ORGANIZATIONS}


def _join_link_made_on_the_manager_pages(page: Page, slug: str, title: str, t: Callable[..., str]) -> str:
    """The admin makes a join link to the challenge, and copies its address from the list."""
    page.goto("/manage/join-links/new/")
    page.get_by_label(t(slug, "Label (optional)")).fill("Intranet news")
    page.get_by_label(t(slug, "Where the link leads")).select_option(label=title)
    page.get_by_role("button", name=t(slug, "Create the join link")).click()

    expect(page).to_have_url(re.compile(r"/manage/join-links/$"))
    address = page.get_by_label(t(slug, "Address of the join link “%(label)s”") % {"label": "Intranet news"})
    return urlsplit(address.input_value()).path


def _ask_for_a_sign_in_link(page: Page, slug: str, email: str, name: str, t: Callable[..., str]) -> str:
    """On the join page, give an address and a name: the path of the link e-mailed to that address."""
    page.get_by_label(t(slug, "Your e-mail address")).fill(email)
    page.get_by_label(t(slug, "Your name")).fill(name)
    page.get_by_role("button", name=t(slug, "E-mail me a sign-in link")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t(slug, "Check your inbox"))
    expect(page.get_by_role("status")).to_contain_text(email)
    sent = [message for message in mail.outbox if message.to == [email]]
    assert len(sent) == 1, f"One e-mail to {email} expected, found {len(sent)}"
    found = SIGN_IN_LINK.search(str(sent[0].body))
    assert found, sent[0].body
    return found.group(1)


def _progress(page: Page, t: Callable[..., str], slug: str) -> tuple[str, str | None]:
    """The challenge's progress as the page shows it: its text, and the value of its progress bar."""
    bar = page.get_by_role("progressbar", name=t(slug, "Progress towards the goal"))
    text = page.locator(".progress-large .progress-text").inner_text()
    return " ".join(text.split()), bar.get_attribute("value")


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_a_newcomer_joins_signs_in_by_e_mail_picks_a_team_pledges_and_moves_the_progress(
    page_for, site, slug, translated
):
    t, journey, data = translated, JOURNEYS[slug], site[slug]
    french = slug == "beta"
    email = f"newcomer@{slug}.test"
    challenge_path = f"/challenges/{data['challenge']}/"

    # The join link: alpha's admin makes it on the manager pages; beta's came from the service.
    if slug == "alpha":
        admin = page_for(slug, session_key=data["admin_session"])
        join_path = _join_link_made_on_the_manager_pages(admin, slug, journey["title"], t)
    else:
        join_path = data["join_path"]

    # A newcomer opens it, and is e-mailed a sign-in link in the organisation's language.
    page = page_for(slug)
    page.goto(join_path)
    expect(page.locator("html")).to_have_attribute("lang", "fr" if french else "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text(journey["title"])
    sign_in_path = _ask_for_a_sign_in_link(page, slug, email, journey["name"], t)
    if french:
        expect(page.get_by_role("heading", level=1)).to_have_text(FRENCH["inbox"])
    message = next(message for message in mail.outbox if message.to == [email])
    assert message.subject == journey["subject"]
    assert message.body.startswith(journey["greeting"])
    assert journey["title"] in message.body

    # The link opens a page with a button: mail scanners that open links do not spend it.
    page.goto(sign_in_path)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t(slug, "Sign in to %(name)s") % {"name": organization(slug).name}
    )
    expect(page.get_by_role("main")).to_contain_text(email)
    sign_in_button = page.get_by_role("button", name=t(slug, "Sign in"), exact=True)
    if french:
        expect(sign_in_button).to_have_text(FRENCH["sign in"])
    sign_in_button.click()

    # Signed in, on the challenge the link was for.
    expect(page).to_have_url(re.compile(re.escape(challenge_path) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(journey["title"])
    my_team = page.get_by_role("navigation").get_by_role("link", name=t(slug, "My team"), exact=True)
    expect(my_team).to_be_visible()

    # A team: the pledges to come count for it.
    my_team.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(slug, "My team"))
    page.get_by_label(journey["teams"][1]).check()
    page.get_by_role("button", name=t(slug, "Join this team")).click()
    expect(page.get_by_role("status")).to_have_text(
        t(slug, "You are in the team “%(name)s”.") % {"name": journey["teams"][1]}
    )

    # Back to the challenge: pledge.
    page.goto(challenge_path)
    progress = [_progress(page, t, slug)]
    pledge_button = page.get_by_role("button", name=t(slug, "I pledge"))
    if french:
        expect(pledge_button).to_have_text(FRENCH["pledge"])
    pledge_button.click()
    expect(page.get_by_role("status")).to_have_text(
        t(slug, "You pledged. It counts as soon as enough others join.")
    )
    expect(page.get_by_role("button", name=t(slug, "Withdraw my pledge"))).to_be_visible()
    progress.append(_progress(page, t, slug))

    # A quantity goal: log what was done.
    if slug == "alpha":
        page.get_by_label(t(slug, "Amount (%(unit)s)") % {"unit": "km"}).fill("15")
        page.get_by_label(t(slug, "Note (optional)")).fill("Home to the office and back")
        page.get_by_role("button", name=t(slug, "Log it")).click()
        today = timezone.localdate(timezone=zoneinfo.ZoneInfo(organization(slug).timezone))
        expect(page.get_by_role("status")).to_have_text(
            t(slug, "Logged: %(amount)s %(unit)s on %(day)s.")
            % {"amount": "15", "unit": "km", "day": today.isoformat()}
        )
        expect(page.get_by_role("table", name=t(slug, "Your latest entries"))).to_contain_text(
            "Home to the office and back"
        )
        progress.append(_progress(page, t, slug))

    assert [text for text, _value in progress] == journey["progress"]
    assert [value for _text, value in progress] == journey["percent"]
    with tenant_context(organization(slug)):
        newcomer = User.objects.get(email=email)
        assert newcomer.display_name == journey["name"]
        assert newcomer.has_perm("accounts.view_dashboard") is False
        team = TeamMembership.objects.get(user=newcomer).team
        assert team.name == journey["teams"][1]
        pledge = Pledge.objects.get(user=newcomer, challenge_id=data["challenge"])
        assert pledge.team == team

    # The link from the e-mail, opened again, is spent.
    response = page.goto(sign_in_path)
    assert response is not None
    assert response.status == 410
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(t(slug, "This sign-in link has already been used"))
    if french:
        expect(heading).to_have_text(FRENCH["used"])


def test_a_company_address_outside_the_allowed_domains_is_refused_next_to_the_field(
    page_for, site, translated
):
    t, slug, email = translated, "alpha", "noor@gmail.test"
    page = page_for(slug)
    page.goto(site[slug]["join_path"])
    field = page.get_by_label(t(slug, "Your e-mail address"))
    refusal = t(slug, "Use your work address, ending in %(domains)s.") % {"domains": "@alpha.test"}

    field.fill(email)
    page.get_by_label(t(slug, "Your name")).fill("Noor")
    page.get_by_role("button", name=t(slug, "E-mail me a sign-in link")).click()

    # Back on the join page: the error is said next to the field, and in the summary on top.
    expect(page.get_by_role("alert")).to_contain_text(refusal)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(refusal)))
    expect(field).to_have_value(email)
    assert not [message for message in mail.outbox if email in message.to]
    with tenant_context(organization(slug)):
        assert not SignInLink.objects.filter(email=email).exists()


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_an_expired_sign_in_link_is_refused_and_offers_a_new_one(page_for, site, slug, translated):
    t = translated
    email = f"late@{slug}.test"
    page = page_for(slug)
    page.goto(site[slug]["join_path"])
    sign_in_path = _ask_for_a_sign_in_link(page, slug, email, "Lou", t)
    with tenant_context(organization(slug)):
        SignInLink.objects.filter(email=email).update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    response = page.goto(sign_in_path)

    assert response is not None
    assert response.status == 410
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(t(slug, "This sign-in link has expired"))
    if slug == "beta":
        expect(heading).to_have_text(FRENCH["expired"])
    expect(page.get_by_role("button", name=t(slug, "Sign in"), exact=True)).to_have_count(0)
    # Its join link still works: the page leads back to it for a new link.
    page.get_by_role("link", name=t(slug, "Ask for a new link")).click()
    expect(page).to_have_url(re.compile(re.escape(site[slug]["join_path"]) + "$"))
    with tenant_context(organization(slug)):
        assert not User.objects.filter(email=email).exists()
