"""The direct beam's shadow: where the beamstop is, how large, and the holder that carries it.

A beamstop is the darkest disc of a frame with a bright rim (the direct beam's air and parasitic scatter are
brightest around it), and its holder (a rod or a wire to the frame edge) is dark too and narrower than the
disc. Both are dark by design: a ring crossing them is not broken.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal

BEAMSTOP_TOLERANCE = 0.8  # measured on simulated frames with known beams: 11 -> 2 of 60 ring frames > 5 px off
RIM_SEEN = 0.7  # a shadow with its rim mostly outside the frame is the dark band between two rings at its edge
MAX_HOLDER_AREA = 0.2  # a "shadow" over a fifth of the frame is a dark region, not a holder: keep the disc only


def _disc(r0: float, r1: float) -> np.ndarray:
    half = int(np.ceil(r1))
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    d = np.hypot(yy, xx)
    return ((d >= r0) & (d <= r1)).astype(float)


def beamstop(log_img: np.ndarray, valid: np.ndarray) -> tuple[float, tuple[float, float], float]:
    """(contrast, (x, y), radius) of the darkest disc with a bright rim: a matched filter over a few radii.

    The beamstop shadows the direct beam, where air and parasitic scatter are brightest, so the contrast
    between a ring around it and the disc inside is the frame's largest at the beam whatever the pattern.
    Its holder (a rod or a wire to the frame edge) is dark too and narrower than the disc: a small disc fits
    inside the rod almost as darkly as inside the beamstop, so the largest disc whose contrast is within
    `BEAMSTOP_TOLERANCE` of the best wins, not the darkest one.
    """
    h, w = log_img.shape
    size = max(h, w)
    img = np.where(valid, log_img, 0.0)
    v = valid.astype(float)
    found = []
    for f in (0.02, 0.03, 0.045, 0.065):
        r = f * size
        kd, ka = _disc(0, 0.7 * r), _disc(1.15 * r, 1.8 * r)
        nd, dd = signal.fftconvolve(img, kd, "same"), signal.fftconvolve(v, kd, "same")
        na, da = signal.fftconvolve(img, ka, "same"), signal.fftconvolve(v, ka, "same")
        ok = (dd > 0.6 * kd.sum()) & (da > RIM_SEEN * ka.sum())
        if not ok.any():
            continue
        con = np.where(ok, na / np.maximum(da, 1e-6) - nd / np.maximum(dd, 1e-6), -np.inf)
        i = int(np.argmax(con))
        found.append((float(con.flat[i]), (float(i % w), float(i // w)), float(r)))
    if not found:
        return -np.inf, (w / 2, h / 2), 0.0
    top = max(c for c, _, _ in found)
    return [hit for hit in found if hit[0] >= BEAMSTOP_TOLERANCE * top][-1]


def holder_shadow(log_img: np.ndarray, valid: np.ndarray, centre: tuple[float, float], radius: float) -> np.ndarray:
    """The beamstop disc and everything connected to it that is as dark against its own surroundings (its
    holder), grown by two pixels.

    "Dark" is measured against a local median over about four beamstop radii (wider than any holder, so the
    surroundings dominate it): at least half-way from it down to the disc's own level (and never more than half
    the disc's contrast with its rim, which a bright ring on the rim inflates). The test holds at any count
    level, far from the beam where everything is weak, and on any detector. A light blur first bridges
    one-pixel module gaps.
    """
    h, w = log_img.shape
    none = np.zeros((h, w), bool)
    if radius <= 0 or not np.isfinite(radius):
        return none
    num = ndimage.gaussian_filter(np.where(valid, log_img, 0.0), 1.5)
    den = ndimage.gaussian_filter(valid.astype(float), 1.5)
    level = num / np.maximum(den, 1e-6)
    yy, xx = np.indices((h, w))
    d = np.hypot(xx - centre[0], yy - centre[1])
    inside, rim = level[(d < 0.7 * radius) & valid], level[(d > 1.15 * radius) & (d < 1.8 * radius) & valid]
    if not len(inside) or not len(rim):
        return none
    contrast = float(np.median(rim) - np.median(inside))
    if contrast <= 0:
        return none
    b = max(1, int(radius // 3))
    coarse = level[: h - h % b or h, : w - w % b or w]
    coarse = coarse.reshape(coarse.shape[0] // b, b, coarse.shape[1] // b, b).mean((1, 3)) if b > 1 else coarse
    k = max(3, int(4 * radius / b) | 1)
    local = ndimage.median_filter(coarse, size=k, mode="nearest")
    local = ndimage.zoom(local, (h / local.shape[0], w / local.shape[1]), order=1, mode="nearest")[:h, :w]
    local = np.pad(local, ((0, h - local.shape[0]), (0, w - local.shape[1])), mode="edge")
    # dark: nearer the disc's own level than the surroundings' (a bright ring on the rim makes the disc's contrast
    # larger than the step from a weak background into the holder), where that step is a factor of e^0.5 or more
    inner = float(np.median(inside))
    step = np.minimum(contrast, local - inner)
    dark = (level < local - 0.5 * step) & (step > 0.5) & (den > 0.1)
    seed = dark & (d < 0.7 * radius)
    if not seed.any():
        return ndimage.binary_dilation(d < radius, iterations=2)
    labels, _ = ndimage.label(dark)
    comp = np.isin(labels, np.unique(labels[seed])) | (d < radius)
    if comp.mean() > MAX_HOLDER_AREA:
        comp = d < radius
    return ndimage.binary_dilation(comp, iterations=2)
