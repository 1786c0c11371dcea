"""The Jobs tab's per-run Cancel: whoever may (core.auth.can_cancel) asks that one run to stop."""

from __future__ import annotations

import time

from dash import ALL, Input, Output, ctx, no_update

from scatterloop.core.auth import cancel_run
from scatterloop.dashboard import ids
from scatterloop.dashboard.components import jobs_view

from .identity import current_identity
from .services import Services


def cancel(services: Services, run_id: int) -> tuple[bool, str]:
    """Cancel one run as the person asking; returns (requested, message)."""
    try:
        requested = cancel_run(services.store, current_identity(services), run_id)
    except (PermissionError, ValueError) as exc:
        return False, f"Not cancelled: {exc}."
    at = time.strftime("%H:%M:%S")  # the line stays while the table moves on: say when it was true
    return requested, (
        f"Cancel requested for run {run_id} ({at})." if requested else f"Run {run_id} had already ended ({at})."
    )


def register(app, services: Services) -> None:
    @app.callback(
        Output(ids.JOBS_STATUS, "children"),
        Input({"type": ids.JOBS_CANCEL_ALL["type"], "run": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def _cancel(clicks):
        if not ctx.triggered_id or not ctx.triggered[0]["value"]:
            return no_update
        requested, message = cancel(services, ctx.triggered_id["run"])
        return jobs_view.status(message, ok=requested)
