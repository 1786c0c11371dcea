"""Coherent X-ray speckle of the 2-D n-disk model, labelled by disk count.

n disks (2-20) without overlap in an L x L box (L = 2000), total disk area 16200*pi. The far-field
intensity is |A(k)|^2 with A the exact Fourier transform of the disks,
A(k) = sum_j 2*pi*r_j^2 * J1(k r_j) / (k r_j) * exp(-i k.c_j), sampled on a 257x257 or 513x513 k-grid
with pixel pi/L (twice oversampled). The 11x11 centre (beamstop) is blocked, and the model input is
standardised per image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import j1

BOX = 2000.0
TOTAL_AREA = 16200.0 * np.pi
BLOCK = 11


@dataclass
class SpeckleFrame:
    intensity: np.ndarray  # |A|^2, float32, NaN in the blocked centre
    image: np.ndarray  # standardised over unblocked pixels, 0 in the blocked centre
    n_disks: int
    radii: np.ndarray
    centres: np.ndarray
    dispersity: str


def place_disks(
    n: int, rng: np.random.Generator, dispersity: Literal["mono", "poly"] = "mono", max_tries: int = 100_000
) -> tuple[np.ndarray, np.ndarray]:
    """Radii and centres of n non-overlapping disks inside the box, total area kept at 16200*pi.

    Polydisperse radii are Gaussian with sigma = mean/3 (redrawn below a tenth of the mean), then scaled
    so the total area is exact.

    Raises:
        ValueError: n outside 2-20, or no non-overlapping placement found within `max_tries`.
    """
    if not 2 <= n <= 20:
        raise ValueError(f"n: the disk model covers 2-20 disks, got {n}")
    mean = np.sqrt(TOTAL_AREA / np.pi / n)
    if dispersity == "mono":
        radii = np.full(n, mean)
    elif dispersity == "poly":
        radii = rng.normal(mean, mean / 3, n)
        while (small := radii < 0.1 * mean).any():
            radii[small] = rng.normal(mean, mean / 3, small.sum())
        radii *= np.sqrt(TOTAL_AREA / np.pi / np.sum(radii**2))
    else:
        raise ValueError(f"dispersity: expected 'mono' or 'poly', got {dispersity!r}")
    centres = np.zeros((n, 2))
    tries = 0
    for i in np.argsort(-radii):  # big disks first
        while True:
            tries += 1
            if tries > max_tries:
                raise ValueError(f"could not place {n} disks without overlap in {max_tries} tries")
            c = rng.uniform(radii[i], BOX - radii[i], 2)
            placed = [j for j in range(n) if j != i and centres[j].any()]
            if all(np.hypot(*(c - centres[j])) >= radii[i] + radii[j] for j in placed):
                centres[i] = c
                break
    return radii, centres


def speckle_intensity(radii: np.ndarray, centres: np.ndarray, grid: int = 257) -> np.ndarray:
    """|A(k)|^2 on a grid x grid k-grid with spacing pi/L, k = 0 at the centre pixel."""
    if grid not in (257, 513):
        raise ValueError(f"grid: expected 257 or 513, got {grid}")
    k1 = (np.arange(grid) - grid // 2) * np.pi / BOX
    ky, kx = np.meshgrid(k1, k1, indexing="ij")
    kr = np.hypot(kx, ky)
    amp = np.zeros(kr.shape, dtype=np.complex128)
    for r, (cx, cy) in zip(radii, centres, strict=True):
        x = kr * r
        form = np.where(x > 1e-9, 2 * j1(np.where(x > 1e-9, x, 1.0)) / np.where(x > 1e-9, x, 1.0), 1.0)
        amp += np.pi * r * r * form * np.exp(-1j * (kx * cx + ky * cy))
    return np.abs(amp) ** 2


def simulate_speckle(
    n: int, rng: np.random.Generator, grid: int = 257, dispersity: Literal["mono", "poly"] = "mono"
) -> SpeckleFrame:
    """One speckle pattern of n disks, centre blocked, standardised for the model."""
    radii, centres = place_disks(n, rng, dispersity)
    inten = speckle_intensity(radii, centres, grid).astype(np.float32)
    c, half = grid // 2, BLOCK // 2
    blocked = np.zeros(inten.shape, dtype=bool)
    blocked[c - half : c + half + 1, c - half : c + half + 1] = True
    valid = inten[~blocked]
    image = np.zeros_like(inten)
    image[~blocked] = (valid - valid.mean()) / (valid.std() + 1e-12)
    inten[blocked] = np.nan
    return SpeckleFrame(intensity=inten, image=image, n_disks=n, radii=radii, centres=centres, dispersity=dispersity)
