"""Evaluate tab callbacks: an evaluation as a background job, its tables and figures, and the report."""

from __future__ import annotations

from datetime import datetime, timezone

from dash import Input, Output, State, ctx, html, no_update

from scatterloop.dashboard import figures, ids
from scatterloop.dashboard.components import evaluate_view

from .evaluate_grid import example_grid
from .job_status import replace_on_start
from .job_watch import cancel, follow, launch, outcome, refusal_as_line, take_up
from .media import export_url
from .services import Services


@refusal_as_line
def run_evaluation(services: Services, extractor: str, set_progress) -> str:
    from dataclasses import asdict

    from scatterloop.core.evaluate import EvalParams
    from scatterloop.core.evaluate.evaluate import check_can_evaluate

    weights = services.settings.inception_weights
    if extractor == "inception" and not weights:
        return "Inception features need a local weights file: set SCATTERLOOP_INCEPTION_WEIGHTS and restart."
    try:
        check_can_evaluate(services.store, extractor)
    except ValueError as exc:  # said at the click: no run is recorded to fail a second later
        return f"Cannot evaluate: {exc}."
    params = EvalParams(extractor=extractor, inception_weights=str(weights) if weights else None)
    run_id = launch(services, "evaluate", asdict(params), ids.EVAL_PROGRESS)
    return watch_evaluation(services, run_id, set_progress)


def watch_evaluation(services: Services, run_id: int, set_progress) -> str:
    """Follow an evaluation run until it ends; returns the line to show."""
    run = follow(services, run_id, set_progress=set_progress)

    def done(res: dict) -> str:
        return f"Evaluation run {run_id}: {len(res['table'])} rows with {res['extractor']} ({res['seconds']:.0f} s)."

    return outcome(run, done, "Evaluation run")


def evaluation_runs(services: Services) -> list:
    return [r for r in services.store.list_runs(1000) if r.kind == "evaluate" and r.status == "done" and r.result]


def results(services: Services, run_value) -> tuple:
    """Table 2, symmetry and generator figures, the history across evaluations, Fig. 6 with the examples'
    profiles (I(q) and cakes with a calibration), the run choices."""
    from scatterloop.core.workspace import Workspace

    runs = evaluation_runs(services)
    options = [{"label": f"evaluation {r.id} ({r.finished_at:%Y-%m-%d %H:%M})", "value": r.id} for r in runs]
    history = [
        (r.id, row["pattern"], row["fid"])
        for r in reversed(runs)
        for row in r.result["table"]
        if row["group"] == "all generated" and "fid" in row
    ]
    chosen = next((r for r in runs if r.id == run_value), runs[0] if runs else None)
    if chosen is None:
        empty = figures.empty_map("No evaluation yet.")
        empty.update_layout(height=260)
        examples = html.Div(
            "n/a: no evaluation yet. Press Evaluate: its example images and their polar warps appear here.",
            className="text-muted small",
        )
        return evaluate_view.metrics_table([], False), empty, empty, figures.history_figure([]), examples, options
    ev = chosen.result
    has_is = any("is_mean" in r or "is_note" in r for r in ev["table"])
    ws = Workspace.open(services.settings)
    try:
        grid = example_grid(services, ws, ev["examples"])
    finally:
        ws.store.dispose()
    return (
        evaluate_view.metrics_table(ev["table"], has_is),
        figures.symmetry_figure(ev["symmetry"]),
        figures.generators_figure(ev["by_generator_run"]),
        figures.history_figure(history),
        grid,
        options,
    )


def write_report(services: Services):
    from scatterloop.core.evaluate import write_report as write
    from scatterloop.core.workspace import Workspace

    without = None  # a workspace that cannot be evaluated (real frames only): the report holds the rest
    if not evaluation_runs(services):
        from scatterloop.core.evaluate import nothing_to_evaluate

        if (without := nothing_to_evaluate(services.store)) is None:
            return "Evaluate first: the report shows the latest evaluation."
    ws = Workspace.open(services.settings)
    try:
        name = f"report-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.html"
        path = write(ws, ws.root / "exports" / name, without=without)
    finally:
        ws.store.dispose()
    size = path.stat().st_size / 1e6
    return html.Span(
        [
            f"Wrote exports/{name} ({size:.1f} MB, opens offline in any browser): ",
            html.A("download", href=export_url(name), download=name),
        ]
    )


def register(app, services: Services) -> None:
    @app.callback(
        Output(ids.EVAL_STATUS, "children"),
        Output(ids.EVAL_VERSION_STORE, "data"),
        Input(ids.EVAL_RUN_BUTTON, "n_clicks"),
        Input(ids.job_resume(ids.EVAL_PROGRESS), "data"),
        State(ids.EVAL_EXTRACTOR_SELECT, "value"),
        State(ids.EVAL_VERSION_STORE, "data"),
        background=True,
        manager=services.background_manager,
        prevent_initial_call=True,
        running=[
            (Output(ids.EVAL_RUN_BUTTON, "disabled"), True, False),
            (Output(ids.EVAL_CANCEL_BUTTON, "disabled"), False, True),
        ],
        progress=[Output(ids.EVAL_PROGRESS, "value"), Output(ids.EVAL_PROGRESS, "label")],
    )
    def _evaluate(set_progress, _n, taken_up, extractor, version):
        if ctx.triggered_id == ids.job_resume(ids.EVAL_PROGRESS):  # a reloaded page takes up its run
            said = take_up(
                services, taken_up, ids.EVAL_PROGRESS, lambda r: watch_evaluation(services, r.id, set_progress)
            )
            return (no_update, no_update) if said is None else (said, (version or 0) + 1)
        return run_evaluation(services, extractor, set_progress), (version or 0) + 1

    replace_on_start(app, ids.EVAL_STATUS, [ids.EVAL_RUN_BUTTON], ids.EVAL_PROGRESS, "evaluation")

    @app.callback(
        Output(ids.EVAL_STATUS, "children", allow_duplicate=True),
        Input(ids.EVAL_CANCEL_BUTTON, "n_clicks"),
        State(ids.job_run(ids.EVAL_PROGRESS), "data"),
        prevent_initial_call=True,
    )
    def _cancel(_n, run_id):
        return cancel(services, run_id, "evaluation run")

    @app.callback(
        Output(ids.EVAL_TABLE, "children"),
        Output(ids.EVAL_SYMMETRY_GRAPH, "figure"),
        Output(ids.EVAL_GENERATORS_GRAPH, "figure"),
        Output(ids.EVAL_HISTORY_GRAPH, "figure"),
        Output(ids.EVAL_POLAR_PANEL, "children"),
        Output(ids.EVAL_RUN_SELECT, "options"),
        Input(ids.tab_shown("evaluate"), "data"),
        Input(ids.EVAL_VERSION_STORE, "data"),
        Input(ids.EVAL_RUN_SELECT, "value"),
    )
    def _results(_shown, _version, run_value):
        return results(services, run_value)

    @app.callback(
        Output(ids.EVAL_REPORT_STATUS, "children"),
        Input(ids.EVAL_REPORT_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )
    def _report(_n):
        return write_report(services)
