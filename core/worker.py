"""What a worker does with a run: every long job of the product as a pure function of (settings, run id).

The web server only records a run (`submit`: kind and JSON parameters, status `queued`) and hands its id to a
runner: the embedded one (`core.worker_pool`, clean spawned processes beside the server) or Celery
(`core.worker_celery`, `scatterloop worker` on any machine that shares the workspace). Whoever runs it calls
`execute_run(settings, run_id)`, which opens the workspace, reads the parameters back from the store and runs
the job under `core.jobs.execute`: progress, cancel, error and result all go through the run record, so the
pages, the CLI and any runner agree on one source of truth. Nothing of the server (no closure, no connection,
no lock) reaches a job.

A few jobs also show something richer than a percentage while they run (the generator's loss curve, the
classifiers' epoch curves): they write it, whole, to `runs/<id>/live.json` (`live_view` reads it back).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal

from .atomic import atomic_write
from .config import Settings
from .jobs import ProgressFn, StopFn, execute
from .store import Store
from .workspace import Workspace

log = logging.getLogger(__name__)

Queue = Literal["gpu", "cpu"]
TaskFn = Callable[..., Any]  # (ws, run_id, params, *, progress, should_stop) -> result dataclass
TASKS: dict[str, TaskFn] = {}
QUEUES: dict[str, Queue] = {}
LIVE_FILE = "live.json"
LOSS_EVERY = 25  # a generator run logs the mean loss of every this many steps (and of a last, partial window)


def task(kind: str, queue: Queue) -> Callable[[TaskFn], TaskFn]:
    """Register the job of a run kind, and the queue (`gpu` for training and generation, `cpu` for the rest)
    its runs go to when Celery runs them."""

    def register(fn: TaskFn) -> TaskFn:
        TASKS[kind] = fn
        QUEUES[kind] = queue
        return fn

    return register


def queue_of(kind: str) -> Queue:
    if kind not in QUEUES:
        raise ValueError(f"run kind {kind!r}: no such job (known: {', '.join(sorted(QUEUES))})")
    return QUEUES[kind]


def submit(
    store: Store, kind: str, params: dict, started_by: str | None = None, max_jobs: int = 0, time_caps: bool = True
) -> int:
    """Record a queued run of `kind` with `params` (JSON) and return its id; a runner then executes it.
    `started_by`: the signed-in user who asked (login on), who may then cancel it. Parameters outside their
    limits, or a person who already has `max_jobs` runs queued or running (0: no allowance), raise `JobRefused`
    (a ValueError with one clear line) and nothing is recorded. `time_caps`: False for a run its owner starts
    from Python, which may take as long as they like (`job_limits.TIME_ONLY`), as the CLI's."""
    check_request(store, kind, params, started_by=started_by, max_jobs=max_jobs, time_caps=time_caps)
    return store.create_run(kind, params, started_by=started_by)


def check_request(
    store: Store, kind: str, params: dict, started_by: str | None = None, max_jobs: int = 0, time_caps: bool = True
) -> None:
    """What `submit` checks, for a caller that must know before it changes anything else (the Train tab's
    "next round" opens a round only for a round that will run). Raises `JobRefused` (or ValueError)."""
    from .job_limits import check_allowance, check_params

    queue_of(kind)
    check_params(kind, params, time_caps=time_caps)
    check_allowance(store, started_by, max_jobs)


