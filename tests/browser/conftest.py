"""Browser tests: Debian's Chromium, driven by Playwright, against the real application served live.

- `web_server`: the WSGI application in a thread of this process, on 127.0.0.1 and a free port, against
  the test database, static files included. Each organisation answers at `web_server.url("beta")`,
  http://beta.localhost:<port>/ (Chromium sends *.localhost to this machine by itself). E-mails the
  server sends land in `django.core.mail.outbox`, as in every other test.
- The server's threads see only committed data, so these tests do not run in a transaction that is
  rolled back (and `transactional_db` would flush the public schema, organisations included): what
  they create is committed, and `browser_cleanup` deletes it when the browser tests are over.
- `browser`: one Chromium for all the browser tests. `page_for("beta", session_key=...)` opens a page
  in a fresh context (no cookie but the session given) on that organisation's host;
  `shared_page_for` hands the same page to every test that asks with the same arguments (faster, for
  tests that only look).
- `translated(slug, text)`: a text of the pages in the organisation's language, from the catalogue.
- `company_email_domains`: alpha takes @alpha.test addresses only, until the browser tests are over.
- `axe_source` and tests/browser/support.py: axe-core (node_modules, installed by ./scripts/test.sh)
  checks WCAG 2.1 A and AA; `assert_accessible` fails on serious and critical violations and says
  which, where and how to fix them. `sign_in` makes a signed-in session for the browser's cookie.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connections
from django.test.testcases import LiveServerThread
from django.utils import timezone, translation
from django_tenants.utils import tenant_context
from playwright.sync_api import Browser, Page, sync_playwright

from accounts.models import AuditEntry, Notification, User
from challenges.models import Challenge, Contribution, Pledge, Team, TeamMembership
from participants.models import JoinLink, SignInLink
from tests.browser.support import (
    AXE_SCRIPT,
    CHROMIUM,
    CHROMIUM_ARGS,
    ORGANIZATIONS,
    LiveServer,
    organization,
)


@pytest.fixture(scope="package")
def browser_db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database access for the whole browser package: its tests, their fixtures, the server's threads."""
    with django_db_blocker.unblock():
        yield


