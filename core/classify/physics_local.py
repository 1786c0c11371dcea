"""Local checks at the frame's own resolution, each judged against the counting noise it must beat.

Counting noise is known before anything is fitted: after the Anscombe transform `2 sqrt(n + 3/8)` Poisson
counts have unit variance whatever their mean. So a departure from a physical rule can be stated as a
significance (how many noise sigmas the data stand off the rule), not as a raw contrast that depends on the
count level, the detector or the exposure. Used by `physics.frame_features`.

- `mirror_excess`: a transmission or grazing-incidence pattern mirrors about the column of the direct beam
  (the plane of incidence). The difference between the frame and its mirror image, in noise units, is pure
  noise for a physical pattern; a lopsided peak or a patch on one side is a local excess of it.
- `point_excess`: the same for the point reflection through the beam, which rings, a smooth preferred
  orientation and polarisation all obey (a missing arc, a displaced segment or a patch does not).
- `texture_lines`: counting noise is white and physical edges spread their power over many frequencies; a
  periodic texture of many periods puts it into one narrow spectral line.

What a physical frame may still differ from its reflection by (a sub-pixel error of the symmetry element, a
detector's pixel-to-pixel gain spread) is allowed for as slack, so bright sharp features are not called
asymmetric: without it the excess of real grazing-incidence frames was as large as a hallucination's.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..geometry.pyramid import masked_blur


def anscombe(counts: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Variance-stabilised counts: unit-variance noise at any count level (0 where invalid)."""
    return 2 * np.sqrt(np.where(valid, np.clip(counts, 0, None), 0) + 3 / 8)


def _excess(d2: np.ndarray, ok: np.ndarray, var: float, win: int = 16) -> tuple[float, float]:
    """(largest local, whole-frame) chi-square excess of squared residuals `d2` (expected `var` each) in
    standard deviations, log1p-compressed: windows of `win` px, at least half of them valid."""
    n = ndimage.uniform_filter(ok.astype(float), win) * win * win
    excess = np.where(ok, d2 / var - 1.0, 0.0)
    s = ndimage.uniform_filter(excess, win) * win * win
    z = np.where(n >= 0.5 * win * win, s / np.sqrt(2 * np.maximum(n, 1.0)), 0.0)
    whole = excess.sum() / np.sqrt(2 * max(ok.sum(), 1))
    return float(np.log1p(max(z.max(), 0.0))), float(np.log1p(max(whole, 0.0)))


def noise_variance(a: np.ndarray, valid: np.ndarray) -> float:
    """Pixel noise variance of `a`, measured: a robust spread of each pixel minus the mean of its four
    neighbours (1.25 sigma^2 for white noise). About 1 for Anscombe-transformed counts; larger for a detector
    whose values are not photon counts (gain, read noise), so significances stay honest there too."""
    v = valid & np.roll(valid, 1, 0) & np.roll(valid, -1, 0) & np.roll(valid, 1, 1) & np.roll(valid, -1, 1)
    nb = (np.roll(a, 1, 0) + np.roll(a, -1, 0) + np.roll(a, 1, 1) + np.roll(a, -1, 1)) / 4
    d = (a - nb)[v]
    if d.size < 100:
        return 1.0
    mad = 1.4826 * float(np.median(np.abs(d - np.median(d))))
    return max(mad**2 / 1.25, 1e-6)


def _prepare(a: np.ndarray, valid: np.ndarray, shift: float, gain: float, sigma: float = 1.0):
    """(smoothed image, its valid pixels, per-pixel slack, noise variance of a difference of two pixels).

    The frame is lightly smoothed (Gaussian, 1 px) so a sharp feature a fraction of a pixel off a symmetry
    element does not count; the smoothed difference of two independent images of pixel variance s2 has
    variance 2 s2 / (4 pi sigma^2). A physical frame may still differ from its reflection by a sub-pixel error
    of the reflection (`shift` px times the local slope) and by a pixel-to-pixel gain spread (`gain`, relative,
    like a flat-field's): that slack is added to the noise, so bright sharp features are not called asymmetric.
    """
    v = ndimage.binary_erosion(valid, iterations=2)
    g = np.where(v, masked_blur(a, v, sigma), 0.0)
    gy, gx = np.gradient(g)
    slack = (shift**2) * (gx**2 + gy**2) + (gain * g / 2) ** 2
    return g, v, slack, 2 * noise_variance(a, v) / (4 * np.pi * sigma**2)


