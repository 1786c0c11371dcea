"""The Evaluate tab: the per-pattern Table 2, symmetry distributions, generator and round comparisons, the
paper's Fig. 6 (images beside their polar warps), and the standalone report."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from .. import ids
from .common import field as _field
from .common import job_controls

GRAPH_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def layout() -> html.Div:
    controls = dbc.Card(
        [
            dbc.CardHeader("Evaluate realism"),
            dbc.CardBody(
                [
                    _field(
                        "features",
                        dcc.Dropdown(
                            id=ids.EVAL_EXTRACTOR_SELECT,
                            value="autoencoder",
                            clearable=False,
                            options=[
                                {"label": "workspace autoencoder (no weights needed)", "value": "autoencoder"},
                                {"label": "Inception-v3 (local weights file)", "value": "inception"},
                            ],
                            style={"minWidth": "18rem"},
                        ),
                    ),
                    job_controls(ids.EVAL_RUN_BUTTON, "Evaluate", ids.EVAL_CANCEL_BUTTON, ids.EVAL_PROGRESS, "12rem"),
                    html.Div(id=ids.EVAL_STATUS, className="small text-muted mb-3"),
                    dbc.Button("Write report", id=ids.EVAL_REPORT_BUTTON, color="secondary", size="sm"),
                    html.Div(id=ids.EVAL_REPORT_STATUS, className="small mt-2"),
                    html.Hr(),
                    _field(
                        "evaluation",
                        dcc.Dropdown(id=ids.EVAL_RUN_SELECT, placeholder="latest", style={"minWidth": "14rem"}),
                    ),
                ]
            ),
        ],
        className="mb-3",
    )
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        [controls, dcc.Graph(id=ids.EVAL_HISTORY_GRAPH, config=GRAPH_CONFIG)],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            html.H6("Distribution metrics per pattern (experimental vs generated)"),
                            html.Div(id=ids.EVAL_TABLE, className="sl-table-scroll mb-2"),
                            dbc.Row(
                                [
                                    dbc.Col(dcc.Graph(id=ids.EVAL_SYMMETRY_GRAPH, config=GRAPH_CONFIG), md=6),
                                    dbc.Col(dcc.Graph(id=ids.EVAL_GENERATORS_GRAPH, config=GRAPH_CONFIG), md=6),
                                ]
                            ),
                            html.H6("Images beside their polar warps (rings must become straight lines)"),
                            html.Div(id=ids.EVAL_POLAR_PANEL),
                        ],
                        md=9,
                    ),
                ],
                className="mt-2",
            ),
            dcc.Store(id=ids.EVAL_VERSION_STORE, data=0),
        ]
    )


def metrics_table(rows: list[dict], has_is: bool) -> dbc.Table | html.Div:
    if not rows:
        return html.Div("No evaluation yet: press Evaluate.", className="text-muted small")
    cols = [("pattern", "pattern"), ("group", "generated"), ("n_experimental", "N exp"), ("n_generated", "N gen")]
    cols += [("fid", "FID"), ("kid", "KID (mean ± std)")]
    if has_is:
        cols.append(("is", "IS (mean ± std)"))
    head = html.Thead(html.Tr([html.Th(t) for _, t in cols]))
    body = []
    for r in rows:
        cells = []
        for key, _ in cols:
            if key == "kid":
                v = f"{r['kid_mean']:.4f} ± {r['kid_std']:.4f}" if "kid_mean" in r else "–"
            elif key == "is":
                v = f"{r['is_mean']:.3f} ± {r['is_std']:.3f}" if "is_mean" in r else "–"
            elif key == "fid":
                v = f"{r['fid']:.3f}" if "fid" in r else r.get("note", "–")
            else:
                v = str(r.get(key, ""))
            cells.append(html.Td(v))
        warn = r.get("n_differs")
        body.append(
            html.Tr(
                cells,
                className="table-warning" if warn else "",
                title="N differs within this pattern: FID is biased by N" if warn else None,
            )
        )
    table = dbc.Table([head, html.Tbody(body)], bordered=True, size="sm", className="small", id="eval-metrics-table")
    if not any(r.get("n_differs") for r in rows):
        return table
    note = "Highlighted rows: N differs within the pattern, and FID is biased by N; compare rows of equal N."
    return html.Div([table, html.Div(note, className="small text-muted")])


def polar_grid(rows: list[tuple[str, str, list[tuple[int, str, str, float]]]]) -> html.Div:
    """rows: (pattern, group, [(image id, thumb url, polar url, score)])."""
    out = []
    for pattern, group, tiles in rows:
        figs = [
            html.Figure(
                [
                    html.Img(src=thumb, className="sl-polar-thumb", alt=f"image {i}"),
                    html.Img(src=polar, className="sl-polar-warp", alt=f"polar warp {i}"),
                    html.Figcaption(f"#{i} · {score:.2f}", className="small text-center"),
                ],
                className="me-2 mb-2",
            )
            for i, thumb, polar, score in tiles
        ]
        out.append(
            html.Div(
                [
                    html.Div(f"{pattern} · {group}", className="small fw-semibold"),
                    html.Div(figs, className="d-flex flex-wrap"),
                ]
            )
        )
    return html.Div(out or html.Div("No evaluation yet.", className="text-muted small"))
