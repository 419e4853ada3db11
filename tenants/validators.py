import re

from django.core.exceptions import ValidationError

# A slug is both a DNS label (the subdomain) and a PostgreSQL schema name.
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,61}[a-z0-9]\Z")

RESERVED_SLUGS = frozenset(
    {
        "public",
        "www",
        "admin",
        "api",
        "static",
        "media",
        "mail",
        "smtp",
        "imap",
        "pop",
        "ftp",
        "app",
        "apps",
        "assets",
        "cdn",
        "auth",
        "login",
        "logout",
        "signup",
        "account",
        "accounts",
        "billing",
        "stripe",
        "webhooks",
        "status",
        "health",
        "healthz",
        "help",
        "support",
        "docs",
        "blog",
        "dashboard",
        "operator",
        "root",
        "system",
        "information-schema",
        "test",
        "localhost",
        "crowdact",
        "embed",
        "join",
        "ns1",
        "ns2",
        "mx",
    }
)


def _relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def validate_brand_colour(value: str) -> None:
    """White text sits on the brand colour (header, buttons): WCAG AA asks for 4.5:1 contrast."""
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", value):
        raise ValidationError("Enter a colour as #RRGGBB.", code="invalid_colour")
    contrast = 1.05 / (_relative_luminance(value) + 0.05)
    if contrast < 4.5:
        raise ValidationError(
            f"White text on {value} has a contrast of {contrast:.2f}:1; "
            "choose a darker colour (at least 4.5:1).",
            code="low_contrast",
        )


def validate_slug(value: str) -> None:
    if not SLUG_PATTERN.match(value):
        raise ValidationError(
            f"“{value}” is not a valid organisation slug: use 2 to 63 lower-case letters, digits and "
            "hyphens, starting with a letter and not ending with a hyphen.",
            code="invalid_slug",
        )
    if value in RESERVED_SLUGS or value.startswith("pg-"):
        raise ValidationError(f"“{value}” is reserved; choose another slug.", code="reserved_slug")
