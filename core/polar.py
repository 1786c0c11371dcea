"""Beam-centre search, polar warp and the ring symmetry score.

Rings about the true beam centre become straight lines in polar coordinates. The centre is found as in the
paper by a grid search (coarse over the frame, then finer), refined to sub-pixel with Nelder-Mead: the centre
is where the radius explains most of the variance of the high-passed log image. The *symmetry score* is then
how well the radial profiles of azimuthal sectors agree about that centre (Pearson correlation of each
high-passed sector profile with the mean profile): insensitive to intensity texture along a ring, low for
missing arcs, radial jumps and rings that are not concentric with each other.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .geometry.active import active_area
from .geometry.centre import find_centre, search_centre
from .geometry.header import in_reach as header_in_reach
from .geometry.readers import check_flip, read_calibration, read_poni
from .geometry.sectors import N_SECTORS, corner_radius, polar_samples, sector_agreement
from .geometry.tilt import tilted_radius
from .io import make_mask
from .photons import as_counts

__all__ = [
    "N_SECTORS",
    "PolarResult",
    "analyse",
    "find_centre",
    "polar_samples",
    "radial_profile",
    "read_calibration",
    "read_poni",
    "search_centre",
    "sector_agreement",
    "straightness",
    "warp",
]


HEADER_AGREES = (5.0, 0.01)  # px, and fraction of the frame's longer side: a header this close agrees with the rings


@dataclass
class PolarResult:
    centre_x: float
    centre_y: float
    score: float  # symmetry: mean agreement of the sectors' radial profiles at the centre, in [-1, 1]
    source: str  # "search", "poni" or the calibration format
    timings: dict = field(default_factory=dict)
    status: str = "found"  # or "no centre": the frame does not determine a centre (see `reason`)
    confidence: float = 1.0  # 0..1 for a searched centre; 1 for a calibration file or a header's centre
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    masked: dict = field(default_factory=dict)
    tilt_deg: float = 0.0  # a searched centre's detector tilt, when its rings fixed one
    tilt_axis_deg: float | None = None  # a fitted tilt's axis, counter-clockwise from +x with y up (a
    # calibration's tilt keeps its own convention: Fit2D's tilt-plane rotation, not repeated here)
    distance_px: float | None = None  # sample to beam point in pixels, when a tilt fixed it
    rings_centre: tuple[float, float] | None = None  # the rings' mean centre, when a tilt moved the beam off it
    header_centre: dict | None = None  # where the file's header says the beam is (`geometry.header`), if it does
    header_notes: list[str] = field(default_factory=list)  # what was made of it (also among `warnings`)

    # (distance in pixels, tilt, tilt axis in radians) of a calibration's tilted detector, for `tilt.tilted_radius`
    # about the centre; None without one. A tilt the search fitted is not used: see `warp_centre`
    plane: tuple[float, float, float] | None = None

    @property
    def warp_centre(self) -> tuple[float, float]:
        """The point circles are best drawn about when no calibration gives a plane: the rings' mean centre when
        the search's tilt moved the beam point off it, else the centre. (Rings whose centres drift with their size,
        a hallucination, are fitted by a tilt too; read on its plane they would look straight.)"""
        return self.rings_centre if self.rings_centre is not None else (self.centre_x, self.centre_y)


def _prepare(data: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    x = np.asarray(data, dtype=np.float64)
    mask = make_mask(x) if mask is None else mask
    x = as_counts(x, mask)  # a processed frame's units, read as effective photon counts
    out = np.log1p(np.clip(np.where(mask, 0, x), 0, None))
    out[mask] = np.nan
    return out


def straightness(
    data: np.ndarray,
    centre: tuple[float, float],
    mask: np.ndarray | None = None,
    n_theta: int = 192,
    max_side: int = 256,
    plane: tuple[float, float, float] | None = None,
) -> float:
    """How straight the rings are in polar coordinates about `centre`: agreement of the sectors' radial profiles
    (insensitive to intensity texture along a ring, sensitive to missing arcs, jumps and non-concentric rings).
    With `plane` (`PolarResult.plane`) the radius is that of the tilted detector's untilted plane about its beam
    point `centre`, so a tilted detector's rings are straight too."""
    img = _prepare(data, mask)
    scale = max(1, int(round(max(img.shape) / max_side)))
    if scale > 1:
        img = _downsample_nan(img, scale)
    cx, cy = (centre[0] + 0.5) / scale - 0.5, (centre[1] + 0.5) / scale - 0.5
    r_max = float(np.hypot(*img.shape))
    if plane is not None:
        plane = (plane[0] / scale, plane[1], plane[2])
        r_max = max(r_max, corner_radius(img.shape, cx, cy, plane))
    return sector_agreement(polar_samples(img, cx, cy, n_theta, r_max, r_min=3.0, plane=plane))


