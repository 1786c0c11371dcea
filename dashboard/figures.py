"""Plotly figures. Plain data in, figures out: no store, no core."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import plotly.graph_objects as go

from scatterloop.core.worker import LOSS_EVERY, loss_steps

GROUP_COLOURS = {  # the paper's Fig. 8 roles
    "experimental": "#1f77b4",
    "training": "#9467bd",
    "realistic": "#2ca02c",
    "fake": "#d62728",
    "unlabeled": "#b5b5b5",
}
PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
CONTINUOUS = ("confidence", "symmetry")
MISSING_REASON = {"confidence": "no prediction yet", "symmetry": "not scored yet (open the image, or Symmetry scores)"}
NO_SCORE = "no centre or no rings to score"  # a symmetry recorded as -1
COLOUR_NAMES = {
    "group": "role",
    "label": "human label",
    "confidence": "model confidence",
    "symmetry": "symmetry score",
}


def selected_points(trace_ids: Sequence[int], selected: Collection[int]) -> list[int]:
    """The positions in a trace of the selected image ids (Plotly's `selectedpoints`)."""
    chosen = {int(i) for i in selected}
    return [j for j, i in enumerate(trace_ids) if int(i) in chosen]


def legend_name(category: str, count: int, colour_by: str = "") -> str:
    """A legend entry with its count ("fake (49)", "round 2 (120)"); the trace's `legendgroup` keeps the bare
    category."""
    if colour_by == "round":  # a bare "1" or "none" says nothing of what it counts
        category = "no round" if category == "none" else f"round {category}"
    return f"{category} ({count})"


def category_colour(name: str, order: int) -> str:
    return GROUP_COLOURS.get(name, PALETTE[order % len(PALETTE)])


def map_figure(
    ids: Sequence[int],
    coords: Sequence[Sequence[float]],
    values: Sequence,
    colour_by: str,
    dims: int = 2,
    categories: Sequence[str] | None = None,
    selected: Collection[int] | None = None,
) -> go.Figure:
    """Scatter of the map: one trace per category (the legend toggles groups), or one coloured by a number.

    Image ids travel in `customdata`; hover text is off because a thumbnail tooltip replaces it. `selected` (image
    ids: the lasso's selection) is drawn selected in the 2-D map, so a new colouring keeps the selection in view.
    """
    fig = go.Figure()
    scatter = go.Scattergl if dims == 2 else go.Scatter3d
    size = 6 if dims == 2 else 3

    def trace(idx: list[int], **kw):
        xyz = {"x": [coords[i][0] for i in idx], "y": [coords[i][1] for i in idx]}
        if dims == 3:
            xyz["z"] = [coords[i][2] for i in idx]
        if selected and dims == 2:
            kw["selectedpoints"] = selected_points([ids[i] for i in idx], selected)
        return scatter(mode="markers", customdata=[int(ids[i]) for i in idx], hoverinfo="none", **xyz, **kw)

    if colour_by in CONTINUOUS:
        # a symmetry score below 0 is the "no score" sentinel (-1), never a value to colour by
        have = [i for i, v in enumerate(values) if v is not None and not (colour_by == "symmetry" and v < 0)]
        missing = [i for i, v in enumerate(values) if v is None]
        unscorable = [i for i, v in enumerate(values) if v is not None and colour_by == "symmetry" and v < 0]
        for idx, why, grey in ((missing, MISSING_REASON[colour_by], "#d0d0d0"), (unscorable, NO_SCORE, "#909090")):
            if idx:
                fig.add_trace(
                    trace(idx, name=f"{colour_by} n/a: {why} ({len(idx)})", marker={"size": size, "color": grey})
                )
        fig.add_trace(
            trace(
                have,
                name=f"{colour_by} ({len(have)})",
                marker={
                    "size": size,
                    "color": [values[i] for i in have],
                    "colorscale": "Viridis",
                    "cmin": 0.0,  # both scores live in [0, 1]: a fixed scale reads the same on every map
                    "cmax": 1.0,
                    "showscale": True,
                    "colorbar": {"title": {"text": COLOUR_NAMES[colour_by]}},
                },
            )
        )
    else:
        order = list(categories) if categories else sorted({str(v) for v in values})
        for k, cat in enumerate(order):
            idx = [i for i, v in enumerate(values) if str(v) == cat]
            fig.add_trace(
                trace(
                    idx,
                    name=legend_name(cat, len(idx), colour_by),
                    legendgroup=cat,
                    marker={"size": size, "color": category_colour(cat, k), "opacity": 0.85},
                )
            )
    fig.update_layout(
        uirevision="map",
        margin={"l": 10, "r": 10, "t": 30, "b": 60 if colour_by in CONTINUOUS else 10},
        # beside a colour bar the legend goes below the map: at the right it lay over the bar's title and ticks
        legend={"itemsizing": "constant", **(BELOW if colour_by in CONTINUOUS else {})},
        showlegend=True,  # a single category still says how many images it holds
        dragmode="lasso" if dims == 2 else "orbit",
        hovermode="closest",
        template="plotly_white",
        height=560,
        title={
            "text": f"{len(ids)} images · coloured by {COLOUR_NAMES.get(colour_by, colour_by)}",
            "font": {"size": 13},
        },
    )
    if dims == 2:
        fig.update_xaxes(showticklabels=False, title="map 1")
        fig.update_yaxes(showticklabels=False, title="map 2")
    else:
        axis = {"showticklabels": False}
        fig.update_scenes(
            xaxis={**axis, "title": {"text": "map 1"}},
            yaxis={**axis, "title": {"text": "map 2"}},
            zaxis={**axis, "title": {"text": "map 3"}},
        )
    return fig


BELOW = {"orientation": "h", "x": 0.0, "y": -0.06, "yanchor": "top"}  # a legend under the axis title


# Every mode-bar button plotly.js can draw on a 2-D or 3-D subplot: an empty figure removes them all, so a plot
# with nothing in it offers no zoom, pan or download (layout.modebar.remove acts per figure; config is per graph)
MODEBAR_BUTTONS = (
    "toImage", "zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "resetScale2d",
    "hoverClosestCartesian", "hoverCompareCartesian", "toggleSpikelines", "toggleHover", "resetViews",
    "zoom3d", "pan3d", "orbitRotation", "tableRotation", "resetCameraDefault3d", "resetCameraLastSave3d",
    "hoverClosest3d", "drawline", "drawopenpath", "drawclosedpath", "drawcircle", "drawrect", "eraseshape",
)  # fmt: skip


def empty_map(message: str, height: int = 560, size: int = 15, head: str | None = "n/a") -> go.Figure:
    """No data (yet): "n/a" and a sentence saying why and what to do, instead of bare axes, and no toolbar.

    `head=None` leaves the "n/a" out (a placeholder that is about to be replaced, such as "Loading the map…").
    """
    fig = go.Figure()
    text = message if head is None else f"<span style='font-size:{size + 5}px;color:#888'>{head}</span><br>{message}"
    fig.add_annotation(
        text=text, showarrow=False, font={"size": size, "color": "#555"}, x=0.5, y=0.5, xref="paper", yref="paper"
    )
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False},
        modebar={"remove": list(MODEBAR_BUTTONS)},
    )
    return fig


