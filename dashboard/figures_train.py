"""Plotly figures of the Train tab's round history. Plain data in, figures out: no store, no core."""

from __future__ import annotations

import plotly.graph_objects as go

from .figures import PALETTE, empty_map

# No request may leave the app: no Chart Studio / cloud links, no Plotly logo link.
GRAPH_CONFIG = {
    "displaylogo": False,
    "showLink": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio", "lasso2d", "select2d"],
}
METRICS = (("accuracy", "accuracy"), ("precision", "precision"))


def learning_curve_figure(curve: dict) -> go.Figure:
    """Accuracy and precision on the held-out validation set against the number of human labels: models as solid
    lines, votes dashed, one point per finished round (hover says which run, round and recipe)."""
    from plotly.subplots import make_subplots

    if not curve.get("series"):  # a sentence, not bare axes
        return empty_map(
            f"No finished round of the {curve.get('task') or ''} task yet: the learning curve starts with the first.",
            340,
            12,
        )
    fig = make_subplots(rows=1, cols=2, subplot_titles=[title for _, title in METRICS], shared_yaxes=True)
    for i, s in enumerate(curve.get("series", [])):
        pts = sorted(s["points"], key=lambda p: (p["labelled"], p["run_id"]))
        colour = PALETTE[i % len(PALETTE)]
        dash = "dash" if s["kind"] == "vote" else "solid"
        hover = [f"run {p['run_id']} · round {p['round']} · {p['recipe']}" for p in pts]
        for col, (metric, _) in enumerate(METRICS, start=1):
            fig.add_trace(
                go.Scatter(
                    x=[p["labelled"] for p in pts],
                    y=[p[metric] for p in pts],
                    name=s["name"],
                    legendgroup=s["name"],
                    showlegend=col == 1,
                    mode="lines+markers",
                    line={"color": colour, "dash": dash},
                    text=hover,
                    hovertemplate="%{text}<br>%{x} labels: %{y:.3f}<extra>" + s["name"] + "</extra>",
                ),
                row=1,
                col=col,
            )
    labelled = [p["labelled"] for s in curve["series"] for p in s["points"]]
    # from no labels to a little past the most, so one round reads as a point at its count, not an axis of 29-31
    fig.update_xaxes(title_text="human labels", range=[0, 1.08 * max(labelled + [1])], rangemode="tozero")
    fig.update_yaxes(range=[-0.02, 1.04])
    fig.update_layout(
        margin=dict(l=40, r=10, t=55, b=40),
        height=340,
        legend=dict(orientation="h", y=-0.3),
        title={
            "text": f"learning curve · {curve.get('task') or ''} task (held-out validation set)",
            "font": {"size": 12},
            "x": 0.0,
            "xanchor": "left",
            "y": 0.98,
        },
    )
    return fig
