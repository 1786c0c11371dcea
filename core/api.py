"""The Python API: `import scatterloop as sl`, for the notebooks beamline scientists live in.

    ws = sl.open_workspace("my-ws")
    sl.simulate("rings", 40, "sim/rings")
    sl.import_files(ws, ["sim/rings"], source="simulated")
    sl.label(ws, [1, 2, 3], "realistic", annotator="me")
    round1 = sl.train_round(ws)           # a tqdm bar while it runs
    sl.images(ws)                         # records: pandas.DataFrame(sl.images(ws)) is the table

Every long call is a recorded run, exactly as when the dashboard starts it: the job is recorded with its
parameters (`core.worker.submit`), then run in this process by the same function a worker runs
(`core.worker.execute_run`), so its progress, result, error or cancel lands in the workspace's run table and
the Jobs tab shows it. `import_files` runs `core.ingest.import_paths` as the CLI does. Each returns a `Run`: the
run id and the job's own result dataclass (`None` when cancelled). `progress` is `True` (a tqdm bar; in a
notebook, its widget), `False` (silent) or any `progress(done, total, message)` callback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .jobs import ProgressFn, no_progress
from .workspace import Workspace

Progress = bool | ProgressFn | None


@dataclasses.dataclass(frozen=True)
class Run:
    """A finished run: its id in the workspace's run table, its kind, and what the job returned."""

    run_id: int
    kind: str
    result: Any

    def to_dict(self) -> dict:
        """Plain data: the run id and kind with the result's fields."""
        res = self.result
        body = dataclasses.asdict(res) if dataclasses.is_dataclass(res) else {"result": res}
        return {"run_id": self.run_id, "kind": self.kind, **body}


@contextmanager
def _progress(desc: str, progress: Progress):
    if callable(progress):
        yield progress
    elif progress:
        from .cli_common import terminal_progress

        with terminal_progress(desc, True, notebook=True) as fn:
            yield fn
    else:
        yield no_progress


def open_workspace(path: str | Path, **settings: Any) -> Workspace:
    """Open (or create) the workspace at `path`. `settings`: any `core.config.Settings` field (database_url,
    labels, max_pixels, ...); `SCATTERLOOP_*` variables apply as for the CLI."""
    from .config import Settings

    return Workspace.open(Settings.from_env(workspace=path, **settings))


def run_job(ws: Workspace, kind: str, params: dict, progress: Progress = True) -> Run:
    """Record a run of `kind` with JSON `params` and execute it here, as a worker would."""
    from .worker import execute_run, submit

    # the limits of the CLI: a run its owner starts from Python may be as long as they like (`TIME_ONLY`)
    run_id = submit(ws.store, kind, params, max_jobs=ws.settings.max_jobs, time_caps=False)
    with _progress(kind, progress) as fn:
        result = execute_run(ws.settings, run_id, ws=ws, progress=fn)
    return Run(run_id, kind, result)


def simulate(
    pattern: str, n: int, out: str | Path, *, seed: int = 0, size: int = 256, artifacts: str = "none",
    grid: int = 257, domain: str = "default", progress: Progress = True,
):  # fmt: skip
    """Write `n` simulated frames of `pattern` (with truth) into `out` as an imagefolder; returns what was
    written (`SimulateResult`). Import them with `import_files(ws, [out], source="simulated")`."""
    from .simulate import simulate_dataset

    with _progress(f"simulate {pattern}", progress) as fn:
        return simulate_dataset(
            pattern, n, out, seed=seed, size=size, artifacts=artifacts, grid=grid, domain=domain, progress=fn
        )  # fmt: skip


