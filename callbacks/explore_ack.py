"""Explore tab, the answers given in the browser at once (assets/explore.js): a lasso's selection and its count,
"Labelling …" / "Undoing …" while the server works, and a gallery card's click. A server round trip and Dash's
rendering of its answer take 0.2-0.4 s on a busy machine; these lines show in the frame of the action itself and
the server's answer replaces them (issue 14: visible feedback within 0.3 s)."""

from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State

from scatterloop.dashboard import ids

from .explore_selection import GALLERY_PAGE


def register(app) -> None:
    # the selection is ids only (customdata), so the browser reads it from the lasso itself; the gallery's server
    # callback then draws the thumbnails and the kinds line
    app.clientside_callback(
        f"function (s) {{ return window.dash_clientside.scatterloop_explore.select(s, {GALLERY_PAGE}); }}",
        Output(ids.EXPLORE_SELECTION_STORE, "data"),
        Output(ids.EXPLORE_GALLERY_PAGE_STORE, "data"),
        Output(ids.EXPLORE_SIDE_TABS, "active_tab", allow_duplicate=True),
        Output(ids.EXPLORE_STATUS, "children", allow_duplicate=True),
        Output(ids.EXPLORE_GALLERY_COUNT, "children", allow_duplicate=True),
        Output(ids.EXPLORE_SELECTION_TAB, "label", allow_duplicate=True),
        Input(ids.EXPLORE_GRAPH, "selectedData"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="scatterloop_explore", function_name="relabelAck"),
        Output(ids.EXPLORE_STATUS, "children", allow_duplicate=True),
        Input(ids.EXPLORE_BUTTON_ALL, "n_clicks"),
        State(ids.EXPLORE_SELECTION_STORE, "data"),
        State(ids.ANNOTATOR_INPUT, "value"),
        State(ids.EXPLORE_INCLUDE_EXPERIMENTAL, "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="scatterloop_explore", function_name="undoAck"),
        Output(ids.EXPLORE_STATUS, "children", allow_duplicate=True),
        Input(ids.EXPLORE_UNDO_BUTTON, "n_clicks"),
        State(ids.ANNOTATOR_INPUT, "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="scatterloop_explore", function_name="cardClick"),
        Output(ids.EXPLORE_DETAIL_STORE, "data"),
        Input(ids.EXPLORE_GALLERY_CARD_ALL, "n_clicks"),
        prevent_initial_call=True,
    )
