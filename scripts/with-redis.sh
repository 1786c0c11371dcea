#!/usr/bin/env bash
# Run a command with a throwaway Redis on 127.0.0.1 and SCATTERLOOP_TEST_REDIS_URL set, so the scale-out tests
# (Celery workers, the jobs benchmark) run against a real broker. Installs Debian's redis-server when missing
# (root or sudo). If no server can be had, the command still runs and those tests report themselves skipped.
set -uo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v redis-server >/dev/null 2>&1; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1; }
fi
PID=""
if command -v redis-server >/dev/null 2>&1; then
  PORT=${SCATTERLOOP_TEST_REDIS_PORT:-}
  if [ -z "$PORT" ]; then  # the first free port from 56379
    for p in $(seq 56379 56419); do
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PORT=$p; break; fi
    done
  fi
  DIR=$(mktemp -d /tmp/scatterloop-redis.XXXXXX)
  redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$DIR" --daemonize no \
    >"$DIR/log" 2>&1 &
  PID=$!
  for _ in $(seq 1 50); do  # wait until it answers
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    sleep 0.1
  done
  if kill -0 "$PID" 2>/dev/null; then
    export SCATTERLOOP_TEST_REDIS_URL="redis://127.0.0.1:$PORT/0"
    echo "with-redis: $(redis-server --version | awk '{print $3}') on 127.0.0.1:$PORT"
  else
    echo "with-redis: could not start redis-server; its tests will be skipped" >&2
    PID=""
  fi
fi
"$@"
rc=$?
if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DIR"; fi
exit $rc
