"""The Jobs tab: every run recorded in the store, with status and progress (refreshed while the tab is open)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from .. import ids

STATUS_COLOR = {
    "queued": "secondary",
    "running": "primary",
    "done": "success",
    "failed": "danger",
    "cancelled": "warning",
}


def layout() -> html.Div:
    return html.Div(
        [
            html.P(
                "Every long job (import, simulation, training, generation) is a run in the workspace store; "
                "this list reads them from there, so closing the browser loses nothing.",
                className="text-muted small",
            ),
            html.Div(id=ids.JOBS_STATUS, className="small text-muted mb-1"),
            html.Div(  # until the first answer: say that something is coming
                [html.Span(className="spinner-border spinner-border-sm me-2", role="status"), "Reading the runs…"],
                id=ids.JOBS_TABLE,
                className="small",
            ),
            dcc.Interval(id=ids.JOBS_INTERVAL, interval=2000, disabled=True),
        ]
    )


def table(runs: list[dict]) -> dbc.Table | html.P:
    if not runs:
        return html.P("No runs yet.", className="text-muted")
    body = []
    for r in runs:
        pct = round(100 * (r["progress"] or 0))
        body.append(
            html.Tr(
                [
                    html.Td(r["id"]),
                    html.Td(r["kind"]),
                    html.Td(dbc.Badge(r["status"], color=STATUS_COLOR.get(r["status"], "secondary"))),
                    html.Td(
                        dbc.Progress(
                            value=pct,
                            label=f"{pct}%",
                            striped=r["status"] == "running",
                            animated=r["status"] == "running",
                            style={"minWidth": "8rem"},
                        )
                    ),
                    html.Td(r["message"] or "", className="small text-truncate", style={"maxWidth": "24rem"}),
                    html.Td(r["error"] or "", className="small text-danger"),
                    html.Td(r["created"], className="small"),
                    html.Td(r["duration"], className="small"),
                    # started without login (a laptop, the CLI): nobody to name
                    html.Td(
                        r.get("user") or "—", className="small", title="" if r.get("user") else "started without login"
                    ),
                    html.Td(cancel_button(r["id"]) if r["status"] in ("queued", "running") else ""),
                ]
            )
        )
    head = html.Thead(
        html.Tr(
            [html.Th(h) for h in ("run", "kind", "status", "progress", "message", "error", "created (UTC)", "took")]
            + [html.Th("by"), html.Th("")]
        )
    )
    return dbc.Table([head, html.Tbody(body)], striped=True, hover=True, size="sm")


def cancel_button(run_id: int) -> dbc.Button:
    return dbc.Button("Cancel", id=ids.jobs_cancel_button(run_id), color="danger", outline=True, size="sm")


def status(message: str, ok: bool = True) -> dbc.Alert:
    return dbc.Alert(message, color="success" if ok else "warning", className="py-1 small mb-2")
