import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

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
        raise ValidationError(_("Enter a colour as #RRGGBB."), code="invalid_colour")
    contrast = 1.05 / (_relative_luminance(value) + 0.05)
    if contrast < 4.5:
        raise ValidationError(
            _(
                "White text on %(colour)s has a contrast of %(contrast)s:1; "
                "choose a darker colour (at least 4.5:1)."
            )
            % {"colour": value, "contrast": f"{contrast:.2f}"},
            code="low_contrast",
        )


def validate_slug(value: str) -> None:
    if not SLUG_PATTERN.match(value):
        raise ValidationError(
            _(
                "“%(slug)s” is not a valid organisation slug: use 2 to 63 lower-case letters, digits and "
                "hyphens, starting with a letter and not ending with a hyphen."
            )
            % {"slug": value},
            code="invalid_slug",
        )
    if value in RESERVED_SLUGS or value.startswith("pg-"):
        raise ValidationError(
            _("“%(slug)s” is reserved; choose another slug.") % {"slug": value}, code="reserved_slug"
        )


DOMAIN = re.compile(r"^(?=.{1,253}\Z)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z")
ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?\Z")


def email_domains_clean(values: list[str]) -> list[str]:
    """Allowed e-mail domains as stored: lower case, no "@", each once; ValidationError names a bad one."""
    clean: list[str] = []
    for value in values:
        domain = value.strip().lower().lstrip("@")
        if not domain:
            continue
        if not DOMAIN.match(domain):
            raise ValidationError(
                _("“%(value)s” is not a domain name (for example acme.com).") % {"value": value.strip()},
                code="domain",
            )
        if domain not in clean:
            clean.append(domain)
    if len(clean) > 50:
        raise ValidationError(_("At most 50 domains."), code="too_many")
    return clean


def embed_origins_clean(values: list[str]) -> list[str]:
    """Intranet origins as stored: scheme://host[:port], each once; a path is dropped."""
    clean: list[str] = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        parts = urlsplit(text)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        if parts.username or parts.password or not ORIGIN.match(origin):
            raise ValidationError(
                _("“%(value)s” is not a web address of an intranet (for example https://intranet.acme.com).")
                % {"value": text},
                code="origin",
            )
        if origin not in clean:
            clean.append(origin)
    if len(clean) > 20:
        raise ValidationError(_("At most 20 intranet addresses."), code="too_many")
    return clean
