"""What part of a frame is detector: gaps, dead and overflowing pixels, and a round active area.

A centre search that sees the edge of a circular MarCCD/MAR345 image plate (counts exactly zero outside the
disc) finds the centre of that disc, i.e. the middle of the array; one that sees overflow pixels at the
dtype's maximum finds the brightest spot. Both are detector facts, not scattering, so they are masked here
before any search.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..io import make_mask

log = logging.getLogger(__name__)


@dataclass
class ActiveArea:
    """Which pixels hold scattering data, and why the others do not (counts per reason)."""

    mask: np.ndarray  # True where a pixel is not detector data
    masked: dict = field(default_factory=dict)
    circle: tuple[float, float, float] | None = None  # (x, y, radius) of a round active area, when found


def overflow_value(dtype: np.dtype) -> float | None:
    """The value an integer detector writes for an overflowing pixel (the dtype's maximum); None for floats."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer) and dtype.itemsize >= 2:
        return float(np.iinfo(dtype).max)
    return None


def _edge_points(support: np.ndarray) -> np.ndarray:
    """First and last supported pixel of every row and column, as (x, y) points on the support's outline."""
    pts = []
    rows = np.flatnonzero(support.any(axis=1))
    for y in rows:
        xs = np.flatnonzero(support[y])
        pts += [(xs[0] - 0.5, y), (xs[-1] + 0.5, y)]
    cols = np.flatnonzero(support.any(axis=0))
    for x in cols:
        ys = np.flatnonzero(support[:, x])
        pts += [(x, ys[0] - 0.5), (x, ys[-1] + 0.5)]
    return np.asarray(pts, dtype=np.float64)


def fit_circle(points: np.ndarray) -> tuple[float, float, float, float]:
    """Algebraic (Kasa) least-squares circle through points: (x, y, radius, median absolute residual)."""
    x, y = points[:, 0], points[:, 1]
    a = np.column_stack([x, y, np.ones_like(x)])
    b = x * x + y * y
    (c0, c1, c2), *_ = np.linalg.lstsq(a, b, rcond=None)
    cx, cy = c0 / 2, c1 / 2
    radius = float(np.sqrt(max(c2 + cx * cx + cy * cy, 0.0)))
    resid = float(np.median(np.abs(np.hypot(x - cx, y - cy) - radius)))
    return float(cx), float(cy), radius, resid


def round_active_area(data: np.ndarray) -> tuple[float, float, float] | None:
    """The disc of a circular image plate or CCD taper whose outside reads exactly zero, or None.

    Only claimed when all four corners are zero and the outline of the non-zero pixels is a circle to within
    two pixels (at the working resolution): a frame with a zero-count region from low flux is not a circle.
    """
    h, w = data.shape
    step = max(1, int(max(h, w) // 512))
    small = data[::step, ::step]
    zero = small == 0
    k = max(2, min(small.shape) // 50)
    if not (zero[:k, :k].all() and zero[:k, -k:].all() and zero[-k:, :k].all() and zero[-k:, -k:].all()):
        return None
    support = ndimage.binary_opening(~zero, iterations=2)
    support = ndimage.binary_fill_holes(support)
    if support.sum() < 0.2 * support.size:
        return None
    cx, cy, radius, resid = fit_circle(_edge_points(support))
    if resid > 2.0 or radius < 0.2 * min(small.shape):
        return None
    return cx * step + (step - 1) / 2, cy * step + (step - 1) / 2, radius * step


def zero_lines(data: np.ndarray, fraction: float = 0.8, window: int = 129, expect: float = 30.0) -> np.ndarray:
    """Rows and columns that are almost all exactly zero: module gaps of a detector written as unsigned
    integers (PNG, TIFF) have no negative value to mark them, but are straight lines a ring search would
    explain by a centre far away.

    Two tests, either suffices (only the line's zero pixels are masked):
    - in a frame mostly counting (at most half its pixels zero), more than `fraction` of the line is zero;
    - at any count level, the line holds almost nothing (at most 2 % non-zero pixels, and a tenth of the lines
      about it) where the lines about it (the median over `window` lines) hold at least `expect` non-zero
      pixels each. Counts arrive independently, so a line read out by the detector holds that few there with a
      chance under 1e-9 (Poisson, mean 30, at most 3): a low-count frame (a few counts per pixel, most pixels
      zero) shows its gaps this way, and a dark frame, whose neighbours are as empty, does not.
    """
    zero = data == 0
    out = np.zeros(data.shape, dtype=bool)
    if zero.mean() <= 0.5:
        out[zero.mean(axis=1) > fraction, :] = True
        out[:, zero.mean(axis=0) > fraction] = True
    for axis in (1, 0):  # rows (counted along axis 1), then columns
        n = data.shape[axis]
        counts = n - zero.sum(axis=axis)
        if counts.size < 3:
            continue
        around = ndimage.median_filter(counts.astype(np.float64), size=min(window, counts.size), mode="nearest")
        empty = (counts <= 0.02 * n) & (around >= expect) & (counts <= 0.1 * around)
        if axis == 1:
            out[empty, :] = True
        else:
            out[:, empty] = True
    return out & zero


def active_area(data: np.ndarray, mask: np.ndarray | None = None, margin: float = 2.0) -> ActiveArea:
    """Mask of everything in `data` that is not scattering: the caller's mask (or gaps, dead pixels and
    non-finite values), overflow at the dtype's maximum, and the outside of a round active area (less
    `margin` pixels, where the plate's edge blurs)."""
    data = np.asarray(data)
    base = make_mask(data) if mask is None else np.asarray(mask, dtype=bool)
    out = base.copy()
    masked = {"gaps_dead_nonfinite": int(base.sum())}
    over = overflow_value(data.dtype)
    if over is not None:
        hot = data == over
        if hot.any():
            masked["overflow"] = int((hot & ~out).sum())
            out |= hot
    lines = zero_lines(data)
    if lines.any():
        masked["zero_gap_lines"] = int((lines & ~out).sum())
        out |= lines
    circle = round_active_area(data)
    if circle is not None:
        cx, cy, radius = circle
        yy, xx = np.ogrid[: data.shape[0], : data.shape[1]]
        outside = (xx - cx) ** 2 + (yy - cy) ** 2 > (radius - margin) ** 2
        masked["outside_round_active_area"] = int((outside & ~out).sum())
        out |= outside
        log.debug("round active area: centre (%.1f, %.1f), radius %.1f px", cx, cy, radius)
    return ActiveArea(mask=out, masked=masked, circle=circle)
