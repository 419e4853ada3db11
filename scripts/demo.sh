#!/usr/bin/env bash
# The Crowdact demo on a fresh machine: ./scripts/demo.sh
#
# Creates .venv and installs the project, uses DATABASE_URL or else starts an embedded PostgreSQL
# (data in .data/postgres), uses CELERY_BROKER_URL or else a broker made of files (.data/broker),
# migrates every schema, seeds the demo organisations, then runs a Celery worker and the web server
# until Ctrl-C, which stops all of them, the embedded PostgreSQL included.
#
# Billing: with STRIPE_SECRET_KEY set (environment or .env), the Stripe it names (STRIPE_API_BASE for
# another server); without it, a local Stripe server (scripts/local_stripe.py, in memory, empty at
# every start) on STRIPE_LOCAL_PORT (default 8420, or a free port when that one is taken), whose
# webhooks go to this demo's web server. The catalogue is synced to it before seeding.
#
# Environment: PORT (default 8000), BIND (default 127.0.0.1; 0.0.0.0 to reach it from elsewhere),
# DJANGO_SETTINGS_MODULE (default config.settings.local), DATABASE_URL, CELERY_BROKER_URL,
# STRIPE_SECRET_KEY (and STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_API_BASE), STRIPE_LOCAL_PORT.
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
STRIPE_PID=""
STRIPE_PUBLIC_URL=""

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
	local_stripe_stop || status=1
	if ((PG_STARTED)); then
		say "Stopping the embedded PostgreSQL"
		"$PY" scripts/embedded_postgres.py stop || status=1
	fi
	exit "$status"
}
# The local Stripe server: local_stripe_start PORT WEBHOOK_URL (PORT "" or taken: a free one) starts
# it in the background on the loopback (or BIND), waits until it answers, and exports the STRIPE_*
# settings that point at it; local_stripe_stop stops it. On their own: tests/demo/test_demo_script.py.
local_stripe_start() {
	local port="$1" webhook_url="$2" host="127.0.0.1" api_host="127.0.0.1" log line tries
	if [[ "$BIND" != "127.0.0.1" ]]; then # reachable where the web server is, for Checkout pages
		host="$BIND"
		[[ "$BIND" == "0.0.0.0" ]] || api_host="$BIND"
	fi
	if [[ -z "$port" ]] || ! "$PY" -c 'import socket, sys
with socket.socket() as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    probe.bind((sys.argv[1], int(sys.argv[2])))' "$host" "$port" 2>/dev/null; then
		port=0 # the server takes a free port and prints it
	fi
	STRIPE_WEBHOOK_SECRET="whsec_$("$PY" -c 'import secrets; print(secrets.token_hex(24))')"
	log="$(mktemp "${TMPDIR:-/tmp}/crowdact-local-stripe.XXXXXX")"
	set -m # its own process group, like the worker's: Ctrl-C reaches only this script
	"$PY" scripts/local_stripe.py --host "$host" --port "$port" \
		--webhook-url "$webhook_url" --webhook-secret "$STRIPE_WEBHOOK_SECRET" >"$log" &
	STRIPE_PID=$!
	set +m
	line=""
	for ((tries = 0; tries < 150; tries++)); do
		line="$(grep -o 'listening on http://[^ ]*' "$log" || true)"
		[[ -n "$line" ]] && break
		kill -0 "$STRIPE_PID" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$log"
	if [[ -z "$line" ]]; then
		local_stripe_stop
		fail "The local Stripe server did not start; its messages are above."
	fi
	port="${line##*:}"
	STRIPE_API_BASE="http://$api_host:$port"
	STRIPE_PUBLIC_URL="http://$DOMAIN:$port"
	for ((tries = 0; tries < 100; tries++)); do
		if "$PY" -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/_local/health", timeout=2)' "$STRIPE_API_BASE" 2>/dev/null; then
			export STRIPE_SECRET_KEY="sk_test_crowdact_local_demo"
			export STRIPE_PUBLISHABLE_KEY="pk_test_crowdact_local_demo"
			export STRIPE_WEBHOOK_SECRET STRIPE_API_BASE
			return 0
		fi
		sleep 0.1
	done
	local_stripe_stop
	fail "The local Stripe server at $STRIPE_API_BASE does not answer."
}

local_stripe_stop() {
	local tries
	[[ -n "$STRIPE_PID" ]] || return 0
	kill -TERM "$STRIPE_PID" 2>/dev/null || true
	for ((tries = 0; tries < 50; tries++)); do
		kill -0 "$STRIPE_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$STRIPE_PID" 2>/dev/null || true
	wait "$STRIPE_PID" 2>/dev/null || true
	STRIPE_PID=""
}

# Sourced (by the tests): the functions above only.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
	return 0
fi

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

# 4. Billing: the Stripe of STRIPE_SECRET_KEY, or a local Stripe server for the worker, the web
# server and seed_demo.
if [[ -n "$(setting STRIPE_SECRET_KEY)" ]]; then
	say "Billing: the Stripe of STRIPE_SECRET_KEY${STRIPE_API_BASE:+ at $STRIPE_API_BASE}"
else
	say "Billing: no STRIPE_SECRET_KEY, so a local Stripe server (in memory, empty at every start)"
	local_stripe_start "${STRIPE_LOCAL_PORT:-8420}" "http://$DOMAIN:$PORT/billing/stripe/webhook/"
	echo "    $STRIPE_API_BASE, Checkout pages at $STRIPE_PUBLIC_URL/checkout/..."
fi

# 5. Schemas, the Stripe catalogue and demo data.
say "Migrating the public schema and every organisation"
"$PY" manage.py migrate_schemas --noinput
say "Creating the plans and paid services on Stripe (only what is missing)"
"$PY" manage.py stripe_sync_catalog
say "Seeding the demo organisations"
"$PY" manage.py seed_demo

# 6. The worker and the web server. Started with job control on, each gets its own process group:
# Ctrl-C reaches only this script, which then stops them. Job control goes off again right after,
# or foreground commands would take the terminal and Ctrl-C would miss this script.
say "Starting the Celery worker and the web server"
set -m
# One solo worker; gossip, mingle and heartbeats are broadcasts the demo does not need, and with
# the filesystem broker they would leave message files behind for workers that are gone.
# --beat runs the periodic jobs (deadlines, reminders) in the same process; it reads the default
# queue and the PDF reports' (in production each has its workers: deploy/).
"$VENV/bin/celery" -A config worker --loglevel info --concurrency 1 --pool solo --queues celery,reports \
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
      Le Petit Atelier:     http://atelier.$DOMAIN:$PORT/
    E-mails are printed here. Ctrl-C stops the worker, the web server and the embedded database.
EOF
if [[ -n "$STRIPE_PID" ]]; then
	cat <<EOF
    Billing runs against a local Stripe server ($STRIPE_API_BASE), not Stripe: nothing is charged.
    Its Checkout pages open at $STRIPE_PUBLIC_URL/checkout/...; pay with the test card 4242 4242 4242 4242.
    Ctrl-C stops it too; it keeps nothing, and the next start bills the demo organisations afresh.
EOF
fi
echo

while kill -0 "$WEB_PID" 2>/dev/null && kill -0 "$WORKER_PID" 2>/dev/null; do
	sleep 1 &
	wait $! || true
done
fail "The web server or the worker stopped; shutting down the rest."
