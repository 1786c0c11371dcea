"""The map's long jobs as recorded runs, shared by the CLI and the dashboard's background callbacks."""

from __future__ import annotations

from dataclasses import asdict

from ..jobs import ProgressFn, no_progress, run_job
from ..workspace import Workspace
from .pipeline import MapParams, MapResult, PlaceResult, build_map, place_new


def run_build(
    ws: Workspace, params: MapParams, *, force: bool = False, progress: ProgressFn = no_progress
) -> tuple[int, MapResult | None]:
    return run_job(
        ws.store,
        "embed",
        {**asdict(params), "force": force},
        lambda run_id, progress, should_stop: build_map(
            ws, params, run_id=run_id, force=force, progress=progress, should_stop=should_stop
        ),
        progress=progress,
    )


def run_place(ws: Workspace, *, progress: ProgressFn = no_progress) -> tuple[int, PlaceResult | None]:
    """Place new images into the latest map. Raises ValueError when the workspace has no map yet."""
    latest = ws.store.latest_map_run()
    if latest is None:
        raise ValueError("this workspace has no map yet: build one first")
    return run_job(
        ws.store,
        "place",
        {"map_run_id": latest.id},
        lambda run_id, progress, should_stop: place_new(ws, latest.id, progress=progress, should_stop=should_stop),
        progress=progress,
    )


def run_symmetry(ws: Workspace, *, pattern: str = "rings", progress: ProgressFn = no_progress):
    from ..explore import compute_symmetry

    return run_job(
        ws.store,
        "symmetry",
        {"pattern": pattern},
        lambda run_id, progress, should_stop: compute_symmetry(
            ws, pattern=pattern, progress=progress, should_stop=should_stop
        ),
        progress=progress,
    )
