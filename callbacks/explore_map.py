"""Explore tab, the map's own adapters: the build/place/symmetry job body, the feature sources a map can be
drawn from, and the separation figure shown beside the map (kept apart from the view's callbacks in
`explore.py`, which register them)."""

from __future__ import annotations

from scatterloop.core.explore import feature_sources, map_separation
from scatterloop.dashboard import ids
from scatterloop.dashboard.components import explore_view

from .fields import whole
from .job_watch import refusal_as_line
from .services import Services


def separation_panel(services: Services, run_id: int | None):
    found = map_separation(services.workspace, run_id) if run_id else None
    return explore_view.separation(*found) if found else explore_view.separation(None, None)


def feature_choices(services: Services) -> list[dict]:
    return explore_view.feature_options(feature_sources(services.workspace))


def map_message(action: str, result: dict) -> str:
    """The Explore tab's line for a finished map job."""
    if action == "symmetry":
        return f"Symmetry score of {result.get('scored')} ring image(s) stored."
    if action == "place":
        return f"Placed {result.get('placed')} new image(s) in {result.get('seconds', 0):.1f} s."
    how = "computed" if result.get("recomputed") else "reused from cache"
    if result.get("features", "autoencoder") == "autoencoder":
        return (
            f"Map of {result.get('n_images')} images {how} (autoencoder on {result.get('n_train')} experimental "
            f"frames, {result.get('device')})."
        )
    return f"Map of {result.get('n_images')} images {how} from {result.get('features')} features."


@refusal_as_line
def run_map_job(
    services: Services, action: str, method: str, seed, epochs, set_progress, features: str | None = "autoencoder"
) -> str:
    """Start the map job as a run in a worker and follow it until it ends; returns the line to show."""
    from dataclasses import asdict

    from scatterloop.core.embed import MapParams
    from scatterloop.core.embed.pipeline import check_can_map

    from .job_watch import launch

    if action == "symmetry":
        kind, params = "symmetry", {"pattern": "rings"}
    elif action == "place":
        latest = services.store.latest_map_run()
        if latest is None:
            return "Build a map first."
        kind, params = "place", {"map_run_id": latest.id}
    else:
        try:
            epochs = whole(epochs, "epochs")  # blank: the default; 0 is refused by the job's limits, not replaced
            mp = MapParams(
                method=method,
                seed=whole(seed, "seed"),  # blank: an unseeded map (not reproducible)
                epochs=explore_view.MAP_EPOCHS if epochs is None else epochs,
                features=features or "autoencoder",
            )
        except ValueError as exc:
            return f"Cannot build the map: {exc}"
        try:
            check_can_map(services.store)  # said at the click: no run is recorded to fail a second later
        except ValueError as exc:
            return f"Cannot build the map: {exc}."
        kind, params = "embed", {**asdict(mp), "force": action == "relayout"}
    run_id = launch(services, kind, params, ids.EXPLORE_PROGRESS)
    return watch_map_job(services, run_id, kind, set_progress)


def watch_map_job(services: Services, run_id: int, kind: str, set_progress) -> str:
    """Follow a map, placing or symmetry run until it ends; returns the line to show."""
    from .job_watch import follow, outcome

    run = follow(services, run_id, set_progress=set_progress)
    cancelled = "cancelled: nothing registered." if kind == "embed" else "cancelled."
    name = {"symmetry": "Symmetry run", "place": "Placing run"}.get(kind, "Map run")
    action = {"embed": "build"}.get(kind, kind)
    return outcome(run, lambda result: map_message(action, result), name, cancelled)
