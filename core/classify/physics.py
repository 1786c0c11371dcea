"""Physics features of a scattering frame: the checks an expert makes by eye, as numbers a small model can learn.

Real frames obey a few rules whatever the detector: rings are concentric about the direct beam, which sits
behind the beamstop; transmission patterns are point-symmetric about the beam and grazing-incidence patterns
mirror-symmetric about the specular rod; module gaps are straight and regularly spaced; counting noise is
white (Poisson), so a periodic texture is something the detector never makes. A hallucination breaks at least
one rule. Each feature measures one of them and is computed on the frame at up to `WORK_SIDE` pixels in well
under a second, so every frame of a workspace can be described once and cached (`image_features`).
"""

from __future__ import annotations

import json
import logging
import warnings

import numpy as np
from scipy import ndimage, signal

from ..atomic import atomic_write
from ..geometry.pyramid import masked_blur, shadow
from ..geometry.sectors import polar_samples, sector_agreement
from ..io import make_mask
from ..jobs import ProgressFn, StopFn, check_stop, never_stop, no_progress
from ..photons import as_counts
from ..polar import _downsample_nan
from .physics_beam import beamstop, holder_shadow
from .physics_detector import gaps as _gaps
from .physics_detector import texture as _texture
from .physics_local import mirror_excess, point_excess, texture_lines

log = logging.getLogger(__name__)

WORK_SIDE = 256  # frames are block-averaged to about this size first (integer factor: counts stay counts)
FEATURES: tuple[str, ...] = (
    "beamstop_contrast",
    "beamstop_radius",
    "rings_explained_at_beamstop",
    "rings_explained_best",
    "rings_centre_offset",
    "sector_agreement",
    "ring_min_arc",
    "ring_min_arc_2nd",
    "ring_low_fraction",
    "point_symmetry",
    "point_asymmetry_local",
    "mirror_symmetry_best",
    "mirror_asymmetry_local",
    "mirror_symmetry_beam",
    "mirror_asymmetry_beam_local",
    "gap_straight_fraction",
    "gap_spacing_cv",
    "masked_fraction",
    "texture_spectral_peak",
    "texture_spectral_peak_3rd",
    "texture_line_sharpness",
    "mirror_excess_local",
    "mirror_excess",
    "point_excess_local",
    "point_excess",
    "texture_lines",
    "texture_lines_unmirrored",
)
VERSION = 15  # bump when a feature changes: cached values of an older version are recomputed (14: round areas
# masked; 15: processed frames read in effective photon counts)


