"""Beam-centre search on any detector, with a confidence, or an honest refusal.

Rings about the true beam centre make the radius explain most of the variance of the high-passed log image. The search
masks what is not detector (`active_area`), climbs that score on a pyramid (a grid over the frame and half a frame
beyond every edge at the coarsest level, the best few maxima refined by Nelder-Mead level by level), and then asks
whether the frame determined the centre at all: the radial profiles of azimuthal sectors about it must agree (rings are
the same ring in every direction) and enough sectors must see them. Frames without rings (dark, weak diffuse, peaks
only) get status `no centre` and the reason rather than the maximum of a score that measures noise. On a tilted
detector the rings are ellipses whose centres drift off the beam with their size; where the rings fix a tilt, the
centre reported is the beam point of the tilted plane that explains them best (`tilt.fit_tilt`), and the rings' mean
centre is kept beside it; ellipses whose sectors agree about no circle's centre are judged again on that plane (each
sector's profile against distance x tan 2theta), so a tilt does not make rings look like no rings. A diffuse SAXS halo
is not used: a beamstop shadow and a halo are rarely concentric with the beam to within a few pixels, and a wrong
centre is worse than none.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from scipy import ndimage, optimize

from .active import active_area
from .pyramid import RadialScore, highpass, log_image, masked_blur, pyramid
from .sectors import N_SECTORS, corner_radius, polar_samples, sector_agreement
from .tilt import GAIN_PER_DEGREE, MIN_GAIN, MIN_TILT, TiltFit, fit_tilt, search_tilt, tilted_radius

log = logging.getLogger(__name__)

# Thresholds from the simulated detector types (core.simulate.detectors): ring frames of every type reach
# agreement >= 0.97 and explained >= 0.29; GISAXS, halo and peak frames stay below agreement 0.65.
MIN_AGREEMENT = 0.75  # sector agreement below which rings are not trusted to fix the centre
MIN_EXPLAINED = 0.15  # radial share of the high-passed variance below which there are no rings to speak of
# A frame of under one count per pixel (99.9 % of pixels under 10) is searched too, but its rings must explain
# LOW_COUNT_EXPLAINED and agree to LOW_COUNT_CONFIDENCE: on pyFAI-model frames (`scripts/pyfai_manifest.py`, seed
# 4242) such ring frames reached 0.53-0.96 and 0.95-1.0, where air scatter and Bragg spots that the search gave
# centres 12-1,600 px off stayed below one or the other, all but one (a Rayonix peak frame's compact air-scatter
# halo: 0.48 and 0.96, 14.7 px off).
LOW_COUNT_EXPLAINED = 0.45
LOW_COUNT_CONFIDENCE = 0.9
MIN_SECTORS = 3  # ring arcs must span at least 45 degrees: shorter ones are nearly straight lines
MIN_SIDE = 16  # pixels: a narrower frame (a line detector, a one-row strip) cannot show a ring about a point
GRID = 41  # grid points each way over the coarsest level and half a frame beyond every edge
OUT_OF_REACH = "the rings' centre lies more than a frame width outside the frame"
TILT_POINTS = 60_000  # ring pixels the tilt fit uses (the flat search uses up to 150,000 at its finest level)
STRIP_SIDE = 256  # narrower than this (a detector module, 195 x 487): a tilt must fix its beam point in each half


@dataclass
class CentreResult:
    """A beam centre (x = column, y = row, pixel centres at integers) and how far to trust it.

    `x`, `y` are the best candidate even when `status` is "no centre" (so displays have something to draw),
    but then clamped to the frame; callers that report a centre must honour `status`.
    """

    x: float
    y: float
    status: Literal["found", "no centre"]
    confidence: float  # 0..1: agreement of the sectors' ring profiles, scaled by how many sectors see rings
    explained: float  # radial explained variance of the high-passed log image at the centre
    reason: str = ""
    masked: dict = field(default_factory=dict)
    seconds: float = 0.0
    tilt_deg: float = 0.0  # the detector's tilt when the rings fixed one (`tilt.fit_tilt`), else 0
    tilt_axis_deg: float = 0.0  # azimuth of the tilt axis, counter-clockwise from +x with y up
    distance_px: float | None = None  # sample to beam point, in pixels, when a tilt fixed it
    circles_x: float | None = None  # the rings' mean centre (circles about one point), when a tilt moved the
    circles_y: float | None = None  # beam point away from it
    rings_seen: bool = True  # refused: whether rings were seen that fix no centre (arcs, faint rings), not none


def _to_full(v: float, f: int) -> float:
    return (v + 0.5) * f - 0.5


def _to_level(v: float, f: int) -> float:
    return (v + 0.5) / f - 0.5


def _grid_maxima(score: RadialScore, shape: tuple[int, int], margin: float, n: int = 41, top: int = 3):
    """Score on an n x n grid over the frame plus `margin` beyond each edge; the `top` best local maxima."""
    h, w = shape
    xs = np.linspace(-margin, w - 1 + margin, n)
    ys = np.linspace(-margin, h - 1 + margin, n)
    grid = np.array([[score(x, y) for x in xs] for y in ys])
    peaks = (grid == ndimage.maximum_filter(grid, size=3, mode="nearest")) & (grid > 0)
    order = np.argsort(grid[peaks])[::-1][:top]
    iy, ix = np.nonzero(peaks)
    return [(float(xs[ix[k]]), float(ys[iy[k]]), float(grid[iy[k], ix[k]])) for k in order], xs[1] - xs[0]


def _within_reach(x: float, y: float, h: int, w: int) -> bool:
    """Is the point (full-resolution pixels) at most a frame width outside an h x w frame?"""
    reach = max(h, w)
    return -reach <= x <= w - 1 + reach and -reach <= y <= h - 1 + reach


def _refine(score: RadialScore, x0: float, y0: float, step: float) -> tuple[float, float, float]:
    res = optimize.minimize(
        lambda p: -score(p[0], p[1]),
        x0=[x0, y0],
        method="Nelder-Mead",
        options={
            "xatol": 0.02,
            "fatol": 1e-6,
            "maxiter": 80,
            "initial_simplex": [[x0, y0], [x0 + step, y0], [x0, y0 + step]],
        },
    )
    return float(res.x[0]), float(res.x[1]), float(-res.fun)


def _explained_at(level: np.ndarray, cx: float, cy: float) -> float:
    """The search's score (radial share of the high-passed variance) of `level` about (cx, cy)."""
    hp, ok = highpass(level, 6.0)
    return RadialScore(hp, ok)(cx, cy) if ok.any() else 0.0


