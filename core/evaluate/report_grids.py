"""The report's image grids (the paper's Fig. 6): each example beside its polar warp, or beside its (q, chi)
cake where a calibration gives q, and each pattern's example profiles in one plot: I(q) in inverse Angstrom
with a calibration, I(r) in pixels without one, with a line saying which."""

from __future__ import annotations

import html

import plotly.graph_objects as go

from ..workspace import Workspace

GROUPS = ("experimental", "realistic", "fake")
COLOURS = {"experimental": "#1f77b4", "realistic": "#2ca02c", "fake": "#d62728"}


def _score(score: float | None) -> str:
    return f"{score:.2f}" if score is not None and score >= 0 else "n/a (no rings, or no centre, to score)"


def profiles_figure(series: list[tuple[str, str, list, list]], unit: str) -> go.Figure:
    """Several images' profiles in one plot, coloured by group: series of (name, group, x, intensity). The
    report draws it as is; the dashboard's Evaluate grid restyles it (`dashboard.figures_profile`)."""
    fig = go.Figure()
    shown: set[str] = set()
    for name, group, x, y in series:
        fig.add_trace(
            go.Scatter(
                x=list(x),
                y=list(y),
                mode="lines",
                name=group,
                legendgroup=group,
                showlegend=group not in shown,
                line={"width": 1, "color": COLOURS.get(group, "#777")},
                hovertemplate=f"{name}<br>%{{x:.4g}}, %{{y:.4g}}<extra>{group}</extra>",
            )
        )
        shown.add(group)
    q = unit == "q"
    fig.update_layout(
        template="plotly_white",
        height=280,
        width=700,
        title="I(q) of the examples" if q else "I(r) of the examples (no calibration: radius in pixels)",
    )
    fig.update_xaxes(title="q (Å⁻¹)" if q else "r (px)")
    fig.update_yaxes(type="log", title="intensity")
    return fig


def grids(ws: Workspace, evaluation: dict) -> str:
    """HTML of every pattern's example grids and profile plots (PNGs inlined, plotly.js from the page)."""
    from ..explore import polar_view
    from ..qprofile import image_profile
    from .report import _fig_html, _png_uri

    parts, notes = [], []
    for pattern, groups in evaluation["examples"].items():
        parts.append(f"<h3>{html.escape(pattern)}</h3>")
        series: dict[str, list] = {}
        for group in GROUPS:
            ids = groups.get(group) or []
            if not ids:
                parts.append(f"<p class='muted'>{group}: none</p>")
                continue
            tiles = []
            for image in ws.store.get_images(ids):
                pv = polar_view(ws, image.id)
                prof = image_profile(ws, image.id)
                thumb = ws.ensure_thumbnail(image)
                if prof.unit == "q":
                    picture = f"<img src='{_png_uri(ws.root / prof.cake_png)}' alt='cake {image.id}' class='warp'>"
                else:
                    picture = f"<img src='{_png_uri(ws.root / pv.warp_png)}' alt='polar warp {image.id}' class='warp'>"
                tiles.append(
                    f"<figure><img src='{_png_uri(thumb)}' alt='image {image.id}'>{picture}"
                    f"<figcaption>#{image.id} · symmetry {_score(pv.symmetry)}</figcaption></figure>"
                )
                series.setdefault(prof.unit, []).append((f"#{image.id}", group, prof.x, prof.intensity))
                if prof.note not in notes:
                    notes.append(prof.note)
            parts.append(f"<h4>{group}</h4><div class='grid'>{''.join(tiles)}</div>")
        for unit, s in sorted(series.items()):
            parts.append(_fig_html(profiles_figure(s, unit), f"fig-profiles-{len(parts)}"))
    head = "".join(f"<p class='muted'>{html.escape(n)}</p>" for n in notes)
    legend = (
        "<p class='muted'>Beside each image: its (q, χ) cake (χ down, q right) where a calibration gives q, else "
        "its polar warp (azimuth down, radius in pixels right).</p>"
    )
    return legend + head + "".join(parts)
