"""A finished map without training anything: a recorded `embed` run with given latents and 2-D/3-D positions."""

from __future__ import annotations

import numpy as np

from scatterloop.core.store.models import utcnow


def fake_map(ws, latents: dict[int, list[float]], features: str = "physics") -> int:
    """Register a done `embed` run whose feature cache holds `latents` (image id -> vector); the map positions are
    the first two (three) latent coordinates. Returns the run id."""
    ids = np.array(sorted(latents), dtype=int)
    x = np.array([latents[i] for i in ids], dtype=float)
    xyz = np.pad(x, ((0, 0), (0, max(0, 3 - x.shape[1]))))[:, :3]
    run_id = ws.store.create_run("embed", {"features": features, "method": "pca"})
    cache = ws.cache / "maps" / f"fake-{run_id}"
    cache.mkdir(parents=True)
    np.save(cache / "latents.npy", x)
    np.save(cache / "ids.npy", ids)
    ws.store.add_map_points(run_id, ids.tolist(), xyz[:, :2], xyz)
    result = {"cache_dir": ws.relative(cache), "features": features, "n": len(ids)}
    ws.store.update_run(run_id, status="done", progress=1.0, result=result, finished_at=utcnow())
    return run_id
