"""The image viewer: one modal over every tab with the full-resolution frame (zoom, pan, colour bar, log/linear,
percentile clip, mask, pixel read-out) and a Compare tab (two images, or a candidate beside its nearest
experimental frames). Any view opens it with a `viewer_open` button."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from .. import ids
from ..figures import empty_map
from ..figures_viewer import COLOURMAPS, GRAPH_CONFIG

KEEP = {"persistence": True, "persistence_type": "local"}  # how a person likes to see frames survives a reload

NOTHING_COMPARED = empty_map(
    "Nothing compared yet: press “Nearest experimental frames”, or enter an image id and press Compare.", 300, 12
)


def open_button(image_id: int, where: str, text: str = "Full resolution", **kw) -> html.Button:
    """A button that opens `image_id` in the viewer (the Explore detail, search results, compare panels)."""
    return html.Button(
        text,
        id=ids.viewer_open(image_id, where),
        className=kw.pop("className", "btn btn-sm btn-outline-primary"),
        title=kw.pop("title", f"Open image {image_id} at full resolution: zoom, pan, pixel values"),
        **kw,
    )


def _controls() -> html.Div:
    return html.Div(
        [
            html.Label("scale", className="small fw-semibold"),
            dbc.RadioItems(
                id=ids.VIEWER_SCALE_RADIO,
                options=[{"label": "log", "value": "log"}, {"label": "linear", "value": "linear"}],
                value="log",
                inline=True,
                **KEEP,
                className="mb-2",
            ),
            html.Label("clip (percentiles of valid pixels)", className="small fw-semibold"),
            dcc.RangeSlider(
                id=ids.VIEWER_CLIP_SLIDER,
                min=0,
                max=100,
                step=0.1,
                value=[1.0, 99.8],
                marks={0: "0", 50: "50", 100: "100"},
                tooltip={"placement": "bottom"},
                allowCross=False,
                **KEEP,
                className="mb-3",
            ),
            html.Label("colour map", className="small fw-semibold"),
            dcc.Dropdown(
                id=ids.VIEWER_COLOURMAP_SELECT,
                options=[{"label": c.lower(), "value": c} for c in COLOURMAPS],
                value="Viridis",
                clearable=False,
                **KEEP,
                className="mb-2",
            ),
            dbc.Switch(
                id=ids.VIEWER_MASK_SWITCH, label="show the mask (magenta)", value=True, className="mb-2", **KEEP
            ),
            html.Div(id=ids.VIEWER_FACTS, className="small sl-facts"),
        ]
    )


def _compare_controls() -> html.Div:
    return html.Div(
        [
            dbc.Button(
                "Nearest experimental frames",
                id=ids.COMPARE_NEAREST_BUTTON,
                color="secondary",
                outline=True,
                size="sm",
                className="me-2",
                title="This image beside the 3 experimental frames closest to it in the map's feature space",
            ),
            dbc.InputGroup(
                [
                    dbc.InputGroupText("compare with #"),
                    dbc.Input(id=ids.COMPARE_WITH_INPUT, type="number", min=1, placeholder="image id"),
                    dbc.Button("Compare", id=ids.COMPARE_WITH_BUTTON, color="secondary", size="sm"),
                ],
                size="sm",
                style={"maxWidth": "20rem"},
            ),
        ],
        className="d-flex align-items-center flex-wrap mb-2",
    )


def modal() -> html.Div:
    image_tab = dbc.Row(
        [
            dbc.Col(
                [
                    # above the picture, where the eye is after a zoom (below, a tall frame pushes it out of sight)
                    html.Div(id=ids.VIEWER_CAPTION, className="small text-muted"),
                    dcc.Loading(dcc.Graph(id=ids.VIEWER_GRAPH, config=GRAPH_CONFIG), delay_show=300, type="dot"),
                    html.Div(
                        "Hover for the pixel value.",
                        id=ids.VIEWER_READOUT,
                        className="small font-monospace sl-readout",
                    ),
                ],
                md=9,
            ),
            dbc.Col(_controls(), md=3),
        ]
    )
    compare_tab = html.Div(
        [
            _compare_controls(),
            dcc.Loading(
                dcc.Graph(id=ids.COMPARE_GRAPH, figure=NOTHING_COMPARED, config=GRAPH_CONFIG),
                delay_show=300,
                type="dot",
            ),
            html.Div(id=ids.COMPARE_INFO, className="small"),
        ]
    )
    return html.Div(
        [
            dbc.Modal(
                [
                    dbc.ModalHeader(dbc.ModalTitle(id=ids.VIEWER_TITLE)),
                    dbc.ModalBody(
                        dbc.Tabs(
                            [
                                dbc.Tab(image_tab, label="Image", tab_id="image"),
                                dbc.Tab(compare_tab, label="Compare", tab_id="compare"),
                            ],
                            id=ids.VIEWER_TABS,
                            active_tab="image",
                        )
                    ),
                ],
                id=ids.VIEWER_MODAL,
                is_open=False,
                size="xl",
                scrollable=True,
            ),
            dcc.Store(id=ids.VIEWER_IMAGE_STORE),
            dcc.Store(id=ids.VIEWER_REGION_STORE),
            dcc.Store(id=ids.COMPARE_STORE),
        ]
    )


def facts(rows: list[tuple[str, object]]) -> list:
    return [x for k, v in rows if v not in (None, "") for x in (html.Dt(k), html.Dd(str(v), className="text-break"))]


def readout(info: dict) -> str:
    """One line: where, the stored value (or that it is masked), and q, chi when calibrated."""
    head = f"row {info['row']}, col {info['col']}: "
    value = info["value"]
    shown = f"{value:.6g}"
    body = f"masked (stored {shown})" if info["masked"] else f"value {shown}"
    if info.get("q") is not None:
        body += f" · q = {info['q']:.4f} Å⁻¹ · χ = {info['chi']:.2f}°"
    elif info.get("calibration"):
        body += f" · {info['calibration']}: no wavelength/distance, so no q"
    return head + body
