"""Train tab, after a round: predict candidates, pre-label, open review queues (uncertain, disagreeing, a
confusion-matrix cell) in the Label tab, and explain one image's prediction."""

from __future__ import annotations

import base64

from dash import Input, Output, State, ctx, no_update

from scatterloop.dashboard import ids
from scatterloop.dashboard.components import train_view

from .job_watch import cancel, follow, launch, outcome, refusal_as_line, take_up
from .services import Services

NO_ROUND = "Train a round first."


def confusion_queue(
    services: Services, run_value, click: dict | None, task: str | None = None
) -> tuple[dict | None, str]:
    """A clicked confusion cell → a review queue of its images, of the run whose matrices are shown (the one
    chosen, else the latest round of the task chosen above them, as `train.results` picks it)."""
    from scatterloop.core.classify.tables import classify_runs, confusion_cell
    from scatterloop.core.workspace import Workspace

    if not click or not click.get("points"):
        return None, ""
    runs = classify_runs(services.store, task)
    chosen = int(run_value) if run_value else None
    run_id = chosen if chosen in {r.id for r in runs} else (runs[-1].id if runs else None)
    if run_id is None:
        return None, ""
    pt = click["points"][0]
    panel = pt["customdata"]
    ws = Workspace.open(services.settings)
    try:
        ids_ = confusion_cell(ws, run_id, panel, pt["y"], pt["x"])
    finally:
        ws.store.dispose()
    name = f"run {run_id} · {panel}: true {pt['y']} → predicted {pt['x']}"
    return {"name": name, "ids": ids_}, f"{len(ids_)} images: {name}"


@refusal_as_line
def run_predict(services: Services, set_progress, task: str | None = None) -> str:
    """Predict with the latest round of the task chosen in the tab (None: of any task): realism calls for the
    unlabeled candidates, pattern calls for the images whose pattern is not known."""
    from scatterloop.core.classify.predict import candidates
    from scatterloop.core.classify.tables import classify_runs

    runs = classify_runs(services.store, task) if task else classify_runs(services.store)
    if not runs:
        return NO_ROUND if not task else f"Train a {task} round first."
    res = runs[-1].result or {}
    task = res.get("task") or "realism"
    if not candidates(services.store, task, (res.get("sets") or {}).get("pattern")):
        what = "every image's pattern is known" if task == "pattern" else "every candidate is labelled"
        return (  # a plain answer, not a failed run
            f"Nothing to predict: {what}. Generate or import more, or predict chosen images "
            "with `scatterloop classify predict --images ...`."
        )
    params = {"classify_run": runs[-1].id, "scheme": "weighted"}
    run_id = launch(services, "predict", params, ids.TRAIN_PREDICT_PROGRESS)
    return watch_predict(services, run_id, set_progress)


def watch_predict(services: Services, run_id: int, set_progress) -> str:
    """Follow a prediction run until it ends; returns the line to show."""
    from scatterloop.core.classify.domain import outside_note

    round_run = services.store.get_run(int((services.store.get_run(run_id).params or {}).get("classify_run") or 0))
    task = ((round_run.result if round_run else None) or {}).get("task") or "realism"
    run = follow(services, run_id, set_progress=set_progress)

    def done(res: dict) -> str:
        what = "images of unknown pattern" if task == "pattern" else "candidates"
        note = outside_note(res.get("outside_domain"), res["images"], task, res["models"])
        return (
            f"Run {run_id}: {res['images']} {what} predicted by the {task} round's {len(res['models'])} models "
            "and the ensemble "
            f"({res['scheme']} vote suggests {_counts(res['suggested'])})." + (" " + note if note else "")
        )

    return outcome(run, done, "Prediction run")


def _counts(value) -> str:
    """{'fake': 120, 'realistic': 80} as "120 fake, 80 realistic" (a status line is read, not parsed)."""
    if isinstance(value, dict):
        return ", ".join(f"{n} {k}" for k, n in sorted(value.items(), key=lambda kv: (-kv[1], str(kv[0])))) or "none"
    return str(value)


PATTERN_NO_LABEL = "a pattern call is no label: choose the realism or labels task above"


def _label_task_of(task) -> str | None:
    """The Train tab's task as pre-labelling and the queues take it (None: the latest labelling round's)."""
    from scatterloop.core.classify.predict import LABEL_TASKS

    return task if task in LABEL_TASKS else None


