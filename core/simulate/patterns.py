"""The three experimental pattern families (rings, peaks, background) and their hallucinated variants.

Each `render_*` draws expected counts into a `Scene`; `simulate_frame` adds beamstop, gaps and
Poisson noise and returns the frame with its parameters and (for hallucinations) the artifact type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calibrants import CALIBRANTS, ring_radii_px
from .geometry import Scene, add_air_scatter, add_parasitic, beamstop, count, gap_mask, new_scene

PATTERNS = ("rings", "peaks", "background")
ARTIFACTS = {
    "rings": ("broken_rings", "off_centre_rings", "bent_gaps", "texture_patch"),
    "peaks": ("asymmetric_peaks", "bent_gaps", "texture_patch"),
    "background": ("bent_gaps", "texture_patch"),
}
ALL_ARTIFACTS = tuple(sorted({a for v in ARTIFACTS.values() for a in v}))
N_PHI = 2048  # azimuthal resolution of ring modulation profiles


@dataclass
class SimulatedFrame:
    counts: np.ndarray  # int32 counts, -1 gaps, -2 dead pixels
    pattern: str
    artifact: str | None
    params: dict
    description: str


def _phi_index(phi: np.ndarray) -> np.ndarray:
    return ((phi + np.pi) / (2 * np.pi) * N_PHI).astype(int) % N_PHI


def _texture_profile(rng: np.random.Generator, spotty: bool, n_spots: int) -> np.ndarray:
    """Azimuthal intensity of one ring: smooth preferred orientation, or grains (spots) for coarse powder."""
    phi = np.linspace(-np.pi, np.pi, N_PHI, endpoint=False)
    if spotty:
        prof = np.full(N_PHI, 0.15)
        width = rng.uniform(0.004, 0.012)
        for c, a in zip(rng.uniform(-np.pi, np.pi, n_spots), rng.exponential(1.0, n_spots), strict=True):
            d = np.angle(np.exp(1j * (phi - c)))
            prof += a * np.exp(-0.5 * (d / width) ** 2)
        return prof / prof.mean()
    a2, a4 = rng.uniform(0, 0.35), rng.uniform(0, 0.15)
    p2, p4 = rng.uniform(-np.pi, np.pi, 2)
    return np.clip(1 + a2 * np.cos(2 * (phi - p2)) + a4 * np.cos(4 * (phi - p4)), 0.1, None)


def render_rings(
    scene: Scene,
    rng: np.random.Generator,
    artifact: str | None,
    tilt: tuple[float, float] | None = None,
    arcs: float = 0.0,
) -> str:
    """Debye-Scherrer rings of a calibrant at a random energy and distance; returns the description.

    Args:
        tilt: (tilt, axis direction) in radians of a tilted detector plane (conic rings), None: normal.
        arcs: concentration of a strong fibre/rolling texture that turns rings into arcs (0: none).
    """
    h, w = scene.shape
    key = rng.choice(list(CALIBRANTS))
    cal = CALIBRANTS[key]
    energy = float(rng.uniform(8.0, 16.0))
    d, weights = cal.reflections()
    first_r = rng.uniform(0.07, 0.22) * max(h, w)
    two_theta_1 = 2 * np.arcsin(12.398419843320026 / energy / (2 * d[0]))
    distance = float(first_r * scene.pixel_m / np.tan(two_theta_1))
    radii = ring_radii_px(d, energy, distance, scene.pixel_m)
    reach = 1.5 * max(h, w)
    keep = np.isfinite(radii) & (radii < reach)
    radii, weights = radii[keep], weights[keep]
    spotty = bool(rng.random() < 0.3)
    width0 = rng.uniform(0.6, 1.6) * max(h, w) / 256
    level = rng.uniform(150, 2500)
    cx, cy = scene.centre
    centres = [(cx, cy)] * len(radii)
    if artifact == "off_centre_rings":
        shift = rng.uniform(0.08, 0.2) * max(h, w)
        ang = rng.uniform(0, 2 * np.pi)
        if rng.random() < 0.5:  # all rings share a centre that is not the beam
            centres = [(cx + shift * np.cos(ang), cy + shift * np.sin(ang))] * len(radii)
        else:  # rings are not even concentric with each other
            centres = [
                (cx + shift * k / len(radii) * np.cos(ang), cy + shift * k / len(radii) * np.sin(ang))
                for k in range(len(radii))
            ]
    phi_grid = np.linspace(-np.pi, np.pi, N_PHI, endpoint=False)
    tilted = scene.tilted_grids((cx, cy), distance / scene.pixel_m, *tilt) if tilt else None
    arc_dir = rng.uniform(-np.pi, np.pi) if arcs else 0.0
    broken, seen = set(), {}
    if artifact == "broken_rings":  # break rings the frame shows, where it shows them: a hallucination in view
        for k, radius in enumerate(radii):
            r, phi = tilted if tilted is not None else scene.grids(centres[k])
            on = np.abs(r - radius) < max(1.0, width0)
            if on.sum() >= 8:
                seen[k] = np.unique(_phi_index(phi[on]))
        pool = sorted(seen) or list(range(len(radii)))
        broken = set(rng.choice(pool, size=max(1, min(len(pool), rng.integers(2, 5))), replace=False).tolist())
    for k, (radius, weight) in enumerate(zip(radii, weights, strict=True)):
        r, phi = tilted if tilted is not None else scene.grids(centres[k])
        idx = _phi_index(phi)
        prof = _texture_profile(rng, spotty, int(rng.integers(60, 250)))
        if arcs:  # the same preferred orientation for every reflection, its arcs narrowing with `arcs`
            arc = np.exp(arcs * (np.cos(2 * (phi_grid - arc_dir - rng.normal(0, 0.2))) - 1))
            prof = prof * (0.003 + arc) / np.mean(0.003 + arc)
        rad = np.full(N_PHI, radius)
        if k in broken:
            for _ in range(rng.integers(1, 4)):  # missing arcs and radial jumps
                c = phi_grid[rng.choice(seen[k])] if k in seen else rng.uniform(-np.pi, np.pi)
                half = rng.uniform(0.2, 0.8)
                arc = np.abs(np.angle(np.exp(1j * (phi_grid - c)))) < half
                if rng.random() < 0.6:
                    prof[arc] *= 0.02
                else:
                    rad[arc] += rng.choice([-1, 1]) * rng.uniform(3, 8) * width0
        sigma = width0 * (1 + 0.3 * radius / max(h, w))
        polarisation = 1 - 0.15 * np.cos(phi) ** 2 * (radius / max(h, w))
        scene.expected += level * weight * prof[idx] * polarisation * np.exp(-0.5 * ((r - rad[idx]) / sigma) ** 2)
    scene.params.update(
        calibrant=str(key),
        energy_kev=energy,
        distance_m=distance,
        spotty=spotty,
        ring_radii_px=[float(v) for v in radii[:12]],
    )
    if broken:
        scene.params["broken_ring_radii_px"] = sorted(float(radii[k]) for k in broken)
    if tilt:
        scene.params.update(tilt_deg=float(np.degrees(tilt[0])), tilt_axis_deg=float(np.degrees(tilt[1])))
    if arcs:
        scene.params.update(texture_arcs=float(arcs))
    texture = "spotty" if spotty else "smooth"
    return (
        f"Debye-Scherrer rings of {cal.name} ({key}) at {energy:.1f} keV, {distance:.2f} m, {texture} rings, "
        f"beam centre {_where(scene)}"
    )


def render_peaks(scene: Scene, rng: np.random.Generator, artifact: str | None) -> str:
    """GISAXS from a lateral lattice: Bragg rods into peaks above the horizon, Yoneda band, specular rod."""
    h, w = scene.shape
    cx, cy = scene.centre
    size = max(h, w)
    yy, xx = np.indices(scene.shape, dtype=np.float64)
    spec_y = cy - rng.uniform(0.04, 0.1) * size  # specular reflection above the direct beam
    horizon = (cy + spec_y) / 2
    yoneda = spec_y - rng.uniform(0.02, 0.06) * size
    above = np.clip((horizon - yy) / 2.0, 0, 1)  # below the sample horizon the film shadows the detector
    level = rng.uniform(200, 3000)
    dx = rng.uniform(0.05, 0.12) * size  # lateral period in pixels
    dz = rng.uniform(0.06, 0.15) * size
    lattice = rng.choice(["hexagonal", "square", "lamellar"])
    sig_x, sig_z = rng.uniform(0.8, 2.0) * size / 256, rng.uniform(1.5, 4.0) * size / 256
    decay = rng.uniform(0.2, 0.5) * size
    peaks = []
    for m in range(1, int(0.5 * w / dx) + 1):
        for side in (-1, 1):
            for n in range(0, 4 if lattice != "lamellar" else 1):
                z = yoneda - n * dz - (0.5 * dz if lattice == "hexagonal" and m % 2 else 0)
                if z < 0:
                    continue
                peaks.append([cx + side * m * dx, z, np.exp(-(m * dx + n * dz) / decay), sig_x, sig_z, 0.0])
    peaks = np.array(peaks) if peaks else np.zeros((0, 6))
    if artifact == "asymmetric_peaks" and len(peaks):
        left = peaks[:, 0] < cx
        peaks[left, 0] += rng.uniform(0.2, 0.45) * dx  # the two sides of the specular rod no longer mirror
        peaks[left, 2] *= rng.uniform(0.1, 0.4)
        peaks[:, 5] = rng.uniform(-0.8, 0.8, len(peaks))  # sheared, tilted peak shapes
        peaks[~left, 4] *= rng.uniform(1.5, 3.0)
    for px, pz, amp, sx, sz, tilt in peaks:
        u = (xx - px) + tilt * (yy - pz)
        scene.expected += level * amp * np.exp(-0.5 * ((u / sx) ** 2 + ((yy - pz) / sz) ** 2))
    scene.expected += (
        0.25
        * level
        * np.exp(-0.5 * ((yy - yoneda) / (2.0 * size / 256)) ** 2)
        * np.exp(-np.abs(xx - cx) / (0.25 * size))
    )
    scene.expected += (
        0.6
        * level
        * np.exp(-np.abs(xx - cx) / (0.8 * size / 256))
        * np.exp(-np.abs(yy - spec_y) / (0.3 * size))
        * (yy < horizon)
    )
    scene.expected += 3 * level * np.exp(-0.5 * (np.hypot(xx - cx, yy - spec_y) / (1.5 * size / 256)) ** 2)
    scene.expected *= 0.02 + 0.98 * above
    scene.params.update(
        lattice=str(lattice), period_px=float(dx), specular_y=float(spec_y), yoneda_y=float(yoneda), n_peaks=len(peaks)
    )
    return f"GISAXS Bragg peaks of a {lattice} lattice with Yoneda band and specular rod, beam centre {_where(scene)}"


def render_background(scene: Scene, rng: np.random.Generator, artifact: str | None) -> str:
    """Nothing but the instrument: used for empty frames, and under every other pattern too."""
    return f"empty background frame with air scatter and beamstop, beam centre {_where(scene)}"


def _where(scene: Scene) -> str:
    cx, cy = scene.centre
    h, w = scene.shape
    vert = "low" if cy > 0.62 * h else ("high" if cy < 0.38 * h else "middle")
    horiz = "left" if cx < 0.42 * w else ("right" if cx > 0.58 * w else "centre")
    return f"{vert} {horiz}"


def _texture_patch(scene: Scene, rng: np.random.Generator) -> None:
    """A non-physical patch: stripes or checkerboard texture with soft edges, at the local intensity."""
    h, w = scene.shape
    size = max(h, w)
    yy, xx = np.indices(scene.shape, dtype=np.float64)
    px, py = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
    rx, ry = rng.uniform(0.06, 0.15) * size, rng.uniform(0.06, 0.15) * size
    env = np.exp(-0.5 * (((xx - px) / rx) ** 2 + ((yy - py) / ry) ** 2) ** 2)
    period = rng.uniform(3, 8) * size / 256
    ang = rng.uniform(0, np.pi)
    if rng.random() < 0.5:
        tex = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(ang) + yy * np.sin(ang)) / period)
    else:
        tex = ((np.floor(xx / period) + np.floor(yy / period)) % 2).astype(float)
    local = np.percentile(scene.expected, 90) + 1.0
    scene.expected += rng.uniform(0.5, 2.0) * local * env * tex


RENDER = {"rings": render_rings, "peaks": render_peaks, "background": render_background}


def simulate_frame(
    pattern: str, rng: np.random.Generator, size: int = 256, artifact: str | None = None, detector: str = "Pilatus2M"
) -> SimulatedFrame:
    """One frame of `pattern`, physically plausible unless `artifact` names a hallucination.

    Raises:
        ValueError: unknown pattern, or an artifact that does not apply to the pattern.
    """
    if pattern not in RENDER:
        raise ValueError(f"pattern: expected one of {PATTERNS}, got {pattern!r}")
    if artifact is not None and artifact not in ARTIFACTS[pattern]:
        raise ValueError(f"artifact: {artifact!r} does not apply to {pattern}; choose from {ARTIFACTS[pattern]}")
    scene = new_scene(rng, size, detector)
    air = rng.uniform(20, 200) if pattern != "background" else rng.uniform(5, 120)
    add_air_scatter(scene, rng, air)
    add_parasitic(scene, rng, air * rng.uniform(0.5, 3))
    description = RENDER[pattern](scene, rng, artifact)
    if artifact == "texture_patch":
        _texture_patch(scene, rng)
    transmission = beamstop(scene, rng)
    bend = rng.uniform(2, 6) * size / 256 if artifact == "bent_gaps" and rng.random() < 0.6 else 0.0
    jitter = rng.uniform(0.15, 0.4) if artifact == "bent_gaps" and not bend else 0.0
    gaps = gap_mask(scene.shape, scene.detector, bend=bend, jitter=jitter, rng=rng)
    counts = count(scene, rng, transmission, gaps)
    params = dict(
        scene.params,
        centre_x=float(scene.centre[0]),
        centre_y=float(scene.centre[1]),
        pixel_m=float(scene.pixel_m),
        size=list(scene.shape),
    )
    return SimulatedFrame(counts=counts, pattern=pattern, artifact=artifact, params=params, description=description)
