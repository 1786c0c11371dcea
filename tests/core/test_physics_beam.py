"""The beamstop and its holder: found on the disc (not the rod), and a ring crossing the rod is not broken."""

from __future__ import annotations

import numpy as np

from scatterloop.core.classify.featmodel import _robust
from scatterloop.core.classify.physics import frame_features
from scatterloop.core.classify.physics_beam import beamstop, holder_shadow


def _frame(rng, rod: str, ring_gap: bool = False, size: int = 256):
    """Air scatter falling off from the beam at (150, 110), one ring of radius 60, a beamstop of radius 10 on
    a rod 6 px wide running to the frame edge; optionally a ring with a missing 1-rad arc."""
    yy, xx = np.indices((size, size), dtype=float)
    cx, cy = 150.0, 110.0
    r = np.hypot(xx - cx, yy - cy)
    phi = np.arctan2(yy - cy, xx - cx)
    ring = 400 * np.exp(-0.5 * ((r - 60) / 1.5) ** 2)
    if ring_gap:
        ring = np.where(np.abs(np.angle(np.exp(1j * (phi + 1.0)))) < 0.5, 0.02 * ring, ring)
    lam = 30 + 3000 * np.exp(-r / 25) + ring
    block = r < 10
    if rod == "down":
        block |= (np.abs(xx - cx) < 3) & (yy > cy)
    else:
        block |= (np.abs(yy - cy) < 3) & (xx < cx)
    lam = np.where(block, 0.005 * lam, lam)
    return rng.poisson(lam).astype(np.int32), (cx, cy)


def test_the_beamstop_is_found_on_its_disc_not_on_its_rod():
    rng = np.random.default_rng(0)
    for rod in ("down", "left"):
        counts, (cx, cy) = _frame(rng, rod)
        log_img = np.log1p(counts.astype(float))
        valid = np.ones(counts.shape, bool)
        _, (x, y), radius = beamstop(log_img, valid)
        assert np.hypot(x - cx, y - cy) < 3, (rod, x, y)
        shade = holder_shadow(log_img, valid, (x, y), radius)
        assert shade[int(cy), int(cx)]  # the disc
        far = (int(cy), 5) if rod == "left" else (250, int(cx))
        assert shade[far]  # the rod, all the way to the edge
        assert shade.mean() < 0.1


def test_a_ring_crossing_the_holder_is_not_broken_but_a_missing_arc_is():
    rng = np.random.default_rng(1)
    whole = frame_features(_frame(rng, "down")[0])
    broken = frame_features(_frame(rng, "down", ring_gap=True)[0])
    assert whole["ring_low_fraction"] < 0.03
    assert broken["ring_low_fraction"] > 0.08
    assert broken["ring_min_arc"] < whole["ring_min_arc"] - 0.3


def test_a_feature_zero_on_most_real_frames_gets_a_graded_scale():
    a = np.zeros((100, 2))
    a[:10, 0] = np.linspace(0.1, 0.3, 10)  # rare departures
    a[:, 1] = np.linspace(0, 1, 100)
    centre, scale = _robust(a)
    assert centre[0] == 0 and 0.01 < scale[0] < 0.1  # not the 1e-6 floor that made every departure extreme
    assert abs(scale[1] - 1.4826 * 0.25) < 0.02


def test_the_dark_band_between_two_rings_at_the_frame_edge_is_not_the_beamstop():
    """Two simulated ring frames (beam known) where a dark band between bright rings, cut by the frame's edge with
    a bright arc on one side, out-scored the real shadow: a beamstop's rim must be mostly inside the frame."""
    from scatterloop.core.io import make_mask
    from scatterloop.core.simulate.dataset import frame_record

    for seed, index in ((10, 226), (10, 80)):
        counts, row = frame_record("rings", seed, index, 256, None)
        x = counts.astype(float)
        valid = ~make_mask(x)
        _, (cx, cy), _ = beamstop(np.log1p(np.clip(np.where(valid, x, 0), 0, None)), valid)
        p = row["params"]
        assert np.hypot(cx - p["centre_x"], cy - p["centre_y"]) < 3, (seed, index, cx, cy)


def test_the_holder_is_found_when_a_bright_ring_lies_on_the_beamstop_rim():
    """A bright first ring just outside the disc makes the disc's contrast with its rim far larger than the step
    from the weak background into the holder; the rod must still be found to the frame edge, and a ring that
    crosses it is not broken."""
    rng = np.random.default_rng(2)
    size, cx, cy = 256, 150.0, 110.0
    yy, xx = np.indices((size, size), dtype=float)
    r = np.hypot(xx - cx, yy - cy)
    lam = 8 + 3000 * np.exp(-0.5 * ((r - 14) / 1.5) ** 2) + 300 * np.exp(-0.5 * ((r - 60) / 1.5) ** 2)
    block = (r < 10) | ((np.abs(yy - cy) < 4) & (xx > cx))
    counts = rng.poisson(np.where(block, 1e-4 * lam, lam)).astype(np.int32)
    log_img = np.log1p(counts.astype(float))
    valid = np.ones(counts.shape, bool)
    _, (x, y), radius = beamstop(log_img, valid)
    shade = holder_shadow(log_img, valid, (x, y), radius)
    assert shade[int(cy), 250] and shade[int(cy), 215]  # the rod, far out where the background is weak
    assert shade.mean() < 0.1
    assert frame_features(counts)["ring_low_fraction"] < 0.03


def test_a_ring_mostly_off_the_frame_is_still_judged_on_the_arc_it_shows():
    """The beam near a corner: the ring at 150 px shows about a quarter of its circle. A missing arc inside
    that quarter is a broken ring; the whole quarter is not."""
    rng = np.random.default_rng(3)
    size, cx, cy = 256, 235.0, 235.0
    yy, xx = np.indices((size, size), dtype=float)
    r = np.hypot(xx - cx, yy - cy)
    phi = np.arctan2(yy - cy, xx - cx)
    features = []
    for gap in (False, True):
        ring = 600 * np.exp(-0.5 * ((r - 150) / 1.5) ** 2) + 400 * np.exp(-0.5 * ((r - 70) / 1.5) ** 2)
        if gap:  # the visible quarter runs from -pi to -pi/2; take 0.5 rad out of its middle
            ring = np.where(np.abs(np.angle(np.exp(1j * (phi + 2.356)))) < 0.25, 0.02 * ring, ring)
        lam = 20 + 2000 * np.exp(-r / 30) + ring
        lam = np.where(r < 8, 0.005 * lam, lam)
        features.append(frame_features(rng.poisson(lam).astype(np.int32)))
    whole, broken = features
    assert whole["ring_low_fraction"] < 0.03
    assert broken["ring_low_fraction"] > 0.05
    assert broken["ring_min_arc"] < whole["ring_min_arc"] - 0.3
