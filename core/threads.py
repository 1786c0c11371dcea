"""OpenMP thread pools: one thread for the server's own small work, the machine's cores inside a job process.

Jobs run in worker processes (spawned, or Celery's), never in a fork of the server. The server still keeps its
own foreground work (a reconstruction, a Grad-CAM) on one OpenMP thread so that answering a callback never
competes with a job for the cores, and a worker raises the limit back to the machine's cores for the heavy work
(`enter_job_process`). The one-thread rule also keeps any fork that a library makes (Celery's prefork pool
forks its parent) safe: GNU OpenMP (the libgomp that the torch and scikit-learn wheels bundle) keeps a pool per
thread that has run a parallel region, and a forked child inherits that pool's bookkeeping but not its threads,
so its next parallel region would wait for them forever; one thread creates no pool.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_threads: list[int] = []  # what `set_openmp_threads` last set in this process


def job_cores() -> int:
    """The cores this process's work may use: what it was last given (a job's share), else the machine's."""
    return _threads[-1] if _threads else available_cores()


def set_openmp_threads(n: int) -> None:
    """Use `n` OpenMP threads from here on: for libraries loaded later (the variable libgomp reads when it
    loads), for those already loaded (threadpoolctl), and for torch's intra-op pool when torch is loaded."""
    from threadpoolctl import threadpool_limits

    if n < 1:
        raise ValueError(f"threads: expected 1 or more, got {n}")
    _threads[:] = [n]
    os.environ["OMP_NUM_THREADS"] = str(n)
    threadpool_limits(n, user_api="openmp")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)


def limit_server_threads() -> None:
    """For the web server process, before it serves: one OpenMP thread, so no thread ever holds a pool that
    a forked job would inherit broken."""
    set_openmp_threads(1)


def enter_job_process(threads: int | None = None) -> int:
    """At the start of a forked background job: the machine's cores (or `threads`) for the job's work."""
    n = threads or available_cores()
    set_openmp_threads(n)
    return n


class CoreShare:
    """In a runner's job process: this job's share of the machine's cores, as the jobs running on the machine
    change. A job alone takes every core; two take half each, and so on (one thread at least), so jobs started
    side by side (a map and a round from the pages, four Celery processes) do not each start a thread per core
    and slow one another down by contending for them. Re-read at most every `every` seconds, between the job's
    steps (its progress reports)."""

    def __init__(
        self, running_here: Callable[[], int], every: float = 15.0, now: Callable[[], float] = time.monotonic
    ):
        self._running_here, self._every, self._now = running_here, every, now
        self._checked: float | None = None
        self.threads: int | None = None

    def __call__(self, starting: bool = False) -> None:
        """`starting`: before the job is listed as running (its own share counted in)."""
        t = self._now()
        if self._checked is not None and t - self._checked < self._every:
            return
        self._checked = t
        try:
            jobs = max(1, self._running_here() + int(starting))
        except Exception:  # noqa: BLE001 - a busy database: keep the share as it is and ask again later
            return
        threads = max(1, available_cores() // jobs)
        if threads != self.threads:
            self.threads = threads
            set_openmp_threads(threads)
