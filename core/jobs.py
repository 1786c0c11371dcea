"""The long-job contract.

A long `core` function is a plain loop taking keyword-only `progress(done, total, message)` and
`should_stop()` and returning a result dataclass. `run_job` records it as a run in the store: status,
throttled progress, error, result. `execute` runs an already queued run (what a worker does: see `core.worker`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from .store import Store
from .store.models import utcnow

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, str], None]
StopFn = Callable[[], bool]


class Cancelled(Exception):
    """Raised inside a job loop when `should_stop()` says so; the run ends as `cancelled`."""


class Interrupted(KeyboardInterrupt):
    """A job stopped by Ctrl-C or SIGTERM where it was (no check in between): its run is recorded `cancelled`."""

    def __init__(self, run_id: int):
        super().__init__(f"run {run_id} was interrupted")
        self.run_id = run_id


def no_progress(done: int, total: int, message: str = "") -> None:
    """Progress sink for callers that do not watch."""


def never_stop() -> bool:
    return False


class Plan:
    """One count for a job made of steps that count on their own (features of n images, a fit, epochs), so the bar
    only moves forward and reads as one job, not as stage after stage of 0-100 %. Each step has a share (`span`)
    of the plan's `total` units and ends where the next begins: `step(message, span)` for a silent one (the bar says
    what runs), `part(span, parts)` for one that reports, as a progress function whose count may start again up to
    `parts` times (training, validation and reference frames, each counted from 0)."""

    def __init__(self, progress: ProgressFn, total: float):
        self._progress, self.total, self.done, self._end = progress, max(float(total), 1.0), 0.0, 0.0

    def _emit(self, message: str) -> None:
        self._progress(int(self.done), int(self.total), message)

    def _next(self, span: float) -> float:
        self.done = max(self.done, self._end)  # the step before is over, whatever its count said
        self._end = min(self.total, self.done + span)
        return self.done

    def step(self, message: str, span: float = 1.0) -> None:
        self._next(span)
        self._emit(message)

    def part(self, span: float, parts: int = 1, weights: list[float] | None = None) -> ProgressFn:
        """A step that counts, up to `parts` times from 0; `weights` (one per part) say how much of the span each
        count takes where they differ (the features of 200 new frames against 60 already read), else equal."""
        base, slot, last = self._next(span), [0], [None]
        end = self._end  # its own end: a late call cannot run into the step after it
        w = [float(v) for v in weights] if weights and len(weights) == parts and sum(weights) > 0 else [1.0] * parts
        before = [sum(w[:k]) / sum(w) for k in range(parts)] + [1.0]

        def progress(done: int, total: int, message: str = "") -> None:
            if last[0] is not None and (done < last[0][0] or total != last[0][1]):  # its count began again
                slot[0] = min(slot[0] + 1, parts - 1)
            last[0] = (done, total)
            k = slot[0]
            frac = before[k] + (before[k + 1] - before[k]) * (min(done / total, 1.0) if total else 0.0)
            self.done = max(self.done, min(base + span * frac, end))
            self._emit(message)

        return progress

    def finish(self, message: str) -> None:
        self.done = self._end = self.total
        self._emit(message)


def check_stop(should_stop: StopFn) -> None:
    if should_stop():
        raise Cancelled()


class JobFn(Protocol):
    def __call__(self, *, run_id: int, progress: ProgressFn, should_stop: StopFn) -> Any: ...


_SIGNALLED = threading.Event()  # a stop asked of this process's running jobs by a signal (Ctrl-C, SIGTERM)
_RUNNING = [0]  # jobs running in this process now


def stop_running_jobs() -> bool:
    """Ask the jobs running in this process to stop at their next check, as a Cancel does (they record
    `cancelled` and clean up); False when none is running, so the caller can stop at once instead."""
    if _RUNNING[0] == 0:
        return False
    _SIGNALLED.set()
    return True


def run_job(
    store: Store,
    kind: str,
    params: dict,
    fn: JobFn,
    *,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
    min_interval: float = 0.5,
) -> tuple[int, Any]:
    """Run `fn` as a recorded run; returns (run id, result). Failures are recorded, then re-raised.

    Raises:
        JobRefused: a parameter outside the limits of `kind` (`core.job_limits`), checked as `worker.submit`
            checks a job the web UI asks for, so the CLI and the API refuse the same values before anything is
            recorded or started; only the caps on how long it runs (epochs, steps, generate's n) are the caller's
            to choose.
    """
    from .job_limits import check_params

    check_params(kind, params, time_caps=False)
    run_id = store.create_run(kind, params)
    return run_id, execute(store, run_id, fn, progress=progress, should_stop=should_stop, min_interval=min_interval)


def execute(
    store: Store,
    run_id: int,
    fn: JobFn,
    *,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
    min_interval: float = 0.5,
) -> Any:
    """Run `fn` for the already created (queued) run `run_id` in this process; returns its result (None when
    cancelled). A run whose cancel was asked for before it started ends `cancelled` without running."""
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"run {run_id}: no such run")
    kind = run.kind
    if run.status == "queued" and run.cancel_requested:
        store.update_run(run_id, status="cancelled", finished_at=utcnow(), message="cancelled before it started")
        return None
    if not store.claim_run(run_id):
        log.warning("run %d (%s) is not queued (taken elsewhere or finished): not run again", run_id, kind)
        return None
    last = [0.0, None, None]  # when the store was last written, the total and the kind of message it was given

    def _progress(done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        kind = re.sub(r"[\d.]+", "#", message)  # "epoch 3/20" and "epoch 4/20" are one kind, "umap 2-D" another
        # throttled, except at the end of a count and where a new step begins ("umap 2-D" after the autoencoder's
        # last epoch, "physics: fitting" after its features): dropped, the bar would name the step before for as
        # long as the new one runs without a word
        if now - last[0] >= min_interval or done >= total or total != last[1] or kind != last[2]:
            last[:] = now, total, kind
            store.update_run(run_id, progress=(done / total if total else 0.0), message=message)
        progress(done, total, message)

    checked = [0.0, False]

    alive, lost = threading.Event(), threading.Event()

    def _should_stop() -> bool:
        """The caller's stop signal, or a cancel requested through the store (checked at most twice a second), or
        the run taken for lost while this process was suspended (its job slot was given up: it must not go on)."""
        if should_stop() or lost.is_set() or _SIGNALLED.is_set():
            return True
        now = time.monotonic()
        if now - checked[0] >= 0.5:
            checked[0] = now
            checked[1] = store.cancel_requested(run_id)
        return checked[1]

    def _beat() -> None:  # a sign of life during silent steps too (a UMAP fit): a run nobody beats for is lost
        from .store import runs

        while not alive.wait(runs.HEARTBEAT_S):
            try:
                if not store.beat(run_id):
                    lost.set()
                    return
            except Exception as exc:  # a busy or unreachable database: the next beat tries again
                log.debug("run %d: heartbeat not written (%s)", run_id, exc)

    beating = threading.Thread(target=_beat, name=f"heartbeat-{run_id}", daemon=True)
    beating.start()
    _RUNNING[0] += 1
    try:
        result = fn(run_id=run_id, progress=_progress, should_stop=_should_stop)
    except Cancelled:
        if lost.is_set():  # the run is recorded failed (lost) or cancelled already: left as it is
            log.warning("run %d (%s) stopped: it was taken for lost while this process was silent", run_id, kind)
            return None
        said = "cancelled (interrupted: Ctrl-C or SIGTERM)" if _SIGNALLED.is_set() else "cancelled"
        store.update_run(run_id, status="cancelled", finished_at=utcnow(), message=said)
        log.info("run %d (%s) %s", run_id, kind, said)
        return None
    except KeyboardInterrupt:  # a second Ctrl-C, or one during a step that does not check: stopped where it was
        store.update_run(
            run_id, status="cancelled", finished_at=utcnow(), message="cancelled (interrupted: Ctrl-C or SIGTERM)"
        )
        raise Interrupted(run_id) from None
    except Exception as exc:
        # the person reads one line (progress bar, Jobs view): the app's own ValueError says what to do, anything
        # else is named by its type; the traceback goes to the log of whoever ran the job
        said = " ".join(str(exc).split())[:500]
        store.update_run(
            run_id,
            status="failed",
            finished_at=utcnow(),
            error=f"{type(exc).__name__}: {exc}",
            message=said if isinstance(exc, ValueError) and said else f"{type(exc).__name__}: {said}".rstrip(": "),
        )
        # the caller says the one line (the CLI on stderr, the page in its status); the traceback is kept for
        # whoever debugs (`-v`, a worker's debug log), never printed between a command and its answer
        log.info(
            "run %d (%s) %s: %s", run_id, kind, "could not run" if isinstance(exc, ValueError) else "failed", said
        )
        log.debug("run %d (%s) traceback:\n%s", run_id, kind, traceback.format_exc(limit=8))
        raise
    finally:
        alive.set()
        _RUNNING[0] -= 1
        if _RUNNING[0] == 0:  # the signal was for the jobs that were running, not for those a process runs next
            _SIGNALLED.clear()
    summary = dataclasses.asdict(result) if dataclasses.is_dataclass(result) else None
    # a run taken for lost while its process was suspended, which then finished, did finish: the reaper's words go
    said = {"message": "done"} if (store.get_run(run_id).error or "").startswith(("lost:", "interrupted:")) else {}
    store.update_run(
        run_id, status="done", progress=1.0, finished_at=utcnow(), result=_jsonable(summary), error=None, **said
    )
    return result


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)
