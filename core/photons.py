"""Photon units: how many of a frame's units one detected photon is worth, so any frame can be read as counts.

Every scale the product puts on a frame assumes counts: `log1p` is linear below one count and logarithmic
above (the thumbnails, the polar warp and its symmetry score, the classifiers' inputs), and the Anscombe
transform gives unit noise only to photon counts (the physics features). Integer frames and floats holding
whole numbers are counts. Processed frames are not: normalised by a monitor or a transmission, averaged over
a series, corrected by a flat field, or put on an absolute scale, their values may be 1e-6 or 1e6 per
photon. Read raw, a ring frame in 1e-6 units gave a symmetry score of 1.0 and the same frame in 1e6 units 0.74.

Their scale can be measured, without knowing how they were made, by the photon-transfer method detector
physicists use to calibrate gain: for counts scaled by g, a pixel's variance is g times its mean
(Poisson). Immerkaer's 3 x 3 kernel (blind to planes and to smooth curvature, so it reads noise, not the
pattern, wherever the pattern is smooth), divided by 6, has the pixel's noise variance; its trimmed variance in
bins of the local mean, fitted as a straight line against that mean (Theil-Sen), has slope g. An offset (a dark
pedestal) and read noise shift the line, not its slope. Dividing by g gives effective counts: the frame's
noise is then Poisson-sized whatever its units. A unit within `COUNT_BAND` of one count is taken as counts,
so a frame already in counts is not divided again.

Limits: a frame interpolated or smoothed after counting (distortion correction, rebinning) has noise correlated
between neighbours, so its pixel noise and its scale read too small (a 1.5x bilinear zoom: 34x); a flat frame
(no range of local means) and read noise alone leave the unit unknown (1.0).
"""

from __future__ import annotations

import threading

import numpy as np
from scipy import ndimage
from scipy.stats import theilslopes

MAX_PIXELS = 1_048_576  # larger frames are measured on 16 tiles spread over them
TILE = 256
COUNT_BAND = (0.7, 1.4)  # units per photon this close to one are counts (the estimate's own spread)
_MEMO: dict[tuple, float] = {}  # the last few frames' scales: the polar view asks three times per frame
_MEMO_LOCK = threading.Lock()
BINS = 16
MIN_PER_BIN = 200
TRIM = 0.9  # each bin's variance from its 90 % smallest responses ...
TRIM_GAUSS = 0.623  # ... which hold this share of a normal distribution's variance
LAPLACE_DIFF = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])


def counts_like(data: np.ndarray, ok: np.ndarray) -> bool:
    """Integers, or floats holding whole numbers: counts. Normalised or averaged floats have no known unit."""
    if data.dtype.kind in "iub":
        return True
    v = np.asarray(data)[ok][:: max(1, int(ok.sum()) // 20_000)]
    return bool(np.all(v == np.round(v)))


def _tiles(x: np.ndarray, ok: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    h, w = x.shape
    if h * w <= MAX_PIXELS:
        return [(x, ok)]
    n = max(1, int(np.sqrt(MAX_PIXELS) // TILE))
    # a strip narrower than a tile along one side would otherwise repeat the same tiles n times
    ys = np.unique(np.linspace(0, max(0, h - TILE), n).astype(int))
    xs = np.unique(np.linspace(0, max(0, w - TILE), n).astype(int))
    return [(x[y : y + TILE, c : c + TILE], ok[y : y + TILE, c : c + TILE]) for y in ys for c in xs]


def photon_scale(data: np.ndarray, mask: np.ndarray | None = None) -> float:
    """A frame's units per detected photon: 1.0 for counts (integers, whole-number floats) and wherever the
    noise cannot be measured (a noise-free model image, a frame too small or too flat); else the
    photon-transfer slope (see the module docstring)."""
    x = np.asarray(data)
    if x.ndim != 2 or x.dtype.kind not in "iubf":
        return 1.0
    ok = np.isfinite(x) if x.dtype.kind == "f" else np.ones(x.shape, bool)
    if mask is not None:
        ok &= ~np.asarray(mask, bool)
    if not ok.any() or counts_like(x, ok):
        return 1.0
    step = max(1, x.size // 4096)
    # the same frame in another dtype or copy is the same frame (polar reads it as float64, the search as given)
    key = (x.shape, np.asarray(x.reshape(-1)[::step], np.float64).tobytes(), int(ok.sum()))
    with _MEMO_LOCK:  # the web server's threads share it
        if key in _MEMO:
            return _MEMO[key]
    g = _measure(x, ok)
    with _MEMO_LOCK:
        while len(_MEMO) >= 4:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = g
    return g


def _measure(x: np.ndarray, ok: np.ndarray) -> float:
    ref = float(np.median(np.abs(x[ok]))) or float(np.abs(x[ok]).max())
    if not np.isfinite(ref) or ref <= 0:
        return 1.0
    means, spreads = [], []
    for t, o in _tiles(x, ok):
        t = np.where(o, t.astype(np.float64) / ref, 0.0)  # in units of the median: squares of 1e300 overflow
        v = ndimage.binary_erosion(o, np.ones((3, 3)), border_value=0)
        # Immerkaer's kernel: blind to planes (and to smooth curvature), 36 sigma^2 on white noise
        k = ndimage.convolve(t, LAPLACE_DIFF, mode="nearest") / 6.0
        local = ndimage.uniform_filter(t, 5) / np.maximum(ndimage.uniform_filter(o.astype(np.float64), 5), 1e-9)
        means.append(local[v])
        spreads.append(k[v])
    m, d = np.concatenate(means), np.concatenate(spreads)
    if m.size < BINS * MIN_PER_BIN:
        return 1.0
    edges = np.unique(np.quantile(m, np.linspace(0, 1, BINS + 1)))
    if len(edges) < 4:
        return 1.0
    which = np.clip(np.searchsorted(edges, m, side="right") - 1, 0, len(edges) - 2)
    bm, bv = [], []
    for b in range(len(edges) - 1):
        db = d[which == b]
        if db.size < MIN_PER_BIN:
            continue
        a = np.abs(db)
        keep = a <= np.quantile(a, TRIM)  # edges of rings and peaks, zingers: the largest tenth
        bm.append(float(np.median(m[which == b])))
        bv.append(float(np.mean(db[keep] ** 2)) / TRIM_GAUSS)
    if len(bm) < 3 or np.ptp(bm) <= 0:
        return 1.0
    # the median of the bins' pairwise slopes, robust to a few bins that structure inflates; a slope whose 95 %
    # interval reaches zero is no photon noise (read noise alone, a smooth model): the unit stays unknown
    slope, _, low, _ = theilslopes(bv, bm)
    if not np.isfinite(slope) or low <= 0:
        return 1.0
    g = float(slope) * ref
    return 1.0 if COUNT_BAND[0] <= g <= COUNT_BAND[1] else g


def as_counts(data: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The frame in effective photon counts (`photon_scale`); counts come back unchanged (the same array)."""
    g = photon_scale(data, mask)
    if g == 1.0:
        return data
    return np.asarray(data, dtype=np.float64) / g
