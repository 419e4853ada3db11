"""core/observability.py: JSON logs naming the organisation, the request and the person, never an
e-mail address or a secret; the request id carried by Celery tasks; Sentry's scrubbing."""

import io
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from celery.result import allow_join_result
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject
from django_tenants.utils import tenant_context

from accounts.models import User
from config.celery import app
from core import observability
from core.http import RequestContext, current_request, request_context_reset, request_context_set
from core.middleware import RequestContextMiddleware
from tenants.models import Organization
from tests.workers import celery_worker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What the root logger writes, through the production handler's filter and formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(observability.RequestContextFilter())
    handler.setFormatter(observability.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# --------------------------------------------------------------------------------------------------
# JSON logs
# --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_log_line_is_json_naming_organisation_request_and_person_but_no_address(admin, json_log):
    request = RequestFactory(HTTP_X_REQUEST_ID="req-observe-0001").get("/")
    # As AuthenticationMiddleware does: the person, looked up when first asked for.
    request.user = SimpleLazyObject(lambda: admin)  # type: ignore[assignment]

    def view(request: HttpRequest) -> HttpResponse:
        assert request.user.is_authenticated
        logging.getLogger("crowdact.test").warning(
            "Pledge refused for %s", admin.email, extra={"password": "hunter2", "challenge": 7}
        )
        return HttpResponse()

    RequestContextMiddleware(view)(request)

    (entry,) = [line for line in lines(json_log) if line["logger"] == "crowdact.test"]
    assert entry["level"] == "WARNING"
    assert entry["org"] == "alpha"
    assert entry["request_id"] == "req-observe-0001"
    assert entry["user_id"] == admin.pk
    assert entry["message"] == "Pledge refused for [email]"
    assert entry["password"] == "[scrubbed]"
    assert entry["challenge"] == 7
    assert "timestamp" in entry
    assert "hr@alpha.test" not in json_log.getvalue()
    assert "hunter2" not in json_log.getvalue()


def test_a_page_request_logs_its_id_and_person_through_the_middleware(admin_client, admin, json_log):
    response = admin_client.get("/no-such-page/hr@alpha.test/", HTTP_X_REQUEST_ID="req-observe-0002")

    assert response.status_code == 404
    (entry,) = [line for line in lines(json_log) if line["logger"] == "django.request"]
    assert entry["message"] == "Not Found: /no-such-page/[email]/"
    assert (entry["org"], entry["request_id"], entry["user_id"]) == ("alpha", "req-observe-0002", admin.pk)
    assert "hr@alpha.test" not in json_log.getvalue()


@pytest.mark.django_db
def test_the_logging_never_looks_the_person_up(admin, json_log, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = SimpleLazyObject(lambda: User.objects.get(pk=admin.pk))  # type: ignore[assignment]
    token = request_context_set(RequestContext(request_id="req-observe-0100", request=request))
    try:
        with django_assert_num_queries(0):
            logging.getLogger("crowdact.test").warning("before anyone asked who it is")
    finally:
        request_context_reset(token)

    (entry,) = lines(json_log)
    assert entry["user_id"] is None


def test_an_anonymous_visitor_has_no_user_id(json_log):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    token = request_context_set(RequestContext(request_id="req-observe-0100", request=request))
    try:
        logging.getLogger("crowdact.test").info("a visitor")
    finally:
        request_context_reset(token)

    assert lines(json_log)[0]["user_id"] is None


def test_an_exception_is_one_scrubbed_field_of_one_line(json_log):
    try:
        raise ValueError("no account for paula@alpha.test")
    except ValueError:
        logging.getLogger("crowdact.test").exception("Sign-in failed")

    text = json_log.getvalue()
    assert text.count("\n") == 1
    (entry,) = lines(json_log)
    assert entry["message"] == "Sign-in failed"
    assert "Traceback (most recent call last)" in entry["exception"]
    assert "ValueError: no account for [email]" in entry["exception"]
    assert "paula@alpha.test" not in text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (
            "mail to paula.pledger+news@alpha-corp.example.org failed",
            "paula.pledger+news@alpha-corp.example.org",
        ),
        ("Authorization: Bearer cra_0123456789abcdef", "cra_0123456789abcdef"),
        ('{"password": "correct horse"}', "correct"),
        ("sessionid=abc123def456; csrftoken=zzz999", "abc123def456"),
        ("Stripe-Signature: t=1492774577,v1=5257a869e7", "5257a869e7"),
        ("GET /signup/confirm/?key=Zk3vUq0nR8 200", "Zk3vUq0nR8"),
        ("GET /join/Jq8sPzL0vW3/ 404", "Jq8sPzL0vW3"),
        ("GET /account/sign-in/Xy9_Q-7aa/ 410", "Xy9_Q-7aa"),
        ("GET /account/set-password/MQ/c8x1-0f7a9bd2/ 200", "c8x1-0f7a9bd2"),
    ],
)
def test_addresses_and_secrets_are_scrubbed_from_text(text, secret):
    assert secret not in observability.scrub_text(text)


