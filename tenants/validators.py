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


def validate_slug(value: str) -> None:
    if not SLUG_PATTERN.match(value):
        raise ValidationError(
            f"“{value}” is not a valid organisation slug: use 2 to 63 lower-case letters, digits and "
            "hyphens, starting with a letter and not ending with a hyphen.",
            code="invalid_slug",
        )
    if value in RESERVED_SLUGS or value.startswith("pg-"):
        raise ValidationError(f"“{value}” is reserved; choose another slug.", code="reserved_slug")
