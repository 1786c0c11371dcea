"""An image's radial profile in physical units where it can have them: I(q) in inverse Angstrom and the (q, chi)
cake when the image has a calibration with a wavelength (pyFAI integrates), else I(r) in pixels about the
searched beam centre, with a note that says so and how to add a calibration.

The detail panel, the Evaluate tab and the report all read `image_profile`, so the three never disagree on an
image's units. Integration runs once per (image content, calibration content) on the cached frame and is kept
under `cache/qprofile/` (a JSON of plain lists and the cake as a PNG, both named by one hash); pixel splitting
is used where it is cheap (frames up to 2 megapixels), plain histogramming above.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .atomic import atomic_write
from .cache_budget import touch, trim
from .viewer import calibration_sha
from .workspace import Workspace

log = logging.getLogger(__name__)

NOTE_NO_CALIBRATION = (
    "no calibration: radius in pixels (for q in Å⁻¹ put a calibration file at <workspace>/calibration/default.poni, "
    "or name a file of that folder in the image's provenance: a 'calibration' column of the import metadata)"
)
NPT_Q = 256
NPT_CHI = 180
SPLIT_MAX_PIXELS = 2_000_000
VERSION = "2"  # bump when what is cached changes (2: a .poni's own pyFAI geometry, rot3 and orientation kept)
FOLDER = "qprofile"


@dataclass
class Profile:
    """Plain data for a figure: `x` is q (1/Angstrom) when `unit == "q"`, else r (pixels from the centre)."""

    image_id: int
    unit: Literal["q", "r"]
    x: list[float]
    intensity: list[float | None]
    note: str
    calibration: str | None = None  # the calibration file's name (under <workspace>/calibration/)
    cake_name: str | None = None  # `<hash>.png` under cache/qprofile: chi down, q right
    cake_png: str | None = None  # the same, relative to the workspace
    cake_q: list[float] | None = None
    cake_chi: list[float] | None = None  # degrees, pyFAI's -180..180
    cake_log10: list[list[float | None]] | None = None  # [chi][q]; None where no pixel fell

    @property
    def x_title(self) -> str:
        return "q (Å⁻¹)" if self.unit == "q" else "r (px)"


def _pixels(ws: Workspace, image_id: int, note: str, calibration: str | None = None) -> Profile:
    from .explore import polar_view

    pv = polar_view(ws, image_id)
    return Profile(image_id, "r", list(pv.r), list(pv.intensity), note, calibration)


def _finite(values: np.ndarray, digits: int) -> list[float | None]:
    """Rounded values; empty bins (pyFAI leaves 0 where no pixel fell) and non-finite ones become None."""
    return [round(float(v), digits) if np.isfinite(v) and v != 0 else None for v in np.asarray(values)]


def _geometry(ws: Workspace, image) -> tuple[object | None, Path | None, str]:
    """(geometry, its file, "") when the image has a usable calibration, else (None, file or None, why not)."""
    from .viewer import calibration_path, image_geometry

    path = calibration_path(ws, image.provenance)
    if path is None:
        return None, None, NOTE_NO_CALIBRATION
    try:
        geo = image_geometry(path, image, (image.height, image.width))
    except Exception as exc:  # any reader failure: the panel says why and keeps pixels
        log.warning("calibration %s: %s", path, exc)
        return None, path, f"calibration {path.name} could not be read ({exc}): radius in pixels"
    missing = [
        n
        for n, v in (("wavelength", geo.wavelength_m), ("distance", geo.distance_m), ("pixel size", geo.pixel_m))
        if not v
    ]
    if missing:
        return None, path, f"calibration {path.name} gives no {' or '.join(missing)}: radius in pixels"
    if geo.shape is not None and tuple(geo.shape) != (image.height, image.width):
        return (
            None,
            path,
            (
                f"calibration {path.name} is for a {geo.shape[0]}×{geo.shape[1]} detector, this image is "
                f"{image.height}×{image.width}: radius in pixels"
            ),
        )
    return geo, path, ""


def _integrate(ws: Workspace, image_id: int, geo) -> dict:
    from .geometry.integrate import cake, integrate_q
    from .viewer import cached_frame

    data, mask, _ = cached_frame(ws, image_id)
    data, mask = np.array(data, dtype=np.float32), np.array(mask, dtype=bool)  # pyFAI needs writable copies
    split = "bbox" if data.size <= SPLIT_MAX_PIXELS else "no"
    method = (split, "histogram", "cython")
    ai = geo.integrator()
    q, intensity = integrate_q(data, geo, mask, npt=NPT_Q, method=method, integrator=ai)
    z, cq, chi = cake(data, geo, mask, npt_q=NPT_Q, npt_chi=NPT_CHI, method=method, integrator=ai)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_z = np.where(np.isfinite(z) & (z > 0), np.log10(np.where(z > 0, z, 1.0)), np.nan)
    return {
        "x": [round(float(v), 6) for v in q],
        "intensity": _finite(intensity, 6),
        "cake_q": [round(float(v), 6) for v in cq],
        "cake_chi": [round(float(v), 3) for v in chi],
        "cake_log10": [[round(float(v), 3) if np.isfinite(v) else None for v in row] for row in log_z],
        "_z": log_z,
    }


def _cake_png(log_z: np.ndarray, path: Path) -> None:
    from PIL import Image as PILImage

    from .io import display_normalise

    empty = ~np.isfinite(log_z)
    disp = display_normalise(np.where(empty, 0.0, log_z), empty, log=False)
    with atomic_write(path) as tmp:
        PILImage.fromarray((disp * 255).astype(np.uint8), mode="L").save(tmp, format="PNG")


def image_profile(ws: Workspace, image_id: int) -> Profile:
    """I(q) and the (q, chi) cake of an image with a calibration, else I(r) in pixels with a note saying why.

    Raises:
        ValueError: no such image.
    """
    image = ws.store.get_image(int(image_id))
    if image is None:
        raise ValueError(f"image {image_id}: no such image")
    geo, path, why = _geometry(ws, image)
    if geo is None:
        return _pixels(ws, image.id, why, path.name if path else None)
    try:
        content = calibration_sha(path)
    except OSError as exc:  # gone or unreadable since it was read: pixels, and why
        log.warning("calibration %s: %s", path, exc)
        return _pixels(ws, image.id, f"calibration {path.name} could not be read ({exc}): radius in pixels")
    key = hashlib.sha256(f"{VERSION}:{NPT_Q}:{NPT_CHI}:{image.sha256}:{content}".encode()).hexdigest()
    folder = ws.cache / FOLDER
    json_path, png_path = folder / f"{key}.json", folder / f"{key}.png"
    data = None
    if json_path.exists() and png_path.exists():
        touch(json_path)
        try:
            data = json.loads(json_path.read_text())
        except FileNotFoundError:  # trimmed by another process just now: integrate again
            data = None
    if data is None:
        try:
            data = _integrate(ws, image.id, geo)
        except Exception as exc:  # pyFAI refusing this geometry: say so, keep pixels
            log.warning("integrating image %s with %s: %s", image.id, path, exc)
            return _pixels(ws, image.id, f"calibration {path.name} could not be applied ({exc}): radius in pixels")
        folder.mkdir(parents=True, exist_ok=True)
        _cake_png(data.pop("_z"), png_path)
        with atomic_write(json_path) as tmp:
            tmp.write_text(json.dumps(data))
        trim(ws.cache, ws.settings.cache_mb, keep=json_path)
    note = f"I(q) and cake from calibration {path.name} (pyFAI; solid-angle and polarisation corrected)"
    doubts = [n.removeprefix("check: ") for n in geo.notes if n.startswith("check: ")]  # e.g. degrees as radians
    note += "".join(f"; check: {d}" for d in doubts)
    return Profile(
        image.id,
        "q",
        note=note,
        calibration=path.name,
        cake_name=png_path.name,
        cake_png=ws.relative(png_path),
        **data,
    )


def profile_dict(profile: Profile, with_cake: bool = False) -> dict:
    """The profile as JSON-ready data (the cake's values only when asked: they are the bulk)."""
    out = asdict(profile)
    out["x_title"] = profile.x_title
    if not with_cake:
        out.pop("cake_log10")
    return out
