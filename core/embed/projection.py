"""2-D/3-D maps of latents: UMAP (umap-learn) or PCA (scikit-learn, the fast fallback), and placement of new
points into an existing map without moving the old ones.

Placement follows UMAP's own transform initialisation: a new point lands at the membership-weighted mean of
the map positions of its k nearest training latents (weights exp(-(d - rho) / sigma) with UMAP's rho and
sigma), so nothing has to be pickled to place points later: the training latents and their coordinates,
stored as arrays, are the whole fitted projection.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numba
import numpy as np

# numba's OpenMP threading layer kills any process that forks after using it ("fork() called from a process
# already using GNU OpenMP"), as a Celery prefork worker does after its first job; numba's own thread pool
# ("workqueue") is fork-safe, and UMAP's parallel loops run on it as well.
numba.config.THREADING_LAYER = "workqueue"

Method = Literal["umap", "pca"]


def fit_projection(
    latents: np.ndarray,
    method: Method = "umap",
    dims: int = 2,
    seed: int | None = None,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
) -> np.ndarray:
    """Coordinates (N, dims) of the latents. A seed makes UMAP reproducible and single-threaded."""
    if dims not in (2, 3):
        raise ValueError(f"dims: expected 2 or 3, got {dims}")
    z = (latents - latents.mean(0)) / (latents.std(0) + 1e-8)
    if method == "pca" or len(z) <= dims + 2:
        from sklearn.decomposition import PCA

        return PCA(n_components=dims, random_state=seed or 0).fit_transform(z).astype(np.float32)
    if method != "umap":
        raise ValueError(f"method: expected 'umap' or 'pca', got {method!r}")
    import umap

    n_neighbors = min(n_neighbors, len(z) - 1)
    knn = exact_knn(z, n_neighbors) if len(z) <= EXACT_KNN_MAX else (None, None, None)
    reducer = umap.UMAP(
        n_components=dims,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        random_state=seed,
        init="pca" if len(z) > 4 * dims else "random",
        precomputed_knn=knn,
    )
    with warnings.catch_warnings():
        # what umap-learn warns of here is this function's choice, not news for the terminal of a server or
        # worker: a seed runs single-threaded (reproducible), and new points are placed by `place`, not by
        # UMAP's transform (which an exact, precomputed neighbour graph leaves out)
        warnings.filterwarnings("ignore", message=r"n_jobs value .* overridden", category=UserWarning)
        warnings.filterwarnings("ignore", message=r"precomputed_knn.*transform", category=UserWarning)
        return reducer.fit_transform(z).astype(np.float32)


EXACT_KNN_MAX = 50_000


def exact_knn(z: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, None]:
    """Exact k nearest neighbours (scikit-learn) in UMAP's precomputed_knn form. Below ~50k points this is
    faster than pynndescent's approximate search once its JIT compilation is counted, and exact."""
    from sklearn.neighbors import NearestNeighbors

    dist, idx = NearestNeighbors(n_neighbors=k).fit(z).kneighbors(z)
    return idx, dist.astype(np.float32), None


def warm_up() -> float:
    """Compile UMAP's numba code on a tiny problem (about 10 s once per process); returns seconds taken.

    Benchmarks and tests use it to time and exercise the compilation; the server does not (no web-layer threads).
    """
    import time

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    tiny = rng.normal(size=(120, 8)).astype(np.float32)
    for dims in (2, 3):
        fit_projection(tiny, "umap", dims, seed=None)
    return time.perf_counter() - t0


def standardiser(latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return latents.mean(0), latents.std(0) + 1e-8


def place(new_latents: np.ndarray, train_latents: np.ndarray, train_coords: np.ndarray, k: int = 15) -> np.ndarray:
    """Map positions for new latents, from the fitted map's training latents and coordinates."""
    from sklearn.neighbors import NearestNeighbors

    if len(new_latents) == 0:
        return np.zeros((0, train_coords.shape[1]), np.float32)
    mean, std = standardiser(train_latents)
    ref = (train_latents - mean) / std
    q = (new_latents - mean) / std
    k = min(k, len(ref))
    dist, idx = NearestNeighbors(n_neighbors=k).fit(ref).kneighbors(q)
    rho = dist[:, :1]
    sigma = np.maximum(dist.mean(1, keepdims=True) - rho, 1e-6)
    w = np.exp(-np.clip(dist - rho, 0, None) / sigma)
    w /= w.sum(1, keepdims=True)
    return np.einsum("nk,nkd->nd", w, train_coords[idx]).astype(np.float32)
