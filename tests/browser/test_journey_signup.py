"""Self-service sign-up in Chromium, from the landing page to the new organisation's manager pages.

A CSR manager opens the public site, follows "Start free", types their organisation's name (the
address of the space follows it, by the page's small script), sends the form, reads the confirmation
e-mail from the test outbox, confirms, and — once the provisioning has run (inline: Celery is eager
in tests) — is taken to the new organisation's host, where one click signs them in as its admin, on
the new-challenge page. The organisation, its schema and the sign-up are deleted afterwards.
"""

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import translation
from playwright.sync_api import Browser, expect

from tenants.db import tenant_connection
from tenants.models import Organization, SignupRequest
from tests.browser.signup_support import public_page_open
from tests.browser.support import LiveServer

pytestmark = pytest.mark.browser

SLUG = "journey-works"
CONFIRM_LINK = re.compile(r"https?://\S+?(/signup/confirm/\?key=[\w-]+)")
# Making a schema and running every migration in it takes a few seconds, more on a busy machine.
PROVISIONING_TIMEOUT = 120_000


@pytest.fixture
def provisioned_cleanup(browser_db: None) -> Iterator[None]:
    yield
    tenant_connection().set_schema_to_public()
    SignupRequest.objects.filter(slug=SLUG).delete()
    for organization in Organization.objects.filter(schema_name=SLUG):
        organization.delete(force_drop=True)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_csr_manager_signs_up_and_lands_signed_in_on_their_new_space(
    browser: Browser, web_server: LiveServer, settings, provisioned_cleanup, language
):
    # The hand-over goes to <slug>.localhost on the live server's port.
    settings.SITE_PORT = web_server.port
    with translation.override(language):
        start_free, welcome = translation.gettext("Start free"), translation.gettext("Go to my space")
        create = translation.gettext("Create my space")
        confirm = translation.gettext("Confirm and create my space")
    page = public_page_open(browser, web_server, language)

    # Given the landing page, and its "Start free" link
    page.goto("/")
    page.get_by_role("link", name=start_free).click()
    expect(page).to_have_url(re.compile(r"/signup/$"))

    # When they fill in the form: the address follows the organisation's name
    page.locator("#id_organization_name").fill("Journey Works")
    expect(page.locator("#id_slug")).to_have_value(SLUG)
    page.locator("input[name=kind][value=company]").check()
    page.locator("#id_person_name").fill("Jo Journey")
    page.locator("#id_email").fill("jo@journey.test")
    page.locator("#id_consent").check()
    page.get_by_role("button", name=create).click()

    # Then they are asked to look in their inbox, where the confirmation link is
    expect(page).to_have_url(re.compile(r"/signup/sent/$"))
    expect(page.locator("[role=status]")).to_contain_text("jo@journey.test")
    message = next(m for m in mail.outbox if m.to == ["jo@journey.test"] and "/signup/confirm/" in m.body)
    link = CONFIRM_LINK.search(str(message.body))
    assert link, message.body

    # When they open it and confirm
    page.goto(link.group(1))
    page.get_by_role("button", name=confirm).click(timeout=PROVISIONING_TIMEOUT)

    # Then, the space made, they are on its host, and one click signs them in as its admin
    on_new_host = re.compile(rf"^http://{SLUG}\.localhost:\d+/account/welcome/")
    page.wait_for_url(on_new_host, timeout=PROVISIONING_TIMEOUT)
    page.get_by_role("button", name=welcome).click()
    expect(page).to_have_url(re.compile(rf"^http://{SLUG}\.localhost:\d+/manage/challenges/new/$"))
    expect(page.locator(".messages")).to_be_visible()
    expect(page.locator("header")).to_contain_text("Jo Journey")
    assert urlsplit(page.url).hostname == f"{SLUG}.localhost"
    organization = Organization.objects.get(schema_name=SLUG)
    # on Discovery, in the language the form was in
    assert (organization.plan, organization.locale) == (Organization.Plan.DISCOVERY, language)
    assert SignupRequest.objects.get(slug=SLUG).status == SignupRequest.Status.READY
    page.context.close()