def _highpass(img: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Log image minus its masked blur: rings and peaks stay, the smooth fall-off goes."""
    valid = np.isfinite(img)
    return np.where(valid, img - masked_blur(np.nan_to_num(img), valid, sigma), 0.0), valid


def radial_explained(hp: np.ndarray, valid: np.ndarray, cx: float, cy: float) -> float:
    """Share of the high-passed image's variance that the radius about (cx, cy) explains (1-px bins, split
    linearly between neighbours so the value is smooth in the centre)."""
    yy, xx = np.indices(hp.shape)
    r = np.hypot(xx[valid] - cx, yy[valid] - cy)
    v = hp[valid]
    i0 = r.astype(int)
    frac = r - i0
    n = int(i0.max()) + 2
    sums = np.bincount(i0, v * (1 - frac), n) + np.bincount(i0 + 1, v * frac, n)
    counts = np.bincount(i0, 1 - frac, n) + np.bincount(i0 + 1, frac, n)
    good = counts > 0.5
    total = float(np.sum(v * v))
    return float(np.sum(sums[good] ** 2 / counts[good]) / total) if total > 0 else 0.0


def _best_ring_centre(hp: np.ndarray, hv: np.ndarray, start: tuple[float, float]) -> tuple[float, float, float]:
    """The centre that makes the rings most concentric: a coarse grid over the frame, then a local grid."""
    h, w = hp.shape
    f = max(1, int(round(max(h, w) / 64)))
    small = _downsample_nan(np.where(hv, hp, np.nan), f) if f > 1 else np.where(hv, hp, np.nan)
    sv = np.isfinite(small)
    small = np.where(sv, small, 0.0)
    sh, sw = small.shape
    best = (radial_explained(small, sv, (start[0] + 0.5) / f - 0.5, (start[1] + 0.5) / f - 0.5), *start)
    for y in np.linspace(0, sh - 1, 9):
        for x in np.linspace(0, sw - 1, 9):
            e = radial_explained(small, sv, x, y)
            if e > best[0]:
                best = (e, (x + 0.5) * f - 0.5, (y + 0.5) * f - 0.5)
    _, bx, by = best
    step = max(h, w) / 16
    while step >= 0.2:
        cands = [(bx + dx * step, by + dy * step) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        vals = [radial_explained(hp, hv, x, y) for x, y in cands]
        k = int(np.argmax(vals))
        (bx, by), e = cands[k], vals[k]
        step /= 2
    return float(e), float(bx), float(by)


def _ring_continuity(a: np.ndarray, valid: np.ndarray, cx: float, cy: float, arc: float = 0.3):
    """How completely each strong ring goes round: (worst ring's lowest arc-averaged intensity over its mean,
    second-worst ring's, largest share of a ring's azimuth below 40 %).

    Rings are read in Anscombe units (counting noise of unit variance) in polar coordinates; each ring's
    intensity above the local background is averaged over arcs of `arc` radians, long enough to even out the
    grains of a spotty ring and the smooth preferred orientation of a textured one, short enough that a
    missing arc or a radially displaced segment (a ring that is not physical) pulls the average to zero.
    """
    h, w = a.shape
    n_theta = 256
    p = polar_samples(np.where(valid, a, np.nan), cx, cy, n_theta, float(np.hypot(h, w)), r_min=3.0)
    with np.errstate(all="ignore"):
        mu = np.nanmean(p, axis=0)
        cover = np.isfinite(p).mean(0)
    ok = np.isfinite(mu) & (cover > 0.3)
    if ok.sum() < 20:
        return 1.0, 1.0, 0.0
    filled = np.where(ok, mu, np.nanmax(mu[ok]))
    background = ndimage.minimum_filter1d(filled, 17, mode="nearest")
    background = ndimage.uniform_filter1d(background, 9, mode="nearest")
    amp = np.where(ok, mu - background, 0.0)
    peaks = np.flatnonzero((amp[1:-1] > amp[:-2]) & (amp[1:-1] >= amp[2:])) + 1
    peaks = [int(i) for i in peaks if amp[i] > 1.5]
    k = max(3, int(round(arc / (2 * np.pi) * n_theta)))
    ratios, lows = [], []
    for i in sorted(peaks, key=lambda i: -amp[i])[:8]:
        band = p[:, max(0, i - 2) : i + 3] - background[i]
        with np.errstate(all="ignore"):
            ring = np.nanmax(band, axis=1)  # tolerate two pixels of centre error
        # where a module gap runs along the ring it hides the ring's crest and leaves its flanks: unknown, not low
        ring[np.isfinite(band).sum(1) < band.shape[1] - 1] = np.nan
        good = np.isfinite(ring)
        if good.sum() < 3 * k:  # too little of the ring in view (off the frame, hidden) to judge: three arcs at least
            continue
        num = ndimage.uniform_filter1d(np.where(good, ring, 0.0), k, mode="wrap")
        den = ndimage.uniform_filter1d(good.astype(float), k, mode="wrap")
        covered = den > 0.6
        if not covered.any():
            continue
        ratio = num[covered] / den[covered] / amp[i]
        ratios.append(float(ratio.min()))
        lows.append(float((ratio < 0.4).mean()))
    if not ratios:
        return 1.0, 1.0, 0.0
    ratios.sort()
    return ratios[0], ratios[1] if len(ratios) > 1 else 1.0, max(lows)


def _symmetry(hpn: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """(correlation of an image with its mirrored/rotated self, worst local mismatch over the median)."""
    ok = np.isfinite(hpn) & np.isfinite(other)
    if ok.sum() < 100:
        return 0.0, 0.0
    a, b = hpn[ok], other[ok]
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
    dd = np.where(ok, np.abs(hpn - other), 0.0)
    n = ndimage.uniform_filter(ok.astype(float), 24)
    local = ndimage.uniform_filter(dd, 24) / np.maximum(n, 1e-3)
    local[n < 0.5] = 0
    return corr, float(local.max() / (np.median(dd[ok]) + 1e-6))


def _mirror_axis(hpn: np.ndarray) -> float:
    """Column about which the image is most mirror-symmetric (rows correlated with their reversal, by FFT)."""
    v = np.isfinite(hpn)
    a = np.where(v, hpn, 0.0)
    w = a.shape[1]
    num = signal.fftconvolve(a, a, axes=1)  # sum over x of a(x) a(s - x): mirror about s / 2
    cnt = signal.fftconvolve(v.astype(float), v.astype(float), axes=1)
    score = num.sum(0) / np.maximum(cnt.sum(0), 1.0)
    s = np.arange(len(score))
    inside = (s >= 0.5 * w) & (s <= 1.5 * w)  # axes in the middle half of the frame
    return float(s[inside][np.argmax(score[inside])] / 2)


def frame_features(data: np.ndarray, mask: np.ndarray | None = None) -> dict[str, float]:
    """Every feature of `FEATURES` for one frame (original values and its invalid-pixel mask)."""
    with warnings.catch_warnings():  # empty polar sectors of small or mostly masked frames are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        return _frame_features(data, mask)


def _frame_features(data: np.ndarray, mask: np.ndarray | None) -> dict[str, float]:
    x = np.asarray(data, dtype=np.float64)
    mask = make_mask(x) if mask is None else np.asarray(mask, bool)
    x = as_counts(x, mask)  # the Anscombe transform and every log scale below assume photon counts
    f = max(1, int(round(max(x.shape) / WORK_SIDE)))
    if f > 1:  # block means of counts; a block that is all masked stays masked
        xm = _downsample_nan(np.where(mask, np.nan, x), f)
        mask, x = ~np.isfinite(xm), np.nan_to_num(xm)
    valid = ~mask
    h, w = x.shape
    size = max(h, w)
    out = dict.fromkeys(FEATURES, 0.0)
    out["masked_fraction"] = float(mask.mean())
    if valid.sum() < 64 or min(h, w) < 8:  # too little to judge (a strip a few blocks across): features 0
        return {k: float(np.nan_to_num(v)) for k, v in out.items()}
    log_img = np.log1p(np.clip(np.where(valid, x, 0), 0, None))
    out["beamstop_contrast"], (cx, cy), radius = beamstop(log_img, valid)
    out["beamstop_radius"] = radius / size
    ln = np.where(valid, log_img, np.nan)
    shade = shadow(ln)
    if shade.mean() >= 0.5:  # a frame mostly "in shadow" is a dark frame, not a beamstop
        shade[:] = False
    shade |= holder_shadow(log_img, valid, (cx, cy), radius)
    measured = valid  # what the detector measured: a texture is read there, also where it is dark
    valid = valid & ~shade  # the beamstop and its holder: dark by design, not a gap in a ring
    ln = np.where(valid, ln, np.nan)
    hp, hv = _highpass(ln, 6.0)
    out["rings_explained_at_beamstop"] = radial_explained(hp, hv, cx, cy)
    best, bx, by = _best_ring_centre(hp, hv, (cx, cy))
    out["rings_explained_best"] = best
    out["rings_centre_offset"] = float(np.hypot(bx - cx, by - cy) / size)
    diag = float(np.hypot(h, w))
    with np.errstate(all="ignore"):
        out["sector_agreement"] = sector_agreement(polar_samples(ln, cx, cy, 192, diag, r_min=3.0))
        anscombe = 2 * np.sqrt(np.where(valid, np.clip(x, 0, None), 0) + 3 / 8)
        # a ring is continuous about its own centre: the more continuous reading of the two centres counts
        ring = max(_ring_continuity(anscombe, valid, bx, by), _ring_continuity(anscombe, valid, cx, cy))
        out["ring_min_arc"], out["ring_min_arc_2nd"], out["ring_low_fraction"] = ring
    yy, xx = np.indices((h, w), dtype=float)
    hpn = np.where(hv, hp, np.nan)
    rot = ndimage.map_coordinates(hpn, [2 * cy - yy, 2 * cx - xx], order=1, cval=np.nan)
    out["point_symmetry"], out["point_asymmetry_local"] = _symmetry(hpn, rot)
    axis = _mirror_axis(hpn)
    mir = ndimage.map_coordinates(hpn, [yy, 2 * axis - xx], order=1, cval=np.nan)
    out["mirror_symmetry_best"], out["mirror_asymmetry_local"] = _symmetry(hpn, mir)
    # grazing incidence: the plane of incidence contains the direct beam, so the pattern mirrors about its column
    mir = ndimage.map_coordinates(hpn, [yy, 2 * cx - xx], order=1, cval=np.nan)
    out["mirror_symmetry_beam"], out["mirror_asymmetry_beam_local"] = _symmetry(hpn, mir)
    out["mirror_excess_local"], out["mirror_excess"] = mirror_excess(anscombe, valid, (cx, axis))
    out["point_excess_local"], out["point_excess"] = point_excess(anscombe, valid, (bx, by), reach=1.0)
    out["gap_straight_fraction"], out["gap_spacing_cv"] = _gaps(mask)
    tex = _texture(x, valid, (bx, by))
    out["texture_spectral_peak"], out["texture_spectral_peak_3rd"], out["texture_line_sharpness"] = tex
    out["texture_lines"] = texture_lines(x, measured, (bx, by))
    out["texture_lines_unmirrored"] = texture_lines(x, measured, (bx, by), mirror=axis)
    return {k: float(np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0)) for k, v in out.items()}


def _cache_path(ws, image):
    return ws.cache / "features" / f"v{VERSION}" / f"{image.sha256}.json"


def features_cached(ws, image) -> bool:
    """Whether the image's features are already in the cache (reading them takes milliseconds, not a second)."""
    return _cache_path(ws, image).exists()


