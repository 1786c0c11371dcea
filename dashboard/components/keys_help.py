"""The keyboard-help overlay: every shortcut in one place, opened with `?` (or the navbar's Keys button)."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import html

from .. import ids
from .label_view import shortcut_keys


def _rows(pairs: Sequence[tuple[str, str]]) -> list:
    return [
        html.Tr([html.Td([html.Kbd(k, className="me-1") for k in keys.split(" / ")]), html.Td(what)])
        for keys, what in pairs
    ]


def shortcuts(labels: Sequence[str]) -> list[tuple[str, str, str]]:
    """(tab, keys, action) of every shortcut, from the same key table the buttons use."""
    rows = [
        ("Label", " / ".join(k.split()), f"label the highlighted cards '{lab}'")
        for lab, k in zip(labels, shortcut_keys(labels), strict=True)
    ]
    rows += [
        ("Label", "u / Ctrl+Z", "undo your last labelling action"),
        ("Label", "a", "select every card on the page"),
        ("Label", "Esc", "clear the selection"),
        ("Label", "← / →", "previous / next page"),
        ("Explore", "u / Ctrl+Z", "undo your last labelling action"),
        ("any tab", "?", "this list"),
    ]
    return rows


def keys_modal(labels: Sequence[str]) -> dbc.Modal:
    rows = shortcuts(labels)
    body_rows = []
    for tab in dict.fromkeys(t for t, _, _ in rows):  # one table: the key column lines up across tabs
        body_rows.append(html.Tr(html.Th(tab, colSpan=2, className="pt-2")))
        body_rows += _rows([(k, w) for t, k, w in rows if t == tab])
    body = [dbc.Table(html.Tbody(body_rows), size="sm", className="small mb-1")]
    body.append(
        html.P(
            "Keys work anywhere outside text fields. Label keys act only on the highlighted cards; the status line "
            "names every image labelled.",
            className="small text-muted mb-0",
        )
    )
    return dbc.Modal(
        [dbc.ModalHeader(dbc.ModalTitle("Keyboard shortcuts")), dbc.ModalBody(body)],
        id=ids.KEYS_MODAL,
        is_open=False,
        size="md",
    )
