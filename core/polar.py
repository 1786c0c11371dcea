"""Beam-centre search, polar warp and the ring symmetry score.

Rings about the true beam centre become straight lines in polar coordinates. The centre is found as in the
paper by a grid search (coarse over the frame, then finer), refined to sub-pixel with Nelder-Mead: the centre
is where the radius explains most of the variance of the high-passed log image. The *symmetry score* is then
how well the radial profiles of azimuthal sectors agree about that centre (Pearson correlation of each
high-passed sector profile with the mean profile): insensitive to intensity texture along a ring, low for
missing arcs, radial jumps and rings that are not concentric with each other.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage, optimize

from .io import make_mask

N_SECTORS = 24


@dataclass
class PolarResult:
    centre_x: float
    centre_y: float
    score: float  # symmetry: mean agreement of the sectors' radial profiles at the centre, in [-1, 1]
    source: str  # "search" or "poni"
    timings: dict = field(default_factory=dict)


def _prepare(data: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    x = np.asarray(data, dtype=np.float64)
    mask = make_mask(x) if mask is None else mask
    out = np.log1p(np.clip(np.where(mask, 0, x), 0, None))
    out[mask] = np.nan
    return out


def polar_samples(
    img: np.ndarray, cx: float, cy: float, n_theta: int, r_max: float, n_r: int | None = None, r_min: float = 0.0
) -> np.ndarray:
    """Bilinear samples img[theta, r] about (cx, cy); NaN outside the frame or next to masked pixels."""
    n_r = n_r or max(8, int(r_max - r_min))
    r = np.linspace(r_min, r_max, n_r)
    theta = np.linspace(0, 2 * np.pi, n_theta, endpoint=False)
    rows = cy + r[None, :] * np.sin(theta)[:, None]
    cols = cx + r[None, :] * np.cos(theta)[:, None]
    return ndimage.map_coordinates(img, [rows, cols], order=1, cval=np.nan, prefilter=False)


def sector_agreement(polar: np.ndarray, smooth: float = 6.0, min_valid: int = 12) -> float:
    """Mean Pearson correlation between each sector's high-passed radial profile and the mean profile."""
    n_theta, n_r = polar.shape
    sectors = polar.reshape(N_SECTORS, n_theta // N_SECTORS, n_r)
    with np.errstate(all="ignore"):
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


def _highpass(img: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Log image minus its masked Gaussian blur (normalised convolution): rings stay, fall-off goes."""
    valid = np.isfinite(img)
    filled = np.where(valid, img, 0.0)
    num = ndimage.gaussian_filter(filled, sigma)
    den = ndimage.gaussian_filter(valid.astype(float), sigma)
    with np.errstate(all="ignore"):
        hp = np.where(valid, filled - num / np.maximum(den, 1e-6), 0.0)
    return hp, valid


def radial_explained(hp: np.ndarray, valid: np.ndarray, cx: float, cy: float) -> float:
    """Fraction of the high-passed image's variance explained by the radius about (cx, cy).

    Radii are split linearly between neighbouring 1-px bins so the value is smooth in the centre.
    """
    yy, xx = np.indices(hp.shape)
    r = np.hypot(xx[valid] - cx, yy[valid] - cy)
    v = hp[valid]
    i0 = r.astype(int)
    frac = r - i0
    n = int(i0.max()) + 2
    w0, w1 = 1 - frac, frac
    sums = np.bincount(i0, v * w0, n) + np.bincount(i0 + 1, v * w1, n)
    counts = np.bincount(i0, w0, n) + np.bincount(i0 + 1, w1, n)
    good = counts > 0.5
    explained = np.sum(sums[good] ** 2 / counts[good])
    total = np.sum(v * v)
    return float(explained / total) if total > 0 else 0.0


def _grid(hp: np.ndarray, valid: np.ndarray, xs: np.ndarray, ys: np.ndarray):
    best = (-1.0, 0.0, 0.0)
    for y in ys:
        for x in xs:
            v = radial_explained(hp, valid, x, y)
            if v > best[0]:
                best = (v, x, y)
    return best


def find_centre(
    data: np.ndarray, mask: np.ndarray | None = None, coarse_side: int = 128, refine: bool = True
) -> tuple[float, float, float]:
    """Beam centre (x = column, y = row, pixel centres at integers) by grid search + Nelder-Mead on the radial
    explained variance. Returns (x, y, explained variance at that centre).

    The grid runs on the frame block-averaged to about `coarse_side` pixels and covers a tenth of its size
    beyond each edge (the beam may miss the detector); Nelder-Mead then refines at successively finer
    resolutions down to full resolution.
    """
    img = _prepare(data, mask)
    scale = max(1, int(round(max(img.shape) / coarse_side)))  # integer block size: coordinates map exactly
    small = img if scale == 1 else _downsample_nan(img, scale)
    hp, valid = _highpass(small, 6.0)
    sh, sw = small.shape
    xs = np.linspace(-0.1 * sw, 1.1 * sw, 25)
    ys = np.linspace(-0.1 * sh, 1.1 * sh, 25)
    value, bx, by = _grid(hp, valid, xs, ys)
    step = xs[1] - xs[0]
    while step > 0.5:
        xs = np.linspace(bx - step, bx + step, 7)
        ys = np.linspace(by - step, by + step, 7)
        value, bx, by = _grid(hp, valid, xs, ys)
        step /= 3
    cx, cy = (bx + 0.5) * scale - 0.5, (by + 0.5) * scale - 0.5
    if not refine:
        return float(cx), float(cy), float(value)
    for level in _levels(scale):
        sub = img if level == 1 else _downsample_nan(img, level)
        hp, valid = _highpass(sub, 6.0)
        x0 = [(cx + 0.5) / level - 0.5, (cy + 0.5) / level - 0.5]
        res = optimize.minimize(
            lambda p, hp=hp, valid=valid: -radial_explained(hp, valid, p[0], p[1]),
            x0=x0,
            method="Nelder-Mead",
            options={
                "xatol": 0.02,
                "fatol": 1e-7,
                "maxiter": 120,
                "initial_simplex": [x0, [x0[0] + 1, x0[1]], [x0[0], x0[1] + 1]],
            },
        )
        cx, cy, value = (res.x[0] + 0.5) * level - 0.5, (res.x[1] + 0.5) * level - 0.5, -res.fun
    return float(cx), float(cy), float(value)


def _levels(scale: int) -> list[int]:
    """Refinement resolutions: halve the downsampling factor down to full resolution."""
    levels, f = [], scale
    while f > 1:
        f = max(1, f // 2)
        levels.append(f)
    return levels or [1]


def straightness(
    data: np.ndarray,
    centre: tuple[float, float],
    mask: np.ndarray | None = None,
    n_theta: int = 192,
    max_side: int = 256,
) -> float:
    """How straight the rings are in polar coordinates about `centre`: agreement of the sectors' radial profiles
    (insensitive to intensity texture along a ring, sensitive to missing arcs, jumps and non-concentric rings)."""
    img = _prepare(data, mask)
    scale = max(1, int(round(max(img.shape) / max_side)))
    if scale > 1:
        img = _downsample_nan(img, scale)
    cx, cy = (centre[0] + 0.5) / scale - 0.5, (centre[1] + 0.5) / scale - 0.5
    return sector_agreement(polar_samples(img, cx, cy, n_theta, float(np.hypot(*img.shape)), r_min=3.0))


def _downsample_nan(img: np.ndarray, f: int) -> np.ndarray:
    """Block-average by an integer factor ignoring NaN (a block all NaN stays NaN)."""
    h, w = (img.shape[0] // f) * f, (img.shape[1] // f) * f
    blocks = img[:h, :w].reshape(h // f, f, w // f, f)
    with np.errstate(all="ignore"):
        return np.nanmean(blocks, axis=(1, 3))


def read_poni(path: str | Path) -> tuple[float, float]:
    """Direct-beam centre (x, y) in pixels from a pyFAI `.poni` file (pyFAI's getFit2D centre minus 0.5)."""
    text = Path(path).read_text()
    values = dict(re.findall(r"^\s*([A-Za-z_0-9]+)\s*:\s*(.+?)\s*$", text, re.M))
    try:
        dist = float(values["Distance"])
        poni1, poni2 = float(values["Poni1"]), float(values["Poni2"])
        rot1, rot2 = float(values.get("Rot1", 0)), float(values.get("Rot2", 0))
    except KeyError as exc:
        raise ValueError(f"{path}: missing field {exc.args[0]!r}") from None
    if "Detector_config" in values and "pixel1" in values["Detector_config"]:
        import json

        cfg = json.loads(values["Detector_config"])
        p1, p2 = float(cfg["pixel1"]), float(cfg["pixel2"])
    elif "PixelSize1" in values:
        p1, p2 = float(values["PixelSize1"]), float(values["PixelSize2"])
    elif values.get("Detector", "").lower().startswith(("pilatus", "eiger")):
        p = 172e-6 if values["Detector"].lower().startswith("pilatus") else 75e-6
        p1 = p2 = p
    else:
        raise ValueError(f"{path}: no pixel size (Detector_config, PixelSize1/2 or a known detector name)")
    cx = (poni2 - dist * np.tan(rot1)) / p2 - 0.5
    cy = (poni1 + dist * np.tan(rot2) / np.cos(rot1)) / p1 - 0.5
    return float(cx), float(cy)


def warp(
    data: np.ndarray, centre: tuple[float, float], mask: np.ndarray | None = None, shape: tuple[int, int] = (360, 256)
) -> np.ndarray:
    """Polar warp for display: rows are azimuth (0-360 deg), columns radius; `skimage.transform.warp_polar`
    on the log image, masked pixels NaN."""
    from skimage.transform import warp_polar

    img = _prepare(data, mask)
    h, w = img.shape
    cx, cy = centre
    radius = float(np.hypot(max(cx, w - cx), max(cy, h - cy)))
    filled = np.nan_to_num(img, nan=-1.0)
    out = warp_polar(filled, center=(cy, cx), radius=radius, output_shape=shape, order=1, cval=np.nan)
    out[out < 0] = np.nan
    return out


def radial_profile(
    data: np.ndarray, centre: tuple[float, float], mask: np.ndarray | None = None, n_bins: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthally averaged I(r) of the valid pixels (raw counts), as (r, I)."""
    x = np.asarray(data, dtype=np.float64)
    mask = make_mask(x) if mask is None else mask
    yy, xx = np.indices(x.shape)
    r = np.hypot(xx - centre[0], yy - centre[1])
    n_bins = n_bins or int(r.max()) + 1
    bins = np.minimum((r / r.max() * (n_bins - 1)).astype(int), n_bins - 1)
    valid = ~mask
    sums = np.bincount(bins[valid], weights=x[valid], minlength=n_bins)
    counts = np.bincount(bins[valid], minlength=n_bins)
    with np.errstate(all="ignore"):
        prof = np.where(counts > 0, sums / counts, np.nan)
    return np.linspace(0, r.max(), n_bins), prof


def analyse(data: np.ndarray, mask: np.ndarray | None = None, poni: str | Path | None = None) -> PolarResult:
    """Centre (grid search, or a pyFAI .poni when given) and the symmetry score at that centre."""
    t0 = time.perf_counter()
    mask = make_mask(np.asarray(data)) if mask is None else mask
    if poni is not None:
        cx, cy = read_poni(poni)
        source = "poni"
    else:
        cx, cy, _ = find_centre(data, mask)
        source = "search"
    t1 = time.perf_counter()
    score = straightness(data, (cx, cy), mask)
    t2 = time.perf_counter()
    return PolarResult(
        centre_x=cx,
        centre_y=cy,
        score=score,
        source=source,
        timings={"centre_s": round(t1 - t0, 4), "score_s": round(t2 - t1, 4)},
    )
