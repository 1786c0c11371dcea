"""The full-resolution image viewer: a decoded-frame cache, windowing, downsampling and pixel look-up.

A browser cannot take a 2048x2048 float frame as JSON in under a second, so the viewer sends a PNG of at most
`max_side` pixels a side: the whole frame block-averaged, or, after a zoom, the visible region at full
resolution once it is small enough. The contrast window (log or linear, percentile clip) is taken over the
whole frame's valid pixels, so zooming never changes what a colour means. Exact values, and q and chi where
a calibration is known, are read per pixel from the cache, never from the downsampled picture.

Stored originals are read once and kept as `.npy` files under `cache/frames/` keyed by content hash; later
views memory-map them, so a zoom or a hover reads only the pixels it needs.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .atomic import atomic_write
from .cache_budget import touch, trim
from .originals import file_sha256
from .safe_paths import resolve_inside
from .workspace import Workspace

log = logging.getLogger(__name__)

Scale = Literal["log", "linear"]
MAX_SIDE = 1024
CALIBRATION_FOLDER = "calibration"


@dataclass(frozen=True)
class Window:
    """How values become colours: `low`/`high` are percentiles of the frame's valid pixels."""

    scale: Scale = "log"
    low: float = 1.0
    high: float = 99.8
    show_mask: bool = True

    def __post_init__(self):
        if self.scale not in ("log", "linear"):
            raise ValueError(f"scale: expected 'log' or 'linear', got {self.scale!r}")
        if not 0.0 <= self.low < self.high <= 100.0:
            raise ValueError(f"percentile clip: need 0 <= low < high <= 100, got {self.low}, {self.high}")


@dataclass(frozen=True)
class Region:
    """Columns x0..x1 and rows y0..y1 of the frame, half-open."""

    x0: int
    y0: int
    x1: int
    y1: int


@dataclass
class View:
    image_id: int
    height: int
    width: int
    region: Region
    step: int  # one shown pixel is step x step frame pixels (block mean)
    level: np.ndarray  # uint8 colour index, 0..255, shape of the shown picture
    masked: np.ndarray  # bool, same shape: masked pixels (more than half of the block)
    vmin: float  # the clip window in raw units
    vmax: float
    scale: Scale
    ticks: list[tuple[float, float]]  # (position 0..1 on the colour bar, raw value)
    show_mask: bool


@dataclass
class PixelInfo:
    row: int
    col: int
    value: float
    masked: bool
    q: float | None = None  # inverse Angstrom
    chi: float | None = None  # degrees
    calibration: str | None = None


# ------------------------------------------------------------------------------------------- frame cache
def _cache_paths(ws: Workspace, sha256: str) -> tuple[Path, Path, Path]:
    folder = ws.cache / "frames" / sha256[:2]
    return folder / f"{sha256}.npy", folder / f"{sha256}.mask.npy", folder / f"{sha256}.json"