def do_prelabel(services: Services, threshold, annotator, task=None) -> str:
    from scatterloop.core.classify import prelabel

    if not annotator or not str(annotator).strip():
        return "Type your name in the annotator box first: pre-labels are accepted in your name."
    # the browser sends nothing for a box it finds invalid (above 1, below 0.5): never a default in its place
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0.5 <= threshold <= 1:
        return "Cannot pre-label: the threshold box needs a confidence between 0.5 and 1 (such as 0.9 or 0.955)."
    if task == "pattern":
        return f"Cannot pre-label: {PATTERN_NO_LABEL}."
    try:
        counts = prelabel(
            services.store,
            threshold=float(threshold),
            annotator=annotator,
            round=services.store.current_round(),
            task=_label_task_of(task),
        )
    except ValueError as exc:
        return f"Cannot pre-label: {exc}"
    return (
        f"Pre-labelled {counts['prelabelled']} of {counts['confident']} "
        f"{'labels-task ' if counts.get('task') == 'labels' else ''}suggestions at confidence ≥ {threshold:g} "
        f"({counts['suggested']} in all); images with a human label were left as they are"
        + (
            f", and {counts['unlike_training']} confident calls on images unlike the models' training frames too."
            if counts.get("unlike_training")
            else "."
        )
    )


def open_queue(services: Services, kind: str, task=None) -> tuple[dict | None, str]:
    from scatterloop.core.classify import review_queue

    if task == "pattern":
        return None, f"No review queue of pattern calls: {PATTERN_NO_LABEL}."
    queue = review_queue(services.store, kind, task=_label_task_of(task))
    if not queue and kind == "doubted":
        return None, "No doubted labels: the last round's models agree with every label not yet looked at again."
    if not queue:
        return None, "The queue is empty: predict candidates first (or nothing disagrees)."
    title = {
        "uncertain": "closest calls first, patterns in turn",
        "disagree": "model contradicts the human label",
        "doubted": "labels the last round doubted, most doubted first",
    }[kind]
    return {"name": f"review: {kind} ({title})", "ids": queue}, f"{len(queue)} images in the {kind} queue."


def explain_image(services: Services, image_id, checkpoint) -> object:
    from scatterloop.core.classify import load_classifier
    from scatterloop.core.classify.explain import explain, overlay_png
    from scatterloop.core.classify.inputs import image_input
    from scatterloop.core.workspace import Workspace

    if not image_id or not checkpoint:
        return "Pick an image number and a model."
    image = services.store.get_image(int(image_id))
    if image is None:
        return f"image #{image_id}: not in this workspace"
    ws = Workspace.open(services.settings)
    try:
        model, cfg = load_classifier(ws.root / checkpoint)
        if cfg.kind != "image":
            return (
                f"{cfg.arch} judges physics features (ring concentricity and continuity, symmetry, gaps, "
                "texture), not pixels: it has no pixel map to show. Pick a network to see Grad-CAM."
            )
        pair = image_input(ws, image, max(64, cfg.input_size))
        x = pair[0]
        ex = explain(model, pair, cfg.classes, cfg.input_size, channels=cfg.channels, temperature=cfg.temperature)
    except ValueError as exc:
        return f"Cannot explain: {exc}"
    finally:
        ws.store.dispose()

    def uri(png: bytes) -> str:
        return "data:image/png;base64," + base64.b64encode(png).decode()

    caption = (
        f"#{image.id} {image.pattern or ''}: {cfg.arch} says {ex.predicted} ({ex.confidence:.2f}); layer {ex.layer}"
    )
    return train_view.explain_panel(
        uri(overlay_png(x)), uri(overlay_png(x, ex.saliency)), uri(overlay_png(x, ex.gradcam)), caption
    )


PREDICT_BUTTON = {
    "pattern": "Predict the pattern of images of unknown pattern",
    "labels": "Predict unlabeled images",
}


