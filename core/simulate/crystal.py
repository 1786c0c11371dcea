"""A single crystal by the rotation method: Bragg spots where its reciprocal lattice crosses the Ewald sphere.

A rotation photograph (macromolecular and chemical crystallography, one grain of a far-field scan) records the
reciprocal-lattice points that pass through the Ewald sphere while the crystal turns by the oscillation angle
(a still, when it barely turns: then only the mosaic spread lets points diffract). So its spots do not lie at
random: the points of one lattice plane meet the sphere on a circle, whose image on the detector is an ellipse
near the beam, and a frame shows lunes of spots and rows of them, dense for a large cell (a protein: hundreds
to thousands of spots) and sparse for a small one (a salt: a handful). The crystal diffracts only so far
(its temperature factor, and a resolution limit that may lie inside the detector's edge), and intensities
follow Wilson statistics (exponentially distributed, falling with resolution).

Geometry: the beam along +z, a flat detector normal to it at `distance` pixels, the rotation axis in the
detector plane; units 1/Angstrom in reciprocal space (no 2 pi).
"""

from __future__ import annotations

import numpy as np

from .farfield import _gauss_spot, splat
from .geometry import Scene

MAX_POINTS = 400_000  # reciprocal-lattice points examined per frame (a larger cell diffracts less far)
MAX_GAUSS = 1500  # spots drawn as Gaussians; fainter ones are deposited as points (they are sub-pixel anyway)