def _cached(ws, image) -> dict[str, float] | None:
    path = _cache_path(ws, image)
    if path.exists():
        try:
            cached = json.loads(path.read_text())
            if set(cached) == set(FEATURES):
                return cached
        except (OSError, ValueError):
            log.warning("%s: unreadable feature cache, recomputing", path)
    return None


def _keep(ws, image, feats: dict[str, float]) -> None:
    with atomic_write(_cache_path(ws, image), sync=False) as tmp:  # a cache: checked when read, made again
        tmp.write_text(json.dumps(feats))


def image_features(ws, image) -> dict[str, float]:
    """Features of a workspace image, cached under `cache/features/v<VERSION>/<sha256>.json`."""
    feats = _cached(ws, image)
    if feats is None:
        frame = ws.load_frame(image)
        feats = frame_features(frame.data, frame.mask)
        _keep(ws, image, feats)
    return feats


def feature_matrix(ws, images, *, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop) -> np.ndarray:
    """(N, len(FEATURES)) float32 matrix of the images' features, in `FEATURES` order; frames not cached yet are
    computed on every core of the machine where there are enough of them (`physics_pool`)."""
    from .physics_pool import computed

    out = np.zeros((len(images), len(FEATURES)), np.float32)
    cached = [_cached(ws, image) for image in images]
    fresh = computed(
        ws, [img for img, c in zip(images, cached, strict=True) if c is None], lambda i, f: _keep(ws, i, f)
    )
    try:
        for i, known in enumerate(cached):
            check_stop(should_stop)
            feats = known if known is not None else next(fresh)
            out[i] = [feats[k] for k in FEATURES]
            if i % 10 == 0 or i + 1 == len(images):
                progress(i + 1, len(images), f"physics features {i + 1}/{len(images)}")
    finally:
        fresh.close()  # a cancelled job drops the frames still in flight
    return out
