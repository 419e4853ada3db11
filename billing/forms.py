"""The billing page's forms: the shape of the input. The rules (who may, what is offered to whom,
what Stripe says) are in billing.services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.services.checkout import PURCHASE_ORDER_MAX_LENGTH


class CheckoutForm(forms.Form):
    """What the "Upgrade" and "Buy" buttons post: a plan or a paid service of the catalogue."""

    kind = forms.ChoiceField(
        choices=[("plan", _("Plan")), ("service", _("Paid service"))],
        error_messages={
            "required": _("Choose a plan or a service."),
            "invalid_choice": _("Choose a plan or a service."),
        },
    )
    key = forms.SlugField(
        max_length=50,
        error_messages={
            "required": _("Choose a plan or a service."),
            "invalid": _("This plan or service is not offered."),
            "max_length": _("This plan or service is not offered."),
        },
    )


class PurchaseOrderForm(forms.Form):
    """The Municipality plan by invoice: the purchase-order number printed on the invoice."""

    purchase_order_number = forms.CharField(
        label=_("Purchase-order number"),
        max_length=PURCHASE_ORDER_MAX_LENGTH,
        help_text=_("Printed on every invoice, as your finance department needs it."),
        error_messages={
            "required": _("Give the purchase-order number to print on the invoice."),
            "max_length": _("A purchase-order number has at most %(limit_value)d characters."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
