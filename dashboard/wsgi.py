"""WSGI entry point for gunicorn: `gunicorn dashboard.wsgi:server` (settings from SCATTERLOOP_* variables).

Jobs never run in this process nor in a fork of it: they run in spawned worker processes (or on Celery workers
when SCATTERLOOP_BROKER_URL is set), which start here, beside the server, before the first request.
"""

from scatterloop.core.config import Settings
from scatterloop.core.threads import limit_server_threads

from .app import create_app

limit_server_threads()  # the server's own small work on one OpenMP thread: see core.threads
app = create_app(Settings.from_env())
server = app.server
server.config["SCATTERLOOP_SERVICES"].runner.warm()
