"""Search (in the navbar): find images by id, prompt, description, file name or pattern; open one in the viewer
or send every hit to the Label tab as a queue."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from .. import ids


def search_box() -> dbc.InputGroup:
    return dbc.InputGroup(
        [
            dbc.Input(
                id=ids.SEARCH_INPUT,
                type="search",
                placeholder="search: #id, prompt, description, file…",
                debounce=True,
                autocomplete="off",
            ),
        ],
        size="sm",
        style={"maxWidth": "22rem"},
        className="ms-auto me-3",
    )


def results_panel() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Strong(id=ids.SEARCH_COUNT, className="me-3"),
                    dbc.Button(
                        "Send to Label as a queue",
                        id=ids.SEARCH_QUEUE_BUTTON,
                        color="warning",
                        outline=True,
                        size="sm",
                        className="me-2",
                    ),
                    dbc.Button("Close", id=ids.SEARCH_CLOSE_BUTTON, color="secondary", outline=True, size="sm"),
                ],
                className="d-flex align-items-center mb-2",
            ),
            dcc.Loading(html.Div(id=ids.SEARCH_RESULTS, className="sl-grid sl-gallery"), delay_show=300),
            dcc.Store(id=ids.SEARCH_IDS_STORE),
        ],
        id=ids.SEARCH_PANEL,
        className="d-none",
    )


def result_card(image_id: int, thumb_url: str, caption: str, title: str) -> html.Button:
    """A hit: its thumbnail and caption; pressing it opens the image in the viewer."""
    return html.Button(
        [html.Img(src=thumb_url, alt=f"image {image_id}"), html.Div(caption, className="sl-caption")],
        id=ids.viewer_open(image_id, "search"),
        className="sl-card sl-search-card text-start",
        title=title,
    )
