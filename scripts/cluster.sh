#!/usr/bin/env bash
# `make cluster`: the distributed set-up on one machine, without Docker. Redis (broker), PostgreSQL (the
# store), two `scatterloop worker`s (one on the gpu queue: generation and training; one on the cpu queue:
# maps and metrics) and the app under gunicorn (two processes), all on one shared workspace directory.
# Ctrl-C stops everything. Usage: scripts/cluster.sh WORKSPACE PORT (needs the celery and postgres extras).
set -euo pipefail
WS=$(realpath -m "${1:-cluster-workspace}"); PORT=${2:-8050}
BIN=$(dirname "$(command -v scatterloop 2>/dev/null || echo .venv/bin/scatterloop)")
STATE=$(realpath -m "${CLUSTER_DIR:-.cluster}"); mkdir -p "$STATE"
REDIS_PORT=${REDIS_PORT:-6379}; PG_PORT=${PG_PORT:-55432}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
command -v redis-server >/dev/null || { echo "cluster: redis-server missing (apt-get install redis-server)" >&2; exit 1; }
[ -n "$PGBIN" ] || { echo "cluster: PostgreSQL missing (apt-get install postgresql)" >&2; exit 1; }
PIDS=()
stop() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  as_pg "$PGBIN/pg_ctl -D ${PGSTATE:-$STATE}/pg -m fast stop" >/dev/null 2>&1 || true
}
trap stop EXIT INT TERM
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && su postgres -c "$1"); else bash -c "$1"; fi; }

# a port already taken (a system Redis on 6379 after apt-get install redis-server) is said now, not found later
for p in "$REDIS_PORT:REDIS_PORT" "$PG_PORT:PG_PORT" "$PORT:the app's port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/${p%%:*}") 2>/dev/null; then
    echo "cluster: port ${p%%:*} is in use already (another Redis, PostgreSQL or server?); set ${p#*:} to a free one" >&2
    exit 1
  fi
done
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$STATE" >"$STATE/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break; sleep 0.1; done
kill -0 "${PIDS[0]}" 2>/dev/null || { echo "cluster: redis-server did not start (see $STATE/redis.log)" >&2; exit 1; }
PGSTATE="$STATE"
if [ "$(id -u)" -eq 0 ] && ! su postgres -c "test -x '$STATE'" 2>/dev/null; then
  # root's clone under /root (0700): the postgres account cannot reach .cluster/, so its data go to /tmp
  PGSTATE=$(cat "$STATE/pg-dir" 2>/dev/null || mktemp -d /tmp/scatterloop-cluster-pg.XXXXXX)
  echo "$PGSTATE" >"$STATE/pg-dir"
fi
if [ ! -d "$PGSTATE/pg" ]; then
  [ "$(id -u)" -eq 0 ] && chown postgres "$PGSTATE"
  as_pg "$PGBIN/initdb -D $PGSTATE/pg -A trust -U postgres" >/dev/null
fi
as_pg "$PGBIN/pg_ctl -D $PGSTATE/pg -w -l $PGSTATE/pg.log -o '-k $PGSTATE -p $PG_PORT -c listen_addresses=127.0.0.1' start" >/dev/null

export SCATTERLOOP_WORKSPACE="$WS"
export SCATTERLOOP_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
export SCATTERLOOP_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
mkdir -p "$WS"
# create (or upgrade) the schema once, before several processes open the database at the same time
"$BIN/python" -c "from scatterloop.core.config import Settings; from scatterloop.core.workspace import Workspace; Workspace.open(Settings.from_env())"
"$BIN/scatterloop" worker --workspace "$WS" --queues gpu --concurrency 1 >"$STATE/worker-gpu.log" 2>&1 &
PIDS+=($!)
"$BIN/scatterloop" worker --workspace "$WS" --queues cpu --concurrency 2 >"$STATE/worker-cpu.log" 2>&1 &
PIDS+=($!)
echo "cluster: Redis :$REDIS_PORT, PostgreSQL :$PG_PORT, workers (gpu, cpu), app http://127.0.0.1:$PORT/ on $WS"
echo "cluster: logs in $STATE; import images with: SCATTERLOOP_DATABASE_URL=$SCATTERLOOP_DATABASE_URL $BIN/scatterloop import DIR --workspace $WS"
"$BIN/gunicorn" --bind "127.0.0.1:$PORT" --workers 2 --worker-class gthread --threads 4 --timeout 120 scatterloop.dashboard.wsgi:server &
PIDS+=($!)
wait -n