class LiveView:
    """Writes a job's live view (`runs/<id>/live.json`) whole, at most once a second (and when forced)."""

    def __init__(self, ws: Workspace, run_id: int, every: float = 1.0):
        self.path = ws.run_dir(run_id) / LIVE_FILE
        self.every, self.last = every, 0.0

    def write(self, data: dict, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        with atomic_write(self.path) as tmp:
            tmp.write_text(json.dumps(data))


def loss_steps(n: int, every: int = LOSS_EVERY, last_step: int | None = None) -> list[int]:
    """The step each of n logged losses ends at: every `every` steps, the last one cut at `last_step`."""
    steps = [(i + 1) * every for i in range(n)]
    if steps and last_step and steps[-1] > last_step > (steps[-2] if n > 1 else 0):
        steps[-1] = int(last_step)
    return steps


def live_view(root: Path, run_id: int) -> dict:
    """The live view a run last wrote ({} when none)."""
    try:
        return json.loads((Path(root) / "runs" / str(run_id) / LIVE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _from_json(cls, params: dict):
    """A parameter dataclass from a run's JSON parameters (unknown keys ignored, lists back to tuples)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items() if k in names})


@task("embed", "cpu")
def _embed(ws, run_id, params, *, progress, should_stop):
    from .embed import MapParams, build_map

    mp = _from_json(MapParams, params)
    return build_map(
        ws, mp, run_id=run_id, force=bool(params.get("force")), progress=progress, should_stop=should_stop
    )


@task("place", "cpu")
def _place(ws, run_id, params, *, progress, should_stop):
    from .embed.pipeline import place_new

    return place_new(ws, int(params["map_run_id"]), progress=progress, should_stop=should_stop)


@task("symmetry", "cpu")
def _symmetry(ws, run_id, params, *, progress, should_stop):
    from .explore import compute_symmetry

    return compute_symmetry(ws, pattern=params.get("pattern", "rings"), progress=progress, should_stop=should_stop)


@task("evaluate", "cpu")
def _evaluate(ws, run_id, params, *, progress, should_stop):
    from .evaluate import EvalParams, evaluate

    return evaluate(ws, _from_json(EvalParams, params), run_id=run_id, progress=progress, should_stop=should_stop)


@task("generate-train", "gpu")
def _generate_train(ws, run_id, params, *, progress, should_stop):
    import re

    from .generate import train_domain_model

    loss = re.compile(r"loss ([0-9.eE+-]+)")
    live, losses, window = LiveView(ws, run_id), [], []

    def on_progress(done: int, total: int, message: str = "") -> None:
        if m := loss.search(message):  # the curve a person watches: the mean of every 25 steps
            window.append(float(m.group(1)))
            if len(window) == LOSS_EVERY:
                losses.append(sum(window) / LOSS_EVERY)
                window.clear()
                live.write({"losses": losses, "step": done})
        progress(done, total, message)

    resume = params.get("resume")
    res = train_domain_model(
        ws,
        params.get("preset") or None,  # a resumed run keeps its own
        run_id=run_id,
        max_steps=int(params["steps"]) if params.get("steps") else None,
        resume_from=ws.run_dir(int(resume)) if resume else None,
        progress=on_progress,
        should_stop=should_stop,
    )
    live.write({"losses": res.losses, "step": res.steps}, force=True)  # with the last, partial window
    return res


@task("generate", "gpu")
def _generate(ws, run_id, params, *, progress, should_stop):
    from .generate import generate_candidates

    return generate_candidates(
        ws,
        params["checkpoint"],
        run_id=run_id,
        n=int(params.get("n") or 1),
        pattern=params.get("pattern") or None,
        prompt=params.get("prompt") or None,
        seed=int(params.get("seed") or 0),
        steps=int(params.get("steps") or 25),
        guidance=float(params["guidance"] if params.get("guidance") is not None else 2.0),
        sampler=params.get("sampler") or "dpm++",
        device=params.get("device") or None,
        progress=progress,
        should_stop=should_stop,
    )


@task("classify", "gpu")
def _classify(ws, run_id, params, *, progress, should_stop):
    from .classify.rounds import RoundParams, train_round

    live, curves = LiveView(ws, run_id), {}

    def on_epoch(arch: str, row: dict) -> None:
        curves.setdefault(arch, []).append(row)
        live.write({"curves": curves}, force=True)

    rp = _from_json(RoundParams, {**params, "pretrained": params.get("pretrained") or {}})
    return train_round(ws, rp, run_id=run_id, progress=progress, should_stop=should_stop, on_epoch=on_epoch)


@task("predict", "gpu")
def _predict(ws, run_id, params, *, progress, should_stop):
    from .classify.predict import predict_candidates

    return predict_candidates(
        ws,
        int(params["classify_run"]),
        run_id=run_id,
        scheme=params.get("scheme", "weighted"),
        progress=progress,
        should_stop=should_stop,
    )


def execute_run(settings: Settings, run_id: int, ws: Workspace | None = None, progress: ProgressFn | None = None):
    """Run the queued run `run_id` in this process with this process's view of the workspace (`settings`, or
    the workspace `ws` a worker process keeps open for all its runs); returns its result (None when
    cancelled). A failure is recorded on the run, then re-raised. `progress`: also report progress here (the
    Python API's bar); the run record gets it either way.

    A file this worker cannot see fails the run with its path and this worker's workspace root: servers and
    workers must share the workspace directory (same path, or each told its own path to the same share).
    """
    own = ws is None
    ws = Workspace.open(settings) if own else ws
    try:
        run = ws.store.get_run(run_id)
        if run is None:
            raise ValueError(f"run {run_id}: not in the store at {_safe_url(settings.db_url)} (workspace {ws.root})")
        fn = TASKS.get(run.kind)
        params = dict(run.params or {})

        def job(*, run_id: int, progress: ProgressFn, should_stop: StopFn):
            if fn is None:
                raise ValueError(f"run {run_id}: kind {run.kind!r} is no job this worker knows")
            try:
                return fn(ws, run_id, params, progress=progress, should_stop=should_stop)
            except FileNotFoundError as exc:
                if str(ws.root) in str(exc):
                    raise
                raise FileNotFoundError(f"{exc} (this worker's workspace root: {ws.root})") from exc

        return execute(ws.store, run_id, job, **({"progress": progress} if progress else {}))
    finally:
        if own:
            ws.store.dispose()


def execute_logged(ws: Workspace, run_id: int) -> Any:
    """A runner's call (the embedded pool's worker processes, a Celery worker): `execute_run` with the run's
    progress, and how it ended, as log lines on that runner's terminal, and the job's threads a fair share of the
    machine's cores (`CoreShare`). Cancels and failures are logged by `core.jobs.execute` itself."""
    from .progress import LogLines, clock
    from .threads import CoreShare

    run = ws.store.get_run(run_id)
    lines = LogLines(run_id, run.kind if run is not None else "?", log.info)
    starts = run is not None and run.status == "queued" and not run.cancel_requested
    if starts:
        log.info("%s started", lines.head)
    share = CoreShare(ws.store.running_here)
    if starts:
        share(starting=True)  # before its first step: the jobs already running here and this one

    def progress(done: float, total: float, message: str = "") -> None:
        share()
        lines(done, total, message)

    result = execute_run(ws.settings, run_id, ws=ws, progress=progress)
    ended = ws.store.get_run(run_id) if starts else None
    if ended is not None and ended.status == "done":
        log.info("%s done in %s", lines.head, clock(lines.elapsed()))
    return result


def _safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL that does not parse is shown as the scheme only
        return url.split(":", 1)[0]
