import datetime as dt
import os
import subprocess
import sys

import pytest

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "k7#Qp2@vLx9!mZr4$Tb8&Wn3*Hy6^Jc1%Fd5(Gs0)Ua-Eo_Ki+Rl=Xw]Pq[Zt",
    "DATABASE_URL": "postgres://crowdact:secret@db.internal:5432/crowdact",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "CACHE_URL": "rediscache://redis.internal:6379/1",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.internal:587",
    "BASE_DOMAIN": "crowdact.example",
    "STRIPE_SECRET_KEY": "sk_live_placeholder",
    "STRIPE_WEBHOOK_SECRET": "whsec_placeholder",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_the_deployment_checklist():
    result = _manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL", "CACHE_URL"]
)
def test_production_settings_refuse_to_start_without_a_required_variable(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert missing in result.stderr


def test_production_settings_refuse_a_weak_secret_key():
    result = _manage("check", env={**PRODUCTION_ENV, "SECRET_KEY": "short"})

    assert result.returncode != 0
    assert "SECRET_KEY must be a random value of at least 50 characters" in result.stderr


def test_manage_py_defaults_to_local_settings():
    result = _manage(
        "diffsettings", "--all", env={"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/crowdact"}
    )

    assert result.returncode == 0, result.stderr
    assert "DEBUG = True" in result.stdout
    assert (
        "'config.settings.local'" in result.stdout
        or "SETTINGS_MODULE = 'config.settings.local'" in result.stdout
    )


@pytest.mark.parametrize("cache_url", ["locmemcache://", "dummycache://", "filecache:///tmp/crowdact-cache"])
def test_production_settings_refuse_a_cache_that_is_not_shared(cache_url):
    result = _manage("check", env={**PRODUCTION_ENV, "CACHE_URL": cache_url})

    assert result.returncode != 0
    assert "CACHE_URL must name a cache that every process shares" in result.stderr


def test_production_serves_the_api_as_json_only_and_sessions_end_after_8_hours_idle():
    result = _manage("diffsettings", "--all", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "'DEFAULT_RENDERER_CLASSES': ['rest_framework.renderers.JSONRenderer']" in result.stdout
    assert "SESSION_COOKIE_AGE = 28800" in result.stdout
    idle = _manage("diffsettings", "--all", env={**PRODUCTION_ENV, "SESSION_IDLE_TIMEOUT": "3600"})
    assert "SESSION_COOKIE_AGE = 3600" in idle.stdout


@pytest.mark.django_db
def test_signed_in_answers_are_private_and_never_stored(client_a, in_org_a):
    from accounts.roles import ORG_ADMIN
    from tests.factories import UserFactory

    anonymous = client_a.get("/")
    client_a.force_login(UserFactory.create(role=ORG_ADMIN))
    pages = [client_a.get(path) for path in ("/", "/manage/challenges/", "/api/v1/teams/", "/no-such-page/")]

    assert "no-store" not in anonymous.get("Cache-Control", "")
    for response in pages:
        assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}


@pytest.mark.django_db
def test_a_session_in_use_is_renewed_at_most_every_five_minutes(client_a, in_org_a, monkeypatch):
    import time

    from django.contrib.sessions.models import Session

    from core import middleware
    from tests.factories import UserFactory

    client_a.force_login(UserFactory.create())

    def expiry() -> dt.datetime:
        return Session.objects.get(session_key=client_a.cookies["sessionid"].value).expire_date

    signed_in = expiry()
    client_a.get("/")
    assert expiry() == signed_in  # within five minutes: nothing written
    later = time.time() + middleware.SESSION_TOUCH_SECONDS + 1
    monkeypatch.setattr(middleware.time, "time", lambda: later)
    client_a.get("/")
    assert expiry() > signed_in  # idle time counted from this request
