"""Small pieces the tabs share: a labelled field, a job's button + Cancel + progress row, a compact group."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

# Every graph's toolbar: no Plotly cloud ("Share chart" / Chart Studio), no logo, PNG export at 2x. A beamline
# page must never send a figure, or anything else, to another host.
GRAPH_CONFIG = {
    "displaylogo": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "sendData": False,
    "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
NO_TOOLBAR = {**GRAPH_CONFIG, "displayModeBar": False}


def graph(component_id, toolbar: bool = True, **kwargs) -> dcc.Graph:
    """A dcc.Graph with the house config (see GRAPH_CONFIG); `toolbar=False` hides the mode bar."""
    return dcc.Graph(id=component_id, config=GRAPH_CONFIG if toolbar else NO_TOOLBAR, **kwargs)


def loading(child, **kwargs) -> dcc.Loading:
    """A spinner over `child` while a callback updates it, shown only after 0.3 s so quick answers do not
    flicker; the old content stays visible (dimmed) underneath."""
    return dcc.Loading(
        child,
        type="circle",
        delay_show=300,
        overlay_style={"visibility": "visible", "opacity": 0.5},
        **kwargs,
    )


def field(label: str, component) -> dbc.InputGroup:
    return dbc.InputGroup([dbc.InputGroupText(label), component], size="sm", className="mb-2")


def compact(label: str, component, max_width: str = "12rem") -> dbc.InputGroup:
    """A labelled input that sits in a row with other controls."""
    return dbc.InputGroup(
        [dbc.InputGroupText(label), component], size="sm", style={"maxWidth": max_width}, className="me-2"
    )


def job_controls(run_id: str, run_text: str, cancel_id: str | None, progress_id: str):
    """Start button, Cancel (enabled only while the job runs), and below them the job's progress bar across the
    panel's width, so its text (stage, time elapsed and left) is never squeezed by the buttons beside it."""
    parts = [dbc.Button(run_text, id=run_id, color="primary", size="sm", className="me-2 text-nowrap")]
    if cancel_id:
        parts.append(
            dbc.Button(
                "Cancel", id=cancel_id, color="danger", outline=True, size="sm", className="me-2", disabled=True
            )
        )
    return html.Div([html.Div(parts, className="d-flex align-items-center mb-1"), progress_bar(progress_id)])


def progress_bar(progress_id: str) -> dbc.Progress:
    """A job's bar, the panel's full width; its text reads across the whole track (`sl-progress`)."""
    return dbc.Progress(id=progress_id, value=0, style={"height": "1.2rem"}, className="sl-progress mb-2 w-100")


def keep_settings(tree, component_ids) -> None:
    """Give the inputs named in `component_ids` browser persistence (localStorage): a setting a user changed
    (epochs, models, preset) is still there after a reload. Values a callback sets are not persisted."""
    wanted = set(component_ids)
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (list, tuple)):
            stack.extend(node)
            continue
        node_id = getattr(node, "id", None)
        if isinstance(node_id, str) and node_id in wanted and "persistence" in getattr(node, "_prop_names", ()):
            node.persistence = True
            node.persistence_type = "local"
        children = getattr(node, "children", None)
        if children is not None and not isinstance(children, (str, int, float)):
            stack.append(children)
