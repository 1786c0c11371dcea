"""WSGI entry point for gunicorn: `SCATTERLOOP_WORKSPACE=DIR gunicorn scatterloop.dashboard.wsgi:server` (settings
from SCATTERLOOP_* variables; without SCATTERLOOP_WORKSPACE it refuses to start).

Jobs never run in this process nor in a fork of it: they run in spawned worker processes (or on Celery workers
when SCATTERLOOP_BROKER_URL is set), which start here, beside the server, before the first request.
"""

from scatterloop.core.config import Settings
from scatterloop.core.threads import limit_server_threads

from .app import create_app

limit_server_threads()  # the server's own small work on one OpenMP thread: see core.threads
app = create_app(Settings.from_env(require_workspace=True))  # never a new ./workspace in gunicorn's folder
server = app.server
server.config["SCATTERLOOP_SERVICES"].runner.warm()
