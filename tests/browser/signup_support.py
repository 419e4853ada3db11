"""What the browser tests of the public site's sign-up share: a page on the public host, in a language."""

from django.conf import settings
from playwright.sync_api import Browser, Page

from tests.browser.support import LiveServer

# The browser's languages: they choose the public site's (it has no organisation to choose it).
LANGUAGES = {"en": "en-GB", "fr": "fr-FR"}


def public_url(web_server: LiveServer, path: str = "") -> str:
    return f"http://{settings.BASE_DOMAIN}:{web_server.port}{path}"


def public_page_open(
    browser: Browser, web_server: LiveServer, language: str, session_key: str | None = None
) -> Page:
    """A page in a context of its own on the public site, the browser speaking `language`."""
    base = public_url(web_server)
    context = browser.new_context(base_url=base, locale=LANGUAGES[language])
    context.set_default_timeout(10_000)
    if session_key:
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": base}])
    return context.new_page()
