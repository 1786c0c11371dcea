"""Which experimental frames a candidate is closest to, in the feature space the latest map was drawn from.

The map's features (autoencoder latents, physics features or a classifier's embedding, `core.embed.features`)
are kept beside it as `latents.npy`; each dimension is standardised as the projection does, and the nearest
experimental frames are found with scikit-learn. An image placed into the map later has no stored latents:
its nearest neighbours are then taken in the map's own 3-D coordinates, and the answer says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .workspace import Workspace


@dataclass
class Nearest:
    image_id: int
    ids: list[int]  # nearest first
    distances: list[float]
    space: str  # in words: which features the distances are measured in


def _latents(ws: Workspace, run) -> tuple[np.ndarray, np.ndarray] | None:
    cache_dir = (run.result or {}).get("cache_dir")
    if not cache_dir:
        return None
    folder = ws.root / Path(cache_dir)
    if not ((folder / "latents.npy").is_file() and (folder / "ids.npy").is_file()):
        return None
    return np.load(folder / "ids.npy").astype(int), np.load(folder / "latents.npy").astype(np.float64)


def nearest_experimental(ws: Workspace, image_id: int, k: int = 3) -> Nearest:
    """The `k` experimental frames nearest to `image_id` (never itself) in the latest map's feature space.

    Raises:
        ValueError: no map yet, the image is not in the map, or the map holds no other experimental frame.
    """
    from sklearn.neighbors import NearestNeighbors

    image_id = int(image_id)
    if k < 1:
        raise ValueError(f"k: expected at least 1, got {k}")
    run = ws.store.latest_map_run()
    if run is None:
        raise ValueError("no map yet: build one in the Explore tab (its features give the distances)")
    features = (run.result or {}).get("features") or (run.params or {}).get("features") or "autoencoder"
    held = _latents(ws, run)
    if held is not None and image_id in set(held[0].tolist()):
        ids, x = held
        x = (x - x.mean(0)) / (x.std(0) + 1e-8)
        space = f"{features} features of map run {run.id} (standardised)"
    else:
        arrays = ws.store.map_arrays(run.id)
        ids, x = arrays["ids"], arrays["xyz"]
        if not np.isfinite(x).all():
            x = arrays["xy"]
        space = f"3-D coordinates of map run {run.id} (the image was placed later; no stored features)"
        if image_id not in set(ids.tolist()):
            raise ValueError(f"image {image_id} is not in the map (run {run.id}): place new images first")
    facts = ws.store.image_facts()
    exp = np.array([i != image_id and facts.get(int(i), ("",))[0] == "experimental" for i in ids])
    if not exp.any():
        raise ValueError(f"map run {run.id} holds no other experimental frame to compare with")
    query = x[ids.tolist().index(image_id)][None, :]
    nn = NearestNeighbors(n_neighbors=min(k, int(exp.sum()))).fit(x[exp])
    dist, idx = nn.kneighbors(query)
    exp_ids = ids[exp]
    return Nearest(
        image_id=image_id,
        ids=[int(exp_ids[j]) for j in idx[0]],
        distances=[float(d) for d in dist[0]],
        space=space,
    )
