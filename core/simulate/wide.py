"""The wide domain: rings, peaks and background as many detectors record them, each frame with its truth.

The default `simulate_frame` draws one station (a Pilatus 2M resampled to a square, the beam low in the
frame, int32 counts). A classifier trained only on that calls most real frames "background". Here each frame
first draws a detector (square or circular, single-module strips, wide and tall multi-module stacks, large
flat panels and photon counters, simulated at reduced size keeping the aspect ratio, sometimes mounted
rotated), a beam position (inside, near an edge, or up to a frame-width outside; GISAXS beams below the
frame), a count level from a few counts to saturation and the detector's readout (`storage.py`: int32 with
-1 gaps, uint16/uint32 that clip at their maximum, float32, 8-bit display images, an integrating panel's dark
offset and read noise, warm pixels, zingers, zero-suppressed frame caches of spot scans and of their empty
steps, which are background frames). Then the pattern is drawn, from
the default renderers and the ones in `spots.py` and `farfield.py` (rotation steps of grains on large
panels); background frames are air scatter, darks, weak halos or the non-blank backgrounds of `backgrounds.py`
(the attenuated direct beam, weak diffuse clouds, fixed-pattern readout noise). `params` records all of it, so
every frame keeps its truth.
"""

from __future__ import annotations

import numpy as np

from .backgrounds import add_diffuse_clouds, add_direct_beam, add_fixed_pattern
from .detectors import STRIP_DETECTORS, _edge_centre
from .farfield import FLAT_PANELS, LARGE_COUNTERS, render_rotation_spots
from .geometry import DETECTORS, Detector, Scene, add_air_scatter, add_parasitic, beamstop, gap_mask
from .patterns import PATTERNS, SimulatedFrame, render_peaks, render_rings
from .spots import add_saxs_halo, render_bragg_reflection, render_grain_spots, render_saxs_rings
from .storage import Readout, draw_readout, sigma, write

CCD = Detector("CCD-2048", (1, 1), module_px=(2048, 2048), pixel_m=200e-6)
MEDIPIX = Detector("Medipix-256", (1, 1), module_px=(256, 256), pixel_m=55e-6)
# name -> (detector, circular active area, how the detector writes numbers; uint8: an 8-bit display rendering)
WIDE_DETECTORS: dict[str, tuple[Detector, bool, tuple[str, ...]]] = {
    "pilatus_1m": (DETECTORS["Pilatus1M"], False, ("int32", "uint32", "float32", "uint8")),
    "pilatus_2m": (DETECTORS["Pilatus2M"], False, ("int32", "uint32", "uint8")),
    "strip_195x487": (STRIP_DETECTORS["strip_195x487"], False, ("int32", "uint16", "float32")),
    "strip_195x1475": (Detector("Pilatus300K-W", (1, 3)), False, ("int32", "uint16", "float32")),
    "strip_619x487": (STRIP_DETECTORS["strip_619x487"], False, ("int32", "uint16", "uint32")),
    "wide_619x981": (Detector("Pilatus-3x2", (3, 2)), False, ("int32", "uint16", "uint8")),
    "tall_1043x487": (STRIP_DETECTORS["tall_1043x487"], False, ("int32", "uint16")),
    "tall_5071x2463": (Detector("Pilatus-24x5", (24, 5)), False, ("int32", "uint32")),
    "mar_circular": (Detector("MAR345", (1, 1), module_px=(2300, 2300), pixel_m=150e-6), True, ("uint16",)),
    "ccd_square": (
        Detector("CCD-2048", (1, 1), module_px=(2048, 2048), pixel_m=200e-6),
        False,
        ("uint16", "uint32", "uint8"),
    ),
    "medipix_256": (
        Detector("Medipix-256", (1, 1), module_px=(256, 256), pixel_m=55e-6),
        False,
        ("uint16", "int32", "uint8"),
    ),
    **{name: (det, False, ("uint16",)) for name, det in FLAT_PANELS.items()},
    "pilatus_6m": (LARGE_COUNTERS["pilatus_6m"], False, ("int32", "uint32", "uint8")),
    "eiger_4m": (LARGE_COUNTERS["eiger_4m"], False, ("uint32", "uint16", "uint8")),
}
WIDE_TYPES = tuple(WIDE_DETECTORS)
BEAMS = ("inside", "near_edge", "outside", "crop")
INTEGRATING = {*FLAT_PANELS, "ccd_square", "mar_circular"}  # dark offset and read noise (always on flat panels)
LARGE = {*FLAT_PANELS, *LARGE_COUNTERS}  # far-field panels: rotation steps are their usual peaks


