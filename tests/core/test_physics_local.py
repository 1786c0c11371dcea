"""Local physics checks judged against counting noise: each responds to its artifact and not to a clean frame."""

from __future__ import annotations

import numpy as np

from scatterloop.core.classify.physics import FEATURES, frame_features
from scatterloop.core.classify.physics_local import (
    anscombe,
    mirror_excess,
    noise_variance,
    point_excess,
    texture_lines,
)

SIZE = 160


def _rings(rng, gap: bool = False, anisotropy: float = 0.0):
    """Air scatter and three rings about (80, 90); optionally the middle ring has an empty 0.8-rad arc, or every
    ring a smooth cos 2phi preferred orientation of relative amplitude `anisotropy` (physical)."""
    yy, xx = np.indices((SIZE, SIZE), dtype=float)
    r = np.hypot(xx - 80, yy - 90)
    phi = np.arctan2(yy - 90, xx - 80)
    lam = 20 + 800 * np.exp(-r / 15)
    for k, radius in enumerate((30, 45, 60)):
        ring = 150 * np.exp(-0.5 * ((r - radius) / 1.2) ** 2) * (1 + anisotropy * np.cos(2 * (phi - 0.3 * k)))
        if gap and k == 1:
            ring = np.where(np.abs(np.angle(np.exp(1j * (phi - 2.0)))) < 0.4, 0.02 * ring, ring)
        lam = lam + ring
    return rng.poisson(lam).astype(float)


def _peaks(rng, lopsided: bool = False, patch: bool = False):
    """Grazing-incidence-like frame mirror-symmetric about column 80.3: a rod and rows of Bragg peaks; optionally
    the left peaks fainter and moved (a lopsided hallucination) or a checkerboard patch on one side."""
    yy, xx = np.indices((SIZE, SIZE), dtype=float)
    cx = 80.3
    lam = 15 + 400 * np.exp(-np.abs(xx - cx) / 0.8) * np.exp(-(120 - yy).clip(0) / 60) * (yy < 120)
    for m in (1, 2, 3):
        for side in (-1, 1):
            px, amp = cx + side * m * 18.0, 600.0 * np.exp(-m / 3)
            if lopsided and side < 0:
                px, amp = px + 6.0, 0.3 * amp
            for pz in (40.0, 70.0, 100.0):
                lam = lam + amp * np.exp(-0.5 * (((xx - px) / 1.3) ** 2 + ((yy - pz) / 3.0) ** 2))
    if patch:
        env = np.exp(-0.5 * (((xx - 120) / 12) ** 2 + ((yy - 55) / 12) ** 2) ** 2)
        lam = lam + 60 * env * ((np.floor(xx / 4) + np.floor(yy / 4)) % 2)
    return rng.poisson(lam).astype(float)


def test_anscombe_counts_have_unit_noise_at_any_level():
    rng = np.random.default_rng(0)
    valid = np.ones((SIZE, SIZE), bool)
    for level in (5.0, 50.0, 5000.0):
        a = anscombe(rng.poisson(level, (SIZE, SIZE)).astype(float), valid)
        assert 0.85 < noise_variance(a, valid) < 1.15, level
    # a detector whose values are ten times the photon count is noisier in these units, and the estimate says so
    a = anscombe(10.0 * rng.poisson(50.0, (SIZE, SIZE)), valid)
    assert noise_variance(a, valid) > 5


def test_point_excess_responds_to_a_broken_ring_not_to_even_or_textured_rings():
    rng = np.random.default_rng(1)
    valid = np.ones((SIZE, SIZE), bool)

    def score(counts):
        return point_excess(anscombe(counts, valid), valid, (80.4, 89.7))[0]

    even, textured = score(_rings(rng)), score(_rings(rng, anisotropy=0.35))  # cos 2phi is centrosymmetric
    assert even < 3.0 and textured < 3.0, (even, textured)
    assert score(_rings(rng, gap=True)) > max(even, textured) + 2


def test_texture_lines_respond_to_a_checkerboard_not_to_rings_or_noise():
    rng = np.random.default_rng(2)
    valid = np.ones((SIZE, SIZE), bool)
    yy, xx = np.indices((SIZE, SIZE), dtype=float)
    flat = rng.poisson(40.0, (SIZE, SIZE)).astype(float)
    env = np.exp(-0.5 * (((xx - 110) / 25) ** 2 + ((yy - 50) / 25) ** 2) ** 2)
    patch = rng.poisson(40.0 + 40 * env * ((np.floor(xx / 5) + np.floor(yy / 5)) % 2)).astype(float)
    clean = max(texture_lines(flat, valid, (80, 90)), texture_lines(_rings(rng), valid, (80, 90)))
    assert texture_lines(patch, valid, (80, 90)) > clean + 1.5, clean


