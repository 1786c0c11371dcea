#!/bin/sh
# The container's entrypoint: on the first start of the app, make the demo workspace in the volume
# (SCATTERLOOP_DEMO=1, the default; workers set 0), then run the command (serve, worker, or any other).
# `scatterloop demo --no-serve` leaves a workspace that already holds images alone, so restarts are quick.
set -eu
WORKSPACE="${SCATTERLOOP_WORKSPACE:-/data/ws}"
if [ "${SCATTERLOOP_DEMO:-1}" = "1" ]; then
  scatterloop demo --workspace "$WORKSPACE" --no-serve --quiet
fi
exec "$@"
