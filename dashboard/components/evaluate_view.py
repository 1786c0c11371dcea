"""The Evaluate tab: the per-pattern Table 2, symmetry distributions, generator and round comparisons, the
paper's Fig. 6 (images beside their polar warps, or cakes and I(q) with a calibration), and the standalone report."""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from .. import figures, ids
from .common import GRAPH_CONFIG, NO_TOOLBAR, job_controls, loading

NOTHING_YET = figures.empty_map("No evaluation yet.", 330, 12)
KID_HELP = (
    "KID: kernel inception distance, the unbiased MMD² between experimental and generated features (cubic "
    "polynomial kernel), averaged over random subsets. 0 means the two sets are indistinguishable; negative "
    "values are chance, as large as the ± beside them with few images; the scale is that of the feature "
    "extractor (autoencoder features give large numbers, Inception-v3 ones about 0.001–0.1), so compare KIDs "
    "only within one extractor. ± is the spread over subsets, n/a when every subset already holds all images "
    "of both sides. FID: Fréchet distance of the same features (lower is closer, biased by N)."
)


def layout() -> html.Div:
    controls = dbc.Card(
        [
            dbc.CardHeader("Evaluate realism"),
            dbc.CardBody(
                [
                    dbc.Label("features", html_for=ids.EVAL_EXTRACTOR_SELECT, className="small mb-0"),
                    dcc.Dropdown(
                        id=ids.EVAL_EXTRACTOR_SELECT,
                        value="autoencoder",
                        clearable=False,
                        searchable=False,
                        options=[
                            {"label": "workspace autoencoder", "value": "autoencoder", "title": "no weights needed"},
                            {
                                "label": "Inception-v3 (weights file set on the server)",
                                "value": "inception",
                                "title": "needs a local Inception-v3 weights file, named by "
                                "SCATTERLOOP_INCEPTION_WEIGHTS where the server starts",
                            },
                        ],
                        className="mb-2 sl-dropdown-wrap",
                        persistence=True,
                        persistence_type="local",
                    ),
                    job_controls(ids.EVAL_RUN_BUTTON, "Evaluate", ids.EVAL_CANCEL_BUTTON, ids.EVAL_PROGRESS),
                    html.Div(id=ids.EVAL_STATUS, className="small text-muted mb-3"),
                    dbc.Button("Write report", id=ids.EVAL_REPORT_BUTTON, color="secondary", size="sm"),
                    html.Div(id=ids.EVAL_REPORT_STATUS, className="small mt-2"),
                    html.Hr(),
                    dbc.Label("evaluation shown", html_for=ids.EVAL_RUN_SELECT, className="small mb-0"),
                    dcc.Dropdown(
                        id=ids.EVAL_RUN_SELECT, placeholder="latest", searchable=False, className="sl-dropdown-wrap"
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
                        [
                            controls,
                            loading(
                                dcc.Graph(
                                    id=ids.EVAL_HISTORY_GRAPH, figure=figures.history_figure([]), config=GRAPH_CONFIG
                                )
                            ),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            html.H6("Distribution metrics per pattern (experimental vs generated)"),
                            loading(html.Div(id=ids.EVAL_TABLE, className="sl-table-scroll mb-2")),
                            dbc.Row(
                                [
                                    dbc.Col(
                                        loading(
                                            dcc.Graph(
                                                id=ids.EVAL_SYMMETRY_GRAPH, figure=NOTHING_YET, config=GRAPH_CONFIG
                                            )
                                        ),
                                        md=6,
                                    ),
                                    dbc.Col(
                                        loading(
                                            dcc.Graph(
                                                id=ids.EVAL_GENERATORS_GRAPH, figure=NOTHING_YET, config=GRAPH_CONFIG
                                            )
                                        ),
                                        md=6,
                                    ),
                                ]
                            ),
                            html.H6(
                                "Images beside their polar warps (azimuth 0–360° down, radius right: rings must "
                                "become straight vertical lines), or their (q, χ) cakes where a calibration gives q"
                            ),
                            loading(html.Div(id=ids.EVAL_POLAR_PANEL)),
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
    cols += [("fid", "FID ↓"), ("kid", "KID ↓ (mean ± std over subsets)")]
    if has_is:
        cols.append(("is", "IS (mean ± std)"))
    head = html.Thead(html.Tr([html.Th(t, title=KID_HELP if k in ("fid", "kid") else None) for k, t in cols]))
    body = []
    for r in rows:
        cells = []
        for key, _ in cols:
            if key == "kid":
                v = kid_text(r)
            elif key == "is":
                v = f"{r['is_mean']:.3f} ± {r['is_std']:.3f}" if "is_mean" in r else r.get("is_note", "–")
            elif key == "fid":
                v = f"{r['fid']:.4g}" if "fid" in r else r.get("note", "–")
            else:
                v = str(r.get(key, ""))
            # where N differs within a pattern the N cells say so (a whole row lit on every row said nothing)
            flag = key in ("n_experimental", "n_generated") and r.get("n_differs")
            cells.append(
                html.Td(
                    v,
                    className="table-warning" if flag else None,
                    title="N differs within this pattern: FID is biased by N" if flag else None,
                )
            )
        body.append(html.Tr(cells))
    table = dbc.Table([head, html.Tbody(body)], bordered=True, size="sm", className="small", id="eval-metrics-table")
    notes = [html.Div(KID_HELP, className="small text-muted")]
    if any(r.get("n_differs") for r in rows):
        note = "Highlighted N: it differs within the pattern, and FID is biased by N; compare rows of equal N."
        notes.insert(0, html.Div(note, className="small text-muted"))
    return html.Div([table, *notes])


def kid_text(row: dict) -> str:
    """ "12.3 ± 4.56", with std "n/a" where each subset held every image (no spread to measure)."""
    if "kid_mean" not in row:
        return "–"
    from scatterloop.core.evaluate.evaluate import kid_spread_measured

    mean = f"{row['kid_mean']:.4g}"
    if not kid_spread_measured(row):
        n = max(row.get("n_experimental") or 0, row.get("n_generated") or 0)
        return f"{mean} ± n/a (all {n} images in every subset)"
    return f"{mean} ± {row['kid_std']:.3g}"


def polar_grid(
    rows: list[tuple[str, str, list[tuple[int, str, str, float, str]]]],
    profiles: dict[str, list] | None = None,
    notes: Sequence[str] = (),
) -> html.Div:
    """rows: (pattern, group, [(image id, thumb url, picture url, score, "polar" | "cake")]); `profiles`: each
    pattern's profile figures, shown after its rows; `notes`: the units notes (q from which calibration, or
    pixels and how to add one)."""
    out = [html.P(note, className="small text-muted mb-1") for note in notes]
    if notes:
        out = [html.Div(out, id=ids.EVAL_PROFILE_NOTE)]
    done: set[str] = set()
    for n, (pattern, group, tiles) in enumerate(rows):
        figs = [
            html.Figure(
                [
                    html.Img(src=thumb, className="sl-polar-thumb", alt=f"image {i}"),
                    html.Img(
                        src=picture,
                        className="sl-polar-warp" + (" sl-cake" if kind == "cake" else ""),
                        alt=f"{'cake' if kind == 'cake' else 'polar warp'} {i}",
                        title="cake: χ down, q right" if kind == "cake" else "polar warp: azimuth down, radius right",
                    ),
                    html.Figcaption(
                        f"#{i} · " + (f"{score:.2f}" if score is not None and score >= 0 else "n/a"),
                        className="small text-center",
                        title="symmetry score (0–1); n/a: no ring structure or no centre to score",
                    ),
                ],
                className="me-2 mb-2",
            )
            for i, thumb, picture, score, kind in tiles
        ]
        out.append(
            html.Div(
                [
                    html.Div(f"{pattern} · {group}", className="small fw-semibold"),
                    html.Div(figs, className="d-flex flex-wrap"),
                ]
            )
        )
        last = n + 1 == len(rows) or rows[n + 1][0] != pattern
        if last and pattern not in done:
            done.add(pattern)
            out += [
                dcc.Graph(figure=f, config=NO_TOOLBAR, className="sl-eval-profile")
                for f in (profiles or {}).get(pattern, [])
            ]
    return html.Div(out or html.Div("No evaluation yet.", className="text-muted small"))