def test_harmless_text_is_left_as_it_is():
    text = "Challenge 12 closed: 40 pledges, goal reached (KeyError was handled)"

    assert observability.scrub_text(text) == text


def test_the_test_and_local_settings_log_plain_text_and_production_json():
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "plain"
    assert settings.LOGGING["formatters"]["json"]["()"] == "core.observability.JsonFormatter"
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["context"]


# --------------------------------------------------------------------------------------------------
# Production settings: JSON by default, Sentry only with a DSN
# --------------------------------------------------------------------------------------------------

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "x" * 60,
    "DATABASE_URL": "postgres://crowdact:pw@postgres.invalid:5432/crowdact",
    "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
    "CACHE_URL": "rediscache://redis.invalid:6379/1",
    "EMAIL_URL": "consolemail://",
}
PROBE = """
import json, sentry_sdk
from django.conf import settings
log_format = settings.LOGGING["handlers"]["console"]["formatter"]  # loads the settings
client = sentry_sdk.get_client()
started = [client.options["send_default_pii"], client.options["environment"]] if client.is_active() else []
print(json.dumps([log_format, client.is_active(), *started]))
"""


def _production_settings(**extra: str) -> list[Any]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("SENTRY_", "LOG_"))}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**environment, **PRODUCTION_ENV, **extra},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: list[Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_production_logs_json_and_starts_no_sentry_without_a_dsn():
    assert _production_settings() == ["json", False]


def test_production_starts_sentry_with_a_dsn_and_logs_plain_when_asked():
    # Nothing is sent: starting the client opens no connection, and no event is captured.
    started = _production_settings(
        SENTRY_DSN="https://public@sentry.invalid/1", SENTRY_ENVIRONMENT="staging", LOG_FORMAT="plain"
    )

    assert started == ["plain", True, False, "staging"]


def test_sentry_setup_without_a_dsn_does_nothing(monkeypatch):
    import sentry_sdk

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: calls.append(options))

    assert observability.sentry_setup("") is False
    assert calls == []
    assert observability.sentry_setup("https://public@sentry.invalid/1", traces_sample_rate=0.25) is True
    (options,) = calls
    assert options["send_default_pii"] is False
    assert options["traces_sample_rate"] == 0.25
    assert options["before_send"] is observability.sentry_event_scrub
    assert {type(integration).__name__ for integration in options["integrations"]} == {
        "DjangoIntegration",
        "CeleryIntegration",
    }


# --------------------------------------------------------------------------------------------------
# Sentry's scrubbing
# --------------------------------------------------------------------------------------------------


def _event(url: str, data: object) -> dict[str, Any]:
    return {
        "message": "Sign-in failed for paula@alpha.test",
        "request": {
            "url": url,
            "method": "POST",
            "query_string": "next=/&key=Zk3vUq0nR8",
            "cookies": {"sessionid": "s3ss10n"},
            "headers": {
                "Cookie": "sessionid=s3ss10n; csrftoken=c5rf",
                "Authorization": "Token cra_0123456789abcdef",
                "Stripe-Signature": "t=1,v1=5257a869e7",
                "User-Agent": "Mozilla/5.0",
            },
            "data": data,
        },
        "user": {
            "id": 42,
            "email": "paula@alpha.test",
            "username": "paula@alpha.test",
            "ip_address": "10.0.0.9",
        },
        "extra": {"celery-job": {"task_name": "participants.tasks.sign_in_link_send", "args": [5, "l1nk"]}},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "no account for paula@alpha.test",
                    "stacktrace": {"frames": [{"function": "sign_in", "vars": {"secret": "l1nk", "pk": 5}}]},
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": "mail to admin@alpha.test queued"}]},
    }


