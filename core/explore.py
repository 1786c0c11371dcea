"""What the Explore view shows: every mapped image with the facts it can be coloured by.

Groups follow the paper's Fig. 8: experimental, training (generated images in a round's training set),
generated realistic, generated fake, unlabeled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from .workspace import Workspace

log = logging.getLogger(__name__)
GROUPS = ("experimental", "training", "realistic", "fake", "unlabeled")
# 2: tilted detectors (circles about the rings' centre), processed frames in effective photon counts; 3: frames of
# under one count per pixel searched, not refused as dark; 4: rings judged on the tilted plane they fix; 5-6: the
# file header's beam centre where the rings fix none, and its notes
POLAR_CACHE_VERSION = 6
ColourBy = Literal["group", "label", "pattern", "round", "confidence", "symmetry"]


@dataclass
class MapTable:
    run_id: int | None
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    xyz: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    placed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    columns: dict[str, list] = field(default_factory=dict)


def training_ids(ws: Workspace) -> set[int]:
    """Generated images that some round put in its training set (rounds record `training_image_ids`)."""
    out: set[int] = set()
    for rnd in ws.store.list_rounds():
        out.update(int(i) for i in (rnd.details or {}).get("training_image_ids", []))
    return out


def group_of(source: str, label: str | None, in_training: bool) -> str:
    if source == "experimental":
        return "experimental"
    if in_training:
        return "training"
    if label in ("realistic", "fake"):
        return label
    return "unlabeled"


def map_table(ws: Workspace, run_id: int | None = None) -> MapTable:
    """The latest (or given) map with group, label, pattern, round, model confidence and symmetry per point."""
    run = ws.store.get_run(run_id) if run_id else ws.store.latest_map_run()
    if run is None:
        return MapTable(run_id=None)
    arrays = ws.store.map_arrays(run.id)
    facts = ws.store.image_facts()
    labels = ws.store.current_labels()  # all at once: an IN list of 100k ids would exceed SQL limits
    # the realism call, as the Label grid shows it: a pattern round's "rings 0.84" is no realism confidence
    from .classify.predict import task_suggestions

    suggestions = task_suggestions(ws.store, "realism")[1]
    symmetry = ws.store.metrics("symmetry")
    train = training_ids(ws)
    cols: dict[str, list] = {k: [] for k in ("group", "label", "pattern", "round", "confidence", "symmetry", "source")}
    for i in arrays["ids"].tolist():
        source, pattern, round_ = facts[i]
        lab = labels.get(i)
        label = lab.label if lab else None
        cols["group"].append(group_of(source, label, i in train))
        cols["label"].append(label or "unlabeled")
        cols["pattern"].append(pattern or "unknown")
        cols["round"].append(str(round_) if round_ is not None else "none")
        cols["confidence"].append(suggestions.get(i, (None, None))[1])
        cols["symmetry"].append(symmetry.get(i))
        cols["source"].append(source)
    return MapTable(
        run_id=run.id, ids=arrays["ids"], xy=arrays["xy"], xyz=arrays["xyz"], placed=arrays["placed"], columns=cols
    )


def groups_for(ws: Workspace, image_ids: list[int]) -> dict[int, str]:
    """Current group of some images (after a relabel), without rebuilding the whole table."""
    images = {img.id: img for img in ws.store.get_images(image_ids)}
    labels = ws.store.current_labels(image_ids)
    train = training_ids(ws)
    return {
        i: group_of(images[i].source, labels[i].label if i in labels else None, i in train)
        for i in image_ids
        if i in images
    }


@dataclass
class PolarView:
    image_id: int
    centre_x: float
    centre_y: float
    score: float
    source: str
    r: list[float]
    intensity: list[float]
    warp_png: str  # path relative to the workspace
    status: str = "found"  # "no centre": the frame does not fix a centre; the warp is about the best guess
    confidence: float = 1.0
    reason: str = ""
    notes: list[str] = field(default_factory=list)  # what the file's header said against the rings, or for them

    @property
    def symmetry(self) -> float:
        """The symmetry score where the frame fixes a centre, else -1 (no score): the score about a best guess
        is drawn with the warp but measures nothing."""
        return self.score if self.status == "found" else -1.0


def polar_view(ws: Workspace, image_id: int) -> PolarView:
    """Centre, symmetry score, I(r) and the polar-warp PNG of one image; cached by content hash."""
    import json

    from PIL import Image as PILImage

    from .atomic import atomic_write
    from .cache_budget import touch, trim
    from .io import display_normalise
    from .polar import radial_profile, warp

    image = ws.store.get_image(image_id)
    if image is None:
        raise ValueError(f"image {image_id}: no such image")
    from .viewer import calibration_path, calibration_sha

    folder = ws.cache / "polar"
    folder.mkdir(parents=True, exist_ok=True)
    calibration = calibration_path(ws, image.provenance)  # its content is part of the key, as for I(q)
    try:
        key = image.sha256 + (f"-{calibration_sha(calibration)[:16]}" if calibration is not None else "")
    except OSError as exc:  # gone or unreadable since it was found: the search stands in
        _unreadable(calibration, exc)
        calibration, key = None, image.sha256
    meta_path, png_path = folder / f"{key}.json", folder / f"{key}.png"
    try:
        meta = json.loads(meta_path.read_text()) if png_path.exists() else {}
    except (OSError, ValueError):  # none, trimmed by another process just now, or cut short: compute again
        meta = {}
    if meta.get("version") != POLAR_CACHE_VERSION:  # none yet, or cached by an older analysis: (re)compute
        frame = ws.load_frame(image)
        res = _analyse(frame, calibration, str(image.id), image)
        # a calibration's tilted plane about its beam, else circles about the rings' centre (`PolarResult.warp_centre`)
        r, prof = radial_profile(frame.data, res.warp_centre, frame.mask, n_bins=256, plane=res.plane)
        polar = warp(frame.data, res.warp_centre, frame.mask, shape=(360, 256), plane=res.plane)
        disp = display_normalise(np.nan_to_num(polar, nan=0.0), ~np.isfinite(polar), log=False)
        with atomic_write(png_path) as tmp:  # a reader never sees half a file
            PILImage.fromarray((disp * 255).astype(np.uint8), mode="L").save(tmp, format="PNG")
        meta = {
            "version": POLAR_CACHE_VERSION,
            "centre_x": res.centre_x,
            "centre_y": res.centre_y,
            "score": res.score,
            "source": res.source,
            "status": res.status,
            "confidence": res.confidence,
            "reason": res.reason,
            "notes": res.header_notes,
            "r": [round(float(v), 2) for v in r],
            "intensity": [None if not np.isfinite(v) else float(v) for v in prof],
        }
        with atomic_write(meta_path) as tmp:
            tmp.write_text(json.dumps(meta))
        trim(ws.cache, ws.settings.cache_mb, keep=meta_path)
    else:
        touch(meta_path)
    # also from the cache: an earlier view under another calibration may have recorded its own score; a frame that
    # fixes no centre (or has no score) is recorded as -1, so the map can tell it from a frame not yet looked at
    found = meta["status"] == "found" and meta["score"] > -1
    ws.store.set_metrics("symmetry", {image.id: meta["score"] if found else -1.0})
    meta = {k: v for k, v in meta.items() if k != "version"}
    return PolarView(image_id=image.id, warp_png=ws.relative(png_path), **meta)


def _unreadable(calibration: Path, exc: Exception) -> None:
    log.warning("calibration %s could not be read (%s): centre searched", calibration.name, exc)


def _analyse(frame, calibration: Path | None, frame_name: str = "", image=None):
    """The image's calibration gives the centre (and a tilted detector's plane) where it reads and fits the frame;
    otherwise, or if it does not, the search does (logged), with the file header's beam position where the frame's
    rings fix none (`polar.analyse`). `image`: the stored image (its file name or manifest names a HEXRD panel)."""
    from .polar import analyse

    header = frame.meta.get("header_centre")

    if calibration is not None:
        from .viewer import image_geometry, original_name

        try:
            geo = image_geometry(calibration, image, frame.data.shape)
        except Exception as exc:  # any reader failure: the search stands in, as I(r) in pixels does for I(q)
            _unreadable(calibration, exc)
        else:
            if geo.shape is None or tuple(geo.shape) == frame.data.shape:
                try:
                    res = analyse(  # the panel the geometry came from (a manifest's beside a .poni: none)
                        frame.data,
                        frame.mask,
                        calibration=calibration,
                        frame_name=original_name(image),
                        panel=geo.panel,
                    )
                except Exception as exc:  # read again there: a file changed or gone in between
                    _unreadable(calibration, exc)
                    return analyse(frame.data, frame.mask, header=header)
                for warning in res.warnings:  # a Dioptas (up-down flipped) file, a detector of another shape
                    log.warning("calibration %s: %s", calibration.name, warning)
                h, w = frame.data.shape
                if res.score <= -1 or not (-w <= res.centre_x <= 2 * w and -h <= res.centre_y <= 2 * h):
                    where = f"({res.centre_x:.0f}, {res.centre_y:.0f}) of a {h}x{w} frame"
                    log.warning(
                        "calibration %s puts the beam at %s: its rings cannot be scored there", calibration.name, where
                    )
                return res
            log.warning("calibration %s is for a %s detector, not %s: centre searched", calibration.name,
                        "x".join(map(str, geo.shape)), "x".join(map(str, frame.data.shape)))  # fmt: skip
    res = analyse(frame.data, frame.mask, header=header)
    for note in res.header_notes:  # the file's header: used where the rings fix no centre, or far from theirs
        log.info("image %s: %s", frame_name, note)
    return res


def reconstruction_png(ws: Workspace, run_id: int, image_id: int) -> str | None:
    """The map autoencoder's reconstruction of an image as a PNG (relative path), cached per map and image;
    None for a map of physics or classifier features, which has no decoder to redraw the image."""
    from PIL import Image as PILImage

    from .embed import reconstruct_image
    from .embed.pipeline import has_autoencoder

    if not has_autoencoder(ws, run_id):
        return None

    image = ws.store.get_image(image_id)
    if image is None:
        raise ValueError(f"image {image_id}: no such image")
    path = ws.cache / "recon" / str(run_id) / f"{image.sha256}.png"
    if not path.exists():
        x, recon = reconstruct_image(ws, run_id, image_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        both = np.concatenate([x, recon], axis=1)
        PILImage.fromarray(((np.clip(both, -1, 1) + 1) * 127.5).astype(np.uint8), mode="L").save(path)
    return ws.relative(path)


@dataclass
class SymmetryResult:
    scored: int  # images whose frame fixes a centre, so a symmetry
    mean: float | None
    no_centre: int = 0  # images looked at that fix none: no score


def compute_symmetry(
    ws: Workspace, *, pattern: str | None = "rings", progress=None, should_stop=None
) -> SymmetryResult:
    """Symmetry score of every image of `pattern` (all images when None), stored as the `symmetry` metric."""
    from .jobs import check_stop, never_stop, no_progress
    from .store import ImageFilter

    progress = progress or no_progress
    should_stop = should_stop or never_stop
    rows = ws.store.list_images(ImageFilter(pattern=pattern))
    scores = []
    for n, (img, _) in enumerate(rows, 1):
        check_stop(should_stop)
        scores.append(polar_view(ws, img.id).symmetry)
        progress(n, len(rows), f"symmetry {n}/{len(rows)}")
    found = [v for v in scores if v >= 0]
    return SymmetryResult(len(found), float(np.mean(found)) if found else None, len(scores) - len(found))


def map_separation(ws: Workspace, run_id: int | None = None) -> tuple[str, dict] | None:
    """(feature source, separation figure) of the latest (or given) map: the figure stored at its build, or
    today's for a map built before maps recorded one. None when there is no map."""
    from .embed.separation import separation

    run = ws.store.get_run(run_id) if run_id else ws.store.latest_map_run()
    if run is None or not run.result:
        return None
    features = run.result.get("features") or (run.params or {}).get("features") or "autoencoder"
    sep = run.result.get("separation")
    if not sep:
        arrays = ws.store.map_arrays(run.id)
        sep = separation(ws, arrays["ids"], arrays["xy"])
    return features, sep


def feature_sources(ws: Workspace) -> list[tuple[str, str]]:
    """(value, description) of every source a map can be drawn from: the autoencoder, the physics features and
    each finished classifier round, newest first."""
    out = [
        ("autoencoder", "autoencoder latents"),
        ("physics", "physics features (z vs experimental)"),
    ]
    for run in ws.store.list_runs(1000):
        if run.kind == "classify" and run.status == "done" and run.result:
            res = run.result
            models = ", ".join(res.get("models") or [])
            out.append(
                (f"classifier:{run.id}", f"round {res.get('round')} {res.get('task')} ({models}) · run {run.id}")
            )
    return out