def _shape(det: Detector, size: int, rotated: bool) -> tuple[int, int]:
    """The detector's native shape scaled so its longest side is `size` (shortest side at least 8)."""
    h, w = det.native_shape
    scale = size / max(h, w)
    shape = (max(8, round(h * scale)), max(8, round(w * scale)))
    return shape[::-1] if rotated else shape


def _centre(rng: np.random.Generator, shape: tuple[int, int], beam: str) -> tuple[float, float]:
    h, w = shape
    if beam == "inside":
        return rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.8) * h
    if beam == "near_edge":
        return _edge_centre(rng, h, w, -rng.uniform(0.02, 0.15) * min(h, w))
    return _edge_centre(rng, h, w, rng.uniform(0.0, 1.0) * max(h, w))  # up to a frame-width outside


def _visible(signal: np.ndarray, base: np.ndarray, gain: float, frac: float, readout: Readout) -> bool:
    """Enough of the frame carries the pattern at the counts it will be recorded with: at least 3 counts and
    3 noise sigmas (Poisson and read noise) above the instrument's own level and, in a zero-suppressed frame,
    at or above the storage threshold. `frac` below one pixel's share means: at least two pixels."""
    noise = np.sqrt(base * gain + readout.read_noise**2)
    floor = 3.0 * noise + 3.0
    if readout.sparse:
        floor = np.maximum(floor, readout.k_sigma * sigma(base * gain, readout) + noise)
    seen = signal * gain > floor
    # scattering covers touching pixels: a lone pixel is what a scientist (and the classifier's despeckling)
    # takes for a detector event, so it does not make the pattern visible
    pad = np.pad(seen, 1)
    h, w = seen.shape
    touching = np.zeros_like(seen)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy != 1 or dx != 1:
                touching |= pad[dy : dy + h, dx : dx + w]
    seen &= touching
    return bool(seen.sum() >= max(2.0, frac * seen.size))


def _peaks_kind(gisaxs_below: bool, rng: np.random.Generator, large: bool) -> str:
    """GISAXS when the beam is below the frame; otherwise rotation steps mostly on far-field panels."""
    if gisaxs_below:
        return "gisaxs"
    kinds = ["rotation", "spots", "reflection", "gisaxs"]
    return str(rng.choice(kinds, p=[0.6, 0.2, 0.1, 0.1] if large else [0.3, 0.25, 0.15, 0.3]))