def sector_support(
    level: np.ndarray, cx: float, cy: float, plane: tuple[float, float, float] | None = None
) -> tuple[float, int]:
    """(agreement, number of sectors with data) of the high-passed radial profiles of 24 azimuthal sectors; with
    `plane` (distance, tilt, tilt_dir on this level) about the beam point (cx, cy) of that tilted plane."""
    n_theta = 8 * N_SECTORS
    polar = polar_samples(level, cx, cy, n_theta, corner_radius(level.shape, cx, cy, plane), r_min=2.0, plane=plane)
    per_sector = np.isfinite(polar).reshape(N_SECTORS, -1).sum(axis=1)
    n_sectors = int((per_sector >= 12 * 8).sum())
    return sector_agreement(polar), n_sectors


def search_centre(data: np.ndarray, mask: np.ndarray | None = None, coarse_side: int = 128) -> CentreResult:
    """Beam centre of a frame by the ring search, with confidence and status (see the module docstring)."""
    t0 = time.perf_counter()
    data = np.asarray(data)
    area = active_area(data, mask)
    h, w = data.shape
    img = log_image(data, area.mask)

    said = []  # what every refusal begins with (a dark frame says so)

    def refuse(
        reason: str,
        x: float = (w - 1) / 2,
        y: float = (h - 1) / 2,
        conf: float = 0.0,
        ev: float = 0.0,
        rings: bool = False,
    ):
        reason = "; ".join([*said, reason])
        log.info("no centre: %s", reason)
        x, y = float(np.clip(x, 0, w - 1)), float(np.clip(y, 0, h - 1))
        out = CentreResult(x, y, "no centre", conf, ev, reason, area.masked, time.perf_counter() - t0)
        out.rings_seen = rings
        return out

    if min(h, w) < MIN_SIDE:
        return refuse(f"the frame is {h}x{w} pixels: too thin to hold a ring (at least {MIN_SIDE} each way)")
    valid = np.isfinite(img)
    if valid.sum() < 0.05 * img.size:
        return refuse(f"only {valid.mean():.1%} of the frame is detector data")
    step = max(1, int(np.sqrt(data.size / 250_000)))  # statistics on a quarter-million-pixel sample
    vals = data[::step, ::step][~area.mask[::step, ::step]]
    # few counts (a short exposure of a photon-counting detector) can still draw rings plain to the eye; they
    # are searched, but chance structure in so few counts must not fix a centre, so the rings must be strong
    low_counts = np.issubdtype(data.dtype, np.integer) and (vals.mean() < 1.0 and np.percentile(vals, 99.9) < 10)
    if low_counts:
        said.append(f"dark frame: {vals.mean():.2f} counts per pixel on average")
        if not np.any(vals > 0):
            return refuse("no counts at all")
    if np.nanmax(img) - np.nanmin(img) <= 0:
        return refuse("the frame is flat")

    levels = pyramid(img, coarse_side)
    factors = list(levels)
    f0 = factors[0]
    hp, ok = highpass(levels[f0], 6.0)
    score = RadialScore(hp, ok)
    lh, lw = levels[f0].shape
    margin = 0.5 * max(lh, lw)
    # the grid's step is several level pixels, wider than a sharp ring, so the score's basin about the true
    # centre can fall between grid points; the grid also reads a copy blurred until rings are about a step
    # wide, whose maxima are refined on it and then on the sharp score; the best three of all maxima go on
    grid_step = (max(lh, lw) - 1 + 2 * margin) / (GRID - 1)
    blurred = RadialScore(np.where(ok, masked_blur(hp, ok, grid_step / 2), 0.0), ok)
    seeds, step = _grid_maxima(score, (lh, lw), margin, n=GRID)
    wide, _ = _grid_maxima(blurred, (lh, lw), margin, n=GRID)
    if not seeds and not wide:
        return refuse("no radial structure at all")
    cands = [_refine(score, x, y, step / 2) for x, y, _ in seeds]
    cands += [_refine(score, *_refine(blurred, x, y, step / 2)[:2], step / 4) for x, y, _ in wide]
    cands.sort(key=lambda c: -c[2])
    near = [c for c in cands if _within_reach(_to_full(c[0], f0), _to_full(c[1], f0), h, w)]
    if not near:  # a centre further out than a frame width is refused (below too): no use refining one
        x, y, ev = cands[0]
        return refuse(OUT_OF_REACH, _to_full(x, f0), _to_full(y, f0), 0.0, ev)
    cands = near[:3]
    for prev, f in zip(factors, factors[1:], strict=False):
        hp, ok = highpass(levels[f], 6.0)
        score = RadialScore(hp, ok, max_points=150_000)
        ratio = prev / f
        cands = [
            _refine(score, _to_level(_to_full(x, prev), f), _to_level(_to_full(y, prev), f), ratio)
            for x, y, _ in cands
        ]
        cands.sort(key=lambda c: -c[2])
        cands = cands[:1]  # below the coarsest level one basin is left: refine only its best
    fx, fy, explained = cands[0]
    f = factors[-1]
    cx, cy = _to_full(fx, f), _to_full(fy, f)

    if not _within_reach(cx, cy, h, w):
        return refuse(OUT_OF_REACH, cx, cy, 0.0, explained)
    if low_counts and len(factors) > 1:  # in so few counts one pixel holds no structure: also read it binned 2 x 2
        g = factors[-2]
        explained = max(explained, _explained_at(levels[g], _to_level(cx, g), _to_level(cy, g)))
    # does the frame determine this centre? judged at a modest resolution, as the symmetry score is
    judge_f = next((g for g in factors if max(h, w) / g <= 300), factors[-1])
    agreement, n_sectors = sector_support(levels[judge_f], _to_level(cx, judge_f), _to_level(cy, judge_f))
    fit, on_plane = None, ""
    need_explained = LOW_COUNT_EXPLAINED if low_counts else MIN_EXPLAINED  # what the frame must reach below
    if agreement < MIN_AGREEMENT and n_sectors >= MIN_SECTORS and explained >= need_explained:
        # a tilted detector's ellipses do not agree about any circle's centre: judge them on the plane they fix
        fit = _rings_tilt(cx, cy, levels, factors, (h, w), wide=True)
        if fit is not None:
            bx, by = (_to_level(_to_full(v, f), judge_f) for v in (fit.x, fit.y))
            plane = (fit.distance * f / judge_f, fit.tilt, fit.tilt_dir)
            tilted, n_tilted = sector_support(levels[judge_f], bx, by, plane)
            if tilted >= MIN_AGREEMENT:
                agreement, n_sectors = tilted, n_tilted
            else:
                on_plane, fit = f" ({tilted:.2f} on the tilted plane that fits them best)", None
    confidence = float(np.clip(agreement, 0, 1) * min(1.0, n_sectors / 6))
    if n_sectors < MIN_SECTORS:
        return refuse(f"rings seen in only {n_sectors} azimuthal sectors", cx, cy, confidence, explained, True)
    if agreement < MIN_AGREEMENT:
        return refuse(
            f"no rings: sector profiles about the best centre agree only {agreement:.2f}{on_plane}",
            cx,
            cy,
            confidence,
            explained,
        )
    if explained < MIN_EXPLAINED:
        return refuse(
            f"no rings: the radius explains only {explained:.2f} of the high-passed image",
            cx,
            cy,
            confidence,
            explained,
        )
    if low_counts and (explained < LOW_COUNT_EXPLAINED or confidence < LOW_COUNT_CONFIDENCE):
        return refuse(
            f"rings too faint to fix a centre in so few counts (the radius explains {explained:.2f}, needing "
            f"{LOW_COUNT_EXPLAINED:.2f}; the sectors agree {confidence:.2f}, needing {LOW_COUNT_CONFIDENCE:.2f})",
            cx,
            cy,
            confidence,
            explained,
            True,
        )
    res = CentreResult(cx, cy, "found", confidence, explained, "", area.masked)
    fit = fit or _rings_tilt(cx, cy, levels, factors, (h, w))
    if fit is not None:
        log.info("tilt %.2f deg: beam point (%.1f, %.1f), rings' mean centre (%.1f, %.1f)",
                 np.degrees(fit.tilt), _to_full(fit.x, f), _to_full(fit.y, f), cx, cy)  # fmt: skip
        res.circles_x, res.circles_y = cx, cy
        res.x, res.y = _to_full(fit.x, f), _to_full(fit.y, f)
        res.tilt_deg, res.tilt_axis_deg = float(np.degrees(fit.tilt)), float(np.degrees(fit.tilt_dir) % 360.0)
        res.distance_px = fit.distance * f
    res.seconds = time.perf_counter() - t0
    return res


