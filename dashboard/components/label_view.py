"""The Label tab: filters, label buttons with keyboard shortcuts, a paged thumbnail grid, a detail panel."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from .. import ids
from . import selection_view
from .common import loading

QUEUE_ROW_CLASS = "alert alert-warning py-1 px-2 mb-2 d-flex align-items-center"
UNLABELED_OPTION = {"label": "unlabeled", "value": "__unlabeled__"}
COSTLY_CALL_NOTE = (
    "Called {label} though the models give it only {conf:.2f}: the round's recipe prices a false call of the "
    "other class above a missed one, so that class is called only when the models are sure enough (Train tab: "
    "false realistic call costs)."
)
UNLIKE_TRAINING_NOTE = (
    "This image lies {ratio:.2f} times beyond the distance from the models' training frames within which nearly "
    "all of their validation frames fall: the call is made outside what they learned, whatever its confidence. "
    "Train on frames like it (for patterns: scatterloop simulate --domain wide)."
)
EXPERIMENTAL_LABEL_NOTE = (
    "An experimental frame: every realism round takes it as realistic whatever its human label; this label is a "
    "note (used only by the 'labels' task)."
)
SORTS = {
    "id": "image number",
    "confidence-asc": "least confident first",
    "confidence-desc": "most confident first",
    "predicted": "predicted pattern",
    "domain-desc": "unlike training first",
}


def shortcut_keys(labels: Sequence[str]) -> list[str]:
    """Keys for each label button: its number, plus its first letter when no other label shares it."""
    firsts = [lab[:1].lower() for lab in labels]
    return [f"{i + 1} {f}" if firsts.count(f) == 1 else f"{i + 1}" for i, f in enumerate(firsts)]


def label_color(label: str | None) -> str:
    return {"realistic": "success", "fake": "danger", None: "secondary"}.get(label, "info")


def shortcut_button(text: str, shown: str, keys: str, component_id, classes: str) -> html.Button:
    """A button with its key shown; assets/keyboard.js clicks it when one of `keys` is pressed."""
    return html.Button(
        [text, html.Kbd(shown, className="ms-2")],
        id=component_id,
        className=f"btn {classes}",
        **{"data-shortcut": keys},
    )


def layout(labels: Sequence[str]) -> html.Div:
    filters = dbc.Row(
        [
            dbc.Col(dcc.Dropdown(id=ids.LABEL_SOURCE_FILTER, placeholder="source: any", clearable=True), md=3),
            dbc.Col(dcc.Dropdown(id=ids.LABEL_PATTERN_FILTER, placeholder="pattern: any", clearable=True), md=3),
            dbc.Col(
                dcc.Dropdown(
                    id=ids.LABEL_LABEL_FILTER,
                    placeholder="label: any",
                    clearable=True,
                    options=[UNLABELED_OPTION] + [{"label": lab, "value": lab} for lab in labels],
                ),
                md=3,
            ),
            dbc.Col(dcc.Dropdown(id=ids.LABEL_ROUND_FILTER, placeholder="round: any", clearable=True), md=3),
        ],
        className="g-2 mb-2",
    )
    by_prediction = dbc.Row(
        [
            dbc.Col(
                dcc.Dropdown(
                    id=ids.LABEL_PREDICTED_FILTER,
                    placeholder="predicted pattern: any",
                    clearable=True,
                ),
                md=3,
            ),
            dbc.Col(
                html.Div(
                    [
                        html.Span("ensemble confidence", className="small text-muted me-2 text-nowrap"),
                        html.Div(
                            dcc.RangeSlider(
                                id=ids.LABEL_CONFIDENCE_RANGE,
                                min=0,
                                max=1,
                                step=0.05,
                                value=[0, 1],
                                marks={0: "0", 0.5: "0.5", 1: "1"},
                                allowCross=False,
                            ),
                            className="flex-grow-1",
                        ),
                    ],
                    className="d-flex align-items-center",
                ),
                md=6,
            ),
            dbc.Col(
                dcc.Dropdown(
                    id=ids.LABEL_SORT_SELECT,
                    value="id",
                    clearable=False,
                    options=[{"label": f"sort: {text}", "value": key} for key, text in SORTS.items()],
                ),
                md=3,
            ),
        ],
        className="g-2 mb-2",
    )  # from the latest pattern-task round's ensemble suggestions (Train → Predict)
    keys = shortcut_keys(labels)
    buttons = [
        shortcut_button(lab, k.split()[0], k, ids.label_button(lab), f"btn-{label_color(lab)} me-2")
        for lab, k in zip(labels, keys, strict=True)
    ]
    actions = html.Div(
        [
            *buttons,
            shortcut_button("Undo", "u / Ctrl+Z", "u ctrl+z", ids.LABEL_UNDO_BUTTON, "btn-outline-secondary me-2"),
            shortcut_button("Select page", "a", "a", ids.LABEL_SELECT_PAGE_BUTTON, "btn-outline-primary me-2"),
            shortcut_button("Clear", "Esc", "escape", ids.LABEL_CLEAR_BUTTON, "btn-outline-primary me-4"),
            shortcut_button("‹ Prev", "←", "arrowleft", ids.LABEL_PREV_BUTTON, "btn-light me-1"),
            shortcut_button("Next ›", "→", "arrowright", ids.LABEL_NEXT_BUTTON, "btn-light me-3"),
            html.Span(id=ids.LABEL_COUNT, className="text-muted me-3"),
            selection_view.tools("label", queue=False),
        ],
        className="d-flex align-items-center flex-wrap mb-2",
    )
    queue = html.Div(
        [
            html.Span(id=ids.LABEL_QUEUE_BANNER, className="me-2"),
            dbc.Button("Leave queue", id=ids.LABEL_QUEUE_CLEAR_BUTTON, color="warning", outline=True, size="sm"),
        ],
        id=ids.LABEL_QUEUE_ROW,
        className="d-none",
    )
    return html.Div(
        [
            html.Div([filters, by_prediction], id=ids.LABEL_FILTERS_ROW),
            queue,
            actions,
            html.Div(id=ids.LABEL_STATUS, className="small mb-2", role="status"),
            dbc.Row(
                [
                    dbc.Col(loading(html.Div(id=ids.LABEL_GRID, className="sl-grid")), md=9),
                    dbc.Col(loading(html.Div(id=ids.LABEL_DETAIL, className="sl-detail")), md=3),
                ]
            ),
            html.P(
                "Click thumbnails to select (click again to deselect); the label keys act on the highlighted cards "
                "only. Keys work anywhere outside text fields; press ? for the list.",
                className="small text-muted mt-2",
            ),
            dcc.Store(id=ids.LABEL_PAGE_STORE, data=0),
            dcc.Store(id=ids.LABEL_PAGE_IDS_STORE, data=[]),
            dcc.Store(id=ids.LABEL_SELECTION_STORE, data=[]),
            dcc.Store(id=ids.LABEL_FOCUS_STORE, data=None),
            dcc.Store(id=ids.LABEL_VERSION_STORE, data=0),
            dcc.Store(id=ids.LABEL_QUEUE_STORE, data=None),
        ]
    )


def card_body(
    image_id: int,
    thumb_url: str,
    caption: str,
    label: str | None,
    suggestion: tuple | None = None,
    badge: bool = True,
    source: str | None = None,
) -> list:
    """A thumbnail with its caption and label badge (Label grid and Explore gallery); a model's suggestion
    (label, confidence), when there is one, sits under it in smaller type. `badge=False` leaves the label out
    where every card would say the same (fresh candidates). An experimental frame without a human label is
    badged "experimental", not "unlabeled": it counts as realistic in training whatever anyone labels it; one with a
    human label shows it as the experimental frame's note ("exp · fake"), not as if it were a candidate's label."""
    text, colour = (label, label_color(label)) if label or source != "experimental" else ("experimental", "primary")
    title = None
    if source == "experimental" and label:
        text, title = f"exp · {label}", EXPERIMENTAL_LABEL_NOTE
    body = [
        html.Img(src=thumb_url, alt=f"image {image_id}"),
        html.Div(
            [
                html.Span(caption, className="sl-caption", title=caption),
                *([dbc.Badge(text or "unlabeled", color=colour, className="sl-badge", title=title)] if badge else []),
            ],
            className="sl-card-foot",
        ),
    ]
    if suggestion and suggestion[0]:
        conf = f" {suggestion[1]:.2f}" if suggestion[1] is not None else ""
        costly = suggestion[1] is not None and suggestion[1] < 0.5  # the less likely class, chosen by the costs
        unlike = len(suggestion) > 2 and suggestion[2] is not None and suggestion[2] > 1.0
        notes = [COSTLY_CALL_NOTE.format(label=suggestion[0], conf=suggestion[1])] if costly else []
        notes += [UNLIKE_TRAINING_NOTE.format(ratio=suggestion[2])] if unlike else []
        title = " ".join(notes) or None
        text = f"model: {suggestion[0]}{conf}"
        body.append(
            html.Div(
                [text, html.Span(" · unlike training", className="sl-unlike")] if unlike else text,
                className="sl-suggestion",
                title=title,
            )
        )
    return body


def card(
    image_id: int,
    thumb_url: str,
    caption: str,
    label: str | None,
    selected: bool,
    suggestion: tuple | None = None,
    source: str | None = None,
) -> html.Div:
    """One thumbnail; clicking it toggles selection."""
    return html.Div(
        card_body(image_id, thumb_url, caption, label, suggestion, source=source),
        id=ids.label_card(image_id),
        n_clicks=0,
        className=card_class(selected),
        title=f"image {image_id}",
    )


def card_class(selected: bool) -> str:
    return "sl-card selected" if selected else "sl-card"


def detail(image: dict, thumb_url: str, history: list[dict]) -> html.Div:
    """The focused image: larger, with its facts and its label history (newest first)."""
    facts = [
        ("id", image["id"]),
        ("source", image["source"]),
        ("pattern", image.get("pattern") or "—"),
        ("size", f"{image['height']}×{image['width']} {image['dtype']}"),
        ("masked", f"{100 * image['masked_fraction']:.1f} %"),
        ("from", image["original_name"]),
    ]
    for key in ("prompt", "seed", "run_id", "round"):
        if image.get(key) is not None:
            facts.append((key, image[key]))
    facts += provenance_facts(image.get("provenance"))
    return html.Div(
        [
            html.Img(src=thumb_url, className="mb-2 sl-detail-img", alt=f"image {image['id']}"),
            html.P(image.get("description") or "", className="small"),
            html.Dl(
                [x for k, v in facts for x in (html.Dt(k), html.Dd(str(v), className="text-break"))],
                className="small sl-facts",
            ),
            html.H6("Label history"),
            history_table(history, ids.LABEL_HISTORY_TABLE),
        ]
    )


PROVENANCE_SHOWN = ("backend", "checkpoint", "steps", "guidance", "sampler", "class", "prompt_source")


def provenance_facts(provenance: dict | None) -> list[tuple[str, object]]:
    """How a generated image was made (backend, checkpoint, steps, guidance, sampler, class), as (key, value)
    rows; simulator parameters and other bulky entries stay in the store."""
    prov = dict(provenance or {})
    prov.update({k: v for k, v in (prov.pop("params", None) or {}).items() if k in PROVENANCE_SHOWN})
    return [(k, prov[k]) for k in PROVENANCE_SHOWN if prov.get(k) is not None]


def history_table(history: list[dict], table_id: str | None = None) -> dbc.Table:
    """Label events of one image, newest first."""
    rows = [
        html.Tr(
            [
                html.Td(ev["at"]),
                html.Td(ev["label"] or "(cleared)"),
                html.Td(ev["annotator"], style={"overflowWrap": "anywhere"}),  # "ada (pre-label ≥ 0.9)" wraps
                html.Td(
                    ev["origin"]
                    + (
                        f" {ev['confidence']:.2f}"
                        if ev.get("confidence") is not None and ev["origin"] == "model"
                        else ""
                    )
                    + (" · unlike training" if (ev.get("domain") or 0.0) > 1.0 else "")
                    + (" · undo" if ev["undo"] else "")
                ),
            ]
        )
        for ev in reversed(history)
    ]
    extra = {"id": table_id} if table_id else {}
    return dbc.Table(  # responsive: a wide row scrolls inside the detail column, never the page
        [
            html.Thead(html.Tr([html.Th("time (UTC)"), html.Th("label"), html.Th("by"), html.Th("kind")])),
            html.Tbody(rows or [html.Tr(html.Td("no labels yet", colSpan=4))]),
        ],
        size="sm",
        className="small",
        responsive=True,
        **extra,
    )


def detail_empty() -> html.P:
    return html.P("Click a thumbnail to see the image, its facts and its label history.", className="text-muted small")


def status(message: str, ok: bool = True) -> html.Span:
    return html.Span(message, className="text-success" if ok else "text-danger")
