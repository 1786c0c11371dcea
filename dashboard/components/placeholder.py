"""What a tab shows before its feature has landed: what it will do and what already works from the CLI."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html


def layout(title: str, text: str, cli: str | None = None) -> html.Div:
    body = [html.H5(title), html.P([html.Strong("Not available in this release yet. "), "It will offer: ", text])]
    if cli:
        body.append(html.P(["Today, from the terminal: ", html.Code(cli)], className="small"))
    return html.Div(dbc.Alert(body, color="light", className="mt-3"))
