"""The period a report covers, the one it is compared with, and how a period is asked for.

A period is a range of days [start, end], both included, in the organisation's time zone. Every
way of asking for one (the dashboard's picker, the CSV link, the API's `start` and `end`) ends in
`period_from_dates`, which refuses a bad period with a message per field and changes nothing.

The previous period has the same length: the calendar month, quarter or year before a month,
quarter or year (March is compared with February, as a board reads it); for any other range, as
many days just before it. A period that has not ended yet stops today ("to date") and is compared
with the same stretch of the period before (1–15 March with 1–15 February).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Literal

from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext

Kind = Literal["month", "quarter", "year", "custom"]
Bucket = Literal["week", "month"]

EARLIEST = dt.date(2000, 1, 1)  # no challenge starts before (challenges.models.EARLIEST_DATE)
MAX_DAYS = 3 * 365 + 1  # three years, one of them leap
WEEKLY_UP_TO_DAYS = 92  # a quarter at most is shown week by week; longer, month by month
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    kind: Kind
    is_partial: bool = False  # the period has not ended: it stops today

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def asked_end(self) -> dt.date:
        """The end as asked: a month, quarter or year not over yet still ends on its last day."""
        if not self.is_partial or self.kind == "custom":
            return self.end
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        return _add_months(self.start, months) - dt.timedelta(days=1)

    @property
    def bucket(self) -> Bucket:
        return "week" if self.days <= WEEKLY_UP_TO_DAYS else "month"

    def previous(self) -> Period:
        """The period this one is compared with: same length, just before (see the module)."""
        if self.kind == "custom":
            end = self.start - dt.timedelta(days=1)
            return Period(end - dt.timedelta(days=self.days - 1), end, "custom")
        months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
        start = _add_months(self.start, -months)
        if not self.is_partial:
            return Period(start, self.start - dt.timedelta(days=1), self.kind)
        # The same stretch of the period before, named by its dates.
        return Period(start, _add_months(self.end, -months), "custom")

    def label(self) -> str:
        """The period in words, in the active language: "March 2026", "Q1 2026", "2026", or dates."""
        if self.kind == "month":
            text = date_format(self.start, "YEAR_MONTH_FORMAT")
        elif self.kind == "quarter":
            text = pgettext("quarter of a year", "Q%(quarter)s %(year)s") % {
                "quarter": (self.start.month - 1) // 3 + 1,
                "year": self.start.year,
            }
        elif self.kind == "year":
            text = str(self.start.year)
        else:
            return gettext("%(start)s to %(end)s") % {
                "start": date_format(self.start, "DATE_FORMAT"),
                "end": date_format(self.end, "DATE_FORMAT"),
            }
        if self.is_partial:
            return gettext("%(period)s, to %(day)s") % {
                "period": text,
                "day": date_format(self.end, "DATE_FORMAT"),
            }
        return text


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (or earlier), the last day of the month when it has fewer days."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def kind_of(start: dt.date, end: dt.date) -> Kind:
    """Whether [start, end] is exactly a calendar month, quarter or year."""
    if start.day != 1 or end != _month_end(end):
        return "custom"
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if months == 1:
        return "month"
    if months == 3 and start.month in (1, 4, 7, 10):
        return "quarter"
    if months == 12 and start.month == 1:
        return "year"
    return "custom"


def month_period(year: int, month: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, month, 1)
    return start, _month_end(start)


def quarter_period(year: int, quarter: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, 3 * (quarter - 1) + 1, 1)
    return start, _month_end(_add_months(start, 2))


def year_period(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def period_from_dates(start: dt.date, end: dt.date, *, today: dt.date) -> Period:
    """The period [start, end], stopped today if it ends later; ValidationError per field otherwise."""
    errors: dict[str, list[str]] = {}
    if start < EARLIEST:
        errors["start"] = [gettext("Choose a start from 1 January 2000.")]
    elif start > today:
        errors["start"] = [gettext("This period starts after today: there is nothing to report yet.")]
    if end < start:
        errors["end"] = [gettext("The end comes before the start.")]
    elif (end - start).days + 1 > MAX_DAYS:
        errors["end"] = [gettext("A period lasts at most three years.")]
    if errors:
        raise ValidationError(errors)
    period = Period(start, end, kind_of(start, end))
    if end > today:
        period = replace(period, end=today, is_partial=True)
    return period


def parse_date(value: str, field: str) -> dt.date:
    """A day written YYYY-MM-DD; ValidationError on `field` otherwise."""
    value = value.strip()
    if _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError({field: [gettext("Enter a date as YYYY-MM-DD, for example 2026-03-31.")]})


def period_from_query(
    start: str | None, end: str | None, *, today: dt.date, default: Period | None = None
) -> Period:
    """`start` and `end` as a query string gives them (the CSV link, the API); neither: `default`
    (the last full month when not given). One without the other is refused."""
    if start is None and end is None:
        return default or default_period(today)
    errors: dict[str, list[str]] = {}
    days: dict[str, dt.date] = {}
    for field, value in (("start", start), ("end", end)):
        if value is None or not value.strip():
            errors[field] = [gettext("Give both the start and the end of the period.")]
            continue
        try:
            days[field] = parse_date(value, field)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return period_from_dates(days["start"], days["end"], today=today)


def default_period(today: dt.date) -> Period:
    """The last full month: a whole period, compared with the whole month before it, and the one
    the monthly report covers, so the dashboard opens on the figures the executives were sent."""
    end = today.replace(day=1) - dt.timedelta(days=1)
    return Period(end.replace(day=1), end, "month")


def presets(today: dt.date) -> list[tuple[str, Period]]:
    """The periods offered in one click, in the active language."""
    this_month = period_from_dates(*month_period(today.year, today.month), today=today)
    quarter = (today.month - 1) // 3 + 1
    this_quarter = period_from_dates(*quarter_period(today.year, quarter), today=today)
    last_quarter_start = _add_months(this_quarter.start, -3)
    last_quarter = period_from_dates(
        *quarter_period(last_quarter_start.year, (last_quarter_start.month - 1) // 3 + 1), today=today
    )
    year_to_date = period_from_dates(*year_period(today.year), today=today)
    last_year = period_from_dates(*year_period(today.year - 1), today=today)
    return [
        (gettext("Last month"), default_period(today)),
        (gettext("This month"), this_month),
        (gettext("Last quarter"), last_quarter),
        (gettext("This quarter"), this_quarter),
        (gettext("Year to date"), year_to_date),
        (gettext("Last year"), last_year),
    ]
