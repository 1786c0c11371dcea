"""Build a latent map of the workspace, and place later images into it.

`build_map` trains the autoencoder on the experimental frames, encodes every image and fits the projection.
Everything is cached by content: the same images (by hash) with the same settings never recompute, they
only re-register the cached map. The cache folder is written under a temporary name and renamed whole; the
map's points and artifacts are registered after it, under the run, and count only once the run is done.
`place_new` puts images the map has not seen at their positions from the fitted projection, so the layout
stays put across rounds; a new layout is an explicit `build_map(force=True)`.

`MapParams.features` picks what is projected: the autoencoder's latents (default), the physics features, or a
classifier round's features (`features.py`). Every build also stores its separation figure (`separation.py`).
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
from .features import map_features, parse_source
from .inputs import load_inputs
from .separation import separation

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
    features: str = "autoencoder"  # | "physics" | "classifier:<run id>" (features.parse_source)


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
    features: str = "autoencoder"
    separation: dict = field(default_factory=dict)  # k-NN accuracy of label and pattern in the 2-D map


MIN_MAP_IMAGES = 3


def check_can_map(store, n: int | None = None) -> None:
    """Raises ValueError when the workspace holds too few images for a map (asked by a page before it starts)."""
    if (store.count_images() if n is None else n) < MIN_MAP_IMAGES:
        raise ValueError(f"a map needs at least {MIN_MAP_IMAGES} images in the workspace")


def cache_key(shas: list[str], params: MapParams) -> str:
    key_params = asdict(params)
    if params.features == "autoencoder":  # the key of every map made before feature sources existed
        del key_params["features"]
    elif params.features == "physics":
        from ..classify.physics import VERSION

        key_params["physics_version"] = VERSION
    payload = json.dumps({"shas": sorted(shas), "params": key_params, "code": CODE_VERSION}, sort_keys=True)
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
    from .projection import fit_projection

    params = params or MapParams()
    kind, _ = parse_source(params.features)  # a bad source fails before any work
    t = {"start": time.perf_counter()}
    rows = ws.store.list_images()
    check_can_map(ws.store, len(rows))
    images = [img for img, _ in rows]
    key = cache_key([img.sha256 for img in images], params)
    cache = ws.cache / "embed" / key
    ids = np.array([img.id for img in images])
    result = dict(run_id=run_id, cache_key=key, cache_dir=ws.relative(cache), features=params.features)
    if not force and (cache / "meta.json").exists():  # written last (and renamed in whole since atomic_dir)
        c2, c3 = np.load(cache / "coords2d.npy"), np.load(cache / "coords3d.npy")
        cached_ids = np.load(cache / "ids.npy")
        meta = json.loads((cache / "meta.json").read_text())
        ws.store.add_map_points(run_id, cached_ids, c2, c3)
        progress(1000, 1000, "map reused from cache")
        return MapResult(
            **result,
            n_images=len(cached_ids),
            n_train=meta["n_train"],
            recomputed=False,
            losses=meta["losses"],
            device=meta["device"],
            seconds={"total": round(time.perf_counter() - t["start"], 3)},
            separation=separation(ws, cached_ids, c2),  # labels change after a build: always today's figure
        )
    if kind == "autoencoder":
        model, tr, latents, n_train = _autoencoder_latents(ws, images, params, progress, should_stop, t)
        state, losses, device = None, tr.losses, tr.device
    else:
        model, losses, device, n_train = None, [], "cpu", 0
        latents, state = map_features(
            ws, images, params.features, progress=_phase(progress, 0.0, 0.8), should_stop=should_stop
        )
        t["inputs"] = t["train"] = t["encode"] = time.perf_counter()
    report = _phase(progress, 0.8, 0.2)
    report(0, 2, f"{params.method} 2-D")
    c2 = fit_projection(latents, params.method, 2, params.seed)
    report(1, 2, f"{params.method} 3-D")
    c3 = fit_projection(latents, params.method, 3, params.seed)
    report(2, 2, "map ready")
    t["project"] = time.perf_counter()
    with atomic_dir(cache) as tmp:  # a build killed while writing leaves no half cache to be reused
        if model is not None:
            model.cpu().save_pretrained(tmp / "autoencoder")
        if state is not None:
            np.savez(tmp / "features_state.npz", **state)
        for name, arr in (("latents", latents), ("ids", ids), ("coords2d", c2), ("coords3d", c3)):
            np.save(tmp / f"{name}.npy", arr)
        meta = {"n_train": n_train, "losses": losses, "device": device, "params": asdict(params)}
        (tmp / "meta.json").write_text(json.dumps({**meta, "features": params.features}))
    ws.store.add_map_points(run_id, ids, c2, c3)
    if model is not None:
        ws.store.add_artifact("autoencoder", ws.relative(cache / "autoencoder"), run_id=run_id, meta={"key": key})
    meta = {"key": key, "n": len(ids), "features": params.features}
    ws.store.add_artifact("embedding", ws.relative(cache), run_id=run_id, meta=meta)
    seconds = {
        k: round(t[k] - t[prev], 3)
        for prev, k in zip(
            ["start", "inputs", "train", "encode"], ["inputs", "train", "encode", "project"], strict=True
        )
    }
    return MapResult(
        **result,
        n_images=len(ids),
        n_train=n_train,
        recomputed=True,
        losses=losses,
        device=device,
        seconds=seconds,
        separation=separation(ws, ids, c2),
    )


def _autoencoder_latents(ws, images, params: MapParams, progress, should_stop, t: dict):
    """Train the autoencoder on the experimental frames (all images when fewer than 3) and encode every image."""
    from .autoencoder import AEConfig, encode, train_autoencoder

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
    return model, tr, latents, len(train)


@dataclass
class PlaceResult:
    map_run_id: int
    placed: int
    seconds: float


def has_autoencoder(ws: Workspace, map_run_id: int) -> bool:
    """Whether a map can show reconstructions (maps of physics or classifier features have no decoder)."""
    return (map_cache(ws, map_run_id) / "autoencoder").exists()


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
        features = json.loads((cache / "meta.json").read_text()).get("features", "autoencoder")
        if features == "autoencoder":
            model = ConvAutoencoder.from_pretrained(cache / "autoencoder")
            x, _ = load_inputs(ws, new, model.config.size, progress=progress, should_stop=should_stop)
            lat = encode(model, x)
        else:  # described like the map's own images: the same reference frames, the same checkpoint
            with np.load(cache / "features_state.npz") as z:
                state = {k: z[k] for k in z.files}
            lat, _ = map_features(ws, new, features, state, progress=progress, should_stop=should_stop)
        ref = np.load(cache / "latents.npy")
        xy = place(lat, ref, np.load(cache / "coords2d.npy"))
        xyz = place(lat, ref, np.load(cache / "coords3d.npy"))
        added = ws.store.add_map_points(map_run_id, [img.id for img in new], xy, xyz, placed=True)
    else:
        added = 0
    return PlaceResult(map_run_id=map_run_id, placed=added, seconds=round(time.perf_counter() - t0, 3))


def reconstruct_image(ws: Workspace, map_run_id: int, image_id: int) -> tuple[np.ndarray, np.ndarray]:
    """(input, reconstruction) of one image at the map's autoencoder size, on the CPU (web process safe)."""
    from .autoencoder import ConvAutoencoder, reconstruct
    from .inputs import image_input

    folder = map_cache(ws, map_run_id) / "autoencoder"
    if not folder.exists():
        raise ValueError(f"run {map_run_id}: this map was not drawn from an autoencoder")
    model = ConvAutoencoder.from_pretrained(folder, device="cpu")
    image = ws.store.get_image(image_id)
    if image is None:
        raise ValueError(f"image {image_id}: no such image")
    x, _ = image_input(ws, image, model.config.size)
    return x, reconstruct(model, x[None, None])[0, 0]
