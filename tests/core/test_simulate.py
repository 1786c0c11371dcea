"""The simulator: real calibrant geometry, reproducibility, recorded hallucinations, the n-disk speckle model."""

from __future__ import annotations

import numpy as np
import pytest

from scatterloop.core.simulate import (
    ALL_ARTIFACTS,
    ARTIFACTS,
    CALIBRANTS,
    frame_record,
    place_disks,
    ring_radii_px,
    simulate_frame,
    simulate_speckle,
    speckle_intensity,
)


def test_calibrant_reflections_follow_lattice_rules():
    d, _ = CALIBRANTS["CeO2"].reflections()
    a = 5.411651
    assert np.allclose(d[:4], [a / np.sqrt(3), a / 2, a / np.sqrt(8), a / np.sqrt(11)])  # fcc: 111 200 220 311
    d, _ = CALIBRANTS["Si"].reflections()
    a = 5.431179
    assert np.allclose(d[:4], [a / np.sqrt(3), a / np.sqrt(8), a / np.sqrt(11), a / 4])  # diamond: no 200
    d, _ = CALIBRANTS["LaB6"].reflections()
    assert np.isclose(d[0], 4.156826) and np.isclose(d[1], 4.156826 / np.sqrt(2))
    d, _ = CALIBRANTS["AgBh"].reflections()
    assert np.allclose(d[:3], [58.380, 29.19, 19.46])


def test_ring_radius_from_bragg_law_by_hand():
    # LaB6 (100), 12.398419843 keV -> lambda = 1 A; 2theta = 2 asin(1 / (2 * 4.156826)) = 13.8176 deg
    r = ring_radii_px(np.array([4.156826]), 12.398419843320026, 0.2, 172e-6)[0]
    assert r == pytest.approx(0.2 * np.tan(np.radians(13.8176)) / 172e-6, rel=1e-4)
    assert np.isnan(ring_radii_px(np.array([0.4]), 12.398419843320026, 0.2, 172e-6)[0])  # lambda > 2d


def test_rings_sit_at_the_predicted_radii():
    f = simulate_frame("rings", np.random.default_rng(3), size=256)
    cx, cy = f.params["centre_x"], f.params["centre_y"]
    yy, xx = np.indices(f.counts.shape)
    r = np.hypot(xx - cx, yy - cy)
    valid = f.counts >= 0
    profile = np.bincount(r[valid].astype(int), weights=f.counts[valid]) / np.maximum(
        np.bincount(r[valid].astype(int)), 1
    )
    r1 = f.params["ring_radii_px"][0]
    window = slice(int(r1) - 6, int(r1) + 7)
    assert abs(np.argmax(profile[window]) + int(r1) - 6 - r1) <= 1.5


@pytest.mark.parametrize("pattern", ["rings", "peaks", "background"])
def test_frames_are_seeded_detector_like_and_any_size(pattern):
    a = simulate_frame(pattern, np.random.default_rng(1), size=96)
    b = simulate_frame(pattern, np.random.default_rng(1), size=96)
    c = simulate_frame(pattern, np.random.default_rng(2), size=96)
    assert np.array_equal(a.counts, b.counts) and not np.array_equal(a.counts, c.counts)
    assert a.counts.dtype == np.int32 and a.counts.shape == (96, 96)
    assert (a.counts == -1).mean() > 0.01  # module gaps
    assert a.params["centre_y"] > 0.3 * 96 and a.description
    rect = simulate_frame(pattern, np.random.default_rng(1), size=(64, 80))
    assert rect.counts.shape == (64, 80)


def test_every_artifact_type_is_recorded_and_changes_the_frame():
    for pattern, kinds in ARTIFACTS.items():
        for kind in kinds:
            arr, row = frame_record(pattern, 5, 0, 96, kind)
            clean, _ = frame_record(pattern, 5, 0, 96, None)
            assert row["truth"] == {"artifact": kind, "realistic": False}
            assert not np.array_equal(arr, clean), (pattern, kind)
    assert set(ALL_ARTIFACTS) >= {"broken_rings", "off_centre_rings", "bent_gaps", "texture_patch", "asymmetric_peaks"}
    with pytest.raises(ValueError, match="does not apply"):
        simulate_frame("background", np.random.default_rng(0), artifact="broken_rings")


