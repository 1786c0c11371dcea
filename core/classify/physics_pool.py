"""Physics features of many uncached frames on every core of the job's machine.

A frame's features take about a second at `WORK_SIDE` pixels on one core, and the first round of a workspace
describes every frame once (hundreds to thousands). `computed` hands them to joblib's loky worker processes
(started fresh, never a fork of the process that calls it, so a job's threads and a server's state are never
copied; unlike multiprocessing's 'spawn', loky does not run the caller's script again in each worker, so a user's
script without an `if __name__ == "__main__":` guard is safe), while this process reads the next frames from
disk, and yields each frame's features in the order given. The workers are kept for the next call a minute, end
when idle, and end within a second when the job's process dies. The pool is worth its start (a few seconds of
imports per worker) only for a few dozen full-size frames, so small sets, one-core machines and processes that
may not start children (Celery's daemonic prefork workers) compute in this process, exactly as before: the
features are the same numbers either way (one function, `frame_features`, on the same arrays).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool

from ..threads import job_cores
from .physics import WORK_SIDE, frame_features

log = logging.getLogger(__name__)

MAX_WORKERS = 8  # beyond this, reading frames from disk in one process is the limit
POOL_MIN_WORK = 16.0  # full-size frames' worth of work (about 16 s on one core) below which one process is quicker


def work_of(height: int, width: int) -> float:
    """A frame's share of a full-size frame's work: frames are reduced to about `WORK_SIDE` first."""
    side = min(max(int(height), int(width)), WORK_SIDE)
    return side * side / (WORK_SIDE * WORK_SIDE)


def workers_for(images: Sequence) -> int:
    """How many processes the features of `images` (uncached) are worth: 1 below `POOL_MIN_WORK`."""
    cores = min(job_cores(), MAX_WORKERS)  # this job's share of the machine
    if cores < 2 or multiprocessing.current_process().daemon:
        return 1
    return cores if sum(work_of(img.height, img.width) for img in images) >= POOL_MIN_WORK else 1


def _worker_start(parent: int) -> None:
    """In each worker: one OpenMP thread (as many workers as cores); Ctrl-C, which a terminal sends to the whole
    process group, is the job's to act on (it stops at its next check); and an end when the job's process is gone
    (killed, out of memory), instead of idling on."""
    import os
    import signal
    import threading
    import time

    from ..threads import set_openmp_threads

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_openmp_threads(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _executor(workers: int):
    import os

    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=workers, timeout=60, initializer=_worker_start, initargs=(os.getpid(),))


def computed(ws, images: Sequence, store: Callable, workers: int | None = None) -> Iterator[dict[str, float]]:
    """Features of each of `images`, in order; `store(image, features)` keeps each (the cache) as it arrives.

    With one worker, or where no pool can start, the frames are computed here. A worker that dies (out of
    memory) leaves the frames not yet done to this process."""
    workers = workers_for(images) if workers is None else workers
    pending = deque(images)
    if workers > 1 and len(pending) > 1:
        yield from _pooled(ws, workers, pending, store, 2 * workers)
    while pending:  # one process, or what a broken pool left
        image = pending.popleft()
        frame = ws.load_frame(image)
        feats = frame_features(frame.data, frame.mask)
        store(image, feats)
        yield feats


def _pooled(ws, workers: int, pending: deque, store: Callable, ahead: int) -> Iterator[dict]:
    """Up to `ahead` frames in flight; what is not done when the caller stops (Cancel) is dropped. Only a pool that
    cannot start or breaks (a worker killed, out of memory) leaves the frames to the job's process: a frame that
    cannot be read, a cache that cannot be written or a feature that fails raise as they would there."""
    flight: deque = deque()

    def broken(exc: BaseException) -> None:
        from ..jobs import _SIGNALLED, Cancelled

        if _SIGNALLED.is_set():  # Ctrl-C or `timeout`'s SIGTERM reached the workers too: the job stops, no crash
            raise Cancelled() from None
        log.warning("physics features go on in the job's process (%s: %s)", type(exc).__name__, exc)
        pending.extendleft(img for img, _ in reversed(flight))
        flight.clear()

    try:
        try:
            pool = _executor(workers)
        except (OSError, RuntimeError, ValueError) as exc:  # no children here
            broken(exc)
            return
        while pending or flight:
            while pending and len(flight) < ahead:
                image = pending[0]
                frame = ws.load_frame(image)
                try:
                    future = pool.submit(frame_features, frame.data, frame.mask)
                except BrokenProcessPool as exc:
                    broken(exc)
                    return
                flight.append((image, future))
                pending.popleft()
            image, future = flight[0]
            try:
                feats = future.result()
            except BrokenProcessPool as exc:
                broken(exc)
                return
            flight.popleft()
            store(image, feats)
            yield feats
    finally:
        for _, future in flight:  # a cancelled job: what has not started is dropped
            future.cancel()
