"""Plan limits in the services: Discovery opens one challenge at a time and welcomes 50 active
participants a month; Business and Municipality are unlimited, at no extra query.

The fixture organisations are on Discovery (tests/conftest.py); the test settings run the other tests
with no limits, so each test here turns them on. No Stripe is needed: the limits come from the
catalogue and Organization.plan.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import re
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone, translation
from django.utils.translation import gettext
from django_tenants.utils import tenant_context

from accounts.models import Notification, User
from accounts.roles import ORG_ADMIN
from billing.limits import calendar_month
from billing.limits import organization_limits as billing_limits
from billing.selectors import active_participants_count, billing_period
from challenges.models import Challenge, ChallengeEvent, Contribution, Metric, Pledge
from challenges.selectors.activity import active_participants_since, person_active_since
from challenges.services import challenge_cancel, challenge_publish, contribution_create, pledge_create
from challenges.services.limits import near_threshold
from core.errors import PlanLimitReached
from tenants.limits import NO_LIMITS, organization_limits
from tenants.models import Organization
from tests.api import V1, api_client, post
from tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db

PROVIDER = "billing.limits.organization_limits"
Status = Challenge.Status


@pytest.fixture
def limits_on(settings: Any) -> None:
    settings.ORGANIZATION_LIMITS = PROVIDER


def _on_plan(organization: Organization, plan: str) -> Organization:
    organization.plan = plan
    organization.save(update_fields=["plan"])
    return organization


def _crowd(challenge: Challenge, count: int, prefix: str = "crowd") -> list[User]:
    """`count` people who pledged to `challenge` this month: active participants of the period."""
    people = [UserFactory.create(email=f"{prefix}{i}@{prefix}.test") for i in range(count)]
    Pledge.objects.bulk_create(Pledge(challenge=challenge, user=person) for person in people)
    Challenge.objects.filter(pk=challenge.pk).update(pledge_count=count)
    return people


def _period_start(organization: Organization) -> dt.datetime:
    start = organization_limits(organization).period_start
    assert start is not None
    return start


def _page_text(response: Any) -> str:
    return html.unescape(response.content.decode())


def _messages(response: Any) -> list[str]:
    return [
        html.unescape(m) for m in re.findall(r'<li class="message-\w+">(.*?)</li>', response.content.decode())
    ]


def _first_of_next_period(organization: Organization) -> str:
    _, end = calendar_month(organization, timezone.now())
    return formats.date_format(end.astimezone(zoneinfo.ZoneInfo(organization.timezone)).date(), "j F")


def _full_sentence(organization: Organization, language: str) -> str:
    with translation.override(language):
        return (
            gettext(
                "Sorry: %(organization)s's plan welcomes up to %(limit)s active participants a month, and "
                "this month is full. Its admins have been told."
            )
            % {"organization": organization.name, "limit": 50}
            + " "
            + gettext(
                "You can take part from %(date)s, or sooner if they upgrade the plan. Thank you for your "
                "patience."
            )
            % {"date": _first_of_next_period(organization)}
        )


# The seam: what each plan allows ---------------------------------------------------------------------


def test_the_limits_follow_the_plan_without_a_query(org_a, limits_on):
    with CaptureQueriesContext(connection) as queries:
        discovery = organization_limits(org_a)
        org_a.plan = Organization.Plan.BUSINESS
        business = organization_limits(org_a)
        org_a.plan = Organization.Plan.MUNICIPALITY
        municipality = organization_limits(org_a)

    assert len(queries) == 0
    assert (discovery.open_challenges, discovery.active_participants) == (1, 50)
    assert business == municipality == NO_LIMITS
    assert business.unlimited
    assert not discovery.unlimited


def test_discoverys_period_is_billing_period_the_organisations_calendar_month(org_a, org_b, limits_on):
    for organization in (org_a, org_b):
        limits = organization_limits(organization)
        assert (limits.period_start, limits.period_end) == billing_period(organization)
        assert billing_period(organization)[0] <= timezone.now() < billing_period(organization)[1]
    # Late on the last day of a month in UTC is already the next month in Paris.
    now = dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC)
    start, end = calendar_month(org_a, now)
    assert (start, end) == billing_period(org_a, now)
    assert start == dt.datetime(2025, 1, 31, 23, 0, tzinfo=dt.UTC)  # 1 February, 00:00 in Paris
    assert end == dt.datetime(2025, 2, 28, 23, 0, tzinfo=dt.UTC)


def test_with_no_provider_nothing_is_limited(org_a, settings):
    settings.ORGANIZATION_LIMITS = ""

    assert organization_limits(org_a) == NO_LIMITS
    assert billing_limits(org_a).active_participants == 50  # the provider itself still knows


def test_active_participants_are_counted_as_billing_counts_them(org_a, in_org_a, limits_on):
    km = Metric.objects.get(key="km-cycled")
    pledges = ChallengeFactory.create()
    quantity = ChallengeFactory.create(goal_kind=Challenge.GoalKind.QUANTITY, metric=km)
    both, pledged, logged, withdrawn, idle = (UserFactory.create() for _ in range(5))
    Pledge.objects.create(challenge=pledges, user=both)
    Contribution.objects.create(challenge=quantity, user=both, day=timezone.localdate(), amount=Decimal(2))
    Pledge.objects.create(challenge=pledges, user=pledged)
    Contribution.objects.create(challenge=quantity, user=logged, day=timezone.localdate(), amount=Decimal(1))
    Pledge.objects.create(challenge=pledges, user=withdrawn, withdrawn_at=timezone.now())
    old = Pledge.objects.create(challenge=quantity, user=idle)
    Pledge.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=40))
    start, end = billing_period(org_a)

    assert active_participants_since(start, both.pk) == (4, True)
    assert active_participants_since(start, idle.pk) == (4, False)
    assert active_participants_count(org_a, start, end) == 4
    assert [person_active_since(p.pk, start) for p in (both, pledged, logged, withdrawn, idle)] == [
        True, True, True, True, False,
    ]  # fmt: skip


# Publishing: one open challenge on Discovery ---------------------------------------------------------


def test_a_second_publish_on_discovery_is_refused_and_changes_nothing(org_a, admin, limits_on):
    ChallengeFactory.create(title="Already open")
    draft = ChallengeFactory.create(status=Status.DRAFT)

    with pytest.raises(PlanLimitReached) as refused:
        challenge_publish(actor=admin, challenge_id=draft.pk)

    assert str(refused.value) == (
        "Your plan allows 1 open challenge at a time, and it is taken. Upgrade the plan to publish "
        "this one now, or publish it once the open challenge has ended."
    )
    assert refused.value.upgrade_url == "http://alpha.localhost/manage/billing/"
    assert refused.value.limit == "open_challenges"
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert not ChallengeEvent.objects.filter(challenge=draft, to_status=Status.OPEN).exists()


def test_once_the_open_challenge_ends_the_next_one_can_be_published(org_a, admin, limits_on):
    open_one = ChallengeFactory.create()
    draft = ChallengeFactory.create(status=Status.DRAFT)
    with pytest.raises(PlanLimitReached):
        challenge_publish(actor=admin, challenge_id=draft.pk)

    challenge_cancel(actor=admin, challenge_id=open_one.pk, cause="Replaced by the next one")
    challenge_publish(actor=admin, challenge_id=draft.pk)

    assert Challenge.objects.get(pk=draft.pk).status == Status.OPEN


def test_business_publishes_as_many_challenges_as_it_likes(org_a, admin, limits_on):
    _on_plan(org_a, Organization.Plan.BUSINESS)
    ChallengeFactory.create_batch(3)
    draft = ChallengeFactory.create(status=Status.DRAFT)

    challenge_publish(actor=admin, challenge_id=draft.pk)

    assert Challenge.objects.filter(status=Status.OPEN).count() == 4


def test_the_dashboards_publish_button_says_why_with_a_link_to_upgrade(admin_client, limits_on):
    ChallengeFactory.create()
    draft = ChallengeFactory.create(status=Status.DRAFT)

    response = admin_client.post(f"/manage/challenges/{draft.pk}/publish/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/manage/challenges/{draft.pk}/"
    page = response.content.decode()
    assert "Your plan allows 1 open challenge at a time, and it is taken." in page
    assert '<a href="/manage/billing/">See the plans and upgrade</a>' in page
    assert Challenge.objects.get(pk=draft.pk).status == Status.DRAFT


def test_the_api_answers_402_with_the_sentence_and_the_upgrade_url(admin, limits_on):
    ChallengeFactory.create()
    draft = ChallengeFactory.create(status=Status.DRAFT)

    response = post(api_client(admin), f"{V1}/challenges/{draft.pk}/publish/")

    assert response.status_code == 402
    assert response.json() == {
        "detail": "Your plan allows 1 open challenge at a time, and it is taken. Upgrade the plan to "
        "publish this one now, or publish it once the open challenge has ended.",
        "upgrade_url": "http://alpha.localhost/manage/billing/",
    }
    assert Challenge.objects.get(pk=draft.pk).status == Status.DRAFT


# Taking part: 50 active participants a month on Discovery -------------------------------------------


def test_the_51st_newcomer_is_refused_politely_in_english_and_nothing_is_written(
    org_a, participant, participant_client, limits_on
):
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    _crowd(crowd, 50)
    other = ChallengeFactory.create(title="Meatless Monday")
    before = (Pledge.objects.count(), Challenge.objects.get(pk=other.pk).pledge_count)

    response = participant_client.post(f"/challenges/{other.pk}/pledge/", follow=True)

    assert response.status_code == 200
    assert response.headers["Content-Language"] == "en"
    assert _messages(response) == [_full_sentence(org_a, "en")]
    assert _messages(response)[0].startswith(
        "Sorry: Alpha Corp's plan welcomes up to 50 active participants a month, and this month is "
        "full. Its admins have been told. You can take part from 1 "
    )
    assert (Pledge.objects.count(), Challenge.objects.get(pk=other.pk).pledge_count) == before


def test_the_51st_newcomer_of_a_french_organisation_is_told_in_french(org_b, client_b, limits_on):
    with tenant_context(org_b):
        crowd = ChallengeFactory.create(goal_target=Decimal(500))
        _crowd(crowd, 50)
        other = ChallengeFactory.create()
        newcomer = UserFactory.create(email="nouvelle@beta.test")
        client_b.force_login(newcomer)

        response = client_b.post(f"/challenges/{other.pk}/pledge/", follow=True)

        assert response.headers["Content-Language"] == "fr"
        page = _page_text(response)
        assert '<html lang="fr">' in page
        assert "Aller au contenu" in page  # the page around the message is French
        assert _messages(response) == [_full_sentence(org_b, "fr")]
        assert not Pledge.objects.filter(user=newcomer).exists()


def test_someone_already_active_this_month_goes_on_pledging_and_logging(org_a, in_org_a, limits_on):
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    people = _crowd(crowd, 50)
    km = Metric.objects.get(key="km-cycled")
    quantity = ChallengeFactory.create(goal_kind=Challenge.GoalKind.QUANTITY, metric=km)
    other = ChallengeFactory.create()

    pledge_create(actor=people[0], challenge_id=other.pk)
    contribution_create(
        actor=people[1], challenge_id=quantity.pk, day=timezone.localdate(), amount=Decimal(3)
    )

    assert Pledge.objects.filter(user=people[0], challenge=other).exists()
    assert Contribution.objects.filter(user=people[1], challenge=quantity).exists()
    start = _period_start(org_a)
    assert active_participants_since(start)[0] == 50


def test_a_newcomer_logging_progress_is_refused_too_and_the_api_says_402(org_a, participant, limits_on):
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    _crowd(crowd, 50)
    km = Metric.objects.get(key="km-cycled")
    quantity = ChallengeFactory.create(goal_kind=Challenge.GoalKind.QUANTITY, metric=km)
    client = api_client(participant)

    logged = post(
        client,
        f"{V1}/contributions/",
        {"challenge": quantity.pk, "day": timezone.localdate().isoformat(), "amount": "2"},
    )
    pledged = post(client, f"{V1}/challenges/{crowd.pk}/pledge/")

    for response in (logged, pledged):
        assert response.status_code == 402, response.content
        assert response.json() == {
            "detail": _full_sentence(org_a, "en"),
            "upgrade_url": "http://alpha.localhost/manage/billing/",
        }
    assert not Pledge.objects.filter(user=participant).exists()
    assert not Contribution.objects.filter(user=participant).exists()
    assert Challenge.objects.get(pk=quantity.pk).quantity_total == 0


def test_the_50th_newcomer_is_welcomed_and_the_51st_is_not(org_a, in_org_a, limits_on):
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    _crowd(crowd, 49)
    fiftieth, fifty_first = UserFactory.create(), UserFactory.create()

    pledge_create(actor=fiftieth, challenge_id=crowd.pk)
    with pytest.raises(PlanLimitReached) as refused:
        pledge_create(actor=fifty_first, challenge_id=crowd.pk)

    assert refused.value.limit == "active_participants"
    assert Challenge.objects.get(pk=crowd.pk).pledge_count == 50


def test_last_months_participants_are_newcomers_again_this_month(org_a, in_org_a, limits_on):
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    people = _crowd(crowd, 50)
    Pledge.objects.update(created_at=_period_start(org_a) - dt.timedelta(minutes=1))
    other = ChallengeFactory.create()

    pledge_create(actor=people[0], challenge_id=other.pk)

    assert active_participants_since(_period_start(org_a)) == (1, False)


# The admins are told: once when near (80 %), once when reached ---------------------------------------


def _admins() -> list[User]:
    return list(User.objects.filter(groups__name=ORG_ADMIN, is_active=True).order_by("email"))


def test_the_admins_are_emailed_once_at_80_percent_and_once_at_the_limit(
    org_a, admin, limits_on, django_capture_on_commit_callbacks
):
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    _crowd(crowd, near_threshold(50) - 2)  # 38
    admins = [person.email for person in _admins()]
    assert len(admins) == 2  # the one provisioning made, and Harriet
    sent: list[list[Any]] = []
    newcomers = [UserFactory.create(email=f"new{i}@alpha.test") for i in range(14)]

    for newcomer in newcomers:  # the 39th to the 52nd
        mail.outbox = []
        with django_capture_on_commit_callbacks(execute=True), contextlib.suppress(PlanLimitReached):
            pledge_create(actor=newcomer, challenge_id=crowd.pk)
        sent.append([message.subject for message in mail.outbox])

    near = "Alpha Corp: 40 of the 50 active participants of your plan"
    reached = "Alpha Corp has reached its plan's limit of 50 active participants"
    assert sent == [[], [near, near], *[[]] * 9, [reached, reached], [], []]
    assert Pledge.objects.filter(challenge=crowd).count() == 50
    start = _period_start(org_a)
    rows = Notification.objects.filter(event__startswith=f"plan:active_participants:{start.isoformat()}:")
    assert sorted(rows.values_list("event", "recipient")) == sorted(
        [(f"plan:active_participants:{start.isoformat()}:{event}", email) for event in ("near", "reached")
         for email in admins]
    )  # fmt: skip


def test_the_email_names_the_count_the_limit_and_the_billing_page(
    org_a, admin, limits_on, django_capture_on_commit_callbacks
):
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    _crowd(crowd, 49)
    mail.outbox = []

    with django_capture_on_commit_callbacks(execute=True):
        pledge_create(actor=UserFactory.create(), challenge_id=crowd.pk)

    message = next(m for m in mail.outbox if m.to == [admin.email])
    assert "50 people have taken part in Alpha Corp's challenges since 1 " in message.body
    assert "To welcome them now, upgrade the plan: http://alpha.localhost/manage/billing/" in message.body
    assert isinstance(message, EmailMultiAlternatives)
    html_body, kind = message.alternatives[0]
    assert isinstance(html_body, str)
    assert kind == "text/html"
    assert '<html lang="en">' in html_body
    assert 'href="http://alpha.localhost/manage/billing/"' in html_body


def test_a_french_organisations_admins_are_told_in_french(
    org_b, limits_on, django_capture_on_commit_callbacks
):
    with tenant_context(org_b):
        crowd = ChallengeFactory.create(goal_target=Decimal(500))
        _crowd(crowd, 49)
        mail.outbox = []

        with django_capture_on_commit_callbacks(execute=True):
            pledge_create(actor=UserFactory.create(), challenge_id=crowd.pk)

    assert [m.subject for m in mail.outbox] == [
        "Beta Town a atteint la limite de 50 participants actifs de son offre"
    ]
    assert mail.outbox[0].to == ["admin@beta.test"]
    assert (
        "Pour les accueillir dès maintenant, changez d'offre\u00a0: http://beta.localhost/manage/billing/"
        in (mail.outbox[0].body)
    )


def test_a_refusal_tells_the_admins_even_when_no_admission_reached_the_limit(
    org_a, admin, limits_on, django_capture_on_commit_callbacks
):
    """Already past the limit (the plan just changed to Discovery, say): the first person turned away
    makes sure the admins know, once."""
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    _crowd(crowd, 60)
    mail.outbox = []

    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(PlanLimitReached):
            pledge_create(actor=UserFactory.create(), challenge_id=crowd.pk)

    assert sorted(m.to[0] for m in mail.outbox) == [person.email for person in _admins()]
    assert {m.subject for m in mail.outbox} == {
        "Alpha Corp has reached its plan's limit of 50 active participants"
    }
    assert "60 people have taken part" in mail.outbox[0].body


def test_no_email_once_the_organisation_upgraded(org_a, admin, limits_on, django_capture_on_commit_callbacks):
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    _crowd(crowd, 49)
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        pledge_create(actor=UserFactory.create(), challenge_id=crowd.pk)
    _on_plan(org_a, Organization.Plan.BUSINESS)

    for callback in callbacks:
        callback()

    assert mail.outbox == []


# Business: no limit, and no query spent on limits ----------------------------------------------------


def _pledge_queries(org: Organization, person: User, challenge: Challenge) -> int:
    with tenant_context(org), CaptureQueriesContext(connection) as queries:
        pledge_create(actor=person, challenge_id=challenge.pk)
    return len(queries)


def test_business_welcomes_the_51st_newcomer_at_the_cost_of_no_limits_at_all(org_a, in_org_a, settings):
    _on_plan(org_a, Organization.Plan.BUSINESS)
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    _crowd(crowd, 50)
    people = [UserFactory.create() for _ in range(4)]
    pledge_create(actor=people[0], challenge_id=crowd.pk)  # warm: the first call fills caches

    settings.ORGANIZATION_LIMITS = ""
    without_limits = _pledge_queries(org_a, people[1], crowd)
    settings.ORGANIZATION_LIMITS = PROVIDER
    business = _pledge_queries(org_a, people[2], crowd)
    org_a.plan = Organization.Plan.MUNICIPALITY
    municipality = _pledge_queries(org_a, people[3], crowd)

    assert business == municipality == without_limits
    assert Pledge.objects.filter(challenge=crowd).count() == 54


def test_on_discovery_someone_already_active_costs_one_query_more(org_a, in_org_a, settings):
    crowd = ChallengeFactory.create(goal_target=Decimal(500))
    people = _crowd(crowd, 10)
    others = ChallengeFactory.create_batch(3)
    pledge_create(actor=people[0], challenge_id=others[0].pk)  # warm

    settings.ORGANIZATION_LIMITS = ""
    without_limits = _pledge_queries(org_a, people[1], others[1])
    settings.ORGANIZATION_LIMITS = PROVIDER
    discovery = _pledge_queries(org_a, people[2], others[2])

    assert discovery == without_limits + 1  # person_active_since, on the pledges' and contributions' user