def random_reciprocal_basis(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """((3, 3) rows a*, b*, c* in 1/Angstrom in a random orientation, (6,) cell a, b, c, alpha, beta, gamma).

    Edges 3-250 Angstrom (log-uniform: salts to virus-sized proteins), angles 60-120 degrees (any valid cell)."""
    from scipy.spatial.transform import Rotation

    while True:
        a, b, c = np.exp(rng.uniform(np.log(3.0), np.log(250.0), 3))
        ang = np.radians(rng.uniform(60.0, 120.0, 3)) if rng.random() < 0.5 else np.radians([90.0, 90.0, 90.0])
        ca, cb, cg = np.cos(ang)
        vol2 = 1 - ca**2 - cb**2 - cg**2 + 2 * ca * cb * cg
        if vol2 > 0.05:
            break
    sg = np.sin(ang[2])
    direct = np.array(
        [[a, 0.0, 0.0], [b * cg, b * sg, 0.0], [c * cb, c * (ca - cb * cg) / sg, c * np.sqrt(vol2) / sg]]
    )
    recip = np.linalg.inv(direct).T  # rows: a*, b*, c* (a* . a = 1)
    turn = Rotation.random(random_state=int(rng.integers(1 << 31))).as_matrix()
    return recip @ turn.T, np.array([a, b, c, *np.degrees(ang)])


def lattice_points(recip: np.ndarray, q_max: float) -> np.ndarray:
    """(N, 3) reciprocal-lattice vectors g with 0 < |g| < q_max."""
    direct_len = np.linalg.norm(np.linalg.inv(recip).T, axis=1)  # |a|, |b|, |c|: |h| <= q_max |a|
    n = np.ceil(q_max * direct_len).astype(int)
    axes = [np.arange(-m, m + 1) for m in n]
    hkl = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    g = hkl @ recip
    q = np.linalg.norm(g, axis=1)
    return g[(q > 0) & (q < q_max)]


def crossings(
    g: np.ndarray, k: float, axis: np.ndarray, oscillation: float, mosaic: float
) -> tuple[np.ndarray, np.ndarray]:
    """(kout (M, 3), partiality (M,)): the diffracted wave vectors of the points `g` that cross the Ewald sphere
    (radius k, beam along +z) while the crystal turns about `axis` (a unit vector normal to the beam) from
    -oscillation/2 to +oscillation/2 (radians), each with the share of its rocking curve (width `mosaic`)
    the turn covers."""
    k0 = np.array([0.0, 0.0, k])
    par = (g @ axis)[:, None] * axis
    perp = g - par
    cross = np.cross(axis, perp)
    # |k0 + g(w)|^2 = k^2  <=>  k0 . g(w) = -|g|^2 / 2, with g(w) = par + cos(w) perp + sin(w) (axis x perp)
    big_a, big_b = k * perp[:, 2], k * cross[:, 2]
    rhs = -0.5 * np.einsum("ij,ij->i", g, g) - k * par[:, 2]
    amp = np.hypot(big_a, big_b)
    ok = amp > np.abs(rhs)
    phase = np.arctan2(big_b[ok], big_a[ok])
    delta = np.arccos(np.clip(rhs[ok] / amp[ok], -1.0, 1.0))
    out_k, out_p = [], []
    for sign in (1.0, -1.0):
        w = (phase + sign * delta + np.pi) % (2 * np.pi) - np.pi
        lo, hi = np.maximum(w - mosaic / 2, -oscillation / 2), np.minimum(w + mosaic / 2, oscillation / 2)
        part = np.clip(hi - lo, 0.0, None) / mosaic
        hit = part > 0
        if not hit.any():
            continue
        ww = w[hit][:, None]
        gw = par[ok][hit] + np.cos(ww) * perp[ok][hit] + np.sin(ww) * cross[ok][hit]
        out_k.append(k0 + gw)
        out_p.append(part[hit])
    if not out_k:
        return np.zeros((0, 3)), np.zeros(0)
    return np.concatenate(out_k), np.concatenate(out_p)


def render_crystal_spots(scene: Scene, rng: np.random.Generator, native_side: int) -> str:
    """The Bragg spots of one rotation frame (or still) of a random single crystal; returns the description.

    Args:
        native_side: the detector's longest side in native pixels (spot widths are drawn in native pixels).
    """
    h, w = scene.shape
    cx, cy = scene.centre
    per_native = max(h, w) / native_side
    corners = np.array([[0.0, 0.0], [w, 0.0], [0.0, h], [w, h]])
    r_far = float(np.max(np.hypot(corners[:, 0] - cx, corners[:, 1] - cy)))
    energy = float(np.exp(rng.uniform(np.log(6.0), np.log(80.0))))
    wavelength = 12.398419843320026 / energy
    # the resolution at the frame's farthest corner (0.5-4 Angstrom), at most 75 degrees of 2theta
    sin_theta = min(wavelength / (2 * np.exp(rng.uniform(np.log(0.5), np.log(4.0)))), np.sin(np.radians(37.5)))
    distance = r_far / np.tan(2 * np.arcsin(sin_theta))
    k = 1.0 / wavelength
    axis_angle = rng.uniform(0, np.pi)
    axis = np.array([np.cos(axis_angle), np.sin(axis_angle), 0.0])
    oscillation = np.radians(np.exp(rng.uniform(np.log(0.05), np.log(3.0))))
    mosaic = np.radians(np.exp(rng.uniform(np.log(0.02), np.log(0.6))))
    b_factor = float(rng.uniform(2.0, 60.0))
    for _ in range(6):
        recip, cell = random_reciprocal_basis(rng)
        volume = 1.0 / abs(np.linalg.det(recip))
        q_detector = 2 * sin_theta * k
        # a large cell diffracts less far: as many points as MAX_POINTS allows (a protein's resolution limit)
        q_crystal = (MAX_POINTS / (4.0 / 3.0 * np.pi * volume)) ** (1 / 3)
        q_max = min(q_detector, q_crystal * rng.uniform(0.5, 1.0))
        kout, part = crossings(lattice_points(recip, q_max), k, axis, oscillation, mosaic)
        keep = kout[:, 2] > 1e-9 * k
        kout, part = kout[keep], part[keep]
        xs = cx + distance * kout[:, 0] / kout[:, 2]
        ys = cy + distance * kout[:, 1] / kout[:, 2]
        on = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        if on.sum() >= 1:
            break
        oscillation *= 2  # too few points crossed on this frame: a wider frame of the scan
    xs, ys, kout, part = xs[on], ys[on], kout[on], part[on]
    q2 = np.sum((kout - [0.0, 0.0, k]) ** 2, axis=1)
    inten = part * rng.exponential(1.0, len(xs)) * np.exp(-0.5 * b_factor * q2)
    level = float(np.exp(rng.uniform(np.log(30), np.log(30000))))  # integrated counts of a strong spot
    if len(inten):
        inten *= level / max(float(np.quantile(inten, 0.9)), 1e-12)
    width = rng.uniform(0.5, 3.0)  # native pixels: the beam and crystal size on the detector
    order = np.argsort(inten)[::-1]
    gauss, points = order[:MAX_GAUSS], order[MAX_GAUSS:]
    for i in gauss:
        s_rad = width * rng.uniform(0.7, 1.3) * per_native
        s_az = s_rad * rng.uniform(1.0, 2.5)  # the mosaic spread smears a spot along its path
        if max(s_rad, s_az) < 0.5:
            splat(scene, xs[i : i + 1], ys[i : i + 1], inten[i : i + 1])
        else:
            _gauss_spot(scene, xs[i], ys[i], inten[i], max(s_rad, 0.3), s_az, np.arctan2(ys[i] - cy, xs[i] - cx))
    if len(points):
        splat(scene, xs[points], ys[points], inten[points])
    n = int(len(xs))
    scene.params.update(
        spots=n, spot_level=level, spots_on_rings=False, crystal_cell=[round(float(v), 2) for v in cell],
        oscillation_deg=float(np.degrees(oscillation)), mosaic_deg=float(np.degrees(mosaic)),
        energy_kev=energy, distance_px=float(distance), d_min_A=float(1.0 / q_max), spot_width_native_px=float(width),
    )  # fmt: skip
    return f"a single crystal turned {np.degrees(oscillation):.2f} deg: {n} Bragg spots"
