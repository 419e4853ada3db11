#!/usr/bin/env bash
# The Crowdact demo on a fresh machine: ./scripts/demo.sh
#
# Creates .venv and installs the project, uses DATABASE_URL or else starts an embedded PostgreSQL
# (data in .data/postgres), uses CELERY_BROKER_URL or else a broker made of files (.data/broker),
# migrates every schema, seeds the demo organisations, then runs a Celery worker and the web server
# until Ctrl-C, which stops all of them, the embedded PostgreSQL included.
#
# Environment: PORT (default 8000), BIND (default 127.0.0.1; 0.0.0.0 to reach it from elsewhere),
# DJANGO_SETTINGS_MODULE (default config.settings.local), DATABASE_URL, CELERY_BROKER_URL.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="$PWD/.venv"
PY="$VENV/bin/python"
PORT="${PORT:-8000}"
BIND="${BIND:-127.0.0.1}"
DOMAIN="${BASE_DOMAIN:-localhost}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.local}"
export SITE_PORT="${SITE_PORT:-$PORT}" # links in e-mails and printed by commands
export PYTHONUNBUFFERED=1              # worker and server logs appear as they happen

say() { printf '\n==> %s\n' "$*"; }
fail() {
	printf '\ndemo: %s\n' "$*" >&2
	exit 1
}

PG_STARTED=0
WEB_PID=""
WORKER_PID=""

# Runs on every exit (Ctrl-C, SIGTERM, an error, a process that died): stop what we started.
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	local status=$?
	trap '' INT TERM # a second Ctrl-C must not leave the database running
	local pid tries
	for pid in $WEB_PID $WORKER_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $WEB_PID $WORKER_PID; do
		# SIGTERM is a warm shutdown for the worker: it finishes its task first, within 30 s.
		for ((tries = 0; tries < 150; tries++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if ((PG_STARTED)); then
		say "Stopping the embedded PostgreSQL"
		"$PY" scripts/embedded_postgres.py stop || status=1
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The virtualenv, installed again only when pyproject.toml changes.
if [[ ! -x "$PY" ]]; then
	if command -v python3.11 >/dev/null 2>&1; then
		base_python=python3.11
	elif command -v python3 >/dev/null 2>&1; then
		base_python=python3
	else
		fail "Python 3.11 is needed: install it (python3.11 on the PATH) and run this again."
	fi
	say "Creating .venv with $("$base_python" --version 2>&1)"
	if ! "$base_python" -m venv "$VENV"; then
		rm -rf "$VENV"
		fail "Could not create .venv with $base_python (on Debian/Ubuntu: apt install python3.11-venv)."
	fi
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
	fail "Crowdact needs Python 3.11 but .venv has $("$PY" --version 2>&1): install python3.11, remove .venv and run this again."
fi
# The same installation as ./scripts/test.sh, so switching between the two installs nothing.
say "Installing Crowdact into .venv if pyproject.toml changed (a minute or two the first time)"
# shellcheck source=scripts/venv.sh
source scripts/venv.sh
venv_install "dev,demo"
compile_messages # the French pages and e-mails (locale/fr/LC_MESSAGES/django.po)

# Checked before anything starts: the web server would otherwise fail only at the very end.
if ! "$PY" -c 'import socket, sys
with socket.socket() as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    probe.bind((sys.argv[1], int(sys.argv[2])))' "$BIND" "$PORT" 2>/dev/null; then
	fail "Port $PORT is already in use: stop what uses it, or choose another (PORT=8001 ./scripts/demo.sh)."
fi

# A setting from the environment, or else from .env as the settings read it.
setting() {
	if [[ -n "${!1:-}" || ! -f .env ]]; then
		printf '%s' "${!1:-}"
	else
		"$PY" -c 'import environ, os, sys; environ.Env.read_env(".env"); print(os.environ.get(sys.argv[1], ""))' "$1"
	fi
}

# 2. The database: DATABASE_URL, or an embedded PostgreSQL.
DATABASE_URL="$(setting DATABASE_URL)"
if [[ -n "${DATABASE_URL:-}" ]]; then
	say "Database: the one in DATABASE_URL"
	export DATABASE_URL
else
	say "Database: embedded PostgreSQL, data in .data/postgres"
	PG_STARTED=1 # set first, so a half-started server is stopped too
	DATABASE_URL="$("$PY" scripts/embedded_postgres.py start)"
	export DATABASE_URL
	echo "    $DATABASE_URL"
fi

# 3. The broker: CELERY_BROKER_URL, or else files under .data/broker (config/settings/local.py).
if [[ -n "$(setting CELERY_BROKER_URL)" ]]; then
	say "Broker: the one in CELERY_BROKER_URL"
else
	say "Broker: message files in .data/broker (kombu's filesystem transport)"
fi

# 4. Schemas and demo data.
say "Migrating the public schema and every organisation"
"$PY" manage.py migrate_schemas --noinput
say "Seeding the demo organisations"
"$PY" manage.py seed_demo

# 5. The worker and the web server. Started with job control on, each gets its own process group:
# Ctrl-C reaches only this script, which then stops them. Job control goes off again right after,
# or foreground commands would take the terminal and Ctrl-C would miss this script.
say "Starting the Celery worker and the web server"
set -m
# One solo worker; gossip, mingle and heartbeats are broadcasts the demo does not need, and with
# the filesystem broker they would leave message files behind for workers that are gone.
# --beat runs the periodic jobs (deadlines, reminders) in the same process.
"$VENV/bin/celery" -A config worker --loglevel info --concurrency 1 --pool solo \
	--without-gossip --without-mingle --without-heartbeat \
	--beat --schedule "$PWD/.data/celerybeat-schedule" &
WORKER_PID=$!
"$PY" manage.py runserver "$BIND:$PORT" --noreload &
WEB_PID=$!
set +m

for ((tries = 0; tries < 120; tries++)); do
	kill -0 "$WEB_PID" 2>/dev/null || fail "The web server stopped; its messages are above."
	if "$PY" - "$PORT" "$DOMAIN" <<'PYTHON'; then
import sys
import urllib.error
import urllib.request

port, domain = sys.argv[1], sys.argv[2]
request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": f"{domain}:{port}"})
try:
    urllib.request.urlopen(request, timeout=2)
except urllib.error.HTTPError as error:
    sys.exit(error.code != 503)  # 503: ours, up, and /healthz says what is down
except OSError:
    sys.exit(1)
PYTHON
		break
	fi
	sleep 0.5
done

cat <<EOF

    Crowdact demo is running:
      Public site:          http://$DOMAIN:$PORT/
      Acme Industries:      http://acme.$DOMAIN:$PORT/
      Ville de Villeneuve:  http://villeneuve.$DOMAIN:$PORT/
    E-mails are printed here. Ctrl-C stops the worker, the web server and the embedded database.

EOF

while kill -0 "$WEB_PID" 2>/dev/null && kill -0 "$WORKER_PID" 2>/dev/null; do
	sleep 1 &
	wait $! || true
done
fail "The web server or the worker stopped; shutting down the rest."
