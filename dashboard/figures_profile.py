"""Radial profiles and cakes: I(q) in inverse Angstrom where an image has a calibration, I(r) in pixels where it
has none, and the (q, chi) cake as a heatmap. Inputs are the plain lists of `core.qprofile.Profile`."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

Q_TITLE, R_TITLE = "q (Å⁻¹)", "r (px)"


def profile_figure(x: Sequence[float], intensity: Sequence[float | None], unit: str = "r") -> go.Figure:
    """I(q) (`unit == "q"`) or I(r) in pixels, log intensity."""
    fig = go.Figure(go.Scatter(x=list(x), y=list(intensity), mode="lines", line={"width": 1.5}))
    q = unit == "q"
    fig.update_layout(
        template="plotly_white",
        height=200,
        margin={"l": 40, "r": 10, "t": 25, "b": 35},
        title={
            "text": "I(q), azimuthal integration (pyFAI)" if q else "I(r), azimuthal average",
            "font": {"size": 12},
        },
    )
    fig.update_xaxes(title=Q_TITLE if q else R_TITLE)
    fig.update_yaxes(type="log", title="intensity" if q else "counts")
    return fig


def cake_figure(q: Sequence[float], chi: Sequence[float], log10: Sequence[Sequence[float | None]]) -> go.Figure:
    """The (q, chi) cake: q right, chi down, colour log10 of the corrected intensity (blank: no pixel)."""
    fig = go.Figure(
        go.Heatmap(
            x=list(q),
            y=list(chi),
            z=[list(row) for row in log10],
            colorscale="Viridis",
            colorbar={"title": {"text": "log₁₀ I", "side": "right"}, "thickness": 10},
            hovertemplate="q %{x:.4f} Å⁻¹<br>χ %{y:.1f}°<br>log₁₀ I %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=260,
        margin={"l": 45, "r": 10, "t": 25, "b": 35},
        title={"text": "cake: intensity over (q, χ)", "font": {"size": 12}},
    )
    fig.update_xaxes(title=Q_TITLE)
    fig.update_yaxes(title="χ (°)", autorange="reversed")
    return fig


def profiles_figure(
    series: Sequence[tuple[str, str, Sequence[float], Sequence[float | None]]], unit: str
) -> go.Figure:
    """Several images' profiles in one plot, coloured by group: the report's figure, sized for the grid."""
    from scatterloop.core.evaluate.report_grids import profiles_figure as report_figure

    fig = report_figure(list(series), unit)
    q = unit == "q"
    fig.update_layout(
        height=220,
        width=None,
        margin={"l": 45, "r": 10, "t": 25, "b": 35},
        title={"text": "I(q) of the examples" if q else "I(r) of the examples (pixels)", "font": {"size": 12}},
    )
    fig.update_xaxes(title=Q_TITLE if q else R_TITLE)
    fig.update_yaxes(title=None)
    return fig
