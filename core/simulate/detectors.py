"""Frames from detectors other than the default square Pilatus, each with its true beam centre recorded.

The default `simulate_frame` draws square frames with the beam well inside; real beamlines also have round
image plates (MAR345) and CCDs (MarCCD) that read zero outside a disc, single-module strips (195x487) and
stacks of modules (619x487, 1043x487) whose rings are arcs about a beam near or beyond an edge, SAXS frames
with only a weak halo around a beamstop shadow, GISAXS frames with the beam below the detector, dark frames,
and short exposures of well under one count per pixel, with rings or air scatter alone. The centre search is
measured on all of them; `expect` says what an honest search must return: `centre` (ring frames),
`centre_or_none` (a halo: within 5 px or `no centre`) or `none`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Detector, Scene, add_air_scatter, add_parasitic, beamstop, count, gap_mask
from .patterns import render_peaks, render_rings

STRIP_DETECTORS = {
    "strip_195x487": Detector("Pilatus100K", (1, 1)),
    "strip_619x487": Detector("Pilatus300K", (3, 1)),
    "tall_1043x487": Detector("Pilatus500K-tall", (5, 1)),
}
DETECTOR_TYPES = (
    "mar_circular",
    "strip_195x487",
    "strip_619x487",
    "tall_1043x487",
    "beam_outside_edge",
    "saxs_halo",
    "gisaxs_below",
    "dark",
    "few_counts_rings",
    "few_counts_air",
)


@dataclass
class DetectorFrame:
    counts: np.ndarray
    kind: str
    centre: tuple[float, float]  # true direct-beam (x, y), may lie outside the array
    expect: str  # "centre", "centre_or_none" or "none"
    params: dict


def _scene(shape: tuple[int, int], centre: tuple[float, float], det: Detector, native_h: int) -> Scene:
    pixel_m = det.pixel_m * native_h / shape[0]
    return Scene(shape=shape, detector=det, centre=centre, pixel_m=pixel_m, params={"detector": det.name})


def _edge_centre(rng: np.random.Generator, h: int, w: int, outside: float) -> tuple[float, float]:
    """A beam `outside` pixels beyond (negative: inside) a random edge, somewhere along that edge."""
    edge = rng.choice(["top", "bottom", "left", "right"])
    along_x, along_y = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    return {
        "top": (along_x, -outside - 0.5),
        "bottom": (along_x, h - 0.5 + outside),
        "left": (-outside - 0.5, along_y),
        "right": (w - 0.5 + outside, along_y),
    }[str(edge)]


def _rings_on(scene: Scene, rng: np.random.Generator, gaps: np.ndarray) -> np.ndarray:
    add_air_scatter(scene, rng, rng.uniform(20, 200))
    render_rings(scene, rng, None)
    return count(scene, rng, beamstop(scene, rng), gaps)


def mar_circular(rng: np.random.Generator, size: int = 600) -> DetectorFrame:
    """A MAR345/MarCCD frame: uint16 counts inside a disc filling the array, exact zeros outside, a few pixels
    overflowing at 65535, beam 10-60 px from the array centre."""
    h = w = size
    off = rng.uniform(10, 60) * size / 600
    ang = rng.uniform(0, 2 * np.pi)
    centre = (w / 2 - 0.5 + off * np.cos(ang), h / 2 - 0.5 + off * np.sin(ang))
    scene = _scene((h, w), centre, Detector("MAR345", (1, 1), module_px=(h, w), pixel_m=150e-6), 2300)
    add_air_scatter(scene, rng, rng.uniform(20, 200))
    render_rings(scene, rng, None)
    counts = rng.poisson(np.clip(scene.expected * beamstop(scene, rng), 0, None)).clip(0, 65000).astype(np.uint16)
    yy, xx = np.indices((h, w))
    disc = np.hypot(xx - (w / 2 - 0.5), yy - (h / 2 - 0.5)) < size / 2 - 1
    hot = rng.random((h, w)) < 1e-4
    counts[hot] = 65535
    counts[~disc] = 0
    return DetectorFrame(counts, "mar_circular", centre, "centre", dict(scene.params, beam_offset_px=float(off)))


def strip(rng: np.random.Generator, kind: str) -> DetectorFrame:
    """Pilatus modules at native size; the beam 5-30 px beyond one edge, or just inside it (ring arcs)."""
    det = STRIP_DETECTORS[kind]
    h, w = det.native_shape
    centre = _edge_centre(rng, h, w, rng.uniform(-20, 30))
    scene = _scene((h, w), centre, det, h)
    counts = _rings_on(scene, rng, gap_mask((h, w), det))
    return DetectorFrame(counts, kind, centre, "centre", scene.params)


def beam_outside_edge(rng: np.random.Generator, size: int = 512) -> DetectorFrame:
    """A square Pilatus 1M-like frame with the beam 2-40 px beyond an edge."""
    det = Detector("Pilatus1M", (5, 2))
    centre = _edge_centre(rng, size, size, rng.uniform(2, 40))
    scene = _scene((size, size), centre, det, det.native_shape[0])
    counts = _rings_on(scene, rng, gap_mask((size, size), det))
    return DetectorFrame(counts, "beam_outside_edge", centre, "centre", scene.params)


def saxs_halo(rng: np.random.Generator, size: int = 512) -> DetectorFrame:
    """Weak diffuse small-angle scatter (a Lorentzian-squared halo, a few counts per pixel) round a beamstop
    shadow, no rings."""
    det = Detector("Pilatus1M", (5, 2))
    centre = (rng.uniform(0.35, 0.65) * size, rng.uniform(0.35, 0.75) * size)
    scene = _scene((size, size), centre, det, det.native_shape[0])
    r, _ = scene.grids()
    xi = rng.uniform(0.03, 0.1) * size
    scene.expected += rng.uniform(20, 300) / (1 + (r / xi) ** 2) ** 2 + rng.uniform(0.05, 0.5)
    add_parasitic(scene, rng, rng.uniform(2, 20))
    counts = count(scene, rng, beamstop(scene, rng), gap_mask((size, size), det))
    return DetectorFrame(counts, "saxs_halo", centre, "centre_or_none", dict(scene.params, xi_px=float(xi)))


def gisaxs_below(rng: np.random.Generator, size: int = 512) -> DetectorFrame:
    """GISAXS peaks, Yoneda band and specular rod with the direct beam 5-40 px below the frame."""
    det = Detector("Pilatus1M", (5, 2))
    centre = (rng.uniform(0.35, 0.65) * size, size - 0.5 + rng.uniform(5, 40))
    scene = _scene((size, size), centre, det, det.native_shape[0])
    add_air_scatter(scene, rng, rng.uniform(5, 50))
    render_peaks(scene, rng, None)
    counts = count(scene, rng, np.ones((size, size)), gap_mask((size, size), det))
    return DetectorFrame(counts, "gisaxs_below", centre, "none", scene.params)


def dark(rng: np.random.Generator, size: int = 512) -> DetectorFrame:
    """A dark frame: dark current of well under one count per pixel, gaps, nothing scattered."""
    det = Detector("Pilatus1M", (5, 2))
    centre = (size / 2, size / 2)
    scene = _scene((size, size), centre, det, det.native_shape[0])
    scene.expected += rng.uniform(0.01, 0.5)
    counts = count(scene, rng, np.ones((size, size)), gap_mask((size, size), det))
    return DetectorFrame(counts, "dark", centre, "none", scene.params)


def _few_counts(rng: np.random.Generator, rings: bool, size: int = 512) -> tuple[np.ndarray, tuple, dict]:
    """A short exposure of a photon-counting detector: 0.05-0.5 counts per pixel on average."""
    det = Detector("Pilatus1M", (5, 2))
    centre = (rng.uniform(0.3, 0.7) * size, rng.uniform(0.3, 0.7) * size)
    scene = _scene((size, size), centre, det, det.native_shape[0])
    add_air_scatter(scene, rng, rng.uniform(20, 200))
    if rings:
        render_rings(scene, rng, None)
    scene.expected *= rng.uniform(0.05, 0.5) / max(float(scene.expected.mean()), 1e-9)
    return count(scene, rng, beamstop(scene, rng), gap_mask((size, size), det)), centre, scene.params


def few_counts_rings(rng: np.random.Generator) -> DetectorFrame:
    """Powder rings in well under one count per pixel (the old search called such frames dark)."""
    counts, centre, params = _few_counts(rng, True)
    return DetectorFrame(counts, "few_counts_rings", centre, "centre", params)


def few_counts_air(rng: np.random.Generator) -> DetectorFrame:
    """Air scatter about a beamstop in well under one count per pixel, no rings."""
    counts, centre, params = _few_counts(rng, False)
    return DetectorFrame(counts, "few_counts_air", centre, "centre_or_none", params)


def detector_frame(kind: str, rng: np.random.Generator) -> DetectorFrame:
    """One frame of a detector type from DETECTOR_TYPES.

    Raises:
        ValueError: unknown type.
    """
    if kind in STRIP_DETECTORS:
        return strip(rng, kind)
    makers = {
        "mar_circular": mar_circular,
        "beam_outside_edge": beam_outside_edge,
        "saxs_halo": saxs_halo,
        "gisaxs_below": gisaxs_below,
        "dark": dark,
        "few_counts_rings": few_counts_rings,
        "few_counts_air": few_counts_air,
    }
    if kind not in makers:
        raise ValueError(f"detector type: expected one of {DETECTOR_TYPES}, got {kind!r}")
    return makers[kind](rng)
