#!/usr/bin/env bash
# Set everything up in .venv/ and run every check: lint, format, types, layers, migrations, tests.
# Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432) and Redis (127.0.0.1:6379).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
venv_install "dev,demo"
compile_messages; browser_tools_install # translations, Chromium and axe-core (scripts/venv.sh)

export DJANGO_SETTINGS_MODULE=config.settings.test
step() { printf '\n== %s\n' "$*"; }

step "ruff check";          .venv/bin/ruff check .
step "ruff format --check"; .venv/bin/ruff format --check .
step "mypy";                .venv/bin/mypy .
step "lint-imports";        .venv/bin/lint-imports --no-cache
step "makemigrations --check"
.venv/bin/python manage.py makemigrations --check --dry-run
step "pytest"
# In PYTEST_WORKERS processes (2 unless set; 0 for one), each test module in one of them: a module's
# live server and browser start once.
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadscope "$@"