def test_mirror_excess_responds_to_lopsided_peaks_and_a_patch_not_to_a_symmetric_frame():
    rng = np.random.default_rng(3)
    valid = np.ones((SIZE, SIZE), bool)
    valid[:, 100:102] = False  # a module gap on one side only: masked pixels and their mirrors are not compared

    def score(counts, axis=80.0):
        return mirror_excess(anscombe(counts, valid), valid, (axis,))[0]

    clean = score(_peaks(rng))
    assert clean < 3.0, clean
    assert score(_peaks(rng), axis=78.0) < 3.0  # the axis is searched near the guess
    assert score(_peaks(rng, lopsided=True)) > clean + 2
    assert score(_peaks(rng, patch=True)) > clean + 2


def test_frame_features_include_the_local_checks():
    rng = np.random.default_rng(4)
    f = frame_features(_peaks(rng, patch=True))
    g = frame_features(_peaks(rng))
    for k in ("mirror_excess_local", "mirror_excess", "point_excess_local", "point_excess", "texture_lines"):
        assert k in FEATURES and np.isfinite(f[k]) and np.isfinite(g[k])
    assert f["mirror_excess_local"] > g["mirror_excess_local"] + 1


def test_a_frame_too_thin_to_judge_gets_finite_zero_features():
    """A one-row strip wider than a working block has no pixel left after block-averaging: every feature is a
    finite number (the models and the cache take no NaN), not the mean of an empty frame."""
    for shape in ((1, 600), (10, 2000)):  # the second, one block row after averaging, failed in the ring search
        f = frame_features(np.random.default_rng(5).poisson(3, shape).astype(float))
        assert set(f) == set(FEATURES)
        assert all(np.isfinite(v) for v in f.values()), shape


def test_texture_lines_judge_noise_by_the_frames_own_level_not_by_photon_counting():
    """An integrating detector (each photon worth 25 units: 25x the Poisson variance) has white noise far above
    the counting floor; a clean frame from it must not look textured, and the patch must still stand out."""
    rng = np.random.default_rng(5)
    valid = np.ones((SIZE, SIZE), bool)
    yy, xx = np.indices((SIZE, SIZE), dtype=float)
    env = np.exp(-0.5 * (((xx - 110) / 25) ** 2 + ((yy - 50) / 25) ** 2) ** 2)
    counting = texture_lines(rng.poisson(40.0, (SIZE, SIZE)).astype(float), valid, (80, 90))
    clean = 25.0 * rng.poisson(40.0, (SIZE, SIZE))
    patch = 25.0 * rng.poisson(40.0 + 40 * env * ((np.floor(xx / 5) + np.floor(yy / 5)) % 2))
    integrating = texture_lines(clean, valid, (80, 90))
    assert integrating < counting + 0.7, (integrating, counting)
    assert texture_lines(patch, valid, (80, 90)) > integrating + 1.5


def _grains(rng, patch: bool = False):
    """Three coarse-powder rings about (80, 90), each made of 200 bright grains at random azimuths (as a spotty
    calibrant ring is); optionally a checkerboard patch at the same level beside them."""
    yy, xx = np.indices((SIZE, SIZE), dtype=float)
    r = np.hypot(xx - 80, yy - 90)
    phi = np.arctan2(yy - 90, xx - 80)
    lam = 20 + 800 * np.exp(-r / 15)
    for radius in (30, 45, 60):
        prof = np.full_like(phi, 0.15)
        for c, a in zip(rng.uniform(-np.pi, np.pi, 200), rng.exponential(1.0, 200), strict=True):
            prof += a * np.exp(-0.5 * (np.angle(np.exp(1j * (phi - c))) / 0.008) ** 2)
        lam = lam + 400 * prof * np.exp(-0.5 * ((r - radius) / 1.2) ** 2)
    if patch:
        env = np.exp(-0.5 * (((xx - 120) / 20) ** 2 + ((yy - 45) / 20) ** 2) ** 2)
        lam = lam + 100 * env * ((np.floor(xx / 5) + np.floor(yy / 5)) % 2)
    return rng.poisson(lam).astype(float)


def test_texture_lines_do_not_take_the_grains_of_a_spotty_ring_for_a_texture():
    """Bright random grains have a broad spectrum whose single-window periodogram scatters exponentially, so by
    chance some frequencies stood out as lines (about 4 on this frame with a Hann window); the multitaper estimate
    keeps them below a checkerboard's line."""
    valid = np.ones((SIZE, SIZE), bool)
    for seed in range(3):
        rng = np.random.default_rng(10 + seed)
        spotty = texture_lines(_grains(rng), valid, (80, 90))
        assert spotty < 3.0, (seed, spotty)
        assert texture_lines(_grains(rng, patch=True), valid, (80, 90)) > spotty + 0.8, seed


