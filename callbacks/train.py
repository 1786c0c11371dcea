"""Train tab callbacks: a round as a background job with live curves, and its results (prediction, pre-labels,
review queues and Explain: `train_review`)."""

from __future__ import annotations

from dash import Input, Output, State, ctx, no_update

from scatterloop.dashboard import figures, ids
from scatterloop.dashboard.components import train_view

from . import train_recipe, train_review
from .job_status import forget_on_start, replace_on_start
from .job_watch import cancel, follow, launch, outcome, refusal_as_line, running_twin, take_up
from .services import STARTED_BY, Services
from .train_recipe import round_params
from .train_review import NO_ROUND

PAPER_LABELS = {
    "vit_b16": "ViT-B/16",
    "vit_b32": "ViT-B/32",
    "resnet50": "ResNet-50",
    "alexnet": "AlexNet",
    "vgg11": "VGG-11",
    "squeezenet": "SqueezeNet",
    "densenet121": "DenseNet-121",
    "inception_v3": "Inception V3",
    "resnet18": "ResNet-18 (small)",
    "tiny": "tiny ResNet (pattern)",
    "physics": "physics (linear)",
    "physics_forest": "physics (forest of trees)",
}
DEFAULT_MODELS = ("physics", "physics_forest")  # the default recipe's (recipes.OURS)


def model_choices() -> list[tuple[str, str]]:
    from scatterloop.core.classify import REGISTRY

    return [(name, PAPER_LABELS.get(name, name)) for name in REGISTRY]


def weights_note(services: Services, models: list[str] | None) -> str:
    """Which models start from local ImageNet weights and which from scratch (nothing is downloaded)."""
    from scatterloop.core.classify.registry import find_local_weights

    found = {m: find_local_weights(services.settings.weights_dir, m) for m in models or []}
    pre = [f"{m} ({p.name})" for m, p in found.items() if p]
    scratch = [m for m, p in found.items() if not p]
    parts = []
    if pre:
        parts.append("ImageNet weights: " + ", ".join(pre))
    if scratch:
        where = services.settings.weights_dir
        why = f"no local weights for them in {where}" if where else "no weights folder set: SCATTERLOOP_WEIGHTS_DIR"
        parts.append(f"from scratch: {', '.join(scratch)} ({why})")
    return " · ".join(parts)


@refusal_as_line
def run_round(services: Services, values: dict, set_progress) -> str:
    """Start a round with the tab's settings as a run in a worker and follow it (progress, epoch curves)."""
    from scatterloop.core.classify.rounds import preflight, round_params_json
    from scatterloop.core.worker import check_request

    models = tuple(values.get("models") or ())
    if not models:
        return "Pick at least one model."
    try:
        params = round_params(values, services.settings.weights_dir)
    except ValueError as exc:
        return f"Cannot train: {exc}"
    twin = running_twin(services, "classify", round_params_json(params))  # this round already runs: followed
    if values.get("next_round") and twin is None:  # only for a round that will run: it must not leave an empty one
        check_request(
            services.store, "classify", round_params_json(params), STARTED_BY.get(), services.settings.max_jobs
        )
        try:
            preflight(services.workspace, params, services.store.current_round() + 1)
        except ValueError as exc:
            return f"Cannot train: {exc}"
        services.store.next_round()
    run_id = launch(services, "classify", round_params_json(params), ids.TRAIN_PROGRESS)
    return watch_round(services, run_id, set_progress)


def watch_round(services: Services, run_id: int, set_progress) -> str:
    """Follow a round (progress, epoch curves) until it ends; returns the line to show."""
    from scatterloop.core.worker import live_view

    def show(run, bar):
        pct, label = bar(run)
        return pct, label[:90], figures.curves_figure(live_view(services.workspace.root, run_id).get("curves", {}))

    run = follow(services, run_id, show, set_progress)

    def done(res: dict) -> str:
        best = max(res["voting"].items(), key=lambda kv: kv[1]["f1"])
        used = res["voting"].get("weighted")  # what Predict and pre-labelling call by (`run_predict`)
        return (
            f"Run {run_id}: {res.get('task', 'realism')} round {res['round']} ({res['init']}), "
            f"{res['sets']['train']} training / "
            f"{res['sets']['validation']} validation images, {res['seconds']:.0f} s. Best vote: {best[0]} "
            f"(F1 {best[1]['f1']:.3f})"
            + (
                f"; predictions use the weighted vote (F1 {used['f1']:.3f})."
                if used and best[0] != "weighted"
                else "."
            )
            + _decision_line(res.get("decision") or {})
            + "".join(f" Note: {w}." for w in res.get("warnings", []))
            + _doubted_line(res.get("doubted") or [])
        )

    return outcome(run, done, "Round run", "cancelled; nothing from it is used.")


