"""A tilted detector: Debye-Scherrer rings are conics about the beam, not circles.

A detector plane tilted by tau about an in-plane axis records each diffraction cone (half-angle 2theta) as an
ellipse whose centre lies off the beam, the farther the larger the ring (about distance x tan(tau) x
tan^2(2theta)). A circle fitted to all rings finds their average centre, not the beam: off by tens of pixels for a
2-degree tilt of a large panel, while a calibration reports the beam (Fit2D's beam centre, pyFAI's getFit2D) and a user
compares with. `fit_tilt` maximises the same radial explained variance as the centre search with the radius
replaced by distance x tan(2theta) of a tilted plane (Fit2D's tilt and tilt-plane rotation), from the flat search's
centre with no tilt. With no tilt that coordinate is the radius whatever the distance, so the fit starts from the
flat search's score and can only better it. The search keeps a tilt only when the rings fix it: one ellipse is met
by a family of tilts and beam points, so a tilt must explain a share of what the circles left unexplained that
grows with the tilt (`geometry.centre._rings_tilt`).

Coordinates: x = column, y = row (down); the beam point (cx, cy) is where the direct beam meets the detector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .pyramid import RadialScore

# a panel on a 2theta arm can be tilted more; its rings then need a calibration. 35, not 20 (2026-12-07): pyFAI frames
# of a Pilatus 1M tilted 20.6 degrees were 1.4 px off at 20, 0.3 px at 35, and `bench polar --manifest` on 192
# frames of pyFAI's detector models (seed 4242) found the same centres either way
MAX_TILT = np.radians(35.0)
MIN_TILT = np.radians(0.2)  # below this a tilt moves no ring centre by a pixel on any detector in use
MIN_GAIN = 0.005  # the share of the circles' unexplained variance a tilt must explain to be believed,
GAIN_PER_DEGREE = 0.01  # and per degree of tilt (a larger tilt moves the beam point farther)


@dataclass
class TiltFit:
    """The beam point, the sample-to-beam-point distance (pixels), the tilt and the azimuth of its axis
    (radians, counter-clockwise from +x with y up) and the explained variance with and without the tilt."""

    x: float
    y: float
    distance: float
    tilt: float
    tilt_dir: float
    explained: float
    flat_explained: float

    @property
    def gain(self) -> float:
        """The share of the flat fit's unexplained variance the tilt explains."""
        return (self.explained - self.flat_explained) / max(1e-9, 1.0 - self.flat_explained)


def _axes(tilt: float, tilt_dir: float) -> tuple[np.ndarray, np.ndarray]:
    """The tilted plane's in-plane unit vectors in the lab (x right, y up, z along the beam): the tilt axis,
    which stays in the untilted plane, and the direction across it, which turns towards the beam."""
    ax, ay = np.cos(tilt_dir), np.sin(tilt_dir)
    c, s = np.cos(tilt), np.sin(tilt)
    return np.array([ax, ay, 0.0]), np.array([-ay * c, ax * c, s])


def tilted_radius(
    x: np.ndarray, y: np.ndarray, cx: float, cy: float, distance: float, tilt: float, tilt_dir: float
) -> np.ndarray:
    """distance x tan(2theta) of detector pixels (x, y): the radius each would have on an untilted detector at
    the same distance, so rings about the beam become circles. NaN where the ray runs nearly along the plane
    (2theta near 90 degrees or beyond)."""
    along_axis, across = _axes(tilt, tilt_dir)
    u, v = np.asarray(x) - cx, -(np.asarray(y) - cy)
    a = u * along_axis[0] + v * along_axis[1]
    t = -u * along_axis[1] + v * along_axis[0]
    px = a * along_axis[0] + t * across[0]
    py = a * along_axis[1] + t * across[1]
    pz = distance + t * across[2]
    with np.errstate(all="ignore"):
        return np.where(pz > 0.05 * distance, distance * np.hypot(px, py) / pz, np.nan)


def untilted_to_pixel(
    u: np.ndarray, v: np.ndarray, cx: float, cy: float, distance: float, tilt: float, tilt_dir: float
) -> tuple[np.ndarray, np.ndarray]:
    """The pixel (x, y) of the tilted plane hit by the ray that meets an untilted plane at the same distance at
    (u, v) from the beam (x right, y up): the inverse of `tilted_radius`'s map, so circles of radius r there are
    the tilted detector's ring of that r. NaN where the ray misses the plane (runs away from it)."""
    along_axis, across = _axes(tilt, tilt_dir)
    normal = np.cross(along_axis, across)
    ray = np.stack(np.broadcast_arrays(np.asarray(u, float), np.asarray(v, float), np.full(np.shape(u), distance)))
    with np.errstate(all="ignore"):
        s = distance * normal[2] / np.tensordot(normal, ray, axes=1)
        s = np.where(s > 0, s, np.nan)
    q = s * ray - np.array([0.0, 0.0, distance]).reshape(3, *([1] * np.ndim(u)))
    a, t = np.tensordot(along_axis, q, axes=1), np.tensordot(across, q, axes=1)
    du = a * along_axis[0] - t * along_axis[1]
    dv = a * along_axis[1] + t * along_axis[0]
    return cx + du, cy - dv


