#!/usr/bin/env bash
# Runs a command with a private, throw-away PostgreSQL cluster: a fresh cluster in a temporary
# directory, listening on 127.0.0.1 on a random free port, stopped and deleted when the command
# ends (whatever its result). The command gets DC_TEST_PG_ADMIN_URL (superuser, database
# "postgres"); the server tests create a database per server from it.
#   scripts/with-postgres.sh [--durable] <command> [args...]
# Without --durable, fsync is off (test data is thrown away; the server processes are what the
# tests kill, never PostgreSQL). The benchmark passes --durable to measure real commits.
# initdb refuses to run as root: as root, the cluster runs as the `postgres` OS user (see
# docs/server.md, 'Test clusters').
set -euo pipefail
cd "$(dirname "$0")/.."

durable=0
if [ "${1:-}" = "--durable" ]; then durable=1; shift; fi
[ $# -gt 0 ] || { echo "usage: $0 [--durable] <command> [args...]" >&2; exit 2; }

bindir=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bindir="$d"; done
if [ -z "$bindir" ]; then
  command -v initdb >/dev/null 2>&1 && bindir="$(dirname "$(command -v initdb)")"
fi
[ -n "$bindir" ] || { echo "with-postgres: PostgreSQL not found (scripts/setup.sh installs it)" >&2; exit 1; }

dir="$(mktemp -d "${TMPDIR:-/tmp}/dc-pg-XXXXXX")"
chmod 755 "$dir"
as_pg() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}
[ "$(id -u)" = 0 ] && chown postgres "$dir"

port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200"
[ $durable = 1 ] || opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"

stop() {
  as_pg "'$bindir/pg_ctl' -D '$dir/data' -m fast stop" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

as_pg "'$bindir/initdb' -D '$dir/data' -A trust -U postgres -E UTF8 --no-locale" >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
as_pg "'$bindir/pg_ctl' -D '$dir/data' -o '$opts' -l '$dir/pg.log' -w start" >/dev/null \
  || { cat "$dir/pg.log" >&2; exit 1; }

export DC_TEST_PG_ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres"
set +e
"$@"
status=$?
set -e
exit $status