def register_review(app, services: Services) -> None:
    @app.callback(Output(ids.TRAIN_PREDICT_BUTTON, "children"), Input(ids.TRAIN_TASK_SELECT, "value"))
    def _predict_label(task):  # what the button will score with the chosen task's latest round
        return PREDICT_BUTTON.get(task, "Predict unlabeled candidates")

    @app.callback(
        Output(ids.TRAIN_REVIEW_STATUS, "children"),
        Output(ids.TRAIN_VERSION_STORE, "data", allow_duplicate=True),
        Input(ids.TRAIN_PREDICT_BUTTON, "n_clicks"),
        Input(ids.job_resume(ids.TRAIN_PREDICT_PROGRESS), "data"),
        State(ids.TRAIN_VERSION_STORE, "data"),
        State(ids.TRAIN_TASK_SELECT, "value"),
        background=True,
        manager=services.background_manager,
        prevent_initial_call=True,
        running=[
            (Output(ids.TRAIN_PREDICT_BUTTON, "disabled"), True, False),
            (Output(ids.TRAIN_RUN_BUTTON, "disabled"), True, False),
            (Output(ids.TRAIN_PREDICT_CANCEL_BUTTON, "disabled"), False, True),
        ],
        progress=[Output(ids.TRAIN_PREDICT_PROGRESS, "value"), Output(ids.TRAIN_PREDICT_PROGRESS, "label")],
    )
    def _predict(set_progress, _n, taken_up, version, task):
        if ctx.triggered_id == ids.job_resume(ids.TRAIN_PREDICT_PROGRESS):  # a reloaded page takes up its run
            said = take_up(
                services, taken_up, ids.TRAIN_PREDICT_PROGRESS, lambda r: watch_predict(services, r.id, set_progress)
            )
            return (no_update, no_update) if said is None else (said, (version or 0) + 1)
        return run_predict(services, set_progress, task), (version or 0) + 1

    @app.callback(
        Output(ids.TRAIN_REVIEW_STATUS, "children", allow_duplicate=True),
        Input(ids.TRAIN_PREDICT_CANCEL_BUTTON, "n_clicks"),
        State(ids.job_run(ids.TRAIN_PREDICT_PROGRESS), "data"),
        prevent_initial_call=True,
    )
    def _cancel_predict(_n, run_id):
        return cancel(services, run_id, "prediction run", " (stops within one batch)")

    @app.callback(
        Output(ids.TRAIN_REVIEW_STATUS, "children", allow_duplicate=True),
        Output(ids.LABEL_VERSION_STORE, "data", allow_duplicate=True),
        Input(ids.TRAIN_PRELABEL_BUTTON, "n_clicks"),
        State(ids.TRAIN_THRESHOLD_INPUT, "value"),
        State(ids.ANNOTATOR_INPUT, "value"),
        State(ids.LABEL_VERSION_STORE, "data"),
        State(ids.TRAIN_TASK_SELECT, "value"),
        prevent_initial_call=True,
    )
    def _prelabel(_n, threshold, annotator, version, task):
        return do_prelabel(services, threshold, annotator, task), (version or 0) + 1

    @app.callback(
        Output(ids.LABEL_QUEUE_STORE, "data"),
        Output(ids.TABS, "active_tab"),
        Output(ids.TRAIN_REVIEW_STATUS, "children", allow_duplicate=True),
        Input(ids.TRAIN_REVIEW_UNCERTAIN_BUTTON, "n_clicks"),
        Input(ids.TRAIN_REVIEW_DISAGREE_BUTTON, "n_clicks"),
        Input(ids.TRAIN_REVIEW_DOUBTED_BUTTON, "n_clicks"),
        Input(ids.TRAIN_CONFUSION_GRAPH, "clickData"),
        State(ids.TRAIN_RUN_SELECT, "value"),
        State(ids.TRAIN_TASK_SELECT, "value"),
        prevent_initial_call=True,
    )
    def _queue(_u, _d, _b, click, run_value, task):
        if ctx.triggered_id == ids.TRAIN_CONFUSION_GRAPH:
            queue, message = confusion_queue(services, run_value, click, task)
        else:
            kind = {ids.TRAIN_REVIEW_UNCERTAIN_BUTTON: "uncertain", ids.TRAIN_REVIEW_DOUBTED_BUTTON: "doubted"}.get(
                ctx.triggered_id, "disagree"
            )
            queue, message = open_queue(services, kind, task)
        if queue is None:
            return no_update, no_update, message
        return queue, "label", message

    # said at once in the browser (issue 14: feedback within 0.3 s; a cold explanation takes seconds), with a
    # spinner, in the panel the answer replaces: the previous image's maps no longer stand for the one asked
    app.clientside_callback(
        """function (n, image, model, options) {
            // something missing: no word here, the server's line says what
            if (!n || !image || !model) { return window.dash_clientside.no_update; }
            var name = String(model);
            (options || []).forEach(function (o) {
                if (o.value === model && typeof o.label === "string") { name = o.label; }
            });
            return window.scatterloop_pending("Explaining #" + image + " with " + name + "…");
        }""",
        Output(ids.TRAIN_EXPLAIN_PANEL, "children", allow_duplicate=True),
        Input(ids.TRAIN_EXPLAIN_BUTTON, "n_clicks"),
        State(ids.TRAIN_EXPLAIN_IMAGE_INPUT, "value"),
        State(ids.TRAIN_EXPLAIN_MODEL_SELECT, "value"),
        State(ids.TRAIN_EXPLAIN_MODEL_SELECT, "options"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.TRAIN_EXPLAIN_PANEL, "children"),
        Input(ids.TRAIN_EXPLAIN_BUTTON, "n_clicks"),
        State(ids.TRAIN_EXPLAIN_IMAGE_INPUT, "value"),
        State(ids.TRAIN_EXPLAIN_MODEL_SELECT, "value"),
        prevent_initial_call=True,
    )
    def _explain(_n, image_id, checkpoint):
        return explain_image(services, image_id, checkpoint)