def _best_reflection(g, v, slack, noise, reflections) -> tuple[float, float]:
    """Excess (`_excess`) of the reflection, among `reflections` ((rows, cols) index arrays of each pixel's
    image, out of range where it falls outside the frame), that leaves the smallest mean squared difference."""
    best = None
    level = np.median(g[v]) if v.any() else 0.0
    for rows, cols in reflections:
        inside = (rows >= 0) & (rows < g.shape[0]) & (cols >= 0) & (cols < g.shape[1])
        if inside.mean() < 0.25:
            continue
        ri, ci = np.clip(rows, 0, g.shape[0] - 1), np.clip(cols, 0, g.shape[1] - 1)
        # compared where the pattern is: a pixel or its reflection above the frame's median level. The dark parts
        # (beamstop rod, sample shadow, frame edges) are the instrument's, not the scattering's, and break the
        # symmetry on real frames while nothing a hallucination adds is darker than its surroundings.
        ok = v & inside & v[ri, ci] & ((g > level) | (g[ri, ci] > level))
        if ok.sum() < 500:
            continue
        d2 = np.where(ok, (g - g[ri, ci]) ** 2 * noise / (noise + slack + slack[ri, ci]), 0.0)
        mean = d2.sum() / ok.sum()
        if best is None or mean < best[0]:
            best = (mean, d2, ok)
    if best is None:
        return 0.0, 0.0
    return _excess(best[1], best[2], noise)


def mirror_excess(
    a: np.ndarray,
    valid: np.ndarray,
    axes: tuple[float, ...],
    reach: float = 3.0,
    shift: float = 1.0,
    gain: float = 0.05,
) -> tuple[float, float]:
    """(largest local, whole-frame) excess of the frame's difference from its mirror image about the best
    column within `reach` of any of `axes` (half-pixel steps: x -> 2c - x is an exact column permutation),
    in noise units; see `_prepare` for the slack a physical frame is allowed."""
    g, v, slack, noise = _prepare(a, valid, shift, gain)
    h, w = a.shape
    yy, xx = np.indices((h, w))
    twice = {t for ax in axes for t in range(int(np.floor(2 * (ax - reach))), int(np.ceil(2 * (ax + reach))) + 1)}
    return _best_reflection(g, v, slack, noise, ((yy, t - xx) for t in sorted(twice)))


def point_excess(
    a: np.ndarray,
    valid: np.ndarray,
    centre: tuple[float, float],
    reach: float = 1.5,
    shift: float = 1.0,
    gain: float = 0.05,
) -> tuple[float, float]:
    """As `mirror_excess`, for the point reflection through the best centre within `reach` of `centre`.

    Transmission patterns are centrosymmetric about the direct beam: rings, a smooth preferred orientation
    (cos 2phi, cos 4phi) and the polarisation factor all are, so what is left is noise, the grains of a coarse
    powder, and anything that is not physics (a patch, a one-sided blob)."""
    g, v, slack, noise = _prepare(a, valid, shift, gain)
    h, w = a.shape
    yy, xx = np.indices((h, w))
    cx, cy = centre
    tx = range(int(np.floor(2 * (cx - reach))), int(np.ceil(2 * (cx + reach))) + 1)
    ty = range(int(np.floor(2 * (cy - reach))), int(np.ceil(2 * (cy + reach))) + 1)
    return _best_reflection(g, v, slack, noise, ((sy - yy, sx - xx) for sx in tx for sy in ty))


def multitaper_power(tiles: np.ndarray, nw: float = 1.5, k: int = 2) -> np.ndarray:
    """Power spectra of (N, T, T) tiles, averaged over the k x k products of discrete prolate spheroidal
    (Slepian) tapers of time-bandwidth `nw` (Thomson's multitaper method, tapers from scipy). Unit-energy tapers
    keep white noise of variance s2 at power s2 at every frequency; averaging k * k nearly independent estimates
    shrinks the periodogram's exponential scatter (2 degrees of freedom) to 2 k^2, while a spectral line, present
    in every taper, keeps its height (spread over about nw / T in frequency)."""
    from scipy.signal.windows import dpss

    tapers = dpss(tiles.shape[-1], nw, k)
    p = np.zeros(tiles.shape, float)
    for ty in tapers:
        for tx in tapers:
            p += np.abs(np.fft.fft2(tiles * (ty[:, None] * tx[None, :]))) ** 2
    return p / (k * k)