def _rings_tilt(
    cx: float, cy: float, levels: dict, factors: list[int], shape: tuple[int, int], wide: bool = False
) -> TiltFit | None:
    """The tilted plane (in the pixels of the finest level of `levels`) whose beam point replaces the circles' centre
    (cx, cy, full frame) when the rings fix a tilt (`tilt.fit_tilt` on that level), else None: at least MIN_TILT,
    and explaining a share of what the circles left unexplained of MIN_GAIN and GAIN_PER_DEGREE per degree of tilt,
    so a large tilt, which moves the beam point far, needs strong evidence (one ring, or rings too faint to show
    their shape, fix none); and both halves of the frame's azimuths (alternate 30-degree sectors) must bear it out:
    the tilted plane explains at least that share of what the circles that suit each half best leave unexplained
    (`_explains_halves`), or a tilt fitted to each half alone gives the same beam point (`_halves_agree`). Short
    arcs, as on a strip, let a tilt explain noise in one half. On a strip (narrow side under STRIP_SIDE) only the
    second counts: on a real Pilatus module cut from HEXRD's ceria frame (one ring arc and the beamstop on 195
    rows) a 2.5-degree tilt explained 19-28 % of what the circles left unexplained in each half and moved the beam
    point 13 px off; the whole detector's frame keeps no tilt and its centre within 0.1 px. With `wide` (rings
    whose sectors agree about no circle), a fit that fails these tests is sought again by `tilt.search_tilt` on a
    coarse level and refined level by level, and must pass the same tests."""
    h, w = shape
    f = factors[-1]
    score, lx, ly, r_far = _tilt_score(levels[f], _to_level(cx, f), _to_level(cy, f))
    if score is None:
        return None
    fit = fit_tilt(score, lx, ly, r_far)
    kept = _tilt_kept(fit, score, lx, ly, shape)
    if not kept and wide and len(factors) > 1:
        # the climb from the circles found no tilt to keep: search a coarse level from many starts, then refine
        g = factors[1] if len(factors) > 2 else factors[0]
        coarse, gx, gy, g_far = _tilt_score(levels[g], _to_level(cx, g), _to_level(cy, g))
        if coarse is not None:
            fit = search_tilt(coarse, gx, gy, g_far)
            for k in factors[factors.index(g) + 1 :]:  # down the pyramid to the finest level, f
                level = (
                    (score, lx, ly, r_far) if k == f else _tilt_score(levels[k], _to_level(cx, k), _to_level(cy, k))
                )
                if level[0] is not None:
                    fit, g = fit_tilt(*level, from_fit=_rescaled(fit, g, k)), k
            kept = _tilt_kept(fit, score, lx, ly, shape)
    if not kept:
        return None
    return fit if _within_reach(_to_full(fit.x, f), _to_full(fit.y, f), h, w) else None


