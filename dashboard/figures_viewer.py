"""The viewer's figure: a frame as a PNG `go.Image` in pixel coordinates, with a colour bar in raw units.

The picture arrives as a PNG (a 1024x1024 float heatmap would be megabytes of JSON); the colour bar comes from
an invisible marker trace whose colour scale spans the window, with ticks placed where the raw values fall.
"""

from __future__ import annotations

import base64
import re

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go

COLOURMAPS = ("Viridis", "Greys", "Inferno", "Magma", "Cividis")
# plotly's "Greys" runs white to black; detector images are read bright-on-dark
_REVERSED = {"Greys"}
GRAPH_CONFIG = {
    "displaylogo": False,
    "showSendToCloud": False,  # never offer to upload a figure: a beamline network must not send data out
    "showEditInChartStudio": False,
    "scrollZoom": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "filename": "scatterloop-frame"},
}


def colourscale(name: str) -> list:
    if name not in COLOURMAPS:
        raise ValueError(f"colour map: expected one of {COLOURMAPS}, got {name!r}")
    scale = pc.get_colorscale(name)
    return pc.get_colorscale(name + "_r") if name in _REVERSED else scale


def colour_table(name: str) -> np.ndarray:
    """256x3 uint8 colours of a plotly colour scale, for colouring the PNG on the server."""
    samples = pc.sample_colorscale(colourscale(name), np.linspace(0, 1, 256).tolist())
    rgb = [[float(v) for v in re.findall(r"[\d.]+", s)[:3]] for s in samples]
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def viewer_figure(png: bytes, view, colourmap: str, title: str = "") -> go.Figure:
    """The frame (or zoomed region) as an image trace placed at its frame pixel coordinates, so axes, zoom and
    hover speak frame rows and columns whatever the downsampling."""
    r, s = view.region, view.step
    src = "data:image/png;base64," + base64.b64encode(png).decode()
    fig = go.Figure(
        go.Image(
            source=src,
            x0=r.x0 + (s - 1) / 2,
            y0=r.y0 + (s - 1) / 2,
            dx=s,
            dy=s,
            hovertemplate="col %{x:.0f}, row %{y:.0f}<extra></extra>",
        )
    )
    ticks = view.ticks
    fig.add_trace(
        go.Scatter(
            x=[r.x0],
            y=[r.y0],
            mode="markers",
            hoverinfo="skip",
            showlegend=False,
            marker={
                "size": 0.1,
                "opacity": 0,
                "color": [0.0],
                "cmin": 0.0,
                "cmax": 1.0,
                "colorscale": colourscale(colourmap),
                "showscale": True,
                "colorbar": {
                    "title": {"text": f"value ({view.scale})", "side": "right"},
                    "tickvals": [p for p, _ in ticks],
                    "ticktext": [_fmt(v) for _, v in ticks],
                    "thickness": 14,
                },
            },
        )
    )
    x_range, y_range = [r.x0 - 0.5, r.x1 - 0.5], [r.y1 - 0.5, r.y0 - 0.5]
    fig.update_layout(
        uirevision=f"viewer-{view.image_id}",
        meta={"drawn": {"image": view.image_id, "x": x_range, "y": y_range}},  # what the browser compares a zoom with
        margin={"l": 50, "r": 10, "t": 30, "b": 40},
        height=620,
        template="plotly_white",
        dragmode="zoom",
        title={"text": title, "font": {"size": 12}},
        showlegend=False,
    )
    fig.update_xaxes(range=x_range, title="column (px)", showgrid=False, constrain="domain")
    fig.update_yaxes(range=y_range, title="row (px)", showgrid=False, scaleanchor="x", constrain="domain")
    return fig


def scale_caption(view) -> str:
    """What one shown pixel is, and the window."""
    r = view.region
    where = (
        "whole frame"
        if (r.x1 - r.x0, r.y1 - r.y0) == (view.width, view.height)
        else (f"columns {r.x0}–{r.x1 - 1}, rows {r.y0}–{r.y1 - 1}")
    )
    res = "full resolution" if view.step == 1 else f"1 screen px = {view.step}×{view.step} px (mean); zoom for full"
    return f"{where} · {res} · window {_fmt(view.vmin)} – {_fmt(view.vmax)} ({view.scale})"


def same_size(views: list) -> bool:
    """Whether the frames shown side by side have one size (their zoom and pan can then be linked)."""
    return len({(v.height, v.width) for v in views}) <= 1


def compare_figure(pngs: list[bytes], views: list, titles: list[str], colourmap: str) -> go.Figure:
    """Images side by side, one window for all; zoom and pan linked (the axes match) when the frames have one
    size, else each panel shows its whole frame (a 128-px frame beside a 1043x981 one was a stamp in a corner)."""
    from plotly.subplots import make_subplots

    n = len(views)
    fig = make_subplots(rows=1, cols=n, subplot_titles=titles, horizontal_spacing=0.02)
    for k, (png, view) in enumerate(zip(pngs, views, strict=True), 1):
        s = view.step
        fig.add_trace(
            go.Image(
                source="data:image/png;base64," + base64.b64encode(png).decode(),
                x0=(s - 1) / 2,
                y0=(s - 1) / 2,
                dx=s,
                dy=s,
                hovertemplate=f"{titles[k - 1]}<br>col %{{x:.0f}}, row %{{y:.0f}}<extra></extra>",
            ),
            row=1,
            col=k,
        )
    linked = same_size(views)
    fig.update_xaxes(matches="x" if linked else None, showticklabels=False, showgrid=False)
    fig.update_yaxes(matches="y" if linked else None, showticklabels=False, showgrid=False, autorange="reversed")
    for k in range(1, n + 1):
        fig.update_yaxes(scaleanchor=f"x{'' if k == 1 else k}", row=1, col=k)
    fig.update_annotations(font_size=11)
    fig.update_layout(
        height=max(260, int(1100 / max(n, 1))) + 90,
        margin={"l": 10, "r": 10, "t": 64, "b": 10},  # two-line panel titles below the toolbar's band
        template="plotly_white",
        dragmode="zoom",
        uirevision="compare-" + "-".join(str(v.image_id) for v in views),
    )
    return fig
