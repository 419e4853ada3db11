"""Periods: how one is asked for, refused, compared and named (reports.periods)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from reports.periods import (
    MAX_DAYS,
    Period,
    default_period,
    kind_of,
    period_from_dates,
    period_from_query,
    presets,
)

TODAY = dt.date(2025, 4, 10)
D = dt.date


@pytest.mark.parametrize(
    ("start", "end", "kind"),
    [
        (D(2025, 3, 1), D(2025, 3, 31), "month"),
        (D(2024, 2, 1), D(2024, 2, 29), "month"),
        (D(2025, 1, 1), D(2025, 3, 31), "quarter"),
        (D(2025, 2, 1), D(2025, 4, 30), "custom"),  # three months, not a quarter
        (D(2024, 1, 1), D(2024, 12, 31), "year"),
        (D(2025, 3, 2), D(2025, 3, 31), "custom"),
        (D(2025, 3, 1), D(2025, 3, 30), "custom"),
    ],
)
def test_a_whole_month_quarter_or_year_is_recognised(start, end, kind):
    assert kind_of(start, end) == kind


@pytest.mark.parametrize(
    ("start", "end", "previous"),
    [
        ((2025, 3, 1), (2025, 3, 31), ((2025, 2, 1), (2025, 2, 28))),  # the month before
        ((2025, 1, 1), (2025, 1, 31), ((2024, 12, 1), (2024, 12, 31))),
        ((2025, 1, 1), (2025, 3, 31), ((2024, 10, 1), (2024, 12, 31))),  # the quarter before
        ((2024, 1, 1), (2024, 12, 31), ((2023, 1, 1), (2023, 12, 31))),  # the year before
        ((2025, 3, 10), (2025, 3, 19), ((2025, 2, 28), (2025, 3, 9))),  # 10 days: the 10 before
    ],
)
def test_the_previous_period_has_the_same_length(start, end, previous):
    period = period_from_dates(D(*start), D(*end), today=TODAY)

    assert (period.previous().start, period.previous().end) == (D(*previous[0]), D(*previous[1]))
    if period.kind == "custom":
        assert period.previous().days == period.days


def test_a_period_not_over_stops_today_and_is_compared_with_the_same_stretch_before():
    period = period_from_dates(D(2025, 4, 1), D(2025, 4, 30), today=TODAY)

    assert (period.end, period.is_partial, period.kind, period.asked_end) == (
        TODAY,
        True,
        "month",
        D(2025, 4, 30),
    )
    assert (period.previous().start, period.previous().end) == (D(2025, 3, 1), D(2025, 3, 10))
    year = period_from_dates(D(2025, 1, 1), D(2025, 12, 31), today=TODAY)
    assert (year.previous().start, year.previous().end) == (D(2024, 1, 1), D(2024, 4, 10))


@pytest.mark.parametrize(
    ("start", "end", "field", "words"),
    [
        (D(2025, 3, 31), D(2025, 3, 1), "end", "before the start"),
        (D(1999, 12, 1), D(2000, 1, 31), "start", "2000"),
        (D(2025, 4, 11), D(2025, 4, 30), "start", "after today"),
        (D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days=MAX_DAYS), "end", "three years"),
    ],
)
def test_a_bad_period_is_refused_on_its_field(start, end, field, words):
    with pytest.raises(ValidationError) as refused:
        period_from_dates(start, end, today=TODAY)

    assert list(refused.value.message_dict) == [field]
    assert words in refused.value.message_dict[field][0]


def test_three_years_is_the_longest_period():
    period = period_from_dates(D(2020, 1, 1), D(2020, 1, 1) + dt.timedelta(days=MAX_DAYS - 1), today=TODAY)

    assert period.days == MAX_DAYS


@pytest.mark.parametrize(
    ("start", "end", "errors"),
    [
        ("2025-03-01", None, {"end"}),
        (None, "2025-03-31", {"start"}),
        ("2025-3-1", "2025-03-31", {"start"}),
        ("20250301", "2025-03-31", {"start"}),  # fromisoformat takes it in Python 3.11: not here
        ("2025-02-30", "2025-03-31", {"start"}),
        ("yesterday", "\x00", {"start", "end"}),
        ("", "", {"start", "end"}),
    ],
)
def test_query_dates_must_be_written_yyyy_mm_dd(start, end, errors):
    with pytest.raises(ValidationError) as refused:
        period_from_query(start, end, today=TODAY)

    assert set(refused.value.message_dict) == errors


def test_no_dates_at_all_is_the_last_full_month():
    assert period_from_query(None, None, today=TODAY) == Period(D(2025, 3, 1), D(2025, 3, 31), "month")
    assert default_period(D(2025, 1, 1)) == Period(D(2024, 12, 1), D(2024, 12, 31), "month")


def test_periods_are_named_in_the_language():
    month = period_from_dates(D(2025, 3, 1), D(2025, 3, 31), today=TODAY)
    quarter = period_from_dates(D(2025, 1, 1), D(2025, 3, 31), today=TODAY)
    partial = period_from_dates(D(2025, 4, 1), D(2025, 4, 30), today=TODAY)
    custom = period_from_dates(D(2025, 3, 10), D(2025, 3, 19), today=TODAY)

    with translation.override("en"):
        assert [p.label() for p in (month, quarter, partial, custom)] == [
            "March 2025", "Q1 2025", "April 2025, to April 10, 2025", "March 10, 2025 to March 19, 2025",
        ]  # fmt: skip
    with translation.override("fr"):
        assert month.label() == "mars 2025"


def test_presets_are_whole_periods_or_periods_to_date():
    with translation.override("en"):
        named = dict(presets(TODAY))

    assert named["Last month"] == Period(D(2025, 3, 1), D(2025, 3, 31), "month")
    assert named["Year to date"] == Period(D(2025, 1, 1), TODAY, "year", is_partial=True)
    assert named["Last quarter"] == Period(D(2025, 1, 1), D(2025, 3, 31), "quarter")
    assert named["Last year"] == Period(D(2024, 1, 1), D(2024, 12, 31), "year")
