"""Polar: centres of the real ring frames within 2 px, .poni geometry, symmetry separating hallucinations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from scatterloop.core.cli import main
from scatterloop.core.io import read_frames
from scatterloop.core.polar import analyse, radial_profile, read_poni, warp
from scatterloop.core.simulate import frame_record


def _ring_entries(manifest):
    return [e for e in manifest if e["kind"] == "rings" and e.get("centre_x") is not None]


def test_real_ring_centres_within_two_pixels(realdata, manifest):
    entries = _ring_entries(manifest)
    assert len(entries) == 4
    for e in entries:
        ds = e["reader"].split(":", 1)[1] if e["reader"].startswith("h5py:") else None
        frame = next(read_frames(realdata / e["file"], dataset=ds))
        res = analyse(frame.data, frame.mask)
        err = np.hypot(res.centre_x - e["centre_x"], res.centre_y - e["centre_y"])
        assert err <= 2.0, (e["file"], res.centre_x, res.centre_y, err)


def test_poni_centres_match_the_manifest(realdata, manifest):
    by_file = {e["file"]: e for e in manifest}
    for poni, image in (
        ("calibration/pyFAI/Pilatus1M_pyFAI_test.poni", "rings/silx-training/Pilatus1M.edf"),
        (
            "calibration/pyFAI-integration-caking/DLS_CeO2_1200mm_pyFAI.poni",
            "rings/pyFAI-integration-caking/pixium_03150.tif",
        ),
    ):
        cx, cy = read_poni(realdata / poni)
        assert cx == pytest.approx(by_file[image]["centre_x"], abs=0.01)
        assert cy == pytest.approx(by_file[image]["centre_y"], abs=0.01)


def test_polar_cli_json(realdata, capsys):
    import json

    image = realdata / "rings/pyFAI-integration-caking/pixium_03150.tif"
    poni = realdata / "calibration/pyFAI-integration-caking/DLS_CeO2_1200mm_pyFAI.poni"
    assert main(["polar", str(image), "--poni", str(poni), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["source"] == "poni" and out["centre_x"] == pytest.approx(711.661, abs=0.01)
    assert out["score"] > 0.8 and "centre_s" in out["timings"]


def test_symmetry_score_separates_physical_from_broken_rings():
    truth, scores, errors = [], [], []
    for i in range(24):
        artifact = None if i % 2 == 0 else ("broken_rings", "off_centre_rings")[(i // 2) % 2]
        arr, row = frame_record("rings", 123, i, 128, artifact)
        res = analyse(arr)
        truth.append(artifact is None)
        scores.append(res.score)
        if artifact is None:
            errors.append(np.hypot(res.centre_x - row["params"]["centre_x"], res.centre_y - row["params"]["centre_y"]))
    assert max(errors) < 1.0  # simulated beam centres are found to sub-pixel precision
    assert roc_auc_score(truth, scores) > 0.75


def test_warp_makes_rings_straight_and_profile_peaks_at_ring():
    arr, row = frame_record("rings", 3, 0, 128, None)
    centre = (row["params"]["centre_x"], row["params"]["centre_y"])
    polar = warp(arr, centre, shape=(180, 128))
    assert polar.shape == (180, 128) and np.isnan(polar).any()  # gaps stay masked
    r, prof = radial_profile(arr, centre)
    r1 = row["params"]["ring_radii_px"][0]
    near = (r > r1 - 5) & (r < r1 + 5)
    assert abs(r[near][np.nanargmax(prof[near])] - r1) <= 1.5


def test_a_frame_without_a_centre_gets_no_symmetry_score():
    """Review 2026-12-07: an 8 x 2000 strip ("too thin to hold a ring") was scored 1.0, and `evaluate` took the
    -1 that means "no score" for a score in its medians."""
    from scatterloop.core.evaluate.evaluate import _summary

    strip = np.random.default_rng(0).poisson(5.0, (8, 2000)).astype(np.float32)
    res = analyse(strip)
    assert res.status != "found" and res.score == -1.0
    assert _summary([0.6102, -1.0, -1.0, 0.6424]) == {
        "n": 2, "median": 0.6263, "q1": 0.6182, "q3": 0.6343, "unscored": 2
    }  # fmt: skip
    assert _summary([-1.0]) == {"n": 0, "unscored": 1}
