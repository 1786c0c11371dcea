"""Jobs tab callbacks: list runs from the store while the tab is open; cancel any running one."""

from __future__ import annotations

from datetime import datetime, timezone

from dash import Input, Output

from scatterloop.core.progress import time_left
from scatterloop.core.store.models import as_utc
from scatterloop.dashboard import ids
from scatterloop.dashboard.components import jobs_view

from .services import Services


def _span(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _duration(start: datetime | None, end: datetime | None, progress: float | None = None) -> str:
    """How long a run took, or has been running; for a running one, with an estimate of the time left from its
    rate so far (`progress.time_left`, the job bars' rule)."""
    if start is None:
        return ""
    start = as_utc(start)
    running = end is None
    end = as_utc(end or datetime.now(timezone.utc))
    seconds = max(0.0, (end - start).total_seconds())
    text = _span(seconds)
    left = time_left(seconds, progress) if running and progress else None
    return text + (f", ~{_span(left)} left" if left is not None else "")


def runs_table(services: Services, limit: int = 100):
    services.store.reap_interrupted()
    runs = [
        {
            "id": r.id,
            "kind": r.kind,
            "status": r.status,
            "progress": r.progress,
            "message": r.message,
            "error": r.error,
            "created": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            "duration": _duration(r.started_at, r.finished_at, r.progress if r.status == "running" else None),
            "user": r.started_by,
        }
        for r in services.store.list_runs(limit)
    ]
    return jobs_view.table(runs)


def register(app, services: Services) -> None:
    # poll only while the tab is open; decided in the browser (no request on each switch)
    app.clientside_callback(
        'function (tab) { return tab !== "jobs"; }',
        Output(ids.JOBS_INTERVAL, "disabled"),
        Input(ids.TABS, "active_tab"),
    )

    @app.callback(
        Output(ids.JOBS_TABLE, "children"),
        Input(ids.JOBS_INTERVAL, "n_intervals"),
        Input(ids.tab_shown("jobs"), "data"),
    )
    def _table(_n, _shown):
        return runs_table(services)
