"""WCAG 2.1 AA, checked by axe-core in Chromium, on the public site's sign-up pages, in English and in
French (the browser's language chooses the public site's): the form (blank, and sent back with an
error next to each field), "check your inbox", the confirmation page, a refused link, the progress
page in each state (under way, failed, failed for a taken address, ready, none in this browser), and
the welcome page on the new organisation's host. Each is also checked at 320 CSS pixels wide.

The sign-ups are committed rows (the live server's threads see only those) and are deleted when the
module is over; no organisation is provisioned here (tests/browser/test_journey_signup.py does).
"""

import datetime as dt
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import Browser, Page

from participants.handoff import handoff_link_path
from tenants import signup as signups
from tenants.db import tenant_connection
from tenants.models import SignupRequest
from tests.browser.signup_support import LANGUAGES, public_page_open
from tests.browser.support import LiveServer, assert_accessible, organization

pytestmark = pytest.mark.browser

Status, Failure = SignupRequest.Status, SignupRequest.Failure


def _signup(slug: str, **fields: Any) -> tuple[SignupRequest, str]:
    tenant_connection().set_schema_to_public()
    secret = secrets.token_urlsafe(32)
    signup = SignupRequest.objects.create(
        email=f"a11y@{slug}.test",
        person_name="Ada Admin",
        organization_name=f"A11y {slug}",
        slug=slug,
        kind="municipality",
        locale="fr",
        language="en",
        key_hash=signups.secret_hash(secret),
        expires_at=timezone.now() + dt.timedelta(hours=24),
        **fields,
    )
    return signup, secret


def _session_for(signup: SignupRequest, *, handed_off: bool = False) -> str:
    """A public-site session that confirmed `signup`: its key, for the browser's cookie."""
    tenant_connection().set_schema_to_public()
    store = SessionStore()
    store["signup:current"] = {"id": signup.pk, "handed_off": handed_off}
    store.create()
    return str(store.session_key)


@pytest.fixture(scope="module")
def signups_made(browser_db: None) -> Iterator[dict[str, Any]]:
    """Committed: a pending sign-up (its secret), and one in each state the progress page shows, each
    with a session; deleted with their sessions when the module is over."""
    started = timezone.now()
    pending, secret = _signup("a11y-pending")
    running, _ = _signup("a11y-running", status=Status.PROVISIONING, step="space")
    failed, _ = _signup("a11y-failed", status=Status.FAILED, failure=Failure.ERROR)
    taken, _ = _signup("a11y-taken", status=Status.FAILED, failure=Failure.SLUG_TAKEN)
    ready, _ = _signup("a11y-ready", status=Status.READY, step="ready", organization=organization("beta"))
    sessions = {
        "running": _session_for(running),
        "failed": _session_for(failed),
        "taken": _session_for(taken),
        "ready": _session_for(ready, handed_off=True),
    }
    yield {"secret": secret, "sessions": sessions, "pending": pending}
    tenant_connection().set_schema_to_public()
    SignupRequest.objects.filter(created_at__gte=started).delete()
    Session.objects.filter(session_key__in=sessions.values()).delete()


@pytest.fixture
def public_page(browser: Browser, web_server: LiveServer) -> Iterator[Callable[..., Page]]:
    """`public_page(language, session_key=None)`: a page on the public site."""
    pages: list[Page] = []

    def open_page(language: str, *, session_key: str | None = None) -> Page:
        pages.append(public_page_open(browser, web_server, language, session_key))
        return pages[-1]

    yield open_page
    for page in pages:
        page.context.close()


def _pages(made: dict[str, Any]) -> dict[str, tuple[str, str | None, int]]:
    """Each page checked: its path, the session it needs, and the status it answers."""
    sessions = made["sessions"]
    return {
        "landing": ("/", None, 200),
        "form": ("/signup/", None, 200),
        "check your inbox": ("/signup/sent/", None, 200),
        "confirm": (f"/signup/confirm/?key={made['secret']}", None, 200),
        "unknown link": ("/signup/confirm/?key=no-such-confirmation-key-0123456789", None, 404),
        "no sign-up here": ("/signup/progress/", None, 404),
        "under way": ("/signup/progress/?refresh=off", sessions["running"], 200),
        "failed": ("/signup/progress/", sessions["failed"], 200),
        "address taken": ("/signup/progress/", sessions["taken"], 200),
        "ready": ("/signup/progress/", sessions["ready"], 200),
    }


PAGE_NAMES = [
    "landing",
    "form",
    "check your inbox",
    "confirm",
    "unknown link",
    "no sign-up here",
    "under way",
    "failed",
    "address taken",
    "ready",
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PAGE_NAMES)
def test_sign_up_pages_meet_wcag_aa(public_page, axe_source, signups_made, language, name):
    path, session, status = _pages(signups_made)[name]
    page = public_page(language, session_key=session)

    response = page.goto(path)

    assert response is not None
    assert response.status == status
    assert page.locator("html").get_attribute("lang") == language
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_form_sent_back_with_errors_meets_wcag_aa(public_page, axe_source, signups_made, language):
    page = public_page(language)
    page.goto("/signup/")
    # A reserved address, a bad e-mail address, nothing else: an error next to each field.
    page.locator("#id_slug").fill("admin")
    page.locator("#id_email").fill("not an address")
    page.locator("form.stacked button[type=submit]").click()
    summary = page.locator(".error-summary")
    summary.wait_for()

    assert page.locator("[aria-invalid=true]").count() >= 5
    assert page.locator("fieldset[aria-describedby='id_kind_error']").count() == 1
    assert_accessible(page, axe_source)
    # The summary's first link takes the keyboard to the field it names.
    summary.locator("a").first.click()
    assert page.evaluate("() => document.activeElement.getAttribute('aria-invalid')") == "true"
    assert not SignupRequest.objects.filter(slug="admin").exists()


@pytest.mark.parametrize("slug", ["alpha", "beta"])
def test_the_welcome_page_on_the_new_host_meets_wcag_aa(shared_page_for, axe_source, slug):
    with tenant_context(organization(slug)):
        path = handoff_link_path(email=f"admin@{slug}.test", display_name="")
    page = shared_page_for(slug)

    response = page.goto(path)

    assert response is not None
    assert response.status == 200
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("language", LANGUAGES)
def test_sign_up_pages_reflow_on_a_320_pixel_wide_screen(public_page, signups_made, language):
    """WCAG 1.4.10, which axe does not check: at 320 CSS pixels, no page scrolls sideways."""
    widths = {}
    for name, (path, session, _status) in _pages(signups_made).items():
        page = public_page(language, session_key=session)
        page.set_viewport_size({"width": 320, "height": 640})
        page.goto(path)
        widths[name] = page.evaluate("() => document.documentElement.scrollWidth")

    too_wide = {name: width for name, width in widths.items() if width > 320}
    assert not too_wide, f"These pages scroll sideways at 320 px (their width in px): {too_wide}"