def test_a_sentry_event_leaves_without_addresses_cookies_credentials_or_the_sign_in_form():
    event = observability.sentry_event_scrub(
        _event(
            "https://alpha.crowdact.example/account/sign-in/",
            {"username": "paula@alpha.test", "password": "pw1"},
        ),
        {},
    )

    text = json.dumps(event)
    for secret in (
        "paula@alpha.test",
        "admin@alpha.test",
        "s3ss10n",
        "c5rf",
        "cra_0123",
        "5257a869e7",
        "pw1",
    ):
        assert secret not in text
    for secret in ("Zk3vUq0nR8", "l1nk", "10.0.0.9"):
        assert secret not in text
    assert "cookies" not in event["request"]
    assert event["request"]["data"] == "[scrubbed]"
    assert event["request"]["headers"]["User-Agent"] == "Mozilla/5.0"
    assert event["user"] == {"id": 42}
    assert event["extra"]["celery-job"] == {"task_name": "participants.tasks.sign_in_link_send"}
    assert event["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"] == {
        "secret": "[scrubbed]",
        "pk": 5,
    }


@pytest.mark.parametrize(
    "path", ["/join/Jq8sPzL0vW3/", "/signup/", "/account/email-link/", "/account/set-password/MQ/c8x1/"]
)
def test_the_body_of_every_form_that_takes_an_address_or_a_password_is_dropped(path):
    event = observability.sentry_event_scrub(
        _event(f"https://alpha.crowdact.example{path}", {"display_name": "Paula"}), {}
    )

    assert event["request"]["data"] == "[scrubbed]"


def test_other_form_bodies_stay_readable_once_scrubbed():
    event = observability.sentry_event_scrub(
        _event(
            "https://alpha.crowdact.example/manage/challenges/new/", {"title": "Plant trees", "token": "t0k"}
        ),
        {},
    )

    assert event["request"]["data"] == {"title": "Plant trees", "token": "[scrubbed]"}


# --------------------------------------------------------------------------------------------------
# Celery: the request id goes with the task
# --------------------------------------------------------------------------------------------------


def _in_request(request_id: str) -> Any:
    return request_context_set(RequestContext(request_id=request_id, client="203.0.113.5"))


def test_a_task_sent_inside_a_request_carries_its_id():
    headers: dict[str, Any] = {"task": "accounts.tasks.invitation_send"}
    token = _in_request("req-observe-0003")
    try:
        observability.task_publish_request_id(
            headers=headers, body=(), sender="accounts.tasks.invitation_send"
        )
    finally:
        request_context_reset(token)

    assert headers["x_request_id"] == "req-observe-0003"


def test_a_task_sent_outside_a_request_carries_no_id():
    headers: dict[str, Any] = {}

    observability.task_publish_request_id(headers=headers)

    assert headers == {}


def _task(headers: dict[str, Any] | None = None, **merged: Any) -> Any:
    return SimpleNamespace(
        name="challenges.tasks.challenges_close_expired", request=SimpleNamespace(headers=headers, **merged)
    )


def test_a_task_logs_with_the_id_it_was_sent_with_and_passes_it_on(json_log):
    task = _task(x_request_id="req-observe-0004")  # the Redis transport merges headers into the request

    observability.task_prerun_request_id(task_id="t-1", task=task)
    try:
        logging.getLogger("crowdact.test").info("closing")
        sent: dict[str, Any] = {}
        observability.task_publish_request_id(headers=sent)
    finally:
        observability.task_postrun_request_id(task_id="t-1", task=task)

    (entry,) = lines(json_log)
    assert (entry["request_id"], entry["task"], entry["task_id"]) == (
        "req-observe-0004",
        "challenges.tasks.challenges_close_expired",
        "t-1",
    )
    assert sent["x_request_id"] == "req-observe-0004"
    assert current_request().request_id == ""