def _decision_line(decision: dict) -> str:
    if decision.get("threshold") in (None, 0.5):
        return ""
    pos = decision["positive"]
    return f" Calls {pos} above P = {decision['threshold']:g} (a false {pos} call costs {decision['costs'][pos]:g})."


def _doubted_line(doubted: list[dict]) -> str:
    if not doubted:
        return ""
    n = len(doubted)
    return (
        f" The models, not trained on them, doubt {n} label{'s' if n != 1 else ''}; the saved models did not "
        "learn from them: Review doubted labels below to look again."
    )


def results(services: Services, run_value, task: str | None = None) -> tuple:
    """Table 3, the run choices, the chosen run's confusion matrices, and the models to explain, for the rounds
    of `task` (the task chosen above them, as the learning curve shows; None: the first round's task)."""
    from scatterloop.core.classify.tables import classify_runs, metrics_table, validation_predictions
    from scatterloop.core.workspace import Workspace

    table = metrics_table(services.store, task)
    runs = classify_runs(services.store, task)
    from scatterloop.core.classify.tables import column_label

    options = [{"label": f"run {r.id}: {column_label(r.result)}", "value": r.id} for r in reversed(runs)]
    chosen = int(run_value) if run_value else None
    run_id = chosen if chosen in {r.id for r in runs} else (runs[-1].id if runs else None)
    panels, explain_opts = [], []
    if run_id is not None:
        ws = Workspace.open(services.settings)
        try:
            run = services.store.get_run(run_id)
            if run is None or run.kind != "classify" or not run.result:
                raise ValueError(f"run #{run_id}: no finished classifier run with that number")
            classes = run.result["classes"]
            for name, (_ids, y, pred) in validation_predictions(ws, run_id).items():
                k = len(classes)
                matrix = [[int(((y == t) & (pred == p)).sum()) for p in range(k)] for t in range(k)]
                panels.append((name, classes, matrix))
            explain_opts = [
                {"label": f"{a} (run {run_id})", "value": m["checkpoint"]} for a, m in run.result["models"].items()
            ]
        finally:
            ws.store.dispose()
    return train_view.metrics_table(table), options, figures.confusion_figure(panels), explain_opts


def finished_curves(services: Services, run_value, task: str | None = None):
    """The loss and validation-accuracy curves of the round the results show (the chosen run, else the latest of
    `task`): the left column follows a task switch instead of keeping the last live round's curves."""
    from scatterloop.core.classify.tables import classify_runs, column_label

    ordered = classify_runs(services.store, task)  # the run `results` shows: the chosen one, else the latest
    runs = {r.id: r for r in ordered}
    chosen = int(run_value) if run_value and int(run_value) in runs else (ordered[-1].id if ordered else None)
    if chosen is None:
        return figures.curves_figure({})
    models = (runs[chosen].result or {}).get("models") or {}
    curves = {a: m.get("history") or [] for a, m in models.items() if "best_epoch" in m}  # the networks' epochs
    fig = figures.curves_figure(curves)
    if any(curves.values()):
        what = f"run {chosen}: {runs[chosen].result.get('task', 'realism')} {column_label(runs[chosen].result)}"
        fig.update_layout(title=dict(text=what, font_size=12, y=0.98), margin_t=60)
    return fig


