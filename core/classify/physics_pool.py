"""Physics features of many uncached frames on every core of the job's machine.

A frame's features take about a second at `WORK_SIDE` pixels on one core, and the first round of a workspace
describes every frame once (hundreds to thousands). `computed` hands them to a pool of worker processes started
fresh ('spawn': an interpreter of their own, never a fork of the process that calls it, so a job's threads and a
server's state are never copied) while this process reads the next frames from disk, and yields each frame's
features in the order given. The pool is worth its start (a few seconds of imports per worker) only for a few
dozen full-size frames, so small sets, one-core machines and processes that may not start children (Celery's
daemonic prefork workers) compute in this process, exactly as before: the features are the same numbers either
way (one function, `frame_features`, on the same arrays).
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..threads import available_cores
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
    cores = min(available_cores(), MAX_WORKERS)
    if cores < 2 or multiprocessing.current_process().daemon:
        return 1
    return cores if sum(work_of(img.height, img.width) for img in images) >= POOL_MIN_WORK else 1


def _one_thread() -> None:
    """In each worker: one OpenMP thread, as many workers as cores; Ctrl-C, which a terminal sends to the whole
    process group, is the job's to act on (it stops at its next check and shuts the pool down)."""
    import signal

    from ..threads import set_openmp_threads

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_openmp_threads(1)


def computed(ws, images: Sequence, store: Callable, workers: int | None = None) -> Iterator[dict[str, float]]:
    """Features of each of `images`, in order; `store(image, features)` keeps each (the cache) as it arrives.

    With one worker, or where no pool can start, the frames are computed here. A worker that dies (out of
    memory) leaves the frames not yet done to this process."""
    workers = workers_for(images) if workers is None else workers
    pending = deque(images)
    if workers > 1 and len(pending) > 1:
        try:
            pool = ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread
            )
        except (OSError, ValueError, AssertionError) as exc:  # no children here: compute in this process
            log.info("physics features in one process: %s", exc)
        else:
            yield from _pooled(ws, pool, pending, store, 2 * workers)
    while pending:  # one process, or what a broken pool left
        image = pending.popleft()
        frame = ws.load_frame(image)
        feats = frame_features(frame.data, frame.mask)
        store(image, feats)
        yield feats


def _pooled(ws, pool: ProcessPoolExecutor, pending: deque, store: Callable, ahead: int) -> Iterator[dict]:
    """Up to `ahead` frames in flight; what is not done when the caller stops (Cancel) is dropped."""
    flight: deque = deque()
    try:
        while pending or flight:
            while pending and len(flight) < ahead:
                image = pending[0]
                frame = ws.load_frame(image)
                flight.append((image, pool.submit(frame_features, frame.data, frame.mask)))
                pending.popleft()
            image, future = flight[0]
            try:
                feats = future.result()
            except BrokenProcessPool:
                log.warning("a physics-feature worker died; the rest of the frames are computed in the job's process")
                pending.extendleft(img for img, _ in reversed(flight))
                return
            flight.popleft()
            store(image, feats)
            yield feats
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
