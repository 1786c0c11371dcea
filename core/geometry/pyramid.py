"""The log image at several resolutions, and the radial explained-variance score the centre search climbs.

Every level is the masked log image block-averaged by an integer factor, so a level pixel (i, j) covers full
pixels [i*f, (i+1)*f) and coordinates map exactly: full = (level + 0.5) * f - 0.5. The finest level is chosen
so that it holds at most about `max_pixels` pixels: a 25-megapixel frame is searched at 1/4 resolution,
which still gives sub-pixel centres because thousands of ring pixels vote for each one.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from ..photons import as_counts


def log_image(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """log(1 + counts) as float32, NaN where masked (negative counts clipped to zero first; a processed frame
    read in effective photon counts, `photons.as_counts`)."""
    out = np.log1p(np.clip(as_counts(data, mask), 0, None)).astype(np.float32)
    out[mask] = np.nan
    return out


def downsample_nan(img: np.ndarray, f: int) -> np.ndarray:
    """Block-average by an integer factor ignoring NaN (a block all NaN stays NaN)."""
    if f == 1:
        return img
    h, w = (img.shape[0] // f) * f, (img.shape[1] // f) * f
    blocks = img[:h, :w].reshape(h // f, f, w // f, f)
    valid = np.isfinite(blocks)
    n = valid.sum(axis=(1, 3))
    s = np.where(valid, blocks, 0).sum(axis=(1, 3), dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.where(n > 0, s / n, np.nan).astype(np.float32)


def shadow(level: np.ndarray, depth: float = np.log(5.0), grow: int = 2) -> np.ndarray:
    """Pixels at least 5x darker than their surroundings (a beamstop and its holder), grown by `grow` pixels.

    A beamstop disc is rarely centred on the beam to within a pixel, yet its edge is the strongest round
    feature of many frames: left in, it pulls the ring centre onto the beamstop. The surroundings are a
    median over blocks of about 1/16 of the frame, so a shadow smaller than a quarter of the frame stands out.
    """
    h, w = level.shape
    b = max(1, min(max(h, w) // 64, min(h, w)))  # a strip keeps at least one block across
    coarse = downsample_nan(level, b)
    filled = np.where(np.isfinite(coarse), coarse, np.nanmedian(coarse))
    bg = ndimage.median_filter(filled, size=5, mode="nearest")
    bg = ndimage.zoom(bg, (h / bg.shape[0], w / bg.shape[1]), order=1, mode="nearest")[:h, :w]
    if bg.shape != level.shape:
        bg = np.pad(bg, ((0, h - bg.shape[0]), (0, w - bg.shape[1])), mode="edge")
    dark = np.isfinite(level) & (level < bg - depth)
    dark = ndimage.binary_opening(dark, iterations=1)
    return ndimage.binary_dilation(dark, iterations=grow) if dark.any() else dark


def pyramid(
    img: np.ndarray, coarse_side: int = 128, max_pixels: float = 2.6e6, mask_shadow: bool = True
) -> dict[int, np.ndarray]:
    """{factor: level} from the coarsest (longest side about `coarse_side`) to the finest allowed level,
    beamstop shadows masked (NaN) at every level when `mask_shadow`."""
    h, w = img.shape
    fine = max(1, math.ceil(math.sqrt(h * w / max_pixels)))
    base = downsample_nan(img, fine)
    if mask_shadow:
        dark = shadow(base)
        if dark.mean() < 0.5:  # a frame mostly "in shadow" is a dark frame, not a beamstop
            base = np.where(dark, np.nan, base).astype(np.float32)
    levels = {fine: base}
    f = fine
    while max(h, w) / (f * 2) >= coarse_side * 0.75 and min(h, w) / (f * 2) >= 16:
        f *= 2
        levels[f] = downsample_nan(base, f // fine)
    return dict(sorted(levels.items(), reverse=True))


def masked_blur(values: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of `values` over the `valid` pixels only (normalised convolution), in `values`' precision."""
    num = ndimage.gaussian_filter(np.where(valid, values, 0.0), sigma)
    den = ndimage.gaussian_filter(valid.astype(float), sigma)
    with np.errstate(all="ignore"):
        return num / np.maximum(den, 1e-6)


def highpass(img: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Log image minus its masked Gaussian blur: rings stay, fall-off goes; also the valid-pixel mask."""
    valid = np.isfinite(img)
    filled = np.where(valid, img, 0.0).astype(np.float64)
    return np.where(valid, filled - masked_blur(filled, valid, sigma), 0.0), valid


class RadialScore:
    """Fraction of a zero-mean image's variance explained by the radius about a trial centre.

    Built once per level from the pixels that carry the signal (the largest |values|, at most `max_points`),
    then called for many centres. Radii are split linearly between neighbouring 1-px bins so that the score
    is smooth in the centre and Nelder-Mead can refine it below a pixel.
    """

    def __init__(self, values: np.ndarray, valid: np.ndarray, keep: float = 0.35, max_points: int = 400_000):
        ys, xs = np.nonzero(valid)
        v = values[ys, xs].astype(np.float64)
        if keep < 1 and v.size > 2000:
            cut = np.quantile(np.abs(v), 1 - keep)
            sel = np.abs(v) >= cut
            ys, xs, v = ys[sel], xs[sel], v[sel]
        if v.size > max_points:
            idx = np.random.default_rng(0).choice(v.size, max_points, replace=False)
            ys, xs, v = ys[idx], xs[idx], v[idx]
        self.x, self.y, self.v = xs.astype(np.float64), ys.astype(np.float64), v
        self.total = float(np.sum(v * v))

    def subset(self, keep: np.ndarray) -> RadialScore:
        """The same score over the points where `keep` (a bool array over the points) is true."""
        part = object.__new__(RadialScore)
        part.x, part.y, part.v = self.x[keep], self.y[keep], self.v[keep]
        part.total = float(np.sum(part.v * part.v))
        return part

    def __call__(self, cx: float, cy: float) -> float:
        return self.explained(np.hypot(self.x - cx, self.y - cy))

    def explained(self, r: np.ndarray) -> float:
        """The share of the variance explained by any radius-like coordinate `r` (pixels, >= 0) of the points
        (a tilted detector's distance x tan 2theta, `tilt.tilted_radius`)."""
        if self.total <= 0 or self.v.size == 0 or not np.all(np.isfinite(r)):
            return 0.0
        i0 = r.astype(np.int64)
        frac = r - i0
        n = int(i0.max()) + 2
        w1 = frac
        w0 = 1 - frac
        sums = np.bincount(i0, self.v * w0, n) + np.bincount(i0 + 1, self.v * w1, n)
        counts = np.bincount(i0, w0, n) + np.bincount(i0 + 1, w1, n)
        good = counts > 0.5
        return float(np.sum(sums[good] ** 2 / counts[good]) / self.total)