def test_a_task_sent_without_an_id_gets_a_fresh_one_each_run():
    seen = []
    for run in ("t-2", "t-3"):
        observability.task_prerun_request_id(task_id=run, task=_task(headers={}))
        seen.append(current_request().request_id)
        observability.task_postrun_request_id(task_id=run)

    assert all(len(request_id) == 32 for request_id in seen)
    assert seen[0] != seen[1]
    assert current_request().request_id == ""


def test_a_task_refuses_a_request_id_header_that_is_no_id():
    observability.task_prerun_request_id(task_id="t-4", task=_task(headers={"x_request_id": "a b\n{}"}))
    try:
        assert current_request().request_id != "a b\n{}"
    finally:
        observability.task_postrun_request_id(task_id="t-4")


def test_a_task_run_inline_keeps_the_request_id_of_the_request_running_it():
    token = _in_request("req-observe-0005")
    try:
        observability.task_prerun_request_id(task_id="t-5", task=_task(headers=None))
        assert current_request().request_id == "req-observe-0005"
        observability.task_postrun_request_id(task_id="t-5")
        assert current_request().request_id == "req-observe-0005"
    finally:
        request_context_reset(token)


@pytest.fixture
def json_worker(django_db_setup: None, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real `celery worker` on a queue of its own, logging JSON at INFO to a file."""
    log_path = tmp_path / "worker.log"
    with celery_worker(log_path, level="info", env={"LOG_FORMAT": "json"}) as queue:
        yield queue, log_path


@pytest.mark.worker
def test_a_worker_logs_a_task_with_the_request_id_it_was_sent_with(json_worker):
    queue, log_path = json_worker
    token = _in_request("req-observe-0006")
    try:
        from_request = app.send_task("tenants.tasks.signup_provision", kwargs={"signup_id": 0}, queue=queue)
    finally:
        request_context_reset(token)
    from_nowhere = app.send_task("tenants.tasks.signup_provision", kwargs={"signup_id": 0}, queue=queue)
    with allow_join_result():
        assert from_request.get(timeout=60) == ""
        assert from_nowhere.get(timeout=60) == ""

    deadline, done = time.monotonic() + 10, dict[str, dict[str, Any]]()
    while time.monotonic() < deadline and len(done) < 2:
        for line in log_path.read_text().splitlines():
            entry = json.loads(line) if line.startswith("{") else {}
            if entry.get("task_id") in (from_request.id, from_nowhere.id) and "succeeded" in entry["message"]:
                done[entry["task_id"]] = entry
        time.sleep(0.1)
    assert done[from_request.id]["request_id"] == "req-observe-0006"
    assert done[from_request.id]["org"] == "public"
    assert done[from_nowhere.id]["request_id"] not in ("", "req-observe-0006")


# --------------------------------------------------------------------------------------------------
# Organisation
# --------------------------------------------------------------------------------------------------


def test_the_organisation_is_the_schema_being_served(org_b, json_log):
    with tenant_context(Organization.objects.get(pk=org_b.pk)):
        logging.getLogger("crowdact.test").info("in beta")
    logging.getLogger("crowdact.test").info("back")

    assert [entry["org"] for entry in lines(json_log)] == ["beta", "public"]


def test_gunicorn_access_lines_carry_no_one_time_link_secret_nor_e_mail_address():
    import datetime as dt
    import runpy

    from gunicorn.config import Config

    config = runpy.run_path(str(Path(settings.BASE_DIR) / "deploy" / "gunicorn.conf.py"))
    logger = config["logger_class"](Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/join/Sup3rSecretT0ken/?email=ann@example.com",
        "PATH_INFO": "/join/Sup3rSecretT0ken/",
        "QUERY_STRING": "email=ann@example.com",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "https://alpha.example/account/sign-in/An0therSecret/",
        "REMOTE_ADDR": "10.0.0.1",
    }
    response = SimpleNamespace(status="200 OK", headers=[("X-Request-ID", "req-1")], sent=10)

    atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ, dt.timedelta(milliseconds=5))

    line = " ".join(str(atoms[name]) for name in ("r", "U", "q", "f"))
    for secret in ("Sup3rSecretT0ken", "An0therSecret", "ann@example.com"):
        assert secret not in line
    assert atoms["U"].startswith("/join/")
    assert atoms["{x-request-id}o"] == "req-1"