@pytest.mark.parametrize("n", [2, 7, 20])
def test_disks_do_not_overlap_and_keep_total_area(n):
    for disp in ("mono", "poly"):
        radii, centres = place_disks(n, np.random.default_rng(n), disp)
        assert np.isclose(np.sum(np.pi * radii**2), 16200 * np.pi)
        if disp == "mono":
            assert np.allclose(radii, np.sqrt(16200 / n))
        assert (centres - radii[:, None] >= 0).all() and (centres + radii[:, None] <= 2000).all()
        for i in range(n):
            for j in range(i + 1, n):
                assert np.hypot(*(centres[i] - centres[j])) >= radii[i] + radii[j]


def test_speckle_intensity_is_the_disk_fourier_transform():
    radii, centres = place_disks(4, np.random.default_rng(0))
    inten = speckle_intensity(radii, centres, 257)
    assert inten.shape == (257, 257)
    assert inten[128, 128] == pytest.approx((16200 * np.pi) ** 2)  # k = 0: |total area|^2
    # peer check: brute-force numerical Fourier integral of the rasterised disks at one k
    k = np.array([3, -5]) * np.pi / 2000
    xs = np.arange(0, 2000, 1.0) + 0.5
    xx, yy = np.meshgrid(xs, xs)
    inside = np.zeros_like(xx, dtype=bool)
    for r, (cx, cy) in zip(radii, centres, strict=True):
        inside |= (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
    amp = np.sum(np.exp(-1j * (k[0] * xx[inside] + k[1] * yy[inside])))
    assert inten[128 - 5, 128 + 3] == pytest.approx(abs(amp) ** 2, rel=0.02)
    frame = simulate_speckle(4, np.random.default_rng(0), grid=513, dispersity="poly")
    blocked = np.isnan(frame.intensity)
    assert blocked.sum() == 121 and frame.image.shape == (513, 513)
    assert abs(frame.image[~blocked].mean()) < 1e-4 and abs(frame.image[~blocked].std() - 1) < 1e-3


def test_a_tilted_detector_turns_rings_into_the_conics_bragg_law_gives():
    from scatterloop.core.simulate.geometry import DETECTORS, Scene

    scene = Scene((201, 201), DETECTORS["Pilatus1M"], (100.0, 100.0), 172e-6)
    flat, _ = scene.grids()
    same, _ = scene.tilted_grids((100.0, 100.0), 1000.0, 0.0, 0.3)
    assert np.allclose(flat, same)
    d, tilt = 500.0, np.radians(30)
    r_eq, _ = scene.tilted_grids((100.0, 100.0), d, tilt, 0.0)  # axis along +x: x stays in plane, y tilts away
    assert r_eq[100, 180] == pytest.approx(80.0)  # on the axis nothing changes
    # 80 px up the frame (v = +80) lies at (0, 80 cos t, d + 80 sin t): by hand, tan 2theta = 80 cos t / (d + 80 sin t)
    assert r_eq[20, 100] == pytest.approx(d * 80 * np.cos(tilt) / (d + 80 * np.sin(tilt)))
    assert r_eq[180, 100] == pytest.approx(d * 80 * np.cos(tilt) / (d - 80 * np.sin(tilt)))


def test_wide_rings_record_tilt_and_texture_and_default_frames_do_not_change():
    from scatterloop.core.simulate.wide import wide_frame

    seen = set()
    for i in range(60):
        p = wide_frame("rings", np.random.default_rng([21, i]), size=48).params
        seen |= {k for k in ("tilt_deg", "texture_arcs") if k in p}
        assert p.get("tilt_deg", 5) >= 5 and p.get("texture_arcs", 0.5) >= 0.5
    assert seen == {"tilt_deg", "texture_arcs"}
    p = simulate_frame("rings", np.random.default_rng(3), size=32).params
    assert "tilt_deg" not in p and "texture_arcs" not in p


def test_broken_rings_are_broken_where_the_frame_shows_them():
    """A "broken rings" hallucination whose broken ring lies wholly outside the frame looks realistic: its truth
    would be wrong. Every broken ring must cross the frame."""
    checked = 0
    for seed in range(40):
        f = simulate_frame("rings", np.random.default_rng([7, seed]), size=128, artifact="broken_rings")
        if "tilt_deg" in f.params:  # conic rings: the circle test below does not apply
            continue
        yy, xx = np.indices(f.counts.shape)
        r = np.hypot(xx - f.params["centre_x"], yy - f.params["centre_y"])
        radii = f.params["broken_ring_radii_px"]
        assert radii
        for radius in radii:
            assert (np.abs(r - radius) < 1.5).sum() >= 8, (seed, radius)
        checked += 1
    assert checked >= 20
