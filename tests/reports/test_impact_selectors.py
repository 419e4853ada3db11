"""The impact figures of a period and of the one before it (reports.selectors.impact_report), on the
history of tests/reports/support.py: March 2025 against February 2025."""

import dataclasses
import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from challenges.models import Challenge, Contribution, Pledge
from participants.services import person_erase
from reports.selectors import impact_report
from tests.reports.support import END, START, TODAY, March, contribution_make, march_make, more_of_the_same

pytestmark = pytest.mark.django_db


@pytest.fixture
def march(in_org_a) -> March:
    return march_make(in_org_a)


def report_of(organization, language="en", **kwargs):
    return impact_report(
        organization, kwargs.pop("start", START), kwargs.pop("end", END), language=language, today=TODAY
    )


def test_participants_are_the_distinct_people_who_pledged_or_contributed_in_the_period(in_org_a, march):
    report = report_of(in_org_a)

    # p1, p2, p3, p5 (deactivated: still counts), p6 (23:30 in Paris on 31 March); not p4 (withdrawn),
    # not p7 (00:30 on 1 April in Paris, still 31 March in UTC), not p8 (February only)
    assert report.current.participants == 5
    assert report.previous.participants == 2  # p1, p8
    assert report.current.new_participants == 4  # p1 acted first in February
    assert report.previous.new_participants == 1  # p8 acted first in January
    assert report.current.pledges == 5  # p2 on A and F, p3, p5, p6; not p4's, withdrawn
    assert report.current.contributions == 4
    assert report.current.participation_rate == Decimal("12.5")  # 5 of 40
    assert report.previous.participation_rate == Decimal("5.0")


def test_challenges_are_those_whose_run_overlaps_the_period_with_their_outcome(in_org_a, march):
    report = report_of(in_org_a)

    titles = {row.title: row.status for row in report.challenges}
    # E was cancelled while a draft and G is one: they never ran; D ended in February
    assert titles == {
        "Cycle to work": "succeeded",
        "Organic canteen": "open",
        "Save energy": "open",
        "Shared garden": "failed",
        "Called off": "cancelled",
    }
    now = report.current.challenges
    assert (now.succeeded, now.open, now.failed, now.cancelled) == (1, 2, 1, 1)
    before = report.previous.challenges
    assert (before.succeeded, before.open, before.failed, before.cancelled) == (2, 0, 0, 0)  # A and D
    cycling = next(row for row in report.challenges if row.title == "Cycle to work")
    assert cycling.succeeded_on == dt.date(2025, 3, 15)
    assert (cycling.participants, cycling.pledges, cycling.quantity) == (2, 1, Decimal("35.00"))


def test_co2e_is_baseline_minus_action_per_metric_and_metrics_without_a_factor_carry_none(in_org_a, march):
    report = report_of(in_org_a)

    rows = {row.key: row for row in report.metrics}
    # 35 km cycled instead of driven: 35 × (0.2176 − 0); 100 kWh saved: 100 × 0.0461, an estimate
    assert rows["km-cycled"].co2e_avoided_kg == Decimal("7.62")
    assert rows["km-cycled"].previous_co2e_avoided_kg == Decimal("2.18")
    assert rows["kwh-saved"].co2e_avoided_kg == Decimal("4.61")
    assert rows["kwh-saved"].is_estimate
    # litter collected has no sourced factor: counted (in February), never converted
    assert rows["kg-litter"].co2e_avoided_kg is None
    assert rows["kg-litter"].previous_quantity == Decimal("5.00")
    assert report.current.co2e_avoided_kg == Decimal("12.23")
    assert report.current.co2e_avoided_estimates_kg == Decimal("4.61")
    assert report.figure("co2e_avoided_kg").is_estimate
    methods = {method.metric: method for method in report.methods}
    cycling = methods["Kilometres cycled instead of driven"]
    assert cycling.baseline.key == "transport_car_thermal"
    assert cycling.baseline.source
    assert cycling.baseline.year == 2025
    assert "0.2176" in cycling.text
    assert {factor.key for factor in report.factors} >= {"transport_car_thermal", "transport_bike"}


def test_volunteer_hours_come_from_skill_slots_by_skill(in_org_a, march):
    report = report_of(in_org_a)

    assert report.current.volunteer_hours == Decimal("6.00")
    assert [(row.skill, row.hours) for row in report.skills] == [("Carpentry", Decimal("6.00"))]
    assert report.current.skills_projects_launched == 0  # the garden failed


