"""Forms of the join pages and of the admins' join-link pages.

They check the shape of the input; the organisation's rules (allowed e-mail domains, which challenge
a link may lead to, an expiry in the future) stay in participants/services.py, whose errors the
views put next to the fields.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from challenges.models import Challenge
from core.forms import DateTimeLocalInput
from core.pages import service_errors_add
from participants.models import JoinLink, SignInLink
from participants.services import JOINABLE_STATUSES, email_check, max_length
from tenants.models import Organization


class JoinForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    display_name = forms.CharField(
        label=_("Your name"),
        max_length=max_length(SignInLink, "display_name"),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text=_("Others see “a participant” unless you choose to show your name."),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        domains = [domain.strip().lower().lstrip("@") for domain in organization.allowed_email_domains]
        if organization.kind == Organization.Kind.COMPANY and domains:
            listed = ", ".join(f"@{domain}" for domain in sorted(set(domains)))
            self.fields["email"].help_text = _("Your work address, ending in %(domains)s.") % {
                "domains": listed
            }

    def clean_email(self) -> str:
        # The organisation's rule, checked here too so that every error shows at once.
        try:
            return email_check(self.organization, str(self.cleaned_data["email"]))
        except ValidationError as error:
            raise ValidationError(error.message_dict["email"]) from None

    def clean_display_name(self) -> str:
        name = str(self.cleaned_data["display_name"]).strip()
        if not name:
            raise ValidationError(_("Enter your name."))
        return name


class EmailLinkForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_email(self) -> str:
        try:
            return email_check(self.organization, str(self.cleaned_data["email"]))
        except ValidationError as error:
            raise ValidationError(error.message_dict["email"]) from None


class ChallengeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Challenge) -> str:
        return obj.title


class JoinLinkForm(forms.Form):
    label = forms.CharField(
        label=_("Label (optional)"),
        max_length=max_length(JoinLink, "label"),
        required=False,
        help_text=_("Where you post it, for example: intranet home page."),
    )
    challenge = ChallengeChoiceField(
        label=_("Where the link leads"),
        queryset=Challenge.objects.none(),
        required=False,
        empty_label=_("The whole organisation (its home page)"),
        help_text=_("After signing in, people land on this challenge or on the organisation's home page."),
    )
    expires_at = forms.DateTimeField(
        label=_("Expiry (optional)"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_("Leave empty for a link that works until you revoke it."),
    )

    def __init__(self, *args: Any, timezone_name: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        challenge_field = self.fields["challenge"]
        assert isinstance(challenge_field, ChallengeChoiceField)  # noqa: S101 - narrows the type
        challenge_field.queryset = Challenge.objects.filter(status__in=JOINABLE_STATUSES).order_by(
            "title", "pk"
        )
        if timezone_name:
            self.fields["expires_at"].help_text = _(
                "Leave empty for a link that works until you revoke it. Time in %(zone)s."
            ) % {"zone": timezone_name}


class WidgetForm(forms.Form):
    join_link = forms.TypedChoiceField(
        label=_("What the widget's button does"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_(
            "The widget can be read by anyone who opens the intranet page. By default its button opens "
            "the challenge page, where people sign in. To let people join straight from the widget, "
            "choose a join link made for this challenge: you can revoke it on its own."
        ),
    )

    def __init__(self, *args: Any, join_links: list[JoinLink], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["join_link"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrows the type
        field.choices = [
            ("", _("Open the challenge page (people sign in there)")),
            *[
                (link.pk, _("Join through the link “%(label)s”") % {"label": link.label or link.token[:8]})
                for link in join_links
            ],
        ]


__all__ = ["service_errors_add"]
