"""Selection tools for a view that selects images (the Explore map, the Label grid): export the selection as a
CSV of ids and facts or as a zipped imagefolder into the workspace's exports/, and (from the map) send it to
the Label tab as a queue."""

from __future__ import annotations

from dash import dcc, html

from .. import ids


def tools(where: str, queue: bool = True, narrow: bool = False) -> html.Div:
    """The export (and queue) buttons; `narrow` (the Explore side panel, about 380 px at 1280 px) says "Export"
    once before short buttons so that the row stays on one line."""
    export = "" if narrow else "Export "
    parts = [html.Span("Export", className="small text-muted me-1")] if narrow else []
    parts += [
        html.Button(
            f"{export}CSV",
            id=ids.selection_export(where, "csv"),
            className="btn btn-sm btn-outline-secondary me-1 text-nowrap",
            title="The selection's ids, provenance, labels and map positions as CSV (saved under exports/)",
        ),
        html.Button(
            f"{export}imagefolder",
            id=ids.selection_export(where, "imagefolder"),
            className="btn btn-sm btn-outline-secondary me-2 text-nowrap",
            title="PNGs + metadata.jsonl (a Hugging Face imagefolder) zipped, saved under exports/",
        ),
    ]
    if queue:
        parts.append(
            html.Button(
                "Send to Label",
                id=ids.selection_queue(where),
                className="btn btn-sm btn-outline-warning me-2 text-nowrap",
                title="Open the selection in the Label tab as a queue (the filters are set aside)",
            )
        )
    parts.append(dcc.Loading(html.Span(id=ids.selection_status(where), className="small"), delay_show=300))
    return html.Div(parts, className="d-inline-flex align-items-center flex-wrap")


def export_done(name: str, url: str, images: int, counts: str) -> html.Span:
    return html.Span(
        [
            f"Exported {images} image(s) ({counts}) to exports/{name} · ",
            html.A("download", href=url, download=name, className="sl-export-link"),
        ]
    )
