"""Search from the navbar: list hits as thumbnails, open one in the viewer, send all to the Label tab."""

from __future__ import annotations

from dash import Input, Output, State, no_update

from scatterloop.core.search import search_images
from scatterloop.dashboard import ids
from scatterloop.dashboard.components import search_view

from .media import thumb_url
from .services import Services

SHOWN = 60
QUEUE_MAX = 100_000
PANEL_CLASS = "sl-search-panel border rounded p-2 mb-2 bg-light"


def search(services: Services, query: str | None):
    """(cards, count line, panel class, every hit's id, the image to open or None). A query naming one image
    by id (`#12`, `12`) opens that image in the viewer at once: "go to image"."""
    query = (query or "").strip()
    if not query:
        return [], "", "d-none", [], None
    res = search_images(services.workspace, query, limit=SHOWN)
    images = {img.id: img for img in services.store.get_images(res.ids)}
    labels = services.store.current_labels(res.ids)
    cards = []
    for i in res.ids:
        img = images[i]
        lab = labels[i].label if i in labels and labels[i].label else "unlabeled"
        text = img.prompt or img.description or img.original_name
        cards.append(
            search_view.result_card(
                i, thumb_url(img.sha256), f"#{i} {img.pattern or ''} · {lab}", f"#{i} {img.source}: {text}"
            )
        )
    more = f" (first {len(res.ids)} shown)" if res.total > len(res.ids) else ""
    count = f"{res.total} image(s) match “{query}”{more}" if res.total else f"Nothing matches “{query}”."
    bare = query.lstrip("#")
    open_id = int(bare) if bare.isdigit() and int(bare) in images else None
    return cards, count, PANEL_CLASS, res.ids, open_id


def register(app, services: Services) -> None:
    @app.callback(
        Output(ids.SEARCH_RESULTS, "children"),
        Output(ids.SEARCH_COUNT, "children"),
        Output(ids.SEARCH_PANEL, "className"),
        Output(ids.SEARCH_IDS_STORE, "data"),
        Output(ids.VIEWER_IMAGE_STORE, "data", allow_duplicate=True),
        Output(ids.VIEWER_MODAL, "is_open", allow_duplicate=True),
        Input(ids.SEARCH_INPUT, "value"),
        prevent_initial_call=True,
    )
    def _search(query):
        cards, count, panel, hits, open_id = search(services, query)
        if open_id is None:
            return cards, count, panel, hits, no_update, no_update
        return cards, count, panel, hits, open_id, True

    @app.callback(
        Output(ids.SEARCH_PANEL, "className", allow_duplicate=True),
        Input(ids.SEARCH_CLOSE_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )
    def _close(_n):
        return "d-none"

    @app.callback(
        Output(ids.LABEL_QUEUE_STORE, "data", allow_duplicate=True),
        Output(ids.TABS, "active_tab", allow_duplicate=True),
        Output(ids.SEARCH_PANEL, "className", allow_duplicate=True),
        Input(ids.SEARCH_QUEUE_BUTTON, "n_clicks"),
        State(ids.SEARCH_INPUT, "value"),
        prevent_initial_call=True,
    )
    def _queue(_n, query):
        res = search_images(services.workspace, query or "", limit=QUEUE_MAX)
        if not res.ids:
            return no_update, no_update, no_update
        return {"name": f"search “{res.query}”", "ids": res.ids}, "label", "d-none"
