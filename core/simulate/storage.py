"""How a detector writes numbers: counting noise, an integrating panel's dark offset and read noise, warm pixels
and cosmic-ray zingers, saturation, gap values, display images and zero-suppressed (sparse) storage.

Photon counters (Pilatus, Eiger, Medipix) write Poisson counts and flag gaps as -1 or the unsigned maximum.
Integrating detectors (flat panels, CCDs, image plates) add a dark offset of tens to thousands of ADU and
Gaussian read noise, have warm pixels whose dark current fluctuates, and catch cosmic rays. A far-field
diffraction frame cache (HEXRD) stores a scan zero-suppressed: the scan's dark/median frame is subtracted and
only pixels at or above a threshold of a few noise sigmas (as users set it, 3-8) are kept, so noise
excursions, warm pixels and zingers survive beside the spots as isolated single pixels. A frame simulated on
a grid coarser than the detector's keeps them isolated, as they are at the native pixel density (where two of
them seldom touch), so they never pass for a small spot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MAX_VALUE = {"int32": 2**20 - 1, "uint16": 2**16 - 1, "uint32": 2**32 - 1, "float32": 2**20, "uint8": 255}


@dataclass(frozen=True)
class Readout:
    """What the detector adds to the photons and how it stores the frame (recorded in the frame's params)."""

    dtype: str
    integrating: bool  # dark offset and read noise (flat panels, CCDs)
    offset: float  # dark offset, ADU
    read_noise: float  # Gaussian read noise, ADU
    sparse: bool  # zero-suppressed against the scan's static frame
    k_sigma: float  # the sparse threshold in noise sigmas
    warm_fraction: float  # pixels with fluctuating dark current
    zingers: int  # cosmic-ray hits in this frame

    def to_params(self) -> dict:
        return {f"readout_{k}": v for k, v in asdict(self).items()}


def draw_readout(rng: np.random.Generator, dtype: str, integrating: bool, sparse: bool) -> Readout:
    """A detector's readout for one frame; integrating detectors only when `integrating`."""
    return Readout(
        dtype=dtype,
        integrating=integrating,
        offset=float(np.exp(rng.uniform(np.log(100), np.log(4000)))) if integrating else 0.0,
        read_noise=float(rng.uniform(1.0, 25.0)) if integrating else 0.0,
        sparse=sparse,
        k_sigma=float(np.exp(rng.uniform(np.log(3.0), np.log(8.0)))) if sparse else 0.0,
        warm_fraction=float(np.exp(rng.uniform(np.log(1e-6), np.log(3e-5)))) if integrating else 0.0,
        zingers=int(rng.poisson(rng.uniform(0, 15))) if integrating else 0,
    )


def sigma(static: np.ndarray | float, readout: Readout) -> float:
    """The noise (ADU) of a typical pixel about the static frame: Poisson on its counts plus read noise."""
    return float(np.sqrt(max(float(np.median(static)), 0.0) + readout.read_noise**2))


def threshold_of(static: np.ndarray, readout: Readout) -> float:
    """The zero-suppression threshold (ADU above the static frame), at least two counts."""
    return max(2.0, readout.k_sigma * sigma(static, readout))


def _tail(static: np.ndarray, readout: Readout, threshold: float) -> float:
    """The chance that one pixel's noise alone reaches `threshold` above its static level (Poisson counts of a
    typical pixel plus Gaussian read noise, as a normal tail when read noise dominates)."""
    from scipy import stats

    mu = max(float(np.median(static)), 0.0)
    if readout.read_noise > 0:
        return float(stats.norm.sf(threshold / sigma(static, readout)))
    return float(stats.poisson.sf(np.ceil(mu + threshold) - 1, mu)) if mu > 0 else 0.0


def _scatter(
    counts: np.ndarray, rng: np.random.Generator, n: int, values: np.ndarray, avoid: np.ndarray | None = None
) -> None:
    """Add `values` at `n` random pixels, each a single-pixel event.

    The events are single *native* pixels: at the native density two of them almost never touch, but packed
    into a grid coarser than the detector's they would, and a pair of touching events looks like a small spot
    (it survives the classifier's despeckling, which a real panel's isolated events do not). So an event that
    would touch another on this grid (or a pixel of `avoid`: what a sparse frame already stores) is dropped: the
    frame keeps as many isolated events as fit.
    """
    if not n:
        return
    flat = rng.integers(0, counts.size, n)
    h, w = counts.shape
    hit = np.zeros((h + 2, w + 2), np.int32)
    ys, xs = np.divmod(flat, w)
    np.add.at(hit, (ys + 1, xs + 1), 1)
    if avoid is not None:
        hit[1 : h + 1, 1 : w + 1] += 2 * avoid  # never alone next to (or on) a stored pixel
    around = sum(hit[1 + dy : h + 1 + dy, 1 + dx : w + 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    alone = around[ys, xs] == 1  # no other event in its 3 x 3 neighbourhood (itself counted once)
    np.add.at(counts.reshape(-1), flat[alone], np.asarray(values)[alone] if np.ndim(values) else values)


def _touching(mask: np.ndarray) -> np.ndarray:
    """Pixels of `mask` with another pixel of `mask` among their eight neighbours."""
    h, w = mask.shape
    pad = np.pad(mask, 1)
    around = np.zeros_like(mask)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy != 1 or dx != 1:
                around |= pad[dy : dy + h, dx : dx + w]
    return mask & around


def _detector_extras(
    counts: np.ndarray, rng: np.random.Generator, readout: Readout, scale: float, native_px: int
) -> None:
    """Warm pixels (a few `scale` above their dark level) and zingers (single pixels or short tracks).

    Warm pixels are a fraction of the detector's native pixels: a 2048 x 2048 panel has 30 times as many as a
    frame simulated at 370 x 370, and each stays a visible single-pixel event at any display size, isolated
    as on the native grid (`_scatter`). A zinger's track is 1-4 native pixels long, so on a grid coarser than
    the detector's it mostly covers one pixel.
    """
    if readout.warm_fraction:
        n = int(rng.binomial(max(native_px, counts.size), readout.warm_fraction))
        _scatter(counts, rng, n, scale * rng.uniform(0.5, 6.0, n))
    h, w = counts.shape
    per_native = min(1.0, float(np.sqrt(counts.size / native_px))) if native_px else 1.0
    for _ in range(readout.zingers):
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        # a track of 1-4 native pixels: on a coarser grid most tracks fall in one pixel
        length = max(1, int(round(int(rng.choice([1, 1, 1, 2, 3, 4])) * per_native)))
        ang = rng.uniform(0, np.pi)
        amp = scale * float(np.exp(rng.uniform(np.log(3), np.log(200))))
        for t in range(length):
            yy, xx = int(round(y + t * np.sin(ang))), int(round(x + t * np.cos(ang)))
            if 0 <= yy < h and 0 <= xx < w:
                counts[yy, xx] += amp


def write(
    lam: np.ndarray,
    rng: np.random.Generator,
    readout: Readout,
    gaps: np.ndarray,
    disc: np.ndarray | None,
    static: np.ndarray | None,
    native_px: int = 0,
) -> tuple[np.ndarray, float]:
    """Count and store as the detector would; returns the frame and the sparse threshold (0: not sparse).

    `static` (expected counts of the scan's static background) is needed for sparse storage. `native_px`, the
    detector's native pixel count, sets how many single-pixel events (warm pixels, noise excursions above a
    sparse threshold) a frame holds when it is simulated on a coarser grid.
    """
    dtype = readout.dtype
    counts = rng.poisson(np.clip(lam, 0, 1e12)).astype(np.float64)
    noise_scale = sigma(static if static is not None else lam, readout)
    if readout.integrating:
        counts += readout.offset + rng.normal(0, readout.read_noise, counts.shape)
    _detector_extras(counts, rng, readout, max(noise_scale, 1.0) * max(readout.k_sigma, 3.0), native_px)
    threshold = 0.0
    if readout.sparse:
        if static is None:
            raise ValueError("sparse storage needs the static frame")
        counts -= static + readout.offset
        threshold = threshold_of(static, readout)
        counts[counts < threshold] = 0
        if native_px > counts.size:  # noise passes as single native pixels, which touch only on this coarse grid
            noise = (counts > 0) & (np.asarray(lam) - static < 0.5 * threshold)
            counts[noise & _touching(noise)] = 0
        # the native pixels this coarser grid stands for add their own noise excursions above the threshold
        extra = max(0, native_px - counts.size)
        n = int(rng.binomial(extra, _tail(static, readout, threshold))) if extra else 0
        _scatter(counts, rng, n, threshold + rng.exponential(max(noise_scale, 1.0), n), avoid=counts > 0)
    hot = rng.random(counts.shape) < 2e-5
    counts[hot] = MAX_VALUE[dtype]
    counts = np.clip(counts, 0, MAX_VALUE[dtype])
    if dtype == "uint8":  # a display image: log-scaled to 0-255 by its own maximum, gaps black
        v = np.log1p(counts)
        out = (v / max(v.max(), 1e-9) * 255).astype(np.uint8)
        out[gaps] = 0
    elif dtype in ("uint16", "uint32"):
        out = np.round(counts).astype(dtype) if readout.integrating else counts.astype(dtype)
        out[gaps] = MAX_VALUE[dtype]
    else:
        out = (np.round(counts) if readout.integrating else counts).astype(dtype)
        out[gaps] = -1
    if disc is not None:
        out[~disc] = 0
    return out, threshold
