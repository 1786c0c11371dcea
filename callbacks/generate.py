"""Generate tab callbacks: train the domain model and sample candidates as background jobs."""

from __future__ import annotations

import re
import time

from dash import Input, Output, State

from dashboard import figures, ids
from dashboard.components import explore_view

from .media import thumb_url
from .services import Services, job_process

LOSS = re.compile(r"loss ([0-9.eE+-]+)")
IMAGES = re.compile(r"^(\d+)/\d+ images")


def options(services: Services) -> tuple[list, list, list]:
    """Resume choices (training runs), checkpoint choices (generator artifacts), pattern choices."""
    store = services.store
    trains = [
        r for r in store.list_runs(200) if r.kind == "generate-train" and r.status in ("done", "cancelled", "failed")
    ]
    resume = [{"label": f"run {r.id} ({r.status})", "value": r.id} for r in trains]
    arts = store.list_artifacts(kind="generator")
    ckpts = [
        {"label": f"run {a.run_id} · step {a.meta.get('step')} · {a.meta.get('preset')}", "value": a.path}
        for a in reversed(arts)
    ]
    patterns = [{"label": p, "value": p} for p in store.distinct("pattern")]
    return resume, ckpts, patterns


class Throttle:
    """Call `fn` at most every `every` seconds (and always when `force`)."""

    def __init__(self, every: float = 1.0):
        self.every, self.last = every, 0.0

    def due(self, force: bool = False) -> bool:
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            return True
        return False


def run_training(services: Services, preset: str, steps, resume, set_progress) -> str:
    from core.generate import train_domain_model
    from core.jobs import run_job
    from core.workspace import Workspace

    ws = Workspace.open(services.settings)
    losses: list[float] = []
    window: list[float] = []
    throttle = Throttle()

    def progress(done: int, total: int, message: str = "") -> None:
        if m := LOSS.search(message):
            window.append(float(m.group(1)))
            if len(window) == 25:
                losses.append(sum(window) / 25)
                window.clear()
        if throttle.due(done >= total):
            pct = int(100 * done / max(total, 1))
            set_progress((pct, f"{pct}% · step {done}/{total}", figures.loss_figure(losses)))

    try:
        resume_dir = ws.run_dir(int(resume)) if resume else None
        run_id, res = run_job(
            ws.store,
            "generate-train",
            {"preset": preset, "steps": steps, "resume": resume},
            lambda run_id, progress, should_stop: train_domain_model(
                ws,
                preset,
                run_id=run_id,
                max_steps=int(steps) if steps else None,
                resume_from=resume_dir,
                progress=progress,
                should_stop=should_stop,
            ),
            progress=progress,
        )
        if res is None:
            return f"Training run {run_id} cancelled; its last checkpoint can be resumed."
        return (
            f"Run {run_id}: {res.steps} steps on {res.n_images} frames ({res.device}, {res.seconds:.0f} s); "
            f"checkpoint {res.checkpoint}."
        )
    except ValueError as exc:
        return f"Cannot train: {exc}"
    finally:
        ws.store.dispose()


def run_sampling(services: Services, checkpoint, pattern, prompt, n, seed, steps, guidance, set_progress) -> str:
    from core.generate import generate_candidates
    from core.jobs import run_job
    from core.workspace import Workspace

    ws = Workspace.open(services.settings)
    holder: dict = {"shown": -1}
    throttle = Throttle(0.5)

    def progress(done: int, total: int, message: str = "") -> None:
        m = IMAGES.search(message)
        made = int(m.group(1)) if m else 0
        if made != holder["shown"] or throttle.due(done >= total):
            holder["shown"] = made
            images = ws.store.images_of_run(holder["run_id"]) if "run_id" in holder else []
            cards = [
                explore_view.gallery_card(
                    img.id,
                    thumb_url(img.sha256),
                    f"#{img.id} · seed {img.seed}",
                    None,
                    title=f"image {img.id}, seed {img.seed} (unlabeled)",
                    badge=False,
                )
                for img in images
            ]
            pct = int(100 * done / max(total, 1))
            set_progress((pct, f"{pct}% · {made} images", cards))

    def job(run_id, progress, should_stop):
        holder["run_id"] = run_id
        return generate_candidates(
            ws,
            checkpoint,
            run_id=run_id,
            n=int(n or 1),
            pattern=pattern or None,
            prompt=prompt or None,
            seed=int(seed or 0),
            steps=int(steps or 25),
            guidance=float(guidance if guidance is not None else 2.0),
            progress=progress,
            should_stop=should_stop,
        )

    try:
        if not checkpoint:
            arts = ws.store.list_artifacts(kind="generator")
            if not arts:
                return "No trained model yet: train one on the left first."
            checkpoint = arts[-1].path
        run_id, res = run_job(
            ws.store,
            "generate",
            {
                "checkpoint": checkpoint,
                "n": n,
                "pattern": pattern,
                "prompt": prompt,
                "seed": seed,
                "steps": steps,
                "guidance": guidance,
            },
            job,
            progress=progress,
        )
        made = len(ws.store.images_of_run(run_id))
        if res is None:
            return f"Run {run_id} cancelled after {made} complete image(s); nothing half-made was stored."
        same = int(n or 1) - made
        dupes = (
            f" {same} were identical to images already stored (same checkpoint, seed, prompt): not added again."
            if same > 0
            else ""
        )
        return (
            f"Run {run_id}: {made} candidates registered ({res.images_per_s} images/s).{dupes}"
            " See them in Label and Explore."
        )
    finally:
        ws.store.dispose()


def register(app, services: Services) -> None:
    @app.callback(
        Output(ids.GEN_RESUME_SELECT, "options"),
        Output(ids.GEN_CHECKPOINT_SELECT, "options"),
        Output(ids.GEN_PATTERN_SELECT, "options"),
        Input(ids.TABS, "active_tab"),
        Input(ids.GEN_VERSION_STORE, "data"),
    )
    def _options(_tab, _version):
        return options(services)

    @app.callback(
        Output(ids.GEN_TRAIN_STATUS, "children"),
        Output(ids.GEN_VERSION_STORE, "data"),
        Input(ids.GEN_TRAIN_BUTTON, "n_clicks"),
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
            (Output(ids.GEN_CANCEL_BUTTON, "disabled"), False, True),
        ],
        progress=[
            Output(ids.GEN_TRAIN_PROGRESS, "value"),
            Output(ids.GEN_TRAIN_PROGRESS, "label"),
            Output(ids.GEN_LOSS_GRAPH, "figure"),
        ],
    )
    @job_process
    def _train(set_progress, _n, preset, steps, resume, version):
        return run_training(services, preset, steps, resume, set_progress), (version or 0) + 1

    @app.callback(
        Output(ids.GEN_STATUS, "children"),
        Output(ids.GEN_VERSION_STORE, "data", allow_duplicate=True),
        Input(ids.GEN_RUN_BUTTON, "n_clicks"),
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
    @job_process
    def _sample(set_progress, _n, checkpoint, pattern, prompt, count, seed, steps, guidance, version):
        message = run_sampling(services, checkpoint, pattern, prompt, count, seed, steps, guidance, set_progress)
        return message, (version or 0) + 1

    @app.callback(
        Output(ids.GEN_STATUS, "children", allow_duplicate=True),
        Input(ids.GEN_CANCEL_BUTTON, "n_clicks"),
        prevent_initial_call=True,
    )
    def _cancel(_n):
        runs = services.store.request_cancel(("generate-train", "generate"))
        return f"Cancelling run {', '.join(map(str, runs))} (stops within one step)…" if runs else "Nothing running."
