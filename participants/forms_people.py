"""Forms of the people console: filters, an invitation, a person's role and team, a CSV file."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from challenges.models import Team
from participants.selectors import PeopleFilters

ROLE_CHOICES = [("participant", _("Participant")), ("executive", _("Executive")), ("admin", _("Admin"))]
STATUS_CHOICES = [("active", _("Active")), ("invited", _("Invited")), ("deactivated", _("Deactivated"))]


class PeopleFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or e-mail"), required=False, max_length=100)
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("All")), *ROLE_CHOICES])
    team = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *STATUS_CHOICES])

    def __init__(self, *args: Any, teams: list[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["team"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrows the type
        field.choices = [("", _("All")), *[(team.pk, team.name) for team in teams]]

    def filters(self) -> PeopleFilters:
        if not self.is_valid():
            return PeopleFilters()
        data = self.cleaned_data
        return PeopleFilters(search=data["q"], role=data["role"], team_id=data["team"], status=data["status"])


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    display_name = forms.CharField(label=_("Name (optional)"), required=False, max_length=150)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=ROLE_CHOICES,
        initial="participant",
        help_text=_(
            "An admin or an executive gets a link to set a password; "
            "a participant, a link that signs them in."
        ),
    )


class PersonRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


class PersonTeamForm(forms.Form):
    team = forms.TypedChoiceField(label=_("Team"), coerce=int)

    def __init__(self, *args: Any, teams: list[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["team"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrows the type
        field.choices = [(team.pk, team.name) for team in teams]


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, separated by ; or , with a header row: e-mail, name, team, role."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ImportConfirmForm(forms.Form):
    all_or_nothing = forms.BooleanField(
        label=_("All or nothing: import nothing if any line has an error"), required=False
    )
