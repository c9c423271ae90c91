#!/usr/bin/env bash
# Runs the PostgreSQL test suite (or any command) through a PgBouncer of its own, to see which of
# its pooling modes the service works with (docs/operations.md records the results).
#
#   bench/pgbouncer.sh [session|transaction] [command …]
#
# The default is session mode and `npm test`. The command gets
# TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PGBOUNCER_PORT/postgres; a wildcard database
# entry sends every database name (the tests' scratch databases too) to the same server.
#
# Environment: PGBOUNCER_PORT (6432), UPSTREAM_HOST (127.0.0.1), UPSTREAM_PORT (5432), and
# MAX_PREPARED_STATEMENTS, written as max_prepared_statements when set (PgBouncer ≥ 1.21 tracks
# protocol-level prepared statements in transaction mode; older versions refuse to start with it).
# Needs the pgbouncer binary (Debian: apt-get install pgbouncer) and trust authentication on the
# upstream server for user postgres, as the test setup has. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-session}
case "$mode" in
  session | transaction) ;;
  *)
    echo "usage: $0 [session|transaction] [command …]" >&2
    exit 2
    ;;
esac
shift $(($# > 0 ? 1 : 0))
[ $# -gt 0 ] || set -- npm test

port=${PGBOUNCER_PORT:-6432}
upstream_host=${UPSTREAM_HOST:-127.0.0.1}
upstream_port=${UPSTREAM_PORT:-5432}
command -v pgbouncer >/dev/null || {
  echo "pgbouncer is not installed (Debian: apt-get install pgbouncer)" >&2
  exit 1
}
echo "$(pgbouncer --version | head -1), $mode mode, 127.0.0.1:$port → $upstream_host:$upstream_port"

dir=$(mktemp -d)
# PgBouncer refuses to run as root: as root, it runs as postgres and owns the folder.
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$dir"
  run_as=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi

# node-postgres sends the pool's statement_timeout and idle_in_transaction_session_timeout as
# startup parameters, which PgBouncer refuses unless told to ignore them; ignored, they are not
# applied (a connect_query would not do either: session mode's DISCARD ALL resets it for the next
# client). In production set them on the role instead (docs/operations.md). Only
# test/modules/database-sessions.test.ts, which checks these settings and a URL's own `options`
# (refused by PgBouncer too), fails through PgBouncer for that reason. (`jit = off` is a SET on
# each new connection, so it does apply.)
cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$upstream_host port=$upstream_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
pool_mode = $mode
ignore_startup_parameters = statement_timeout, idle_in_transaction_session_timeout, extra_float_digits
max_client_conn = 2000
default_pool_size = 40
; Every scratch database gets its own pool: close idle server connections soon, so the pools of
; finished test files do not pile up towards the server's max_connections.
server_idle_timeout = 5
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
[ -z "${MAX_PREPARED_STATEMENTS:-}" ] || echo "max_prepared_statements = $MAX_PREPARED_STATEMENTS" >>"$dir/pgbouncer.ini"
echo '"postgres" ""' >"$dir/userlist.txt"
chmod a+r "$dir"/*

"${run_as[@]}" pgbouncer -q "$dir/pgbouncer.ini" &
bouncer=$!
stop() {
  kill "$bouncer" 2>/dev/null || true
  wait "$bouncer" 2>/dev/null || true
  if [ "${KEEP_PGBOUNCER_LOG:-}" ]; then cp "$dir/pgbouncer.log" "$KEEP_PGBOUNCER_LOG"; fi
  rm -rf "$dir"
}
trap stop EXIT

for _ in $(seq 1 50); do
  pg_isready -h 127.0.0.1 -p "$port" -U postgres -q && break
  kill -0 "$bouncer" 2>/dev/null || {
    cat "$dir/pgbouncer.log" >&2
    exit 1
  }
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p "$port" -U postgres
grep -i 'warning\|unknown' "$dir/pgbouncer.log" || true

status=0
TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres" "$@" || status=$?
echo "pgbouncer.sh: '$*' through PgBouncer in $mode mode exited $status"
exit "$status"
