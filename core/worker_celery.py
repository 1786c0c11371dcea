"""Scale-out: runs executed by Celery workers (`scatterloop worker`, or `celery -A core.worker_celery worker`).

The broker (Redis) carries only a run id, on the queue of the run's kind (`gpu`: generator training and
sampling, classifier rounds and predictions; `cpu`: maps, symmetry, evaluation). The worker opens the
workspace with its own settings (`--workspace`, `SCATTERLOOP_DATABASE_URL`), which must reach the same
database and the same workspace directory as the servers (a shared filesystem); progress, cancel, errors and
results go through the run record in that database, never through Celery's result backend.

`app` below is configured from the `SCATTERLOOP_*` environment so that `celery -A core.worker_celery worker`
works; `scatterloop worker` builds its own with the settings of its command line. Creating the app opens no
connection. The worker's main process imports no job code: the prefork pool forks a process that holds no
other thread's lock, and each job imports what it needs in its own child.
"""

from __future__ import annotations

import logging

from celery import Celery

from .config import Settings
from .worker import queue_of

log = logging.getLogger(__name__)

TASK = "scatterloop.run"
QUEUES = ("gpu", "cpu")
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def _run_task(self, run_id: int) -> int:
    from .threads import enter_job_process
    from .worker import execute_logged
    from .workspace import Workspace, is_workspace

    if getattr(self.app, "scatterloop_workspace", None) is None:  # once per pool process, after its fork
        settings = self.app.conf.scatterloop_settings
        if not is_workspace(settings.workspace):  # never make an empty workspace that swallows the server's runs
            log.error(
                "run %s not taken: %s is not a scatterloop workspace; start the worker with --workspace (or "
                "SCATTERLOOP_WORKSPACE) naming the folder the server opened",
                run_id,
                settings.workspace.resolve(),
            )
            # back to the queue in 30 s (for a worker that sees the workspace), not at once: an immediate requeue
            # came straight back to this worker, a thousand times in 8 s
            raise self.retry(countdown=30, max_retries=None)
        enter_job_process()
        self.app.scatterloop_workspace = Workspace.open(settings)
    ws = self.app.scatterloop_workspace
    try:
        execute_logged(ws, int(run_id))
    except Exception as exc:  # noqa: BLE001 - recorded on the run (the one source of truth), logged here
        log.warning("run %s failed: %s", run_id, exc)
    return int(run_id)


def make_celery(settings: Settings) -> Celery:
    """A Celery app for `settings` (its broker URL, else Redis on localhost) with the product's one task."""
    app = Celery("scatterloop", broker=settings.broker_url or DEFAULT_BROKER)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,  # a worker lost mid-job leaves the message to another (the run is reaped first)
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,  # jobs are long: one at a time per process, no hoarding
        task_default_queue="cpu",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        scatterloop_settings=settings,
    )
    app.task(name=TASK, bind=True)(_run_task)
    return app


class CeleryRunner:
    """Sends runs to Celery workers; the server keeps nothing of them but the run id in the store."""

    def __init__(self, settings: Settings):
        self.app = make_celery(settings)

    def submit(self, run_id: int, kind: str) -> None:
        self.app.send_task(TASK, args=[int(run_id)], queue=queue_of(kind))

    def warm(self) -> None:
        """Nothing to start: the workers are their own processes."""

    def close(self) -> None:
        self.app.close()


app = make_celery(Settings.from_env())
