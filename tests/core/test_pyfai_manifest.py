"""`scripts/pyfai_manifest.py`: a test set for `bench simreal --manifest` built on pyFAI's detector models, read
back through the product's own readers (CPU, seconds)."""

import json

import numpy as np
import pytest

from scatterloop.core.io import read_frames
from tests.core.pyfai_script import pyfai_manifest


def test_pyfai_manifest_writes_frames_the_readers_mask_as_the_detector_means(tmp_path):
    script = pyfai_manifest()
    assert script.main([str(tmp_path), "--per-kind", "1", "--detectors", "Pilatus300k,Eiger1M", "--seed", "5"]) == 0
    entries = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert [(e["detector"], e["kind"]) for e in entries] == [
        (d, k) for d in ("Pilatus300k", "Eiger1M") for k in ("rings", "peaks", "background")
    ]
    from pyFAI import detector_factory

    for e in entries:
        frame = next(iter(read_frames(tmp_path / e["file"])))
        assert list(frame.data.shape) == e["shape"] and e["reader"] == "fabio"
        gaps = np.asarray(detector_factory(e["detector"]).mask, bool)
        assert gaps.sum() > 1000 and np.array_equal(frame.mask, gaps), e["file"]  # -1 (CBF), uint32 max (Eiger)
        valid = frame.data[~frame.mask]
        assert valid.min() >= 0 and valid.max() == e["max_counts"]
    rings = next(e for e in entries if e["kind"] == "rings")
    assert rings["content"] in script.CALIBRANTS


def test_the_recorded_centre_is_the_direct_beam_where_rings_are_centred(tmp_path):
    """With a tilted detector the beam is not the point of normal incidence: the manifest gives pyFAI's beam
    centre, where 2theta is smallest."""
    from pyFAI import detector_factory

    script = pyfai_manifest()
    det = detector_factory("Pilatus300k")
    for seed in range(6):
        rng = np.random.default_rng(seed)
        ai, _, _ = script._integrator(rng, det)
        counts, gaps, truth = script.frame(np.random.default_rng(seed), "Pilatus300k", "background")
        fit2d = ai.getFit2D()
        assert (fit2d["centerX"] - 0.5, fit2d["centerY"] - 0.5) == pytest.approx(
            (truth["centre_x"], truth["centre_y"]), abs=1e-6
        )


def test_a_mar345_frame_written_as_edf_gets_its_round_area_masked_on_reading(tmp_path):
    script = pyfai_manifest()
    counts, gaps, truth = script.frame(np.random.default_rng(1), "Mar345", "rings")
    path = tmp_path / "mar.edf"
    data = script.write(path, counts, gaps, "edf", "Mar345")
    assert data[0, 0] == 0 and data.dtype == np.uint16
    mask = next(iter(read_frames(path))).mask
    h, w = data.shape
    yy, xx = np.ogrid[:h, :w]
    outside = ((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2 > 1.0
    assert np.array_equal(mask, outside)


def test_laue_frames_come_from_a_polychromatic_beam_close_to_the_detector():
    """`--laue`: a still crystal in a pink or white beam at 3-20 cm, every spot from the wavelength that puts its
    reciprocal lattice vector on the Ewald sphere; without the option a seed gives the frames it always gave."""
    from pyFAI import detector_factory

    script = pyfai_manifest()
    counts, gaps, truth = script.frame(np.random.default_rng(3), "Pilatus300k", "peaks", laue=1.0)
    assert truth["content"] == "Laue" and counts.shape == detector_factory("Pilatus300k").shape
    plain = script.frame(np.random.default_rng(3), "Pilatus300k", "peaks")
    again = script.frame(np.random.default_rng(3), "Pilatus300k", "peaks", laue=0.0)
    assert plain[2]["content"] == "single crystal" and np.array_equal(plain[0], again[0])
    rng = np.random.default_rng(5)
    ai = script._closer(script._integrator(rng, detector_factory("Pilatus1M"))[0], 0.1)
    img, n = script._laue(rng, ai, ai.detector.shape)
    assert n >= 10 and ai.dist == pytest.approx(0.1) and img.shape == ai.detector.shape
