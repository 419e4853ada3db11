"""The organisation's settings form: the shape of the input; the rules are in tenants.services."""

import zoneinfo
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.models import Organization


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]


class OrganizationSettingsForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    locale = forms.ChoiceField(
        label=_("Language"),
        choices=Organization.Locale.choices,
        help_text=_("The language of pages and e-mails, unless a person chooses the other one."),
    )
    timezone = forms.ChoiceField(label=_("Time zone"), help_text=_("Dates are typed and shown in it."))
    headcount = forms.IntegerField(
        label=_("Headcount"),
        required=False,
        min_value=1,
        max_value=10_000_000,
        help_text=_("Employees or residents: what participation rates are counted against."),
    )
    allowed_email_domains = forms.CharField(
        label=_("Allowed e-mail domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_("One per line, for example acme.com. People join with an address at one of them."),
    )
    embed_origins = forms.CharField(
        label=_("Intranet addresses that may show the widget"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_("One per line, for example https://intranet.acme.com."),
    )
    brand_color = forms.CharField(
        label=_("Brand colour"),
        max_length=7,
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text=_("White text must stay readable on it (a contrast of at least 4.5:1)."),
    )
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_("PNG, JPEG or WebP, up to 1 MB; shown at most 1,000 × 1,000 pixels."),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone_field = self.fields["timezone"]
        assert isinstance(zone_field, forms.ChoiceField)  # noqa: S101 - narrows the type
        zones = sorted(zoneinfo.available_timezones())
        zone_field.choices = [(zone, zone.replace("_", " ")) for zone in zones]
        if organization.kind != Organization.Kind.COMPANY:
            del self.fields["allowed_email_domains"]
        if not organization.logo:
            del self.fields["remove_logo"]

    @classmethod
    def initial_of(cls, organization: Organization) -> dict[str, Any]:
        return {
            "name": organization.name,
            "locale": organization.locale,
            "timezone": organization.timezone,
            "headcount": organization.headcount,
            "allowed_email_domains": "\n".join(organization.allowed_email_domains),
            "embed_origins": "\n".join(organization.embed_origins),
            "brand_color": organization.brand_color,
        }

    def settings_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        fields = {key: data[key] for key in ("name", "locale", "timezone", "headcount", "brand_color")}
        fields["brand_color"] = str(fields["brand_color"]).upper()
        for key in ("allowed_email_domains", "embed_origins"):
            if key in data:
                fields[key] = _lines(data[key])
        return fields
