"""The Explore tab: the latent map, its job controls, the clicked image's detail, and the selection gallery."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from .. import figures, ids
from . import selection_view
from .common import GRAPH_CONFIG, loading
from .explore_detail import detail_empty
from .label_view import label_color

KEEP = {"persistence": True, "persistence_type": "local"}  # settings survive a reload
MAP_EPOCHS = 20  # the map's autoencoder epochs by default: see README "The Explore tab" for the measured time

COLOUR_OPTIONS = [
    {"label": "role (experimental, training, label)", "value": "group"},
    {"label": "human label", "value": "label"},
    {"label": "pattern", "value": "pattern"},
    {"label": "round", "value": "round"},
    {"label": "model confidence", "value": "confidence"},
    {"label": "symmetry score", "value": "symmetry"},
]

FEATURE_OPTIONS = [
    {"label": "autoencoder latents", "value": "autoencoder"},
    {"label": "physics features (z vs experimental)", "value": "physics"},
]


def feature_options(sources: Sequence[tuple[str, str]]) -> list[dict]:
    """Dropdown options from (value, description) pairs; a classifier round reads as "features of …"."""
    return [{"label": d if not v.startswith("classifier:") else f"features of {d}", "value": v} for v, d in sources]


def separation(features: str | None, sep: dict | None) -> html.Div:
    """The map's separation figure: 5-NN leave-one-out accuracy of label and pattern in the 2-D map, beside
    what the same points score with their labels shuffled (a map without structure)."""
    if not sep:
        return html.Div()

    def line(name: str, key: str) -> str:
        acc, n, chance = sep.get(f"{key}_knn"), sep.get(f"{key}_n", 0), sep.get(f"{key}_chance")
        if acc is None:
            return f"{name}: too few or one class ({n} images)"
        if chance is None:  # a map built before the shuffled-label baseline
            return f"{name}: {acc:.0%} of {n}"
        top = sep.get(f"{key}_chance_95")
        beyond = f", up to {top:.0%} by chance" if top is not None else ""
        return f"{name}: {acc:.0%} of {n} (labels shuffled on the map: {chance:.0%}{beyond})"

    return html.Div(
        [
            html.Strong(f"Separation in this map ({features or 'autoencoder'})"),
            html.Div(f"{sep.get('k', 5)}-NN accuracy, leave-one-out, in the 2-D map", className="text-muted"),
            html.Div(line("realistic / fake label", "label")),
            html.Div(line("pattern", "pattern")),
        ],
        title="How often an image's nearest neighbours on the map share its label or pattern, at the map's build",
    )


def layout(labels: Sequence[str]) -> html.Div:
    controls = dbc.Row(
        [
            dbc.Col(
                dcc.Dropdown(
                    id=ids.EXPLORE_COLOUR_SELECT, options=COLOUR_OPTIONS, value="group", clearable=False, **KEEP
                ),
                md=4,
            ),
            dbc.Col(
                dbc.RadioItems(
                    id=ids.EXPLORE_DIMS_RADIO,
                    options=[{"label": "2-D", "value": 2}, {"label": "3-D", "value": 3}],
                    value=2,
                    inline=True,
                    **KEEP,
                ),
                md=2,
                className="pt-2",
            ),
            dbc.Col(
                dbc.RadioItems(
                    id=ids.EXPLORE_METHOD_RADIO,
                    options=[{"label": "UMAP", "value": "umap"}, {"label": "PCA (fast)", "value": "pca"}],
                    value="umap",
                    inline=True,
                    **KEEP,
                ),
                md=2,
                className="pt-2",
            ),
            dbc.Col(
                dbc.InputGroup(
                    [
                        dbc.InputGroupText("seed"),
                        dbc.Input(id=ids.EXPLORE_SEED_INPUT, type="number", value=0, step="any", **KEEP),
                    ],
                    size="sm",
                ),
                md=2,
            ),
            dbc.Col(
                dbc.InputGroup(
                    [
                        dbc.InputGroupText("epochs"),
                        dbc.Input(id=ids.EXPLORE_EPOCHS_INPUT, type="number", value=MAP_EPOCHS, step="any", **KEEP),
                    ],
                    size="sm",
                ),
                md=2,
            ),
        ],
        className="g-2 mb-2",
    )
    jobs = html.Div(
        [
            html.Div(  # the margin on a wrapper: Dash 4's dropdown does not pass its className's margin on
                dcc.Dropdown(
                    id=ids.EXPLORE_FEATURES_SELECT,
                    options=FEATURE_OPTIONS,
                    value="autoencoder",
                    clearable=False,
                    style={"width": "20rem"},
                    **KEEP,
                ),
                className="me-2",
            ),
            dbc.Button(
                "Build map",
                id=ids.EXPLORE_BUILD_BUTTON,
                color="primary",
                size="sm",
                className="me-2",
                title="Map every image from the chosen features (left): realistic and fake part best in a round's",
            ),
            dbc.Button(
                "Place new images",
                id=ids.EXPLORE_PLACE_BUTTON,
                color="secondary",
                outline=True,
                size="sm",
                className="me-2",
                title="Add images the map has not seen, without moving the others",
            ),
            dbc.Button(
                "Re-layout",
                id=ids.EXPLORE_RELAYOUT_BUTTON,
                color="secondary",
                outline=True,
                size="sm",
                className="me-2",
                title="Fit a new layout of everything (points will move)",
            ),
            dbc.Button(
                "Symmetry scores",
                id=ids.EXPLORE_SYMMETRY_BUTTON,
                color="secondary",
                outline=True,
                size="sm",
                className="me-2",
                title="Polar symmetry score of every ring image (colour by it)",
            ),
            dbc.Button(
                "Cancel",
                id=ids.EXPLORE_CANCEL_BUTTON,
                color="danger",
                outline=True,
                size="sm",
                className="me-3",
                disabled=True,
            ),
            dbc.Progress(
                id=ids.EXPLORE_PROGRESS,
                value=0,
                label="",
                style={"width": "22rem", "height": "1.2rem"},
                className="me-3 sl-progress",
            ),
            html.Span(id=ids.EXPLORE_JOB_STATUS, className="small text-muted"),
            html.Span("A seed makes UMAP reproducible but single-threaded.", className="small text-muted ms-3"),
        ],
        className="d-flex align-items-center flex-wrap mb-2",
    )
    gallery_buttons = [
        html.Button(
            f"Label selection {lab}",
            id=ids.explore_label_button(lab),
            className=f"btn btn-sm btn-{label_color(lab)} me-2 mb-1",
        )
        for lab in labels
    ]
    gallery = html.Div(
        [
            html.Div(  # the count and its pager on one line, the export row under it (both fit at 1280 px)
                [
                    html.Strong(id=ids.EXPLORE_GALLERY_COUNT, className="me-2 text-nowrap text-truncate"),
                    html.Button("‹", id=ids.EXPLORE_GALLERY_PREV_BUTTON, className="btn btn-sm btn-light me-1"),
                    html.Button("›", id=ids.EXPLORE_GALLERY_NEXT_BUTTON, className="btn btn-sm btn-light"),
                ],
                className="d-flex align-items-center flex-nowrap mb-1",
            ),
            html.Div(selection_view.tools("explore", narrow=True), className="mb-1"),
            html.Div(id=ids.EXPLORE_SELECTION_KINDS, className="small text-muted mb-1"),
            dbc.Checkbox(
                id=ids.EXPLORE_INCLUDE_EXPERIMENTAL,
                value=False,
                label="also label the experimental frames in the selection",
                className="small mb-1",
            ),
            html.Div(
                [
                    *gallery_buttons,
                    html.Button(
                        ["Undo", html.Kbd("Ctrl+Z", className="ms-2")],
                        id=ids.EXPLORE_UNDO_BUTTON,
                        className="btn btn-sm btn-outline-secondary mb-1",
                        title="Undo your last labelling action (u or Ctrl+Z)",
                        **{"data-shortcut": "u ctrl+z"},
                    ),
                ],
                className="d-flex align-items-center flex-wrap",
            ),
            html.Div(id=ids.EXPLORE_STATUS, className="small mb-2", role="status"),
            loading(html.Div(id=ids.EXPLORE_GALLERY, className="sl-grid sl-gallery")),
        ],
    )
    side = dbc.Tabs(
        [
            dbc.Tab(
                loading(html.Div(detail_empty(), id=ids.EXPLORE_DETAIL, className="sl-detail")),
                label="Detail",
                tab_id="detail",
            ),
            dbc.Tab(gallery, label="Selection", tab_id="selection", id=ids.EXPLORE_SELECTION_TAB),
        ],
        id=ids.EXPLORE_SIDE_TABS,
        active_tab="detail",
        className="mb-2",
    )
    return html.Div(
        [
            controls,
            jobs,
            dbc.Row(
                [
                    dbc.Col(
                        [
                            loading(
                                [
                                    dcc.Graph(
                                        id=ids.EXPLORE_GRAPH,
                                        figure=figures.empty_map("Loading the map…", head=None),
                                        clear_on_unhover=True,
                                        config=GRAPH_CONFIG,
                                    ),
                                    # beside the graph inside its Loading: outside, the tooltip's bbox is measured
                                    # from the wrong box and it floated ~125 px above the point (plotly/dash#3015)
                                    dcc.Tooltip(id=ids.EXPLORE_TOOLTIP),
                                ],
                                target_components={ids.EXPLORE_GRAPH: "figure"},
                            ),
                            html.P(
                                "Lasso or box-select points to list them under Selection (right); click a point, "
                                "or a card there, for its detail.",
                                className="small text-muted",
                            ),
                            html.Div(id=ids.EXPLORE_SEPARATION, className="small mb-2"),
                        ],
                        lg=7,
                        xl=8,
                    ),
                    dbc.Col(side, lg=5, xl=4, className="sl-side"),
                ]
            ),
            dcc.Store(id=ids.EXPLORE_RUN_STORE),
            dcc.Store(id=ids.EXPLORE_DRAWN_STORE),
            dcc.Store(id=ids.EXPLORE_VERSION_STORE, data=0),
            dcc.Store(id=ids.EXPLORE_SELECTION_STORE, data=[]),
            dcc.Store(id=ids.EXPLORE_GALLERY_PAGE_STORE, data=0),
            dcc.Store(id=ids.EXPLORE_DETAIL_STORE),  # the gallery card last clicked (callbacks/explore_ack.py)
            dcc.Store(id=ids.EXPLORE_LABELLED_STORE, data=0),  # bumped by each relabel/undo: the gallery redraws
        ]
    )


def selection_kinds(candidates: int, experimental: int) -> str:
    """What a relabel will touch: candidates always, experimental frames only when ticked (they count as
    realistic in every realism round whatever their human label)."""
    if not experimental:
        return f"{candidates} candidate(s)."
    return (
        f"{candidates} candidate(s) and {experimental} experimental frame(s). The label buttons act on the "
        "candidates; experimental frames count as realistic in every realism round whatever their human label "
        "(that label is a note, used only by the 'labels' task)."
    )
