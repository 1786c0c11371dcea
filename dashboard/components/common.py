"""Small pieces the tabs share: a labelled field, a job's button + Cancel + progress row, a compact group."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def field(label: str, component) -> dbc.InputGroup:
    return dbc.InputGroup([dbc.InputGroupText(label), component], size="sm", className="mb-2")


def compact(label: str, component, max_width: str = "12rem") -> dbc.InputGroup:
    """A labelled input that sits in a row with other controls."""
    return dbc.InputGroup(
        [dbc.InputGroupText(label), component], size="sm", style={"maxWidth": max_width}, className="me-2"
    )


def job_controls(run_id: str, run_text: str, cancel_id: str | None, progress_id: str, width: str = "14rem"):
    """Start button, Cancel (enabled only while the job runs) and the job's progress bar."""
    parts = [dbc.Button(run_text, id=run_id, color="primary", size="sm", className="me-2")]
    if cancel_id:
        parts.append(
            dbc.Button(
                "Cancel", id=cancel_id, color="danger", outline=True, size="sm", className="me-2", disabled=True
            )
        )
    parts.append(dbc.Progress(id=progress_id, value=0, style={"width": width, "height": "1.2rem"}))
    return html.Div(parts, className="d-flex align-items-center mb-2")