def register(app, services: Services) -> None:
    train_recipe.register(app, services)
    replace_on_start(app, ids.TRAIN_STATUS, [ids.TRAIN_RUN_BUTTON], ids.TRAIN_PROGRESS, "classifier round")
    replace_on_start(
        app, ids.TRAIN_REVIEW_STATUS, [ids.TRAIN_PREDICT_BUTTON], ids.TRAIN_PREDICT_PROGRESS, "prediction"
    )
    forget_on_start(app, ids.TRAIN_REVIEW_STATUS, [ids.TRAIN_RUN_BUTTON], (NO_ROUND,))  # a round is on its way

    @app.callback(Output(ids.TRAIN_WEIGHTS_NOTE, "children"), Input(ids.TRAIN_MODELS_CHECKLIST, "value"))
    def _note(models):
        return weights_note(services, models)

    @app.callback(
        Output(ids.TRAIN_STATUS, "children"),
        Output(ids.TRAIN_VERSION_STORE, "data"),
        Input(ids.TRAIN_RUN_BUTTON, "n_clicks"),
        Input(ids.job_resume(ids.TRAIN_PROGRESS), "data"),
        State(ids.TRAIN_TASK_SELECT, "value"),
        State(ids.TRAIN_RECIPE_SELECT, "value"),
        State(ids.TRAIN_MODELS_CHECKLIST, "value"),
        State(ids.TRAIN_EPOCHS_INPUT, "value"),
        State(ids.TRAIN_LR_INPUT, "value"),
        State(ids.TRAIN_BATCH_INPUT, "value"),
        State(ids.TRAIN_SIZE_INPUT, "value"),
        State(ids.TRAIN_COST_INPUT, "value"),
        State(ids.TRAIN_INIT_RADIO, "value"),
        State(ids.TRAIN_DEVICE_SELECT, "value"),
        State(ids.TRAIN_NEXT_ROUND_SWITCH, "value"),
        State(ids.TRAIN_SOURCES_CHECKLIST, "value"),
        State(ids.TRAIN_VERSION_STORE, "data"),
        background=True,
        manager=services.background_manager,
        prevent_initial_call=True,
        running=[
            (Output(ids.TRAIN_RUN_BUTTON, "disabled"), True, False),
            (Output(ids.TRAIN_PREDICT_BUTTON, "disabled"), True, False),
            (Output(ids.TRAIN_CANCEL_BUTTON, "disabled"), False, True),
        ],
        progress=[
            Output(ids.TRAIN_PROGRESS, "value"),
            Output(ids.TRAIN_PROGRESS, "label"),
            Output(ids.TRAIN_CURVES_GRAPH, "figure"),
        ],
    )
    def _train(
        set_progress,
        _n,
        taken_up,
        task,
        recipe,
        models,
        epochs,
        lr,
        batch,
        size,
        cost,
        init,
        device,
        next_round,
        sources,
        version,
    ):
        if ctx.triggered_id == ids.job_resume(ids.TRAIN_PROGRESS):  # a reloaded page takes up its run
            said = take_up(services, taken_up, ids.TRAIN_PROGRESS, lambda r: watch_round(services, r.id, set_progress))
            return (no_update, no_update) if said is None else (said, (version or 0) + 1)
        values = dict(
            task=task,
            recipe=recipe,
            models=models,
            epochs=epochs,
            lr=lr,
            batch=batch,
            input_size=size,
            positive_cost=cost,
            init=init,
            device=device,
            next_round=next_round,
            sources=sources,
        )
        return run_round(services, values, set_progress), (version or 0) + 1

    @app.callback(
        Output(ids.TRAIN_STATUS, "children", allow_duplicate=True),
        Input(ids.TRAIN_CANCEL_BUTTON, "n_clicks"),
        State(ids.job_run(ids.TRAIN_PROGRESS), "data"),
        prevent_initial_call=True,
    )
    def _cancel(_n, run_id):
        return cancel(services, run_id, "round run", " (stops within one batch)")

    @app.callback(
        Output(ids.TRAIN_TABLE, "children"),
        Output(ids.TRAIN_RUN_SELECT, "options"),
        Output(ids.TRAIN_CONFUSION_GRAPH, "figure"),
        Output(ids.TRAIN_EXPLAIN_MODEL_SELECT, "options"),
        Input(ids.tab_shown("train"), "data"),
        Input(ids.TRAIN_VERSION_STORE, "data"),
        Input(ids.TRAIN_RUN_SELECT, "value"),
        Input(ids.TRAIN_TASK_SELECT, "value"),
    )
    def _results(_shown, _version, run_value, task):
        return results(services, run_value, task)

    @app.callback(
        Output(ids.TRAIN_CURVES_GRAPH, "figure", allow_duplicate=True),
        Input(ids.tab_shown("train"), "data"),
        Input(ids.TRAIN_VERSION_STORE, "data"),
        Input(ids.TRAIN_RUN_SELECT, "value"),
        Input(ids.TRAIN_TASK_SELECT, "value"),
        prevent_initial_call="initial_duplicate",
    )
    def _curves(_shown, _version, run_value, task):
        return finished_curves(services, run_value, task)

    train_review.register_review(app, services)