def _downsample_nan(img: np.ndarray, f: int) -> np.ndarray:
    """Block-average by an integer factor ignoring NaN (a block all NaN stays NaN)."""
    h, w = (img.shape[0] // f) * f, (img.shape[1] // f) * f
    blocks = img[:h, :w].reshape(h // f, f, w // f, f)
    with np.errstate(all="ignore"), warnings.catch_warnings():  # all-NaN blocks: "Mean of empty slice"
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(blocks, axis=(1, 3))


def warp(
    data: np.ndarray,
    centre: tuple[float, float],
    mask: np.ndarray | None = None,
    shape: tuple[int, int] = (360, 256),
    plane: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """Polar warp for display: rows are azimuth (0-360 deg), columns radius; `skimage.transform.warp_polar`
    on the log image, masked pixels NaN. With `plane` (`PolarResult.plane`) the radius is distance x tan 2theta
    about the tilted detector's beam point `centre`, as a calibrated cake has it, so its rings are straight."""
    img = _prepare(data, mask)
    h, w = img.shape
    cx, cy = centre
    if plane is not None:
        return polar_samples(img, cx, cy, shape[0], corner_radius((h, w), cx, cy, plane), n_r=shape[1], plane=plane)
    from skimage.transform import warp_polar

    radius = float(np.hypot(max(cx, w - cx), max(cy, h - cy)))
    filled = np.nan_to_num(img, nan=-1.0)
    out = warp_polar(filled, center=(cy, cx), radius=radius, output_shape=shape, order=1, cval=np.nan)
    out[out < 0] = np.nan
    return out


def radial_profile(
    data: np.ndarray,
    centre: tuple[float, float],
    mask: np.ndarray | None = None,
    n_bins: int | None = None,
    plane: tuple[float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthally averaged I(r) of the valid pixels (raw counts), as (r, I); with `plane` (`PolarResult.plane`)
    r is distance x tan 2theta about the tilted detector's beam point `centre`."""
    x = np.asarray(data, dtype=np.float64)
    mask = make_mask(x) if mask is None else mask
    yy, xx = np.indices(x.shape)
    if plane is None:
        r = np.hypot(xx - centre[0], yy - centre[1])
    else:
        r = tilted_radius(xx, yy, centre[0], centre[1], *plane)
        mask = mask | ~np.isfinite(r)
        r = np.where(np.isfinite(r), r, 0.0)
    n_bins = n_bins or int(r.max()) + 1
    bins = np.minimum((r / max(float(r.max()), 1e-9) * (n_bins - 1)).astype(int), n_bins - 1)
    valid = ~mask
    sums = np.bincount(bins[valid], weights=x[valid], minlength=n_bins)
    counts = np.bincount(bins[valid], minlength=n_bins)
    with np.errstate(all="ignore"):
        prof = np.where(counts > 0, sums / counts, np.nan)
    return np.linspace(0, r.max(), n_bins), prof


LOOSE_TILT_DEG = 5.0  # a tilt the rings fixed with the beam point off the frame: a ridge of planes fits them


def tilt_caveat(cx: float, cy: float, tilt_deg: float, shape: tuple[int, int]) -> str | None:
    """What a searched centre's tilt leaves unsure, or None. At the search's bound (`tilt.MAX_TILT`) the detector
    is tilted at least that much; a tilt of `LOOSE_TILT_DEG` or more with the beam point off the frame is fixed by
    arcs that a ridge of tilts and beam points explain nearly equally (pyFAI frames of a Pilatus 1M tilted 8-15
    degrees: 4 px off; 25 degrees: 14-25 px, all with sector agreement above 0.99)."""
    from .geometry.tilt import MAX_TILT

    bound = float(np.degrees(MAX_TILT))
    h, w = shape
    if tilt_deg >= bound - 0.5:
        return (
            f"the rings' tilt reached the search's bound of {bound:.0f} degrees: the detector is tilted at least that "
            "much and the beam point may be tens of pixels off; a calibration file (--calibration) fixes it"
        )
    if tilt_deg >= LOOSE_TILT_DEG and not (-0.5 <= cx <= w - 0.5 and -0.5 <= cy <= h - 0.5):
        return (
            f"beam point off the frame on a detector tilted {tilt_deg:.0f} degrees: arcs fix it only loosely (it may "
            "be tens of pixels off); a calibration file (--calibration) fixes it"
        )
    return None


def analyse(
    data: np.ndarray,
    mask: np.ndarray | None = None,
    poni: str | Path | None = None,
    *,
    calibration: str | Path | None = None,
    flip_ud: bool = False,
    header: dict | None = None,
    frame_name: str | None = None,
    panel: str | None = None,
) -> PolarResult:
    """Centre (the search, or a calibration file when given: `poni` is the older name of `calibration`) and
    the symmetry score at that centre. With a calibration, a warning is added when the frame's rings fit its
    up-down flip better (a Dioptas `.poni`). Without one, `status` says whether the frame fixes a centre. For a
    calibration of several panels (HEXRD), `panel` or the frame's shape and file name (`frame_name`) pick its own.

    `header` is the beam position the image file's header states (`Frame.meta["header_centre"]`). The search
    comes first, since headers often keep a default: where the rings fix a centre, it is used and a warning says
    how far the header's lies from it when that is more than `HEADER_AGREES`; where they do not (no rings, a
    single arc, the beam far outside the frame), the header's centre is used (`source` "header ..."), and the
    symmetry is scored about it only where the search saw rings (-1 for a frame with none). A header's centre more
    than `geometry.header.REACH` frame sides off the frame is not used."""
    t0 = time.perf_counter()
    mask = make_mask(np.asarray(data)) if mask is None else mask
    calibration = calibration if calibration is not None else poni
    tilt, tilt_axis, distance, rings_centre, plane = 0.0, None, None, None, None
    warnings: list[str] = []
    notes: list[str] = []  # what the file's header said, for or against the rings (also among the warnings)
    unscored = False
    if calibration is not None:
        shape = np.asarray(data).shape
        geo = read_calibration(
            calibration, flip_ud=flip_ud, height=shape[0], frame_shape=shape, frame_name=frame_name, panel=panel
        )
        cx, cy, source = geo.centre_x, geo.centre_y, geo.source + (f" panel {geo.panel}" if geo.panel else "")
        status, confidence, reason = "found", 1.0, ""
        masked = active_area(np.asarray(data), mask).masked  # what is not scattering, as the search would count it
        tilt, plane = geo.tilt_deg, geo.plane()
        if not flip_ud and (warning := check_flip(np.asarray(data), geo, mask)):
            warnings.append(warning)
        warnings += [note for note in geo.notes if "not applied" in note or note.startswith("check: ")]
        shape = np.asarray(data).shape
        if geo.shape is not None and tuple(geo.shape) != tuple(shape):
            warnings.append(
                f"calibration {Path(calibration).name} is for a {geo.shape[0]}x{geo.shape[1]} detector, this image "
                f"is {shape[0]}x{shape[1]}: its centre may not apply"
            )
    else:
        found = search_centre(data, mask)
        cx, cy, source = found.x, found.y, "search"
        status, confidence, reason, masked = found.status, found.confidence, found.reason, found.masked
        tilt, distance = found.tilt_deg, found.distance_px
        if found.circles_x is not None:
            tilt_axis = found.tilt_axis_deg
            rings_centre = (found.circles_x, found.circles_y)
        h, w = np.asarray(data).shape[-2:]
        if status == "found" and (caveat := tilt_caveat(cx, cy, tilt, (h, w))):
            warnings.append(caveat)
        if header is not None and not header_in_reach(header, (h, w)):
            key = header.get("key", "header")
            notes.append(f"the file's header ({key}) puts the beam far off this {h}x{w} frame: not used")
            header = None
        if header is not None:
            hx, hy, key = float(header["x"]), float(header["y"]), header.get("key", "header")
            if status == "found":
                off = float(np.hypot(cx - hx, cy - hy))
                if off > max(HEADER_AGREES[0], HEADER_AGREES[1] * max(h, w)):
                    notes.append(
                        f"the file's header ({key}) puts the beam at ({hx:.1f}, {hy:.1f}), {off:.0f} px from the "
                        f"centre the rings fix ({cx:.1f}, {cy:.1f}): the rings' centre is used"
                    )
            else:
                notes.append(f"the frame's rings do not fix a centre ({reason}): the file's header's ({key}) is used")
                cx, cy, source, status, confidence, reason = hx, hy, f"header {key}", "found", 1.0, ""
                tilt, tilt_axis, distance, rings_centre = 0.0, None, None, None
                unscored = not found.rings_seen  # no rings (a dark, flat or empty frame): no symmetry to score
    warnings += notes
    t1 = time.perf_counter()
    # a calibrated tilted detector's rings on its plane about the beam, else circles about the rings' own centre
    # no centre (a thin strip, a flat frame, rings that fix none): nothing to be symmetric about, so no score
    unscored = unscored or status != "found"
    score = -1.0 if unscored else straightness(data, rings_centre or (cx, cy), mask, plane=plane)
    t2 = time.perf_counter()
    return PolarResult(
        centre_x=cx,
        centre_y=cy,
        score=score,
        source=source,
        timings={"centre_s": round(t1 - t0, 4), "score_s": round(t2 - t1, 4)},
        status=status,
        confidence=round(float(confidence), 4),
        reason=reason,
        warnings=warnings,
        masked=masked,
        tilt_deg=round(float(tilt), 3),
        tilt_axis_deg=None if tilt_axis is None else round(float(tilt_axis), 2),
        distance_px=None if distance is None else round(float(distance), 1),
        rings_centre=rings_centre,
        plane=plane,
        header_centre=header,
        header_notes=notes,
    )
