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
