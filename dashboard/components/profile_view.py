"""An image's radial profile block: the units note (q from a calibration, or pixels and how to add one), I(q)
or I(r), and the (q, chi) cake where there is one."""

from __future__ import annotations

from dash import dcc, html

from .. import ids
from ..figures_profile import cake_figure, profile_figure
from .common import NO_TOOLBAR


def profile_block(profile: dict) -> html.Div:
    """`profile`: `core.qprofile.profile_dict(..., with_cake=True)`."""
    q = profile["unit"] == "q"
    children = [
        html.P(
            profile["note"],
            id=ids.EXPLORE_PROFILE_NOTE,
            className="small " + ("text-muted" if q else "text-warning-emphasis"),
        ),
        dcc.Graph(
            figure=profile_figure(profile["x"], profile["intensity"], profile["unit"]),
            id=ids.EXPLORE_PROFILE_GRAPH,
            config=NO_TOOLBAR,
        ),
    ]
    if q and profile.get("cake_log10"):
        children.append(
            dcc.Graph(
                figure=cake_figure(profile["cake_q"], profile["cake_chi"], profile["cake_log10"]),
                id=ids.EXPLORE_CAKE_GRAPH,
                config=NO_TOOLBAR,
            )
        )
    return html.Div(children, className="sl-profile")
