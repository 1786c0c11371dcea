"""The commands that serve the dashboard: `demo` (build the demo workspace, then serve) and `serve`."""

from __future__ import annotations

import dataclasses
import logging
import sys

from .cli_common import emit, recorded_run, settings_from
from .config import Settings

log = logging.getLogger("scatterloop")


def build_demo_workspace(settings: Settings, quiet: bool = False, size: int = 256, n: int = 100) -> dict:
    from .demo import build_demo
    from .workspace import Workspace

    ws = Workspace.open(settings)
    if ws.store.count_images() > 0:
        log.info("%s already holds %d images; not rebuilding", ws.root, ws.store.count_images())
        return {"workspace": str(ws.root), "images": ws.store.count_images(), "built": False}
    run_id, res = recorded_run(
        "demo workspace",
        quiet,
        ws.store,
        "demo",
        {"size": size, "n_per_pattern": n},
        lambda run_id, progress, should_stop: build_demo(
            ws,
            run_id=run_id,
            size=size,
            n_per_pattern=n,
            candidates_per_pattern=n,
            progress=progress,
            should_stop=should_stop,
        ),
    )
    return {
        "workspace": str(ws.root),
        "run_id": run_id,
        "built": True,
        **dataclasses.asdict(res),
        "images": ws.store.count_images(),
    }


def cmd_demo(args) -> int:
    settings = settings_from(args)
    if not args.no_serve:  # refuse a bad bind address before spending minutes on the workspace
        _check_serve(args, settings)
    info = build_demo_workspace(settings, quiet=args.quiet, size=args.size, n=args.n)
    if args.no_serve:
        emit(args, {"command": "demo", **info}, f"demo workspace ready at {info['workspace']}")
        return 0
    return _serve(settings, debug=args.debug)


def cmd_serve(args) -> int:
    settings = settings_from(args)
    _check_serve(args, settings)
    return _serve(settings, debug=args.debug)


def _check_serve(args, settings: Settings) -> None:
    from .server import check_bind, check_debug, check_login, check_port, server_kind
    from .workspace import check_workspace_path

    check_workspace_path(settings.workspace)  # before the address is printed as if it served
    check_port(settings.port)
    check_debug(settings.host, args.debug)
    check_bind(settings.host, insecure=args.insecure, login_configured=settings.login != "none")
    check_login(settings)
    server_kind(args.debug)
    if settings.broker_url:  # jobs go to Celery workers: celery must be here, and the URL one kombu knows
        from .cli_worker import check_broker

        check_broker(settings.broker_url)
    # the database opened here, where a failure is the command's one line (a corrupt or read-only file, a newer
    # schema), not a traceback from the server's worker after the address was printed as if it served
    from .workspace import Workspace

    Workspace.open(settings).store.dispose()  # nothing of it crosses the fork into the server's workers


def load_dashboard(settings: Settings):
    """The dashboard's WSGI app, built where it will serve (inside gunicorn's worker, after its fork)."""
    from scatterloop.dashboard.app import create_app

    from .threads import limit_server_threads

    limit_server_threads()  # the server's own small work on one OpenMP thread (see core.threads)
    app = create_app(settings)
    app.server.config["SCATTERLOOP_SERVICES"].runner.warm()  # job processes start now, not at the first job
    return app.server


def _serve(settings: Settings, debug: bool = False) -> int:
    import functools

    from .server import run_server, server_kind

    kind = server_kind(debug)
    log.info("serving %s on http://%s:%d with %s", settings.workspace, settings.host, settings.port, kind)
    print(
        f"scatterloop: http://{settings.host}:{settings.port}/  (workspace {settings.workspace}, {kind})",
        file=sys.stderr,
    )
    run_server(functools.partial(load_dashboard, settings), settings, kind)
    return 0


def add_server_flags(p) -> None:
    p.add_argument("--debug", action="store_true", help="Flask's development server with the debugger (never shared)")
    insecure = "allow a non-loopback --host although there is no login (anyone who reaches it can label)"
    p.add_argument("--insecure", action="store_true", help=insecure)
    from .cli_users import add_login_flag

    add_login_flag(p)
