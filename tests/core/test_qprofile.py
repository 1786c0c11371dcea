"""I(q) and the (q, chi) cake of a calibrated workspace image, and I(r) in pixels with a note without one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scatterloop.core import qprofile, viewer
from scatterloop.core.ingest import import_paths
from scatterloop.core.qprofile import NOTE_NO_CALIBRATION, image_profile, profile_dict
from tests.calibrated import CENTRE, RING_Q, SHAPE, ring_frame, ring_radius_px, write_poni


@pytest.fixture
def ring_image(workspace, tmp_path) -> int:
    path = tmp_path / "ring.npy"
    np.save(path, ring_frame())
    return import_paths(workspace, [path], source="experimental").image_ids[0]


def _peak(x, intensity) -> float:
    y = np.array([np.nan if v is None else v for v in intensity], dtype=float)
    return float(np.asarray(x)[np.nanargmax(y)])


def test_calibrated_image_gives_i_of_q_with_the_ring_at_its_q_and_a_cake(workspace, ring_image):
    write_poni(workspace.root / "calibration" / "default.poni")
    prof = image_profile(workspace, ring_image)
    assert prof.unit == "q" and prof.x_title == "q (Å⁻¹)" and prof.calibration == "default.poni"
    assert "default.poni" in prof.note and "pixels" not in prof.note
    step = prof.x[1] - prof.x[0]
    assert abs(_peak(prof.x, prof.intensity) - RING_Q) <= max(step, 0.002)
    # the cake: chi in degrees across the full circle, the ring at RING_Q in every azimuth the frame covers
    z = np.array([[np.nan if v is None else v for v in row] for row in prof.cake_log10], dtype=float)
    assert z.shape == (len(prof.cake_chi), len(prof.cake_q)) == (qprofile.NPT_CHI, qprofile.NPT_Q)
    assert -180 <= min(prof.cake_chi) < -170 and 170 < max(prof.cake_chi) <= 180
    q = np.asarray(prof.cake_q)
    band = (q >= RING_Q - 0.1) & (q <= RING_Q + 0.1)  # inside the frame at every azimuth (edges >= 140 px away)
    assert np.isfinite(z[:, band]).all()
    peaks = q[band][np.argmax(z[:, band], axis=1)]
    assert np.max(np.abs(peaks - RING_Q)) <= 2 * (q[1] - q[0])
    assert (workspace.root / prof.cake_png).is_file() and prof.cake_name.endswith(".png")


def test_profile_is_cached_by_image_and_calibration_content(workspace, ring_image, monkeypatch):
    poni = write_poni(workspace.root / "calibration" / "default.poni")
    first = image_profile(workspace, ring_image)

    def fail(*_a, **_k):
        raise AssertionError("integrated again")

    monkeypatch.setattr(qprofile, "_integrate", fail)
    again = image_profile(workspace, ring_image)
    assert again.x == first.x and again.cake_name == first.cake_name
    # another calibration file content: a new key, integrated afresh
    write_poni(poni, centre=(CENTRE[0] + 3, CENTRE[1]))
    monkeypatch.undo()
    moved = image_profile(workspace, ring_image)
    assert moved.cake_name != first.cake_name


def test_without_calibration_radius_in_pixels_and_says_so(workspace, ring_image):
    prof = image_profile(workspace, ring_image)
    assert prof.unit == "r" and prof.x_title == "r (px)" and prof.calibration is None
    assert prof.note == NOTE_NO_CALIBRATION and "calibration/default.poni" in prof.note
    assert prof.cake_log10 is None and prof.cake_png is None
    assert abs(_peak(prof.x, prof.intensity) - ring_radius_px()) <= 2.0
    data = profile_dict(prof)
    assert data["x_title"] == "r (px)" and "cake_log10" not in data


def test_calibration_without_wavelength_or_for_another_detector_keeps_pixels(workspace, ring_image):
    poni = write_poni(workspace.root / "calibration" / "default.poni", wavelength=None)
    prof = image_profile(workspace, ring_image)
    assert prof.unit == "r" and "gives no wavelength" in prof.note and prof.calibration == "default.poni"
    write_poni(poni, shape=(SHAPE[0] + 10, SHAPE[1]))
    prof = image_profile(workspace, ring_image)
    assert prof.unit == "r" and f"{SHAPE[0] + 10}×{SHAPE[1]} detector" in prof.note


def test_image_names_its_own_calibration_in_its_import_metadata(workspace, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    np.save(folder / "named.npy", ring_frame(seed=1))
    np.save(folder / "plain.npy", ring_frame(seed=2))
    (folder / "metadata.jsonl").write_text('{"file_name": "named.npy", "calibration": "beamline-a.poni"}\n')
    write_poni(workspace.root / "calibration" / "beamline-a.poni")
    res = import_paths(workspace, [folder], source="experimental", metadata=folder / "metadata.jsonl")
    by_name = {Path(workspace.store.get_image(i).original_name).name: i for i in res.image_ids}
    prof = image_profile(workspace, by_name["named.npy"])
    assert prof.unit == "q" and prof.calibration == "beamline-a.poni"
    assert image_profile(workspace, by_name["plain.npy"]).unit == "r"  # no default, not named: pixels


def test_unknown_image_is_a_clear_error(workspace):
    with pytest.raises(ValueError, match="image 999: no such image"):
        image_profile(workspace, 999)


def test_report_grids_show_the_cake_and_i_of_q_of_calibrated_examples(workspace, ring_image, tmp_path):
    from scatterloop.core.evaluate.report_grids import grids

    np.save(tmp_path / "gen.npy", ring_frame(seed=5, shape=(200, 200), centre=(99.0, 101.0)))
    other = import_paths(workspace, [tmp_path / "gen.npy"], source="generated").image_ids[0]
    write_poni(workspace.root / "calibration" / "default.poni")  # fits the 300x320 frame only
    page = grids(workspace, {"examples": {"rings": {"experimental": [ring_image], "fake": [other]}}})
    assert f"alt='cake {ring_image}'" in page and f"alt='polar warp {other}'" in page
    assert '"text":"I(q) of the examples"' in page and '"text":"q (\\u00c5\\u207b\\u00b9)"' in page  # plotly JSON
    assert "I(r) of the examples (no calibration: radius in pixels)" in page and "200×200: radius in pixels" in page


def test_the_polar_view_takes_the_images_calibration_and_is_cached_by_its_content(workspace, ring_image, caplog):
    from scatterloop.core.explore import polar_view

    searched = polar_view(workspace, ring_image)
    assert searched.source == "search" and abs(searched.centre_x - CENTRE[0]) < 0.5
    poni = write_poni(workspace.root / "calibration" / "default.poni", centre=(CENTRE[0] + 3, CENTRE[1] - 2))
    calibrated = polar_view(workspace, ring_image)  # the file's centre, not the search's
    assert calibrated.source != "search" and calibrated.status == "found"
    assert (calibrated.centre_x, calibrated.centre_y) == pytest.approx((CENTRE[0] + 3, CENTRE[1] - 2), abs=1e-6)
    assert calibrated.score < searched.score  # circles 3.6 px off the ring's centre
    write_poni(poni, centre=CENTRE)  # another content: a new key, analysed afresh
    assert (polar_view(workspace, ring_image).centre_x, polar_view(workspace, ring_image).centre_y) == pytest.approx(
        CENTRE, abs=1e-6
    )
    write_poni(poni, shape=(SHAPE[0] + 1, SHAPE[1]))  # not this detector: the search stands in, and says so
    assert polar_view(workspace, ring_image).source == "search" and "centre searched" in caplog.text
    # each state has its own warp, served by its own name, and the map's symmetry follows the state shown
    from pathlib import Path

    from scatterloop.callbacks.media import _POLAR, polar_url

    write_poni(poni, centre=(CENTRE[0] + 3, CENTRE[1] - 2))
    again = polar_view(workspace, ring_image)  # from the cache
    assert again.warp_png != searched.warp_png and (workspace.root / again.warp_png).is_file()
    assert _POLAR.match(Path(again.warp_png).name) and polar_url(again.warp_png).endswith(Path(again.warp_png).name)
    assert workspace.store.metrics("symmetry")[ring_image] == pytest.approx(calibrated.score)
    poni.unlink()
    assert polar_view(workspace, ring_image).warp_png == searched.warp_png
    assert workspace.store.metrics("symmetry")[ring_image] == pytest.approx(searched.score)


def test_a_large_calibration_file_is_keyed_without_reading_it_whole(tmp_path):
    import os

    big = tmp_path / "default.nxs"
    with big.open("wb") as fh:  # sparse: 17 MiB that cost nothing to write
        fh.truncate(viewer.WHOLE_HASH_BYTES + 2**20)
    os.utime(big, ns=(10**18, 10**18))
    first = viewer.calibration_sha(big)
    with big.open("r+b") as fh:  # a byte in its middle, the time put back: not read, the same key
        fh.seek(viewer.WHOLE_HASH_BYTES // 2)
        fh.write(b"x")
    os.utime(big, ns=(10**18, 10**18))
    assert viewer.calibration_sha(big) == first
    os.utime(big, ns=(10**18, 10**18 + 1))  # changed in place, as a writer leaves it: a new key
    assert viewer.calibration_sha(big) != first
    small = tmp_path / "default.poni"
    small.write_bytes(b"a" * 100)
    os.utime(small, ns=(1, 1))
    key = viewer.calibration_sha(small)
    small.write_bytes(b"b" * 100)
    os.utime(small, ns=(1, 1))
    assert viewer.calibration_sha(small) != key  # a small file is keyed by its content


def test_the_polar_view_survives_a_damaged_cache_and_takes_no_calibration_from_outside(workspace, ring_image, tmp_path,
                                                                                        caplog):  # fmt: skip
    from scatterloop.core.explore import polar_view

    first = polar_view(workspace, ring_image)
    meta = workspace.root / first.warp_png.replace(".png", ".json")
    meta.write_text(meta.read_text()[:20])  # cut short (a full disk, a crash): computed again, not raised
    assert polar_view(workspace, ring_image).score == pytest.approx(first.score)
    outside = write_poni(tmp_path / "elsewhere.poni", centre=(CENTRE[0] + 3, CENTRE[1]))
    (workspace.root / "calibration").mkdir(exist_ok=True)
    (workspace.root / "calibration" / "default.poni").symlink_to(outside)  # a link out of the workspace
    assert polar_view(workspace, ring_image).source == "search" and "not used as the calibration" in caplog.text
    (workspace.root / "calibration" / "default.poni").unlink()
    write_poni(workspace.root / "calibration" / "default.poni", centre=(CENTRE[0] + 1e5, CENTRE[1]))
    far = polar_view(workspace, ring_image)  # the file is the user's: used, and the log says it cannot be scored
    assert far.source == "poni" and "cannot be scored there" in caplog.text


def test_a_doubted_rotation_is_said_in_the_profiles_note(workspace, ring_image):
    """Review 2026-12-07: `Rot1: 6` (6 degrees written as radians) is read, with a warning `polar` gives; the
    Viewer's I(q) panel used it with nothing on screen."""
    path = write_poni(workspace.root / "calibration" / "default.poni")
    path.write_text(path.read_text().replace("Rot1: 0.0", "Rot1: 6"))
    prof = image_profile(workspace, ring_image)
    assert prof.unit == "q" and "check: Rot1 6 rad turn the detector a quarter turn or more" in prof.note
