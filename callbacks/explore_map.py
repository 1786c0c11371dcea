"""Explore tab, the map's own adapters: the build/place/symmetry job body, the feature sources a map can be
drawn from, and the separation figure shown beside the map (kept apart from the view's callbacks in
`explore.py`, which register them)."""

from __future__ import annotations

from core.explore import feature_sources, map_separation
from dashboard.components import explore_view

from .services import Services


def separation_panel(services: Services, run_id: int | None):
    found = map_separation(services.workspace, run_id) if run_id else None
    return explore_view.separation(*found) if found else explore_view.separation(None, None)


def feature_choices(services: Services) -> list[dict]:
    return explore_view.feature_options(feature_sources(services.workspace))


def run_map_job(
    services: Services, action: str, method: str, seed, epochs, progress, features: str | None = "autoencoder"
) -> str:
    """Runs inside the background worker: opens its own store connection, records the run."""
    from core.embed import MapParams
    from core.embed.jobs import run_build, run_place, run_symmetry
    from core.workspace import Workspace

    ws = Workspace.open(services.settings)
    try:
        if action == "symmetry":
            _, res = run_symmetry(ws, progress=progress)
            return "Cancelled." if res is None else f"Symmetry score of {res.scored} ring image(s) stored."
        if action == "place":
            if ws.store.latest_map_run() is None:
                return "Build a map first."
            _, res = run_place(ws, progress=progress)
            return "Cancelled." if res is None else f"Placed {res.placed} new image(s) in {res.seconds:.1f} s."
        params = MapParams(
            method=method,
            seed=None if seed in (None, "") else int(seed),
            epochs=int(epochs or explore_view.MAP_EPOCHS),
            features=features or "autoencoder",
        )
        _, res = run_build(ws, params, force=action == "relayout", progress=progress)
        if res is None:
            return "Cancelled: nothing registered."
        how = "computed" if res.recomputed else "reused from cache"
        if res.features == "autoencoder":
            return (
                f"Map of {res.n_images} images {how} (autoencoder on {res.n_train} experimental frames, {res.device})."
            )
        return f"Map of {res.n_images} images {how} from {res.features} features."
    finally:
        ws.store.dispose()
