"""Module gaps written as zeros (16-bit TIFF has no negative value to mark them) are masked before the centre
search at any count level, and nothing is masked where zeros are only what counting gives."""

from __future__ import annotations

import warnings

import numpy as np

from scatterloop.core.geometry import search_centre
from scatterloop.core.geometry.active import active_area, zero_lines
from scatterloop.core.io import read_frames
from tests.core.pyfai_script import pyfai_manifest


def test_a_low_count_eiger_frame_with_zero_gaps_gets_its_beam_centre(tmp_path):
    """pyFAI's Eiger 4M, Au rings about a beam outside the frame, 0.25 counts per pixel (most pixels zero), its
    gaps written as zeros in a 16-bit TIFF as `scripts/pyfai_manifest.py` writes it: the gap rows' zeros were
    taken for data (the frame is mostly zero, so the old test skipped it) and the beam came out 14.6 px off."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    script = pyfai_manifest()
    counts, gaps, truth = script.frame(np.random.default_rng(3173963346183579248), "Eiger4M", "rings")
    script.write(tmp_path / "eiger.tif", counts, gaps, "tif", "Eiger4M")
    frame = next(iter(read_frames(tmp_path / "eiger.tif")))
    assert not frame.mask.any() and (frame.data == 0).mean() > 0.8  # nothing tells the reader where the gaps are
    area = active_area(frame.data, frame.mask)
    assert area.masked["zero_gap_lines"] == gaps.sum()  # every gap pixel, and only those
    res = search_centre(frame.data, frame.mask)
    assert res.status == "found"
    assert np.hypot(res.x - truth["centre_x"], res.y - truth["centre_y"]) < 2.0


def test_zeros_that_counting_gives_are_not_taken_for_gaps():
    rng = np.random.default_rng(0)
    for rate in (0.01, 0.05, 0.3, 3.0):  # dark to low counts: rows hold 10-3000 non-zero pixels
        assert not zero_lines(rng.poisson(rate, (1000, 1000)).astype(np.uint16)).any(), rate
    frame = rng.poisson(0.1, (1000, 1000)).astype(np.uint16)
    frame[:500] = rng.poisson(0.01, (500, 1000))  # the upper half far darker: rows of 10 non-zero pixels
    gap = np.zeros(frame.shape, bool)
    gap[700:737] = True  # a gap 37 rows high, the Eiger's, where rows hold about 100
    gap[:, 600:610] = True  # and one 10 columns wide across both halves
    frame[gap] = 0
    assert np.array_equal(zero_lines(frame), gap)
