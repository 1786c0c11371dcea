#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster on 127.0.0.1 and SCATTERLOOP_TEST_POSTGRES_URL set,
# so the store tests also run against PostgreSQL. Installs Debian's postgresql when missing (root or sudo).
# If no server can be had, the command still runs and the PostgreSQL tests report themselves as skipped.
set -uo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ]; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1; }
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi
DATA=""
if [ -n "$PGBIN" ]; then
  DATA=$(mktemp -d /tmp/scatterloop-pg.XXXXXX)
  PORT=${SCATTERLOOP_TEST_PG_PORT:-}
  if [ -z "$PORT" ]; then  # the first free port from 55439 (a stale server must not make the tests skip)
    for p in $(seq 55439 55479); do
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
    done
  fi
  RUN=""; [ "$(id -u)" -eq 0 ] && { chown postgres "$DATA"; RUN="su postgres -c"; }
  start="$PGBIN/initdb -D $DATA/db -A trust -U postgres >/dev/null && $PGBIN/pg_ctl -D $DATA/db -w -l $DATA/log -o '-k $DATA -p $PORT -c listen_addresses=127.0.0.1' start >/dev/null"
  if { [ -n "$RUN" ] && $RUN "$start"; } || { [ -z "$RUN" ] && bash -c "$start"; }; then
    export SCATTERLOOP_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
    echo "with-postgres: PostgreSQL $($PGBIN/postgres --version | awk '{print $3}') on 127.0.0.1:$PORT"
  else
    echo "with-postgres: could not start PostgreSQL; its tests will be skipped" >&2
  fi
fi
"$@"
rc=$?
if [ -n "$DATA" ] && [ -n "${SCATTERLOOP_TEST_POSTGRES_URL:-}" ]; then
  stop="$PGBIN/pg_ctl -D $DATA/db -m fast stop >/dev/null"
  if [ "$(id -u)" -eq 0 ]; then su postgres -c "$stop"; else bash -c "$stop"; fi
fi
[ -n "$DATA" ] && rm -rf "$DATA"
exit $rc
