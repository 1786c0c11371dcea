"""Start a run from a page and follow it there: the one path every job button takes.

`launch` records the run (queued), hands it to the runner and tells the page which run its progress bar and
Cancel button belong to; `follow` polls the run record until it ends, showing its progress; `outcome` turns
the ended run into the line shown where it was started (its result, that it was cancelled, or its error).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable

from dash import set_props
from dash.exceptions import MissingCallbackContextException

from scatterloop.core.job_limits import JobRefused
from scatterloop.core.progress import Eta, short
from scatterloop.core.store.models import as_utc, utcnow
from scatterloop.core.store.runs import UNFINISHED
from scatterloop.core.worker import submit
from scatterloop.dashboard import ids

from .services import STARTED_BY, Services, signed_in_name

POLL_S = 0.5  # Dash asks for progress once a second: polling the store faster would show nothing more
REAP_EVERY_S = 5.0


def refusal_as_line(fn: Callable[..., str]) -> Callable[..., str]:
    """For a function that launches a job and returns the line its page shows: a refused request (a parameter
    outside its limits, or the person's allowance of active jobs used up) becomes that line; nothing runs."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> str:
        try:
            return fn(*args, **kwargs)
        except JobRefused as exc:
            return f"Not started: {exc}"

    return wrapper


def running_twin(services: Services, kind: str, params: dict):
    """The latest running run of `kind` with exactly `params` started by the person on this page (anybody's
    without login); None when there is none. Queued runs are left out: one no runner holds (the server stopped
    before a worker took it) would be followed for ever."""
    same = json.loads(json.dumps(params, default=str))  # as the store keeps them
    return next((r for r in services.store.running_runs(STARTED_BY.get(), (kind,)) if r.params == same), None)


def _part_of_another(run) -> bool:
    """A run another job started for itself (an evaluation's map: `{"for": "evaluate"}`): its own bar follows it."""
    return bool((run.params or {}).get("for"))


def attach(bar: str, run_id: int) -> None:
    """Bind the progress bar `bar` (and its Cancel) to `run_id`."""
    try:
        # the only set_props of a job's body: Dash's background manager keeps just the last one between two polls,
        # so the status line is named from this store in the browser (job_status.name_the_run), not set here
        set_props(ids.job_run(bar), {"data": run_id})
    except MissingCallbackContextException:  # not inside a Dash callback (a direct call from a test or a benchmark)
        pass


# the runs each job bar follows: a page's load looks for one of these running, to take it up
BAR_KINDS = {
    ids.EXPLORE_PROGRESS: ("embed", "place", "symmetry"),
    ids.GEN_TRAIN_PROGRESS: ("generate-train",),
    ids.GEN_PROGRESS: ("generate",),
    ids.TRAIN_PROGRESS: ("classify",),
    ids.TRAIN_PREDICT_PROGRESS: ("predict",),
    ids.EVAL_PROGRESS: ("evaluate",),
}


def register_resume(app, services: Services) -> None:
    """At a page's load, one plain callback asks the store which bars have a run to take up (a page reloaded while
    its job ran) and hands each such run to its bar's job callback (`ids.job_resume`). Only those start: a job
    callback run at every load would turn its buttons off for a moment, and a click then would be lost."""
    from dash import Input, Output

    bars = list(BAR_KINDS)

    @app.callback(
        *[Output(ids.job_resume(bar), "data") for bar in bars],
        *[Output(ids.job_run(bar), "data", allow_duplicate=True) for bar in bars],  # Cancel works at once
        Input(ids.PAGE_LOADED, "n_intervals"),
        prevent_initial_call=True,
    )
    def _find(_n):
        return taken_up_at_load(services, signed_in_name())


def taken_up_at_load(services: Services, who: str | None) -> list:
    """For `register_resume`: per bar (`BAR_KINDS`), the id of the latest run `who` has running of its kinds, or
    no_update; twice (the bars' resume stores, then their run stores). One query, whatever the run history."""
    from dash import no_update

    running = [r for r in services.store.running_runs(who) if not _part_of_another(r)]
    found = [next((r.id for r in running if r.kind in kinds), no_update) for kinds in BAR_KINDS.values()]
    return [*found, *found]


def resume(services: Services, run_id, bar: str):
    """In a job callback started by `register_resume`: the run `run_id`, bound to `bar` so its bar, Cancel and
    outcome come back; None when there is no such run, or it is queued."""
    run = services.store.get_run(int(run_id)) if run_id else None
    if run is None or run.status == "queued":  # never one queued: no runner may hold it (only running ones are sent)
        return None
    attach(bar, run.id)  # one that ended since the page asked shows its outcome at once
    return run


def take_up(services: Services, run_id, bar: str, watch: Callable) -> str | None:
    """A job callback's answer to `register_resume`: `watch(run)`'s line for the run `run_id` bound to `bar`, or
    None when there is no such run (the callback then changes nothing)."""
    run = resume(services, run_id, bar)
    return None if run is None else watch(run)


def launch(services: Services, kind: str, params: dict, bar: str) -> int:
    """Record a queued run, hand it to the runner, and bind the progress bar `bar` (and its Cancel) to it. The
    same job (kind and parameters) already running for this person is followed instead of started twice (a
    click on a page reloaded while it ran)."""
    twin = running_twin(services, kind, params)
    if twin is not None:
        attach(bar, twin.id)
        return twin.id
    run_id = submit(services.store, kind, params, started_by=STARTED_BY.get(), max_jobs=services.settings.max_jobs)
    try:
        services.runner.submit(run_id, kind)
    except Exception as exc:  # the job queue (Redis) unreachable: the run must not wait "queued" for ever
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        services.store.update_run(
            run_id, status="failed", finished_at=utcnow(), error=f"job queue unreachable: {reason}",
            message=f"job queue unreachable: {reason}",
        )  # fmt: skip
        raise JobRefused(f"the job queue is unreachable ({reason}); run {run_id} was not started") from None
    attach(bar, run_id)
    return run_id


def bar_text(run, eta: Eta | None = None) -> tuple[int, str]:
    """Percent and label of a run's progress bar: what it does, time elapsed and, with `eta`, time left."""
    if run.status == "queued":
        return 0, "queued: waiting for a worker"
    if run.status not in UNFINISHED and run.status != "done":  # cancelled, failed: no time is left to estimate
        pct = int(100 * (run.progress or 0))
        said = run.message if run.message and run.message != run.status else ""
        return pct, f"{pct}% · {run.status}" + (f": {short(said)}" if said else "")
    if eta is not None:
        return eta(1000 * (run.progress or 0), 1000, run.message or "")
    pct = int(100 * (run.progress or 0))
    return pct, f"{pct}% · {short(run.message)}" if run.message else f"{pct}%"


def follow(services: Services, run_id: int, show: Callable | None = None, set_progress=None):
    """Poll the run until it is no longer queued or running; `set_progress(show(run, bar))` whenever that changes
    (`bar(run)`: the bar's percent and text, with elapsed time and time left).
    Returns the ended run. Runs of this machine whose process died are reaped meanwhile (they end here too)."""
    store = services.store
    last, reaped, eta = None, time.monotonic(), None
    while True:
        run = store.get_run(run_id)
        if run is None:
            raise ValueError(f"run {run_id}: no such run")
        if set_progress is not None:
            if eta is None and run.status != "queued":  # the clock starts when a worker takes the run
                began = run.started_at  # earlier than now for a run a reloaded page takes up
                eta = Eta(elapsed=(utcnow() - as_utc(began)).total_seconds() if began else 0.0)
            view = show(run, lambda r, e=eta: bar_text(r, e)) if show else bar_text(run, eta)
            if view != last:  # the ended run too: its last curve or gallery stays on the page
                set_progress(view)
                last = view
        if run.status not in UNFINISHED:
            return run
        if time.monotonic() - reaped > REAP_EVERY_S:
            store.reap_interrupted()
            reaped = time.monotonic()
        time.sleep(POLL_S)


def outcome(run, done: Callable[[dict], str], what: str = "Run", cancelled: str = "cancelled.") -> str:
    """The line a page shows for an ended run: `done(result)`, a cancel, or the error it failed with."""
    if run.status == "done":
        return done(run.result or {})
    if run.status == "cancelled":
        return f"{what} {run.id} {cancelled}"
    error = run.error or "no error recorded"
    if error.startswith("ValueError: "):
        return f"{what} {run.id} could not run: {error.removeprefix('ValueError: ')}"
    return f"{what} {run.id} failed: {error}"


def cancel(services: Services, run_id, what: str = "run", stops: str = "") -> str:
    """Cancel the run a page follows (only that one), if the person asking may (`core.auth.can_cancel`, as the
    Jobs tab decides): the run id comes from the browser, so it may name anybody's run."""
    from scatterloop.core.auth import cancel_run

    from .identity import current_identity

    if not run_id:
        return "Nothing running."
    try:
        if cancel_run(services.store, current_identity(services), int(run_id)):
            return f"Cancelling {what} {run_id}{stops}…"
    except (PermissionError, ValueError) as exc:
        return f"Not cancelled: {exc}."
    return f"Run {run_id} is not running."
