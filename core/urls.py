"""Path converters: a URL that cannot name anything gets a 404 before any query is made.

`<id:...>` is a positive integer that fits PostgreSQL's bigint; `<token:...>` a URL-safe secret
(join links, sign-in links). A NUL byte, a 40-digit number or 3,000 characters never reach the
database, which would refuse them with an error instead of "not found".
"""

from django.urls import register_converter


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class TokenConverter:
    regex = "[A-Za-z0-9_-]{1,128}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(IdConverter, "id")
register_converter(TokenConverter, "token")