def texture_lines(
    counts: np.ndarray,
    valid: np.ndarray,
    centre: tuple[float, float],
    tile: int = 64,
    mirror: float | None = None,
    clip: float = 3.0,
) -> float:
    """Largest spectral line of a periodic texture over its surroundings in frequency, in tiles of the
    noise-stabilised radial residual (concentric rings removed): log of the power at a frequency over the
    larger of the power at 0.6 and 1.6 times it plus a floor of four times the pixel noise's power (measured
    per frame: 1 for photon counts after the Anscombe transform, other values for integrating or binned detectors).

    Counting noise is white (its power is 1 at every frequency after the Anscombe transform and the window's
    normalisation); the edge of a ring or a peak spreads its power over a broad band of frequencies; a stripe
    or checkerboard of many periods puts it in a narrow line. Tiles of 64 px resolve a line of period up to
    16 px from its neighbours (32-px tiles smear it into them). The power is a multitaper estimate
    (`multitaper_power`): a single-window periodogram of a bright broadband signal (the grains of a spotty
    ring, sharp Bragg peaks) scatters exponentially about its mean, so among thousands of frequencies some
    stand out by chance as if they were lines; a texture's line is in every taper.

    The residual is clipped at `clip` noise sigmas first. Counting noise barely changes (0.3 % of its pixels lie
    beyond three sigmas), but a Bragg peak stands hundreds of sigmas off its surroundings: where a module gap or
    the beamstop cuts it, its edges spread that power over every frequency, and the mean taken out at each
    radius carries it, as arcs of the same height, across the rest of the frame at a period set by the lattice.
    Unclipped, a grazing-incidence frame with nothing hallucinated read a line as high as a checkerboard's.

    With `mirror` (a column), the residual's part that is antisymmetric about that column is read instead,
    scaled back to unit noise: a lattice of peaks from an ordered film in grazing incidence, or a ring's
    grains averaged over both sides, are periodic too but mirror about the plane of incidence and cancel; a
    hallucinated patch on one side does not.
    """
    from .physics_detector import _radial_residual, scaled_frequency

    v = ndimage.binary_erosion(valid, iterations=2)
    stabilised = anscombe(counts, v)
    floor = 4.0 * noise_variance(stabilised, v)  # 4 for photon counts; measured, for detectors that do not count
    a = _radial_residual(stabilised, v, *centre)
    r = np.where(v, a - masked_blur(a, v, 3.0), 0.0)
    h, w = r.shape
    if mirror is not None:
        cols = np.rint(2 * mirror - np.arange(w)).astype(int)
        inside = (cols >= 0) & (cols < w)
        cols = np.clip(cols, 0, w - 1)
        v = v & inside[None, :] & v[:, cols]
        r = np.where(v, (r - r[:, cols]) / np.sqrt(2.0), 0.0)
    sd = np.sqrt(floor / 4.0)
    r = np.clip(r, -clip * sd, clip * sd)
    step = tile // 2
    starts = [(i, j) for i in range(0, h - tile + 1, step) for j in range(0, w - tile + 1, step)]
    starts = [(i, j) for i, j in starts if v[i : i + tile, j : j + tile].mean() > 0.6]
    if not starts:
        return 0.0
    tiles = np.array([r[i : i + tile, j : j + tile] for i, j in starts])
    p = multitaper_power(tiles)
    k = np.rint(np.fft.fftfreq(tile) * tile).astype(int)
    ky, kx = np.meshgrid(k, k, indexing="ij")
    (ly, lx), (uy, ux) = scaled_frequency(ky, kx, tile, 0.6), scaled_frequency(ky, kx, tile, 1.6)
    f = np.hypot(ky, kx) / tile
    band = (f > 0.08) & (f < 0.45)
    line = p / (np.maximum(p[:, ly, lx], p[:, uy, ux]) + floor)
    return float(np.log(line[:, band].max()))
