"""The sign-up form of the public site: the shape of the input; the rules are in tenants.signup."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.pages import service_errors_add
from tenants.models import Organization
from tenants.signup import PERSON_NAME_LENGTH, signup_check, slug_suggest

KIND_CHOICES = [
    (Organization.Kind.COMPANY.value, _("A company")),
    (Organization.Kind.MUNICIPALITY.value, _("A municipality")),
    (Organization.Kind.ASSOCIATION.value, _("An association")),
]


class SignupForm(forms.Form):
    organization_name = forms.CharField(
        label=_("Name of your organisation"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    slug = forms.CharField(
        label=_("Address of your space"),
        max_length=63,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    kind = forms.ChoiceField(label=_("Your organisation is"), choices=KIND_CHOICES, widget=forms.RadioSelect)
    locale = forms.ChoiceField(
        label=_("Language of your space"),
        choices=Organization.Locale.choices,
        help_text=_("The language of its pages and e-mails; each person can choose the other one."),
    )
    person_name = forms.CharField(
        label=_("Your name"),
        max_length=PERSON_NAME_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Your work e-mail address"),
        max_length=254,
        help_text=_("We e-mail you a link to confirm it. You will be the first admin of your space."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    consent = forms.BooleanField(
        label=_(
            "I accept Crowdact's terms of use, and that my name and e-mail address are kept to run "
            "this space."
        ),
        error_messages={"required": _("Tick this box to accept the terms of use.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].help_text = _(
            "Your space will be at https://your-address.%(domain)s. Lower-case letters, digits and "
            "hyphens; left empty, it is made from your organisation's name."
        ) % {"domain": settings.BASE_DOMAIN}

    def clean_slug(self) -> str:
        return str(self.cleaned_data["slug"]).strip().lower()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = str(data.get("organization_name", "")).strip()
        if not data.get("slug") and name:
            # The suggestion goes back into the form, so that a page sent back shows it.
            data["slug"] = slug_suggest(name)
            self.data = {**dict(self.data.items()), self.add_prefix("slug"): data["slug"]}
        # The organisation's rules, checked here too so that every error shows at once; a field the
        # form already refused keeps the form's message only.
        fields = ("organization_name", "slug", "kind", "locale", "person_name", "email")
        try:
            signup_check(**{key: str(data.get(key, "")) for key in fields})
        except ValidationError as error:
            others = {key: messages for key, messages in error.message_dict.items() if key not in self.errors}
            if others:
                service_errors_add(self, ValidationError(others))
        return data
