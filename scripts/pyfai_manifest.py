"""Write a test set for `scatterloop bench simreal --manifest` that owes nothing to scatterloop's simulator.

Rings, single-crystal spot and background frames on pyFAI's detector models (their shapes, pixel sizes and module
gaps, written as each vendor writes them: -1 in int32 CBF/EDF, the uint32 maximum for Eiger/Jungfrau, zero outside
a MAR345's round area, zero gaps in 16-bit TIFF). Geometry comes from pyFAI (2theta, chi, solid angle,
polarisation, pixel positions; the beam inside, near an edge or up to a frame-width outside; small tilts), ring
positions from pyFAI's calibrants, spots from the Ewald construction of a random cell and orientation turned
through an oscillation range, or with `--laue F` a share F of the peak frames from a still crystal in a pink or
white beam close to the detector (Laue). Counts are Poisson, 10 to 10^4 at the strongest feature, over air
scatter.

    python scripts/pyfai_manifest.py OUT [--per-kind 4] [--seed 2027] [--detectors Pilatus100k,Eiger1M] [--laue 1]
    scatterloop bench simreal --manifest OUT/MANIFEST.json --json
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

# (pyFAI detector name, file format)
DETECTORS = (
    ("Pilatus100k", "cbf"), ("Pilatus300k", "cbf"), ("Pilatus1M", "cbf"), ("Pilatus2M", "edf"),
    ("Eiger500k", "edf"), ("Eiger1M", "edf"), ("Eiger4M", "tif"), ("Perkin", "tif"), ("Mar345", "edf"),
    ("Dexela2923", "tif"), ("Frelon", "edf"), ("imxpad_s70", "edf"), ("Lambda750k", "edf"),
    ("Jungfrau1M", "edf"), ("Rayonix MX225", "tif"), ("ADSC_Q315", "edf"),
)  # fmt: skip
CALIBRANTS = ("CeO2", "LaB6", "Si", "alpha_Al2O3", "AgBh", "Cr2O3", "NaCl", "ZnO", "Ni", "Au", "TiO2", "quartz")
KINDS = ("rings", "peaks", "background")


def _integrator(rng: np.random.Generator, det):
    """A random geometry: the point of normal incidence inside (half), near an edge, or outside by up to a
    frame-width, and tilts of a few degrees (the direct beam lies off it by distance x tilt)."""
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    h, w = det.shape
    place = str(rng.choice(["inside", "edge", "outside"], p=[0.5, 0.3, 0.2]))
    if place == "inside":
        cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
    elif place == "edge":
        cy, cx = rng.uniform(0, 1) * h, rng.uniform(0, 1) * w
        side = int(rng.integers(4))
        lo_hi = (rng.uniform(-0.05, 0.08), rng.uniform(0.92, 1.05))
        if side < 2:
            cy = lo_hi[side] * h
        else:
            cx = lo_hi[side - 2] * w
    else:
        ang, r = rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.0) * max(h, w)
        cy, cx = h / 2 + r * np.sin(ang), w / 2 + r * np.cos(ang)
    dist = rng.uniform(0.08, 1.2) if rng.random() < 0.8 else rng.uniform(1.5, 5.0)
    ai = AzimuthalIntegrator(
        dist=dist, poni1=(cy + 0.5) * det.pixel1, poni2=(cx + 0.5) * det.pixel2, rot1=rng.normal(0, 0.03),
        rot2=rng.normal(0, 0.03), detector=det, wavelength=rng.uniform(0.15, 1.6) * 1e-10,
    )  # fmt: skip
    return ai, (cy, cx), place


def _rings(rng: np.random.Generator, ai, shape) -> tuple[np.ndarray, str, int]:
    """Powder rings of a random calibrant: Gaussian in 2theta, random heights falling with q, some textured
    (intensity varying round the ring) or spotty (coarse grains). Returns the image, calibrant, rings on it."""
    from pyFAI.calibrant import get_calibrant

    name = str(rng.choice(CALIBRANTS))
    cal = get_calibrant(name)
    cal.wavelength = ai.wavelength
    tth = ai.center_array(shape, unit="2th_rad")
    chi = ai.center_array(shape, unit="chi_rad")
    peaks = [t for t in cal.get_2th() if t is not None and t < tth.max() + 0.05][:60]
    on_frame = sum(1 for t in peaks if tth.min() < t < tth.max())
    img = np.zeros(shape)
    sigma = np.deg2rad(rng.uniform(0.02, 0.25)) / 2.355
    b = rng.uniform(0.0, 0.02)
    texture, spotty = rng.random() < 0.3, rng.random() < 0.25
    for t in peaks:
        q = 4 * np.pi / (ai.wavelength * 1e10) * np.sin(t / 2)
        ring = rng.uniform(0.2, 1.0) * np.exp(-b * q * q) * (3.0 if rng.random() < 0.2 else 1.0)
        ring = ring * np.exp(-0.5 * ((tth - t) / sigma) ** 2)
        if texture:
            ring *= 1 + rng.uniform(0.3, 0.9) * np.cos(2 * (chi - rng.uniform(0, np.pi)))
        if spotty:
            grains = np.convolve(rng.gamma(rng.uniform(0.3, 2.0), size=725), np.ones(5) / 5, "same")[:720]
            ring *= grains[((chi + np.pi) / (2 * np.pi) * 720).astype(int) % 720]
        img += ring
    return img, name, on_frame


def _spots(rng: np.random.Generator, ai, shape) -> tuple[np.ndarray, int]:
    """A single crystal turned through 0.2-5 degrees: every reciprocal lattice point that crosses the Ewald sphere
    meanwhile, projected on the detector plane, a Gaussian spot each, random strength per hkl falling with q.
    Returns the image and the number of spots at least a tenth of the strongest."""
    from scipy.spatial.transform import Rotation

    pos = ai.position_array(shape)  # (h, w, 3): z along the beam, y, x; metres from the sample
    k = 1.0 / (ai.wavelength * 1e10)
    cell = rng.uniform(3.0, 40.0, 3)
    ub = Rotation.random(random_state=int(rng.integers(1 << 31))).as_matrix() @ np.diag(1.0 / cell)
    two_theta = np.arccos(np.clip(pos[..., 0] / np.linalg.norm(pos, axis=-1), -1, 1)).max()
    qmax = 2 * k * np.sin(min(two_theta, np.pi * 0.99) / 2)
    n = np.ceil(qmax * cell).astype(int)
    hkl = np.stack(np.meshgrid(*[np.arange(-m, m + 1) for m in n], indexing="ij"), -1).reshape(-1, 3)
    if len(hkl) > 3_000_000:
        hkl = hkl[rng.choice(len(hkl), 3_000_000, replace=False)]
    g = hkl @ ub.T
    qn = np.linalg.norm(g, axis=1)
    keep = (qn > 0) & (qn < qmax)
    g, hkl, qn = g[keep], hkl[keep], qn[keep]
    strength = ((np.sin((hkl * [7919, 104729, 1299709]).sum(1)) * 43758.5453) % 1.0) ** 3
    strength = strength * np.exp(-rng.uniform(0.5, 3) * qn**2)
    osc = np.deg2rad(rng.uniform(0.2, 5.0))
    img, amps = np.zeros(shape), []
    for omega in np.linspace(-osc / 2, osc / 2, 9):  # the oscillation in nine slices about the vertical axis
        kout = np.array([k, 0.0, 0.0]) + g @ Rotation.from_rotvec([0, omega, 0]).as_matrix().T
        on = np.abs(np.linalg.norm(kout, axis=1) - k) < 0.5 * (osc / 8) * qn + 1e-4
        if not on.any():
            continue
        _stamp(img, pos, kout[on], strength[on] / 9, amps)  # a ninth of the turn each
    return img, _strong(amps)


def _stamp(img: np.ndarray, pos: np.ndarray, kout: np.ndarray, strength: np.ndarray, amps: list) -> None:
    """A Gaussian spot (1.2 px) of each `strength` where the ray along each `kout` from the sample meets the
    detector plane of `pos` (pyFAI's position_array); the strengths of the spots on the detector go to `amps`."""
    if not len(kout):
        return
    p0, ey, ex = pos[0, 0], pos[1, 0] - pos[0, 0], pos[0, 1] - pos[0, 0]
    d = kout / np.linalg.norm(kout, axis=1, keepdims=True)
    lhs = np.stack([np.broadcast_to(ey, d.shape), np.broadcast_to(ex, d.shape), -d], -1)
    rows_cols_t = np.linalg.solve(lhs, np.broadcast_to(-p0, d.shape)[..., None])[..., 0]
    h, w = img.shape
    for (r, c, t), a in zip(rows_cols_t, strength, strict=True):
        r0, r1, c0, c1 = int(max(r - 6, 0)), int(min(r + 7, h)), int(max(c - 6, 0)), int(min(c + 7, w))
        if t <= 0 or r1 <= r0 or c1 <= c0:
            continue
        amps.append(a)
        yy, xx = np.mgrid[r0:r1, c0:c1]
        img[r0:r1, c0:c1] += a * np.exp(-0.5 * ((yy - r) ** 2 + (xx - c) ** 2) / 1.2**2)


def _strong(amps: list) -> int:
    """How many spots are at least a tenth of the strongest."""
    amps = np.asarray(amps)
    return int(np.sum(amps > 0.1 * amps.max())) if len(amps) else 0


def _closer(ai, dist: float):
    """The same detector, beam point and tilts at another distance."""
    from pyFAI.integrator.azimuthal import AzimuthalIntegrator

    return AzimuthalIntegrator(
        dist=dist, poni1=ai.poni1, poni2=ai.poni2, rot1=ai.rot1, rot2=ai.rot2, detector=ai.detector,
        wavelength=ai.wavelength,
    )  # fmt: skip


def _laue(rng: np.random.Generator, ai, shape) -> tuple[np.ndarray, int]:
    """A still crystal in a polychromatic (pink or white) beam: every reciprocal lattice vector G diffracts the
    wavelength that puts it on the Ewald sphere, lambda = -2 G.z / |G|^2, when that lies in the band; a spot
    each in the direction of k0 + G (harmonics nG fall on the same spot), strength per hkl times the spectrum
    there. Returns the image and the number of spots at least a tenth of the strongest."""
    from scipy.spatial.transform import Rotation

    pos = ai.position_array(shape)  # (h, w, 3): z along the beam, y, x
    lo, hi = sorted(rng.uniform(0.3, 2.0, 2))
    lo, hi = lo, max(hi, lo * 1.3)  # at least a 30 % band (a pink beam); white beams span a factor of 5
    cell = rng.uniform(3.0, 15.0, 3)
    ub = Rotation.random(random_state=int(rng.integers(1 << 31))).as_matrix() @ np.diag(1.0 / cell)
    two_theta = np.arccos(np.clip(pos[..., 0] / np.linalg.norm(pos, axis=-1), -1, 1)).max()
    qmax = 2 * np.sin(min(two_theta, np.pi * 0.99) / 2) / lo
    n = np.minimum(np.ceil(qmax * cell).astype(int), 40)
    hkl = np.stack(np.meshgrid(*[np.arange(-m, m + 1) for m in n], indexing="ij"), -1).reshape(-1, 3)
    g = hkl @ ub.T
    g2 = (g**2).sum(1)
    lam = np.where(g2 > 0, -2 * g[:, 0] / np.maximum(g2, 1e-12), 0.0)
    on = (lam >= lo) & (lam <= hi) & (np.sqrt(g2) < qmax)
    g, hkl, lam, g2 = g[on], hkl[on], lam[on], g2[on]
    strength = ((np.sin((hkl * [7919, 104729, 1299709]).sum(1)) * 43758.5453) % 1.0) ** 1.5
    mid, width = rng.uniform(lo, hi), (hi - lo) / 2
    strength = strength * np.exp(-0.5 * ((lam - mid) / width) ** 2) * np.exp(-rng.uniform(0.1, 1.0) * g2)
    kout = np.stack([1.0 / lam, np.zeros_like(lam), np.zeros_like(lam)], -1) + g
    img, amps = np.zeros(shape), []
    _stamp(img, pos, kout, strength, amps)
    return img, _strong(amps)


def _beamstop(rng: np.random.Generator, shape, centre, pixel: float) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    radius = rng.uniform(0.6e-3, 3e-3) / pixel
    stop = np.hypot(yy - centre[0], xx - centre[1]) < radius
    if rng.random() < 0.7:  # its holder's arm
        ang = rng.uniform(0, 2 * np.pi)
        along = (yy - centre[0]) * np.sin(ang) + (xx - centre[1]) * np.cos(ang)
        across = -(yy - centre[0]) * np.cos(ang) + (xx - centre[1]) * np.sin(ang)
        stop |= (along > 0) & (np.abs(across) < radius * rng.uniform(0.3, 0.6))
    return stop


def frame(rng: np.random.Generator, name: str, kind: str, laue: float = 0.0) -> tuple[np.ndarray, np.ndarray, dict]:
    """(counts, gaps, truth) of one frame of `kind` on pyFAI's detector `name`; a rings or peaks frame is redrawn
    until at least two rings or six spots fall on the detector, so its label is true."""
    from pyFAI import detector_factory

    det = detector_factory(name)
    shape = det.shape
    for _ in range(300):
        ai, centre, place = _integrator(rng, det)
        if kind == "rings":
            signal, what, n = _rings(rng, ai, shape)
            if n >= 2:
                break
        elif kind == "peaks" and laue and rng.random() < laue:
            ai = _closer(ai, rng.uniform(0.03, 0.2))  # Laue cameras sit close: many spots on the detector
            (signal, n), what = _laue(rng, ai, shape), "Laue"
            if n >= 10:  # a Laue frame is rich in spots (a short distance, a wide band)
                break
        elif kind == "peaks":
            (signal, n), what = _spots(rng, ai, shape), "single crystal"
            if n >= 6:
                break
        else:
            signal, what = np.zeros(shape), "air scatter" if rng.random() < 0.6 else "dark"
            break
    else:
        raise RuntimeError(f"{name}: no geometry puts {kind} on the detector")
    solid = ai.solidAngleArray(shape)
    solid = solid / solid.max()
    q = 4 * np.pi / (ai.wavelength * 1e10) * np.sin(ai.center_array(shape, unit="2th_rad") / 2)
    air = 1.0 / (1 + (q / rng.uniform(0.05, 0.5)) ** 2)
    signal = signal * solid * ai.polarization(shape, factor=0.99)
    signal = signal / max(float(signal.max()), 1e-12)
    background = (air / air.max() * 10 ** rng.uniform(-2.5, -0.5) + rng.uniform(0, 0.01)) * solid
    level = 10 ** rng.uniform(1.0, 4.0)  # counts at the strongest feature
    rate = (signal + background) * level
    if what == "dark":
        rate = np.full(shape, rng.uniform(0.0, 2.0)) + rate * 0.01
    fit2d = ai.getFit2D()  # the direct beam, which a tilt moves away from the point of normal incidence
    beam = (fit2d["centerY"] - 0.5, fit2d["centerX"] - 0.5)  # pixel centres, as the MANIFEST convention has it
    from scatterloop.core.geometry.calibration import beam_pixel_of_modules

    modules = beam_pixel_of_modules(ai, (beam[1], beam[0]))  # JUNGFRAU, imXPAD: wider pixels between chips
    if modules is not None:  # pyFAI's own pixel positions, on which it drew the rings, place the beam
        beam = (modules[1], modules[0])
    if place == "inside" and rng.random() < 0.8:
        rate = np.where(_beamstop(rng, shape, beam, det.pixel1), rate * 0.01, rate)
    gaps = np.zeros(shape, bool) if det.mask is None else np.asarray(det.mask, bool)
    truth = {"kind": kind, "detector": name, "centre_x": float(beam[1]), "centre_y": float(beam[0]),
             "placement": place, "content": what}  # fmt: skip
    return rng.poisson(rate).astype(np.int64), gaps, truth


def write(path: Path, counts: np.ndarray, gaps: np.ndarray, fmt: str, name: str) -> np.ndarray:
    """Write as the detector's software would; returns the array written."""
    import fabio

    if fmt == "tif":
        data = np.where(gaps, 0, np.minimum(counts, 65535)).astype(np.uint16)
        fabio.tifimage.TifImage(data=data).write(str(path))
        return data
    if name.startswith(("Eiger", "Jungfrau")):
        data = np.where(gaps, np.iinfo(np.uint32).max, np.minimum(counts, 2**32 - 2)).astype(np.uint32)
    elif name.startswith("Mar"):
        h, w = counts.shape
        yy, xx = np.ogrid[:h, :w]
        outside = ((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2 > 1.0
        data = np.where(outside, 0, np.minimum(counts, 65534)).astype(np.uint16)
    else:
        data = np.where(gaps, -1, counts).astype(np.int32)
    (fabio.cbfimage.CbfImage if fmt == "cbf" else fabio.edfimage.EdfImage)(data=data).write(str(path))
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--per-kind", type=int, default=4, help="frames per detector and kind")
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--detectors", default=",".join(d for d, _ in DETECTORS), help="comma-separated pyFAI names")
    ap.add_argument("--laue", type=float, default=0.0, help="share of peak frames from a polychromatic beam")
    args = ap.parse_args(argv)
    formats = dict(DETECTORS)
    names = [d.strip() for d in args.detectors.split(",") if d.strip()]
    unknown = [d for d in names if d not in formats]
    if unknown:
        ap.error(f"--detectors: unknown {unknown}; known: {sorted(formats)}")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    seeds = np.random.default_rng(args.seed)
    entries = []
    for name in names:
        for kind in KINDS:
            (args.out / kind).mkdir(parents=True, exist_ok=True)
            for i in range(args.per_kind):
                counts, gaps, truth = frame(np.random.default_rng(seeds.integers(1 << 62)), name, kind, args.laue)
                file = f"{kind}/{name.replace(' ', '_')}_{i}.{formats[name]}"
                data = write(args.out / file, counts, gaps, formats[name], name)
                entries.append({"file": file, **truth, "shape": list(data.shape), "dtype": str(data.dtype),
                                "reader": "fabio", "max_counts": int(counts.max())})  # fmt: skip
                print(file, truth["placement"], truth["content"], int(counts.max()), flush=True)
    (args.out / "MANIFEST.json").write_text(json.dumps(entries, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
