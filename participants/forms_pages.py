"""Forms of the participant pages.

They check the shape of what was typed; the rules (the challenge's window, the daily cap, a slot
already filled…) stay in challenges/services.py, whose errors `service_errors_add` puts next to
the field they concern.
"""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from challenges.models import SkillSlot, Team
from core.forms import DateInput

# A long list of radio buttons is harder to use than a select on a phone.
RADIO_LIMIT = 12


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    return cast(forms.ChoiceField, form.fields[name])


def slot_label(slot: SkillSlot) -> str:
    left = max(slot.count - slot.filled_count, 0)
    if not left:
        return gettext("%(skill)s (full)") % {"skill": slot.skill}
    return ngettext(
        "%(skill)s (%(left)s place left out of %(count)s)",
        "%(skill)s (%(left)s places left out of %(count)s)",
        left,
    ) % {"skill": slot.skill, "left": left, "count": slot.count}


class OfferForm(forms.Form):
    """Offer oneself for one skill slot of a skills challenge.

    Full slots stay in the list, marked so: the service, under the challenge's lock, is the one that
    says a slot is full (it may have filled up since the page was shown).
    """

    skill_slot = forms.TypedChoiceField(
        label=_("The skill you offer"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the skill you offer.")},
    )

    def __init__(self, *args: Any, slots: Iterable[SkillSlot] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = _choices(self, "skill_slot")
        field.choices = [(slot.pk, slot_label(slot)) for slot in slots]


class ContributionForm(forms.Form):
    """Log a quantity (quantity goals) or hours on one's skill slot (skills goals)."""

    day = forms.DateField(label=_("Day"), widget=DateInput())
    amount = forms.DecimalField(
        label=_("Amount"),
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        max_length=300,
        required=False,
        help_text=_("Only you and your organisation's admins see it."),
    )
    skill_slot = forms.TypedChoiceField(
        label=_("Skill slot"),
        coerce=int,
        error_messages={"required": _("Choose the skill slot these hours are for.")},
    )

    def __init__(
        self,
        *args: Any,
        unit: str = "",
        slots: Iterable[SkillSlot] = (),
        pledged_slot_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        initial = dict(kwargs.pop("initial", None) or {})
        initial.setdefault("day", timezone.localdate())
        if pledged_slot_id is not None:
            initial.setdefault("skill_slot", pledged_slot_id)
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.fields["day"].widget.attrs["max"] = timezone.localdate().isoformat()
        if unit:
            self.fields["amount"].label = _("Amount (%(unit)s)") % {"unit": unit}
        slots = list(slots)
        if slots:
            field = _choices(self, "skill_slot")
            field.choices = [(slot.pk, slot.skill) for slot in slots]
            self.fields["amount"].label = _("Hours")
        else:
            del self.fields["skill_slot"]


class TeamChoiceForm(forms.Form):
    team = forms.TypedChoiceField(
        label=_("Your team"), coerce=int, error_messages={"required": _("Choose your team.")}
    )

    def __init__(self, *args: Any, teams: Iterable[Team] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = _choices(self, "team")
        field.choices = [(team.pk, team.name) for team in teams]
        if len(field.choices) <= RADIO_LIMIT:
            field.widget = forms.RadioSelect(choices=field.choices)


class PrivacyForm(forms.Form):
    display_name = forms.CharField(
        label=_("Your name"),
        max_length=150,
        required=False,
        help_text=_("Shown to the others only if you choose so below."),
    )
    show_name = forms.BooleanField(
        label=_("Show my name to the other participants"),
        required=False,
        help_text=_("Otherwise they see “A participant”. Your organisation's admins always see your e-mail."),
    )
    language = forms.ChoiceField(label=_("Language of the pages"), required=False, widget=forms.RadioSelect)

    def __init__(self, *args: Any, organization_language: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = dict(User._meta.get_field("language").choices or []).get(organization_language, "")
        field = _choices(self, "language")
        field.choices = [
            ("", _("The organisation's language (%(language)s)") % {"language": default}),
            ("fr", "Français"),
            ("en", "English"),
        ]


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand: my account is erased for good and I will be signed out."),
        error_messages={"required": _("Tick the box to confirm that you want to erase your account.")},
    )


class LeaderboardForm(forms.Form):
    challenge = forms.TypedChoiceField(label=_("Challenge"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, challenges: Iterable[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = _choices(self, "challenge")
        field.choices = [("", _("All current challenges")), *challenges]
