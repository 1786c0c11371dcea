"""The embedded runner: jobs in clean worker processes beside the web server, never in a fork of it.

A `ProcessPoolExecutor` on the 'spawn' context starts each worker as a fresh interpreter (fork + exec): it
inherits no lock, thread pool or database connection of the server, whatever the server's threads were doing
at that instant. Workers are started on demand, kept for later jobs (so a job starts in well under a second
once one is idle), and given the workspace settings once. A run travels as its id only (`core.worker`).

A worker killed mid-job breaks the pool: the run it held is reaped as interrupted (its recorded pid is gone),
runs still queued in it are handed to a fresh pool, and the pool is rebuilt for what comes next.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from .config import Settings
from .store import Store
from .store.models import utcnow
from .store.runs import INTERRUPTED, UNFINISHED

log = logging.getLogger(__name__)

WORKERS = 4  # clean processes for jobs at most; each is started only when a job finds none idle
RETRIES = 2  # times a queued run is handed to a fresh pool after the pool it waited in broke

_workspace = None  # in a worker process only: the workspace it opened at its start, for all its runs


def _start_worker(settings: Settings) -> None:
    """In a new worker process: the machine's cores for jobs, the job code imported and the workspace opened
    once (one database engine per process: its compiled statements serve every later run)."""
    global _workspace
    from .threads import enter_job_process

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(name)s: %(message)s")
    enter_job_process()
    from . import explore, worker  # noqa: F401 - the job code every run needs, imported before the first job
    from .workspace import Workspace

    _workspace = Workspace.open(settings)


def _run(run_id: int) -> int:
    from .worker import execute_logged

    execute_logged(_workspace, run_id)
    return run_id


def _ping() -> int:
    import os

    return os.getpid()


class EmbeddedRunner:
    """Runs submitted runs in up to `workers` spawned processes; `submit` returns at once."""

    def __init__(self, settings: Settings, store: Store, workers: int = WORKERS):
        if workers < 1:
            raise ValueError(f"workers: expected 1 or more, got {workers}")
        self.settings, self.store, self.workers = settings, store, workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.settings,),
            )
            # threading's exit hooks run newest first: ending our workers before the executor's own hook
            # joins them keeps the server from waiting at exit for a job that could run for hours (the job's
            # run is then reaped as interrupted on the next open of the workspace).
            threading._register_atexit(self.close)  # noqa: SLF001
        return self._pool

    def submit(self, run_id: int, kind: str | None = None, attempt: int = 0) -> None:
        """Hand the queued run `run_id` to a worker process."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the embedded job runner is closed")
            pool = self._executor()
            try:
                future = pool.submit(_run, run_id)
            except BrokenProcessPool:
                self._pool = None
                future = self._executor().submit(_run, run_id)
            pool = self._pool
        future.add_done_callback(partial(self._finished, run_id, attempt, pool))

    def warm(self) -> None:
        """Start the worker processes now (a server that expects jobs), not at the first job."""
        with self._lock:
            pool = self._executor()
            for _ in range(self.workers):
                pool.submit(_ping)

    def _finished(self, run_id: int, attempt: int, pool: ProcessPoolExecutor, future: Future) -> None:
        if future.cancelled():  # the server stopped before the run began (`close`): it must not stay queued
            try:
                self.store.update_run(
                    run_id, status="cancelled", finished_at=utcnow(), message="the server stopped before it started"
                )
            except Exception:  # noqa: BLE001 - a callback thread must not die silently
                log.exception("run %d: could not record that it never started", run_id)
            return
        exc = future.exception()
        if exc is None:
            return
        try:
            if isinstance(exc, BrokenProcessPool):
                with self._lock:
                    if self._pool is pool:
                        self._pool = None
                self.store.reap_interrupted()
                run = self.store.get_run(run_id)
                if run is not None and run.status == "queued" and attempt < RETRIES and not self._closed:
                    log.warning("run %d: its worker pool broke before it started; handed to a fresh one", run_id)
                    self.submit(run_id, attempt=attempt + 1)
                    return
            run = self.store.get_run(run_id)
            if run is not None and run.status in UNFINISHED:  # failed before the run could record it
                # A broken pool is a worker that died (killed, out of memory); the executor then ends the others.
                # Its pipe closes before the kernel lists it as a zombie, so `reap_interrupted` can still see
                # it alive here on a busy machine: the run is interrupted all the same.
                error = f"{INTERRUPTED} ({type(exc).__name__})" if isinstance(exc, BrokenProcessPool) else None
                self.store.update_run(
                    run_id, status="failed", finished_at=utcnow(), error=error or f"{type(exc).__name__}: {exc}"
                )
        except Exception:  # noqa: BLE001 - a callback thread must not die silently
            log.exception("run %d: could not record how its worker ended", run_id)

    def close(self) -> None:
        """End the worker processes (a running job ends as interrupted) and refuse further runs."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is None:
            return
        for proc in list((pool._processes or {}).values()):  # noqa: SLF001 - the executor has no kill
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
