"""Polar sampling about a centre and the agreement of azimuthal sectors' radial profiles.

Both the symmetry score (are these rings physical?) and the centre search's confidence (did the frame fix
this centre?) ask the same question: is the radial profile the same in every direction about the centre.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage

from .tilt import tilted_radius, untilted_to_pixel

N_SECTORS = 24


def corner_radius(
    shape: tuple[int, int], cx: float, cy: float, plane: tuple[float, float, float] | None = None
) -> float:
    """The largest radius about (cx, cy) a frame of `shape` reaches (at a corner); with `plane` (distance, tilt,
    tilt_dir, `tilt.tilted_radius`), the radius on the untilted plane, and where a corner lies beyond the tilted
    plane's horizon twice the frame's diagonal."""
    h, w = shape
    xs, ys = np.array([0.0, w, 0.0, w]), np.array([0.0, 0.0, h, h])
    if plane is None:
        return float(np.hypot(xs - cx, ys - cy).max())
    r = tilted_radius(xs, ys, cx, cy, *plane)
    return float(np.nanmax(r)) if np.all(np.isfinite(r)) else 2 * float(np.hypot(h, w))


def polar_samples(
    img: np.ndarray,
    cx: float,
    cy: float,
    n_theta: int,
    r_max: float,
    n_r: int | None = None,
    r_min: float = 0.0,
    plane: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """Bilinear samples img[theta, r] about (cx, cy); NaN outside the frame or next to masked pixels.

    With `plane` = (distance, tilt, tilt_dir) of a tilted detector (`tilt.tilted_radius`), r is the radius the
    pixel would have on an untilted plane and (cx, cy) the beam point, so a ring is one r in every direction."""
    n_r = n_r or max(8, int(r_max - r_min))
    r = np.linspace(r_min, r_max, n_r)
    theta = np.linspace(0, 2 * np.pi, n_theta, endpoint=False)
    if plane is None:
        rows = cy + r[None, :] * np.sin(theta)[:, None]
        cols = cx + r[None, :] * np.cos(theta)[:, None]
    else:
        u, v = r[None, :] * np.cos(theta)[:, None], -r[None, :] * np.sin(theta)[:, None]
        cols, rows = untilted_to_pixel(u, v, cx, cy, *plane)
        cols, rows = np.nan_to_num(cols, nan=-1e9), np.nan_to_num(rows, nan=-1e9)  # off the plane: outside
    return ndimage.map_coordinates(img, [rows, cols], order=1, cval=np.nan, prefilter=False)


def sector_agreement(polar: np.ndarray, smooth: float = 6.0, min_valid: int = 12) -> float:
    """Mean Pearson correlation between each sector's high-passed radial profile and the mean profile."""
    n_theta, n_r = polar.shape
    sectors = polar.reshape(N_SECTORS, n_theta // N_SECTORS, n_r)
    with np.errstate(all="ignore"), warnings.catch_warnings():  # all-NaN sectors ("Mean of empty slice")
        warnings.simplefilter("ignore", RuntimeWarning)
        prof = np.nanmean(sectors, axis=1)  # (S, R)
        filled = np.where(np.isfinite(prof), prof, np.nanmean(prof, axis=1, keepdims=True))
        trend = ndimage.gaussian_filter1d(np.nan_to_num(filled), smooth, axis=1, mode="nearest")
        hp = np.where(np.isfinite(prof), prof - trend, np.nan)
        mean = np.nanmean(hp, axis=0)
    scores, weights = [], []
    for s in range(N_SECTORS):
        ok = np.isfinite(hp[s]) & np.isfinite(mean)
        if ok.sum() < min_valid:
            continue
        a, b = hp[s, ok] - hp[s, ok].mean(), mean[ok] - mean[ok].mean()
        den = np.sqrt((a * a).sum() * (b * b).sum())
        if den > 0:
            scores.append((a * b).sum() / den)
            weights.append(ok.sum())
    return float(np.average(scores, weights=weights)) if scores else -1.0