def cached_frame(ws: Workspace, image_id: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(values, mask, stats) of an image, memory-mapped from the frame cache (filled from the stored original
    the first time). `stats` holds the sorted sample of valid values the percentile clip is taken from.

    Raises:
        ValueError: no such image.
    """
    image = ws.store.get_image(int(image_id))
    if image is None:
        raise ValueError(f"image {image_id}: no such image")
    data_path, mask_path, stats_path = _cache_paths(ws, image.sha256)
    for attempt in range(2):
        if not (data_path.exists() and mask_path.exists() and stats_path.exists()):
            _fill_frame_cache(ws, image, data_path, mask_path, stats_path)
        else:
            touch(stats_path)
        try:
            data = np.load(data_path, mmap_mode="r")
            mask = np.load(mask_path, mmap_mode="r")
            return data, mask, json.loads(stats_path.read_text())
        except FileNotFoundError:  # trimmed by another process between the check and the read: fill again
            if attempt:
                raise
    raise AssertionError("unreachable")


def _fill_frame_cache(ws: Workspace, image, data_path: Path, mask_path: Path, stats_path: Path) -> None:
    frame = ws.load_frame(image)
    with atomic_write(data_path) as tmp:
        np.save(tmp, np.ascontiguousarray(frame.data))
    with atomic_write(mask_path) as tmp:
        np.save(tmp, np.ascontiguousarray(frame.mask, dtype=bool))
    valid = np.asarray(frame.data, dtype=np.float64)[~frame.mask]
    sample = valid if valid.size else np.zeros(1)  # a frame masked everywhere still opens (flat, all masked)
    stats = {"valid": int(valid.size), "quantiles": np.quantile(sample, np.linspace(0, 1, 1001)).tolist()}
    positive = valid[valid > 0]
    stats["min_positive"] = float(positive.min()) if positive.size else None
    with atomic_write(stats_path) as tmp:
        tmp.write_text(json.dumps(stats))
    trim(ws.cache, ws.settings.cache_mb, keep=data_path)


def percentile_value(stats: dict, pct: float) -> float:
    """The `pct` percentile of the frame's valid values, from the 1001 stored quantiles (0.1 % steps)."""
    q = stats["quantiles"]
    pos = float(np.clip(pct, 0, 100)) * (len(q) - 1) / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(q) - 1)
    return float(q[lo] + (q[hi] - q[lo]) * (pos - lo))


# ------------------------------------------------------------------------------------------- windowing
def clip_window(stats: dict, window: Window) -> tuple[float, float]:
    """(vmin, vmax) in raw units. On a log scale vmin is at least the smallest positive value (log of 0 or a
    negative count has no place on the bar)."""
    vmin, vmax = percentile_value(stats, window.low), percentile_value(stats, window.high)
    if window.scale == "log":
        floor = stats.get("min_positive") or 1.0
        vmin = max(vmin, floor)
        vmax = max(vmax, vmin * 10 if vmax <= vmin else vmax)
    elif vmax <= vmin:
        vmax = vmin + 1.0
    return float(vmin), float(vmax)


def normalise(values: np.ndarray, vmin: float, vmax: float, scale: Scale) -> np.ndarray:
    """Raw values to 0..1 in the window (NaN stays NaN)."""
    v = np.clip(values, vmin, vmax)
    if scale == "log":
        return (np.log10(v) - math.log10(vmin)) / (math.log10(vmax) - math.log10(vmin))
    return (v - vmin) / (vmax - vmin)


def colour_ticks(vmin: float, vmax: float, scale: Scale, n: int = 5) -> list[tuple[float, float]]:
    """Colour-bar ticks as (position 0..1, raw value): decades (and 2x, 5x when few) on a log scale, evenly
    spaced round numbers on a linear one; the window's ends are always included."""
    if scale == "log":
        lo, hi = math.log10(vmin), math.log10(vmax)
        values = [10.0**k for k in range(math.ceil(lo), math.floor(hi) + 1)]
        if len(values) < 3:
            values = sorted({m * 10.0**k for k in range(math.floor(lo), math.ceil(hi) + 1) for m in (1, 2, 5)})
        values = [v for v in values if vmin <= v <= vmax]
    else:
        raw = (vmax - vmin) / (n - 1)
        mag = 10.0 ** math.floor(math.log10(raw))
        step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
        values = list(np.arange(math.ceil(vmin / step) * step, vmax + step * 1e-9, step))
    values = sorted({vmin, vmax, *values})
    pos = normalise(np.asarray(values, dtype=np.float64), vmin, vmax, scale)
    return [(float(p), float(v)) for p, v in zip(pos, values, strict=True)]