def test_a_module_gap_along_a_ring_does_not_break_it_but_a_missing_arc_does():
    """A gap tangent to a ring hides its crest and leaves its flanks: that stretch is unknown, not a low arc."""
    rng = np.random.default_rng(6)
    mask = np.zeros((SIZE, SIZE), bool)
    mask[44:47, :] = True  # along the ring of radius 45 at its top
    mask[:, 124:127] = True  # and at its right
    whole = frame_features(_rings(rng), mask)
    assert whole["ring_low_fraction"] < 0.02 and whole["ring_min_arc"] > 0.8, whole
    broken = frame_features(_rings(rng, gap=True), mask)
    assert broken["ring_low_fraction"] > 0.08 and broken["ring_min_arc"] < 0.4, broken


def test_a_texture_in_a_dark_region_is_still_read():
    """Below a grazing-incidence horizon the frame is dark; a bold checkerboard there has squares five times
    darker than their surroundings, which the shadow finder takes out of most checks as if they were the
    beamstop's. The texture must still be seen (it is read on every measured pixel)."""
    rng = np.random.default_rng(7)
    size = 192
    yy, xx = np.indices((size, size), dtype=float)
    bright = 60 + 3000 * np.exp(-np.hypot(xx - 96, yy - 80) / 12)
    lam = np.where(yy < 100, bright, 0.3)  # the sample horizon: nothing below it
    lam = np.where(np.hypot(xx - 96, yy - 100) < 6, 0.01, lam)  # the beamstop on the horizon
    env = np.exp(-0.5 * (((xx - 60) / 18) ** 2 + ((yy - 150) / 18) ** 2) ** 2)
    patched = lam + 40 * env * ((np.floor(xx / 7) + np.floor(yy / 7)) % 2)  # dark squares read as "shadow"
    clean = frame_features(rng.poisson(lam).astype(np.int32))["texture_lines"]
    textured = frame_features(rng.poisson(patched).astype(np.int32))["texture_lines"]
    assert textured > clean + 1.5, (clean, textured)


def test_texture_lines_unmirrored_ignore_a_mirrored_lattice_but_not_a_one_sided_patch():
    """A lattice of peaks mirrored about the plane of incidence is periodic but cancels in the antisymmetric
    part; a checkerboard on one side does not."""
    rng = np.random.default_rng(8)
    valid = np.ones((SIZE, SIZE), bool)
    lattice, patched = _peaks(rng), _peaks(rng, patch=True)
    plain = texture_lines(lattice, valid, (80.3, 130.0))
    mirrored = texture_lines(lattice, valid, (80.3, 130.0), mirror=80.5)
    assert mirrored < plain
    assert texture_lines(patched, valid, (80.3, 130.0), mirror=80.5) > mirrored + 1.5


def _bragg_lattice(rng, patch: bool = False):
    """Grazing incidence with the beam off to the side: two rows of sharp Bragg peaks thousands of counts high
    above the horizon, a module gap across them, a dark region below; optionally a faint checkerboard there."""
    size = 192
    yy, xx = np.indices((size, size), dtype=float)
    lam = 5.0 + np.where(yy < 70, 60.0, 0.0)
    for px in np.arange(8.0, size, 16.0):
        for pz in (14.0, 45.0):
            lam = lam + 2000.0 * np.exp(-0.5 * (((xx - px) / 2.0) ** 2 + ((yy - pz) / 4.0) ** 2))
    if patch:
        env = np.exp(-0.5 * (((xx - 60) / 16) ** 2 + ((yy - 130) / 16) ** 2) ** 2)
        lam = lam + 20 * env * ((np.floor(xx / 4) + np.floor(yy / 4)) % 2)
    valid = np.ones((size, size), bool)
    valid[30:33, :] = False
    valid[62:65, :] = False
    return rng.poisson(lam).astype(float), valid


def test_bright_bragg_peaks_are_no_texture_and_do_not_hide_one():
    """Peaks hundreds of noise sigmas high, cut by a module gap, leave sharp edges and (through the mean at each
    radius that is taken out) arcs of the same height across the frame, at a period set by the lattice: a
    line of about 4 on a frame with nothing hallucinated, as high as a faint checkerboard's. Clipped at three
    noise sigmas they are not a line, and the checkerboard is."""
    rng = np.random.default_rng(9)
    (clean, valid), (patched, _) = _bragg_lattice(rng), _bragg_lattice(rng, patch=True)
    plain = texture_lines(clean, valid, (210.0, 20.0))
    textured = texture_lines(patched, valid, (210.0, 20.0))
    assert plain < 3.0, plain
    assert textured > plain + 1.0, (plain, textured)
