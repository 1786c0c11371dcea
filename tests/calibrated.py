"""A ring frame whose geometry is known exactly, and the pyFAI `.poni` that describes it: the ring's q is set
by hand-written scattering geometry (no pyFAI), so an I(q) from the calibration can be checked against it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SHAPE = (300, 320)  # rows, columns
CENTRE = (150.3, 140.7)  # (x, y) in array pixels, pixel centres at integers
PIXEL_M = 1e-4
DISTANCE_M = 0.2
WAVELENGTH_M = 1e-10  # 1 Angstrom
RING_Q = 0.3  # inverse Angstrom
RING_SIGMA_Q = 0.004


def q_of_pixels(shape=SHAPE, centre=CENTRE) -> np.ndarray:
    """q (1/Angstrom) of every pixel of an untilted detector: 2theta = atan(r / d), q = 4 pi sin(theta) / lambda."""
    y, x = np.indices(shape, dtype=np.float64)
    r_m = np.hypot(x - centre[0], y - centre[1]) * PIXEL_M
    two_theta = np.arctan2(r_m, DISTANCE_M)
    return 4 * np.pi * np.sin(two_theta / 2) / (WAVELENGTH_M * 1e10)


def ring_radius_px(q: float = RING_Q) -> float:
    two_theta = 2 * np.arcsin(q * WAVELENGTH_M * 1e10 / (4 * np.pi))
    return float(DISTANCE_M * np.tan(two_theta) / PIXEL_M)


def ring_frame(seed: int = 0, shape=SHAPE, centre=CENTRE) -> np.ndarray:
    """Poisson counts of one ring at RING_Q on a flat background (float32)."""
    rng = np.random.default_rng(seed)
    q = q_of_pixels(shape, centre)
    expected = 20.0 + 2000.0 * np.exp(-0.5 * ((q - RING_Q) / RING_SIGMA_Q) ** 2)
    return rng.poisson(expected).astype(np.float32)


def write_poni(path: Path, shape=SHAPE, centre=CENTRE, wavelength: float | None = WAVELENGTH_M) -> Path:
    """A pyFAI 2.1 `.poni` for the frame: the PONI is the centre's pixel corner offset (pixel edges at -0.5)."""
    config = {"pixel1": PIXEL_M, "pixel2": PIXEL_M, "max_shape": list(shape), "orientation": 3}
    lines = [
        "poni_version: 2.1",
        "Detector: Detector",
        "Detector_config: " + json.dumps(config),
        f"Distance: {DISTANCE_M}",
        f"Poni1: {(centre[1] + 0.5) * PIXEL_M!r}",
        f"Poni2: {(centre[0] + 0.5) * PIXEL_M!r}",
        "Rot1: 0.0",
        "Rot2: 0.0",
        "Rot3: 0.0",
    ]
    if wavelength:
        lines.append(f"Wavelength: {wavelength!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