def loss_figure(losses: Sequence[float], every: int = LOSS_EVERY, last_step: int | None = None) -> go.Figure:
    """Training loss, one point per `every` steps (the mean over them); the last point at `last_step` where a run
    ended inside a window (30 steps: points at 25 and 30)."""
    if not len(losses):
        return empty_map(f"The loss curve starts after the first {every} training steps.", height=220, size=12)
    fig = go.Figure(go.Scatter(x=loss_steps(len(losses), every, last_step), y=list(losses), mode="lines+markers"))
    fig.update_layout(
        template="plotly_white",
        height=220,
        margin={"l": 45, "r": 10, "t": 25, "b": 35},
        title={"text": "denoising loss (MSE on the noise or velocity)", "font": {"size": 12}},
    )
    fig.update_xaxes(title="step")
    fig.update_yaxes(type="log")
    return fig


def curves_figure(curves: dict[str, list[dict]]) -> go.Figure:
    """Training loss and validation accuracy per epoch, one colour per model (live during a round)."""
    from plotly.subplots import make_subplots

    if not any(curves.values()):
        # two short lines: the Train tab's left column is ~330 px wide at 1280 px, one line would be cut at both ends
        return empty_map(
            "A network's loss and validation accuracy<br>appear here after its first epoch<br>"
            "(the physics models fit in one step).",
            260,
            12,
        )
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", "validation accuracy"))
    for i, (name, rows) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        epochs = [r["epoch"] for r in rows]
        fig.add_trace(
            go.Scatter(x=epochs, y=[r["loss"] for r in rows], name=name, mode="lines+markers", line_color=colour),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=[r.get("val_acc") for r in rows],
                name=name,
                mode="lines+markers",
                line_color=colour,
                showlegend=False,
            ),
            row=1,
            col=2,
        )
    top = max((r["epoch"] for rows in curves.values() for r in rows), default=1)
    # a tick per epoch only while they fit: 40 of them in a 150-px panel were rotated over each other
    fig.update_xaxes(title_text="epoch", tickformat="d", tickangle=0, **({"dtick": 1} if top <= 6 else {"nticks": 6}))
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(margin=dict(l=40, r=10, t=30, b=40), height=260, legend=dict(orientation="h", y=-0.3))
    return fig


