"""What callbacks are given: the open workspace, the settings, the job runner and the background-callback manager.

Long jobs never run in the web server nor in a fork of it. A job's button records a queued run and hands its id
to the runner (`core.worker_pool.EmbeddedRunner`: clean spawned processes; `core.worker_celery.CeleryRunner`
when a broker URL is configured); the Dash background callback that started it only follows the run record in
a thread of the server (`ThreadManager`), so the page keeps Dash's progress bars and disabled buttons while
the store stays the one source of truth.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from dash import DiskcacheManager

from scatterloop.core.config import Settings
from scatterloop.core.workspace import Workspace

# who pressed the button that started a job (login on): set in the request, read where the run is recorded
STARTED_BY: contextvars.ContextVar[str | None] = contextvars.ContextVar("started_by", default=None)


def signed_in_name() -> str | None:
    """The signed-in user of the current request, None without login (or outside a request)."""
    try:
        import flask
        from flask_login import current_user
    except ImportError:  # pragma: no cover - flask-login is a dependency
        return None
    if not flask.has_request_context() or not getattr(current_user, "is_authenticated", False):
        return None
    identity = getattr(current_user, "identity", None)
    return getattr(identity, "name", None)


@dataclass
class Services:
    settings: Settings
    workspace: Workspace
    background_manager: Any
    runner: Any

    @property
    def store(self):
        return self.workspace.store


RESULT_TTL_S = 24 * 3600


class ThreadManager(DiskcacheManager):
    """Dash's diskcache manager, but a background callback's body runs in a thread of the server, not a forked
    process. The bodies here only record a run, hand it to the runner and poll the store; a thread cannot be
    killed, so Dash's own termination (a re-trigger, a finished result) just stops following the run."""

    _ids = itertools.count(1)

    def __init__(self, cache):
        super().__init__(cache, expire=RESULT_TTL_S)  # a result no page collected (closed, reloaded) goes in a day
        self._threads: dict[int, threading.Thread] = {}

    def build_cache_key(self, fn, args, cache_args_to_ignore, triggered):
        """Dash keys a background result by the callback's inputs: a result a reloaded page never collected was
        handed to the next click with the same inputs (its old run's outcome shown at once, the new run left
        unwatched). Every call is its own job here, so its key is unique."""
        return f"{super().build_cache_key(fn, args, cache_args_to_ignore, triggered)}-{uuid.uuid4().hex}"

    def call_job_fn(self, key, job_fn, args, context):
        job = os.getpid() * 1_000_000 + next(self._ids)  # unique across the server's processes (gunicorn workers)
        started = contextvars.copy_context()  # the thread records its run as started by this request's user
        started.run(STARTED_BY.set, signed_in_name())
        thread = threading.Thread(
            target=started.run,
            args=(job_fn, key, self._make_progress_key(key), args, context),
            daemon=True,
            name=f"job-{job}",
        )
        self._threads[job] = thread
        thread.start()
        return job

    def job_running(self, job):
        if not job:
            return False
        thread = self._threads.get(int(job))
        # a job id of another server process (several gunicorn workers share the cache): its thread is there
        return thread is None or thread.is_alive()

    def terminate_job(self, job):
        if job:
            self._threads.pop(int(job), None)

    def terminate_unhealthy_job(self, job):
        return False  # a follower thread that fails stores its error as the result, like any other


def make_background_manager(settings: Settings, workspace: Workspace) -> ThreadManager:
    import diskcache

    return ThreadManager(diskcache.Cache(str(workspace.cache / "dash-background")))


def make_runner(settings: Settings, workspace: Workspace):
    """Celery workers when a broker URL is configured, else the embedded pool of clean processes."""
    if settings.broker_url:
        from scatterloop.core.worker_celery import CeleryRunner

        return CeleryRunner(settings)
    from scatterloop.core.worker_pool import EmbeddedRunner

    return EmbeddedRunner(settings, workspace.store)


def make_services(settings: Settings) -> Services:
    ws = Workspace.open(settings)
    return Services(
        settings=settings,
        workspace=ws,
        background_manager=make_background_manager(settings, ws),
        runner=make_runner(settings, ws),
    )