WIDE_DISTANCES = (0.7, 1.5, 3.0)  # `search_tilt`'s starting distances, in farthest valid pixels from the centre
WIDE_TILTS = (0.04, 0.08)  # and starting tilts (radians), each in 8 azimuths, beside no tilt
SCOUT_ITERATIONS = 60  # steps every start of `search_tilt` takes
WIDE_KEEP = 4  # the starts that then climb on to convergence


def fit_tilt(
    score: RadialScore,
    cx: float,
    cy: float,
    r_far: float,
    starts: tuple[float, ...] = (0.8, 3.0),
    from_fit: TiltFit | None = None,
) -> TiltFit:
    """The tilted plane that best explains the rings, from the flat centre (cx, cy) with no tilt, or from
    `from_fit` (a coarser level's fit, in this level's pixels); its gain is against the circles about (cx, cy).

    Args:
        score: the search's radial score of one pyramid level (its points and values).
        cx, cy: the flat search's centre on that level.
        r_far: the distance from (cx, cy) to the farthest valid pixel (sets the starting distances).
    """
    if from_fit is None:  # the distance is found only through the tilt: start from a few
        p0s = [np.array([cx, cy, np.log(d0 * r_far), 0.0, 0.0]) for d0 in starts]
        return _climb(score, p0s, cx, cy, r_far, max(1.0, 0.005 * r_far), 0.7, 300)
    t = from_fit
    p0 = np.array([t.x, t.y, np.log(t.distance), t.tilt * np.cos(t.tilt_dir), t.tilt * np.sin(t.tilt_dir)])
    return _climb(score, [p0], cx, cy, r_far, 1.0, 0.5, 400)


def search_tilt(score: RadialScore, cx: float, cy: float, r_far: float) -> TiltFit:
    """`fit_tilt` from many starts (WIDE_DISTANCES x no tilt and WIDE_TILTS in 8 azimuths), for a coarse level: a
    strong tilt seen from close by drifts the rings' centres so far apart (125 px on a 2,167-px Eiger 4M tilted
    3.6 degrees at 1,780 px) that the climb from the circles' centre with no tilt stops on the circles. Every start
    takes SCOUT_ITERATIONS steps, and the WIDE_KEEP best climb on to convergence (a dark 619 x 487 frame whose
    sectors agree about no centre took 24.5 s, 12.0 s now, when all 51 climbed to the end). Scouts that read a
    sixth of the points lost that Eiger's plane."""
    step = max(1.0, 0.01 * r_far)
    p0s = [np.array([cx, cy, np.log(d0 * r_far), 0.0, 0.0]) for d0 in WIDE_DISTANCES]
    p0s += [
        np.array([cx, cy, np.log(d0 * r_far), t * np.cos(k * np.pi / 4), t * np.sin(k * np.pi / 4)])
        for d0 in WIDE_DISTANCES
        for t in WIDE_TILTS
        for k in range(8)
    ]
    cost = _cost(score, r_far)
    scouts = sorted((_nelder_mead(cost, p0, step, 0.5, SCOUT_ITERATIONS) for p0 in p0s), key=lambda sp: sp[0])
    return _climb(score, [p for _, p in scouts[:WIDE_KEEP]], cx, cy, r_far, step, 0.5, 400)


def _cost(score: RadialScore, r_far: float):
    """The Nelder-Mead cost of a plane (beam x, y, log distance, tilt x cos, tilt x sin): minus what it explains."""

    def cost(p: np.ndarray) -> float:
        tilt = float(np.hypot(p[3], p[4]))
        if tilt > MAX_TILT:
            return 1.0 + tilt
        r = tilted_radius(score.x, score.y, p[0], p[1], float(np.exp(p[2])), tilt, float(np.arctan2(p[4], p[3])))
        if not np.all(r < 50.0 * r_far):  # NaN (a ray along the plane) or a stretch no detector shows
            return 1.0
        return -score.explained(r)

    return cost


def _nelder_mead(cost, p0: np.ndarray, step: float, log_step: float, maxiter: int) -> tuple[float, np.ndarray]:
    """(cost, parameters) where Nelder-Mead from p0 stops."""
    simplex = np.vstack([p0, p0 + np.diag([step, step, log_step, 0.03, 0.03])])
    options = {"initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-6, "maxiter": maxiter}
    res = optimize.minimize(cost, p0, method="Nelder-Mead", options=options)
    return float(res.fun), res.x


def _climb(
    score: RadialScore, p0s: list, cx: float, cy: float, r_far: float, step: float, log_step: float, maxiter: int
) -> TiltFit:
    """Nelder-Mead from each start (beam x, y, log distance, tilt x cos, tilt x sin); the best, or no tilt."""
    flat = score(cx, cy)
    best = TiltFit(cx, cy, r_far, 0.0, 0.0, flat, flat)
    cost = _cost(score, r_far)
    for p0 in p0s:
        fun, p = _nelder_mead(cost, p0, step, log_step, maxiter)
        if -fun > best.explained:
            best = TiltFit(float(p[0]), float(p[1]), float(np.exp(p[2])), float(np.hypot(p[3], p[4])),
                           float(np.arctan2(p[4], p[3])), float(-fun), flat)  # fmt: skip
    return best
