#!/usr/bin/env bash
# The nightly backup: the whole database (every organisation's schema and the public one) and the
# stored files, side by side.
#
#   DATABASE_URL=postgres://crowdact@db/crowdact MEDIA_ROOT=/srv/media BACKUP_DIR=/backups ./scripts/backup.sh
#
# Writes, in BACKUP_DIR (default ./backups):
#   crowdact-<UTC time>.dump          pg_dump -Fc of the database (restore with pg_restore; see
#                                     scripts/restore_drill.py, which does it every time it runs)
#   crowdact-<UTC time>.media.tar.gz  MEDIA_ROOT, one folder per organisation
#   crowdact-<UTC time>.sha256        the checksums of both, written last: a backup without it is
#                                     incomplete
# each first under a .partial name, so a backup cut short is never taken for a whole one; then it
# removes the backups older than BACKUP_KEEP_DAYS (default 14).
#
# pg_dump takes a lock on every table of every schema in one transaction: about 30 per organisation.
# The server's lock table holds max_locks_per_transaction × (max_connections + max_prepared_transactions)
# locks, shared by every session, so ~1,000 organisations need max_locks_per_transaction ≥ 1024 (a
# server setting; it needs a restart). The script checks there is room before it starts.
#
# The files are copied just after the dump: a logo replaced in between may be missing from the copy
# (stored files are named by their content and never rewritten, so nothing is ever half-copied).
set -euo pipefail

fail() {
	printf 'backup: %s\n' "$*" >&2
	exit 1
}

: "${DATABASE_URL:?backup: set DATABASE_URL to the database to back up}"
: "${MEDIA_ROOT:?backup: set MEDIA_ROOT to the folder of the stored files}"
BACKUP_DIR="${BACKUP_DIR:-backups}"
BACKUP_KEEP_DAYS="${BACKUP_KEEP_DAYS:-14}"

# pg_dump must be as new as the server: prefer the newest Debian one when none is on PATH.
if ! command -v pg_dump >/dev/null; then
	PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
	[[ -n "$PG_BIN" ]] || fail "pg_dump is not installed"
	PATH="$PG_BIN:$PATH"
fi
[[ -d "$MEDIA_ROOT" ]] || fail "MEDIA_ROOT ($MEDIA_ROOT) is not a folder"
MEDIA_ROOT="$(cd "$MEDIA_ROOT" && pwd)"
mkdir -p "$BACKUP_DIR"

read -r tables capacity < <(psql "$DATABASE_URL" -XAt -F ' ' -c "
	SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	        WHERE c.relkind IN ('r', 'p', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
	          AND n.nspname NOT LIKE 'pg_toast%'),
	       current_setting('max_locks_per_transaction')::int
	       * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)")
# Half the lock table at most: the product's own sessions need theirs while the dump runs.
if ((tables * 2 > capacity)); then
	fail "the dump would lock $tables tables but the server's lock table holds $capacity; raise max_locks_per_transaction (1024 for ~1,000 organisations) and restart PostgreSQL"
fi

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
base="crowdact-$stamp"
cd "$BACKUP_DIR"
trap 'rm -f "$base".*.partial' EXIT

started=$SECONDS
pg_dump --format=custom --file="$base.dump.partial" "$DATABASE_URL"
tar -C "$MEDIA_ROOT" -czf "$base.media.tar.gz.partial" .
mv "$base.dump.partial" "$base.dump"
mv "$base.media.tar.gz.partial" "$base.media.tar.gz"
sha256sum "$base.dump" "$base.media.tar.gz" >"$base.sha256.partial"
mv "$base.sha256.partial" "$base.sha256"

find . -maxdepth 1 -name 'crowdact-*' -type f -mtime "+$BACKUP_KEEP_DAYS" -delete

printf 'backup: %s/%s.{dump,media.tar.gz,sha256}: %s tables, %s + %s bytes, in %s s\n' \
	"$(pwd)" "$base" "$tables" "$(stat -c %s "$base.dump")" "$(stat -c %s "$base.media.tar.gz")" \
	"$((SECONDS - started))"
