"""The detector half of the physics checks: module gaps are straight and regular, counting noise is white.

A detector cannot bend its gaps or move them off the module grid, and Poisson counting cannot make a stripe or
a checkerboard: after the Anscombe transform its noise has unit variance at every frequency. Used by
`physics.frame_features`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..geometry.pyramid import masked_blur


def gaps(mask: np.ndarray) -> tuple[float, float]:
    """(share of masked pixels on straight full-length lines, spacing irregularity of those lines)."""
    lab, n = ndimage.label(mask)
    if n == 0:
        return 1.0, 0.0
    sizes = ndimage.sum(mask, lab, range(1, n + 1))
    big = np.isin(lab, 1 + np.flatnonzero(sizes >= 4))
    total = big.sum()
    if total == 0:
        return 1.0, 0.0
    rowf, colf = big.mean(1), big.mean(0)
    straight = big & ((rowf[:, None] > 0.6) | (colf[None, :] > 0.6))
    cvs = []
    for frac, length in ((rowf, mask.shape[0]), (colf, mask.shape[1])):
        lines = frac > 0.6
        lab1, k = ndimage.label(lines)
        if k >= 1 and lines.sum() < 0.5 * length:
            pos = np.array(ndimage.center_of_mass(lines, lab1, range(1, k + 1)))[:, 0]
            spacing = np.diff(np.concatenate([[-0.5], pos, [length - 0.5]]))
            cvs.append(float(spacing.std() / spacing.mean()))
    return float(straight.sum() / total), max(cvs) if cvs else 0.0


def scaled_frequency(ky: np.ndarray, kx: np.ndarray, tile: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """FFT indices of the frequencies `scale` times each (ky, kx) of a `tile`-px tile (clipped to Nyquist): the
    neighbours a narrow spectral line is compared with."""
    half = tile // 2
    iy = np.clip(np.rint(ky * scale), -half, half - 1).astype(int) % tile
    ix = np.clip(np.rint(kx * scale), -half, half - 1).astype(int) % tile
    return iy, ix


def _radial_residual(a: np.ndarray, valid: np.ndarray, cx: float, cy: float) -> np.ndarray:
    """`a` minus its azimuthal mean at each radius about (cx, cy): concentric rings vanish, anything that is
    not a function of the radius alone (a patch, a missing arc, a spot) stays."""
    yy, xx = np.indices(a.shape)
    r = np.hypot(xx - cx, yy - cy).astype(int)
    n = int(r.max()) + 1
    sums = np.bincount(r[valid], a[valid], n)
    counts = np.bincount(r[valid], minlength=n)
    mean = sums / np.maximum(counts, 1)
    return np.where(valid, a - mean[r], 0.0)


def texture(counts: np.ndarray, valid: np.ndarray, centre: tuple[float, float], tile: int = 32):
    """Periodic texture that counting noise cannot make: in tiles of the noise-stabilised residual, the power
    at a frequency against the power at half that frequency (a line or ring edge falls off outwards; a
    stripe or checkerboard peaks), plus the largest tile energy over the median."""
    a = 2 * np.sqrt(np.where(valid, np.clip(counts, 0, None), 0) + 3 / 8)  # Anscombe: Poisson → unit variance
    a = _radial_residual(a, valid, *centre)
    r = np.where(valid, a - masked_blur(a, valid, 3.0), 0.0)
    h, w = r.shape
    step = tile // 2
    tiles, cover = [], []
    for i in range(0, h - tile + 1, step):
        for j in range(0, w - tile + 1, step):
            tiles.append(r[i : i + tile, j : j + tile])
            cover.append(valid[i : i + tile, j : j + tile].mean())
    if not tiles:
        return 0.0, 0.0, 0.0
    tiles_a, cover_a = np.array(tiles), np.array(cover)
    win = np.hanning(tile)[:, None] * np.hanning(tile)[None, :]
    p = np.abs(np.fft.fft2(tiles_a * win)) ** 2
    k = np.rint(np.fft.fftfreq(tile) * tile).astype(int)
    ky, kx = np.meshgrid(k, k, indexing="ij")
    hy, hx = np.rint(ky / 2).astype(int) % tile, np.rint(kx / 2).astype(int) % tile
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(tile), np.fft.fftfreq(tile), indexing="ij"))
    band = f > 0.06
    med = np.median(p[:, band], axis=1)[:, None, None]
    ratio = p / (p[:, hy, hx] + med)
    sel = (f > 0.08) & (f < 0.45)
    spec = np.log(np.max(ratio[:, sel], axis=1) + 1e-12)
    # a texture of many periods has a narrow spectral line; the edge of a ring (one oscillation across it, left
    # by a sub-pixel centre error) a broad hump: compare each frequency with 0.6 and 1.6 times it
    (ly, lx), (uy, ux) = scaled_frequency(ky, kx, tile, 0.6), scaled_frequency(ky, kx, tile, 1.6)
    sharp = p / (np.maximum(p[:, ly, lx], p[:, uy, ux]) + med)
    sharpness = np.log(np.max(sharp[:, sel], axis=1) + 1e-12)
    ok = cover_a > 0.6
    if not ok.any():
        return 0.0, 0.0, 0.0
    s = np.sort(spec[ok])
    return float(s[-1]), float(s[-3] if len(s) >= 3 else s[0]), float(sharpness[ok].max())
