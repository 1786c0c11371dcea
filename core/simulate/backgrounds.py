"""Background frames that are not blank: what a scientist files as background although the frame holds light.

Air scatter, a weak halo and dark frames (drawn in `wide.py`) are the plain cases. Real background frames also
hold:

- the **direct beam** of an empty-beam or air measurement, recorded through a semi-transparent beamstop (a
  transmission or flux frame): one compact spot in the stop's shadow, inside the air and slit scatter that falls
  off round it;
- **diffuse clouds**: weak scatter away from any Bragg condition (thermal diffuse scatter, short-range order,
  the remnant of a reflection far from its rocking condition at the ends of a rocking scan): one to three broad
  clouds of a few to a few tens of counts at their brightest, grainy with counting noise and, in a coherent
  beam, with speckle; there is no pattern to analyse;
- an integrating detector's **fixed-pattern noise**: row or column banding of its readout, readout tiles at
  slightly different offsets, dark current glowing from a corner.

Each draws expected counts into a `Scene`; `gain` (counts per expected unit) is the frame's, so the recorded
levels drawn here are what the file will hold.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .geometry import Scene

BACKGROUND_EXTRAS = ("direct_beam", "diffuse_cloud", "fixed_pattern")
CLOUD_MAX_COUNTS = 40.0  # a cloud's brightest recorded counts at most: weaker than any reflection drawn as a peak


def add_direct_beam(scene: Scene, rng: np.random.Generator, gain: float, transmission: float) -> None:
    """The attenuated direct beam at the beam centre: a Gaussian 0.3-1.2% of the frame wide whose recorded peak
    is 20 to 1e5 counts after the beamstop's `transmission` (1: no beamstop)."""
    r, _ = scene.grids()
    width = rng.uniform(0.003, 0.012) * max(scene.shape)
    if transmission < 1 and "beamstop" in scene.params:  # the stop is wider than the beam it is there to stop
        width = min(width, scene.params["beamstop"]["radius"] / 4)
    peak = float(np.exp(rng.uniform(np.log(20), np.log(1e5))))
    scene.expected += peak / (gain * max(transmission, 1e-4)) * np.exp(-0.5 * (r / width) ** 2)
    scene.params.update(direct_beam_peak=peak, direct_beam_width_px=float(width))


def add_diffuse_clouds(
    scene: Scene, rng: np.random.Generator, gain: float, win: tuple[slice, slice] | None = None
) -> int:
    """One to three broad weak clouds inside the frame window `win`: 1.5-6% of the frame wide, recorded peaks of
    3 to `CLOUD_MAX_COUNTS` counts, half of them speckled (a coherent beam). Returns how many."""
    h, w = scene.shape
    ys = win[0] if win else slice(0, h)
    xs = win[1] if win else slice(0, w)
    size = max(ys.stop - ys.start, xs.stop - xs.start)
    yy, xx = np.indices(scene.shape, dtype=np.float64)
    k = int(rng.integers(1, 4))
    cloud = np.zeros(scene.shape)
    for _ in range(k):
        px = rng.uniform(xs.start, xs.stop)
        py = rng.uniform(ys.start, ys.stop)
        sx = rng.uniform(0.015, 0.06) * size
        sy = sx * rng.uniform(0.5, 2.0)
        peak = float(np.exp(rng.uniform(np.log(3), np.log(CLOUD_MAX_COUNTS))))
        cloud += peak / gain * np.exp(-0.5 * (((xx - px) / sx) ** 2 + ((yy - py) / sy) ** 2))
    speckled = bool(rng.random() < 0.5)
    if speckled:  # fully developed speckle: exponential intensities correlated over a speckle of 1-2 pixels
        grain = ndimage.gaussian_filter(rng.exponential(1.0, scene.shape), rng.uniform(0.5, 1.5))
        cloud *= grain / grain.mean()
    scene.expected += cloud
    scene.params.update(clouds=k, clouds_speckled=speckled)
    return k


def add_fixed_pattern(scene: Scene, rng: np.random.Generator, gain: float) -> str:
    """An integrating panel's fixed-pattern dark signal of 2-30 recorded counts: banding along rows or columns,
    readout tiles at different offsets, or dark current glowing from a corner. Returns which."""
    h, w = scene.shape
    amp = float(np.exp(rng.uniform(np.log(2), np.log(30)))) / gain
    kind = str(rng.choice(["banding", "tiles", "glow"]))
    if kind == "banding":
        along_rows = bool(rng.random() < 0.5)
        n = h if along_rows else w
        band = ndimage.gaussian_filter1d(rng.normal(0, 1, n), rng.uniform(0.5, 3.0))
        band = amp * (band - band.min()) / max(float(np.ptp(band)), 1e-9)
        scene.expected += band[:, None] if along_rows else band[None, :]
    elif kind == "tiles":
        ty, tx = int(rng.integers(1, 5)), int(rng.integers(2, 9))
        offsets = amp * rng.random((ty, tx))
        rows = np.minimum(np.arange(h) * ty // h, ty - 1)
        cols = np.minimum(np.arange(w) * tx // w, tx - 1)
        scene.expected += offsets[rows][:, cols]
    else:
        yy, xx = np.indices(scene.shape, dtype=np.float64)
        cy, cx = rng.choice([0, h - 1]), rng.choice([0, w - 1])
        scene.expected += amp * np.exp(-np.hypot(yy - cy, xx - cx) / (rng.uniform(0.1, 0.4) * max(h, w)))
    scene.params.update(fixed_pattern=kind)
    return kind