# Not named `live_server`: pytest-django would then ask for `transactional_db` and flush every table.
@pytest.fixture(scope="package")
def web_server(browser_db: None) -> Iterator[LiveServer]:
    thread = LiveServerThread("127.0.0.1", StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield LiveServer(port=thread.port)
    finally:
        thread.terminate()


@pytest.fixture(scope="package")
def browser(browser_db: None) -> Iterator[Browser]:
    """One headless Chromium for every browser test: Debian's, never a downloaded one."""
    if not CHROMIUM.exists():
        pytest.fail(f"The browser tests need Chromium at {CHROMIUM}: ./scripts/test.sh installs it.")
    # While Playwright runs, this thread holds its running event loop, and Django would refuse the ORM
    # "from an async context". The tests stay synchronous (Playwright's sync API): allow it until
    # Playwright stops.
    # Django keeps its connections per context, and the running loop is a context of its own: the
    # connection opened inside it is closed before the loop stops, or it would outlive the test
    # database ("being accessed by other users").
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        connections.close_all()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _open_page(browser: Browser, web_server: LiveServer, slug: str, session_key: str | None) -> Page:
    context = browser.new_context(base_url=web_server.url(slug, ""))
    context.set_default_timeout(10_000)
    if session_key:
        url = web_server.url(slug)
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": url}])
    return context.new_page()


@pytest.fixture
def page_for(browser: Browser, web_server: LiveServer) -> Iterator[Callable[..., Page]]:
    """`page_for(slug, session_key=None)`: a new page in a context of its own, on the organisation's host."""
    pages: list[Page] = []

    def open_page(slug: str, *, session_key: str | None = None) -> Page:
        pages.append(_open_page(browser, web_server, slug, session_key))
        return pages[-1]

    yield open_page
    for page in pages:
        page.context.close()


@pytest.fixture(scope="package")
def shared_page_for(browser: Browser, web_server: LiveServer) -> Iterator[Callable[..., Page]]:
    """Like `page_for`, but one page per organisation and session for all the tests that ask for it.

    A fresh context costs Chromium most of a second (axe-core compiled again, among others): tests
    that only look at pages share them. Tests that change what the browser keeps use `page_for`.
    """
    pages: dict[tuple[str, str | None], Page] = {}

    def open_page(slug: str, *, session_key: str | None = None) -> Page:
        if (slug, session_key) not in pages:
            pages[slug, session_key] = _open_page(browser, web_server, slug, session_key)
        return pages[slug, session_key]

    yield open_page
    for page in pages.values():
        page.context.close()


@pytest.fixture(scope="package", autouse=True)
def browser_cleanup(browser_db: None) -> Iterator[None]:
    """Whatever the browser tests commit in alpha and beta is deleted when they are over.

    Everything made since they started goes, including what a test created through the pages; the
    organisations, their first admin and their library stay as tests/conftest.py made them.
    """
    # Rows made before (the organisations, provisioned moments ago) keep older timestamps: same clock.
    started = timezone.now()
    yield
    for slug in ORGANIZATIONS:
        with tenant_context(organization(slug)):
            SignInLink.objects.filter(created_at__gte=started).delete()
            JoinLink.objects.filter(created_at__gte=started).delete()
            challenges = Challenge.objects.filter(created_at__gte=started)
            # Pledges and contributions protect the skill slots they count for: they go first.
            Pledge.objects.filter(challenge__in=challenges).delete()
            Contribution.objects.filter(challenge__in=challenges).delete()
            challenges.delete()
            TeamMembership.objects.filter(team__created_at__gte=started).delete()
            Team.objects.filter(created_at__gte=started).delete()
            User.objects.filter(date_joined__gte=started).delete()
            # What their pages recorded and sent: the audit trail and the send-once rows.
            AuditEntry.objects.filter(at__gte=started).delete()
            Notification.objects.filter(created_at__gte=started).delete()
            Session.objects.all().delete()


@pytest.fixture(scope="package")
def company_email_domains(browser_db: None) -> Iterator[list[str]]:
    """alpha, the company, takes addresses of its own domain only, as a company does once set up.

    The organisation lives in the public schema, which `browser_cleanup` leaves alone: its domains
    are put back as they were when the browser tests are over.
    """
    alpha = organization("alpha")
    previous = list(alpha.allowed_email_domains)
    alpha.allowed_email_domains = ["alpha.test"]
    alpha.save(update_fields=["allowed_email_domains"])
    yield alpha.allowed_email_domains
    alpha.allowed_email_domains = previous
    alpha.save(update_fields=["allowed_email_domains"])


@pytest.fixture(scope="package")
def translated(browser_db: None) -> Callable[[str, str], str]:
    """`translated("beta", "I pledge")`: the text as the organisation's pages show it, from the catalogue.

    In French, it must differ from the English: a catalogue not compiled (or a string left out) would
    otherwise let an English page pass for a French one.
    """
    languages = {slug: str(organization(slug).locale) for slug in ORGANIZATIONS}

    def translate(slug: str, text: str) -> str:
        with translation.override(languages[slug]):
            result = translation.gettext(text)
        assert languages[slug] == "en" or result != text, f"“{text}” is not translated (catalogue compiled?)"
        return result

    return translate


@pytest.fixture(scope="package")
def axe_source() -> str:
    if not AXE_SCRIPT.exists():
        hint = "npm ci" if shutil.which("npm") else "install Node.js and npm, then npm ci"
        pytest.fail(f"axe-core is missing ({AXE_SCRIPT}): ./scripts/test.sh installs it ({hint}).")
    return AXE_SCRIPT.read_text(encoding="utf-8")
