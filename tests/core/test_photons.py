"""Processed frames (normalised, averaged, calibrated floats) are read in effective photon counts."""

import numpy as np
import pytest

from core.classify.inputs import frame_input
from core.io import make_mask
from core.photons import as_counts, photon_scale
from core.polar import analyse


def _ring(shape=(600, 500), centre=(250.0, 300.0), radius=150.0, peak=200.0, floor=2.0):
    yy, xx = np.indices(shape)
    r = np.hypot(xx - centre[0], yy - centre[1])
    return peak * np.exp(-0.5 * ((r - radius) / 2.0) ** 2) + floor


def test_counts_are_counts():
    rng = np.random.default_rng(0)
    x = rng.poisson(_ring()).astype(np.int32)
    assert photon_scale(x) == 1.0
    assert as_counts(x) is x
    whole = x.astype(np.float32)  # floats holding whole numbers are counts too
    assert photon_scale(whole) == 1.0


@pytest.mark.parametrize("scale", [1e-6, 3.7e-3, 0.37, 41.3])
@pytest.mark.parametrize("kind", ["ring", "flat", "ramp"])
def test_scale_of_scaled_counts(scale, kind):
    rng = np.random.default_rng(1)
    yy, xx = np.indices((400, 400))
    lam = {"ring": _ring((400, 400), (200, 200), 120), "flat": np.full((400, 400), 6.0), "ramp": 1 + 0.2 * xx}[kind]
    x = rng.poisson(lam) * scale + 1e-3 * scale  # never whole numbers
    assert photon_scale(x) / scale == pytest.approx(1.0, rel=0.2)


def test_offset_and_read_noise_do_not_change_the_slope():
    """An integrating detector: a dark pedestal, read noise, 3.7 units per photon, counts spread over a ramp."""
    rng = np.random.default_rng(2)
    yy, xx = np.indices((500, 500))
    x = 1370.25 + 3.7 * rng.poisson(2 + 0.4 * xx) + rng.normal(0, 2.0, xx.shape)
    assert photon_scale(x) == pytest.approx(3.7, rel=0.2)


def test_large_frames_are_measured_on_tiles():
    rng = np.random.default_rng(3)
    x = rng.poisson(np.full((2100, 2100), 4.0)).astype(np.float32) * np.float32(0.013)
    assert photon_scale(x) / 0.013 == pytest.approx(1.0, rel=0.2)


def test_noise_free_and_degenerate_frames_keep_their_units():
    assert photon_scale(_ring() + 0.5) == 1.0  # a model image: no noise to measure
    assert photon_scale(np.full((50, 50), 0.5)) == 1.0
    assert photon_scale(np.full((64, 64), np.nan)) == 1.0
    assert photon_scale(np.zeros((3, 4, 5))) == 1.0
    read_noise = np.random.default_rng(5).normal(100.0, 3.0, (400, 400))  # no photon noise: variance flat
    assert photon_scale(read_noise) == 1.0


@pytest.mark.parametrize("scale", [1e-7, 2.3e-3, 1234.56])
def test_polar_and_inputs_do_not_depend_on_units(scale):
    """Before: the same ring frame in 1e-6 units scored 1.0, in counts 0.99 and in 1e6 units 0.74."""
    rng = np.random.default_rng(4)
    counts = rng.poisson(_ring()).astype(np.int32)
    processed = (counts * scale + 0.1 * scale).astype(np.float32)
    a, b = analyse(counts, make_mask(counts)), analyse(processed, make_mask(processed))
    assert abs(a.centre_x - b.centre_x) < 0.5 and abs(a.centre_y - b.centre_y) < 0.5
    assert b.score == pytest.approx(a.score, abs=0.02)
    ia, ib = frame_input(counts, make_mask(counts), 64), frame_input(processed, make_mask(processed), 64)
    assert np.abs(ia - ib).max() < 0.05


def test_a_frame_in_counts_is_not_divided_again_and_half_floats_do_not_overflow():
    rng = np.random.default_rng(6)
    processed = rng.poisson(_ring((300, 300), (150, 150), 90)) * 2.5e-3 + 1e-6
    counts = as_counts(processed)
    assert photon_scale(counts + 1e-3) == 1.0  # within the estimate's own spread of one count: counts
    half = (rng.poisson(np.full((300, 300), 5.0)) * 1e-3).astype(np.float16)
    half[5, 5] = 100.0  # 100,000 counts: beyond float16 (65,504) once divided by 1e-3 in float16
    img, valid = frame_input(half, np.zeros(half.shape, bool), 32)
    assert np.isfinite(img).all() and valid.min() == 1.0


def test_a_long_strip_is_measured_on_distinct_tiles():
    from core.photons import _tiles

    strip = np.zeros((195, 8000))
    tiles = _tiles(strip, np.ones(strip.shape, bool))
    assert len(tiles) == 4  # one row of tiles along the strip, not the same row four times
    rng = np.random.default_rng(7)
    x = rng.poisson(np.full((195, 8000), 5.0)) * 0.02 + 1e-4
    assert photon_scale(x) / 0.02 == pytest.approx(1.0, rel=0.2)
