"""Far-field diffraction on large panels: one rotation step of a polycrystal or a single crystal.

A far-field high-energy diffraction microscopy (ff-HEDM) or rotation-method scan records hundreds to thousands
of frames, each a small rotation step of the sample. A frame holds the Bragg spots of the grains that meet
the diffraction condition during that step: from one or two (a few grains, a fine step) to hundreds (a
polycrystal), each compact (a few native pixels of a 2048-pixel panel, drawn here integrated over the pixel so
a spot smaller than one simulated pixel keeps its counts), on the Debye-Scherrer radii of the phase (a
polycrystal) or anywhere (a single crystal's reciprocal lattice). The panels are large flat panels (GE,
Dexela, Pixium: amorphous silicon, integrating, no module gaps) or large photon counters (Pilatus 6M, Eiger
4M). A sample environment often adds a few faint rings (a pressure medium, a gasket); they are drawn only
beneath many spots, so the frame stays a spot frame. No beamstop need be in view: at high energy the beam
passes a small stop or a hole.
"""

from __future__ import annotations

import numpy as np

from .geometry import Detector, Scene
from .spots import _ring_radii

# name -> detector; integrating flat panels write ADU over a dark offset with read noise (storage.py)
FLAT_PANELS: dict[str, Detector] = {
    "ge_2048": Detector("GE-41RT", (1, 1), module_px=(2048, 2048), pixel_m=200e-6),
    "dexela_2923": Detector("Dexela-2923", (1, 1), module_px=(3888, 3072), pixel_m=74.8e-6),
    "pixium_4343": Detector("Pixium-4343", (1, 1), module_px=(2880, 2881), pixel_m=148e-6),
}
LARGE_COUNTERS: dict[str, Detector] = {
    "pilatus_6m": Detector("Pilatus6M", (12, 5)),
    "eiger_4m": Detector("Eiger-4M", (4, 2), module_px=(514, 1030), gap_px=(37, 10), pixel_m=75e-6),
}


def splat(scene: Scene, x: np.ndarray, y: np.ndarray, total: np.ndarray) -> None:
    """Deposit point spots (their integrated counts) into the four nearest pixels, bilinearly."""
    h, w = scene.shape
    x0, y0 = np.floor(x - 0.5).astype(int), np.floor(y - 0.5).astype(int)
    fx, fy = x - 0.5 - x0, y - 0.5 - y0
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yy, xx = y0 + dy, x0 + dx
            ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            np.add.at(scene.expected, (yy[ok], xx[ok]), (total * wy * wx)[ok])


def _gauss_spot(scene: Scene, x: float, y: float, total: float, s_rad: float, s_az: float, ang: float) -> None:
    """An elliptical Gaussian spot of `total` counts, widths `s_rad` along `ang` and `s_az` across it."""
    h, w = scene.shape
    reach = 4 * max(s_rad, s_az) + 2
    x0, x1 = int(max(0, np.floor(x - reach))), int(min(w, np.ceil(x + reach) + 1))
    y0, y1 = int(max(0, np.floor(y - reach))), int(min(h, np.ceil(y + reach) + 1))
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
    u = (xx - x) * np.cos(ang) + (yy - y) * np.sin(ang)
    v = -(xx - x) * np.sin(ang) + (yy - y) * np.cos(ang)
    peak = total / (2 * np.pi * s_rad * s_az)
    scene.expected[y0:y1, x0:x1] += peak * np.exp(-0.5 * ((u / s_rad) ** 2 + (v / s_az) ** 2))


def render_rotation_spots(scene: Scene, rng: np.random.Generator, native_side: int) -> str:
    """The Bragg spots of one rotation step (see the module docstring); returns the description.

    Args:
        native_side: the detector's longest side in native pixels (spot widths are drawn in native pixels).
    """
    h, w = scene.shape
    cx, cy = scene.centre
    per_native = max(h, w) / native_side  # simulated pixels per native pixel (<= 1 on large panels)
    # a few grains at a fine step: most steps hold one to four spots; a polycrystal: up to hundreds
    few = bool(rng.random() < 0.5)
    n = int(rng.integers(1, 5)) if few else int(np.exp(rng.uniform(np.log(1), np.log(600))))
    level = float(np.exp(rng.uniform(np.log(30), np.log(30000))))  # integrated counts of a typical spot
    on_rings = bool(rng.random() < 0.75)
    if not on_rings and not few:  # one crystal (a single-crystal scan, or one large grain): the Ewald construction
        from .crystal import render_crystal_spots

        return render_crystal_spots(scene, rng, native_side)
    if on_rings:
        radii = _ring_radii(scene, rng)
        diag = np.hypot(max(cx, w - cx), max(cy, h - cy))
        radii = radii[radii < diag] if np.any(radii < diag) else radii[:1]
        r = rng.choice(radii, n) + rng.normal(0, 0.5 * per_native, n)
        phi = rng.uniform(0, 2 * np.pi, n)
        xs, ys = cx + r * np.cos(phi), cy + r * np.sin(phi)
    else:
        xs, ys = rng.uniform(0, w, n), rng.uniform(0, h, n)
    totals = level * rng.lognormal(0.0, 1.2, n)
    width = rng.uniform(0.5, 3.0)  # native pixels, this scan's typical spot
    for x, y, t in zip(xs, ys, totals, strict=True):
        s_rad = width * rng.uniform(0.6, 1.5) * per_native
        s_az = s_rad * rng.uniform(1.0, 4.0)  # mosaic spread stretches spots along the ring
        if max(s_rad, s_az) < 0.5:
            splat(scene, np.array([x]), np.array([y]), np.array([t]))
        else:
            _gauss_spot(scene, x, y, t, max(s_rad, 0.3), s_az, np.arctan2(y - cy, x - cx))
    rings = 0
    if on_rings and n >= 50 and rng.random() < 0.3:  # a sample environment's fine powder: faint smooth rings
        rr, _ = scene.grids()
        faint = level * rng.uniform(0.002, 0.02)
        for radius in rng.choice(_ring_radii(scene, rng), int(rng.integers(1, 4)), replace=False):
            scene.expected += faint * np.exp(-0.5 * ((rr - radius) / max(0.7, 1.5 * per_native)) ** 2)
            rings += 1
    scene.params.update(
        spots=n, spot_level=level, spots_on_rings=on_rings, spot_width_native_px=float(width), faint_rings=rings
    )
    where = "on Debye-Scherrer radii of grains" if on_rings else "of a single crystal"
    return f"one rotation step: {n} Bragg spots {where}" + (f" and {rings} faint rings" if rings else "")