def _tilt_score(level: np.ndarray, x: float, y: float):
    """(score, circles' optimum x, y, farthest valid pixel's distance) of a level for the tilt fit, from (x, y)
    on it; (None, ...) without valid pixels. The circles' optimum is on this sample of points, so a tilt's gain
    over it is the tilt's alone."""
    hp, ok = highpass(level, 6.0)
    score = RadialScore(hp, ok, max_points=TILT_POINTS)
    ys, xs = np.nonzero(ok)
    if not len(xs):
        return None, x, y, 0.0
    lx, ly, _ = _refine(score, x, y, 1.0)
    return score, lx, ly, float(np.hypot(xs - lx, ys - ly).max())


def _rescaled(fit: TiltFit, g: int, k: int) -> TiltFit:
    """A fit on the level of factor g in the pixels of the level of factor k."""
    x, y = (_to_level(_to_full(v, g), k) for v in (fit.x, fit.y))
    return replace(fit, x=x, y=y, distance=fit.distance * g / k)


def _tilt_kept(fit: TiltFit, score: RadialScore, lx: float, ly: float, shape: tuple[int, int]) -> bool:
    """The tests of `_rings_tilt`'s docstring for a fit on `score`'s level about the circles' optimum (lx, ly)."""
    need = max(MIN_GAIN, GAIN_PER_DEGREE * float(np.degrees(fit.tilt)))
    if fit.tilt < MIN_TILT or fit.gain < need:
        return False
    wide = min(shape) >= STRIP_SIDE  # a strip's short arcs cannot tell a tilt from a centre moved across it
    return (wide and _explains_halves(score, fit, lx, ly, need)) or _halves_agree(score, fit, lx, ly)


