"""Label tab callbacks: thin adapters between the Label view and the store.

Each plain function below is one user intent and is tested directly; `register` wires them to Dash.
"""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, ctx

from scatterloop.core.store import ImageFilter
from scatterloop.dashboard import ids
from scatterloop.dashboard.components import label_view

from .label_actions import register_actions
from .label_detail import detail_panel, history_rows  # noqa: F401  (history_rows: used by the Explore tab)
from .label_order import PredictionView, make_view, ordered_ids, predicted_options
from .media import thumb_url
from .services import Services


def make_filter(source, pattern, label, round_) -> ImageFilter:
    return ImageFilter(
        source=source or None,
        pattern=pattern or None,
        label=label or None,
        round=int(round_) if round_ not in (None, "") else None,
    )


def filter_options(services: Services) -> tuple[list, list, list]:
    store = services.store
    opts = lambda values: [{"label": str(v), "value": v} for v in values]  # noqa: E731
    return opts(store.distinct("source")), opts(store.distinct("pattern")), opts(store.distinct("round"))


def _ordered(services: Services, flt: ImageFilter, queue: dict | None, view: PredictionView | None):
    """The ids in the grid's order when it is a queue or a prediction filter/sort; None: page in the database."""
    if queue:
        return [int(i) for i in queue["ids"]]
    return ordered_ids(services, flt, view or PredictionView())


