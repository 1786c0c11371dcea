"""Label tab actions: label what is visibly selected, undo one's own last action.

The write goes through `core.labelling.label_images`, the function the Python API's `label` calls too.
"""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, ctx, no_update

from scatterloop.core.labelling import label_images
from scatterloop.dashboard import ids
from scatterloop.dashboard.components import label_view

from .services import Services


def named(image_ids: list[int], shown: int = 8) -> str:
    """ "#3, #5, #9" or "#3, #5, … and 40 more": which images an action touched, short enough for a status line."""
    head = ", ".join(f"#{i}" for i in image_ids[:shown])
    return head + (f" and {len(image_ids) - shown} more" if len(image_ids) > shown else "")


def apply_label(services: Services, label: str, selection: list[int], annotator: str | None) -> tuple[bool, str]:
    """Write one label event per selected image: only what is visibly selected (highlighted) is labelled,
    never a card that was merely clicked last. Returns (written, message naming the images)."""
    targets = list(selection or [])
    if not targets:
        return False, "Nothing selected: click thumbnails (or press a to select the page) first."
    if not annotator or not annotator.strip():
        return False, "Enter your name as annotator (top right) before labelling."
    try:
        targets, round_no = label_images(services.store, services.settings.labels, label, targets, annotator)
    except ValueError as exc:
        return False, f"Not labelled: {exc}."
    who = annotator.strip()
    n_exp = sum(img.source == "experimental" for img in services.store.get_images(targets))
    note = (
        f" {n_exp} of them experimental: realism rounds take those as realistic whatever their label." if n_exp else ""
    )
    return True, f"Labelled {len(targets)} image(s) '{label}' as {who} (round {round_no}): {named(targets)}.{note}"


def undo(services: Services, annotator: str | None) -> tuple[bool, str]:
    if not annotator or not annotator.strip():
        return False, "Enter your name as annotator to undo your last action."
    n = services.store.undo_last(annotator.strip())
    return (n > 0), (f"Undid your last action ({n} image(s))." if n else "Nothing of yours to undo.")


def register_actions(app, services: Services) -> None:
    # said at once in the browser (assets/selection.js), replaced by the server's answer below
    app.clientside_callback(
        ClientsideFunction(namespace="scatterloop", function_name="labelAck"),
        Output(ids.LABEL_STATUS, "children", allow_duplicate=True),
        Input(ids.LABEL_BUTTON_ALL, "n_clicks"),
        State(ids.LABEL_SELECTION_STORE, "data"),
        State(ids.ANNOTATOR_INPUT, "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="scatterloop", function_name="undoAck"),
        Output(ids.LABEL_STATUS, "children", allow_duplicate=True),
        Input(ids.LABEL_UNDO_BUTTON, "n_clicks"),
        State(ids.ANNOTATOR_INPUT, "value"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.LABEL_VERSION_STORE, "data"),
        Output(ids.LABEL_STATUS, "children"),
        Output(ids.LABEL_SELECTION_STORE, "data", allow_duplicate=True),
        Input(ids.LABEL_BUTTON_ALL, "n_clicks"),
        State(ids.LABEL_SELECTION_STORE, "data"),
        State(ids.ANNOTATOR_INPUT, "value"),
        State(ids.LABEL_VERSION_STORE, "data"),
        prevent_initial_call=True,
    )
    def _label(_clicks, selection, annotator, version):
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            return no_update, no_update, no_update
        written, message = apply_label(services, ctx.triggered_id["label"], selection, annotator)
        if not written:
            return no_update, label_view.status(message, ok=False), no_update
        return (version or 0) + 1, label_view.status(message), []

    @app.callback(
        Output(ids.LABEL_STATUS, "children", allow_duplicate=True),
        Input(ids.ANNOTATOR_INPUT, "value"),
        State(ids.LABEL_STATUS, "children"),
        prevent_initial_call=True,
    )
    def _named(name, shown):
        """A name typed in: the request for one is no longer true, so it goes."""
        return "" if name and str(name).strip() and "Enter your name" in str(shown) else no_update

    @app.callback(
        Output(ids.LABEL_VERSION_STORE, "data", allow_duplicate=True),
        Output(ids.LABEL_STATUS, "children", allow_duplicate=True),
        Input(ids.LABEL_UNDO_BUTTON, "n_clicks"),
        State(ids.ANNOTATOR_INPUT, "value"),
        State(ids.LABEL_VERSION_STORE, "data"),
        prevent_initial_call=True,
    )
    def _undo(_clicks, annotator, version):
        changed, message = undo(services, annotator)
        return ((version or 0) + 1 if changed else no_update), label_view.status(message, ok=changed)