def _halves(score: RadialScore, lx: float, ly: float) -> list[RadialScore]:
    """The score's points in alternate 30-degree sectors about (lx, ly): two halves of the frame's azimuths."""
    sector = (np.floor((np.arctan2(score.y - ly, score.x - lx) + np.pi) / (np.pi / 6)).astype(int)) % 2
    return [score.subset(sector == half) for half in (0, 1)]


def _explains_halves(score: RadialScore, fit: TiltFit, lx: float, ly: float, need: float) -> bool:
    """Does the tilted plane explain, in each half of the azimuths, the share `need` of what the circles that
    suit that half best leave unexplained? (A strong tilt: each half's own tilt fit may stop anywhere along the
    ridge of tilts and distances that explain its rings nearly equally.)"""
    for part in _halves(score, lx, ly):
        flat = _refine(part, lx, ly, 1.0)[2]
        r = tilted_radius(part.x, part.y, fit.x, fit.y, fit.distance, fit.tilt, fit.tilt_dir)
        gain = (part.explained(r) - flat) / max(1e-9, 1.0 - flat) if np.all(np.isfinite(r)) else 0.0
        log.debug("tilt %.2f deg explains %.4f of a half (needs %.4f)", np.degrees(fit.tilt), gain, need)
        if gain < need:
            return False
    return True


def _halves_agree(score: RadialScore, fit: TiltFit, lx: float, ly: float) -> bool:
    """Does a tilt fitted to each half of the azimuths alone give the same beam point (to a level pixel, or a
    quarter of its distance from the rings' mean centre)? (A slight tilt whose share is too small to show in
    each half.)"""
    shift = float(np.hypot(fit.x - lx, fit.y - ly))
    for part in _halves(score, lx, ly):
        half = fit_tilt(part, lx, ly, fit.distance, starts=(1.0,))
        if half.tilt < MIN_TILT / 2 or np.hypot(half.x - fit.x, half.y - fit.y) > max(1.0, 0.25 * shift):
            return False
    return True


def find_centre(
    data: np.ndarray, mask: np.ndarray | None = None, coarse_side: int = 128, refine: bool = True
) -> tuple[float, float, float]:
    """Beam centre (x, y, radial explained variance), the search's best candidate whatever its confidence.

    Kept for callers of the original API; `search_centre` says whether the frame determines the centre.
    `refine` is accepted for compatibility (the pyramid always refines).
    """
    res = search_centre(data, mask, coarse_side)
    return res.x, res.y, res.explained
