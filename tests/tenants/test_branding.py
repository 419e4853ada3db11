import pytest
from django.core.exceptions import ValidationError

from tenants.validators import validate_brand_colour


@pytest.mark.parametrize("colour", ["#1F6F5C", "#767676", "#000000", "#0b3d91"])
def test_a_brand_colour_dark_enough_for_white_text_is_accepted(org_a, colour):
    org_a.brand_color = colour

    org_a.full_clean()
    org_a.save(update_fields=["brand_color"])

    org_a.refresh_from_db()
    assert org_a.brand_color == colour


@pytest.mark.parametrize(
    ("colour", "message"),
    [
        ("#FFFF00", "contrast of 1.07:1"),
        ("#777777", "contrast of 4.48:1"),
        ("red", "Enter a colour as #RRGGBB."),
        ("#12345", "Enter a colour as #RRGGBB."),
    ],
)
def test_a_brand_colour_white_text_cannot_be_read_on_is_refused(colour, message):
    with pytest.raises(ValidationError, match=message):
        validate_brand_colour(colour)


def test_the_organisation_model_checks_its_brand_colour(org_a):
    org_a.brand_color = "#FFFF00"

    with pytest.raises(ValidationError) as caught:
        org_a.full_clean()

    assert "brand_color" in caught.value.message_dict