def confusion_figure(panels: Sequence[tuple[str, Sequence[str], Sequence[Sequence[int]]]], cols: int = 4) -> go.Figure:
    """One confusion matrix per model or vote (rows: truth, columns: prediction); a cell's customdata
    names its panel, so a click says which matrix it came from."""
    from plotly.subplots import make_subplots

    if not panels:
        fig = empty_map("Train a round to see its confusion matrices.")
        fig.update_layout(height=200)
        return fig
    cols = min(cols, len(panels))
    rows = -(-len(panels) // cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[p[0] for p in panels],
        horizontal_spacing=0.06,
        vertical_spacing=0.12 if rows > 1 else 0.1,
    )
    for k, (name, classes, matrix) in enumerate(panels):
        r, c = divmod(k, cols)
        classes = [str(x) for x in classes]
        fig.add_trace(
            go.Heatmap(
                z=matrix,
                x=classes,
                y=classes,
                text=matrix,
                texttemplate="%{text}",
                colorscale="Blues",
                showscale=False,
                customdata=[[name] * len(classes) for _ in classes],
                hovertemplate="true %{y} → predicted %{x}: %{z}<extra>%{customdata}</extra>",
            ),
            row=r + 1,
            col=c + 1,
        )
        # class names on the first panel of a row only: beside the next panel they would run into its cells
        fig.update_yaxes(
            autorange="reversed", row=r + 1, col=c + 1, title_text="true" if c == 0 else None, showticklabels=c == 0
        )
        fig.update_xaxes(row=r + 1, col=c + 1, title_text="predicted" if r == rows - 1 else None)
    fig.update_layout(margin=dict(l=50, r=10, t=40, b=40), height=230 * rows + 40)
    return fig


def under_toolbar(text: str) -> dict:
    """A plot title just above the plot area, left-aligned: the toolbar takes the figure's top band (a title
    there, centred, ran under its buttons)."""
    return {"text": text, "font": {"size": 12}, "x": 0, "xref": "paper", "xanchor": "left", "y": 1.0, "yref": "paper",
            "yanchor": "bottom", "pad": {"b": 6}}  # fmt: skip


def symmetry_figure(rows: Sequence[dict]) -> go.Figure:
    """Symmetry score distributions per pattern and source group (box plots)."""
    scored = [(r, [v for v in r.get("values") or [] if v is not None and v >= 0]) for r in rows]
    if not any(values for _, values in scored):
        return empty_map("No symmetry scores: no image here has ring structure to score.", 330, 12)
    fig = go.Figure()
    colours = {"experimental": GROUP_COLOURS["experimental"], "realistic": GROUP_COLOURS["realistic"]}
    colours |= {"fake": GROUP_COLOURS["fake"], "all generated": "#7f7f7f"}
    for r, values in scored:  # -1 is "no score" (no rings, no centre): left out of the box, counted in the name
        if values:
            na = len(r["values"]) - len(values)
            fig.add_trace(
                go.Box(
                    y=values,
                    name=f"{r['pattern']}<br>{r['group']} ({len(values)}" + (f", {na} n/a)" if na else ")"),
                    marker_color=colours.get(r["group"], "#7f7f7f"),
                    boxpoints="outliers",
                )
            )
    fig.update_layout(
        title=under_toolbar("polar symmetry score (0–1, 1: perfectly round; n/a: no rings or no centre to score)"),
        showlegend=False,
        height=330,
        margin=dict(l=40, r=10, t=60, b=70),
    )
    fig.update_yaxes(title="symmetry score", range=[0, 1.02])
    # two-line names stay level (rotated, they were cut at the bottom); the margin grows to hold them
    fig.update_xaxes(tickangle=0, automargin=True, tickfont={"size": 10})
    return fig


def generators_figure(rows: Sequence[dict]) -> go.Figure:
    """FID of each generator run against the experimental frames, per pattern."""
    if not any("fid" in r for r in rows):
        return empty_map("No generator runs to compare yet (each needs images of a pattern).", 330, 12)
    fig = go.Figure()
    for gen in sorted({r["generator"] for r in rows}):
        mine = [r for r in rows if r["generator"] == gen and "fid" in r]
        fig.add_trace(
            go.Bar(
                x=[r["pattern"] for r in mine],
                y=[r["fid"] for r in mine],
                name=gen,
                text=[f"N {r['n_generated']}" for r in mine],
                textposition="outside",
            )
        )
    fig.update_layout(
        title=under_toolbar("FID by generator run (lower is closer)"),
        barmode="group",
        height=330,
        margin=dict(l=40, r=10, t=60, b=40),
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def history_figure(points: Sequence[tuple[int, str, float]]) -> go.Figure:
    """FID of all generated images per pattern across evaluation runs (x: evaluation run)."""
    if not points:
        return empty_map("FID history: no evaluation yet.", 200, 11)
    fig = go.Figure()
    for pattern in sorted({p for _, p, _ in points}):
        mine = [(r, v) for r, p, v in points if p == pattern]
        fig.add_trace(
            go.Scatter(x=[f"eval {r}" for r, _ in mine], y=[v for _, v in mine], name=pattern, mode="lines+markers")
        )
    fig.update_layout(
        title=under_toolbar("FID across evaluations"),
        height=260,
        margin=dict(l=40, r=10, t=60, b=40),
        legend=dict(orientation="h"),
    )
    return fig
