"""Build a latent map of the workspace, and place later images into it.

`build_map` trains the autoencoder on the experimental frames, encodes every image and fits the projection.
Everything is cached by content: the same images (by hash) with the same settings never recompute, they
only re-register the cached map. The cache folder is written under a temporary name and renamed whole; the
map's points and artifacts are registered after it, under the run, and count only once the run is done.
`place_new` puts images the map has not seen at their positions from the fitted projection, so the layout
stays put across rounds; a new layout is an explicit `build_map(force=True)`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..atomic import atomic_dir
from ..jobs import ProgressFn, StopFn, never_stop, no_progress
from ..workspace import Workspace
from .inputs import load_inputs

CODE_VERSION = "embed-1"


@dataclass
class MapParams:
    size: int = 64
    latent_dim: int = 16
    epochs: int = 60
    batch_size: int = 32
    lr: float = 2e-3
    method: Literal["umap", "pca"] = "umap"
    seed: int | None = 0
    device: str | None = None


@dataclass
class MapResult:
    run_id: int
    n_images: int
    n_train: int
    cache_key: str
    cache_dir: str
    recomputed: bool
    losses: list[float] = field(default_factory=list)
    device: str = "cpu"
    seconds: dict = field(default_factory=dict)


def cache_key(shas: list[str], params: MapParams) -> str:
    payload = json.dumps({"shas": sorted(shas), "params": asdict(params), "code": CODE_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _phase(progress: ProgressFn, start: float, width: float):
    """Map a phase's own (done, total) onto a slice of one overall 0-1000 progress scale."""

    def report(done: int, total: int, message: str = "") -> None:
        progress(int(1000 * (start + width * done / max(total, 1))), 1000, message)

    return report


def build_map(
    ws: Workspace,
    params: MapParams | None = None,
    *,
    run_id: int,
    force: bool = False,
    progress: ProgressFn = no_progress,
    should_stop: StopFn = never_stop,
) -> MapResult:
    """Fit (or reuse) the map of every image in the workspace; registers its points under `run_id`."""
    from .autoencoder import AEConfig, encode, train_autoencoder
    from .projection import fit_projection

    params = params or MapParams()
    t = {"start": time.perf_counter()}
    rows = ws.store.list_images()
    if len(rows) < 3:
        raise ValueError("a map needs at least 3 images in the workspace")
    images = [img for img, _ in rows]
    key = cache_key([img.sha256 for img in images], params)
    cache = ws.cache / "embed" / key
    ids = np.array([img.id for img in images])
    if not force and (cache / "meta.json").exists():  # written last (and renamed in whole since atomic_dir)
        c2, c3 = np.load(cache / "coords2d.npy"), np.load(cache / "coords3d.npy")
        cached_ids = np.load(cache / "ids.npy")
        meta = json.loads((cache / "meta.json").read_text())
        ws.store.add_map_points(run_id, cached_ids, c2, c3)
        progress(1000, 1000, "map reused from cache")
        return MapResult(
            run_id=run_id,
            n_images=len(cached_ids),
            n_train=meta["n_train"],
            cache_key=key,
            cache_dir=ws.relative(cache),
            recomputed=False,
            losses=meta["losses"],
            device=meta["device"],
            seconds={"total": round(time.perf_counter() - t["start"], 3)},
        )
    train = [img for img in images if img.source == "experimental"]
    if len(train) < 3:
        train = images  # no experimental frames yet: learn from everything there is
    x_train, v_train = load_inputs(
        ws, train, params.size, progress=_phase(progress, 0.0, 0.1), should_stop=should_stop
    )
    t["inputs"] = time.perf_counter()
    config = AEConfig(size=params.size, latent_dim=params.latent_dim)
    model, tr = train_autoencoder(
        x_train,
        v_train,
        config,
        epochs=params.epochs,
        batch_size=params.batch_size,
        lr=params.lr,
        seed=params.seed or 0,
        device=params.device,
        progress=_phase(progress, 0.1, 0.6),
        should_stop=should_stop,
    )
    t["train"] = time.perf_counter()
    x_all, _ = load_inputs(ws, images, params.size, progress=_phase(progress, 0.7, 0.1), should_stop=should_stop)
    latents = encode(model, x_all)
    t["encode"] = time.perf_counter()
    report = _phase(progress, 0.8, 0.2)
    report(0, 2, f"{params.method} 2-D")
    c2 = fit_projection(latents, params.method, 2, params.seed)
    report(1, 2, f"{params.method} 3-D")
    c3 = fit_projection(latents, params.method, 3, params.seed)
    report(2, 2, "map ready")
    t["project"] = time.perf_counter()
    with atomic_dir(cache) as tmp:  # a build killed while writing leaves no half cache to be reused
        model.cpu().save_pretrained(tmp / "autoencoder")
        for name, arr in (("latents", latents), ("ids", ids), ("coords2d", c2), ("coords3d", c3)):
            np.save(tmp / f"{name}.npy", arr)
        (tmp / "meta.json").write_text(
            json.dumps({"n_train": len(train), "losses": tr.losses, "device": tr.device, "params": asdict(params)})
        )
    ws.store.add_map_points(run_id, ids, c2, c3)
    ws.store.add_artifact("autoencoder", ws.relative(cache / "autoencoder"), run_id=run_id, meta={"key": key})
    ws.store.add_artifact("embedding", ws.relative(cache), run_id=run_id, meta={"key": key, "n": len(ids)})
    seconds = {
        k: round(t[k] - t[prev], 3)
        for prev, k in zip(
            ["start", "inputs", "train", "encode"], ["inputs", "train", "encode", "project"], strict=True
        )
    }
    return MapResult(
        run_id=run_id,
        n_images=len(ids),
        n_train=len(train),
        cache_key=key,
        cache_dir=ws.relative(cache),
        recomputed=True,
        losses=tr.losses,
        device=tr.device,
        seconds=seconds,
    )


