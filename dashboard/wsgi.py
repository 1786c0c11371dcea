"""WSGI entry point for gunicorn: `gunicorn dashboard.wsgi:server` (settings from SCATTERLOOP_* variables)."""

from core.config import Settings

from .app import create_app

app = create_app(Settings.from_env(), warm_up=True)
server = app.server