def page_count(
    services: Services, flt: ImageFilter, queue: dict | None = None, view: PredictionView | None = None
) -> int:
    ordered = _ordered(services, flt, queue, view)
    total = len(ordered) if ordered is not None else services.store.count_images(flt)
    return max(1, -(-total // services.settings.page_size))


def change_page(
    services: Services,
    trigger: str | None,
    page: int,
    flt: ImageFilter,
    queue: dict | None = None,
    view: PredictionView | None = None,
) -> int:
    """Next/previous page within bounds; any filter or queue change goes back to the first page."""
    last = page_count(services, flt, queue, view) - 1
    page = max(0, min(page, last))  # the grid shows the last page left when labelling emptied the one stored
    if trigger == ids.LABEL_NEXT_BUTTON:
        return min(page + 1, last)
    if trigger == ids.LABEL_PREV_BUTTON:
        return max(page - 1, 0)
    return 0


def render_grid(
    services: Services,
    flt: ImageFilter,
    page: int,
    selection: list[int],
    queue: dict | None = None,
    view: PredictionView | None = None,
):
    """Cards of one page (of the filter, of an open review queue in its order, or of the filter ordered by
    predicted pattern / confidence), the ids on it, a count line."""
    size = services.settings.page_size
    store = services.store
    ordered = _ordered(services, flt, queue, view)
    total = len(ordered) if ordered is not None else store.count_images(flt)
    # labelling the last page under "unlabeled" empties it: show the last page there is, not an empty one
    page = max(0, min(int(page or 0), -(-total // size) - 1))
    if ordered is not None:
        page_ids = ordered[page * size : (page + 1) * size]
        labels = store.current_labels(page_ids)
        rows = [(img, labels[img.id].label if img.id in labels else None) for img in store.get_images(page_ids)]
    else:
        rows = store.list_images(flt, offset=page * size, limit=size)
    from .label_order import shown_calls

    # the realism call: a pattern prediction made later on the same image is not it (it shows under a pattern view,
    # what the grid is ordered by), each with how far the image lies from the models' training frames
    pattern_view = view is not None and view.active and not queue
    suggestions, domains = shown_calls(store, [img.id for img, _ in rows], pattern_view) if rows else ({}, {})
    suggestions = {i: (*s, domains.get(i)) for i, s in suggestions.items()}
    chosen = set(selection or [])
    cards = [
        label_view.card(
            img.id,
            thumb_url(img.sha256),
            f"#{img.id} {img.pattern or ''}",
            label,
            img.id in chosen,
            suggestions.get(img.id),
            img.source,
        )
        for img, label in rows
    ]
    first = page * size + 1 if rows else 0
    count = f"{first}–{page * size + len(rows)} of {total} · page {page + 1}/{max(1, -(-total // size))}"
    if not total:  # an empty grid says why, not "0–0 of 0"
        count = "review queue empty" if queue else "no images match"
        if not queue and not services.store.count_images():  # a new workspace: say where images come from
            count = "no images yet: scatterloop import FILES --workspace DIR (or scatterloop simulate, demo)"
    return cards, [img.id for img, _ in rows], count


def queue_banner(queue: dict | None) -> tuple[str, str, str]:
    """The queue row's text and the classes of the queue row and the filter rows: while a review queue is open
    the filters do not apply, so they are hidden rather than shown doing nothing."""
    if not queue:
        return "", "d-none", ""
    name = str(queue.get("name") or "")
    name = name.split(":", 1)[1].strip() if name.lower().startswith("review:") else name
    return f"Review queue · {name} · {len(queue['ids'])} images", label_view.QUEUE_ROW_CLASS, "d-none"


def register(app, services: Services) -> None:
    filters = [
        Input(ids.LABEL_SOURCE_FILTER, "value"),
        Input(ids.LABEL_PATTERN_FILTER, "value"),
        Input(ids.LABEL_LABEL_FILTER, "value"),
        Input(ids.LABEL_ROUND_FILTER, "value"),
    ]
    order = [
        Input(ids.LABEL_PREDICTED_FILTER, "value"),
        Input(ids.LABEL_CONFIDENCE_RANGE, "value"),
        Input(ids.LABEL_SORT_SELECT, "value"),
    ]
    order_states = [State(i.component_id, "value") for i in order]
    filter_states = [State(i.component_id, "value") for i in filters]

    @app.callback(
        Output(ids.LABEL_SOURCE_FILTER, "options"),
        Output(ids.LABEL_PATTERN_FILTER, "options"),
        Output(ids.LABEL_ROUND_FILTER, "options"),
        Output(ids.LABEL_PREDICTED_FILTER, "options"),
        Input(ids.URL, "pathname"),
        Input(ids.LABEL_VERSION_STORE, "data"),
        Input(ids.tab_shown("label"), "data"),
    )
    def _options(_path, _version, _shown):
        return (*filter_options(services), predicted_options(services))

    @app.callback(
        Output(ids.LABEL_PAGE_STORE, "data"),
        Input(ids.LABEL_PREV_BUTTON, "n_clicks"),
        Input(ids.LABEL_NEXT_BUTTON, "n_clicks"),
        *filters,
        *order,
        Input(ids.LABEL_QUEUE_STORE, "data"),
        State(ids.LABEL_PAGE_STORE, "data"),
    )
    def _page(_prev, _next, source, pattern, label, round_, predicted, confidence, sort, queue, page):
        flt = make_filter(source, pattern, label, round_)
        view = make_view(predicted, confidence, sort)
        return change_page(services, ctx.triggered_id, page or 0, flt, queue, view)

    @app.callback(
        Output(ids.LABEL_GRID, "children"),
        Output(ids.LABEL_PAGE_IDS_STORE, "data"),
        Output(ids.LABEL_COUNT, "children"),
        Input(ids.LABEL_PAGE_STORE, "data"),
        Input(ids.LABEL_VERSION_STORE, "data"),
        *filter_states,
        *order_states,
        State(ids.LABEL_SELECTION_STORE, "data"),
        Input(ids.LABEL_QUEUE_STORE, "data"),
        Input(ids.tab_shown("label"), "data"),  # coming back to the tab refreshes counts and pages
    )
    def _grid(page, _version, source, pattern, label, round_, predicted, confidence, sort, selection, queue, _shown):
        flt = make_filter(source, pattern, label, round_)
        view = make_view(predicted, confidence, sort)
        return render_grid(services, flt, page or 0, selection, queue, view)

    @app.callback(
        Output(ids.LABEL_QUEUE_BANNER, "children"),
        Output(ids.LABEL_QUEUE_ROW, "className"),
        Output(ids.LABEL_FILTERS_ROW, "className"),
        Input(ids.LABEL_QUEUE_STORE, "data"),
    )
    def _banner(queue):
        return queue_banner(queue)

    @app.callback(
        Output(ids.LABEL_QUEUE_STORE, "data", allow_duplicate=True),
        Input(ids.LABEL_QUEUE_CLEAR_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )
    def _leave(_n):
        return None

    # the keyboard-help overlay ("?" or the navbar's Keys button), opened and closed in the browser
    app.clientside_callback(
        "function (n, open) { return n ? !open : false; }",
        Output(ids.KEYS_MODAL, "is_open"),
        Input(ids.KEYS_BUTTON, "n_clicks"),
        State(ids.KEYS_MODAL, "is_open"),
        prevent_initial_call=True,
    )

    # selection and its highlight are browser state (assets/selection.js): no round trip, no race
    app.clientside_callback(
        ClientsideFunction(namespace="scatterloop", function_name="toggleSelection"),
        Output(ids.LABEL_SELECTION_STORE, "data"),
        Output(ids.LABEL_FOCUS_STORE, "data"),
        Input(ids.LABEL_CARD_ALL, "n_clicks"),
        Input(ids.LABEL_SELECT_PAGE_BUTTON, "n_clicks"),
        Input(ids.LABEL_CLEAR_BUTTON, "n_clicks"),
        State(ids.LABEL_SELECTION_STORE, "data"),
        State(ids.LABEL_PAGE_IDS_STORE, "data"),
        prevent_initial_call=True,
    )
    # a new page, filter or queue: the selection keeps only what is on the page (what is visibly selected), and
    # the detail panel lets go of an image that is no longer shown
    app.clientside_callback(
        ClientsideFunction(namespace="scatterloop", function_name="prune"),
        Output(ids.LABEL_SELECTION_STORE, "data", allow_duplicate=True),
        Output(ids.LABEL_FOCUS_STORE, "data", allow_duplicate=True),
        Input(ids.LABEL_PAGE_IDS_STORE, "data"),
        State(ids.LABEL_SELECTION_STORE, "data"),
        State(ids.LABEL_FOCUS_STORE, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="scatterloop", function_name="highlight"),
        Output(ids.LABEL_CARD_ALL, "className"),
        Input(ids.LABEL_SELECTION_STORE, "data"),
        State(ids.LABEL_CARD_ALL, "id"),
    )

    register_actions(app, services)

    @app.callback(
        Output(ids.LABEL_DETAIL, "children"),
        Input(ids.LABEL_FOCUS_STORE, "data"),
        Input(ids.LABEL_VERSION_STORE, "data"),
    )
    def _detail(focus, _version):
        return detail_panel(services, focus)