def test_teams_are_measured_against_their_own_headcount(in_org_a, march):
    report = report_of(in_org_a)

    teams = {row.name: row for row in report.teams}
    assert (teams["Finance"].participants, teams["Finance"].rate) == (2, Decimal("20.0"))
    assert teams["Finance"].previous_rate == Decimal("10.0")
    assert (teams["Logistics"].participants, teams["Logistics"].rate) == (2, Decimal("10.0"))  # p3, p5
    assert teams["Research"].rate is None  # no headcount
    assert teams["In no team"].participants == 1  # p6
    assert teams["Finance"].co2e_avoided_kg == Decimal("12.23")
    assert teams["Logistics"].volunteer_hours == Decimal("6.00")
    assert [row.name for row in report.teams] == ["Finance", "Logistics", "Research", "In no team"]


def test_the_ledger_lists_the_periods_promises_and_those_still_due(in_org_a, march):
    report = report_of(in_org_a)

    ledger = {row.challenge_title: row for row in report.ledger.rows}
    assert set(ledger) == {"Cycle to work", "Organic canteen", "Shared garden", "Clean-up"}
    assert ledger["Cycle to work"].status == "delivered"
    assert ledger["Cycle to work"].delivered_on == dt.date(2025, 3, 25)
    assert ledger["Cycle to work"].proof_url == "https://alpha.test/shelters"
    # D ran in January and February: still owed, so still listed
    assert ledger["Clean-up"].status == "due"
    assert ledger["Clean-up"].became_due_on == dt.date(2025, 2, 20)
    assert ledger["Clean-up"].is_overdue
    assert (report.ledger.delivered, report.ledger.due, report.ledger.promised, report.ledger.void) == (
        1,
        1,
        1,
        1,
    )
    assert [(a.currency, a.amount) for a in report.ledger.delivered_amounts] == [("EUR", Decimal("500.00"))]
    assert report.current.counterparts_delivered == 1
    assert report.previous.counterparts_delivered == 0


def test_new_and_active_participants_over_time_week_by_week(in_org_a, march):
    report = report_of(in_org_a)

    # March 2025 begins on a Saturday: the first week is 1–2 March
    assert report.period.bucket == "week"
    assert [(b.start.day, b.new_participants, b.active_participants) for b in report.timeline] == [
        (1, 2, 2), (3, 1, 3), (10, 0, 1), (17, 0, 0), (24, 0, 0), (31, 1, 1),
    ]  # fmt: skip
    chart = report.charts.participation
    assert list(chart.series[0].values) == [2, 3, 1, 0, 0, 1]
    assert chart.title
    assert chart.description


def test_a_year_is_cut_month_by_month(in_org_a, march):
    report = report_of(in_org_a, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))

    assert report.period.bucket == "month"
    assert report.period.is_partial
    assert report.period.end == TODAY
    assert [b.start for b in report.timeline] == [dt.date(2025, m, 1) for m in (1, 2, 3, 4)]
    assert [b.new_participants for b in report.timeline] == [1, 1, 4, 1]  # p7 on 1 April
    # compared with the same stretch of 2024
    assert (report.previous_period.start, report.previous_period.end) == (
        dt.date(2024, 1, 1),
        dt.date(2024, 4, 10),
    )


