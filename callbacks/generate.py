"""Generate tab callbacks: train the domain model and sample candidates as background jobs."""

from __future__ import annotations

from dash import Input, Output, State, ctx, no_update

from scatterloop.dashboard import figures, ids
from scatterloop.dashboard.components import explore_detail

from .fields import number, whole
from .job_status import forget_on_start, replace_on_start
from .job_watch import cancel, follow, launch, outcome, refusal_as_line, take_up
from .media import thumb_url
from .services import Services

NO_MODEL = "No trained model yet: train one on the left first."


def options(services: Services) -> tuple[list, list, list]:
    """Resume choices (training runs), checkpoint choices (generator artifacts), pattern choices."""
    store = services.store
    resume = []  # only runs that left a checkpoint: one cancelled before its first has nothing to resume
    for r in store.list_runs(200):
        if r.kind == "generate-train" and r.status in ("done", "cancelled", "failed"):
            if (step := _checkpoint_step(services, r.id)) is not None:
                resume.append({"label": f"run {r.id} ({r.status}, step {step})", "value": r.id})
    arts = store.list_artifacts(kind="generator")
    ckpts = [
        {"label": f"run {a.run_id} · step {a.meta.get('step')} · {a.meta.get('preset')}", "value": a.path}
        for a in reversed(arts)
    ]
    patterns = [{"label": p, "value": p} for p in store.distinct("pattern")]
    return resume, ckpts, patterns


def _checkpoint_step(services: Services, run_id: int) -> int | None:
    """The step of a training run's last complete checkpoint, None when it left none (its folder by name:
    `run_dir` would create it)."""
    from scatterloop.core.generate.checkpoint import latest_step

    return latest_step(services.workspace.root / "runs" / str(run_id))


@refusal_as_line
def run_training(services: Services, preset: str, steps, resume, set_progress) -> str:
    """Start generator training as a run in a worker and follow it (progress, the loss curve) until it ends."""
    from scatterloop.core.generate.train import check_can_train

    try:
        steps = whole(steps, "steps")  # blank: the preset's; 0 is refused by the job's limits, never replaced
        check_can_train(services.store)  # said at the click: no run is recorded to fail seconds later
    except ValueError as exc:
        return f"Cannot train: {exc}."
    params = {"preset": None if resume else preset, "steps": steps, "resume": resume}  # a resumed run keeps its own
    run_id = launch(services, "generate-train", params, ids.GEN_TRAIN_PROGRESS)
    return watch_training(services, run_id, set_progress)


def watch_training(services: Services, run_id: int, set_progress) -> str:
    """Follow a generator training run (progress, the loss curve) until it ends; returns the line to show."""
    from scatterloop.core.worker import live_view

    def show(run, bar):
        pct, label = bar(run)
        view = live_view(services.workspace.root, run_id)
        return pct, label, figures.loss_figure(view.get("losses", []), last_step=view.get("step"))

    run = follow(services, run_id, show, set_progress)

    def done(res: dict) -> str:
        return (
            f"Run {run_id}: {res.get('steps')} steps on {res.get('n_images')} frames ({res.get('device')}, "
            f"{res.get('seconds', 0):.0f} s); checkpoint {res.get('checkpoint')}."
        )

    step = _checkpoint_step(services, run_id)
    cancelled = (
        f"cancelled; its last checkpoint (step {step}) can be resumed."
        if step is not None
        else "cancelled before its first checkpoint: nothing to resume."
    )
    return outcome(run, done, "Training run", cancelled)


@refusal_as_line
def run_sampling(services: Services, checkpoint, pattern, prompt, n, seed, steps, guidance, set_progress) -> str:
    """Start sampling as a run in a worker and follow it, showing each candidate as soon as it is stored."""
    store = services.store
    if not checkpoint:
        arts = store.list_artifacts(kind="generator")
        if not arts:
            return NO_MODEL
        checkpoint = arts[-1].path
    try:  # blank count, steps or guidance: the defaults shown; anything typed as typed (limits refuse the rest)
        n, seed, steps = whole(n, "count"), whole(seed, "seed"), whole(steps, "steps")
        guidance = number(guidance, "guidance")
    except ValueError as exc:
        return f"Cannot generate: {exc}"
    params = {
        "checkpoint": checkpoint,
        "n": 16 if n is None else n,
        "pattern": pattern,
        "prompt": prompt,
        "seed": seed,
        "steps": steps,
        "guidance": guidance,
    }
    run_id = launch(services, "generate", params, ids.GEN_PROGRESS)
    return watch_sampling(services, run_id, set_progress)


def watch_sampling(services: Services, run_id: int, set_progress) -> str:
    """Follow a sampling run, showing each candidate as soon as it is stored; returns the line to show."""
    store = services.store
    n = (store.get_run(run_id).params or {}).get("n")

    def show(run, bar):
        images = store.images_of_run(run_id)
        cards = [
            explore_detail.gallery_card(
                img.id,
                thumb_url(img.sha256),
                f"#{img.id} · seed {img.seed}",
                None,
                title=f"image {img.id}, seed {img.seed} (unlabeled)",
                badge=False,
            )
            for img in images
        ]
        pct, label = bar(run)
        return pct, label, cards  # the bar's message counts the images ("2/4 images, step 7/25")

    run = follow(services, run_id, show, set_progress)
    made = len(store.images_of_run(run_id))

    def done(res: dict) -> str:
        same = int(n or 1) - made
        dupes = (
            f" {same} were identical to images already stored (same checkpoint, seed, prompt): not added again."
            if same > 0
            else ""
        )
        return (
            f"Run {run_id}: {made} candidates registered ({res.get('images_per_s')} images/s).{dupes}"
            " See them in Label and Explore."
        )

    cancelled = f"cancelled after {made} complete image(s); nothing half-made was stored."
    return outcome(run, done, "Run", cancelled)


