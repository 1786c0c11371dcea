"""Export a map or grid selection to the workspace's exports/ (downloaded as an attachment through the media
route), and send a map selection to the Label tab as a queue."""

from __future__ import annotations

from collections import Counter

from dash import Input, Output, State, ctx, html, no_update

from scatterloop.core.io_safety import one_line, os_reason
from scatterloop.core.selection_export import export_selection
from scatterloop.dashboard import ids
from scatterloop.dashboard.components import selection_view

from .media import export_url
from .services import Services

STORES = {"explore": ids.EXPLORE_SELECTION_STORE, "label": ids.LABEL_SELECTION_STORE}
NAMES = {"explore": "map selection", "label": "grid selection"}


def kinds(services: Services, image_ids: list[int]) -> str:
    """ "3 experimental, 5 generated": what a selection holds, said before anything acts on it."""
    counts = Counter(img.source for img in services.store.get_images(image_ids))
    return ", ".join(f"{n} {source}" for source, n in sorted(counts.items()))


def do_export(services: Services, selection: list[int] | None, fmt: str):
    if not selection:
        return html.Span(
            "Select images first (lasso or box on the map, click cards in the grid).", className="text-danger"
        )
    try:
        out = export_selection(services.workspace, selection, fmt)
    except ValueError as exc:
        return html.Span(f"Not exported: {exc}.", className="text-danger")
    except OSError as exc:  # a stored original missing or unreadable: nothing partial is left (atomic writes)
        return html.Span(f"Not exported: {one_line(os_reason(exc))}.", className="text-danger")
    return selection_view.export_done(out.name, export_url(out.name), out.images, kinds(services, selection))


def to_queue(services: Services, selection: list[int] | None, where: str):
    """(queue, tab, status) for the Label tab; the queue's name says what kinds of image it holds."""
    if not selection:
        return no_update, no_update, html.Span("Select images first.", className="text-danger")
    ids_ = list(dict.fromkeys(int(i) for i in selection))
    name = f"{NAMES[where]} · {len(ids_)} images ({kinds(services, ids_)})"
    return {"name": name, "ids": ids_}, "label", f"Sent {len(ids_)} image(s) to Label."


def register(app, services: Services) -> None:
    for where, store in STORES.items():

        @app.callback(
            Output(ids.selection_status(where), "children"),
            Input(ids.selection_export(where, "csv"), "n_clicks"),
            Input(ids.selection_export(where, "imagefolder"), "n_clicks"),
            State(store, "data"),
            prevent_initial_call=True,
        )
        def _export(_csv, _folder, selection):
            return do_export(services, selection, ctx.triggered_id["format"])

    @app.callback(
        Output(ids.LABEL_QUEUE_STORE, "data", allow_duplicate=True),
        Output(ids.TABS, "active_tab", allow_duplicate=True),
        Output(ids.selection_status("explore"), "children", allow_duplicate=True),
        Input(ids.selection_queue("explore"), "n_clicks"),
        State(ids.EXPLORE_SELECTION_STORE, "data"),
        prevent_initial_call=True,
    )
    def _queue(_n, selection):
        return to_queue(services, selection, "explore")