def import_files(
    ws: Workspace, paths: Iterable[str | Path], *, source: str = "experimental", metadata: str | Path | None = None,
    dataset: str | None = None, follow_outside: bool = False, progress: Progress = True,
) -> Run:  # fmt: skip
    """Import files, folders or manifests; one bad file never stops the others. `Run.result` is the
    `ImportSummary` (`imported`, `failed`, `errors`: one line per bad input, `image_ids`). The CLI's `import`
    is this function with a terminal bar."""
    from .ingest import import_paths
    from .jobs import run_job as recorded

    paths = [str(p) for p in paths]
    params = {"paths": paths, "source": source, "metadata": str(metadata) if metadata else None}
    with _progress("import", progress) as fn:
        run_id, summary = recorded(
            ws.store, "import", params,
            lambda run_id, progress, should_stop: import_paths(
                ws, paths, source=source, metadata=metadata, dataset=dataset, follow_outside=follow_outside,
                run_id=run_id, round=ws.store.current_round() if source == "generated" else None,
                progress=progress, should_stop=should_stop,
            ),
            progress=fn,
        )  # fmt: skip
    return Run(run_id, "import", summary)


def label(ws: Workspace, ids: Sequence[int], value: str, *, annotator: str) -> list[int]:
    """Give images a human label from the workspace's label set; returns the ids labelled. Raises ValueError
    for a label outside the set or ids the workspace does not hold (nothing is written then)."""
    from .labelling import label_images

    targets, _ = label_images(ws.store, ws.settings.labels, value, ids, annotator)
    return targets


def images(ws: Workspace, *, source: str | None = None, pattern: str | None = None) -> list[dict]:
    """Every image (optionally of one source / pattern) as a record with its current human label, where it came
    from (`frame` and `dataset` of its file; `provenance`: the calibration and panel its manifest named, a
    generator's run and backend) and, for simulated frames, the simulator's recorded truth (for benchmarks; never
    a label): `pandas.DataFrame(sl.images(ws))` is the table."""
    from .store import ImageFilter

    keys = ("id", "source", "pattern", "original_name", "frame", "dataset", "height", "width", "dtype", "round",
            "description", "masked_fraction")  # fmt: skip
    rows = ws.store.list_images(ImageFilter(source=source, pattern=pattern))
    return [
        {**{k: getattr(img, k) for k in keys}, "label": lab, "provenance": dict(img.provenance or {}),
         "truth": img.truth}
        for img, lab in rows
    ]  # fmt: skip