def _draw(
    pattern: str,
    scene: Scene,
    rng: np.random.Generator,
    stop: np.ndarray,
    win: tuple[slice, slice],
    last: bool,
    readout: Readout,
    native_side: int,
) -> tuple[str, np.ndarray]:
    """Draw the pattern over the instrument background already in `scene`; returns the description and the
    static background (what a dark/median frame of the scan would remove).

    Raises:
        _Invisible: the pattern does not reach the frame window `win` (the label would be a lie), unless this is
            the `last` try: then `params["visible"]` says False.
    """
    if pattern == "rings" and rng.random() < 0.3:  # a sample's own SAXS, often far brighter than its rings
        add_saxs_halo(scene, rng, float(np.exp(rng.uniform(np.log(5), np.log(5000)))))
    base = scene.expected.copy()
    if pattern == "rings":
        saxs = bool(rng.random() < 0.3)
        if saxs:
            text = render_saxs_rings(scene, rng)
        else:  # panels tilted or on a 2theta arm (conic rings), strongly textured samples (arcs)
            tilt = (np.radians(rng.uniform(5, 45)), rng.uniform(0, np.pi)) if rng.random() < 0.3 else None
            arcs = float(np.exp(rng.uniform(np.log(0.5), np.log(8)))) if rng.random() < 0.25 else 0.0
            text = render_rings(scene, rng, None, tilt=tilt, arcs=arcs)
        scene.params["rings_kind"] = "saxs" if saxs else "powder"
    elif pattern == "peaks":
        kind = scene.params["peaks_kind"]
        if kind == "gisaxs":
            text = render_peaks(scene, rng, None)
        elif kind == "reflection":
            text = render_bragg_reflection(scene, rng)
        elif kind == "rotation":
            text = render_rotation_spots(scene, rng, native_side)
        else:
            text = render_grain_spots(scene, rng, native_side)
    else:  # sparse: an empty rotation step of a frame cache, the static frame is all there is
        kind = "empty_step" if readout.sparse else _background_kind(rng, scene, win, readout)
        gain = scene.params["gain"]
        if kind == "halo":
            add_saxs_halo(scene, rng, float(np.exp(rng.uniform(np.log(1), np.log(300)))))
        elif kind in ("dark", "fixed_pattern"):
            scene.expected = scene.expected * rng.uniform(0.0, 0.02) + rng.uniform(0.01, 0.5) / gain
            if kind == "fixed_pattern":
                add_fixed_pattern(scene, rng, gain)
        elif kind == "direct_beam":
            cx, cy = scene.centre
            add_direct_beam(scene, rng, gain, float(stop[int(cy), int(cx)]))
        elif kind == "diffuse_cloud":
            add_diffuse_clouds(scene, rng, gain, win)
        scene.params["background_kind"] = str(kind)
        return f"{kind} background frame", scene.expected.copy()
    frac = 0.005 if pattern == "rings" else (0.0 if scene.params["peaks_kind"] in ("rotation", "spots") else 0.001)
    scene.params["visible"] = pattern == "background" or _visible(
        ((scene.expected - base) * stop)[win], base[win], scene.params["gain"], frac, readout
    )
    if not scene.params["visible"] and not last:
        raise _Invisible
    return text, base


def _background_kind(rng: np.random.Generator, scene: Scene, win: tuple[slice, slice], readout: Readout) -> str:
    """Air, dark, halo, or one of `backgrounds.py`'s: the direct beam only through a (semi-transparent) beamstop
    in the frame window (a bare direct beam with slit streaks looks like one Bragg reflection with its rods),
    fixed-pattern noise only on an integrating detector."""
    cx, cy = scene.centre
    beam_in = win[1].start <= cx < win[1].stop and win[0].start <= cy < win[0].stop
    kinds = {"air": 0.2, "dark": 0.15, "halo": 0.2, "diffuse_cloud": 0.25}
    if beam_in and "beamstop" in scene.params:
        kinds["direct_beam"] = 0.15
    if readout.integrating:
        kinds["fixed_pattern"] = 0.1
    p = np.asarray(list(kinds.values()))
    return str(rng.choice(list(kinds), p=p / p.sum()))


class _Invisible(Exception):
    """The drawn pattern misses the frame (a beam far outside): draw again so the label stays true."""


