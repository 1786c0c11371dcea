"""Scattering that the default simulator does not draw: Bragg spots of single crystals and a few grains, an
isolated Bragg reflection with truncation-rod streaks, and a weak diffuse small-angle halo.

These widen what "peaks" and "background" mean beyond the ALS GISAXS station: a rotation-method or far-field
diffraction frame (HEXRD, a GE or Pilatus area detector) shows compact spots, often on the Debye-Scherrer radii
of the few grains that diffract, and a reciprocal-space map shows one reflection with streaks; a SAXS frame of a
weakly scattering sample shows only a halo round the beamstop. All draw expected counts into a `Scene`.
"""

from __future__ import annotations

import numpy as np

from .calibrants import CALIBRANTS, ring_radii_px
from .geometry import Scene


def _ring_radii(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    """Debye-Scherrer radii (pixels) of a random calibrant, the first ring 5-25% of the frame from the beam."""
    cal = CALIBRANTS[rng.choice(list(CALIBRANTS))]
    d, _ = cal.reflections()
    energy = float(rng.uniform(8.0, 80.0))
    first_r = rng.uniform(0.05, 0.25) * max(scene.shape)
    two_theta_1 = 2 * np.arcsin(12.398419843320026 / energy / (2 * d[0]))
    distance = float(first_r * scene.pixel_m / np.tan(two_theta_1))
    radii = ring_radii_px(d, energy, distance, scene.pixel_m)
    return radii[np.isfinite(radii)]


def _add_spot(scene: Scene, x: float, y: float, amp: float, sx: float, sy: float, tilt: float) -> None:
    """A Gaussian spot drawn only in its own neighbourhood, so hundreds of spots stay cheap."""
    h, w = scene.shape
    reach = 4 * max(sx, sy) + 2
    x0, x1 = int(max(0, np.floor(x - reach))), int(min(w, np.ceil(x + reach) + 1))
    y0, y1 = int(max(0, np.floor(y - reach))), int(min(h, np.ceil(y + reach) + 1))
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    u = (xx - x) + tilt * (yy - y)
    scene.expected[y0:y1, x0:x1] += amp * np.exp(-0.5 * ((u / sx) ** 2 + ((yy - y) / sy) ** 2))


def render_grain_spots(scene: Scene, rng: np.random.Generator, native_side: int) -> str:
    """Compact Bragg spots: a few grains put them on Debye-Scherrer radii; half the frames are a single crystal
    instead (`crystal.render_crystal_spots`: the Ewald construction, lunes and rows of spots).

    Grain spots number 8-400, are 0.3-1.5 px wide at this frame size (a few native pixels) and have
    exponentially distributed intensities, so some saturate and many are faint. Returns the description.
    """
    h, w = scene.shape
    if rng.random() < 0.5:
        from .crystal import render_crystal_spots

        return render_crystal_spots(scene, rng, native_side)
    cx, cy = scene.centre
    n = int(np.exp(rng.uniform(np.log(8), np.log(400))))
    level = float(np.exp(rng.uniform(np.log(30), np.log(5000))))
    width = rng.uniform(0.3, 1.5) * max(1.0, max(h, w) / 512)
    on_rings = bool(rng.random() < 0.8)
    if on_rings:
        radii = _ring_radii(scene, rng)
        diag = np.hypot(max(cx, w - cx), max(cy, h - cy))
        radii = radii[radii < diag] if np.any(radii < diag) else radii[:1]
        r = rng.choice(radii, n) + rng.normal(0, 0.3, n)
        phi = rng.uniform(0, 2 * np.pi, n)
        xs, ys = cx + r * np.cos(phi), cy + r * np.sin(phi)
    else:
        xs, ys = rng.uniform(0, w, n), rng.uniform(0, h, n)
    for x, y, a in zip(xs, ys, rng.exponential(1.0, n), strict=True):
        sx = width * rng.uniform(0.7, 1.5)
        _add_spot(scene, x, y, level * a, sx, sx * rng.uniform(0.6, 2.5), rng.uniform(-0.5, 0.5))
    scene.params.update(spots=n, spot_level=level, spots_on_rings=on_rings, spot_width_px=float(width))
    where = "on Debye-Scherrer radii of a few grains" if on_rings else "of a single crystal"
    return f"{n} Bragg spots {where}"


def render_bragg_reflection(scene: Scene, rng: np.random.Generator) -> str:
    """One to three Bragg reflections seen close up (a reciprocal-space map): a compact core with crystal
    truncation-rod streaks and weak diffuse wings, at a random place in the frame. Returns the description."""
    h, w = scene.shape
    size = max(h, w)
    k = int(rng.integers(1, 4))
    yy, xx = np.indices(scene.shape, dtype=np.float64)
    for _ in range(k):
        px, py = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        # at the Bragg condition: 100 to 1e5 recorded counts at the core (far weaker diffuse remnants off the
        # condition are background, `backgrounds.add_diffuse_clouds`)
        amp = float(np.exp(rng.uniform(np.log(100), np.log(1e5)))) / float(scene.params.get("gain", 1.0))
        core = rng.uniform(0.004, 0.02) * size
        dx, dy = xx - px, yy - py
        scene.expected += amp / (1 + (dx**2 + dy**2) / core**2) ** 1.5
        for _ in range(int(rng.integers(1, 3))):  # truncation rods: thin streaks through the reflection
            ang = rng.uniform(0, np.pi)
            across = np.abs(dx * np.sin(ang) - dy * np.cos(ang))
            along = np.abs(dx * np.cos(ang) + dy * np.sin(ang))
            scene.expected += 0.05 * amp * np.exp(-across / (0.5 * core)) / (1 + along / (3 * core)) ** 2
    scene.params.update(reflections=k)
    return f"{k} Bragg reflection(s) with truncation-rod streaks"


def add_saxs_halo(scene: Scene, rng: np.random.Generator, peak: float) -> None:
    """Weak diffuse small-angle scatter about the beam: a Lorentzian-squared (Debye-Bueche) halo, `peak`
    counts at the beam, falling over 2-15% of the frame."""
    r, _ = scene.grids()
    xi = rng.uniform(0.02, 0.15) * max(scene.shape)
    scene.expected += peak / (1 + (r / xi) ** 2) ** 2
    scene.params.update(halo_xi_px=float(xi), halo_peak=float(peak))


def render_saxs_rings(scene: Scene, rng: np.random.Generator) -> str:
    """Small-angle Bragg rings of an ordered soft-matter phase (lamellar 1:2:3, hexagonal 1:sqrt3:2, or one
    ring of a liquid-like order), often weak beside the halo: the rings a SAXS station records, not a powder's.
    Returns the description."""
    size = max(scene.shape)
    r, _ = scene.grids()
    phase = str(rng.choice(["lamellar", "hexagonal", "single"]))
    ratios = {"lamellar": (1.0, 2.0, 3.0), "hexagonal": (1.0, np.sqrt(3.0), 2.0), "single": (1.0,)}[phase]
    q1 = rng.uniform(0.05, 0.35) * size
    level = float(np.exp(rng.uniform(np.log(5), np.log(500))))
    width = rng.uniform(0.5, 3.0) * size / 256
    for k, ratio in enumerate(ratios):
        scene.expected += level * 0.5**k * np.exp(-0.5 * ((r - q1 * ratio) / (width * (1 + 0.5 * k))) ** 2)
    scene.params.update(saxs_phase=phase, first_ring_px=float(q1), ring_level=level)
    return f"small-angle rings of a {phase} phase"