def test_active_people_per_month_are_the_distinct_people_of_each_month(in_org_a, march):
    report = report_of(in_org_a, start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    zone = zoneinfo.ZoneInfo(in_org_a.timezone)
    days_of: dict[int | None, set[dt.date]] = {}
    for pledge in Pledge.objects.filter(withdrawn_at=None):
        days_of.setdefault(pledge.user_id, set()).add(timezone.localtime(pledge.created_at, zone).date())
    for contribution in Contribution.objects.all():
        days_of.setdefault(contribution.user_id, set()).add(contribution.day)
    expected = [
        len([days for days in days_of.values() if any(b.start <= d <= b.end for d in days)])
        for b in report.timeline
    ]

    assert [b.active_participants for b in report.timeline] == expected
    assert sum(expected) > len(expected)  # more than one person in some month: not all zeros or ones


def test_headline_figures_carry_their_change_against_the_previous_period(in_org_a, march):
    report = report_of(in_org_a)

    participants = report.figure("participants")
    assert (participants.value, participants.previous) == (Decimal(5), Decimal(2))
    assert participants.change.percent == Decimal(150)
    assert participants.change.text == "+150 % since February 2025"
    rate = report.figure("participation_rate")
    assert rate.display == "12.5 %"
    assert rate.change.text == "+7.5 points since February 2025"
    assert [figure.key for figure in report.headline] == [
        "participants", "participation_rate", "challenges_succeeded", "co2e_avoided_kg",
        "volunteer_hours", "counterparts_delivered",
    ]  # fmt: skip


def test_a_company_is_measured_against_the_range_of_employee_programmes(in_org_a, march):
    report = report_of(in_org_a)

    assert report.participation.benchmark.position == "below"  # 12.5 % < 15 %
    assert "15–29 %" in report.participation.benchmark.sentence


def test_a_municipality_is_measured_against_its_residents_without_the_employee_range(org_b):
    from django_tenants.utils import tenant_context

    org_b.headcount = 12_000
    org_b.save(update_fields=["headcount"])
    with tenant_context(org_b):
        report = impact_report(org_b, START, END, language="fr", today=TODAY)

    assert report.participation.benchmark is None
    assert "habitants" in report.participation.sentence or "residents" in report.participation.sentence
    assert report.period.label == "mars 2025"


def test_words_and_numbers_follow_the_language(in_org_a, march):
    english, french = report_of(in_org_a, "en"), report_of(in_org_a, "fr")

    assert english.period.label == "March 2025"
    assert french.period.label == "mars 2025"
    assert english.figure("co2e_avoided_kg").display == "12.2 kg CO2e"
    assert french.figure("co2e_avoided_kg").display == "12,2 kg CO2e"
    metric = {row.key: row for row in french.metrics}["km-cycled"]
    assert metric.name == "Kilomètres à vélo au lieu de la voiture"
    # the figures themselves are the same
    assert english.current == french.current


def test_erasing_a_person_changes_no_figure(in_org_a, march):
    before = report_of(in_org_a)

    for key in ("p2", "p5"):
        person_erase(actor=march.people[key])
    after = report_of(in_org_a)

    march.people["p2"].refresh_from_db()
    assert march.people["p2"].erased_at is not None
    assert Contribution.objects.filter(user=march.people["p2"]).exclude(note="").count() == 0
    for field in ("current", "previous", "teams", "challenges", "metrics", "skills", "ledger", "timeline"):
        assert getattr(after, field) == getattr(before, field), field


def test_deactivated_people_still_count(in_org_a, march):
    with_p5 = report_of(in_org_a)
    Pledge.objects.filter(user=march.people["p5"]).delete()
    Contribution.objects.filter(user=march.people["p5"]).delete()

    without = report_of(in_org_a)

    assert march.people["p5"].is_active is False
    assert with_p5.current.participants == without.current.participants + 1


def test_the_number_of_queries_does_not_grow_with_the_data(in_org_a, march, django_assert_num_queries):
    # teams; people (all, per team, per challenge), contributions, first actions and actives in one;
    # challenges with their metric, factors and counterpart; their skill slots
    with django_assert_num_queries(4):
        small = report_of(in_org_a)
    more_of_the_same(march, 30)
    contribution_make(march.challenges["A"], march.people["p1"], dt.date(2025, 3, 10), "4")

    with django_assert_num_queries(4):
        large = report_of(in_org_a)

    assert large.current.participants == small.current.participants + 60
    assert large.current.co2e_avoided_kg > small.current.co2e_avoided_kg


def test_without_an_organisation_the_current_schemas_is_read(in_org_a, march, django_assert_num_queries):
    with django_assert_num_queries(5):  # the organisation, then the four
        report = impact_report(None, START, END, language="en", today=TODAY)

    assert report.organization_name == in_org_a.name
    assert report.current.participants == 5


def test_the_report_is_frozen_data(in_org_a, march):
    report = report_of(in_org_a)

    with pytest.raises(dataclasses.FrozenInstanceError):
        report.current.participants = 0
    assert isinstance(report.headline, tuple)
    assert isinstance(report.teams, tuple)


def test_an_empty_organisation_has_zero_figures_and_empty_charts(in_org_a):
    report = report_of(in_org_a)

    assert report.current.participants == 0
    assert report.current.participation_rate is None  # no headcount
    assert report.figure("participation_rate").display == "—"
    assert report.charts.co2e is None
    assert report.charts.teams is None
    assert report.charts.skills is None
    assert report.challenges == ()
    assert report.ledger.rows == ()


def test_a_bad_period_is_refused_with_a_message_per_field(in_org_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        impact_report(in_org_a, dt.date(2025, 3, 31), dt.date(2025, 3, 1), language="en", today=TODAY)

    assert set(refused.value.message_dict) == {"end"}


def test_live_data_through_the_services_counts_today(in_org_a, admin):
    """The product's own write path, not rows written by hand: a pledge made now is in this month."""
    from challenges import services
    from tests.factories import ChallengeFactory, UserFactory

    challenge = ChallengeFactory.create(goal_target=Decimal(100))
    person = UserFactory.create(email="live@alpha.test")
    services.pledge_create(actor=person, challenge_id=challenge.pk)
    today = timezone.localdate()

    report = impact_report(in_org_a, today.replace(day=1), today, language="en")

    assert report.current.participants == 1
    assert report.current.challenges.open == 1
    assert Challenge.objects.get(pk=challenge.pk).pledge_count == 1