def wide_frame(pattern: str, rng: np.random.Generator, size: int = 256, detector: str | None = None) -> SimulatedFrame:
    """One frame of `pattern` on a random (or the named) detector of WIDE_TYPES, longest side `size`.

    Raises:
        ValueError: unknown pattern or detector type.
    """
    if pattern not in PATTERNS:
        raise ValueError(f"pattern: expected one of {PATTERNS}, got {pattern!r}")
    if detector is not None and detector not in WIDE_DETECTORS:
        raise ValueError(f"detector: expected one of {WIDE_TYPES}, got {detector!r}")
    name = detector or str(rng.choice(WIDE_TYPES))
    det, circular, dtypes = WIDE_DETECTORS[name]
    rotated = bool(not circular and rng.random() < 0.25)
    shape = _shape(det, size, rotated)
    h, w = shape
    native = det.native_shape[1] if rotated else det.native_shape[0]
    gain = float(np.exp(rng.uniform(np.log(0.05), np.log(30))))
    large = name in LARGE
    dtype = str(rng.choice(dtypes))
    gisaxs_below = pattern == "peaks" and rng.random() < (0.05 if large else 0.2)
    kind = _peaks_kind(gisaxs_below, rng, large)
    # A zero-suppressed frame cache is what a spot scan (rotation method, far-field HEDM) writes; rings and
    # background measurements are stored whole (a scan's darks are full frames: the cache subtracts them).
    # A scan's empty steps (no grain meets the diffraction condition) are cached the same way: noise and
    # detector events over a subtracted static frame, a background frame; so storage says nothing of the pattern.
    sparse = bool(
        pattern in ("peaks", "background")
        and (pattern == "background" or kind in ("rotation", "spots"))
        and dtype in ("uint16", "uint32")
        and rng.random() < ((0.7 if large else 0.3) if pattern == "peaks" else (0.5 if large else 0.15))
    )
    integrating = name in FLAT_PANELS or (name in INTEGRATING and rng.random() < 0.6)
    readout = draw_readout(rng, dtype, integrating, sparse)
    for attempt in range(8):
        beam = str(rng.choice(BEAMS, p=[0.35, 0.2, 0.2, 0.25])) if attempt < 6 else "inside"
        vshape, win = shape, (slice(0, h), slice(0, w))
        if gisaxs_below:
            beam = "gisaxs_below"
            centre = (rng.uniform(0.3, 0.7) * w, h - 0.5 + rng.uniform(0.0, 0.3) * h)
        elif beam == "crop":  # this detector is one piece of a pattern scaled for a detector 1.3-3x larger
            side = max(h, w)
            big = int(side * rng.uniform(1.3, 3.0))
            vshape = (max(big, h), max(big, w))
            y0, x0 = int(rng.integers(0, vshape[0] - h + 1)), int(rng.integers(0, vshape[1] - w + 1))
            win = (slice(y0, y0 + h), slice(x0, x0 + w))
            centre = (rng.uniform(0.25, 0.75) * vshape[1], rng.uniform(0.25, 0.8) * vshape[0])
        else:
            centre = _centre(rng, shape, beam)
        params = {"detector": name, "beam": beam, "gain": gain}
        if pattern == "peaks":
            params["peaks_kind"] = kind
        scene = Scene(vshape, det, centre, det.pixel_m * native / h, params)
        air = float(np.exp(rng.uniform(np.log(2), np.log(200))))
        add_air_scatter(scene, rng, air)
        if rng.random() < 0.5:
            add_parasitic(scene, rng, air * rng.uniform(0.2, 2))
        # at high energy a far-field panel often sees no beamstop: the beam leaves through a hole or a tiny stop
        has_stop = beam in ("inside", "near_edge", "crop") and rng.random() < (0.4 if large else 0.85)
        stop = beamstop(scene, rng) if has_stop else np.ones(vshape)
        try:
            text, static = _draw(
                pattern, scene, rng, stop, win, last=attempt == 7, readout=readout, native_side=max(det.native_shape)
            )
            break
        except _Invisible:
            continue
    if win[0].start or win[1].start or vshape != shape:
        centre = (centre[0] - win[1].start, centre[1] - win[0].start)
    expected, stop = scene.expected[win], stop[win]
    gaps = gap_mask((w, h) if rotated else shape, det)
    gaps = gaps.T if rotated else gaps
    if circular:
        gaps = np.zeros(shape, dtype=bool)
        yy, xx = np.indices(shape)
        disc = np.hypot(xx - (w / 2 - 0.5), yy - (h / 2 - 0.5)) < min(h, w) / 2 - 1
    else:
        disc = None
    static = static[win] * stop * gain if sparse else None
    native_px = int(np.prod(det.native_shape))
    counts, threshold = write(expected * stop * gain, rng, readout, gaps, disc, static, native_px)
    params = dict(
        scene.params,
        **readout.to_params(),
        domain="wide",
        detector=name,
        native_shape=list(det.native_shape),
        rotated=rotated,
        circular=circular,
        beam=beam,
        centre_x=float(centre[0]),
        centre_y=float(centre[1]),
        pixel_m=float(scene.pixel_m),
        size=list(shape),
        dtype=dtype,
        gain=gain,
        sparse=sparse,
        threshold=threshold,
        beamstop_drawn=has_stop,
    )
    return SimulatedFrame(counts=counts, pattern=pattern, artifact=None, params=params, description=f"{text}, {name}")
