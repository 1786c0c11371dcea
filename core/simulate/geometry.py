"""Detector geometry and counting: module gaps like a Pilatus, a beamstop rod and disc, air scatter,
parasitic scatter near the beam and Poisson counting noise.

Everything is computed in output pixels. The detector's module layout is scaled onto the output frame
(as the ALS frames are a whole Pilatus 2M resampled to 512x512), and the effective pixel size follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GAP_VALUE = -1  # what Pilatus files hold in module gaps
DEAD_VALUE = -2


@dataclass(frozen=True)
class Detector:
    """A hybrid pixel detector made of modules separated by insensitive gaps (native pixels)."""

    name: str
    modules: tuple[int, int]  # (rows, columns) of modules
    module_px: tuple[int, int] = (195, 487)  # (height, width) of one module
    gap_px: tuple[int, int] = (17, 7)  # (between module rows, between module columns)
    pixel_m: float = 172e-6

    @property
    def native_shape(self) -> tuple[int, int]:
        (r, c), (h, w), (gr, gc) = self.modules, self.module_px, self.gap_px
        return r * h + (r - 1) * gr, c * w + (c - 1) * gc


DETECTORS = {
    "Pilatus1M": Detector("Pilatus1M", (5, 2)),
    "Pilatus2M": Detector("Pilatus2M", (8, 3)),
}


@dataclass
class Scene:
    """One frame under construction: expected counts plus where the beam, beamstop and gaps are."""

    shape: tuple[int, int]
    detector: Detector
    centre: tuple[float, float]  # (x, y) of the direct beam, output pixels
    pixel_m: float  # effective pixel size at this output size
    expected: np.ndarray = field(init=False)
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        self.expected = np.zeros(self.shape, dtype=np.float64)

    def grids(self, centre: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Radius and azimuth (radians, 0 along +x, counter-clockwise with y pointing down) about `centre`."""
        cx, cy = self.centre if centre is None else centre
        yy, xx = np.indices(self.shape, dtype=np.float64)
        dx, dy = xx - cx, yy - cy
        return np.hypot(dx, dy), np.arctan2(-dy, dx)

    def tilted_grids(
        self, centre: tuple[float, float], distance_px: float, tilt: float, tilt_dir: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """`grids` for a detector plane tilted by `tilt` (radians) about an in-plane axis at angle `tilt_dir`
        through the beam point: the radius each pixel would have on an untilted detector at the same distance
        (distance * tan 2theta), so Debye-Scherrer rings become the conics a tilted panel or a 2theta arm
        records."""
        cx, cy = centre
        yy, xx = np.indices(self.shape, dtype=np.float64)
        u, v = xx - cx, -(yy - cy)
        ax, ay = np.cos(tilt_dir), np.sin(tilt_dir)  # rotation axis in the detector plane
        c, s = np.cos(tilt), np.sin(tilt)
        along = u * ax + v * ay  # the in-plane component along the axis stays; the rest turns out of the plane
        ux, uy = u - along * ax, v - along * ay
        px, py, pz = along * ax + ux * c, along * ay + uy * c, distance_px + (ax * uy - ay * ux) * s  # Rodrigues
        return distance_px * np.hypot(px, py) / np.clip(pz, 1e-6 * distance_px, None), np.arctan2(py, px)


def new_scene(
    rng: np.random.Generator, size: int | tuple[int, int], detector: str = "Pilatus2M", low_beam: bool = True
) -> Scene:
    """A scene with the direct beam off-centre: usually in the lower part of the frame, as at the ALS."""
    shape = (size, size) if isinstance(size, int) else tuple(size)
    det = DETECTORS[detector]
    h, w = shape
    if low_beam and rng.random() < 0.75:
        cy = rng.uniform(0.62, 0.9) * h
    else:
        cy = rng.uniform(0.35, 0.65) * h
    cx = rng.uniform(0.35, 0.65) * w
    pixel_m = det.pixel_m * det.native_shape[0] / h
    return Scene(shape=shape, detector=det, centre=(cx, cy), pixel_m=pixel_m, params={"detector": detector})


def gap_mask(
    shape: tuple[int, int],
    det: Detector,
    bend: float = 0.0,
    jitter: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Module gaps scaled onto the output frame (each at least one pixel wide).

    `bend` (pixels) bends each gap along a sine and `jitter` (fraction of a module) moves gaps off the
    module grid: both are hallucinations, real gaps are straight and regular.
    """
    h, w = shape
    nh, nw = det.native_shape
    sy, sx = h / nh, w / nw
    mask = np.zeros(shape, dtype=bool)
    yy, xx = np.indices(shape, dtype=np.float64)
    rng = rng or np.random.default_rng(0)
    (rows, cols), (mh, mw), (gr, gc) = det.modules, det.module_px, det.gap_px
    for i in range(1, rows):
        y0 = (i * mh + (i - 1) * gr + jitter * rng.uniform(-1, 1) * mh) * sy
        half = max(gr * sy, 1.0) / 2
        offset = bend * np.sin(2 * np.pi * xx / w * rng.uniform(0.5, 1.5) + rng.uniform(0, 6.3)) if bend else 0
        mask |= np.abs(yy - (y0 + half) - offset) < half
    for j in range(1, cols):
        x0 = (j * mw + (j - 1) * gc + jitter * rng.uniform(-1, 1) * mw) * sx
        half = max(gc * sx, 1.0) / 2
        offset = bend * np.sin(2 * np.pi * yy / h * rng.uniform(0.5, 1.5) + rng.uniform(0, 6.3)) if bend else 0
        mask |= np.abs(xx - (x0 + half) - offset) < half
    return mask


def add_air_scatter(scene: Scene, rng: np.random.Generator, level: float) -> None:
    """Air and window scatter: a Lorentzian fall-off from the beam plus a flat floor."""
    r, _ = scene.grids()
    r0 = rng.uniform(0.03, 0.12) * max(scene.shape)
    scene.expected += level / (1.0 + (r / r0) ** 2) + level * rng.uniform(0.01, 0.05)


def add_parasitic(scene: Scene, rng: np.random.Generator, level: float) -> None:
    """Slit and window scatter close to the beam: a halo and a couple of thin streaks through the beam."""
    r, phi = scene.grids()
    size = max(scene.shape)
    scene.expected += level * np.exp(-r / (0.025 * size))
    for _ in range(rng.integers(1, 3)):
        angle = rng.choice([0.0, np.pi / 2]) + rng.normal(0, 0.02)
        across = np.abs(r * np.sin(phi - angle))
        scene.expected += 0.3 * level * np.exp(-across / 0.8) * np.exp(-r / (rng.uniform(0.05, 0.15) * size))


def beamstop(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """Transmission map of a disc over the direct beam held by a rod running to the nearest frame edge below
    or to a side (weights: mostly from below, as at the ALS SAXS station)."""
    h, w = scene.shape
    cx, cy = scene.centre
    yy, xx = np.indices(scene.shape, dtype=np.float64)
    radius = rng.uniform(0.025, 0.045) * max(h, w)
    half_rod = rng.uniform(0.25, 0.4) * radius
    block = np.hypot(xx - cx, yy - cy) < radius
    direction = rng.choice(["down", "left", "right"], p=[0.7, 0.15, 0.15])
    if direction == "down":
        block |= (np.abs(xx - cx) < half_rod) & (yy > cy)
    elif direction == "left":
        block |= (np.abs(yy - cy) < half_rod) & (xx < cx)
    else:
        block |= (np.abs(yy - cy) < half_rod) & (xx > cx)
    scene.params["beamstop"] = {"radius": float(radius), "rod": str(direction)}
    return np.where(block, rng.uniform(0.001, 0.01), 1.0)


def count(
    scene: Scene, rng: np.random.Generator, transmission: np.ndarray, gaps: np.ndarray, dead_fraction: float = 2e-5
) -> np.ndarray:
    """Poisson counts as int32, -1 in gaps and -2 in a few dead pixels, as a Pilatus file holds them."""
    lam = np.clip(scene.expected * transmission, 0, None)
    counts = rng.poisson(lam).astype(np.int32)
    counts[gaps] = GAP_VALUE
    dead = rng.random(scene.shape) < dead_fraction
    counts[dead & ~gaps] = DEAD_VALUE
    return counts
