"""Background frames that hold light (direct beam, diffuse clouds, fixed-pattern noise), reflections strong enough
to be peaks, and the contrast floor of block-averaged inputs (CPU, seconds)."""

import numpy as np
import pytest

from scatterloop.core.benchmarks.simreal_bench import _sim_mask
from scatterloop.core.classify.inputs import block_factor, frame_input, min_contrast
from scatterloop.core.simulate.backgrounds import CLOUD_MAX_COUNTS, add_diffuse_clouds, add_direct_beam
from scatterloop.core.simulate.geometry import Detector, Scene, gap_mask
from scatterloop.core.simulate.spots import render_bragg_reflection
from scatterloop.core.simulate.storage import MAX_VALUE
from scatterloop.core.simulate.wide import WIDE_DETECTORS, wide_frame

KINDS = {"air", "dark", "halo", "direct_beam", "diffuse_cloud", "fixed_pattern", "empty_step"}


def _scene(shape=(96, 96), gain=1.0):
    det = Detector("Medipix-256", (1, 1), module_px=(256, 256), pixel_m=55e-6)
    return Scene(shape, det, (40.0, 50.0), 1.5e-4, {"gain": gain})


def test_every_background_kind_keeps_its_truth_and_the_mask_rules():
    seen = {}
    for i in range(160):
        f = wide_frame("background", np.random.default_rng([21, i]), size=48)
        p = f.params
        assert f.pattern == "background" and p["background_kind"] in KINDS
        seen.setdefault(p["background_kind"], p)
        if p["background_kind"] == "direct_beam":  # the beam falls in the frame it is recorded in
            h, w = f.counts.shape
            assert 0 <= p["centre_x"] < w and 0 <= p["centre_y"] < h and p["direct_beam_peak"] >= 20
            assert p["beamstop_drawn"]  # seen through a semi-transparent stop
        if p["background_kind"] == "fixed_pattern":
            assert p["readout_integrating"] and p["fixed_pattern"] in ("banding", "tiles", "glow")
        if p["background_kind"] == "diffuse_cloud":
            assert 1 <= p["clouds"] <= 3
        # what the file holds still reads as the detector writes it: gaps at the gap value, nothing outside a disc
        det, circular, _ = WIDE_DETECTORS[p["detector"]]
        mask = _sim_mask(f.counts, p)
        if p["dtype"] != "uint8" and not circular:  # module gaps hold the gap value, which the reader masks
            shape = f.counts.shape
            gaps = gap_mask(shape[::-1], det).T if p["rotated"] else gap_mask(shape, det)
            gap = -1 if p["dtype"] in ("int32", "float32") else MAX_VALUE[p["dtype"]]
            assert np.all(f.counts[gaps] == gap) and mask[gaps].all()
        if circular:  # nothing outside the active disc, and the reader knows it
            assert f.counts[0, 0] == 0 and f.counts[-1, -1] == 0 and mask[0, 0] and mask[-1, -1]
    assert set(seen) == KINDS  # every kind is drawn


def test_direct_beam_is_compact_at_the_beam_and_attenuated_by_the_stop():
    scene = _scene(gain=2.0)
    add_direct_beam(scene, np.random.default_rng(0), gain=2.0, transmission=0.005)
    y, x = np.unravel_index(np.argmax(scene.expected), scene.expected.shape)
    assert abs(x - 40) <= 1 and abs(y - 50) <= 1
    recorded = scene.expected.max() * 2.0 * 0.005  # behind the stop, as `wide_frame` records it
    assert recorded == pytest.approx(scene.params["direct_beam_peak"], rel=0.05)
    assert np.mean(scene.expected > 0.01 * scene.expected.max()) < 0.02  # compact: a few pixels


def test_diffuse_clouds_are_broad_and_weak():
    for i in range(10):
        gain = float(np.exp(np.random.default_rng(i).uniform(np.log(0.05), np.log(30))))
        scene = _scene(gain=gain)
        k = add_diffuse_clouds(scene, np.random.default_rng([22, i]), gain)
        recorded = scene.expected * gain
        smooth = recorded if not scene.params["clouds_speckled"] else None
        if smooth is not None:
            assert recorded.max() <= k * CLOUD_MAX_COUNTS + 1e-9  # a few tens of counts at most
        assert recorded.sum() <= k * CLOUD_MAX_COUNTS * 2 * np.pi * (0.06 * 96) ** 2 * 2.0 * 1.2
        assert np.mean(recorded > 0.5 * recorded.max()) > 0.0 and recorded.min() >= 0


def test_a_reflection_drawn_as_peaks_is_recorded_with_at_least_100_counts_at_its_core():
    for gain in (0.05, 1.0, 30.0):
        for i in range(5):
            scene = _scene(gain=gain)
            render_bragg_reflection(scene, np.random.default_rng([23, i]))
            assert scene.expected.max() * gain >= 100.0 * 0.99


def test_block_means_keep_a_small_spot_of_a_large_panel_as_bright_as_on_a_small_detector():
    assert block_factor((2048, 2048), 96) == 5 and block_factor((256, 256), 96) == 1
    assert min_contrast(1) == pytest.approx(np.log1p(20.0)) and min_contrast(5) == pytest.approx(np.log1p(4.0))
    big = np.zeros((2048, 2048), np.uint16)  # a frame cache: one weak spot of two native pixels just over threshold
    big[1000, 700:702] = 150
    img, _ = frame_input(big, np.zeros(big.shape, bool), 96)
    small = np.zeros((256, 256), np.uint16)
    small[125, 87:89] = 150
    img_small, _ = frame_input(small, np.zeros(small.shape, bool), 96)
    assert img.max() >= 1.0 and img_small.max() >= 1.0  # full scale on both (the 20-count floor kept it grey)
    rng = np.random.default_rng(1)
    dark = rng.poisson(0.3, (2048, 2048)).astype(np.uint16)  # counting noise of a large panel stays featureless
    assert frame_input(dark, np.zeros(dark.shape, bool), 96)[0].max() < 0.0