@dataclass
class PlaceResult:
    map_run_id: int
    placed: int
    seconds: float


def map_cache(ws: Workspace, map_run_id: int) -> Path:
    run = ws.store.get_run(map_run_id)
    if run is None or run.kind != "embed" or not run.result:
        raise ValueError(f"run {map_run_id}: not a finished map")
    return ws.root / run.result["cache_dir"]


def place_new(
    ws: Workspace, map_run_id: int, *, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop
) -> PlaceResult:
    """Encode the images the map does not hold yet and place them with the fitted projection."""
    from .autoencoder import ConvAutoencoder, encode
    from .projection import place

    t0 = time.perf_counter()
    cache = map_cache(ws, map_run_id)
    have = {p.image_id for p in ws.store.map_points(map_run_id)}
    new = [img for img, _ in ws.store.list_images() if img.id not in have]
    if new:
        model = ConvAutoencoder.from_pretrained(cache / "autoencoder")
        x, _ = load_inputs(ws, new, model.config.size, progress=progress, should_stop=should_stop)
        lat = encode(model, x)
        ref = np.load(cache / "latents.npy")
        xy = place(lat, ref, np.load(cache / "coords2d.npy"))
        xyz = place(lat, ref, np.load(cache / "coords3d.npy"))
        ws.store.add_map_points(map_run_id, [img.id for img in new], xy, xyz, placed=True)
    return PlaceResult(map_run_id=map_run_id, placed=len(new), seconds=round(time.perf_counter() - t0, 3))


def reconstruct_image(ws: Workspace, map_run_id: int, image_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(input, reconstruction) of one image at the map's autoencoder size, on the CPU (web process safe)."""
    from .autoencoder import ConvAutoencoder, reconstruct
    from .inputs import image_input

    model = ConvAutoencoder.from_pretrained(map_cache(ws, map_run_id) / "autoencoder", device="cpu")
    image = ws.store.get_image(image_id)
    if image is None:
        raise ValueError(f"image {image_id}: no such image")
    x, _ = image_input(ws, image, model.config.size)
    return x, reconstruct(model, x[None, None])[0, 0]
