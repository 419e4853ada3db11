"""The dashboard's period picker: a month, a quarter, a year, or dates; or `start` and `end` alone (the
links of the page, the CSV's), which every other way ends in."""

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from core.forms import DateInput
from reports.periods import (
    EARLIEST,
    Period,
    default_period,
    month_period,
    period_from_dates,
    quarter_period,
    year_period,
)

QUARTERS_SHOWN = 12
YEARS_SHOWN = 10


class MonthInput(forms.TextInput):
    input_type = "month"


class ImpactPeriodForm(forms.Form):
    """Bound to the query string. `period` says which of the fields below counts; without it, `start`
    and `end` do; with nothing at all, the default period (the last full month)."""

    KINDS = [
        ("month", _("A month")),
        ("quarter", _("A quarter")),
        ("year", _("A year")),
        ("custom", _("Dates of my choice")),
    ]

    period = forms.ChoiceField(label=_("Period"), choices=KINDS, required=False, widget=forms.RadioSelect)
    month = forms.CharField(
        label=_("Month"),
        required=False,
        max_length=7,
        widget=MonthInput(),
        help_text=_("For example 2026-03."),
    )
    quarter = forms.ChoiceField(label=_("Quarter"), required=False, choices=[])
    year = forms.ChoiceField(label=_("Year"), required=False, choices=[])
    start = forms.DateField(label=_("From"), required=False, widget=DateInput())
    end = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.today = today
        self.resolved: Period | None = None  # once valid: the period asked for
        oldest = max(EARLIEST.year - 1, today.year - YEARS_SHOWN)
        self.fields["quarter"].choices = self._quarters()  # type: ignore[attr-defined]
        self.fields["year"].choices = [  # type: ignore[attr-defined]
            (str(year), str(year)) for year in range(today.year, oldest, -1)
        ]
        for name in ("start", "end"):
            self.fields[name].widget.attrs.update({"min": EARLIEST.isoformat()})

    def _quarters(self) -> list[tuple[str, str]]:
        year, quarter = self.today.year, (self.today.month - 1) // 3 + 1
        choices = []
        for _index in range(QUARTERS_SHOWN):
            if year < EARLIEST.year:
                break
            label = pgettext("quarter of a year", "Q%(quarter)s %(year)s")
            choices.append((f"{year}-Q{quarter}", label % {"quarter": quarter, "year": year}))
            year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
        return choices

    def clean_month(self) -> tuple[int, int] | None:
        value = (self.cleaned_data.get("month") or "").strip()
        if not value:
            return None
        try:
            year, month = (int(part) for part in value.split("-"))
            dt.date(year, month, 1)
        except ValueError as error:
            raise ValidationError(gettext("Enter a month as YYYY-MM, for example 2026-03.")) from error
        return year, month

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.resolved = self._resolve(data)
        except ValidationError as error:
            for field, field_messages in error.message_dict.items():
                for message in field_messages:
                    self.add_error(field if field in self.fields else None, message)
        return data

    def _resolve(self, data: dict[str, Any]) -> Period:
        kind = data.get("period") or ""
        if kind == "month":
            if data.get("month") is None:
                raise ValidationError({"month": [gettext("Choose a month.")]})
            return self._period(*month_period(*data["month"]), fields=("month", "month"))
        if kind == "quarter":
            if not data.get("quarter"):
                raise ValidationError({"quarter": [gettext("Choose a quarter.")]})
            year, quarter = data["quarter"].split("-Q")
            return self._period(*quarter_period(int(year), int(quarter)), fields=("quarter", "quarter"))
        if kind == "year":
            if not data.get("year"):
                raise ValidationError({"year": [gettext("Choose a year.")]})
            return self._period(*year_period(int(data["year"])), fields=("year", "year"))
        start, end = data.get("start"), data.get("end")
        if start is None and end is None and kind != "custom":
            return default_period(self.today)
        errors = {
            field: [gettext("Give both the start and the end of the period.")]
            for field, value in (("start", start), ("end", end))
            if value is None
        }
        if errors or start is None or end is None:
            raise ValidationError(errors)
        return self._period(start, end, fields=("start", "end"))

    def _period(self, start: dt.date, end: dt.date, *, fields: tuple[str, str]) -> Period:
        """The period, its errors put on the fields that chose it."""
        try:
            return period_from_dates(start, end, today=self.today)
        except ValidationError as error:
            names = {"start": fields[0], "end": fields[1]}
            raise ValidationError(
                {names.get(field, field): messages for field, messages in error.message_dict.items()}
            ) from error

    @staticmethod
    def initial_for(period: Period) -> dict[str, str]:
        """The picker's fields showing `period` (a fresh page, or one reached by a link)."""
        return {
            "period": period.kind,
            "start": period.start.isoformat(),
            "end": period.asked_end.isoformat(),
            "month": f"{period.start.year:04d}-{period.start.month:02d}",
            "quarter": f"{period.start.year}-Q{(period.start.month - 1) // 3 + 1}",
            "year": str(period.start.year),
        }


def period_query(period: Period) -> str:
    """`start=…&end=…` naming the period as asked (a month not over yet names the whole month)."""
    return f"start={period.start.isoformat()}&end={period.asked_end.isoformat()}"


class ReportRequestForm(forms.Form):
    """Asking for a PDF report: the first and last day, and the language it is written in."""

    LANGUAGES = [("en", "English"), ("fr", "Français")]

    start = forms.DateField(label=_("From"), widget=DateInput())
    end = forms.DateField(label=_("To"), widget=DateInput())
    language = forms.ChoiceField(label=_("Language of the report"), choices=LANGUAGES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    @staticmethod
    def initial_for(today: dt.date, language: str) -> dict[str, Any]:
        """The last full month, in the organisation's language."""
        period = default_period(today)
        return {"start": period.start, "end": period.end, "language": language}