# ------------------------------------------------------------------------------------------- regions
def region_from_ranges(height: int, width: int, xrange=None, yrange=None) -> Region:
    """The frame pixels visible in plot ranges (pixel centres at integers), clamped to the frame; the whole
    frame when a range is missing."""
    x0, x1 = 0, width
    y0, y1 = 0, height
    if xrange is not None:
        a, b = sorted(float(v) for v in xrange)
        x0, x1 = max(0, math.floor(a + 0.5)), min(width, math.ceil(b + 0.5))
    if yrange is not None:
        a, b = sorted(float(v) for v in yrange)
        y0, y1 = max(0, math.floor(a + 0.5)), min(height, math.ceil(b + 0.5))
    if x1 <= x0 or y1 <= y0:
        return Region(0, 0, width, height)
    return Region(x0, y0, x1, y1)


def block_mean(values: np.ndarray, step: int) -> np.ndarray:
    """Mean over step x step blocks, ignoring NaN (a block of NaN only stays NaN); edges padded with NaN."""
    if step == 1:
        return values.astype(np.float32)
    h, w = values.shape
    ph, pw = -h % step, -w % step
    v = np.pad(values.astype(np.float32), ((0, ph), (0, pw)), constant_values=np.nan)
    v = v.reshape(v.shape[0] // step, step, v.shape[1] // step, step)
    ok = np.isfinite(v)
    total = np.where(ok, v, 0.0).sum(axis=(1, 3))
    count = ok.sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(np.float32)


def render(
    ws: Workspace, image_id: int, window: Window = Window(), region: Region | None = None, max_side: int = MAX_SIDE
) -> View:
    """The picture of an image (or of a region of it) in a window, at most `max_side` pixels a side.

    Masked pixels: with `show_mask` they are flagged (the figure paints them) and left out of block means;
    without it their stored values are drawn like any other, clipped into the window.
    """
    data, mask, stats = cached_frame(ws, image_id)
    h, w = data.shape
    region = region or Region(0, 0, w, h)
    if not (0 <= region.x0 < region.x1 <= w and 0 <= region.y0 < region.y1 <= h):
        raise ValueError(f"region {region}: outside the {h}x{w} frame")
    vmin, vmax = clip_window(stats, window)
    sub = np.asarray(data[region.y0 : region.y1, region.x0 : region.x1], dtype=np.float32)
    sub_mask = np.asarray(mask[region.y0 : region.y1, region.x0 : region.x1])
    bad = sub_mask | ~np.isfinite(sub)
    step = max(1, math.ceil(max(sub.shape) / max_side))
    shown = block_mean(np.where(bad, np.nan, sub) if window.show_mask else np.where(np.isfinite(sub), sub, vmin), step)
    masked = block_mean(bad.astype(np.float32), step) > 0.5 if window.show_mask else np.zeros(shown.shape, bool)
    masked |= ~np.isfinite(shown)
    norm = normalise(np.where(np.isfinite(shown), shown, vmin), vmin, vmax, window.scale)
    level = np.round(norm * 255).astype(np.uint8)
    return View(
        image_id=int(image_id),
        height=h,
        width=w,
        region=region,
        step=step,
        level=level,
        masked=masked,
        vmin=vmin,
        vmax=vmax,
        scale=window.scale,
        ticks=colour_ticks(vmin, vmax, window.scale),
        show_mask=window.show_mask,
    )


def view_png(view: View, lut: np.ndarray, mask_rgba: tuple[int, int, int, int] = (255, 0, 255, 255)) -> bytes:
    """The view as an RGBA PNG through a 256x3 colour table; masked pixels in `mask_rgba`."""
    from PIL import Image

    lut = np.asarray(lut, dtype=np.uint8)
    if lut.shape != (256, 3):
        raise ValueError(f"colour table: expected shape (256, 3), got {lut.shape}")
    rgba = np.empty((*view.level.shape, 4), dtype=np.uint8)
    rgba[..., :3] = lut[view.level]
    rgba[..., 3] = 255
    rgba[view.masked] = mask_rgba
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------- pixels
def panel_of(image) -> str | None:
    """The calibration panel an image's manifest named (`panel`: a many-panel HEXRD instrument's), or None."""
    named = ((image.provenance if image is not None else None) or {}).get("panel")
    return str(named) if named not in (None, "") else None


def original_name(image) -> str | None:
    """The name the image's file had where it came from (a HEXRD panel's frames are named after the panel)."""
    return Path(image.original_name).name if image is not None and image.original_name else None


def image_geometry(path: Path, image, shape: tuple):
    """The geometry of the calibration file `path` for a stored image of `shape`: for an instrument of several
    panels, the one its manifest named (`panel_of`), else its shape or file name say (`read_calibration`); a panel
    named beside another format is passed over."""
    from .geometry.readers import read_calibration

    return read_calibration(
        path, frame_shape=shape, frame_name=original_name(image), panel=panel_of(image), panel_only_for_hexrd=False
    )


def calibration_path(ws: Workspace, provenance: dict | None) -> Path | None:
    """The calibration file of an image: the one its provenance names under `<workspace>/calibration/`, else a
    workspace-wide `calibration/default.*`; None when there is none. Only files inside that folder count."""
    folder = ws.root / CALIBRATION_FOLDER
    if not folder.is_dir():
        return None
    name = (provenance or {}).get("calibration")
    if isinstance(name, str) and name:
        try:
            return resolve_inside(folder, name, within=ws.root)
        except FileNotFoundError:
            log.warning("calibration %r named by an image is not a file of %s", name, folder)
    for candidate in sorted(p for p in folder.iterdir() if p.stem == "default"):
        try:  # a link out of the folder, or anything but a file, is not the workspace's calibration
            path = resolve_inside(folder, candidate.name, within=ws.root)
        except FileNotFoundError:
            log.warning("%s is not a file of %s: not used as the calibration", candidate.name, folder)
            continue
        if path.is_file():
            return path
    return None


WHOLE_HASH_BYTES = 16 * 2**20  # a calibration file larger than this (a NeXus file with its data) is keyed cheaper


def calibration_sha(path: Path) -> str:
    """SHA-256 of a calibration file's content, read in blocks; for a file over WHOLE_HASH_BYTES (read on every
    view of every image) of its size, modification time and first and last MiB instead."""
    st = path.stat()
    if st.st_size <= WHOLE_HASH_BYTES:
        return file_sha256(path)
    h = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode())
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
        fh.seek(-(1 << 20), 2)
        h.update(fh.read(1 << 20))
    return h.hexdigest()


