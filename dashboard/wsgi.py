"""WSGI entry point for gunicorn: `gunicorn dashboard.wsgi:server` (settings from SCATTERLOOP_* variables)."""

from core.config import Settings
from core.threads import limit_server_threads

from .app import create_app

limit_server_threads()  # background jobs fork from this process: see core.threads
app = create_app(Settings.from_env())
server = app.server
