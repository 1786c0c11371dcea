"""`scatterloop worker`: a Celery worker bound to the product's jobs, for running them on other machines.

    scatterloop worker --workspace /shared/ws --broker-url redis://HOST:6379/0 \
        --database-url postgresql+psycopg://USER@HOST/DB --queues gpu --concurrency 1

Every server and worker must reach the same database and see the same workspace directory (a shared
filesystem; each may mount it at its own path and say so with its own `--workspace`).
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("scatterloop")


def worker_argv(concurrency: int, queues: str, pool: str, loglevel: str) -> list[str]:
    """The `celery worker` arguments for these options."""
    from .worker_celery import QUEUES

    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in chosen if q not in QUEUES]
    if not chosen or unknown:
        raise ValueError(f"--queues: expected a comma-separated subset of {','.join(QUEUES)}, got {queues!r}")
    if concurrency < 1:
        raise ValueError(f"--concurrency: expected 1 or more, got {concurrency}")
    return [
        "worker",
        f"--concurrency={concurrency}",
        f"--queues={','.join(chosen)}",
        f"--pool={pool}",
        f"--loglevel={loglevel}",
        f"--hostname=scatterloop-{os.getpid()}@{socket.gethostname()}",
        "--without-gossip",
        "--without-mingle",
    ]


def check_broker(url: str | None) -> None:
    """Refuse a broker URL whose transport kombu does not know (it raised a KeyError traceback at start-up).

    Raises:
        ValueError: one line naming --broker-url (the URL itself is not echoed: it may hold a password).
    """
    if url is None:
        return
    from kombu.transport import TRANSPORT_ALIASES

    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme.split("+", 1)[0] not in TRANSPORT_ALIASES:
        raise ValueError(f"--broker-url: unknown transport {scheme[:40]!r}; expected e.g. redis://HOST:6379/0")


def cmd_worker(args) -> int:
    from .cli_common import settings_from
    from .worker_celery import make_celery
    from .workspace import Workspace, is_workspace

    settings = settings_from(args)
    if args.database_url:
        settings = settings.with_(database_url=args.database_url)
    if args.broker_url:
        settings = settings.with_(broker_url=args.broker_url)
    argv = worker_argv(args.concurrency, args.queues, args.pool, "DEBUG" if args.verbose else "INFO")
    if not settings.workspace.is_dir():
        raise ValueError(f"--workspace {settings.workspace}: no such directory (it must be the servers' workspace)")
    if not is_workspace(settings.workspace):  # a worker never makes one: it would take the server's runs into it
        raise ValueError(
            f"--workspace {settings.workspace}: not a scatterloop workspace (it must be the folder the server opened)"
        )
    ws = Workspace.open(settings)  # the database is reachable and this machine's dead runs are reaped
    ws.store.dispose()
    logging.getLogger().setLevel(logging.INFO)
    check_broker(settings.broker_url)
    app = make_celery(settings)
    log.info("worker for %s (queues %s) on %s", settings.workspace, args.queues, app.conf.broker_url)
    app.worker_main(argv)
    return 0


def add_parser(sub, common) -> None:
    p = sub.add_parser("worker", parents=[common], help="run jobs from the queue (Celery worker, Redis broker)")
    p.add_argument("--workspace", required=True, help="this machine's path to the shared workspace directory")
    p.add_argument("--broker-url", default=None, help="Redis URL (default SCATTERLOOP_BROKER_URL or local Redis)")
    p.add_argument("--database-url", default=None, help="the servers' database (default SCATTERLOOP_DATABASE_URL)")
    p.add_argument("--concurrency", type=int, default=1, help="jobs at once (processes)")
    p.add_argument("--queues", default="gpu,cpu", help="gpu (training, generation), cpu (maps, metrics), or both")
    p.add_argument("--pool", default="prefork", choices=("prefork", "solo", "threads"), help="Celery pool")
    p.set_defaults(func=cmd_worker)
