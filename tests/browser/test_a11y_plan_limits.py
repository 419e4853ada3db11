"""The plan's refusals in Chromium, checked by axe-core (WCAG 2.1 AA), in English (alpha) and French
(beta): the admin's publish refused on the dashboard, with its link to upgrade; a participant turned
away because the plan is full; the page every write gets while the organisation is read-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from accounts.models import Notification, User
from accounts.roles import ORG_ADMIN
from challenges.models import Challenge, Pledge
from tenants.models import Organization
from tests.browser.support import ORGANIZATIONS, assert_accessible, organization, sign_in
from tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.browser

PROVIDER = "billing.limits.organization_limits"


@pytest.fixture
def full_plan(settings: Any) -> Iterator[dict[str, dict[str, Any]]]:
    """In each organisation, limits on: an open challenge, a draft, 50 active participants; an admin
    and a newcomer signed in. Removed afterwards (other browser tests pledge in the same places)."""
    settings.ORGANIZATION_LIMITS = PROVIDER
    made: dict[str, dict[str, Any]] = {}
    for slug in ORGANIZATIONS:
        with tenant_context(organization(slug)):
            admin = UserFactory.create(email=f"limits-admin@{slug}.test", role=ORG_ADMIN)
            newcomer = UserFactory.create(email=f"limits-new@{slug}.test")
            open_one = ChallengeFactory.create(title="Bike to work week", goal_target=Decimal(500))
            draft = ChallengeFactory.create(title="Zero waste month", status=Challenge.Status.DRAFT)
            people = User.objects.bulk_create(
                User(email=f"limits-p{i}@{slug}.test", password="!") for i in range(50)
            )
            Pledge.objects.bulk_create(Pledge(challenge=open_one, user=person) for person in people)
        made[slug] = {
            "admin": sign_in(slug, admin),
            "newcomer": sign_in(slug, newcomer),
            "open": open_one.pk,
            "draft": draft.pk,
        }
    yield made
    for slug in ORGANIZATIONS:
        with tenant_context(organization(slug)):
            Pledge.objects.filter(challenge__title__in=["Bike to work week", "Zero waste month"]).delete()
            Challenge.objects.filter(pk__in=[made[slug]["open"], made[slug]["draft"]]).delete()
            User.objects.filter(email__startswith="limits-").delete()
            Notification.objects.filter(event__startswith="plan:").delete()


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_a_refused_publish_says_why_with_a_link_to_upgrade(page_for, axe_source, full_plan, slug, translated):
    page = page_for(slug, session_key=full_plan[slug]["admin"])
    page.goto(f"/manage/challenges/{full_plan[slug]['draft']}/")

    page.locator("form[action$='/publish/'] button").click()

    message = page.locator(".messages li")
    message.wait_for()
    assert translated(slug, "See the plans and upgrade") in message.inner_text()
    assert message.locator("a").get_attribute("href") == "/manage/billing/"
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
def test_a_newcomer_past_the_limit_is_told_politely(page_for, axe_source, full_plan, slug):
    page = page_for(slug, session_key=full_plan[slug]["newcomer"])
    page.goto(f"/challenges/{full_plan[slug]['open']}/")

    page.locator("form[action$='/pledge/'] button").click()

    message = page.locator(".messages li")
    message.wait_for()
    assert organization(slug).name in message.inner_text()
    assert page.locator("html").get_attribute("lang") == organization(slug).locale
    assert_accessible(page, axe_source)


@pytest.mark.parametrize("slug", ORGANIZATIONS)
@pytest.mark.parametrize("who", ["admin", "newcomer"])
def test_the_read_only_page_meets_wcag_aa(page_for, axe_source, full_plan, slug, who, translated):
    page = page_for(slug, session_key=full_plan[slug][who])
    page.goto(f"/challenges/{full_plan[slug]['open']}/")
    organization_row = organization(slug)
    organization_row.billing_state = Organization.BillingState.READ_ONLY
    organization_row.save(update_fields=["billing_state"])
    try:
        page.locator("form[action$='/pledge/'] button").click()
        heading = page.locator("h1")
        heading.wait_for()
        assert heading.inner_text() == translated(slug, "Nothing can be changed for now")
        go_pay = page.get_by_role("link", name=translated(slug, "Go to the billing page"))
        assert go_pay.count() == (1 if who == "admin" else 0)
        if who == "admin":
            assert go_pay.get_attribute("href") == "/manage/billing/"
        else:  # a participant cannot pay: no way to the billing page
            assert page.locator("a[href^='/manage/billing/']").count() == 0
        assert_accessible(page, axe_source)
    finally:
        organization_row.billing_state = Organization.BillingState.ACTIVE
        organization_row.save(update_fields=["billing_state"])
