"""Fields the API's output serializers share."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field({"type": ["string", "null"], "format": "uri"})
class OptionalUrlField(serializers.Field):
    """A link that may be missing: null, never an empty string that its `uri` format refuses."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: str) -> str | None:
        return value or None


# The largest id PostgreSQL's bigint holds: a larger number names nothing and must not reach a query.
MAX_ID = 2**63 - 1


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """An object's id in an input: a positive bigint."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)
