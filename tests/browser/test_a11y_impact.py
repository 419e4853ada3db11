"""The impact dashboard under axe-core (WCAG 2.1 A and AA) in Chromium, in the English company (alpha)
and the French municipality (beta): with figures, on an empty period, sent back with an error; and
its reflow at 320 CSS pixels (WCAG 1.4.10), which axe cannot see."""

from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from accounts.roles import EXECUTIVE
from tests.browser.support import ORGANIZATIONS, assert_accessible, organization, sign_in
from tests.factories import UserFactory
from tests.reports.support import march_make

pytestmark = pytest.mark.browser

# Other than the console's test teams (tests/browser/test_a11y_manage.py), which live at the same time.
TEAM_NAMES = {
    "alpha": {"Finance": "Sales & Marketing", "Logistics": "Operations", "Research": "R&D Lab"},
    "beta": {"Finance": "Quartier des Tanneurs", "Logistics": "Les Coteaux", "Research": "Mairie annexe"},
}
PAGES = {
    "March 2025, with figures": "/manage/impact/?start=2025-03-01&end=2025-03-31",
    "the first quarter of 2025": "/manage/impact/?period=quarter&quarter=2025-Q1",
    "a year, month by month": "/manage/impact/?start=2025-01-01&end=2025-12-31",
    "an empty period": "/manage/impact/?start=2010-01-01&end=2010-01-31",
    "the default period": "/manage/impact/",
    "a period refused": "/manage/impact/?period=custom&start=2025-03-31&end=2025-03-01",
}


@pytest.fixture(scope="module")
def site(browser_db: None) -> Iterator[dict[str, Any]]:
    """Committed: March 2025's history in each organisation and an executive to read it; deleted by
    `browser_cleanup`, the headcount put back here."""
    sessions, headcounts = {}, {}
    for slug in ORGANIZATIONS:
        org = organization(slug)
        headcounts[slug] = org.headcount
        with tenant_context(org):
            march_make(org, team_names=TEAM_NAMES[slug])
            executive = UserFactory.create(email=f"impact-board@{slug}.test", role=EXECUTIVE)
        sessions[slug] = sign_in(slug, executive)
    yield sessions
    for slug, headcount in headcounts.items():
        org = organization(slug)
        org.headcount = headcount
        org.save(update_fields=["headcount"])


@pytest.mark.parametrize("slug", ORGANIZATIONS)
@pytest.mark.parametrize("name", PAGES)
def test_the_impact_dashboard_meets_wcag_aa(shared_page_for, axe_source, site, slug, name):
    page = shared_page_for(slug, session_key=site[slug])

    response = page.goto(PAGES[name])

    assert response.status == (400 if name == "a period refused" else 200)
    assert page.locator("html").get_attribute("lang") == ("fr" if slug == "beta" else "en")
    # every chart's data table is there, folded, for screen readers and as a text alternative
    for details in page.locator("details.chart-details").all():
        details.locator("summary").click()
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_a_refused_period_takes_the_keyboard_to_its_field(shared_page_for, site, slug):
    page = shared_page_for(slug, session_key=site[slug])
    page.goto(PAGES["a period refused"])

    page.locator(".error-summary a").first.click()

    assert page.evaluate("() => document.activeElement.id") == "id_end"
    assert page.evaluate("() => document.activeElement.getAttribute('aria-invalid')") == "true"


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_the_picker_shows_the_month_asked_for(shared_page_for, site, slug):
    page = shared_page_for(slug, session_key=site[slug])
    page.goto("/manage/impact/")

    page.locator("#id_month").fill("2025-03")
    page.locator("form.picker").first.locator("button").click()

    page.wait_for_url("**/manage/impact/?period=month&month=2025-03*")
    assert page.locator(".figure-participants .figure-value").inner_text() == "5"


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_the_impact_dashboard_reflows_on_a_320_pixel_wide_screen(page_for, site, slug):
    page = page_for(slug, session_key=site[slug])
    page.set_viewport_size({"width": 320, "height": 640})
    widths = {}

    for name, path in PAGES.items():
        page.goto(path)
        widths[name] = page.evaluate("() => document.documentElement.scrollWidth")

    too_wide = {name: width for name, width in widths.items() if width > 320}
    assert not too_wide, f"These pages scroll sideways at 320 px (their width in px): {too_wide}"