def train_round(ws: Workspace, *, progress: Progress = True, next_round: bool = False, **params: Any) -> Run:
    """Train one round of classifiers on the human labels (`RoundParams` fields: task, recipe, models,
    epochs, ...; the defaults are the product's recipe). `Run.result` is the `RoundResult` (per-model and
    vote metrics on the fixed validation set)."""
    from .classify.rounds import RoundParams, round_params_json

    rp = RoundParams(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
    if next_round:
        ws.store.next_round()
    return run_job(ws, "classify", round_params_json(rp), progress)


def predict(ws: Workspace, *, classify_run: int | None = None, scheme: str = "weighted",
            progress: Progress = True) -> Run:  # fmt: skip
    """Score every candidate with a round's models (default: the latest round) and store the suggestions;
    human labels are never overwritten."""
    if classify_run is None:
        from .classify.tables import classify_runs

        runs = classify_runs(ws.store)
        if not runs:
            raise ValueError("no finished classification round: train_round first")
        classify_run = runs[-1].id
    return run_job(ws, "predict", {"classify_run": int(classify_run), "scheme": scheme}, progress)


def prelabel(
    ws: Workspace, *, annotator: str, threshold: float = 0.9, scheme: str = "weighted", task: str | None = None
) -> dict:
    """Accept the latest realism calls at or above `threshold` as labels in `annotator`'s name (stored as
    "NAME (pre-label ≥ t)", so one undo takes them back), only where no human label exists and the call is not on
    an image unlike the networks' training frames; returns the counts (`prelabelled`, `confident`, ...). `task`:
    whose calls, realism or labels (default: the latest round's of the two)."""
    from .classify import prelabel as accept

    if not (annotator or "").strip():
        raise ValueError("annotator: whose labels the accepted suggestions become")
    return accept(ws.store, threshold=threshold, annotator=annotator, scheme=scheme, task=task)


def review_queue(
    ws: Workspace, kind: str = "uncertain", *, scheme: str = "weighted", task: str | None = None
) -> list[int]:
    """Image ids to judge next: "uncertain" (least sure calls first, patterns taking turns), "disagree" (labels
    the ensemble contradicts) or "doubted" (labels the latest round found likely slips)."""
    from .classify import review_queue as queue

    return queue(ws.store, kind, scheme=scheme, task=task)


def export(ws: Workspace, out: str | Path, *, round: int | None = None, progress: Progress = True) -> Run:
    """Write the approved images as an imagefolder (`out/train/*.png`, `metadata.jsonl`, `labels.csv`) for
    fine-tuning a generator, as `scatterloop export` does; a recorded run."""
    from .export import export_imagefolder
    from .jobs import run_job as recorded

    ws.check_output(out)  # never inside the workspace but under its exports/
    with _progress("export", progress) as fn:
        run_id, res = recorded(
            ws.store, "export", {"out": str(out), "round": round},
            lambda run_id, progress, should_stop: export_imagefolder(
                ws, out, round=round, progress=progress, should_stop=should_stop
            ),
            progress=fn,
        )  # fmt: skip
    return Run(run_id, "export", res)


def train_generator(
    ws: Workspace, *, preset: str | None = None, steps: int | None = None, resume: int | None = None,
    progress: Progress = True,
) -> Run:  # fmt: skip
    """Train (or, with `resume`: a run id, continue) the domain diffusion model on the experimental frames;
    `Run.result` holds its checkpoint and loss curve."""
    return run_job(ws, "generate-train", {"preset": preset, "steps": steps, "resume": resume}, progress)


def generate(
    ws: Workspace, n: int = 16, *, pattern: str | None = None, prompt: str | None = None, seed: int | None = None,
    steps: int = 25, guidance: float = 2.0, checkpoint: str | None = None, sampler: str = "dpm++",
    device: str | None = None, progress: Progress = True,
) -> Run:  # fmt: skip
    """Sample `n` candidates from the latest (or given) generator checkpoint into the current round; the seed is
    recorded (a fresh one unless given), and frames identical to stored ones are not added twice."""
    import secrets

    if checkpoint is None:
        from .generate import latest_generator

        checkpoint = latest_generator(ws.store, "train_generator")
    params = {"checkpoint": checkpoint, "n": n, "pattern": pattern, "prompt": prompt, "steps": steps,
              "seed": secrets.randbelow(2**31) if seed is None else seed, "guidance": guidance, "sampler": sampler,
              "device": device}  # fmt: skip
    return run_job(ws, "generate", params, progress)


def pretrain(ws: Workspace, *, progress: Progress = True, **params: Any) -> Run:
    """Self-supervised (SimCLR) pretraining of an encoder on every frame of the workspace (`PretrainParams`
    fields: arch, input_size, epochs, ...); `train_round(ws, encoder=True)` starts networks from it."""
    from .classify.pretrain import PretrainParams
    from .classify.pretrain import pretrain as fit
    from .jobs import run_job as recorded

    pp = PretrainParams(**params)
    with _progress("pretrain", progress) as fn:
        run_id, res = recorded(
            ws.store, "pretrain", dataclasses.asdict(pp),
            lambda run_id, progress, should_stop: fit(ws, run_id, pp, progress=progress, should_stop=should_stop),
            progress=fn,
        )  # fmt: skip
    return Run(run_id, "pretrain", res)


def polar(
    image,
    *,
    mask=None,
    calibration: str | Path | None = None,
    frame: int = 0,
    dataset: str | None = None,
    panel: str | None = None,
):
    """Beam centre (or an honest "no centre"), detector tilt, polar warp and symmetry score of one frame: a file
    (any detector format `import` reads; `frame`/`dataset` pick one of a stack) or a 2-D array. `mask` (True = no
    measurement, the frame's shape) is added to what the file's own format masks. `calibration`: a .poni,
    .imctrl, Fit2D, HEXRD or NeXus file (`panel`: a HEXRD instrument's panel, where the frame's shape and file name
    do not say). Returns the `PolarResult` (`status`, `reason`, `centre_x`, `centre_y`,
    `confidence`, `score`, `tilt_deg`, `warnings`); `scatterloop.core.polar.warp(data, result.warp_centre, mask,
    plane=result.plane)` draws the warp."""
    import numpy as np

    from .polar import analyse

    header = None
    if isinstance(image, str | Path):
        from .config import Settings
        from .io_hdf5_copy import read_one_frame
        from .io_safety import ImageReadError, one_line

        try:
            read = read_one_frame(Path(image), frame, dataset, Settings.from_env().max_pixels)
        except ImageReadError as exc:  # named as `scatterloop polar` names it
            shown, text = one_line(Path(image)), str(exc)
            raise ImageReadError(text if text.startswith(shown) else f"{shown}: {text}") from exc
        data, header = read.data, read.meta.get("header_centre")
        own = read.mask
    else:
        if frame != 0 or dataset is not None:  # would be ignored: an array is one frame
            raise ValueError("frame / dataset pick a frame of a file; an array is one frame already")
        data, own = np.asarray(image), None
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != data.shape:
            raise ValueError(f"mask: shape {mask.shape} is not the frame's {data.shape}")
        mask = mask if own is None else (mask | own)
    else:
        mask = own
    name = Path(image).name if isinstance(image, str | Path) else None
    return analyse(
        data,
        mask,
        calibration=None if calibration is None else str(calibration),
        header=header,
        frame_name=name,
        panel=panel,
    )


def build_map(ws: Workspace, *, progress: Progress = True, force: bool = False, **params: Any) -> Run:
    """Fit the latent map (`MapParams` fields: method, epochs, size, features, seed); `Run.result` is the
    `MapResult`. `map_points(ws)` gives the points as records."""
    from .embed import MapParams

    mp = MapParams(**params)
    return run_job(ws, "embed", {**dataclasses.asdict(mp), "force": force}, progress)


def map_points(ws: Workspace) -> list[dict]:
    """The latest map's points as records: image id, map coordinates, whether it was placed into an existing map,
    and what the Explore view colours by (group, label, pattern, round, model confidence, symmetry, source)."""
    from .explore import map_table

    t = map_table(ws)
    names = list(t.columns)
    return [
        {"id": int(i), "x": float(x), "y": float(y), "placed": bool(p), **{k: t.columns[k][n] for k in names}}
        for n, (i, (x, y), p) in enumerate(zip(t.ids.tolist(), t.xy.tolist(), t.placed.tolist(), strict=True))
    ]


def evaluate(ws: Workspace, *, progress: Progress = True, **params: Any) -> Run:
    """Realism numbers per pattern (FID, KID, IS, symmetry, SSIM; `EvalParams` fields)."""
    from .evaluate import EvalParams

    return run_job(ws, "evaluate", dataclasses.asdict(EvalParams(**params)), progress)


def report(ws: Workspace, out: str | Path, *, evaluation_run: int | None = None) -> Path:
    """Write the standalone HTML report of the latest (or given) evaluation; returns its path. A workspace that
    cannot be evaluated (no experimental frames of a pattern) gets the rest of the report, saying why."""
    from .evaluate import nothing_to_evaluate, write_report

    done = [r for r in runs(ws, "evaluate") if r["status"] == "done"]
    without = nothing_to_evaluate(ws.store) if evaluation_run is None and not done else None
    return write_report(ws, out, evaluation_run=evaluation_run, without=without)


def runs(ws: Workspace, kind: str | None = None, limit: int = 1000) -> list[dict]:
    """The run table as records, newest first."""
    keys = ("id", "kind", "status", "progress", "message", "error", "started_at", "finished_at")
    return [{k: getattr(r, k, None) for k in keys} for r in ws.store.list_runs(limit) if kind in (None, r.kind)]


__all__ = [
    "Run", "open_workspace", "run_job", "simulate", "import_files", "label", "images", "train_round", "predict",
    "build_map", "map_points", "evaluate", "report", "runs", "prelabel", "review_queue", "export",
    "train_generator", "generate", "pretrain", "polar",
]  # fmt: skip
