"""A standalone HTML report that opens offline: interactive Plotly figures (plotly.js inlined), the tables,
image grids with polar warps or (q, chi) cakes (inlined PNGs), I(q) or I(r) of the examples, and where every
number came from."""

from __future__ import annotations

import base64
import html
import json
from datetime import datetime, timezone
from pathlib import Path

import plotly.graph_objects as go

from ..atomic import atomic_write
from ..worker import loss_steps
from ..workspace import Workspace

ROLE_COLOURS = {
    "experimental": "#1f77b4",
    "training": "#9467bd",
    "realistic": "#2ca02c",
    "fake": "#d62728",
    "unlabeled": "#b5b5b5",
}
EXPORT = {"toImageButtonOptions": {"format": "svg"}, "displaylogo": False}


def _fig_html(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=EXPORT)


def _png_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = []
    for r in rows:
        cells = []
        for key, _ in columns:
            v = r.get(key, "")
            if isinstance(v, bool):  # a flag reads as a word, not Python's True
                v = "yes" if v else ""
            cells.append(f"<td>{html.escape(f'{v:.4g}' if isinstance(v, float) else str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _map_figure(ws: Workspace) -> go.Figure | None:
    from ..explore import map_table

    table = map_table(ws)
    if table.run_id is None:
        return None
    fig = go.Figure()
    groups = table.columns["group"]
    for name, colour in ROLE_COLOURS.items():
        idx = [k for k, g in enumerate(groups) if g == name]
        if idx:
            fig.add_trace(
                go.Scatter(
                    x=table.xy[idx, 0],
                    y=table.xy[idx, 1],
                    mode="markers",
                    name=f"{name} ({len(idx)})",
                    marker={"color": colour, "size": 5, "opacity": 0.8},
                    text=[f"#{table.ids[k]} {table.columns['pattern'][k]}" for k in idx],
                    hoverinfo="text",
                )
            )
    fig.update_layout(title=f"Latent map (map run {table.run_id})", height=520, template="plotly_white")
    return fig


def _symmetry_figure(evaluation: dict) -> go.Figure:
    fig = go.Figure()
    for row in evaluation["symmetry"]:
        values = [v for v in row["values"] if v is not None and v >= 0]  # -1: no score (no rings, no centre)
        if values:
            na = len(row["values"]) - len(values)
            name = f"{row['pattern']} · {row['group']} ({len(values)}" + (f", {na} n/a)" if na else ")")
            fig.add_trace(go.Box(y=values, name=name, boxpoints="outliers"))
    fig.update_layout(
        title="Polar symmetry score by pattern and source (0–1, 1: round; n/a: no rings or no centre to score)",
        yaxis={"title": "symmetry score", "range": [0, 1.02]},
        height=420,
        template="plotly_white",
        showlegend=False,
    )
    return fig


def _loss_figures(ws: Workspace) -> list[tuple[str, go.Figure]]:
    out = []
    gen = [r for r in ws.store.list_runs(1000) if r.kind == "generate-train" and r.result and r.result.get("losses")]
    if gen:
        fig = go.Figure()
        for r in reversed(gen):
            losses = r.result["losses"]
            steps = loss_steps(len(losses), last_step=r.result.get("steps"))
            fig.add_trace(go.Scatter(x=steps, y=losses, name=f"run {r.id}", mode="lines+markers"))
        fig.update_layout(
            title="Generator training loss",
            xaxis_title="step",
            yaxis_title="denoising loss (MSE)",
            height=320,
            template="plotly_white",
        )
        out.append(("gen-loss", fig))
    from ..classify.tables import classify_runs, classify_tasks

    for r in [r for task in classify_tasks(ws.store) for r in classify_runs(ws.store, task)]:
        fig = go.Figure()
        for arch, m in r.result["models"].items():
            hist = m["history"]
            fig.add_trace(go.Scatter(x=[h["epoch"] for h in hist], y=[h["loss"] for h in hist], name=f"{arch} loss"))
            fig.add_trace(
                go.Scatter(
                    x=[h["epoch"] for h in hist],
                    y=[h.get("val_acc") for h in hist],
                    name=f"{arch} val acc",
                    yaxis="y2",
                )
            )
        fig.update_layout(
            title=f"Classifier round {r.result['round']} ({r.result['init']}), {r.result.get('task')} task, "
            f"run {r.id}",
            xaxis_title="epoch",
            yaxis={"title": "training loss"},
            yaxis2={"overlaying": "y", "side": "right", "range": [0, 1], "title": "validation accuracy"},
            height=320,
            template="plotly_white",
        )
        out.append((f"cls-{r.id}", fig))
    return out


def _confusion_figures(ws: Workspace) -> list[tuple[str, go.Figure]]:
    from plotly.subplots import make_subplots

    from ..classify.tables import classify_runs, classify_tasks, column_label, validation_predictions

    out = []
    for r in [r for task in classify_tasks(ws.store) for r in classify_runs(ws.store, task)]:
        preds = validation_predictions(ws, r.id)
        classes = r.result["classes"]
        names = list(preds)
        fig = make_subplots(rows=1, cols=len(names), subplot_titles=names)
        for c, name in enumerate(names, 1):
            _ids, y, p = preds[name]
            k = len(classes)
            z = [[int(((y == t) & (p == q)).sum()) for q in range(k)] for t in range(k)]
            fig.add_trace(
                go.Heatmap(z=z, x=classes, y=classes, text=z, texttemplate="%{text}", showscale=False),
                row=1,
                col=c,
            )
            fig.update_yaxes(autorange="reversed", title_text="true" if c == 1 else None, row=1, col=c)
            fig.update_xaxes(title_text="predicted", row=1, col=c)
        task = r.result.get("task")
        fig.update_layout(title=f"Confusion matrices, {task} task, {column_label(r.result)} (run {r.id})", height=300)
        out.append((f"conf-{r.id}", fig))
    return out


def _kid_shown(row: dict) -> dict:
    """A metrics row as the report prints it: a KID std that measures no spread reads "n/a", as in the app."""
    from .evaluate import kid_spread_measured

    return (
        row
        if "kid_std" not in row or kid_spread_measured(row)
        else {**row, "kid_std": "n/a (every image in every subset)"}
    )


def _metrics_by_round(ws: Workspace) -> str:
    """One table per task with a finished round (realism, pattern, labels): each task's rounds side by side."""
    from ..classify.tables import classify_tasks

    tasks = classify_tasks(ws.store)
    if not tasks:
        return "<p class='muted'>No classifier round yet.</p>"
    return "".join(f"<h3>{html.escape(task)} task</h3>" + _metrics_of(ws, task) for task in tasks)


def _metrics_of(ws: Workspace, task: str) -> str:
    from ..classify.tables import metrics_meaning, metrics_table

    table = metrics_table(ws.store, task)
    rows = []
    for row in table["rows"]:
        r = {"model / vote": row["name"]}
        for c in table["columns"]:
            cell = row["cells"].get(str(c["run_id"]), {})
            for m in table["metrics"]:
                r[f"{c['label']} {m}"] = cell.get(m, "")
        rows.append(r)
    cols = [("model / vote", "model / vote")] + [
        (f"{c['label']} {m}", f"{c['label']} {m}") for c in table["columns"] for m in table["metrics"]
    ]
    return _table(rows, cols) + f"<p class='muted'>{html.escape(metrics_meaning(table.get('task')), quote=False)}</p>"


CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}.muted{color:#777}
.grid{display:flex;flex-wrap:wrap;gap:.5rem}figure{margin:0;width:150px;font-size:.75rem}
figure img{width:150px;height:150px;image-rendering:pixelated;display:block}
figure img.warp{height:80px}pre{background:#f6f6f6;padding:.5rem;font-size:.75rem;overflow-x:auto}
"""


def write_report(
    ws: Workspace, out: str | Path, evaluation_run: int | None = None, without: str | None = None
) -> Path:
    """Write the report for the latest (or given) `evaluate` run; returns its path. `without`: why the workspace
    has no evaluation (no experimental frames of a pattern: imported real frames only, a speckle study); the report
    then holds everything else (classifier rounds, map, curves, confusion matrices) and says why none."""
    from plotly.offline import get_plotlyjs

    from .report_grids import grids

    out = ws.check_output(out)
    runs = [r for r in ws.store.list_runs(1000) if r.kind == "evaluate" and r.status == "done" and r.result]
    if evaluation_run is not None:
        runs = [r for r in runs if r.id == evaluation_run]
    if not runs and without is None:
        raise ValueError("report: no finished evaluation in this workspace (run scatterloop evaluate first)")
    ev_run = runs[0] if runs else None
    ev = ev_run.result if ev_run is not None else None
    figures = []
    map_fig = _map_figure(ws)
    if map_fig is not None:
        figures.append(("map", map_fig))
    if ev is not None:
        figures.append(("symmetry", _symmetry_figure(ev)))
    figures += _loss_figures(ws) + _confusion_figures(ws)
    table_cols = [
        ("pattern", "pattern"),
        ("group", "generated group"),
        ("n_experimental", "N exp"),
        ("n_generated", "N gen"),
        ("fid", "FID"),
        ("kid_mean", "KID mean (MMD², extractor units)"),
        ("kid_std", "KID std over subsets"),
        ("kid_subset_size", "KID subset"),
        ("is_mean", "IS mean"),
        ("is_std", "IS std"),
        ("n_differs", "N differs"),
        ("note", "note"),
        ("is_note", "IS note"),
    ]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    provenance = {
        "evaluation_run": ev_run.id if ev_run is not None else None,
        "params": ev_run.params if ev_run is not None else None,
        "extractor": ev["extractor"] if ev is not None else None,
        "implementation": ev["implementation"] if ev is not None else None,
        "runs": [
            {"id": r.id, "kind": r.kind, "status": r.status, "params": r.params}
            for r in ws.store.list_runs(1000)
            if r.kind in ("generate-train", "generate", "classify", "embed", "evaluate")
        ],
    }
    if ev is None:
        body = [
            f"<h1>scatterloop report: {html.escape(ws.root.name)}</h1>",
            f"<p class='muted'>Written {now}. No evaluation of generated images: "
            f"{html.escape((without or '').removeprefix('evaluate: '))}. "
            "Every figure exports as SVG from its camera button.</p>",
        ]
    else:
        body = _evaluation_part(ws, ev_run, ev, now, table_cols)
    body += [
        "<h2>Classifier metrics by round (the paper's Table 3)</h2>",
        _metrics_by_round(ws),
        "<h2>Figures</h2>",
        *(_fig_html(fig, f"fig-{name}") for name, fig in figures),
        *(
            ["<h2>Images and their polar warps or cakes, and their profiles (the paper's Fig. 6)</h2>", grids(ws, ev)]
            if ev is not None
            else []
        ),
        "<h2>Provenance</h2>",
        f"<pre>{html.escape(json.dumps(provenance, indent=1, default=str))}</pre>",
    ]
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>scatterloop report</title>"
        f"<style>{CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head>"
        f"<body>{''.join(body)}</body></html>"
    )
    out = Path(out)
    with atomic_write(out) as tmp:  # a full disk or a kill leaves the previous report whole, never half of one
        tmp.write_text(page, encoding="utf-8")
    return out


def _evaluation_part(ws: Workspace, ev_run, ev: dict, now: str, table_cols: list) -> list[str]:
    """The report's evaluation: distribution metrics per pattern and per generator run, SSIM."""
    return [
        f"<h1>scatterloop report: {html.escape(ws.root.name)}</h1>",
        f"<p class='muted'>Written {now} from evaluation run {ev_run.id}; feature extractor: "
        f"{html.escape(ev['extractor'])}. Every figure exports as SVG from its camera button.</p>",
        "<h2>Distribution metrics per pattern (the paper's Table 2)</h2>",
        "<p class='muted'>Experimental frames of a pattern against its generated images. FID is biased by N: "
        "rows marked 'N differs' compare different numbers of generated images. KID is the unbiased MMD² of "
        "the same features (cubic kernel) averaged over random subsets: 0 means indistinguishable, negative "
        "values are chance (with few images as large as the spread over subsets), and its scale is the "
        "extractor's, so compare KIDs only within one extractor; its std is 0 when every subset holds all "
        "images of both sides.</p>",
        _table([_kid_shown(r) for r in ev["table"]], table_cols),
        *(f"<p class='muted'>{html.escape(note)}</p>" for note in ev.get("notes") or []),
        "<h2>By generator run</h2>",
        _table(ev["by_generator_run"], [("generator", "generator"), *table_cols[:1], *table_cols[2:8]]),
        "<h2>SSIM to the nearest experimental frame</h2>",
        _table(
            ev["ssim"],
            [("pattern", "pattern"), ("group", "group"), ("n", "N"), ("median", "median"), ("q1", "q1"), ("q3", "q3")],
        ),
    ]
