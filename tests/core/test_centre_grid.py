"""The centre search's coarse grid, and the counts `bench polar` prints over a manifest."""

from __future__ import annotations

import numpy as np

from scatterloop.core.benchmarks.polar_bench import summarise
from scatterloop.core.geometry import search_centre
from tests.core.pyfai_script import pyfai_manifest


def test_sharp_rings_whose_basin_falls_between_grid_points_are_found():
    # pyFAI's Pilatus 100K strip, gold rings about a beam inside the frame: the rings are narrower than the
    # coarse grid's step, and the grid on the image alone led to a centre 11 px off
    counts, gaps, truth = pyfai_manifest().frame(np.random.default_rng(11), "Pilatus100k", "rings")
    res = search_centre(np.where(gaps, -1, counts).astype(np.int32))
    assert res.status == "found", res.reason
    assert np.hypot(res.x - truth["centre_x"], res.y - truth["centre_y"]) <= 1.0


def test_polar_summary_counts_rings_found_and_wrong_centres_without_rings():
    rows = [
        {"kind": "rings", "status": "found", "error_px": 0.5},
        {"kind": "rings", "status": "found", "error_px": 7.0},
        {"kind": "rings", "status": "no centre", "error_px": None},
        {"kind": "peaks", "status": "found", "error_px": 600.0},
        {"kind": "background", "status": "found", "error_px": 3.0},
        {"kind": "background", "status": "no centre", "error_px": None},
    ]
    assert summarise(rows) == {
        "rings": 3,
        "rings_found": 2,
        "rings_within_2px": 1,
        "rings_found_median_error_px": 3.75,
        "without_rings": 3,
        "without_rings_wrong_centre": 1,
    }
