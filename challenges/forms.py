"""Forms of the HR / CSR manager pages.

They check the shape of what was typed (a date, a number, a length the database can hold); the rules
of the domain stay in challenges/services.py, whose errors `service_errors_add` puts next to the
field they concern.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from challenges.library import ChallengeTemplate
from challenges.models import Challenge, Metric, Team
from challenges.selectors import metric_name, metric_unit
from challenges.services import CHALLENGE_FIELDS, CounterpartInput, SkillSlotInput
from core import pages
from core.forms import DateInput, DateTimeLocalInput

# Service field name -> form field name, where they differ. The counterpart's own model fields come
# back unprefixed from its full_clean.
SERVICE_TO_FORM_FIELD = {
    "counterpart": "counterpart_description",
    "counterpart.amount": "counterpart_amount",
    "counterpart.currency": "counterpart_currency",
    "counterpart.due_date": "counterpart_due_date",
    # Skill slot errors show beside the formset, not next to one field.
    "skill_slots": "",
}
PROOF_FILE_MAX_BYTES = 10 * 1024 * 1024


class MetricChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Metric) -> str:
        return f"{metric_name(obj)} ({metric_unit(obj)})"


class ChallengeForm(forms.Form):
    template_key = forms.CharField(required=False, widget=forms.HiddenInput, max_length=80)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    action = forms.CharField(
        label=_("What each participant commits to"),
        max_length=200,
        required=False,
        help_text=_("For example: I buy at least one organic product a week."),
    )
    category = forms.ChoiceField(label=_("Category"), choices=Challenge.Category.choices)
    starts_at = forms.DateTimeField(label=_("Start"), widget=DateTimeLocalInput())
    deadline = forms.DateTimeField(label=_("Deadline"), widget=DateTimeLocalInput())
    goal_kind = forms.ChoiceField(
        label=_("Kind of goal"), choices=Challenge.GoalKind.choices, widget=forms.RadioSelect
    )
    goal_target = forms.DecimalField(
        label=_("Number to reach"),
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=_("Participants: how many people. Quantity: the total, in the metric's unit."),
    )
    metric = MetricChoiceField(
        label=_("Metric"),
        queryset=Metric.objects.none(),
        required=False,
        empty_label=_("— none —"),
        help_text=_("For a quantity goal: what people log."),
    )
    counterpart_description = forms.CharField(
        label=_("What the organisation commits to"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The counterpart, owed if the goal is reached."),
    )
    counterpart_amount = forms.DecimalField(
        label=_("Amount (optional)"), required=False, max_digits=14, decimal_places=2, min_value=0
    )
    counterpart_currency = forms.CharField(
        label=_("Currency (optional)"),
        required=False,
        max_length=3,
        min_length=3,
        help_text=_("Three letters, for example EUR."),
    )
    counterpart_due_date = forms.DateField(label=_("Due date (optional)"), required=False, widget=DateInput())

    def __init__(
        self,
        *args: Any,
        timezone_name: str = "",
        has_counterpart: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        metric_field = self.fields["metric"]
        assert isinstance(metric_field, MetricChoiceField)  # noqa: S101 - narrows the type
        french = (translation.get_language() or "").startswith("fr")
        metric_field.queryset = Metric.objects.order_by("name_fr" if french else "name_en", "pk")
        self.has_counterpart = has_counterpart
        if timezone_name:
            for name in ("starts_at", "deadline"):
                self.fields[name].help_text = _("Time in %(zone)s.") % {"zone": timezone_name}

    def clean_counterpart_currency(self) -> str:
        currency: str = self.cleaned_data.get("counterpart_currency", "")
        currency = currency.strip().upper()
        if currency and not currency.isalpha():
            raise ValidationError(_("Three letters, for example EUR."))
        return currency

    def challenge_fields(self) -> dict[str, Any]:
        return {key: self.cleaned_data.get(key) for key in CHALLENGE_FIELDS}

    def counterpart_input(self) -> CounterpartInput | None:
        """None when no counterpart was described (and none exists): a challenge may promise nothing."""
        data = self.cleaned_data
        description = (data.get("counterpart_description") or "").strip()
        currency = data.get("counterpart_currency") or ""
        amount, due_date = data.get("counterpart_amount"), data.get("counterpart_due_date")
        if not (description or currency or amount is not None or due_date):
            return None
        return CounterpartInput(description=description, amount=amount, currency=currency, due_date=due_date)

    def counterpart_removed(self) -> bool:
        """Every counterpart field emptied on a draft that had one: the promise is withdrawn."""
        return self.has_counterpart and self.counterpart_input() is None


class SkillSlotForm(forms.Form):
    skill = forms.CharField(label=_("Skill"), max_length=120, required=False)
    count = forms.IntegerField(label=_("People needed"), min_value=1, max_value=10_000, required=False)
    hours = forms.DecimalField(
        label=_("Hours (optional)"),
        required=False,
        max_digits=8,
        decimal_places=1,
        min_value=Decimal("0.5"),
    )


SkillSlotFormSet = forms.formset_factory(SkillSlotForm, extra=3, max_num=50, validate_max=True)
SKILL_SLOTS_PREFIX = "slots"


def skill_slot_inputs(formset: "forms.BaseFormSet[SkillSlotForm]") -> list[SkillSlotInput]:
    """The rows that name a skill; blank rows are the spare ones."""
    slots = []
    for form in formset.forms:
        data = form.cleaned_data
        skill = (data.get("skill") or "").strip()
        if skill:
            slots.append(SkillSlotInput(skill=skill, count=data.get("count") or 1, hours=data.get("hours")))
    return slots


def challenge_initial_from_template(
    template: ChallengeTemplate, locale: str, now: dt.datetime, metric: Metric | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A template's values for the form and its skill slots, in the organisation's language."""
    # The next full hour where the organisation is (some time zones are half an hour off UTC).
    starts_at = (timezone.localtime(now) + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    initial = {
        "template_key": template.key,
        "title": template.text("title", locale),
        "description": template.text("description", locale),
        "action": template.text("action", locale),
        "category": template.category,
        "goal_kind": template.goal_kind,
        "goal_target": template.goal_target,
        "metric": metric,
        "starts_at": starts_at,
        "deadline": starts_at + dt.timedelta(days=template.duration_days),
        "counterpart_description": template.text("counterpart", locale),
    }
    slots = [
        {"skill": names.get(locale) or names["en"], "count": count, "hours": hours}
        for names, count, hours in template.skill_slots
    ]
    return initial, slots


def challenge_initial_from_instance(challenge: Challenge) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    initial: dict[str, Any] = {key: getattr(challenge, key) for key in CHALLENGE_FIELDS}
    initial["template_key"] = challenge.template_key
    counterpart = getattr(challenge, "counterpart", None)
    if counterpart is not None:
        initial.update(
            counterpart_description=counterpart.description,
            counterpart_amount=counterpart.amount,
            counterpart_currency=counterpart.currency,
            counterpart_due_date=counterpart.due_date,
        )
    slots = [
        {"skill": slot.skill, "count": slot.count, "hours": slot.hours}
        for slot in challenge.skill_slots.all()
    ]
    return initial, slots


def service_errors_add(form: forms.Form, error: ValidationError) -> list[str]:
    """A service's errors next to the challenge form's fields; returns those about the skill slots."""
    return pages.service_errors_add(form, error, fields=SERVICE_TO_FORM_FIELD)


class ChallengeFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Challenge.Status.choices]
    )