def pixel_info(ws: Workspace, image_id: int, x: float, y: float) -> PixelInfo:
    """The stored value at plot position (x, y) (column, row; pixel centres at integers), whether it is masked,
    and q (1/Angstrom) and chi (degrees) from pyFAI where the image has a calibration with a wavelength.

    Raises:
        ValueError: no such image, or a position outside the frame.
    """
    data, mask, _ = cached_frame(ws, image_id)
    h, w = data.shape
    col, row = int(round(float(x))), int(round(float(y)))
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(f"pixel ({row}, {col}): outside the {h}x{w} frame")
    info = PixelInfo(row=row, col=col, value=float(data[row, col]), masked=bool(mask[row, col]))
    image = ws.store.get_image(int(image_id))
    path = calibration_path(ws, image.provenance if image else None)
    if path is not None:
        try:
            geo = image_geometry(path, image, (h, w))
            info.calibration = path.name
            if geo.wavelength_m and geo.distance_m and geo.pixel_m:
                ai = geo.integrator()
                d1, d2 = np.array([row], dtype=float), np.array([col], dtype=float)
                info.q = float(ai.qFunction(d1, d2)[0]) / 10.0  # pyFAI gives nm^-1
                info.chi = float(np.degrees(ai.chi(d1, d2)[0]))
        except (ValueError, OSError) as exc:
            log.warning("calibration %s: %s", path, exc)
    return info
