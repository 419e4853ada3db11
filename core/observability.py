"""What the logs and the error reports say about each event, and what they never say.

Every log record carries the organisation (the schema being served), the request id
(core.middleware.RequestContextMiddleware; in a task, the id of the request or task that sent it)
and the signed-in person's id. Production writes one JSON object per line (JsonFormatter); other
environments keep the plain format unless LOG_FORMAT=json.

Nothing written or sent holds an e-mail address or a secret: addresses become "[email]", the values
of keys such as password, token, secret, authorization, cookie, sessionid, api key or stripe
signature become "[scrubbed]", and so do the secrets of one-time links (join, sign-in, invitation,
password and sign-up confirmation links).
"""

import contextvars
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty

from core.http import RequestContext, current_request, request_context_reset, request_context_set

SCRUBBED = "[scrubbed]"
EMAIL_SCRUBBED = "[email]"
# A request id worth keeping: the proxy's X-Request-ID, or the one a task was sent with.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
# The message header a task carries its request id in (before_task_publish → task_prerun).
REQUEST_ID_HEADER = "x_request_id"

# The local part without the characters that also separate things in paths and query strings (/ = ? &).
EMAIL = re.compile(r"[A-Za-z0-9.!#$%'*+^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Keys whose values are secrets, whatever they look like: "key" alone is the sign-up confirmation
# link's parameter, and a task's arguments (Celery logs them as `data`) may be a link's secret.
SENSITIVE_KEY = re.compile(
    r"pass(?:word|wd)|token|secret|authori[sz]ation|cookie|session_?id|csrf|api[ _-]?key|"
    r"stripe[ _-]?signature|dsn|^key$|^(?:kw)?args(?:repr)?$",
    re.IGNORECASE,
)
# The same in running text: `password=…`, `"token": "…"`, `Authorization: Bearer …`, `?key=…`.
# Headers keep their whole value (a Cookie header is several cookies, a Stripe signature has commas).
SECRET_IN_TEXT = re.compile(
    r"(?P<name>\b(?:authori[sz]ation|cookie|stripe[_-]signature)[\"']?\s*[:=]\s*[\"']?)[^\n\"']+"
    r"|(?P<key>\b(?:pass(?:word|wd)|token|secret|session_?id|csrf(?:token)?|api[_-]?key|key)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"'&,;]+",
    re.IGNORECASE,
)
# One-time links carry their secret in the path: /join/<secret>/, /account/sign-in/<secret>/,
# /account/invitation/<secret>/, /account/welcome/<secret>/, /account/set-password/<uid>/<secret>/.
SECRET_IN_PATH = re.compile(
    r"(?P<name>/(?:join|sign-in|invitation|welcome|set-password/[^/\s]+)/)[A-Za-z0-9_-]+"
)


def scrub_text(text: str) -> str:
    text = EMAIL.sub(EMAIL_SCRUBBED, text)
    text = SECRET_IN_TEXT.sub(lambda match: (match["name"] or match["key"]) + SCRUBBED, text)
    return SECRET_IN_PATH.sub(lambda match: match["name"] + SCRUBBED, text)


def scrub(value: Any) -> Any:
    """The value with every e-mail address and secret replaced, through dicts, lists and tuples; any
    other object becomes its scrubbed text (a request, say, whose path may hold a link's secret)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {
            key: SCRUBBED if SENSITIVE_KEY.search(str(key)) and item not in (None, "") else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return scrub_text(str(value))


# --------------------------------------------------------------------------------------------------
# Who and where: the organisation, the request, the person
# --------------------------------------------------------------------------------------------------

# The task being run in this process, if any: (name, id).
_task: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("crowdact_task", default=None)


def _organization() -> str:
    # The schema is the organisation's slug (or "public"): read from the connection, which every part
    # of the product switches (the middleware, tenant_context, the task's schema header).
    from django.db import connection

    try:
        return str(getattr(connection, "schema_name", "") or "")
    except Exception:  # settings not loaded yet: nothing to say
        return ""


def _user_id(request: HttpRequest | None = None) -> int | str | None:
    request = request if request is not None else current_request().request
    if request is None:
        return None
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        # Not asked for yet: finding out would query the database from inside the logging.
        wrapped = user.__dict__.get("_wrapped", empty)
        if wrapped is empty:
            return None
        user = wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    pk = getattr(user, "pk", None)
    return pk if isinstance(pk, int | str) else None


def log_context(request: HttpRequest | None = None) -> dict[str, Any]:
    """What a record says about where it comes from; `request` is the one a record names (Django logs
    an answer of 4xx or 5xx once the middleware are done with it, with the request in `extra`)."""
    if request is not None:
        tenant = getattr(request, "tenant", None)
        return {
            "org": str(getattr(tenant, "schema_name", "") or _organization()),
            "request_id": str(getattr(request, "request_id", "") or current_request().request_id),
            "user_id": _user_id(request),
        }
    context: dict[str, Any] = {
        "org": _organization(),
        "request_id": current_request().request_id,
        "user_id": _user_id(),
    }
    task = _task.get()
    if task is not None:
        context["task"], context["task_id"] = task
    return context


def _record_context(record: logging.LogRecord) -> dict[str, Any]:
    request = getattr(record, "request", None)
    return log_context(request if isinstance(request, HttpRequest) else None)


class RequestContextFilter(logging.Filter):
    """Adds org, request_id, user_id (and task, task_id in a task) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _record_context(record).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


# The attributes every LogRecord has; anything else on a record came as `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_CONTEXT_KEYS = ("org", "request_id", "user_id", "task", "task_id")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, org, request_id, user_id, then
    the record's extra fields and, for an exception, its traceback as one string; all scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        context = _record_context(record)
        entry: dict[str, Any] = {
            "timestamp": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_text(record.getMessage()),
        }
        for key in _CONTEXT_KEYS:
            value = getattr(record, key, context.get(key))
            if value is not None or key in ("org", "request_id", "user_id"):
                entry[key] = value
        extra = {
            key: value
            for key, value in vars(record).items()
            if key not in _RECORD_ATTRIBUTES and key not in entry and not key.startswith("_")
        }
        entry.update(scrub(extra))
        if record.exc_info:
            entry["exception"] = scrub_text(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = scrub_text(record.exc_text)
        if record.stack_info:
            entry["stack"] = scrub_text(self.formatStack(record.stack_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


# --------------------------------------------------------------------------------------------------
# Celery: the request id goes with the task (connected in config/celery.py)
# --------------------------------------------------------------------------------------------------

_task_tokens: dict[
    str, tuple[contextvars.Token[RequestContext], contextvars.Token[tuple[str, str] | None]]
] = {}


def task_publish_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """before_task_publish: the task carries the id of the request (or task) that sends it."""
    request_id = current_request().request_id
    if headers is not None and request_id and not headers.get(REQUEST_ID_HEADER):
        headers[REQUEST_ID_HEADER] = request_id


def _task_request_id(task: Any) -> str:
    request = getattr(task, "request", None)
    if request is None:
        return ""
    # Depending on the broker, custom headers are merged into the task's request or kept apart.
    headers = getattr(request, "headers", None) or {}
    value = headers.get(REQUEST_ID_HEADER) or getattr(request, REQUEST_ID_HEADER, None) or ""
    return str(value) if REQUEST_ID.fullmatch(str(value)) else ""


def task_prerun_request_id(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    """task_prerun: the task logs with the request id it was sent with; one sent without (beat, a
    command) gets a fresh one per run. A task run inline keeps the id of the request running it."""
    request_id = _task_request_id(task) or current_request().request_id or uuid.uuid4().hex
    context = RequestContext(request_id=request_id, client=current_request().client)
    _task_tokens[task_id] = (
        request_context_set(context),
        _task.set((str(getattr(task, "name", "")), task_id)),
    )


def task_postrun_request_id(task_id: str = "", **kwargs: Any) -> None:
    tokens = _task_tokens.pop(task_id, None)
    if tokens is None:
        return
    try:
        request_context_reset(tokens[0])
        _task.reset(tokens[1])
    except ValueError:  # set in another context (a pool that switched threads): nothing to restore
        pass


# --------------------------------------------------------------------------------------------------
# Sentry (optional: SENTRY_DSN)
# --------------------------------------------------------------------------------------------------

# Forms whose bodies are credentials or e-mail addresses: sign-in, e-mailed sign-in links, join
# links, sign-up, setting a password, accepting an invitation.
CREDENTIAL_FORM = re.compile(
    r"/(?:account/(?:sign-in|email-link|set-password|invitation|welcome)|join|signup)(?:/|$)"
)


def sentry_event_scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_send: no e-mail address, cookie, Authorization header, credential form body,
    task arguments or user detail but the id leaves the process."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        if CREDENTIAL_FORM.search(str(request.get("url", ""))) and "data" in request:
            request["data"] = SCRUBBED
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    job = event.get("extra", {}).get("celery-job") if isinstance(event.get("extra"), dict) else None
    if isinstance(job, dict):
        job.pop("args", None)
        job.pop("kwargs", None)
    scrubbed: dict[str, Any] = scrub(event)
    return scrubbed


def sentry_setup(
    dsn: str, *, environment: str = "", release: str = "", traces_sample_rate: float = 0.0
) -> bool:
    """Starts Sentry when a DSN is given (Django and Celery integrations, no personal data); says
    whether it did."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        before_send=sentry_event_scrub,  # type: ignore[arg-type]
        before_send_transaction=sentry_event_scrub,  # type: ignore[arg-type]
    )
    return True