class CancelForm(forms.Form):
    cause = forms.CharField(
        label=_("Why is this challenge cancelled?"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Participants will read it."),
    )


class DeliveryForm(forms.Form):
    proof_text = forms.CharField(
        label=_("What was delivered"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Give at least one proof: a text, a link or a file."),
    )
    proof_url = forms.URLField(
        label=_("Link to a proof (optional)"), required=False, max_length=500, assume_scheme="https"
    )
    proof_file = forms.FileField(
        label=_("Proof file (optional)"),
        required=False,
        max_length=90,
        help_text=_("A photo, an invoice or a document, up to 10 MB."),
    )

    def clean_proof_file(self) -> Any:
        upload = self.cleaned_data.get("proof_file")
        if upload and upload.size > PROOF_FILE_MAX_BYTES:
            raise ValidationError(_("This file is larger than 10 MB."))
        return upload


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=Team.Kind.choices)
    headcount = forms.IntegerField(
        label=_("Headcount (optional)"),
        required=False,
        min_value=1,
        max_value=10_000_000,
        help_text=_(
            "People in this department, site or neighbourhood, joined or not: for its participation rate."
        ),
    )
    captain_email = forms.EmailField(
        label=_("Captain's e-mail (optional)"),
        required=False,
        help_text=_("A person of the organisation who leads the team."),
    )

    def clean_captain_email(self) -> User | None:
        email = (self.cleaned_data.get("captain_email") or "").strip()
        if not email:
            return None
        captain = User.objects.filter(email__iexact=email, is_active=True).first()
        if captain is None:
            raise ValidationError(_("No one in the organisation has this e-mail address."))
        return captain


TEAM_SERVICE_TO_FORM_FIELD = {"captain": "captain_email"}


def team_service_errors_add(form: TeamForm, error: ValidationError) -> None:
    pages.service_errors_add(form, error, fields=TEAM_SERVICE_TO_FORM_FIELD)
