"""How `scatterloop serve` runs the dashboard: gunicorn in this process (waitress where gunicorn cannot run),
Flask's development server only when asked for with `--debug`.

Gunicorn runs one worker process with several threads, as the Dockerfile does. Jobs never run in it nor in a
fork of it: they run in worker processes it spawns beside itself (`core.worker_pool`) or on Celery workers
(`core.worker_celery`), and pages follow their runs in the store, so more gunicorn workers (as `make cluster`
runs) also work. The app is built inside the worker (not in the master before the fork) so no database
connection crosses a fork.

Without login (the default, for a laptop) a server that anyone on the network could reach would hand out the
whole workspace and its labelling: binding beyond loopback is refused unless login is configured (`--login
password` or `header`, see `dashboard.login`) or the operator says `--insecure`.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from .config import Settings

ServerKind = Literal["gunicorn", "waitress", "flask"]
THREADS = 4
TIMEOUT_S = 120


def is_loopback(host: str) -> bool:
    """Whether `host` is an address only this machine can reach (127.0.0.0/8, ::1, `localhost`)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, insecure: bool, login_configured: bool = False) -> None:
    """Refuse a non-loopback bind address without login, unless the operator accepts the risk.

    Raises:
        ValueError: one line saying why and what to pass instead.
    """
    if is_loopback(host) or login_configured or insecure:
        return
    raise ValueError(
        f"refusing to listen on {host}: there is no login, so anyone who can reach it could read and label the "
        "workspace; use 127.0.0.1 (and an SSH tunnel), configure --login password|header, or pass --insecure to "
        "accept that"
    )


def check_port(port: int) -> None:
    """A TCP port the server can listen on and print: 0 would pick a random one the printed address does not say.

    Raises:
        ValueError: one line naming --port.
    """
    if not 1 <= port <= 65535:
        raise ValueError(f"--port: expected 1 to 65535, got {port}")


def check_debug(host: str, debug: bool) -> None:
    """Flask's debugger runs the Python typed into its page, and it answers before any login: loopback only.

    Raises:
        ValueError: one line naming --debug.
    """
    if debug and not is_loopback(host):
        raise ValueError(
            f"--debug: refusing to listen on {host}: the debugger runs code sent to it, whatever the login; "
            "debug on 127.0.0.1"
        )


def check_login(settings: Settings) -> None:
    """With password login, someone must be able to sign in: refuse to serve a workspace without users.

    Raises:
        ValueError: one line saying how to add the first user.
    """
    if settings.login != "password":
        return
    from .store import Store

    if settings.database_url is None and not (Path(settings.workspace) / "scatterloop.db").exists():
        count = 0
    else:
        store = Store(settings.db_url)
        count = store.count_users()
        store.dispose()
    if count == 0:
        raise ValueError(
            f"--login password: {settings.workspace} has no users; add the first with `scatterloop users add NAME "
            f"--role admin --workspace {settings.workspace}`"
        )


def server_kind(debug: bool = False) -> ServerKind:
    """Flask's development server only for debugging; gunicorn on POSIX; waitress elsewhere (Windows).

    Raises:
        ValueError: neither production server is installed.
    """
    import importlib.util

    if debug:
        return "flask"
    if os.name == "posix" and importlib.util.find_spec("gunicorn") is not None:
        return "gunicorn"
    if importlib.util.find_spec("waitress") is not None:
        return "waitress"
    raise ValueError("no production server installed: pip install 'scatterloop[server]' (or pass --debug)")


def gunicorn_options(settings: Settings) -> dict:
    """One worker, several threads, long timeouts for slow callbacks (a reconstruction, a Grad-CAM)."""
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": THREADS,
        "timeout": TIMEOUT_S,
        "preload_app": False,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }


def gunicorn_application(load: Callable[[], object], options: dict):
    """A gunicorn application that calls `load()` inside its worker to build the WSGI app."""
    from gunicorn.app.base import BaseApplication

    class ScatterloopServer(BaseApplication):
        def __init__(self):
            self.options = options
            self.loader = load
            super().__init__()

        def load_config(self):
            for key, value in self.options.items():
                self.cfg.set(key, value)

        def load(self):
            return self.loader()

    return ScatterloopServer()


def run_server(load: Callable[[], object], settings: Settings, kind: ServerKind) -> None:
    """Serve the WSGI app that `load()` builds until interrupted."""
    if kind == "gunicorn":
        sys.argv = sys.argv[:1]  # gunicorn parses the command line; ours is already parsed
        gunicorn_application(load, gunicorn_options(settings)).run()
    elif kind == "waitress":
        from waitress import serve

        serve(load(), host=settings.host, port=settings.port, threads=THREADS)
    else:
        load().run(host=settings.host, port=settings.port, debug=True, use_reloader=False)