def register(app, services: Services) -> None:
    replace_on_start(app, ids.GEN_TRAIN_STATUS, [ids.GEN_TRAIN_BUTTON], ids.GEN_TRAIN_PROGRESS, "generator training")
    replace_on_start(app, ids.GEN_STATUS, [ids.GEN_RUN_BUTTON], ids.GEN_PROGRESS, "sampling")
    forget_on_start(app, ids.GEN_STATUS, [ids.GEN_TRAIN_BUTTON], (NO_MODEL,))  # a model is on its way

    @app.callback(
        Output(ids.GEN_RESUME_SELECT, "options"),
        Output(ids.GEN_CHECKPOINT_SELECT, "options"),
        Output(ids.GEN_PATTERN_SELECT, "options"),
        Input(ids.tab_shown("generate"), "data"),
        Input(ids.GEN_VERSION_STORE, "data"),
    )
    def _options(_shown, _version):
        return options(services)

    @app.callback(
        Output(ids.GEN_TRAIN_STATUS, "children"),
        Output(ids.GEN_VERSION_STORE, "data"),
        Input(ids.GEN_TRAIN_BUTTON, "n_clicks"),
        Input(ids.job_resume(ids.GEN_TRAIN_PROGRESS), "data"),
        State(ids.GEN_PRESET_SELECT, "value"),
        State(ids.GEN_TRAIN_STEPS_INPUT, "value"),
        State(ids.GEN_RESUME_SELECT, "value"),
        State(ids.GEN_VERSION_STORE, "data"),
        background=True,
        manager=services.background_manager,
        prevent_initial_call=True,
        running=[
            (Output(ids.GEN_TRAIN_BUTTON, "disabled"), True, False),
            (Output(ids.GEN_RUN_BUTTON, "disabled"), True, False),
            (Output(ids.GEN_TRAIN_CANCEL_BUTTON, "disabled"), False, True),
        ],
        progress=[
            Output(ids.GEN_TRAIN_PROGRESS, "value"),
            Output(ids.GEN_TRAIN_PROGRESS, "label"),
            Output(ids.GEN_LOSS_GRAPH, "figure"),
        ],
    )
    def _train(set_progress, _n, taken_up, preset, steps, resume, version):
        if ctx.triggered_id == ids.job_resume(ids.GEN_TRAIN_PROGRESS):  # a reloaded page takes up its run
            said = take_up(
                services, taken_up, ids.GEN_TRAIN_PROGRESS, lambda r: watch_training(services, r.id, set_progress)
            )
            return (no_update, no_update) if said is None else (said, (version or 0) + 1)
        return run_training(services, preset, steps, resume, set_progress), (version or 0) + 1

    @app.callback(
        Output(ids.GEN_STATUS, "children"),
        Output(ids.GEN_VERSION_STORE, "data", allow_duplicate=True),
        Input(ids.GEN_RUN_BUTTON, "n_clicks"),
        Input(ids.job_resume(ids.GEN_PROGRESS), "data"),
        State(ids.GEN_CHECKPOINT_SELECT, "value"),
        State(ids.GEN_PATTERN_SELECT, "value"),
        State(ids.GEN_PROMPT_INPUT, "value"),
        State(ids.GEN_COUNT_INPUT, "value"),
        State(ids.GEN_SEED_INPUT, "value"),
        State(ids.GEN_STEPS_INPUT, "value"),
        State(ids.GEN_GUIDANCE_INPUT, "value"),
        State(ids.GEN_VERSION_STORE, "data"),
        background=True,
        manager=services.background_manager,
        prevent_initial_call=True,
        running=[
            (Output(ids.GEN_RUN_BUTTON, "disabled"), True, False),
            (Output(ids.GEN_TRAIN_BUTTON, "disabled"), True, False),
            (Output(ids.GEN_CANCEL_BUTTON, "disabled"), False, True),
        ],
        progress=[
            Output(ids.GEN_PROGRESS, "value"),
            Output(ids.GEN_PROGRESS, "label"),
            Output(ids.GEN_GALLERY, "children"),
        ],
    )
    def _sample(set_progress, _n, taken_up, checkpoint, pattern, prompt, count, seed, steps, guidance, version):
        if ctx.triggered_id == ids.job_resume(ids.GEN_PROGRESS):  # a reloaded page takes up its run
            said = take_up(
                services, taken_up, ids.GEN_PROGRESS, lambda r: watch_sampling(services, r.id, set_progress)
            )
            return (no_update, no_update) if said is None else (said, (version or 0) + 1)
        message = run_sampling(services, checkpoint, pattern, prompt, count, seed, steps, guidance, set_progress)
        return message, (version or 0) + 1

    @app.callback(
        Output(ids.GEN_STATUS, "children", allow_duplicate=True),
        Input(ids.GEN_CANCEL_BUTTON, "n_clicks"),
        State(ids.job_run(ids.GEN_PROGRESS), "data"),
        prevent_initial_call=True,
    )
    def _cancel(_n, run_id):
        return cancel(services, run_id, "sampling run", " (stops within one step)")

    @app.callback(
        Output(ids.GEN_TRAIN_STATUS, "children", allow_duplicate=True),
        Input(ids.GEN_TRAIN_CANCEL_BUTTON, "n_clicks"),
        State(ids.job_run(ids.GEN_TRAIN_PROGRESS), "data"),
        prevent_initial_call=True,
    )
    def _cancel_training(_n, run_id):
        return cancel(services, run_id, "training run", " (stops within one step)")
